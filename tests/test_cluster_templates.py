"""Golden-file tests of the rendered cluster submission scripts (templates/script.sh).

``python flow.py submit --pretend`` renders the script for a fixed tiny data space in ``tmp_path`` with
``SIGNAC_FLOW_ENVIRONMENT`` naming flow 0.29's SLURM or PBS environment; stub ``squeue``/``qstat`` (empty queues)
stand in for the scheduler. What legitimately varies is normalised before the comparison: the data-space path,
the repository path, the Python executable, and the operation/bundle hashes flow derives from the project path
(job ids are kept: they come from the state points).

Regenerate the golden files after an intended template change with::

    UPDATE_GOLDEN=1 python -m pytest tests/test_cluster_templates.py
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN", "") not in ("", "0")

#: Tiny LJ fluid (sigma 0.25 nm, epsilon 1 kJ/mol, T* = 2): four densities, N = 300.
SMALL_DESIGN = {
    "kind": "grid",
    "sigma": [0.25],
    "epsilon": [1.0],
    "T_star": [2.0],
    "rho_star": [0.3, 0.35, 0.4, 0.45],
    "fixed": {"N": 300, "dt": 0.004, "t_equil": 2, "t_prod": 10, "t_sample": 0.5},
}
#: One large, long job: 2 cores, and a wall time (from flow.py's callable) above the 6 min floor.
BIG_DESIGN = {
    "kind": "grid",
    "sigma": [0.25],
    "epsilon": [1.0],
    "T_star": [2.0],
    "rho_star": [0.5],
    "fixed": {"N": 8000, "dt": 0.002, "t_equil": 50, "t_prod": 1000, "t_sample": 0.5},
}

SLURM = "DefaultSlurmEnvironment"
PBS = "DefaultPBSEnvironment"

#: name -> (environment, submit arguments, extra environment variables)
CASES = {
    "slurm_simulate_bundle_parallel": (SLURM, ["-o", "simulate", "-f", "N", "300", "--bundle", "2", "--parallel"], {}),
    "slurm_simulate_bundle_serial": (SLURM, ["-o", "simulate", "-f", "N", "300", "--bundle", "2"], {}),
    "slurm_simulate_big_single": (SLURM, ["-o", "simulate", "-f", "N", "8000"], {}),
    # np differs (1 core for N = 300, 2 for N = 8000): flow asks for --force
    "slurm_simulate_mixed_bundle": (SLURM, ["-o", "simulate", "--bundle", "3", "--parallel", "--force"], {}),
    "slurm_simulate_gpu": (
        SLURM,
        ["-o", "simulate", "-f", "N", "300", "--bundle", "2", "--parallel", "--force"],
        {"LJ_NGPU": "1", "LJ_ENGINE": "openmm"},
    ),
    "slurm_compute_rdf": (SLURM, ["-o", "compute_rdf"], {}),
    "slurm_aggregate": (SLURM, ["-o", "aggregate"], {}),
    "pbs_simulate_bundle_parallel": (PBS, ["-o", "simulate", "-f", "N", "300", "--bundle", "2", "--parallel"], {}),
    "pbs_compute_rdf": (PBS, ["-o", "compute_rdf"], {}),
    "pbs_aggregate": (PBS, ["-o", "aggregate"], {}),
}


def _init(design: dict, path: Path, dataspace: Path) -> None:
    path.write_text(json.dumps(design))
    subprocess.run(
        [sys.executable, "-m", "project", "init", str(path), "--dataspace", str(dataspace)],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    )


@pytest.fixture(scope="module")
def dataspace(tmp_path_factory) -> Path:
    """Five jobs: two new small, one new big, one simulated (simulate.json) and one done (rdf.npz as well)."""
    root = tmp_path_factory.mktemp("templates")
    ds = root / "dataspace"
    _init(SMALL_DESIGN, root / "small.json", ds)
    _init(BIG_DESIGN, root / "big.json", ds)
    small = sorted(
        (json.loads((d / "signac_statepoint.json").read_text())["rho"], d)
        for d in (ds / "workspace").iterdir()
        if d.is_dir() and json.loads((d / "signac_statepoint.json").read_text())["N"] == 300
    )
    simulated, done = small[2][1], small[3][1]
    for job in (simulated, done):
        (job / "simulate.json").write_text("{}")
    (done / "rdf.npz").write_bytes(b"")
    return ds


@pytest.fixture(scope="module")
def stub_bin(tmp_path_factory) -> Path:
    """Stub ``squeue`` and ``qstat`` that report empty queues (no scheduler runs here)."""
    d = tmp_path_factory.mktemp("stubbin")
    (d / "squeue").write_text("#!/bin/sh\nexit 0\n")
    (d / "qstat").write_text("#!/bin/sh\necho '<Data></Data>'\n")
    for f in d.iterdir():
        f.chmod(0o755)
    return d


def render(dataspace: Path, stub_bin: Path, environment: str, args: list[str], extra: dict[str, str]) -> str:
    """Return the stdout of ``flow.py submit --pretend`` (the submission scripts)."""
    env = {k: v for k, v in os.environ.items() if k not in ("LJ_NGPU", "LJ_ENGINE", "LJ_SIM_CORES", "SLURM_CONF")}
    env.update(
        {
            "LJ_DATASPACE": str(dataspace),
            "SIGNAC_FLOW_ENVIRONMENT": environment,
            "PATH": f"{stub_bin}{os.pathsep}{env.get('PATH', '')}",
            **extra,
        }
    )
    res = subprocess.run(
        [sys.executable, str(REPO / "flow.py"), "submit", "--pretend", *args],
        cwd=dataspace,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, f"flow.py submit --pretend failed:\n{res.stdout}\n{res.stderr}"
    return res.stdout


_RENDERED: dict[tuple[str, str], str] = {}


def render_case(case: str, dataspace: Path, stub_bin: Path) -> str:
    """Render one of :data:`CASES` once per data space (the golden and the semantic tests share it)."""
    key = (case, str(dataspace))
    if key not in _RENDERED:
        environment, args, extra = CASES[case]
        _RENDERED[key] = render(dataspace, stub_bin, environment, args, extra)
    return _RENDERED[key]


def normalise(text: str, dataspace: Path) -> str:
    """Replace what legitimately varies between runs and machines by placeholders."""
    text = text.replace(str(dataspace.resolve()), "<DATASPACE>").replace(str(dataspace), "<DATASPACE>")
    text = text.replace(str(REPO), "<REPO>").replace(sys.executable, "<PYTHON>")
    # operation ids hash the project path; bundle ids hash operation ids: keep job id and operation name
    text = re.sub(r"(/[0-9a-f]{32}/\w+/)[0-9a-f]{32}\b", r"\1<OPHASH>", text)
    text = re.sub(r"(/agg-[0-9a-f]{32}/\w+/)[0-9a-f]{32}\b", r"\1<OPHASH>", text)
    text = re.sub(r"bundle/[0-9a-f]{40}\b", "bundle/<BUNDLE>", text)
    # flow lists jobs in directory order, which varies: sort the scripts and the operations inside each
    return "".join(
        sorted(
            _sort_operations(script) + "# Submit command:" + tail
            for script, tail in zip(*[iter(_split_submit(text))] * 2)
        )
    )


_OP_HEADER = re.compile(r"^# \w+\((?:agg-)?[0-9a-f]{32}\)$", re.M)


def _split_submit(text: str) -> list[str]:
    """Return [script, rest-of-submit-line, script, ...] split at the ``# Submit command:`` lines."""
    parts = re.split(r"^# Submit command:", text, flags=re.M)
    pieces: list[str] = []
    for i, part in enumerate(parts[:-1]):
        if i:
            line_end = part.index("\n") + 1
            pieces[-1] += part[:line_end]
            part = part[line_end:]
        pieces += [part, ""]
    if len(parts) > 1:
        pieces[-1] += parts[-1]
    return pieces


