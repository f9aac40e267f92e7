"""Benchmark the inverse model: training time on this machine and inference time per RDF (target < 10 ms).

Usage: python benchmarks/bench_model.py [--export project/data/reference/lj_library.h5] [--members 5] [--quick]
Trains an ensemble with the shipped settings (fewer members / epochs with --quick), then times one-shot prediction
of a single RDF (file-free: resampling onto the model grid + numpy ensemble forward pass) and of a batch.
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
    args = parser.parse_args()
    ds = load_dataset(args.export)
    shipped = InverseModel.load()
    settings = TrainSettings(**{k: v for k, v in shipped.meta["settings"].items()
                                if k in TrainSettings.__dataclass_fields__})
    if args.members:
        settings.n_members = args.members
    if args.quick:
        settings.n_members, settings.epochs = 1, 30
    print(f"cores: {os.cpu_count()}; export: {args.export} ({len(ds.table)} jobs)")
    print(f"settings: {json.dumps(settings.__dict__)}")
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        res = train_model(ds, Path(tmp) / "model", settings)
        wall = time.perf_counter() - t0
        epochs = [h["epochs"] for h in res["meta"]["histories"]]
        print(f"training: {wall:.1f} s for {settings.n_members} members ({epochs} epochs, early stopping), "
              f"{wall / settings.n_members:.1f} s per member")
    model = shipped
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
    print(f"inference, one RDF (resample + {model.meta['n_members']}-member ensemble + domain checks): "
          f"{one:.3f} ms median of 200 [target < 10 ms: {'OK' if one < 10 else 'OVER TARGET'}]")
    gx = scaled_rdf_batch(ds.r_nm, ds.g.astype(float), tab["rho"].to_numpy())
    t0 = time.perf_counter()
    model.predict_physical(gx, tab["T"].to_numpy(), tab["rho"].to_numpy())
    batch = (time.perf_counter() - t0) * 1000
    print(f"inference, batch of {len(tab)} RDFs on the model grid: {batch:.2f} ms ({batch / len(tab):.4f} ms per RDF)")


if __name__ == "__main__":
    main()
