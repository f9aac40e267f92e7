"""The simulated optimum: the best single LJ bead for one metric found in real CG simulations, and regrets.

Units: sigma nm, epsilon kJ/mol, T K, rho nm^-3, total deviation D nm, KL dimensionless.

A bead refined through the forward model, or found by an iterative method, is only as good as the best bead a CG
simulation can reach. :func:`simulated_optimum` searches for that bead with the simulations themselves:

1. Rounds of a 3 x 3 grid in (ln sigma, ln epsilon) around a centre (half-widths ``steps``: relative, default 1 %
   in sigma and 12 % in epsilon, the metrics' valley being ~15-20x longer in epsilon), each point simulated with
   ``seeds`` independent seeds (:func:`project.cg.compare.check_lj`); a point's value is the mean over its seeds.
2. A quadratic response surface a + b.x + x^T C x in x = (ln sigma, ln epsilon) is fitted by least squares to
   ln(value) of every point simulated so far within 2 steps of the centre; where it has a minimum within 1.5 steps
   of the centre, that bead is simulated with the same seeds.
3. **Converged** when the best simulated point (lowest mean) is not on the edge of its round's grid and the surface
   predicts no bead better than it by more than its own standard error (the optimum's value is known to within its
   standard error). Otherwise the next round is centred on the best point (steps halved when the best point was the
   centre); at most ``max_rounds`` rounds.

The optimum is the best simulated point (its mean and standard error over its seeds), never the surface's
extrapolation. :func:`regret` gives metric / optimum with a 95 % t-interval from the pooled within-point log
standard deviation of the search (the runs' spread is roughly proportional to the value). Every run is cached by
its state point (``root/lj_<hash>``): an interrupted search resumes.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np
import pandas as pd

from project.cg.lj import CGSettings
from project.cg.target import CGTarget
from project.errors import ProjectError
from project.units import KB

logger = logging.getLogger(__name__)

#: The metrics a search optimises: column of the points table and its unit.
METRICS = {"D": "nm", "KL": "1"}


def evaluate_bead(
    target: CGTarget, settings: CGSettings, root: Path, sigma: float, epsilon: float, seeds: int, lambda_r: float = 12.0
) -> dict:
    """One bead (sigma nm, epsilon kJ/mol) simulated with ``seeds`` check seeds (:func:`project.cg.compare.check_lj`):
    ``n`` runs, ``note`` (why none ran, or None), per metric the mean, ``<metric>_se`` and ``<metric>_logvar`` (the
    variance of ln(metric) over the runs), ``P`` (bar, mean) and ``P_se``. ``lambda_r``: a Mie bead's exponent."""
    from project.cg.compare import check_lj

    runs, note = check_lj(target, settings, root, sigma, epsilon, seeds=seeds, lambda_r=lambda_r)
    out = {"sigma_nm": sigma, "epsilon_kJ_mol": epsilon, "n": len(runs), "note": note}
    for m in (*METRICS, "P"):
        v = np.asarray([r[m] for r in runs], float)
        out[m] = float(v.mean()) if len(v) else np.nan
        out[f"{m}_se"] = float(v.std(ddof=1) / np.sqrt(len(v))) if len(v) > 1 else np.nan
        out[f"{m}_logvar"] = float(np.var(np.log(v), ddof=1)) if len(v) > 1 and np.all(v > 0) else np.nan
    return out


def _surface_minimum(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float] | None:
    """Minimum (x*, predicted y) of a quadratic fitted to points x (n, 2), values y; None without a minimum."""
    if len(x) < 6:
        return None
    a, b = x[:, 0], x[:, 1]
    A = np.column_stack([np.ones_like(a), a, b, a * a, a * b, b * b])
    coef, *_ = np.linalg.lstsq(A, y, rcond=None)
    H = np.array([[2 * coef[3], coef[4]], [coef[4], 2 * coef[5]]])
    if np.any(np.linalg.eigvalsh(H) <= 0):
        return None
    xs = np.linalg.solve(H, -coef[1:3])
    ys = float(coef[0] + coef[1:3] @ xs + 0.5 * xs @ H @ xs)
    return xs, ys


