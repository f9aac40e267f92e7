"""Reporting of the coarse-graining comparison (:mod:`project.cg.compare`): Markdown, plots, files, catalogue.

Units: sigma nm, epsilon kJ/mol, T K, D (total deviation) nm, KL dimensionless (shown in 1e-4), P bar, U kJ/mol per
molecule, CPU and wall times s.

:func:`write_comparison` runs :func:`project.cg.compare.compare_molecule` on every molecule folder and writes the
table (Markdown, CSV), the target check, the Pareto points, the amortised library cost, per molecule the overlay
and Pareto plots, the target RDF and the all-atom summary, and a ``cg_fit`` record in the results catalogue.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd

from project.atomic import atomic_path, atomic_write_text
from project.cg.compare import (
    ITERATIVE_ROWS,
    ROWS,
    compare_molecule,
    first_check_rdf,
    library_cost,
    measured_speed,
    target_check,
)
from project.cg.lj import CGSettings
from project.cg.pipeline import AA_RDF_NAME, load_target
from project.rdf import load_rdf, save_rdf


def _fmt(v: float, f: str) -> str:
    return f"{v:{f}}" if isinstance(v, (int, float)) and np.isfinite(v) else "n/a"


def _pm(v: float, e: float, f: str) -> str:
    """``v +- e`` in format ``f`` (``.Nf``), with more decimals where ``e`` would print as zero: then ``e`` gets two
    significant digits (a standard error is never shown as 0.0000)."""
    if not np.isfinite(v):
        return "n/a"
    if not np.isfinite(e):
        return f"{v:{f}}"
    decimals = int(f[1:-1])
    if 0 < e and round(e, decimals) == 0:
        f = f".{1 - int(np.floor(np.log10(e)))}f"
    return f"{v:{f}} +- {e:{f}}"


def _converged(value) -> str:
    """The ``converged`` cell: yes / no for an iterative method, empty for a one-shot bead (no iterations)."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value == "":
        return ""
    return "yes" if str(value) in ("True", "1", "1.0") else "no"


def _interval(r: pd.Series, metric: str, base: str) -> str:
    """``ratio [lo, hi]`` of one target-check row against one baseline (n/a without check runs)."""
    key = f"{metric}_over_{base}"
    if not np.isfinite(r[key]):
        return "n/a"
    lo, hi = r[f"{key}_lo95"], r[f"{key}_hi95"]
    return f"{r[key]:.2f} [{lo:.2f}, {hi:.2f}]" if np.isfinite(lo) else f"{r[key]:.2f}"


