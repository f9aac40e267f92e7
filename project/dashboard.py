"""Interactive Panel dashboard of the data space: state-space map, RDFs, model predictions, runs and CG fits.

It reads two files only (never job folders one by one): the HDF5 export (:func:`project.export.load_dataset`,
default ``<dataspace>/export/dataset.h5``) and the results catalogue (:class:`project.catalogue.Catalogue`,
default ``<dataspace>/results/catalogue.sqlite``), plus the artefacts the catalogue names (``predictions.csv``
of training / evaluation runs; the AA and CG RDFs of ``cg_fit`` runs, see :func:`cg_overlays`).

Without any training run, the "Model predictions" tab shows the shipped model's predictions of the export in view
(computed on demand when the tab opens, cached per export file: :func:`shipped_predictions`); without any CG fit
in the data space, the "Runs and CG fits" tab shows the shipped coarse-graining results (``docs/results/cg``,
installed under ``<prefix>/share/lj-inverse/results/cg``). Both appear as run ``0`` (:data:`SHIPPED_RUN`).

Design
------
* :class:`Dashboard` is a :class:`param.Parameterized` holding the state (plot axes, one range filter per
  state variable, selected job ids). Its state methods (:meth:`Dashboard.filtered_mask`,
  :meth:`Dashboard.selection_csv`, :meth:`Dashboard.select`, ...) work without a server; :meth:`Dashboard.view`
  builds the Panel layout and keeps the Bokeh models in sync with the state.
* Loaders are cached with :func:`functools.lru_cache` keyed on path, size and modification time, so every
  browser session of one server shares one copy of the 40,000-job export and a rewritten file is re-read.
* 40,000 points: one Bokeh scatter (canvas, or webgl) whose ``ColumnDataSource`` is sent once; a filter sends
  the indices of the visible points (``IndexFilter``) and the first page of a remotely paginated Tabulator,
  which is built once the page has rendered (``pn.state.onload``). Sliders act on ``value_throttled`` (on
  release). The other tabs are built when first opened.
* Everything a browser test must read (job counts, selected job ids, run shown) is in text panes, because
  Bokeh draws titles on a canvas. Missing or empty data shows a message in the page, never a traceback.

Units: sigma nm, epsilon kJ/mol, T K, rho nm^-3; T* and rho* dimensionless; r in nm.
"""

from __future__ import annotations

import functools
import io
import json
import logging
import os
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import param

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
#: Catalogue kinds whose artefacts may hold ``predictions`` (predictions.csv).
PREDICTION_KINDS = ("train", "evaluate", "finetune")


def default_paths(dataspace: str | os.PathLike | None = None) -> tuple[Path, Path]:
    """Return the default ``(export, catalogue)`` paths of a data space.

    Parameters
    ----------
    dataspace : path, optional
        Data-space folder (default ``$LJ_DATASPACE``, else the current directory, see
        :func:`project.dataspace.dataspace_path`).

    Returns
    -------
    (pathlib.Path, pathlib.Path)
        ``<dataspace>/export/dataset.h5`` and ``<dataspace>/results/catalogue.sqlite``.
    """
    from project.dataspace import dataspace_path

    root = dataspace_path(dataspace)
    return root / "export" / "dataset.h5", root / "results" / "catalogue.sqlite"


# ------------------------------------------------------------------------------------------------ loaders
def _file_key(path: str | os.PathLike) -> tuple[str, int, int]:
    """Return ``(resolved path, mtime_ns, size)``; raise FileNotFoundError if absent."""
    p = Path(path).resolve()
    st = p.stat()  # raises FileNotFoundError
    return str(p), st.st_mtime_ns, st.st_size


@functools.lru_cache(maxsize=4)
def _load_export(path: str, mtime_ns: int, size: int) -> Any:
    from project.export import load_dataset

    logger.info("dashboard: loading export %s", path)
    return load_dataset(path)


def load_export(path: str | os.PathLike) -> Any:
    """Load the HDF5 export, cached on path, size and modification time.

    Parameters
    ----------
    path : path
        The export file.

    Returns
    -------
    project.export.Dataset

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    project.errors.ExportError
        Corrupt or incompatible file.
    """
    return _load_export(*_file_key(path))


@functools.lru_cache(maxsize=8)
def _load_runs(path: str, key: tuple) -> pd.DataFrame:
    # Read-only: opening it with project.catalogue.Catalogue would write (schema, pragmas) into a file that
    # training runs own. Same frame as Catalogue.list(): index run_id, JSON columns decoded, oldest first.
    try:
        con = sqlite3.connect(f"{Path(path).as_uri()}?mode=ro", uri=True, timeout=10.0)
    except sqlite3.Error as exc:
        raise OSError(f"cannot open {path}: {exc}") from exc
    try:
        con.row_factory = sqlite3.Row
        rows = con.execute("SELECT * FROM runs ORDER BY created, run_id").fetchall()
    except sqlite3.Error as exc:
        raise OSError(f"{path} is not a results catalogue: {exc}") from exc
    finally:
        con.close()
    cols = ["created", "kind", "dataset_checksum", "code_version", "note", "settings", "metrics", "artefacts"]
    records = []
    for row in rows:
        rec = {"run_id": int(row["run_id"])}
        for c in cols:
            value = row[c] if c in row.keys() else None
            if c in ("settings", "metrics", "artefacts"):
                try:
                    value = json.loads(value) if value else {}
                except ValueError:
                    value = {}
            rec[c] = value
        records.append(rec)
    return pd.DataFrame.from_records(records, columns=["run_id", *cols]).set_index("run_id")


