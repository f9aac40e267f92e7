"""The fit as a pipeline: prepare the input -> one shot -> refine -> uncertainty -> verdict.

Units: r nm, g dimensionless, T K, rho nm^-3, sigma nm, epsilon kJ/mol, Q_max A^-1.
"""

from __future__ import annotations

import time

import numpy as np

from project.errors import ProjectError, RDFError
from project.model.fit.prepare import PreparedInput, prepare_input
from project.model.fit.problem import ForwardProblem
from project.model.fit.refine import LAMBDA_INDEX, Refiner, refine
from project.model.fit.result import FitResult
from project.model.fit.settings import MIE_SUPPORT_DCHI2, POTENTIALS, FitOptions
from project.model.fit.uncertainty import estimate_uncertainty
from project.model.fit.verdict import (
    caveats,
    disagrees_with_oneshot,
    judge,
    lambda_caveat,
    mie_hint,
    region_caveat,
    residual_metrics,
    soft_caveat,
)
from project.model.inverse import Prediction
from project.units import KB

#: Fewest input points a refinement must use for its answer to stand.
MIN_USED_POINTS = 10


def one_shot(inverse, prep_g: np.ndarray, r: np.ndarray, T: float, rho: float, source: str) -> Prediction:
    """The inverse network's answer for an RDF (r nm, g clipped at 0), T (K), rho (nm^-3).

    Raises
    ------
    RDFError
        The network cannot read this RDF.
    """
    return inverse.predict(r, np.clip(prep_g, 0.0, None), T, rho, source=source)


def _oneshot_stage(inverse, r, g, T, rho, source, prediction, warnings) -> dict | None:
    """The network's answer as the fit reports it (``oneshot``), or None with a warning where it cannot read g."""
    try:
        pred = prediction if prediction is not None else one_shot(inverse, g, r, T, rho, source)
    except RDFError as exc:
        warnings.append(f"the one-shot network cannot read this RDF ({exc}); started from a scan of the forward model")
        return None
    return {key: value for key, value in pred.as_dict().items() if key != "units"}  # with lambda_r for a Mie network


def _mie_oneshot_quiet(mie_inverse, r, g, T, rho, source) -> dict | None:
    """The Mie network's answer for an LJ fit's hint (:func:`mie_hint`): None where it cannot read the RDF or its
    answer is outside its training states."""
    from project.model.cache import shipped_mie_inverse

    try:
        net = mie_inverse if mie_inverse is not None else shipped_mie_inverse()
        pred = one_shot(net, g, r, T, rho, source)
    except (RDFError, ProjectError):
        return None
    return {"lambda_r": pred.lambda_r} if pred.in_domain else None  # outside its states it has nothing to say


