"""End-to-end tests of the dashboard in headless Chromium (Playwright), served by ``panel serve`` on 127.0.0.1.

Chromium is Debian's ``/usr/bin/chromium`` (``$CHROMIUM`` overrides it). These tests do not skip when it is
missing: they fail and say so (CI installs chromium).
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from project.rdf import RDF_N_BINS

REPO = Path(__file__).resolve().parents[1]
if str(REPO / "benchmarks") not in sys.path:
    sys.path.insert(0, str(REPO / "benchmarks"))

from bench_dashboard import (  # noqa: E402
    CG_METHODS,
    COUNT_RE,
    count_text,
    dashboard_server,
    drag_slider_handle,
    launch_chromium,
    make_catalogue,
    make_export,
    source_lengths,
    wait_count,
    wait_source_length,
)

N_JOBS = 60
TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def browser() -> Iterator:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the Python package playwright is not installed (pip install playwright)")
    with sync_playwright() as pw:
        try:
            b = launch_chromium(pw)
        except Exception as exc:  # noqa: BLE001 - turn any launch failure into a clear test failure
            pytest.fail(f"cannot start headless Chromium: {exc}")
        yield b
        b.close()


@pytest.fixture(scope="module")
def served_space(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(export, catalogue) of a synthetic data space of N_JOBS jobs."""
    work = tmp_path_factory.mktemp("dash_browser")
    export = make_export(work, N_JOBS)
    return export, make_catalogue(export, work)


#: Lines of a server log that mean something went wrong: Bokeh validation errors such as E-1021, and Panel's
#: advice to load an extension (``pn.extension('tabulator')``: a table built after the page stays blank).
LOG_PROBLEMS = re.compile(r"Traceback|ERROR|E-\d{4}|_pending_writes|Exception|pn\.extension\(")


def assert_clean_log(path: Path) -> None:
    """The ``panel serve`` log holds no traceback, error or Bokeh validation error."""
    text = path.read_text(errors="replace")
    bad = [line for line in text.splitlines() if LOG_PROBLEMS.search(line)]
    assert not bad, "server log:\n" + text[-4000:]


@pytest.fixture(scope="module")
def server_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("dash_log") / "server.log"


@pytest.fixture(scope="module")
def served(served_space: tuple[Path, Path], server_log: Path) -> Iterator[str]:
    with dashboard_server(*served_space, log_path=server_log) as url:
        yield url


def _page(browser, errors: list[str]):  # noqa: ANN001, ANN202
    page = browser.new_page(viewport={"width": 1400, "height": 1100}, accept_downloads=True)
    page.set_default_timeout(TIMEOUT_MS)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return page