def load_runs(path: str | os.PathLike) -> pd.DataFrame:
    """List all runs of the results catalogue (read-only), cached on the database (and WAL) file size and mtime.

    Parameters
    ----------
    path : path
        The SQLite catalogue (:mod:`project.catalogue`). It is opened read-only, never created or changed.

    Returns
    -------
    pandas.DataFrame
        Index ``run_id``; columns ``created``, ``kind``, ``dataset_checksum``, ``code_version``, ``note`` and
        ``settings`` / ``metrics`` / ``artefacts`` (dicts), as :meth:`project.catalogue.Catalogue.list`.

    Raises
    ------
    FileNotFoundError
        No catalogue at ``path``.
    OSError
        Not a readable catalogue.
    """
    name, mtime, size = _file_key(path)
    wal = Path(name + "-wal")
    wal_key = (wal.stat().st_mtime_ns, wal.stat().st_size) if wal.exists() else None
    return _load_runs(name, (mtime, size, wal_key))


@functools.lru_cache(maxsize=8)
def _read_csv(path: str, mtime_ns: int, size: int) -> pd.DataFrame:
    return pd.read_csv(path, comment="#")


def load_predictions(path: str | os.PathLike) -> pd.DataFrame:
    """Read a ``predictions.csv`` (leading ``#`` comment line), cached on path, size and mtime.

    Parameters
    ----------
    path : path
        The file written by :func:`project.model.evaluate.evaluate`.

    Returns
    -------
    pandas.DataFrame
        Columns ``job_id, sigma, epsilon, T, rho, T_star, rho_star, split, nn_sigma, nn_epsilon, ...``.

    Raises
    ------
    FileNotFoundError
        Missing file.
    ValueError
        The file lacks the columns needed for the plots.
    """
    df = _read_csv(*_file_key(path))
    missing = [c for c in ("job_id", "sigma", "epsilon", "nn_sigma", "nn_epsilon") if c not in df.columns]
    if missing:
        raise ValueError(f"predictions file {path} lacks columns {missing}")
    return df


@functools.lru_cache(maxsize=2)
def _shipped_predictions(path: str, mtime_ns: int, size: int) -> pd.DataFrame:
    from project.errors import RDFError
    from project.model.features import X_GRID, scaled_rdf
    from project.model.inverse import InverseModel

    ds = _load_export(path, mtime_ns, size)
    model = InverseModel.load()
    tab = ds.table
    logger.info("dashboard: shipped model predicts %d jobs of %s", len(tab), path)
    rho, T = tab["rho"].to_numpy(float), tab["T"].to_numpy(float)
    gx = np.full((len(tab), len(X_GRID)), np.nan)
    ok = np.zeros(len(tab), dtype=bool)
    for i in range(len(tab)):  # a job whose RDF the model cannot read (r range too short) gets NaN, not an error
        try:
            gx[i] = scaled_rdf(ds.r_nm, ds.g[i].astype(float), float(rho[i]), source=f"RDF row {i}")
            ok[i] = True
        except RDFError:
            continue
    split_of = {j: split for split, ids in (model.meta.get("split_job_ids") or {}).items() for j in ids}
    out = tab[["sigma", "epsilon", "T", "rho", "T_star", "rho_star"]].reset_index()
    out["job_id"] = out["job_id"].astype(str)
    out["split"] = [split_of.get(j, "new") for j in out["job_id"]]
    for k in ("sigma", "sigma_std", "epsilon", "epsilon_std"):
        out[f"nn_{k}"] = np.nan
    if ok.any():
        p = model.predict_physical(gx[ok], T[ok], rho[ok])
        for k in ("sigma", "sigma_std", "epsilon", "epsilon_std"):
            out.loc[ok, f"nn_{k}"] = np.asarray(p[k], float)
    return out


def shipped_predictions(export_path: str | os.PathLike) -> pd.DataFrame:
    """The shipped model's one-shot predictions of every job of an export, cached per export file.

    Returns
    -------
    pandas.DataFrame
        Columns ``job_id, sigma, epsilon, T, rho, T_star, rho_star, split, nn_sigma, nn_sigma_std, nn_epsilon,
        nn_epsilon_std`` (nm, kJ/mol, K, nm^-3); ``split`` is the job's split in the model's training data
        (``train``, ``val``, ``test``, ``transfer``) or ``new`` for a job the model never saw.
    """
    return _shipped_predictions(*_file_key(export_path))


