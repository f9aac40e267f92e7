"""The coarse-graining comparison: every bead re-simulated with several seeds, costs, thermodynamics, Pareto front.

Units: sigma nm, epsilon kJ/mol, T K, rho nm^-3, D (total deviation) nm, KL dimensionless, P bar, U kJ/mol per
molecule, CPU and wall times s.

For each molecule folder (``aa.json``, ``aa_topology.tpr``, ``aa_traj.xtc`` and the COM RDF ``com_rdf.npz``, as
``lj-inverse cg aa`` or the CG workflow write them) the comparison has these rows:

* one-shot beads of :func:`project.cg.userfit.fit_user_run` (what ``lj-inverse cg fit`` returns; no CG
  simulation): ``network`` (the inverse network's guess), ``fit`` (the robust RDF fit), ``total-deviation`` and
  ``kl`` (refined for that objective through the LJ forward model) and ``pressure`` (refined with the all-atom
  pressure as a constraint through the LJ equation of state);
* iterative single-bead LJ baselines (:func:`project.cg.pipeline.run_method`): ``relent`` (relative entropy,
  Newton), ``simplex`` (Nelder-Mead on D), ``ibi_lj`` (an LJ fit to the IBI table);
* ``ibi``: the IBI tabulated potential itself, the bound of what any pair potential can reach (not an LJ bead).

Every row's D and KL against the all-atom COM RDF (:mod:`project.metrics`) and its pressure and energy are the
mean and standard error (std / sqrt(n), ddof 1) of ``seeds`` *check runs* with seeds 101, 102, ... that no method
used (the simplex's best evaluation is not reused, so its selection bias is gone). Check runs of LJ beads use
:func:`project.cg.lj.run_lj` with the comparison's settings; those of the IBI table use
:func:`project.cg.ibi.run_table` (no pressure: the table run computes no virial).

Cost per row: ``n_fit`` = CG simulations whose output was used before the parameters were fixed (one-shot: 0;
the check runs and the shared all-atom run are not counted), ``cpu_s`` = CPU seconds to the parameters (one-shot:
the process time of the fit, COM RDF included; iterative: the sum over its CG runs of wall x engine threads),
``end_to_end_s`` = ``cpu_s`` plus the all-atom run's wall time x its threads. The amortised cost of the training
library (:func:`library_cost`) is reported once per comparison.

Pareto front: every single-bead LJ model simulated for this molecule (the scan grid around the beads,
:func:`project.cg.scan.scan_grid`, one run each, plus every evaluation of the iterative methods and every check
run) as (D, KL) points; the non-dominated ones form the front (:func:`pareto_mask`).

Target check (:func:`target_check`), one row per molecule and one-shot bead:

* ``nfit_met``: N_fit = 0 for the one-shot bead and >= 2 for every iterative method (False when no iterative
  method has a row: there is nothing to compare with);
* ``objective_met`` (beads refined for an objective): within 1.10x of the best iterative LJ method on that metric,
  or within 2 combined standard errors of it;
* ``not_dominated`` (every one-shot bead): no iterative method is better on both D and KL by more than 2 combined
  standard errors;
* ``target_met``: all that apply. ``lj_adequate`` (the residual verdict of the fit) says whether one LJ fluid
  describes the molecule at all.

The numbers are computed here; :mod:`project.cg.report` writes them (Markdown, CSV, plots, catalogue record).
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from project.atomic import atomic_write_text
from project.cg.lj import CGSettings, run_lj
from project.cg.pipeline import load_result, load_target, run_method
from project.cg.target import CGTarget
from project.errors import ProjectError, StatePointError
from project.metrics import kl_divergence, total_deviation
from project.rdf import compute_rdf, load_rdf, save_rdf
from project.units import reduced_temperature

logger = logging.getLogger(__name__)

#: One-shot rows (beads of ``cg fit``), in table order.
ONE_SHOT_ROWS = ("network", "fit", "total-deviation", "kl", "pressure")
#: Iterative single-bead LJ baselines.
ITERATIVE_ROWS = ("relent", "simplex", "ibi_lj")
#: The IBI table (not an LJ bead; the bound of a free pair potential).
TABLE_ROW = "ibi"
ROWS = (*ONE_SHOT_ROWS, *ITERATIVE_ROWS, TABLE_ROW)
#: First seed of the check runs (seeds FIRST_CHECK_SEED, +1, ...; no method uses them).
FIRST_CHECK_SEED = 101
#: Ratio a refined bead may have to the best iterative method on its objective.
TOLERANCE = 1.10
#: Objective of each refined one-shot row.
OBJECTIVE_METRIC = {"total-deviation": "D", "kl": "KL"}
FIT_RESULT = Path("cg") / "fit" / "result.json"


def oneshot_beads(job_dir: Path | str, model_path: str | Path | None = None) -> dict:
    """The ``cg fit`` result of a molecule folder (computed once, cached in ``cg/fit/result.json``).

    Runs :func:`project.cg.userfit.fit_user_run` on the folder's all-atom topology and trajectory at its
    temperature, with its all-atom pressure for the pressure-constrained bead. ``cpu_s`` is the process time of the
    whole call (COM RDF, network, fit, refinements; s).
    """
    from project.cg.aa import load_summary
    from project.cg.userfit import fit_user_run

    job_dir = Path(job_dir)
    path = job_dir / FIT_RESULT
    if path.is_file():
        return json.loads(path.read_text())
    aa = load_summary(job_dir)
    if aa is None:
        raise ProjectError(f"{job_dir}: no finished all-atom run (aa.json); run `lj-inverse cg aa` first")
    c0, t0 = time.process_time(), time.perf_counter()
    res, _, _ = fit_user_run(
        job_dir / "aa_topology.tpr",
        job_dir / "aa_traj.xtc",
        float(aa["T_K"]),
        pressure_bar=float(aa["P_bar"]),
        model_path=model_path,
    )
    res["cpu_s"] = time.process_time() - c0
    res["wall_s"] = time.perf_counter() - t0
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(res, indent=1, default=float) + "\n")
    return res


def check_lj(
    target: CGTarget,
    settings: CGSettings,
    root: Path,
    sigma: float,
    epsilon: float,
    *,
    seeds: int,
    lambda_r: float = 12.0,
) -> tuple[list[dict], str | None]:
    """Check runs of one LJ bead (a Mie bead with ``lambda_r`` != 12) in ``root`` (seeds :data:`FIRST_CHECK_SEED`,
    +1, ...): per seed D (nm), KL, P (bar), U (kJ/mol per molecule) and the run folder; and a note when the bead
    cannot be simulated."""
    runs = []
    for k in range(seeds):
        try:
            run = run_lj(
                sigma,
                epsilon,
                target.T,
                target.rho,
                target.mass,
                replace(settings, seed=FIRST_CHECK_SEED + k),
                root,
                lambda_r,
            )
        except StatePointError as exc:
            return runs, f"no CG check run: {str(exc).splitlines()[0]}"
        summ = json.loads((run.workdir / "simulate.json").read_text())
        runs.append(
            {
                "D": total_deviation(target.r, target.g, run.rdf.g),
                "KL": kl_divergence(target.r, target.g, run.rdf.g),
                "P": summ["P_bar"],
                "U": summ["U_per_N_kJ_mol"],
                "workdir": str(run.workdir),
            }
        )
    return runs, None


def check_table(target: CGTarget, settings: CGSettings, root: Path, ibi: dict, *, seeds: int) -> list[dict]:
    """Check runs of the IBI table in ``root/seed_<s>`` (OpenMM, :func:`project.cg.ibi.run_table`): per seed D (nm),
    KL, U (kJ/mol per molecule; no pressure) and the run folder."""
    from project.cg.ibi import run_table

    r = np.asarray(ibi["table"]["r_nm"])
    u = np.asarray(ibi["table"]["u_kJ_mol"])
    runs = []
    for k in range(seeds):
        seed = FIRST_CHECK_SEED + k
        d = root / f"seed_{seed}"
        if not ((d / "rdf.npz").is_file() and (d / "table_run.json").is_file()):
            run_table(r, u, target, replace(settings, seed=seed), d, rc=ibi["rc_nm"])
            save_rdf(compute_rdf(d / "topology.pdb", d / "traj.xtc"), d / "rdf.npz")
        rdf = load_rdf(d / "rdf.npz")
        thermo = json.loads((d / "table_run.json").read_text())
        runs.append(
            {
                "D": total_deviation(target.r, target.g, rdf.g),
                "KL": kl_divergence(target.r, target.g, rdf.g),
                "P": np.nan,
                "U": thermo["U_per_molecule_kJ_mol"],
                "workdir": str(d),
            }
        )
    return runs


def check_root(job_dir: Path, row: str) -> Path:
    """Folder of the check runs of one row of a molecule folder (``cg/check/<row>``)."""
    return Path(job_dir) / "cg" / "check" / row


def first_check_rdf(job_dir: Path, row: str) -> Path | None:
    """The RDF of the first check run of a row (``rdf.npz``), or None."""
    root = check_root(job_dir, row)
    if row == TABLE_ROW:
        f = root / f"seed_{FIRST_CHECK_SEED}" / "rdf.npz"
        return f if f.is_file() else None
    for sp in sorted(root.glob("lj_*/statepoint.json")):
        if json.loads(sp.read_text()).get("seed") == FIRST_CHECK_SEED and (sp.parent / "rdf.npz").is_file():
            return sp.parent / "rdf.npz"
    return None


def _mean_se(values: list[float]) -> tuple[float, float]:
    x = np.asarray(values, float)
    x = x[np.isfinite(x)]
    if not len(x):
        return np.nan, np.nan
    return float(x.mean()), float(x.std(ddof=1) / np.sqrt(len(x))) if len(x) > 1 else np.nan


def _iterative_cost(res: dict) -> float:
    """CPU seconds of an iterative method: its CG runs' wall time x engine threads (s)."""
    threads = (res.get("settings") or {}).get("threads") or 1
    return float(res["wall_s"]) * float(threads)


