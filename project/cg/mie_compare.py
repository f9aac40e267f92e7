"""How much of the gap between the best LJ bead and the IBI table a Mie lambda_r-6 bead closes, in CG simulations.

Units: sigma nm, epsilon kJ/mol, T K, total deviation D nm, KL dimensionless, pressure bar.

For one molecule of a comparison (:func:`mie_gap`): the Mie bead refined for each metric through the Mie forward
model (:func:`project.cg.objective.refine_mie_for_objective`, from the comparison's LJ bead refined for that
metric) is re-simulated with the check seeds on the Mie engine (LAMMPS; :func:`project.cg.optimum.evaluate_bead`),
and set beside the simulated LJ optimum of that metric (``optimum_<molecule>_<metric>.json`` of ``cg optimum``)
and the IBI table's check runs (``comparison.csv``). The fraction of the gap closed is

    (metric_LJ,opt - metric_Mie) / (metric_LJ,opt - metric_IBI),

with its standard error from the three standard errors (first order); the pressure of each bead (CG runs) beside
the all-atom pressure.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from project.cg.lj import CGSettings

#: comparison.csv row, optimum metric and objective name of each metric.
METRIC_ROWS = {"D": ("total_deviation_nm", "total-deviation"), "KL": ("kl_divergence", "kl")}


def gap_closed(lj: float, lj_se: float, mie: float, mie_se: float, ibi: float, ibi_se: float) -> tuple[float, float]:
    """Fraction (lj - mie) / (lj - ibi) of the LJ-IBI gap a Mie bead closes, and its first-order standard error
    (NaN where the LJ optimum is not worse than IBI)."""
    gap = lj - ibi
    if not gap > 0:
        return float("nan"), float("nan")
    f = (lj - mie) / gap
    se = np.sqrt(mie_se**2 + ((1 - f) * lj_se) ** 2 + (f * ibi_se) ** 2) / gap
    return float(f), float(se)


def mie_gap(
    results_dir: Path | str,
    molecule: str,
    settings: CGSettings,
    runs: Path | str,
    optimum_dir: Path | str,
    seeds: int = 3,
) -> pd.DataFrame:
    """One row per metric: the Mie bead (sigma, epsilon, lambda_r, predicted and simulated metric, P), the LJ
    optimum's and the IBI table's simulated metric, and the gap closed (module docstring)."""
    from project.cg.objective import refine_mie_for_objective
    from project.cg.optimum import evaluate_bead, shipped_target

    res = Path(results_dir)
    comp = pd.read_csv(res / "comparison.csv")
    rows = comp[comp.molecule == molecule]
    target = shipped_target(res, molecule)
    ibi = rows[rows.row == "ibi"].iloc[0]
    out = []
    for metric, (col, objective) in METRIC_ROWS.items():
        start = rows[rows.row == objective].iloc[0]
        bead = refine_mie_for_objective(
            target.r, target.g, target.T, target.rho, (float(start.sigma_nm), float(start.epsilon_kJ_mol)), objective
        )
        ev = evaluate_bead(
            target, settings, Path(runs), bead["sigma"], bead["epsilon"], seeds, lambda_r=bead["lambda_r"]
        )
        opt_path = Path(optimum_dir) / f"optimum_{molecule}_{metric}.json"
        opt = json.loads(opt_path.read_text()) if opt_path.is_file() else None
        lj_v, lj_se = (opt["value"], opt["se"]) if opt else (np.nan, np.nan)
        ibi_v, ibi_se = float(ibi[col]), float(ibi[f"{col}_se"])
        closed, closed_se = gap_closed(lj_v, lj_se, ev[metric], ev[f"{metric}_se"], ibi_v, ibi_se)
        out.append(
            {
                "molecule": molecule,
                "metric": metric,
                "sigma_nm": bead["sigma"],
                "epsilon_kJ_mol": bead["epsilon"],
                "lambda_r": bead["lambda_r"],
                "T_star": bead["T_star"],
                "rho_star": bead["rho_star"],
                "in_domain": bead["in_domain"],
                "bounds_hit": "; ".join(bead["bounds_hit"]),
                "predicted": bead["value"],
                "mie": ev[metric],
                "mie_se": ev[f"{metric}_se"],
                "n_check_runs": ev["n"],
                "lj_optimum": lj_v,
                "lj_optimum_se": lj_se,
                "ibi": ibi_v,
                "ibi_se": ibi_se,
                "gap_closed": closed,
                "gap_closed_se": closed_se,
                "P_mie_bar": ev["P"],
                "P_mie_se_bar": ev["P_se"],
                "P_eos_mie_bar": bead["eos"]["P_bar"],
                "P_aa_bar": float(ibi["P_aa_bar"]),
            }
        )
    return pd.DataFrame(out)


def mie_markdown(tables: list[pd.DataFrame]) -> str:
    """Markdown table of :func:`mie_gap` rows (several molecules)."""
    lines = [
        "| molecule | metric | Mie bead: sigma (nm), epsilon (kJ/mol), lambda_r | T*, rho* | in domain | "
        "predicted | simulated | LJ optimum | IBI | gap closed | P Mie (bar) | P AA (bar) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for t in tables:
        for _, r in t.iterrows():
            dom = "yes" if r.in_domain else "no"
            if isinstance(r.bounds_hit, str) and r.bounds_hit:
                dom += " (at " + r.bounds_hit.split(" (")[0] + ")"
            lines.append(
                f"| {r.molecule} | {r.metric} | {r.sigma_nm:.4f}, {r.epsilon_kJ_mol:.4f}, {r.lambda_r:.3g} | "
                f"{r.T_star:.2f}, {r.rho_star:.3f} | {dom} | {r.predicted:.4g} | {r.mie:.4g} +- {r.mie_se:.2g} | "
                f"{r.lj_optimum:.4g} +- {r.lj_optimum_se:.2g} | {r.ibi:.4g} +- {r.ibi_se:.2g} | "
                f"{r.gap_closed:.2f} +- {r.gap_closed_se:.2f} | {r.P_mie_bar:.0f} +- {r.P_mie_se_bar:.0f} | "
                f"{r.P_aa_bar:.0f} |"
            )
    return "\n".join(lines) + "\n"
