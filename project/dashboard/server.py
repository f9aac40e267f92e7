"""Serve the dashboard with :func:`panel.serve` on one interface (``lj-inverse dashboard``)."""

from __future__ import annotations

import logging
import os
from typing import Any

from project.dashboard.loaders import load_export
from project.dashboard.state import Dashboard
from project.errors import ExportError

logger = logging.getLogger(__name__)


def serve(
    export_path: str | os.PathLike,
    catalogue_path: str | os.PathLike,
    port: int = 5006,
    address: str = "127.0.0.1",
    show: bool = False,
    backend: str = "canvas",
    **kwargs: Any,
) -> Any:
    """Serve the dashboard with :func:`panel.serve` (blocks until interrupted).

    Parameters
    ----------
    export_path, catalogue_path : path
        Files read by :class:`~project.dashboard.state.Dashboard`.
    port : int
        TCP port (0: a free one).
    address : str
        Interface to bind; the default serves this machine only.
    show : bool
        Open a browser tab.
    backend : {"canvas", "webgl"}
        Bokeh output backend of the point plots.
    **kwargs
        Passed to :func:`panel.serve`.

    Returns
    -------
    The Bokeh server (once stopped).
    """
    import panel as pn

    try:
        load_export(export_path)  # warm the shared cache before the first session
    except (FileNotFoundError, ExportError, OSError, ValueError) as exc:
        logger.warning("dashboard: export not loaded: %s", exc)
    origins = [f"{address}:{port}", f"localhost:{port}"] if port else None
    logger.info("dashboard: serving on http://%s:%s/", address, port)
    return pn.serve(
        lambda: Dashboard(export_path, catalogue_path, backend=backend).view(),
        port=port,
        address=address,
        show=show,
        title="LJ data space",
        websocket_origin=origins,
        **kwargs,
    )