def simulated_optimum(
    target: CGTarget,
    settings: CGSettings,
    root: Path | str,
    start: tuple[float, float],
    metric: str = "D",
    *,
    seeds: int = 3,
    steps: tuple[float, float] = (0.01, 0.12),
    max_rounds: int = 4,
) -> tuple[dict, pd.DataFrame]:
    """Search the best single LJ bead for ``metric`` in real CG simulations (module docstring).

    Parameters
    ----------
    target : CGTarget
        The AA COM RDF and its state (r nm, T K, rho nm^-3, mass amu).
    settings : CGSettings
        CG run settings (the seed is replaced by the check seeds).
    root : path
        Folder of the runs (``root/lj_<hash>``; existing runs are reused).
    start : (float, float)
        First centre: sigma (nm), epsilon (kJ/mol), e.g. the bead refined for this metric.
    metric : str
        "D" (total deviation, nm) or "KL".
    seeds : int
        Seeds per point (>= 2; 3 or more for an honest standard error).
    steps : (float, float)
        Relative half-widths of the first grid in sigma and epsilon.
    max_rounds : int
        Rounds at most.

    Returns
    -------
    (dict, pandas.DataFrame)
        The optimum (``sigma_nm``, ``epsilon_kJ_mol``, the metric's ``value`` and ``se``, ``n_seeds``,
        ``converged``, ``rounds``, ``n_runs``, the pooled ``log_sd`` and its ``dof``, ``predicted_min``) and every
        simulated point (columns ``sigma_nm``, ``epsilon_kJ_mol``, ``n``, ``D``, ``D_se``, ``KL``, ``KL_se``,
        ``round``, ``kind``: grid or surface).
    """
    if metric not in METRICS:
        raise ProjectError(f"metric = {metric!r} is not allowed: one of {', '.join(METRICS)}")
    if seeds < 2:
        raise ProjectError(f"seeds = {seeds} is not allowed: at least 2 (a standard error needs two runs)")
    root = Path(root)
    points: dict[tuple[float, float], dict] = {}

    def run(sigma: float, epsilon: float, rnd: int, kind: str) -> dict:
        key = (round(sigma, 6), round(epsilon, 6))
        if key not in points:
            points[key] = {**evaluate_bead(target, settings, root, key[0], key[1], seeds), "round": rnd, "kind": kind}
        return points[key]

    centre = np.log(np.asarray(start, float))
    h = np.log1p(np.asarray(steps, float))
    converged, predicted, rnd = False, np.nan, 0
    for rnd in range(1, max_rounds + 1):
        grid = [centre + h * np.array([i, j]) for i in (-1, 0, 1) for j in (-1, 0, 1)]
        for x in grid:
            run(*np.exp(x), rnd, "grid")
        tab = pd.DataFrame(points.values())
        ok = tab[np.isfinite(tab[metric]) & (tab[metric] > 0)]
        xs = np.log(ok[["sigma_nm", "epsilon_kJ_mol"]].to_numpy(float))
        near = np.all(np.abs(xs - centre) <= 2 * h + 1e-12, axis=1)
        surf = _surface_minimum(xs[near], np.log(ok[metric].to_numpy(float)[near]))
        if surf is not None and np.all(np.abs(surf[0] - centre) <= 1.5 * h):
            run(*np.exp(surf[0]), rnd, "surface")
            predicted = float(np.exp(surf[1]))
        tab = pd.DataFrame(points.values())
        ok = tab[np.isfinite(tab[metric])]
        best = ok.loc[ok[metric].idxmin()]
        xb = np.log([best.sigma_nm, best.epsilon_kJ_mol])
        on_edge = np.any(np.abs(xb - centre) >= h - 1e-9)
        if not on_edge and np.isfinite(predicted) and predicted >= best[metric] - best[f"{metric}_se"]:
            converged = True
            break
        logger.info(
            "optimum %s round %d: best %s = %.5g at sigma %.4f nm, epsilon %.4f kJ/mol",
            metric,
            rnd,
            metric,
            best[metric],
            best.sigma_nm,
            best.epsilon_kJ_mol,
        )
        if np.allclose(xb, centre):
            h = h / 2.0
        centre = xb
    tab = pd.DataFrame(points.values())
    lv = tab[f"{metric}_logvar"].to_numpy(float)
    n = tab["n"].to_numpy(float)
    good = np.isfinite(lv) & (n >= 2)
    dof = int((n[good] - 1).sum())
    log_sd = float(np.sqrt(((n[good] - 1) * lv[good]).sum() / dof)) if dof else float("nan")
    ok = tab[np.isfinite(tab[metric])]
    best = ok.loc[ok[metric].idxmin()]
    result = {
        "metric": metric,
        "unit": METRICS[metric],
        "sigma_nm": float(best.sigma_nm),
        "epsilon_kJ_mol": float(best.epsilon_kJ_mol),
        "T_star": float(KB * target.T / best.epsilon_kJ_mol),
        "value": float(best[metric]),
        "se": float(best[f"{metric}_se"]),
        "n_seeds": int(best.n),
        "converged": bool(converged),
        "rounds": rnd,
        "n_runs": int(tab["n"].sum()),
        "log_sd": log_sd,
        "dof": dof,
        "predicted_min": predicted,
    }
    return result, tab.drop(columns=[c for c in tab.columns if c.endswith("_logvar")])


