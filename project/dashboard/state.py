"""State of the dashboard: :class:`Dashboard`, a :class:`param.Parameterized` that works without a server.

It holds the plot axes, one range filter per state variable, the selected job ids, the run whose predictions
and the ``cg_fit`` run whose RDFs are shown, and what the loaders (:mod:`project.dashboard.loaders`) returned.
Its methods (:meth:`Dashboard.filtered_mask`, :meth:`Dashboard.selection_csv`, :meth:`Dashboard.select`,
:meth:`Dashboard.predictions`, :meth:`Dashboard.cg_curves`, ...) are what the views show and what the tests drive.

Units: sigma nm, epsilon kJ/mol, T K, rho nm^-3; T* and rho* dimensionless; r in nm.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import param

from project.dashboard.loaders import (
    CGOverlay,
    cg_overlays,
    load_export,
    load_predictions,
    load_runs,
    shipped_cg_results,
    shipped_predictions,
)
from project.errors import ExportError

logger = logging.getLogger(__name__)

#: State variables that can be plotted and filtered: name -> axis label (with units).
AXES: dict[str, str] = {
    "sigma": "sigma (nm)",
    "epsilon": "epsilon (kJ/mol)",
    "T": "T (K)",
    "rho": "rho (nm^-3)",
    "T_star": "T* = kB T / epsilon",
    "rho_star": "rho* = rho sigma^3",
}
#: Columns of the jobs table (and their titles).
TABLE_COLUMNS: dict[str, str] = {
    "job_id": "job id",
    "sigma": "sigma nm",
    "epsilon": "epsilon kJ/mol",
    "T": "T K",
    "rho": "rho nm^-3",
    "T_star": "T*",
    "rho_star": "rho*",
    "N": "N",
    "first_peak_r_nm": "1st peak r nm",
}
#: At most this many RDFs are overlaid.
MAX_OVERLAY = 8
#: Line colours of the overlaid RDFs.
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf")
#: Colours of the prediction splits ("new": jobs the model never saw, for the shipped model's predictions).
SPLIT_COLOURS = {"train": "#1f77b4", "val": "#ff7f0e", "test": "#2ca02c", "transfer": "#d62728", "new": "#9467bd"}
#: Run id of the shipped model's predictions and of the shipped CG results (catalogue run ids start at 1).
SHIPPED_RUN = 0


def csv_column_name(name: str, unit: str | None) -> str:
    """Return a CSV header name that carries the unit: ``sigma`` + ``nm`` -> ``sigma_nm``.

    Dimensionless columns (unit ``"1"`` or empty) keep their name, as do names already ending with the unit.

    Examples
    --------
    >>> csv_column_name("epsilon", "kJ/mol"), csv_column_name("rho", "nm^-3"), csv_column_name("T_star", "1")
    ('epsilon_kJ_mol', 'rho_nm-3', 'T_star')
    """
    if not unit or unit == "1":
        return name
    token = unit.replace("/", "_").replace("^", "").replace(" ", "")
    return name if name.endswith("_" + token) else f"{name}_{token}"


def prediction_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """Return the runs that have a ``predictions`` artefact, newest first.

    Parameters
    ----------
    runs : pandas.DataFrame
        :func:`project.dashboard.loaders.load_runs` output.

    Returns
    -------
    pandas.DataFrame
        Subset of ``runs`` with a ``predictions`` column (path).
    """
    if runs.empty:
        return runs.assign(predictions=pd.Series(dtype=object))
    paths = runs["artefacts"].map(lambda a: a.get("predictions") if isinstance(a, dict) else None)
    sub = runs.assign(predictions=paths)
    sub = sub[sub["predictions"].notna()]
    return sub.sort_values("created", ascending=False, kind="stable")


def cg_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """Return the ``cg_fit`` runs, newest first."""
    if runs.empty:
        return runs
    return runs[runs["kind"] == "cg_fit"].sort_values("created", ascending=False, kind="stable")


def relative_errors(pred: pd.DataFrame) -> pd.DataFrame:
    """Add ``err_sigma_pct`` and ``err_epsilon_pct``: 100 (nn - true) / true."""
    out = pred.copy()
    for k in ("sigma", "epsilon"):
        out[f"err_{k}_pct"] = 100.0 * (out[f"nn_{k}"] - out[k]) / out[k]
    return out


def _metric_summary(metrics: Any, limit: int = 4) -> str:
    if not isinstance(metrics, dict) or not metrics:
        return ""
    keys = [k for k in metrics if "test" in k and "nn" in k] or list(metrics)
    parts = []
    for k in keys[:limit]:
        v = metrics[k]
        parts.append(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}")
    return ", ".join(parts)


def runs_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Return catalogue runs as a display table, newest first.

    Parameters
    ----------
    runs : pandas.DataFrame
        :func:`project.dashboard.loaders.load_runs` output.

    Returns
    -------
    pandas.DataFrame
        Columns ``run_id``, ``created`` (to the second, UTC), ``kind``, ``dataset`` (checksum prefix),
        ``metrics`` (a summary) and ``note``.
    """
    cols = ["run_id", "created", "kind", "dataset", "metrics", "note"]
    if runs.empty:
        return pd.DataFrame(columns=cols)
    runs = runs.reset_index()
    return (
        pd.DataFrame(
            {
                "run_id": runs["run_id"].astype(int),
                "created": runs["created"].astype(str).str.slice(0, 19),
                "kind": runs["kind"],
                "dataset": runs["dataset_checksum"].fillna("").astype(str).str.slice(0, 12),
                "metrics": runs["metrics"].map(_metric_summary),
                "note": runs["note"].fillna(""),
            }
        )
        .sort_values("run_id", ascending=False)
        .reset_index(drop=True)
    )


