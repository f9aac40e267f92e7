"""Results catalogue: one row per training / evaluation / coarse-graining run, in a single SQLite file.

Why SQLite (and not a second signac project or a folder of JSON files):

* **one file, standard library** - ``sqlite3`` ships with Python; the catalogue is copied, backed up or
  attached to a paper as one file, and needs no server;
* **concurrent readers** - dashboards and notebooks read while a run writes; in WAL mode (the default here)
  readers never block the writer, and concurrent writers wait on a lock (``busy_timeout``) instead of
  corrupting the file;
* **fast filtering** - ``kind``, ``dataset_checksum`` and ``created`` are indexed columns, and metrics are
  filtered in SQL with ``json_extract``; listing thousands of runs takes milliseconds, with no per-run
  folder to open;
* **no second signac project** - a signac job is a folder per state point made for the simulation data
  space; results of model runs are small records that refer to an export by its content checksum, so one
  table keeps them queryable without thousands of tiny folders.

WAL needs shared memory: on network file systems (NFS, Lustre) open the catalogue with ``wal=False``.

Readers that must not touch a catalogue other programs own (the dashboard) open it with ``read_only=True``: the
file is opened through SQLite's ``mode=ro`` URI, never created, its schema and pragmas never written, and
:meth:`Catalogue.record` refuses with :class:`PermissionError`.

Schema (table ``runs``): ``run_id`` INTEGER PRIMARY KEY, ``created`` TEXT (ISO 8601, UTC), ``kind`` TEXT,
``dataset_checksum`` TEXT (the export's ``content_checksum``), ``code_version`` TEXT, ``settings``,
``metrics``, ``artefacts`` TEXT (JSON objects), ``note`` TEXT. Units of settings and metrics are the
caller's: name keys with their units (``lr``, ``val_mae_g``, ``wall_s``). Non-finite floats are stored as
JSON null.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)

#: Kinds used by the platform; other lowercase identifiers are accepted too.
KNOWN_KINDS = ("train", "evaluate", "cg_fit", "export", "benchmark")
_KIND_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_OPS = ("<", "<=", ">", ">=", "=", "!=")
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id INTEGER PRIMARY KEY AUTOINCREMENT,
    created TEXT NOT NULL,
    kind TEXT NOT NULL,
    dataset_checksum TEXT,
    code_version TEXT,
    settings TEXT NOT NULL,
    metrics TEXT NOT NULL,
    artefacts TEXT NOT NULL,
    note TEXT
);
CREATE INDEX IF NOT EXISTS runs_kind ON runs(kind);
CREATE INDEX IF NOT EXISTS runs_dataset ON runs(dataset_checksum);
CREATE INDEX IF NOT EXISTS runs_created ON runs(created);
"""


@dataclass(frozen=True)
class Run:
    """One catalogue entry.

    Attributes
    ----------
    run_id : int
        Identifier assigned by :meth:`Catalogue.record`.
    created : str
        ISO 8601 time (UTC) of recording.
    kind : str
        ``"train"``, ``"evaluate"``, ``"cg_fit"``, ...
    dataset_checksum : str or None
        ``content_checksum`` of the export the run used.
    code_version : str or None
        Code version (git commit, ``-dirty`` suffix if modified).
    settings, metrics, artefacts : dict
        JSON objects as recorded.
    note : str or None
        Free text.
    """

    run_id: int
    created: str
    kind: str
    dataset_checksum: str | None
    code_version: str | None
    settings: dict
    metrics: dict
    artefacts: dict
    note: str | None


