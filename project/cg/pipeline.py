"""The coarse-graining steps on one molecule's folder (no signac: the workflow layer passes a path).

Units: nm, ps, kJ/mol, K, amu, nm^-3.

Folder layout (one folder per molecule, a signac job in ``flow_cg.py``)::

    aa.json, aa_topology.tpr, aa_traj.xtc, aa_thermo.csv   all-atom run (project.cg.aa)
    com_rdf.npz                                           COM g(r) of the AA run (project.cg.com_rdf)
    cg/<method>/result.json                               method result, written last (atomic)
    cg/<method>/lj_<hash>/ or iter_<k>/                   the CG simulations of that method

Methods: ``oneshot``, ``oneshot_refined`` (the same, refined on the LJ RDF library without simulation), ``ibi``
(tabulated), ``ibi_lj`` (LJ fit to the IBI table, needs ``ibi``), ``relent``, ``simplex``. Every ``result.json``
holds the final RDF's metrics against the AA target (``total_deviation_nm``, ``kl_divergence``),
``n_simulations``, ``wall_s`` (s, the sum of the method's simulations and analysis as recorded when they ran) and
``converged`` with the stated ``criterion``.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from pathlib import Path

import numpy as np

from project.cg.lj import CGSettings, initial_guess, run_lj
from project.cg.metrics import kl_divergence, total_deviation
from project.engines.base import atomic_write_text
from project.errors import ProjectError
from project.rdf import load_rdf, save_rdf

logger = logging.getLogger(__name__)

METHODS = ("oneshot", "oneshot_refined", "ibi", "ibi_lj", "relent", "simplex")
#: the one-shot methods (one CG simulation, no iteration) whose target is checked against the baselines
ONE_SHOT = ("oneshot", "oneshot_refined")
#: the methods that end in a single-bead LJ model (the one-shot model's competitors)
LJ_BASELINES = ("ibi_lj", "relent", "simplex")
AA_RDF_NAME = "com_rdf.npz"
RESULT_NAME = "result.json"


def compute_aa_rdf(job_dir: Path | str, discard_ps: float = 0.0) -> Path:
    """Compute the COM g(r) of the AA production run of a folder and write ``com_rdf.npz`` atomically.

    Parameters
    ----------
    job_dir : path
        Molecule folder with a finished AA run.
    discard_ps : float
        Production time (ps) to drop at the start.
    """
    from project.cg.aa import load_summary
    from project.cg.com_rdf import compute_com_rdf

    job_dir = Path(job_dir)
    summary = load_summary(job_dir)
    if summary is None:
        raise ProjectError(f"{job_dir}: no finished all-atom run (aa.json); run the AA step first")
    start = int(round(discard_ps / summary["params"]["t_sample_ps"]))
    res = compute_com_rdf(job_dir / "aa_topology.tpr", job_dir / "aa_traj.xtc", start=start)
    return save_rdf(res, job_dir / AA_RDF_NAME)


def load_target(job_dir: Path | str) -> dict:
    """Return the CG target of a folder: ``r`` (nm), ``g``, ``g_err``, ``T`` (K), ``rho`` (nm^-3), ``mass`` (amu)."""
    from project.cg.aa import load_summary
    from project.cg.molecules import get_molecule

    job_dir = Path(job_dir)
    summary = load_summary(job_dir)
    if summary is None or not (job_dir / AA_RDF_NAME).is_file():
        raise ProjectError(f"{job_dir}: the AA run and its COM RDF ({AA_RDF_NAME}) are needed first")
    rdf = load_rdf(job_dir / AA_RDF_NAME)
    mol = get_molecule(summary["molecule"])
    return {
        "molecule": mol.name,
        "r": rdf.r_nm,
        "g": rdf.g,
        "g_err": rdf.g_err,
        "T": float(summary["T_K"]),
        "rho": float(summary["rho_nm3"]),
        "mass": mol.mass,
    }


def load_result(job_dir: Path | str, method: str) -> dict | None:
    """Return a method's ``result.json`` or None if it has not finished."""
    path = Path(job_dir) / "cg" / method / RESULT_NAME
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def run_method(
    job_dir: Path | str,
    method: str,
    settings: CGSettings | None = None,
    model_path: str | Path | None = None,
    **options,
) -> dict:
    """Run one CG method on a molecule folder and write ``cg/<method>/result.json`` (reused if present).

    Parameters
    ----------
    job_dir : path
        Molecule folder with ``aa.json`` and ``com_rdf.npz``.
    method : str
        One of :data:`METHODS`.
    settings : CGSettings or None
        LJ CG run settings (default :class:`CGSettings`).
    model_path : path or None
        Inverse model folder for ``oneshot`` (None: the shipped model).
    **options
        Passed to the method (e.g. ``max_iter``, ``max_evals``, ``t_prod`` for IBI).

    Returns
    -------
    dict
        The result with ``total_deviation_nm`` and ``kl_divergence`` of the final CG RDF against the target.

    Raises
    ------
    ProjectError
        Unknown method (listing the allowed ones), missing prerequisites.
    """
    if method not in METHODS:
        raise ProjectError(f"method: unknown {method!r}; allowed: {', '.join(METHODS)}")
    job_dir = Path(job_dir)
    existing = load_result(job_dir, method)
    if existing is not None:
        return existing
    settings = settings or CGSettings()
    tgt = load_target(job_dir)
    root = job_dir / "cg" / method
    r, g, ge, T, rho, mass = tgt["r"], tgt["g"], tgt["g_err"], tgt["T"], tgt["rho"], tgt["mass"]
    start = initial_guess(r, g, T)
    if method in ONE_SHOT:
        from project.cg.oneshot import run_oneshot

        res = run_oneshot(r, g, T, rho, mass, settings, root, model_path, refine=method == "oneshot_refined", g_err=ge)
    elif method == "relent":
        from project.cg.relent import run_relent

        res = run_relent(r, g, T, rho, mass, start, settings, root, **options)
    elif method == "simplex":
        from project.cg.simplex import run_simplex

        res = run_simplex(r, g, ge, T, rho, mass, start, settings, root, **options)
    elif method == "ibi":
        from project.cg.ibi import run_ibi

        opts = {
            "n": settings.N,
            "dt": settings.dt,
            "t_sample": settings.t_sample,
            "seed": settings.seed,
            "threads": settings.threads,
            **options,
        }
        res = run_ibi(r, g, ge, T, rho, mass, root, **opts)
    else:  # ibi_lj
        from project.cg.ibi import fit_lj

        ibi = load_result(job_dir, "ibi")
        if ibi is None:
            raise ProjectError(f"{job_dir}: method ibi_lj needs the finished ibi result first")
        tab = ibi["table"]
        sigma, eps = fit_lj(np.asarray(tab["r_nm"]), np.asarray(tab["u_kJ_mol"]), T, ibi["rc_nm"], start)
        run = run_lj(sigma, eps, T, rho, mass, settings, root)
        res = {
            "method": "ibi_lj",
            "sigma": run.statepoint["sigma"],
            "epsilon": run.statepoint["epsilon"],
            "fit": {"sigma": sigma, "epsilon": eps},
            "converged": bool(ibi["converged"]),
            "n_simulations": ibi["n_simulations"] + 1,
            "wall_s": ibi["wall_s"] + run.wall_s,
            "final_workdir": str(run.workdir),
            "criterion": "IBI criterion, then one least-squares LJ fit to the IBI table and one LJ run",
            "units": {"sigma": "nm", "epsilon": "kJ/mol", "wall_s": "s"},
        }
    final = load_rdf(Path(res["final_workdir"]) / "rdf.npz")
    save_rdf(final, root / "rdf_cg.npz")
    res.update(
        molecule=tgt["molecule"],
        total_deviation_nm=total_deviation(r, g, final.g),
        kl_divergence=kl_divergence(r, g, final.g),
        settings=asdict(settings),
        T_K=T,
        rho_nm3=rho,
        mass_amu=mass,
        start={"sigma": start[0], "epsilon": start[1]},
    )
    if "sigma" in res:
        from project.units import reduced_density, reduced_temperature

        res.update(T_star=reduced_temperature(T, res["epsilon"]), rho_star=reduced_density(rho, res["sigma"]))
    atomic_write_text(root / RESULT_NAME, json.dumps(res, indent=1) + "\n")
    logger.info(
        "%s %s: D = %.4f nm, KL = %.5f, %d simulations, %.0f s",
        tgt["molecule"],
        method,
        res["total_deviation_nm"],
        res["kl_divergence"],
        res["n_simulations"],
        res["wall_s"],
    )
    return res


