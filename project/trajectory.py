"""Open a trajectory for a g(r): read topology and trajectory with MDAnalysis, check the grid and the frames.

Units: r_max and bin width in nm; frame indices are 0-based trajectory frames.

:func:`open_trajectory` is the one rule that :func:`project.rdf.compute_rdf` and
:func:`project.cg.com_rdf.compute_com_rdf` follow before they histogram anything; its parts, :func:`rdf_edges`,
:func:`open_universe` and :func:`select_frames`, serve callers that choose the grid after opening the files
(e.g. from the box). Every error is an :class:`~project.errors.RDFError` that names the field or file, the value
and what is allowed; nothing is written.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from project.errors import RDFError

#: Trajectory suffixes MDAnalysis does not recognise by itself, with their format (LAMMPS dump files; the
#: reader assumes LAMMPS ``real``/``metal`` units, Angstrom, and unwraps nothing).
TRAJECTORY_FORMATS = {".dump": "LAMMPSDUMP", ".lammpstrj": "LAMMPSDUMP", ".lammpsdump": "LAMMPSDUMP"}


@dataclass(frozen=True)
class RDFInput:
    """An opened, checked trajectory and the grid to histogram it on.

    Attributes
    ----------
    universe : MDAnalysis.Universe
        The system (MDAnalysis works in Angstrom).
    edges_nm : numpy.ndarray
        Bin edges in nm, 0 to r_max (n_bins + 1 values).
    frames : range
        Indices of the selected frames (at least ``n_blocks`` of them).
    source : str
        The trajectory path (the topology when there is no trajectory), for messages.
    """

    universe: object
    edges_nm: np.ndarray
    frames: range
    source: str


def rdf_edges(r_max: float, bin_width: float) -> np.ndarray:
    """Bin edges in nm of a g(r) grid from 0 to ``r_max`` (nm) in steps of ``bin_width`` (nm).

    Raises
    ------
    RDFError
        A non-positive value, or ``r_max`` not an integer multiple of ``bin_width``.
    """
    if not (np.isfinite(bin_width) and bin_width > 0):
        raise RDFError(f"bin_width: got {bin_width!r} nm; allowed: a positive length in nm")
    n_bins_f = r_max / bin_width if np.isfinite(r_max) else 0.0
    n_bins = round(n_bins_f)
    if not r_max > 0 or n_bins < 1 or abs(n_bins_f - n_bins) > 1e-6:
        raise RDFError(f"r_max: got {r_max!r} nm; allowed: a positive integer multiple of bin_width = {bin_width} nm")
    return np.linspace(0.0, n_bins * bin_width, n_bins + 1)


def open_universe(topology: str | os.PathLike, trajectory: str | os.PathLike | None = None):
    """Read a topology and (optionally) a trajectory with MDAnalysis.

    A LAMMPS dump is recognised by its suffix (:data:`TRAJECTORY_FORMATS`). MDAnalysis' warnings about guessed
    elements and masses are silenced (a caller that needs masses checks them).

    Parameters
    ----------
    topology : path
        Topology file (PDB, GRO, TPR, LAMMPS data, ...; positions in Angstrom as MDAnalysis reads them).
    trajectory : path or None
        Trajectory file (XTC, TRR, DCD, LAMMPS dump, ...); None reads the topology's coordinates alone.

    Returns
    -------
    MDAnalysis.Universe

    Raises
    ------
    RDFError
        A missing file (named), or files MDAnalysis cannot read.
    """
    import MDAnalysis as mda

    for name, path in (("topology", topology), ("trajectory", trajectory)):
        if path is not None and not Path(path).is_file():
            raise RDFError(f"{name} file {os.fspath(path)!r} does not exist")
    files = [os.fspath(topology)] if trajectory is None else [os.fspath(topology), os.fspath(trajectory)]
    kw = {}
    fmt = TRAJECTORY_FORMATS.get(Path(trajectory).suffix.lower()) if trajectory is not None else None
    if fmt:
        kw["format"] = fmt
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=UserWarning, module=r"MDAnalysis\.")
            warnings.filterwarnings("ignore", category=PendingDeprecationWarning, module=r"MDAnalysis\.")
            return mda.Universe(*files, **kw)
    except Exception as exc:  # MDAnalysis raises many types for unreadable files
        raise RDFError(
            f"topology {files[0]!r} / trajectory {files[-1]!r}: MDAnalysis cannot read them "
            f"({type(exc).__name__}: {exc}); allowed: files MDAnalysis reads (PDB, GRO or TPR with XTC, TRR or "
            "DCD; LAMMPS data with a dump, ...)"
        ) from exc


def _check_selection(n_blocks: int, start: int) -> None:
    if int(n_blocks) < 1:
        raise RDFError(f"n_blocks: got {n_blocks}; allowed: >= 1")
    if start < 0:
        raise RDFError(f"start: got {start}; allowed: a frame index >= 0")


def select_frames(
    universe,
    source: str,
    n_blocks: int,
    start: int = 0,
    stop: int | None = None,
    step: int | None = None,
    expect_frames: int | None = None,
) -> range:
    """The frames ``start:stop:step`` of a trajectory, checked against ``n_blocks`` and ``expect_frames``.

    Parameters
    ----------
    universe : MDAnalysis.Universe
        The opened system.
    source : str
        Trajectory name for messages.
    n_blocks : int
        Contiguous blocks of the error estimate: at least this many frames must be selected.
    start, stop, step : int, optional
        Frame selection as a Python slice (``start`` >= 0).
    expect_frames : int, optional
        Number of frames the trajectory must hold; another count raises (a truncated run).

    Returns
    -------
    range
        The selected frame indices.

    Raises
    ------
    RDFError
        ``n_blocks`` < 1, ``start`` < 0, an unreadable trajectory, another frame count than ``expect_frames``, no
        frame or fewer frames than blocks selected.
    """
    _check_selection(n_blocks, start)
    try:
        n_total = len(universe.trajectory)
    except (OSError, ValueError, EOFError) as exc:
        raise RDFError(f"{source}: reading the trajectory failed: {exc}") from exc
    if expect_frames is not None and n_total != expect_frames:
        raise RDFError(
            f"{source}: trajectory has {n_total} frames, expected {expect_frames} (truncated or incomplete run?)"
        )
    frames = range(*slice(start, stop, step).indices(n_total))
    if len(frames) < 1:
        raise RDFError(
            f"{source}: no frames selected (trajectory has {n_total}, start={start}, stop={stop}, step={step})"
        )
    if len(frames) < n_blocks:
        raise RDFError(
            f"{source}: {len(frames)} frame(s) selected but n_blocks = {n_blocks}; allowed: at least n_blocks frames"
        )
    return frames


def open_trajectory(
    topology: str | os.PathLike,
    trajectory: str | os.PathLike | None,
    r_max: float,
    bin_width: float,
    n_blocks: int,
    start: int = 0,
    stop: int | None = None,
    step: int | None = None,
    expect_frames: int | None = None,
) -> RDFInput:
    """Check a g(r) grid, open topology and trajectory, and select the frames.

    Parameters
    ----------
    topology, trajectory : path
        As :func:`open_universe`.
    r_max, bin_width : float
        The grid in nm, as :func:`rdf_edges`.
    n_blocks, start, stop, step, expect_frames : int, optional
        As :func:`select_frames`.

    Returns
    -------
    RDFInput
        The universe, the bin edges (nm), the frame indices and the source name.

    Raises
    ------
    RDFError
        From :func:`rdf_edges`, :func:`open_universe` or :func:`select_frames`; the grid, ``n_blocks`` and
        ``start`` are checked before any file is read.
    """
    edges_nm = rdf_edges(r_max, bin_width)
    _check_selection(n_blocks, start)
    universe = open_universe(topology, trajectory)
    source = os.fspath(trajectory if trajectory is not None else topology)
    frames = select_frames(universe, source, n_blocks, start, stop, step, expect_frames)
    return RDFInput(universe=universe, edges_nm=edges_nm, frames=frames, source=source)


__all__ = ["TRAJECTORY_FORMATS", "RDFInput", "open_trajectory", "open_universe", "rdf_edges", "select_frames"]
