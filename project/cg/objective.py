"""Zero-simulation refinement of a single LJ bead for a chosen structural objective, and its thermodynamics.

Units: r nm, g dimensionless, T K, rho nm^-3, sigma nm, epsilon kJ/mol, pressure bar, energy kJ/mol per molecule,
total deviation nm, KL divergence dimensionless.

The CG RDF of a bead (sigma, epsilon) at the all-atom T and rho is taken from the LJ forward model
(:func:`project.model.fit.lj_rdf`, binned like the target), not from a CG simulation. The objective is one of the
CG comparison metrics (:mod:`project.metrics`): ``total-deviation`` D = integral |g_AA - g_LJ| dr (nm) or
``kl`` (KL divergence of the pair-distance distributions), evaluated on the target's grid up to
``R = min(r_max, 2.9 sigma_lo)`` where sigma_lo is the smallest sigma the search may visit (the forward model ends
at r = 3 sigma), so the range is the same for every candidate. The search (Nelder-Mead in ln sigma, ln epsilon)
starts from the inverse network's one-shot bead and from the robust fit's (:func:`refine_from_starts`, the better
kept); sigma is confined to +-8 % of the start and T* to 0.7-10, inside
the forward model's training states and the range a CG check run accepts (:mod:`project.statepoint`).

Thermodynamics of a bead come from the LJ equation of state of Thol et al. (2016) through teqp
(:func:`project.eos.thol_energy_pressure`, the full LJ potential): P = P* epsilon / sigma^3, U/N = U* epsilon.
A CG run truncated at 3 sigma with the dispersion correction (the CG settings) has the same pressure and energy up
to the small impulsive term of the truncation.

The pressure-aware variant (:func:`refine_with_pressure`) minimises the objective along the curve of beads whose
equation-of-state pressure equals the all-atom pressure: for each sigma, epsilon solves P_EOS(sigma, epsilon) =
P_AA (bracketing root search), then a bounded one-dimensional search over sigma.

Every refined bead carries the forward model's prediction of both metrics (``predicted``) and whether its state
(T*, rho*) lies inside the forward model's training states (``in_domain``, judged by
:func:`project.model.fit.verdict.forward_domain`, the rule of ``fit``); a bead outside them, or on a limit of the
search (``bounds_hit``), gets a warning that says so (``warnings``, also logged).
"""

from __future__ import annotations

import logging
import time

import numpy as np

from project.errors import ProjectError
from project.units import KB

logger = logging.getLogger(__name__)

#: kJ mol^-1 nm^-3 in bar.
KJ_MOL_NM3_TO_BAR = 1e3 / 6.02214076e23 / 1e-27 / 1e5
#: Objectives a user may choose (command-line spelling).
OBJECTIVES = ("total-deviation", "kl")
#: Value of the objective at a point outside the search's limits (sigma range, T* range): rejected.
OUTSIDE_PENALTY = 1e6
#: Relative range of sigma around the start that the search may visit.
SIGMA_RANGE = 0.08
#: Reduced-temperature range of the search (the forward model's training states; what a CG check run accepts).
T_STAR_RANGE = (0.7, 10.0)
#: Largest r / sigma_lo of the objective's range (the forward model ends at 3 sigma).
S_RANGE = 2.9
#: Reduced-temperature range of a Mie bead's search (the Mie forward model's training states, docs/mie.md).
MIE_T_STAR_RANGE = (0.7, 3.0)


def _metric(objective: str):
    from project.metrics import kl_divergence, total_deviation

    if objective == "total-deviation":
        return total_deviation
    if objective == "kl":
        return kl_divergence
    raise ProjectError(f"objective: got {objective!r}; allowed: {', '.join(OBJECTIVES)}")


