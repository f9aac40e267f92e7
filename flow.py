"""signac-flow workflow: simulate -> compute_rdf -> aggregate.

Each operation is thin: it checks its product (post-condition), calls one plain library function that knows
nothing of signac, and records provenance in the job document. A failed operation writes ``failed.json`` (with
the reason) into the job folder, so that ``status`` shows it, every other job goes on, and a rerun skips it until
``python -m project reset-failed`` clears the marker. Finished products are never recomputed. A run that did not
stay one homogeneous liquid (crystallised or phase-separated, :mod:`project.structure`) is marked the same way: it
is found by ``compute_rdf`` before it computes g(r) (``structure.json``): it gets no RDF, stays out of the export and
shows as ``excluded: <reason>`` in ``status``.

Usage::

    python flow.py run                  # all eligible operations, locally, several jobs at once (see below)
    python flow.py run --parallel 1     # one operation at a time, the engine on every core
    python flow.py status --detailed    # per-job labels, failures included
    python flow.py submit --bundle 20 --parallel   # on a SLURM cluster (see templates/ and README)
    python flow.py -v run               # with the libraries' INFO logs

The data space is ``$LJ_DATASPACE``, else the current directory (after ``make demo`` in the checkout: ``demo_space/``);
flow.py has no ``--dataspace`` option (``lj-inverse flow --dataspace SPACE ...`` sets the variable).

Every core busy: ``run`` without ``--parallel`` runs ``cores // np`` operations at once (no more than there are jobs
to run), where ``np`` is the largest ``simulate`` core count of the jobs still to run (1 core up to N = 2,000
particles, see :func:`_cores`), and gives each engine ``cores // parallel`` threads (``LJ_THREADS``, unless set).
``--parallel K`` chooses K yourself.
Two ``run`` processes on one data space (or a run beside cluster jobs) do each operation once: an operation holds
a lock on its job folder (``.lock``) and skips a job another process is working on.

Output: one line per finished operation with a counter and a time estimate; library INFO logs only with ``-v``.
Where ``sbatch`` is installed but no SLURM controller answers (``squeue`` fails), the local environment is used.
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
if (
    __name__ == "__main__"
    and "run" in sys.argv[1:]
    and not {"-v", "-vv", "--verbose", "--debug", "--progress"} & set(sys.argv[1:])
):
    # flow's "Serialize tasks" bars of every pass: off (tqdm reads this when flow imports it, so before that)
    os.environ.setdefault("TQDM_DISABLE", "1")
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]
from flow import FlowProject, aggregator  # noqa: E402, I001

sys.path.insert(0, _HERE)
from project.dataspace import FAILED_FILE, dataspace_path, fail_job, not_failed  # noqa: E402
from project.engines import engine_threads  # noqa: E402
from project.paths import default_export  # noqa: E402

#: Lock file in a job folder, held while an operation works on the job (see project.atomic.exclusive_lock).
LOCK_FILE = ".lock"
#: The structural check's result, written by compute_rdf (project.structure.RESULT_NAME).
STRUCTURE_FILE = "structure.json"

log = logging.getLogger("flow.lj")
#: Progress and summary lines of a run (shown without -v).
run_log = logging.getLogger("lj.run")


class Project(FlowProject):
    """The Lennard-Jones data space."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # flow looks for templates/ in the data space; the submission templates live beside this file.
        self._template_dir = os.path.join(_HERE, "templates")


@Project.label
def failed(job):
    """Label: the failure reason of a failed job, or the structural reason of an excluded one (``flow.py status``)."""
    if not job.isfile(FAILED_FILE):
        return False
    try:
        with open(job.fn(FAILED_FILE)) as fh:
            info = json.load(fh)
        reason = str(info.get("reason", "")).replace(job.path + os.sep, "")  # paths inside the job: relative
        if job.isfile(STRUCTURE_FILE) and reason.startswith(("crystallised:", "phase-separated:")):
            return f"excluded: {reason[:150]}"  # a run that is not one liquid, not a software failure
        return f"failed in {info.get('operation')}: {reason[:100]}"
    except (OSError, ValueError):
        return "failed"