def _jsonable(value: Any, where: str) -> Any:
    """Convert numpy scalars/arrays, paths and non-finite floats to plain JSON values."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v, where) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist(), where)
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        logger.warning("catalogue: non-finite value %r of %s stored as null", value, where)
        return None
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"catalogue: {where} has a value of type {type(value).__name__} that is not JSON-serialisable")


def _dumps(value: Mapping[str, Any] | None, where: str) -> str:
    if value is None:
        value = {}
    if not isinstance(value, Mapping):
        raise TypeError(f"catalogue: {where} must be a dict, got {type(value).__name__}")
    return json.dumps(_jsonable(value, where), sort_keys=True, allow_nan=False)


class Catalogue:
    """SQLite results catalogue (see module docstring).

    Parameters
    ----------
    path : path
        The database file; created (with its folder) if absent, unless ``read_only``.
    wal : bool
        Use write-ahead logging (concurrent readers during writes). Set False on network file systems. Ignored
        when ``read_only`` (the file keeps its journal mode).
    timeout_s : float
        How long (s) a writer waits for another writer's lock.
    read_only : bool
        Open an existing catalogue for reading only (SQLite ``mode=ro``): nothing is created or written, and
        :meth:`record` raises :class:`PermissionError`.

    Raises
    ------
    FileNotFoundError
        ``read_only`` and no file at ``path``.
    OSError
        The file is not a results catalogue (unreadable, or without a ``runs`` table).
    """

    def __init__(
        self, path: str | os.PathLike, *, wal: bool = True, timeout_s: float = 30.0, read_only: bool = False
    ) -> None:
        self.path = Path(path)
        self.read_only = read_only
        self._wal = wal
        self._timeout_s = timeout_s
        if read_only:
            if not self.path.is_file():
                raise FileNotFoundError(f"no results catalogue at {self.path} (read-only: not created)")
            with self._connect() as con:
                found = con.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'runs'").fetchone()
            if found is None:
                raise OSError(f"{self.path} is not a results catalogue: it has no table 'runs'")
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as con:
            if wal:
                con.execute("PRAGMA journal_mode=WAL")
            con.executescript(_SCHEMA)
            con.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        try:
            if self.read_only:
                uri = f"{self.path.resolve().as_uri()}?mode=ro"
                con = sqlite3.connect(uri, uri=True, timeout=self._timeout_s)
            else:
                con = sqlite3.connect(self.path, timeout=self._timeout_s)
        except sqlite3.Error as exc:
            raise OSError(f"cannot open catalogue {self.path}: {exc}") from exc
        try:
            con.row_factory = sqlite3.Row
            with con:  # commit on success, roll back on error
                yield con
        except sqlite3.DatabaseError as exc:
            raise OSError(f"catalogue {self.path}: {exc}") from exc
        finally:
            con.close()

    def record(
        self,
        kind: str,
        dataset_checksum: str | None,
        settings: Mapping[str, Any] | None = None,
        metrics: Mapping[str, Any] | None = None,
        artefacts: Mapping[str, Any] | str | os.PathLike | None = None,
        *,
        code_version: str | None = None,
        note: str | None = None,
    ) -> int:
        """Add a run and return its ``run_id``.

        Parameters
        ----------
        kind : str
            Run kind: ``"train"``, ``"evaluate"``, ``"cg_fit"``, ... (lowercase identifier).
        dataset_checksum : str or None
            ``content_checksum`` attribute of the export used (None if the run used no export).
        settings : dict, optional
            Hyper-parameters and options (keys should name units, e.g. ``r_max_nm``).
        metrics : dict, optional
            Results (e.g. ``{"val_mae_g": 0.012, "wall_s": 310.0}``); non-finite floats become null.
        artefacts : dict or path, optional
            Produced files, name -> path; a single path is stored as ``{"path": ...}``.
        code_version : str, optional
            Git commit (``-dirty`` if modified).
        note : str, optional
            Free text.

        Returns
        -------
        int
            The new run id.

        Raises
        ------
        ValueError
            Invalid kind.
        TypeError
            A value that cannot be stored as JSON.
        PermissionError
            The catalogue was opened with ``read_only=True``.
        """
        if self.read_only:
            raise PermissionError(
                f"catalogue {self.path} is open read-only: cannot record a {kind!r} run; open it with "
                "Catalogue(path) to write"
            )
        if not isinstance(kind, str) or not _KIND_RE.match(kind):
            raise ValueError(f"catalogue: kind must be a lowercase identifier such as {KNOWN_KINDS}, got {kind!r}")
        if artefacts is not None and not isinstance(artefacts, Mapping):
            artefacts = {"path": os.fspath(artefacts)}
        row = (
            datetime.now(timezone.utc).isoformat(timespec="microseconds"),
            kind,
            dataset_checksum,
            code_version,
            _dumps(settings, "settings"),
            _dumps(metrics, "metrics"),
            _dumps(artefacts, "artefacts"),
            note,
        )
        with self._connect() as con:
            cur = con.execute(
                "INSERT INTO runs (created, kind, dataset_checksum, code_version, settings, metrics, "
                "artefacts, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                row,
            )
            run_id = int(cur.lastrowid)
        logger.info("catalogue %s: recorded %s run %d", self.path, kind, run_id)
        return run_id

    def get(self, run_id: int) -> Run:
        """Return the run ``run_id``.

        Raises
        ------
        KeyError
            No such run.
        """
        with self._connect() as con:
            row = con.execute("SELECT * FROM runs WHERE run_id = ?", (int(run_id),)).fetchone()
        if row is None:
            raise KeyError(f"catalogue {self.path} has no run {run_id}")
        return self._run(row)

    @staticmethod
    def _run(row: sqlite3.Row) -> Run:
        return Run(
            run_id=row["run_id"],
            created=row["created"],
            kind=row["kind"],
            dataset_checksum=row["dataset_checksum"],
            code_version=row["code_version"],
            settings=json.loads(row["settings"]),
            metrics=json.loads(row["metrics"]),
            artefacts=json.loads(row["artefacts"]),
            note=row["note"],
        )

    def list(
        self,
        kind: str | None = None,
        dataset: str | None = None,
        where_metric: tuple[str, str, float] | Sequence[tuple[str, str, float]] | None = None,
        where_setting: Mapping[str, Any] | None = None,
        since: str | None = None,
        order_by: str | None = None,
        ascending: bool = True,
        limit: int | None = None,
    ) -> pd.DataFrame:
        """List runs as a DataFrame, newest last, filtered in SQL.

        Parameters
        ----------
        kind : str, optional
            Only runs of this kind.
        dataset : str, optional
            Only runs on this export ``content_checksum`` (a unique prefix of at least 8 characters works).
        where_metric : (name, op, value) or list of them, optional
            Metric conditions, op one of ``< <= > >= = !=``; runs lacking the metric are excluded.
        where_setting : dict, optional
            Settings that must equal the given values (``{"model": "mlp"}``).
        since : str, optional
            ISO 8601 time; only runs recorded at or after it (UTC).
        order_by : str, optional
            ``"created"`` (default) or ``"metrics.<name>"``.
        ascending : bool
            Sort direction.
        limit : int, optional
            At most this many rows.

        Returns
        -------
        pandas.DataFrame
            Index ``run_id``; columns ``created``, ``kind``, ``dataset_checksum``, ``code_version``, ``note``,
            ``settings``/``metrics``/``artefacts`` (dicts), and one ``metrics.<name>`` column per scalar
            metric.
        """
        clauses, params = [], []
        if kind is not None:
            clauses.append("kind = ?")
            params.append(kind)
        if dataset is not None:
            if len(dataset) >= 64:
                clauses.append("dataset_checksum = ?")
                params.append(dataset)
            else:
                if len(dataset) < 8:
                    raise ValueError("catalogue: a dataset checksum prefix needs at least 8 characters")
                clauses.append("substr(dataset_checksum, 1, ?) = ?")
                params.extend([len(dataset), dataset])
        conditions = []
        if where_metric is not None:
            conditions = [where_metric] if isinstance(where_metric[0], str) else list(where_metric)
        for cond in conditions:
            name, op, value = cond
            if not _NAME_RE.match(name) or op not in _OPS:
                raise ValueError(f"catalogue: bad metric condition {cond!r} (name identifier, op in {_OPS})")
            clauses.append(f"json_extract(metrics, '$.{name}') {op} ?")
            params.append(value)
        for name, value in (where_setting or {}).items():
            if not _NAME_RE.match(name):
                raise ValueError(f"catalogue: bad setting name {name!r}")
            clauses.append(f"json_extract(settings, '$.{name}') = ?")
            params.append(json.dumps(value) if isinstance(value, (dict, list)) else value)
        if since is not None:
            clauses.append("created >= ?")
            params.append(since)
        sql = "SELECT * FROM runs"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        if order_by is None or order_by == "created":
            order = "created"
        elif order_by.startswith("metrics.") and _NAME_RE.match(order_by[8:]):
            order = f"json_extract(metrics, '$.{order_by[8:]}')"
        else:
            raise ValueError(f"catalogue: order_by must be 'created' or 'metrics.<name>', got {order_by!r}")
        sql += f" ORDER BY {order} {'ASC' if ascending else 'DESC'}, run_id {'ASC' if ascending else 'DESC'}"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(int(limit))
        with self._connect() as con:
            rows = con.execute(sql, params).fetchall()
        runs = [self._run(r) for r in rows]
        base = [
            "created",
            "kind",
            "dataset_checksum",
            "code_version",
            "note",
            "settings",
            "metrics",
            "artefacts",
        ]
        records = []
        for run in runs:
            rec = {"run_id": run.run_id, **{k: getattr(run, k) for k in base}}
            for name, value in run.metrics.items():
                if value is None or isinstance(value, (int, float, str, bool)):
                    rec[f"metrics.{name}"] = value
            records.append(rec)
        frame = pd.DataFrame.from_records(records, columns=None if records else ["run_id", *base])
        return frame.set_index("run_id")

    def __len__(self) -> int:
        with self._connect() as con:
            return int(con.execute("SELECT COUNT(*) FROM runs").fetchone()[0])
