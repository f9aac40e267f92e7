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

from bench_dashboard import CG_METHODS, CG_SYSTEMS, make_catalogue, make_export  # noqa: E402

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
    assert list(df.columns[:8]) == [
        "job_id",
        "sigma_nm",
        "epsilon_kJ_mol",
        "T_K",
        "rho_nm-3",
        "T_star",
        "rho_star",
        "N",
    ]
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
    dash.select(list(dash.dataset.job_ids[3 : 3 + MAX_OVERLAY]), append=True)
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
    np.testing.assert_allclose(ui["sel_src"].data["x"], [tab["T_star"].iloc[4]], rtol=1e-12)
    assert len(ui["rdf_src"].data["xs"]) == 1
    ui["src"].selected.indices = [7]  # a tap on the map
    assert dash.selected == [str(dash.dataset.job_ids[7])]
    dash.x_axis = "sigma"
    np.testing.assert_allclose(ui["src"].data["x"], tab["sigma"])
    np.testing.assert_allclose(ui["sel_src"].data["x"], [tab["sigma"].iloc[7]], rtol=1e-12)


def test_predictions_and_cg(dash: Dashboard) -> None:
    pred, text = dash.predictions()
    assert pred is not None and len(pred) == N_JOBS
    assert text.startswith("Predictions of run 1 (train") and "MAPE sigma" in text
    # relative error definition: 100 (nn - true) / true, checked on one row by hand
    row = pred.iloc[3]
    assert row["err_sigma_pct"] == pytest.approx(100 * (row["nn_sigma"] - row["sigma"]) / row["sigma"], rel=1e-12)
    dash.split = "test"
    pred, _ = dash.predictions()
    assert set(pred["split"]) <= {"test"}
    overlays, images, text = dash.cg_curves()
    assert [o.label for o in overlays] == list(CG_SYSTEMS) and images == {}
    assert "AA vs CG RDF of CG fit run 2" in text
    ethane = overlays[0]
    assert list(ethane.cg) == list(CG_METHODS)
    # write_cg_rdfs: AA = export row 0, CG of method m = AA * (1 + 0.03 (m + 1) sin(20 r))
    np.testing.assert_allclose(ethane.g_aa, dash.dataset.g[0], rtol=1e-6)
    np.testing.assert_allclose(ethane.g_aa_err, dash.dataset.g_err[0], rtol=1e-6)
    r, g = ethane.cg["oneshot"]
    np.testing.assert_allclose(g, dash.dataset.g[0] * (1 + 0.06 * np.sin(20 * r)), rtol=1e-5, atol=1e-7)
    runs = dash.runs_table()
    assert set(runs["kind"]) == {"train", "cg_fit"}


def _cg_catalogue(folder: Path, artefacts: dict) -> Path:
    from project.catalogue import Catalogue

    cat = Catalogue(folder / "catalogue.sqlite")
    cat.record("cg_fit", None, {"methods": ["ibi"]}, {"methanol__ibi__kl_divergence": 0.004}, artefacts)
    return cat.path


def test_cg_overlay_from_csv_and_view(space: tuple[Path, Path], tmp_path: Path) -> None:
    """The ``rdf_csv__<label>`` convention: r_nm, g_aa, g_aa_err, g_cg__<method> columns."""
    r = np.linspace(0.3, 1.5, 50)
    g_aa = 1 + 0.5 * np.exp(-(r - 0.4)) * np.cos(12 * r)
    table = pd.DataFrame(
        {"r_nm": r, "g_aa": g_aa, "g_aa_err": np.full(50, 0.02), "g_cg__ibi": g_aa + 0.01, "g_cg__oneshot": g_aa - 0.03}
    )
    csv = tmp_path / "methanol_rdf.csv"
    table.to_csv(csv, index=False)
    dash = Dashboard(space[0], _cg_catalogue(tmp_path, {"rdf_csv__methanol": str(csv)}))
    overlays, images, text = dash.cg_curves()
    assert len(overlays) == 1 and overlays[0].label == "methanol" and images == {}
    assert list(overlays[0].cg) == ["ibi", "oneshot"]
    np.testing.assert_allclose(overlays[0].cg["oneshot"][1], g_aa - 0.03, rtol=1e-12)
    assert "methanol" in text and "kl_divergence=0.004" in text
    dash.view()
    dash._ui["tabs"].active = 2  # builds the runs tab
    ui = dash._ui
    assert ui["cg_src"].data["method"] == ["ibi", "oneshot"]
    np.testing.assert_allclose(ui["cg_aa_src"].data["hi"] - ui["cg_aa_src"].data["g"], 0.02, rtol=1e-12)
    assert "oneshot" in ui["cg_curves_text"].object