def eos_thermo(sigma: float, epsilon: float, T: float, rho: float, lambda_r: float = 12.0) -> dict:
    """Pressure (bar) and potential energy per molecule (kJ/mol) of a bead at T (K), rho (nm^-3).

    An LJ bead (``lambda_r`` 12): the Thol et al. (2016) LJ equation of state (teqp, full potential). A Mie
    lambda_r-6 bead: SAFT-VR Mie (Lafitte et al. 2013, teqp; its accuracy against the Mie engine's MD: docs/mie.md,
    1-3 % in U and P in the liquid). Returns also T* and rho*.
    """
    from project.eos import saft_vr_mie_energy_pressure, thol_energy_pressure

    t_star, rho_star = KB * T / epsilon, rho * sigma**3
    if float(lambda_r) == 12.0:
        u_star, p_star = thol_energy_pressure(t_star, rho_star)
        source = "LJ equation of state, Thol et al., J. Phys. Chem. Ref. Data 45, 023101 (2016), via teqp"
    else:
        u_star, p_star = saft_vr_mie_energy_pressure(t_star, rho_star, lambda_r)
        source = "SAFT-VR Mie, Lafitte et al., J. Chem. Phys. 139, 154504 (2013), via teqp"
    return {
        "P_bar": float(p_star * epsilon / sigma**3 * KJ_MOL_NM3_TO_BAR),
        "U_per_molecule_kJ_mol": float(u_star * epsilon),
        "T_star": float(t_star),
        "rho_star": float(rho_star),
        "source": source,
    }


