"""``lj-inverse dashboard``: serve the Panel dashboard (see :mod:`project.dashboard`) on 127.0.0.1."""

from __future__ import annotations

import argparse
from pathlib import Path

from project.cli.common import add_catalogue, add_dataspace, add_export


def cmd_dashboard(args: argparse.Namespace) -> int:
    """Serve the dashboard until interrupted."""
    from project.dashboard import default_paths, serve

    export, catalogue = default_paths(args.dataspace)
    serve(
        Path(args.export or export),
        Path(args.catalogue or catalogue),
        port=args.port,
        address=args.address,
        show=args.show,
        backend=args.backend,
    )
    return 0


def register_dashboard(sub: argparse._SubParsersAction) -> None:
    """Add the ``dashboard`` sub-command."""
    p = sub.add_parser("dashboard", help="serve the interactive dashboard (export, predictions, runs) on localhost")
    add_dataspace(p)
    add_export(p)
    add_catalogue(p)
    p.add_argument("--port", type=int, default=5006, help="TCP port number (0: a free one); default 5006")
    p.add_argument("--address", default="127.0.0.1", help="interface to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--show", action="store_true", help="open a browser tab")
    p.add_argument(
        "--backend",
        choices=("canvas", "webgl"),
        default="canvas",
        help="Bokeh backend of the point plots (default canvas; webgl pans faster with a GPU)",
    )
    p.set_defaults(func=cmd_dashboard)
