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
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN", "") not in ("", "0")

#: Tiny LJ fluid (sigma 0.25 nm, epsilon 1 kJ/mol, T* = 2): four densities, N = 300.
SMALL_DESIGN = {"kind": "grid", "sigma": [0.25], "epsilon": [1.0], "T_star": [2.0],
                "rho_star": [0.3, 0.35, 0.4, 0.45],
                "fixed": {"N": 300, "dt": 0.004, "t_equil": 2, "t_prod": 10, "t_sample": 0.5}}
#: One large, long job: its wall time (from flow.py's callable) exceeds the 15 min floor.
BIG_DESIGN = {"kind": "grid", "sigma": [0.25], "epsilon": [1.0], "T_star": [2.0], "rho_star": [0.5],
              "fixed": {"N": 8000, "dt": 0.002, "t_equil": 50, "t_prod": 1000, "t_sample": 0.5}}

SLURM = "DefaultSlurmEnvironment"
PBS = "DefaultPBSEnvironment"

#: name -> (environment, submit arguments, extra environment variables)
CASES = {
    "slurm_simulate_bundle_parallel": (SLURM, ["-o", "simulate", "-f", "N", "300", "--bundle", "2", "--parallel"],
                                       {}),
    "slurm_simulate_bundle_serial": (SLURM, ["-o", "simulate", "-f", "N", "300", "--bundle", "2"], {}),
    "slurm_simulate_big_single": (SLURM, ["-o", "simulate", "-f", "N", "8000"], {}),
    "slurm_simulate_mixed_bundle": (SLURM, ["-o", "simulate", "--bundle", "3", "--parallel"], {}),
    "slurm_simulate_gpu": (SLURM, ["-o", "simulate", "-f", "N", "300", "--bundle", "2", "--parallel", "--force"],
                           {"LJ_NGPU": "1", "LJ_ENGINE": "openmm"}),
    "slurm_compute_rdf": (SLURM, ["-o", "compute_rdf"], {}),
    "slurm_aggregate": (SLURM, ["-o", "aggregate"], {}),
    "pbs_simulate_bundle_parallel": (PBS, ["-o", "simulate", "-f", "N", "300", "--bundle", "2", "--parallel"], {}),
    "pbs_compute_rdf": (PBS, ["-o", "compute_rdf"], {}),
    "pbs_aggregate": (PBS, ["-o", "aggregate"], {}),
}


def _init(design: dict, path: Path, dataspace: Path) -> None:
    path.write_text(json.dumps(design))
    subprocess.run([sys.executable, "-m", "project", "init", str(path), "--dataspace", str(dataspace)], cwd=REPO,
                   check=True, capture_output=True, text=True)


@pytest.fixture(scope="module")
def dataspace(tmp_path_factory) -> Path:
    """Five jobs: two new small, one new big, one simulated (simulate.json) and one done (rdf.npz as well)."""
    root = tmp_path_factory.mktemp("templates")
    ds = root / "dataspace"
    _init(SMALL_DESIGN, root / "small.json", ds)
    _init(BIG_DESIGN, root / "big.json", ds)
    small = sorted((json.loads((d / "signac_statepoint.json").read_text())["rho"], d)
                   for d in (ds / "workspace").iterdir() if d.is_dir()
                   and json.loads((d / "signac_statepoint.json").read_text())["N"] == 300)
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
    env = {k: v for k, v in os.environ.items() if k not in ("LJ_NGPU", "LJ_ENGINE", "SLURM_CONF")}
    env.update({"LJ_DATASPACE": str(dataspace), "SIGNAC_FLOW_ENVIRONMENT": environment,
                "PATH": f"{stub_bin}{os.pathsep}{env.get('PATH', '')}", **extra})
    res = subprocess.run([sys.executable, str(REPO / "flow.py"), "submit", "--pretend", *args], cwd=dataspace,
                         env=env, capture_output=True, text=True, timeout=120)
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
    return "".join(sorted(_sort_operations(script) + "# Submit command:" + tail
                          for script, tail in zip(*[iter(_split_submit(text))] * 2)))


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
    """Sort the operation blocks of one script (header comment, exports, command, eligible-operation comments)."""
    starts = [m.start() for m in _OP_HEADER.finditer(script)]
    if len(starts) < 2:
        return script
    end = script.find("\n# Wait for every operation", starts[-1])
    end = len(script) if end < 0 else end + 1
    blocks = [script[a:b].rstrip("\n") + "\n" for a, b in zip(starts, starts[1:] + [end])]
    return script[:starts[0]] + "\n".join(sorted(blocks)) + script[end:]


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
    assert text == golden.read_text(), (f"rendered script differs from {golden}; if the change is intended, "
                                        "regenerate with UPDATE_GOLDEN=1")


@pytest.mark.parametrize("case", sorted(CASES))
def test_rendered_script_semantics(case: str, dataspace: Path, stub_bin: Path) -> None:
    """Checks that hold whatever the golden files say: valid bash, threads and cores from the np directive."""
    environment, args, extra = CASES[case]
    scripts = scripts_of(render_case(case, dataspace, stub_bin))
    assert scripts, "no submission script rendered"
    parallel = "--parallel" in args
    for script in scripts:
        res = subprocess.run(["bash", "-n"], input=script, capture_output=True, text=True)
        assert res.returncode == 0, f"bash syntax error: {res.stderr}\n{script}"
        threads = [int(n) for n in re.findall(r"^export LJ_THREADS=(\d+)$", script, re.M)]
        commands = re.findall(r"^\S*python\S* \S*flow\.py run -o (\w+)", script, re.M)
        assert threads and len(threads) == len(commands), "every operation must export LJ_THREADS"
        cores = sum(threads) if parallel else max(threads)
        assert re.search(rf"^export LJ_DATASPACE={re.escape(str(dataspace))}$", script, re.M)
        if environment == SLURM:
            assert f"#SBATCH --cpus-per-task={cores}\n" in script
            assert "#SBATCH --nodes=1\n" in script and "#SBATCH --ntasks=1\n" in script
            assert re.search(r"^#SBATCH -t \d+:\d\d:\d\d$", script, re.M)
            assert re.search(r"^#SBATCH --mem=\d+[MG]$", script, re.M)
            assert ("#SBATCH --gres=gpu:1" in script) == ("LJ_NGPU" in extra)
        else:
            assert re.search(rf"^#PBS -l nodes=1:ppn={cores}$", script, re.M)
            assert re.search(r"^#PBS -l walltime=\d+:\d\d:\d\d$", script, re.M)
        if parallel:
            assert script.rstrip().endswith("exit $lj_status")


def test_walltime_from_statepoint(dataspace: Path, stub_bin: Path) -> None:
    """The big job's wall time comes from flow.py's callable (N, run length), a bundle takes the longest."""
    big = render(dataspace, stub_bin, SLURM, ["-o", "simulate", "-f", "N", "8000"], {})
    assert "#SBATCH -t 01:10:12" in big  # 2 x 525,000 steps x 8 / 2000 s = 1.17 h
    small = render(dataspace, stub_bin, SLURM, ["-o", "simulate", "-f", "N", "300", "-n", "1"], {})
    assert "#SBATCH -t 00:15:00" in small
