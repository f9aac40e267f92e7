"""Tests of project.rdf_kernel: the cell list against the all-pairs kernel and both against MDAnalysis' grid search.

References: the all-pairs kernel (:func:`project.rdf_kernel.pair_counts`, itself tested against MDAnalysis in
tests/test_rdf.py) for exact integer pair counts, and ``method="mdanalysis"`` (MDAnalysis' ``self_capped_distance``
+ ``numpy.histogram``) for g(r) and block errors within 1e-6.
"""

from __future__ import annotations

import logging
import warnings

import MDAnalysis as mda
import numpy as np
import pytest
from test_rdf import write_system

from project.cg.com_rdf import compute_com_rdf
from project.rdf import compute_rdf
from project.rdf_kernel import cell_pair_counts, cells_per_side, histogram_pairs, pair_counts, uses_cell_list

#: Number density of the LJ liquid the frames imitate (rho* = 0.8 at sigma = 0.34 nm), nm^-3.
RHO_NM3 = 0.8 / 0.34**3


def jittered_fcc(n_cells: int, box_nm: np.ndarray, n_frames: int, seed: int, jitter_nm: float = 0.06) -> np.ndarray:
    """Frames (n_frames, 4 n_cells^3, 3) in nm: an fcc lattice stretched to ``box_nm`` (nm), each site displaced by
    a Gaussian of ``jitter_nm`` (nm) per axis, so some particles lie outside the box; rounded to 0.001 nm as XTC."""
    basis = np.array([[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]])
    idx = np.arange(n_cells)
    cells = np.stack(np.meshgrid(idx, idx, idx, indexing="ij"), axis=-1).reshape(-1, 1, 3)
    sites = ((cells + basis).reshape(-1, 3) + 0.25) / n_cells * np.asarray(box_nm)
    rng = np.random.default_rng(seed)
    frames = sites + rng.normal(0.0, jitter_nm, size=(n_frames, *sites.shape))
    return np.round(frames, 3)


def test_cell_list_counts_equal_all_pairs_counts():
    """Pair counts (Angstrom, as project.rdf calls the kernels) in a box that is not cubic: 2048 particles, edges
    5.2 x 4.6 x 4.9 nm, r_max 1.2 nm, plus particles exactly on the faces 0 and L. Reference: all pairs; exact."""
    box_a = np.array([52.0, 46.0, 49.0], dtype=np.float32)
    frames = (jittered_fcc(8, box_a / 10.0, 3, seed=5) * 10.0).astype(np.float32)
    frames[:, :6] = [[0, 0, 0], box_a, [box_a[0], 10, 20], [0, 46.0, 1], [51.99, 0.01, 48.99], [26, 23, 0]]
    boxes = np.tile(box_a, (3, 1))
    edges = np.linspace(0.0, 12.0, 241)
    cells = np.array([cells_per_side(b, 12.0) for b in boxes])
    assert cells[0].tolist() == [8, 7, 8] and uses_cell_list(box_a, 12.0)
    by_cells = np.zeros((3, 240), dtype=np.int64)
    cell_pair_counts(frames, boxes, edges, by_cells, cells)
    by_pairs = np.zeros((3, 240), dtype=np.int64)
    pair_counts(frames, boxes, edges, by_pairs)
    assert by_pairs.sum() > 3 * 2048 * 50  # about 75 neighbours within 1.2 nm per particle
    assert np.array_equal(by_cells, by_pairs)
    assert np.array_equal(histogram_pairs(frames[1], box_a, edges), by_pairs[1])


def test_dilute_system_caps_cells_and_counts_equal_all_pairs():
    """1500 random particles in a 30 nm box with a 0.6 nm cut-off (Angstrom inside): at most one cell per
    particle (wider cells), the same counts as all pairs (reference; exact)."""
    rng = np.random.default_rng(2)
    box_a = np.full(3, 300.0, dtype=np.float32)
    frames = np.round(rng.uniform(0.0, 300.0, size=(2, 1500, 3)), 2).astype(np.float32)
    edges = np.linspace(0.0, 6.0, 61)
    assert cells_per_side(box_a, 6.0).tolist() == [99, 99, 99]
    capped = cells_per_side(box_a, 6.0, 1500)
    assert capped.tolist() == [11, 11, 11] and uses_cell_list(box_a, 6.0)
    by_pairs = np.zeros((2, 60), dtype=np.int64)
    pair_counts(frames, np.tile(box_a, (2, 1)), edges, by_pairs)
    assert by_pairs.sum() > 10
    for f in range(2):
        assert np.array_equal(histogram_pairs(frames[f], box_a, edges), by_pairs[f])


