"""State of the dashboard (:mod:`project.dashboard`) without a browser: filters, selection, CSV, messages."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]
if str(REPO / "benchmarks") not in sys.path:
    sys.path.insert(0, str(REPO / "benchmarks"))

from bench_dashboard import make_catalogue, make_export  # noqa: E402

from project.dashboard import (  # noqa: E402
    MAX_OVERLAY,
    Dashboard,
    csv_column_name,
    load_export,
)

N_JOBS = 40


@pytest.fixture(scope="module")
def space(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A synthetic data space of 40 jobs: (export, catalogue with a train and a cg_fit run)."""
    work = tmp_path_factory.mktemp("dash_space")
    export = make_export(work, N_JOBS)
    return export, make_catalogue(export, work)


@pytest.fixture()
def dash(space: tuple[Path, Path]) -> Dashboard:
    return Dashboard(*space)


def test_loads_export_and_counts(dash: Dashboard) -> None:
    assert dash.n_jobs == N_JOBS
    assert dash.export_message == "" and dash.catalogue_message == ""
    assert dash.count_text() == f"Jobs matching filters: {N_JOBS} of {N_JOBS}"


def test_range_filters_combine(dash: Dashboard) -> None:
    tab = dash.dataset.table
    lo, hi = tab["T_star"].quantile([0.25, 0.75])
    dash.T_star_range = (lo, hi)
    expected = (tab["T_star"] >= lo) & (tab["T_star"] <= hi)
    assert dash.filtered_mask().sum() == expected.sum()
    rlo = tab["rho_star"].median()
    dash.rho_star_range = (rlo, tab["rho_star"].max())
    expected &= tab["rho_star"] >= rlo
    assert list(dash.filtered_table().index) == list(tab.index[expected.to_numpy()])
    assert dash.count_text() == f"Jobs matching filters: {int(expected.sum())} of {N_JOBS}"
    dash.T_star_range = (100.0, 200.0)  # nothing
    assert dash.count_text() == f"Jobs matching filters: 0 of {N_JOBS}"
    assert dash.selection_csv().splitlines()[1:] == []


def test_selection_csv_names_units(dash: Dashboard) -> None:
    tab = dash.dataset.table
    dash.sigma_range = (tab["sigma"].min(), tab["sigma"].median())
    csv = dash.selection_csv()
    df = pd.read_csv(io.StringIO(csv))
    assert list(df.columns[:8]) == ["job_id", "sigma_nm", "epsilon_kJ_mol", "T_K", "rho_nm-3", "T_star", "rho_star",
                                    "N"]
    assert "first_peak_r_nm" in df.columns and "U_per_N_kJ_mol" in df.columns
    sub = dash.filtered_table()
    assert list(df["job_id"]) == list(sub.index)
    np.testing.assert_allclose(df["sigma_nm"], sub["sigma"], rtol=1e-7)
    np.testing.assert_allclose(df["rho_nm-3"], sub["rho"], rtol=1e-7)


def test_csv_column_name() -> None:
    assert csv_column_name("sigma", "nm") == "sigma_nm"
    assert csv_column_name("first_peak_r_nm", "nm") == "first_peak_r_nm"
    assert csv_column_name("T_star", "1") == "T_star"
    assert csv_column_name("P_bar", "bar") == "P_bar"


def test_select_jobs_and_rdf_curves(dash: Dashboard) -> None:
    ids = list(dash.dataset.job_ids[:3])
    assert dash.select(ids) == ids
    assert dash.message == ""
    curves = dash.rdf_curves()
    assert [c["job_id"] for c in curves] == ids
    row = dash.dataset.row(ids[1])
    np.testing.assert_allclose(curves[1]["r"], dash.dataset.r_nm)
    np.testing.assert_allclose(curves[1]["hi"] - curves[1]["g"], dash.dataset.g_err[row], rtol=1e-6)
    assert all(f"`{j}`" in dash.selection_text() for j in ids)
    # unknown id -> message, known ones kept; appending keeps order and caps the overlay
    dash.select(["nope"], append=True)
    assert dash.selected == ids and "Unknown job id(s): nope" in dash.message
    dash.select(list(dash.dataset.job_ids[3:3 + MAX_OVERLAY]), append=True)
    assert len(dash.selected) == MAX_OVERLAY and dash.selected[-1] == dash.dataset.job_ids[2 + MAX_OVERLAY]
    assert "dropped" in dash.message
    rdfs = pd.read_csv(io.StringIO(dash.selected_rdfs_csv()))
    assert rdfs.columns[0] == "r_nm" and len(rdfs.columns) == 1 + 2 * MAX_OVERLAY
    dash.select([])
    assert dash.selected == [] and dash.rdf_curves() == []