def _evaluations(job_dir: Path, target: CGTarget) -> list[dict]:
    """(sigma, epsilon, D, KL) of every single-bead LJ run of the folder (methods, check runs, scan)."""
    pts = []
    for rdf_path in sorted((job_dir / "cg").glob("**/lj_*/rdf.npz")):
        sp_path = rdf_path.parent / "statepoint.json"
        if not sp_path.is_file():
            continue
        sp = json.loads(sp_path.read_text())
        g = load_rdf(rdf_path).g
        pts.append(
            {
                "sigma_nm": sp["sigma"],
                "epsilon_kJ_mol": sp["epsilon"],
                "total_deviation_nm": total_deviation(target.r, target.g, g),
                "kl_divergence": kl_divergence(target.r, target.g, g),
                "source": rdf_path.parent.parent.relative_to(job_dir / "cg").as_posix(),
            }
        )
    return pts


def pareto_mask(d: np.ndarray, kl: np.ndarray) -> np.ndarray:
    """True for the points that no other point beats on both D and KL (the Pareto front; lower is better)."""
    d, kl = np.asarray(d, float), np.asarray(kl, float)
    keep = np.ones(len(d), bool)
    for i in range(len(d)):
        worse = (d <= d[i]) & (kl <= kl[i]) & ((d < d[i]) | (kl < kl[i]))
        keep[i] = not worse.any()
    return keep


