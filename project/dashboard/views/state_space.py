"""The "State space" tab: a map of the jobs over two state variables, range filters, selected RDFs, jobs table.

40,000 points: one Bokeh scatter (canvas, or webgl) whose ``ColumnDataSource`` is sent once; a filter sends the
indices of the visible points (``IndexFilter``) and the first page of a remotely paginated Tabulator, which is
built once the page has rendered (``pn.state.onload``). Sliders act on ``value_throttled`` (on release).

Units: sigma nm, epsilon kJ/mol, T K, rho nm^-3; T* and rho* dimensionless; r in nm.
"""

from __future__ import annotations

import functools
import io
from typing import Any

import numpy as np
import pandas as pd
import panel as pn
import param
from bokeh.core.property.validation import validate
from bokeh.models import CDSView, ColumnDataSource, IndexFilter, TapTool
from bokeh.models.widgets.tables import NumberFormatter
from bokeh.plotting import figure

from project.dashboard.state import AXES, MAX_OVERLAY, PALETTE, TABLE_COLUMNS, Dashboard


class StateSpaceView(param.Parameterized):
    """The state-space tab of a :class:`~project.dashboard.state.Dashboard`; its models follow the state.

    Parameters
    ----------
    state : Dashboard
        The state shown; filters, axes and selection changed here are set on it.
    """

    state = param.ClassSelector(class_=Dashboard, constant=True, doc="the dashboard state shown")

    def __init__(self, state: Dashboard, **params: Any) -> None:
        super().__init__(state=state, **params)
        #: The Panel and Bokeh models of the tab by name.
        self.ui: dict[str, Any] = {}
        self._syncing = False

    def panel(self) -> Any:
        """Build the tab (once per browser session).

        Returns
        -------
        panel.viewable.Viewable
        """
        s = self.state
        if s.dataset is None:
            return pn.Column(
                pn.pane.Alert(s.export_message, alert_type="danger"),
                pn.pane.Markdown(s.count_text(), name="count"),
            )
        fig, rdf = self._map(), self._rdf_plot()
        count = pn.pane.Markdown(s.count_text(), name="count", sizing_mode="stretch_width")
        selection = pn.pane.Markdown(s.selection_text(), sizing_mode="stretch_width")
        job_input = pn.widgets.TextInput(label="Select job id(s)", placeholder="job id, comma separated")
        job_input.param.watch(self._on_job_input, "value")
        # The jobs table is built once the page has rendered (pn.state.onload): a shorter first render.
        table_holder = pn.Column(pn.pane.Markdown("Loading the jobs table ..."), sizing_mode="stretch_width")
        self.ui.update(count=count, selection=selection, table_holder=table_holder, job_input=job_input)
        s.param.watch(self._on_filters, [f"{k}_range" for k in AXES])
        s.param.watch(self._on_axes, ["x_axis", "y_axis"])
        s.param.watch(self._on_selected, "selected")
        self._on_selected()
        controls = pn.Column(*self._axis_and_filter_widgets(), count, *self._selection_widgets(job_input), width=320)
        plots = pn.Column(
            pn.pane.Bokeh(fig, sizing_mode="stretch_width"),
            selection,
            pn.pane.Bokeh(rdf, sizing_mode="stretch_width"),
            sizing_mode="stretch_width",
        )
        pn.state.onload(self._build_table)
        return pn.Column(
            pn.Row(controls, plots, sizing_mode="stretch_width"), table_holder, sizing_mode="stretch_width"
        )

    def _map(self) -> Any:
        """The state-space scatter (all jobs, filtered by index) and the markers of the selected jobs."""
        s = self.state
        src = ColumnDataSource({"x": s.column(s.x_axis), "y": s.column(s.y_axis)})
        with validate(False):  # element-wise validation of 40,000 indices costs 0.2 s
            view = CDSView(filter=IndexFilter(indices=np.flatnonzero(s.filtered_mask()).astype(np.int32)))
        fig = figure(
            height=420,
            sizing_mode="stretch_width",
            output_backend=s.backend,
            name="state_map",
            tools="pan,wheel_zoom,box_zoom,tap,reset",
            active_scroll="wheel_zoom",
            x_axis_label=AXES[s.x_axis],
            y_axis_label=AXES[s.y_axis],
            title="State-space map (click a point to select a job)",
        )
        # No marker outlines: stroking 40,000 canvas markers costs as much as filling them.
        style = {"fill_color": "#1f77b4", "fill_alpha": 0.5, "line_color": None}
        fig.scatter(
            "x",
            "y",
            source=src,
            view=view,
            size=4,
            **style,
            **{f"selection_{k}": v for k, v in style.items()},
            **{f"nonselection_{k}": v for k, v in style.items()},
        )
        # The selected jobs: larger outlined markers on top.
        sel_src = ColumnDataSource({"x": [], "y": [], "color": []}, name="map_selected")
        fig.scatter("x", "y", source=sel_src, size=10, fill_color="color", line_color="black", line_width=1.5)
        fig.select_one(TapTool).behavior = "select"
        src.selected.on_change("indices", self._on_tap)
        self.ui.update(src=src, view=view, map=fig, sel_src=sel_src)
        return fig

    def _rdf_plot(self) -> Any:
        """The RDFs of the selected jobs with their error bands."""
        rdf = figure(
            height=360,
            sizing_mode="stretch_width",
            x_axis_label="r (nm)",
            y_axis_label="g(r)",
            title="RDF of the selected jobs (band: g -/+ g_err)",
            tools="pan,wheel_zoom,box_zoom,reset",
        )
        # One patches (bands) and one multi_line (curves) renderer for all selected jobs: few Bokeh models.
        rdf_src = ColumnDataSource({"xs": [], "ys": [], "bx": [], "by": [], "color": []}, name="rdf_source")
        rdf.patches("bx", "by", source=rdf_src, fill_color="color", fill_alpha=0.25, line_alpha=0)
        rdf.multi_line("xs", "ys", source=rdf_src, line_color="color", line_width=1.5)
        self.ui.update(rdf=rdf, rdf_src=rdf_src)
        return rdf

    def _axis_and_filter_widgets(self) -> list[Any]:
        """The axis selectors and one range slider per state variable."""
        s = self.state
        axis_options = {label: key for key, label in AXES.items()}
        x_sel = pn.widgets.Select.from_param(s.param.x_axis, label="x axis", options=axis_options)
        y_sel = pn.widgets.Select.from_param(s.param.y_axis, label="y axis", options=axis_options)
        sliders = []
        for k, label in AXES.items():
            lo, hi = s.bounds(k)
            cur = getattr(s, f"{k}_range") or (lo, hi)
            if hi > lo:
                start, end, step, one_valued = lo, hi, (hi - lo) / 200, False
            else:  # one value (or none): Bokeh refuses start == end (E-1021); show a fixed, disabled slider
                pad = abs(lo) * 0.01 if np.isfinite(lo) and lo else 0.01
                lo = hi = lo if np.isfinite(lo) else 0.0
                start, end, step, one_valued = lo - pad, hi + pad, pad / 100, True
                cur = (lo, hi)
            slider = pn.widgets.RangeSlider(
                label=label,
                start=start,
                end=end,
                value=cur,
                step=step,
                format="0.[000]",
                sizing_mode="stretch_width",
                disabled=one_valued,
            )
            slider.param.watch(functools.partial(self._on_slider, k), "value_throttled")
            sliders.append(slider)
        self.ui["sliders"] = sliders
        return [x_sel, y_sel, *sliders]

    def _selection_widgets(self, job_input: Any) -> list[Any]:
        """Download of the filtered jobs, the job-id box, Clear, download of the selected RDFs."""
        s = self.state
        clear = pn.widgets.Button(label="Clear selection")
        clear.on_click(lambda _event: s.select([]))
        download = pn.widgets.FileDownload(
            callback=lambda: io.StringIO(s.selection_csv()),
            filename="jobs_selection.csv",
            label="Download filtered jobs (CSV)",
            color="primary",
            embed=False,
        )
        download_rdf = pn.widgets.FileDownload(
            callback=lambda: io.StringIO(s.selected_rdfs_csv()),
            filename="selected_rdfs.csv",
            embed=False,
            label="Download RDFs of selected jobs (CSV)",
        )
        return [download, job_input, clear, download_rdf]

    def _build_table(self) -> None:
        """Build the remotely paginated jobs table (after the first render of a served page)."""
        fmt = NumberFormatter(format="0.0000")
        table = pn.widgets.Tabulator(
            self._table_frame(self.state.filtered_mask()),
            pagination="remote",
            page_size=15,
            selectable=1,
            show_index=False,
            disabled=True,
            titles=TABLE_COLUMNS,
            formatters={k: fmt for k in ("sigma", "epsilon", "T", "rho", "T_star", "rho_star", "first_peak_r_nm")},
            sizing_mode="stretch_width",
        )
        table.param.watch(self._on_table_select, "selection")
        self.ui["table"] = table
        self.ui["table_holder"].objects = [
            pn.pane.Markdown("Jobs matching the filters (click a row to add it to the selection):"),
            table,
        ]

    def _table_frame(self, mask: np.ndarray) -> pd.DataFrame:
        table = self.state.dataset.table
        cols = [c for c in TABLE_COLUMNS if c != "job_id" and c in table.columns]
        return table.loc[mask, cols].reset_index()

    def _on_slider(self, axis: str, event: param.parameterized.Event) -> None:
        lo, hi = self.state.bounds(axis)
        new = tuple(event.new)
        # A slider at its full extent means "no filter" (keeps NaN rows and avoids rounding at the ends).
        setattr(self.state, f"{axis}_range", None if new[0] <= lo and new[1] >= hi else new)

    def _on_filters(self, *_events: param.parameterized.Event) -> None:
        mask = self.state.filtered_mask()
        with validate(False):
            self.ui["view"].filter.indices = np.flatnonzero(mask).astype(np.int32)
        if "table" in self.ui:
            self.ui["table"].value = self._table_frame(mask)
        self.ui["count"].object = self.state.count_text()

    def _on_axes(self, *_events: param.parameterized.Event) -> None:
        s = self.state
        self.ui["src"].data.update(x=s.column(s.x_axis), y=s.column(s.y_axis))
        fig = self.ui["map"]
        fig.xaxis.axis_label = AXES[s.x_axis]
        fig.yaxis.axis_label = AXES[s.y_axis]
        self._draw_selected_points()

    def _draw_selected_points(self) -> None:
        """Mark the selected jobs on the map in their RDF colours."""
        s = self.state
        rows = [s.dataset.row(j) for j in s.selected]
        self.ui["sel_src"].data = {
            "x": s.column(s.x_axis)[rows],
            "y": s.column(s.y_axis)[rows],
            "color": [PALETTE[i % len(PALETTE)] for i in range(len(rows))],
        }

    def _on_tap(self, _attr: str, _old: list[int], new: list[int]) -> None:
        if self._syncing:
            return
        self.state.select([str(self.state.dataset.job_ids[i]) for i in new[-MAX_OVERLAY:]])

    def _on_table_select(self, event: param.parameterized.Event) -> None:
        if self._syncing or not event.new:
            return
        table = self.ui["table"]
        ids = [str(table.value["job_id"].iloc[i]) for i in event.new if i < len(table.value)]
        self.state.select(ids, append=True)

    def _on_job_input(self, event: param.parameterized.Event) -> None:
        if not event.new:
            return
        ids = event.new.replace(",", " ").split()
        # A text box's value arrives outside the Bokeh document lock: changing plot data from here raised
        # "_pending_writes should be non-None". Apply the selection on the next tick, which holds the lock.
        doc = pn.state.curdoc
        if doc is not None and doc.session_context is not None:
            doc.add_next_tick_callback(lambda: self.state.select(ids, append=True))
        else:
            self.state.select(ids, append=True)

    def _on_selected(self, *_events: param.parameterized.Event) -> None:
        s = self.state
        curves = s.rdf_curves()
        self.ui["rdf_src"].data = {
            "xs": [c["r"] for c in curves],
            "ys": [c["g"] for c in curves],
            "bx": [np.concatenate([c["r"], c["r"][::-1]]) for c in curves],
            "by": [np.concatenate([c["lo"], c["hi"][::-1]]) for c in curves],
            "color": [PALETTE[i % len(PALETTE)] for i in range(len(curves))],
        }
        self.ui["selection"].object = s.selection_text()
        self._draw_selected_points()
        rows = [s.dataset.row(j) for j in s.selected]
        self._syncing = True
        try:
            self.ui["src"].selected.indices = rows
            if not s.selected and "table" in self.ui:
                self.ui["table"].selection = []
        finally:
            self._syncing = False