def test_cell_list_path_equals_mdanalysis(tmp_path):
    """compute_rdf of 2048 particles (LJ-like jittered fcc at 20.4 nm^-3, 4.68 nm box, 3.9 cut-offs: cell list)
    against the MDAnalysis path; tolerance 1e-6 absolute in g and in the block errors."""
    box = (2048 / RHO_NM3) ** (1 / 3)
    assert uses_cell_list(np.full(3, box * 10.0, dtype=np.float32), 12.0)
    top, traj = write_system(tmp_path, jittered_fcc(8, np.full(3, box), 4, seed=11), box)
    fast = compute_rdf(top, traj, n_blocks=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = compute_rdf(top, traj, n_blocks=2, method="mdanalysis")
    assert fast.n_atoms == 2048 and fast.n_frames == 4
    assert fast.first_peak_g > 1.3  # a structured liquid-like g (1.44 here), not an ideal gas
    assert np.max(np.abs(fast.g - ref.g)) <= 1e-6
    assert np.max(np.abs(fast.g_err - ref.g_err)) <= 1e-6


def test_small_box_uses_all_pairs_and_equals_mdanalysis(tmp_path):
    """A box under three cut-offs (2.9 nm, r_max 1.2 nm: all pairs), 500 particles; reference: the MDAnalysis
    path, 1e-6 absolute in g."""
    assert not uses_cell_list(np.full(3, 29.0, dtype=np.float32), 12.0)
    rng = np.random.default_rng(4)
    top, traj = write_system(tmp_path, np.round(rng.uniform(-0.2, 3.1, size=(3, 500, 3)), 3), 2.9)
    fast = compute_rdf(top, traj, n_blocks=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = compute_rdf(top, traj, n_blocks=1, method="mdanalysis")
    assert np.max(np.abs(fast.g - ref.g)) <= 1e-6


def test_triclinic_box_falls_back_to_mdanalysis_with_debug_reason(tmp_path, caplog):
    """A sheared box goes through MDAnalysis' grid search, logged at DEBUG; equal to method="mdanalysis" (1e-6)."""
    rng = np.random.default_rng(8)
    n, frames = 300, rng.uniform(0.0, 30.0, size=(2, 300, 3)).astype(np.float32)
    u = mda.Universe.empty(n, trajectory=True)
    u.add_TopologyAttr("names", ["LJ"] * n)
    from MDAnalysis.coordinates.memory import MemoryReader

    u.load_new(frames, format=MemoryReader, dimensions=np.tile([30.0, 30.0, 30.0, 90.0, 90.0, 70.0], (2, 1)))
    top, traj = tmp_path / "tri.pdb", tmp_path / "tri.xtc"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        u.atoms.write(str(top))
        with mda.Writer(str(traj), n) as w:
            for _ in u.trajectory:
                w.write(u.atoms)
    with caplog.at_level(logging.DEBUG, logger="project.rdf"):
        fast = compute_rdf(top, traj, r_max=1.0, n_blocks=1)
    assert "triclinic box" in caplog.text
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = compute_rdf(top, traj, r_max=1.0, n_blocks=1, method="mdanalysis")
    assert np.max(np.abs(fast.g - ref.g)) <= 1e-6


def write_diatomics(tmp_path, n_mol: int, box_nm: float, n_frames: int, seed: int):
    """PDB + XTC of ``n_mol`` rigid C-O molecules (bond 0.113 nm, one residue each) at random centres and
    orientations in a cubic box of ``box_nm`` (nm); masses guessed by MDAnalysis from the names (12.011, 15.999)."""
    from MDAnalysis.coordinates.memory import MemoryReader

    rng = np.random.default_rng(seed)
    centre = rng.uniform(0.0, box_nm * 10.0, size=(n_frames, n_mol, 1, 3))
    axis = rng.normal(size=(n_frames, n_mol, 1, 3))
    axis /= np.linalg.norm(axis, axis=-1, keepdims=True)
    pos = (centre + axis * np.array([-0.5, 0.5])[:, None] * 1.13).reshape(n_frames, 2 * n_mol, 3)
    u = mda.Universe.empty(2 * n_mol, n_residues=n_mol, atom_resindex=np.repeat(np.arange(n_mol), 2), trajectory=True)
    u.add_TopologyAttr("names", ["C", "O"] * n_mol)
    u.add_TopologyAttr("resnames", ["CO"] * n_mol)
    u.add_TopologyAttr("resids", np.arange(1, n_mol + 1))
    dims = np.tile([box_nm * 10.0] * 3 + [90.0] * 3, (n_frames, 1))
    u.load_new(pos.astype(np.float32), format=MemoryReader, dimensions=dims)
    top, traj = tmp_path / "co.pdb", tmp_path / "co.xtc"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        u.atoms.write(str(top))
        with mda.Writer(str(traj), 2 * n_mol) as w:
            for _ in u.trajectory:
                w.write(u.atoms)
    return top, traj


@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning")
def test_com_rdf_cell_list_equals_mdanalysis(tmp_path):
    """COM g(r) of 2000 CO molecules in a 4.8 nm box (r_max 1.2 nm: cell list) with the compiled kernel and with
    MDAnalysis' grid search (the COM path before the kernel); tolerance 1e-6 absolute in g and block errors."""
    top, traj = write_diatomics(tmp_path, 2000, 4.8, 4, seed=3)
    assert uses_cell_list(np.full(3, 48.0, dtype=np.float32), 12.0)
    fast = compute_com_rdf(top, traj, n_blocks=2)
    ref = compute_com_rdf(top, traj, n_blocks=2, method="mdanalysis")
    assert fast.n_atoms == 2000 and fast.n_frames == 4
    assert fast.density_nm3 == pytest.approx(2000 / 4.8**3, rel=1e-5)
    assert np.max(np.abs(fast.g - ref.g)) <= 1e-6
    assert np.max(np.abs(fast.g_err - ref.g_err)) <= 1e-6