def regret(value: float, n_value: int, optimum: dict) -> tuple[float, float, float]:
    """metric / optimum of a bead measured as the mean of ``n_value`` runs, with its 95 % t-interval.

    The interval uses the search's pooled within-point log standard deviation (``optimum["log_sd"]``, ``dof``)
    for both means: ln(value / optimum) +- t_0.975(dof) s sqrt(1/n_value + 1/n_opt).
    """
    from project.cg.compare import ratio_interval

    return ratio_interval(value, n_value, optimum["value"], optimum["n_seeds"], optimum["log_sd"], optimum["dof"])


def shipped_target(results_dir: Path | str, molecule: str) -> CGTarget:
    """The CG target of a molecule as a comparison ships it: ``com_rdf_<molecule>.npz`` and ``aa_<molecule>.json``
    in ``results_dir`` (r nm, g; T K, rho nm^-3 of the AA run; the molecule's mass in amu)."""
    import json

    from project.cg.pipeline import target_of
    from project.rdf import load_rdf

    d = Path(results_dir)
    rdf_path, aa_path = d / f"com_rdf_{molecule}.npz", d / f"aa_{molecule}.json"
    if not (rdf_path.is_file() and aa_path.is_file()):
        raise ProjectError(f"molecule {molecule!r}: {rdf_path.name} and {aa_path.name} are needed in {d}")
    return target_of(load_rdf(rdf_path), json.loads(aa_path.read_text()), str(d))


#: comparison.csv columns of each metric (mean and standard error over the check runs).
COMPARISON_COLUMNS = {"D": ("total_deviation_nm", "total_deviation_nm_se"), "KL": ("kl_divergence", "kl_divergence_se")}
#: The comparison row whose bead starts the search of each metric (the bead refined for it).
START_ROWS = {"D": "total-deviation", "KL": "kl"}


def regret_table(rows: pd.DataFrame, optima: dict[str, dict]) -> pd.DataFrame:
    """Regret of every bead of one molecule's comparison rows against the simulated optima.

    ``rows``: rows of ``comparison.csv`` (``row``, ``kind``, ``n_check_runs``, the metrics' means); ``optima``: the
    result of :func:`simulated_optimum` per metric. Columns ``regret_<metric>``, ``regret_<metric>_lo95``,
    ``_hi95`` (metric / optimum, 95 % t-interval of :func:`regret`) and ``converged`` (the row's own).
    """
    out = []
    for _, r in rows.iterrows():
        rec = {"molecule": r.molecule, "row": r.row, "kind": r.kind, "converged": r.get("converged")}
        for metric, opt in optima.items():
            col = COMPARISON_COLUMNS[metric][0]
            val, lo, hi = regret(float(r[col]), int(r.n_check_runs), opt)
            rec.update({f"regret_{metric}": val, f"regret_{metric}_lo95": lo, f"regret_{metric}_hi95": hi})
        out.append(rec)
    return pd.DataFrame(out)


def start_regret_table(
    molecule: str, starts: dict[str, tuple[float, float]], points: dict[str, pd.DataFrame], optima: dict[str, dict]
) -> pd.DataFrame:
    """Regret of the beads that started the searches, for a molecule without a comparison (``cg fit`` only).

    ``starts``: the start bead (sigma nm, epsilon kJ/mol) of each metric's search, i.e. the ``cg fit`` bead refined
    for it; ``points``: each search's simulated points (:func:`simulated_optimum`), where the start is the first
    round's centre, simulated with the search's seeds (both metrics measured); ``optima``: the optima. One row per
    start bead (``row`` the objective it was refined for, kind ``refined``), columns as :func:`regret_table`.
    """
    out = []
    for metric, (sigma, epsilon) in starts.items():
        tab = points[metric]
        d = np.hypot(np.log(tab.sigma_nm / sigma), np.log(tab.epsilon_kJ_mol / epsilon))
        if not len(tab) or d.min() > 1e-5:
            raise ProjectError(f"{molecule}: the start bead of the {metric} search is not among its simulated points")
        r = tab.iloc[int(np.argmin(d))]
        rec = {"molecule": molecule, "row": START_ROWS[metric], "kind": "refined", "converged": np.nan}
        for m, opt in optima.items():
            val, lo, hi = regret(float(r[m]), int(r.n), opt)
            rec.update({f"regret_{m}": val, f"regret_{m}_lo95": lo, f"regret_{m}_hi95": hi})
        out.append(rec)
    return pd.DataFrame(out)


