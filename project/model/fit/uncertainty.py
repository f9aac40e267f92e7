"""Uncertainty of a refinement: statistics, the forward model's spread, the temperature and floors.

Covariance (J^T J)^-1 of the whitened residuals, scaled by max(1, chi^2 / dof) (a fit worse than the noise widens
its error bars), plus the forward model's ensemble spread propagated through the same linearisation, the stated
temperature uncertainty (epsilon is proportional to T) and the floors :data:`REL_FLOOR` (systematic error left on
clean held-out inputs). Relative variances of sigma and T* (so of epsilon = k_B T / T*).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from project.model.fit.problem import ForwardProblem
from project.model.fit.refine import Refinement
from project.model.fit.settings import REL_FLOOR


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

    @property
    def sigma_rel(self) -> float:
        """Total relative 1-std uncertainty of sigma."""
        return float(np.sqrt(self.stat[0, 0] + self.model_var[0] + REL_FLOOR[0] ** 2))

    @property
    def epsilon_rel(self) -> float:
        """Total relative 1-std uncertainty of epsilon."""
        return float(np.sqrt(self.stat[1, 1] + self.model_var[1] + REL_FLOOR[1] ** 2 + self.temperature_rel**2))

    def breakdown(self) -> dict[str, float | None]:
        """The parts, as the fit's ``uncertainty`` dict reports them."""
        return {
            "sigma_rel_statistical": float(np.sqrt(self.stat[0, 0])),
            "epsilon_rel_statistical": float(np.sqrt(self.stat[1, 1])),
            "sigma_rel_model": float(np.sqrt(self.model_var[0])),
            "epsilon_rel_model": float(np.sqrt(self.model_var[1])),
            "sigma_rel_floor": REL_FLOOR[0],
            "epsilon_rel_floor": REL_FLOOR[1],
            "epsilon_rel_temperature": self.temperature_rel,
            "epsilon_pct_per_pct_density": None if self.sensitivity is None else abs(self.sensitivity),
        }


def estimate_uncertainty(
    ref: Refinement, prob: ForwardProblem, rho: float, temperature_rel: float, n_members: int
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
    mean_m = c * prob.model(p.sigma, p.t_star, rho_star)[used]
    shifts = []
    for k in range(n_members):
        dm = (c * prob.model(p.sigma, p.t_star, rho_star, member=k)[used] - mean_m) * sw
        shifts.append(cov @ (J[:n_used].T @ dm))
    shifts = np.asarray(shifts)
    model_var = shifts.var(0) * len(shifts) / max(len(shifts) - 1, 1)
    # how far epsilon would move if the stated density were 1 % off (linearised, density held fixed in the fit)
    sens = None
    if not ref.layout.free_density:
        dm_d = c * (prob.model(p.sigma, p.t_star, rho_star * 1.001)[used] - mean_m / c) / 1e-3 * sw
        sens = float((cov @ (J[:n_used].T @ dm_d))[1])  # d ln T* / d delta = -d ln epsilon / d delta
    return Uncertainty(stat, model_var, chi2_red, float(temperature_rel), sens)
