"""``flow.py`` for throughput and robustness: two ``run`` processes on one data space at once, bad trajectories,
and the command line on a machine with SLURM installed but no controller, or without a data space.

Real parts throughout: GROMACS, MDAnalysis, signac-flow, the compiled g(r) kernel; tiny systems (N = 400, 20 tau of
production, 41 frames) keep each job to a few seconds.
"""

from __future__ import annotations

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
from project.rdf import compute_rdf, load_rdf

REPO = Path(__file__).resolve().parents[1]


def _sp(T_star: float, rho_star: float, seed: int = 5) -> dict:
    sigma, eps = 0.34, 0.99
    return {
        "sigma": sigma,
        "epsilon": eps,
        "T": units.temperature_from_reduced(T_star, eps),
        "rho": units.density_from_reduced(rho_star, sigma),
        "N": 400,
        "t_equil": 5.0,
        "t_prod": 20.0,
        "t_sample": 0.5,
        "seed": seed,
    }


def _env(space: Path) -> dict:
    env = dict(os.environ, LJ_DATASPACE=str(space))
    env.pop("SIGNAC_FLOW_ENVIRONMENT", None)  # flow.py must pick its environment itself
    return env


def _flow(space: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(REPO / "flow.py"), *args],
        env=_env(space),
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=900,
    )


def test_two_runs_at_once_do_every_operation_once(tmp_path):
    space = tmp_path / "space"
    states = [_sp(1.0, 0.8, seed=1), _sp(2.0, 0.5, seed=2), _sp(1.5, 0.8, seed=3), _sp(2.5, 0.6, seed=4)]
    project = get_project(space, create=True)
    assert create_jobs(project, states) == (4, 0)
    cmd = [sys.executable, str(REPO / "flow.py"), "run"]
    procs = [
        subprocess.Popen(cmd, env=_env(space), cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=900)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], "\n".join(o[-2000:] for o in outs)
    text = "".join(outs)
    assert "Traceback" not in text
    ids = sorted(job.id for job in project)
    for op in ("simulate", "compute_rdf"):
        done = sorted(m for m in re.findall(rf"\] {op} (\w+): ", text))
        assert done == sorted(i[:7] for i in ids), f"{op}: {done}\n{text[-3000:]}"
    assert sorted(query(project)["status"]) == ["done"] * 4
    with h5py.File(space / "export" / "dataset.h5", "r") as f:
        assert sorted(j.decode() for j in f["job_id"][()]) == ids
        assert f["rdf/g"].shape == (4, 240)
    for job in project:
        assert load_rdf(job.fn("rdf.npz")).n_frames == 41
        assert job.doc["status"] == "done" and "provenance" in job.doc["compute_rdf"]
        leftovers = [
            p.name
            for p in Path(job.path).iterdir()
            if p.name.startswith(".") and p.name != ".lock" and "_offsets." not in p.name
        ]
        assert not leftovers  # no temporary file left behind
        # the compiled path gives the MDAnalysis path's g(r) on real GROMACS output (reference: method="mdanalysis")
        if job.sp["T"] == states[0]["T"]:
            ref = compute_rdf(job.fn("topology.pdb"), job.fn("traj.xtc"), method="mdanalysis")
            assert np.max(np.abs(load_rdf(job.fn("rdf.npz")).g - ref.g)) <= 1e-6


def test_missing_and_truncated_trajectories_fail_with_reason(tmp_path):
    space = tmp_path / "space"
    project = get_project(space, create=True)
    create_jobs(project, [_sp(1.0, 0.8, seed=1), _sp(2.0, 0.5, seed=2), _sp(1.5, 0.8, seed=3)])
    sim = _flow(space, "run", "-o", "simulate")
    assert sim.returncode == 0, sim.stderr[-3000:]
    missing, truncated, good = sorted(project, key=lambda j: j.sp["T"])
    os.unlink(missing.fn("traj.xtc"))
    data = Path(truncated.fn("traj.xtc")).read_bytes()
    Path(truncated.fn("traj.xtc")).write_bytes(data[: len(data) // 2])  # a run cut off half way
    run = _flow(space, "run")
    assert run.returncode == 0, run.stderr[-3000:]
    status = dict(zip(*[query(project)[c] for c in ("job_id", "status")]))
    assert (status[missing.id], status[truncated.id], status[good.id]) == ("failed", "failed", "done")
    detail = _flow(space, "status", "--detailed")
    assert detail.returncode == 0, detail.stderr[-2000:]
    assert "failed in compute_rdf: trajectory file 'traj.xtc' does not exist" in detail.stdout
    assert re.search(
        r"failed in compute_rdf: traj\.xtc: (trajectory has \d+ frames, expected 41|reading)", detail.stdout
    ), detail.stdout
    with h5py.File(space / "export" / "dataset.h5", "r") as f:
        assert [j.decode() for j in f["job_id"][()]] == [good.id]


def test_command_line_without_slurm_controller_or_data_space(tmp_path):
    space = tmp_path / "space"
    none = _flow(space, "status")
    assert none.returncode == 2 and "no data space at" in none.stderr and "Traceback" not in none.stderr
    helped = _flow(space, "--help")
    assert helped.returncode == 0 and "usage:" in helped.stdout and "no data space at" in helped.stdout
    create_jobs(get_project(space, create=True), [_sp(1.0, 0.8)])
    # on this machine .ci/install installs slurm-wlm (sbatch, squeue) and runs no controller
    for args in (("status",), ("submit", "--pretend"), ("run", "--pretend"), ("run", "--help")):
        out = _flow(space, *args)
        assert out.returncode == 0, (args, out.stderr[-2000:])
        assert "Traceback" not in out.stderr, (args, out.stderr[-2000:])
    pretend = _flow(space, "submit", "--pretend")
    assert "flow.py run -o simulate -j" in pretend.stdout and "#SBATCH" in pretend.stdout
    assert "WARNING" not in pretend.stderr, pretend.stderr


@pytest.mark.parametrize("verbose", [False, True])
def test_run_output_is_quiet_unless_verbose(tmp_path, verbose):
    space = tmp_path / "space"
    create_jobs(get_project(space, create=True), [_sp(2.0, 0.5)])
    run = _flow(space, *(["-v"] if verbose else []), "run")
    assert run.returncode == 0, run.stderr[-2000:]
    text = run.stdout + run.stderr
    assert "[1/2] simulate" in text and "left ~" in text and "[2/2] compute_rdf" in text
    assert re.search(r"export .*dataset\.h5: 1 jobs \(1 new, 0 updated, 0 unchanged\), 0 skipped", text)
    assert "ExportReport(" not in text
    assert ("INFO" in text) is verbose