def _ci(r: float, lo: float, hi: float) -> str:
    if not math.isfinite(lo):
        return f"{r:.3f}"
    return f"{r:.3f} [{lo:.3f}, {hi:.3f}]"


def regret_markdown(out_dir: Path | str) -> str:
    """A markdown summary of every ``optimum_<molecule>_<metric>.json`` and ``regret_<molecule>.csv`` (and, where
    present, ``baselines_summary_<molecule>_*.csv``) in ``out_dir``: the optima, and each bead's regret with its
    95 % interval."""
    import json

    d = Path(out_dir)
    lines = [
        "# Regret against the simulated optimum",
        "",
        "Optimum: the best single LJ bead found in real CG runs (`lj-inverse cg optimum`; D in nm, KL dimensionless;"
        " value +- standard error over its seeds). Regret: metric / optimum with its 95 % t-interval (pooled "
        "within-point log sd of the search).",
        "",
        "| molecule | metric | sigma (nm) | epsilon (kJ/mol) | T* | optimum | converged | rounds | runs |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for f in sorted(d.glob("optimum_*_*.json")):
        o = json.loads(f.read_text())
        mol = f.stem.split("_")[1]
        lines.append(
            f"| {mol} | {o['metric']} | {o['sigma_nm']:.4f} | {o['epsilon_kJ_mol']:.4f} | {o['T_star']:.3g} | "
            f"{o['value']:.5g} +- {o['se']:.2g} | {'yes' if o['converged'] else 'no'} | {o['rounds']} | "
            f"{o['n_runs']} |"
        )
    lines += ["", "| molecule | bead | kind | converged | regret D | regret KL |", "|---|---|---|---|---|---|"]
    for f in sorted(d.glob("regret_*.csv")):
        t = pd.read_csv(f)
        for _, r in t.iterrows():
            cells = []
            for m in ("D", "KL"):
                cells.append(
                    _ci(r[f"regret_{m}"], r[f"regret_{m}_lo95"], r[f"regret_{m}_hi95"]) if f"regret_{m}" in r else ""
                )
            conv = "" if pd.isna(r.get("converged")) else ("yes" if str(r["converged"]) == "True" else "no")
            lines.append(f"| {r.molecule} | {r.row} | {r.kind} | {conv} | {cells[0]} | {cells[1]} |")
    summaries = sorted(d.glob("baselines_summary_*.csv"))
    if summaries:
        lines += [
            "",
            "Iterative methods repeated with independent seeds (`lj-inverse cg baselines`): mean +- sd over the "
            "repeats.",
            "",
            "| molecule | method | repeats | converged | D (nm) | KL | N_fit | regret D | regret KL "
            "| N_fit to regret D <= 1.05 |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for f in summaries:
            for _, r in pd.read_csv(f).iterrows():
                rd = _ci(r.regret_D, r.regret_D_lo95, r.regret_D_hi95) if "regret_D" in r else ""
                rk = _ci(r.regret_KL, r.regret_KL_lo95, r.regret_KL_hi95) if "regret_KL" in r else ""
                nf = r.get("n_fit_to_regret_D_1.05", float("nan"))
                lines.append(
                    f"| {r.molecule} | {r.method} | {int(r.repeats)} | {int(r.converged)} | "
                    f"{r.total_deviation_nm_mean:.5f} +- {r.total_deviation_nm_sd:.5f} | "
                    f"{r.kl_divergence_mean:.3g} +- {r.kl_divergence_sd:.2g} | "
                    f"{r.n_fit_mean:.1f} +- {r.n_fit_sd:.1f} | "
                    f"{rd} | {rk} | {'-' if pd.isna(nf) else f'{nf:.1f}'} |"
                )
    return "\n".join(lines) + "\n"
