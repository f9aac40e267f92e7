"""Browser benchmark of the dashboard on a synthetic export (default 40,000 jobs).

Builds (or reuses, ``--workdir``) a synthetic data space through the real code paths: job folders with
``rdf.npz`` / ``simulate.json`` (:func:`bench_export.make_jobs`), the HDF5 export (:func:`project.export.
export_dataset`), and a results catalogue with one ``train`` run (synthetic ``predictions.csv``) and one
``cg_fit`` run (AA and CG ``rdf.npz`` files). Then serves ``dashboards/app.py`` with ``panel serve`` on 127.0.0.1
(free port) and drives headless Chromium with Playwright.

Both times are taken on the page's own clock (``performance.now()``, by a probe installed before the page's
scripts), so the Python side of Playwright does not add to them:

1. first render: from navigation start (``page.goto``) until the count pane shows ``Jobs matching filters: N of
   N`` and the state-space map is drawn (idle) with N points in its index filter (target < 3 s); a fresh page per
   repeat after one warm-up page (the first page, browser cache cold, is reported separately). The jobs table
   is built once the page has rendered; when its first row shows is reported too (no target);
2. filter update: drag the lower handle of the T* slider; from the mouse release until the count text changes
   and the map's index filter in the browser holds the new count, drawn (target < 1 s).

Figures are printed (s, median and max of ``--repeat`` runs). Chromium: ``/usr/bin/chromium`` (override with
``$CHROMIUM``).

Usage: ``python benchmarks/bench_dashboard.py [--n 40000] [--workdir DIR] [--repeat 3] [--backend canvas]``
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
for _p in (ROOT, ROOT / "benchmarks"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

logger = logging.getLogger("bench_dashboard")

TARGETS = {"first_render_s": 3.0, "filter_update_s": 1.0}
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
COUNT_RE = re.compile(r"Jobs matching filters: (\d+) of (\d+)")


# ------------------------------------------------------------------------------------------ synthetic data
def make_export(work: Path, n: int, seed: int = 1) -> Path:
    """Create ``n`` synthetic job folders under ``work`` and export them to ``work/export/dataset.h5``.

    Reuses an existing export with ``n`` jobs. Returns the export path.
    """
    from bench_export import make_jobs

    from project.export import export_dataset, load_dataset, record_from_job_dir

    path = work / "export" / "dataset.h5"
    if path.exists():
        with contextlib.suppress(Exception):
            if len(load_dataset(path, verify=False).job_ids) == n:
                return path
    make_jobs(work, 0, n, seed=seed)
    manifest = json.loads((work / "manifest.json").read_text())
    records = [record_from_job_dir(j, sp, work / "workspace" / j) for j, sp in list(manifest.items())[:n]]
    export_dataset(records, path, prune=True)
    return path


def make_catalogue(export_path: Path, folder: Path, seed: int = 2) -> Path:
    """Write a catalogue with one ``train`` run (synthetic predictions) and one ``cg_fit`` run (AA/CG RDFs).

    Predictions: every job of the export, splits 70/15/15 train/val/test, nn = true x (1 + noise). Returns the
    catalogue path (``folder/results/catalogue.sqlite``); an existing one is replaced.
    """
    from project.catalogue import Catalogue
    from project.export import load_dataset

    ds = load_dataset(export_path, verify=False)
    rng = np.random.default_rng(seed)
    tab = ds.table
    n = len(tab)
    pred = tab[["sigma", "epsilon", "T", "rho", "T_star", "rho_star"]].copy()
    pred["split"] = rng.choice(["train", "val", "test"], size=n, p=[0.7, 0.15, 0.15])
    for k in ("sigma", "epsilon"):
        pred[f"nn_{k}"] = tab[k] * (1 + rng.normal(0, 0.02, n))
        pred[f"nn_{k}_std"] = 0.02 * tab[k]
        pred[f"baseline_{k}"] = tab[k] * (1 + rng.normal(0, 0.05, n))
    pred["nn_T_star"] = tab["T_star"] * (1 + rng.normal(0, 0.02, n))
    pred["nn_rho_star"] = tab["rho_star"] * (1 + rng.normal(0, 0.02, n))
    results = folder / "results"
    (results / "train_1").mkdir(parents=True, exist_ok=True)
    pred_path = results / "train_1" / "predictions.csv"
    pred_path.write_text("# sigma nm, epsilon kJ/mol, T K, rho nm^-3; synthetic\n" + pred.to_csv(index_label="job_id"))
    cg_artefacts = write_cg_rdfs(ds, results / "cg_1")
    cat_path = results / "catalogue.sqlite"
    for suffix in ("", "-wal", "-shm"):
        Path(str(cat_path) + suffix).unlink(missing_ok=True)
    cat = Catalogue(cat_path)
    checksum = ds.attrs.get("content_checksum")
    cat.record(
        "train",
        checksum,
        {"model": "mlp", "epochs": 10},
        {"test.nn.mape_sigma": 1.6, "train_wall_s": 12.0},
        {"predictions": str(pred_path), "model": str(results / "train_1")},
    )
    cat.record(
        "cg_fit", None, {"methods": list(CG_METHODS)}, {"methane__oneshot__total_deviation_nm": 0.012}, cg_artefacts
    )
    return cat_path


#: Synthetic CG systems and methods of :func:`write_cg_rdfs`.
CG_SYSTEMS = ("ethane", "methane")
CG_METHODS = ("ibi_lj", "oneshot")


def _rdf_result(r: np.ndarray, g: np.ndarray, g_err: np.ndarray):  # noqa: ANN202
    from project.rdf import RDFResult

    width = float(r[1] - r[0])
    return RDFResult(
        r_nm=r,
        g=g,
        g_err=g_err,
        bin_width_nm=width,
        r_max_nm=float(r[-1] + width / 2),
        n_frames=100,
        n_atoms=1000,
        n_blocks=5,
        start_frame=0,
        mean_volume_nm3=10.0,
        density_nm3=100.0,
    )


def write_cg_rdfs(ds, folder: Path) -> dict[str, str]:  # noqa: ANN001 - project.export.Dataset
    """Write synthetic AA and CG RDFs (``project.rdf.save_rdf`` npz files, as the CG pipeline writes them).

    The AA RDF of system k is export row k; the CG RDF of method m is it times ``1 + 0.03 (m + 1) sin(20 r / nm)``.
    Returns the catalogue artefacts ``rdf_aa__<system>`` and ``rdf_cg__<system>__<method>`` (paths).
    """
    from project.rdf import save_rdf

    folder.mkdir(parents=True, exist_ok=True)
    r = ds.r_nm.astype(float)
    out = {}
    for k, system in enumerate(CG_SYSTEMS):
        g_aa = ds.g[k].astype(float)
        aa = folder / f"{system}_com_rdf.npz"
        save_rdf(_rdf_result(r, g_aa, ds.g_err[k].astype(float)), aa, fsync=False)
        out[f"rdf_aa__{system}"] = str(aa)
        for m, method in enumerate(CG_METHODS):
            path = folder / f"{system}_{method}_rdf_cg.npz"
            g_cg = g_aa * (1 + 0.03 * (m + 1) * np.sin(20 * r))
            save_rdf(_rdf_result(r, g_cg, np.zeros_like(r)), path, fsync=False)
            out[f"rdf_cg__{system}__{method}"] = str(path)
    return out


# ------------------------------------------------------------------------------------------------- server
def free_port() -> int:
    """Return a free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def dashboard_server(
    export: Path,
    catalogue: Path,
    timeout_s: float = 60.0,
    backend: str = "canvas",
    address: str = "127.0.0.1",
    origins: tuple[str, ...] = ("127.0.0.1",),
    log_path: Path | None = None,
    warm: bool = True,
    cli: bool = False,
) -> Iterator[str]:
    """Run ``panel serve dashboards/app.py --warm`` on ``address`` (free port); yield its URL; stop it on exit.

    ``--warm`` runs the app once at start-up, so the export is already in the loader cache for the first page;
    ``warm=False`` leaves it out (a fresh server: nothing built before the first page). ``cli=True`` runs
    ``python -m project dashboard`` instead (:func:`panel.serve`, no warm-up; ``origins`` and ``warm`` do not
    apply). ``origins``: hosts whose pages may open the websocket. The URL names 127.0.0.1. ``log_path``: write
    the server's output (stdout and stderr) to this file, for a test to read (default: a temporary file).
    """
    port = free_port()
    data = ["--export", str(export), "--catalogue", str(catalogue), "--backend", backend]
    if cli:
        cmd = [sys.executable, "-m", "project", "dashboard", "--address", address, "--port", str(port), *data]
        url = f"http://127.0.0.1:{port}/"
    else:
        app = str(ROOT / "dashboards" / "app.py")
        cmd = [sys.executable, "-m", "panel", "serve", app, "--address", address, "--port", str(port)]
        cmd += ["--num-procs", "1", *(["--warm"] if warm else [])]
        for host in origins:
            cmd += ["--allow-websocket-origin", f"{host}:{port}"]
        cmd += ["--args", *data]
        url = f"http://127.0.0.1:{port}/app"
    name = "python -m project dashboard" if cli else "panel serve"
    log = open(log_path, "w+b") if log_path is not None else tempfile.TemporaryFile()  # noqa: SIM115
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            if proc.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"{name} exited with {proc.returncode}:\n{log.read().decode(errors='replace')}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not listen on port {port} within {timeout_s} s")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def launch_chromium(playwright):  # noqa: ANN001, ANN201 - playwright objects
    """Launch headless Debian Chromium; raise RuntimeError with a clear message when it is missing."""
    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"Chromium not found at {CHROMIUM}: install it (apt-get install chromium) or set $CHROMIUM")
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


