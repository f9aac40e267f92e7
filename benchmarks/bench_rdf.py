"""Benchmark: the g(r) stage against the simulate stage of one job, and the compiled g(r) against MDAnalysis.

One job of the training library's protocol (argon-like sigma = 0.34 nm, epsilon = 0.99 kJ/mol, T* = 0.9,
rho* = 0.8, N = 1000, dt = 0.004 tau, 20 + 100 tau, 201 frames) is simulated with GROMACS on ``--threads`` threads
(default 1, as ``flow.py run`` gives each job on a 2-core machine); then ``compute_rdf`` runs on its trajectory
with the default compiled path and with ``method="mdanalysis"`` (the reference), ``--repeat`` times each after a
warm-up (imports and the compiled kernel loaded). Prints wall times (s, median), the ratio RDF/simulate (target
<= 0.10) and the largest difference in g and in the block errors between the two paths (target <= 1e-6).

Usage: ``python benchmarks/bench_rdf.py [--threads 1] [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from project import units  # noqa: E402
from project.rdf import compute_rdf  # noqa: E402
from project.simulate import run_simulation  # noqa: E402
from project.statepoint import normalise  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures; returns 0."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=1, help="GROMACS threads (default 1)")
    ap.add_argument("--repeat", type=int, default=3, help="timed g(r) runs per path (default 3)")
    args = ap.parse_args(argv)
    sigma, eps = 0.34, 0.99
    sp = normalise(
        {
            "sigma": sigma,
            "epsilon": eps,
            "T": units.temperature_from_reduced(0.9, eps),
            "rho": units.density_from_reduced(0.8, sigma),
            "N": 1000,
            "dt": 0.004,
            "t_equil": 20.0,
            "t_prod": 100.0,
            "t_sample": 0.5,
            "seed": 11,
        }
    )
    with tempfile.TemporaryDirectory(prefix="bench_rdf_") as tmp:
        t0 = time.monotonic()
        run_simulation(sp, tmp, engine="gromacs", threads=args.threads)
        simulate_s = time.monotonic() - t0
        top, traj = Path(tmp) / "topology.pdb", Path(tmp) / "traj.xtc"
        results, times = {}, {}
        for method in ("auto", "mdanalysis"):
            results[method] = compute_rdf(top, traj, method=method)  # warm-up: imports, compiled kernel
            runs = []
            for _ in range(args.repeat):
                t0 = time.monotonic()
                compute_rdf(top, traj, method=method)
                runs.append(time.monotonic() - t0)
            times[method] = statistics.median(runs)
    dg = float(np.max(np.abs(results["auto"].g - results["mdanalysis"].g)))
    derr = float(np.max(np.abs(results["auto"].g_err - results["mdanalysis"].g_err)))
    print(f"simulate (GROMACS, {args.threads} thread(s)): {simulate_s:.2f} s; {results['auto'].n_frames} frames")
    print(
        f"g(r) compiled: {times['auto']:.3f} s   g(r) MDAnalysis: {times['mdanalysis']:.3f} s   "
        f"speed-up {times['mdanalysis'] / times['auto']:.1f}x"
    )
    print(f"max |g compiled - g MDAnalysis| = {dg:.3g}; max |g_err difference| = {derr:.3g} (target <= 1e-6)")
    print(f"RDF/simulate per job: {times['auto'] / simulate_s:.3f} (target <= 0.10)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
