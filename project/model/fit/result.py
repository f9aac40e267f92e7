"""The answer of a fit (:class:`FitResult`). Units: sigma nm, epsilon kJ/mol, T K, rho nm^-3, total deviation nm."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from project.model.inverse import RESULT_UNITS, result_fields


@dataclass
class FitResult:
    """A fit of one RDF. Units: sigma nm, epsilon kJ/mol, T K, rho nm^-3, total deviation nm.

    ``curve`` is the fitted RDF binned like the input (r nm, g), ``used`` the mask of the points the refinement
    used, ``wall_s`` the time the fit took (s). ``potential`` is the form fitted ("lj" or "mie"), ``lambda_r`` its
    repulsive exponent (12 for LJ) and ``lambda_r_std`` its total 1-std uncertainty (0 for LJ: fixed; with
    ``auto`` reporting LJ, the Mie fit's: the exponents the data allow around 12).
    ``adequate``: the fitted form describes the input within its noise (chi^2/dof); ``lj_adequate``: one LJ fluid
    does (for a Mie fit: it is adequate and the data do not support an exponent other than 12).
    ``model_selection``: the test of lambda_r = 12 (Mie fits), with both fits for ``auto``; None for LJ fits.
    """

    sigma: float
    epsilon: float
    sigma_std: float
    epsilon_std: float
    T_star: float
    rho_star: float
    in_domain: bool
    lj_adequate: bool
    warnings: list[str]
    oneshot: dict[str, Any] | None
    residual: dict[str, float]
    nuisance: dict[str, float]
    uncertainty: dict[str, float]
    input: dict[str, Any]
    curve: tuple[np.ndarray, np.ndarray] = field(repr=False)
    used: np.ndarray = field(repr=False)
    wall_s: float = 0.0
    adequate: bool = True
    potential: str = "lj"
    lambda_r: float = 12.0
    lambda_r_std: float = 0.0
    model_selection: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready dict (the keys of the plain prediction, plus the refinement's); units in ``units``."""
        out = result_fields(self)
        warnings = out.pop("warnings")
        out.update(potential=self.potential, lambda_r=self.lambda_r, lambda_r_std=self.lambda_r_std)
        out.update(lj_adequate=self.lj_adequate, adequate=self.adequate, model_selection=self.model_selection)
        out.update(warnings=warnings, oneshot=self.oneshot, residual=self.residual)
        out.update(nuisance=self.nuisance, uncertainty=self.uncertainty, input=self.input, wall_s=self.wall_s)
        out["units"] = {
            **RESULT_UNITS,
            "total_deviation_nm": "nm",
            "kl_divergence": "1",
            "max_abs_dg": "1",
            "density": "nm^-3",
            "bin_width": "nm",
            "q_max": "A^-1",
            "lambda_r": "1",
            "lambda_r_std": "1",
        }
        return out
