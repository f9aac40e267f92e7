"""Relative entropy from the naive start and warm-started from the network's one-shot bead: simulations saved.

Units: sigma nm, epsilon kJ/mol, D (total deviation) nm, KL dimensionless, wall s.

For each all-atom folder: the COM RDF (:func:`project.cg.com_rdf.compute_com_rdf`), then
:func:`project.cg.relent.run_relent` (one CG simulation per iteration, its own convergence criterion) twice, from
the naive start of every iterative method (:func:`project.cg.lj.initial_guess`) and from the network's bead
(:func:`project.cg.oneshot.predict_bead`). Reported: simulations, final bead, D and KL of the final run.

    python benchmarks/bench_cg_warmstart.py AA_DIR [AA_DIR ...] --out docs/results/cg --work /tmp/cg_warm
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv: list[str] | None = None) -> int:
    import pandas as pd

    from project.cg.com_rdf import compute_com_rdf
    from project.cg.lj import CGSettings, initial_guess
    from project.cg.oneshot import predict_bead
    from project.cg.relent import run_relent
    from project.cg.target import CGTarget
    from project.metrics import kl_divergence, total_deviation
    from project.rdf import load_rdf

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("aa_dirs", nargs="+", help="all-atom folders (aa.json, aa_topology.tpr, aa_traj.xtc)")
    ap.add_argument("--out", required=True, help="results folder (writes warmstart.csv)")
    ap.add_argument("--work", required=True, help="folder of the CG runs")
    ap.add_argument("--threads", type=int, default=1, help="MD threads per run (count; default 1)")
    args = ap.parse_args(argv)
    path = Path(args.out) / "warmstart.csv"
    rows = pd.read_csv(path).to_dict("records") if path.is_file() else []
    for d in map(Path, args.aa_dirs):
        aa = json.loads((d / "aa.json").read_text())
        name, T, rho = aa["molecule"], aa["T_K"], aa["rho_nm3"]
        from project.cg.molecules import get_molecule

        mass = get_molecule(name).mass
        rdf = compute_com_rdf(d / "aa_topology.tpr", d / "aa_traj.xtc")
        pred = predict_bead(rdf.r_nm, rdf.g, T, rho, g_err=rdf.g_err)
        starts = {"naive": initial_guess(rdf.r_nm, rdf.g, T), "network": (pred["sigma"], pred["epsilon"])}
        for label, start in starts.items():
            target = CGTarget(name, rdf.r_nm, rdf.g, rdf.g_err, T, rho, mass, str(d))
            res = run_relent(
                target, CGSettings(threads=args.threads), Path(args.work) / name / f"relent_{label}", start=start
            )
            final = load_rdf(Path(res["final_workdir"]) / "rdf.npz")
            rows = [r for r in rows if not (r["molecule"] == name and r["start"] == label)]
            rows.append(
                {
                    "molecule": name,
                    "start": label,
                    "start_sigma_nm": start[0],
                    "start_epsilon_kJ_mol": start[1],
                    "sigma_nm": res["sigma"],
                    "epsilon_kJ_mol": res["epsilon"],
                    "converged": res["converged"],
                    "n_simulations": res["n_simulations"],
                    "wall_s": res["wall_s"],
                    "total_deviation_nm": total_deviation(rdf.r_nm, rdf.g, final.g),
                    "kl_divergence": kl_divergence(rdf.r_nm, rdf.g, final.g),
                }
            )
            pd.DataFrame(rows).to_csv(path, index=False)
            sys.stdout.write(json.dumps(rows[-1]) + "\n")
            sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
