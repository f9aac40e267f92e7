"""Comparison of the coarse-graining methods: table (markdown + CSV), RDF overlay plots, catalogue record.

Units: sigma nm, epsilon kJ/mol, total deviation nm, KL dimensionless, wall time s.

The table has one row per (molecule, method) with the final bead parameters, the reduced state (T*, rho*), the
two metrics of :mod:`project.cg.metrics` against the AA COM RDF, the number of CG simulations, the wall time and
whether the method met its convergence criterion. The target check compares each one-shot method (``oneshot``,
``oneshot_refined``) with the best *single-bead LJ* baseline (``ibi_lj``, ``relent``, ``simplex``) on each metric
(within 10 %: ``accuracy_met``) and with the fewest simulations of any iterative method (at least 10x fewer as
well: ``target_met``). The tabulated IBI potential is listed for reference but
is not an LJ bead, so it is not part of the "best baseline" (a free-form table can match any RDF to the noise).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from project.atomic import atomic_path, atomic_write_text
from project.cg.pipeline import AA_RDF_NAME, LJ_BASELINES, METHODS, ONE_SHOT, load_result
from project.errors import ProjectError
from project.rdf import load_rdf

logger = logging.getLogger(__name__)

ITERATIVE = ("ibi", "ibi_lj", "relent", "simplex")
COLUMNS = {
    "molecule": "molecule",
    "method": "method",
    "sigma": "sigma_nm",
    "epsilon": "epsilon_kJ_mol",
    "T_star": "T_star",
    "rho_star": "rho_star",
    "total_deviation_nm": "total_deviation_nm",
    "kl_divergence": "kl_divergence",
    "n_simulations": "n_simulations",
    "wall_s": "wall_s",
    "converged": "converged",
}


def collect(job_dirs: list[Path | str]) -> pd.DataFrame:
    """Gather every finished method result of the molecule folders into one table (columns of :data:`COLUMNS`)."""
    rows = []
    for d in job_dirs:
        for method in METHODS:
            res = load_result(d, method)
            if res is None:
                continue
            rows.append({col: res.get(key) for key, col in COLUMNS.items()})
    df = pd.DataFrame(rows, columns=list(COLUMNS.values()))
    return df.sort_values(["molecule", "method"]).reset_index(drop=True)


def target_check(df: pd.DataFrame, tolerance: float = 0.10, sim_factor: float = 10.0) -> pd.DataFrame:
    """Per molecule and one-shot method (:data:`project.cg.pipeline.ONE_SHOT`): is its result within
    ``tolerance`` of the best LJ baseline on both metrics, and does it use at least ``sim_factor`` x fewer
    simulations than every iterative method? (NaN where data are missing.)"""
    out = []
    for mol, sub in df.groupby("molecule"):
        base = sub[sub.method.isin(LJ_BASELINES)]
        it = sub[sub.method.isin(ITERATIVE)]
        fewest = it["n_simulations"].min() if len(it) else np.nan
        for method in ONE_SHOT:
            one = sub[sub.method == method]
            if not len(one):
                continue
            row = {"molecule": mol, "method": method}
            for metric in ("total_deviation_nm", "kl_divergence"):
                best = base[metric].min() if len(base) else np.nan
                val = float(one[metric].iloc[0])
                row[f"best_baseline_{metric}"] = best
                row[f"oneshot_{metric}"] = val
                row[f"oneshot_over_best_{metric}"] = val / best if best and np.isfinite(val) else np.nan
            n_one = float(one["n_simulations"].iloc[0])
            row["fewest_iterative_simulations"] = fewest
            row["simulation_ratio"] = fewest / n_one if np.isfinite(n_one) and n_one else np.nan
            ok = [row[f"oneshot_over_best_{m}"] <= 1 + tolerance for m in ("total_deviation_nm", "kl_divergence")]
            row["accuracy_met"] = bool(all(ok)) if len(base) else None
            row["target_met"] = bool(all(ok) and row["simulation_ratio"] >= sim_factor) if len(base) else None
            out.append(row)
    return pd.DataFrame(out)


def _markdown(df: pd.DataFrame) -> str:
    cols = list(df.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, row in df.iterrows():
        cells = []
        for c in cols:
            v = row[c]
            if isinstance(v, float):
                cells.append("" if not np.isfinite(v) else (f"{v:.4g}" if c != "wall_s" else f"{v:.0f}"))
            else:
                cells.append(str(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _atomic_df_csv(df: pd.DataFrame, path: Path) -> None:
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False)


def overlay_plot(job_dir: Path | str, path: Path | str) -> Path:
    """Plot the AA COM RDF and every method's final CG RDF of one molecule (PNG, written atomically)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    job_dir, path = Path(job_dir), Path(path)
    aa = load_rdf(job_dir / AA_RDF_NAME)
    fig, (ax, axd) = plt.subplots(2, 1, figsize=(6.5, 6), sharex=True, gridspec_kw={"height_ratios": [3, 1.3]})
    ax.plot(aa.r_nm, aa.g, "k-", lw=2.2, label="AA (COM)")
    mol = ""
    for method in METHODS:
        res = load_result(job_dir, method)
        f = job_dir / "cg" / method / "rdf_cg.npz"
        if res is None or not f.is_file():
            continue
        mol = res.get("molecule", mol)
        cg = load_rdf(f)
        ax.plot(cg.r_nm, cg.g, lw=1.2, label=f"{method} (D={res['total_deviation_nm']:.3f} nm)")
        axd.plot(cg.r_nm, cg.g - aa.g, lw=1.0)
    ax.set_ylabel("g(r)")
    ax.set_title(f"{mol}: centre-of-mass RDF, AA vs single-bead CG")
    ax.legend(fontsize=8)
    axd.axhline(0, color="k", lw=0.8)
    axd.set_xlabel("r (nm)")
    axd.set_ylabel("g_CG - g_AA")
    ax.set_xlim(0.2, float(aa.r_nm[-1]))
    fig.tight_layout()
    try:
        with atomic_path(path, suffix=".png") as tmp:
            fig.savefig(tmp, dpi=110)
    finally:
        plt.close(fig)
        Path(tmp).unlink(missing_ok=True)
    return path