class SurrogateObjective:
    """The objective of a bead, with its CG RDF from the LJ forward model (no simulation).

    Parameters
    ----------
    r, g : numpy.ndarray
        Target RDF: uniform bin centres (nm), g (dimensionless).
    T, rho : float
        Temperature (K), bead number density (nm^-3).
    objective : str
        ``total-deviation`` or ``kl``.
    sigma_start : float
        Start sigma (nm); fixes the search range and the objective's r range.
    forward : ForwardModel or None
        The forward model (None: the shipped LJ one); a Mie model makes the exponent lambda_r a parameter of every
        method (``lambda_r``, dimensionless) and confines T* to :data:`MIE_T_STAR_RANGE`.
    """

    def __init__(
        self,
        r: np.ndarray,
        g: np.ndarray,
        T: float,
        rho: float,
        objective: str,
        sigma_start: float,
        forward=None,
    ):
        from project.model.fit import shipped_models

        self.metric = _metric(objective)
        self.objective = objective
        r, g = np.asarray(r, float), np.asarray(g, float)
        if r.ndim != 1 or r.shape != g.shape or len(r) < 30:
            raise ProjectError(f"r, g: need two 1-D arrays of the same length >= 30, got {r.shape}, {g.shape}")
        width = float(r[1] - r[0])
        if not np.allclose(np.diff(r), width, rtol=1e-4):
            raise ProjectError("r: the objective needs uniform histogram bins (nm)")
        if not (np.isfinite(sigma_start) and sigma_start > 0):
            raise ProjectError(f"sigma_start: got {sigma_start!r}; allowed: a positive diameter in nm")
        self.sigma_bounds = (sigma_start * (1 - SIGMA_RANGE), sigma_start * (1 + SIGMA_RANGE))
        self.r_range = float(min(r[-1] + 0.5 * width, S_RANGE * self.sigma_bounds[0]))
        keep = r + 0.5 * width <= self.r_range + 1e-9
        self.r, self.g, self.width = r[keep], np.clip(g[keep], 0.0, None), width
        self.T, self.rho = float(T), float(rho)
        self.forward = forward if forward is not None else shipped_models()[1]
        self.t_star_range = MIE_T_STAR_RANGE if self.forward.is_mie else T_STAR_RANGE
        self.n_eval = 0

    def g_lj(self, sigma: float, epsilon: float, lambda_r: float = 12.0) -> np.ndarray:
        """The forward model's RDF of the bead on the objective's grid (dimensionless; Mie with ``lambda_r``)."""
        from project.model.fit import lj_rdf

        g = lj_rdf(
            self.r, sigma, epsilon, self.T, self.rho, bin_width=self.width, forward=self.forward, lambda_r=lambda_r
        )
        return np.clip(np.nan_to_num(g, nan=1.0), 0.0, None)

    def __call__(self, sigma: float, epsilon: float, lambda_r: float = 12.0) -> float:
        self.n_eval += 1
        return float(self.metric(self.r, self.g, self.g_lj(sigma, epsilon, lambda_r)))

    def both(self, sigma: float, epsilon: float, lambda_r: float = 12.0) -> dict:
        """Both metrics of a bead over the objective's r range (D nm, KL)."""
        from project.metrics import kl_divergence, total_deviation

        gl = self.g_lj(sigma, epsilon, lambda_r)
        return {
            "total_deviation_nm": float(total_deviation(self.r, self.g, gl)),
            "kl_divergence": float(kl_divergence(self.r, self.g, gl)),
        }

    def inside(self, sigma: float, epsilon: float, lambda_r: float = 12.0) -> bool:
        t_star = KB * self.T / epsilon
        lo, hi = self.forward.lambda_range
        return (
            self.sigma_bounds[0] <= sigma <= self.sigma_bounds[1]
            and self.t_star_range[0] <= t_star <= self.t_star_range[1]
            and lo <= lambda_r <= hi
        )

    def bounds_hit(self, sigma: float, epsilon: float, with_t_star: bool = True) -> list[str]:
        """The limits of the search a bead sits on (within 0.2 % of a sigma bound, 2 % of a T* limit), named."""
        lo, hi = self.sigma_bounds
        hit = []
        if abs(sigma / lo - 1) < 2e-3:
            hit.append(f"sigma lower bound ({lo:.5g} nm, -{100 * SIGMA_RANGE:.0f} % of the start)")
        if abs(sigma / hi - 1) < 2e-3:
            hit.append(f"sigma upper bound ({hi:.5g} nm, +{100 * SIGMA_RANGE:.0f} % of the start)")
        t_star = KB * self.T / epsilon
        t_lo, t_hi = self.t_star_range
        if with_t_star and abs(t_star / t_lo - 1) < 2e-2:
            hit.append(f"T* lower limit ({t_lo:g})")
        if with_t_star and abs(t_star / t_hi - 1) < 2e-2:
            hit.append(f"T* upper limit ({t_hi:g})")
        return hit

    def judge(self, sigma: float, epsilon: float, label: str, with_t_star: bool = True, lambda_r: float = 12.0) -> dict:
        """The forward model's prediction of a refined bead and how far to trust it.

        Returns ``predicted`` (both metrics, D nm and KL, over the objective's range), ``T_star``, ``rho_star``,
        ``distance_to_training`` (in units of the training states' spacing there) and ``beyond_training_hull`` (of their
        typical spacing),
        ``in_domain``, ``bounds_hit`` (named limits of the search), ``at_bound`` and ``warnings`` (each logged; also
        the fit's measured-accuracy warning for the dense liquid and the hot fluid, where most beads land).
        """
        from project.model.fit.verdict import forward_domain, region_caveat

        t_star, rho_star = KB * self.T / epsilon, self.rho * sigma**3
        fw, mie = self.forward, self.forward.is_mie
        in_domain, warn = forward_domain(fw, t_star, rho_star, what=f"the {label} bead's state", lambda_r=lambda_r)
        if not in_domain:
            warn[-1] += "; its predicted D and KL are extrapolations"
        if not mie:
            warn += [f"the {label} bead: {w}" for w in region_caveat(t_star, rho_star)]
        hit = self.bounds_hit(sigma, epsilon, with_t_star)
        lo, hi = fw.lambda_range
        if mie and not lo * 1.01 < lambda_r < hi / 1.01:
            hit.append(f"lambda_r limit ({lo:.3g}-{hi:.3g}, the trained exponents)")
        warn += [f"the {label} bead sits on the search's {h}: the optimum may lie beyond it" for h in hit]
        for w in warn:
            logger.warning(w)
        state = (t_star, rho_star, lambda_r) if mie else (t_star, rho_star)
        spacing = fw.spacing_at(*state)
        return {
            "predicted": self.both(sigma, epsilon, lambda_r),
            "T_star": float(t_star),
            "rho_star": float(rho_star),
            "distance_to_training": float(fw.distance_to_training(*state) / spacing),
            "beyond_training_hull": float(fw.beyond_training_hull(*state)),
            "in_domain": bool(in_domain),
            "bounds_hit": hit,
            "at_bound": bool(hit),
            "warnings": warn,
        }


