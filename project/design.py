"""Designs: sets of state points over (sigma, epsilon, T*, rho*), and for Mie fluids also lambda_r.

Corresponding states make the structure depend only on (T*, rho*) once the cutoff is given in units of sigma,
so designs are drawn in (sigma, epsilon, T*, rho*) and converted to the physical T (K) and rho (nm^-3) of the
state point. States outside the stable single-phase fluid (:mod:`project.eos`) are rejected, unless the design asks
for the metastable liquid too (``"metastable": true``: the supercooled liquid below the triple point and the liquid
compressed a little beyond freezing, :func:`project.eos.metastable_liquid_range`); such states carry
``metastable = 1`` in their state point.

A design is a JSON-compatible mapping::

    {"kind": "sobol" | "lhs" | "grid",
     "n": 100,                        # sobol / lhs: number of accepted state points
     "seed": 42,                      # sobol / lhs: design seed (the state points' own "seed" key is separate)
     "sigma": [0.25, 0.45],           # nm; range for sobol / lhs, list of values for grid
     "epsilon": [0.4, 2.5],           # kJ/mol
     "T_star": [0.7, 2.5],            # reduced temperature k_B T / epsilon
     "rho_star": [0.3, 0.95],         # reduced density rho sigma^3
     "lambda_r": [8, 32],             # optional Mie repulsive exponent (dimensionless); absent: LJ (12) only
     "replicas": 1,                   # independent repeats of each state (replica key 0..replicas-1)
     "metastable": false,             # true: accept metastable-liquid states too (default false)
     "log": ["T_star"],               # sobol / lhs: axes sampled uniformly in their logarithm (default none)
     "fixed": {"N": 1000, "t_prod": 200.0},   # other state-point keys, see the schema
     "description": "free text"}

With ``lambda_r`` the design samples five axes and accepts the stable Mie fluid of each exponent
(:func:`project.eos.mie_phase_of`: outside the SAFT-VR Mie dome, below the density cap); ``metastable`` is for LJ
designs only. Without it the design is the LJ one, with the same state points as before the axis existed.

Any other key is refused (a misspelt ``"replica"`` would otherwise silently give one replica), and so is a design
whose states all lie outside the stable single-phase fluid. The same design always yields the same state points
(and so the same job ids).
"""

from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import qmc

from project import eos
from project.statepoint import load_schema, normalise, round_sig
from project.units import density_from_reduced, temperature_from_reduced

log = logging.getLogger(__name__)

DESIGN_DIR = Path(__file__).resolve().parent / "data" / "designs"
#: The design domain of the platform (sigma nm, epsilon kJ/mol, reduced T* and rho*).
DOMAIN = {"sigma": (0.25, 0.45), "epsilon": (0.4, 2.5), "T_star": (0.7, 2.5), "rho_star": (0.3, 0.95)}
_AXES = ("sigma", "epsilon", "T_star", "rho_star")
#: The optional fifth axis: the Mie repulsive exponent (dimensionless).
MIE_AXIS = "lambda_r"
_KINDS = ("sobol", "lhs", "grid")
#: Keys a design may have (see the module docstring).
DESIGN_KEYS = ("kind", "n", "seed", *_AXES, MIE_AXIS, "replicas", "metastable", "log", "fixed", "description")


def load_design(name_or_path: str | Path) -> dict[str, Any]:
    """Load a design from a JSON file, or by name from the designs shipped in ``project/data/designs``."""
    path = Path(name_or_path)
    if not path.exists():
        path = DESIGN_DIR / f"{name_or_path}.json"
    if not path.exists():
        shipped = sorted(p.stem for p in DESIGN_DIR.glob("*.json"))
        raise FileNotFoundError(f"design '{name_or_path}' not found: give a JSON file or one of {shipped}")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"design file {path} is not valid JSON: {exc}") from exc


def _physical(
    sigma: float, epsilon: float, t_star: float, rho_star: float, fixed: dict, replica: int, lam: float | None = None
) -> dict:
    sp = dict(fixed)
    if lam is not None:
        sp["lambda_r"] = round_sig(lam)  # normalise drops 12 (LJ)
    elif not eos.is_stable_fluid(t_star, rho_star):
        sp["metastable"] = 1  # accepted by a metastable design; normalise drops it again where rounding made it stable
    sp.update(
        sigma=round_sig(sigma),
        epsilon=round_sig(epsilon),
        T=round_sig(temperature_from_reduced(t_star, round_sig(epsilon))),
        rho=round_sig(density_from_reduced(rho_star, round_sig(sigma))),
        replica=replica,
    )
    return sp


