"""End to end on a real single-node SLURM: ``python flow.py submit`` of simulate, compute_rdf and aggregate.

The cluster (munged, slurmctld, slurmd on free ports, everything under ``tmp_path``) is started by
:class:`project.cluster.LocalSlurm` and stopped by PID in the fixture teardown, also when a test fails. CI installs
slurm-wlm and munge (``.ci/install``): when they are missing this test FAILS with the packages to install, it is
never skipped. Two tiny jobs (N = 300, 3,000 steps each) keep it to about a minute on 2 cores.

Also covers failure handling: a job whose trajectory is missing fails in compute_rdf on the cluster, ``flow.py
status`` shows the reason, and after ``python -m project reset-failed`` a resubmission runs only what is missing.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from project.cluster import ClusterError, LocalSlurm, find_binaries

REPO = Path(__file__).resolve().parents[1]

#: Two tiny LJ fluids: box > 2.4 nm (RDF grid to 1.2 nm), 3,000 steps each.
DESIGN = {"kind": "grid", "sigma": [0.25], "epsilon": [1.0], "T_star": [2.0], "rho_star": [0.25, 0.3],
          "fixed": {"N": 300, "dt": 0.004, "t_equil": 2, "t_prod": 10, "t_sample": 0.5}}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def slurm(tmp_path_factory):
    """A running single-node SLURM; stopped by PID afterwards, whatever happened."""
    try:
        find_binaries()
    except ClusterError as exc:
        pytest.fail(f"SLURM integration test cannot run: {exc}", pytrace=False)
    if os.geteuid() != 0:
        pytest.fail("SLURM integration test needs root (CI runs as root)", pytrace=False)
    cluster = LocalSlurm(tmp_path_factory.mktemp("slurm"), cpus=8, memory_mb=8000)
    try:
        cluster.start(timeout=60)
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def dataspace(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("slurm_ds")
    (root / "design.json").write_text(json.dumps(DESIGN))
    ds = root / "dataspace"
    subprocess.run([sys.executable, "-m", "project", "init", str(root / "design.json"), "--dataspace", str(ds)],
                   cwd=REPO, check=True, capture_output=True, text=True, timeout=120)
    return ds


def _env(slurm: LocalSlurm, dataspace: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM_", "LJ_"))}
    env.update(slurm.env())
    env["LJ_DATASPACE"] = str(dataspace)
    return env


def flow(slurm: LocalSlurm, dataspace: Path, *args: str, timeout: float = 240) -> str:
    """Run ``python flow.py ARGS`` against the cluster; return stdout + stderr (assert it succeeded)."""
    res = subprocess.run([sys.executable, str(REPO / "flow.py"), *args], cwd=dataspace, env=_env(slurm, dataspace),
                         capture_output=True, text=True, timeout=timeout)
    out = res.stdout + res.stderr
    assert res.returncode == 0, f"flow.py {' '.join(args)} failed ({res.returncode}):\n{out}\n{_logs(dataspace)}"
    return out


def submit_and_wait(slurm: LocalSlurm, dataspace: Path, *args: str) -> str:
    """``flow.py submit ARGS -- --wait``, then wait for the queue to drain; return flow's output."""
    out = flow(slurm, dataspace, "submit", *args, "--", "--wait")
    slurm.wait_empty(timeout=120)
    return out


def _logs(dataspace: Path) -> str:
    return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}"
                     for p in sorted(dataspace.glob("slurm-*.out")))


def _planned(out: str) -> set[tuple[str, str]]:
    """(operation, job id) of every operation a ``submit`` script runs."""
    return set(re.findall(r"^\S+ \S*flow\.py run -o (\w+) -j (\S+)", out, re.M))


def _jobs(dataspace: Path) -> list[Path]:
    return sorted(p for p in (dataspace / "workspace").iterdir() if p.is_dir())


def _doc(job: Path) -> dict:
    return json.loads((job / "signac_job_document.json").read_text())


