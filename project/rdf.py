"""Single-species radial distribution function g(r) of a Lennard-Jones fluid trajectory.

Units: distances in nm, volumes in nm^3, number density in nm^-3 (MDAnalysis works in Angstrom internally;
this module converts at its boundary). No signac: the functions take plain file paths.

The export grid
---------------
:data:`RDF_EDGES_NM` are the bin edges 0 to 1.2 nm in steps of 0.005 nm (240 bins) and :data:`RDF_GRID_NM` the
bin centres (nm). Every job of the data space is histogrammed on this one grid so the RDFs stack into one
``n_jobs x 240`` array without interpolation. Why these numbers:

* **r_max = 1.2 nm.** The design covers sigma 0.25-0.45 nm, rho* up to 0.95 and N >= 1000, so the smallest box
  is L = (N / rho)^(1/3) = (1000 / (0.95 / 0.25^3))^(1/3) nm = 2.54 nm and its half-length 1.27 nm > 1.2 nm:
  the minimum-image histogram is valid up to 1.2 nm in every job. 1.2 nm is >= 2.6 sigma for the largest
  sigma (0.45 nm), which covers the first two coordination shells (first peak ~1.1 sigma, second ~2.1 sigma).
* **bin width 0.005 nm** is sigma/50 (sigma = 0.25 nm) to sigma/90 (sigma = 0.45 nm): fine enough to resolve
  the first peak (width ~0.3 sigma) without smearing, coarse enough that a few hundred frames of N = 1000
  give per-bin errors of a few per cent at the first peak.

Normalisation
-------------
For N particles in volume V the RDF of one frame is ``g_k = 2 C_k V / (N (N - 1) V_k)`` where ``C_k`` is the
number of unordered pairs with a minimum-image distance in bin k and ``V_k = 4/3 pi (r_{k+1}^3 - r_k^3)``
the shell volume. The N(N-1) normalisation makes an ideal gas give g = 1 exactly (the N^2 convention gives
1 - 1/N, i.e. 0.1 % low for N = 1000). Frames are averaged with equal weight. The coordination number uses the
matching density (N - 1)/V, so it equals the mean number of neighbours counted in the integrated bins.

Implementation
--------------
:func:`project.trajectory.open_trajectory` opens the files with MDAnalysis and checks the grid and the frames. By
default the pairs are histogrammed by compiled kernels (:mod:`project.rdf_kernel`, numba) that repeat the
arithmetic of MDAnalysis' grid search and ``numpy.histogram`` step by step, so they put every pair in the same
bin: the g(r) and errors equal those of MDAnalysis' grid search (``method="mdanalysis"``, kept as the reference)
to the last bit. A box at least three cut-offs wide along every edge is searched with a cell list (of order N
per frame; N = 10,000 at 20 nm^-3, 100 frames: ~3 s, against ~28 s for the MDAnalysis path and ~190 s for
MDAnalysis' ``InterRDF``, ``benchmarks/bench_rdf.py --n 10000``), a smaller one pair by pair (N = 1000, 201
frames: ~0.5 s instead of ~5 s on one core). Triclinic boxes go through MDAnalysis' grid search (logged at
DEBUG): the kernels handle orthorhombic boxes only.

Uncertainty
-----------
The frames are split into ``n_blocks`` contiguous blocks (default 5); ``g_err`` is the standard error of the
block means, ``std(block means, ddof=1) / sqrt(n_blocks)``. With ``n_blocks = 1`` the error is undefined and
``g_err`` is NaN.
"""

from __future__ import annotations

import logging
import math
import os
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from project.atomic import atomic_path
from project.errors import RDFError
from project.trajectory import open_trajectory

logger = logging.getLogger(__name__)

#: Upper end of the export grid in nm.
RDF_R_MAX_NM = 1.2
#: Bin width of the export grid in nm.
RDF_BIN_WIDTH_NM = 0.005
#: Number of bins of the export grid (1.2 nm / 0.005 nm).
RDF_N_BINS = 240
#: Bin edges of the export grid in nm (241 values, 0 to 1.2 nm).
RDF_EDGES_NM = np.linspace(0.0, RDF_R_MAX_NM, RDF_N_BINS + 1)
#: Bin centres of the export grid in nm (240 values, 0.0025 to 1.1975 nm): the ``r`` of every exported RDF.
RDF_GRID_NM = 0.5 * (RDF_EDGES_NM[:-1] + RDF_EDGES_NM[1:])

