"""State-point schema: validation and normalisation of one Lennard-Jones (or Mie lambda_r-6) system.

The schema lives in ``schema/statepoint.schema.json`` (versioned). :func:`normalise` checks a state point
against it, applies the defaults, converts every number to its canonical type and rounds floats to
:data:`SIGNIFICANT_DIGITS` significant digits, so that the same physical system always maps to the same
signac job id (``0.1 + 0.2`` and ``0.3`` give the same job). It then applies the physics checks the JSON schema
cannot express: the reduced state (T*, rho*) must lie in the stable single-phase fluid (see :mod:`project.eos`),
or, for a state point with ``metastable = 1``, in the metastable liquid (:func:`project.eos.metastable_liquid_range`;
the key is dropped from a stable state), and the cubic box must be larger than twice the cutoff.

Schema version 2 added ``lambda_r``, the repulsive exponent of the Mie lambda_r-6 potential (7 to 50). It is
optional and has no default: absent means 12 (LJ), and ``lambda_r = 12`` is dropped, so every LJ state point keeps
its version 1 job id; the migration from version 1 is the identity (nothing rewritten, nothing recomputed, see
:func:`migrate`). A Mie state (``lambda_r != 12``) is phase-checked with SAFT-VR Mie and a conservative density cap
(:func:`project.eos.mie_phase_of`); ``metastable`` is for LJ states only.

Units: sigma nm, epsilon kJ/mol, T K, rho nm^-3, mass amu, cutoff in sigma, run lengths in tau.
"""

from __future__ import annotations

import copy
import functools
import json
import math
from pathlib import Path
from typing import Any

from project import eos
from project.errors import StatePointError
from project.units import reduced_density, reduced_temperature

SCHEMA_PATH = Path(__file__).resolve().parent / "data" / "statepoint.schema.json"
#: Floats in a state point are rounded to this many significant digits.
SIGNIFICANT_DIGITS = 6


@functools.lru_cache(maxsize=1)
def load_schema() -> dict[str, Any]:
    """Return the state-point JSON schema (a copy shipped inside the package, same as ``schema/``)."""
    return json.loads(SCHEMA_PATH.read_text())


def schema_version() -> int:
    """Return the version number of the state-point schema."""
    return int(load_schema()["version"])


def round_sig(x: float, digits: int = SIGNIFICANT_DIGITS) -> float:
    """Round ``x`` to ``digits`` significant digits and return a plain Python float."""
    return float(f"{float(x):.{digits}g}")


def _allowed(prop: dict[str, Any]) -> str:
    lo = (
        ("> " + str(prop["exclusiveMinimum"]))
        if "exclusiveMinimum" in prop
        else ((">= " + str(prop["minimum"])) if "minimum" in prop else None)
    )
    hi = ("<= " + str(prop["maximum"])) if "maximum" in prop else None
    rng = " and ".join(x for x in (lo, hi) if x)
    kind = "an integer" if prop.get("type") == "integer" else "a number"
    units = prop.get("units", "")
    unit_txt = f" {units}" if units and units != "1" else ""
    return f"allowed: {kind}{(' ' + rng) if rng else ''}{unit_txt}"


def _coerce(field: str, value: Any, prop: dict[str, Any]) -> int | float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise StatePointError(field, f"got {value!r} of type {type(value).__name__}; {_allowed(prop)}")
    if not math.isfinite(value):
        raise StatePointError(field, f"got {value!r}; {_allowed(prop)}")
    if prop.get("type") == "integer":
        if float(value) != int(value):
            raise StatePointError(field, f"got {value!r}, not a whole number; {_allowed(prop)}")
        return int(value)
    return round_sig(value)


def _check_range(field: str, value: float, prop: dict[str, Any]) -> None:
    bad = (
        ("minimum" in prop and value < prop["minimum"])
        or ("exclusiveMinimum" in prop and value <= prop["exclusiveMinimum"])
        or ("maximum" in prop and value > prop["maximum"])
    )
    if bad:
        raise StatePointError(field, f"got {value!r}; {_allowed(prop)}")


