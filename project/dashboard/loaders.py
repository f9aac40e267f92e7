"""Cached loaders of the dashboard: the HDF5 export, the results catalogue (read-only) and the files it names.

Every loader is cached with :func:`functools.lru_cache` keyed on path, size and modification time, so every
browser session of one server shares one copy of the 40,000-job export and a rewritten file is re-read.

Units: sigma nm, epsilon kJ/mol, T K, rho nm^-3; T* and rho* dimensionless; r in nm.
"""

from __future__ import annotations

import functools
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)


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
    from project.paths import default_catalogue, default_export

    root = dataspace_path(dataspace)
    return default_export(root), default_catalogue(root)


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
    from project.catalogue import Catalogue

    # Read-only: the catalogue belongs to the runs that write it; the dashboard never creates or changes it.
    return Catalogue(path, read_only=True).list()


def load_runs(path: str | os.PathLike) -> pd.DataFrame:
    """List all runs of the results catalogue (read-only), cached on the database (and WAL) file size and mtime.

    Parameters
    ----------
    path : path
        The SQLite catalogue (:mod:`project.catalogue`). It is opened read-only, never created or changed.

    Returns
    -------
    pandas.DataFrame
        :meth:`project.catalogue.Catalogue.list` of every run, oldest first: index ``run_id``; columns ``created``,
        ``kind``, ``dataset_checksum``, ``code_version``, ``note``, ``settings`` / ``metrics`` / ``artefacts``
        (dicts) and ``metrics.<name>``.

    Raises
    ------
    FileNotFoundError
        No catalogue at ``path``.
    OSError
        Not a readable catalogue.
    ValueError
        A record whose JSON cannot be read.
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
        and Pareto plots, and the Markdown tables of ``comparison.md`` followed by the regret summary of
        ``regret.csv`` (:func:`project.cg.regret.regret_summary`; empty when both are absent).
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
    if (folder / "regret.csv").is_file():
        from project.cg.regret import regret_summary

        regret = regret_summary(_read_csv(*_file_key(folder / "regret.csv")))
        blocks.append(
            [
                "**Regret against the simulated optimum** (metric / the best single LJ bead found in CG runs, 95 % "
                "interval; `regret.csv`, `lj-inverse cg regret`)",
                "",
                *regret.splitlines(),
            ]
        )
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
    * ``pareto_<label>``: a PNG image of the D-KL plane (:func:`project.cg.report.pareto_plot`), always shown.

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
