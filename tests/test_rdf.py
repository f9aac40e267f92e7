"""Tests of project.rdf: ideal gas, a simple cubic lattice worked out by hand, file I/O and bad input."""

from __future__ import annotations

import warnings
from pathlib import Path

import MDAnalysis as mda  # noqa: E402
import numpy as np
import pytest

from project.errors import RDFError
from project.rdf import (
    RDF_EDGES_NM,
    RDF_GRID_NM,
    RDF_N_BINS,
    RDFResult,
    box_half_width_nm,
    compute_rdf,
    derived_quantities,
    load_rdf,
    save_rdf,
)


def write_system(tmp_path: Path, frames_nm: np.ndarray, box_nm: float, name: str = "sys") -> tuple[Path, Path]:
    """Write frames (n_frames, N, 3) in nm in a cubic box of side box_nm (nm) as PDB + XTC; return paths."""
    from MDAnalysis.coordinates.memory import MemoryReader

    frames_a = np.asarray(frames_nm, dtype=np.float32) * 10.0
    n_frames, n_atoms, _ = frames_a.shape
    u = mda.Universe.empty(n_atoms, trajectory=True)
    u.add_TopologyAttr("names", ["LJ"] * n_atoms)
    u.add_TopologyAttr("types", ["LJ"] * n_atoms)
    u.add_TopologyAttr("resnames", ["LJ"])
    u.add_TopologyAttr("masses", np.full(n_atoms, 39.948))
    dims = np.array([box_nm * 10.0] * 3 + [90.0] * 3, dtype=np.float32)
    u.load_new(frames_a, format=MemoryReader, dimensions=np.tile(dims, (n_frames, 1)))
    top, traj = tmp_path / f"{name}.pdb", tmp_path / f"{name}.xtc"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        u.atoms.write(str(top))
        with mda.Writer(str(traj), n_atoms) as w:
            for _ in u.trajectory:
                w.write(u.atoms)
    return top, traj


def lattice(n_side: int, a_nm: float) -> np.ndarray:
    """Simple cubic lattice positions in nm, shape (n_side**3, 3)."""
    idx = np.arange(n_side)
    grid = np.stack(np.meshgrid(idx, idx, idx, indexing="ij"), axis=-1).reshape(-1, 3)
    return grid * a_nm


def shell_volume(k: int, edges: np.ndarray) -> float:
    return 4.0 / 3.0 * np.pi * (edges[k + 1] ** 3 - edges[k] ** 3)


def test_export_grid_is_as_documented():
    assert RDF_N_BINS == 240
    assert len(RDF_EDGES_NM) == 241 and RDF_EDGES_NM[0] == 0.0 and RDF_EDGES_NM[-1] == pytest.approx(1.2)
    assert np.allclose(np.diff(RDF_EDGES_NM), 0.005)
    assert RDF_GRID_NM[0] == pytest.approx(0.0025) and RDF_GRID_NM[-1] == pytest.approx(1.1975)
    # smallest box of the design (N = 1000, rho* = 0.95, sigma = 0.25 nm) is wider than 2 r_max
    assert (1000 / (0.95 / 0.25**3)) ** (1 / 3) / 2 > 1.2


def test_ideal_gas_is_one_within_counting_noise(tmp_path):
    rng = np.random.default_rng(1)
    n_atoms, n_frames, box = 500, 20, 3.0
    frames = rng.uniform(0.0, box, size=(n_frames, n_atoms, 3))
    top, traj = write_system(tmp_path, frames, box)
    res = compute_rdf(top, traj, n_blocks=5)
    assert res.g.shape == (240,) and np.allclose(res.r_nm, RDF_GRID_NM)
    assert res.n_frames == n_frames and res.n_atoms == n_atoms
    assert res.density_nm3 == pytest.approx(n_atoms / box**3, rel=1e-5)
    volume = box**3
    shell = 4.0 / 3.0 * np.pi * np.diff(RDF_EDGES_NM**3)
    expected_pairs = n_frames * n_atoms * (n_atoms - 1) / 2 * shell / volume
    # pair counts of uniform points: Poisson variance, inflated by 1 + 2 (N - 2) V_k / V for shared particles
    sd = np.sqrt((1 + 2 * (n_atoms - 2) * shell / volume) / expected_pairs)
    ok = expected_pairs > 100
    assert ok.sum() > 150
    z = (res.g[ok] - 1.0) / sd[ok]
    assert np.all(np.abs(z) < 5.0)
    assert abs(np.mean(res.g[ok]) - 1.0) < 5.0 * np.sqrt(np.mean(sd[ok] ** 2) / ok.sum())
    # block errors have the size of the counting noise
    ratio = np.median(res.g_err[ok] / sd[ok])
    assert 0.3 < ratio < 3.0