def test_submit_simulate_rdf_failure_and_resubmission(slurm: LocalSlurm, dataspace: Path) -> None:
    t0 = time.monotonic()
    good, bad = _jobs(dataspace)

    # 1. simulate both jobs as one parallel bundle (2 x np=2 -> 4 cores on the 8-CPU node); submitting again while
    # it is queued or running submits nothing (flow matches the scheduler's job names)
    flow(slurm, dataspace, "submit", "-o", "simulate", "--bundle", "2", "--parallel")
    flow(slurm, dataspace, "submit", "-o", "simulate", "--bundle", "2", "--parallel")
    queued = slurm.squeue().strip().splitlines()
    assert len(queued) <= 1, f"operations submitted twice:\n{queued}"
    slurm.wait_empty(timeout=180)
    for job in (good, bad):
        assert (job / "simulate.json").is_file(), f"simulate did not finish in {job.name}:\n{_logs(dataspace)}"
        prov = _doc(job)["simulate"]["provenance"]
        assert prov["code"]["package_version"] and "commit" in prov["code"]
        assert prov["engine"]["name"] in ("gromacs", "openmm") and prov["engine"]["version"]
        assert prov["host"]["hostname"]
    logs = _logs(dataspace)
    assert "cores 4" in logs, logs  # the bundle got np = 2 + 2 cores
    sim_mtimes = {job: (job / "simulate.json").stat().st_mtime_ns for job in (good, bad)}

    # 2. break one job (its trajectory goes missing), then compute the RDFs on the cluster
    (bad / "traj.xtc").rename(bad / "traj.xtc.saved")
    submit_and_wait(slurm, dataspace, "-o", "compute_rdf", "--bundle", "2", "--parallel")
    assert (good / "rdf.npz").is_file(), _logs(dataspace)
    assert "provenance" in _doc(good)["compute_rdf"]
    assert not (bad / "rdf.npz").exists()
    failure = json.loads((bad / "failed.json").read_text())
    assert failure["operation"] == "compute_rdf" and "traj.xtc" in failure["reason"]
    rdf_mtime = (good / "rdf.npz").stat().st_mtime_ns

    # 3. status shows the failed job with its reason
    status = flow(slurm, dataspace, "status", "--detailed")
    assert "failed in compute_rdf" in status and bad.name[:7] in status, status

    # 4. nothing runs for a failed job until the marker is reset
    out = flow(slurm, dataspace, "submit", "-o", "compute_rdf", "--pretend")
    assert _planned(out) == set(), out

    # 5. fix, reset, resubmit: only compute_rdf(bad) and aggregate are planned, finished work is untouched
    (bad / "traj.xtc.saved").rename(bad / "traj.xtc")
    res = subprocess.run([sys.executable, "-m", "project", "reset-failed", "--dataspace", str(dataspace)],
                         cwd=REPO, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and "cleared 1 failed" in res.stdout, res.stdout + res.stderr
    pretend = flow(slurm, dataspace, "submit", "--pretend")
    planned = _planned(pretend)
    assert ("compute_rdf", bad.name) in planned and {op for op, _ in planned} == {"compute_rdf", "aggregate"}, pretend
    assert len(planned) == 2, pretend
    # aggregate must start after the RDFs are written (in one bundle or as concurrent jobs it could run first)
    submit_and_wait(slurm, dataspace, "-o", "compute_rdf")
    submit_and_wait(slurm, dataspace, "-o", "aggregate")
    assert (bad / "rdf.npz").is_file(), _logs(dataspace)
    assert not (bad / "failed.json").exists()
    assert (dataspace / "export" / "dataset.h5").is_file(), _logs(dataspace)
    for job in (good, bad):
        assert (job / "simulate.json").stat().st_mtime_ns == sim_mtimes[job], "simulate ran again"
    assert (good / "rdf.npz").stat().st_mtime_ns == rdf_mtime, "compute_rdf ran again on a finished job"

    # 6. a final submission finds nothing to do
    out = flow(slurm, dataspace, "submit", "--pretend")
    assert _planned(out) == set(), out
    assert time.monotonic() - t0 < 240


def test_missing_binaries_fail_with_packages_to_install() -> None:
    """A missing executable gives an error naming it and the Debian package (the fixture turns it into a FAIL)."""
    with pytest.raises(ClusterError, match=r"lj-no-such-daemon.*apt-get install -y slurm-wlm"):
        find_binaries({"lj-no-such-daemon": "slurm-wlm"})