def normalise(sp: dict[str, Any], check_phase: bool = True) -> dict[str, Any]:
    """Validate a state point, apply defaults and return its canonical form.

    Parameters
    ----------
    sp : dict
        State point with at least ``sigma`` (nm), ``epsilon`` (kJ/mol), ``T`` (K) and ``rho`` (nm^-3); optional
        ``N``, ``mass`` (amu), ``cutoff`` (sigma), ``dt``, ``t_equil``, ``t_prod``, ``t_sample`` (tau), ``seed``,
        ``replica``, ``metastable`` (1: a metastable liquid is allowed, LJ only), ``lambda_r`` (Mie repulsive
        exponent, dimensionless, 7-50; absent or 12: LJ).
    check_phase : bool
        Refuse states outside the stable single-phase fluid (and, with ``metastable = 1``, the metastable liquid;
        default True). Without it (coarse-grained beads) T* and rho* may reach the schema's ``maximum_unchecked``
        (50 and 1.35) instead of 10 and 1.2.

    Returns
    -------
    dict
        New dict with every schema key that has a default (``metastable`` only where the state needs it,
        ``lambda_r`` only when it is not 12), ints as ``int`` and floats rounded to 6 significant digits.

    Raises
    ------
    StatePointError
        Naming the offending field and the allowed values. Nothing is modified.
    """
    if not isinstance(sp, dict):
        raise StatePointError("<state point>", f"expected a mapping of field -> value, got {type(sp).__name__}")
    schema = load_schema()
    props = schema["properties"]
    unknown = sorted(set(sp) - set(props))
    if unknown:
        raise StatePointError(unknown[0], f"unknown field; allowed fields: {', '.join(props)}")
    for key in schema["required"]:
        if key not in sp:
            raise StatePointError(key, f"missing required field; {_allowed(props[key])}")
    out: dict[str, Any] = {}
    for key, prop in props.items():
        if key not in sp and "default" not in prop:
            continue  # optional key without default (metastable): absent from the canonical form
        value = sp[key] if key in sp else copy.deepcopy(prop["default"])
        value = _coerce(key, value, prop)
        _check_range(key, value, prop)
        out[key] = value
    if out.get("metastable") == 0:
        del out["metastable"]  # the same as absent: one job id per physical system
    if out.get("lambda_r") == eos.LJ_LAMBDA_R:
        del out["lambda_r"]  # the LJ fluid: the same job id as a version 1 state point
    if "lambda_r" in out and out.get("metastable"):
        raise StatePointError(
            "metastable", f"got 1 with lambda_r = {out['lambda_r']}; allowed: metastable only for LJ (lambda_r 12)"
        )
    if out["t_sample"] > out["t_prod"]:
        raise StatePointError("t_sample", f"got {out['t_sample']} tau, longer than t_prod = {out['t_prod']} tau")
    _check_reduced(out, schema["x-reduced-limits"], check_phase)
    return out


def _check_reduced(sp: dict[str, Any], limits: dict[str, Any], check_phase: bool) -> None:
    t_star = reduced_temperature(sp["T"], sp["epsilon"])
    rho_star = reduced_density(sp["rho"], sp["sigma"])
    tl, rl = limits["T_star"], limits["rho_star"]
    t_max = tl["maximum"] if check_phase else tl.get("maximum_unchecked", tl["maximum"])
    if not tl["minimum"] <= t_star <= t_max:
        raise StatePointError(
            "T",
            f"T = {sp['T']} K gives T* = k_B T/epsilon = {t_star:.4g}; allowed: {tl['minimum']} <= T* <= "
            f"{t_max}, i.e. {tl['minimum'] * sp['epsilon'] / 0.0083144626:.4g} K <= T <= "
            f"{t_max * sp['epsilon'] / 0.0083144626:.4g} K for epsilon = {sp['epsilon']} kJ/mol",
        )
    rho_max = rl["maximum"] if check_phase else rl.get("maximum_unchecked", rl["maximum"])
    if rho_star > rho_max:
        raise StatePointError(
            "rho",
            f"rho = {sp['rho']} nm^-3 gives rho* = rho sigma^3 = {rho_star:.4g}, beyond the densest fluid; "
            f"allowed: rho* <= {rho_max} ({rho_max / sp['sigma'] ** 3:.4g} nm^-3 for sigma = "
            f"{sp['sigma']} nm)",
        )
    box = (sp["N"] / sp["rho"]) ** (1.0 / 3.0)
    rc = sp["cutoff"] * sp["sigma"]
    if box <= 2.0 * rc:
        n_min = math.ceil(sp["rho"] * (2.0 * rc) ** 3) + 1
        raise StatePointError(
            "N",
            f"box edge {box:.3g} nm is not larger than twice the cutoff ({2 * rc:.3g} nm); allowed: N >= {n_min}"
            " at this density",
        )
    if not check_phase:
        return
    if "lambda_r" in sp:
        _check_mie_phase(t_star, rho_star, sp["lambda_r"])
        return
    phase = eos.phase_of(t_star, rho_star)
    if sp.get("metastable"):
        if phase == "fluid":
            del sp["metastable"]  # a stable state needs no permission: the same job as without it
            return
        if eos.is_metastable_liquid(t_star, rho_star):
            return
    if phase == "two-phase":
        rv, rl_ = eos.coexistence_densities(t_star)
        raise StatePointError(
            "rho",
            f"(T* = {t_star:.4g}, rho* = {rho_star:.4g}) lies inside the vapour-liquid coexistence region "
            f"(Thol et al. 2016 EOS); allowed at this T*: rho* <= {rv:.4g} or {rl_:.4g} <= rho* < "
            f"{eos.freezing_density(t_star):.4g}",
        )
    if phase == "solid":
        lo, hi = eos.metastable_liquid_range(t_star)
        stable = (
            f"rho* < {eos.freezing_density(t_star):.4g}"
            if t_star >= eos.triple_temperature()
            else "none (below the triple point T* = 0.694)"
        )
        raise StatePointError(
            "rho",
            f"(T* = {t_star:.4g}, rho* = {rho_star:.4g}) is beyond the freezing line (Mastny & de Pablo 2007);"
            f" allowed at this T*: {stable}; with metastable = 1 also the metastable liquid {lo:.4g} <= rho* <"
            f" {hi:.4g}",
        )