def fit_rdf(
    r_nm: np.ndarray,
    g: np.ndarray,
    T: float,
    rho: float,
    g_err: np.ndarray | None = None,
    options: FitOptions | None = None,
    inverse=None,
    forward=None,
    source: str = "RDF",
    prediction: Prediction | None = None,
    mie_forward=None,
    mie_inverse=None,
) -> FitResult:
    """Fit sigma (nm) and epsilon (kJ/mol) of an LJ (or Mie lambda_r-6) fluid to an RDF; see :mod:`project.model.fit`.

    Parameters
    ----------
    r_nm, g : arrays
        The RDF: r in nm (strictly increasing), g dimensionless (small negative values in the core allowed).
    T, rho : float
        Temperature (K) and number density (nm^-3) of the system.
    g_err : array or None
        1-std errors of g (dimensionless); None: estimated from the curve.
    options : FitOptions
        Density and temperature uncertainties, Q_max, normalisation, the potential ("lj", "mie", "auto").
    inverse, forward : models or None
        :class:`~project.model.inverse.InverseModel` and :class:`~project.model.forward.ForwardModel` (None: the
        shipped ones, cached).
    mie_forward : ForwardModel or None
        The Mie forward model for ``potential`` "mie" or "auto" (None: the shipped one, cached; a Mie model given
        as ``forward`` is taken as this one).
    mie_inverse : InverseModel or None
        The Mie network whose answer (sigma, T*, lambda_r) starts the Mie fit (None: the shipped one, cached; a Mie
        network given as ``inverse`` is taken as this one).
    prediction : Prediction or None
        The network's answer for this RDF when the caller already has it (:func:`one_shot`); None: computed.

    Raises
    ------
    RDFError
        Malformed or unusable input, impossible or unit-slipped T, rho, r (the message names the value).
    """
    from project.model.cache import resolve, shipped_mie_forward, shipped_mie_inverse

    t0 = time.perf_counter()
    opt = options or FitOptions()
    if opt.potential not in POTENTIALS:
        raise RDFError(f"potential = {opt.potential!r} is not allowed: one of {', '.join(POTENTIALS)}")
    if forward is not None and forward.is_mie:  # a Mie model given as the forward model: the Mie fit's model
        if opt.potential == "lj":
            raise RDFError(
                f"{source}: potential = 'lj' with a Mie forward model; allowed with it: potential mie or auto"
            )
        forward, mie_forward = None, forward
    if inverse is not None and inverse.is_mie:  # likewise a Mie network given as the inverse model
        if opt.potential == "lj":
            raise RDFError(f"{source}: potential = 'lj' with a Mie network; allowed with it: potential mie or auto")
        inverse, mie_inverse = None, inverse
    if opt.potential in ("lj", "auto"):  # a Mie fit alone needs neither LJ model
        inverse, forward = resolve(inverse, forward)
    if opt.potential != "lj":
        mie_forward = mie_forward if mie_forward is not None else shipped_mie_forward()
        if not mie_forward.is_mie:
            raise RDFError(f"{source}: the forward model given for the Mie fit is an LJ model (potential 'lj')")
        mie_inverse = mie_inverse if mie_inverse is not None else shipped_mie_inverse()
    prep = prepare_input(r_nm, g, T, rho, g_err, opt, source)
    warnings = list(prep.warnings)
    r_in, g_in = np.asarray(r_nm, float), np.asarray(g, float)
    fits = {}
    if opt.potential in ("lj", "auto"):
        lj_warnings = list(warnings)
        oneshot = _oneshot_stage(inverse, r_in, g_in, T, rho, source, prediction, lj_warnings)
        fits["lj"] = _fit_with(forward, prep, oneshot, lj_warnings, opt, T, rho, inverse, source)
        if opt.potential == "lj":  # auto tests the exponent itself
            fits["lj"].warnings += mie_hint(_mie_oneshot_quiet(mie_inverse, r_in, g_in, T, rho, source))
    if opt.potential in ("mie", "auto"):
        # the same fit as potential "mie" alone (auto is both fits as each runs on its own), started from the Mie
        # network's answer
        mie_warnings = list(warnings)
        mie_oneshot = _oneshot_stage(mie_inverse, r_in, g_in, T, rho, source, None, mie_warnings)
        fits["mie"] = _fit_with(mie_forward, prep, mie_oneshot, mie_warnings, opt, T, rho, mie_inverse, source)
    res = _choose(fits, opt.potential)
    res.wall_s = time.perf_counter() - t0
    return res


def _fit_with(forward, prep, oneshot, warnings, opt, T, rho, inverse, source) -> FitResult:
    """Refine, estimate the uncertainty and judge one form (the forward model's potential)."""
    prob = ForwardProblem(forward, prep.r, T, rho, prep.width if prep.binning == "histogram" else None, prep.q_max_nm)
    refiner = Refiner(prep, prob, rho, opt.density_error / rho, opt.normalisation)
    ref = refine(refiner, oneshot)
    if ref.n_used < MIN_USED_POINTS:
        form = "Mie" if forward.is_mie else "LJ"
        raise RDFError(
            f"{source}: no {form} state describes this RDF: the refinement ended at sigma = {ref.params.sigma:.4g} nm "
            f"with {ref.n_used} points of the input in use (allowed: at least {MIN_USED_POINTS}); check T, rho and r"
        )
    unc = estimate_uncertainty(ref, prob, rho, opt.temperature_error / T, forward.meta["n_members"], refiner)
    res = _result(
        prep=prep,
        prob=prob,
        ref=ref,
        unc=unc,
        oneshot=oneshot,
        warnings=warnings,
        opt=opt,
        T=T,
        rho=rho,
        inverse=inverse,
        forward=forward,
        wall_s=0.0,
    )
    if forward.is_mie:
        res.model_selection = _lambda_12_test(refiner, ref, unc.chi2_per_dof)
        res.lj_adequate = res.adequate and not res.model_selection["mie_supported"]
    return res


def _lambda_12_test(refiner: Refiner, ref, chi2_per_dof: float) -> dict:
    """The likelihood-ratio test of a Mie fit against lambda_r = 12 with the same forward model.

    The cost with lambda_r held at 12 (everything else re-fitted) minus the free fit's, divided by
    max(1, chi^2/dof): above :data:`MIE_SUPPORT_DCHI2` the data support an exponent other than 12.
    """
    c0 = float(ref.solution.fun @ ref.solution.fun)
    start = ref.solution.x.copy()
    start[LAMBDA_INDEX] = np.log(12.0)
    c12, _ = refiner.profile(ref, 12.0, start, index=LAMBDA_INDEX)
    d = max(c12 - c0, 0.0) / max(1.0, chi2_per_dof)
    return {
        "delta_chi2_lambda_12": float(d),
        "threshold": MIE_SUPPORT_DCHI2,
        "mie_supported": bool(d > MIE_SUPPORT_DCHI2),
        "criterion": "rise of chi^2 / max(1, chi^2/dof) when lambda_r is held at 12 (likelihood-ratio test, "
        "1 degree of freedom, same forward model)",
    }


