"""Settings of the fit: the constants of the method and what the caller knows about the input (:class:`FitOptions`).

Units: relative uncertainties dimensionless, bin widths nm, density nm^-3, temperature K, Q_max A^-1.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Forward-model error (dimensionless, in g) added in quadrature to the input's noise: held-out mean |dg| minus
#: the simulated curves' own noise, rounded up (docs/model.md).
MODEL_ERROR = 0.004
#: The same for the Mie forward model (its validation mean |dg| minus the simulated curves' own noise, rounded up;
#: docs/mie.md).
MIE_MODEL_ERROR = 0.006
#: The forms ``fit`` knows: LJ 12-6, Mie lambda_r-6, or both with a choice between them.
POTENTIALS = ("lj", "mie", "auto")
#: Rise of the scaled chi^2 (chi^2 / max(1, chi^2/dof)) from lambda_r = 12 to the free exponent above which
#: ``--potential auto`` says the data support the Mie form (a likelihood-ratio test, 1 degree of freedom: 4 is
#: p = 0.046; the same 2-std convention as every interval of the fit).
MIE_SUPPORT_DCHI2 = 4.0
#: lambda_r below which a Mie fit carries a measured-accuracy warning (the soft fluids; 1 below 12, the scale of
#: :data:`MIE_HINT_DLAMBDA`, so that LJ fluids fitted as Mie, lambda_r >= 11.7 on the held-out ones, do not carry it;
#: docs/mie.md).
SOFT_WARN_LAMBDA = 11.0
#: An LJ fit warns that the input may be a Mie fluid when the Mie network's one-shot lambda_r differs from 12 by more
#: than this (dimensionless): the accuracy scale max(1, 8 % of lambda_r) of the Mie targets at 12. On the Mie
#: network's 71 LJ validation jobs abs(lambda_r - 12) was at most 0.38 (docs/mie.md).
MIE_HINT_DLAMBDA = 1.0
#: Relative uncertainty floor of lambda_r: the floor that makes the median abs(error / std) 0.674 (a calibrated
#: Gaussian interval) on 55 validation Mie fluids fitted through a model trained without them
#: (``benchmarks/calibrate_mie_fit.py``, seed 5, mie_forward_v3's data; docs/mie.md). It was 0.02.
LAMBDA_REL_FLOOR = 0.0092


def model_error(forward) -> float:
    """The forward-model error (in g) a fit adds to the input's noise: :data:`MODEL_ERROR` (LJ) or
    :data:`MIE_MODEL_ERROR` (Mie)."""
    return MIE_MODEL_ERROR if getattr(forward, "is_mie", False) else MODEL_ERROR


#: Prior width of ln c, the normalisation factor of g (relative, 1 std).
NORM_PRIOR = 0.05
#: Relative uncertainty floors (sigma, epsilon), added in quadrature: what remains on clean held-out inputs.
REL_FLOOR = (0.002, 0.012)
#: chi^2 per degree of freedom up to which one LJ fluid is said to describe the input.
ADEQUATE_CHI2 = 2.0
#: epsilon change (% per 1 % of density) above which a fit without a stated density uncertainty warns.
DENSITY_SENSITIVITY_WARN = 5.0
#: T* above which a fit with an uncertain density warns that its epsilon interval is too narrow (measured).
HOT_DENSITY_WARN_T_STAR = 2.5
#: g below which leading points count as the empty core (masked).
CORE_MASK_G = 0.05
#: Largest s = r / sigma used in the refinement (the forward model ends at 3).
S_MAX_FIT = 2.95
#: How far (in units of the training states' spacing) a fitted state may lie beyond the convex hull of the forward
#: model's training states in (1/T*, rho*) and still count as in its domain.
HULL_MARGIN = 1.0
#: rho* and T* beyond which the refined epsilon carries a measured-accuracy warning (dense liquid, hot fluid).
DENSE_WARN_RHO_STAR = 0.95
HOT_WARN_T_STAR = 2.5
#: Bin widths (nm) the fit accepts.
BIN_WIDTH_RANGE = (0.0005, 0.05)
#: Accepted Q_max of a scattering input (A^-1).
Q_MAX_RANGE = (3.0, 100.0)


@dataclass
class FitOptions:
    """What the caller knows about the input besides (r, g, T, rho).

    Attributes
    ----------
    density_error : float
        1-std uncertainty of the stated number density, nm^-3 (0: exact).
    temperature_error : float
        1-std uncertainty of the temperature, K (0: exact).
    q_max : float or None
        For g(r) from a scattering experiment: the Q_max of the Fourier transform, A^-1 (None: no truncation).
    normalisation : bool
        Fit a normalisation factor c of g (prior width :data:`NORM_PRIOR`).
    potential : str
        The pair potential fitted: "lj" (12-6), "mie" (lambda_r-6, lambda_r fitted) or "auto" (both; the Mie fit
        is reported where the data support it, :data:`MIE_SUPPORT_DCHI2`).
    """

    density_error: float = 0.0
    temperature_error: float = 0.0
    q_max: float | None = None
    normalisation: bool = True
    potential: str = "lj"