#: Scalars stored in ``rdf.npz`` next to the arrays ``r_nm``, ``g``, ``g_err``; name -> unit.
SCALAR_UNITS: dict[str, str] = {
    "bin_width_nm": "nm",
    "r_max_nm": "nm",
    "n_frames": "1",
    "n_atoms": "1",
    "n_blocks": "1",
    "start_frame": "1",
    "mean_volume_nm3": "nm^3",
    "density_nm3": "nm^-3",
    "first_peak_r_nm": "nm",
    "first_peak_g": "1",
    "first_min_r_nm": "nm",
    "first_min_g": "1",
    "coordination_number": "1",
}
#: Integer-valued scalars among :data:`SCALAR_UNITS`.
_INT_SCALARS = ("n_frames", "n_atoms", "n_blocks", "start_frame")
#: Structured dtype of the ``scalars`` record of ``rdf.npz`` (one field per :data:`SCALAR_UNITS` entry).
SCALAR_DTYPE = np.dtype([(name, "<i8" if name in _INT_SCALARS else "<f8") for name in SCALAR_UNITS])
_ARRAYS = ("r_nm", "g", "g_err")

_NM_TO_A = 10.0
#: Width (bins) of the triangular smoothing kernel used to locate the first peak and minimum.
_SMOOTH_KERNEL = np.array([1.0, 2.0, 3.0, 2.0, 1.0]) / 9.0
#: The first minimum is searched in (r_peak, _MIN_SEARCH_FACTOR * r_peak]; for LJ fluids the first minimum
#: sits near 1.4 r_peak and the second peak near 1.85 r_peak.
_MIN_SEARCH_FACTOR = 1.75


@dataclass
class RDFResult:
    """A computed RDF with its uncertainty and derived scalars.

    Attributes
    ----------
    r_nm : numpy.ndarray
        Bin centres in nm, shape (n_bins,).
    g : numpy.ndarray
        g(r), dimensionless, shape (n_bins,).
    g_err : numpy.ndarray
        Block-average standard error of g, dimensionless (NaN if ``n_blocks == 1``).
    bin_width_nm : float
        Bin width in nm.
    r_max_nm : float
        Upper edge of the last bin in nm.
    n_frames : int
        Number of frames averaged.
    n_atoms : int
        Number of particles N.
    n_blocks : int
        Number of blocks used for ``g_err``.
    start_frame : int
        Index of the first trajectory frame used.
    mean_volume_nm3 : float
        Mean box volume in nm^3.
    density_nm3 : float
        Mean number density N/V in nm^-3.
    first_peak_r_nm : float
        Position of the first peak in nm (see :func:`derived_quantities`).
    first_peak_g : float
        g at the first peak (raw bin value).
    first_min_r_nm : float
        Position of the first minimum after the first peak in nm (NaN if g has no minimum in the search
        window).
    first_min_g : float
        g at the first minimum (raw bin value, NaN if none).
    coordination_number : float
        Mean number of neighbours up to and including the first-minimum bin, ``4 pi rho int r^2 g dr``
        evaluated on the histogram with rho = (N - 1)/V (NaN if no minimum).
    """

    r_nm: np.ndarray
    g: np.ndarray
    g_err: np.ndarray
    bin_width_nm: float
    r_max_nm: float
    n_frames: int
    n_atoms: int
    n_blocks: int
    start_frame: int
    mean_volume_nm3: float
    density_nm3: float
    first_peak_r_nm: float = math.nan
    first_peak_g: float = math.nan
    first_min_r_nm: float = math.nan
    first_min_g: float = math.nan
    coordination_number: float = math.nan
    extra: dict = field(default_factory=dict, repr=False)

    def scalars(self) -> dict[str, float | int]:
        """Return the scalar fields (see :data:`SCALAR_UNITS` for units) as a plain dict."""
        data = asdict(self)
        return {name: data[name] for name in SCALAR_UNITS}


