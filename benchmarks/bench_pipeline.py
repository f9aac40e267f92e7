"""Benchmark: jobs per hour of the whole pipeline (``python flow.py run``) against a bare GROMACS shell loop.

The same small design runs twice, back to back, on the same machine:

(a) **pipeline**: a fresh data space, ``python flow.py run`` exactly as a user types it (simulate -> compute_rdf ->
    aggregate, several jobs at once where the engine uses fewer threads than the machine has);
(b) **anchor**: a bare ``bash`` loop over the same jobs: ``gmx grompp`` + ``gmx mdrun`` for the three stages
    (em, equil, prod) with the very .mdp/.top/.gro files the engine writes, ``-nt <all cores>``, one job after
    the other, then one ``gmx rdf`` per job (0.005 nm bins to 1.2 nm). This is the anchor of the last line.
(c) **anchor, every core**: the same loop split into one loop per core, run side by side with ``-nt 1``: the bare
    engine with every core busy, the best a pipeline of 1-thread jobs can hope for (skip with ``--no-per-core``).

Design: argon-like sigma = 0.34 nm, epsilon = 0.99 kJ/mol, the (T*, rho*) of ``STATES`` (liquids and supercritical
fluids), and the training library's protocol (N = 1000, dt = 0.004 tau, 20 tau equilibration, 100 tau production,
a frame every 0.5 tau: 201 frames). Units: wall times in s, throughput in jobs per hour.

The time split of the pipeline comes from its own per-operation lines (``[k/n] simulate <id>: 12.3 s``) and is
given in worker-seconds per job: with W operations at a time the run has wall x W worker-seconds; what simulate,
compute_rdf and the export do not use is bookkeeping (flow's scheduling, process start-up, imports, idle workers
at the end of a pass). The last line reads ``pipeline/anchor jobs per hour: X.XX`` (target >= 0.95).

Usage: ``python benchmarks/bench_pipeline.py [--jobs 8] [--n 1000] [--keep DIR]``. Takes about 4 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from project import units  # noqa: E402
from project.dataspace import create_jobs, get_project  # noqa: E402
from project.engines.base import initial_positions, make_protocol  # noqa: E402
from project.engines.gromacs import _env, make_gro, make_mdp, make_top  # noqa: E402
from project.statepoint import normalise  # noqa: E402

#: (T*, rho*) of the jobs: liquids and supercritical fluids (none in the coexistence region).
STATES = ((0.9, 0.8), (1.2, 0.8), (1.5, 0.8), (2.0, 0.8), (1.5, 0.5), (2.0, 0.5), (2.5, 0.5), (2.5, 0.8))
PROTOCOL = {"dt": 0.004, "t_equil": 20.0, "t_prod": 100.0, "t_sample": 0.5, "seed": 11}

_LINE = re.compile(r"\] (simulate|compute_rdf) (\w+): ([0-9.]+) s")
_EXPORT = re.compile(r"export .* in ([0-9.]+) s")


def design(n_jobs: int, n_particles: int) -> list[dict]:
    """The benchmark's state points (normalised; GROMACS units)."""
    sigma, eps = 0.34, 0.99
    states = STATES
    out = []
    for i in range(n_jobs):
        t_star, rho_star = states[i % len(states)]
        sp = {
            "sigma": sigma,
            "epsilon": eps,
            "T": units.temperature_from_reduced(t_star, eps),
            "rho": units.density_from_reduced(rho_star, sigma),
            "N": n_particles,
            "replica": i // len(states),
            **PROTOCOL,
        }
        out.append(normalise(sp))
    return out