def refine_for_objective(
    r: np.ndarray, g: np.ndarray, T: float, rho: float, start: tuple[float, float], objective: str = "total-deviation"
) -> dict:
    """Refine a bead for one objective through the LJ forward model, starting from ``start`` (sigma nm,
    epsilon kJ/mol); no CG simulation.

    Returns
    -------
    dict
        ``sigma`` (nm), ``epsilon`` (kJ/mol), ``objective``, ``value`` (the objective at the bead), ``start_value``
        (at the start), the keys of :meth:`SurrogateObjective.judge` (``predicted``: both metrics over
        ``r_range_nm``; ``in_domain``, ``distance_to_training``, ``beyond_training_hull``, ``bounds_hit``,
        ``at_bound``, ``warnings``), ``n_evaluations`` (forward-model calls), ``wall_s`` (s), ``n_simulations`` 0.

    Raises
    ------
    ProjectError
        Unknown objective (listing the allowed ones), a bad start or grid.
    """
    from scipy.optimize import minimize

    t0 = time.perf_counter()
    s0, e0 = float(start[0]), float(start[1])
    if not (np.isfinite(e0) and e0 > 0):
        raise ProjectError(f"start epsilon: got {e0!r}; allowed: a positive energy in kJ/mol")
    f = SurrogateObjective(r, g, T, rho, objective, s0)

    def fun(x: np.ndarray) -> float:
        sig, eps = float(np.exp(x[0])), float(np.exp(x[1]))
        if not f.inside(sig, eps):
            return OUTSIDE_PENALTY
        return f(sig, eps)

    x0 = np.log([s0, e0])
    simplex = np.array([x0, x0 + [0.01, 0.0], x0 + [0.0, 0.15]])
    res = minimize(
        fun, x0, method="Nelder-Mead", options={"initial_simplex": simplex, "xatol": 1e-4, "fatol": 1e-7, "maxfev": 400}
    )
    sig, eps = float(np.exp(res.x[0])), float(np.exp(res.x[1]))
    start_value = f(s0, e0)
    return {
        "sigma": sig,
        "epsilon": eps,
        "objective": objective,
        "value": float(res.fun),
        "start": {"sigma": s0, "epsilon": e0},
        "start_value": start_value,
        **f.judge(sig, eps, f"{objective}-refined"),
        "r_range_nm": [float(f.r[0] - 0.5 * f.width), f.r_range],
        "n_evaluations": f.n_eval,
        "wall_s": time.perf_counter() - t0,
        "n_simulations": 0,
        "method": "Nelder-Mead in (ln sigma, ln epsilon) on the LJ forward model's RDF, from the network's bead",
        "units": {"sigma": "nm", "epsilon": "kJ/mol", "total_deviation_nm": "nm", "r_range_nm": "nm", "wall_s": "s"},
    }


def epsilon_inside(epsilon: float, T: float, t_star_range: tuple[float, float]) -> float:
    """``epsilon`` (kJ/mol) moved 0.1 % inside the T* range ``t_star_range`` at temperature T (K): a start a search
    bounded in T* can move from."""
    t_lo, t_hi = t_star_range
    return min(max(float(epsilon), KB * T / t_hi * 1.001), KB * T / t_lo / 1.001)