def _check_mie_phase(t_star: float, rho_star: float, lambda_r: float) -> None:
    phase = eos.mie_phase_of(t_star, rho_star, lambda_r)
    if phase == "fluid":
        return
    tc, _ = eos.mie_critical_point(lambda_r)
    where = f"(T* = {t_star:.4g}, rho* = {rho_star:.4g}, lambda_r = {lambda_r:g})"
    if t_star < eos.MIE_T_MIN_OVER_TC * tc:
        raise StatePointError(
            "T",
            f"{where} is below {eos.MIE_T_MIN_OVER_TC} T*c = {eos.MIE_T_MIN_OVER_TC * tc:.4g} of this Mie fluid "
            f"(SAFT-VR Mie T*c = {tc:.4g}); allowed: T* >= {eos.MIE_T_MIN_OVER_TC * tc:.4g}",
        )
    cap = eos.mie_density_cap(t_star, lambda_r)
    if phase == "two-phase":
        rv, rl_ = eos.mie_coexistence_densities(t_star, lambda_r)
        raise StatePointError(
            "rho",
            f"{where} lies inside the vapour-liquid coexistence region (SAFT-VR Mie); allowed at this T*: "
            f"rho* <= {rv:.4g} or {rl_:.4g} <= rho* < {cap:.4g}",
        )
    raise StatePointError(
        "rho",
        f"{where} is at or beyond the Mie density cap (LJ freezing line mapped at equal Barker-Henderson packing "
        f"fraction, minus {eos.MIE_CAP_MARGIN}); allowed at this T*: rho* < {cap:.4g}",
    )


def lambda_r(sp: dict[str, Any]) -> float:
    """Return the repulsive exponent of a state point (dimensionless): ``lambda_r``, or 12 (LJ) when absent."""
    return float(sp.get("lambda_r", eos.LJ_LAMBDA_R))


def migrate(sp: dict[str, Any], from_version: int) -> dict[str, Any]:
    """Return a state point of schema version ``from_version`` in the current version's form.

    Version 1 -> 2 is the identity: a version 1 state point has no ``lambda_r`` and is the LJ fluid (lambda_r =
    12) under version 2, with the same job id. Nothing is rewritten and nothing recomputed.

    Raises
    ------
    StatePointError
        For a version that is not 1 or the current one.
    """
    if from_version not in (1, schema_version()):
        raise StatePointError(
            "version", f"got {from_version!r}; allowed: 1 or {schema_version()} (the current schema version)"
        )
    return dict(sp)


def reduced_state(sp: dict[str, Any]) -> tuple[float, float]:
    """Return (T*, rho*) of a state point (T in K, epsilon in kJ/mol, rho in nm^-3, sigma in nm)."""
    return reduced_temperature(sp["T"], sp["epsilon"]), reduced_density(sp["rho"], sp["sigma"])
