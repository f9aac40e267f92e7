"""signac-flow workflow: simulate -> compute_rdf -> aggregate.

Each operation is thin: it checks its product (post-condition), calls one plain library function that knows
nothing of signac, and records provenance in the job document. A failed operation writes ``failed.json`` (with
the reason) into the job folder, so that ``status`` shows it, every other job goes on, and a rerun skips it until
``python -m project reset-failed`` clears the marker. Finished products are never recomputed.

Usage::

    python flow.py run                  # all eligible operations, locally
    python flow.py status --detailed    # per-job labels, failures included
    python flow.py submit --bundle 20 --parallel   # on a SLURM cluster (see templates/ and README)

The data space is the repository root by default; set ``LJ_DATASPACE=/path/to/project`` to use another.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path

# This file is named flow.py like the layout asks, which would shadow the signac-flow package ``flow`` when run as a
# script: import the package with this folder off the path, then put the folder back for ``project``.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]
from flow import FlowProject, aggregator  # noqa: E402, I001

sys.path.insert(0, _HERE)
from project.dataspace import FAILED_FILE, dataspace_path, fail_job, not_failed  # noqa: E402
from project.engines import engine_threads  # noqa: E402

log = logging.getLogger("flow.lj")

EXPORT_NAME = os.path.join("export", "dataset.h5")


class Project(FlowProject):
    """The Lennard-Jones data space."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # flow looks for templates/ in the data space; the submission templates live beside this file.
        self._template_dir = os.path.join(_HERE, "templates")


@Project.label
def failed(job):
    """Label: the failure reason of a failed job (shown by ``flow.py status``)."""
    if not job.isfile(FAILED_FILE):
        return False
    try:
        with open(job.fn(FAILED_FILE)) as fh:
            info = json.load(fh)
        return f"failed in {info.get('operation')}: {info.get('reason', '')[:60]}"
    except (OSError, ValueError):
        return "failed"


#: simulate speed assumed for the wall time (steps/s per core at N = 1000): GROMACS measured ~3,500-4,400 per
#: core (shared/notes/environment.md), OpenMM on CPUs ~600; a GPU counts as one fast core.
_STEPS_PER_S_PER_CORE = {"gromacs": 2000.0, "openmm": 500.0, "gpu": 2000.0}


def _ngpu(job) -> int:
    """GPUs for simulate: $LJ_NGPU when you submit (0 by default; see docs/cluster.md)."""
    return int(os.environ.get("LJ_NGPU", "0"))


def _cores(job) -> int:
    """Cores for simulate: $LJ_SIM_CORES when you submit, else by N (1 up to 2,000 particles, 2 up to 10,000, 4).

    Small LJ systems scale poorly over threads: many 1-core runs side by side (``submit --bundle K --parallel``)
    use a node best.
    """
    if os.environ.get("LJ_SIM_CORES"):
        return int(os.environ["LJ_SIM_CORES"])
    n = job.cached_statepoint["N"]
    return 1 if n <= 2000 else 2 if n <= 10000 else 4


def _walltime_hours(job) -> float:
    """Wall time (h) for simulate from N, the run length and the cores: twice the estimate, 6 min at least."""
    sp = job.cached_statepoint
    steps = (sp["t_equil"] + sp["t_prod"]) / sp["dt"]
    engine = "gpu" if _ngpu(job) else os.environ.get("LJ_ENGINE", "gromacs")
    rate = _STEPS_PER_S_PER_CORE.get(engine, 2000.0) * (1 if engine == "gpu" else _cores(job))
    seconds = steps * sp["N"] / 1000.0 / rate
    return round(max(0.1, 2.0 * seconds / 3600.0), 2)


def _memory_gb(job) -> float:
    """Memory (GB) for simulate: 1 GB plus 0.5 GB per 10,000 particles (N = 300 took 0.14 GB)."""
    return round(1.0 + 0.5 * job.cached_statepoint["N"] / 10000.0, 1)


