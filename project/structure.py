"""Structural check of a production trajectory: did the run stay one homogeneous liquid?

A run at a metastable state (the supercooled liquid below the triple point, the liquid compressed beyond freezing)
can crystallise, and one inside the vapour-liquid dome can phase-separate, without any energy alarm. Its g(r) is
then not the g(r) of the liquid at that state and must not train a model. Two named measures decide, on frames
spread over the production run (MDAnalysis reads them; no signac):

**Crystallisation: Steinhardt bond-orientational order** (Steinhardt, Nelson & Ronchetti, Phys. Rev. B 28, 784
(1983); solid-like particles after ten Wolde, Ruiz-Montero & Frenkel, J. Chem. Phys. 104, 9932 (1996)). Bonds join
particles closer than ``r_b = 1.355 rho^(-1/3)`` (nm, rho in nm^-3): midway between the first (1.122 rho^(-1/3)) and
second (1.587 rho^(-1/3)) neighbour shells of fcc at the run's density, and at the first minimum of g of the liquid
near the triple point (1.42 sigma at rho* 0.85). For particle i with N_b(i) bonds,
``q_6m(i) = (1 / N_b(i)) sum_j Y_6m(r_ij)``. A bond i-j is *connected* when
``Re[q_6(i) . q_6(j)*] / (|q_6(i)| |q_6(j)|) > 0.7`` and a particle is *solid-like* with at least 7 connected bonds.

* ``solid_fraction``: the fraction of solid-like particles (mean over the last quarter of the analysed frames).
  Reference values: perfect fcc 1; thermal fcc at T* 0.5, rho* 1.0 above 0.95; liquid (T* 1, rho* 0.8) below
  0.01. Flagged *crystallised* above :data:`SOLID_FRACTION_MAX` = 0.1 (a nucleus of 100 of 1,000 particles).
* ``Q6``: the global order ``Q_6 = sqrt(4 pi / 13 sum_m |<Y_6m>|^2)`` over all bonds of a frame (same frames);
  perfect fcc 0.5745 (one grain), a liquid of N = 1,000 about 0.02 (finite-size noise). Reported beside the
  fraction; a polycrystal has a low Q_6 but a high solid fraction, so the fraction decides.

**Phase separation: cell-density dispersion.** The box is cut into ``k^3`` equal cells, ``k = round((N/16)^(1/3))``
(about 16 particles per cell; 4^3 cells for N = 1,000); ``cell_dispersion = var(n_cell) / mean(n_cell)`` (mean
over the last quarter of the analysed frames) is 1 for an ideal gas; in a homogeneous fluid it follows the structure
factor S(0) plus a cell-surface term: 0.16-0.21 in the dense liquid (S(0) 0.02-0.07), 0.4 at rho* 0.5 and T* 3-10
(measured on N = 1,000 runs). A quench into the vapour-liquid dome (T* 0.8, rho* 0.3) gives above 7 within 40 tau,
growing as the droplets coarsen. Flagged *phase-separated* above :data:`CELL_DISPERSION_MAX` = 5.

Units: positions and lengths in nm, number density in nm^-3 (MDAnalysis works in Angstrom; converted here).
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass

import numpy as np
from scipy.spatial import cKDTree
from scipy.special import sph_harm_y

from project.errors import ProjectError

#: Steinhardt order used (l = 6).
L_ORDER = 6
#: Bond length in units of rho^(-1/3): midway between fcc's first and second neighbour shells.
BOND_RHO_FACTOR = 1.355
#: ten Wolde-Frenkel criteria: a bond is connected above this normalised q6(i).q6(j) ...
CONNECTED_DOT = 0.7
#: ... and a particle is solid-like with at least this many connected bonds.
SOLID_MIN_CONNECTED = 7
#: A run is crystallised when its solid-like fraction exceeds this.
SOLID_FRACTION_MAX = 0.1
#: A run is phase-separated when its cell-density dispersion var(n)/mean(n) exceeds this.
CELL_DISPERSION_MAX = 5.0
#: Particles per cell of the dispersion measure (the cell count is k^3 with k = round((N / this)^(1/3))).
PARTICLES_PER_CELL = 16.0
#: Frames analysed, evenly spread over the trajectory (the last one included).
N_FRAMES = 20
#: File name of the check's product in a job folder.
RESULT_NAME = "structure.json"


@dataclass(frozen=True)
class StructureResult:
    """Outcome of :func:`check_structure`.

    Attributes
    ----------
    verdict : str
        ``"liquid"``, ``"crystallised"`` or ``"phase-separated"``.
    reason : str
        One line naming the measure, its value and the threshold (empty for a liquid).
    solid_fraction : float
        Fraction of solid-like particles (ten Wolde-Frenkel, q6 bonds), mean over the last quarter of the frames.
    Q6 : float
        Global Steinhardt Q6 over all bonds, mean over the same frames (fcc 0.5745, liquid ~0.02).
    q6_mean : float
        Mean local q6 per particle over the same frames (fcc 0.575 at T = 0; liquid 0.3-0.4).
    cell_dispersion : float
        var(n_cell) / mean(n_cell) over the k^3 cells, mean over the last quarter of the frames (dimensionless).
    n_cells : int
        Number of cells k^3 of the dispersion measure.
    bond_length_nm : float
        Bond cutoff r_b = 1.355 rho^(-1/3) (nm).
    n_frames : int
        Frames analysed.
    """

    verdict: str
    reason: str
    solid_fraction: float
    Q6: float
    q6_mean: float
    cell_dispersion: float
    n_cells: int
    bond_length_nm: float
    n_frames: int

    @property
    def is_liquid(self) -> bool:
        """True when the run stayed one homogeneous liquid."""
        return self.verdict == "liquid"

    def as_dict(self) -> dict:
        """Return the result as a JSON-compatible dict."""
        return asdict(self)


def _bonds(positions: np.ndarray, box_nm: float, r_b: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unordered bonds (i, j) closer than r_b (nm) under periodic boundaries, with minimum-image vectors (nm)."""
    wrapped = np.mod(positions, box_nm)
    wrapped[wrapped >= box_nm] = 0.0  # np.mod can return box_nm itself for tiny negative coordinates
    pairs = cKDTree(wrapped, boxsize=box_nm).query_pairs(r_b, output_type="ndarray")
    i, j = pairs[:, 0], pairs[:, 1]
    d = wrapped[j] - wrapped[i]
    d -= box_nm * np.round(d / box_nm)
    return i, j, d


