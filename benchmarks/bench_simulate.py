"""Benchmark: production steps/s of ``run_simulation`` (GROMACS engine) vs raw ``gmx mdrun`` on the same .tpr.

Units: steps/s; wall times in s. LJ fluid at T* = 1.0, rho* = 0.8, rc = 3 sigma, dt = 0.002 tau (argon-like:
sigma 0.34 nm, epsilon 1 kJ/mol, mass 39.948 amu), N = 1000 and 4000, all cores. Both sides are timed the
same way: wall clock of the production ``gmx mdrun`` process (start-up included), with the same thread count;
``run_simulation``'s side includes its watchdog polling and 1-minute checkpoints.

Usage: ``python benchmarks/bench_simulate.py [--quick] [--threads N]``.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from project import units  # noqa: E402
from project.engines.gromacs import _env  # noqa: E402
from project.simulate import run_simulation  # noqa: E402

logger = logging.getLogger("bench_simulate")


def state_point(N: int, t_prod: float) -> dict:
    """LJ state point (GROMACS units) at T* = 1.0, rho* = 0.8 with ``t_prod`` tau of production."""
    sigma, eps = 0.34, 1.0
    return {
        "sigma": sigma,
        "epsilon": eps,
        "T": units.temperature_from_reduced(1.0, eps),
        "rho": units.density_from_reduced(0.8, sigma),
        "N": N,
        "mass": 39.948,
        "cutoff": 3.0,
        "dt": 0.002,
        "t_equil": 2.0,
        "t_prod": t_prod,
        "t_sample": 1.0,
        "seed": 1,
        "replica": 0,
    }


def raw_mdrun(tpr: Path, threads: int, workdir: Path) -> float:
    """Wall time (s) of ``gmx mdrun -s tpr`` with the same thread settings, no checkpointing or watchdog."""
    t0 = time.monotonic()
    with open(workdir / "raw.out", "w") as out:
        subprocess.run(
            ["gmx", "mdrun", "-s", str(tpr), "-deffnm", "raw", "-nt", str(threads), "-ntmpi", "1"],
            cwd=workdir,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=_env(),
            check=True,
        )
    return time.monotonic() - t0


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and log a side-by-side table; returns 0."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="short runs (about a minute in all)")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="threads (default: all cores)")
    ap.add_argument("--repeat", type=int, default=3, help="alternating pairs per size; medians are printed")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("project").setLevel(logging.WARNING)
    sizes = {1000: 40.0, 4000: 10.0} if args.quick else {1000: 150.0, 4000: 40.0}  # t_prod in tau
    rows = []
    for N, t_prod in sizes.items():
        pairs = []
        for rep in range(args.repeat):  # alternate the two sides: this machine's speed drifts
            with tempfile.TemporaryDirectory(prefix=f"bench_sim_{N}_") as tmp:
                d = Path(tmp)
                sp = dict(state_point(N, t_prod), seed=1 + rep)
                s = run_simulation(sp, d / "job", engine="gromacs", threads=args.threads)
                raw_wall = raw_mdrun(d / "job" / "gromacs" / "prod.tpr", args.threads, d / "job" / "gromacs")
                pairs.append((s["steps_per_s"], s["n_steps"] / raw_wall))
        wrapped = statistics.median(p[0] for p in pairs)
        raw = statistics.median(p[1] for p in pairs)
        ratio = statistics.median(p[0] / p[1] for p in pairs)
        rows.append((N, s["n_steps"], wrapped, raw, ratio))
    logger.info("%6s %8s %18s %14s %7s", "N", "steps", "run_simulation/s", "raw mdrun/s", "ratio (median of pairs)")
    for N, n, w, r, q in rows:
        logger.info("%6d %8d %18.0f %14.0f %7.3f", N, n, w, r, q)
    logger.info("target ratio >= 0.95 (threads=%d)", args.threads)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