def run_scan(job_dir: Path | str, n: int = 7, settings: CGSettings | None = None) -> dict:
    """Map D and KL over a (sigma, epsilon) grid around the finished methods' beads (``cg/scan/``).

    The grid spans the beads of every finished LJ method (one-shot and baselines) with margins of 2 % in sigma
    and 25 % in epsilon (:func:`project.cg.scan.grid_around`, n x n points, one CG simulation each, reused when
    present). Writes ``cg/scan/scan.csv`` (every point) and ``cg/scan/scan.json`` (the best compromise against
    the best LJ baseline, :func:`project.cg.scan.compromise`), both atomically.

    Returns
    -------
    dict
        The content of ``scan.json``.

    Raises
    ------
    ProjectError
        If no LJ baseline (ibi_lj, relent, simplex) has finished for this molecule.
    """
    from project.atomic import atomic_path
    from project.cg.scan import compromise, grid_around, scan_grid

    job_dir = Path(job_dir)
    settings = settings or CGSettings()
    done = {m: load_result(job_dir, m) for m in (*ONE_SHOT, *LJ_BASELINES)}
    done = {m: v for m, v in done.items() if v is not None}
    base = [v for m, v in done.items() if m in LJ_BASELINES]
    if not base:
        raise ProjectError(f"{job_dir}: scan needs at least one finished LJ baseline ({', '.join(LJ_BASELINES)})")
    tgt = load_target(job_dir)
    sig, eps = grid_around([(v["sigma"], v["epsilon"]) for v in done.values()], n)
    root = job_dir / "cg" / "scan"
    df = scan_grid(tgt["r"], tgt["g"], tgt["T"], tgt["rho"], tgt["mass"], sig, eps, settings, root)
    best_d = min(v["total_deviation_nm"] for v in base)
    best_kl = min(v["kl_divergence"] for v in base)
    out = {
        "molecule": tgt["molecule"],
        "best_baseline_total_deviation_nm": best_d,
        "best_baseline_kl_divergence": best_kl,
        "grid_total_deviation_min_nm": float(df.total_deviation_nm.min()),
        "grid_kl_divergence_min": float(df.kl_divergence.min()),
        "n": n,
        "compromise": compromise(df, best_d, best_kl),
        "baselines": sorted(m for m in done if m not in ONE_SHOT),
        "units": {"sigma_nm": "nm", "epsilon_kJ_mol": "kJ/mol", "total_deviation_nm": "nm", "wall_s": "s"},
    }
    with atomic_path(root / "scan.csv") as tmp:
        df.to_csv(tmp, index=False)
    atomic_write_text(root / "scan.json", json.dumps(out, indent=1) + "\n")
    return out


__all__ = [
    "AA_RDF_NAME",
    "LJ_BASELINES",
    "METHODS",
    "ONE_SHOT",
    "compute_aa_rdf",
    "load_result",
    "load_target",
    "run_method",
    "run_scan",
]
