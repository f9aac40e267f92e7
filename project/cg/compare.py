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

Every row's D and KL against the all-atom COM RDF (:mod:`project.cg.metrics`) and its pressure and energy are the
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
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import pandas as pd

from project.atomic import atomic_path, atomic_write_text
from project.cg.lj import CGSettings, run_lj
from project.cg.metrics import kl_divergence, total_deviation
from project.cg.pipeline import AA_RDF_NAME, load_result, load_target, run_method
from project.errors import ProjectError, StatePointError
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
    job_dir: Path, row: str, sigma: float, epsilon: float, tgt: dict, seeds: int, settings: CGSettings
) -> tuple[list[dict], str | None]:
    """Check runs of one LJ bead (``cg/check/<row>/``): per seed D, KL, P (bar), U (kJ/mol per molecule), wall."""
    runs = []
    for k in range(seeds):
        try:
            run = run_lj(
                sigma,
                epsilon,
                tgt["T"],
                tgt["rho"],
                tgt["mass"],
                replace(settings, seed=FIRST_CHECK_SEED + k),
                job_dir / "cg" / "check" / row,
            )
        except StatePointError as exc:
            return runs, f"no CG check run: {str(exc).splitlines()[0]}"
        summ = json.loads((run.workdir / "simulate.json").read_text())
        runs.append(
            {
                "D": total_deviation(tgt["r"], tgt["g"], run.rdf.g),
                "KL": kl_divergence(tgt["r"], tgt["g"], run.rdf.g),
                "P": summ["P_bar"],
                "U": summ["U_per_N_kJ_mol"],
                "workdir": str(run.workdir),
            }
        )
    return runs, None


def check_table(job_dir: Path, ibi: dict, tgt: dict, seeds: int, settings: CGSettings) -> list[dict]:
    """Check runs of the IBI table (``cg/check/ibi/seed_<s>``, OpenMM, as in :func:`project.cg.ibi.run_ibi`)."""
    from project.cg.ibi import run_table, time_unit

    r = np.asarray(ibi["table"]["r_nm"])
    u = np.asarray(ibi["table"]["u_kJ_mol"])
    tau_ps = time_unit(tgt["r"], tgt["g"], tgt["T"], tgt["mass"])
    runs = []
    for k in range(seeds):
        seed = FIRST_CHECK_SEED + k
        d = job_dir / "cg" / "check" / TABLE_ROW / f"seed_{seed}"
        if not ((d / "rdf.npz").is_file() and (d / "table_run.json").is_file()):
            run_table(
                r,
                u,
                tgt["T"],
                tgt["rho"],
                tgt["mass"],
                settings.N,
                ibi["rc_nm"],
                tau_ps,
                d,
                settings.dt,
                settings.t_equil,
                settings.t_prod,
                settings.t_sample,
                seed,
                None,
                settings.threads,
            )
            save_rdf(compute_rdf(d / "topology.pdb", d / "traj.xtc"), d / "rdf.npz")
        rdf = load_rdf(d / "rdf.npz")
        thermo = json.loads((d / "table_run.json").read_text())
        runs.append(
            {
                "D": total_deviation(tgt["r"], tgt["g"], rdf.g),
                "KL": kl_divergence(tgt["r"], tgt["g"], rdf.g),
                "P": np.nan,
                "U": thermo["U_per_molecule_kJ_mol"],
                "workdir": str(d),
            }
        )
    return runs


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


def _evaluations(job_dir: Path, tgt: dict) -> list[dict]:
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
                "total_deviation_nm": total_deviation(tgt["r"], tgt["g"], g),
                "kl_divergence": kl_divergence(tgt["r"], tgt["g"], g),
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