def test_simple_cubic_lattice_by_hand(tmp_path):
    a, n_side = 0.302, 6  # shells 0.302, 0.4271, 0.5231, 0.604, 0.6753 nm: all well inside 0.005 nm bins
    n_atoms, box = n_side**3, n_side * a
    frames = np.stack([lattice(n_side, a)] * 2)
    top, traj = write_system(tmp_path, frames, box)
    res = compute_rdf(top, traj, r_max=0.7, bin_width=0.005, n_blocks=2)
    edges = np.linspace(0.0, 0.7, 141)
    volume = box**3
    expected = np.zeros(140)
    for mult, dist in ((6, a), (12, a * 2**0.5), (8, a * 3**0.5), (6, 2 * a), (24, a * 5**0.5)):
        k = int(dist // 0.005)
        # N * mult / 2 pairs per frame: g_k = 2 C_k V / (N (N - 1) V_k) = mult V / ((N - 1) V_k)
        expected[k] = mult * volume / ((n_atoms - 1) * shell_volume(k, edges))
    assert np.allclose(res.g, expected, rtol=1e-5, atol=1e-9)
    assert np.allclose(res.g_err, 0.0, atol=1e-9)  # identical frames: no spread
    assert res.first_peak_r_nm == pytest.approx(0.3025)
    assert res.first_peak_g == pytest.approx(expected[60], rel=1e-5)
    assert 0.3025 < res.first_min_r_nm < a * 2**0.5
    assert res.coordination_number == pytest.approx(6.0, rel=1e-6)


def test_derived_quantities_on_analytic_curve():
    r = RDF_GRID_NM
    sigma = 0.34
    g = 1 + 1.8 * np.exp(-((r - 1.1 * sigma) ** 2) / 0.0008) - 0.4 * np.exp(-((r - 1.6 * sigma) ** 2) / 0.002)
    g[r < 0.9 * sigma] = 0.0
    out = derived_quantities(r, g, density_nm3=0.8 / sigma**3, n_atoms=1000)
    assert out["first_peak_r_nm"] == pytest.approx(1.1 * sigma, abs=0.005)
    assert out["first_min_r_nm"] == pytest.approx(1.6 * sigma, abs=0.01)
    assert 8 < out["coordination_number"] < 16
    # monotone decay after the peak (dilute gas): no minimum
    gas = np.where(r < 0.3, 0.0, 1 + np.exp(-(r - 0.3) / 0.05))
    out = derived_quantities(r, gas, density_nm3=1.0, n_atoms=1000)
    assert np.isnan(out["first_min_r_nm"]) and np.isnan(out["coordination_number"])


def test_box_too_small_raises_with_sizes(tmp_path):
    frames = lattice(4, 0.3)[None]  # box 1.2 nm, half-width 0.6 nm < 1.2 nm
    top, traj = write_system(tmp_path, frames, 1.2)
    with pytest.raises(RDFError, match=r"half-width 0\.6000 nm.*at least 2\.4000 nm"):
        compute_rdf(top, traj, n_blocks=1)
    # a caller-specified shorter r_max works
    res = compute_rdf(top, traj, r_max=0.5, n_blocks=1)
    assert len(res.g) == 100 and np.all(np.isnan(res.g_err))


def test_box_half_width_triclinic():
    assert box_half_width_nm(np.array([30.0, 40.0, 50.0, 90, 90, 90])) == pytest.approx(1.5)
    # a sheared box is narrower than its edge lengths
    assert box_half_width_nm(np.array([30.0, 30.0, 30.0, 60, 60, 60])) < 1.5


def test_missing_trajectory_names_file(tmp_path):
    top, _ = write_system(tmp_path, lattice(4, 0.3)[None], 1.2)
    missing = tmp_path / "nope" / "traj.xtc"
    with pytest.raises(RDFError, match="traj.xtc"):
        compute_rdf(top, missing)
    with pytest.raises(RDFError, match="topology.pdb"):
        compute_rdf(tmp_path / "topology.pdb", missing)


# MDAnalysis' XTCReader.__del__ fails on a reader that never opened: harmless, reported by pytest
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_corrupt_trajectory_raises(tmp_path):
    top, traj = write_system(tmp_path, lattice(4, 0.3)[None], 1.2)
    traj.write_bytes(b"this is not an xtc file" * 10)
    with pytest.raises(RDFError, match="sys.xtc"):
        compute_rdf(top, traj, r_max=0.5, n_blocks=1)


def test_too_few_frames_for_blocks(tmp_path):
    top, traj = write_system(tmp_path, lattice(4, 0.3)[None], 1.2)
    with pytest.raises(RDFError, match="n_blocks"):
        compute_rdf(top, traj, r_max=0.5, n_blocks=5)


def test_bad_grid_raises(tmp_path):
    top, traj = write_system(tmp_path, lattice(4, 0.3)[None], 1.2)
    with pytest.raises(RDFError, match="integer multiple"):
        compute_rdf(top, traj, r_max=0.5, bin_width=0.003, n_blocks=1)


def make_result(n_bins: int = RDF_N_BINS) -> RDFResult:
    r = (np.arange(n_bins) + 0.5) * 0.005
    return RDFResult(
        r_nm=r,
        g=np.ones(n_bins),
        g_err=np.full(n_bins, 0.01),
        bin_width_nm=0.005,
        r_max_nm=n_bins * 0.005,
        n_frames=10,
        n_atoms=1000,
        n_blocks=5,
        start_frame=0,
        mean_volume_nm3=50.0,
        density_nm3=20.0,
        first_peak_r_nm=0.38,
        first_peak_g=2.9,
        first_min_r_nm=0.54,
        first_min_g=0.6,
        coordination_number=12.3,
    )


def test_save_load_roundtrip_is_atomic(tmp_path):
    path = tmp_path / "job" / "rdf.npz"
    save_rdf(make_result(), path)
    assert [p.name for p in path.parent.iterdir()] == ["rdf.npz"]  # no temp file left behind
    back = load_rdf(path, expect_r_nm=RDF_GRID_NM)
    assert np.allclose(back.g, 1.0) and back.n_atoms == 1000 and back.coordination_number == pytest.approx(12.3)
    with np.load(path) as raw:
        assert set(raw.files) == {"r_nm", "g", "g_err", "scalars"}
        assert raw["scalars"]["coordination_number"] == pytest.approx(12.3)
        assert raw["scalars"]["n_atoms"] == 1000


def test_load_rdf_reads_one_array_per_scalar(tmp_path):
    path = tmp_path / "old.npz"
    np.savez(path, r_nm=RDF_GRID_NM, g=np.ones(240), g_err=np.zeros(240), first_peak_r_nm=np.float64(0.4))
    back = load_rdf(path)
    assert back.first_peak_r_nm == pytest.approx(0.4) and np.isnan(back.coordination_number)


def test_load_rdf_bad_files(tmp_path):
    with pytest.raises(RDFError, match="does not exist"):
        load_rdf(tmp_path / "missing.npz")
    bad = tmp_path / "corrupt.npz"
    bad.write_bytes(b"\x00garbage" * 100)
    with pytest.raises(RDFError, match="corrupt"):
        load_rdf(bad)
    good = tmp_path / "good.npz"
    save_rdf(make_result(), good)
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good.read_bytes()[:700])
    with pytest.raises(RDFError, match="truncated.npz"):
        load_rdf(truncated)
    short = tmp_path / "short.npz"
    save_rdf(make_result(200), short)
    with pytest.raises(RDFError, match="200 bins, expected 240"):
        load_rdf(short, expect_r_nm=RDF_GRID_NM)
    lopsided = tmp_path / "lopsided.npz"
    np.savez(lopsided, r_nm=RDF_GRID_NM, g=np.ones(240), g_err=np.ones(239))
    with pytest.raises(RDFError, match="equal length"):
        load_rdf(lopsided)
    nog = tmp_path / "nog.npz"
    np.savez(nog, r_nm=RDF_GRID_NM)
    with pytest.raises(RDFError, match="lacks"):
        load_rdf(nog)


