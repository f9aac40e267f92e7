"""Shared test fixtures. Reference data comes from ../shared/reference beside the repository."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_REFERENCE = REPO.parent / "shared" / "reference"

# flow assumes SLURM whenever sbatch exists; the tests that want SLURM start it and set this themselves.
os.environ.setdefault("SIGNAC_FLOW_ENVIRONMENT", "StandardEnvironment")


@pytest.fixture(scope="session")
def shared_reference() -> Path:
    """Folder of the shared reference data (NIST LJ tables, molecule models)."""
    assert SHARED_REFERENCE.is_dir(), f"reference data missing: {SHARED_REFERENCE}"
    return SHARED_REFERENCE


@pytest.fixture()
def argon_like() -> dict:
    """A liquid state point: sigma 0.34 nm, epsilon 0.99 kJ/mol, T* = 1.0, rho* = 0.8."""
    sigma, eps = 0.34, 0.99
    return {"sigma": sigma, "epsilon": eps, "T": 1.0 * eps / 0.0083144626, "rho": 0.8 / sigma**3}