def _rdf_walltime_hours(job) -> float:
    """Wall time (h) for compute_rdf: twice (30 s + 2e-7 s per frame, particle and neighbour within 1.2 nm), 6 min
    at least (N = 300, 301 frames, 92 neighbours took 1 s plus 1.5 s of imports)."""
    sp = job.cached_statepoint
    pairs = sp["t_prod"] / sp["t_sample"] * sp["N"] * sp["rho"] * 4.0 / 3.0 * 3.14159 * 1.2**3
    return round(max(0.1, 2.0 * (30.0 + 2e-7 * pairs) / 3600.0), 2)


@Project.pre(not_failed)
@Project.post.isfile("simulate.json")
@Project.operation(directives={"np": _cores, "walltime": _walltime_hours, "memory": _memory_gb, "ngpu": _ngpu})
def simulate(job):
    """Run the MD protocol (minimise, melt, equilibrate, NVT production) in the job folder."""
    from project.errors import ProjectError
    from project.provenance import now, provenance
    from project.simulate import run_simulation

    started = now()
    job.doc["status"] = "running"
    try:
        summary = run_simulation(dict(job.cached_statepoint), job.path, engine=os.environ.get("LJ_ENGINE", "auto"),
                                 threads=engine_threads())
    except ProjectError as exc:
        fail_job(job, "simulate", exc)
        return
    engine = {"name": summary.get("engine"), "version": summary.get("engine_version")}
    job.doc["simulate"] = {"summary": summary,
                           "provenance": provenance(dict(job.cached_statepoint), started=started, engine=engine)}
    job.doc["status"] = "simulated"


@Project.pre(not_failed)
@Project.pre.after(simulate)
@Project.post.isfile("rdf.npz")
@Project.operation(directives={"np": 1, "walltime": _rdf_walltime_hours, "memory": "1G"})
def compute_rdf(job):
    """Compute g(r) with block-averaged uncertainties from the production trajectory."""
    from project.errors import ProjectError
    from project.provenance import now, provenance
    from project.rdf import compute_rdf as rdf_of
    from project.rdf import save_rdf

    started = now()
    try:
        result = rdf_of(job.fn("topology.pdb"), job.fn("traj.xtc"))
        save_rdf(result, job.fn("rdf.npz"))
    except ProjectError as exc:
        fail_job(job, "compute_rdf", exc)
        return
    job.doc["compute_rdf"] = {"provenance": provenance(dict(job.cached_statepoint), started=started,
                                                       inputs={"traj.xtc": job.fn("traj.xtc")})}
    job.doc["status"] = "done"


def _export_path(project) -> Path:
    return Path(project.path) / EXPORT_NAME


def _export_current(*jobs) -> bool:
    """Post-condition of aggregate: the export holds exactly the jobs whose RDF is finished."""
    from project.errors import ExportError
    from project.export import open_export

    done = {job.id for job in jobs if job.isfile("rdf.npz") and not job.isfile(FAILED_FILE)}
    if not done:
        return True
    try:
        with open_export(_export_path(jobs[0].project)) as f:
            exported = {j.decode("ascii") for j in f["job_id"][()]}
    except (ExportError, KeyError):
        return False
    return done <= exported


@Project.post(_export_current)
@Project.operation(aggregator=aggregator(),
                   directives={"np": 1, "walltime": 1.0, "memory": "4G", "failure_marker": False})
def aggregate(*jobs):
    """Write the indexed HDF5 export of every finished job (incremental, atomic)."""
    from project.export import ExportRecord, export_dataset
    from project.provenance import code_version_string

    records = [ExportRecord(job_id=job.id, statepoint=dict(job.cached_statepoint), rdf_path=job.fn("rdf.npz"),
                            summary=job.doc.get("simulate", {}).get("summary"))
               for job in jobs if job.isfile("rdf.npz") and not job.isfile(FAILED_FILE)]
    report = export_dataset(records, _export_path(jobs[0].project), code_version=code_version_string())
    log.info("export: %s", report)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    Project.get_project(str(dataspace_path())).main()
