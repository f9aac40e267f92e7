"""The iterative baselines as their authors would run them: repeated with independent seeds, to convergence.

Units: sigma nm, epsilon kJ/mol, T K, total deviation D nm, KL and S_rel dimensionless, CPU time s.

:func:`relent_repeats` runs relative entropy (:func:`project.cg.relent.run_relent`, T* cap 45, 30 iterations) from
the comparison's naive start with independent CG seeds; :func:`simplex_repeats` runs Nelder-Mead on a seed-averaged
objective from two starts per repeat (:func:`project.cg.simplex.run_simplex` with ``seeds_per_eval``). Every final
bead is re-simulated with the check seeds (:func:`project.cg.compare.check_lj`), so that the method's answer is
judged like every other bead; with a simulated optimum (:mod:`project.cg.optimum`) each repeat gets its regret.

The relative entropy itself is reported along the path, relative to the start: thermodynamic integration of its
gradient over the iterates, S_rel(k) - S_rel(0) = sum_j (grad_j + grad_{j+1})/2 . (lambda_{j+1} - lambda_j)
(trapezoid, lambda = (sigma, epsilon); for the N-bead system of the runs), beside the KL of the final bead.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from project.cg.lj import CGSettings
from project.cg.target import CGTarget
from project.units import KB


def srel_path(history: list[dict]) -> float:
    """S_rel of the last iterate minus that of the first (dimensionless), by the trapezoid rule over the gradients."""
    lam = np.array([[h["sigma"], h["epsilon"]] for h in history], float)
    grad = np.array([h["grad"] for h in history], float)
    if len(lam) < 2:
        return 0.0
    return float(np.sum(0.5 * (grad[1:] + grad[:-1]) * np.diff(lam, axis=0)))


def _checked(target: CGTarget, settings: CGSettings, root: Path, sigma: float, eps: float, seeds: int) -> dict:
    """Check-run means and standard errors of D and KL of one bead, with comparison.csv's column names."""
    from project.cg.optimum import evaluate_bead

    ev = evaluate_bead(target, settings, root, sigma, eps, seeds)
    out = {"n_check_runs": ev["n"], "note": ev["note"]}
    for key, col in (("D", "total_deviation_nm"), ("KL", "kl_divergence")):
        out[col], out[f"{col}_se"] = ev[key], ev[f"{key}_se"]
    return out


def _repeat_row(target, settings, check_root, method, seed, res, n_fit, cpu_s, check_seeds, **extra) -> dict:
    """One repeat's row: its final bead (``res``: sigma nm, epsilon kJ/mol, converged), cost and check runs."""
    row = {
        "method": method,
        "seed": seed,
        "sigma_nm": res["sigma"],
        "epsilon_kJ_mol": res["epsilon"],
        "T_star": KB * target.T / res["epsilon"],
        "converged": res["converged"],
        "n_fit": n_fit,
        "cpu_s": cpu_s,
    }
    row.update(extra)
    return {**row, **_checked(target, settings, check_root, res["sigma"], res["epsilon"], check_seeds)}


def relent_repeats(
    target: CGTarget,
    settings: CGSettings,
    root: Path | str,
    start: tuple[float, float],
    *,
    repeats: int = 3,
    check_seeds: int = 3,
) -> pd.DataFrame:
    """Relative entropy ``repeats`` times (CG seeds 1, 2, ...) from ``start`` (sigma nm, epsilon kJ/mol).

    Returns one row per repeat: ``seed``, final ``sigma_nm``, ``epsilon_kJ_mol``, ``T_star``, ``converged``,
    ``n_fit`` (CG simulations), ``cpu_s``, ``srel_change`` (S_rel(final) - S_rel(start)), and the final bead's
    check-run means and standard errors (``total_deviation_nm``, ``kl_divergence``).
    """
    from project.cg.relent import run_relent

    root = Path(root)
    rows = []
    for k in range(repeats):
        seed = k + 1
        res = run_relent(target, replace(settings, seed=seed), root / f"relent_seed{seed}", start=start)
        rows.append(
            _repeat_row(
                target,
                settings,
                root / "check",
                "relent",
                seed,
                res,
                res["n_simulations"],
                res["wall_s"],
                check_seeds,
                srel_change=srel_path(res["history"]),
            )
        )
    return pd.DataFrame(rows)