def steinhardt_frame(positions: np.ndarray, box_nm: float, r_b: float) -> tuple[float, float, float]:
    """Return (solid-like fraction, global Q6, mean local q6) of one frame (see the module docstring).

    Parameters
    ----------
    positions : numpy.ndarray
        ``(N, 3)`` positions (nm) in a cubic box.
    box_nm : float
        Box edge (nm).
    r_b : float
        Bond cutoff (nm).
    """
    n = len(positions)
    i, j, d = _bonds(np.asarray(positions, dtype=float), box_nm, r_b)
    if len(i) == 0:
        return 0.0, 0.0, 0.0
    r = np.linalg.norm(d, axis=1)
    theta = np.arccos(np.clip(d[:, 2] / r, -1.0, 1.0))
    phi = np.arctan2(d[:, 1], d[:, 0])
    m = np.arange(-L_ORDER, L_ORDER + 1)
    y = sph_harm_y(L_ORDER, m[None, :], theta[:, None], phi[:, None])  # (bonds, 13); Y_lm(-r) = Y_lm(r), l even
    qlm = np.zeros((n, len(m)), dtype=complex)
    np.add.at(qlm, i, y)
    np.add.at(qlm, j, y)
    nb = np.bincount(i, minlength=n) + np.bincount(j, minlength=n)
    has = nb > 0
    qlm[has] /= nb[has, None]
    norm = np.sqrt(np.sum(np.abs(qlm) ** 2, axis=1))
    q6_local = np.sqrt(4.0 * math.pi / (2 * L_ORDER + 1)) * norm
    unit = np.zeros_like(qlm)
    unit[has] = qlm[has] / norm[has, None]
    dot = np.real(np.sum(unit[i] * np.conj(unit[j]), axis=1))
    connected = dot > CONNECTED_DOT
    n_conn = np.bincount(i[connected], minlength=n) + np.bincount(j[connected], minlength=n)
    solid_fraction = float(np.mean(n_conn >= SOLID_MIN_CONNECTED))
    q_global = np.sqrt(4.0 * math.pi / (2 * L_ORDER + 1) * np.sum(np.abs(y.mean(axis=0)) ** 2))
    return solid_fraction, float(q_global), float(np.mean(q6_local[has]))


