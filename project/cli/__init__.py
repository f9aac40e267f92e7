"""Command-line interface: ``python -m project <command>``.

Every command accepts ``--dataspace PATH`` (default: ``$LJ_DATASPACE``, else the repository root).
Logging is configured here, at the entry point, and nowhere in the library.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence

from project.errors import ProjectError

log = logging.getLogger("project")

_RANGE_HELP = {
    "sigma": "LJ sigma range in nm",
    "epsilon": "LJ epsilon range in kJ/mol",
    "T": "temperature range in K",
    "rho": "number density range in nm^-3",
    "T_star": "reduced temperature k_B T/epsilon range",
    "rho_star": "reduced density rho sigma^3 range",
    "N": "particle-number range",
    "replica": "replica-index range",
}


def _range(text: str) -> tuple[float | None, float | None]:
    """Parse ``LO:HI``, ``LO:`` or ``:HI`` (or a single value for an exact match within 1e-9)."""
    if ":" not in text:
        v = float(text)
        return v * (1 - 1e-9), v * (1 + 1e-9)
    lo, hi = text.split(":", 1)
    return (float(lo) if lo.strip() else None), (float(hi) if hi.strip() else None)


def _add_dataspace(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dataspace", default=None,
                   help="data-space folder (signac project); default $LJ_DATASPACE or the repository root")


def cmd_init(args: argparse.Namespace) -> int:
    """Create the data space (if needed) and the jobs of a design."""
    from project.dataspace import create_jobs, get_project
    from project.design import load_design, make_design

    design = load_design(args.design)
    if args.n is not None:
        design["n"] = args.n
    points = make_design(design)
    project = get_project(args.dataspace, create=True)
    created, existing = create_jobs(project, points)
    out = {"dataspace": str(project.path), "design": str(args.design), "jobs_in_design": len(points),
           "created": created, "existing": existing}
    text = f"{created} jobs created, {existing} already existed ({len(points)} in design) in {project.path}"
    sys.stdout.write((json.dumps(out) if args.json else text) + "\n")
    return 0


def cmd_query(args: argparse.Namespace) -> int:
    """Query jobs by state-point ranges and status."""
    from project.dataspace import get_project, query

    ranges = {k: getattr(args, k) for k in _RANGE_HELP if getattr(args, k) is not None}
    df = query(get_project(args.dataspace), ranges, status=args.status)
    if args.json:
        sys.stdout.write(df.to_json(orient="records") + "\n")
    else:
        cols = ["job_id", "sigma", "epsilon", "T", "rho", "T_star", "rho_star", "N", "replica", "status"]
        header = {"sigma": "sigma_nm", "epsilon": "epsilon_kJ_mol", "T": "T_K", "rho": "rho_nm-3"}
        shown = df[cols].rename(columns=header)
        if args.limit and len(shown) > args.limit:
            sys.stdout.write(shown.head(args.limit).to_string(index=False, float_format=lambda x: f"{x:.5g}") + "\n")
            sys.stdout.write(f"... {len(shown)} jobs matched, {args.limit} shown (--limit 0 shows all)\n")
        else:
            sys.stdout.write(shown.to_string(index=False, float_format=lambda x: f"{x:.5g}") + "\n")
            sys.stdout.write(f"{len(shown)} jobs matched\n")
    return 0


def cmd_reset_failed(args: argparse.Namespace) -> int:
    """Clear the failure markers so that failed jobs are run again."""
    from pathlib import Path

    from project.dataspace import clear_failed, get_project, query

    project = get_project(args.dataspace)
    df = query(project, status="failed")
    n = sum(clear_failed(Path(project.workspace) / jid) for jid in df["job_id"])
    sys.stdout.write(f"cleared {n} failed jobs\n")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of ``python -m project``."""
    parser = argparse.ArgumentParser(prog="python -m project", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("init", help="create jobs from a design (idempotent)")
    p.add_argument("design", nargs="?", default="default",
                   help="design JSON file or shipped design name (default, domain); default: default")
    p.add_argument("--n", type=int, default=None, help="override the number of state points of a random design")
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    _add_dataspace(p)
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("query", help="list jobs by state-point ranges (LO:HI, LO:, :HI) and status")
    for key, text in _RANGE_HELP.items():
        p.add_argument(f"--{key}", type=_range, default=None, metavar="LO:HI", help=text)
    p.add_argument("--status", choices=("new", "simulated", "done", "failed"), help="job status")
    p.add_argument("--json", action="store_true", help="print JSON records instead of a table")
    p.add_argument("--limit", type=int, default=50, help="rows shown in the table (0: all); default 50")
    _add_dataspace(p)
    p.set_defaults(func=cmd_query)

    p = sub.add_parser("reset-failed", help="clear failure markers so failed jobs run again")
    _add_dataspace(p)
    p.set_defaults(func=cmd_reset_failed)

    for register in _EXTRA_COMMANDS:
        register(sub)
    return parser


#: Other modules register sub-commands here (train, fit, export, catalogue, dashboard, ...).
_EXTRA_COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = []


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    from project import commands  # noqa: F401  (registers the remaining sub-commands)

    args = build_parser().parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose + 1, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args) or 0)
    except (ProjectError, ValueError, FileNotFoundError) as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
