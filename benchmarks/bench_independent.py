"""Accuracy of the inverse model on RDFs simulated with settings its training data never used.

The model will be judged on RDFs simulated independently of this project. This check simulates the states of
``project/data/designs/independent.json`` (16 states inside the training domain: T* 0.8-2.4, rho* 0.35-0.9) with
other settings than the shipped dataset: N = 864 instead of 1000, cutoff 2.5 sigma instead of 3, dt = 0.002 tau
instead of 0.004, 150 tau of production instead of 100, other seeds, and optionally the other engine (OpenMM
instead of GROMACS: another integrator and thermostat). The jobs run through the ordinary workflow
(``python flow.py run``) in their own data space, and the shipped model (or ``--model``) predicts sigma (nm) and
epsilon (kJ/mol) from each exported RDF, T (K) and rho (nm^-3).

Printed: per job the true and predicted sigma and epsilon, and over all jobs the mean absolute and the mean signed
percentage error of each, with the issue's held-out targets (sigma <= 0.5 %, epsilon <= 2 %) for comparison.
Measured 2026-11-28 with the shipped model lj_inverse_v3: GROMACS sigma 0.059 %, epsilon 1.44 %; OpenMM sigma
0.061 %, epsilon 1.33 % (lj_inverse_v2: 0.087 % / 1.57 % and 0.078 % / 1.39 %; lj_inverse_v1: 0.106 % / 1.94 % and
0.089 % / 1.68 %).

Usage::

    python benchmarks/bench_independent.py [--space independent_space] [--engine gromacs|openmm] [--parallel 2]

About 3 minutes on 2 cores with GROMACS (each run ~10 s), about 10 minutes with OpenMM on CPUs. Reruns resume (the
jobs are signac jobs; finished ones are not simulated again).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from project.export import load_dataset  # noqa: E402
from project.model.features import scaled_rdf_batch  # noqa: E402
from project.model.inverse import InverseModel  # noqa: E402

DESIGN = ROOT / "project" / "data" / "designs" / "independent.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", default=str(ROOT / "independent_space"),
                        help="data space for the check (default: independent_space/ in the repository)")
    parser.add_argument("--engine", default="gromacs", choices=["gromacs", "openmm"], help="MD engine")
    parser.add_argument("--parallel", type=int, default=os.cpu_count() or 1, help="runs side by side, 1 core each")
    parser.add_argument("--model", default=None, help="model folder (default: the shipped model)")
    args = parser.parse_args()
    space = Path(args.space).resolve()
    if args.engine == "openmm" and args.space == parser.get_default("space"):
        space = space.with_name(space.name + "_openmm")
    env = {**os.environ, "LJ_DATASPACE": str(space), "LJ_ENGINE": args.engine, "LJ_THREADS": "1"}
    subprocess.run([sys.executable, "-m", "project", "init", str(DESIGN), "--dataspace", str(space)], cwd=ROOT,
                   env=env, check=True)
    flow = subprocess.run([sys.executable, "flow.py", "run", "--parallel", str(args.parallel)], cwd=ROOT, env=env)
    if flow.returncode != 0:
        print(f"flow.py run exited with {flow.returncode}; the jobs that finished are evaluated below")
    ds = load_dataset(space / "export" / "dataset.h5")
    tab = ds.table
    model = InverseModel.load(args.model)
    gx = scaled_rdf_batch(ds.r_nm, ds.g.astype(float), tab["rho"].to_numpy())
    p = model.predict_physical(gx, tab["T"].to_numpy(), tab["rho"].to_numpy())
    err_s = 100 * (p["sigma"] / tab["sigma"].to_numpy() - 1)
    err_e = 100 * (p["epsilon"] / tab["epsilon"].to_numpy() - 1)
    print(f"engine {args.engine}, {len(tab)} jobs (N {sorted(set(tab['N'].astype(int)))}, cutoff "
          f"{sorted(set(tab['cutoff']))} sigma, dt {sorted(set(tab['dt']))} tau, production "
          f"{sorted(set(tab['t_prod']))} tau); model {model.meta.get('created')}")
    print(f"{'T*':>6} {'rho*':>6} {'sigma/nm':>9} {'pred':>9} {'err %':>7} {'eps/kJmol':>10} {'pred':>9} {'err %':>7}")
    for i in np.argsort(tab["T_star"].to_numpy()):
        row = tab.iloc[i]
        print(f"{row['T_star']:6.3f} {row['rho_star']:6.3f} {row['sigma']:9.4f} {p['sigma'][i]:9.4f} "
              f"{err_s[i]:+7.3f} {row['epsilon']:10.4f} {p['epsilon'][i]:9.4f} {err_e[i]:+7.2f}")
    for name, err, target in (("sigma", err_s, 0.5), ("epsilon", err_e, 2.0)):
        print(f"{name} MAPE {np.abs(err).mean():.3f} % (mean signed {err.mean():+.3f} %, max "
              f"{np.abs(err).max():.3f} %; held-out target <= {target} %)")


if __name__ == "__main__":
    main()