def write_comparison(
    job_dirs: list[Path | str],
    out_dir: Path | str,
    catalogue_path: Path | str | None = None,
    code_version: str | None = None,
) -> dict:
    """Write ``comparison.md``, ``comparison.csv``, ``target_check.csv`` and ``rdf_<molecule>.png`` to ``out_dir``
    and record the run in the results catalogue (kind ``cg_fit``) if a path is given.

    The catalogue artefacts name these files plus the RDF arrays the dashboard overlays
    (``rdf_aa__<molecule>``: the AA COM RDF, ``rdf_cg__<molecule>__<method>``: each method's final CG RDF, both
    ``.npz`` files of :func:`project.rdf.save_rdf`).

    Returns
    -------
    dict
        Paths written, the table as records, the target check and the catalogue ``run_id`` (or None).

    Raises
    ------
    ProjectError
        If no folder has any finished method result.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    df = collect(job_dirs)
    if df.empty:
        raise ProjectError("compare: no finished coarse-graining results in the given folders; run the methods first")
    check = target_check(df)
    md = [
        "# Coarse-graining comparison",
        "",
        "Units: sigma nm, epsilon kJ/mol, total deviation nm (integral of |g_AA - g_CG| dr), KL dimensionless, "
        "wall time s. Definitions: docs/coarse_graining.md.",
        "",
        _markdown(df),
        "",
        "## Target check (one-shot methods vs best single-bead LJ baseline: ibi_lj, relent, simplex)",
        "",
        _markdown(check),
    ]
    paths = {
        "markdown": out_dir / "comparison.md",
        "csv": out_dir / "comparison.csv",
        "target_check": out_dir / "target_check.csv",
    }
    atomic_write_text(paths["markdown"], "\n".join(md))
    _atomic_df_csv(df, paths["csv"])
    _atomic_df_csv(check, paths["target_check"])
    for d in job_dirs:
        d = Path(d)
        if not (d / AA_RDF_NAME).is_file():
            continue
        res = next((load_result(d, m) for m in METHODS if load_result(d, m) is not None), None)
        if res is None:
            continue
        mol = res["molecule"]
        paths[f"plot_{mol}"] = overlay_plot(d, out_dir / f"rdf_{mol}.png")
        # RDF arrays for the dashboard (project.dashboard.cg_overlays): rdf_aa__<mol>, rdf_cg__<mol>__<method>
        paths[f"rdf_aa__{mol}"] = d / AA_RDF_NAME
        for method in METHODS:
            f = d / "cg" / method / "rdf_cg.npz"
            if load_result(d, method) is not None and f.is_file():
                paths[f"rdf_cg__{mol}__{method}"] = f
    run_id = None
    if catalogue_path is not None:
        from project.catalogue import Catalogue

        metrics = {
            f"{r.molecule}.{r.method}.{k}": getattr(r, k)
            for r in df.itertuples()
            for k in ("total_deviation_nm", "kl_divergence", "n_simulations", "wall_s")
        }
        metrics = {k.replace(".", "__"): v for k, v in metrics.items()}
        run_id = Catalogue(catalogue_path).record(
            "cg_fit",
            None,
            settings={
                "molecules": sorted(df.molecule.unique().tolist()),
                "methods": sorted(df.method.unique().tolist()),
            },
            metrics=metrics,
            artefacts={k: str(v) for k, v in paths.items()},
            code_version=code_version,
            note="coarse-graining comparison (project.cg.compare)",
        )
    return {
        "paths": {k: str(v) for k, v in paths.items()},
        "table": json.loads(df.to_json(orient="records")),
        "target_check": json.loads(check.to_json(orient="records")),
        "catalogue_run_id": run_id,
    }


__all__ = ["collect", "overlay_plot", "target_check", "write_comparison"]
