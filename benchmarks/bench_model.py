"""Benchmark the inverse model and ``fit``: training time, inference time per RDF (target < 10 ms), and the
refined fit from the shell (one file: target < 1 s wall; many files in one call: target >= 100 RDFs per second).

Usage: python benchmarks/bench_model.py [--export project/data/reference/lj_library.h5] [--members 5] [--quick]
[--no-train]
Trains an ensemble with the shipped settings (fewer members / epochs with --quick, none with --no-train), then
times one-shot prediction of a single RDF (file-free: resampling onto the model grid + numpy ensemble forward pass)
and of a batch, and ``python -m project fit`` (one-shot + refinement) on one file and on a manifest of 200 files.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from project.export import load_dataset  # noqa: E402
from project.model.features import scaled_rdf_batch  # noqa: E402
from project.model.inverse import InverseModel  # noqa: E402
from project.model.train import TrainSettings, train_model  # noqa: E402

DEFAULT_EXPORT = Path(__file__).resolve().parents[1] / "project" / "data" / "reference" / "lj_library.h5"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--export", default=str(DEFAULT_EXPORT), help="HDF5 export to train on")
    parser.add_argument("--members", type=int, default=None, help="ensemble members (default: shipped settings)")
    parser.add_argument("--quick", action="store_true", help="1 member, 30 epochs: a smoke run")
    parser.add_argument("--no-train", action="store_true", help="skip the training benchmark")
    args = parser.parse_args()
    ds = load_dataset(args.export)
    shipped = InverseModel.load()
    settings = TrainSettings(
        **{k: v for k, v in shipped.meta["settings"].items() if k in TrainSettings.__dataclass_fields__}
    )
    if args.members:
        settings.n_members = args.members
    if args.quick:
        settings.n_members, settings.epochs = 1, 30
    print(f"cores: {os.cpu_count()}; export: {args.export} ({len(ds.table)} jobs)")
    print(f"settings: {json.dumps(settings.__dict__)}")
    if not args.no_train:
        bench_training(ds, settings)
    bench_inference(ds)
    bench_fit(ds)


def bench_training(ds, settings: TrainSettings) -> None:
    """Train an ensemble in a temporary folder and print the wall time."""
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        res = train_model(ds, Path(tmp) / "model", settings)
        wall = time.perf_counter() - t0
        epochs = [h["epochs"] for h in res["meta"]["histories"]]
        print(
            f"training: {wall:.1f} s for {settings.n_members} members ({epochs} epochs, early stopping), "
            f"{wall / settings.n_members:.1f} s per member"
        )


def bench_inference(ds) -> None:
    """Time the one-shot network on one RDF and on the whole export."""
    model = InverseModel.load()
    tab = ds.table
    i = 0
    r, g = ds.r_nm, ds.g[i].astype(float)
    T, rho = float(tab["T"].iloc[i]), float(tab["rho"].iloc[i])
    times = []
    for _ in range(200):
        t0 = time.perf_counter()
        model.predict(r, g, T, rho)
        times.append(time.perf_counter() - t0)
    one = statistics.median(times) * 1000
    print(
        f"inference, one RDF (resample + {model.meta['n_members']}-member ensemble + domain checks): "
        f"{one:.3f} ms median of 200 [target < 10 ms: {'OK' if one < 10 else 'OVER TARGET'}]"
    )
    gx = scaled_rdf_batch(ds.r_nm, ds.g.astype(float), tab["rho"].to_numpy())
    t0 = time.perf_counter()
    model.predict_physical(gx, tab["T"].to_numpy(), tab["rho"].to_numpy())
    batch = (time.perf_counter() - t0) * 1000
    print(f"inference, batch of {len(tab)} RDFs on the model grid: {batch:.2f} ms ({batch / len(tab):.4f} ms per RDF)")


def bench_fit(ds, n_batch: int = 200) -> None:
    """Time ``python -m project fit`` on one file (wall, median of 5) and on a manifest of ``n_batch`` files."""
    import subprocess

    import numpy as np

    tab = ds.table
    root = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory() as tmp:
        lines = ["path,T_K,rho_nm3"]
        for k in range(n_batch):
            i = k % len(tab)
            np.savetxt(Path(tmp) / f"rdf{k}.dat", np.c_[ds.r_nm, ds.g[i]], header="r_nm g")
            lines.append(f"rdf{k}.dat,{tab['T'].iloc[i]},{tab['rho'].iloc[i]}")
        (Path(tmp) / "manifest.csv").write_text("\n".join(lines) + "\n")
        one = [str(Path(tmp) / "rdf0.dat"), "-T", str(tab["T"].iloc[0]), "-rho", str(tab["rho"].iloc[0])]
        walls = []
        for _ in range(5):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "project", "fit", *one], cwd=root, check=True, capture_output=True)
            walls.append(time.perf_counter() - t0)
        wall = statistics.median(walls)
        print(
            f"fit, one file from the shell (imports, one-shot, refinement): {wall:.2f} s wall, median of 5 "
            f"[target < 1 s: {'OK' if wall < 1 else 'OVER TARGET'}]"
        )
        t0 = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "project", "fit", "--manifest", str(Path(tmp) / "manifest.csv"), "--json"],
            cwd=root,
            check=True,
            capture_output=True,
        )
        wall = time.perf_counter() - t0
        rate = n_batch / wall
        print(
            f"fit, {n_batch} files in one call (--manifest, start-up included): {wall:.2f} s wall, {rate:.0f} RDFs "
            f"per second [target >= 100: {'OK' if rate >= 100 else 'UNDER TARGET'}]"
        )


if __name__ == "__main__":
    main()