class _Rows:
    """The rows of one molecule's table: each bead with its check-run statistics, cost and thermodynamics."""

    #: (check-run key, column) of the statistics of every row: D nm, KL, P bar, U kJ/mol per molecule.
    STATS = (("D", "total_deviation_nm"), ("KL", "kl_divergence"), ("P", "P_cg_bar"), ("U", "U_cg_kJ_mol"))

    def __init__(self, target: CGTarget, aa: dict, lj_adequate: bool):
        self.target, self.aa, self.lj_adequate = target, aa, lj_adequate
        aa_threads = aa.get("threads") or 1  # runs written before the thread count was recorded used 1 thread
        self.aa_cpu = float(aa.get("wall_s", np.nan)) * aa_threads if aa else np.nan
        self.rows: list[dict] = []

    def add(
        self,
        row: str,
        bead: dict | None,
        runs: list[dict],
        note: str | None,
        n_fit: int,
        cpu_s: float,
        converged: bool | None = None,
        extra: dict | None = None,
    ) -> None:
        """Add a row: bead (sigma nm, epsilon kJ/mol) or None, its check runs, N_fit and CPU s to its parameters."""
        from project.cg.objective import T_STAR_RANGE, eos_thermo

        tgt, aa = self.target, self.aa
        rec = {
            "molecule": tgt.molecule,
            "row": row,
            "kind": "one-shot" if row in ONE_SHOT_ROWS else ("table" if row == TABLE_ROW else "iterative"),
            "sigma_nm": bead.get("sigma") if bead else np.nan,
            "epsilon_kJ_mol": bead.get("epsilon") if bead else np.nan,
            "T_star": reduced_temperature(tgt.T, bead["epsilon"]) if bead and bead.get("epsilon") else np.nan,
            "n_fit": n_fit,
            "cpu_s": cpu_s,
            "end_to_end_s": cpu_s + self.aa_cpu if np.isfinite(cpu_s) else np.nan,
            "converged": converged,
            "n_check_runs": len(runs),
            "lj_adequate": self.lj_adequate,
        }
        for key, col in self.STATS:
            rec[col], rec[f"{col}_se"] = _mean_se([x[key] for x in runs])
        # the surrogate beside the simulation: the forward model's D (nm) and KL at the bead (refined beads), whether
        # the bead's state lies inside its training states, and the search limits the bead ended on
        predicted = (bead or {}).get("predicted") or {}
        rec["predicted_total_deviation_nm"] = predicted.get("total_deviation_nm", np.nan)
        rec["predicted_kl_divergence"] = predicted.get("kl_divergence", np.nan)
        rec["in_domain"] = (bead or {}).get("in_domain")
        rec["bounds_hit"] = "; ".join((bead or {}).get("bounds_hit") or [])
        rec["P_eos_bar"] = (
            eos_thermo(bead["sigma"], bead["epsilon"], tgt.T, tgt.rho)["P_bar"]
            if bead and row != TABLE_ROW and T_STAR_RANGE[0] <= rec["T_star"] <= T_STAR_RANGE[1]
            else np.nan
        )
        rec["P_aa_bar"], rec["P_aa_se_bar"] = aa["P_bar"], aa["P_stderr_bar"]
        rec["U_aa_kJ_mol"] = aa["U_per_molecule_kJ_mol"]
        rec.update(extra or {})
        rec["note"] = note or ""
        self.rows.append(rec)