#: simulate speed assumed for the wall time (steps/s per core at N = 1000): GROMACS measured ~3,500-4,400 per
#: core (shared/notes/environment.md), OpenMM on CPUs ~600, LAMMPS (Mie fluids, pair_style table) 950-2,600 (median
#: 1,490 over the first 41 jobs of the Mie campaign, docs/mie.md); a GPU counts as one fast core.
_STEPS_PER_S_PER_CORE = {"gromacs": 2000.0, "openmm": 500.0, "lammps": 700.0, "gpu": 2000.0}


def _ngpu(job) -> int:
    """GPUs for simulate: $LJ_NGPU when you submit (0 by default; see docs/cluster.md)."""
    return int(os.environ.get("LJ_NGPU", "0"))


def _cores(job) -> int:
    """Cores for simulate (the directive ``np``): :func:`_cores_of_n` of the job's N."""
    return _cores_of_n(job.cached_statepoint["N"])


def _cores_of_n(n: int) -> int:
    """Cores of simulate for N particles: $LJ_SIM_CORES when set, else 1 up to 2,000 particles, 2 up to 10,000, 4.

    Small LJ systems scale poorly over threads: many 1-core runs side by side (``submit --bundle K --parallel``)
    use a node best.
    """
    if os.environ.get("LJ_SIM_CORES"):
        return int(os.environ["LJ_SIM_CORES"])
    return 1 if n <= 2000 else 2 if n <= 10000 else 4


def _walltime_hours(job) -> float:
    """Wall time (h) for simulate from N, the run length and the cores: twice the estimate, 6 min at least."""
    sp = job.cached_statepoint
    steps = (sp["t_equil"] + sp["t_prod"]) / sp["dt"]
    engine = "gpu" if _ngpu(job) else os.environ.get("LJ_ENGINE", "auto")
    if engine == "auto":  # as project.engines.get_engine: LAMMPS for a Mie state, GROMACS for LJ
        engine = "lammps" if float(sp.get("lambda_r", 12.0)) != 12.0 else "gromacs"
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


def _num(mapping: dict, key: str, fmt: str) -> str:
    value = mapping.get(key)
    return format(value, fmt) if isinstance(value, (int, float)) else "n/a"


@Project.pre(not_failed)
@Project.post.isfile("simulate.json")
@Project.operation(directives={"np": _cores, "walltime": _walltime_hours, "memory": _memory_gb, "ngpu": _ngpu})
def simulate(job):
    """Run the MD protocol (minimise, melt, equilibrate, NVT production) in the job folder."""
    import time

    from project.atomic import exclusive_lock
    from project.errors import ProjectError
    from project.progress import finished
    from project.provenance import now, provenance
    from project.simulate import run_simulation

    with exclusive_lock(job.fn(LOCK_FILE)) as mine:
        if not mine or job.isfile("simulate.json") or job.isfile(FAILED_FILE):
            run_log.info("simulate %s: done or running in another process; skipped", job.id[:7])
            return
        started, t0 = now(), time.monotonic()
        job.doc["status"] = "running"
        try:
            summary = run_simulation(
                dict(job.cached_statepoint),
                job.path,
                engine=os.environ.get("LJ_ENGINE", "auto"),
                threads=engine_threads(),
            )
        except ProjectError as exc:
            fail_job(job, "simulate", exc)
            return
        engine = {"name": summary.get("engine"), "version": summary.get("engine_version")}
        job.doc["simulate"] = {
            "summary": summary,
            "provenance": provenance(dict(job.cached_statepoint), started=started, engine=engine),
        }
        job.doc["status"] = "simulated"
    finished(
        "simulate",
        job.id,
        time.monotonic() - t0,
        f"T* = {_num(summary, 'T_star', '.3g')}, rho* = {_num(summary, 'rho_star', '.3g')}: "
        f"U*/N = {_num(summary, 'U_star_per_N', '.4f')}, P* = {_num(summary, 'P_star', '.4f')}, "
        f"{_num(summary, 'steps_per_s', '.0f')} steps/s on {summary.get('threads')} thread(s)",
    )


