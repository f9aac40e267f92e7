"""The "Model predictions" tab: parity plots, error histograms and error against state of one run's predictions.

The run is a catalogue run with a ``predictions`` artefact, or the shipped model (run 0,
:data:`project.dashboard.state.SHIPPED_RUN`). Units: sigma nm, epsilon kJ/mol; errors in %.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import panel as pn
import param
from bokeh.models import ColumnDataSource
from bokeh.plotting import figure

from project.dashboard.state import AXES, SHIPPED_RUN, SPLIT_COLOURS, Dashboard

#: Height and width (px) of the parity plots and the histogram.
_HEIGHT, _WIDTH = 340, 360
_TOOLS = "pan,wheel_zoom,box_zoom,reset"


class PredictionsView(param.Parameterized):
    """The predictions tab of a :class:`~project.dashboard.state.Dashboard`; its plots follow the state.

    Parameters
    ----------
    state : Dashboard
        The state shown (run, split, error axis, filters).
    """

    state = param.ClassSelector(class_=Dashboard, constant=True, doc="the dashboard state shown")

    def __init__(self, state: Dashboard, **params: Any) -> None:
        super().__init__(state=state, **params)
        #: The Panel and Bokeh models of the tab by name.
        self.ui: dict[str, Any] = {}

    def panel(self) -> Any:
        """Build the tab (when first opened).

        Returns
        -------
        panel.viewable.Viewable
        """
        s = self.state
        text = pn.pane.Markdown("", sizing_mode="stretch_width")
        self.ui["pred_text"] = text
        pruns = s.prediction_runs() if not s.catalogue_message else pd.DataFrame()
        if s.dataset is None and pruns.empty:
            text.object = " ".join(m for m in (s.export_message, s.catalogue_message) if m) or s.predictions()[1]
            return pn.pane.Alert(text.object, alert_type="info", sizing_mode="stretch_width")
        srcs: dict[str, ColumnDataSource] = {}
        parity = {q: self._parity_plot(q, unit, srcs) for q, unit in (("sigma", "nm"), ("epsilon", "kJ/mol"))}
        hist = self._histograms(srcs)
        err = self._error_plot(srcs)
        self.ui.update(pred_srcs=srcs, err_fig=err)
        s.param.watch(self._on_predictions, ["prediction_run", "split", "error_axis", "predictions_filtered"])
        s.param.watch(self._on_filters, [f"{k}_range" for k in AXES])
        self._on_predictions()
        return pn.Column(
            pn.Row(*self._selectors(pruns)),
            text,
            pn.Row(pn.pane.Bokeh(parity["sigma"]), pn.pane.Bokeh(parity["epsilon"]), pn.pane.Bokeh(hist)),
            pn.pane.Bokeh(err, sizing_mode="stretch_width"),
            sizing_mode="stretch_width",
        )

    def _selectors(self, pruns: pd.DataFrame) -> list[Any]:
        """Run, split and error-axis selectors and the 'only filtered jobs' box."""
        s = self.state
        options = {f"run {rid} ({r['kind']}, {str(r['created'])[:19]})": int(rid) for rid, r in pruns.iterrows()}
        if s.dataset is not None:
            from project.model.inverse import SHIPPED_MODEL

            options[f"shipped model {SHIPPED_MODEL.name} (on this export)"] = SHIPPED_RUN
        return [
            pn.widgets.Select.from_param(s.param.prediction_run, label="Run", options=options),
            pn.widgets.Select.from_param(s.param.split, label="Split"),
            pn.widgets.Select.from_param(
                s.param.error_axis, label="Error against", options={label: key for key, label in AXES.items()}
            ),
            pn.widgets.Checkbox.from_param(
                s.param.predictions_filtered, label="Only jobs matching the state-space filters"
            ),
        ]

    def _parity_plot(self, q: str, unit: str, srcs: dict[str, ColumnDataSource]) -> Any:
        """Predicted against true ``q``, one scatter per split, and the diagonal."""
        f = figure(
            height=_HEIGHT,
            width=_WIDTH,
            output_backend=self.state.backend,
            x_axis_label=f"true {q} ({unit})",
            y_axis_label=f"predicted {q} ({unit})",
            title=f"Parity: {q}",
            tools=_TOOLS,
        )
        srcs[f"parity_{q}_line"] = ColumnDataSource({"x": [], "y": []})
        f.line("x", "y", source=srcs[f"parity_{q}_line"], line_color="black", line_dash="dashed")
        for split, c in SPLIT_COLOURS.items():
            src = ColumnDataSource({"x": [], "y": []}, name=f"parity_{q}_{split}")
            f.scatter("x", "y", source=src, size=3, fill_alpha=0.5, fill_color=c, line_color=None, legend_label=split)
            srcs[f"parity_{q}_{split}"] = src
        f.legend.location = "top_left"
        return f

    @staticmethod
    def _histograms(srcs: dict[str, ColumnDataSource]) -> Any:
        """Histograms of the relative errors of sigma and epsilon (%)."""
        h = figure(
            height=_HEIGHT,
            width=_WIDTH,
            x_axis_label="relative error (%)",
            y_axis_label="jobs",
            title="Error histograms",
            tools=_TOOLS,
        )
        for q, c in (("sigma", "#1f77b4"), ("epsilon", "#d62728")):
            src = ColumnDataSource({"left": [], "right": [], "top": []})
            h.quad(
                left="left",
                right="right",
                bottom=0,
                top="top",
                source=src,
                fill_color=c,
                fill_alpha=0.4,
                line_color=c,
                legend_label=q,
            )
            srcs[f"hist_{q}"] = src
        return h

    def _error_plot(self, srcs: dict[str, ColumnDataSource]) -> Any:
        """|relative error| (%) of sigma and epsilon against a state variable."""
        e = figure(
            height=_HEIGHT,
            sizing_mode="stretch_width",
            output_backend=self.state.backend,
            y_axis_label="|error| (%)",
            title="Error against state",
            tools=_TOOLS,
        )
        for q, c in (("sigma", "#1f77b4"), ("epsilon", "#d62728")):
            src = ColumnDataSource({"x": [], "y": []})
            e.scatter("x", "y", source=src, size=3, fill_alpha=0.4, fill_color=c, line_color=None, legend_label=q)
            srcs[f"err_{q}"] = src
        return e

    def _on_filters(self, *_events: param.parameterized.Event) -> None:
        if self.state.predictions_filtered:
            self._on_predictions()

    def _on_predictions(self, *_events: param.parameterized.Event) -> None:
        s = self.state
        pred, text = s.predictions()
        self.ui["pred_text"].object = text
        srcs = self.ui["pred_srcs"]
        empty = {"x": [], "y": []}
        if pred is None or pred.empty:
            for k, src in srcs.items():
                src.data = {"left": [], "right": [], "top": []} if k.startswith("hist") else empty
            return
        errs = np.concatenate([pred[f"err_{q}_pct"].to_numpy(float) for q in ("sigma", "epsilon")])
        errs = errs[np.isfinite(errs)]
        edges = None
        if len(errs):  # common bins for both histograms; the 0.5 % tails on each side are left out
            rng = (float(np.percentile(errs, 0.5)), float(np.percentile(errs, 99.5)))
            if rng[1] <= rng[0]:
                rng = (rng[0] - 0.5, rng[0] + 0.5)
            edges = np.linspace(rng[0], rng[1], 41)
        for q in ("sigma", "epsilon"):
            lo = float(np.nanmin(pred[[q, f"nn_{q}"]].to_numpy()))
            hi = float(np.nanmax(pred[[q, f"nn_{q}"]].to_numpy()))
            srcs[f"parity_{q}_line"].data = {"x": [lo, hi], "y": [lo, hi]}
            for split in SPLIT_COLOURS:
                sub = pred[pred["split"] == split] if "split" in pred.columns else pred.iloc[:0]
                srcs[f"parity_{q}_{split}"].data = {"x": sub[q].to_numpy(float), "y": sub[f"nn_{q}"].to_numpy(float)}
            err = pred[f"err_{q}_pct"].to_numpy(float)
            if edges is not None:
                counts, _ = np.histogram(err[np.isfinite(err)], bins=edges)
                srcs[f"hist_{q}"].data = {"left": edges[:-1], "right": edges[1:], "top": counts}
            x = pred[s.error_axis].to_numpy(float) if s.error_axis in pred.columns else np.zeros(len(pred))
            srcs[f"err_{q}"].data = {"x": x, "y": np.abs(pred[f"err_{q}_pct"].to_numpy(float))}
        self.ui["err_fig"].xaxis.axis_label = AXES[s.error_axis]