def _iterative_results(
    job_dir: Path, settings: CGSettings, run_missing: bool, molecule: str
) -> tuple[dict[str, dict | None], dict[str, str]]:
    """The iterative methods' results (run when missing and ``run_missing``, seed 1) and the failures' reasons."""
    iterative, failed = {}, {}
    for method in (TABLE_ROW, *ITERATIVE_ROWS):  # ibi before ibi_lj
        res = load_result(job_dir, method)
        if res is None and run_missing:
            try:
                res = run_method(job_dir, method, replace(settings, seed=1))
            except ProjectError as exc:  # e.g. a bead outside the LJ state space: a row that says so
                failed[method] = str(exc).splitlines()[0]
                logger.warning("%s %s: %s", molecule, method, failed[method])
        iterative[method] = res
    return iterative, failed


def _add_iterative_rows(
    rows: _Rows, job_dir: Path, settings: CGSettings, seeds: int, iterative: dict, failed: dict
) -> None:
    """The rows of the iterative LJ baselines and of the IBI table."""
    ibi = iterative.get(TABLE_ROW)
    ibi_cost = _iterative_cost(ibi) if ibi else np.nan
    for method in ITERATIVE_ROWS:
        res = iterative.get(method)
        if method in failed:
            n_fit, cpu = (ibi["n_simulations"] if ibi else 0, ibi_cost) if method == "ibi_lj" else (0, np.nan)
            rows.add(method, None, [], f"failed: {failed[method]}", n_fit, cpu)
            continue
        if res is None:
            continue
        check = check_root(job_dir, method)
        runs, note = check_lj(rows.target, settings, check, res["sigma"], res["epsilon"], seeds=seeds)
        n_fit, cpu = int(res["n_simulations"]), _iterative_cost(res)
        if method == "ibi_lj":  # the IBI iterations are used; the LJ run after the fit only assesses the bead
            n_fit, cpu = n_fit - 1, ibi_cost
        rows.add(method, res, runs, note, n_fit, cpu, bool(res.get("converged")))
    if ibi is not None:
        runs = check_table(rows.target, settings, check_root(job_dir, TABLE_ROW), ibi, seeds=seeds)
        last = ibi["history"][ibi["best_iteration"]]
        rows.add(
            TABLE_ROW,
            None,
            runs,
            f"tabulated potential, best of {ibi['n_simulations']} iterations ({ibi['stop_reason']}): D "
            f"{last['total_deviation_nm']:.4f} nm vs noise floor {last['noise_floor_nm']:.4f} nm",
            int(ibi["n_simulations"]),
            ibi_cost,
            bool(ibi["converged"]),
            {"noise_floor_nm": last["noise_floor_nm"]},
        )