def refine_from_starts(
    r: np.ndarray,
    g: np.ndarray,
    T: float,
    rho: float,
    starts: dict[str, tuple[float, float]],
    objective: str = "total-deviation",
) -> dict:
    """:func:`refine_for_objective` from each of several starts (name -> (sigma nm, epsilon kJ/mol)); the bead with
    the lowest objective among those inside the forward model's training states is kept (the lowest of all where
    none is), with ``start_name`` and the value from every start (``values_by_start``).

    A start's epsilon is first moved inside :data:`T_STAR_RANGE` (0.1 % within it): a start hotter than T* 10 has
    no allowed neighbour. Starts are, in :func:`project.cg.beads.fit_beads`, the network's one-shot bead and the
    robust fit's (``fit``), as ``fit`` starts from the network and from a scan: on a molecule's centre-of-mass RDF,
    which no LJ fluid describes, the network reads hot states its refinement cannot come back from (CF4: T* 21,
    CO2: sigma 6 % off the fit's), and for the KL objective the fit's start gave the lower objective for every
    molecule of the comparison.
    """
    if not starts:
        raise ProjectError("refine_from_starts: no start given")
    found = {}
    for name, (s0, e0) in starts.items():
        e_in = epsilon_inside(e0, T, T_STAR_RANGE)
        found[name] = refine_for_objective(r, g, T, rho, (float(s0), e_in), objective)
    pool = {k: v for k, v in found.items() if v["in_domain"] and v["value"] < OUTSIDE_PENALTY}  # NaN: not kept
    name = min(pool or found, key=lambda k: found[k]["value"])
    return {
        **found[name],
        "method": f"Nelder-Mead in (ln sigma, ln epsilon) on the LJ forward model's RDF, from the {name} bead (the "
        f"best of {', '.join(found)})",
        "start_name": name,
        "values_by_start": {k: float(v["value"]) for k, v in found.items()},
    }


def _check_pressure(pressure_bar: float) -> None:
    """Refuse a non-finite pressure constraint (bar), by name."""
    if not np.isfinite(pressure_bar):
        raise ProjectError(f"pressure: got {pressure_bar!r}; allowed: a finite pressure in bar")


def _mie_model(forward, who: str):
    """The Mie forward model a Mie bead's search uses (None: the shipped one); an LJ model is refused."""
    from project.model.cache import shipped_mie_forward

    fw = forward if forward is not None else shipped_mie_forward()
    if not fw.is_mie:
        raise ProjectError(f"{who} needs a Mie forward model (potential 'mie'), got an LJ model")
    return fw


#: Exponents a Mie bead's search starts from besides the LJ bead's 12 (the trained range is 8-32).
MIE_START_EXPONENTS = (9.0, 12.0, 16.0, 24.0)


