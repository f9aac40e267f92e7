"""Interactive Panel dashboard of the data space: state-space map, RDFs, model predictions, runs and CG fits.

It reads two files only (never job folders one by one): the HDF5 export (:func:`project.export.load_dataset`,
default ``<dataspace>/export/dataset.h5``) and the results catalogue (:class:`project.catalogue.Catalogue`, opened
read-only, default ``<dataspace>/results/catalogue.sqlite``), plus the artefacts the catalogue names
(``predictions.csv`` of training / evaluation runs; the AA and CG RDFs of ``cg_fit`` runs, see
:func:`cg_overlays`).

Without any training run, the "Model predictions" tab shows the shipped model's predictions of the export in view
(computed on demand when the tab opens, cached per export file: :func:`shipped_predictions`); without any CG fit
in the data space, the "Runs and CG fits" tab shows the shipped coarse-graining results (``docs/results/cg``,
installed under ``<prefix>/share/lj-inverse/results/cg``). Both appear as run ``0`` (:data:`SHIPPED_RUN`).

Modules (after signac-dashboard's split of the dashboard from its modules)
----------------------------------------------------------------------------
* :mod:`project.dashboard.loaders`: the cached loaders (keyed on path, size and modification time, so every
  browser session of one server shares one copy of the export and a rewritten file is re-read);
* :mod:`project.dashboard.state`: :class:`Dashboard`, a :class:`param.Parameterized` holding the state (plot axes,
  one range filter per state variable, selected job ids, runs shown); its methods work without a server;
* :mod:`project.dashboard.views`: the page, with one module and one parameterised view class per tab
  (``state_space``, ``predictions``, ``runs``) whose Bokeh models follow the state;
* :mod:`project.dashboard.server`: :func:`serve`.

Everything a browser test must read (job counts, selected job ids, run shown) is in text panes, because Bokeh
draws titles on a canvas. Missing or empty data shows a message in the page, never a traceback.

Units: sigma nm, epsilon kJ/mol, T K, rho nm^-3; T* and rho* dimensionless; r in nm.
"""

from __future__ import annotations

from project.dashboard.loaders import (
    CGOverlay,
    cg_overlays,
    clear_caches,
    default_paths,
    load_cg_rdf,
    load_export,
    load_predictions,
    load_rdf_npz,
    load_runs,
    shipped_cg_results,
    shipped_predictions,
)
from project.dashboard.server import serve
from project.dashboard.state import (
    AXES,
    MAX_OVERLAY,
    PALETTE,
    SHIPPED_RUN,
    SPLIT_COLOURS,
    TABLE_COLUMNS,
    Dashboard,
    cg_runs,
    csv_column_name,
    prediction_runs,
    relative_errors,
)

__all__ = [
    "AXES",
    "MAX_OVERLAY",
    "PALETTE",
    "SHIPPED_RUN",
    "SPLIT_COLOURS",
    "TABLE_COLUMNS",
    "CGOverlay",
    "Dashboard",
    "cg_overlays",
    "cg_runs",
    "clear_caches",
    "csv_column_name",
    "default_paths",
    "load_cg_rdf",
    "load_export",
    "load_predictions",
    "load_rdf_npz",
    "load_runs",
    "prediction_runs",
    "relative_errors",
    "serve",
    "shipped_cg_results",
    "shipped_predictions",
]
