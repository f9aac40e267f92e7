"""The fit as a pipeline: prepare the input -> one shot -> refine -> uncertainty -> verdict.

Units: r nm, g dimensionless, T K, rho nm^-3, sigma nm, epsilon kJ/mol, Q_max A^-1.
"""

from __future__ import annotations

import time

import numpy as np

from project.errors import RDFError
from project.model.fit.prepare import PreparedInput, prepare_input
from project.model.fit.problem import ForwardProblem
from project.model.fit.refine import Refiner, refine
from project.model.fit.result import FitResult
from project.model.fit.settings import FitOptions
from project.model.fit.uncertainty import estimate_uncertainty
from project.model.fit.verdict import caveats, disagrees_with_oneshot, judge, region_caveat, residual_metrics
from project.model.inverse import Prediction, result_fields
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
    return result_fields(pred)


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
) -> FitResult:
    """Fit LJ sigma (nm) and epsilon (kJ/mol) to an RDF; see :mod:`project.model.fit` for the method.

    Parameters
    ----------
    r_nm, g : arrays
        The RDF: r in nm (strictly increasing), g dimensionless (small negative values in the core allowed).
    T, rho : float
        Temperature (K) and number density (nm^-3) of the system.
    g_err : array or None
        1-std errors of g (dimensionless); None: estimated from the curve.
    options : FitOptions
        Density and temperature uncertainties, Q_max, normalisation.
    inverse, forward : models or None
        :class:`~project.model.inverse.InverseModel` and :class:`~project.model.forward.ForwardModel` (None: the
        shipped ones, cached).
    prediction : Prediction or None
        The network's answer for this RDF when the caller already has it (:func:`one_shot`); None: computed.

    Raises
    ------
    RDFError
        Malformed or unusable input, impossible or unit-slipped T, rho, r (the message names the value).
    """
    from project.model.cache import resolve

    t0 = time.perf_counter()
    opt = options or FitOptions()
    inverse, forward = resolve(inverse, forward)
    prep = prepare_input(r_nm, g, T, rho, g_err, opt, source)
    warnings = list(prep.warnings)
    oneshot = _oneshot_stage(
        inverse, np.asarray(r_nm, float), np.asarray(g, float), T, rho, source, prediction, warnings
    )
    prob = ForwardProblem(forward, prep.r, T, rho, prep.width if prep.binning == "histogram" else None, prep.q_max_nm)
    refiner = Refiner(prep, prob, rho, opt.density_error / rho, opt.normalisation)
    ref = refine(refiner, oneshot)
    if ref.n_used < MIN_USED_POINTS:
        raise RDFError(
            f"{source}: no LJ state describes this RDF: the refinement ended at sigma = {ref.params.sigma:.4g} nm "
            f"with {ref.n_used} points of the input in use (allowed: at least {MIN_USED_POINTS}); check T, rho and r"
        )
    unc = estimate_uncertainty(ref, prob, rho, opt.temperature_error / T, forward.meta["n_members"], refiner)
    return _result(
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
        wall_s=time.perf_counter() - t0,
    )


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
    g_fit = c * prob.model(p.sigma, p.t_star, rho_star)
    used = ref.used
    verdict = judge(
        chi2_red=unc.chi2_per_dof,
        sigma=p.sigma,
        epsilon=epsilon,
        t_star=p.t_star,
        rho_star=rho_star,
        forward=forward,
        inverse=inverse,
    )
    warnings += verdict.warnings
    warnings += caveats(opt=opt, rho=rho, sensitivity=unc.sensitivity, ln_c=p.ln_c, t_star=p.t_star, delta=p.delta)
    warnings += region_caveat(p.t_star, rho_star)
    warnings += disagrees_with_oneshot(oneshot, p.sigma, epsilon, sigma_std, epsilon_std)
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
