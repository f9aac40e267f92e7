"""Tests of project.export: full and incremental export, reader, bad input, nothing already exported lost."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import h5py
import numpy as np
import pytest

import project.export as export_mod
from project.errors import ExportError
from project.export import (
    SCHEMA_VERSION,
    ExportRecord,
    content_checksum,
    export_dataset,
    load_dataset,
    open_export,
    record_from_job_dir,
)
from project.rdf import RDF_GRID_NM, RDF_N_BINS, RDFResult, save_rdf
from project.units import KB, reduced_pressure


def statepoint(i: int) -> dict:
    return {
        "sigma": 0.3 + 0.001 * (i % 100),
        "epsilon": 1.0 + 0.01 * (i % 7),
        "T": 100.0 + i % 50,
        "rho": 30.0,
        "N": 1000,
        "mass": 39.948,
        "cutoff": 3.0,
        "dt": 0.002,
        "t_equil": 100.0,
        "t_prod": 500.0,
        "t_sample": 1.0,
        "seed": i,
        "replica": i % 3,
    }


def fake_result(i: int, n_bins: int = RDF_N_BINS) -> RDFResult:
    r = (np.arange(n_bins) + 0.5) * 0.005
    g = 1.0 + 0.5 * np.sin(r * 20 + i) * np.exp(-r)
    return RDFResult(
        r_nm=r,
        g=g,
        g_err=np.full(n_bins, 0.01 + 1e-5 * i),
        bin_width_nm=0.005,
        r_max_nm=n_bins * 0.005,
        n_frames=100,
        n_atoms=1000,
        n_blocks=5,
        start_frame=0,
        mean_volume_nm3=33.3,
        density_nm3=30.0,
        first_peak_r_nm=0.35,
        first_peak_g=2.5,
        first_min_r_nm=0.5,
        first_min_g=0.6,
        coordination_number=12.0 + i,
    )


def make_job(root: Path, i: int, summary: bool = True) -> ExportRecord:
    job_dir = root / f"job{i:05d}"
    save_rdf(fake_result(i), job_dir / "rdf.npz", fsync=False)
    if summary:
        (job_dir / "simulate.json").write_text(json.dumps({"U_per_N_kJ_mol": -5.0 - i, "P_bar": 100.0 + i}))
    return record_from_job_dir(f"{i:032x}", statepoint(i), job_dir)


@pytest.fixture
def jobs(tmp_path):
    return [make_job(tmp_path / "ws", i) for i in range(20)]


def test_full_export_and_reader(tmp_path, jobs):
    out = tmp_path / "export" / "rdf.h5"
    report = export_dataset(reversed(jobs), out, code_version="abc123-dirty")
    assert report.n_jobs == 20 and report.n_new == 20 and report.written and not report.skipped
    ds = load_dataset(out)
    assert list(ds.job_ids) == sorted(r.job_id for r in jobs)
    assert ds.g.shape == (20, 240) and ds.g.dtype == np.float32 and np.allclose(ds.r_nm, RDF_GRID_NM)
    i = ds.row(f"{7:032x}")
    assert np.allclose(ds.g[i], fake_result(7).g, atol=1e-6)
    row = ds.table.loc[f"{7:032x}"]
    sp = statepoint(7)
    assert row["sigma"] == pytest.approx(sp["sigma"]) and row["N"] == 1000 and row["seed"] == 7
    assert row["T_star"] == pytest.approx(KB * sp["T"] / sp["epsilon"])
    assert row["rho_star"] == pytest.approx(sp["rho"] * sp["sigma"] ** 3)
    assert row["coordination_number"] == pytest.approx(19.0)
    assert row["U_per_N_kJ_mol"] == pytest.approx(-12.0) and row["P_bar"] == pytest.approx(107.0)
    assert row["P_star"] == pytest.approx(reduced_pressure(107.0, sp["sigma"], sp["epsilon"]))
    assert ds.units["sigma"] == "nm" and ds.units["P_bar"] == "bar" and ds.table.attrs["units"]["T"] == "K"
    assert ds.attrs["schema_version"] == SCHEMA_VERSION and ds.attrs["code_version"] == "abc123-dirty"
    assert ds.attrs["n_jobs"] == 20 and ds.attrs["content_checksum"] == report.content_checksum
    with pytest.raises(KeyError):
        ds.row("nope")


def test_plain_h5py_can_read_and_verify(tmp_path, jobs):
    out = tmp_path / "rdf.h5"
    export_dataset(jobs, out)
    with h5py.File(out, "r") as f:
        assert f.attrs["schema_version"] == 2
        assert f["rdf/r"].attrs["units"] == "nm" and f["statepoints/rho"].attrs["units"] == "nm^-3"
        ids = f["job_id"][()]
        g, g_err = f["rdf/g"][()], f["rdf/g_err"][()]
        assert ids.dtype.kind == "S" and f["rdf/g"].shape == (20, 240)
        # checksum recipe of schema/export.md, with plain hashlib
        import hashlib

        h = hashlib.sha256(b"".join(j + b"\n" for j in ids))
        h.update(g.astype("<f4").tobytes())
        h.update(g_err.astype("<f4").tobytes())
        assert h.hexdigest() == f.attrs["content_checksum"]
    with open_export(out) as f:
        assert f.attrs["n_jobs"] == 20


def test_incremental_reads_only_new_and_changed(tmp_path, jobs, monkeypatch):
    out = tmp_path / "rdf.h5"
    export_dataset(jobs[:15], out)
    before = load_dataset(out)
    calls = []
    real = export_mod.load_rdf
    monkeypatch.setattr(export_mod, "load_rdf", lambda p, **kw: calls.append(Path(p)) or real(p, **kw))
    report = export_dataset(jobs, out)
    assert (report.n_new, report.n_reused, report.n_updated, report.n_jobs) == (5, 15, 0, 20)
    assert len(calls) == 5
    after = load_dataset(out)
    for job_id in before.job_ids:
        assert np.array_equal(after.g[after.row(job_id)], before.g[before.row(job_id)])
    # nothing changed: the file is not rewritten
    mtime = out.stat().st_mtime_ns
    calls.clear()
    report = export_dataset(jobs, out)
    assert not report.written and report.n_reused == 20 and calls == [] and out.stat().st_mtime_ns == mtime
    # a recomputed RDF is picked up
    res = fake_result(3)
    res.g = res.g * 2
    save_rdf(res, Path(jobs[3].rdf_path))
    os.utime(jobs[3].rdf_path, ns=(1, 1))  # a different mtime even on coarse-clock file systems
    report = export_dataset(jobs, out)
    assert report.n_updated == 1 and report.n_reused == 19 and len(calls) == 1
    ds = load_dataset(out)
    assert np.allclose(ds.g[ds.row(jobs[3].job_id)], res.g, atol=1e-5)


def test_jobs_not_passed_are_kept_unless_pruned(tmp_path, jobs):
    out = tmp_path / "rdf.h5"
    export_dataset(jobs, out)
    report = export_dataset(jobs[:5], out)
    assert report.n_kept_absent == 15 and report.n_jobs == 20 and not report.written
    report = export_dataset(jobs[:5], out, prune=True)
    assert report.n_pruned == 15 and report.n_jobs == 5 and len(load_dataset(out).job_ids) == 5


def test_bad_records_are_skipped_with_reasons(tmp_path, jobs):
    root = tmp_path / "bad"
    missing = ExportRecord("missing", statepoint(1), root / "a" / "rdf.npz")
    short_path = root / "b" / "rdf.npz"
    save_rdf(fake_result(1, n_bins=200), short_path)
    short = ExportRecord("short", statepoint(1), short_path)
    corrupt_path = root / "c" / "rdf.npz"
    corrupt_path.parent.mkdir(parents=True)
    corrupt_path.write_bytes(b"PK\x03\x04 not really a zip")
    corrupt = ExportRecord("corrupt", statepoint(1), corrupt_path)
    no_sigma = ExportRecord("nosigma", {k: v for k, v in statepoint(1).items() if k != "sigma"}, jobs[0].rdf_path)
    nan_path = root / "d" / "rdf.npz"
    nan_res = fake_result(2)
    nan_res.g[10] = np.nan
    save_rdf(nan_res, nan_path)
    nan = ExportRecord("nan", statepoint(2), nan_path)
    out = tmp_path / "rdf.h5"
    report = export_dataset([*jobs, missing, short, corrupt, no_sigma, nan, jobs[0]], out)
    reasons = dict(report.skipped)
    assert report.n_jobs == 20
    assert "does not exist" in reasons["missing"]
    assert "200 bins, expected 240" in reasons["short"]
    assert "corrupt" in reasons["corrupt"]
    assert "sigma" in reasons["nosigma"]
    assert "non-finite" in reasons["nan"]
    assert "duplicate" in reasons[jobs[0].job_id]
    assert len(load_dataset(out).job_ids) == 20


def test_missing_thermo_is_nan(tmp_path):
    rec = make_job(tmp_path, 1, summary=False)
    rec2 = ExportRecord("withdict", statepoint(2), rec.rdf_path, {"U_per_N_kJ_mol": -6.0, "P_bar": 5.0})
    out = tmp_path / "rdf.h5"
    export_dataset([rec, rec2], out)
    table = load_dataset(out).table
    assert np.isnan(table.loc[rec.job_id, "U_per_N_kJ_mol"]) and np.isnan(table.loc[rec.job_id, "P_star"])
    assert table.loc["withdict", "U_per_N_kJ_mol"] == -6.0


def test_rdf_gone_bad_keeps_previous_row(tmp_path, jobs):
    out = tmp_path / "rdf.h5"
    export_dataset(jobs, out)
    before = load_dataset(out)
    Path(jobs[4].rdf_path).write_bytes(b"garbage")
    report = export_dataset(jobs, out)
    assert [j for j, _ in report.stale] == [jobs[4].job_id] and report.n_jobs == 20
    after = load_dataset(out)
    assert np.array_equal(after.g, before.g)


@pytest.mark.parametrize("damage", ["garbage", "truncated", "checksum"])
def test_corrupt_existing_export_is_rebuilt_and_kept(tmp_path, jobs, damage, caplog):
    out = tmp_path / "rdf.h5"
    export_dataset(jobs[:10], out)
    if damage == "garbage":
        out.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\x00" * 100)
    elif damage == "truncated":
        out.write_bytes(out.read_bytes()[:4096])
    else:
        with h5py.File(out, "r+") as f:
            f["rdf/g"][0, 0] = 42.0
    damaged = out.read_bytes()
    with pytest.raises(ExportError):
        load_dataset(out)
    with pytest.raises(ExportError):
        export_dataset(jobs, out, on_corrupt="raise")
    assert out.read_bytes() == damaged  # untouched
    with caplog.at_level(logging.WARNING, logger="project.export"):
        report = export_dataset(jobs, out)
    assert report.rebuilt and report.n_jobs == 20 and report.n_new == 20
    assert "rebuilding" in caplog.text
    assert (tmp_path / "rdf.h5.corrupt").read_bytes() == damaged
    assert len(load_dataset(out).job_ids) == 20


def test_other_schema_version_is_never_overwritten(tmp_path, jobs):
    out = tmp_path / "rdf.h5"
    export_dataset(jobs, out)
    with h5py.File(out, "r+") as f:
        f.attrs["schema_version"] = 3
    content = out.read_bytes()
    with pytest.raises(ExportError, match="schema_version 3"):
        export_dataset(jobs, out)
    with pytest.raises(ExportError, match="schema_version"):
        load_dataset(out)
    assert out.read_bytes() == content


def test_reader_errors(tmp_path):
    with pytest.raises(ExportError, match="does not exist"):
        load_dataset(tmp_path / "none.h5")
    bad = tmp_path / "bad.h5"
    bad.write_text("not hdf5")
    with pytest.raises(ExportError, match="not a readable HDF5"):
        open_export(bad)


def test_failed_write_leaves_old_export(tmp_path, jobs, monkeypatch):
    out = tmp_path / "rdf.h5"
    export_dataset(jobs[:10], out)
    content = out.read_bytes()

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(h5py.Group, "create_group", boom)
    with pytest.raises(OSError, match="disk full"):
        export_dataset(jobs, out)
    assert out.read_bytes() == content
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rdf.h5", "ws"]  # no temp file left
    monkeypatch.undo()
    assert export_dataset(jobs, out).n_jobs == 20


def test_empty_export(tmp_path):
    out = tmp_path / "rdf.h5"
    report = export_dataset([], out)
    assert report.n_jobs == 0
    ds = load_dataset(out)
    assert ds.g.shape == (0, 240) and len(ds.table) == 0


def test_content_checksum_is_order_independent():
    ids = np.array(["b", "a"])
    g = np.arange(4, dtype=np.float32).reshape(2, 2)
    assert content_checksum(ids, g, g) == content_checksum(ids[::-1], g[::-1], g[::-1])
    assert content_checksum(ids, g, g) != content_checksum(ids, g[::-1], g)


def test_concat_datasets_joins_selected_rows_sorted():
    """Rows of the shipped reference and hot libraries joined: sorted by job id, arrays and table rows kept
    together, the joined checksum is :func:`content_checksum` of the rows; a job in two parts or another r grid is
    refused by name (reference: the exports' own rows)."""
    from dataclasses import replace

    from project.export import concat_datasets

    ref = Path(__file__).resolve().parents[1] / "project" / "data" / "reference"
    a, b = load_dataset(ref / "lj_library.h5"), load_dataset(ref / "lj_library_hot.h5")
    ma = np.arange(len(a.job_ids)) % 3 == 0
    out = concat_datasets([(a, ma), (b, np.ones(len(b.job_ids), bool))])
    assert len(out.job_ids) == ma.sum() + len(b.job_ids) and list(out.job_ids) == sorted(out.job_ids)
    assert list(out.table.index) == list(out.job_ids)
    j = b.job_ids[5]
    np.testing.assert_array_equal(out.g[out.row(j)], b.g[5])
    assert out.table.loc[j, "T_star"] == b.table.loc[j, "T_star"]
    assert out.attrs["content_checksum"] == content_checksum(out.job_ids, out.g, out.g_err)
    assert out.attrs["parts"] == [a.attrs["content_checksum"], b.attrs["content_checksum"]]
    with pytest.raises(ExportError, match="more than one export"):
        concat_datasets([(a, ma), (a, ma)])
    with pytest.raises(ExportError, match="different r grids"):
        concat_datasets([(a, ma), (replace(b, r_nm=b.r_nm * 1.01), np.ones(len(b.job_ids), bool))])