def test_filter_select_rdf_predictions_runs(
    browser,
    served: str,
    server_log: Path,
    served_space: tuple[Path, Path],  # noqa: ANN001
    tmp_path: Path,
) -> None:
    errors: list[str] = []
    page = _page(browser, errors)
    page.goto(served)
    wait_count(page, rf"Jobs matching filters: {N_JOBS} of {N_JOBS}")
    assert page.locator("canvas").count() > 0

    # filter: move the lower T* handle to the middle of its track
    drag_slider_handle(page, "T*", 0.5)
    page.get_by_text(re.compile(rf"Jobs matching filters: (?!{N_JOBS} of)\d+ of {N_JOBS}")).first.wait_for()
    n = int(COUNT_RE.search(count_text(page)).group(1))
    assert 0 < n < N_JOBS

    # select a job: click the first row of the jobs table
    row = page.locator(".tabulator-row").first
    job_id = row.locator(".tabulator-cell[tabulator-field='job_id']").inner_text().strip()
    assert re.fullmatch(r"[0-9a-f]{32}", job_id), job_id
    row.click()
    selection = page.get_by_text("Selected jobs (1):").first
    selection.wait_for()
    page.get_by_text(job_id).first.wait_for()
    # its RDF reached the browser: one curve of len(r) points in the plot's data source
    wait_source_length(page, "rdf_source", "xs", 1)
    n_bins = page.evaluate("""() => { for (const d of Bokeh.documents) { const m = d.get_model_by_name('rdf_source');
                                      if (m) return m.data.ys[0].length; } return -1; }""")
    assert n_bins == RDF_N_BINS
    page.screenshot(path=str(tmp_path / "state_space.png"), full_page=True)

    # download the filtered jobs as CSV
    with page.expect_download() as dl:
        page.get_by_role("button", name="Download filtered jobs (CSV)").click()
    csv_path = tmp_path / "selection.csv"
    dl.value.save_as(csv_path)
    df = pd.read_csv(csv_path)
    assert list(df.columns[:5]) == ["job_id", "sigma_nm", "epsilon_kJ_mol", "T_K", "rho_nm-3"]
    assert len(df) == n

    # select by typing an id: an unknown one gives a message, not a traceback
    box = page.get_by_placeholder("job id, comma separated")
    box.fill("not-a-job")
    box.press("Enter")
    page.get_by_text("Unknown job id(s): not-a-job").first.wait_for()
    # a typed job id prefix selects that job: its id in the selection text and its curve in the RDF plot
    from project.export import load_dataset

    ids = sorted(str(j) for j in load_dataset(served_space[0]).job_ids)
    other = next(j for j in ids if j != job_id)
    prefix = next(other[:n] for n in range(4, 33) if sum(j.startswith(other[:n]) for j in ids) == 1)
    box.fill(prefix)
    box.press("Enter")
    page.get_by_text("Selected jobs (2):").first.wait_for()
    page.get_by_text(other).first.wait_for()
    wait_source_length(page, "rdf_source", "xs", 2)

    # model predictions: parity plots and the text line
    page.get_by_text("Model predictions", exact=True).first.click()
    page.get_by_text(re.compile(r"Predictions of run 1 \(train")).first.wait_for()
    # the parity plots hold every job once, split by train/val/test (make_catalogue predicts every job)
    names = [f"parity_{q}_{split}" for q in ("sigma", "epsilon") for split in ("train", "val", "test")]
    page.wait_for_function(
        """(names) => names.every((n) => Bokeh.documents.some((d) => d.get_model_by_name(n)))""", arg=names
    )
    lengths = source_lengths(page, names, "x")
    assert sum(lengths[:3]) == N_JOBS and sum(lengths[3:]) == N_JOBS, lengths
    page.wait_for_timeout(300)
    page.screenshot(path=str(tmp_path / "predictions.png"), full_page=True)

    # runs and CG fits: AA vs CG overlay of the cg_fit run (first system, both methods)
    page.get_by_text("Runs and CG fits", exact=True).first.click()
    page.get_by_text(re.compile(r"AA vs CG RDF of CG fit run 2")).first.wait_for()
    page.get_by_text("cg_fit").first.wait_for()
    page.get_by_text(re.compile(r"Shown: .?ethane")).first.wait_for()
    wait_source_length(page, "cg_source", "xs", len(CG_METHODS))
    wait_source_length(page, "cg_aa_source", "g", RDF_N_BINS)
    page.wait_for_timeout(300)
    page.screenshot(path=str(tmp_path / "runs.png"), full_page=True)
    content = page.content()
    assert "Traceback" not in content
    assert errors == [], errors
    page.close()
    assert_clean_log(server_log)


#: A tab must show its content within this many seconds of its first click (s).
FIRST_CLICK_S = 10.0


def _state_space_shown(page) -> None:  # noqa: ANN001
    page.get_by_text(f"Jobs matching filters: {N_JOBS} of {N_JOBS}").first.wait_for()
    page.locator(".tabulator-row").first.wait_for()  # the jobs table, built after the first render


def _predictions_shown(page) -> None:  # noqa: ANN001
    page.get_by_text(re.compile(r"Predictions of run 1 \(train")).first.wait_for()
    names = [f"parity_sigma_{split}" for split in ("train", "val", "test")]
    page.wait_for_function(
        """([names, n]) => names.map((name) => { for (const d of Bokeh.documents) {
                           const m = d.get_model_by_name(name); if (m) return m.data.x.length; } return 0; })
                           .reduce((a, b) => a + b, 0) === n""",
        arg=[names, N_JOBS],
    )