def _sort_operations(script: str) -> str:
    """Sort the operation blocks of one script (header comment, exports, command; no blank line inside)."""
    starts = [m.start() for m in _OP_HEADER.finditer(script)]
    if len(starts) < 2:
        return script
    end = script.find("\n\n", starts[-1])
    end = len(script) if end < 0 else end + 1
    blocks = [script[a:b].rstrip("\n") + "\n" for a, b in zip(starts, starts[1:] + [end])]
    return script[: starts[0]] + "\n".join(sorted(blocks)) + script[end:]


def scripts_of(text: str) -> list[str]:
    """Split ``submit --pretend`` stdout into its submission scripts (each ends with ``# Submit command:``)."""
    out, cur = [], []
    for line in text.splitlines():
        if line.startswith("# Submit command:"):
            out.append("\n".join(cur) + "\n")
            cur = []
        else:
            cur.append(line)
    return out


@pytest.mark.parametrize("case", sorted(CASES))
def test_rendered_script_matches_golden(case: str, dataspace: Path, stub_bin: Path) -> None:
    text = normalise(render_case(case, dataspace, stub_bin), dataspace)
    golden = GOLDEN / f"{case}.sh"
    if UPDATE:
        GOLDEN.mkdir(exist_ok=True)
        golden.write_text(text)
    assert golden.is_file(), f"no golden file {golden}: run with UPDATE_GOLDEN=1 to create it"
    assert text == golden.read_text(), (
        f"rendered script differs from {golden}; if the change is intended, regenerate with UPDATE_GOLDEN=1"
    )


