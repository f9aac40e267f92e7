"""The local workflow end to end: ``python flow.py run`` takes real jobs through simulate -> compute_rdf ->
aggregate; a blown-up job is marked failed with its reason and leaves the others untouched; a run that stayed a
crystal is excluded by the structural check of compute_rdf with its reason; a rerun repeats nothing. Engines and
analysis are the real ones (GROMACS, MDAnalysis, h5py); systems are tiny (N = 400, the smallest whose box holds the
1.2 nm RDF range at rho* = 0.8).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from project import units
from project.dataspace import create_jobs, get_project, query
from project.engines import make_protocol
from project.engines.gromacs import make_gro, make_top
from project.statepoint import normalise

REPO = Path(__file__).resolve().parents[1]


def _sp(T_star: float, rho_star: float, **extra) -> dict:
    sigma, eps = 0.34, 0.99
    sp = {
        "sigma": sigma,
        "epsilon": eps,
        "T": units.temperature_from_reduced(T_star, eps),
        "rho": units.density_from_reduced(rho_star, sigma),
        "N": 400,
        "t_equil": 5.0,
        "t_prod": 20.0,
        "t_sample": 0.5,
        "seed": 3,
    }
    sp.update(extra)
    return sp


def _flow(space: Path, *args: str) -> subprocess.CompletedProcess:
    # the blown-up run crawls; a 5 CPU-s no-progress limit (default 300 s) stops it quickly
    env = dict(os.environ, LJ_DATASPACE=str(space), SIGNAC_FLOW_ENVIRONMENT="StandardEnvironment", LJ_MD_STALL_S="5")
    return subprocess.run(
        [sys.executable, str(REPO / "flow.py"), *args], env=env, capture_output=True, text=True, cwd=REPO, timeout=900
    )


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    space = tmp_path_factory.mktemp("wf") / "space"
    project = get_project(space, create=True)
    good = [_sp(1.0, 0.8), _sp(2.0, 0.5)]
    # dt = 0.01 tau (the schema's largest) at T* = 9.9, rho* = 1.1 blows up in GROMACS (it then crawls);
    # the watchdog must stop it and mark only this job failed
    bad = _sp(9.9, 1.1, dt=0.01, N=300)
    # a supercooled state (metastable liquid, T* 0.6 < triple point) started from a perfect fcc crystal where the
    # engine looks for its start configuration: the 0.1 tau melting stage leaves it a crystal (N = 500 = 4 x 5^3)
    crystal = _sp(0.6, 0.92, N=500, t_equil=0.4, metastable=1)
    assert create_jobs(project, [*good, bad, crystal]) == (4, 0)
    job = project.open_job(normalise(crystal))
    p = make_protocol(dict(job.statepoint))
    cells = 5
    a = p.box / cells
    basis = np.array([[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]])
    grid = np.stack(np.meshgrid(*[np.arange(cells)] * 3, indexing="ij"), -1).reshape(-1, 3)
    (Path(job.path) / "gromacs").mkdir()
    (Path(job.path) / "gromacs" / "topol.top").write_text(make_top(p))
    fcc = ((grid[:, None, :] + basis[None, :, :]).reshape(-1, 3) + 0.25) * a
    (Path(job.path) / "gromacs" / "start.gro").write_text(make_gro(fcc, p.box))
    first = _flow(space, "run")
    assert first.returncode == 0, first.stderr[-3000:]
    return space, project, first


def test_run_finishes_good_jobs_and_exports_them(ran):
    space, project, _ = ran
    df = query(project).set_index("job_id")
    assert sorted(df["status"]) == ["done", "done", "failed", "failed"]
    done = sorted(df.index[df["status"] == "done"])
    with h5py.File(space / "export" / "dataset.h5", "r") as f:  # plain h5py, as an outside tool would
        assert sorted(j.decode() for j in f["job_id"][()]) == done
        g = f["rdf/g"][()]
        assert f.attrs["schema_version"] == 2
    # g(r) of a fluid tends to 1 at large r: the last 20 bins (0.96-1.2 nm, about 3 sigma) within 0.05
    assert np.all(np.abs(g[:, -20:].mean(axis=1) - 1.0) < 0.05)


def test_provenance_and_failure_reason(ran):
    _, project, _ = ran
    for job in project:
        doc = job.document()
        if job.isfile("rdf.npz"):
            prov = doc["simulate"]["provenance"]
            assert prov["engine"]["name"] == "gromacs" and prov["engine"]["version"].startswith("20")
            assert {"commit", "dirty"} <= set(prov["code"]) and prov["seed"] == 3
            assert prov["started"] <= prov["finished"]
            assert "statepoint" in prov["input_hashes"]
            assert "provenance" in doc["compute_rdf"]
            assert doc["structure"]["verdict"] == "liquid"
            assert doc["structure"]["solid_fraction"] < 0.01  # liquid reference: < 0.01
        elif job.isfile("structure.json"):
            # the structural check excluded the crystal: solid-like fraction ~1 (perfect fcc: 1), no RDF
            result = json.loads(Path(job.fn("structure.json")).read_text())
            assert result["verdict"] == "crystallised" and result["solid_fraction"] > 0.95
            assert doc["failure"]["operation"] == "compute_rdf"
            assert re.match(r"crystallised: solid-like fraction (0\.9[5-9]|1\.00) > 0\.1 ", doc["failure"]["reason"])
            assert not job.isfile("rdf.npz")
        else:
            assert doc["status"] == "failed"
            assert doc["failure"]["operation"] == "simulate" and "blew up" in doc["failure"]["reason"]
            info = json.loads(Path(job.fn("failed.json")).read_text())
            assert "blew up" in info["reason"]
            assert not job.isfile("traj.xtc") and not job.isfile("simulate.json")


def test_status_shows_failure_and_rerun_repeats_nothing(ran):
    space, project, _ = ran
    status = _flow(space, "status", "--detailed")
    assert status.returncode == 0 and "failed in simulate: blew up" in status.stdout
    assert re.search(r"excluded: crystallised: solid-like fraction (0\.9[5-9]|1\.00) > 0\.1 ", status.stdout)
    mtimes = {p: p.stat().st_mtime_ns for p in Path(project.workspace).glob("*/*") if p.is_file()}
    export = space / "export" / "dataset.h5"
    export_mtime = export.stat().st_mtime_ns
    again = _flow(space, "run")
    assert again.returncode == 0, again.stderr[-3000:]
    assert "Execute operation" not in again.stderr + again.stdout
    assert {p: p.stat().st_mtime_ns for p in mtimes} == mtimes
    assert export.stat().st_mtime_ns == export_mtime


def test_cli_export_reuses_every_row_of_the_flow_export(ran):
    """`lj-inverse export` after `flow.py run` (its aggregate operation) re-reads no RDF: both build the same
    records, so every fingerprint matches (reference: the export report's new / reused counts)."""
    space, project, _ = ran
    out = subprocess.run(
        [sys.executable, "-m", "project", "export", "--dataspace", str(space), "--json"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["n_jobs"] == 2 and report["new"] == 0 and report["reused"] == 2
