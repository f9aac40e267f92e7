"""LAMMPS engine: the protocol for Mie lambda_r-6 fluids through a fine ``pair_style table`` (``lmp`` on PATH).

Units: length nm, time ps, energy kJ/mol, temperature K, mass amu, pressure bar. LAMMPS itself runs in its
``units lj`` (sigma, epsilon, tau, mass 1, k_B = 1); every output is converted to GROMACS units here.

The interaction is u(r) = C epsilon [(sigma/r)^lambda_r - (sigma/r)^6], C = lambda_r/(lambda_r - 6)
(lambda_r/6)^(6/(lambda_r - 6)), truncated (not shifted) at ``cutoff * sigma``, tabulated analytically at
:data:`TABLE_POINTS` points evenly spaced in r^2 from :data:`TABLE_INNER_SIGMA` sigma to the cut-off and read with
``pair_style table linear`` (the same spacing, so LAMMPS's internal table holds the analytic values; the
interpolation error against ``pair_style mie/cut`` is below 1e-5 relative in forces, energy and pressure, see
docs/mie.md). A fine table runs ~2x faster than ``mie/cut`` (general ``pow``). LAMMPS has no tail correction for
tables: the analytic Mie long-range corrections (:func:`project.engines.base.lrc_energy_per_particle`,
:func:`project.engines.base.lrc_pressure`) are added to every thermo row. The thermostat is ``fix langevin`` + ``fix
nve`` (Langevin, inverse friction ``tau_t``), the same protocol as the other engines.

Engine files live in ``workdir/lammps/``: the table, the start configuration, ``equil.restart`` (with
``equil.done``) and the production in chunks of about :data:`CHECKPOINT_S` seconds, each one ``lmp`` call that reads
the previous restart and writes ``chunk_<k>.dump`` (text, sorted by id), ``chunk_<k>.log`` and the next restart;
``progress.json`` (completed chunks) is written after each. A killed run resumes from the last completed chunk (the
equilibration, tens of seconds, restarts from its beginning). The frames are written to ``traj.xtc`` at the end.

Watchdog: ``fix halt`` stops LAMMPS when the potential energy exceeds :data:`MAX_U_PER_N_EPS` epsilon per
particle, the temperature :data:`MAX_T_FACTOR` times the highest thermostat temperature, or either is NaN; a
pair closer than the table's inner cut-off, lost atoms, or a call using more than ``LJ_MD_SLOW_FACTOR`` times
its expected CPU time also count as a blow-up (``SimulationError("blew up: ...")``).
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np

from project import units
from project.atomic import atomic_write_text
from project.engines.base import (
    Engine,
    EngineResult,
    Protocol,
    initial_positions,
    lrc_energy_per_particle,
    lrc_pressure,
    write_pdb,
    write_thermo_csv,
)
from project.env import setting
from project.eos import mie_prefactor
from project.errors import SimulationError

logger = logging.getLogger(__name__)

_LMP = "lmp"
#: Points of the Mie table (evenly spaced in r^2).
TABLE_POINTS = 20000
#: Inner end of the table in sigma: u(0.5 sigma) > 1800 epsilon for every lambda_r >= 7, never reached by a fluid.
TABLE_INNER_SIGMA = 0.5
#: Neighbour-list skin in sigma (rebuilt when an atom moved half of it).
SKIN_SIGMA = 0.3
#: Target wall time of one production chunk (s) at the estimated speed (env ``LJ_LAMMPS_CHECKPOINT_S``).
CHECKPOINT_S = 60.0
#: Blow-up limits (as for GROMACS and OpenMM).
MAX_U_PER_N_EPS = 50.0
MAX_T_FACTOR = 5.0
#: Kill an ``lmp`` call that uses this many times its expected CPU time (env ``LJ_MD_SLOW_FACTOR``) plus GRACE_S
#: (CPU seconds with one rank; wall seconds times ranks under ``mpirun``).
SLOW_FACTOR = 25.0
GRACE_S = 60.0
POLL_S = 0.5
_BLOWUP_PATTERNS = ("Pair distance < table inner cutoff", "Lost atoms", "Fix halt condition", "Out of range atoms")


def estimated_steps_per_s(p: Protocol, ranks: int) -> float:
    """Rough LAMMPS table speed (steps/s): ~1,200 steps/s for N = 1000, rho* = 0.8, rc = 3 sigma on one core."""
    pairs_factor = max(p.rho * p.sigma**3 / 0.8, 0.05) * (p.rc / p.sigma / 3.0) ** 3
    return min(1.2e6 / (p.N * pairs_factor) * max(ranks, 1), 2.0e4)


def write_table(path: Path, lambda_r: float, cutoff: float, n: int = TABLE_POINTS) -> None:
    """Write the Mie lambda_r-6 table in LAMMPS ``lj`` units (r in sigma, u in epsilon, f = -du/dr in epsilon/sigma).

    ``n`` points evenly spaced in r^2 from :data:`TABLE_INNER_SIGMA` to ``cutoff`` (sigma), section ``MIE``.
    """
    c = mie_prefactor(lambda_r)
    r = np.sqrt(np.linspace(TABLE_INNER_SIGMA**2, cutoff**2, n))
    u = c * (r**-lambda_r - r**-6.0)
    f = c * (lambda_r * r ** -(lambda_r + 1.0) - 6.0 * r**-7.0)
    lines = [
        f"# Mie {lambda_r:g}-6, C = {c:.12g}, lj units",
        "",
        "MIE",
        f"N {n} RSQ {TABLE_INNER_SIGMA} {cutoff:.12g}",
        "",
    ]
    lines += [f"{i + 1} {ri:.14g} {ui:.14g} {fi:.14g}" for i, (ri, ui, fi) in enumerate(zip(r, u, f))]
    atomic_write_text(path, "\n".join(lines) + "\n")


def _fmt(x: float) -> str:
    return f"{x:.10g}"


def _header(p: Protocol, cutoff: float, read: str) -> list[str]:
    t_max = MAX_T_FACTOR * max(p.T, p.T_melt) * units.KB / p.epsilon
    u_max = MAX_U_PER_N_EPS * p.N
    return [
        "units lj",
        "atom_style atomic",
        "boundary p p p",
        read,
        "mass 1 1.0",
        f"pair_style table linear {TABLE_POINTS}",
        f"pair_coeff 1 1 mie.table MIE {_fmt(cutoff)}",
        f"neighbor {SKIN_SIGMA} bin",
        "neigh_modify every 1 delay 0 check yes",
        f"timestep {_fmt(p.dt / p.tau)}",
        "thermo_style custom step pe press temp",
        "thermo_modify norm no format float %.10g",
        f'variable bad equal "(pe > {u_max:g}) || (temp > {t_max:.6g}) || (pe != pe) || (temp != temp)"',
    ]


def _seed(p: Protocol, offset: int) -> int:
    """A LAMMPS random seed (1 .. 2^31 - 2) derived from the protocol seed and a stage offset."""
    return (p.seed + offset) % (2**31 - 2) + 1


def _langevin(t_start: float, t_stop: float, p: Protocol, offset: int) -> str:
    red = units.KB / p.epsilon
    return (
        f"fix thermostat all langevin {_fmt(t_start * red)} {_fmt(t_stop * red)} {_fmt(p.tau_t / p.tau)} "
        f"{_seed(p, offset)} zero yes"
    )


def equil_input(p: Protocol, cutoff: float) -> str:
    """LAMMPS input of minimisation + melting + equilibration (T ramp as in :mod:`project.engines.base`)."""
    n1 = p.n_equil // 4
    n2 = p.n_equil // 4
    n3 = p.n_equil - n1 - n2
    red = units.KB / p.epsilon
    lines = _header(p, cutoff, "read_data start.data")
    lines += [
        "thermo 1000",
        "min_style sd",
        "minimize 0 10.0 5000 50000",
        "reset_timestep 0",
        f"velocity all create {_fmt(p.T_melt * red)} {_seed(p, 0)} dist gaussian mom yes",
        "fix integrate all nve",
        "fix halt all halt 100 v_bad > 0.5 error hard",
        _langevin(p.T_melt, p.T_melt, p, 1),
        f"run {n1}",
        "unfix thermostat",
        _langevin(p.T_melt, p.T, p, 2),
        f"run {n2}",
        "unfix thermostat",
        _langevin(p.T, p.T, p, 3),
        f"run {n3}",
        "write_restart equil.restart",
    ]
    return "\n".join(lines) + "\n"


def chunk_input(p: Protocol, cutoff: float, k: int, restart: str, nsteps: int) -> str:
    """LAMMPS input of production chunk ``k``: ``nsteps`` steps from ``restart``, frames and thermo every n_sample."""
    lines = _header(p, cutoff, f"read_restart {restart}")
    if k == 0:
        lines.append("reset_timestep 0")
    lines += [
        f"thermo {p.n_sample}",
        "fix integrate all nve",
        "fix halt all halt 100 v_bad > 0.5 error hard",
        _langevin(p.T, p.T, p, 1000 + k),
        f"dump frames all custom {p.n_sample} chunk_{k}.dump id x y z",
        "dump_modify frames sort id format float %.9g",
        f"run {nsteps}",
        f"write_restart chunk_{k}.restart",
    ]
    return "\n".join(lines) + "\n"


def write_data(path: Path, positions: np.ndarray, box: float) -> None:
    """Write a LAMMPS data file (atomic style) of positions and a cubic box, both in sigma."""
    lines = ["Mie fluid start configuration", "", f"{len(positions)} atoms", "1 atom types", ""]
    lines += [f"0 {box:.12g} xlo xhi", f"0 {box:.12g} ylo yhi", f"0 {box:.12g} zlo zhi", "", "Atoms # atomic", ""]
    lines += [f"{i + 1} 1 {x:.10g} {y:.10g} {z:.10g}" for i, (x, y, z) in enumerate(positions)]
    atomic_write_text(path, "\n".join(lines) + "\n")


def parse_thermo(log_text: str) -> np.ndarray:
    """Rows (step, pe, press, temp) of every thermo block of a LAMMPS log (lj units, pe total)."""
    rows = []
    block = False
    for line in log_text.splitlines():
        tok = line.split()
        if tok[:4] == ["Step", "PotEng", "Press", "Temp"]:
            block = True
            continue
        if block:
            if line.startswith("Loop time"):
                block = False
                continue
            try:
                rows.append([float(x) for x in tok[:4]])
            except (ValueError, IndexError):
                block = False
    return np.array(rows, dtype=float).reshape(-1, 4)


def read_dump(path: Path, n_atoms: int) -> tuple[np.ndarray, np.ndarray]:
    """Read a ``dump custom id x y z`` text file sorted by id: (timesteps, positions (n_frames, N, 3) in sigma)."""
    lines = Path(path).read_text().splitlines()
    steps, frames = [], []
    i = 0
    stride = 9 + n_atoms
    while i + stride <= len(lines):
        if lines[i] != "ITEM: TIMESTEP" or int(lines[i + 3]) != n_atoms:
            raise SimulationError(f"{path}: unexpected dump layout near line {i + 1}")
        steps.append(int(lines[i + 1]))
        data = np.array([row.split() for row in lines[i + 9 : i + stride]], dtype=float)
        frames.append(data[np.argsort(data[:, 0]), 1:4])
        i += stride
    return np.array(steps, dtype=int), np.array(frames, dtype=float).reshape(-1, n_atoms, 3)


class LammpsEngine(Engine):
    """Mie lambda_r-6 protocol with LAMMPS (``lmp``; several ranks through ``mpirun``)."""

    name = "lammps"

    def __init__(self, lmp: str = _LMP) -> None:
        self.lmp = lmp
        self._version: str | None = None

    @classmethod
    def available(cls) -> bool:
        """Return True when ``lmp`` is on PATH."""
        return shutil.which(_LMP) is not None

    def version(self) -> str:
        """Return the LAMMPS version string, e.g. ``"29 Sep 2021 - Update 2"``."""
        if self._version is None:
            try:
                out = subprocess.run([self.lmp, "-h"], capture_output=True, text=True, timeout=60, check=False).stdout
            except (OSError, subprocess.TimeoutExpired) as exc:
                raise SimulationError(f"cannot run '{self.lmp} -h': {exc}") from exc
            m = re.search(r"Parallel Simulator - (.+)", out)
            self._version = m.group(1).strip() if m else "unknown"
        return self._version

    def _command(self, ranks: int, inp: str, log: str) -> list[str]:
        cmd = [self.lmp, "-in", inp, "-log", log, "-screen", "none", "-nocite"]
        if ranks > 1:
            mpirun = shutil.which("mpirun") or "mpirun"
            cmd = [mpirun, "--allow-run-as-root", "--oversubscribe", "-np", str(ranks), *cmd]
        return cmd

    def _lmp(self, d: Path, name: str, text: str, nsteps: int, p: Protocol, ranks: int) -> float:
        """Run one input under the watchdog; return its wall time (s)."""
        from project.engines.gromacs import _cpu_seconds

        (d / f"{name}.in").write_text(text)
        slow = float(setting("MD_SLOW_FACTOR", str(SLOW_FACTOR)))
        deadline_cpu = GRACE_S + slow * nsteps / estimated_steps_per_s(p, 1)
        t0 = time.monotonic()
        with open(d / f"{name}.out", "w") as out:
            proc = subprocess.Popen(
                self._command(ranks, f"{name}.in", f"{name}.log"), cwd=d, stdout=out, stderr=subprocess.STDOUT
            )
            try:
                while proc.poll() is None:
                    time.sleep(POLL_S)
                    # one rank: CPU seconds of lmp (robust to shared cores); under mpirun the ranks are its
                    # children, so the wall time times the ranks stands in
                    used = _cpu_seconds(proc.pid, t0) if ranks == 1 else (time.monotonic() - t0) * ranks
                    if used > deadline_cpu * ranks:
                        proc.kill()
                        proc.wait()
                        raise SimulationError(
                            f"blew up: lmp '{name}' used more than {slow:g}x the expected CPU time for {nsteps} steps"
                        )
            except BaseException:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
                raise
        wall = time.monotonic() - t0
        log = (d / f"{name}.log").read_text(errors="replace") if (d / f"{name}.log").exists() else ""
        text_out = log + (d / f"{name}.out").read_text(errors="replace")
        for pattern in _BLOWUP_PATTERNS:
            if pattern in text_out:
                line = next(ln for ln in text_out.splitlines() if pattern in ln)
                raise SimulationError(f"blew up: LAMMPS stage '{name}': {line.strip()}")
        if proc.returncode != 0 or "Total wall time" not in log:
            raise SimulationError(f"lmp failed in '{name}' (exit {proc.returncode}); tail:\n{text_out[-2000:]}")
        return wall

    def run(self, protocol: Protocol, workdir: Path, threads: int | None = None) -> EngineResult:
        """Run (or resume) the protocol in ``workdir`` (see :meth:`Engine.run`); ``threads`` = MPI ranks."""
        p = protocol
        ranks = max(1, int(threads or 1))
        workdir = Path(workdir)
        d = workdir / "lammps"
        d.mkdir(parents=True, exist_ok=True)
        cutoff = p.rc / p.sigma
        if p.n_equil == 0:
            raise SimulationError("t_equil = 0 is not supported: melting needs a non-zero t_equil")
        write_table(d / "mie.table", p.lambda_r, cutoff)
        resumed = (d / "equil.done").exists() or (d / "progress.json").exists()
        if not (d / "equil.done").exists():
            box = p.box / p.sigma
            write_data(d / "start.data", initial_positions(p.N, p.box, p.seed) / p.sigma, box)
            logger.info("lammps: minimisation + %d equilibration steps in %s", p.n_equil, d)
            self._lmp(d, "equil", equil_input(p, cutoff), p.n_equil, p, ranks)
            (d / "equil.done").write_text("done\n")
        # chunk length from the protocol alone (not the machine), so a rerun draws the same thermostat seeds
        ckpt_s = float(setting("LAMMPS_CHECKPOINT_S", str(CHECKPOINT_S)))
        chunk = max(1, round(ckpt_s * estimated_steps_per_s(p, 1) / p.n_sample))
        chunk_steps = chunk * p.n_sample
        progress_path = d / "progress.json"
        done = json.loads(progress_path.read_text())["chunks"] if progress_path.exists() else []
        step = sum(n for _, n in done)
        prod_wall, prod_steps = 0.0, 0
        while step < p.n_prod:
            k = len(done)
            n = min(chunk_steps, p.n_prod - step)
            restart = "equil.restart" if k == 0 else f"chunk_{k - 1}.restart"
            prod_wall += self._lmp(d, f"chunk_{k}", chunk_input(p, cutoff, k, restart, n), n, p, ranks)
            prod_steps += n
            step += n
            done.append([k, n])
            atomic_write_text(progress_path, json.dumps({"chunks": done}))
            if k > 0:
                (d / f"chunk_{k - 1}.restart").unlink(missing_ok=True)
        self._collect(p, d, workdir, len(done))
        return EngineResult(n_steps=p.n_prod, prod_wall_s=prod_wall, prod_steps_run=prod_steps, resumed=resumed)

    def _collect(self, p: Protocol, d: Path, workdir: Path, n_chunks: int) -> None:
        """Merge the chunks into thermo.csv (GROMACS units, long-range corrections added), traj.xtc, topology.pdb."""
        from MDAnalysis.lib.formats.libmdaxdr import XTCFile

        thermo: dict[int, list[float]] = {}
        steps_all, frames_all = [], []
        for k in range(n_chunks):
            for row in parse_thermo((d / f"chunk_{k}.log").read_text(errors="replace")):
                thermo.setdefault(int(row[0]), list(row[1:]))
            steps, frames = read_dump(d / f"chunk_{k}.dump", p.N)
            steps_all.append(steps)
            frames_all.append(frames)
        steps = np.concatenate(steps_all)
        frames = np.concatenate(frames_all)
        steps, first = np.unique(steps, return_index=True)
        frames = frames[first]
        want = np.arange(0, p.n_prod + 1, p.n_sample)
        if not np.array_equal(steps, want) or any(int(s) not in thermo for s in want):
            raise SimulationError(f"LAMMPS output in {d} lacks frames or thermo rows (have {len(steps)} frames)")
        u_lrc = p.N * lrc_energy_per_particle(p.rho, p.sigma, p.epsilon, p.rc, p.lambda_r)
        p_lrc = lrc_pressure(p.rho, p.sigma, p.epsilon, p.rc, p.lambda_r)
        p_unit = p.epsilon / p.sigma**3 * units.KJ_MOL_NM3_TO_BAR
        rows = []
        for s in want:
            pe, press, temp = thermo[int(s)]
            rows.append([s * p.dt, pe * p.epsilon + u_lrc, press * p_unit + p_lrc, temp * p.epsilon / units.KB])
        rows = np.array(rows, dtype=float)
        if not np.all(np.isfinite(rows)):
            raise SimulationError("blew up: non-finite production energies in the LAMMPS log")
        write_thermo_csv(workdir / "thermo.csv", rows)
        box_nm = np.eye(3, dtype=np.float32) * np.float32(p.box)
        pos_nm = np.mod(frames * p.sigma, p.box)
        tmp = workdir / "traj.xtc.tmp"
        xtc = XTCFile(str(tmp), "w")
        try:
            for s, x in zip(want, pos_nm):
                xtc.write(x.astype(np.float32), box_nm, int(s), float(s * p.dt), precision=1000.0)
        finally:
            xtc.close()
        os.replace(tmp, workdir / "traj.xtc")
        write_pdb(workdir / "topology.pdb", pos_nm[-1], p.box)


__all__ = ["LammpsEngine", "estimated_steps_per_s", "parse_thermo", "read_dump", "write_table"]