def box_half_width_nm(dimensions: np.ndarray) -> float:
    """Return half the smallest perpendicular width of a periodic box in nm.

    Parameters
    ----------
    dimensions : numpy.ndarray
        MDAnalysis box ``[lx, ly, lz, alpha, beta, gamma]`` (Angstrom, degrees).

    Returns
    -------
    float
        Largest distance in nm up to which the minimum-image convention counts every pair exactly once.
    """
    from MDAnalysis.lib.mdamath import triclinic_vectors

    vectors = triclinic_vectors(np.asarray(dimensions, dtype=np.float64))
    volume = abs(np.linalg.det(vectors))
    widths = [volume / np.linalg.norm(np.cross(vectors[(i + 1) % 3], vectors[(i + 2) % 3])) for i in range(3)]
    return float(min(widths)) / 2.0 / _NM_TO_A


def _check_frame_box(dims, frame: int, r_max_nm: float, source: str) -> None:
    """Raise :class:`RDFError` unless a frame has a periodic box at least ``2 r_max_nm`` (nm) wide."""
    if dims is None or not np.all(np.asarray(dims[:3]) > 0):
        raise RDFError(f"{source}: frame {frame} has no periodic box; g(r) needs one")
    half = box_half_width_nm(dims)
    if r_max_nm > half + 1e-9:
        raise RDFError(
            f"{source}: frame {frame}: box half-width {half:.4f} nm "
            f"(box {' x '.join(f'{d / _NM_TO_A:.4f}' for d in dims[:3])} nm) "
            f"is smaller than r_max = {r_max_nm:.4f} nm; the box must be at least "
            f"{2 * r_max_nm:.4f} nm wide, or pass a shorter r_max"
        )