def test_view_widgets_follow_state(dash: Dashboard) -> None:
    """The Bokeh models and text panes follow the state (no server needed)."""
    dash.view()
    ui = dash._ui
    tab = dash.dataset.table
    dash.T_star_range = (tab["T_star"].min(), tab["T_star"].median())
    n = int(dash.filtered_mask().sum())
    assert ui["count"].object == f"Jobs matching filters: {n} of {N_JOBS}"
    assert len(ui["view"].filter.indices) == n and len(ui["table"].value) == n
    job = str(dash.dataset.job_ids[4])
    ui["job_input"].value = job
    assert dash.selected == [job] and job in ui["selection"].object
    assert list(ui["src"].selected.indices) == [4]
    assert len(ui["rdf_src"].data["xs"]) == 1
    ui["src"].selected.indices = [7]  # a tap on the map
    assert dash.selected == [str(dash.dataset.job_ids[7])]
    dash.x_axis = "sigma"
    np.testing.assert_allclose(ui["src"].data["x"], tab["sigma"])


def test_predictions_and_cg(dash: Dashboard) -> None:
    pred, text = dash.predictions()
    assert pred is not None and len(pred) == N_JOBS
    assert text.startswith("Predictions of run 1 (train") and "MAPE sigma" in text
    assert {"err_sigma_pct", "err_epsilon_pct"} <= set(pred.columns)
    dash.split = "test"
    pred, _ = dash.predictions()
    assert set(pred["split"]) <= {"test"}
    df, text = dash.cg_curves()
    assert list(df.columns) == ["r_nm", "g_aa", "g_cg"] and "CG fit run 2" in text
    runs = dash.runs_table()
    assert set(runs["kind"]) == {"train", "cg_fit"}


def test_missing_export_and_catalogue_give_messages(tmp_path: Path) -> None:
    dash = Dashboard(tmp_path / "none.h5", tmp_path / "none.sqlite")
    assert "No export found" in dash.export_message
    assert "No results catalogue" in dash.catalogue_message
    assert not (tmp_path / "none.sqlite").exists()  # the dashboard never creates a catalogue
    assert dash.count_text() == "Jobs matching filters: 0 of 0"
    assert dash.predictions()[0] is None and "No results catalogue" in dash.predictions()[1]
    assert dash.cg_curves()[0] is None
    dash.select(["abc"])
    assert dash.selected == [] and "Unknown job id" in dash.message
    assert dash.selection_csv().startswith("job_id")
    dash.view()  # builds without raising


def test_corrupt_export_message(tmp_path: Path) -> None:
    bad = tmp_path / "dataset.h5"
    bad.write_bytes(b"not hdf5")
    dash = Dashboard(bad, tmp_path / "cat.sqlite")
    assert "cannot be read" in dash.export_message


def test_catalogue_without_predictions(space: tuple[Path, Path], tmp_path: Path) -> None:
    from project.catalogue import Catalogue

    cat = Catalogue(tmp_path / "catalogue.sqlite")
    cat.record("train", None, {}, {"x": 1.0}, {"predictions": str(tmp_path / "gone.csv")})
    dash = Dashboard(space[0], cat.path)
    pred, text = dash.predictions()
    assert pred is None and "is missing" in text
    assert "No coarse-graining fit" in dash.cg_curves()[1]


def test_export_cache_is_shared(space: tuple[Path, Path]) -> None:
    export = space[0]
    assert load_export(export) is load_export(export)


def test_empty_export_message(tmp_path: Path) -> None:
    from project.export import export_dataset

    export_dataset([], tmp_path / "dataset.h5")
    dash = Dashboard(tmp_path / "dataset.h5", tmp_path / "catalogue.sqlite")
    assert "contains no jobs" in dash.export_message
    assert dash.count_text() == "Jobs matching filters: 0 of 0"


def test_predictions_follow_filters(dash: Dashboard) -> None:
    tab = dash.dataset.table
    dash.T_star_range = (tab["T_star"].min(), tab["T_star"].median())
    dash.predictions_filtered = True
    pred, text = dash.predictions()
    assert set(pred["job_id"]) == set(dash.filtered_table().index)
    assert "matching the filters" in text


def test_export_cache_refreshes_when_file_changes(space: tuple[Path, Path], tmp_path: Path) -> None:
    import os
    import shutil

    copy = tmp_path / "dataset.h5"
    shutil.copy(space[0], copy)
    first = load_export(copy)
    st = copy.stat()
    os.utime(copy, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert load_export(copy) is not first


def test_dashboard_subcommand_parses() -> None:
    import argparse

    from project.dashboard_cli import cmd_dashboard, register_dashboard

    parser = argparse.ArgumentParser()
    register_dashboard(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["dashboard", "--dataspace", "/tmp/x", "--port", "0"])
    assert args.func is cmd_dashboard and args.port == 0 and args.address == "127.0.0.1"
