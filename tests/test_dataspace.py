"""Data space: job creation, refusal of bad input, query equals brute force, provenance."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from project.dataspace import create_jobs, get_project, job_status, mark_failed, query
from project.design import load_design, make_design
from project.errors import StatePointError
from project.provenance import code_version, package_versions, provenance
from project.statepoint import reduced_state

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture()
def space(tmp_path):
    project = get_project(tmp_path / "space", create=True)
    points = make_design(dict(load_design("domain"), n=200))
    created, existing = create_jobs(project, points)
    assert (created, existing) == (200, 0)
    return project, points


def test_rerunning_design_creates_nothing(space):
    project, points = space
    assert create_jobs(project, points) == (0, 200)
    assert len(project) == 200


def test_float_noise_gives_same_job_id(space):
    project, points = space
    sp = dict(points[0])
    noisy = dict(sp, sigma=sp["sigma"] * (1 + 1e-12), N=float(sp["N"]))
    assert create_jobs(project, [noisy]) == (0, 1)


def test_bad_statepoint_writes_nothing(tmp_path):
    project = get_project(tmp_path / "space", create=True)
    good = make_design(dict(load_design("domain"), n=3))
    bad = dict(good[1], sigma=-1.0)
    with pytest.raises(StatePointError, match="'sigma'.*state point #1"):
        create_jobs(project, [good[0], bad, good[2]])
    assert len(project) == 0
    ws = project.workspace
    assert not os.path.isdir(ws) or os.listdir(ws) == []


def test_query_equals_brute_force(space):
    project, _ = space
    ranges = {"sigma": (0.3, 0.4), "T_star": (1.0, None), "rho_star": (None, 0.8)}
    df = query(project, ranges)
    expected = set()
    for job in project:
        sp = job.statepoint()
        t_star, rho_star = reduced_state(sp)
        if 0.3 <= sp["sigma"] <= 0.4 and t_star >= 1.0 and rho_star <= 0.8:
            expected.add(job.id)
    assert set(df["job_id"]) == expected
    assert len(expected) > 5
    row = df.iloc[0]
    sp = project.open_job(id=row["job_id"]).statepoint()
    assert row["T"] == sp["T"] and row["rho"] == sp["rho"]
    assert row["T_star"] == pytest.approx(0.0083144626 * sp["T"] / sp["epsilon"])


def test_query_status(space):
    project, _ = space
    ids = sorted(job.id for job in project)
    open(os.path.join(project.workspace, ids[0], "simulate.json"), "w").close()
    open(os.path.join(project.workspace, ids[1], "rdf.npz"), "w").close()
    mark_failed(os.path.join(project.workspace, ids[2]), "simulate", "blew up: NaN energy")
    assert list(query(project, status="simulated")["job_id"]) == [ids[0]]
    assert list(query(project, status="done")["job_id"]) == [ids[1]]
    assert list(query(project, status="failed")["job_id"]) == [ids[2]]
    assert len(query(project, status="new")) == 197
    assert job_status(os.path.join(project.workspace, ids[2])) == "failed"


def test_query_rejects_unknown_field(space):
    with pytest.raises(ValueError, match="'foo'"):
        query(space[0], {"foo": (0, 1)})


def test_index_rebuilt_when_jobs_added_outside(space):
    project, points = space
    job = project.open_job(dict(points[0], replica=7))
    job.init()
    df = query(project, {"replica": (7, 7)})
    assert list(df["job_id"]) == [job.id]


def test_cli_init_and_query(tmp_path):
    env = dict(os.environ, LJ_DATASPACE=str(tmp_path / "cli"), PYTHONPATH=REPO)
    assert '"created": 5' in _cli(tmp_path / "cli", "init", "default", "--json").stdout
    out = _cli(tmp_path / "cli", "query", "--T_star", "1.4:", "--json").stdout
    import json

    rows = json.loads(out)
    assert len(rows) == 4 and all(r["T_star"] >= 1.4 for r in rows)
    bad = subprocess.run(
        [sys.executable, "-m", "project", "query", "--dataspace", str(tmp_path / "none")],
        env=env,
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2 and "no data space" in bad.stderr


def test_provenance_fields(argon_like):
    prov = provenance(argon_like, started="2026-01-01T00:00:00+00:00", engine={"name": "gromacs", "version": "x"})
    assert set(prov) >= {"code", "packages", "engine", "host", "started", "finished", "input_hashes", "seed"}
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout.strip()
    assert prov["code"]["commit"] == head
    assert isinstance(prov["code"]["dirty"], bool)
    assert prov["packages"]["numpy"] == np.__version__
    assert package_versions()["signac"] is not None
    assert len(prov["input_hashes"]["statepoint"]) == 64
    assert code_version()["commit"] == head


def test_status_cache_follows_new_products(tmp_path):
    """Statuses come from product files; the mtime-keyed cache must never hide a product that appeared later."""
    project = get_project(tmp_path / "space", create=True)
    create_jobs(project, make_design(dict(load_design("domain"), n=3)))
    jobs = sorted(project, key=lambda j: j.id)
    old = 1_600_000_000  # folders quiet for years: their statuses are cached
    for job in jobs:
        os.utime(job.path, (old, old))
    assert list(query(project)["status"]) == ["new", "new", "new"]
    assert (tmp_path / "space" / ".lj_status.npz").is_file()
    open(jobs[0].fn("simulate.json"), "w").close()  # changes the folder's mtime
    mark_failed(jobs[1].path, "simulate", "blew up: test")
    assert list(query(project)["status"]) == ["simulated", "failed", "new"]
    for job in jobs:  # cached again after they go quiet; rdf.npz then appears in a cached folder
        os.utime(job.path, (old + 100, old + 100))
    query(project)
    open(jobs[0].fn("rdf.npz"), "w").close()
    assert list(query(project)["status"]) == ["done", "failed", "new"]
    assert list(query(project, status="failed")["job_id"]) == [jobs[1].id]


def test_query_by_lambda_r_mixes_lj_and_mie_jobs(tmp_path):
    """An LJ job (no lambda_r in its state point) reads as lambda_r 12; Mie jobs by their exponent, from Python and
    the shell; an index written before the column existed is rebuilt, not read short."""
    project = get_project(tmp_path / "space", create=True)
    points = make_design(dict(load_design("mie_test"), n=4))
    lj = make_design(dict(load_design("domain"), n=2))
    assert create_jobs(project, points + lj) == (6, 0)
    lams = sorted(float(p["lambda_r"]) for p in points)
    df = query(project)
    np.testing.assert_allclose(sorted(df["lambda_r"]), sorted(lams + [12.0, 12.0]), rtol=0, atol=1e-12)
    assert len(query(project, {"lambda_r": (12.0, 12.0)})) == 2 + sum(lam == 12.0 for lam in lams)
    soft = query(project, {"lambda_r": (None, 11.99)})
    assert len(soft) == sum(lam < 11.99 for lam in lams)

    index = os.path.join(project.path, ".lj_index.npz")
    with np.load(index) as data:
        old = {k: data[k] for k in data.files if k != "lambda_r"}
    np.savez(index, **old)
    assert len(query(project, {"lambda_r": (12.0, 12.0)})) == 2 + sum(lam == 12.0 for lam in lams)

    import json

    rows = json.loads(_cli(tmp_path / "space", "query", "--lambda_r", "12.5:", "--json").stdout)
    assert sorted(r["lambda_r"] for r in rows) == pytest.approx([lam for lam in lams if lam >= 12.5], abs=1e-9)


def _cli(space, *args: str) -> subprocess.CompletedProcess:
    """``python -m project ARGS`` with ``LJ_DATASPACE=space`` (must exit 0)."""
    env = dict(os.environ, LJ_DATASPACE=str(space), PYTHONPATH=REPO)
    return subprocess.run([sys.executable, "-m", "project", *args], env=env, capture_output=True, text=True, check=True)