def _choose(fits: dict[str, FitResult], potential: str) -> FitResult:
    """The fit to report: the one asked for, or with ``auto`` the Mie fit where the data support it."""
    if potential != "auto":
        return fits[potential]
    lj, mie = fits["lj"], fits["mie"]
    sel = dict(mie.model_selection)
    chosen = "mie" if sel["mie_supported"] else "lj"
    sel["chosen"] = chosen
    sel["fits"] = {
        name: {
            "sigma": f.sigma,
            "epsilon": f.epsilon,
            "lambda_r": f.lambda_r,
            "lambda_r_std": f.lambda_r_std,
            "chi2_per_dof": f.residual["chi2_per_dof"],
            "in_domain": f.in_domain,
        }
        for name, f in fits.items()
    }
    out = fits[chosen]
    out.model_selection = sel
    if chosen == "lj":
        out.lj_adequate = lj.lj_adequate
        # lambda_r = 12 is what the data allow, not a certainty: the interval is the Mie fit's
        out.lambda_r_std = mie.lambda_r_std
    return out


def _result(
    *, prep: PreparedInput, prob, ref, unc, oneshot, warnings, opt, T, rho, inverse, forward, wall_s
) -> FitResult:
    """Assemble the :class:`FitResult`: the verdict, the warnings in their order, the reported dicts."""
    p = ref.params
    rho_true = rho * (1 + p.delta)
    rho_star = rho_true * p.sigma**3
    epsilon = KB * T / p.t_star
    sigma_std, epsilon_std = p.sigma * unc.sigma_rel, epsilon * unc.epsilon_rel
    c = np.exp(p.ln_c)
    g_fit = c * prob.model(p.sigma, p.t_star, rho_star, lambda_r=p.lambda_r)
    used = ref.used
    verdict = judge(
        chi2_red=unc.chi2_per_dof,
        sigma=p.sigma,
        epsilon=epsilon,
        t_star=p.t_star,
        rho_star=rho_star,
        forward=forward,
        inverse=inverse,
        lambda_r=p.lambda_r,
    )
    warnings += verdict.warnings
    warnings += caveats(opt=opt, rho=rho, sensitivity=unc.sensitivity, ln_c=p.ln_c, t_star=p.t_star, delta=p.delta)
    lambda_std = p.lambda_r * unc.lambda_rel  # 0 for LJ
    if forward.is_mie:
        warnings += lambda_caveat(p.lambda_r, forward.lambda_range)
        warnings += soft_caveat(p.lambda_r)
    else:
        warnings += region_caveat(p.t_star, rho_star)
    lam = p.lambda_r if forward.is_mie else None
    # the network as a second opinion, with its own measured error where the fit landed; not where that error was
    # never measured; a network without recorded errors (an older or a user's model): the fit's std alone
    net_error = inverse.error_at(p.t_star, rho_star, p.lambda_r) if inverse is not None else None
    second = oneshot if net_error is not None or "validation_error" not in getattr(inverse, "meta", {}) else None
    warnings += disagrees_with_oneshot(second, p.sigma, epsilon, sigma_std, epsilon_std, lam, lambda_std, net_error)
    ru = prep.r[used]
    return FitResult(
        sigma=float(p.sigma),
        epsilon=float(epsilon),
        sigma_std=float(sigma_std),
        epsilon_std=float(epsilon_std),
        T_star=float(p.t_star),
        rho_star=float(rho_star),
        in_domain=verdict.in_domain,
        lj_adequate=verdict.lj_adequate,
        adequate=verdict.lj_adequate,
        potential=forward.potential,
        lambda_r=float(p.lambda_r),
        lambda_r_std=float(lambda_std),
        warnings=warnings,
        oneshot=oneshot,
        residual={
            **residual_metrics(ru, prep.g[used], g_fit[used], prep.width, prep.uniform),
            "chi2_per_dof": unc.chi2_per_dof,
            "n_points": ref.n_used,
            "r_range_nm": [float(ru[0]), float(ru[-1])],
        },
        nuisance={"normalisation": float(c), "density": float(rho_true), "density_shift_rel": float(p.delta)},
        uncertainty=unc.breakdown(),
        input={
            "n_points": prep.n_in,
            "bin_width": prep.width,
            "binning": prep.binning,
            "noise": prep.noise_source,
            "noise_median": float(np.median(prep.e[np.isfinite(prep.e)])),
            "masked_core_points": prep.i0,
            "q_max": opt.q_max,
            "density_error": opt.density_error,
            "temperature_error": opt.temperature_error,
        },
        curve=(prep.r, g_fit),
        used=used,
        wall_s=wall_s,
    )
