"""Centre-of-mass radial distribution function of a molecular liquid (MDAnalysis ``AnalysisBase``).

Units: distances nm (MDAnalysis works in Angstrom; converted at this boundary), g(r) dimensionless, density nm^-3.

Each molecule (MDAnalysis residue) is mapped to its centre of mass, computed from its massive atoms (virtual sites
have zero mass and drop out) after making the molecule whole with the minimum-image convention relative to its
first massive atom (molecules are far smaller than half the box). The COM g(r) uses the same grid, the same
``N (N - 1)`` normalisation and the same block errors as :mod:`project.rdf` (default grid 0-1.2 nm in 0.005 nm
bins), so AA and CG RDFs are directly comparable.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np

from project.errors import RDFError
from project.rdf import RDF_BIN_WIDTH_NM, RDF_R_MAX_NM, RDFResult, box_half_width_nm, derived_quantities

_NM_TO_A = 10.0


def molecule_com(positions_a: np.ndarray, resindex: np.ndarray, masses: np.ndarray, box_a: np.ndarray,
                 first: np.ndarray) -> np.ndarray:
    """Centres of mass of molecules in an orthorhombic periodic box, molecules made whole first.

    Parameters
    ----------
    positions_a : numpy.ndarray
        (n_atoms, 3) positions (any length unit, here Angstrom).
    resindex : numpy.ndarray
        Molecule index (0..n_mol-1) of every atom.
    masses : numpy.ndarray
        Atom masses (amu); zero-mass atoms do not contribute.
    box_a : numpy.ndarray
        Box lengths (3,), same unit as the positions.
    first : numpy.ndarray
        Index of the reference (first massive) atom of every molecule.

    Returns
    -------
    numpy.ndarray
        (n_mol, 3) centres of mass wrapped into the box.
    """
    ref = positions_a[first][resindex]
    d = positions_a - ref
    d -= box_a * np.round(d / box_a)
    n_mol = len(first)
    total = np.bincount(resindex, weights=masses, minlength=n_mol)
    com = np.stack([np.bincount(resindex, weights=masses * d[:, k], minlength=n_mol) for k in range(3)], -1)
    return np.mod(positions_a[first] + com / total[:, None], box_a)


def _make_analysis_class():
    from MDAnalysis.analysis.base import AnalysisBase
    from MDAnalysis.lib.distances import self_capped_distance

    class COMRDF(AnalysisBase):
        """Centre-of-mass g(r) of the molecules (residues) of an AtomGroup.

        Parameters
        ----------
        atomgroup : MDAnalysis.core.groups.AtomGroup
            Atoms of the molecules; one residue per molecule, masses from the topology.
        edges_nm : numpy.ndarray
            Bin edges in nm, starting at 0.
        n_blocks : int
            Contiguous frame blocks for the block standard error.
        source : str
            Name for error messages.

        Notes
        -----
        After ``run()``: ``results.r_nm`` (nm), ``results.g``, ``results.g_err``, ``results.g_frames``,
        ``results.volumes_nm3`` (nm^3), ``results.n_molecules``.
        """

        def __init__(self, atomgroup, edges_nm: np.ndarray, n_blocks: int = 5, source: str = "", **kwargs):
            super().__init__(atomgroup.universe.trajectory, **kwargs)
            masses = np.asarray(atomgroup.masses, dtype=np.float64)
            keep = masses > 0
            if not np.any(keep):
                raise RDFError(f"{source}: every atom has zero mass; the COM RDF needs masses (use a TPR topology)")
            self._ag = atomgroup[keep]
            self._masses = masses[keep]
            _, self._resindex = np.unique(self._ag.resindices, return_inverse=True)
            self._n_mol = int(self._resindex.max()) + 1
            if self._n_mol < 2:
                raise RDFError(f"{source}: the COM RDF needs at least 2 molecules (residues), found {self._n_mol}")
            self._first = np.array([np.flatnonzero(self._resindex == i)[0] for i in range(self._n_mol)])
            self._edges_nm = np.asarray(edges_nm, dtype=np.float64)
            self._r_max_a = float(self._edges_nm[-1]) * _NM_TO_A
            self._n_blocks = int(n_blocks)
            self._source = source
            shell_nm3 = 4.0 / 3.0 * np.pi * np.diff(self._edges_nm**3)
            self._norm = 2.0 / (self._n_mol * (self._n_mol - 1) * shell_nm3)

        def _prepare(self):
            n_bins = len(self._edges_nm) - 1
            self.results.g_frames = np.zeros((self.n_frames, n_bins))
            self.results.volumes_nm3 = np.zeros(self.n_frames)
            self.results.n_molecules = self._n_mol

        def _single_frame(self):
            dims = self._ts.dimensions
            if dims is None or not np.all(np.asarray(dims[:3]) > 0):
                raise RDFError(f"{self._source}: frame {self._ts.frame} has no periodic box")
            if not np.allclose(dims[3:], 90.0):
                raise RDFError(f"{self._source}: frame {self._ts.frame}: only orthorhombic boxes are supported, "
                               f"got angles {dims[3:]}")
            half = box_half_width_nm(dims)
            if self._r_max_a / _NM_TO_A > half + 1e-9:
                raise RDFError(f"{self._source}: box half-width {half:.4f} nm is smaller than r_max = "
                               f"{self._r_max_a / _NM_TO_A:.4f} nm; pass a shorter r_max or simulate a larger box")
            com = molecule_com(self._ag.positions.astype(np.float64), self._resindex, self._masses,
                               np.asarray(dims[:3], dtype=np.float64), self._first)
            _, dist = self_capped_distance(com.astype(np.float32), self._r_max_a, box=dims, return_distances=True)
            counts, _ = np.histogram(dist, bins=self._edges_nm * _NM_TO_A)
            vol = float(np.prod(dims[:3])) / _NM_TO_A**3
            self.results.volumes_nm3[self._frame_index] = vol
            self.results.g_frames[self._frame_index] = counts * self._norm * vol

        def _conclude(self):
            gf = self.results.g_frames
            self.results.r_nm = 0.5 * (self._edges_nm[:-1] + self._edges_nm[1:])
            self.results.g = gf.mean(0)
            if self._n_blocks > 1:
                blocks = np.array_split(np.arange(len(gf)), self._n_blocks)
                means = np.array([gf[b].mean(0) for b in blocks])
                self.results.g_err = means.std(0, ddof=1) / np.sqrt(self._n_blocks)
            else:
                self.results.g_err = np.full(gf.shape[1], np.nan)

    return COMRDF


_CLASS = None


def analysis_class():
    """Return the ``COMRDF`` :class:`MDAnalysis.analysis.base.AnalysisBase` subclass (built on first use)."""
    global _CLASS
    if _CLASS is None:
        _CLASS = _make_analysis_class()
    return _CLASS


def compute_com_rdf(topology: str | os.PathLike, trajectory: str | os.PathLike, r_max: float = RDF_R_MAX_NM,
                    bin_width: float = RDF_BIN_WIDTH_NM, n_blocks: int = 5, start: int = 0, stop: int | None = None,
                    step: int | None = None, selection: str = "all") -> RDFResult:
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

    Returns
    -------
    RDFResult
        COM g(r) on bin centres (nm), block errors and derived scalars (``n_atoms`` is the number of molecules,
        ``density_nm3`` the molecular number density).

    Raises
    ------
    RDFError
        Missing or unreadable files, no masses, fewer than 2 molecules, a box smaller than 2 r_max, a bad grid,
        fewer frames than blocks.
    """
    n_bins_f = r_max / bin_width if bin_width > 0 else 0.0
    if r_max <= 0 or bin_width <= 0 or abs(n_bins_f - round(n_bins_f)) > 1e-6:
        raise RDFError(f"r_max ({r_max} nm) must be a positive integer multiple of bin_width ({bin_width} nm)")
    if int(n_blocks) < 1:
        raise RDFError(f"n_blocks must be >= 1, got {n_blocks}")
    for name, path in (("topology", topology), ("trajectory", trajectory)):
        if not Path(path).is_file():
            raise RDFError(f"{name} file {os.fspath(path)!r} does not exist")
    import MDAnalysis as mda

    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=UserWarning, module=r"MDAnalysis\.")
            u = mda.Universe(os.fspath(topology), os.fspath(trajectory))
    except Exception as exc:  # MDAnalysis raises many types for unreadable files
        raise RDFError(f"cannot read topology {os.fspath(topology)!r} / trajectory {os.fspath(trajectory)!r}: "
                       f"{exc}") from exc
    ag = u.select_atoms(selection)
    n_used = len(range(*slice(start, stop, step).indices(len(u.trajectory))))
    if n_used < int(n_blocks):
        raise RDFError(f"{os.fspath(trajectory)}: {n_used} frames selected, fewer than n_blocks = {n_blocks}")
    edges = np.linspace(0.0, r_max, round(n_bins_f) + 1)
    ana = analysis_class()(ag, edges, n_blocks=n_blocks, source=os.fspath(trajectory))
    ana.run(start=start, stop=stop, step=step)
    res = ana.results
    vol = float(np.mean(res.volumes_nm3))
    n_mol = int(res.n_molecules)
    rho = n_mol / vol
    derived = derived_quantities(res.r_nm, res.g, rho, n_mol)
    return RDFResult(r_nm=res.r_nm, g=res.g, g_err=res.g_err, bin_width_nm=float(bin_width), r_max_nm=float(r_max),
                     n_frames=len(res.g_frames), n_atoms=n_mol, n_blocks=int(n_blocks), start_frame=int(start),
                     mean_volume_nm3=vol, density_nm3=rho, **derived)


__all__ = ["analysis_class", "compute_com_rdf", "molecule_com"]