_OP_LINE = re.compile(
    r"^(?P<bg>\(trap 'lj_term=1' TERM; )?(?P<cmd>\S*python\S* \S*flow\.py run -o (?P<op>\w+) "
    r"-j (?P<id>\S+)) \|\| lj_failed (?P=op) (?P<dir>\S+) \$\?(?(bg); exit \$lj_status\) &)$",
    re.M,
)


@pytest.mark.parametrize("case", sorted(CASES))
def test_rendered_script_semantics(case: str, dataspace: Path, stub_bin: Path) -> None:
    """Checks that hold whatever the golden files say: valid bash, cores from np, failure recording per job."""
    environment, args, extra = CASES[case]
    scripts = scripts_of(render_case(case, dataspace, stub_bin))
    assert scripts, "no submission script rendered"
    parallel = "--parallel" in args
    for script in scripts:
        res = subprocess.run(["bash", "-n"], input=script, capture_output=True, text=True)
        assert res.returncode == 0, f"bash syntax error: {res.stderr}\n{script}"
        threads = [int(n) for n in re.findall(r"^export LJ_THREADS=(\d+)$", script, re.M)]
        ops = list(_OP_LINE.finditer(script))
        assert threads and len(threads) == len(ops), f"every operation must export LJ_THREADS:\n{script}"
        assert all(bool(m["bg"]) == parallel for m in ops), "parallel bundles run operations in the background"
        for m in ops:
            if m["id"].startswith("agg-"):
                assert m["dir"] == "-", "an aggregate failure must not mark a job"
            else:
                assert m["dir"] == str(dataspace / "workspace" / m["id"])
        cores = sum(threads) if parallel else max(threads)
        assert re.search(rf"^export LJ_DATASPACE={re.escape(str(dataspace))}$", script, re.M)
        assert script.rstrip().endswith("exit $lj_status")
        gpu = "LJ_NGPU" in extra
        assert ('export LJ_ENGINE="${LJ_ENGINE:-openmm}"' in script) == gpu
        if environment == SLURM:
            assert f"#SBATCH --cpus-per-task={cores}\n" in script
            assert "#SBATCH --nodes=1\n" in script and "#SBATCH --ntasks=1\n" in script
            assert re.search(r"^#SBATCH -t \d+:\d\d:\d\d$", script, re.M)
            assert re.search(r"^#SBATCH --mem=\d+[MG]$", script, re.M)
            assert ("#SBATCH --gres=gpu:1\n" in script) == gpu
            assert f"#SBATCH --output={dataspace}/slurm-%j.out\n" in script
        else:
            assert re.search(rf"^#PBS -l nodes=1:ppn={cores}$", script, re.M)
            assert re.search(r"^#PBS -l walltime=\d+:\d\d:\d\d$", script, re.M)