def shipped_model_predictions(export_path: str | os.PathLike) -> tuple[pd.DataFrame | None, str]:
    """Return the shipped model's predictions of an export (relative errors added) and their heading.

    Jobs the model cannot read (r range too short) are left out and counted in the heading.

    Returns
    -------
    (pandas.DataFrame or None, str)
        The frame (None when the model cannot predict this export) and the heading (or why nothing is shown).
    """
    from project.errors import ProjectError
    from project.model.inverse import SHIPPED_MODEL

    try:
        pred = relative_errors(shipped_predictions(export_path))
    except (ProjectError, OSError, ValueError, KeyError) as exc:
        return None, f"The shipped model cannot predict this export: {exc}"
    head = f"Predictions of the shipped model `{SHIPPED_MODEL.name}` (computed on this export, one shot)"
    unread = int(pred["nn_sigma"].isna().sum())
    if unread:
        head += f"; {unread} jobs not predicted (their r range is too short for the model)"
    return pred[pred["nn_sigma"].notna()], head


def run_predictions(pruns: pd.DataFrame, run_id: int | None) -> tuple[pd.DataFrame | None, str]:
    """Return the predictions of a catalogue run (relative errors added) and their heading.

    Parameters
    ----------
    pruns : pandas.DataFrame
        :func:`prediction_runs` output.
    run_id : int or None
        The run.

    Returns
    -------
    (pandas.DataFrame or None, str)
        The frame (None when unavailable) and the heading (or why nothing is shown).
    """
    if pruns.empty or run_id is None or run_id not in pruns.index:
        return None, (
            "No training or evaluation run with predictions in the catalogue yet (`lj-inverse train` / `evaluate`)."
        )
    run = pruns.loc[run_id]
    try:
        pred = relative_errors(load_predictions(run["predictions"]))
    except FileNotFoundError:
        return None, f"The predictions file `{run['predictions']}` of run {run_id} is missing."
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        return None, f"The predictions of run {run_id} cannot be read: {exc}"
    return pred, f"Predictions of run {run_id} ({run['kind']}, {str(run['created'])[:19]})"


def shipped_cg_curves(folder: Path, plots: dict[str, str], table: str) -> tuple[list[CGOverlay], dict[str, str], str]:
    """Return the shipped coarse-graining results as :meth:`Dashboard.cg_curves` does (see
    :func:`project.dashboard.loaders.shipped_cg_results` for the arguments)."""
    overlays, images, problems = cg_overlays(plots)
    text = (
        f"Shipped coarse-graining results (`{folder}`; this data space has no CG fits of its own; "
        "see docs/coarse_graining.md). Units: sigma nm, epsilon kJ/mol, total deviation nm."
    )
    if table:
        text += "\n\n" + table
    if problems:
        text += "\n\n" + "\n".join(f"- {p}" for p in problems)
    return overlays, images, text