def refine_mie_for_objective(
    r: np.ndarray,
    g: np.ndarray,
    T: float,
    rho: float,
    start: tuple[float, float],
    objective: str = "total-deviation",
    forward=None,
) -> dict:
    """Refine a Mie lambda_r-6 bead for one objective through the Mie forward model; no CG simulation.

    Nelder-Mead in (ln sigma, ln epsilon, ln lambda_r) from ``start`` (sigma nm, epsilon kJ/mol: e.g. the LJ bead
    refined for the same objective) at each exponent of :data:`MIE_START_EXPONENTS`; the best end point is kept.
    sigma is confined to +-8 % of the start, T* to :data:`MIE_T_STAR_RANGE` and lambda_r to the model's trained
    exponents. ``forward``: the Mie forward model (None: the shipped one).

    Returns
    -------
    dict
        As :func:`refine_for_objective`, plus ``lambda_r`` and the bead's SAFT-VR Mie thermodynamics (``eos``).
    """
    from scipy.optimize import minimize

    t0 = time.perf_counter()
    fw = _mie_model(forward, "refine_mie_for_objective")
    s0, e0 = float(start[0]), float(start[1])
    if not (np.isfinite(e0) and e0 > 0):
        raise ProjectError(f"start epsilon: got {e0!r}; allowed: a positive energy in kJ/mol")
    f = SurrogateObjective(r, g, T, rho, objective, s0, forward=fw)
    e_start = epsilon_inside(e0, T, f.t_star_range)  # inside the Mie model's T* range

    def fun(x: np.ndarray) -> float:
        sig, eps, lam = (float(v) for v in np.exp(x))
        if not f.inside(sig, eps, lam):
            return OUTSIDE_PENALTY
        return f(sig, eps, lam)

    best = None
    for lam0 in MIE_START_EXPONENTS:
        x0 = np.log([s0, e_start, lam0])
        simplex = np.array([x0, x0 + [0.01, 0.0, 0.0], x0 + [0.0, 0.15, 0.0], x0 + [0.0, 0.0, 0.1]])
        res = minimize(
            fun,
            x0,
            method="Nelder-Mead",
            options={"initial_simplex": simplex, "xatol": 1e-4, "fatol": 1e-7, "maxfev": 600},
        )
        if best is None or res.fun < best.fun:
            best = res
    sig, eps, lam = (float(v) for v in np.exp(best.x))
    return {
        "sigma": sig,
        "epsilon": eps,
        "lambda_r": lam,
        "objective": objective,
        "value": float(best.fun),
        "start": {"sigma": s0, "epsilon": e0, "lambda_r": list(MIE_START_EXPONENTS)},
        **f.judge(sig, eps, f"Mie {objective}-refined", lambda_r=lam),
        "eos": eos_thermo(sig, eps, T, rho, lambda_r=lam),
        "r_range_nm": [float(f.r[0] - 0.5 * f.width), f.r_range],
        "n_evaluations": f.n_eval,
        "wall_s": time.perf_counter() - t0,
        "n_simulations": 0,
        "method": "Nelder-Mead in (ln sigma, ln epsilon, ln lambda_r) on the Mie forward model's RDF, from the LJ "
        "bead at lambda_r " + ", ".join(f"{v:g}" for v in MIE_START_EXPONENTS),
        "units": {"sigma": "nm", "epsilon": "kJ/mol", "lambda_r": "1", "total_deviation_nm": "nm", "wall_s": "s"},
    }


def epsilon_at_pressure(
    sigma: float,
    T: float,
    rho: float,
    pressure_bar: float,
    lambda_r: float = 12.0,
    t_star_range: tuple[float, float] = T_STAR_RANGE,
) -> float | None:
    """epsilon (kJ/mol) at which the equation of state (:func:`eos_thermo`: LJ at ``lambda_r`` 12, SAFT-VR Mie
    otherwise) gives ``pressure_bar`` (bar) for a bead of diameter sigma (nm) at T (K), rho (nm^-3); None when no
    epsilon with T* in ``t_star_range`` does (the liquid branch, the lowest-T* root, when there are several)."""
    from scipy.optimize import brentq

    def dp(ln_eps: float) -> float:
        return eos_thermo(sigma, float(np.exp(ln_eps)), T, rho, lambda_r)["P_bar"] - pressure_bar

    lo, hi = np.log(KB * T / t_star_range[1]), np.log(KB * T / t_star_range[0])
    grid = np.linspace(lo, hi, 25)
    vals = np.array([dp(x) for x in grid])
    sign = np.flatnonzero(np.sign(vals[:-1]) != np.sign(vals[1:]))
    if len(sign) == 0:
        return None
    k = int(sign[-1])  # the highest epsilon (lowest T*) root: the liquid branch
    return float(np.exp(brentq(dp, grid[k], grid[k + 1], xtol=1e-10)))


