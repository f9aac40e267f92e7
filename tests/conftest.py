"""Shared test fixtures. Reference data (NIST LJ tables, molecule models) ship in tests/data/reference."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
REFERENCE = Path(__file__).resolve().parent / "data" / "reference"

# flow assumes SLURM whenever sbatch exists; the tests that want SLURM start it and set this themselves.
os.environ.setdefault("SIGNAC_FLOW_ENVIRONMENT", "StandardEnvironment")

#: What a test needs beyond Python packages, by module or fixture (markers declared in pyproject.toml).
#: `make test-fast` deselects these and `slow`/`install`; `make test` (CI) runs and skips nothing.
_GROMACS_MODULES = {"test_workflow"}
_GROMACS_FIXTURES = {"gmx_dense", "tiny_co", "lj_runs", "ran"}
_OPENMM_FIXTURES = {"omm_dense", "openmm_mie"}
_LAMMPS_FIXTURES = {"mie_runs", "lj_pair"}
_SLURM_MODULES = {"test_slurm_integration"}
_BROWSER_MODULES = {"test_dashboard_browser"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark tests that need GROMACS (``gromacs``), OpenMM MD runs (``openmm``), LAMMPS (``lammps``), a SLURM
    controller (``slurm``) or a browser (``browser``)."""
    for item in items:
        module = item.module.__name__.rsplit(".", 1)[-1] if item.module else ""
        fixtures = set(getattr(item, "fixturenames", ()))
        name = item.name.lower()
        if module in _GROMACS_MODULES or fixtures & _GROMACS_FIXTURES or "gromacs" in name or "grompp" in name:
            item.add_marker(pytest.mark.gromacs)
        if fixtures & _OPENMM_FIXTURES or name.startswith("test_openmm"):
            item.add_marker(pytest.mark.openmm)
        if fixtures & _LAMMPS_FIXTURES or name.startswith("test_lammps"):
            item.add_marker(pytest.mark.lammps)
        if module in _SLURM_MODULES:
            item.add_marker(pytest.mark.slurm)
        if module in _BROWSER_MODULES:
            item.add_marker(pytest.mark.browser)


@pytest.fixture()
def argon_like() -> dict:
    """A liquid state point: sigma 0.34 nm, epsilon 0.99 kJ/mol, T* = 1.0, rho* = 0.8."""
    sigma, eps = 0.34, 0.99
    return {"sigma": sigma, "epsilon": eps, "T": 1.0 * eps / 0.0083144626, "rho": 0.8 / sigma**3}