def cg_run_curves(cruns: pd.DataFrame, run_id: int | None) -> tuple[list[CGOverlay], dict[str, str], str]:
    """Return the AA vs CG RDFs of a ``cg_fit`` run as :meth:`Dashboard.cg_curves` does.

    Parameters
    ----------
    cruns : pandas.DataFrame
        :func:`cg_runs` output.
    run_id : int or None
        The run.
    """
    if cruns.empty or run_id is None or run_id not in cruns.index:
        return [], {}, "No coarse-graining fit (kind `cg_fit`) in the catalogue yet."
    run = cruns.loc[run_id]
    overlays, images, problems = cg_overlays(run["artefacts"])
    head = f"CG fit run {run_id} ({str(run['created'])[:19]})"
    if overlays:
        labels = ", ".join(o.label or "fit" for o in overlays)
        text = f"AA vs CG RDF of {head}: {labels}."
    elif images:
        text = f"{head}: no RDF arrays recorded; its RDF plots are shown."
    else:
        text = (
            f"{head} records no AA vs CG RDFs (artefacts `rdf_csv`, `rdf_aa__<molecule>` + "
            "`rdf_cg__<molecule>__<method>` or `plot_<molecule>`)."
        )
    summary = _metric_summary(run["metrics"], 6)
    if summary:
        text += f" Metrics: {summary}"
    if problems:
        text += "\n\n" + "\n".join(f"- {p}" for p in problems)
    return overlays, images, text


@dataclass
class _Loaded:
    """What the loaders returned, with the user-facing messages of what is missing."""

    dataset: Any = None
    export_message: str = ""
    runs: pd.DataFrame | None = None
    catalogue_message: str = ""


