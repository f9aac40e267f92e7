"""Tests of the structural check (project.structure): Steinhardt q6 solid fraction, global Q6, cell dispersion.

Units: nm, K, kJ/mol, nm^-3; the order parameters and the dispersion are dimensionless. Reference values: a perfect
fcc lattice has Q6 = q6 = 0.5745 (Steinhardt, Nelson & Ronchetti 1983, Table I) and every particle solid-like;
uniform random (ideal-gas) positions have Poisson cell counts, var/mean = 1. The GROMACS tests run real short MD: an
fcc crystal at T* 0.5, rho* 1.0 (deep in the solid) must be flagged, the liquid at T* 1, rho* 0.8 must pass, and a
run quenched into the vapour-liquid dome (T* 0.8, rho* 0.3) must be found phase-separated.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from project import units
from project.engines import get_engine, make_protocol
from project.engines.base import write_pdb
from project.engines.gromacs import make_gro, make_top
from project.simulate import run_simulation
from project.structure import (
    BOND_RHO_FACTOR,
    CELL_DISPERSION_MAX,
    SOLID_FRACTION_MAX,
    cell_dispersion,
    check_structure,
    steinhardt_frame,
)

SIGMA, EPS, MASS = 0.34, 0.99, 39.948
#: Steinhardt, Nelson & Ronchetti (1983), Table I: Q6 of the perfect fcc lattice (12 nearest neighbours).
Q6_FCC = 0.5745


def fcc_lattice(cells: int, rho: float) -> tuple[np.ndarray, float]:
    """Perfect fcc positions (nm) of 4 cells^3 particles at number density rho (nm^-3), and the box edge (nm)."""
    n = 4 * cells**3
    box = (n / rho) ** (1.0 / 3.0)
    a = box / cells
    basis = np.array([[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]])
    grid = np.stack(np.meshgrid(*[np.arange(cells)] * 3, indexing="ij"), -1).reshape(-1, 3)
    pos = ((grid[:, None, :] + basis[None, :, :]).reshape(-1, 3) + 0.25) * a
    return pos, box


def sp_of(T_star: float, rho_star: float, N: int, t_equil: float, t_prod: float) -> dict:
    """Argon-like state point (T K, rho nm^-3) at reduced (T*, rho*); dt 0.004 tau, frames every 0.5 tau."""
    return {
        "sigma": SIGMA,
        "epsilon": EPS,
        "T": units.temperature_from_reduced(T_star, EPS),
        "rho": units.density_from_reduced(rho_star, SIGMA),
        "N": N,
        "mass": MASS,
        "cutoff": 3.0,
        "dt": 0.004,
        "t_equil": t_equil,
        "t_prod": t_prod,
        "t_sample": 0.5,
        "seed": 3,
        "replica": 0,
    }


def test_perfect_fcc_order():
    """Reference: Q6 and local q6 of perfect fcc = 0.5745 (12 neighbours within the bond cutoff), all solid-like."""
    rho = 1.0 / SIGMA**3
    pos, box = fcc_lattice(5, rho)
    solid, q6_global, q6_mean = steinhardt_frame(pos, box, BOND_RHO_FACTOR * rho ** (-1.0 / 3.0))
    assert solid == pytest.approx(1.0, abs=1e-12)
    assert q6_global == pytest.approx(Q6_FCC, abs=5e-4)
    assert q6_mean == pytest.approx(Q6_FCC, abs=5e-4)


def test_ideal_gas_no_order_poisson_cells():
    """Reference: uniform random positions (N = 4000 in 1000 or 216 cells): Poisson counts give var/mean = 1 within 4
    standard errors (sqrt(2 / (cells - 1))); no particle is solid-like, global Q6 < 0.05."""
    rng = np.random.default_rng(5)
    box = 5.0
    pos = rng.uniform(0.0, box, size=(4000, 3))
    assert cell_dispersion(pos, box, 10) == pytest.approx(1.0, abs=4 * math.sqrt(2 / 999))
    assert cell_dispersion(pos, box, 6) == pytest.approx(1.0, abs=4 * math.sqrt(2 / 215))
    solid, q6_global, _ = steinhardt_frame(pos, box, BOND_RHO_FACTOR * (4000 / box**3) ** (-1.0 / 3.0))
    assert solid < 0.01
    assert q6_global < 0.05


def test_fcc_crystal_gromacs_is_flagged(tmp_path: Path):
    """An fcc crystal (N = 864) run by GROMACS at T* 0.5, rho* 1.0 (solid: freezing density 0.78 there) for 10 tau:
    solid-like fraction > 0.95 (reference: perfect fcc 1), thermal Q6 within 0.07 of 0.5745, verdict crystallised."""
    sp = sp_of(0.5, 1.0, 864, t_equil=1.0, t_prod=10.0)
    p = make_protocol(sp)
    pos, box = fcc_lattice(6, p.rho)
    assert box == pytest.approx(p.box, rel=1e-9)
    gdir = tmp_path / "gromacs"
    gdir.mkdir()
    (gdir / "topol.top").write_text(make_top(p))
    (gdir / "start.gro").write_text(make_gro(pos, box))  # the engine starts from this instead of its own lattice
    get_engine("gromacs").run(p, tmp_path, threads=1)
    result = check_structure(tmp_path / "topology.pdb", tmp_path / "traj.xtc")
    assert result.verdict == "crystallised"
    assert result.solid_fraction > 0.95
    assert result.Q6 == pytest.approx(Q6_FCC, abs=0.07)
    assert result.reason.startswith("crystallised: solid-like fraction")
    assert result.n_frames == 20


def test_liquid_gromacs_passes(tmp_path: Path):
    """The LJ liquid at T* 1, rho* 0.8 (N = 500, 20 tau production): solid-like fraction < 0.01 (threshold
    SOLID_FRACTION_MAX 0.1), global Q6 < 0.06 (N = 500 noise ~0.03), cell dispersion 0.2 +- 0.1 (reference: dense
    N = 1,000 liquids measured 0.16-0.21; 27 cells of 18.5 particles here), far below the threshold 5."""
    run_simulation(sp_of(1.0, 0.8, 500, t_equil=10.0, t_prod=20.0), tmp_path, engine="gromacs", threads=1)
    result = check_structure(tmp_path / "topology.pdb", tmp_path / "traj.xtc")
    assert result.verdict == "liquid", result.reason
    assert result.is_liquid and result.reason == ""
    assert result.solid_fraction < 0.01 < SOLID_FRACTION_MAX
    assert result.Q6 < 0.06
    assert result.cell_dispersion == pytest.approx(0.2, abs=0.1)
    assert result.n_cells == 27
    assert result.bond_length_nm == pytest.approx(BOND_RHO_FACTOR * SIGMA * 0.8 ** (-1 / 3), rel=1e-3)


def test_two_phase_gromacs_is_flagged(tmp_path: Path):
    """A quench into the vapour-liquid dome (T* 0.8, rho* 0.3: saturated densities 0.006 and 0.80, Thol EOS) splits
    into droplets and vapour within 40 tau: cell dispersion over the last 10 tau > CELL_DISPERSION_MAX (5; a
    homogeneous fluid gives 0.2-0.4); not crystallised."""
    run_simulation(sp_of(0.8, 0.3, 1000, t_equil=10.0, t_prod=40.0), tmp_path, engine="gromacs", threads=1)
    result = check_structure(tmp_path / "topology.pdb", tmp_path / "traj.xtc")
    assert result.verdict == "phase-separated"
    assert result.cell_dispersion > 7.0 > CELL_DISPERSION_MAX  # measured 10.5
    assert result.n_cells == 64
    assert result.reason.startswith("phase-separated: cell-density dispersion")


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # MDAnalysis' reader __del__
def test_unreadable_trajectory_names_file(tmp_path: Path):
    """A missing trajectory: a ProjectError naming the file."""
    from project.errors import ProjectError

    pos, box = fcc_lattice(2, 20.0)
    write_pdb(tmp_path / "topology.pdb", pos, box)
    with pytest.raises(ProjectError, match="traj.xtc"):
        check_structure(tmp_path / "topology.pdb", tmp_path / "traj.xtc")