def shipped_cg_results() -> tuple[Path | None, dict[str, str], str]:
    """The shipped coarse-graining results (``docs/results/cg``): folder, plot artefacts, comparison table.

    Returns
    -------
    (Path or None, dict, str)
        The folder (None when not found), ``{"plot_<molecule>": path, "pareto_<molecule>": path}`` of its RDF
        and Pareto plots, and the Markdown tables of ``comparison.md`` (empty when absent).
    """
    from project.resources import find_shared

    folder = find_shared("results/cg")
    if folder is None or not folder.is_dir():
        return None, {}, ""
    plots = {f"plot_{p.stem[len('rdf_') :]}": str(p) for p in sorted(folder.glob("rdf_*.png"))}
    plots.update({p.stem: str(p) for p in sorted(folder.glob("pareto_*.png"))})
    blocks: list[list[str]] = []
    if (folder / "comparison.md").is_file():
        previous, heading = False, None
        for line in (folder / "comparison.md").read_text().splitlines():
            is_row = line.startswith("|")
            if line.startswith("## "):
                heading = line[3:].strip()
            if is_row and not previous:
                blocks.append([f"**{heading}**", ""] if heading else [])
                heading = None
            if is_row:
                blocks[-1].append(line)
            previous = is_row
    return folder, plots, "\n\n".join("\n".join(b) for b in blocks)


@dataclass
class CGOverlay:
    """AA vs CG RDFs of one system (molecule) of a coarse-graining fit.

    Attributes
    ----------
    label : str
        System label (molecule name; ``""`` when the record names one system only).
    r_nm : numpy.ndarray
        Bin centres of the AA RDF in nm.
    g_aa : numpy.ndarray
        All-atom (centre-of-mass) g(r).
    g_aa_err : numpy.ndarray or None
        Standard error of ``g_aa`` (None when unknown).
    cg : dict
        CG curve name (method, or ``"CG"``) -> ``(r_nm, g)``.
    """

    label: str
    r_nm: np.ndarray
    g_aa: np.ndarray
    g_aa_err: np.ndarray | None
    cg: dict[str, tuple[np.ndarray, np.ndarray]]


def load_cg_rdf(path: str | os.PathLike) -> pd.DataFrame:
    """Read an AA vs CG RDF table (CSV), cached on path, size and modification time.

    Columns: ``r_nm`` (nm), ``g_aa``, optionally ``g_aa_err``, and one or more CG columns ``g_cg`` or
    ``g_cg__<method>``.

    Raises
    ------
    FileNotFoundError
        Missing file.
    ValueError
        Missing columns.
    """
    df = _read_csv(*_file_key(path))
    missing = [c for c in ("r_nm", "g_aa") if c not in df.columns]
    if not any(c == "g_cg" or c.startswith("g_cg__") for c in df.columns):
        missing.append("g_cg or g_cg__<method>")
    if missing:
        raise ValueError(f"CG RDF file {path} lacks columns {missing}")
    return df


