"""Panel app of the data space: ``panel serve dashboards/app.py --address 127.0.0.1``.

Pass ``--address 127.0.0.1``: plain ``panel serve`` listens on all interfaces (Bokeh then still refuses requests
whose Host is not ``localhost:<port>``). ``python -m project dashboard`` binds 127.0.0.1 by itself.

Options after ``--args``: ``--dataspace D`` (default ``$LJ_DATASPACE`` or the repository root), ``--export F``
(default ``<dataspace>/export/dataset.h5``), ``--catalogue C`` (default ``<dataspace>/results/catalogue.sqlite``),
``--backend webgl|canvas`` (Bokeh backend of the point plots).
Example: ``panel serve dashboards/app.py --address 127.0.0.1 --port 5006 --args --dataspace /data/lj``.
The same app is served by ``python -m project dashboard``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `panel serve` puts only this folder on the path
    sys.path.insert(0, str(ROOT))

from project.dashboard import Dashboard, default_paths  # noqa: E402


def _paths(argv: list[str]) -> tuple[Path, Path, str]:
    parser = argparse.ArgumentParser(prog="panel serve dashboards/app.py --args")
    parser.add_argument("--dataspace", default=None, help="data-space folder")
    parser.add_argument("--export", default=None, help="HDF5 export (default <dataspace>/export/dataset.h5)")
    parser.add_argument("--catalogue", default=None,
                        help="results catalogue (default <dataspace>/results/catalogue.sqlite)")
    parser.add_argument("--backend", choices=("webgl", "canvas"), default="webgl",
                        help="Bokeh backend of the point plots (canvas renders faster without a GPU)")
    args, _unknown = parser.parse_known_args(argv)
    export, catalogue = default_paths(args.dataspace)
    return Path(args.export or export), Path(args.catalogue or catalogue), args.backend


export_path, catalogue_path, backend = _paths(sys.argv[1:])
Dashboard(export_path, catalogue_path, backend=backend).view().servable(title="LJ data space")
