"""Data-space commands: init, query, reset-failed, export, catalogue, flow.

Units: sigma nm, epsilon kJ/mol, T K, rho nm^-3; T_star and rho_star are reduced (dimensionless).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from project.cli.common import (
    RANGE_HELP,
    add_catalogue,
    add_dataspace,
    add_export,
    catalogue_path,
    export_path,
    parse_range,
    space,
)
from project.errors import ProjectError


# ---------------------------------------------------------------------------------------------------- init
def cmd_init(args: argparse.Namespace) -> int:
    """Create the data space (if needed) and the jobs of a design."""
    from project.dataspace import create_jobs, get_project
    from project.design import load_design, make_design

    design = load_design(args.design)
    if args.n is not None:
        design["n"] = args.n
    for key in ("t_equil", "t_prod"):
        if getattr(args, key) is not None:
            design["fixed"] = {**design.get("fixed", {}), key: getattr(args, key)}
    points = make_design(design)  # validates the whole design before anything is written
    project = get_project(args.dataspace, create=True)
    created, existing = create_jobs(project, points)
    out = {
        "dataspace": str(project.path),
        "design": str(args.design),
        "jobs_in_design": len(points),
        "created": created,
        "existing": existing,
    }
    text = f"{created} jobs created, {existing} already existed ({len(points)} in design) in {project.path}"
    sys.stdout.write((json.dumps(out) if args.json else text) + "\n")
    return 0


def register_init(sub) -> None:
    p = sub.add_parser("init", help="create jobs from a design (idempotent)")
    p.add_argument(
        "design",
        nargs="?",
        default="default",
        help="design JSON file or shipped design name (default, domain, training, ...); default: default",
    )
    p.add_argument(
        "--n",
        type=int,
        default=None,
        help="override the number of state points of a random design (dimensionless count)",
    )
    p.add_argument(
        "--t-prod",
        dest="t_prod",
        type=float,
        default=None,
        help="production (sampled) time of every job in tau = sigma sqrt(m/epsilon); default: the design's",
    )
    p.add_argument(
        "--t-equil",
        dest="t_equil",
        type=float,
        default=None,
        help="melting and equilibration time of every job in tau; default: the design's",
    )
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    add_dataspace(p)
    p.set_defaults(func=cmd_init)


# ---------------------------------------------------------------------------------------------------- query
def cmd_query(args: argparse.Namespace) -> int:
    """Query jobs by state-point ranges and status."""
    from project.dataspace import get_project, query

    ranges = {k: getattr(args, k) for k in RANGE_HELP if getattr(args, k) is not None}
    df = query(get_project(args.dataspace), ranges, status=args.status)
    if args.json:
        sys.stdout.write(df.to_json(orient="records") + "\n")
    elif df.empty:
        sys.stdout.write("0 jobs matched\n")
    else:
        cols = ["job_id", "sigma", "epsilon", "T", "rho", "T_star", "rho_star", "N", "replica", "lambda_r", "status"]
        header = {"sigma": "sigma_nm", "epsilon": "epsilon_kJ_mol", "T": "T_K", "rho": "rho_nm-3"}
        shown = df[cols].rename(columns=header)
        if args.limit and len(shown) > args.limit:
            sys.stdout.write(shown.head(args.limit).to_string(index=False, float_format=lambda x: f"{x:.5g}") + "\n")
            sys.stdout.write(f"... {len(shown)} jobs matched, {args.limit} shown (--limit 0 shows all)\n")
        else:
            sys.stdout.write(shown.to_string(index=False, float_format=lambda x: f"{x:.5g}") + "\n")
            sys.stdout.write(f"{len(shown)} jobs matched\n")
    return 0


#: Long aliases of the query options (the same spellings as ``fit``).
_QUERY_ALIASES = {"T": ("--temperature",), "rho": ("--density",), "T_star": ("--T-star",), "rho_star": ("--rho-star",)}


def register_query(sub) -> None:
    p = sub.add_parser(
        "query",
        help="list jobs by state-point ranges (LO:HI, LO:, :HI or one value) and status",
        description="Ranges are closed. A single value matches within a relative tolerance of 1e-4 "
        "(the 5 significant digits of the printed table), so --T 178.6 finds 178.604.",
    )
    for key, text in RANGE_HELP.items():
        p.add_argument(
            f"--{key}",
            *_QUERY_ALIASES.get(key, ()),
            dest=key,
            type=parse_range,
            default=None,
            metavar="LO:HI",
            help=text,
        )
    p.add_argument("--status", choices=("new", "simulated", "done", "failed"), help="job status")
    p.add_argument("--json", action="store_true", help="print JSON records instead of a table")
    p.add_argument("--limit", type=int, default=50, help="rows shown in the table (0: all); default 50")
    add_dataspace(p)
    p.set_defaults(func=cmd_query)


# ---------------------------------------------------------------------------------------------------- reset-failed
def cmd_reset_failed(args: argparse.Namespace) -> int:
    """Clear the failure markers so that failed jobs are run again."""
    from project.dataspace import clear_failed, get_project, query

    project = get_project(args.dataspace)
    df = query(project, status="failed")
    n = sum(clear_failed(Path(project.workspace) / jid) for jid in df["job_id"])
    sys.stdout.write(f"cleared {n} failed jobs\n")
    return 0


def register_reset_failed(sub) -> None:
    p = sub.add_parser("reset-failed", help="clear failure markers so failed jobs run again")
    add_dataspace(p)
    p.set_defaults(func=cmd_reset_failed)


# ---------------------------------------------------------------------------------------------------- export
def cmd_export(args: argparse.Namespace) -> int:
    """Export every finished job of the data space to the indexed HDF5 file."""
    from project.dataspace import get_project, query
    from project.export import export_dataset, record_from_job_dir
    from project.provenance import code_version_string

    project = get_project(args.dataspace)
    df = query(project)
    done = df[df["status"] == "done"]
    records = []
    for jid in done["job_id"]:
        job = project.open_job(id=jid)
        records.append(record_from_job_dir(jid, dict(job.cached_statepoint), job.path))
    report = export_dataset(records, export_path(args), code_version=code_version_string())
    counts = df["status"].value_counts().to_dict()
    out = {
        "path": str(report.path),
        "n_jobs": report.n_jobs,
        "new": report.n_new,
        "reused": report.n_reused,
        "skipped": report.skipped,
        "not_finished": int(len(df) - len(done)),
        "status_counts": counts,
        "content_checksum": report.content_checksum,
        "wall_s": round(report.wall_s, 3),
    }
    sys.stdout.write(json.dumps(out, indent=None if args.json else 1) + "\n")
    return 0


def register_export(sub) -> None:
    p = sub.add_parser("export", help="write the indexed HDF5 export of all finished jobs (incremental)")
    add_dataspace(p)
    add_export(p, "output file")
    p.add_argument("--json", action="store_true", help="one-line JSON report")
    p.set_defaults(func=cmd_export)


# ---------------------------------------------------------------------------------------------------- catalogue
_OPS = ("<=", ">=", "!=", "<", ">", "=")


def cmd_catalogue(args: argparse.Namespace) -> int:
    """List the results catalogue, filtered. Reads only: a missing catalogue is an empty one, never created."""
    from project.catalogue import Catalogue

    where = []
    for cond in args.where or []:
        for op in _OPS:
            if op in cond:
                name, value = cond.split(op, 1)
                try:
                    where.append((name.strip(), op, float(value)))
                except ValueError:
                    raise ValueError(f"--where {cond!r}: value {value.strip()!r} is not a number") from None
                break
        else:
            raise ValueError(f"--where {cond!r}: expected NAME OP VALUE with OP one of < <= > >= = !=")
    if not args.catalogue:
        root = space(args)
        if root.exists() and not root.is_dir():
            raise ProjectError(f"--dataspace {root}: is a file; allowed: a data-space folder")
        if not root.is_dir():
            raise ProjectError(f"--dataspace {root}: no such folder; allowed: an existing data space")
    path = catalogue_path(args)
    if path.is_dir():
        raise ProjectError(f"--catalogue {path}: is a folder; allowed: an SQLite file")
    if not path.exists():
        sys.stdout.write(("[]" if args.json else f"no runs recorded (no catalogue at {path})") + "\n")
        return 0
    df = Catalogue(path, read_only=True).list(kind=args.kind, dataset=args.dataset, where_metric=where or None)
    if args.json:
        sys.stdout.write(df.to_json(orient="records") + "\n")
    elif df.empty:
        sys.stdout.write("0 jobs matched\n")
    else:
        sys.stdout.write((df.to_string(index=False) if len(df) else "no runs recorded") + "\n")
    return 0


def register_catalogue(sub) -> None:
    p = sub.add_parser("catalogue", help="list recorded training runs, evaluations and CG fits")
    add_dataspace(p)
    add_catalogue(p)
    p.add_argument("--kind", default=None, help="train, evaluate, finetune, cg_fit, ...")
    p.add_argument("--dataset", default=None, help="export content checksum (prefix of >= 8 characters)")
    p.add_argument(
        "--where", action="append", help="metric condition, e.g. 'test.nn.sigma_mape_pct<0.5' (percent metrics in %%)"
    )
    p.add_argument("--json", action="store_true", help="JSON records")
    p.set_defaults(func=cmd_catalogue)


# ---------------------------------------------------------------------------------------------------- flow
def cmd_flow(args: argparse.Namespace) -> int:
    """Run ``flow.py`` (signac-flow: run, status, submit, ...) on the data space."""
    from project.resources import workflow_file

    script = workflow_file("flow.py")
    root = space(args)
    flow_args = list(args.flow_args)
    if flow_args[:1] == ["--"]:
        flow_args = flow_args[1:]
    wants_help = bool({"-h", "--help"} & set(flow_args))  # flow.py's help needs no data space
    if not wants_help and not (root / "signac.rc").is_file() and not (root / ".signac").is_dir():
        raise ProjectError(f"--dataspace {root}: no data space there; create one with 'lj-inverse init'")
    env = dict(os.environ, LJ_DATASPACE=str(root))
    return subprocess.run([sys.executable, str(script), *flow_args], env=env, cwd=root).returncode


def register_flow(sub) -> None:
    p = sub.add_parser(
        "flow",
        help="run flow.py (signac-flow: run, status, submit) on the data space",
        description="Runs the installed flow.py with LJ_DATASPACE set to the data space, e.g. "
        "'lj-inverse flow run', 'lj-inverse flow --dataspace SPACE status --detailed'. "
        "Everything after the options goes to flow.py ('lj-inverse flow -- --help' needs no data space).",
    )
    add_dataspace(p)
    p.add_argument("flow_args", nargs=argparse.REMAINDER, help="arguments of flow.py (run, status, submit, ...)")
    p.set_defaults(func=cmd_flow)
