"""Tests of project.catalogue (SQLite results catalogue)."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import numpy as np
import pytest

from project.catalogue import Catalogue

CHK_A = "a" * 64
CHK_B = "b" * 64


@pytest.fixture
def cat(tmp_path):
    c = Catalogue(tmp_path / "results" / "catalogue.sqlite")
    c.record("train", CHK_A, {"model": "mlp", "lr": 1e-3}, {"val_mae_g": 0.05, "wall_s": 10.0}, {"model": "m1.pt"})
    c.record("train", CHK_A, {"model": "mlp", "lr": 1e-4}, {"val_mae_g": 0.02, "wall_s": 30.0}, tmp_path / "m2.pt")
    c.record("evaluate", CHK_B, {"model": "cnn"}, {"val_mae_g": 0.03})
    c.record("cg_fit", None, {"iterations": np.int64(20)}, {"rmse_g": np.float32(0.1)}, code_version="abc-dirty")
    return c


def test_record_and_get(cat, tmp_path):
    assert len(cat) == 4
    run = cat.get(2)
    assert run.kind == "train" and run.dataset_checksum == CHK_A
    assert run.settings == {"model": "mlp", "lr": 1e-4}
    assert run.metrics["val_mae_g"] == 0.02
    assert run.artefacts == {"path": str(tmp_path / "m2.pt")}
    assert cat.get(4).settings == {"iterations": 20} and cat.get(4).code_version == "abc-dirty"
    with pytest.raises(KeyError, match="no run 99"):
        cat.get(99)


def test_list_filters(cat):
    assert list(cat.list().index) == [1, 2, 3, 4]
    assert list(cat.list(kind="train").index) == [1, 2]
    assert list(cat.list(dataset=CHK_B).index) == [3]
    assert list(cat.list(dataset="aaaaaaaa").index) == [1, 2]
    assert list(cat.list(where_metric=("val_mae_g", "<", 0.04)).index) == [2, 3]
    both = cat.list(where_metric=[("val_mae_g", "<", 0.04), ("wall_s", ">", 1.0)])
    assert list(both.index) == [2]
    assert list(cat.list(where_setting={"model": "mlp"}).index) == [1, 2]
    best = cat.list(kind="train", order_by="metrics.val_mae_g", limit=1)
    assert list(best.index) == [2] and best.loc[2, "metrics.val_mae_g"] == 0.02
    assert cat.list(kind="nothing").empty


def test_list_rejects_injection(cat):
    with pytest.raises(ValueError):
        cat.list(where_metric=("x') OR 1=1 --", "<", 1))
    with pytest.raises(ValueError):
        cat.list(where_metric=("x", "LIKE", 1))
    with pytest.raises(ValueError):
        cat.list(order_by="run_id; DROP TABLE runs")
    with pytest.raises(ValueError):
        cat.list(dataset="abc")


def test_bad_input(tmp_path):
    c = Catalogue(tmp_path / "c.sqlite")
    with pytest.raises(ValueError, match="kind"):
        c.record("Train Run", None)
    with pytest.raises(TypeError, match="settings.obj"):
        c.record("train", None, {"obj": object()})
    rid = c.record("train", None, {}, {"loss": float("nan")})
    assert c.get(rid).metrics == {"loss": None}


def test_persistent_and_concurrent(tmp_path):
    path = tmp_path / "c.sqlite"
    Catalogue(path)
    errors = []

    def writer(k):
        try:
            cc = Catalogue(path)
            for i in range(20):
                cc.record("train", None, {"writer": k, "i": i}, {"x": i})
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(Catalogue(path)) == 80
    # plain sqlite3 can read it
    with sqlite3.connect(path) as con:
        assert con.execute("SELECT COUNT(*) FROM runs WHERE kind='train'").fetchone()[0] == 80


def test_corrupt_file_raises_clearly(tmp_path):
    path = Path(tmp_path / "bad.sqlite")
    path.write_bytes(b"not a database at all" * 100)
    with pytest.raises(OSError, match="bad.sqlite"):
        Catalogue(path)


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_read_only_reads_and_refuses_writes(cat):
    folder = cat.path.parent
    before = _snapshot(folder)
    ro = Catalogue(cat.path, read_only=True)
    assert len(ro) == 4 and ro.get(2).settings == {"model": "mlp", "lr": 1e-4}
    assert list(ro.list(kind="train").index) == [1, 2]
    assert ro.list().equals(cat.list())
    with pytest.raises(PermissionError, match="read-only"):
        ro.record("train", CHK_A)
    assert len(cat) == 4
    assert _snapshot(folder) == before  # same files, byte for byte: nothing written


def test_read_only_sees_later_writes(cat):
    ro = Catalogue(cat.path, read_only=True)
    cat.record("evaluate", CHK_A, {}, {"val_mae_g": 0.01})
    assert len(ro) == 5 and ro.get(5).kind == "evaluate"


def test_read_only_never_creates(tmp_path):
    path = tmp_path / "results" / "catalogue.sqlite"
    with pytest.raises(FileNotFoundError, match="catalogue.sqlite"):
        Catalogue(path, read_only=True)
    assert not path.parent.exists()


def test_read_only_rejects_other_files(tmp_path):
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"not a database at all" * 100)
    with pytest.raises(OSError, match="bad.sqlite"):
        Catalogue(bad, read_only=True)
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as con:
        con.execute("CREATE TABLE things (x INTEGER)")
    con.close()
    with pytest.raises(OSError, match="no table 'runs'"):
        Catalogue(other, read_only=True)
