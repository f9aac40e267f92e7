"""Uncertainty of a refinement: statistics, the forward model's spread, the temperature and floors.

Covariance (J^T J)^-1 of the whitened residuals, scaled by max(1, chi^2 / dof) (a fit worse than the noise widens
its error bars), plus the forward model's ensemble spread propagated through the same linearisation, the stated
temperature uncertainty (epsilon is proportional to T) and the floors :data:`REL_FLOOR` (systematic error left on
clean held-out inputs). Relative variances of sigma and T* (so of epsilon = k_B T / T*).

The linearisation fails where sigma and T* trade along a long, curved valley of the cost (hot and dense fluids:
there the structure depends almost only on rho* T*^(-1/4), the soft-sphere variable, and a 1 % change of sigma is
undone by a ~12 % change of T*). So the statistical part is also taken from the profile of the cost in ln T*:
T* is held at steps of ln T* on each side (:data:`PROFILE_STEPS`), every other parameter is re-fitted, and the
2-std bound is where the cost has risen by 4 max(1, chi^2 / dof). The profile's half-widths / 2 give the
statistical 1-std of ln T* (so of ln epsilon), and the spread of sigma over the points inside the bounds / 4 that
of ln sigma, each when larger than the linearised value (``*_rel_profile`` in the breakdown). A second minimum
found from another start (:func:`~project.model.fit.refine.refine`) whose cost is within the same rise widens
those half-widths to reach it (:func:`near_minima`).

Mie fits (lambda_r a parameter) add the relative uncertainty of lambda_r the same way: linearised, ensemble spread,
the floor :data:`LAMBDA_REL_FLOOR` and the profile of the cost in ln lambda_r (steps stop at the trained exponents'
bounds: an interval that reaches them is cut there).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from project.model.fit.problem import ForwardProblem
from project.model.fit.refine import LAMBDA_INDEX, Refinement, Refiner
from project.model.fit.settings import LAMBDA_REL_FLOOR, REL_FLOOR


@dataclass
class Uncertainty:
    """Relative 1-std uncertainties of sigma and epsilon and where they come from (all dimensionless).

    ``sensitivity`` is d ln epsilon / d ln rho (% per % of density; None when the density was fitted).
    """

    stat: np.ndarray
    model_var: np.ndarray
    chi2_per_dof: float
    temperature_rel: float
    sensitivity: float | None
    profile: tuple[float, float] = (0.0, 0.0)
    mie: bool = False
    lambda_profile: float = 0.0

    @property
    def _stat(self) -> tuple[float, float]:
        """Statistical variances of ln sigma and ln T*: the linearised ones or the profile's, the larger."""
        return max(self.stat[0, 0], self.profile[0] ** 2), max(self.stat[1, 1], self.profile[1] ** 2)

    @property
    def sigma_rel(self) -> float:
        """Total relative 1-std uncertainty of sigma."""
        return float(np.sqrt(self._stat[0] + self.model_var[0] + REL_FLOOR[0] ** 2))

    @property
    def epsilon_rel(self) -> float:
        """Total relative 1-std uncertainty of epsilon."""
        return float(np.sqrt(self._stat[1] + self.model_var[1] + REL_FLOOR[1] ** 2 + self.temperature_rel**2))

    @property
    def lambda_rel(self) -> float:
        """Total relative 1-std uncertainty of lambda_r (0 for an LJ fit: lambda_r = 12 is fixed)."""
        if not self.mie:
            return 0.0
        k = LAMBDA_INDEX
        stat = max(self.stat[k, k], self.lambda_profile**2)
        return float(np.sqrt(stat + self.model_var[k] + LAMBDA_REL_FLOOR**2))

    def breakdown(self) -> dict[str, float | None]:
        """The parts, as the fit's ``uncertainty`` dict reports them."""
        out = self._breakdown()
        if self.mie:
            k = LAMBDA_INDEX
            out.update(
                lambda_r_rel_statistical=float(np.sqrt(max(self.stat[k, k], self.lambda_profile**2))),
                lambda_r_rel_linearised=float(np.sqrt(self.stat[k, k])),
                lambda_r_rel_profile=self.lambda_profile,
                lambda_r_rel_model=float(np.sqrt(self.model_var[k])),
                lambda_r_rel_floor=LAMBDA_REL_FLOOR,
            )
        return out

    def _breakdown(self) -> dict[str, float | None]:
        return {
            "sigma_rel_statistical": float(np.sqrt(self._stat[0])),
            "epsilon_rel_statistical": float(np.sqrt(self._stat[1])),
            "sigma_rel_linearised": float(np.sqrt(self.stat[0, 0])),
            "epsilon_rel_linearised": float(np.sqrt(self.stat[1, 1])),
            "sigma_rel_profile": self.profile[0],
            "epsilon_rel_profile": self.profile[1],
            "sigma_rel_model": float(np.sqrt(self.model_var[0])),
            "epsilon_rel_model": float(np.sqrt(self.model_var[1])),
            "sigma_rel_floor": REL_FLOOR[0],
            "epsilon_rel_floor": REL_FLOOR[1],
            "epsilon_rel_temperature": self.temperature_rel,
            "epsilon_pct_per_pct_density": None if self.sensitivity is None else abs(self.sensitivity),
        }


#: Steps of |ln T*| (on each side of the refined T*) at which the cost profile is evaluated.
PROFILE_STEPS = (0.02, 0.05, 0.1, 0.2, 0.35, 0.5)


