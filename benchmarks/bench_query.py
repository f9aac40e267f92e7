"""Benchmark: build a synthetic 40,000-job data space, time state-point queries (target < 0.5 s) and
``python flow.py status`` (target < 15 s).

Usage: python benchmarks/bench_query.py [--n 40000] [--dataspace /tmp/bench_space] [--no-flow]
Prints the time to build the data space, to query by ranges (sigma nm, T*), by status, and all jobs; then marks
a third of the jobs simulated, a third done and 1 % failed (empty product files, as the status only looks at
which files exist) and times ``python flow.py status`` in a fresh process (wall time in s, start-up included).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from project.dataspace import FAILED_FILE, create_jobs, get_project, query  # noqa: E402
from project.design import load_design, make_design  # noqa: E402


def _time(fn, repeat: int = 5) -> tuple[float, int]:
    times, n = [], 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        n = len(fn())
        times.append(time.perf_counter() - t0)
    return statistics.median(times), n


def flow_status(space: Path) -> None:
    """Mark jobs simulated / done / failed by their product files and time ``python flow.py status``."""
    t0 = time.perf_counter()
    for i, job in enumerate(get_project(space)):
        if i % 3 >= 1:
            Path(job.fn("simulate.json")).write_text("{}")
        if i % 3 == 2:
            Path(job.fn("rdf.npz")).touch()
        if i % 100 == 0:
            Path(job.fn(FAILED_FILE)).write_text('{"operation": "simulate", "reason": "synthetic"}')
    print(f"marked products in {time.perf_counter() - t0:.1f} s")
    env = dict(os.environ, LJ_DATASPACE=str(space), SIGNAC_FLOW_ENVIRONMENT="StandardEnvironment")
    flow_py = Path(__file__).resolve().parents[1] / "flow.py"
    for label, extra in [("flow.py status", []), ("flow.py status --detailed", ["--detailed"])]:
        t0 = time.perf_counter()
        out = subprocess.run(
            [sys.executable, str(flow_py), "status", *extra], env=env, capture_output=True, text=True, check=True
        )
        t = time.perf_counter() - t0
        verdict = "OK" if t < 15.0 else "OVER TARGET"
        print(f"{label}: {t:.1f} s, {len(out.stdout.splitlines())} lines [target < 15 s: {verdict}]")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=40000, help="number of jobs")
    parser.add_argument("--dataspace", default=None, help="folder (default: a temporary folder, removed after)")
    parser.add_argument("--no-flow", action="store_true", help="skip the flow.py status timing")
    args = parser.parse_args()
    root = Path(args.dataspace) if args.dataspace else Path(tempfile.mkdtemp(prefix="bench_query_"))
    try:
        t0 = time.perf_counter()
        points = make_design(dict(load_design("domain"), n=args.n))
        t_design = time.perf_counter() - t0
        project = get_project(root / "space", create=True)
        t0 = time.perf_counter()
        created, _ = create_jobs(project, points)
        t_build = time.perf_counter() - t0
        print(f"design of {args.n} state points: {t_design:.2f} s; created {created} jobs in {t_build:.1f} s")
        fresh = get_project(root / "space")
        t_first, n = _time(lambda: query(fresh, {"sigma": (0.30, 0.35), "T_star": (1.0, 1.5)}), repeat=1)
        print(f"first range query in a new process state: {t_first:.3f} s ({n} jobs)")
        for label, kwargs in [
            ("range query sigma 0.30-0.35 nm, T* 1.0-1.5", {"ranges": {"sigma": (0.30, 0.35), "T_star": (1.0, 1.5)}}),
            ("range query rho* >= 0.9", {"ranges": {"rho_star": (0.9, None)}}),
            ("status query (status=failed)", {"status": "failed"}),
            ("all jobs with status", {}),
        ]:
            t, n = _time(lambda kw=kwargs: query(fresh, **kw))
            verdict = "OK" if t < 0.5 else "OVER TARGET"
            print(f"{label}: {t:.3f} s median of 5 ({n} jobs) [target < 0.5 s: {verdict}]")
        if not args.no_flow:
            flow_status(root / "space")
    finally:
        if not args.dataspace:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