def test_cg_png_fallback_and_missing_files(space: tuple[Path, Path], tmp_path: Path) -> None:
    """A record as project.cg.compare writes it (PNG plots, no arrays) shows the images; missing files are named."""
    png = tmp_path / "rdf_ethanol.png"
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.figure(figsize=(2, 2))
    plt.savefig(png)
    plt.close("all")
    artefacts = {
        "csv": str(tmp_path / "comparison.csv"),
        "plot_ethanol": str(png),
        "pareto_ethanol": str(png),
        "rdf_aa__water": str(tmp_path / "gone.npz"),
        "rdf_cg__water__ibi": str(tmp_path / "gone2.npz"),
    }
    dash = Dashboard(space[0], _cg_catalogue(tmp_path, artefacts))
    overlays, images, text = dash.cg_curves()
    pareto = "ethanol: D-KL plane, Pareto front of single-bead LJ models"
    assert overlays == [] and images == {"ethanol": str(png), pareto: str(png)}
    assert "its RDF plots are shown" in text and "gone.npz` is missing" in text
    dash.view()
    dash._ui["tabs"].active = 2
    assert len(dash._ui["cg_images"].objects) == 2 and not dash._ui["cg_plot"].visible


def test_cg_record_without_rdfs(space: tuple[Path, Path], tmp_path: Path) -> None:
    dash = Dashboard(space[0], _cg_catalogue(tmp_path, {"markdown": str(tmp_path / "comparison.md")}))
    overlays, images, text = dash.cg_curves()
    assert overlays == [] and images == {} and "records no AA vs CG RDFs" in text


def test_missing_export_and_catalogue_give_messages(tmp_path: Path) -> None:
    dash = Dashboard(tmp_path / "none.h5", tmp_path / "none.sqlite")
    assert "No export found" in dash.export_message
    assert "No results catalogue" in dash.catalogue_message
    assert not (tmp_path / "none.sqlite").exists()  # the dashboard never creates a catalogue
    assert dash.count_text() == "Jobs matching filters: 0 of 0"
    assert dash.predictions()[0] is None and "No results catalogue" in dash.predictions()[1]
    overlays, images, _text = dash.cg_curves()
    # the shipped CG results (docs/results/cg: 6 molecules, an RDF and a Pareto plot each), no catalogue needed
    assert overlays == [] and len(images) == 12 and {"CH4", "CO", "F2", "N2", "O2", "CO2"} <= set(images)
    dash.select(["abc"])
    assert dash.selected == [] and "Unknown job id" in dash.message
    assert dash.selection_csv().startswith("job_id")
    dash.view()  # builds without raising


def test_corrupt_export_message(tmp_path: Path) -> None:
    bad = tmp_path / "dataset.h5"
    bad.write_bytes(b"not hdf5")
    dash = Dashboard(bad, tmp_path / "cat.sqlite")
    assert "cannot be read" in dash.export_message


def test_corrupt_catalogue_message(space: tuple[Path, Path], tmp_path: Path) -> None:
    bad = tmp_path / "catalogue.sqlite"
    bad.write_bytes(b"this is not an SQLite database" * 100)
    dash = Dashboard(space[0], bad)
    assert "cannot be read" in dash.catalogue_message and dash.n_jobs == N_JOBS
    # no training run readable: the shipped model's predictions of the export, and the catalogue's problem
    pred, text = dash.predictions()
    assert dash.prediction_run == 0 and "shipped model" in text and "cannot be read" in text
    dash.view()
    dash._ui["tabs"].active = 1
    dash._ui["tabs"].active = 2  # both tabs build, showing the message


def test_catalogue_without_predictions(space: tuple[Path, Path], tmp_path: Path) -> None:
    from project.catalogue import Catalogue

    cat = Catalogue(tmp_path / "catalogue.sqlite")
    cat.record("train", None, {}, {"x": 1.0}, {"predictions": str(tmp_path / "gone.csv")})
    dash = Dashboard(space[0], cat.path)
    pred, text = dash.predictions()
    assert pred is None and "is missing" in text
    assert "Shipped coarse-graining results" in dash.cg_curves()[2]  # no cg_fit run of its own
    dash.cg_run = 5
    assert "No coarse-graining fit" in dash.cg_curves()[2]


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

    from project.cli.dashboard import cmd_dashboard, register_dashboard

    parser = argparse.ArgumentParser()
    register_dashboard(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["dashboard", "--dataspace", "/tmp/x", "--port", "0"])
    assert args.func is cmd_dashboard and args.port == 0 and args.address == "127.0.0.1"


