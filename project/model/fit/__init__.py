"""Fitting LJ sigma and epsilon to a real-world RDF: one-shot guess, refinement, honest uncertainty, verdict.

Units: r nm, g dimensionless, T K, rho nm^-3, sigma nm, epsilon kJ/mol, Q_max A^-1 (as scattering data are
given), total deviation nm, KL divergence dimensionless.

Procedure (:func:`fit_rdf`), one module per stage: :mod:`.prepare` -> one shot (:mod:`.pipeline`) -> :mod:`.refine`
(on :mod:`.problem`) -> :mod:`.uncertainty` -> :mod:`.verdict`; constants and options in :mod:`.settings`, the
answer in :mod:`.result`. Files (manifests, reports, curves, plots): :mod:`project.model.fitfiles`.

1. **Input.** The r grid gives the bin width (uniform grid: a histogram, each value the shell-volume average of g
   over its bin; a non-uniform grid or ``q_max``: point values). Leading points before the first rise of g
   (g < 0.05, including small negative values and ripples of a Fourier-transformed g) are masked, with a warning.
2. **One shot.** The inverse network (:class:`project.model.inverse.InverseModel`) gives (sigma, epsilon) directly;
   it is kept in the output (``oneshot``). A coarse scan of the forward model over the training states gives a
   second start; both are refined and the better (lower chi^2 per point) is kept; with the density free, each is
   restarted at delta -/+ its stated error (:func:`project.model.fit.refine.refine`).
3. **Refinement.** Parameters theta = (ln sigma, ln T*, delta, ln c): the LJ diameter, the reduced temperature,
   the relative error of the stated density (rho_true = rho (1 + delta)) and a normalisation factor of g. The
   model of the input is ``c * A g*(r / sigma; T*, rho (1 + delta) sigma^3)``, where A is the same binning as
   the input (:func:`project.model.binning.histogram_average`) or, with ``q_max``, the Fourier truncation of a
   scattering experiment (:func:`project.model.binning.q_truncation_matrix`) followed by point sampling. The
   objective is

       chi^2 = sum_i (g_i - model_i)^2 / (e_i^2 + m_i^2) + (delta / d_rho)^2 + (ln c / d_c)^2

   over the points with s = r / sigma <= 2.95 (the forward model ends at s = 3), with e_i the input's errors
   (third column) or, without them, the noise estimated from the input's fourth differences (robust scale,
   e_i proportional to sqrt(g_i) / r_i as for counting statistics); m_i is the forward model's error
   (:data:`MODEL_ERROR` plus the spread of its ensemble). d_rho is the stated relative density uncertainty
   (0: delta is fixed at 0), d_c = :data:`NORM_PRIOR`. Minimised by Levenberg-Marquardt within bounds
   (:func:`levenberg_marquardt`).
4. **Uncertainty.** Covariance (J^T J)^-1 of the whitened residuals, scaled by max(1, chi^2 / dof) (a fit
   worse than the noise widens its error bars), plus the forward model's ensemble spread propagated through the
   same linearisation, the stated temperature uncertainty (epsilon is proportional to T) and the floors
   :data:`REL_FLOOR` (systematic error left on clean held-out inputs). ``sigma_std`` / ``epsilon_std`` are the
   square roots of the sums (nm, kJ/mol).
5. **Verdict.** ``lj_adequate`` is true when chi^2 / dof <= :data:`ADEQUATE_CHI2`: one LJ fluid describes the input
   within its noise and the model error. ``in_domain`` is false (with the reason in ``warnings``) when the fitted
   state is outside the training states of the networks.
"""

from project.model.cache import shipped_models
from project.model.fit.pipeline import fit_rdf, one_shot
from project.model.fit.prepare import check_state, core_mask, estimate_noise
from project.model.fit.problem import lj_rdf
from project.model.fit.refine import levenberg_marquardt
from project.model.fit.result import FitResult
from project.model.fit.settings import (
    ADEQUATE_CHI2,
    MODEL_ERROR,
    NORM_PRIOR,
    REL_FLOOR,
    S_MAX_FIT,
    FitOptions,
)

__all__ = [
    "ADEQUATE_CHI2",
    "MODEL_ERROR",
    "NORM_PRIOR",
    "REL_FLOOR",
    "S_MAX_FIT",
    "FitOptions",
    "FitResult",
    "check_state",
    "core_mask",
    "estimate_noise",
    "fit_rdf",
    "levenberg_marquardt",
    "lj_rdf",
    "one_shot",
    "shipped_models",
]