@Project.pre(not_failed)
@Project.pre.after(simulate)
@Project.post.isfile("rdf.npz")
@Project.operation(directives={"np": 1, "walltime": _rdf_walltime_hours, "memory": "1G"})
def compute_rdf(job):
    """Check that the production run stayed one homogeneous liquid (``structure.json``; a crystallised or
    phase-separated run is excluded with its reason), then compute g(r) with block-averaged uncertainties."""
    import time

    from project.atomic import atomic_write_text, exclusive_lock
    from project.engines.base import make_protocol
    from project.errors import ProjectError
    from project.progress import finished
    from project.provenance import now, provenance
    from project.rdf import compute_rdf as rdf_of
    from project.rdf import save_rdf
    from project.structure import check_structure

    with exclusive_lock(job.fn(LOCK_FILE)) as mine:
        if not mine or job.isfile("rdf.npz") or job.isfile(FAILED_FILE):
            run_log.info("compute_rdf %s: done or running in another process; skipped", job.id[:7])
            return
        started, t0 = now(), time.monotonic()
        try:
            structure = check_structure(job.fn("topology.pdb"), job.fn("traj.xtc"))
            atomic_write_text(job.fn(STRUCTURE_FILE), json.dumps(structure.as_dict(), indent=1))
            job.doc["structure"] = structure.as_dict()
            if not structure.is_liquid:
                fail_job(job, "compute_rdf", ValueError(structure.reason))
                return
            expect = make_protocol(dict(job.cached_statepoint)).n_frames
            result = rdf_of(job.fn("topology.pdb"), job.fn("traj.xtc"), expect_frames=expect)
            save_rdf(result, job.fn("rdf.npz"))
        except ProjectError as exc:
            fail_job(job, "compute_rdf", exc)
            return
        job.doc["compute_rdf"] = {
            "provenance": provenance(
                dict(job.cached_statepoint), started=started, inputs={"traj.xtc": job.fn("traj.xtc")}
            )
        }
        job.doc["status"] = "done"
    finished(
        "compute_rdf",
        job.id,
        time.monotonic() - t0,
        f"{result.n_frames} frames, first peak g = {result.first_peak_g:.3f} at {result.first_peak_r_nm:.4f} nm; "
        f"liquid (solid-like fraction {structure.solid_fraction:.3f}, cell dispersion {structure.cell_dispersion:.2f})",
    )


def _export_path(project) -> Path:
    return default_export(project.path)


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
@Project.operation(
    aggregator=aggregator(), directives={"np": 1, "walltime": 1.0, "memory": "4G", "failure_marker": False}
)
def aggregate(*jobs):
    """Write the indexed HDF5 export of every finished job (incremental, atomic; one writer at a time)."""
    write_export(jobs)


def write_export(jobs) -> None:
    """Export every job of ``jobs`` that has its RDF, under the export's lock (the scan too: a second writer after
    this one has seen every job this one exported)."""
    from project.atomic import exclusive_lock
    from project.export import export_dataset, record_from_job_dir
    from project.provenance import code_version_string

    path = _export_path(jobs[0].project)
    path.parent.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(path.parent / f".{path.name}.lock", blocking=True):
        # the same records (and so the same fingerprints) as `lj-inverse export`: alternating them re-reads nothing
        records = [
            record_from_job_dir(job.id, dict(job.cached_statepoint), job.path)
            for job in jobs
            if job.isfile("rdf.npz") and not job.isfile(FAILED_FILE)
        ]
        report = export_dataset(records, path, code_version=code_version_string())
    run_log.info(
        "export %s: %d jobs (%d new, %d updated, %d unchanged), %d skipped, %s in %.1f s",
        report.path,
        report.n_jobs,
        report.n_new,
        report.n_updated,
        report.n_reused,
        len(report.skipped),
        "written" if report.written else "nothing to write",
        report.wall_s,
    )
    for job_id, reason in report.skipped:
        run_log.warning("export skipped job %s: %s", job_id, reason)


