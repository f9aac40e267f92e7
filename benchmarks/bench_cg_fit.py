"""Every molecule through ``cg fit`` (no CG simulation), then CG check runs of each bead with several seeds.

Units: sigma nm, epsilon kJ/mol, T K, rho nm^-3, D (total deviation) nm, KL dimensionless, P bar, U kJ/mol per
molecule, wall s.

For each all-atom folder (``aa.json``, ``aa_topology.tpr``, ``aa_traj.xtc``, as ``lj-inverse cg aa`` or the CG
workflow writes them): :func:`project.cg.userfit.fit_user_run` with the all-atom pressure (the beads: network,
robust fit, refined for D, refined for KL, pressure-constrained), then for each bead ``--seeds`` CG runs
(:func:`project.cg.lj.run_lj`, the comparison's CG settings, seeds 1..n) whose RDFs give D and KL against the
all-atom COM RDF (0-1.2 nm, :mod:`project.cg.metrics`) and whose thermodynamics give P and U per molecule; means
and standard errors over the seeds. The check runs are not used by any bead (N_fit = 0 for all of them).

    python benchmarks/bench_cg_fit.py AA_DIR [AA_DIR ...] --out docs/results/cg/fit --work /tmp/cg_fit --seeds 3
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np

BEADS = ("network", "fit", "total-deviation", "kl", "pressure")


def bead_table(res: dict) -> dict:
    return {"network": res["network"], "fit": res["fit"], **res["refined"], "pressure": res["pressure_aware"]}


def check_runs(name: str, res: dict, rdf, aa: dict, seeds: int, work: Path, threads: int | None) -> list[dict]:
    from project.cg.lj import CGSettings, run_lj
    from project.cg.metrics import kl_divergence, total_deviation
    from project.errors import ProjectError

    rows = []
    T, rho, mass = res["input"]["T_K"], res["input"]["density_nm3"], res["input"]["mass_amu"]
    for bead, b in bead_table(res).items():
        if b is None:
            continue
        runs, err = [], None
        for seed in range(1, seeds + 1):
            try:
                run = run_lj(
                    b["sigma"], b["epsilon"], T, rho, mass, CGSettings(seed=seed, threads=threads), work / name / bead
                )
            except ProjectError as exc:
                err = str(exc).splitlines()[0]
                break
            summ = json.loads((run.workdir / "simulate.json").read_text())
            runs.append(
                {
                    "D": total_deviation(rdf.r_nm, rdf.g, run.rdf.g),
                    "KL": kl_divergence(rdf.r_nm, rdf.g, run.rdf.g),
                    "P": summ["P_bar"],
                    "U": summ["U_per_N_kJ_mol"],
                    "wall": run.wall_s,
                }
            )
        row = {
            "molecule": name,
            "bead": bead,
            "sigma_nm": b["sigma"],
            "epsilon_kJ_mol": b["epsilon"],
            "T_star": b["eos"]["T_star"],
            "rho_star": b["eos"]["rho_star"],
            "n_fit": 0,
            "n_check_runs": len(runs),
            "P_eos_bar": b["eos"]["P_bar"],
            "U_eos_kJ_mol": b["eos"]["U_per_molecule_kJ_mol"],
            "P_aa_bar": aa["P_bar"],
            "P_aa_stderr_bar": aa["P_stderr_bar"],
            "U_aa_kJ_mol": aa["U_per_molecule_kJ_mol"],
            "lj_adequate": res["lj_adequate"],
            "chi2_per_dof": res["fit"]["residual"]["chi2_per_dof"],
            "error": err,
        }
        for key, col in (
            ("D", "total_deviation_nm"),
            ("KL", "kl_divergence"),
            ("P", "P_cg_bar"),
            ("U", "U_cg_kJ_mol"),
            ("wall", "cg_wall_s"),
        ):
            v = np.array([x[key] for x in runs], float)
            row[col] = float(v.mean()) if len(v) else float("nan")
            row[col + "_se"] = float(v.std(ddof=1) / np.sqrt(len(v))) if len(v) > 1 else float("nan")
        rows.append(row)
    return rows


def markdown(df) -> str:
    """A markdown table of a DataFrame (4 significant digits)."""

    def cell(v) -> str:
        return f"{v:.4g}" if isinstance(v, float) else str(v)

    lines = ["| " + " | ".join(df.columns) + " |", "|" + "---|" * len(df.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join(lines) + "\n"


def summary(df) -> str:
    """Compact markdown: one row per molecule and bead, means +- standard errors over the check runs."""

    def pm(v, e, f):
        return "n/a" if v != v else (f"{v:{f}} +- {e:{f}}" if e == e else f"{v:{f}}")

    lines = [
        "| molecule | bead | sigma (nm) | epsilon (kJ/mol) | T* | D (nm) | KL (1e-4) | P_CG (bar) | P_EOS (bar) | "
        "P_AA (bar) | U_CG (kJ/mol) | U_AA (kJ/mol) | one LJ fluid? |",
        "|" + "---|" * 13,
    ]
    for r in df.itertuples(index=False):
        lines.append(
            f"| {r.molecule} | {r.bead} | {r.sigma_nm:.4f} | {r.epsilon_kJ_mol:.4f} | {r.T_star:.3f} | "
            f"{pm(r.total_deviation_nm, r.total_deviation_nm_se, '.4f')} | "
            f"{pm(1e4 * r.kl_divergence, 1e4 * r.kl_divergence_se, '.2f')} | "
            f"{pm(r.P_cg_bar, r.P_cg_bar_se, '.0f')} | {r.P_eos_bar:.0f} | "
            f"{r.P_aa_bar:.0f} +- {r.P_aa_stderr_bar:.0f} | {pm(r.U_cg_kJ_mol, r.U_cg_kJ_mol_se, '.3f')} | "
            f"{r.U_aa_kJ_mol:.3f} | {'yes' if r.lj_adequate else 'no'} |"
            + (f" ({r.error})" if isinstance(r.error, str) else "")
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    from project.cg.userfit import fit_user_run

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("aa_dirs", nargs="+", help="all-atom folders (aa.json, aa_topology.tpr, aa_traj.xtc)")
    ap.add_argument("--out", required=True, help="results folder (JSON per molecule, fit_table.csv/.md)")
    ap.add_argument("--work", required=True, help="folder of the CG check runs (cached by parameters and seed)")
    ap.add_argument("--seeds", type=int, default=3, help="CG check runs per bead (count; default 3)")
    ap.add_argument("--threads", type=int, default=1, help="MD threads per run (count; default 1)")
    ap.add_argument("--summary-only", action="store_true", help="only rewrite summary.md from fit_table.csv")
    args = ap.parse_args(argv)
    if args.summary_only:
        import pandas as pd

        (Path(args.out) / "summary.md").write_text(summary(pd.read_csv(Path(args.out) / "fit_table.csv")))
        return 0
    logging.basicConfig(level=logging.WARNING)
    import pandas as pd

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    all_rows = []
    table = out / "fit_table.csv"
    if table.is_file():
        all_rows = pd.read_csv(table).to_dict("records")
    for d in map(Path, args.aa_dirs):
        aa = json.loads((d / "aa.json").read_text())
        name = aa["molecule"]
        t0 = time.perf_counter()
        res, rdf, _ = fit_user_run(d / "aa_topology.tpr", d / "aa_traj.xtc", aa["T_K"], pressure_bar=aa["P_bar"])
        res["cg_fit_wall_s"] = time.perf_counter() - t0
        (out / f"{name}_cg_fit.json").write_text(json.dumps(res, indent=1, default=float) + "\n")
        rows = check_runs(name, res, rdf, aa, args.seeds, Path(args.work), args.threads)
        all_rows = [r for r in all_rows if r["molecule"] != name] + rows
        df = pd.DataFrame(all_rows)
        df.to_csv(table, index=False)
        (out / "fit_table.md").write_text(markdown(df))
        sys.stdout.write(
            df[df.molecule == name][
                [
                    "molecule",
                    "bead",
                    "sigma_nm",
                    "epsilon_kJ_mol",
                    "total_deviation_nm",
                    "total_deviation_nm_se",
                    "kl_divergence",
                    "kl_divergence_se",
                    "P_cg_bar",
                    "P_eos_bar",
                    "P_aa_bar",
                    "error",
                ]
            ].to_string()
            + "\n"
        )
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