def refine_with_pressure(
    r: np.ndarray,
    g: np.ndarray,
    T: float,
    rho: float,
    start: tuple[float, float],
    pressure_bar: float,
    objective: str = "total-deviation",
) -> dict:
    """The bead that minimises the objective among those whose LJ equation-of-state pressure equals the
    all-atom pressure ``pressure_bar`` (bar); start (sigma nm, epsilon kJ/mol) from the network. No simulation.

    Returns the same keys as :func:`refine_for_objective` plus ``pressure_bar`` (the constraint).

    Raises
    ------
    ProjectError
        A non-finite pressure, or no bead in the search range reaches it.
    """
    from scipy.optimize import minimize_scalar

    t0 = time.perf_counter()
    _check_pressure(pressure_bar)
    s0 = float(start[0])
    f = SurrogateObjective(r, g, T, rho, objective, s0)

    def along(sig: float) -> float:
        eps = epsilon_at_pressure(sig, T, rho, pressure_bar)
        return OUTSIDE_PENALTY if eps is None else f(sig, eps)

    grid = np.linspace(*f.sigma_bounds, 17)  # a coarse scan first: the constraint may have no root for some sigma
    vals = np.array([along(s) for s in grid])
    k = int(np.argmin(vals))
    if vals[k] >= OUTSIDE_PENALTY:
        raise ProjectError(
            f"pressure: no LJ bead with sigma within +-{100 * SIGMA_RANGE:.0f} % of {s0:.4g} nm and "
            f"T* in {T_STAR_RANGE} has an equation-of-state pressure of {pressure_bar:.4g} bar"
        )
    lo, hi = grid[max(k - 1, 0)], grid[min(k + 1, len(grid) - 1)]
    res = minimize_scalar(along, bounds=(lo, hi), method="bounded", options={"xatol": 1e-5})
    if res.fun > vals[k]:
        res.x, res.fun = grid[k], vals[k]
    sig = float(res.x)
    eps = epsilon_at_pressure(sig, T, rho, pressure_bar)
    if eps is None or res.fun >= OUTSIDE_PENALTY:
        raise ProjectError(
            f"pressure: no LJ bead with sigma within +-{100 * SIGMA_RANGE:.0f} % of {s0:.4g} nm and "
            f"T* in {T_STAR_RANGE} has an equation-of-state pressure of {pressure_bar:.4g} bar"
        )
    return {
        "sigma": sig,
        "epsilon": eps,
        "objective": objective,
        "value": float(res.fun),
        "pressure_bar": float(pressure_bar),
        "start": {"sigma": s0, "epsilon": float(start[1])},
        **f.judge(sig, eps, "pressure-constrained", with_t_star=False),
        "r_range_nm": [float(f.r[0] - 0.5 * f.width), f.r_range],
        "n_evaluations": f.n_eval,
        "wall_s": time.perf_counter() - t0,
        "n_simulations": 0,
        "method": "bounded search over sigma along P_EOS(sigma, epsilon) = P_AA, forward-model RDF",
        "units": {"sigma": "nm", "epsilon": "kJ/mol", "pressure_bar": "bar", "wall_s": "s"},
    }