@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::PendingDeprecationWarning")
def test_analysis_class_used_directly_with_frame_selection(tmp_path):
    from project.rdf import analysis_class

    rng = np.random.default_rng(3)
    frames = rng.uniform(0.0, 2.0, size=(6, 200, 3))
    frames[0] = lattice(6, 0.302)[:200]  # a first frame that differs from the rest, dropped with start=1
    top, traj = write_system(tmp_path, frames, 2.0)
    u = mda.Universe(str(top), str(traj))
    rdf = analysis_class()(u.atoms, np.linspace(0.0, 0.9, 181), n_blocks=5).run(start=1)
    assert rdf.results.g_frames.shape == (5, 180) and rdf.results.g.shape == (180,)
    res = compute_rdf(top, traj, r_max=0.9, n_blocks=5, start=1)
    assert res.n_frames == 5 and res.start_frame == 1
    assert np.allclose(res.g, rdf.results.g) and np.allclose(res.g_err, rdf.results.g_err)


def test_compiled_path_equals_mdanalysis_path(tmp_path):
    """The compiled pair histogram (default) against the MDAnalysis reference path on a dense random fluid-like
    system: 400 particles in a 3.0 nm box, positions stored at the XTC precision (0.001 nm, so many pair distances
    sit exactly on the 0.005 nm bin edges) and some outside the box (the wrap must match MDAnalysis'). Reference:
    ``compute_rdf(..., method="mdanalysis")``; tolerance 1e-6 absolute in g and in the block errors."""
    rng = np.random.default_rng(7)
    frames = rng.uniform(-0.3, 3.3, size=(12, 400, 3))  # about 20 % of the coordinates outside [0, 3) nm
    top, traj = write_system(tmp_path, frames, 3.0)
    fast = compute_rdf(top, traj, n_blocks=4, start=1, step=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = compute_rdf(top, traj, n_blocks=4, start=1, step=1, method="mdanalysis")
    assert fast.n_frames == ref.n_frames == 11
    assert np.max(np.abs(fast.g - ref.g)) <= 1e-6
    assert np.max(np.abs(fast.g_err - ref.g_err)) <= 1e-6
    assert fast.density_nm3 == pytest.approx(ref.density_nm3, rel=1e-12)
    assert fast.coordination_number == pytest.approx(ref.coordination_number, rel=1e-9, nan_ok=True)


def test_truncated_or_short_trajectory_fails_with_reason(tmp_path):
    rng = np.random.default_rng(2)
    top, traj = write_system(tmp_path, rng.uniform(0.0, 2.5, size=(8, 100, 3)), 2.5)
    with pytest.raises(RDFError, match="has 8 frames, expected 11"):
        compute_rdf(top, traj, r_max=1.0, n_blocks=2, expect_frames=11)
    cut = tmp_path / "cut.xtc"
    cut.write_bytes(traj.read_bytes()[: traj.stat().st_size * 5 // 8 + 17])  # ends inside a frame
    with pytest.raises(RDFError, match=r"cut\.xtc"):
        compute_rdf(top, cut, r_max=1.0, n_blocks=2, expect_frames=8)