def compare_molecule(
    job_dir: Path | str,
    seeds: int = 3,
    settings: CGSettings | None = None,
    run_missing: bool = True,
    scan_n: int = 6,
    model_path: str | Path | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """All rows of one molecule folder (module docstring), running what is missing; resumable.

    Parameters
    ----------
    job_dir : path
        Molecule folder with the all-atom run and ``com_rdf.npz``.
    seeds : int
        Check runs per row (>= 3 for standard errors a reviewer accepts).
    settings : CGSettings or None
        CG run settings (default :class:`CGSettings`; the seed is replaced by the check seeds).
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
    from project.cg.objective import T_STAR_RANGE, eos_thermo
    from project.cg.userfit import bead_table

    job_dir = Path(job_dir)
    settings = settings or CGSettings()
    if seeds < 2:
        raise ProjectError(f"seeds: got {seeds}; allowed: an integer >= 2 (standard errors need two runs)")
    tgt = load_target(job_dir)
    aa = load_summary(job_dir)
    aa_threads = aa.get("threads") or 1  # runs written before the thread count was recorded used 1 thread
    aa_cpu = float(aa.get("wall_s", np.nan)) * aa_threads if aa else np.nan
    fit = oneshot_beads(job_dir, model_path)
    lj_adequate = bool(fit["lj_adequate"])
    rows = []

    def add(row: str, bead: dict | None, runs: list[dict], note: str | None, n_fit, cpu_s, converged=None, extra=None):
        rec = {
            "molecule": tgt["molecule"],
            "row": row,
            "kind": "one-shot" if row in ONE_SHOT_ROWS else ("table" if row == TABLE_ROW else "iterative"),
            "sigma_nm": bead.get("sigma") if bead else np.nan,
            "epsilon_kJ_mol": bead.get("epsilon") if bead else np.nan,
            "T_star": reduced_temperature(tgt["T"], bead["epsilon"]) if bead and bead.get("epsilon") else np.nan,
            "n_fit": n_fit,
            "cpu_s": cpu_s,
            "end_to_end_s": cpu_s + aa_cpu if np.isfinite(cpu_s) else np.nan,
            "converged": converged,
            "n_check_runs": len(runs),
            "lj_adequate": lj_adequate,
        }
        for key, col in (("D", "total_deviation_nm"), ("KL", "kl_divergence"), ("P", "P_cg_bar"), ("U", "U_cg_kJ_mol")):
            rec[col], rec[f"{col}_se"] = _mean_se([x[key] for x in runs])
        rec["P_eos_bar"] = (
            eos_thermo(bead["sigma"], bead["epsilon"], tgt["T"], tgt["rho"])["P_bar"]
            if bead and row != TABLE_ROW and T_STAR_RANGE[0] <= rec["T_star"] <= T_STAR_RANGE[1]
            else np.nan
        )
        rec["P_aa_bar"], rec["P_aa_se_bar"] = aa["P_bar"], aa["P_stderr_bar"]
        rec["U_aa_kJ_mol"] = aa["U_per_molecule_kJ_mol"]
        rec.update(extra or {})
        rec["note"] = note or ""
        rows.append(rec)

    for row, bead in bead_table(fit).items():
        if bead is None:
            continue
        runs, note = check_lj(job_dir, row, bead["sigma"], bead["epsilon"], tgt, seeds, settings)
        add(row, bead, runs, note, 0, float(fit["cpu_s"]))
    iterative, failed = {}, {}
    for method in (TABLE_ROW, *ITERATIVE_ROWS):  # ibi before ibi_lj
        res = load_result(job_dir, method)
        if res is None and run_missing:
            try:
                res = run_method(job_dir, method, replace(settings, seed=1))
            except ProjectError as exc:  # e.g. a bead outside the LJ state space: a row that says so
                failed[method] = str(exc).splitlines()[0]
                logger.warning("%s %s: %s", tgt["molecule"], method, failed[method])
        iterative[method] = res
    ibi_cost = _iterative_cost(iterative[TABLE_ROW]) if iterative.get(TABLE_ROW) else np.nan
    for method in ITERATIVE_ROWS:
        res = iterative.get(method)
        if method in failed:
            ibi_runs = iterative[TABLE_ROW]["n_simulations"] if method == "ibi_lj" and iterative[TABLE_ROW] else 0
            add(method, None, [], f"failed: {failed[method]}", ibi_runs, ibi_cost if method == "ibi_lj" else np.nan)
            continue
        if res is None:
            continue
        runs, note = check_lj(job_dir, method, res["sigma"], res["epsilon"], tgt, seeds, settings)
        n_fit, cpu = int(res["n_simulations"]), _iterative_cost(res)
        if method == "ibi_lj":  # the IBI iterations are used; the LJ run after the fit only assesses the bead
            n_fit, cpu = n_fit - 1, ibi_cost
        add(method, res, runs, note, n_fit, cpu, bool(res.get("converged")))
    res = iterative.get(TABLE_ROW)
    if res is not None:
        runs = check_table(job_dir, res, tgt, seeds, settings)
        last = res["history"][res["best_iteration"]]
        add(
            TABLE_ROW,
            None,
            runs,
            f"tabulated potential, best of {res['n_simulations']} iterations ({res['stop_reason']}): D "
            f"{last['total_deviation_nm']:.4f} nm vs noise floor {last['noise_floor_nm']:.4f} nm",
            int(res["n_simulations"]),
            ibi_cost,
            bool(res["converged"]),
            {"noise_floor_nm": last["noise_floor_nm"]},
        )
    table = pd.DataFrame(rows)
    if scan_n:
        from project.cg.scan import grid_around, scan_grid

        beads = table[table.kind != "table"][["sigma_nm", "epsilon_kJ_mol"]].dropna().to_numpy()
        sig, eps = grid_around([tuple(b) for b in beads], scan_n)
        scan_grid(tgt["r"], tgt["g"], tgt["T"], tgt["rho"], tgt["mass"], sig, eps, settings, job_dir / "cg" / "scan")
    pts = pd.DataFrame(_evaluations(job_dir, tgt))
    if len(pts):
        pts.insert(0, "molecule", tgt["molecule"])
        pts["pareto"] = pareto_mask(pts.total_deviation_nm.to_numpy(), pts.kl_divergence.to_numpy())
    return table, pts


def _ratio(a: float, sa: float, b: float, sb: float) -> tuple[float, float]:
    r = a / b
    return r, abs(r) * math.sqrt((sa / a) ** 2 + (sb / b) ** 2)


def target_check(table: pd.DataFrame) -> pd.DataFrame:
    """One row per molecule and one-shot bead: ratios against each iterative method, and the targets met."""
    out = []
    metrics = {"D": "total_deviation_nm", "KL": "kl_divergence"}
    for mol, sub in table.groupby("molecule", sort=False):
        base = sub[(sub.kind == "iterative") & (sub.n_check_runs > 0)]
        nfit_base = bool(len(base)) and bool((sub[sub.kind != "one-shot"].n_fit >= 2).all())
        for _, one in sub[sub.kind == "one-shot"].iterrows():
            rec = {"molecule": mol, "oneshot_bead": one.row, "n_fit": int(one.n_fit), "lj_adequate": one.lj_adequate}
            have = one.n_check_runs > 0
            for m, col in metrics.items():
                rec[f"{m}"], rec[f"{m}_se"] = one[col], one[f"{col}_se"]
                for _, b in base.iterrows():
                    r, se = _ratio(one[col], one[f"{col}_se"], b[col], b[f"{col}_se"]) if have else (np.nan, np.nan)
                    rec[f"{m}_over_{b.row}"], rec[f"{m}_over_{b.row}_se"] = r, se
            rec["nfit_met"] = bool(one.n_fit == 0 and nfit_base)
            dominated_by = []
            for _, b in base.iterrows():
                better = [
                    b[col] + 2 * math.hypot(b[f"{col}_se"], one[f"{col}_se"]) < one[col] for col in metrics.values()
                ]
                if have and all(better):
                    dominated_by.append(b.row)
            rec["not_dominated"] = bool(have and not dominated_by)
            rec["dominated_by"] = ",".join(dominated_by)
            objective = OBJECTIVE_METRIC.get(one.row)
            rec["objective_met"] = None
            rec["best_iterative_on_objective"] = ""
            if objective and have and len(base):
                col = metrics[objective]
                best = base.loc[base[col].idxmin()]
                close = one[col] <= best[col] + 2 * math.hypot(best[f"{col}_se"], one[f"{col}_se"])
                rec["objective_met"] = bool(one[col] <= TOLERANCE * best[col] or close)
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


def _speed(table: pd.DataFrame, job_dirs: list[Path]) -> float:
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


def _fmt(v: float, f: str) -> str:
    return f"{v:{f}}" if isinstance(v, (int, float)) and np.isfinite(v) else "n/a"


def _pm(v: float, e: float, f: str) -> str:
    if not np.isfinite(v):
        return "n/a"
    return f"{v:{f}} +- {e:{f}}" if np.isfinite(e) else f"{v:{f}}"


def markdown(table: pd.DataFrame, check: pd.DataFrame, library: dict) -> str:
    """The comparison as markdown: per molecule the rows, the ratios of the one-shot beads, the cost."""
    lines = [
        "# Coarse-graining comparison",
        "",
        "Units: sigma nm, epsilon kJ/mol, D nm (integral of |g_AA - g_CG| dr, 0-1.2 nm), KL 1e-4, P bar, U kJ/mol "
        "per molecule, times s. D, KL, P and U: mean +- standard error of the check runs (seeds 101...). "
        "N_fit: CG simulations used before the parameters were fixed. Definitions: docs/coarse_graining.md.",
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
            "| row | sigma | epsilon | T* | D | KL | P_CG | P_EOS | P_AA | U_CG | U_AA | N_fit | CPU s | end-to-end s "
            "| note |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
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
                _fmt(r.cpu_s, ".0f"),
                _fmt(r.end_to_end_s, ".0f"),
                r.note,
            ]
            lines.append("| " + " | ".join(cells) + " |")
        c = check[check.molecule == mol]
        base = [b for b in ITERATIVE_ROWS if f"D_over_{b}" in c.columns and c[f"D_over_{b}"].notna().any()]
        head = " | ".join(f"D/{b} | KL/{b}" for b in base)
        lines += [
            "",
            f"| one-shot bead | {head} | not dominated | objective met | target met |",
            "|---|" + "---|---|" * len(base) + "---|---|---|",
        ]
        for _, r in c.iterrows():
            cells = " | ".join(
                f"{_pm(r[f'D_over_{b}'], r[f'D_over_{b}_se'], '.2f')} | "
                f"{_pm(r[f'KL_over_{b}'], r[f'KL_over_{b}_se'], '.2f')}"
                for b in base
            )
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
        f = _check_rdf(job_dir, r.row)
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


def _check_rdf(job_dir: Path, row: str) -> Path | None:
    """The RDF of the first check run of a row (``rdf.npz``), or None."""
    root = job_dir / "cg" / "check" / row
    if row == TABLE_ROW:
        f = root / f"seed_{FIRST_CHECK_SEED}" / "rdf.npz"
        return f if f.is_file() else None
    for sp in sorted(root.glob("lj_*/statepoint.json")):
        if json.loads(sp.read_text()).get("seed") == FIRST_CHECK_SEED and (sp.parent / "rdf.npz").is_file():
            return sp.parent / "rdf.npz"
    return None


def write_comparison(
    job_dirs: list[Path | str],
    out_dir: Path | str,
    catalogue_path: Path | str | None = None,
    code_version: str | None = None,
    seeds: int = 3,
    settings: CGSettings | None = None,
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
    dirs = [Path(d) for d in job_dirs]
    for d in dirs:
        load_target(d)  # refuses a folder without the all-atom run and COM RDF before anything runs
    tables, clouds = [], []
    for d in dirs:
        t, p = compare_molecule(d, seeds, settings, run_missing, scan_n, model_path)
        tables.append(t)
        clouds.append(p)
    table = pd.concat(tables, ignore_index=True)
    pts = pd.concat(clouds, ignore_index=True)
    check = target_check(table)
    speed = _speed(table, dirs)
    library = {**library_cost(speed), "seconds_per_bead_step": speed}
    out_dir.mkdir(parents=True, exist_ok=True)
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
    for d, t in zip(dirs, tables, strict=True):
        mol = t.molecule.iloc[0]
        save_rdf(load_rdf(d / AA_RDF_NAME), out_dir / f"com_rdf_{mol}.npz")  # the target, beside its results
        atomic_write_text(out_dir / f"aa_{mol}.json", (d / "aa.json").read_text())
        paths[f"plot_{mol}"] = overlay_plot(d, t, out_dir / f"rdf_{mol}.png")
        paths[f"pareto_{mol}"] = pareto_plot(pts[pts.molecule == mol], t, out_dir / f"pareto_{mol}.png")
        paths[f"rdf_aa__{mol}"] = d / AA_RDF_NAME
        for row in t.row:
            f = _check_rdf(d, row)
            if f is not None:
                paths[f"rdf_cg__{mol}__{row}"] = f
    run_id = None
    if catalogue_path is not None:
        from project.catalogue import Catalogue

        metrics = {
            f"{r.molecule}__{r.row}__{k}": getattr(r, k)
            for r in table.itertuples()
            for k in ("total_deviation_nm", "kl_divergence", "n_fit", "cpu_s")
        }
        run_id = Catalogue(catalogue_path).record(
            "cg_fit",
            None,
            settings={
                "molecules": table.molecule.unique().tolist(),
                "rows": list(ROWS),
                "seeds": seeds,
                "cg_settings": asdict(settings or CGSettings()),
            },
            metrics={k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in metrics.items()},
            artefacts={k: str(v) for k, v in paths.items()},
            code_version=code_version,
            note="coarse-graining comparison (project.cg.compare)",
        )
    return {
        "paths": {k: str(v) for k, v in paths.items()},
        "table": json.loads(table.to_json(orient="records")),
        "target_check": json.loads(check.to_json(orient="records")),
        "library": library,
        "catalogue_run_id": run_id,
    }


__all__ = [
    "FIRST_CHECK_SEED",
    "ITERATIVE_ROWS",
    "ONE_SHOT_ROWS",
    "ROWS",
    "TABLE_ROW",
    "check_lj",
    "check_table",
    "compare_molecule",
    "library_cost",
    "oneshot_beads",
    "pareto_mask",
    "pareto_plot",
    "overlay_plot",
    "target_check",
    "write_comparison",
]