def _runs_shown(page) -> None:  # noqa: ANN001
    page.get_by_text(re.compile(r"AA vs CG RDF of CG fit run 2")).first.wait_for()
    page.locator(".tabulator-row", has_text="cg_fit").first.wait_for()  # the runs table
    wait_source_length(page, "cg_source", "xs", len(CG_METHODS))


#: Each tab and what it shows once rendered (its text, its table or its plot data).
TAB_CONTENT = {
    "State space": _state_space_shown,
    "Model predictions": _predictions_shown,
    "Runs and CG fits": _runs_shown,
}


@pytest.mark.parametrize("cli", [True, False], ids=["lj-inverse-dashboard", "panel-serve"])
def test_every_tab_renders_within_10_s_of_its_first_click(
    browser,
    served_space: tuple[Path, Path],
    tmp_path: Path,
    cli: bool,  # noqa: ANN001
) -> None:
    """On a fresh server (no warm-up run, no page served before), each tab shows its own content, tables included,
    within 10 s of its first click (the state-space tab: of the navigation to the page). A table whose Panel
    extension (Tabulator) did not come with the page stays blank: the jobs table and the runs table."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    log = tmp_path / "server.log"
    elapsed: dict[str, float] = {}
    with dashboard_server(*served_space, warm=False, cli=cli, log_path=log) as url:
        errors: list[str] = []
        page = _page(browser, errors)
        for tab, shown in TAB_CONTENT.items():
            start = time.monotonic()
            if tab == "State space":
                page.goto(url)
            else:
                page.get_by_text(tab, exact=True).first.click()
            try:
                shown(page)
            except PlaywrightTimeout as exc:
                pytest.fail(f"{tab!r} is not rendered {TIMEOUT_MS / 1000:.0f} s after its first click: {exc}")
            elapsed[tab] = time.monotonic() - start
        page.screenshot(path=str(tmp_path / "tabs.png"), full_page=True)
        assert errors == [], errors
        page.close()
    print("first-click render times (s):", {k: round(v, 2) for k, v in elapsed.items()})
    slow = {k: round(v, 2) for k, v in elapsed.items() if v >= FIRST_CLICK_S}
    assert not slow, f"tabs slower than {FIRST_CLICK_S} s to render on a fresh server: {slow}"
    assert_clean_log(log)


@pytest.mark.parametrize("case", ["absent", "empty"])
def test_missing_data_shows_message(browser, tmp_path: Path, case: str) -> None:  # noqa: ANN001
    export = tmp_path / "dataset.h5"
    expected = "No export found"
    if case == "empty":
        from project.export import export_dataset

        export_dataset([], export)
        expected = "contains no jobs yet"
    log = tmp_path / "server.log"
    with dashboard_server(export, tmp_path / "absent.sqlite", log_path=log) as url:
        errors: list[str] = []
        page = _page(browser, errors)
        page.goto(url)
        page.get_by_text(expected).first.wait_for()
        page.get_by_text("Jobs matching filters: 0 of 0").first.wait_for()
        page.get_by_text("Model predictions", exact=True).first.click()
        page.get_by_text("No results catalogue").first.wait_for()
        page.get_by_text("Runs and CG fits", exact=True).first.click()
        page.get_by_text("No runs of this data space to show").first.wait_for()
        page.get_by_text("Shipped coarse-graining results").first.wait_for()
        page.screenshot(path=str(tmp_path / f"missing_{case}.png"), full_page=True)
        assert "Traceback" not in page.content()
        assert errors == [], errors
        page.close()
    assert not (tmp_path / "absent.sqlite").exists()
    assert_clean_log(log)


def test_fresh_install_view_shipped_model_and_cg(browser, tmp_path: Path) -> None:  # noqa: ANN001
    """What a user sees after install or `make demo`, before any training run: one sigma and one epsilon in the
    export (one-valued sliders), no catalogue. The predictions tab shows the shipped model's errors on this export,
    the runs tab the shipped CG results; the server log stays clean (no Bokeh E-1021)."""
    import json

    from bench_export import make_jobs

    from project.export import export_dataset, record_from_job_dir

    make_jobs(tmp_path, 0, 12, seed=5)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    records = [
        record_from_job_dir(j, {**sp, "sigma": 0.34, "epsilon": 0.99}, tmp_path / "workspace" / j)
        for j, sp in manifest.items()
    ]
    export = export_dataset(records, tmp_path / "export" / "dataset.h5").path
    log = tmp_path / "server.log"
    with dashboard_server(export, tmp_path / "absent.sqlite", log_path=log) as url:
        errors: list[str] = []
        page = _page(browser, errors)
        page.goto(url)
        wait_count(page, r"Jobs matching filters: 12 of 12")
        page.get_by_text("Model predictions", exact=True).first.click()
        page.get_by_text(re.compile(r"Predictions of the shipped model\s*lj_inverse_v4")).first.wait_for()
        page.get_by_text(re.compile(r"MAPE sigma [0-9.]+ %")).first.wait_for()
        page.wait_for_function("""() => Bokeh.documents.some((d) => {
                                     const m = d.get_model_by_name('parity_sigma_new');
                                     return m && m.data.x.length > 0; })""")
        assert source_lengths(page, ["parity_sigma_new"], "x")[0] > 0
        page.get_by_text("Runs and CG fits", exact=True).first.click()
        page.get_by_text("Shipped coarse-graining results").first.wait_for()
        page.get_by_text(re.compile(r"RDF plot of\s*CH4")).first.wait_for()
        page.screenshot(path=str(tmp_path / "fresh_install.png"), full_page=True)
        assert "Traceback" not in page.content()
        assert errors == [], errors
        page.close()
    assert not (tmp_path / "absent.sqlite").exists()
    assert_clean_log(log)


def _non_loopback_ipv4() -> str:
    """This machine's outgoing IPv4 address (a UDP connect sends nothing)."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.255.255.255", 1))
            return s.getsockname()[0]
        except OSError as exc:
            pytest.fail(f"this test needs a network interface besides loopback: {exc}")