def markdown(table: pd.DataFrame, check: pd.DataFrame, library: dict) -> str:
    """The comparison as markdown: per molecule the rows, the ratios of the one-shot beads, the cost."""
    lines = [
        "# Coarse-graining comparison",
        "",
        "Units: sigma nm, epsilon kJ/mol, D nm (integral of |g_AA - g_CG| dr, 0-1.2 nm), KL 1e-4, P bar, U kJ/mol "
        "per molecule, times s. D, KL, P and U: mean +- standard error of the check runs (seeds 101...). "
        "N_fit: CG simulations used before the parameters were fixed; converged: whether the iterative method met its "
        "own convergence test (empty for one-shot beads). Definitions: docs/coarse_graining.md.",
        "",
    ]
    for mol, sub in table.groupby("molecule", sort=False):
        adequate = bool(sub.lj_adequate.iloc[0])
        lines += [
            f"## {mol}",
            "",
            "One LJ fluid describes the COM RDF (residual verdict of the fit)."
            if adequate
            else "The residual verdict says one LJ fluid does not describe this COM RDF within its noise: every "
            "single-bead row is an approximation.",
            "",
            "| row | sigma | epsilon | T* | D | KL | P_CG | P_EOS | P_AA | U_CG | U_AA | N_fit | converged | CPU s "
            "| end-to-end s | note |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for _, r in sub.iterrows():
            cells = [
                r.row,
                _fmt(r.sigma_nm, ".4f"),
                _fmt(r.epsilon_kJ_mol, ".4f"),
                _fmt(r.T_star, ".3f"),
                _pm(r.total_deviation_nm, r.total_deviation_nm_se, ".4f"),
                _pm(1e4 * r.kl_divergence, 1e4 * r.kl_divergence_se, ".2f"),
                _pm(r.P_cg_bar, r.P_cg_bar_se, ".0f"),
                _fmt(r.P_eos_bar, ".0f"),
                _pm(r.P_aa_bar, r.P_aa_se_bar, ".0f"),
                _pm(r.U_cg_kJ_mol, r.U_cg_kJ_mol_se, ".3f"),
                _fmt(r.U_aa_kJ_mol, ".3f"),
                str(r.n_fit),
                _converged(r.converged),
                _fmt(r.cpu_s, ".0f"),
                _fmt(r.end_to_end_s, ".0f"),
                r.note,
            ]
            lines.append("| " + " | ".join(cells) + " |")
        c = check[check.molecule == mol]
        base = [b for b in ITERATIVE_ROWS if f"D_over_{b}" in c.columns and c[f"D_over_{b}"].notna().any()]
        head = " | ".join(f"D/{b} | KL/{b}" for b in base)
        if len(c):
            first = c.iloc[0]
            lines += [
                "",
                f"Ratios with their 95 % t-intervals from the pooled within-molecule log standard deviation "
                f"(D: {_fmt(first.D_pooled_log_sd, '.3f')}, {first.D_dof} dof; KL: "
                f"{_fmt(first.KL_pooled_log_sd, '.3f')}, {first.KL_dof} dof); a verdict needs the intervals to "
                "separate.",
            ]
        lines += [
            "",
            f"| one-shot bead | {head} | not dominated | objective met | target met |",
            "|---|" + "---|---|" * len(base) + "---|---|---|",
        ]
        for _, r in c.iterrows():
            cells = " | ".join(f"{_interval(r, 'D', b)} | {_interval(r, 'KL', b)}" for b in base)
            om = "" if r.objective_met is None or pd.isna(r.objective_met) else str(bool(r.objective_met))
            lines.append(f"| {r.oneshot_bead} | {cells} | {r.not_dominated} | {om} | {r.target_met} |")
        lines.append("")
    lines += [
        "## Training library (amortised)",
        "",
        f"{library['n_jobs']} LJ systems, {library['bead_steps']:.3g} bead-steps: about "
        f"{library['simulate_cpu_s'] / 3600:.2f} CPU h of simulation at the check runs' measured speed "
        f"({library['seconds_per_bead_step'] * 1e9:.0f} ns per bead-step), plus {library['train_cpu_s'] / 60:.0f} "
        f"min of training: {library['total_cpu_s'] / 3600:.2f} CPU h in all, paid once for every molecule.",
        "",
    ]
    for method in ("relent", "simplex"):
        cpu = table.loc[table.row == method, "cpu_s"].dropna()
        if len(cpu):
            lines.append(
                f"* {method}: median {cpu.median():.0f} CPU s per molecule here; the library equals "
                f"{library['total_cpu_s'] / cpu.median():.0f} such fits."
            )
    lines.append("")
    return "\n".join(lines)


def _save_png(fig, path: Path) -> Path:
    """Write a matplotlib figure to a PNG atomically and close it."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    try:
        with atomic_path(path, suffix=".png") as tmp:
            fig.savefig(tmp, dpi=110)
    finally:
        plt.close(fig)
    return path


def pareto_plot(pts: pd.DataFrame, table: pd.DataFrame, path: Path | str) -> Path:
    """D-KL plane of one molecule: every simulated LJ model, the Pareto front, and each row with its errors (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    fig, ax = plt.subplots(figsize=(6.2, 4.6))
    ax.scatter(pts.total_deviation_nm, 1e4 * pts.kl_divergence, s=8, c="0.75", label="simulated LJ models")
    front = pts[pts.pareto].sort_values("total_deviation_nm")
    ax.plot(front.total_deviation_nm, 1e4 * front.kl_divergence, "k-", lw=1.2, label="Pareto front (LJ)")
    markers = dict(zip(ROWS, "o^sDvPX*h", strict=True))
    for _, r in table.iterrows():
        if r.n_check_runs == 0:
            continue
        ax.errorbar(
            r.total_deviation_nm,
            1e4 * r.kl_divergence,
            xerr=2 * r.total_deviation_nm_se,
            yerr=2e4 * r.kl_divergence_se,
            fmt=markers[r.row],
            ms=7,
            capsize=2,
            label=r.row,
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("D = integral |g_AA - g_CG| dr (nm)")
    ax.set_ylabel("KL divergence (1e-4)")
    ax.set_title(f"{table.molecule.iloc[0]}: single-bead LJ models (error bars 2 s.e.)")
    ax.legend(fontsize=7, ncol=2)
    return _save_png(fig, path)


def overlay_plot(job_dir: Path | str, table: pd.DataFrame, path: Path | str) -> Path:
    """AA COM RDF and the first check run's RDF of every row of one molecule, with the differences (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    job_dir, path = Path(job_dir), Path(path)
    aa = load_rdf(job_dir / AA_RDF_NAME)
    fig, (ax, axd) = plt.subplots(2, 1, figsize=(6.5, 6), sharex=True, gridspec_kw={"height_ratios": [3, 1.3]})
    ax.plot(aa.r_nm, aa.g, "k-", lw=2.2, label="AA (COM)")
    for _, r in table.iterrows():
        f = first_check_rdf(job_dir, r.row)
        if f is None:
            continue
        cg = load_rdf(f)
        ax.plot(cg.r_nm, cg.g, lw=1.0, label=f"{r.row} (D={r.total_deviation_nm:.3f} nm)")
        axd.plot(cg.r_nm, cg.g - aa.g, lw=0.9)
    ax.set_ylabel("g(r)")
    ax.set_title(f"{table.molecule.iloc[0]}: centre-of-mass RDF, AA vs CG check runs")
    ax.legend(fontsize=7)
    axd.axhline(0, color="k", lw=0.8)
    axd.set_xlabel("r (nm)")
    axd.set_ylabel("g_CG - g_AA")
    ax.set_xlim(0.2, float(aa.r_nm[-1]))
    return _save_png(fig, path)


def _write_tables(out_dir: Path, table: pd.DataFrame, check: pd.DataFrame, pts: pd.DataFrame, library: dict) -> dict:
    """``comparison.md``, ``comparison.csv``, ``target_check.csv``, ``pareto.csv``, ``library_cost.json``."""
    paths = {
        "markdown": out_dir / "comparison.md",
        "csv": out_dir / "comparison.csv",
        "target_check": out_dir / "target_check.csv",
        "pareto": out_dir / "pareto.csv",
        "library": out_dir / "library_cost.json",
    }
    atomic_write_text(paths["markdown"], markdown(table, check, library))
    for key, df in (("csv", table), ("target_check", check), ("pareto", pts)):
        with atomic_path(paths[key]) as tmp:
            df.to_csv(tmp, index=False)
    atomic_write_text(paths["library"], json.dumps(library, indent=1) + "\n")
    return paths


def _write_molecule_files(out_dir: Path, job_dir: Path, table: pd.DataFrame, pts: pd.DataFrame) -> dict:
    """Per molecule: the target RDF and all-atom summary beside the results, both plots; the RDF paths."""
    mol = table.molecule.iloc[0]
    save_rdf(load_rdf(job_dir / AA_RDF_NAME), out_dir / f"com_rdf_{mol}.npz")  # the target, beside its results
    atomic_write_text(out_dir / f"aa_{mol}.json", (job_dir / "aa.json").read_text())
    paths = {
        f"plot_{mol}": overlay_plot(job_dir, table, out_dir / f"rdf_{mol}.png"),
        f"pareto_{mol}": pareto_plot(pts[pts.molecule == mol], table, out_dir / f"pareto_{mol}.png"),
        f"rdf_aa__{mol}": job_dir / AA_RDF_NAME,
    }
    for row in table.row:
        f = first_check_rdf(job_dir, row)
        if f is not None:
            paths[f"rdf_cg__{mol}__{row}"] = f
    return paths


def _record(
    catalogue_path: Path | str,
    table: pd.DataFrame,
    paths: dict,
    seeds: int,
    settings: CGSettings,
    code_version: str | None,
) -> str:
    """Record the comparison in the results catalogue (kind ``cg_fit``); returns the run id."""
    from project.catalogue import Catalogue

    metrics = {
        f"{r.molecule}__{r.row}__{k}": getattr(r, k)
        for r in table.itertuples()
        for k in ("total_deviation_nm", "kl_divergence", "n_fit", "cpu_s")
    }
    return Catalogue(catalogue_path).record(
        "cg_fit",
        None,
        settings={
            "molecules": table.molecule.unique().tolist(),
            "rows": list(ROWS),
            "seeds": seeds,
            "cg_settings": asdict(settings),
        },
        metrics={k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in metrics.items()},
        artefacts={k: str(v) for k, v in paths.items()},
        code_version=code_version,
        note="coarse-graining comparison (project.cg.compare)",
    )


def write_comparison(
    job_dirs: list[Path | str],
    out_dir: Path | str,
    settings: CGSettings | None = None,
    *,
    catalogue_path: Path | str | None = None,
    code_version: str | None = None,
    seeds: int = 3,
    run_missing: bool = True,
    scan_n: int = 6,
    model_path: str | Path | None = None,
) -> dict:
    """Run what is missing and write the comparison of the molecule folders to ``out_dir``.

    Files: ``comparison.md`` and ``comparison.csv`` (every row), ``target_check.csv`` (one row per molecule and
    one-shot bead), ``pareto.csv`` (every simulated LJ model with its ``pareto`` flag), ``library_cost.json``, and
    per molecule ``rdf_<molecule>.png`` (overlay), ``pareto_<molecule>.png``, the target ``com_rdf_<molecule>.npz``
    and the all-atom summary ``aa_<molecule>.json``; all written atomically. The run is recorded in
    the results catalogue (kind ``cg_fit``) if a path is given; its artefacts name these files plus the RDF arrays
    the dashboard overlays (``rdf_aa__<molecule>``, ``rdf_cg__<molecule>__<row>``).

    Parameters
    ----------
    job_dirs : list of path
        Molecule folders (all-atom run and COM RDF).
    out_dir : path
        Output folder (created).
    settings : CGSettings or None
        CG run settings of the check runs, scan and missing methods (default :class:`CGSettings`).
    catalogue_path : path or None
        Results catalogue (SQLite) to record the comparison in (None: no record).
    code_version : str or None
        Code version stored with the record.
    seeds, run_missing, scan_n, model_path
        As in :func:`project.cg.compare.compare_molecule`.

    Returns
    -------
    dict
        ``paths``, ``table`` and ``target_check`` as records, ``library`` (amortised cost), ``catalogue_run_id``.

    Raises
    ------
    ProjectError
        A folder without an all-atom run or COM RDF, or fewer than 2 seeds.
    """
    out_dir = Path(out_dir)
    settings = settings or CGSettings()
    dirs = [Path(d) for d in job_dirs]
    for d in dirs:
        load_target(d)  # refuses a folder without the all-atom run and COM RDF before anything runs
    tables, clouds = [], []
    for d in dirs:
        t, p = compare_molecule(d, settings, seeds=seeds, run_missing=run_missing, scan_n=scan_n, model_path=model_path)
        tables.append(t)
        clouds.append(p)
    table = pd.concat(tables, ignore_index=True)
    pts = pd.concat(clouds, ignore_index=True)
    check = target_check(table)
    speed = measured_speed(dirs)
    library = {**library_cost(speed), "seconds_per_bead_step": speed}
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = _write_tables(out_dir, table, check, pts, library)
    for d, t in zip(dirs, tables, strict=True):
        paths.update(_write_molecule_files(out_dir, d, t, pts))
    run_id = None
    if catalogue_path is not None:
        run_id = _record(catalogue_path, table, paths, seeds, settings, code_version)
    return {
        "paths": {k: str(v) for k, v in paths.items()},
        "table": json.loads(table.to_json(orient="records")),
        "target_check": json.loads(check.to_json(orient="records")),
        "library": library,
        "catalogue_run_id": run_id,
    }


__all__ = ["markdown", "overlay_plot", "pareto_plot", "write_comparison"]