def _frame_average(g_frames: np.ndarray, n_blocks: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean g over frames and the standard error of ``n_blocks`` contiguous block means (NaN for one block)."""
    g = g_frames.mean(axis=0)
    if n_blocks > 1:
        blocks = np.array_split(np.arange(len(g_frames)), n_blocks)
        means = np.array([g_frames[b].mean(axis=0) for b in blocks])
        g_err = means.std(axis=0, ddof=1) / np.sqrt(n_blocks)
    else:
        g_err = np.full(g_frames.shape[1], np.nan)
    return g, g_err


#: The ways :class:`SingleSpeciesRDF` histograms the pairs of a frame (see its ``method``).
METHODS = ("auto", "mdanalysis")


def _is_orthorhombic(dims) -> bool:
    return dims is not None and bool(np.all(np.asarray(dims[3:6]) == 90.0))


def molecule_com(
    positions_a: np.ndarray, resindex: np.ndarray, masses: np.ndarray, box_a: np.ndarray, first: np.ndarray
) -> np.ndarray:
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
    """Build the AnalysisBase subclass lazily so importing this module does not import MDAnalysis."""
    from MDAnalysis.analysis.base import AnalysisBase
    from MDAnalysis.lib.distances import self_capped_distance

    from project.rdf_kernel import histogram_pairs

    class SingleSpeciesRDF(AnalysisBase):
        """Single-species g(r) on a fixed grid, of atoms or of molecule centres of mass (see module docstring).

        Normalisation: g_k = 2 V n_k / (N (N - 1) V_k) per frame, with n_k the pair count in shell k, V_k its
        volume (nm^3), V the box volume (nm^3) and N the number of centres; averaged over frames, with the standard
        error of ``n_blocks`` contiguous block means.

        Parameters
        ----------
        atomgroup : MDAnalysis.core.groups.AtomGroup
            The particles (one species); with ``centres="molecules"`` the atoms of the molecules (one residue per
            molecule, masses from the topology).
        edges_nm : numpy.ndarray
            Bin edges in nm, starting at 0.
        n_blocks : int
            Number of contiguous frame blocks for the uncertainty.
        source : str
            Name of the trajectory, for error messages.
        centres : {"atoms", "molecules"}
            The points whose g(r) is computed: the atoms, or the centres of mass of the residues, each made whole
            with the minimum-image convention relative to its first massive atom (orthorhombic boxes only;
            zero-mass virtual sites drop out).
        method : {"auto", "mdanalysis"}
            How the pairs of a frame are histogrammed. ``"auto"`` (default): the compiled kernels of
            :mod:`project.rdf_kernel` (a cell list when the box is at least three cut-offs wide along every edge,
            all pairs otherwise) for an orthorhombic box; a triclinic frame falls back to MDAnalysis' grid search
            (logged at DEBUG). ``"mdanalysis"``: always ``self_capped_distance`` + ``numpy.histogram`` (the
            reference). Both count every pair in the same bin.

        Notes
        -----
        After ``run()``, ``results`` holds ``r_nm`` (bin centres, nm), ``g``, ``g_err`` (dimensionless),
        ``g_frames`` (per-frame g, shape n_frames x n_bins), ``volumes_nm3`` (per-frame box volume, nm^3) and
        ``n_molecules`` (the number of centres).
        """

        def __init__(
            self,
            atomgroup,
            edges_nm: np.ndarray,
            n_blocks: int = 5,
            source: str = "",
            centres: str = "atoms",
            method: str = "auto",
            **kwargs,
        ):
            super().__init__(atomgroup.universe.trajectory, **kwargs)
            if centres not in ("atoms", "molecules"):
                raise RDFError(f"centres: {centres!r}; allowed: atoms, molecules")
            if method not in METHODS:
                raise RDFError(f"method: {method!r}; allowed: {', '.join(METHODS)}")
            self._compiled = method == "auto"
            self._molecules = centres == "molecules"
            self._ag = atomgroup
            n = len(atomgroup)
            if self._molecules:
                masses = np.asarray(atomgroup.masses, dtype=np.float64)
                keep = masses > 0
                if not np.any(keep):
                    raise RDFError(f"{source}: every atom has zero mass; the COM RDF needs masses (use a TPR topology)")
                self._ag, self._masses = atomgroup[keep], masses[keep]
                _, self._resindex = np.unique(self._ag.resindices, return_inverse=True)
                n = int(self._resindex.max()) + 1
                if n < 2:
                    raise RDFError(f"{source}: the COM RDF needs at least 2 molecules (residues), found {n}")
                self._first = np.array([np.flatnonzero(self._resindex == i)[0] for i in range(n)])
            self._n = n
            self._edges_nm = np.asarray(edges_nm, dtype=np.float64)
            self._edges_a = self._edges_nm * _NM_TO_A
            self._r_max_a = float(self._edges_a[-1])
            self._n_blocks = int(n_blocks)
            self._source = source
            # 2 V / (N (N - 1) V_k) per unit volume; multiplied by V per frame.
            shell_nm3 = 4.0 / 3.0 * np.pi * np.diff(self._edges_nm**3)
            self._norm = 2.0 / (n * (n - 1) * shell_nm3)

        def _prepare(self):
            n_bins = len(self._edges_nm) - 1
            self.results.g_frames = np.zeros((self.n_frames, n_bins), dtype=np.float64)
            self.results.volumes_nm3 = np.zeros(self.n_frames, dtype=np.float64)
            self.results.n_molecules = self._n
            self._triclinic_logged = False

        def _positions(self, dims) -> np.ndarray:
            if not self._molecules:
                return self._ag.positions
            if not _is_orthorhombic(dims):
                raise RDFError(
                    f"{self._source}: frame {self._ts.frame}: only orthorhombic boxes are supported, "
                    f"got angles {dims[3:]}"
                )
            com = molecule_com(
                self._ag.positions.astype(np.float64),
                self._resindex,
                self._masses,
                np.asarray(dims[:3], dtype=np.float64),
                self._first,
            )
            return com.astype(np.float32)

        def _single_frame(self):
            dims = self._ts.dimensions
            _check_frame_box(dims, self._ts.frame, self._r_max_a / _NM_TO_A, self._source)
            positions = self._positions(dims)
            if self._compiled and _is_orthorhombic(dims):
                counts = histogram_pairs(positions, dims[:3], self._edges_a)
            else:
                if self._compiled and not self._triclinic_logged:
                    self._triclinic_logged = True
                    logger.debug(
                        "%s: frame %d has a triclinic box (angles %s deg); the compiled kernels handle orthorhombic "
                        "boxes only, so MDAnalysis' grid search histograms the frames with such a box",
                        self._source,
                        self._ts.frame,
                        dims[3:],
                    )
                _, dist = self_capped_distance(positions, self._r_max_a, box=dims, return_distances=True)
                counts, _ = np.histogram(dist, bins=self._edges_a)
            volume_nm3 = self._ts.volume / _NM_TO_A**3
            self.results.volumes_nm3[self._frame_index] = volume_nm3
            self.results.g_frames[self._frame_index] = counts * self._norm * volume_nm3

        def _conclude(self):
            self.results.r_nm = 0.5 * (self._edges_nm[:-1] + self._edges_nm[1:])
            self.results.g, self.results.g_err = _frame_average(self.results.g_frames, self._n_blocks)

    return SingleSpeciesRDF


_ANALYSIS_CLASS = None


def analysis_class():
    """Return the :class:`MDAnalysis.analysis.base.AnalysisBase` subclass ``SingleSpeciesRDF``.

    Returns
    -------
    type
        The class (built on first use so that importing :mod:`project.rdf` stays cheap).
    """
    global _ANALYSIS_CLASS
    if _ANALYSIS_CLASS is None:
        _ANALYSIS_CLASS = _make_analysis_class()
    return _ANALYSIS_CLASS


def _smooth(g: np.ndarray) -> np.ndarray:
    pad = len(_SMOOTH_KERNEL) // 2
    padded = np.pad(g, pad, mode="edge")
    return np.convolve(padded, _SMOOTH_KERNEL, mode="valid")


def derived_quantities(r_nm: np.ndarray, g: np.ndarray, density_nm3: float, n_atoms: int) -> dict[str, float]:
    """Locate the first peak and minimum of g(r) and integrate the coordination number.

    The first peak is the first local maximum of g smoothed with a 5-bin triangular kernel whose smoothed
    value is at least max(1, half the highest smoothed value) (this skips noise on the rising flank; for LJ
    fluids it is the highest peak); the reported height is the raw g of that bin. The first minimum is the
    minimum of the smoothed g in (r_peak, 1.75 r_peak]; if the smoothed g is still falling at the end of that
    window there is no minimum and the minimum and coordination number are NaN.

    Parameters
    ----------
    r_nm : numpy.ndarray
        Bin centres in nm (uniform bins starting at 0).
    g : numpy.ndarray
        g(r), dimensionless.
    density_nm3 : float
        Number density N/V in nm^-3.
    n_atoms : int
        Number of particles N (the coordination number uses rho (N - 1)/N).

    Returns
    -------
    dict
        ``first_peak_r_nm`` (nm), ``first_peak_g``, ``first_min_r_nm`` (nm), ``first_min_g``,
        ``coordination_number``.
    """
    out = {
        name: math.nan
        for name in (
            "first_peak_r_nm",
            "first_peak_g",
            "first_min_r_nm",
            "first_min_g",
            "coordination_number",
        )
    }
    g = np.asarray(g, dtype=np.float64)
    r_nm = np.asarray(r_nm, dtype=np.float64)
    if len(g) < 3 or not np.any(g > 0):
        return out
    smooth = _smooth(g)
    threshold = max(1.0, 0.5 * float(smooth.max()))
    is_max = np.zeros(len(g), dtype=bool)
    is_max[1:-1] = (smooth[1:-1] >= smooth[:-2]) & (smooth[1:-1] > smooth[2:]) & (smooth[1:-1] >= threshold)
    candidates = np.nonzero(is_max)[0]
    i_peak = int(candidates[0]) if len(candidates) else int(np.argmax(smooth))
    out["first_peak_r_nm"] = float(r_nm[i_peak])
    out["first_peak_g"] = float(g[i_peak])
    width = float(r_nm[1] - r_nm[0])
    window = np.nonzero((r_nm > r_nm[i_peak]) & (r_nm <= _MIN_SEARCH_FACTOR * r_nm[i_peak]))[0]
    if len(window) == 0:
        return out
    i_min = int(window[np.argmin(smooth[window])])
    at_end = i_min == window[-1]
    if at_end and (i_min + 1 >= len(g) or smooth[i_min + 1] < smooth[i_min]):
        logger.debug("no first minimum of g(r) in (%.4f, %.4f] nm", r_nm[i_peak], r_nm[window[-1]])
        return out
    out["first_min_r_nm"] = float(r_nm[i_min])
    out["first_min_g"] = float(g[i_min])
    edges = np.concatenate([r_nm - width / 2.0, [r_nm[-1] + width / 2.0]])
    shell = 4.0 / 3.0 * np.pi * np.diff(edges**3)
    rho_pair = density_nm3 * (n_atoms - 1) / n_atoms if n_atoms > 1 else density_nm3
    out["coordination_number"] = float(rho_pair * np.sum(g[: i_min + 1] * shell[: i_min + 1]))
    return out


def compute_rdf(
    topology: str | os.PathLike,
    trajectory: str | os.PathLike | None,
    r_max: float = RDF_R_MAX_NM,
    bin_width: float = RDF_BIN_WIDTH_NM,
    n_blocks: int = 5,
    start: int = 0,
    stop: int | None = None,
    step: int | None = None,
    method: str = "auto",
    expect_frames: int | None = None,
) -> RDFResult:
    """Compute the single-species g(r) of a trajectory with block-averaged errors.

    Parameters
    ----------
    topology : path
        Topology readable by MDAnalysis (the job's ``topology.pdb``; coordinates in Angstrom as PDB requires).
    trajectory : path or None
        Trajectory (the job's ``traj.xtc``); None analyses the coordinates of the topology alone.
    r_max : float
        Upper edge of the last bin in nm (default 1.2 nm, the export grid). A shorter r_max is allowed for
        small test systems; the box half-width must be >= r_max in every frame.
    bin_width : float
        Bin width in nm (default 0.005 nm). ``r_max / bin_width`` must be an integer.
    n_blocks : int
        Number of contiguous frame blocks for ``g_err`` (default 5; 1 gives NaN errors).
    start, stop, step : int, optional
        Frame selection (``start`` drops equilibration frames).
    method : str
        ``"auto"`` (default): the compiled pair histograms of :mod:`project.rdf_kernel` (a cell list in boxes at
        least three cut-offs wide, all pairs in smaller ones) for orthorhombic boxes, MDAnalysis' grid search for
        triclinic ones; ``"mdanalysis"``: always MDAnalysis' grid search (the reference; same bins and
        normalisation, about 10x slower for N = 1000). Both give the same g(r) and errors.
    expect_frames : int, optional
        Number of frames the trajectory must hold (e.g. ``t_prod / t_sample + 1``); another count raises, so
        a truncated trajectory fails instead of giving a noisier g(r).

    Returns
    -------
    RDFResult
        g(r) on bin centres ``r_nm`` (nm), errors and derived scalars.

    Raises
    ------
    RDFError
        Missing or unreadable files (the message names the file), box half-width smaller than ``r_max``,
        fewer than two particles, fewer frames than blocks, fewer or more frames than ``expect_frames``, or an
        invalid grid.
    """
    if method not in METHODS:
        raise RDFError(f"method: got {method!r}; allowed: {', '.join(METHODS)}")
    opened = open_trajectory(topology, trajectory, r_max, bin_width, n_blocks, start, stop, step, expect_frames)
    source, atoms = opened.source, opened.universe.atoms
    if len(atoms) < 2:
        raise RDFError(f"{source}: g(r) needs at least 2 particles, found {len(atoms)}")
    try:
        analysis = analysis_class()(atoms, opened.edges_nm, n_blocks=n_blocks, source=source, method=method)
        res = analysis.run(start=start, stop=stop, step=step).results
    except RDFError:
        raise
    except (OSError, ValueError, EOFError, RuntimeError) as exc:
        raise RDFError(f"{source}: reading the trajectory failed: {exc}") from exc
    mean_volume = float(np.mean(res.volumes_nm3))
    density = float(np.mean(len(atoms) / res.volumes_nm3))
    derived = derived_quantities(res.r_nm, res.g, density, len(atoms))
    result = RDFResult(
        r_nm=np.asarray(res.r_nm, dtype=np.float64),
        g=np.asarray(res.g, dtype=np.float64),
        g_err=np.asarray(res.g_err, dtype=np.float64),
        bin_width_nm=float(bin_width),
        r_max_nm=float(opened.edges_nm[-1]),
        n_frames=len(opened.frames),
        n_atoms=len(atoms),
        n_blocks=int(n_blocks),
        start_frame=int(start),
        mean_volume_nm3=mean_volume,
        density_nm3=density,
        **derived,
    )
    logger.info(
        "g(r) of %s: %d frames, N=%d, first peak %.4f nm (g=%.3f), coordination %.2f",
        source,
        result.n_frames,
        result.n_atoms,
        result.first_peak_r_nm,
        result.first_peak_g,
        result.coordination_number,
    )
    return result


def save_rdf(result: RDFResult, path: str | os.PathLike, *, fsync: bool = True) -> Path:
    """Write an RDF to an ``.npz`` file atomically (temporary file in the same folder, then ``os.replace``).

    The file holds the arrays ``r_nm`` (nm), ``g``, ``g_err`` and ``scalars``, a 0-d structured record
    (:data:`SCALAR_DTYPE`) with one field per entry of :data:`SCALAR_UNITS`, e.g.
    ``np.load(path)["scalars"]["first_peak_r_nm"]`` in nm. Packing the scalars into one record keeps the
    file at four members, which makes reading 40,000 files about four times faster than one member per
    scalar. A reader sees either the old file or the complete new one.

    Parameters
    ----------
    result : RDFResult
        The RDF to write.
    path : path
        Destination, conventionally ``<job>/rdf.npz``.
    fsync : bool
        Flush the file to disk before the rename (default True; survives a crash of the node).

    Returns
    -------
    pathlib.Path
        The destination path.
    """
    path = Path(path)
    n = len(result.g)
    if len(result.r_nm) != n or len(result.g_err) != n:
        raise RDFError(
            f"cannot save RDF to {path}: r_nm, g, g_err lengths differ ({len(result.r_nm)}, {n}, {len(result.g_err)})"
        )
    arrays: dict[str, np.ndarray] = {
        "r_nm": np.asarray(result.r_nm, dtype=np.float64),
        "g": np.asarray(result.g, dtype=np.float64),
        "g_err": np.asarray(result.g_err, dtype=np.float64),
    }
    scalars = np.zeros((), dtype=SCALAR_DTYPE)
    for name, value in result.scalars().items():
        scalars[name] = value
    arrays["scalars"] = scalars
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path, fsync=fsync) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **arrays)
    return path


def load_rdf(path: str | os.PathLike, *, expect_r_nm: np.ndarray | None = None) -> RDFResult:
    """Read an RDF written by :func:`save_rdf`.

    Parameters
    ----------
    path : path
        The ``rdf.npz`` file.
    expect_r_nm : numpy.ndarray, optional
        Required bin centres in nm (e.g. :data:`RDF_GRID_NM`); a file on another grid raises.

    Returns
    -------
    RDFResult
        The stored RDF (scalars missing from older files are NaN / 0).

    Raises
    ------
    RDFError
        The file is missing, not a readable npz, lacks ``r_nm``/``g``/``g_err``, has arrays of different
        lengths, or is not on ``expect_r_nm``. The message names the file.
    """
    path = Path(path)
    if not path.is_file():
        raise RDFError(f"RDF file {os.fspath(path)!r} does not exist")
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = [name for name in _ARRAYS if name not in data.files]
            if missing:
                raise RDFError(f"RDF file {os.fspath(path)!r} lacks array(s) {missing}")
            arrays = {name: np.asarray(data[name], dtype=np.float64) for name in _ARRAYS}
            if "scalars" in data.files:
                packed = data["scalars"]
                names = packed.dtype.names or ()
                scalars = {name: packed[name][()] for name in SCALAR_UNITS if name in names}
            else:  # one 0-d array per scalar
                scalars = {name: data[name][()] for name in SCALAR_UNITS if name in data.files}
    except RDFError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as exc:
        raise RDFError(f"RDF file {os.fspath(path)!r} is corrupt or not an npz file: {exc}") from exc
    lengths = {name: arrays[name].shape for name in _ARRAYS}
    if any(len(shape) != 1 for shape in lengths.values()) or len({s[0] for s in lengths.values()}) != 1:
        raise RDFError(f"RDF file {os.fspath(path)!r}: r_nm, g, g_err must be 1-D of equal length, got {lengths}")
    if expect_r_nm is not None:
        expect = np.asarray(expect_r_nm, dtype=np.float64)
        if arrays["r_nm"].shape != expect.shape:
            raise RDFError(
                f"RDF file {os.fspath(path)!r} has {arrays['r_nm'].shape[0]} bins, "
                f"expected {expect.shape[0]} "
                f"(grid {expect[0]:.4f}-{expect[-1]:.4f} nm)"
            )
        if not np.allclose(arrays["r_nm"], expect, rtol=0.0, atol=1e-6):
            raise RDFError(f"RDF file {os.fspath(path)!r} is on a different r grid than expected")
    kwargs: dict = {}
    for name in SCALAR_UNITS:
        if name in scalars:
            kwargs[name] = int(scalars[name]) if name in _INT_SCALARS else float(scalars[name])
        else:
            kwargs[name] = 0 if name in _INT_SCALARS else math.nan
    return RDFResult(**arrays, **kwargs)