def test_directives_from_statepoint(dataspace: Path, stub_bin: Path) -> None:
    """Cores, memory and wall time of simulate come from flow.py's callables of N and the run length."""
    big = render(dataspace, stub_bin, SLURM, ["-o", "simulate", "-f", "N", "8000"], {})
    # 2 cores for N = 8000; wall time 2 x 525,000 steps x (8000 / 1000) / (2,000 steps/s/core x 2 cores) = 2100 s
    # (0.58 h after rounding); memory 1 GB + 0.5 GB x 8000 / 10,000 = 1.4 GB
    assert "#SBATCH --cpus-per-task=2\n" in big and "export LJ_THREADS=2\n" in big
    assert "#SBATCH -t 00:34:48\n" in big
    assert "#SBATCH --mem=1434M\n" in big
    small = render(dataspace, stub_bin, SLURM, ["-o", "simulate", "-f", "N", "300", "-n", "1"], {})
    assert "#SBATCH --cpus-per-task=1\n" in small and "#SBATCH -t 00:06:00\n" in small  # the 6 min floor
    # a serial bundle adds the wall times, a parallel one takes the longest and adds the memory
    serial = render(dataspace, stub_bin, SLURM, ["-o", "simulate", "-f", "N", "300", "--bundle", "2"], {})
    assert "#SBATCH -t 00:12:00\n" in serial and "#SBATCH --mem=1G\n" in serial
    # compute_rdf from frames x N x neighbours: N = 8000, 2000 frames at rho = 32 nm^-3 -> 3.7e9 pairs,
    # 2 x (30 s + 2e-7 s x 3.7e9) = 1544 s = 0.43 h
    rdf = render(dataspace, stub_bin, SLURM, ["-o", "compute_rdf", "-f", "N", "8000", "--ignore-conditions", "pre"], {})
    assert "#SBATCH -t 00:25:48\n" in rdf, rdf
    cores = render(dataspace, stub_bin, SLURM, ["-o", "simulate", "-f", "N", "300", "-n", "1"], {"LJ_SIM_CORES": "4"})
    assert "#SBATCH --cpus-per-task=4\n" in cores and "export LJ_THREADS=4\n" in cores


