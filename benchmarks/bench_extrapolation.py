"""Benchmark the thermal extrapolation of RDFs (project.model.extrapolate): how close to simulation it gets.

Usage: python benchmarks/bench_extrapolation.py [--export project/data/reference/lj_library.h5]

Two checks on the shipped dataset, both using only the training split of the default TrainSettings as references:

* pseudo-transfer (inside the training split, used to choose the density exponent a): fit on the training jobs
  with 1.2 <= T* <= 2.0, extrapolate to the training jobs with T* > 2.0;
* transfer: fit on the training jobs with T* >= 1.5 (as ``hot_samples`` does), extrapolate to the
  transferability jobs (T* 2.5-3.5, never used by the fit).

Printed per coordinates (``x`` with density exponent a, and ``bh``: equal r/d with the Barker-Henderson diameter d
and the packing fraction as density variable; "cubic": the RDFs resampled by cubic spline; "S(0)": ln S(0) as a
further variable; the last row is the training default):
the mean absolute difference |g_extrapolated - g_simulated| over x = r rho^(1/3) in [0.3, 1.79] (dimensionless;
the statistical noise of one simulated RDF is ~0.005 there), its mean signed value, the mean signed value beyond
the first peak (x >= 1.3; the network reads a bias there as a sigma bias), on 0.8 <= x < 1.0 (the rising edge of
the first peak at rho* >= 0.5; measured 2026-11-28 with the default: +0.0052 inside the training split, +0.0058 on
the transfer states, +0.0013 and +0.0033 without S(0); the network reads it), and for comparison the figure for
the nearest reference job (no extrapolation: the closest simulated state in (T*, rho*)). Takes a few seconds.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from project.export import load_dataset  # noqa: E402
from project.model.extrapolate import extrapolation_error  # noqa: E402
from project.model.train import TrainSettings, make_split  # noqa: E402

DEFAULT_EXPORT = Path(__file__).resolve().parents[1] / "project" / "data" / "reference" / "lj_library.h5"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--export", default=str(DEFAULT_EXPORT), help="HDF5 export (default: the shipped one)")
    args = parser.parse_args()
    ds = load_dataset(args.export)
    T = ds.table["T_star"].to_numpy()
    split = make_split(T, TrainSettings())
    tr = split.train
    checks = {
        "pseudo-transfer (train T* 1.2-2.0 -> train T* > 2.0)": (tr[(T[tr] >= 1.2) & (T[tr] <= 2.0)], tr[T[tr] > 2.0]),
        "transfer (train T* >= 1.5 -> transfer T* 2.5-3.5)": (tr[T[tr] >= 1.5], split.transfer),
    }
    for name, (ref, target) in checks.items():
        print(f"{name}: {len(ref)} reference jobs, {len(target)} targets")
        print(
            f"  {'coordinates':>16} {'mean |dg|':>10} {'mean dg':>10} {'dg x>=1.3':>10} {'dg x 0.8-1':>10} "
            f"{'nearest |dg|':>13}"
        )
        plain = {"interpolation": "linear", "s0_column": False}
        rows = [(f"x, a = {a:.2f}", {**plain, "coords": "x", "exponent": a}) for a in (0.0, 0.1, 0.15, 0.25)]
        rows.append(("bh (r/d, eta)", {**plain, "coords": "bh"}))
        rows.append(("bh, cubic", {**plain, "coords": "bh", "interpolation": "cubic"}))
        rows.append(("bh, cubic, S(0)", {"coords": "bh", "interpolation": "cubic", "s0_column": True}))  # default
        for label, kw in rows:
            e = extrapolation_error(ds, ref, target, **kw)
            print(
                f"  {label:>16} {e['mean_abs']:10.4f} {e['mean_signed']:+10.4f} {e['outer_signed']:+10.4f} "
                f"{e['edge_signed']:+10.4f} {e['nearest']:13.4f}"
            )


if __name__ == "__main__":
    main()
