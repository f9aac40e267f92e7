"""End-to-end tests of the dashboard in headless Chromium (Playwright), served by ``panel serve`` on 127.0.0.1.

Chromium is Debian's ``/usr/bin/chromium`` (``$CHROMIUM`` overrides it). These tests do not skip when it is
missing: they fail and say so (CI installs chromium).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]
if str(REPO / "benchmarks") not in sys.path:
    sys.path.insert(0, str(REPO / "benchmarks"))

from bench_dashboard import (  # noqa: E402
    COUNT_RE,
    count_text,
    dashboard_server,
    drag_slider_handle,
    launch_chromium,
    make_catalogue,
    make_export,
    wait_count,
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
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    work = tmp_path_factory.mktemp("dash_browser")
    export = make_export(work, N_JOBS)
    catalogue = make_catalogue(export, work)
    with dashboard_server(export, catalogue) as url:
        yield url


def _page(browser, errors: list[str]):  # noqa: ANN001, ANN202
    page = browser.new_page(viewport={"width": 1400, "height": 1100}, accept_downloads=True)
    page.set_default_timeout(TIMEOUT_MS)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return page


def test_filter_select_rdf_predictions_runs(browser, served: str, tmp_path: Path) -> None:  # noqa: ANN001
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

    # model predictions: parity plots and the text line
    page.get_by_text("Model predictions", exact=True).first.click()
    page.get_by_text(re.compile(r"Predictions of run 1 \(train")).first.wait_for()
    page.wait_for_timeout(500)
    page.screenshot(path=str(tmp_path / "predictions.png"), full_page=True)

    # runs and CG fits: AA vs CG overlay of the cg_fit run
    page.get_by_text("Runs and CG fits", exact=True).first.click()
    page.get_by_text(re.compile(r"AA vs CG RDF of CG fit run 2")).first.wait_for()
    page.get_by_text("cg_fit").first.wait_for()
    page.wait_for_timeout(300)
    page.screenshot(path=str(tmp_path / "runs.png"), full_page=True)
    content = page.content()
    assert "Traceback" not in content
    assert errors == [], errors
    page.close()


def test_missing_data_shows_message(browser, tmp_path: Path) -> None:  # noqa: ANN001
    with dashboard_server(tmp_path / "absent.h5", tmp_path / "absent.sqlite") as url:
        errors: list[str] = []
        page = _page(browser, errors)
        page.goto(url)
        page.get_by_text("No export found").first.wait_for()
        page.get_by_text("Jobs matching filters: 0 of 0").first.wait_for()
        page.get_by_text("Model predictions", exact=True).first.click()
        page.get_by_text("No results catalogue").first.wait_for()
        page.screenshot(path=str(tmp_path / "missing.png"), full_page=True)
        assert "Traceback" not in page.content()
        assert errors == [], errors
        page.close()
    assert not (tmp_path / "absent.sqlite").exists()
