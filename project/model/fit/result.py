"""The answer of a fit (:class:`FitResult`). Units: sigma nm, epsilon kJ/mol, T K, rho nm^-3, total deviation nm."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from project.model.inverse import RESULT_UNITS, result_fields


@dataclass
class FitResult:
    """A fit of one RDF. Units: sigma nm, epsilon kJ/mol, T K, rho nm^-3, total deviation nm.

    ``curve`` is the fitted LJ RDF binned like the input (r nm, g), ``used`` the mask of the points the refinement
    used, ``wall_s`` the time the fit took (s).
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

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready dict (the keys of the plain prediction, plus the refinement's); units in ``units``."""
        out = result_fields(self)
        warnings = out.pop("warnings")
        out.update(lj_adequate=self.lj_adequate, warnings=warnings, oneshot=self.oneshot, residual=self.residual)
        out.update(nuisance=self.nuisance, uncertainty=self.uncertainty, input=self.input, wall_s=self.wall_s)
        out["units"] = {
            **RESULT_UNITS,
            "total_deviation_nm": "nm",
            "kl_divergence": "1",
            "max_abs_dg": "1",
            "density": "nm^-3",
            "bin_width": "nm",
            "q_max": "A^-1",
        }
        return out
