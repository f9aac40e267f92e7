"""Verdict of a fit: how well one LJ fluid describes the input, whether the state is in the models' domain, and
every warning a user must read.

``lj_adequate`` is true when chi^2 / dof <= :data:`ADEQUATE_CHI2`: one LJ fluid describes the input within its
noise and the model error. ``in_domain`` is false (with the reason in the warnings) when the fitted state is
outside the training states of the networks. Units: r nm, sigma nm, epsilon kJ/mol, total deviation nm.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from project.errors import RDFError
from project.model.fit.settings import (
    ADEQUATE_CHI2,
    DENSE_WARN_RHO_STAR,
    DENSITY_SENSITIVITY_WARN,
    HOT_DENSITY_WARN_T_STAR,
    HOT_WARN_T_STAR,
    HULL_MARGIN,
    MIE_HINT_DLAMBDA,
    NORM_PRIOR,
    SOFT_WARN_LAMBDA,
    FitOptions,
)


def residual_metrics(r: np.ndarray, g: np.ndarray, g_fit: np.ndarray, width: float, uniform: bool) -> dict:
    """Total deviation sum |g - g_fit| dr (nm), KL divergence (NaN on a non-uniform grid or where undefined) and
    max |dg| over the points given (r nm)."""
    from project.metrics import kl_divergence

    try:
        kl = kl_divergence(r, np.clip(g, 0, None), np.clip(g_fit, 0, None)) if uniform else float("nan")
    except RDFError:
        kl = float("nan")
    return {
        "total_deviation_nm": float(np.sum(np.abs(g - g_fit)) * width),
        "kl_divergence": kl,
        "max_abs_dg": float(np.max(np.abs(g - g_fit))),
    }


@dataclass
class Verdict:
    """``lj_adequate``, ``in_domain`` and the warnings they come with."""

    lj_adequate: bool = True
    in_domain: bool = True
    warnings: list[str] = field(default_factory=list)


def forward_domain(
    forward, t_star: float, rho_star: float, what: str = "the fitted state", lambda_r: float = 12.0
) -> tuple[bool, list[str]]:
    """Is the state (T*, rho*[, lambda_r]) inside the forward model's training states?

    Out of domain when the nearest training state is more than 2.5 of their spacings there away
    (:meth:`~project.model.forward.ForwardModel.spacing_at`), or when the state lies beyond the convex hull of the
    training states in (1/T*, rho*) by more than :data:`HULL_MARGIN` typical spacings.

    Parameters
    ----------
    forward : ForwardModel
        The forward model (:meth:`distance_to_training`, :meth:`spacing_at`, :meth:`beyond_training_hull`).
    t_star, rho_star : float
        Reduced temperature k_B T / epsilon and density rho sigma^3 (dimensionless).
    what : str
        How the warnings name the state.
    lambda_r : float
        Mie repulsive exponent (12: LJ; a Mie forward model's domain includes it, (1/T*, rho*, ln lambda_r)).

    Returns
    -------
    tuple
        (in_domain, the reasons when it is not: a list of warnings).
    """
    mie = getattr(forward, "is_mie", False)
    state = f"T* = {t_star:.3g}, rho* = {rho_star:.3g}" + (f", lambda_r = {lambda_r:.3g}" if mie else "")
    inputs = "1/T*, rho*, ln lambda_r" if mie else "1/T*, rho*"
    args = (t_star, rho_star, lambda_r) if mie else (t_star, rho_star)
    dist, spacing = forward.distance_to_training(*args), forward.spacing_at(*args)
    if dist > 2.5 * spacing:
        return False, [
            f"{what} ({state}) is outside the states the "
            f"forward model was trained on (distance {dist / spacing:.1f} x their spacing there)"
        ]
    if (beyond := forward.beyond_training_hull(*args)) > HULL_MARGIN:
        return False, [
            f"{what} ({state}) lies beyond the edge of the states the "
            f"forward model was trained on ({beyond:.1f} x their spacing outside their convex hull in {inputs}): "
            "the refinement may have stopped where the model ends, not where the input is"
        ]
    return True, []


def judge(
    *,
    chi2_red: float,
    sigma: float,
    epsilon: float,
    t_star: float,
    rho_star: float,
    forward,
    inverse,
    lambda_r: float = 12.0,
) -> Verdict:
    """Is one fluid of the forward model's form enough (chi^2 / dof), and is the fitted state inside the models'
    training states? (``lj_adequate`` here: the fitted form, LJ or Mie, is adequate.)"""
    v = Verdict(lj_adequate=bool(chi2_red <= ADEQUATE_CHI2))
    form = f"Mie {lambda_r:.3g}-6" if getattr(forward, "is_mie", False) else "LJ"
    if not v.lj_adequate:
        v.warnings.append(
            f"one {form} fluid does not describe this RDF within its noise (chi^2/dof = {chi2_red:.3g} > "
            f"{ADEQUATE_CHI2}); the error bars are widened by sqrt(chi^2/dof)"
            + ("" if form != "LJ" else " (a Mie lambda_r-6 fluid is fitted with --potential mie or auto)")
        )
    v.in_domain, reasons = forward_domain(forward, t_star, rho_star, lambda_r=lambda_r)
    v.warnings.extend(reasons)
    for key, val, label in (("sigma", sigma, "sigma (nm)"), ("epsilon", epsilon, "epsilon (kJ/mol)")):
        lo_, hi_ = inverse.meta["domain"][key]
        if not 0.98 * lo_ <= val <= 1.02 * hi_:
            v.in_domain = False
            v.warnings.append(f"{label} = {val:.4g} is outside the training range [{lo_:.4g}, {hi_:.4g}]")
    return v


def mie_hint(mie_oneshot: dict | None) -> list[str]:
    """A warning for an LJ fit when the Mie network reads an exponent far from 12 (:data:`MIE_HINT_DLAMBDA`)."""
    if mie_oneshot is None or abs(mie_oneshot["lambda_r"] - 12.0) <= MIE_HINT_DLAMBDA:
        return []
    return [
        f"the Mie network reads this RDF as a lambda_r = {mie_oneshot['lambda_r']:.3g} fluid, not 12-6: an LJ fit of a "
        "Mie fluid can be adequate and still off in epsilon by 10 % or more; test the exponent with --potential auto"
    ]


def soft_caveat(lambda_r: float) -> list[str]:
    """A warning for a Mie fit of a soft fluid (lambda_r < :data:`SOFT_WARN_LAMBDA`), where the held-out Mie fluids
    showed the refined epsilon least accurate (written after seeing them; figures of ``mie_forward_v3``)."""
    if lambda_r >= SOFT_WARN_LAMBDA:
        return []
    return [
        f"soft repulsion (lambda_r = {lambda_r:.3g} < {SOFT_WARN_LAMBDA:g}) is where the Mie fit is least accurate: on "
        "the 23 held-out Mie fluids fitted below lambda_r 11 epsilon was 4.1 % off on average and up to 18 % (4 "
        "std) in the dense liquid, sigma 0.23 %; 96 % of their 2-std intervals held the truth"
    ]


def lambda_caveat(lambda_r: float, lambda_range: tuple[float, float]) -> list[str]:
    """A warning when a Mie fit's exponent ended at the bounds of the trained exponents (within 1 %)."""
    lo, hi = lambda_range
    if lo * 1.01 < lambda_r < hi / 1.01:
        return []
    return [
        f"lambda_r = {lambda_r:.3g} is at the bound of the exponents the Mie forward model was trained on "
        f"({lo:.3g}-{hi:.3g}): the data may want an exponent outside that range, and its interval is cut there"
    ]


def region_caveat(t_star: float, rho_star: float) -> list[str]:
    """A warning where the held-out simulations showed the refined epsilon less accurate and its interval too narrow:
    the dense liquid (rho* > :data:`DENSE_WARN_RHO_STAR`) and the hot fluid (T* > :data:`HOT_WARN_T_STAR`)."""
    if rho_star <= DENSE_WARN_RHO_STAR and t_star <= HOT_WARN_T_STAR:
        return []
    where = "dense liquid" if rho_star > DENSE_WARN_RHO_STAR else "hot fluid"
    return [
        f"the {where} (T* = {t_star:.3g}, rho* = {rho_star:.3g}) is where the refinement is least accurate: on "
        "held-out simulations of the dense liquid (rho* > 0.95) and the hot fluid (T* > 2.5) epsilon was 3.4-4.6 % "
        "off on average (sigma 0.22-0.30 %), mostly too high (up to +24 % next to the freezing line), and its 2-std "
        "interval held the truth in 88-94 % of them"
    ]


def caveats(
    *,
    opt: FitOptions,
    rho: float,
    sensitivity: float | None,
    ln_c: float,
    t_star: float,
    delta: float,
) -> list[str]:
    """Warnings about the nuisance parameters: density sensitivity, normalisation, hot states, density shift."""
    out = []
    d_rho = opt.density_error / rho
    if sensitivity is not None and abs(sensitivity) > DENSITY_SENSITIVITY_WARN:
        out.append(
            f"epsilon depends strongly on the stated density here: a 1 % error in rho moves it by "
            f"{abs(sensitivity):.1f} %; give --density-error (nm^-3) unless rho is known to better than 0.2 %"
        )
    if opt.normalisation and abs(ln_c) > 2 * NORM_PRIOR:
        out.append(
            f"the normalisation factor of g came out {np.exp(ln_c):.3f} (prior 1 +- {NORM_PRIOR}): check how g "
            "was normalised"
        )
    if d_rho > 0 and t_star > HOT_DENSITY_WARN_T_STAR:
        out.append(
            f"T* = {t_star:.3g} with an uncertain density: here sigma, T* and rho* can trade along a "
            "nearly flat valley of the fit, and the stated epsilon_std is too small (on held-out simulations "
            "at T* 2.5-10 with the density 2 % off, 69-75 % of the 2-std intervals held the truth, not 95 %)"
        )
    if d_rho > 0 and abs(delta) > 2 * d_rho:
        out.append(
            f"the fit moved the density by {100 * delta:+.1f} %, more than twice its stated "
            f"uncertainty ({100 * d_rho:.1f} %)"
        )
    return out


def disagrees_with_oneshot(
    oneshot: dict | None,
    sigma: float,
    epsilon: float,
    sigma_std: float,
    epsilon_std: float,
    lambda_r: float | None = None,
    lambda_r_std: float = 0.0,
    network_error: dict | None = None,
) -> list[str]:
    """A warning when the refined fit lies more than 3 standard errors from the network's answer.

    The distance is sqrt(sum of squared (network - fit) / s) over sigma (nm) and epsilon (kJ/mol), and over lambda_r
    too for a Mie fit (``lambda_r`` given, the Mie network's answer in ``oneshot``); s combines the fit's std with
    the network's own measured error where the fit landed (``network_error``: relative RMS errors by parameter,
    :meth:`project.model.inverse.InverseModel.error_at`; None: the fit's std alone, for a network without recorded
    errors). ``oneshot`` None: no check (the caller passes None where the network's error was not measured).
    """
    if oneshot is None:
        return []
    net = network_error or {}

    def term(key: str, fit: float, std: float) -> float:
        return (oneshot[key] - fit) / float(np.hypot(std, net.get(key, 0.0) * fit))

    terms = [term("sigma", sigma, sigma_std), term("epsilon", epsilon, epsilon_std)]
    mie = lambda_r is not None and "lambda_r" in oneshot and lambda_r_std > 0
    if mie:
        terms.append(term("lambda_r", lambda_r, lambda_r_std))
    if float(np.sqrt(np.sum(np.square(terms)))) <= 3:
        return []
    lam = f", lambda_r {oneshot['lambda_r']:.3g}" if mie else ""
    return [
        f"the refined fit differs from the one-shot network (sigma {oneshot['sigma']:.4g} nm, "
        f"epsilon {oneshot['epsilon']:.4g} kJ/mol{lam}) by more than 3 standard errors"
    ]
