"""The dashboard page: a header, a notice line and one tab per view module.

* :mod:`project.dashboard.views.state_space`: "State space" (map, filters, selected RDFs, jobs table);
* :mod:`project.dashboard.views.predictions`: "Model predictions";
* :mod:`project.dashboard.views.runs`: "Runs and CG fits".

The state-space tab is built with the page, the other tabs when first opened (a shorter first render). A Panel
extension's JavaScript reaches the browser only with the page, so :func:`page` loads every extension the tabs
need (:data:`EXTENSIONS`) before it builds anything: a table built later (the jobs table after the first render,
the runs table on the first click of its tab) would otherwise stay blank on a fresh server.
"""

from __future__ import annotations

from collections import ChainMap
from typing import Any

import panel as pn
import param

from project.dashboard.state import Dashboard
from project.dashboard.views.predictions import PredictionsView
from project.dashboard.views.runs import RunsView
from project.dashboard.views.state_space import StateSpaceView

#: Panel extensions the tabs use (Tabulator: the jobs table and the runs table).
EXTENSIONS = ("tabulator",)

__all__ = ["EXTENSIONS", "PredictionsView", "RunsView", "StateSpaceView", "page"]


def page(state: Dashboard) -> tuple[Any, ChainMap]:
    """Build the page of a dashboard state (once per browser session).

    Parameters
    ----------
    state : Dashboard
        The state shown.

    Returns
    -------
    (panel.viewable.Viewable, collections.ChainMap)
        The page, and its Panel and Bokeh models by name: the page's own (``notice``, ``tabs``) and the views'
        ``ui`` dicts, which fill as their tabs are built.
    """
    pn.extension(*EXTENSIONS)
    header = pn.pane.Markdown(
        f"## LJ data space\nExport `{state.export_path}` &middot; catalogue `{state.catalogue_path}`",
        sizing_mode="stretch_width",
    )
    notice = pn.pane.Alert(
        state.message, alert_type="warning", visible=bool(state.message), sizing_mode="stretch_width"
    )

    def on_message(event: param.parameterized.Event) -> None:
        notice.object = event.new
        notice.visible = bool(event.new)

    state.param.watch(on_message, "message")
    state_space, predictions, runs = StateSpaceView(state), PredictionsView(state), RunsView(state)
    # The other tabs are built when first opened: a shorter first render.
    lazy = {1: (pn.Column(sizing_mode="stretch_width"), predictions), 2: (pn.Column(sizing_mode="stretch_width"), runs)}
    tabs = pn.Tabs(
        ("State space", state_space.panel()),
        ("Model predictions", lazy[1][0]),
        ("Runs and CG fits", lazy[2][0]),
        dynamic=True,
        sizing_mode="stretch_width",
    )

    def on_tab(event: param.parameterized.Event) -> None:
        holder, view = lazy.get(event.new, (None, None))
        if holder is not None and not holder.objects:
            holder.objects = [view.panel()]

    tabs.param.watch(on_tab, "active")
    ui = ChainMap({"notice": notice, "tabs": tabs}, state_space.ui, predictions.ui, runs.ui)
    return pn.Column(header, notice, tabs, sizing_mode="stretch_width"), ui
