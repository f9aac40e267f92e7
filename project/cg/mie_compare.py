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

Where the comparison has the all-atom pressure, a third row (metric ``D at P_AA``) holds the pressure-constrained Mie
bead (:func:`project.cg.objective.refine_mie_with_pressure`: the lowest D among Mie beads whose SAFT-VR Mie pressure
is the all-atom one, from the comparison's LJ pressure-constrained bead), simulated the same way, beside that LJ
pressure-constrained bead's simulated D and pressure (``lj_pressure_bead``, ``P_lj_pressure_bar``); its
``gap_closed`` is against the unconstrained LJ optimum of D.

:func:`published_rows` simulates, the same way, the published single-site Mie lambda_r-6 models of the molecule
(:data:`PUBLISHED_MIE`: fitted to the real fluid's thermodynamics, not to these all-atom models) at the all-atom
state, with the structural check of the data space on every run (a steep wall at T* 0.62-0.73 is near freezing).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from project.cg.lj import CGSettings

#: comparison.csv row, optimum metric and objective name of each metric.
METRIC_ROWS = {"D": ("total_deviation_nm", "total-deviation"), "KL": ("kl_divergence", "kl")}
#: The metric label of the pressure-constrained Mie bead's row.
PRESSURE_ROW = "D at P_AA"

#: Published single-site (one segment) Mie lambda_r-6 models: sigma (Angstrom), epsilon / k_B (K), lambda_r. The
#: M&M corresponding-states values (Mejia, Herdes, Mueller, Ind. Eng. Chem. Res. 53, 4131 (2014)) are those Chaparro
#: and Mueller evaluated with NIST critical data; theirs and their VLE fits were read in their repository
#: (gustavochm/Square-Peg-Mie, 1_calculation_scripts/1_4_methane, 1_6_nitrogen, 1_7_co, 4_summary_table.ipynb).
PUBLISHED_MIE = {
    "CH4": (
        ("SAFT-VR Mie, Lafitte et al., J. Chem. Phys. 139, 154504 (2013)", 3.7412, 153.36, 12.650),
        ("M&M correlation (Mejia et al. 2014), as evaluated by Chaparro, Mueller (2025)", 3.7393, 162.71, 14.793),
    ),
    "N2": (
        ("M&M correlation (Mejia et al. 2014), as evaluated by Chaparro, Mueller (2025)", 3.6455, 120.65, 19.111),
        ("Chaparro, Mueller, Mol. Syst. Des. Eng. (2025), fitted to VLE", 3.6589, 115.19, 16.295),
    ),
    "CO": (
        ("M&M correlation (Mejia et al. 2014), as evaluated by Chaparro, Mueller (2025)", 3.6806, 130.95, 20.666),
        ("Chaparro, Mueller, Mol. Syst. Des. Eng. (2025), fitted to VLE", 3.6930, 126.29, 17.892),
    ),
}


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
    from project.cg.objective import refine_mie_for_objective, refine_mie_with_pressure
    from project.cg.optimum import evaluate_bead, shipped_target

    res = Path(results_dir)
    comp = pd.read_csv(res / "comparison.csv")
    rows = comp[comp.molecule == molecule]
    target = shipped_target(res, molecule)
    ibi = rows[rows.row == "ibi"].iloc[0]
    p_aa = float(ibi["P_aa_bar"])
    jobs = []
    for metric, (col, objective) in METRIC_ROWS.items():
        start = rows[rows.row == objective].iloc[0]
        s0 = (float(start.sigma_nm), float(start.epsilon_kJ_mol))
        jobs.append((metric, col, refine_mie_for_objective(target.r, target.g, target.T, target.rho, s0, objective)))
    lj_p = rows[rows.row == "pressure"]
    if np.isfinite(p_aa) and len(lj_p):
        s0 = (float(lj_p.iloc[0].sigma_nm), float(lj_p.iloc[0].epsilon_kJ_mol))
        bead = refine_mie_with_pressure(target.r, target.g, target.T, target.rho, s0, p_aa, "total-deviation")
        jobs.append((PRESSURE_ROW, "total_deviation_nm", bead))
    out = []
    for metric, col, bead in jobs:
        ev = evaluate_bead(
            target, settings, Path(runs), bead["sigma"], bead["epsilon"], seeds, lambda_r=bead["lambda_r"]
        )
        key = "D" if metric == PRESSURE_ROW else metric
        opt_path = Path(optimum_dir) / f"optimum_{molecule}_{key}.json"
        opt = json.loads(opt_path.read_text()) if opt_path.is_file() else None
        lj_v, lj_se = (opt["value"], opt["se"]) if opt else (np.nan, np.nan)
        ibi_v, ibi_se = float(ibi[col]), float(ibi[f"{col}_se"])
        closed, closed_se = gap_closed(lj_v, lj_se, ev[key], ev[f"{key}_se"], ibi_v, ibi_se)
        row = {
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
            "mie": ev[key],
            "mie_se": ev[f"{key}_se"],
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
            "P_aa_bar": p_aa,
        }
        if metric == PRESSURE_ROW:
            b = lj_p.iloc[0]
            row.update(
                lj_pressure_bead=float(b.total_deviation_nm),
                lj_pressure_bead_se=float(b.total_deviation_nm_se),
                P_lj_pressure_bar=float(b.P_cg_bar),
                P_lj_pressure_se_bar=float(b.P_cg_bar_se),
            )
        out.append(row)
    return pd.DataFrame(out)


def published_rows(
    results_dir: Path | str, molecule: str, settings: CGSettings, runs: Path | str, seeds: int = 3
) -> pd.DataFrame:
    """One row per published model of :data:`PUBLISHED_MIE` for ``molecule`` (none: an empty table): its parameters
    (sigma nm, epsilon kJ/mol, lambda_r), T* and rho* at the all-atom state, simulated D (nm), KL and P (bar) with
    standard errors over ``seeds`` check runs (LAMMPS), the SAFT-VR Mie pressure there, the all-atom pressure, and the
    structural verdict of the runs (``liquid`` when every run stayed liquid, else the first other verdict)."""
    from project.cg.compare import check_lj
    from project.cg.objective import eos_thermo
    from project.cg.optimum import evaluate_bead, shipped_target
    from project.structure import check_structure
    from project.units import KB

    res = Path(results_dir)
    comp = pd.read_csv(res / "comparison.csv")
    p_aa = float(comp[(comp.molecule == molecule) & (comp.row == "ibi")].iloc[0]["P_aa_bar"])
    target = shipped_target(res, molecule)
    out = []
    for source, sigma_a, eps_k, lam in PUBLISHED_MIE.get(molecule, ()):
        sigma, eps = sigma_a / 10.0, eps_k * KB
        ev = evaluate_bead(target, settings, Path(runs), sigma, eps, seeds, lambda_r=lam)
        done, _ = check_lj(target, settings, Path(runs), sigma, eps, seeds=seeds, lambda_r=lam)  # cached: no rerun
        verdicts = [
            check_structure(Path(r["workdir"]) / "topology.pdb", Path(r["workdir"]) / "traj.xtc").verdict for r in done
        ]
        other = [v for v in verdicts if v != "liquid"]
        out.append(
            {
                "molecule": molecule,
                "source": source,
                "sigma_nm": sigma,
                "epsilon_kJ_mol": eps,
                "lambda_r": lam,
                "T_star": KB * target.T / eps,
                "rho_star": target.rho * sigma**3,
                **{k: ev[k] for k in ("D", "D_se", "KL", "KL_se", "P", "P_se", "n")},
                "P_eos_mie_bar": eos_thermo(sigma, eps, target.T, target.rho, lambda_r=lam)["P_bar"],
                "P_aa_bar": p_aa,
                "structure": other[0] if other else ("liquid" if verdicts else "not run"),
            }
        )
    return pd.DataFrame(out)


def published_markdown(tables: list[pd.DataFrame]) -> str:
    """Markdown table of :func:`published_rows` (several molecules)."""
    lines = [
        "| molecule | published model | sigma (nm), epsilon (kJ/mol), lambda_r | T*, rho* | structure | D (nm) | KL | "
        "P (bar) | P SAFT-VR Mie (bar) | P AA (bar) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for t in tables:
        for _, r in t.iterrows():
            lines.append(
                f"| {r.molecule} | {r.source} | {r.sigma_nm:.4f}, {r.epsilon_kJ_mol:.4f}, {r.lambda_r:.4g} | "
                f"{r.T_star:.3f}, {r.rho_star:.3f} | {r.structure} | {r.D:.4g} +- {r.D_se:.2g} | "
                f"{r.KL:.3g} +- {r.KL_se:.2g} | {r.P:.0f} +- {r.P_se:.0f} | {r.P_eos_mie_bar:.0f} | "
                f"{r.P_aa_bar:.0f} |"
            )
    return "\n".join(lines) + "\n"


def mie_markdown(tables: list[pd.DataFrame]) -> str:
    """Markdown tables of :func:`mie_gap` rows (several molecules): the beads refined per metric, then the
    pressure-constrained beads (where any)."""
    lines = [
        "| molecule | metric | Mie bead: sigma (nm), epsilon (kJ/mol), lambda_r | T*, rho* | in domain | "
        "predicted | simulated | LJ optimum | IBI | gap closed | P Mie (bar) | P AA (bar) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    pressure = []
    for t in tables:
        for _, r in t.iterrows():
            if r.metric == PRESSURE_ROW:
                pressure.append(r)
                continue
            lines.append(
                f"| {r.molecule} | {r.metric} | {r.sigma_nm:.4f}, {r.epsilon_kJ_mol:.4f}, {r.lambda_r:.3g} | "
                f"{r.T_star:.2f}, {r.rho_star:.3f} | {_domain(r)} | {r.predicted:.4g} | {r.mie:.4g} +- "
                f"{r.mie_se:.2g} | {r.lj_optimum:.4g} +- {r.lj_optimum_se:.2g} | {r.ibi:.4g} +- {r.ibi_se:.2g} | "
                f"{r.gap_closed:.2f} +- {r.gap_closed_se:.2f} | {r.P_mie_bar:.0f} +- {r.P_mie_se_bar:.0f} | "
                f"{r.P_aa_bar:.0f} |"
            )
    if pressure:
        lines += [
            "",
            "Pressure-constrained beads (SAFT-VR Mie pressure = all-atom pressure; D in nm):",
            "",
            "| molecule | Mie bead: sigma (nm), epsilon (kJ/mol), lambda_r | T*, rho* | in domain | predicted D | "
            "simulated D | LJ pressure bead D | LJ optimum D | IBI D | P Mie (bar) | P LJ bead (bar) | P AA (bar) |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in pressure:
            lines.append(
                f"| {r.molecule} | {r.sigma_nm:.4f}, {r.epsilon_kJ_mol:.4f}, {r.lambda_r:.3g} | {r.T_star:.2f}, "
                f"{r.rho_star:.3f} | {_domain(r)} | {r.predicted:.4g} | {r.mie:.4g} +- {r.mie_se:.2g} | "
                f"{r.lj_pressure_bead:.4g} +- {r.lj_pressure_bead_se:.2g} | {r.lj_optimum:.4g} +- "
                f"{r.lj_optimum_se:.2g} | {r.ibi:.4g} +- {r.ibi_se:.2g} | {r.P_mie_bar:.0f} +- "
                f"{r.P_mie_se_bar:.0f} | {r.P_lj_pressure_bar:.0f} +- {r.P_lj_pressure_se_bar:.0f} | "
                f"{r.P_aa_bar:.0f} |"
            )
    return "\n".join(lines) + "\n"


def _domain(r) -> str:
    dom = "yes" if r.in_domain else "no"
    if isinstance(r.bounds_hit, str) and r.bounds_hit:
        dom += " (at " + r.bounds_hit.split(" (")[0] + ")"
    return dom
