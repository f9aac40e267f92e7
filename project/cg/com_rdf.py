"""Centre-of-mass radial distribution function of a molecular liquid (the ``AnalysisBase`` of :mod:`project.rdf`).

Units: distances nm (MDAnalysis works in Angstrom; converted at this boundary), g(r) dimensionless, density nm^-3.

Each molecule (MDAnalysis residue) is mapped to its centre of mass, computed from its massive atoms (virtual sites
have zero mass and drop out) after making the molecule whole with the minimum-image convention relative to its
first massive atom (molecules are far smaller than half the box). The COM g(r) uses the same grid, the same
``N (N - 1)`` normalisation and the same block errors as :mod:`project.rdf` (default grid 0-1.2 nm in 0.005 nm
bins), so AA and CG RDFs are directly comparable, and the same compiled pair histograms (:mod:`project.rdf_kernel`:
a cell list in boxes at least three cut-offs wide, all pairs in smaller ones).
"""

from __future__ import annotations

import functools
import os

import numpy as np

from project.errors import RDFError
from project.rdf import RDF_BIN_WIDTH_NM, RDF_R_MAX_NM, RDFResult, derived_quantities, molecule_com
from project.rdf import analysis_class as rdf_analysis_class
from project.trajectory import open_trajectory


def analysis_class():
    """Return the centre-of-mass g(r) analysis: :func:`project.rdf.analysis_class` (``SingleSpeciesRDF``) with
    ``centres="molecules"`` (results also hold ``n_molecules``)."""
    return functools.partial(rdf_analysis_class(), centres="molecules")


def compute_com_rdf(
    topology: str | os.PathLike,
    trajectory: str | os.PathLike,
    r_max: float = RDF_R_MAX_NM,
    bin_width: float = RDF_BIN_WIDTH_NM,
    n_blocks: int = 5,
    start: int = 0,
    stop: int | None = None,
    step: int | None = None,
    selection: str = "all",
    method: str = "auto",
) -> RDFResult:
    """Compute the centre-of-mass g(r) of the molecules of a trajectory.

    Parameters
    ----------
    topology : path
        Topology with masses and residues (a GROMACS ``.tpr``; ``aa_topology.tpr`` of an AA run).
    trajectory : path
        Trajectory (``aa_traj.xtc``).
    r_max : float
        Upper edge of the last bin (nm, default 1.2); must not exceed half the box.
    bin_width : float
        Bin width (nm, default 0.005); ``r_max / bin_width`` must be an integer.
    n_blocks : int
        Frame blocks for ``g_err`` (default 5).
    start, stop, step : int, optional
        Frame selection.
    selection : str
        MDAnalysis selection of the atoms whose molecules are mapped (default ``"all"``).
    method : {"auto", "mdanalysis"}
        How the pairs of the centres are histogrammed, as in :func:`project.rdf.compute_rdf`: the compiled kernels
        (default; a cell list in boxes at least three cut-offs wide) or MDAnalysis' grid search (the reference).

    Returns
    -------
    RDFResult
        COM g(r) on bin centres (nm), block errors and derived scalars (``n_atoms`` is the number of molecules,
        ``density_nm3`` the molecular number density).

    Raises
    ------
    RDFError
        Missing or unreadable files, a bad selection, no masses, fewer than 2 molecules, a box smaller than
        2 r_max, a bad grid, fewer frames than blocks.
    """
    opened = open_trajectory(topology, trajectory, r_max, bin_width, n_blocks, start, stop, step)
    try:
        ag = opened.universe.select_atoms(selection)
    except Exception as exc:  # SelectionError, ValueError, ...
        raise RDFError(
            f"selection: {selection!r} is not a valid MDAnalysis selection ({exc}); allowed: e.g. 'all'"
        ) from exc
    ana = analysis_class()(ag, opened.edges_nm, n_blocks=n_blocks, source=opened.source, method=method)
    ana.run(start=start, stop=stop, step=step)
    return rdf_result(ana.results, bin_width, r_max, n_blocks, start)


def rdf_result(res, bin_width: float, r_max: float, n_blocks: int, start: int) -> RDFResult:
    """The :class:`~project.rdf.RDFResult` of a finished COM analysis (``results`` of :func:`analysis_class`):
    grid (nm), g, block errors, the molecules' mean number density (nm^-3) and the derived scalars."""
    vol = float(np.mean(res.volumes_nm3))
    n_mol = int(res.n_molecules)
    rho = n_mol / vol
    derived = derived_quantities(res.r_nm, res.g, rho, n_mol)
    return RDFResult(
        r_nm=res.r_nm,
        g=res.g,
        g_err=res.g_err,
        bin_width_nm=float(bin_width),
        r_max_nm=float(r_max),
        n_frames=len(res.g_frames),
        n_atoms=n_mol,
        n_blocks=int(n_blocks),
        start_frame=int(start),
        mean_volume_nm3=vol,
        density_nm3=rho,
        **derived,
    )


__all__ = ["analysis_class", "compute_com_rdf", "molecule_com", "rdf_result"]