def simplex_repeats(
    target: CGTarget,
    settings: CGSettings,
    root: Path | str,
    start: tuple[float, float],
    *,
    repeats: int = 3,
    check_seeds: int = 3,
    seeds_per_eval: int = 3,
    second_start: tuple[float, float] = (1.03, 0.6),
) -> pd.DataFrame:
    """Nelder-Mead ``repeats`` times on the mean D of ``seeds_per_eval`` runs per evaluation, each repeat from two
    starts: ``start`` and ``start`` x ``second_start`` (relative sigma, epsilon factors); the better of the two
    (lower objective) is the repeat's answer. Columns as :func:`relent_repeats` (``srel_change`` NaN), plus
    ``objective_nm`` and ``starts``."""
    from project.cg.simplex import run_simplex

    root = Path(root)
    rows = []
    for k in range(repeats):
        seed = 1000 * (k + 1)
        runs = []
        for j, factor in enumerate(((1.0, 1.0), second_start)):
            s0 = (start[0] * factor[0], start[1] * factor[1])
            st = replace(settings, seed=seed)
            runs.append(
                run_simplex(target, st, root / f"simplex_seed{seed}_start{j}", start=s0, seeds_per_eval=seeds_per_eval)
            )
        best = min(runs, key=lambda r: r["total_deviation_nm"])
        n_fit, cpu_s = sum(r["n_simulations"] for r in runs), sum(r["wall_s"] for r in runs)
        rows.append(
            _repeat_row(
                target,
                settings,
                root / "check",
                "simplex",
                seed,
                best,
                n_fit,
                cpu_s,
                check_seeds,
                converged=all(r["converged"] for r in runs),
                srel_change=np.nan,
                objective_nm=best["total_deviation_nm"],
                starts=len(runs),
            )
        )
    return pd.DataFrame(rows)


def method_summary(rows: pd.DataFrame, optima: dict[str, dict] | None = None) -> pd.DataFrame:
    """Per method: mean and spread (std over repeats) of D, KL, sigma, epsilon, N_fit, CPU s; with ``optima``, the
    regrets of the repeats' mean D and KL (:func:`project.cg.optimum.regret`) and N_fit to regret <= 1.05 (the
    mean N_fit of the repeats whose bead reached it; NaN when none did)."""
    from project.cg.optimum import regret

    out = []
    for method, g in rows.groupby("method", sort=False):
        rec = {"method": method, "repeats": len(g), "converged": int(g.converged.sum())}
        for col in ("sigma_nm", "epsilon_kJ_mol", "total_deviation_nm", "kl_divergence", "n_fit", "cpu_s"):
            rec[f"{col}_mean"] = float(g[col].mean())
            rec[f"{col}_sd"] = float(g[col].std(ddof=1)) if len(g) > 1 else np.nan
        if optima:
            for metric, col in (("D", "total_deviation_nm"), ("KL", "kl_divergence")):
                if metric not in optima:
                    continue
                n = int(g.n_check_runs.sum())
                r, lo, hi = regret(float(g[col].mean()), n, optima[metric])
                rec.update({f"regret_{metric}": r, f"regret_{metric}_lo95": lo, f"regret_{metric}_hi95": hi})
                each = g[col].to_numpy(float) / optima[metric]["value"]
                ok = each <= 1.05
                rec[f"n_fit_to_regret_{metric}_1.05"] = float(g.n_fit[ok].mean()) if ok.any() else np.nan
        out.append(rec)
    return pd.DataFrame(out)