def cell_dispersion(positions: np.ndarray, box_nm: float, k: int) -> float:
    """Return var(n_cell) / mean(n_cell) of the particle counts in k^3 equal cubic cells (dimensionless).

    Parameters
    ----------
    positions : numpy.ndarray
        ``(N, 3)`` positions (nm).
    box_nm : float
        Box edge (nm).
    k : int
        Cells per box edge.
    """
    idx = np.floor(np.mod(positions, box_nm) / box_nm * k).astype(int) % k
    counts = np.bincount((idx[:, 0] * k + idx[:, 1]) * k + idx[:, 2], minlength=k**3)
    return float(counts.var() / counts.mean())


def check_structure(
    topology: str | os.PathLike, trajectory: str | os.PathLike, n_frames: int = N_FRAMES
) -> StructureResult:
    """Decide whether a production trajectory stayed one homogeneous liquid (see the module docstring).

    Parameters
    ----------
    topology, trajectory : path
        ``topology.pdb`` and ``traj.xtc`` of a cubic-box LJ run (MDAnalysis formats).
    n_frames : int
        Number of frames analysed, evenly spread over the trajectory, the last one included.

    Returns
    -------
    StructureResult
        Measures and the verdict with its reason.

    Raises
    ------
    ProjectError
        The trajectory cannot be read or its box is not cubic.
    """
    from project.trajectory import open_universe, select_frames

    source = os.path.basename(os.fspath(trajectory))
    universe = open_universe(topology, trajectory)
    select_frames(universe, source, n_blocks=1)
    traj = universe.trajectory
    n_atoms = universe.atoms.n_atoms
    picks = np.unique(np.linspace(0, len(traj) - 1, max(1, min(n_frames, len(traj)))).round().astype(int))
    k = max(2, round((n_atoms / PARTICLES_PER_CELL) ** (1.0 / 3.0)))
    per_frame, dispersion = [], []
    r_b = math.nan
    try:
        frames = [
            (ts.frame, None if ts.dimensions is None else ts.dimensions.copy(), ts.positions.copy())
            for ts in traj[picks]
        ]
    except (OSError, ValueError, EOFError) as exc:  # a truncated or corrupt trajectory
        raise ProjectError(f"{source}: reading the trajectory failed: {exc}") from exc
    for frame, dims, positions in frames:
        if dims is None or not np.allclose(dims[:3], dims[0], rtol=1e-6) or not np.allclose(dims[3:], 90.0):
            raise ProjectError(f"{trajectory}: frame {frame} has box {dims}; allowed: a cubic box")
        box_nm = float(dims[0]) / 10.0
        pos_nm = positions.astype(float) / 10.0
        r_b = BOND_RHO_FACTOR * (n_atoms / box_nm**3) ** (-1.0 / 3.0)
        per_frame.append(steinhardt_frame(pos_nm, box_nm, r_b))
        dispersion.append(cell_dispersion(pos_nm, box_nm, k))
    last = np.array(per_frame[-max(1, len(per_frame) // 4) :])
    solid, q6_global, q6_mean = (float(v) for v in last.mean(axis=0))
    disp = float(np.mean(dispersion[-len(last) :]))
    if solid > SOLID_FRACTION_MAX:
        verdict = "crystallised"
        reason = (
            f"crystallised: solid-like fraction {solid:.2f} > {SOLID_FRACTION_MAX} (Steinhardt q6 bonds, ten "
            f"Wolde-Frenkel; liquid < 0.01, fcc ~1), global Q6 {q6_global:.3f} (fcc 0.575, liquid ~0.02)"
        )
    elif disp > CELL_DISPERSION_MAX:
        verdict = "phase-separated"
        reason = (
            f"phase-separated: cell-density dispersion var(n)/mean(n) {disp:.2f} > {CELL_DISPERSION_MAX} over "
            f"{k**3} cells (homogeneous fluid 0.2-0.4 away from the critical point)"
        )
    else:
        verdict, reason = "liquid", ""
    return StructureResult(
        verdict=verdict,
        reason=reason,
        solid_fraction=solid,
        Q6=q6_global,
        q6_mean=q6_mean,
        cell_dispersion=disp,
        n_cells=k**3,
        bond_length_nm=float(r_b),
        n_frames=len(picks),
    )