def make_design(design: dict[str, Any]) -> list[dict[str, Any]]:
    """Return the normalised state points of a design.

    Parameters
    ----------
    design : dict
        See the module docstring. ``kind`` is one of ``sobol``, ``lhs`` (space-filling random designs with
        rejection of unstable states) or ``grid`` (Cartesian product; unstable combinations are skipped).

    Returns
    -------
    list of dict
        Canonical state points (see :func:`project.statepoint.normalise`), deterministic for a given design.
    """
    if not isinstance(design, dict):
        raise ValueError(
            f"design: expected a JSON object with keys {', '.join(DESIGN_KEYS)}; got {type(design).__name__}"
        )
    unknown = [k for k in design if k not in DESIGN_KEYS]
    if unknown:
        raise ValueError(
            f"design field '{unknown[0]}' (value {design[unknown[0]]!r}): unknown key; allowed: "
            f"{', '.join(DESIGN_KEYS)}"
        )
    kind = design.get("kind")
    if kind not in _KINDS:
        raise ValueError(f"design field 'kind': got {kind!r}; allowed: {', '.join(_KINDS)}")
    fixed = dict(design.get("fixed", {}))
    replicas = int(design.get("replicas", 1))
    if replicas < 1:
        raise ValueError(f"design field 'replicas': got {replicas}; allowed: an integer >= 1")
    metastable = design.get("metastable", False)
    if not isinstance(metastable, bool):
        raise ValueError(f"design field 'metastable': got {metastable!r}; allowed: true or false")
    mie = MIE_AXIS in design
    if mie and metastable:
        raise ValueError("design field 'metastable': got true with a lambda_r axis; allowed: false (LJ only)")
    if mie:
        _check_lambda_r(design[MIE_AXIS])
    axes = (*_AXES, MIE_AXIS) if mie else _AXES
    accept = _mie_acceptance if mie else _acceptance(metastable)
    if kind == "grid":
        if "log" in design:
            raise ValueError("design field 'log': only for kind sobol or lhs; a grid lists its values")
        states = _grid_states(design, accept, axes)
    else:
        states = _random_states(design, kind, accept, axes)
    points = []
    for sigma, epsilon, t_star, rho_star, *lam in states:
        for rep in range(replicas):
            points.append(normalise(_physical(sigma, epsilon, t_star, rho_star, fixed, rep, *lam)))
    if not points:
        raise ValueError(
            "design: every state lies outside the stable single-phase fluid (vapour-liquid dome or "
            "solid); allowed: T_star and rho_star combinations in the stable fluid (project.eos)"
        )
    return points


def _acceptance(metastable: bool):
    """The state filter of a design: the stable fluid, and the metastable liquid where the design asks for it."""
    if not metastable:
        return eos.is_stable_fluid
    return lambda t, r: eos.is_stable_fluid(t, r) or eos.is_metastable_liquid(t, r)


def _check_lambda_r(values: Any) -> None:
    """Refuse a lambda_r range or list outside the state-point schema's limits before sampling."""
    prop = load_schema()["properties"][MIE_AXIS]
    ok = isinstance(values, list) and bool(values)
    ok = ok and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
    if not ok or not all(prop["minimum"] <= v <= prop["maximum"] for v in values):
        raise ValueError(
            f"design field '{MIE_AXIS}': got {values!r}; allowed: a list of numbers with {prop['minimum']} <= "
            f"lambda_r <= {prop['maximum']} (a [low, high] range for sobol / lhs, the values for grid)"
        )


def _mie_acceptance(t_star: float, rho_star: float, lam: float) -> bool:
    """The state filter of a design with a lambda_r axis: the stable Mie fluid of that exponent."""
    return eos.mie_phase_of(t_star, rho_star, lam) == "fluid"


def _grid_states(design: dict[str, Any], accept, keys: tuple[str, ...]) -> list[tuple[float, ...]]:
    axes = []
    for key in keys:
        values = design.get(key)
        if not isinstance(values, list) or not values:
            raise ValueError(f"design field '{key}': a grid needs a non-empty list of values")
        axes.append([float(v) for v in values])
    mesh = np.array(np.meshgrid(*axes, indexing="ij")).reshape(len(keys), -1).T
    states = [tuple(row) for row in mesh if accept(*row[2:])]
    skipped = len(mesh) - len(states)
    if skipped:
        log.info("grid design: skipped %d of %d combinations outside the stable fluid", skipped, len(mesh))
    return states


def _random_states(design: dict[str, Any], kind: str, accept, keys: tuple[str, ...]) -> list[tuple[float, ...]]:
    n = int(design.get("n", 0))
    if n < 1:
        raise ValueError(f"design field 'n': got {design.get('n')!r}; allowed: an integer >= 1")
    seed = int(design.get("seed", 0))
    bounds = []
    for key in keys:
        lo, hi = design.get(key, DOMAIN.get(key, (None, None)))
        if not lo <= hi:
            raise ValueError(f"design field '{key}': range [{lo}, {hi}] must have lower <= upper")
        bounds.append((float(lo), float(hi)))
    log_axes = design.get("log", [])
    if not isinstance(log_axes, list) or any(a not in keys for a in log_axes):
        raise ValueError(f"design field 'log': got {log_axes!r}; allowed: a list of axes among {', '.join(keys)}")
    is_log = np.array([key in log_axes for key in keys])
    for key, (b_lo, _) in zip(keys, bounds):
        if key in log_axes and b_lo <= 0:
            raise ValueError(f"design field '{key}': a log-sampled range needs a lower bound > 0; got {b_lo}")
    lo = np.array([np.log(b[0]) if log else b[0] for b, log in zip(bounds, is_log)])
    hi = np.array([np.log(b[1]) if log else b[1] for b, log in zip(bounds, is_log)])
    d = len(keys)
    sampler = qmc.Sobol(d=d, scramble=True, seed=seed) if kind == "sobol" else qmc.LatinHypercube(d=d, seed=seed)
    accepted: list[tuple[float, ...]] = []
    drawn = 0
    while len(accepted) < n:
        batch = max(64, 2 * (n - len(accepted)))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Sobol balance warning for sizes that are not powers of two
            unit = sampler.random(batch)
        drawn += batch
        for row in qmc.scale(unit, lo, hi):
            row[is_log] = np.exp(row[is_log])
            if accept(*row[2:]):
                accepted.append(tuple(float(x) for x in row))
                if len(accepted) == n:
                    break
        if drawn > 200 * n + 10_000:
            raise ValueError("design: the ranges contain (almost) no stable fluid states; widen T_star or rho_star")
    log.info("%s design: accepted %d of %d drawn states (fluid states the design allows)", kind, n, drawn)
    return accepted
