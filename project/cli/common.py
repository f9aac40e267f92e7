"""Helpers shared by the command modules of :mod:`project.cli` (option builders and default paths)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from project.paths import CATALOGUE_RELPATH, EXPORT_RELPATH, default_catalogue, default_export

#: A single value given to a range option (``--T 178.6``) matches stored values within this relative tolerance:
#: the precision of the printed tables (5 significant digits), so a value copied from ``query`` finds its job.
MATCH_RTOL = 1e-4

#: Range options of ``query`` (state-point key -> help with units).
RANGE_HELP = {
    "sigma": "LJ sigma in nm",
    "epsilon": "LJ epsilon in kJ/mol",
    "T": "temperature in K",
    "rho": "number density in nm^-3",
    "T_star": "reduced temperature k_B T/epsilon (dimensionless)",
    "rho_star": "reduced density rho sigma^3 (dimensionless)",
    "N": "particle number (dimensionless)",
    "replica": "replica index (dimensionless)",
    "lambda_r": "Mie repulsive exponent (dimensionless; 12 for an LJ job)",
}


def parse_range(text: str) -> tuple[float | None, float | None]:
    """Parse ``LO:HI``, ``LO:`` or ``:HI``; a single value matches within the relative tolerance ``MATCH_RTOL``.

    A reversed range (LO > HI) is refused, not silently empty.
    """
    if ":" not in text:
        v = float(text)
        d = abs(v) * MATCH_RTOL
        return v - d, v + d
    lo_text, hi_text = text.split(":", 1)
    lo = float(lo_text) if lo_text.strip() else None
    hi = float(hi_text) if hi_text.strip() else None
    if lo is not None and hi is not None and lo > hi:
        raise argparse.ArgumentTypeError(
            f"range {text!r} is reversed; allowed: LO:HI with LO <= HI, LO:, :HI or a single value"
        )
    return lo, hi


def add_dataspace(p: argparse.ArgumentParser) -> None:
    """Add ``--dataspace PATH``."""
    p.add_argument(
        "--dataspace",
        default=None,
        help="data-space folder (signac project); default $LJ_DATASPACE, else the current directory",
    )


def add_export(p: argparse.ArgumentParser, what: str = "HDF5 export") -> None:
    """Add ``--export FILE`` (default :func:`project.paths.default_export` of the data space)."""
    p.add_argument("--export", default=None, help=f"{what} (default <dataspace>/{EXPORT_RELPATH.as_posix()})")


def add_catalogue(p: argparse.ArgumentParser) -> None:
    """Add ``--catalogue FILE`` (default :func:`project.paths.default_catalogue` of the data space)."""
    p.add_argument(
        "--catalogue",
        default=None,
        help=f"results catalogue, SQLite (default <dataspace>/{CATALOGUE_RELPATH.as_posix()})",
    )


def add_common(p: argparse.ArgumentParser, export: bool = True) -> None:
    """Add ``--dataspace``, ``--export`` (optional) and ``--catalogue``."""
    add_dataspace(p)
    if export:
        add_export(p)
    add_catalogue(p)


def space(args: argparse.Namespace) -> Path:
    """The data-space folder of a command."""
    from project.dataspace import dataspace_path

    return dataspace_path(args.dataspace)


def export_path(args: argparse.Namespace) -> Path:
    """``--export``, else the data space's default export (:func:`project.paths.default_export`)."""
    return Path(args.export) if getattr(args, "export", None) else default_export(space(args))


def catalogue_path(args: argparse.Namespace) -> Path:
    """``--catalogue``, else the data space's default catalogue (:func:`project.paths.default_catalogue`)."""
    return Path(args.catalogue) if getattr(args, "catalogue", None) else default_catalogue(space(args))


def open_catalogue(args: argparse.Namespace):
    """Open (creating it when needed) the results catalogue of a command that records a run."""
    from project.catalogue import Catalogue

    return Catalogue(catalogue_path(args))


def flatten(metrics: dict) -> dict[str, float]:
    """``{split: {method: {name: value}}}`` -> ``{"split.method.name": value}``."""
    return {f"{split}.{method}.{k}": v for split, m in metrics.items() for method, d in m.items() for k, v in d.items()}


def strict_json(obj) -> str:
    """``obj`` as strict JSON on one line: NaN and infinities become null, numpy scalars plain numbers."""

    def plain(x):
        if isinstance(x, dict):
            return {k: plain(v) for k, v in x.items()}
        if isinstance(x, list | tuple | np.ndarray):
            return [plain(v) for v in x]
        if isinstance(x, bool | np.bool_):
            return bool(x)
        if isinstance(x, int | np.integer):
            return int(x)
        if isinstance(x, float | np.floating):
            return float(x) if np.isfinite(x) else None
        return x

    return json.dumps(plain(obj), allow_nan=False)
