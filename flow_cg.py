"""signac-flow workflow of the coarse-graining comparison: one job per molecule in its own data space.

Operations (thin: each checks its product and calls one library function of :mod:`project.cg`)::

    aa_simulate -> aa_com_rdf -> cg_ibi -> cg_ibi_lj, cg_relent, cg_simplex
        -> compare (aggregate: the one-shot beads of ``cg fit``, check runs of every bead, scan, table)

A failed operation writes ``failed.json`` into the job folder (shown by ``status``); rerunning skips it until the
marker is removed (``python -m project reset-failed --dataspace cg_space`` works here too). Every step is resumable:
the AA run restarts from its GROMACS checkpoint, finished CG simulations are reused.

Usage::

    python -m project cg init                       # create the jobs (CH4, F2, CO)
    python flow_cg.py run                           # locally
    python flow_cg.py submit --bundle 3 --parallel  # on a SLURM cluster

The data space is ``./cg_space`` (in the current directory) unless ``LJ_CG_DATASPACE`` names another folder.
``LJ_THREADS`` sets the MD threads, ``LJ_CG_MODEL`` the inverse-model folder of the one-shot beads (default: the
shipped model).
"""

from __future__ import annotations

import logging
import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]
from flow import FlowProject, aggregator  # noqa: E402, I001

sys.path.insert(0, _HERE)
from project.cg.pipeline import METHODS  # noqa: E402
from project.dataspace import fail_job, not_failed  # noqa: E402
from project.engines import engine_threads  # noqa: E402

log = logging.getLogger("flow.cg")


class CGProject(FlowProject):
    """The coarse-graining data space (one job per molecule)."""


def _method_done(method: str):
    def done(job) -> bool:
        return job.isfile(os.path.join("cg", method, "result.json"))

    done.__name__ = f"{method}_done"
    return done


def _run_method(job, method: str) -> None:
    from project.cg.lj import CGSettings
    from project.cg.pipeline import run_method
    from project.errors import ProjectError

    try:
        res = run_method(job.path, method, CGSettings(threads=engine_threads()))
    except ProjectError as exc:
        fail_job(job, f"cg_{method}", exc)
        return
    job.doc[f"cg_{method}"] = {
        k: res.get(k)
        for k in ("sigma", "epsilon", "total_deviation_nm", "kl_divergence", "n_simulations", "wall_s", "converged")
    }


@CGProject.label
def molecule(job):
    """Label: the molecule of the job."""
    return job.cached_statepoint.get("molecule", "?")


@CGProject.pre(not_failed)
@CGProject.post.isfile("aa.json")
@CGProject.operation(directives={"np": 2, "walltime": 2.0, "memory": "2G"})
def aa_simulate(job):
    """All-atom NVT run at the experimental liquid state (GROMACS, resumable)."""
    from project.cg.aa import params_from_statepoint, run_aa
    from project.errors import ProjectError

    try:
        summary = run_aa(params_from_statepoint(dict(job.cached_statepoint)), job.path, threads=engine_threads())
    except ProjectError as exc:
        fail_job(job, "aa_simulate", exc)
        return
    job.doc["aa"] = {k: summary[k] for k in ("T_mean_K", "P_bar", "U_per_molecule_kJ_mol", "wall_s")}


@CGProject.pre(not_failed)
@CGProject.pre.after(aa_simulate)
@CGProject.post.isfile("com_rdf.npz")
@CGProject.operation(directives={"np": 1, "walltime": 0.5, "memory": "2G"})
def aa_com_rdf(job):
    """Centre-of-mass g(r) of the AA trajectory (MDAnalysis)."""
    from project.cg.pipeline import compute_aa_rdf
    from project.errors import ProjectError

    try:
        compute_aa_rdf(job.path)
    except ProjectError as exc:
        fail_job(job, "aa_com_rdf", exc)


@CGProject.pre(not_failed)
@CGProject.pre.after(aa_com_rdf)
@CGProject.post(_method_done("ibi"))
@CGProject.operation(directives={"np": 2, "walltime": 4.0, "memory": "2G"})
def cg_ibi(job):
    """Iterative Boltzmann inversion with a tabulated potential (OpenMM)."""
    _run_method(job, "ibi")


@CGProject.pre(not_failed)
@CGProject.pre.after(cg_ibi)
@CGProject.post(_method_done("ibi_lj"))
@CGProject.operation(directives={"np": 2, "walltime": 0.5, "memory": "2G"})
def cg_ibi_lj(job):
    """LJ fit to the converged IBI potential and its CG simulation."""
    _run_method(job, "ibi_lj")


@CGProject.pre(not_failed)
@CGProject.pre.after(aa_com_rdf)
@CGProject.post(_method_done("relent"))
@CGProject.operation(directives={"np": 2, "walltime": 2.0, "memory": "2G"})
def cg_relent(job):
    """Relative-entropy minimisation (Newton-Raphson) for (sigma, epsilon)."""
    _run_method(job, "relent")


@CGProject.pre(not_failed)
@CGProject.pre.after(aa_com_rdf)
@CGProject.post(_method_done("simplex"))
@CGProject.operation(directives={"np": 2, "walltime": 4.0, "memory": "2G"})
def cg_simplex(job):
    """Nelder-Mead simplex on (sigma, epsilon), one CG simulation per evaluation."""
    _run_method(job, "simplex")


def _comparison_current(*jobs) -> bool:
    """Post-condition of compare: comparison.csv is newer than every method result."""
    path = os.path.join(jobs[0].project.path, "results", "comparison.csv")
    if not os.path.isfile(path):
        return False
    t = os.path.getmtime(path)
    results = [os.path.join(job.path, "cg", m, "result.json") for job in jobs for m in METHODS]
    return all(os.path.getmtime(f) <= t for f in results if os.path.isfile(f))


def _any_result(*jobs) -> bool:
    return any(job.isfile(os.path.join("cg", m, "result.json")) for job in jobs for m in METHODS)


@CGProject.pre(_any_result)
@CGProject.post(_comparison_current)
@CGProject.operation(aggregator=aggregator(), directives={"np": 1, "walltime": 2.0, "memory": "4G"})
def compare(*jobs):
    """Comparison in <cg_space>/results: check runs with 3 seeds per bead, scan, table, plots, catalogue record."""
    from project.cg.lj import CGSettings
    from project.cg.report import write_comparison
    from project.provenance import code_version_string

    out = os.path.join(jobs[0].project.path, "results")
    write_comparison(
        [job.path for job in jobs],
        out,
        CGSettings(threads=engine_threads()),
        catalogue_path=os.path.join(out, "catalogue.sqlite"),
        code_version=code_version_string(),
        run_missing=False,
        model_path=os.environ.get("LJ_CG_MODEL"),
    )


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from project.dataspace import cg_dataspace

    CGProject.get_project(str(cg_dataspace())).main()
