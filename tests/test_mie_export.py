"""Export layout version 2: the lambda_r state-point column, and version 1 files migrated (lambda_r = 12)."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

from project.errors import ExportError
from project.export import SCHEMA_VERSION, STATEPOINT_COLUMNS, export_dataset, load_dataset, record_from_job_dir
from project.rdf import RDF_GRID_NM, RDFResult, save_rdf


def _record(root, i: int, lam: float | None):
    sp = {"sigma": 0.34, "epsilon": 0.99, "T": 119.0 + i, "rho": 20.0, "N": 1000}
    if lam is not None:
        sp["lambda_r"] = lam
    g = 1.0 + 0.3 * np.sin(RDF_GRID_NM * 20 + i)
    res = RDFResult(
        r_nm=RDF_GRID_NM.copy(),
        g=g,
        g_err=np.full_like(g, 0.01),
        bin_width_nm=0.005,
        r_max_nm=1.2,
        n_frames=10,
        n_atoms=1000,
        n_blocks=5,
        start_frame=0,
        mean_volume_nm3=50.0,
        density_nm3=20.0,
        first_peak_r_nm=0.37,
        first_peak_g=2.5,
        first_min_r_nm=0.5,
        first_min_g=0.7,
        coordination_number=12.0,
    )
    d = root / f"job{i}"
    save_rdf(res, d / "rdf.npz", fsync=False)
    (d / "simulate.json").write_text(json.dumps({"U_per_N_kJ_mol": -5.0, "P_bar": 100.0}))
    return record_from_job_dir(f"{i:032x}", sp, d)


def test_lambda_r_column_is_12_for_lj_and_the_exponent_for_mie(tmp_path):
    out = tmp_path / "x.h5"
    export_dataset([_record(tmp_path, 0, None), _record(tmp_path, 1, 20.0)], out)
    assert SCHEMA_VERSION == 2 and "lambda_r" in STATEPOINT_COLUMNS
    with h5py.File(out, "r") as f:
        assert f.attrs["schema_version"] == 2
        assert f["statepoints/lambda_r"].attrs["units"] == "1"
        np.testing.assert_array_equal(f["statepoints/lambda_r"][()], [12.0, 20.0])
    assert load_dataset(out).table["lambda_r"].tolist() == [12.0, 20.0]


def test_version_1_export_is_read_and_updated_with_lambda_r_12(tmp_path):
    """A version 1 file (no lambda_r column) loads with lambda_r = 12 and an incremental export over it keeps its
    rows (not re-read) and writes version 2."""
    out = tmp_path / "v1.h5"
    lj = [_record(tmp_path, i, None) for i in range(3)]
    export_dataset(lj, out)
    with h5py.File(out, "r+") as f:  # make it the version 1 layout
        f.attrs["schema_version"] = 1
        del f["statepoints/lambda_r"]
    ds = load_dataset(out)
    assert ds.attrs["schema_version"] == 1
    assert ds.table["lambda_r"].tolist() == [12.0, 12.0, 12.0]
    report = export_dataset([*lj, _record(tmp_path, 3, 8.0)], out)
    assert (report.n_jobs, report.n_reused, report.n_new) == (4, 3, 1)
    with h5py.File(out, "r") as f:
        assert f.attrs["schema_version"] == 2
        np.testing.assert_array_equal(f["statepoints/lambda_r"][()], [12.0, 12.0, 12.0, 8.0])


def test_newer_export_version_is_refused(tmp_path):
    out = tmp_path / "v3.h5"
    export_dataset([_record(tmp_path, 0, None)], out)
    with h5py.File(out, "r+") as f:
        f.attrs["schema_version"] = 3
    with pytest.raises(ExportError, match="schema_version 3"):
        load_dataset(out)


def test_shipped_mie_library_holds_only_the_mie_designs():
    """The Mie campaign's export, committed as it grows (docs/mie.md): its content checksum verifies on load, every
    job is a state of design ``mie`` (seed 24), ``mie_test`` (seed 25) or ``mie_edge`` (seed 26) with lambda_r in the
    designs' 8-32 and T* 0.7-3.0, rho* 0.3-0.95 (reference: project/data/designs/mie*.json), and no state is LJ
    (lambda_r 12)."""
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "project" / "data" / "reference" / "mie_library.h5"
    ds = load_dataset(path)  # verify=True: the checksum is recomputed
    tab = ds.table
    assert len(tab) >= 80
    assert set(tab["seed"].unique()) <= {24, 25, 26}
    assert tab["lambda_r"].between(8.0, 32.0).all() and not (tab["lambda_r"] == 12.0).any()
    assert tab["T_star"].between(0.69, 3.01).all() and tab["rho_star"].between(0.29, 0.96).all()
