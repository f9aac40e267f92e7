"""Indexed HDF5 export of the data space: one row per job, RDFs on the fixed grid plus state-point columns.

The layout (schema version 2) is documented in ``schema/export.md``. In short: ``/job_id`` (sorted,
fixed-length ASCII), ``/rdf/r`` (bin centres, nm), ``/rdf/g`` and ``/rdf/g_err`` (n_jobs x n_bins float32),
1-D columns under ``/statepoints``, ``/derived`` and ``/thermo`` (each with a ``units`` attribute),
``/fingerprint`` (per-row source fingerprint for incremental export) and root attributes ``schema_version``,
``created``, ``code_version``, ``content_checksum``, ``n_jobs``, ``n_bins``. Units are GROMACS units (nm,
kJ/mol, K, amu, nm^-3, bar); reduced quantities are dimensionless.

No signac: the caller passes :class:`ExportRecord` objects (job id, state-point dict, path of ``rdf.npz``,
optional ``simulate.json`` path or dict), so the export runs with or without the workflow.

Incremental export
------------------
Each row stores a fingerprint: SHA-1 of the job id, the canonical JSON of the state point, size and
modification time (ns) of ``rdf.npz`` and of ``simulate.json`` (or the JSON of a summary dict). On re-export
a row whose fingerprint is unchanged is copied from the existing file; only new or changed RDF files are read
(``save_rdf`` replaces files atomically, so a rewritten file always has a new mtime). The new file is written
to a temporary file in the same folder and moved into place with ``os.replace``: readers see the old or the
new export, never a half-written one. Rows of jobs that are no longer passed in are kept (``prune=False``),
and a job whose RDF became unreadable keeps its previous row (reported as stale) - nothing already exported is
lost. An existing file that cannot be read is rebuilt from the records (or raises, ``on_corrupt="raise"``);
it is left untouched until the new file is complete and then kept as ``<name>.corrupt``. A file of another
schema version is never overwritten. Two exports writing the same path at the same time are not supported
(the workflow runs the export as one operation).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pandas as pd

from project.atomic import atomic_path
from project.errors import ExportError, RDFError
from project.rdf import RDF_BIN_WIDTH_NM, RDF_EDGES_NM, RDF_GRID_NM, RDF_N_BINS, load_rdf
from project.units import KB, reduced_pressure

logger = logging.getLogger(__name__)

#: Version of the HDF5 layout written by this module (root attribute ``schema_version``). Version 2 added the
#: state-point column ``lambda_r``; version 1 files are read (and incrementally updated) with ``lambda_r = 12``.
SCHEMA_VERSION = 2
#: Layout versions this module reads; older ones are migrated on reading.
READABLE_VERSIONS = (1, 2)

#: State-point columns: name -> (dtype, units, description). ``T_star`` and ``rho_star`` are computed.
STATEPOINT_COLUMNS: dict[str, tuple[str, str, str]] = {
    "sigma": ("f8", "nm", "LJ diameter"),
    "epsilon": ("f8", "kJ/mol", "LJ well depth"),
    "T": ("f8", "K", "temperature"),
    "rho": ("f8", "nm^-3", "number density"),
    "N": ("i8", "1", "number of particles"),
    "mass": ("f8", "amu", "particle mass"),
    "cutoff": ("f8", "sigma", "LJ cutoff radius in units of sigma"),
    "dt": ("f8", "tau", "time step"),
    "t_equil": ("f8", "tau", "melting + equilibration time"),
    "t_prod": ("f8", "tau", "production time"),
    "t_sample": ("f8", "tau", "interval between saved frames"),
    "seed": ("i8", "1", "random seed"),
    "replica": ("i8", "1", "replica index"),
    "lambda_r": ("f8", "1", "repulsive exponent of the Mie lambda_r-6 potential (12: LJ)"),
    "T_star": ("f8", "1", "reduced temperature k_B T / epsilon"),
    "rho_star": ("f8", "1", "reduced density rho sigma^3"),
}
#: State-point keys a record must have to be exported.
REQUIRED_STATEPOINT_KEYS = ("sigma", "epsilon", "T", "rho", "N")
#: Columns derived from the RDF (scalars of ``rdf.npz``): name -> (dtype, units, description).
DERIVED_COLUMNS: dict[str, tuple[str, str, str]] = {
    "first_peak_r_nm": ("f8", "nm", "position of the first peak of g(r)"),
    "first_peak_g": ("f8", "1", "g at the first peak"),
    "first_min_r_nm": ("f8", "nm", "position of the first minimum of g(r) after the first peak"),
    "first_min_g": ("f8", "1", "g at the first minimum"),
    "coordination_number": ("f8", "1", "mean number of neighbours up to the first minimum"),
    "n_frames": ("i8", "1", "number of frames averaged in g(r)"),
}
#: Thermodynamic columns from ``simulate.json`` (NaN where absent): name -> (dtype, units, description).
THERMO_COLUMNS: dict[str, tuple[str, str, str]] = {
    "U_per_N_kJ_mol": ("f8", "kJ/mol", "mean potential energy per particle"),
    "P_bar": ("f8", "bar", "mean pressure"),
    "U_star_per_N": ("f8", "1", "reduced potential energy per particle U / (N epsilon)"),
    "P_star": ("f8", "1", "reduced pressure P sigma^3 / epsilon"),
}
_GROUPS = {"statepoints": STATEPOINT_COLUMNS, "derived": DERIVED_COLUMNS, "thermo": THERMO_COLUMNS}
#: Fill value of integer columns where a value is absent (float columns use NaN).
INT_FILL = -1
_FINGERPRINT_LEN = 40


@dataclass(frozen=True)
class ExportRecord:
    """One job to export.

    Attributes
    ----------
    job_id : str
        Unique ASCII identifier (the signac job id).
    statepoint : Mapping
        State point in schema units (sigma nm, epsilon kJ/mol, T K, rho nm^-3, N, mass amu, ...).
    rdf_path : path
        The job's ``rdf.npz`` (written by :func:`project.rdf.save_rdf` on :data:`project.rdf.RDF_GRID_NM`).
    summary : Mapping or path or None
        The ``simulate.json`` summary (dict, or path read only when the row is new or changed); supplies
        ``U_per_N_kJ_mol`` (kJ/mol) and ``P_bar`` (bar).
    """

    job_id: str
    statepoint: Mapping[str, Any]
    rdf_path: str | os.PathLike
    summary: Mapping[str, Any] | str | os.PathLike | None = None


def record_from_job_dir(job_id: str, statepoint: Mapping[str, Any], job_dir: str | os.PathLike) -> ExportRecord:
    """Build the :class:`ExportRecord` of a job folder (``rdf.npz`` and, if present, ``simulate.json``).

    Parameters
    ----------
    job_id : str
        Job identifier.
    statepoint : Mapping
        The job's state point (schema units).
    job_dir : path
        The job folder.

    Returns
    -------
    ExportRecord
    """
    job_dir = Path(job_dir)
    return ExportRecord(job_id, statepoint, job_dir / "rdf.npz", job_dir / "simulate.json")


@dataclass
class ExportReport:
    """What :func:`export_dataset` did.

    Attributes
    ----------
    path : pathlib.Path
        The export file.
    n_jobs : int
        Rows in the export after the call.
    n_new, n_updated, n_reused : int
        Rows read from new RDF files, re-read because their source changed, copied from the previous export.
    n_kept_absent : int
        Rows of the previous export whose jobs were not passed in and were kept (``prune=False``).
    n_pruned : int
        Rows dropped because ``prune=True``.
    skipped : list of (str, str)
        ``(job_id, reason)`` of records not exported (missing/corrupt/wrong-length RDF, bad state point).
    stale : list of (str, str)
        ``(job_id, reason)`` of jobs whose new RDF could not be read; their previous row was kept.
    rebuilt : bool
        The previous export could not be read and was rebuilt from the records.
    written : bool
        False when nothing changed and the file was left as it was.
    content_checksum : str
        SHA-256 content checksum of the export (see ``schema/export.md``).
    wall_s : float
        Wall time in s.
    """

    path: Path
    n_jobs: int = 0
    n_new: int = 0
    n_updated: int = 0
    n_reused: int = 0
    n_kept_absent: int = 0
    n_pruned: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    stale: list[tuple[str, str]] = field(default_factory=list)
    rebuilt: bool = False
    written: bool = False
    content_checksum: str = ""
    wall_s: float = 0.0


@dataclass
class Dataset:
    """An export loaded into memory.

    Attributes
    ----------
    r_nm : numpy.ndarray
        Bin centres in nm, shape (n_bins,).
    g : numpy.ndarray
        g(r), float32, shape (n_jobs, n_bins); row i belongs to ``job_ids[i]``.
    g_err : numpy.ndarray
        Block-average standard errors of g, float32, same shape.
    table : pandas.DataFrame
        One row per job (index ``job_id``, same order as ``g``): state-point, derived and thermo columns.
        Units per column are in ``units`` and ``table.attrs["units"]``.
    job_ids : numpy.ndarray
        Job ids (str), sorted.
    attrs : dict
        Root attributes (``schema_version``, ``created``, ``code_version``, ``content_checksum``, ...).
    units : dict
        Column name -> units string (``"1"`` for dimensionless).
    """

    r_nm: np.ndarray
    g: np.ndarray
    g_err: np.ndarray
    table: pd.DataFrame
    job_ids: np.ndarray
    attrs: dict
    units: dict

    def row(self, job_id: str) -> int:
        """Return the row index of ``job_id`` (raises KeyError if absent)."""
        i = int(np.searchsorted(self.job_ids, job_id))
        if i >= len(self.job_ids) or self.job_ids[i] != job_id:
            raise KeyError(f"job {job_id!r} is not in the export")
        return i


def content_checksum(job_ids: np.ndarray, g: np.ndarray, g_err: np.ndarray) -> str:
    """Return the SHA-256 content checksum of an export.

    Rows sorted by job id; the digest covers each job id as ASCII followed by ``\\n``, then ``g`` and then
    ``g_err`` as C-ordered little-endian float32 bytes.

    Parameters
    ----------
    job_ids : numpy.ndarray
        Job ids (str or bytes).
    g, g_err : numpy.ndarray
        Arrays of shape (n_jobs, n_bins), dimensionless.

    Returns
    -------
    str
        Hex digest.
    """
    ids = [j.decode("ascii") if isinstance(j, bytes) else str(j) for j in job_ids]
    order = np.argsort(np.asarray(ids, dtype=object), kind="stable") if ids else np.zeros(0, dtype=int)
    h = hashlib.sha256()
    h.update("".join(ids[i] + "\n" for i in order).encode("ascii"))
    h.update(np.ascontiguousarray(np.asarray(g)[order], dtype="<f4").tobytes())
    h.update(np.ascontiguousarray(np.asarray(g_err)[order], dtype="<f4").tobytes())
    return h.hexdigest()


def _stat_token(path: str | os.PathLike) -> str:
    try:
        st = os.stat(path)
    except OSError:
        return "-"
    return f"{st.st_size}:{st.st_mtime_ns}"


def _fingerprint(rec: ExportRecord) -> str:
    sp = json.dumps(dict(rec.statepoint), sort_keys=True, default=str)
    if rec.summary is None:
        summary = "-"
    elif isinstance(rec.summary, Mapping):
        summary = json.dumps(dict(rec.summary), sort_keys=True, default=str)
    else:
        summary = _stat_token(rec.summary)
    text = f"{rec.job_id}|{sp}|{_stat_token(rec.rdf_path)}|{summary}"
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _summary_dict(summary: Mapping[str, Any] | str | os.PathLike | None) -> dict:
    if summary is None:
        return {}
    if isinstance(summary, Mapping):
        return dict(summary)
    try:
        with open(summary, encoding="utf-8") as fh:
            data = json.load(fh)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        logger.warning("ignoring unreadable summary %s: %s", os.fspath(summary), exc)
        return {}
    return data if isinstance(data, dict) else {}


def _load_row(rec: ExportRecord) -> tuple[np.ndarray, np.ndarray, dict[str, float | int]]:
    """Read one record; raise RDFError or ValueError with a reason when it cannot be exported."""
    sp = rec.statepoint
    missing = [k for k in REQUIRED_STATEPOINT_KEYS if k not in sp]
    if missing:
        raise ValueError(f"state point lacks {missing}")
    values: dict[str, float | int] = {}
    for name, (dtype, _, _) in STATEPOINT_COLUMNS.items():
        if name in ("T_star", "rho_star"):
            continue
        raw = sp.get(name, 12.0 if name == "lambda_r" else None)  # absent lambda_r: the LJ fluid
        if dtype == "i8":
            try:
                values[name] = int(raw) if raw is not None else INT_FILL
            except (TypeError, ValueError):
                raise ValueError(f"state point field {name!r} = {raw!r} is not an integer") from None
        else:
            values[name] = _float(raw)
    values["T_star"] = KB * values["T"] / values["epsilon"]
    values["rho_star"] = values["rho"] * values["sigma"] ** 3
    res = load_rdf(rec.rdf_path, expect_r_nm=RDF_GRID_NM)
    if not np.all(np.isfinite(res.g)):
        raise RDFError(f"RDF file {os.fspath(rec.rdf_path)!r} contains non-finite g values")
    for name in DERIVED_COLUMNS:
        values[name] = getattr(res, name)
    summary = _summary_dict(rec.summary)
    u = _float(summary.get("U_per_N_kJ_mol"))
    p = _float(summary.get("P_bar"))
    values["U_per_N_kJ_mol"] = u
    values["P_bar"] = p
    values["U_star_per_N"] = u / values["epsilon"]
    values["P_star"] = reduced_pressure(p, values["sigma"], values["epsilon"])
    return res.g, res.g_err, values


@dataclass
class _Existing:
    job_ids: list[str]
    fingerprints: list[str]
    g: np.ndarray
    g_err: np.ndarray
    columns: dict[str, np.ndarray]
    checksum: str


class _OtherVersionError(ExportError):
    """An export of another schema version exists at the target path."""


def _read_existing(path: Path) -> _Existing:
    """Read a complete previous export; raise ExportError (corrupt) or _OtherVersion."""
    try:
        with h5py.File(path, "r") as f:
            version = f.attrs.get("schema_version")
            if version is None:
                raise ExportError(f"{path}: no schema_version attribute")
            if int(version) not in READABLE_VERSIONS:
                raise _OtherVersionError(
                    f"{path} has schema_version {int(version)}, this code writes {SCHEMA_VERSION}; "
                    "refusing to overwrite it (move it away or export to another path)"
                )
            job_ids = [j.decode("ascii") for j in f["job_id"][()]]
            fps = [j.decode("ascii") for j in f["fingerprint"][()]]
            r = f["rdf/r"][()]
            g = f["rdf/g"][()]
            g_err = f["rdf/g_err"][()]
            columns = {}
            for group, spec in _GROUPS.items():
                for name in spec:
                    if int(version) == 1 and name == "lambda_r":
                        columns[name] = np.full(len(job_ids), 12.0)  # migration 1 -> 2: every row is LJ
                        continue
                    columns[name] = f[f"{group}/{name}"][()]
            checksum = f.attrs.get("content_checksum")
    except (_OtherVersionError, ExportError):
        raise
    except (OSError, KeyError, ValueError, TypeError, UnicodeDecodeError) as exc:
        raise ExportError(f"{path}: cannot read existing export: {exc}") from exc
    n = len(job_ids)
    if r.shape != RDF_GRID_NM.shape or not np.allclose(r, RDF_GRID_NM, rtol=0, atol=1e-6):
        raise ExportError(f"{path}: r grid differs from project.rdf.RDF_GRID_NM")
    shapes = [len(fps), *(len(c) for c in columns.values())]
    if g.shape != (n, RDF_N_BINS) or g_err.shape != (n, RDF_N_BINS) or any(s != n for s in shapes):
        raise ExportError(f"{path}: inconsistent dataset shapes (n_jobs {n}, g {g.shape})")
    if checksum is None or content_checksum(np.asarray(job_ids), g, g_err) != str(checksum):
        raise ExportError(f"{path}: content checksum mismatch (file corrupt or modified)")
    return _Existing(job_ids, fps, g, g_err, columns, str(checksum))


def _write(
    path: Path,
    job_ids: list[str],
    fps: list[str],
    g: np.ndarray,
    g_err: np.ndarray,
    columns: dict[str, np.ndarray],
    code_version: str,
    checksum: str,
) -> None:
    id_len = max([len(j) for j in job_ids] + [1])
    with atomic_path(path, fsync=True) as tmp, h5py.File(tmp, "w") as f:
        f.attrs["schema_version"] = SCHEMA_VERSION
        f.attrs["created"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        f.attrs["code_version"] = code_version
        f.attrs["content_checksum"] = checksum
        f.attrs["checksum_algorithm"] = (
            "sha256 over job ids (sorted, ascii, each followed by newline), then g, then g_err "
            "(n_jobs x n_bins, little-endian float32, C order)"
        )
        f.attrs["n_jobs"] = len(job_ids)
        f.attrs["n_bins"] = RDF_N_BINS
        f.attrs["units"] = "GROMACS units: nm, ps, kJ/mol, K, amu, nm^-3, bar; reduced quantities are 1"
        ds = f.create_dataset("job_id", data=np.array(job_ids, dtype=f"S{id_len}").reshape(-1))
        ds.attrs["description"] = "job identifier, sorted ascending; row index of every other dataset"
        ds = f.create_dataset("fingerprint", data=np.array(fps, dtype=f"S{_FINGERPRINT_LEN}").reshape(-1))
        ds.attrs["description"] = "sha1 of state point + source file size/mtime (incremental export)"
        rdf = f.create_group("rdf")
        ds = rdf.create_dataset("r", data=RDF_GRID_NM.astype(np.float64))
        ds.attrs["units"] = "nm"
        ds.attrs["description"] = "bin centres"
        ds.attrs["bin_width_nm"] = RDF_BIN_WIDTH_NM
        ds = rdf.create_dataset("edges", data=RDF_EDGES_NM.astype(np.float64))
        ds.attrs["units"] = "nm"
        ds.attrs["description"] = "bin edges"
        for name, data, desc in (
            ("g", g, "radial distribution function g(r)"),
            ("g_err", g_err, "block-average standard error of g(r)"),
        ):
            ds = rdf.create_dataset(name, data=np.asarray(data, dtype=np.float32).reshape(-1, RDF_N_BINS))
            ds.attrs["units"] = "1"
            ds.attrs["description"] = desc
        for group, spec in _GROUPS.items():
            grp = f.create_group(group)
            for name, (dtype, units, desc) in spec.items():
                ds = grp.create_dataset(name, data=np.asarray(columns[name], dtype=dtype))
                ds.attrs["units"] = units
                ds.attrs["description"] = desc


def _open_existing(path: Path, on_corrupt: str, report: ExportReport) -> _Existing | None:
    """The previous export at ``path`` (None if absent or, with ``on_corrupt="rebuild"``, unreadable)."""
    if not path.exists():
        return None
    try:
        return _read_existing(path)
    except _OtherVersionError:
        raise
    except ExportError as exc:
        if on_corrupt == "raise":
            raise
        logger.warning(
            "existing export is unreadable (%s); rebuilding it from the records; the old file "
            "stays in place until the new one is complete and is then kept as %s.corrupt",
            exc,
            path.name,
        )
        report.rebuilt = True
        return None


def _scan_records(
    records: Iterable[ExportRecord], old: _Existing | None, old_index: dict[str, int], report: ExportReport
) -> tuple[set[str], dict[str, int], dict[str, tuple[np.ndarray, np.ndarray, dict, str]]]:
    """Sort the records into rows reused from the old export (job id -> old row) and new or changed rows (read
    now); skipped and stale jobs and the new / updated counts go into ``report``."""
    seen: set[str] = set()
    reuse: dict[str, int] = {}  # job id -> row of old file
    new_rows: dict[str, tuple[np.ndarray, np.ndarray, dict, str]] = {}
    for rec in records:
        job_id = str(rec.job_id)
        if job_id in seen:
            report.skipped.append((job_id, "duplicate job id (first record kept)"))
            continue
        seen.add(job_id)
        if not job_id or not job_id.isascii() or len(job_id) > 255:
            report.skipped.append((job_id, "job id must be 1-255 ASCII characters"))
            continue
        fp = _fingerprint(rec)
        i_old = old_index.get(job_id)
        if i_old is not None and old.fingerprints[i_old] == fp:
            reuse[job_id] = i_old
            continue
        try:
            g, g_err, values = _load_row(rec)
        except (RDFError, ValueError, OSError) as exc:
            if i_old is not None:
                report.stale.append((job_id, f"{exc}; previous row kept"))
                reuse[job_id] = i_old
            else:
                report.skipped.append((job_id, str(exc)))
            continue
        new_rows[job_id] = (g, g_err, values, fp)
        if i_old is not None:
            report.n_updated += 1
        else:
            report.n_new += 1
    return seen, reuse, new_rows


def _assemble(
    job_ids: list[str],
    reuse: dict[str, int],
    new_rows: dict[str, tuple[np.ndarray, np.ndarray, dict, str]],
    old: _Existing | None,
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray], list[str]]:
    """The arrays of the new export in ``job_ids`` order: g, g_err (float32), columns and fingerprints."""
    n = len(job_ids)
    g = np.empty((n, RDF_N_BINS), dtype=np.float32)
    g_err = np.empty((n, RDF_N_BINS), dtype=np.float32)
    columns = {name: np.empty(n, dtype=dtype) for spec in _GROUPS.values() for name, (dtype, _, _) in spec.items()}
    fps: list[str] = [""] * n
    pos_old, idx_old, pos_new = [], [], []
    for pos, job_id in enumerate(job_ids):
        if job_id in new_rows:
            pos_new.append(pos)
        else:
            pos_old.append(pos)
            idx_old.append(reuse[job_id])
            fps[pos] = old.fingerprints[reuse[job_id]]
    if pos_old:
        pos_o, idx_o = np.asarray(pos_old), np.asarray(idx_old)
        g[pos_o] = old.g[idx_o]
        g_err[pos_o] = old.g_err[idx_o]
        for name, col in columns.items():
            col[pos_o] = old.columns[name][idx_o]
    if pos_new:
        pos_n = np.asarray(pos_new)
        rows = [new_rows[job_ids[p]] for p in pos_new]
        g[pos_n] = np.stack([r[0] for r in rows])
        g_err[pos_n] = np.stack([r[1] for r in rows])
        for name, col in columns.items():
            col[pos_n] = [r[2][name] for r in rows]
        for p, r in zip(pos_new, rows):
            fps[p] = r[3]

    return g, g_err, columns, fps


def export_dataset(
    records: Iterable[ExportRecord],
    path: str | os.PathLike,
    *,
    code_version: str | None = None,
    prune: bool = False,
    on_corrupt: str = "rebuild",
) -> ExportReport:
    """Write (or update) the HDF5 export of a set of jobs.

    Parameters
    ----------
    records : iterable of ExportRecord
        The jobs; records with a missing, corrupt or wrong-length ``rdf.npz`` or an incomplete state point
        are skipped and listed in the report. Duplicate job ids: the first record wins.
    path : path
        Export file (``.h5``). Its folder is created if needed.
    code_version : str, optional
        Code version to record (e.g. :func:`project.provenance.code_version_string`); ``"unknown"`` if None.
    prune : bool
        Drop rows of the existing export whose jobs are not in ``records`` (default False: keep them).
    on_corrupt : {"rebuild", "raise"}
        What to do when an existing file at ``path`` cannot be read: rebuild from the records (the old file is
        kept as ``<name>.corrupt``) or raise :class:`ExportError`.

    Returns
    -------
    ExportReport
        Counts, skipped jobs with reasons, checksum.

    Raises
    ------
    ExportError
        ``on_corrupt="raise"`` and the existing file is unreadable, or the existing file has another schema
        version (it is never overwritten).
    """
    if on_corrupt not in ("rebuild", "raise"):
        raise ValueError(f"on_corrupt must be 'rebuild' or 'raise', got {on_corrupt!r}")
    t0 = time.perf_counter()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    report = ExportReport(path=path)

    old = _open_existing(path, on_corrupt, report)
    old_index = {j: i for i, j in enumerate(old.job_ids)} if old else {}
    seen, reuse, new_rows = _scan_records(records, old, old_index, report)
    report.n_reused = len(reuse) - len(report.stale)

    absent = [j for j in old_index if j not in seen] if old else []
    if prune:
        report.n_pruned = len(absent)
    else:
        report.n_kept_absent = len(absent)
        for j in absent:
            reuse[j] = old_index[j]

    job_ids = sorted(set(reuse) | set(new_rows))
    n = len(job_ids)
    report.n_jobs = n
    for job_id, reason in report.skipped:
        logger.info("export: skipped job %s: %s", job_id, reason)
    for job_id, reason in report.stale:
        logger.warning("export: job %s: %s", job_id, reason)

    unchanged = old is not None and not new_rows and report.n_pruned == 0 and n == len(old.job_ids)
    if unchanged:
        report.content_checksum = old.checksum  # verified by _read_existing
        report.wall_s = time.perf_counter() - t0
        logger.info("export %s unchanged (%d jobs)", path, n)
        return report

    g, g_err, columns, fps = _assemble(job_ids, reuse, new_rows, old)
    checksum = content_checksum(np.asarray(job_ids), g, g_err)
    if report.rebuilt:
        backup = path.with_name(path.name + ".corrupt")
        # link (not move) so the path never disappears; the replace below swaps in the new file atomically
        backup.unlink(missing_ok=True)
        try:
            os.link(path, backup)
        except OSError:
            import shutil

            shutil.copy2(path, backup)
    _write(path, job_ids, fps, g, g_err, columns, code_version or "unknown", checksum)
    report.written = True
    report.content_checksum = checksum
    report.wall_s = time.perf_counter() - t0
    logger.info(
        "exported %d jobs to %s (%d new, %d updated, %d reused, %d kept absent, %d pruned, %d skipped, "
        "%d stale) in %.2f s",
        n,
        path,
        report.n_new,
        report.n_updated,
        report.n_reused,
        report.n_kept_absent,
        report.n_pruned,
        len(report.skipped),
        len(report.stale),
        report.wall_s,
    )
    return report


def open_export(path: str | os.PathLike) -> h5py.File:
    """Open an export read-only after checking that it exists and has a readable schema version (1 or 2).

    Parameters
    ----------
    path : path
        The export file.

    Returns
    -------
    h5py.File
        Open file (use as a context manager).

    Raises
    ------
    ExportError
        Missing file, not an HDF5 file (corrupt or truncated), or another schema version.
    """
    path = Path(path)
    if not path.is_file():
        raise ExportError(f"export file {os.fspath(path)!r} does not exist")
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise ExportError(
            f"export file {os.fspath(path)!r} is not a readable HDF5 file (corrupt or truncated?): {exc}"
        ) from exc
    version = f.attrs.get("schema_version")
    if version is None or int(version) not in READABLE_VERSIONS:
        f.close()
        raise ExportError(
            f"export file {os.fspath(path)!r} has schema_version {None if version is None else int(version)}; this "
            "code reads versions "
            f"{', '.join(map(str, READABLE_VERSIONS))}"
        )
    return f


def load_dataset(path: str | os.PathLike, *, verify: bool = True) -> Dataset:
    """Load an export into memory.

    Parameters
    ----------
    path : path
        The export file.
    verify : bool
        Recompute the content checksum and compare it with the stored one (default True; ~0.1 s at 40,000
        jobs).

    Returns
    -------
    Dataset
        Arrays, state-point table and attributes.

    Raises
    ------
    ExportError
        Missing, corrupt, truncated or other-version file, or checksum mismatch.
    """
    with open_export(path) as f:
        try:
            attrs = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in f.attrs.items()}
            job_ids = np.array([j.decode("ascii") for j in f["job_id"][()]], dtype=str)
            r_nm = f["rdf/r"][()]
            g = f["rdf/g"][()]
            g_err = f["rdf/g_err"][()]
            data, units = {}, {}
            for group in _GROUPS:
                for name, ds in f[group].items():
                    data[name] = ds[()]
                    units[name] = str(ds.attrs.get("units", ""))
        except (OSError, KeyError, ValueError, UnicodeDecodeError) as exc:
            raise ExportError(f"export file {os.fspath(path)!r} is corrupt: {exc}") from exc
    n = len(job_ids)
    if g.shape != (n, len(r_nm)) or g_err.shape != g.shape or any(len(c) != n for c in data.values()):
        raise ExportError(f"export file {os.fspath(path)!r} has inconsistent dataset shapes")
    if verify and content_checksum(job_ids, g, g_err) != attrs.get("content_checksum"):
        raise ExportError(f"export file {os.fspath(path)!r}: content checksum mismatch (corrupt or modified)")
    if "lambda_r" not in data:  # a version 1 file: every row is the LJ fluid
        data["lambda_r"], units["lambda_r"] = np.full(n, 12.0), "1"
    table = pd.DataFrame(data, index=pd.Index(job_ids, name="job_id"))
    table.attrs["units"] = dict(units)
    return Dataset(r_nm=r_nm, g=g, g_err=g_err, table=table, job_ids=job_ids, attrs=attrs, units=units)


def concat_datasets(parts: list[tuple[Dataset, np.ndarray]]) -> Dataset:
    """Join the selected rows of several loaded exports into one :class:`Dataset` (rows sorted by job id).

    Parameters
    ----------
    parts : list of (Dataset, numpy.ndarray)
        Each export with a boolean row mask. The exports must share their r grid (nm) and their units; a job id may
        appear once only.

    Returns
    -------
    Dataset
        ``attrs`` holds the joined rows' ``content_checksum`` (:func:`content_checksum`) and the parts' checksums
        (``parts``); columns missing from some part are NaN there.

    Raises
    ------
    ExportError
        No parts, different r grids, or a job id in two parts.
    """
    if not parts:
        raise ExportError("concat_datasets: no exports given")
    r_nm = parts[0][0].r_nm
    for ds, _ in parts[1:]:
        if ds.r_nm.shape != r_nm.shape or not np.allclose(ds.r_nm, r_nm):
            raise ExportError("concat_datasets: the exports have different r grids (nm); re-export on one grid")
    masks = [np.asarray(m, dtype=bool) for _, m in parts]
    ids = np.concatenate([ds.job_ids[m] for (ds, _), m in zip(parts, masks)])
    uniq, counts = np.unique(ids, return_counts=True)
    if (counts > 1).any():
        raise ExportError(f"concat_datasets: job id {uniq[counts > 1][0]!r} is in more than one export")
    order = np.argsort(ids, kind="stable")
    g = np.concatenate([ds.g[m] for (ds, _), m in zip(parts, masks)])[order]
    g_err = np.concatenate([ds.g_err[m] for (ds, _), m in zip(parts, masks)])[order]
    table = pd.concat([ds.table[m] for (ds, _), m in zip(parts, masks)]).iloc[order]
    units = {k: v for ds, _ in parts for k, v in ds.units.items()}
    table.attrs["units"] = dict(units)
    attrs = {
        "content_checksum": content_checksum(ids[order], g, g_err),
        "parts": [ds.attrs.get("content_checksum") for ds, _ in parts],
    }
    return Dataset(r_nm=r_nm, g=g, g_err=g_err, table=table, job_ids=ids[order], attrs=attrs, units=units)
