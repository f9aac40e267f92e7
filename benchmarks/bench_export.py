"""Benchmark of the HDF5 export on a synthetic data space (default 40,000 jobs).

Builds ``--n`` job folders, each with an ``rdf.npz`` written by :func:`project.rdf.save_rdf` (240 bins on
``RDF_GRID_NM``) and a ``simulate.json``, plus a manifest of plain state-point dicts; then measures, each in a
fresh child process so that its peak resident memory (``ru_maxrss``) is its own:

1. full export of all jobs (target < 60 s),
2. incremental export after ``--new`` new jobs are added (target < 5 s),
3. a no-op re-export (nothing changed),
4. ``load_dataset`` (full read with checksum verification) and a one-row read with plain h5py.

Peak memory target: < 2 GB. Figures are printed (wall time in s, memory in MiB). The page cache is warm
(the files were just written), so the export times are those of a local disk with a warm cache.

Usage: ``python benchmarks/bench_export.py [--n 40000] [--new 100] [--workdir DIR] [--keep]``
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from project.rdf import RDF_GRID_NM, RDF_N_BINS, RDFResult, save_rdf  # noqa: E402

TARGETS = {"full_export_s": 60.0, "incremental_export_s": 5.0, "peak_rss_mib": 2048.0}


def synthetic_statepoint(i: int, rng: np.random.Generator) -> dict:
    """A plausible LJ state point in schema units (sigma nm, epsilon kJ/mol, T K, rho nm^-3, mass amu)."""
    sigma = float(np.round(rng.uniform(0.25, 0.45), 6))
    epsilon = float(np.round(rng.uniform(0.5, 2.0), 6))
    t_star = rng.uniform(0.7, 2.5)
    rho_star = rng.uniform(0.05, 0.95)
    return {
        "sigma": sigma,
        "epsilon": epsilon,
        "T": float(np.round(t_star * epsilon / 0.0083144626, 6)),
        "rho": float(np.round(rho_star / sigma**3, 6)),
        "N": 1000,
        "mass": 39.948,
        "cutoff": 3.0,
        "dt": 0.002,
        "t_equil": 100.0,
        "t_prod": 1000.0,
        "t_sample": 2.0,
        "seed": i,
        "replica": i % 3,
    }


def synthetic_rdf(sp: dict, rng: np.random.Generator) -> RDFResult:
    """An LJ-looking g(r) (damped oscillation after a hard core) with noise."""
    r = RDF_GRID_NM
    x = r / sp["sigma"]
    rho_star = sp["rho"] * sp["sigma"] ** 3
    g = np.where(x < 0.9, 0.0, 1.0 + 1.5 * rho_star * np.exp(-(x - 1.0)) * np.cos(2 * np.pi * (x - 1.1)))
    g = np.clip(g + rng.normal(0.0, 0.01, RDF_N_BINS), 0.0, None)
    return RDFResult(
        r_nm=r,
        g=g,
        g_err=np.full(RDF_N_BINS, 0.01),
        bin_width_nm=0.005,
        r_max_nm=1.2,
        n_frames=500,
        n_atoms=sp["N"],
        n_blocks=5,
        start_frame=0,
        mean_volume_nm3=sp["N"] / sp["rho"],
        density_nm3=sp["rho"],
        first_peak_r_nm=1.1 * sp["sigma"],
        first_peak_g=float(g.max()),
        first_min_r_nm=1.6 * sp["sigma"],
        first_min_g=0.7,
        coordination_number=12.0 * rho_star,
    )


def make_jobs(work: Path, first: int, count: int, seed: int) -> None:
    """Create job folders ``first .. first+count-1`` and append them to ``manifest.json``."""
    rng = np.random.default_rng(seed)
    manifest_path = work / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    for i in range(first, first + count):
        sp = synthetic_statepoint(i, rng)
        job_id = hashlib.md5(json.dumps(sp, sort_keys=True).encode()).hexdigest()
        job_dir = work / "workspace" / job_id
        job_dir.mkdir(parents=True, exist_ok=True)
        save_rdf(synthetic_rdf(sp, rng), job_dir / "rdf.npz", fsync=False)
        (job_dir / "simulate.json").write_text(
            json.dumps({"U_per_N_kJ_mol": -5.0 * sp["epsilon"], "P_bar": float(rng.normal(100, 50))})
        )
        manifest[job_id] = sp
    manifest_path.write_text(json.dumps(manifest))


def phase(work: Path, name: str) -> dict:
    """Run one measured phase in this process and return its figures."""
    import logging

    from project.export import export_dataset, load_dataset, record_from_job_dir
    from project.provenance import code_version_string

    logging.basicConfig(level=logging.WARNING)
    out: dict = {"phase": name}
    export_path = work / "export" / "rdf_export.h5"
    if name in ("full", "incremental", "noop"):
        t0 = time.perf_counter()
        manifest = json.loads((work / "manifest.json").read_text())
        records = [record_from_job_dir(j, sp, work / "workspace" / j) for j, sp in manifest.items()]
        out["records_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        report = export_dataset(records, export_path, code_version=code_version_string(ROOT))
        out["export_s"] = time.perf_counter() - t0
        out.update(
            n_jobs=report.n_jobs,
            n_new=report.n_new,
            n_reused=report.n_reused,
            n_skipped=len(report.skipped),
            written=report.written,
            file_mib=export_path.stat().st_size / 2**20,
        )
    elif name == "load":
        import h5py

        t0 = time.perf_counter()
        ds = load_dataset(export_path)
        out["load_dataset_s"] = time.perf_counter() - t0
        out["n_jobs"] = len(ds.job_ids)
        with h5py.File(export_path, "r") as f:
            t0 = time.perf_counter()
            for k in range(100):
                f["rdf/g"][(k * 37) % len(ds.job_ids)]
            out["row_read_ms"] = (time.perf_counter() - t0) / 100 * 1e3
    out["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def run_phase(work: Path, name: str) -> dict:
    """Run a phase in a child process (fresh peak-memory counter) and parse its JSON line."""
    cmd = [sys.executable, __file__, "--phase", name, "--workdir", str(work)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"phase {name} failed:\n{proc.stdout}\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    """Entry point; see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=40_000, help="number of jobs of the full export")
    parser.add_argument("--new", type=int, default=100, help="jobs added before the incremental export")
    parser.add_argument("--workdir", type=Path, default=None, help="folder for the synthetic data space")
    parser.add_argument("--keep", action="store_true", help="keep the synthetic data space")
    parser.add_argument("--phase", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.phase:
        print(json.dumps(phase(args.workdir, args.phase)))
        return 0

    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench_export_"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        return _run_all(work, args.n, args.new)
    finally:
        if not args.keep and args.workdir is None:
            print(f"removing {work} ...", flush=True)
            shutil.rmtree(work, ignore_errors=True)


def _run_all(work: Path, n: int, new: int) -> int:
    """Build the data space in ``work``, run the phases, print the figures; return the exit status."""
    load_before = os.getloadavg()[0]
    t0 = time.perf_counter()
    make_jobs(work, 0, n, seed=1)
    setup_s = time.perf_counter() - t0
    print(f"setup: {n} synthetic jobs in {setup_s:.1f} s ({work})", flush=True)
    full = run_phase(work, "full")
    make_jobs(work, n, new, seed=2)
    incr = run_phase(work, "incremental")
    noop = run_phase(work, "noop")
    load = run_phase(work, "load")

    peak = max(p["peak_rss_mib"] for p in (full, incr, noop, load))
    rows = [
        ("full export", full, f"{full['n_jobs']} jobs, {full['file_mib']:.1f} MiB file"),
        ("incremental export", incr, f"{incr['n_new']} new, {incr['n_reused']} reused"),
        ("no-op re-export", noop, f"written={noop['written']}"),
    ]
    print(f"{'phase':<22}{'records s':>10}{'export s':>10}{'peak RSS MiB':>14}  notes")
    for label, p, note in rows:
        print(f"{label:<22}{p['records_s']:>10.2f}{p['export_s']:>10.2f}{p['peak_rss_mib']:>14.0f}  {note}")
    print(
        f"load_dataset: {load['load_dataset_s']:.3f} s for {load['n_jobs']} jobs (checksum verified), "
        f"one-row read {load['row_read_ms']:.3f} ms, peak RSS {load['peak_rss_mib']:.0f} MiB"
    )
    print(f"machine load average (1 min): {load_before:.2f} before, {os.getloadavg()[0]:.2f} after")
    checks = {
        "full_export_s": full["export_s"],
        "incremental_export_s": incr["export_s"],
        "peak_rss_mib": peak,
    }
    ok = True
    for key, value in checks.items():
        passed = value < TARGETS[key]
        ok &= passed
        print(f"target {key} < {TARGETS[key]:g}: {value:.2f} {'OK' if passed else 'MISSED'}")
    summary = {"n": n, "new": new, "setup_s": setup_s, "full": full, "incremental": incr, "noop": noop}
    print(json.dumps({**summary, "load": load}), flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