def test_remote_browser_gets_notice_not_data(browser, served_space, tmp_path: Path) -> None:  # noqa: ANN001
    """Bound to every interface, the app still shows its data only to browsers on this machine."""
    ip = _non_loopback_ipv4()
    assert not ip.startswith("127."), ip
    with dashboard_server(*served_space, address="0.0.0.0", origins=("127.0.0.1", ip)) as url:
        errors: list[str] = []
        page = _page(browser, errors)
        page.goto(url.replace("127.0.0.1", ip))
        page.get_by_text("This dashboard serves its own machine only").first.wait_for()
        assert "Jobs matching filters" not in page.content()
        page.goto(url)  # from this machine: the data
        wait_count(page, rf"Jobs matching filters: {N_JOBS} of {N_JOBS}")
        assert errors == [], errors
        page.close()


def test_cli_serves_on_localhost_only(served_space: tuple[Path, Path]) -> None:
    """``python -m project dashboard`` answers on 127.0.0.1 and listens on no other interface."""
    import contextlib
    import socket
    import subprocess
    import time
    import urllib.request

    from bench_dashboard import free_port

    port = free_port()
    export, catalogue = served_space
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "project",
            "dashboard",
            "--export",
            str(export),
            "--catalogue",
            str(catalogue),
            "--port",
            str(port),
        ],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, f"python -m project dashboard exited with {proc.returncode}"
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
            assert time.monotonic() < deadline, "the dashboard did not listen within 60 s"
            time.sleep(0.2)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30) as resp:
            assert resp.status == 200 and b"bokeh" in resp.read().lower()
        ip = _non_loopback_ipv4()
        with pytest.raises(OSError), socket.create_connection((ip, port), timeout=2):
            pass
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