def test_cg_run_switch_updates_overlay(space: tuple[Path, Path], tmp_path: Path) -> None:
    """Two cg_fit records: the newest is shown first; choosing the other one redraws its RDFs."""
    from project.catalogue import Catalogue

    r = np.linspace(0.3, 1.5, 30)
    cat = Catalogue(tmp_path / "catalogue.sqlite")
    for k, label in ((1, "argon"), (2, "krypton")):
        path = tmp_path / f"{label}.csv"
        pd.DataFrame({"r_nm": r, "g_aa": np.full(30, float(k)), "g_cg": np.full(30, k + 0.1)}).to_csv(path, index=False)
        cat.record("cg_fit", None, {}, {}, {f"rdf_csv__{label}": str(path)})
    dash = Dashboard(space[0], cat.path)
    assert dash.cg_run == 2
    dash.view()
    dash._ui["tabs"].active = 2
    ui = dash._ui
    assert ui["cg_system"].value == "krypton"
    np.testing.assert_allclose(ui["cg_aa_src"].data["g"], 2.0)
    np.testing.assert_allclose(ui["cg_src"].data["ys"][0], 2.1)
    dash.cg_run = 1
    assert ui["cg_system"].value == "argon" and "CG fit run 1" in ui["cg_text"].object
    np.testing.assert_allclose(ui["cg_aa_src"].data["g"], 1.0)


def test_catalogue_is_read_only(space: tuple[Path, Path]) -> None:
    """The dashboard opens the catalogue read-only: the files are byte-for-byte the same afterwards."""
    import hashlib

    from project.dashboard import clear_caches

    def snapshot() -> dict[str, str]:
        folder = space[1].parent
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob(space[1].name + "*"))}

    before = snapshot()
    clear_caches()
    dash = Dashboard(*space)
    assert len(dash.runs()) == 2 and dash.catalogue_message == ""
    dash.view()
    assert snapshot() == before


# ------------------------------------------------------------------------ job ids, shipped model, shipped CG
SHIPPED_DATA = REPO / "project" / "data" / "reference" / "lj_library.h5"
SHIPPED_EVAL = REPO / "project" / "data" / "models" / "lj_inverse_v4" / "evaluation" / "metrics.json"


def test_typed_job_ids_and_unique_prefixes_select(dash: Dashboard) -> None:
    ids = sorted(str(j) for j in dash.dataset.job_ids)
    full = ids[5]
    prefix = next(full[:n] for n in range(1, 33) if sum(j.startswith(full[:n]) for j in ids) == 1)
    assert dash.resolve_job_id(prefix) == (full, 1)
    assert dash.select([prefix]) == [full] and dash.message == ""
    shared = next(ids[i][:1] for i in range(len(ids)) if sum(j.startswith(ids[i][:1]) for j in ids) > 1)
    n_shared = sum(j.startswith(shared) for j in ids)
    assert dash.resolve_job_id(shared) == (None, n_shared)
    assert dash.select([shared, "zz-no-job"]) == []
    assert f"Ambiguous job id prefix(es), type more characters: {shared} ({n_shared} jobs)" in dash.message
    assert "Unknown job id(s): zz-no-job" in dash.message


def test_job_input_box_selects_by_prefix(dash: Dashboard) -> None:
    """The text box of the state tab (outside a server session the selection applies at once)."""
    dash.view()
    full = str(dash.dataset.job_ids[2])
    dash._ui["job_input"].value = full[:12]
    assert dash.selected == [full]
    assert full in dash._ui["selection"].object and len(dash._ui["rdf_src"].data["xs"]) == 1


def test_shipped_model_predictions_without_any_run(tmp_path: Path) -> None:
    """No catalogue: the predictions are the shipped model's, computed on the export and cached; on the shipped
    export they reproduce the model's recorded test-split errors."""
    import json

    from project.dashboard import SHIPPED_RUN, shipped_predictions

    dash = Dashboard(SHIPPED_DATA, tmp_path / "absent.sqlite")
    assert dash.catalogue_message and dash.prediction_run == SHIPPED_RUN
    pred, text = dash.predictions()
    assert len(pred) == 400 and "Predictions of the shipped model `lj_inverse_v4`" in text
    assert shipped_predictions(SHIPPED_DATA) is shipped_predictions(SHIPPED_DATA)  # cached
    recorded = json.loads(SHIPPED_EVAL.read_text())["test"]["nn"]
    dash.split = "test"
    pred, text = dash.predictions()
    assert len(pred) == recorded["n"] == 54
    assert float(np.mean(np.abs(pred["err_sigma_pct"]))) == pytest.approx(recorded["sigma_mape_pct"], rel=1e-3)
    assert float(np.mean(np.abs(pred["err_epsilon_pct"]))) == pytest.approx(recorded["epsilon_mape_pct"], rel=1e-3)
    assert f"MAPE sigma {recorded['sigma_mape_pct']:.2f} %" in text
    view = dash.view()
    dash._ui["tabs"].active = 1
    assert "shipped model" in dash._ui["pred_text"].object
    assert len(dash._ui["pred_srcs"]["parity_sigma_test"].data["x"]) == 54
    assert view is not None
    assert not (tmp_path / "absent.sqlite").exists()