def profile_widths(refiner: Refiner, ref: Refinement, scale: float, index: int = 1) -> tuple[float, float]:
    """Statistical 1-std of ln sigma and of theta[index] (default ln T*) from the cost profile in theta[index]
    (module docstring).

    ``scale``: max(1, chi^2 / dof). Where the cost stays below the 2-std rise at the last step, the bound is that
    step (|ln T*| = 0.5, a factor 1.65 in epsilon), or the parameter's bound where that comes first.
    """
    x0 = ref.solution.x
    c0 = float(ref.solution.fun @ ref.solution.fun)
    lt0 = float(x0[index])
    lo, hi = refiner.layout.bounds()
    target = 4.0 * scale
    half, sigmas = [], [x0[0]]
    for sign in (-1.0, 1.0):
        prev_off, prev_d, start = 0.0, 0.0, x0
        room = (hi[index] - lt0) if sign > 0 else (lt0 - lo[index])
        steps = [o for o in PROFILE_STEPS if o < room] + ([room] if room < PROFILE_STEPS[-1] else [])
        bound = steps[-1] if steps else 0.0
        for off in steps:
            if off <= 1e-9:
                break
            cost, x = refiner.profile(ref, float(np.exp(lt0 + sign * off)), start, index=index)
            d = max(cost - c0, 0.0)
            if d >= target:
                bound = prev_off + (off - prev_off) * (target - prev_d) / max(d - prev_d, 1e-12)
                break
            sigmas.append(x[0])
            prev_off, prev_d, start = off, d, x
        half.append(bound)
    ln_sigma = np.asarray(sigmas)
    return float((ln_sigma.max() - ln_sigma.min()) / 4.0), float(sum(half) / 4.0)


def estimate_uncertainty(
    ref: Refinement,
    prob: ForwardProblem,
    rho: float,
    temperature_rel: float,
    n_members: int,
    refiner: Refiner | None = None,
) -> Uncertainty:
    """Uncertainty of a refinement (see the module docstring).

    Parameters
    ----------
    ref : Refinement
        The kept refinement.
    prob : ForwardProblem
        Its forward model.
    rho : float
        Stated number density (nm^-3).
    temperature_rel : float
        Relative 1-std uncertainty of the temperature.
    n_members : int
        Members of the forward model's ensemble.
    refiner : Refiner or None
        The refiner of ``ref``, for the cost profile in ln T* (None: linearised statistics only).
    """
    sol, used, sw, n_used = ref.solution, ref.used, ref.sqrt_w, ref.n_used
    p = ref.params
    rho_star = rho * (1 + p.delta) * p.sigma**3
    chi2_red = ref.chi2 / max(n_used - len(sol.x), 1)
    J = sol.jac
    try:
        cov = np.linalg.pinv(J.T @ J)
    except np.linalg.LinAlgError:
        cov = np.full((len(sol.x), len(sol.x)), np.inf)
    stat = cov * max(1.0, chi2_red)
    c = np.exp(p.ln_c)
    lam = p.lambda_r
    mean_m = c * prob.model(p.sigma, p.t_star, rho_star, lambda_r=lam)[used]
    shifts = []
    for k in range(n_members):
        dm = (c * prob.model(p.sigma, p.t_star, rho_star, member=k, lambda_r=lam)[used] - mean_m) * sw
        shifts.append(cov @ (J[:n_used].T @ dm))
    shifts = np.asarray(shifts)
    model_var = shifts.var(0) * len(shifts) / max(len(shifts) - 1, 1)
    # how far epsilon would move if the stated density were 1 % off (linearised, density held fixed in the fit)
    sens = None
    if not ref.layout.free_density:
        dm_d = c * (prob.model(p.sigma, p.t_star, rho_star * 1.001, lambda_r=lam)[used] - mean_m / c) / 1e-3 * sw
        sens = float((cov @ (J[:n_used].T @ dm_d))[1])  # d ln T* / d delta = -d ln epsilon / d delta
    prof = profile_widths(refiner, ref, max(1.0, chi2_red)) if refiner is not None else (0.0, 0.0)
    mie = ref.layout.mie
    lam_prof = 0.0
    if mie and refiner is not None:
        lam_prof = profile_widths(refiner, ref, max(1.0, chi2_red), index=LAMBDA_INDEX)[1]
    # another minimum (from another start) whose cost is within the 2-std rise lies inside the 2-std interval
    for alt in near_minima(ref, max(1.0, chi2_red)):
        x, y = ref.solution.x, alt.solution.x
        prof = (max(prof[0], abs(y[0] - x[0]) / 2), max(prof[1], abs(y[1] - x[1]) / 2))
        if mie:
            lam_prof = max(lam_prof, abs(y[LAMBDA_INDEX] - x[LAMBDA_INDEX]) / 2)
    return Uncertainty(stat, model_var, chi2_red, float(temperature_rel), sens, prof, mie, lam_prof)


def near_minima(ref: Refinement, scale: float) -> list[Refinement]:
    """The other refinements of the same input (``ref.alternatives``) whose cost (chi^2 with priors) is within the
    2-std rise, 4 ``scale``, of the kept one's, both taken per used point and counted on the kept one's points.

    The cost profile in ln T* starts at the kept minimum and may not cross the barrier to another one; a second
    minimum the data cannot tell apart belongs in the interval all the same (module docstring).
    """
    c0 = ref.cost_per_point * ref.n_used
    return [a for a in ref.alternatives if a.cost_per_point * ref.n_used - c0 < 4.0 * scale]
