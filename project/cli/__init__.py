"""Command line: ``lj-inverse <command>`` (the same as ``python -m project <command>``).

One parser lists every command; each command is one function (``cmd_<name>``) in the module of its group:
:mod:`project.cli.data` (init, query, reset-failed, export, catalogue, flow), :mod:`project.cli.model` (train,
evaluate, fit, predict, finetune), :mod:`project.cli.cg` (cg ...) and :mod:`project.cli.dashboard` (dashboard).
Nothing registers itself at import time.

The data space is ``--dataspace PATH``, else ``$LJ_DATASPACE``, else the current directory. Logging is
configured here, at the entry point, and nowhere in the library: warnings by default, ``-v`` INFO, ``-vv`` DEBUG.
Units: nm, ps, kJ/mol, K, amu, nm^-3 (GROMACS units); reduced T* and rho* are dimensionless.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from project.cli import cg, dashboard, data, model
from project.errors import ProjectError

log = logging.getLogger("project")

#: What ``lj-inverse --help`` says first (plain text: help texts show no markup).
DESCRIPTION = (
    "Deep inverse liquid-state theory: LJ data spaces, RDF -> sigma (nm), epsilon (kJ/mol), coarse-graining. "
    "The same as 'python -m project'."
)

#: Every command, in the order of ``--help``: (name, function that adds its parser).
COMMANDS = (
    ("init", data.register_init),
    ("query", data.register_query),
    ("reset-failed", data.register_reset_failed),
    ("export", data.register_export),
    ("catalogue", data.register_catalogue),
    ("flow", data.register_flow),
    ("train", model.register_train),
    ("evaluate", model.register_evaluate),
    ("fit", model.register_fit),
    ("predict", model.register_predict),
    ("finetune", model.register_finetune),
    ("dashboard", dashboard.register_dashboard),
    ("cg", cg.register_cg),
)


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of ``lj-inverse`` with every command."""
    parser = argparse.ArgumentParser(prog="lj-inverse", description=DESCRIPTION)
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="more log output: -v INFO, -vv DEBUG (default: warnings only)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for _name, add in COMMANDS:
        add(sub)
    return parser


def log_level(verbose: int) -> int:
    """Logging level of ``-v`` counted ``verbose`` times: WARNING, INFO, DEBUG."""
    return (logging.WARNING, logging.INFO)[verbose] if verbose < 2 else logging.DEBUG


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (0 ok, 2 refused input or a failed command)."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=log_level(args.verbose), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args) or 0)
    except (ProjectError, ValueError, FileNotFoundError, NotADirectoryError, FileExistsError) as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