def count_text(page) -> str:  # noqa: ANN001
    """Return the text of the job-count pane."""
    return page.get_by_text(COUNT_RE).first.inner_text()


def wait_count(page, pattern: str, timeout_ms: float = 30_000) -> None:  # noqa: ANN001
    """Wait until the count pane matches ``pattern`` (a regex)."""
    page.get_by_text(re.compile(pattern)).first.wait_for(state="visible", timeout=timeout_ms)


def source_lengths(page, names: list[str], column: str) -> list[int]:  # noqa: ANN001
    """Return the length of ``column`` of the Bokeh data sources named ``names`` in the page (-1: not found)."""
    return page.evaluate(
        """([names, column]) => names.map((name) => {
             for (const doc of (window.Bokeh ? window.Bokeh.documents : [])) {
               const m = doc.get_model_by_name(name);
               if (m) return m.data[column] ? m.data[column].length : 0;
             }
             return -1;
           })""",
        [names, column],
    )


def wait_source_length(page, name: str, column: str, n: int, timeout_ms: float = 30_000) -> None:  # noqa: ANN001
    """Wait until the Bokeh data source ``name`` in the page has ``n`` values in ``column``."""
    page.wait_for_function(
        """([name, column, n]) => {
             for (const doc of (window.Bokeh ? window.Bokeh.documents : [])) {
               const m = doc.get_model_by_name(name);
               if (m && m.data[column] && m.data[column].length === n) return true;
             }
             return false;
           }""",
        arg=[name, column, n],
        timeout=timeout_ms,
        polling=50,
    )


