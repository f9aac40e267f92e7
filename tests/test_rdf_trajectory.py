"""Tests of project.trajectory: the one rule for opening a trajectory and checking the g(r) grid and frames."""

from __future__ import annotations

import numpy as np
import pytest
from test_rdf import lattice, write_system

from project.errors import RDFError
from project.trajectory import open_trajectory, open_universe, rdf_edges, select_frames


def test_rdf_edges_grid_and_bad_values():
    edges = rdf_edges(1.2, 0.005)
    assert len(edges) == 241 and edges[-1] == pytest.approx(1.2, abs=1e-12)
    assert np.allclose(np.diff(edges), 0.005, rtol=0.0, atol=1e-12)
    with pytest.raises(RDFError, match=r"r_max: got 0\.5 nm; allowed: a positive integer multiple of bin_width"):
        rdf_edges(0.5, 0.003)
    with pytest.raises(RDFError, match=r"bin_width: got -0\.01 nm; allowed: a positive"):
        rdf_edges(1.0, -0.01)
    with pytest.raises(RDFError, match="r_max: got 0.0 nm"):
        rdf_edges(0.0, 0.005)


def test_open_trajectory_selects_frames(tmp_path):
    rng = np.random.default_rng(0)
    top, traj = write_system(tmp_path, rng.uniform(0.0, 2.0, size=(9, 50, 3)), 2.0)
    opened = open_trajectory(top, traj, 0.9, 0.01, n_blocks=2, start=1, step=2, expect_frames=9)
    assert list(opened.frames) == [1, 3, 5, 7] and opened.source == str(traj)
    assert len(opened.universe.atoms) == 50 and len(opened.edges_nm) == 91
    alone = open_trajectory(top, None, 0.9, 0.01, n_blocks=1)  # the topology's coordinates alone: one frame
    assert list(alone.frames) == [0] and alone.source == str(top)


# MDAnalysis' XTCReader.__del__ fails on a reader that never opened: harmless, reported by pytest
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_open_trajectory_bad_input_names_field_and_value(tmp_path):
    top, traj = write_system(tmp_path, lattice(3, 0.3)[None].repeat(4, axis=0), 0.9)
    with pytest.raises(RDFError, match="n_blocks: got 0; allowed: >= 1"):
        open_trajectory(top, traj, 0.4, 0.01, n_blocks=0)
    with pytest.raises(RDFError, match="start: got -1; allowed"):
        open_trajectory(top, traj, 0.4, 0.01, n_blocks=1, start=-1)
    with pytest.raises(RDFError, match="trajectory file .*nope.xtc' does not exist"):
        open_trajectory(top, tmp_path / "nope.xtc", 0.4, 0.01, n_blocks=1)
    with pytest.raises(RDFError, match="has 4 frames, expected 5"):
        open_trajectory(top, traj, 0.4, 0.01, n_blocks=1, expect_frames=5)
    with pytest.raises(RDFError, match=r"no frames selected \(trajectory has 4, start=4"):
        open_trajectory(top, traj, 0.4, 0.01, n_blocks=1, start=4)
    with pytest.raises(RDFError, match="2 frame.s. selected but n_blocks = 3"):
        select_frames(open_universe(top, traj), str(traj), 3, start=2)
    bad = tmp_path / "bad.xtc"
    bad.write_bytes(b"not an xtc file" * 20)
    with pytest.raises(RDFError, match="MDAnalysis cannot read them"):
        open_universe(top, bad)
