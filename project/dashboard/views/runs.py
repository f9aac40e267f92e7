"""The "Runs and CG fits" tab: every catalogue run, and the AA vs CG RDFs of a ``cg_fit`` run.

While the data space has no ``cg_fit`` run, the shipped coarse-graining results are shown (run 0,
:data:`project.dashboard.state.SHIPPED_RUN`). Units: r nm; sigma nm, epsilon kJ/mol in the tables.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import panel as pn
import param
from bokeh.models import ColumnDataSource
from bokeh.plotting import figure

from project.dashboard.loaders import CGOverlay
from project.dashboard.state import PALETTE, Dashboard


class RunsView(param.Parameterized):
    """The runs tab of a :class:`~project.dashboard.state.Dashboard`; its overlay follows ``state.cg_run``.

    Parameters
    ----------
    state : Dashboard
        The state shown; a click on a run row sets its ``cg_run`` or ``prediction_run``.
    """

    state = param.ClassSelector(class_=Dashboard, constant=True, doc="the dashboard state shown")

    def __init__(self, state: Dashboard, **params: Any) -> None:
        super().__init__(state=state, **params)
        #: The Panel and Bokeh models of the tab by name.
        self.ui: dict[str, Any] = {}
        self._overlays: dict[str, CGOverlay] = {}

    def panel(self) -> Any:
        """Build the tab (when first opened).

        Returns
        -------
        panel.viewable.Viewable
        """
        s = self.state
        if s.catalogue_message and not s.has_shipped_cg:
            return pn.pane.Alert(
                f"{s.catalogue_message} No runs or CG fits to show.", alert_type="info", sizing_mode="stretch_width"
            )
        notice = []
        if s.catalogue_message:
            notice = [
                pn.pane.Alert(
                    f"{s.catalogue_message} No runs of this data space to show; the shipped "
                    "coarse-graining results follow.",
                    alert_type="info",
                    sizing_mode="stretch_width",
                )
            ]
        runs = pn.widgets.Tabulator(
            s.runs_table(),
            pagination="local",
            page_size=12,
            show_index=False,
            disabled=True,
            selectable=1,
            sizing_mode="stretch_width",
        )
        runs.param.watch(self._on_run_row, "selection")
        system = pn.widgets.Select(label="System", options=[], width=240)
        system.param.watch(lambda _event: self._draw(), "value")
        self.ui.update(
            runs_table=runs,
            cg_text=pn.pane.Markdown("", sizing_mode="stretch_width"),
            cg_curves_text=pn.pane.Markdown("", sizing_mode="stretch_width"),
            cg_system=system,
            cg_images=pn.Column(sizing_mode="stretch_width"),
            cg_plot=pn.pane.Bokeh(self._overlay_plot(), sizing_mode="stretch_width"),
        )
        s.param.watch(self._on_cg_run, "cg_run")
        self._on_cg_run()
        ui = self.ui
        return pn.Column(
            *notice,
            pn.pane.Markdown(
                "Select a `cg_fit` row for its AA vs CG RDF, a training or "
                "evaluation row for its predictions (Model predictions tab)."
            ),
            runs,
            ui["cg_text"],
            system,
            ui["cg_curves_text"],
            ui["cg_plot"],
            ui["cg_images"],
            sizing_mode="stretch_width",
        )

    def _overlay_plot(self) -> Any:
        """The AA RDF (black, with its error band) and the CG RDFs (dashed, one colour per method)."""
        f = figure(
            height=360,
            sizing_mode="stretch_width",
            x_axis_label="r (nm)",
            y_axis_label="g(r)",
            title="AA vs CG RDF (band: AA g -/+ g_err)",
            tools="pan,wheel_zoom,box_zoom,reset",
        )
        aa_src = ColumnDataSource({"r": [], "g": [], "lo": [], "hi": []}, name="cg_aa_source")
        cg_src = ColumnDataSource({"xs": [], "ys": [], "color": [], "method": []}, name="cg_source")
        f.varea("r", "lo", "hi", source=aa_src, fill_color="black", fill_alpha=0.15)
        f.line("r", "g", source=aa_src, line_color="black", line_width=2.5, legend_label="all-atom")
        f.multi_line(
            "xs", "ys", source=cg_src, line_color="color", line_width=1.8, line_dash="dashed", legend_field="method"
        )
        f.legend.location = "top_right"
        self.ui.update(cg_aa_src=aa_src, cg_src=cg_src)
        return f

    def _on_run_row(self, event: param.parameterized.Event) -> None:
        if not event.new:
            return
        s = self.state
        rid = int(self.ui["runs_table"].value["run_id"].iloc[event.new[0]])
        if rid in s.cg_runs().index:
            s.cg_run = rid
        elif rid in s.prediction_runs().index:
            s.prediction_run = rid

    def _on_cg_run(self, *_events: param.parameterized.Event) -> None:
        overlays, images, text = self.state.cg_curves()
        self._overlays = {o.label: o for o in overlays}
        self.ui["cg_text"].object = text
        system = self.ui["cg_system"]
        labels = [o.label for o in overlays]
        system.options = {(label or "fit"): label for label in labels}
        system.visible = len(labels) > 1
        self.ui["cg_plot"].visible = bool(labels)
        if labels and system.value not in labels:
            system.value = labels[0]  # triggers _draw
        self._draw()
        self.ui["cg_images"].objects = [
            pn.Column(pn.pane.Markdown(f"RDF plot of `{label}` (`{path}`)"), pn.pane.PNG(path, width=640))
            for label, path in images.items()
        ]

    def _draw(self) -> None:
        """Draw the overlay of the system chosen in the System selector."""
        ov = self._overlays.get(self.ui["cg_system"].value) if self._overlays else None
        if ov is None:
            self.ui["cg_aa_src"].data = {"r": [], "g": [], "lo": [], "hi": []}
            self.ui["cg_src"].data = {"xs": [], "ys": [], "color": [], "method": []}
            self.ui["cg_curves_text"].object = ""
            return
        err = ov.g_aa_err if ov.g_aa_err is not None else np.zeros_like(ov.g_aa)
        self.ui["cg_aa_src"].data = {"r": ov.r_nm, "g": ov.g_aa, "lo": ov.g_aa - err, "hi": ov.g_aa + err}
        methods = list(ov.cg)
        colours = [PALETTE[1:][i % (len(PALETTE) - 1)] for i in range(len(methods))]
        self.ui["cg_src"].data = {
            "xs": [ov.cg[m][0] for m in methods],
            "ys": [ov.cg[m][1] for m in methods],
            "color": colours,
            "method": methods,
        }
        lines = [f"Shown: `{ov.label or 'fit'}`: all-atom (black) vs CG"]
        lines += [f"- <span style='color:{c}'>&#9632;</span> {m}" for m, c in zip(methods, colours)]
        self.ui["cg_curves_text"].object = "\n".join(lines)