def test_shipped_predictions_of_jobs_the_model_never_saw(space: tuple[Path, Path]) -> None:
    from project.dashboard import SHIPPED_RUN

    dash = Dashboard(*space, prediction_run=SHIPPED_RUN)
    pred, text = dash.predictions()
    # the synthetic RDFs end near r = 1.2 nm (x = r rho^(1/3) must reach 1.75): the dense jobs are readable,
    # the dilute ones are reported, not raised
    r_max = float(dash.dataset.r_nm.max())
    n_short = int(np.sum(r_max < 1.75 / np.cbrt(dash.dataset.table["rho"].to_numpy(float))))
    assert 0 < n_short < N_JOBS
    assert len(pred) == N_JOBS - n_short and set(pred["split"]) == {"new"}
    assert f"{n_short} jobs not predicted (their r range is too short for the model)" in text
    assert np.isfinite(pred["nn_sigma"]).all() and (pred["nn_sigma"] > 0).all()


def test_shipped_cg_results_when_the_space_has_none(tmp_path: Path, space: tuple[Path, Path]) -> None:
    """A catalogue without cg_fit runs (or none at all): the Runs tab shows docs/results/cg."""
    from project.catalogue import Catalogue
    from project.dashboard import SHIPPED_RUN

    cat = Catalogue(tmp_path / "catalogue.sqlite")
    cat.record("train", None, {}, {"test.nn.sigma_mape_pct": 0.1}, {})
    for catalogue in (cat.path, tmp_path / "absent.sqlite"):
        dash = Dashboard(space[0], catalogue)
        assert dash.cg_run == SHIPPED_RUN
        overlays, images, text = dash.cg_curves()
        molecules = ["CH4", "CO", "CO2", "F2", "N2", "O2"]
        pareto = [f"{m}: D-KL plane, Pareto front of single-bead LJ models" for m in molecules]
        assert overlays == [] and sorted(images) == sorted(molecules + pareto)
        assert all(Path(p).is_file() for p in images.values())
        # docs/results/cg/comparison.md: the CH4 table's network row (sigma 0.3645 nm, epsilon 0.9083 kJ/mol)
        assert "Shipped coarse-graining results" in text and "**CH4**\n\n| row | sigma |" in text
        assert "| network | 0.3645 | 0.9083 |" in text
        # docs/results/cg/regret.csv (`lj-inverse cg regret`): O2's D-refined bead, regret 1.000 [0.976, 1.025]
        assert "**Regret against the simulated optimum**" in text
        assert "| O2 | refined_D | one-shot | 1.000 [0.976, 1.025] |" in text
        dash.view()
        dash._ui["tabs"].active = 2
        assert len(dash._ui["cg_images"].objects) == 12
    assert not (tmp_path / "absent.sqlite").exists()


def test_one_valued_axes_give_valid_sliders(tmp_path: Path) -> None:
    """An export where sigma and epsilon take one value (like `make demo`): no slider with start == end
    (Bokeh E-1021); those sliders are disabled and filter nothing."""
    import json

    from bench_export import make_jobs
    from bokeh.core.validation.check import check_integrity

    from project.export import export_dataset, record_from_job_dir

    make_jobs(tmp_path, 0, 6, seed=3)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    records = [
        record_from_job_dir(j, {**sp, "sigma": 0.34, "epsilon": 0.99}, tmp_path / "workspace" / j)
        for j, sp in manifest.items()
    ]
    export = export_dataset(records, tmp_path / "export" / "dataset.h5").path
    dash = Dashboard(export, tmp_path / "absent.sqlite")
    assert dash.bounds("sigma") == (0.34, 0.34)
    dash.view()
    sliders = {s.name: s for s in dash._ui["sliders"]}
    one = [s for s in sliders.values() if s.disabled]
    assert len(one) == 2
    for s in one:
        assert s.start < s.value[0] == s.value[1] < s.end
    models = [s.get_root() for s in dash._ui["sliders"]]
    issues = check_integrity(models)
    assert not [e for e in issues.error if e.code == 1021], issues
    assert dash.count_text() == "Jobs matching filters: 6 of 6"