def drag_slider_handle(page, label: str, fraction: float, handle: int = 0) -> None:  # noqa: ANN001
    """Drag a handle (0 lower, 1 upper) of the range slider titled ``label`` to ``fraction`` of its track."""
    slider = page.locator(".bk-slider-title", has_text=label).first.locator("xpath=..")
    track = slider.locator(".noUi-target").first
    box = track.bounding_box()
    h = slider.locator(".noUi-handle").nth(handle).bounding_box()
    page.mouse.move(h["x"] + h["width"] / 2, h["y"] + h["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + fraction * box["width"], h["y"] + h["height"] / 2, steps=5)
    page.mouse.up()


#: In-page probe (installed before the page's scripts): ``window.__bench_state()`` returns the count text shown in
#: the page and the number of map points in the browser's index filter, once the count pane is rendered and the
#: state-space map is drawn and idle (else null). It records, on the page's own clock (ms since navigation start):
#: ``first`` when the count reads "N of N" with N points in the map, and ``filter`` from the mouse release on a
#: slider until the count text changed and the map holds that many points.
_PROBE = r"""
(() => {
  const RE = /Jobs matching filters: (\d+) of (\d+)/;
  const bench = window.__bench = {first: null, up: null, filter: null, before: null};
  let count = null;
  const state = () => {
    if (!window.Bokeh || !Bokeh.documents || !Bokeh.documents.length || !Bokeh.index || !Bokeh.index.find_one)
      return null;
    const doc = Bokeh.documents[0];
    if (!count) count = [...doc.all_models].find((m) => typeof m.text === 'string' && RE.test(m.text)) || null;
    const fig = doc.get_model_by_name('state_map');
    if (!count || !fig) return null;
    const cv = Bokeh.index.find_one(count), fv = Bokeh.index.find_one(fig);
    if (!cv || !cv.container || !fv || !fv.is_idle || !fv.canvas_view || fv.canvas_view.bbox.width <= 0) return null;
    const m = (cv.container.textContent || '').match(RE);
    if (!m) return null;
    const r = fig.renderers.find((x) => x.view && x.view.filter && x.view.filter.indices);
    return {text: m[0], shown: +m[1], total: +m[2], in_map: r ? r.view.filter.indices.length : -1};
  };
  window.__bench_state = state;
  const first = () => {
    const st = state();
    if (st && st.shown === st.total && st.in_map === st.total) bench.first = performance.now();
    else setTimeout(first, 5);
  };
  first();
  const updated = () => {
    const st = state();
    if (st && st.text !== bench.before && st.in_map === st.shown) bench.filter = performance.now() - bench.up;
    else setTimeout(updated, 5);
  };
  document.addEventListener('pointerdown', () => { const st = state(); bench.before = st ? st.text : null; }, true);
  document.addEventListener('pointerup', () => {
    if (bench.before === null || bench.up !== null) return;
    bench.up = performance.now();
    updated();
  }, true);
})();
"""


def measure(url: str, n: int, repeat: int) -> dict:
    """Time first render and filter updates in headless Chromium on the page's clock; return the figures (s)."""
    from playwright.sync_api import sync_playwright

    out: dict = {"first_render_s": [], "filter_update_s": [], "table_ready_s": []}
    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        try:
            for k in range(repeat + 1):
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.add_init_script(_PROBE)
                page.goto(url)
                page.wait_for_function("() => window.__bench && window.__bench.first !== null", timeout=60_000)
                t_render = page.evaluate("window.__bench.first") / 1000
                page.locator(".tabulator-row").first.wait_for(state="visible", timeout=60_000)
                t_table = page.evaluate("performance.now()") / 1000
                if k == 0:
                    out["first_page_s"] = t_render  # browser cache cold
                else:
                    out["first_render_s"].append(t_render)
                    out["table_ready_s"].append(t_table)
                drag_slider_handle(page, "T*", 0.3 + 0.05 * k)
                page.wait_for_function("() => window.__bench.filter !== null", timeout=30_000)
                out["filter_update_s"].append(page.evaluate("window.__bench.filter") / 1000)
                st = page.evaluate("window.__bench_state()")
                assert st["shown"] < n and st["in_map"] == st["shown"], st
                out.setdefault("after_filter", st["text"])
                page.close()
        finally:
            browser.close()
    return out


def main(argv: list[str] | None = None) -> int:
    """Entry point; see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=40_000, help="jobs in the synthetic export")
    parser.add_argument("--workdir", type=Path, default=None, help="folder of the synthetic data (reused if present)")
    parser.add_argument("--repeat", type=int, default=3, help="measured page loads (after one warm-up load)")
    parser.add_argument("--backend", choices=("canvas", "webgl"), default="canvas", help="Bokeh backend of the map")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench_dashboard_"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        t0 = time.perf_counter()
        export = make_export(work, args.n)
        catalogue = make_catalogue(export, work)
        size_mib = export.stat().st_size / 2**20
        print(f"setup: {args.n} jobs, export {size_mib:.1f} MiB in {time.perf_counter() - t0:.1f} s")
        with dashboard_server(export, catalogue, backend=args.backend) as url:
            res = measure(url, args.n, args.repeat)
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    load = os.getloadavg()
    print(f"machine: {os.cpu_count()} CPUs, load average {load[0]:.1f} / {load[1]:.1f} (1 / 5 min) at the end")
    print(f"backend {args.backend}; first page of the server (browser cache cold): {res['first_page_s']:.2f} s")
    print(
        f"jobs table (built after the first render) visible after: median "
        f"{statistics.median(res['table_ready_s']):.2f} s, max {max(res['table_ready_s']):.2f} s"
    )
    print(f"after the filter: {res['after_filter']}")
    print(f"{'figure':<18}{'median s':>10}{'max s':>10}{'target s':>10}  ok")
    ok = True
    for name, target in TARGETS.items():
        vals = res[name]
        med, mx = statistics.median(vals), max(vals)
        ok &= mx < target
        print(f"{name:<18}{med:>10.2f}{mx:>10.2f}{target:>10.1f}  {'yes' if mx < target else 'NO'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