class Dashboard(param.Parameterized):
    """State of the data-space dashboard; :meth:`view` builds its page (:mod:`project.dashboard.views`).

    Parameters
    ----------
    export_path : path
        HDF5 export (see :mod:`project.export`).
    catalogue_path : path
        SQLite results catalogue (see :mod:`project.catalogue`); not created when absent.

    Notes
    -----
    Range filters are ``(low, high)`` in the units of :data:`AXES` (None: no filter); a job passes when every
    filtered value lies within its closed range.
    """

    x_axis = param.Selector(default="T_star", objects=list(AXES), doc="x axis of the state-space map")
    y_axis = param.Selector(default="rho_star", objects=list(AXES), doc="y axis of the state-space map")
    sigma_range = param.Range(default=None, allow_None=True, doc="sigma filter (nm)")
    epsilon_range = param.Range(default=None, allow_None=True, doc="epsilon filter (kJ/mol)")
    T_range = param.Range(default=None, allow_None=True, doc="T filter (K)")
    rho_range = param.Range(default=None, allow_None=True, doc="rho filter (nm^-3)")
    T_star_range = param.Range(default=None, allow_None=True, doc="T* filter")
    rho_star_range = param.Range(default=None, allow_None=True, doc="rho* filter")
    selected = param.List(default=[], item_type=str, doc="selected job ids (RDFs overlaid), newest last")
    prediction_run = param.Integer(
        default=None, allow_None=True, doc="catalogue run whose predictions are shown (0: the shipped model's)"
    )
    split = param.Selector(
        default="all", objects=["all", "train", "val", "test", "transfer", "new"], doc="prediction split shown"
    )
    error_axis = param.Selector(default="T_star", objects=list(AXES), doc="state variable of the error plot")
    cg_run = param.Integer(
        default=None, allow_None=True, doc="cg_fit run whose AA vs CG RDFs are shown (0: the shipped CG results)"
    )
    message = param.String(default="", doc="last user-facing notice (e.g. an unknown job id)")
    predictions_filtered = param.Boolean(
        default=False, doc="show only the predictions of jobs matching the range filters"
    )
    backend = param.Selector(
        default="canvas",
        objects=["canvas", "webgl"],
        doc="Bokeh output backend of the point plots (webgl pans faster with a GPU)",
    )

    def __init__(self, export_path: str | os.PathLike, catalogue_path: str | os.PathLike, **params: Any) -> None:
        super().__init__(**params)
        self.export_path = Path(export_path)
        self.catalogue_path = Path(catalogue_path)
        self._loaded = self._load()
        ds = self._loaded.dataset
        if ds is not None:
            tab = ds.table
            self._columns = {k: tab[k].to_numpy(dtype=float) for k in AXES}
            self._bounds = {k: (float(np.nanmin(v)), float(np.nanmax(v))) for k, v in self._columns.items()}
        else:
            self._columns, self._bounds = {}, {}
        pruns = self.prediction_runs()
        if self.prediction_run is None and not pruns.empty:
            self.prediction_run = int(pruns.index[0])
        elif self.prediction_run is None and ds is not None:
            self.prediction_run = SHIPPED_RUN
        cruns = self.cg_runs()
        self._shipped_cg = shipped_cg_results()
        if self.cg_run is None and not cruns.empty:
            self.cg_run = int(cruns.index[0])
        elif self.cg_run is None and self._shipped_cg[0] is not None:
            self.cg_run = SHIPPED_RUN
        self._job_ids = np.sort(np.asarray(ds.job_ids, dtype=str)) if ds is not None else np.array([], dtype=str)
        #: The Panel and Bokeh models of the page by name (filled by :meth:`view` and as tabs are built).
        self._ui: Mapping[str, Any] = {}

    # ----------------------------------------------------------------------------------------- loading
    def _load(self) -> _Loaded:
        out = _Loaded()
        try:
            ds = load_export(self.export_path)
        except FileNotFoundError:
            out.export_message = (
                f"No export found at `{self.export_path}`. Create it with `lj-inverse export` once jobs have finished."
            )
        except (ExportError, OSError, ValueError) as exc:
            out.export_message = f"The export at `{self.export_path}` cannot be read: {exc}"
        else:
            if len(ds.job_ids) == 0:
                out.export_message = f"The export at `{self.export_path}` contains no jobs yet."
            else:
                out.dataset = ds
        try:
            out.runs = load_runs(self.catalogue_path)
        except FileNotFoundError:
            out.catalogue_message = (
                f"No results catalogue at `{self.catalogue_path}`. Train a model with "
                "`lj-inverse train` to see its predictions here."
            )
        except (OSError, ValueError) as exc:
            out.catalogue_message = f"The results catalogue at `{self.catalogue_path}` cannot be read: {exc}"
        for msg in (out.export_message, out.catalogue_message):
            if msg:
                logger.warning("dashboard: %s", msg)
        return out

    @property
    def dataset(self) -> Any:
        """The loaded :class:`project.export.Dataset`, or None when missing or empty."""
        return self._loaded.dataset

    @property
    def n_jobs(self) -> int:
        """Number of jobs in the export (0 when missing)."""
        return 0 if self.dataset is None else len(self.dataset.job_ids)

    @property
    def export_message(self) -> str:
        """Why the export is not shown ('' when it is)."""
        return self._loaded.export_message

    @property
    def catalogue_message(self) -> str:
        """Why the catalogue is not shown ('' when it is)."""
        return self._loaded.catalogue_message

    def bounds(self, axis: str) -> tuple[float, float]:
        """Return the data range ``(min, max)`` of a state variable (units of :data:`AXES`)."""
        return self._bounds.get(axis, (0.0, 1.0))

    def column(self, axis: str) -> np.ndarray:
        """Return the values of a state variable over the export rows (units of :data:`AXES`)."""
        return self._columns[axis]

    @property
    def has_shipped_cg(self) -> bool:
        """Whether the shipped coarse-graining results (``docs/results/cg``) were found."""
        return self._shipped_cg[0] is not None

    # ------------------------------------------------------------------------------------------- state
    def ranges(self) -> dict[str, tuple[float, float] | None]:
        """Return the range filter of every axis (None: no filter)."""
        return {k: getattr(self, f"{k}_range") for k in AXES}

    def filtered_mask(self) -> np.ndarray:
        """Return a boolean mask over the export rows that pass every range filter."""
        mask = np.ones(self.n_jobs, dtype=bool)
        for k, rng in self.ranges().items():
            if rng is None or self.n_jobs == 0:
                continue
            col = self._columns[k]
            mask &= (col >= rng[0]) & (col <= rng[1])
        return mask

    def filtered_table(self) -> pd.DataFrame:
        """Return the table rows (index ``job_id``) that pass the filters."""
        if self.dataset is None:
            return pd.DataFrame(columns=list(TABLE_COLUMNS)[1:], index=pd.Index([], name="job_id"))
        return self.dataset.table[self.filtered_mask()]

    def count_text(self) -> str:
        """Return the job-count line shown in the page (``Jobs matching filters: n of N``)."""
        return f"Jobs matching filters: {int(self.filtered_mask().sum())} of {self.n_jobs}"

    def select(self, job_ids: Sequence[str], append: bool = False) -> list[str]:
        """Select jobs whose RDFs are overlaid; unknown ids are reported in :attr:`message`.

        Parameters
        ----------
        job_ids : sequence of str
            Job ids (at most :data:`MAX_OVERLAY` are kept, the last ones).
        append : bool
            Add to the current selection instead of replacing it.

        Returns
        -------
        list of str
            The new selection.
        """
        known, unknown, ambiguous = [], [], []
        for j in job_ids:
            j = str(j).strip()
            if not j:
                continue
            full, n = self.resolve_job_id(j)
            if full is not None:
                known.append(full)
            elif n:
                ambiguous.append(f"{j} ({n} jobs)")
            else:
                unknown.append(j)
        new = (list(self.selected) if append else []) + [j for j in known if not append or j not in self.selected]
        dropped = max(0, len(new) - MAX_OVERLAY)
        new = new[-MAX_OVERLAY:]
        notes = []
        if unknown:
            notes.append(f"Unknown job id(s): {', '.join(unknown)}")
        if ambiguous:
            notes.append(f"Ambiguous job id prefix(es), type more characters: {', '.join(ambiguous)}")
        if dropped:
            notes.append(f"{dropped} older selection(s) dropped: at most {MAX_OVERLAY} RDFs are overlaid")
        self.message = "; ".join(notes)
        self.selected = new
        return new

    def resolve_job_id(self, text: str) -> tuple[str | None, int]:
        """Return ``(full job id, 1)`` for a job id or a unique prefix of one, else ``(None, matches)``."""
        if self.dataset is None or not text:
            return None, 0
        ids = self._job_ids
        lo = int(np.searchsorted(ids, text, side="left"))
        hi = int(np.searchsorted(ids, text + "\uffff", side="left"))
        if hi - lo == 1 or (lo < len(ids) and ids[lo] == text):
            return str(ids[lo]), 1
        return None, hi - lo

    def selection_text(self) -> str:
        """Return the Markdown describing the selected jobs (ids, state points, colours)."""
        if self.dataset is None:
            return "Selected jobs: none"
        if not self.selected:
            return "Selected jobs: none (click a point on the map or a row of the table)"
        tab = self.dataset.table
        lines = [f"Selected jobs ({len(self.selected)}):", ""]
        for i, j in enumerate(self.selected):
            r = tab.loc[j]
            colour = PALETTE[i % len(PALETTE)]
            lines.append(
                f"- <span style='color:{colour}'>&#9632;</span> `{j}` sigma {r['sigma']:.4g} nm, "
                f"epsilon {r['epsilon']:.4g} kJ/mol, T {r['T']:.4g} K, rho {r['rho']:.4g} nm^-3 "
                f"(T* {r['T_star']:.3g}, rho* {r['rho_star']:.3g})"
            )
        return "\n".join(lines)

    def rdf_curves(self) -> list[dict[str, np.ndarray]]:
        """Return ``{"job_id", "r", "g", "lo", "hi"}`` (r in nm, g -/+ g_err) of each selected job."""
        ds = self.dataset
        if ds is None:
            return []
        out = []
        for j in self.selected:
            i = ds.row(j)
            g = ds.g[i].astype(float)
            e = ds.g_err[i].astype(float)
            out.append({"job_id": j, "r": ds.r_nm.astype(float), "g": g, "lo": g - e, "hi": g + e})
        return out

    def selection_csv(self) -> str:
        """Return the filtered jobs as CSV; header names carry units (``sigma_nm``, ``epsilon_kJ_mol``, ...)."""
        tab = self.filtered_table()
        first = [c for c in TABLE_COLUMNS if c in tab.columns]
        tab = tab[first + [c for c in tab.columns if c not in first]]
        units = self.dataset.units if self.dataset is not None else {}
        out = tab.rename(columns={c: csv_column_name(c, units.get(c)) for c in tab.columns})
        return out.to_csv(index_label="job_id", float_format="%.8g")

    def selected_rdfs_csv(self) -> str:
        """Return the RDFs of the selected jobs as CSV: ``r_nm``, then ``g_<id>``, ``g_err_<id>`` per job."""
        curves = self.rdf_curves()
        if not curves:
            return "r_nm\n"
        data = {"r_nm": curves[0]["r"]}
        for c in curves:
            data[f"g_{c['job_id']}"] = c["g"]
            data[f"g_err_{c['job_id']}"] = c["hi"] - c["g"]
        return pd.DataFrame(data).to_csv(index=False, float_format="%.6g")

    # ----------------------------------------------------------------------------- predictions and runs
    def runs(self) -> pd.DataFrame:
        """All catalogue runs (empty when the catalogue is missing)."""
        return self._loaded.runs if self._loaded.runs is not None else pd.DataFrame()

    def prediction_runs(self) -> pd.DataFrame:
        """Runs with a predictions artefact, newest first."""
        return prediction_runs(self.runs())

    def cg_runs(self) -> pd.DataFrame:
        """``cg_fit`` runs, newest first."""
        return cg_runs(self.runs())

    def predictions(self) -> tuple[pd.DataFrame | None, str]:
        """Return the predictions of :attr:`prediction_run` (split applied, relative errors added) and a text.

        Returns
        -------
        (pandas.DataFrame or None, str)
            The frame (None when unavailable) and the Markdown line shown above the plots (or why nothing is).
        """
        if self.prediction_run == SHIPPED_RUN:
            if self.dataset is None:
                return None, self.export_message
            pred, head = shipped_model_predictions(self.export_path)
        else:
            if self.catalogue_message:
                return None, self.catalogue_message
            pred, head = run_predictions(self.prediction_runs(), self.prediction_run)
        if pred is None:
            return None, head
        n_all = len(pred)
        if self.split != "all" and "split" in pred.columns:
            pred = pred[pred["split"] == self.split]
        where = f"split {self.split}"
        if self.predictions_filtered and self.dataset is not None:
            pred = pred[pred["job_id"].astype(str).isin(self.filtered_table().index)]
            where += ", matching the filters"
        if pred.empty:
            return pred, f"{head}: no jobs ({where})."
        mape_s = float(np.nanmean(np.abs(pred["err_sigma_pct"])))
        mape_e = float(np.nanmean(np.abs(pred["err_epsilon_pct"])))
        text = f"{head}: {len(pred)} of {n_all} jobs ({where}); MAPE sigma {mape_s:.2f} %, epsilon {mape_e:.2f} %"
        if self.prediction_run == SHIPPED_RUN and self.catalogue_message:
            text += f". {self.catalogue_message}"
        return pred, text

    def cg_curves(self) -> tuple[list[CGOverlay], dict[str, str], str]:
        """Return the AA vs CG RDFs of :attr:`cg_run` (see :func:`cg_overlays`) and a Markdown text.

        Returns
        -------
        (list of CGOverlay, dict, str)
            The overlays, the PNG images shown instead where a system has no RDF arrays (label -> path), and the
            text shown above the plot (what is shown, or why nothing is).
        """
        if self.cg_run == SHIPPED_RUN and self.has_shipped_cg:
            return shipped_cg_curves(*self._shipped_cg)
        if self.catalogue_message:
            return [], {}, self.catalogue_message
        return cg_run_curves(self.cg_runs(), self.cg_run)

    def runs_table(self) -> pd.DataFrame:
        """Return the catalogue runs as a display table (see :func:`runs_table`)."""
        return runs_table(self.runs())

    def view(self) -> Any:
        """Build the Panel page of this state (call once per browser session).

        The page is :func:`project.dashboard.views.page`; its Panel and Bokeh models are then reachable by name in
        ``_ui`` (for tests).

        Returns
        -------
        panel.viewable.Viewable
        """
        from project.dashboard.views import page

        layout, self._ui = page(self)
        return layout
