"""The coarse-graining steps on one molecule's folder (no signac: the workflow layer passes a path).

Units: nm, ps, kJ/mol, K, amu, nm^-3.

Folder layout (one folder per molecule, a signac job in ``flow_cg.py``)::

    aa.json, aa_topology.tpr, aa_traj.xtc, aa_thermo.csv   all-atom run (project.cg.aa)
    com_rdf.npz                                           COM g(r) of the AA run (project.cg.com_rdf)
    cg/<method>/result.json                               method result, written last (atomic)
    cg/<method>/lj_<hash>/ or iter_<k>/                   the CG simulations of that method

Iterative methods: ``ibi`` (tabulated), ``ibi_lj`` (LJ fit to the IBI table, needs ``ibi``), ``relent``,
``simplex``. The one-shot beads come from :func:`project.cg.userfit.fit_user_run` (no CG simulation), and
:mod:`project.cg.compare` re-simulates every bead. Every ``result.json``
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
from project.cg.target import CGTarget
from project.engines.base import atomic_write_text
from project.errors import ProjectError, StatePointError
from project.metrics import kl_divergence, total_deviation
from project.rdf import load_rdf, save_rdf

logger = logging.getLogger(__name__)

METHODS = ("ibi", "ibi_lj", "relent", "simplex")
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


def load_target(job_dir: Path | str) -> CGTarget:
    """Return the CG target of a folder: the COM RDF of its all-atom run at the run's T (K) and rho (nm^-3)."""
    from project.cg.aa import load_summary

    job_dir = Path(job_dir)
    summary = load_summary(job_dir)
    if summary is None or not (job_dir / AA_RDF_NAME).is_file():
        raise ProjectError(f"{job_dir}: the AA run and its COM RDF ({AA_RDF_NAME}) are needed first")
    return target_of(load_rdf(job_dir / AA_RDF_NAME), summary, str(job_dir))


def target_of(rdf, summary: dict, source: str) -> CGTarget:
    """The CG target of a COM RDF (``RDFResult``: r nm, g) and its all-atom run's summary (``molecule``, ``T_K`` K,
    ``rho_nm3`` nm^-3); the bead mass (amu) is the molecule's."""
    from project.cg.molecules import get_molecule

    mol = get_molecule(summary["molecule"])
    return CGTarget(
        molecule=mol.name,
        r=rdf.r_nm,
        g=rdf.g,
        g_err=rdf.g_err,
        T=float(summary["T_K"]),
        rho=float(summary["rho_nm3"]),
        mass=mol.mass,
        source=source,
    )


def load_result(job_dir: Path | str, method: str) -> dict | None:
    """Return a method's ``result.json`` or None if it has not finished."""
    path = Path(job_dir) / "cg" / method / RESULT_NAME
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _ibi_lj(job_dir: Path, target: CGTarget, settings: CGSettings, root: Path, start: tuple[float, float]) -> dict:
    """The LJ fit to the finished IBI table and its LJ run (method ``ibi_lj``)."""
    from project.cg.ibi import fit_lj

    ibi = load_result(job_dir, "ibi")
    if ibi is None:
        raise ProjectError(f"{job_dir}: method ibi_lj needs the finished ibi result first")
    tab = ibi["table"]
    sigma, eps = fit_lj(np.asarray(tab["r_nm"]), np.asarray(tab["u_kJ_mol"]), target.T, ibi["rc_nm"], start)
    try:
        run = run_lj(sigma, eps, target.T, target.rho, target.mass, settings, root)
    except StatePointError as exc:
        raise ProjectError(
            f"ibi_lj: the LJ fit to the IBI table (sigma {sigma:.5f} nm, epsilon {eps:.5g} kJ/mol) cannot be "
            f"simulated: {str(exc).splitlines()[0]}"
        ) from exc
    return {
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


def run_method(
    job_dir: Path | str,
    method: str,
    settings: CGSettings | None = None,
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
        LJ CG run settings (default :class:`CGSettings`); IBI runs them with its own run lengths
        (:func:`project.cg.ibi.ibi_settings`).
    **options
        The method's keyword options (e.g. ``max_iter``, ``max_evals``, ``rc`` for IBI).

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
    target = load_target(job_dir)
    root = job_dir / "cg" / method
    start = initial_guess(target.r, target.g, target.T)
    if method == "relent":
        from project.cg.relent import run_relent

        res = run_relent(target, settings, root, start=start, **options)
    elif method == "simplex":
        from project.cg.simplex import run_simplex

        res = run_simplex(target, settings, root, start=start, **options)
    elif method == "ibi":
        from project.cg.ibi import ibi_settings, run_ibi

        res = run_ibi(target, ibi_settings(settings), root, **options)
    else:
        res = _ibi_lj(job_dir, target, settings, root, start)
    final = load_rdf(Path(res["final_workdir"]) / "rdf.npz")
    save_rdf(final, root / "rdf_cg.npz")
    res.update(
        molecule=target.molecule,
        total_deviation_nm=total_deviation(target.r, target.g, final.g),
        kl_divergence=kl_divergence(target.r, target.g, final.g),
        settings=asdict(settings),
        T_K=target.T,
        rho_nm3=target.rho,
        mass_amu=target.mass,
        start={"sigma": start[0], "epsilon": start[1]},
    )
    if "sigma" in res:
        from project.units import reduced_density, reduced_temperature

        res.update(
            T_star=reduced_temperature(target.T, res["epsilon"]), rho_star=reduced_density(target.rho, res["sigma"])
        )
    atomic_write_text(root / RESULT_NAME, json.dumps(res, indent=1) + "\n")
    logger.info(
        "%s %s: D = %.4f nm, KL = %.5f, %d simulations, %.0f s",
        target.molecule,
        method,
        res["total_deviation_nm"],
        res["kl_divergence"],
        res["n_simulations"],
        res["wall_s"],
    )
    return res


__all__ = [
    "AA_RDF_NAME",
    "LJ_BASELINES",
    "METHODS",
    "compute_aa_rdf",
    "load_result",
    "load_target",
    "run_method",
]