@functools.lru_cache(maxsize=64)
def _read_rdf_npz(path: str, mtime_ns: int, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from project.rdf import load_rdf

    res = load_rdf(path)
    return np.asarray(res.r_nm, float), np.asarray(res.g, float), np.asarray(res.g_err, float)


def load_rdf_npz(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Read an ``.npz`` RDF written by :func:`project.rdf.save_rdf`; return ``(r_nm, g, g_err)`` (r in nm).

    Raises
    ------
    FileNotFoundError
        Missing file.
    project.errors.RDFError
        Unreadable file.
    """
    return _read_rdf_npz(*_file_key(path))


def cg_overlays(artefacts: Any) -> tuple[list[CGOverlay], dict[str, str], list[str]]:
    """Collect the AA vs CG RDFs named by the artefacts of a ``cg_fit`` catalogue record.

    The convention (``artefacts`` maps a name to a path; ``<label>`` is a molecule name, ``<method>`` a CG
    method; ``__`` separates the parts, as in the metric names of :mod:`project.cg.compare`):

    * ``rdf_csv`` or ``rdf_csv__<label>``: a CSV table read by :func:`load_cg_rdf` (``r_nm`` in nm, ``g_aa``,
      optional ``g_aa_err``, ``g_cg`` or ``g_cg__<method>`` columns);
    * ``rdf_aa__<label>``: the AA (centre-of-mass) RDF as an ``.npz`` of :func:`project.rdf.save_rdf`, with
      ``rdf_cg__<label>__<method>`` (or ``rdf_cg__<label>``): the CG RDFs, same format;
    * ``plot_<label>``: a PNG image, shown when the record has no RDF arrays for that label;
    * ``pareto_<label>``: a PNG image of the D-KL plane (:func:`project.cg.compare.pareto_plot`), always shown.

    Parameters
    ----------
    artefacts : dict
        The record's artefacts (name -> path).

    Returns
    -------
    (list of CGOverlay, dict, list of str)
        Overlays sorted by label, PNG images without arrays (label -> path), and the problems met (missing or
        unreadable files), one sentence each.
    """
    from project.errors import RDFError

    if not isinstance(artefacts, dict):
        return [], {}, []
    overlays: dict[str, CGOverlay] = {}
    problems: list[str] = []
    cg_npz: dict[str, dict[str, str]] = {}
    for name, path in sorted(artefacts.items()):
        if not isinstance(path, str):
            continue
        try:
            if name == "rdf_csv" or name.startswith("rdf_csv__"):
                label = name[len("rdf_csv__") :] if name != "rdf_csv" else ""
                df = load_cg_rdf(path)
                cg = {
                    (c[len("g_cg__") :] if c != "g_cg" else "CG"): (df["r_nm"].to_numpy(float), df[c].to_numpy(float))
                    for c in df.columns
                    if c == "g_cg" or c.startswith("g_cg__")
                }
                err = df["g_aa_err"].to_numpy(float) if "g_aa_err" in df.columns else None
                overlays[label] = CGOverlay(label, df["r_nm"].to_numpy(float), df["g_aa"].to_numpy(float), err, cg)
            elif name.startswith("rdf_aa__"):
                label = name[len("rdf_aa__") :]
                r, g, e = load_rdf_npz(path)
                old = overlays.get(label)
                overlays[label] = CGOverlay(label, r, g, e, old.cg if old else {})
            elif name.startswith("rdf_cg__"):
                label, _, method = name[len("rdf_cg__") :].partition("__")
                cg_npz.setdefault(label, {})[method or "CG"] = path
        except FileNotFoundError:
            problems.append(f"`{name}`: file `{path}` is missing.")
        except (OSError, ValueError, RDFError, pd.errors.ParserError) as exc:
            problems.append(f"`{name}`: {exc}")
    for label, methods in cg_npz.items():
        if label not in overlays:
            problems.append(f"CG RDFs of `{label}` have no AA RDF (`rdf_aa__{label}`).")
            continue
        for method, path in sorted(methods.items()):
            try:
                r, g, _e = load_rdf_npz(path)
            except FileNotFoundError:
                problems.append(f"`rdf_cg__{label}__{method}`: file `{path}` is missing.")
                continue
            except (OSError, ValueError, RDFError) as exc:
                problems.append(f"`rdf_cg__{label}__{method}`: {exc}")
                continue
            overlays[label].cg[method] = (r, g)
    for label in [k for k, o in overlays.items() if not o.cg]:
        problems.append(f"`{label or 'rdf'}`: an AA RDF without CG RDFs is not shown.")
        del overlays[label]
    images = {}
    for name, path in sorted(artefacts.items()):
        if not isinstance(path, str) or not path.lower().endswith(".png"):
            continue
        if name.startswith("plot_") and name[len("plot_") :] not in overlays:
            label = name[len("plot_") :]
        elif name.startswith("pareto_"):
            label = f"{name[len('pareto_') :]}: D-KL plane, Pareto front of single-bead LJ models"
        else:
            continue
        if Path(path).is_file():
            images[label] = path
        else:
            problems.append(f"`{name}`: file `{path}` is missing.")
    return [overlays[k] for k in sorted(overlays)], images, problems


def clear_caches() -> None:
    """Forget every cached file (the caches also refresh by themselves when a file changes)."""
    for fn in (_load_export, _load_runs, _read_csv, _read_rdf_npz, _shipped_predictions):
        fn.cache_clear()


# ---------------------------------------------------------------------------------------------- helpers
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
        :func:`load_runs` output.

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


@dataclass
class _Loaded:
    """What the loaders returned, with the user-facing messages of what is missing."""

    dataset: Any = None
    export_message: str = ""
    runs: pd.DataFrame | None = None
    catalogue_message: str = ""


# ---------------------------------------------------------------------------------------------- the app
class Dashboard(param.Parameterized):
    """State and views of the data-space dashboard.

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
        self._ui: dict[str, Any] = {}
        self._cg_overlays: dict[str, CGOverlay] = {}
        self._syncing = False

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
        """Return the data range ``(min, max)`` of a state variable."""
        return self._bounds.get(axis, (0.0, 1.0))

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

    def _has_job(self, job_id: str) -> bool:
        if self.dataset is None:
            return False
        try:
            self.dataset.row(job_id)
        except KeyError:
            return False
        return True

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
            from project.errors import ProjectError
            from project.model.inverse import SHIPPED_MODEL

            try:
                pred = relative_errors(shipped_predictions(self.export_path))
            except (ProjectError, OSError, ValueError, KeyError) as exc:
                return None, f"The shipped model cannot predict this export: {exc}"
            head = f"Predictions of the shipped model `{SHIPPED_MODEL.name}` (computed on this export, one shot)"
            unread = int(pred["nn_sigma"].isna().sum())
            if unread:
                head += f"; {unread} jobs not predicted (their r range is too short for the model)"
            pred = pred[pred["nn_sigma"].notna()]
        else:
            if self.catalogue_message:
                return None, self.catalogue_message
            pruns = self.prediction_runs()
            if pruns.empty or self.prediction_run is None or self.prediction_run not in pruns.index:
                return None, (
                    "No training or evaluation run with predictions in the catalogue yet "
                    "(`lj-inverse train` / `evaluate`)."
                )
            run = pruns.loc[self.prediction_run]
            try:
                pred = relative_errors(load_predictions(run["predictions"]))
            except FileNotFoundError:
                return None, f"The predictions file `{run['predictions']}` of run {self.prediction_run} is missing."
            except (OSError, ValueError, pd.errors.ParserError) as exc:
                return None, f"The predictions of run {self.prediction_run} cannot be read: {exc}"
            head = f"Predictions of run {self.prediction_run} ({run['kind']}, {str(run['created'])[:19]})"
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
        if self.cg_run == SHIPPED_RUN and self._shipped_cg[0] is not None:
            folder, plots, table = self._shipped_cg
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
        if self.catalogue_message:
            return [], {}, self.catalogue_message
        cruns = self.cg_runs()
        if cruns.empty or self.cg_run is None or self.cg_run not in cruns.index:
            return [], {}, "No coarse-graining fit (kind `cg_fit`) in the catalogue yet."
        run = cruns.loc[self.cg_run]
        overlays, images, problems = cg_overlays(run["artefacts"])
        head = f"CG fit run {self.cg_run} ({str(run['created'])[:19]})"
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

    def runs_table(self) -> pd.DataFrame:
        """Return the catalogue runs as a display table (train / evaluate / finetune / cg_fit first)."""
        runs = self.runs()
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

    # -------------------------------------------------------------------------------------------- view
    def view(self) -> Any:
        """Build the Panel layout (call once per browser session).

        Returns
        -------
        panel.viewable.Viewable
        """
        import panel as pn

        header = pn.pane.Markdown(
            f"## LJ data space\nExport `{self.export_path}` &middot; catalogue `{self.catalogue_path}`",
            sizing_mode="stretch_width",
        )
        self._ui["notice"] = pn.pane.Alert(
            self.message, alert_type="warning", visible=bool(self.message), sizing_mode="stretch_width"
        )
        self.param.watch(self._on_message, "message")
        # The other tabs are built when first opened: a shorter first render.
        lazy = {
            1: (pn.Column(sizing_mode="stretch_width"), self._predictions_view),
            2: (pn.Column(sizing_mode="stretch_width"), self._runs_view),
        }
        tabs = pn.Tabs(
            ("State space", self._state_view()),
            ("Model predictions", lazy[1][0]),
            ("Runs and CG fits", lazy[2][0]),
            dynamic=True,
            sizing_mode="stretch_width",
        )

        def on_tab(event: param.parameterized.Event) -> None:
            holder, build = lazy.get(event.new, (None, None))
            if holder is not None and not holder.objects:
                holder.objects = [build()]

        tabs.param.watch(on_tab, "active")
        self._ui["tabs"] = tabs
        return pn.Column(header, self._ui["notice"], tabs, sizing_mode="stretch_width")

    def _on_message(self, event: param.parameterized.Event) -> None:
        self._ui["notice"].object = event.new
        self._ui["notice"].visible = bool(event.new)

    # state-space tab
    def _state_view(self) -> Any:
        import panel as pn

        if self.dataset is None:
            return pn.Column(
                pn.pane.Alert(self.export_message, alert_type="danger"),
                pn.pane.Markdown(self.count_text(), name="count"),
            )
        from bokeh.core.property.validation import validate
        from bokeh.models import CDSView, ColumnDataSource, IndexFilter, TapTool
        from bokeh.plotting import figure

        mask = self.filtered_mask()
        src = ColumnDataSource({"x": self._columns[self.x_axis], "y": self._columns[self.y_axis]})
        with validate(False):  # element-wise validation of 40,000 indices costs 0.2 s
            view = CDSView(filter=IndexFilter(indices=np.flatnonzero(mask).astype(np.int32)))
        fig = figure(
            height=420,
            sizing_mode="stretch_width",
            output_backend=self.backend,
            name="state_map",
            tools="pan,wheel_zoom,box_zoom,tap,reset",
            active_scroll="wheel_zoom",
            x_axis_label=AXES[self.x_axis],
            y_axis_label=AXES[self.y_axis],
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
        self._ui.update(src=src, view=view, map=fig, sel_src=sel_src)

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
        self._ui.update(rdf=rdf, rdf_src=rdf_src)

        axis_options = {label: key for key, label in AXES.items()}
        x_sel = pn.widgets.Select.from_param(self.param.x_axis, label="x axis", options=axis_options)
        y_sel = pn.widgets.Select.from_param(self.param.y_axis, label="y axis", options=axis_options)
        sliders = []
        for k, label in AXES.items():
            lo, hi = self.bounds(k)
            cur = getattr(self, f"{k}_range") or (lo, hi)
            if hi > lo:
                start, end, step, one_valued = lo, hi, (hi - lo) / 200, False
            else:  # one value (or none): Bokeh refuses start == end (E-1021); show a fixed, disabled slider
                pad = abs(lo) * 0.01 if np.isfinite(lo) and lo else 0.01
                lo = hi = lo if np.isfinite(lo) else 0.0
                start, end, step, one_valued = lo - pad, hi + pad, pad / 100, True
                cur = (lo, hi)
            s = pn.widgets.RangeSlider(
                label=label,
                start=start,
                end=end,
                value=cur,
                step=step,
                format="0.[000]",
                sizing_mode="stretch_width",
                disabled=one_valued,
            )
            s.param.watch(functools.partial(self._on_slider, k), "value_throttled")
            sliders.append(s)
        self._ui["sliders"] = sliders
        count = pn.pane.Markdown(self.count_text(), name="count", sizing_mode="stretch_width")
        selection = pn.pane.Markdown(self.selection_text(), sizing_mode="stretch_width")
        job_input = pn.widgets.TextInput(label="Select job id(s)", placeholder="job id, comma separated")
        job_input.param.watch(self._on_job_input, "value")
        clear = pn.widgets.Button(label="Clear selection")
        clear.on_click(lambda _event: self.select([]))
        download = pn.widgets.FileDownload(
            callback=lambda: io.StringIO(self.selection_csv()),
            filename="jobs_selection.csv",
            label="Download filtered jobs (CSV)",
            color="primary",
            embed=False,
        )
        download_rdf = pn.widgets.FileDownload(
            callback=lambda: io.StringIO(self.selected_rdfs_csv()),
            filename="selected_rdfs.csv",
            embed=False,
            label="Download RDFs of selected jobs (CSV)",
        )
        # The jobs table is built once the page has rendered (pn.state.onload): a shorter first render.
        table_holder = pn.Column(pn.pane.Markdown("Loading the jobs table ..."), sizing_mode="stretch_width")
        self._ui.update(count=count, selection=selection, table_holder=table_holder, job_input=job_input)
        self.param.watch(self._on_filters, [f"{k}_range" for k in AXES])
        self.param.watch(self._on_axes, ["x_axis", "y_axis"])
        self.param.watch(self._on_selected, "selected")
        self._on_selected()
        controls = pn.Column(x_sel, y_sel, *sliders, count, download, job_input, clear, download_rdf, width=320)
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

    def _build_table(self) -> None:
        """Build the remotely paginated jobs table (after the first render of a served page)."""
        import panel as pn

        table = pn.widgets.Tabulator(
            self._table_frame(self.filtered_mask()),
            pagination="remote",
            page_size=15,
            selectable=1,
            show_index=False,
            disabled=True,
            titles=TABLE_COLUMNS,
            formatters=self._number_formatters(),
            sizing_mode="stretch_width",
        )
        table.param.watch(self._on_table_select, "selection")
        self._ui["table"] = table
        self._ui["table_holder"].objects = [
            pn.pane.Markdown("Jobs matching the filters (click a row to add it to the selection):"),
            table,
        ]

    @staticmethod
    def _number_formatters() -> dict[str, Any]:
        from bokeh.models.widgets.tables import NumberFormatter

        fmt = NumberFormatter(format="0.0000")
        return {k: fmt for k in ("sigma", "epsilon", "T", "rho", "T_star", "rho_star", "first_peak_r_nm")}

    def _table_frame(self, mask: np.ndarray) -> pd.DataFrame:
        cols = [c for c in TABLE_COLUMNS if c != "job_id" and c in self.dataset.table.columns]
        return self.dataset.table.loc[mask, cols].reset_index()

    def _on_slider(self, axis: str, event: param.parameterized.Event) -> None:
        lo, hi = self.bounds(axis)
        new = tuple(event.new)
        # A slider at its full extent means "no filter" (keeps NaN rows and avoids rounding at the ends).
        setattr(self, f"{axis}_range", None if new[0] <= lo and new[1] >= hi else new)

    def _on_filters(self, *_events: param.parameterized.Event) -> None:
        mask = self.filtered_mask()
        from bokeh.core.property.validation import validate

        with validate(False):
            self._ui["view"].filter.indices = np.flatnonzero(mask).astype(np.int32)
        if "table" in self._ui:
            self._ui["table"].value = self._table_frame(mask)
        self._ui["count"].object = self.count_text()

    def _on_axes(self, *_events: param.parameterized.Event) -> None:
        self._ui["src"].data.update(x=self._columns[self.x_axis], y=self._columns[self.y_axis])
        fig = self._ui["map"]
        fig.xaxis.axis_label = AXES[self.x_axis]
        fig.yaxis.axis_label = AXES[self.y_axis]
        self._draw_selected_points()

    def _draw_selected_points(self) -> None:
        """Mark the selected jobs on the map in their RDF colours."""
        rows = [self.dataset.row(j) for j in self.selected]
        self._ui["sel_src"].data = {
            "x": self._columns[self.x_axis][rows],
            "y": self._columns[self.y_axis][rows],
            "color": [PALETTE[i % len(PALETTE)] for i in range(len(rows))],
        }

    def _on_tap(self, _attr: str, _old: list[int], new: list[int]) -> None:
        if self._syncing:
            return
        ids = [str(self.dataset.job_ids[i]) for i in new[-MAX_OVERLAY:]]
        self.select(ids)

    def _on_table_select(self, event: param.parameterized.Event) -> None:
        if self._syncing or not event.new:
            return
        table = self._ui["table"]
        ids = [str(table.value["job_id"].iloc[i]) for i in event.new if i < len(table.value)]
        self.select(ids, append=True)

    def _on_job_input(self, event: param.parameterized.Event) -> None:
        if not event.new:
            return
        ids = event.new.replace(",", " ").split()
        # A text box's value arrives outside the Bokeh document lock: changing plot data from here raised
        # "_pending_writes should be non-None". Apply the selection on the next tick, which holds the lock.
        import panel as pn

        doc = pn.state.curdoc
        if doc is not None and doc.session_context is not None:
            doc.add_next_tick_callback(lambda: self.select(ids, append=True))
        else:
            self.select(ids, append=True)

    def _on_selected(self, *_events: param.parameterized.Event) -> None:
        curves = self.rdf_curves()
        self._ui["rdf_src"].data = {
            "xs": [c["r"] for c in curves],
            "ys": [c["g"] for c in curves],
            "bx": [np.concatenate([c["r"], c["r"][::-1]]) for c in curves],
            "by": [np.concatenate([c["lo"], c["hi"][::-1]]) for c in curves],
            "color": [PALETTE[i % len(PALETTE)] for i in range(len(curves))],
        }
        self._ui["selection"].object = self.selection_text()
        self._draw_selected_points()
        rows = [self.dataset.row(j) for j in self.selected]
        self._syncing = True
        try:
            self._ui["src"].selected.indices = rows
            if not self.selected and "table" in self._ui:
                self._ui["table"].selection = []
        finally:
            self._syncing = False

    # predictions tab
    def _predictions_view(self) -> Any:
        import panel as pn
        from bokeh.models import ColumnDataSource
        from bokeh.plotting import figure

        text = pn.pane.Markdown("", sizing_mode="stretch_width")
        self._ui["pred_text"] = text
        pruns = self.prediction_runs() if not self.catalogue_message else pd.DataFrame()
        if self.dataset is None and pruns.empty:
            text.object = (
                " ".join(m for m in (self.export_message, self.catalogue_message) if m) or self.predictions()[1]
            )
            return pn.pane.Alert(text.object, alert_type="info", sizing_mode="stretch_width")
        options = {f"run {rid} ({r['kind']}, {str(r['created'])[:19]})": int(rid) for rid, r in pruns.iterrows()}
        if self.dataset is not None:
            from project.model.inverse import SHIPPED_MODEL

            options[f"shipped model {SHIPPED_MODEL.name} (on this export)"] = SHIPPED_RUN
        run_sel = pn.widgets.Select.from_param(self.param.prediction_run, label="Run", options=options)
        split_sel = pn.widgets.Select.from_param(self.param.split, label="Split")
        axis_sel = pn.widgets.Select.from_param(
            self.param.error_axis, label="Error against", options={label: key for key, label in AXES.items()}
        )
        only = pn.widgets.Checkbox.from_param(
            self.param.predictions_filtered, label="Only jobs matching the state-space filters"
        )
        figs, srcs = {}, {}
        for q, unit in (("sigma", "nm"), ("epsilon", "kJ/mol")):
            f = figure(
                height=340,
                width=360,
                output_backend=self.backend,
                x_axis_label=f"true {q} ({unit})",
                y_axis_label=f"predicted {q} ({unit})",
                title=f"Parity: {q}",
                tools="pan,wheel_zoom,box_zoom,reset",
            )
            srcs[f"parity_{q}_line"] = ColumnDataSource({"x": [], "y": []})
            f.line("x", "y", source=srcs[f"parity_{q}_line"], line_color="black", line_dash="dashed")
            for split, c in SPLIT_COLOURS.items():
                s = ColumnDataSource({"x": [], "y": []}, name=f"parity_{q}_{split}")
                f.scatter("x", "y", source=s, size=3, fill_alpha=0.5, fill_color=c, line_color=None, legend_label=split)
                srcs[f"parity_{q}_{split}"] = s
            f.legend.location = "top_left"
            figs[q] = f
        h = figure(
            height=340,
            width=360,
            x_axis_label="relative error (%)",
            y_axis_label="jobs",
            title="Error histograms",
            tools="pan,wheel_zoom,box_zoom,reset",
        )
        for q, c in (("sigma", "#1f77b4"), ("epsilon", "#d62728")):
            s = ColumnDataSource({"left": [], "right": [], "top": []})
            h.quad(
                left="left",
                right="right",
                bottom=0,
                top="top",
                source=s,
                fill_color=c,
                fill_alpha=0.4,
                line_color=c,
                legend_label=q,
            )
            srcs[f"hist_{q}"] = s
        e = figure(
            height=340,
            sizing_mode="stretch_width",
            output_backend=self.backend,
            y_axis_label="|error| (%)",
            title="Error against state",
            tools="pan,wheel_zoom,box_zoom,reset",
        )
        for q, c in (("sigma", "#1f77b4"), ("epsilon", "#d62728")):
            s = ColumnDataSource({"x": [], "y": []})
            e.scatter("x", "y", source=s, size=3, fill_alpha=0.4, fill_color=c, line_color=None, legend_label=q)
            srcs[f"err_{q}"] = s
        self._ui.update(pred_srcs=srcs, err_fig=e)
        self.param.watch(self._on_predictions, ["prediction_run", "split", "error_axis", "predictions_filtered"])
        self.param.watch(self._on_filters_predictions, [f"{k}_range" for k in AXES])
        self._on_predictions()
        return pn.Column(
            pn.Row(run_sel, split_sel, axis_sel, only),
            text,
            pn.Row(pn.pane.Bokeh(figs["sigma"]), pn.pane.Bokeh(figs["epsilon"]), pn.pane.Bokeh(h)),
            pn.pane.Bokeh(e, sizing_mode="stretch_width"),
            sizing_mode="stretch_width",
        )

    def _on_filters_predictions(self, *_events: param.parameterized.Event) -> None:
        if self.predictions_filtered:
            self._on_predictions()

    def _on_predictions(self, *_events: param.parameterized.Event) -> None:
        pred, text = self.predictions()
        self._ui["pred_text"].object = text
        srcs = self._ui["pred_srcs"]
        empty = {"x": [], "y": []}
        if pred is None or pred.empty:
            for k, s in srcs.items():
                s.data = {"left": [], "right": [], "top": []} if k.startswith("hist") else empty
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
            x = pred[self.error_axis].to_numpy(float) if self.error_axis in pred.columns else np.zeros(len(pred))
            srcs[f"err_{q}"].data = {"x": x, "y": np.abs(pred[f"err_{q}_pct"].to_numpy(float))}
        self._ui["err_fig"].xaxis.axis_label = AXES[self.error_axis]

    # runs tab
    def _runs_view(self) -> Any:
        import panel as pn
        from bokeh.models import ColumnDataSource
        from bokeh.plotting import figure

        shipped_cg = self._shipped_cg[0] is not None
        if self.catalogue_message and not shipped_cg:
            return pn.pane.Alert(
                f"{self.catalogue_message} No runs or CG fits to show.", alert_type="info", sizing_mode="stretch_width"
            )
        notice = []
        if self.catalogue_message:
            notice = [
                pn.pane.Alert(
                    f"{self.catalogue_message} No runs of this data space to show; the shipped "
                    "coarse-graining results follow.",
                    alert_type="info",
                    sizing_mode="stretch_width",
                )
            ]
        runs = pn.widgets.Tabulator(
            self.runs_table(),
            pagination="local",
            page_size=12,
            show_index=False,
            disabled=True,
            selectable=1,
            sizing_mode="stretch_width",
        )
        cg_text = pn.pane.Markdown("", sizing_mode="stretch_width")
        curves_text = pn.pane.Markdown("", sizing_mode="stretch_width")
        system = pn.widgets.Select(label="System", options=[], width=240)
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
        images = pn.Column(sizing_mode="stretch_width")
        plot = pn.pane.Bokeh(f, sizing_mode="stretch_width")
        self._ui.update(
            cg_text=cg_text,
            cg_curves_text=curves_text,
            cg_system=system,
            cg_aa_src=aa_src,
            cg_src=cg_src,
            cg_images=images,
            cg_plot=plot,
            runs_table=runs,
        )

        def on_run(event: param.parameterized.Event) -> None:
            if event.new:
                rid = int(runs.value["run_id"].iloc[event.new[0]])
                if rid in self.cg_runs().index:
                    self.cg_run = rid
                elif rid in self.prediction_runs().index:
                    self.prediction_run = rid

        runs.param.watch(on_run, "selection")
        system.param.watch(lambda _event: self._draw_cg(), "value")
        self.param.watch(self._on_cg, "cg_run")
        self._on_cg()
        return pn.Column(
            *notice,
            pn.pane.Markdown(
                "Select a `cg_fit` row for its AA vs CG RDF, a training or "
                "evaluation row for its predictions (Model predictions tab)."
            ),
            runs,
            cg_text,
            system,
            curves_text,
            plot,
            images,
            sizing_mode="stretch_width",
        )

    def _on_cg(self, *_events: param.parameterized.Event) -> None:
        import panel as pn

        overlays, images, text = self.cg_curves()
        self._cg_overlays = {o.label: o for o in overlays}
        self._ui["cg_text"].object = text
        system = self._ui["cg_system"]
        labels = [o.label for o in overlays]
        system.options = {(label or "fit"): label for label in labels}
        system.visible = len(labels) > 1
        self._ui["cg_plot"].visible = bool(labels)
        if labels and system.value not in labels:
            system.value = labels[0]  # triggers _draw_cg
        self._draw_cg()
        self._ui["cg_images"].objects = [
            pn.Column(pn.pane.Markdown(f"RDF plot of `{label}` (`{path}`)"), pn.pane.PNG(path, width=640))
            for label, path in images.items()
        ]

    def _draw_cg(self) -> None:
        ov = self._cg_overlays.get(self._ui["cg_system"].value) if self._cg_overlays else None
        if ov is None:
            self._ui["cg_aa_src"].data = {"r": [], "g": [], "lo": [], "hi": []}
            self._ui["cg_src"].data = {"xs": [], "ys": [], "color": [], "method": []}
            self._ui["cg_curves_text"].object = ""
            return
        err = ov.g_aa_err if ov.g_aa_err is not None else np.zeros_like(ov.g_aa)
        self._ui["cg_aa_src"].data = {"r": ov.r_nm, "g": ov.g_aa, "lo": ov.g_aa - err, "hi": ov.g_aa + err}
        methods = list(ov.cg)
        colours = [PALETTE[1:][i % (len(PALETTE) - 1)] for i in range(len(methods))]
        self._ui["cg_src"].data = {
            "xs": [ov.cg[m][0] for m in methods],
            "ys": [ov.cg[m][1] for m in methods],
            "color": colours,
            "method": methods,
        }
        lines = [f"Shown: `{ov.label or 'fit'}`: all-atom (black) vs CG"]
        lines += [f"- <span style='color:{c}'>&#9632;</span> {m}" for m, c in zip(methods, colours)]
        self._ui["cg_curves_text"].object = "\n".join(lines)


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
        Files read by :class:`Dashboard`.
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