def run_pipeline(space: Path, statepoints: list[dict]) -> dict:
    """Create the data space (not timed), then time ``python flow.py run``; return wall s and the split."""
    create_jobs(get_project(space, create=True), statepoints)
    env = dict(os.environ, LJ_DATASPACE=str(space))
    env.pop("SIGNAC_FLOW_ENVIRONMENT", None)  # as a user runs it: flow.py picks the environment itself
    t0 = time.monotonic()
    proc = subprocess.run(
        [sys.executable, str(REPO / "flow.py"), "run"], env=env, capture_output=True, text=True, cwd=REPO
    )
    wall = time.monotonic() - t0
    if proc.returncode != 0:
        raise SystemExit(f"flow.py run failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    text = proc.stdout + proc.stderr
    times: dict[str, list[float]] = {"simulate": [], "compute_rdf": []}
    for op, _, seconds in _LINE.findall(text):
        times[op].append(float(seconds))
    export = sum(float(s) for s in _EXPORT.findall(text))
    workers = re.search(r"(\d+) operation\(s\) at a time", text)
    done = len(times["compute_rdf"])
    if done != len(statepoints):
        raise SystemExit(f"pipeline finished {done} of {len(statepoints)} jobs:\n{text[-3000:]}")
    return {
        "wall": wall,
        "workers": int(workers.group(1)) if workers else 1,
        "simulate": sum(times["simulate"]),
        "rdf": sum(times["compute_rdf"]),
        "export": export,
    }


_ANCHOR = """set -e
gmx=gmx
for d in "$@"; do
  cd "$d"
  t0=$(date +%s.%N)
  $gmx grompp -f em.mdp -c start.gro -p topol.top -o em.tpr -maxwarn 0 >>loop.log 2>&1
  $gmx mdrun -deffnm em -nt {nt} -ntmpi 1 >>loop.log 2>&1
  $gmx grompp -f equil.mdp -c em.gro -p topol.top -o equil.tpr -maxwarn 0 >>loop.log 2>&1
  $gmx mdrun -deffnm equil -nt {nt} -ntmpi 1 >>loop.log 2>&1
  $gmx grompp -f prod.mdp -c equil.gro -t equil.cpt -p topol.top -o prod.tpr -maxwarn 0 >>loop.log 2>&1
  $gmx mdrun -deffnm prod -nt {nt} -ntmpi 1 -x prod.xtc >>loop.log 2>&1
  t1=$(date +%s.%N)
  $gmx rdf -f prod.xtc -s prod.tpr -ref all -sel all -bin 0.005 -rmax 1.2 -o rdf.xvg -xvg none >>loop.log 2>&1
  t2=$(date +%s.%N)
  echo "$t0 $t1 $t2" >> ../times.txt
  cd ..
done
"""


def run_anchor(root: Path, statepoints: list[dict], threads: int, loops: int = 1) -> dict:
    """Write each job's engine input files (not timed), then time the bare shell loop(s); return wall s and split.

    ``loops`` loops run side by side, each over every ``loops``-th job, with ``threads`` threads per mdrun.
    """
    dirs = []
    for i, sp in enumerate(statepoints):
        p = make_protocol(sp)
        d = root / f"job{i:02d}"
        d.mkdir(parents=True)
        (d / "topol.top").write_text(make_top(p))
        (d / "start.gro").write_text(make_gro(initial_positions(p.N, p.box, p.seed), p.box))
        for stage in ("em", "equil", "prod"):
            (d / f"{stage}.mdp").write_text(make_mdp(p, stage))
        dirs.append(d.name)
    script = root / "loop.sh"
    script.write_text(_ANCHOR.replace("{nt}", str(threads)))
    t0 = time.monotonic()
    procs = [subprocess.Popen(["bash", str(script), *dirs[k::loops]], cwd=root, env=_env()) for k in range(loops)]
    if any(p.wait() != 0 for p in procs):
        raise SystemExit(f"the anchor loop failed; see {root}/*/loop.log (run with --keep DIR)")
    wall = time.monotonic() - t0
    rows = [[float(x) for x in line.split()] for line in (root / "times.txt").read_text().splitlines()]
    return {
        "wall": wall,
        "workers": loops,
        "simulate": sum(r[1] - r[0] for r in rows),
        "rdf": sum(r[2] - r[1] for r in rows),
        "export": 0.0,
    }


def main(argv: list[str] | None = None) -> int:
    """Run both sides and print the comparison; returns 0."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--jobs", type=int, default=8, help="number of jobs (default 8)")
    ap.add_argument("--n", type=int, default=1000, help="particles per job (default 1000)")
    ap.add_argument("--keep", type=Path, help="keep the data space and the anchor's folders here")
    ap.add_argument("--no-per-core", action="store_true", help="skip the per-core anchor (c)")
    args = ap.parse_args(argv)
    if shutil.which("gmx") is None:
        raise SystemExit("gmx not on PATH: install GROMACS (make setup)")
    cores = os.cpu_count() or 1
    sps = design(args.jobs, args.n)
    base = args.keep or Path(tempfile.mkdtemp(prefix="bench_pipeline_"))
    base.mkdir(parents=True, exist_ok=True)
    try:
        print(
            f"{args.jobs} jobs, N = {args.n}, dt = {PROTOCOL['dt']} tau, {PROTOCOL['t_equil']:g} + "
            f"{PROTOCOL['t_prod']:g} tau, {make_protocol(sps[0]).n_frames} frames; {cores} cores; "
            f"load average at start {os.getloadavg()[0]:.2f}",
            flush=True,
        )
        anchor = run_anchor(base / "anchor", sps, cores)
        print(f"anchor done in {anchor['wall']:.1f} s", flush=True)
        per_core = None
        if not args.no_per_core and cores > 1:
            per_core = run_anchor(base / "anchor_per_core", sps, 1, loops=cores)
            print(f"anchor, every core done in {per_core['wall']:.1f} s", flush=True)
        pipe = run_pipeline(base / "space", sps)
        print(f"pipeline done in {pipe['wall']:.1f} s; load average at end {os.getloadavg()[0]:.2f}", flush=True)
    finally:
        if args.keep is None:
            shutil.rmtree(base, ignore_errors=True)
    n = args.jobs
    print(
        f"{'side':9s} {'wall s':>8s} {'jobs/h':>8s} {'ops at once':>11s} | per job, worker-s: {'simulate':>8s} "
        f"{'RDF':>6s} {'export':>7s} {'bookkeeping':>11s} | RDF/simulate"
    )
    sides = [("pipeline", pipe), ("anchor", anchor)] + ([("per-core", per_core)] if per_core else [])
    for name, r in sides:
        slots = r["wall"] * r["workers"]
        book = slots - r["simulate"] - r["rdf"] - r["export"]
        print(
            f"{name:9s} {r['wall']:8.1f} {3600 * n / r['wall']:8.1f} {r['workers']:11d} | {'':18s} "
            f"{r['simulate'] / n:8.2f} {r['rdf'] / n:6.2f} {r['export'] / n:7.3f} {book / n:11.2f} | "
            f"{r['rdf'] / r['simulate']:.3f}"
        )
    if per_core:
        print(f"pipeline/anchor-every-core jobs per hour: {per_core['wall'] / pipe['wall']:.2f}")
    print(f"pipeline/anchor jobs per hour: {anchor['wall'] / pipe['wall']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
