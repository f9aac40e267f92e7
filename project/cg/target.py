"""The coarse-graining target: the all-atom centre-of-mass RDF and the state it was measured at.

Units: r nm, g and g_err dimensionless, T K, rho nm^-3, mass amu.

Every CG method (:mod:`project.cg.ibi`, :mod:`project.cg.relent`, :mod:`project.cg.simplex`), the scan
(:mod:`project.cg.scan`) and the comparison (:mod:`project.cg.compare`) take one :class:`CGTarget` and one
:class:`project.cg.lj.CGSettings`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from project.errors import ProjectError


@dataclass(frozen=True, eq=False)
class CGTarget:
    """What a CG model must reproduce: the mapped all-atom COM g(r) at the all-atom state.

    Attributes
    ----------
    molecule : str
        Name of the molecule (a label; :data:`project.cg.molecules.MOLECULES` or any user name).
    r : numpy.ndarray
        Uniform bin centres (nm), 1-D.
    g : numpy.ndarray
        COM radial distribution function on ``r`` (dimensionless).
    g_err : numpy.ndarray
        Block standard error of ``g`` (dimensionless).
    T : float
        Temperature (K).
    rho : float
        Molecule (bead) number density (nm^-3).
    mass : float
        Molecule (bead) mass (amu).
    source : str
        Where the target comes from (e.g. the molecule folder); a label, not used in any computation.
    """

    molecule: str
    r: np.ndarray = field(repr=False)
    g: np.ndarray = field(repr=False)
    g_err: np.ndarray = field(repr=False)
    T: float
    rho: float
    mass: float
    source: str = ""

    def __post_init__(self) -> None:
        arrays = {name: np.asarray(getattr(self, name), dtype=float) for name in ("r", "g", "g_err")}
        shape = arrays["r"].shape
        for name, a in arrays.items():
            if a.ndim != 1 or a.shape != shape or len(a) < 4:
                raise ProjectError(
                    f"target {name}: shape {a.shape}; allowed: 1-D arrays r (nm), g, g_err of one length >= 4 "
                    f"(r has {shape})"
                )
            object.__setattr__(self, name, a)
        for name, unit in (("T", "K"), ("rho", "nm^-3"), ("mass", "amu")):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
                raise ProjectError(f"target {name}: got {v!r}; allowed: a positive finite number in {unit}")
            object.__setattr__(self, name, float(v))


__all__ = ["CGTarget"]