def test_gpu_submission_needs_force(dataspace: Path, stub_bin: Path) -> None:
    """flow's generic SLURM environment knows no GPU partition: GPUs need --force (docs/cluster.md says so)."""
    env = {k: v for k, v in os.environ.items() if k not in ("LJ_ENGINE", "LJ_SIM_CORES", "SLURM_CONF")}
    env.update(
        {
            "LJ_DATASPACE": str(dataspace),
            "SIGNAC_FLOW_ENVIRONMENT": SLURM,
            "LJ_NGPU": "1",
            "PATH": f"{stub_bin}{os.pathsep}{env.get('PATH', '')}",
        }
    )
    res = subprocess.run(
        [sys.executable, str(REPO / "flow.py"), "submit", "--pretend", "-o", "simulate", "-n", "1"],
        cwd=dataspace,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode != 0 and "Cannot request GPU's on nonGPU partition" in res.stderr, res.stderr


# --- the failure handling of the rendered script, run by bash (no scheduler; the flow commands are replaced) ---


@pytest.fixture()
def two_jobs(tmp_path: Path) -> Path:
    """A fresh data space with two small jobs (the scripts below write failure markers into it)."""
    design = dict(SMALL_DESIGN, rho_star=[0.3, 0.35])
    ds = tmp_path / "dataspace"
    _init(design, tmp_path / "design.json", ds)
    return ds


def _script_with_commands(ds: Path, stub_bin: Path, args: list[str], commands: list[str]) -> tuple[str, list[str]]:
    """Render ``submit --pretend ARGS`` and replace the i-th operation's flow command by ``commands[i]``."""
    scripts = scripts_of(render(ds, stub_bin, SLURM, args, {}))
    assert len(scripts) == 1
    ids = [m["id"] for m in _OP_LINE.finditer(scripts[0])]
    it = iter(commands)
    script = _OP_LINE.sub(lambda m: m[0].replace(m["cmd"], next(it)), scripts[0])
    return script, ids


def test_script_records_a_crash_and_goes_on(two_jobs: Path, stub_bin: Path, tmp_path: Path) -> None:
    """Serial bundle: the first operation crashes (exit 3), the second still runs, the script exits 3."""
    done = tmp_path / "second_ran"
    script, ids = _script_with_commands(
        two_jobs, stub_bin, ["-o", "simulate", "--bundle", "2"], ["sh -c 'exit 3'", f"touch {done}"]
    )
    res = subprocess.run(
        ["bash", "-c", script],
        env={**os.environ, "SLURM_JOB_ID": "77"},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert res.returncode == 3, res.stderr
    assert done.is_file(), "the rest of the bundle must run after a crash"
    failed = json.loads((two_jobs / "workspace" / ids[0] / "failed.json").read_text())
    assert failed["operation"] == "simulate"
    assert failed["reason"] == "exited with status 3 in scheduler job 77 (see its output file)"
    assert not (two_jobs / "workspace" / ids[1] / "failed.json").exists()
    assert not list((two_jobs / "workspace" / ids[0]).glob(".failed.*")), "temporary marker left behind"
    # the job's status is 'failed' for the query layer and for `flow.py status`
    from project.dataspace import job_status

    assert job_status(str(two_jobs / "workspace" / ids[0])) == "failed"
    assert job_status(str(two_jobs / "workspace" / ids[1])) == "new"


def test_script_records_sigterm_of_a_parallel_bundle(two_jobs: Path, stub_bin: Path, tmp_path: Path) -> None:
    """Parallel bundle: SIGTERM to every process (as SLURM does at the time limit) marks both jobs and exits 143."""
    script, ids = _script_with_commands(
        two_jobs, stub_bin, ["-o", "simulate", "--bundle", "2", "--parallel"], ["sleep 60", "sleep 60"]
    )
    proc = subprocess.Popen(
        ["bash", "-c", script],
        env={**os.environ, "SLURM_JOB_ID": "78"},
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while len(_children(proc.pid)) < 2:  # both operations started
            assert time.monotonic() < deadline, "operations did not start"
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGTERM)  # the whole process group, like slurmstepd
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 143, err
    for job_id in ids:
        failed = json.loads((two_jobs / "workspace" / job_id / "failed.json").read_text())
        assert failed["reason"] == "killed by SIGTERM in scheduler job 78 (time limit or scancel)", failed


def _children(pid: int) -> list[int]:
    """PIDs of the ``sleep`` processes below ``pid`` (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            comm = stat.read_text().split("(", 1)[1].rsplit(")", 1)[0]
        except (OSError, IndexError):
            continue
        if comm == "sleep" and _descends(int(fields[1]), pid):
            found.append(int(stat.parent.name))
    return found


def _descends(ppid: int, ancestor: int) -> bool:
    for _ in range(10):
        if ppid == ancestor:
            return True
        if ppid <= 1:
            return False
        try:
            ppid = int(Path(f"/proc/{ppid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError):
            return False
    return False


def test_walltime_of_a_mie_job_uses_the_lammps_speed(monkeypatch) -> None:
    """A Mie state (lambda_r != 12) runs on LAMMPS, whose speed is assumed at 700 steps/s/core (measured 950-2,600
    on these machines), an LJ state on GROMACS at 2,000: the same run is 2000 / 700 times longer. Reference: 2 x
    (20 + 100) tau / 0.002 tau = 120,000 steps, N = 1000, one core: 2 x 120,000 / 700 s = 0.095 h -> the 0.1 h floor;
    with t_prod 1000 tau: 2 x 510,000 / 700 s = 0.40 h (GROMACS: 0.14 h)."""
    import importlib.util
    import types

    spec = importlib.util.spec_from_file_location("lj_flow_project", REPO / "flow.py")
    flow = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(flow)  # flow.py under another name: "flow" is the signac-flow package

    monkeypatch.delenv("LJ_ENGINE", raising=False)
    monkeypatch.delenv("LJ_NGPU", raising=False)
    monkeypatch.delenv("LJ_SIM_CORES", raising=False)
    sp = {"N": 1000, "dt": 0.002, "t_equil": 20.0, "t_prod": 1000.0}
    mie = types.SimpleNamespace(cached_statepoint={**sp, "lambda_r": 16.0})
    lj = types.SimpleNamespace(cached_statepoint=sp)
    assert flow._walltime_hours(mie) == pytest.approx(0.40, abs=0.005)
    assert flow._walltime_hours(lj) == pytest.approx(0.14, abs=0.005)
    short = types.SimpleNamespace(cached_statepoint={**sp, "t_prod": 100.0, "lambda_r": 8.0})
    assert flow._walltime_hours(short) == 0.1