def _pareto_points(
    job_dir: Path, target: CGTarget, settings: CGSettings, table: pd.DataFrame, scan_n: int
) -> pd.DataFrame:
    """Every simulated LJ model's (D, KL) with its ``pareto`` flag, after the scan around the table's beads."""
    if scan_n:
        from project.cg.scan import grid_around, scan_grid

        beads = table[table.kind != "table"][["sigma_nm", "epsilon_kJ_mol"]].dropna().to_numpy()
        sig, eps = grid_around([tuple(b) for b in beads], scan_n)
        scan_grid(target, settings, job_dir / "cg" / "scan", sig, eps)
    pts = pd.DataFrame(_evaluations(job_dir, target))
    if len(pts):
        pts.insert(0, "molecule", target.molecule)
        pts["pareto"] = pareto_mask(pts.total_deviation_nm.to_numpy(), pts.kl_divergence.to_numpy())
    return pts


def compare_molecule(
    job_dir: Path | str,
    settings: CGSettings | None = None,
    *,
    seeds: int = 3,
    run_missing: bool = True,
    scan_n: int = 6,
    model_path: str | Path | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """All rows of one molecule folder (module docstring), running what is missing; resumable.

    Parameters
    ----------
    job_dir : path
        Molecule folder with the all-atom run and ``com_rdf.npz``.
    settings : CGSettings or None
        CG run settings (default :class:`CGSettings`; the seed is replaced by the check seeds).
    seeds : int
        Check runs per row (>= 3 for standard errors a reviewer accepts).
    run_missing : bool
        Run the iterative methods whose results are missing (False: leave those rows out).
    scan_n : int
        Scan grid points per axis (n x n CG runs around the beads, reused when present; 0: no scan).
    model_path : path or None
        Inverse-model folder for the one-shot beads (None: the shipped model).

    Returns
    -------
    tuple of pandas.DataFrame
        The rows (one per bead), and every simulated LJ model's (D, KL) with a ``pareto`` column.
    """
    from project.cg.aa import load_summary
    from project.cg.beads import bead_table

    job_dir = Path(job_dir)
    settings = settings or CGSettings()
    if seeds < 2:
        raise ProjectError(f"seeds: got {seeds}; allowed: an integer >= 2 (standard errors need two runs)")
    target = load_target(job_dir)
    fit = oneshot_beads(job_dir, model_path)
    rows = _Rows(target, load_summary(job_dir), bool(fit["lj_adequate"]))
    for row, bead in bead_table(fit).items():
        if bead is None:
            continue
        runs, note = check_lj(target, settings, check_root(job_dir, row), bead["sigma"], bead["epsilon"], seeds=seeds)
        rows.add(row, bead, runs, note, 0, float(fit["cpu_s"]))
    iterative, failed = _iterative_results(job_dir, settings, run_missing, target.molecule)
    _add_iterative_rows(rows, job_dir, settings, seeds, iterative, failed)
    table = pd.DataFrame(rows.rows)
    return table, _pareto_points(job_dir, target, settings, table, scan_n)


def pooled_log_sd(sub: pd.DataFrame, col: str) -> tuple[float, int]:
    """Pooled within-molecule standard deviation of ln(metric) of one check run, and its degrees of freedom.

    Each row of one molecule with n >= 2 check runs gives the variance of ln(metric) of a single run as
    (se / mean)^2 n (delta method); they are pooled with weights n - 1: s_p^2 = sum (n_i - 1) s_i^2 / sum (n_i - 1),
    dof = sum (n_i - 1). The log scale makes beads with different D or KL comparable (their run-to-run spread is
    roughly proportional to the value). NaN and 0 when no row has two runs.
    """
    rows = sub[(sub.n_check_runs >= 2) & np.isfinite(sub[f"{col}_se"]) & (sub[col] > 0)]
    n = rows.n_check_runs.to_numpy(float)
    dof = int((n - 1).sum())
    if dof == 0:
        return float("nan"), 0
    rel_var = (rows[f"{col}_se"].to_numpy(float) / rows[col].to_numpy(float)) ** 2 * n
    return float(np.sqrt(((n - 1) * rel_var).sum() / dof)), dof


def ratio_interval(a: float, n_a: int, b: float, n_b: int, sd: float, dof: int) -> tuple[float, float, float]:
    """Ratio a / b of two means of n_a and n_b runs and its 95 % t-interval from the pooled log sd (dof)."""
    from scipy import stats

    r = a / b
    if not (np.isfinite(sd) and dof > 0 and n_a > 0 and n_b > 0):
        return r, float("nan"), float("nan")
    half = float(stats.t.ppf(0.975, dof)) * sd * math.sqrt(1.0 / n_a + 1.0 / n_b)
    return r, r * math.exp(-half), r * math.exp(half)


def target_check(table: pd.DataFrame) -> pd.DataFrame:
    """One row per molecule and one-shot bead: ratios against each iterative method, and the targets met.

    Statistics: every ratio one-shot / baseline comes with its 95 % t-interval (``*_lo95``, ``*_hi95``) from the
    molecule's pooled log standard deviation of that metric (:func:`pooled_log_sd`; ``{D,KL}_dof`` degrees of
    freedom). A verdict needs the intervals to separate: a baseline dominates a bead when both ratios' intervals lie
    above 1; a refined bead meets its objective when it is within :data:`TOLERANCE` of the best baseline on that
    metric, or its ratio's interval reaches down to 1 (not worse than the best, at 95 %).
    """
    out = []
    metrics = {"D": "total_deviation_nm", "KL": "kl_divergence"}
    for mol, sub in table.groupby("molecule", sort=False):
        base = sub[(sub.kind == "iterative") & (sub.n_check_runs > 0)]
        nfit_base = bool(len(base)) and bool((sub[sub.kind != "one-shot"].n_fit >= 2).all())
        pooled = {m: pooled_log_sd(sub, col) for m, col in metrics.items()}
        for _, one in sub[sub.kind == "one-shot"].iterrows():
            rec = {"molecule": mol, "oneshot_bead": one.row, "n_fit": int(one.n_fit), "lj_adequate": one.lj_adequate}
            have = one.n_check_runs > 0
            ratios = {}
            for m, col in metrics.items():
                sd, dof = pooled[m]
                rec[f"{m}"], rec[f"{m}_se"] = one[col], one[f"{col}_se"]
                rec[f"{m}_pooled_log_sd"], rec[f"{m}_dof"] = sd, dof
                for _, b in base.iterrows():
                    if have:
                        ri = ratio_interval(one[col], int(one.n_check_runs), b[col], int(b.n_check_runs), sd, dof)
                    else:
                        ri = (np.nan, np.nan, np.nan)
                    ratios[(m, b.row)] = ri
                    rec[f"{m}_over_{b.row}"], rec[f"{m}_over_{b.row}_lo95"], rec[f"{m}_over_{b.row}_hi95"] = ri
            rec["nfit_met"] = bool(one.n_fit == 0 and nfit_base)
            dominated_by = [
                b.row for _, b in base.iterrows() if have and all(ratios[(m, b.row)][1] > 1.0 for m in metrics)
            ]
            rec["not_dominated"] = bool(have and not dominated_by)
            rec["dominated_by"] = ",".join(dominated_by)
            objective = OBJECTIVE_METRIC.get(one.row)
            rec["objective_met"] = None
            rec["best_iterative_on_objective"] = ""
            if objective and have and len(base):
                col = metrics[objective]
                best = base.loc[base[col].idxmin()]
                r, lo, _ = ratios[(objective, best.row)]
                rec["objective_met"] = bool(r <= TOLERANCE or (np.isfinite(lo) and lo <= 1.0))
                rec["best_iterative_on_objective"] = best.row
            checks = [rec["nfit_met"], rec["not_dominated"]] + (
                [rec["objective_met"]] if rec["objective_met"] is not None else []
            )
            rec["target_met"] = bool(have and len(base) and all(checks))
            rec["note"] = one.note
            out.append(rec)
    return pd.DataFrame(out)


def library_cost(seconds_per_bead_step: float) -> dict:
    """Amortised cost of the shipped training library (CPU s), from its state points and a measured engine speed.

    Parameters
    ----------
    seconds_per_bead_step : float
        CPU seconds per bead and MD step of a single-bead LJ run (s), measured on the comparison's own check runs.

    Returns
    -------
    dict
        ``n_jobs``, ``bead_steps``, ``simulate_cpu_s`` (estimate), ``train_cpu_s`` (both networks' recorded
        training wall time), ``total_cpu_s``.
    """
    import h5py

    from project.model.fit import shipped_models
    from project.model.inverse import SHIPPED_MODEL

    steps, n_jobs = 0.0, 0
    for name in ("lj_library.h5", "lj_library_hot.h5"):
        with h5py.File(SHIPPED_MODEL.parents[1] / "reference" / name, "r") as f:
            sp = f["statepoints"]
            n = sp["N"][:].astype(float)
            per = (sp["t_equil"][:] + sp["t_prod"][:]) / sp["dt"][:]
            steps += float((n * per).sum())
            n_jobs += len(n)
    inverse, forward = shipped_models()
    train = float(inverse.meta.get("train_wall_s", 0.0)) + float(forward.meta.get("train_wall_s", 0.0))
    sim = steps * seconds_per_bead_step
    return {
        "n_jobs": n_jobs,
        "bead_steps": steps,
        "simulate_cpu_s": sim,
        "train_cpu_s": train,
        "total_cpu_s": sim + train,
        "units": {"simulate_cpu_s": "s", "train_cpu_s": "s", "total_cpu_s": "s"},
    }


def measured_speed(job_dirs: list[Path]) -> float:
    """Median CPU seconds per bead-step of the check runs (s), from their ``cg_run.json`` and state points."""
    vals = []
    for d in job_dirs:
        for cost in (Path(d) / "cg" / "check").glob("*/lj_*/cg_run.json"):
            c = json.loads(cost.read_text())
            sp = json.loads((cost.parent / "statepoint.json").read_text())
            steps = (sp["t_equil"] + sp["t_prod"]) / sp["dt"]
            threads = c["settings"].get("threads") or 1
            if c.get("simulate_wall_s"):
                vals.append(c["simulate_wall_s"] * threads / (sp["N"] * steps))
    return float(np.median(vals)) if vals else np.nan


__all__ = [
    "FIRST_CHECK_SEED",
    "ITERATIVE_ROWS",
    "ONE_SHOT_ROWS",
    "ROWS",
    "TABLE_ROW",
    "check_lj",
    "check_root",
    "check_table",
    "compare_molecule",
    "first_check_rdf",
    "library_cost",
    "measured_speed",
    "oneshot_beads",
    "pareto_mask",
    "target_check",
]