def refine_mie_with_pressure(
    r: np.ndarray,
    g: np.ndarray,
    T: float,
    rho: float,
    start: tuple[float, float],
    pressure_bar: float,
    objective: str = "total-deviation",
    forward=None,
) -> dict:
    """The Mie lambda_r-6 bead that minimises the objective among those whose SAFT-VR Mie pressure equals the
    all-atom pressure ``pressure_bar`` (bar); no simulation.

    For each (sigma, lambda_r), epsilon solves P_SAFT(sigma, epsilon, lambda_r) = P_AA (:func:`epsilon_at_pressure`,
    T* in :data:`MIE_T_STAR_RANGE`); the objective (Mie forward model's RDF) is scanned on a grid of 9 sigma (+-8 %
    of ``start``'s sigma, nm) x 7 exponents (log-spaced over the trained ones) and minimised by Nelder-Mead in
    (ln sigma, ln lambda_r) from the best grid point. ``start``: (sigma nm, epsilon kJ/mol), e.g. the LJ bead refined
    for the same objective. SAFT-VR Mie's pressure is itself 1-3 % off the Mie engine's in the liquid
    (docs/mie.md), which in a dense liquid is tens to hundreds of bar: the check runs give the simulated pressure.

    Returns
    -------
    dict
        As :func:`refine_mie_for_objective`, plus ``pressure_bar`` (the constraint).

    Raises
    ------
    ProjectError
        A non-finite pressure, or no bead in the search range reaches it.
    """
    from scipy.optimize import minimize

    t0 = time.perf_counter()
    _check_pressure(pressure_bar)
    fw = _mie_model(forward, "refine_mie_with_pressure")
    s0 = float(start[0])
    f = SurrogateObjective(r, g, T, rho, objective, s0, forward=fw)
    lam_lo, lam_hi = fw.lambda_range
    eps_of = {}

    def eps_at(x: np.ndarray) -> float | None:
        """epsilon (kJ/mol) on the constraint at x = (ln sigma, ln lambda_r), solved once per x."""
        key = (round(x[0], 12), round(x[1], 12))
        if key not in eps_of:
            eps_of[key] = epsilon_at_pressure(
                float(np.exp(x[0])), T, rho, pressure_bar, float(np.exp(x[1])), f.t_star_range
            )
        return eps_of[key]

    def along(x: np.ndarray) -> float:
        sig, lam = float(np.exp(x[0])), float(np.exp(x[1]))
        if not (f.sigma_bounds[0] <= sig <= f.sigma_bounds[1] and lam_lo <= lam <= lam_hi):
            return OUTSIDE_PENALTY
        eps = eps_at(x)
        return OUTSIDE_PENALTY if eps is None else f(sig, eps, lam)

    grid = [
        np.log([s, lam])
        for s in np.linspace(*f.sigma_bounds, 9)
        for lam in np.geomspace(lam_lo * 1.001, lam_hi / 1.001, 7)
    ]
    vals = np.array([along(x) for x in grid])
    k = int(np.argmin(vals))
    if vals[k] >= OUTSIDE_PENALTY:
        raise ProjectError(
            f"pressure: no Mie bead with sigma within +-{100 * SIGMA_RANGE:.0f} % of {s0:.4g} nm, lambda_r in "
            f"{lam_lo:.3g}-{lam_hi:.3g} and T* in {f.t_star_range} has a SAFT-VR Mie pressure of "
            f"{pressure_bar:.4g} bar"
        )
    x0 = grid[k]
    simplex = np.array([x0, x0 + [0.005, 0.0], x0 + [0.0, 0.05]])
    res = minimize(
        along,
        x0,
        method="Nelder-Mead",
        options={"initial_simplex": simplex, "xatol": 1e-4, "fatol": 1e-7, "maxfev": 200},
    )
    x = res.x if res.fun <= vals[k] else x0
    sig, lam = float(np.exp(x[0])), float(np.exp(x[1]))
    eps = eps_at(x)
    return {
        "sigma": sig,
        "epsilon": eps,
        "lambda_r": lam,
        "objective": objective,
        "value": float(min(res.fun, vals[k])),
        "pressure_bar": float(pressure_bar),
        "start": {"sigma": s0, "epsilon": float(start[1])},
        **f.judge(sig, eps, "Mie pressure-constrained", with_t_star=False, lambda_r=lam),
        "eos": eos_thermo(sig, eps, T, rho, lambda_r=lam),
        "r_range_nm": [float(f.r[0] - 0.5 * f.width), f.r_range],
        "n_evaluations": f.n_eval,
        "wall_s": time.perf_counter() - t0,
        "n_simulations": 0,
        "method": "grid and Nelder-Mead over (ln sigma, ln lambda_r) along P_SAFT-VR-Mie(sigma, epsilon, lambda_r) = "
        "P_AA, Mie forward-model RDF",
        "units": {"sigma": "nm", "epsilon": "kJ/mol", "lambda_r": "1", "pressure_bar": "bar", "wall_s": "s"},
    }


__all__ = [
    "KJ_MOL_NM3_TO_BAR",
    "OBJECTIVES",
    "SurrogateObjective",
    "eos_thermo",
    "epsilon_at_pressure",
    "refine_for_objective",
    "refine_mie_for_objective",
    "refine_mie_with_pressure",
    "refine_with_pressure",
]
