"""Panel app of the data space: ``panel serve dashboards/app.py --address 127.0.0.1``.

Pass ``--address 127.0.0.1``: plain ``panel serve`` listens on all interfaces. The app itself serves this machine
only by default: a browser connecting from another address gets a notice instead of the data (add ``--args
--allow-remote`` to lift that; an SSH tunnel counts as local). ``python -m project dashboard`` binds 127.0.0.1.

Options after ``--args``: ``--dataspace D`` (default ``$LJ_DATASPACE``, else the current directory), ``--export F``
(default ``<dataspace>/export/dataset.h5``), ``--catalogue C`` (default ``<dataspace>/results/catalogue.sqlite``),
``--backend canvas|webgl`` (Bokeh backend of the point plots, default canvas), ``--allow-remote``.
Example: ``panel serve dashboards/app.py --address 127.0.0.1 --port 5006 --args --dataspace /data/lj``.
The same app is served by ``lj-inverse dashboard``.
"""

from __future__ import annotations

import argparse
import ipaddress
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `panel serve` puts only this folder on the path
    sys.path.insert(0, str(ROOT))

from project.dashboard import Dashboard, default_paths  # noqa: E402


def _options(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="panel serve dashboards/app.py --args")
    parser.add_argument("--dataspace", default=None, help="data-space folder")
    parser.add_argument("--export", default=None, help="HDF5 export (default <dataspace>/export/dataset.h5)")
    parser.add_argument(
        "--catalogue", default=None, help="results catalogue (default <dataspace>/results/catalogue.sqlite)"
    )
    parser.add_argument(
        "--backend",
        choices=("canvas", "webgl"),
        default="canvas",
        help="Bokeh backend of the point plots (default canvas; webgl pans faster with a GPU)",
    )
    parser.add_argument(
        "--allow-remote", action="store_true", help="serve browsers on other machines too (default: this machine only)"
    )
    args, _unknown = parser.parse_known_args(argv)
    export, catalogue = default_paths(args.dataspace)
    args.export, args.catalogue = Path(args.export or export), Path(args.catalogue or catalogue)
    return args


def _client_address() -> str | None:
    """Return the IP address of the browser of this session (None outside a served session)."""
    import panel as pn

    ctx = pn.state.curdoc.session_context if pn.state.curdoc is not None else None
    request = getattr(ctx, "request", None) if ctx is not None else None
    return getattr(request, "remote_ip", None) if request is not None else None


def _is_local(address: str | None) -> bool:
    if not address:
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


opts = _options(sys.argv[1:])
client = _client_address()
if opts.allow_remote or _is_local(client):
    Dashboard(opts.export, opts.catalogue, backend=opts.backend).view().servable(title="LJ data space")
else:
    import panel as pn

    pn.pane.Alert(
        f"This dashboard serves its own machine only (your address: {client}). Open it through an SSH "
        "tunnel, or restart it with `--args --allow-remote`.",
        alert_type="warning",
    ).servable(title="LJ data space")