def _slurm_unreachable() -> str | None:
    """Why no SLURM controller answers (``squeue`` fails or hangs), or None when one does."""
    import getpass
    import subprocess

    try:
        out = subprocess.run(
            ["squeue", "--noheader", "-o", "%i", "-u", getpass.getuser()],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"squeue: {exc}"
    if out.returncode != 0:
        return (out.stderr.strip().splitlines() or [f"exit status {out.returncode}"])[-1]
    return None


def _environment():
    """flow's compute environment; where SLURM is installed but no controller answers, the same one without queue.

    flow picks its SLURM environment whenever ``sbatch`` exists and then fails in ``squeue`` on a machine with the
    SLURM packages but no controller. There the environment becomes :func:`_offline_slurm`: status and
    ``submit --pretend`` work (no queue to ask), ``run`` runs locally. An explicit ``SIGNAC_FLOW_ENVIRONMENT`` is
    left to flow.
    """
    if os.environ.get("SIGNAC_FLOW_ENVIRONMENT"):
        return None
    from flow.environment import get_environment

    env = get_environment()
    scheduler = getattr(env, "scheduler_type", None)
    if scheduler is not None and scheduler.__name__ == "SlurmScheduler":
        reason = _slurm_unreachable()
        if reason is not None:
            log.debug("no SLURM controller (%s): queue status off", reason)
            return _offline_slurm(env, reason)
    return env


def _offline_slurm(env, reason: str):
    """A subclass of the SLURM environment ``env`` whose scheduler reports an empty queue (no controller).

    Submitting for real still calls ``sbatch``, which then says itself that no controller answers.
    """
    base = env.scheduler_type

    class OfflineSlurmScheduler(base):
        """SLURM without a reachable controller: no queued jobs (``squeue`` said: see ``reason``)."""

        def jobs(self):
            return iter(())

    return type(
        f"Offline{env.__name__}",
        (env,),
        {"scheduler_type": OfflineSlurmScheduler, "__doc__": f"{env.__doc__} (no controller: {reason})"},
    )


def _no_dataspace(root: Path, argv: list[str], environment) -> int:
    """Tell the user how to make a data space (help still works, on an empty stand-in project); exit status."""
    demo = Path(_HERE) / "demo_space"
    hint = [f"no data space at {root}."]
    if (demo / ".signac").is_dir() and demo != root:
        hint.append(f"`make demo` made one at {demo}: LJ_DATASPACE={demo} python flow.py {' '.join(argv) or 'status'}")
    hint.append(
        f"Create one with `LJ_DATASPACE={root} python -m project init default` (a design name or JSON "
        "file), or set LJ_DATASPACE to an existing data space."
    )
    if any(a in ("-h", "--help") for a in argv) or not argv:
        import tempfile

        import signac

        with tempfile.TemporaryDirectory() as tmp:
            signac.init_project(tmp)
            sys.argv[1:] = argv or ["--help"]
            try:
                Project.get_project(tmp, environment=environment).main()
            except SystemExit as exc:
                print("\n" + "\n".join(hint))
                return int(exc.code or 0)
    print("\n".join(hint), file=sys.stderr)
    return 2


def _run_plan(project, argv: list[str]) -> list[str]:
    """For ``run``: choose ``--parallel`` and the engine threads, start the progress counter; return argv."""
    from project.dataspace import query
    from project.progress import start

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    if any(a in ("-j", "--job-id") for a in argv) or os.environ.get("SLURM_JOB_ID"):
        return argv  # named jobs (cluster scripts run one operation per call): no scan, no automatic --parallel
    selected = any(a in ("-f", "--filter", "--doc-filter", "-o", "--operation") for a in argv)
    df = query(project)
    pending = df[df["status"].isin(["new", "simulated"])]
    start(0 if selected else int(2 * (pending["status"] == "new").sum() + (pending["status"] == "simulated").sum()))
    if "--parallel" in argv:
        i = argv.index("--parallel")
        if i + 1 >= len(argv) or not argv[i + 1].lstrip("-").isdigit():
            argv = [*argv[: i + 1], str(cores), *argv[i + 1 :]]
        workers = int(argv[i + 1])
        workers = cores if workers < 0 else max(workers, 1)
    else:
        need = max([_cores_of_n(int(n)) for n in pending["N"].unique()] or [cores])
        workers = max(1, min(cores // need, len(pending)))  # one pending job keeps every core for its engine
        if workers > 1:
            argv = [*argv, "--parallel", str(workers)]
    if workers > 1 and not os.environ.get("LJ_THREADS"):
        os.environ["LJ_THREADS"] = str(max(1, cores // workers))
    if workers > 1 and len(pending):
        # flow forks its workers from this process for every pass: import MDAnalysis and load the compiled g(r)
        # kernel once here instead of once per worker and pass (about 1.5 s each)
        import MDAnalysis  # noqa: F401

        from project.rdf_kernel import warm_up

        warm_up()
    run_log.info(
        "%d job(s) to simulate, %d to analyse; %d operation(s) at a time, engine threads %s",
        (pending["status"] == "new").sum(),
        len(pending),
        workers,
        os.environ.get("LJ_THREADS", cores),
    )
    return argv


def main(argv: list[str] | None = None) -> int:
    """Entry point: logging, environment, data space, then flow's command line."""
    argv = list(sys.argv[1:] if argv is None else argv)
    # progress lines always; everything else (flow, MDAnalysis, the library) at flow's -v level
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
    run_log.addHandler(handler)
    run_log.setLevel(logging.INFO)
    run_log.propagate = False
    if not any(a in ("-v", "-vv", "-vvv", "--verbose", "--debug") for a in argv):
        logging.getLogger("MDAnalysis").setLevel(logging.ERROR)  # import-time notices of optional readers
    # flow tries to load templates from a package first; flow.py is a script, so it warns, then uses templates/
    logging.getLogger("flow.project").addFilter(
        lambda record: not str(record.msg).startswith("Unable to load template from package")
    )
    environment = _environment()
    root = dataspace_path()
    kwargs = {"environment": environment} if environment is not None else {}
    demo = Path(_HERE) / "demo_space"
    if not os.environ.get("LJ_DATASPACE") and not (root / ".signac").is_dir() and (demo / ".signac").is_dir():
        # after `make demo` (which sets LJ_DATASPACE for its own commands) a plain `python flow.py status` finds it
        run_log.info("using the data space of `make demo`, %s (set LJ_DATASPACE to choose another)", demo)
        root = demo
        os.environ["LJ_DATASPACE"] = str(demo)  # the scripts of `submit` and flow's workers use the same one
    try:
        project = Project.get_project(str(root), search=False, **kwargs)
    except LookupError:
        return _no_dataspace(root, argv, environment)
    helping = any(a in ("-h", "--help") for a in argv)
    if "run" in argv and "--pretend" not in argv and not helping:
        argv = _run_plan(project, argv)
    if "submit" in argv and not helping and getattr(project._environment, "scheduler_type", None) is None:
        print(
            "`submit` needs a cluster scheduler (SLURM: sbatch, PBS: qsub), none found on this machine; run the "
            "operations here with `python flow.py run` (docs/cluster.md)",
            file=sys.stderr,
        )
        return 2
    sys.argv[1:] = argv
    project.main()
    if (
        "run" in argv
        and not helping
        and "--pretend" not in argv
        and not {"-j", "--job-id", "-o", "--operation"} & set(argv)
    ):
        # each run runs aggregate at most once; with two runs at once, that once may come before the other run's
        # last RDFs: end every whole-project run with an export that is current
        jobs = list(project)
        if jobs and not _export_current(*jobs):
            write_export(jobs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
