"""GROMACS engine: writes .mdp/.gro/.top, runs ``gmx grompp`` / ``gmx mdrun`` under a watchdog.

Units: length nm, time ps, energy kJ/mol, temperature K, mass amu, pressure bar.

Engine files live in ``workdir/gromacs/`` (one ``<stage>.*`` set per stage ``em``, ``equil``, ``prod``);
``<stage>.done`` marks a finished stage. ``mdrun`` writes a checkpoint every minute (``-cpt 1``) and is always
started with ``-cpi <stage>.cpt``: after a kill the stage resumes from its last checkpoint and appends to its
output files (GROMACS truncates them to the checkpoint first), so the final XTC is complete and monotonic.

The interaction is LJ 12-6 truncated, not shifted (``vdw-modifier = None``), at ``rvdw = cutoff * sigma``
with the Verlet buffer set by ``verlet-buffer-tolerance`` (GROMACS applies the exact cut-off in the kernel;
the buffer only sets the pair-list radius) and ``DispCorr = EnerPres`` for the long-range correction to energy
and pressure. The thermostat is GROMACS ``sd`` (Langevin, inverse friction ``tau-t``).

A watchdog polls ``md.log`` while ``mdrun`` runs and kills it (then raises
``SimulationError("blew up: ...")``) on NaN/inf or huge energies or temperatures, when its log shows no new
step for a while, or when it falls far behind the expected speed: a blown-up GROMACS LJ run can keep running
at a crawl instead of exiting (it also ignores SIGTERM then, so the watchdog sends SIGKILL).
"""

from __future__ import annotations

import logging
import math
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import numpy as np

from project.atomic import atomic_copy
from project.engines.base import (
    Engine,
    EngineResult,
    Protocol,
    write_pdb,
    write_thermo_csv,
)
from project.env import setting
from project.errors import SimulationError

logger = logging.getLogger(__name__)

#: mdrun checkpoint interval in minutes (env ``LJ_GMX_CHECKPOINT_MIN`` overrides).
CHECKPOINT_MINUTES = 1.0
#: Kill a run that needs this many times the CPU time of the rough speed estimate (env ``LJ_MD_SLOW_FACTOR``).
SLOW_FACTOR = 25.0
#: CPU seconds allowed on top of the speed estimate (start-up, slow machines).
GRACE_S = 60.0
#: Kill a run whose md.log shows no new step while mdrun used this much CPU time (s; env
#: ``LJ_MD_STALL_S``; counted from the first logged step, start-up is covered by the overall limit), or
#: ``SLOW_FACTOR`` times the expected CPU time of one log interval when that is longer. The limits count CPU
#: seconds, not wall seconds: mdrun processes sharing oversubscribed cores slow each other down 20-30x in wall
#: time (measured: 440 steps/s instead of 12,000), which wall-clock limits mistook for blow-ups.
STALL_S = 60.0
#: Verlet buffer tolerance in reduced units (epsilon / tau per particle). GROMACS' default 0.005 kJ/mol/ps
#: with its automatic nstlist increase and dynamic pruning let hot, dilute systems (T* ~ 1.8, rho* ~ 0.3)
#: blow up within a few hundred steps at dt = 0.004 tau (measured: KE 1e13 by step 600); 2e-4 epsilon/tau keeps
#: them stable and is faster than a fixed nstlist = 10 list (1630 vs 1150 ns/day on that system).
VERLET_TOL_REDUCED = 2e-4
#: Pair-list buffer (in sigma) of the fixed-list fallback used when the tolerance's buffer does not fit the box.
FIXED_BUFFER_SIGMA = 0.1
#: Poll interval of the watchdog (s).
POLL_S = 0.5
#: A potential energy above this many epsilon per particle, or a temperature above this many times the
#: highest thermostat temperature, counts as a blow-up.
MAX_U_PER_N_EPS = 50.0
MAX_T_FACTOR = 5.0

_GMX = "gmx"


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["GMX_MAXBACKUP"] = "-1"  # no #backup# files
    env.pop("OMP_NUM_THREADS", None)  # -nt decides
    return env


def estimated_steps_per_s(p: Protocol, threads: int) -> float:
    """Rough GROMACS speed (steps/s): ~7,500 steps/s for N=1000, rho*=0.8, rc=3 sigma on 2 cores.

    Parameters
    ----------
    p : Protocol
        Run parameters.
    threads : int
        OpenMP threads.

    Returns
    -------
    float
        Steps per second (capped at 50,000 for tiny or dilute systems).
    """
    pairs_factor = max(p.rho * p.sigma**3 / 0.8, 0.05) * (p.rc / p.sigma / 3.0) ** 3
    rate = 7.5e6 / (p.N * pairs_factor) * max(threads, 1) / 2.0
    return min(rate, 5.0e4)


def _fmt(x: float) -> str:
    return f"{x:.10g}"


def _mdp_common(p: Protocol, nsteps: int, integrator: str, fixed_list: bool = False) -> list[str]:
    if fixed_list:  # pair list rebuilt every 10 steps with a buffer of 0.1 sigma (kept below half the box)
        rlist = min(p.rc + FIXED_BUFFER_SIGMA * p.sigma, 0.49 * p.box)
        pairlist = ["nstlist                  = 10", "verlet-buffer-tolerance  = -1", f"rlist = {_fmt(rlist)}"]
    else:
        pairlist = [
            "nstlist                  = 10",
            f"verlet-buffer-tolerance  = {_fmt(VERLET_TOL_REDUCED * p.epsilon / p.tau)}",
        ]
    return [
        f"integrator               = {integrator}",
        f"nsteps                   = {nsteps}",
        "cutoff-scheme            = Verlet",
        "pbc                      = xyz",
        *pairlist,
        "vdwtype                  = Cut-off",
        "vdw-modifier             = None",
        f"rvdw                     = {_fmt(p.rc)}",
        "coulombtype              = Cut-off",
        f"rcoulomb                 = {_fmt(p.rc)}",
        "DispCorr                 = EnerPres",
    ]


def _divisor_at_most(n: int, cap: int) -> int:
    for d in range(min(n, cap), 0, -1):
        if n % d == 0:
            return d
    return 1


def make_mdp(p: Protocol, stage: str, fixed_list: bool = False) -> str:
    """Return the .mdp text of a stage (``"em"``, ``"equil"`` or ``"prod"``).

    Parameters
    ----------
    p : Protocol
        Run parameters (times in ps, temperatures in K, lengths in nm).
    stage : str
        Stage name.
    fixed_list : bool
        Pair list every 10 steps with a fixed buffer of ``FIXED_BUFFER_SIGMA`` sigma (nm) instead of GROMACS'
        tolerance-based buffer; the fallback for boxes too small for that buffer.

    Returns
    -------
    str
        The .mdp file content.
    """
    if stage == "em":
        lines = _mdp_common(p, 5000, "steep", fixed_list)
        lines += [
            f"emtol                    = {_fmt(10.0 * p.epsilon / p.sigma)}",
            "emstep = 0.001",
            "nstenergy = 0",
            "nstlog = 100",
        ]
        return "\n".join(lines) + "\n"
    nsteps = p.n_equil if stage == "equil" else p.n_prod
    nst_out = p.n_sample
    nstcalc = _divisor_at_most(nst_out, 100)
    nstlog = nstcalc * max(1, 500 // nstcalc)  # frequent log blocks: the watchdog's progress signal
    lines = _mdp_common(p, nsteps, "sd", fixed_list)
    lines += [
        f"dt                       = {_fmt(p.dt)}",
        "tinit                    = 0",
        "comm-mode                = Linear",
        "tc-grps                  = System",
        f"tau-t                    = {_fmt(p.tau_t)}",
        f"ref-t                    = {_fmt(p.T)}",
        f"ld-seed                  = {p.seed if stage == 'equil' else p.seed + 1}",
        f"nstcalcenergy            = {nstcalc}",
        f"nstlog                   = {nstlog}",
    ]
    if stage == "equil":
        t_eq = nsteps * p.dt
        lines += [
            "gen-vel                  = yes",
            f"gen-temp                 = {_fmt(p.T_melt)}",
            f"gen-seed                 = {p.seed}",
            "nstenergy                = 0",
            "nstxout-compressed       = 0",
            "annealing                = single",
            "annealing-npoints        = 3",
            f"annealing-time           = 0 {_fmt(0.25 * t_eq)} {_fmt(0.5 * t_eq)}",
            f"annealing-temp           = {_fmt(p.T_melt)} {_fmt(p.T_melt)} {_fmt(p.T)}",
        ]
    else:
        lines += [
            "gen-vel                  = no",
            "continuation             = yes",
            f"nstenergy                = {nst_out}",
            f"nstxout-compressed       = {nst_out}",
            "compressed-x-precision   = 1000",
        ]
    return "\n".join(lines) + "\n"


def make_top(p: Protocol) -> str:
    """Return the .top text: one LJ atom type (sigma nm, epsilon kJ/mol, combination rule 2), N molecules."""
    return (
        "[ defaults ]\n; nbfunc comb-rule gen-pairs fudgeLJ fudgeQQ\n1 2 no 1.0 1.0\n\n"
        "[ atomtypes ]\n; name at.num mass charge ptype sigma epsilon\n"
        f"LJ 0 {_fmt(p.mass)} 0.0 A {_fmt(p.sigma)} {_fmt(p.epsilon)}\n\n"
        "[ moleculetype ]\n; name nrexcl\nLJ 1\n\n"
        f"[ atoms ]\n1 LJ 1 LJ LJ 1 0.0 {_fmt(p.mass)}\n\n"
        f"[ system ]\nLennard-Jones fluid\n\n[ molecules ]\nLJ {p.N}\n"
    )


def make_gro(positions: np.ndarray, box: float) -> str:
    """Return .gro text for positions (nm) in a cubic box of edge ``box`` (nm)."""
    out = ["LJ start configuration", f"{len(positions):5d}"]
    for i, (x, y, z) in enumerate(positions):
        out.append(f"{(i + 1) % 100000:5d}{'LJ':<5s}{'LJ':>5s}{(i + 1) % 100000:5d}{x:8.3f}{y:8.3f}{z:8.3f}")
    out.append(f"{box:10.5f}{box:10.5f}{box:10.5f}")
    return "\n".join(out) + "\n"


def read_gro(path: Path) -> tuple[np.ndarray, float]:
    """Read positions (nm, ``(N, 3)``) and the cubic box edge (nm) from a .gro file."""
    lines = Path(path).read_text().splitlines()
    n = int(lines[1])
    pos = np.array([[float(line[20:28]), float(line[28:36]), float(line[36:44])] for line in lines[2 : 2 + n]])
    box = float(lines[2 + n].split()[0])
    return pos, box


def _parse_log_energies(text: str) -> tuple[int | None, list[dict[str, float]]]:
    """Parse the energy blocks of an md.log fragment: last step seen and each block's {name: value}."""
    last_step = None
    blocks: list[dict[str, float]] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if re.match(r"^\s+Step\s+Time\s*$", line) and i + 1 < len(lines):
            tok = lines[i + 1].split()
            if tok and tok[0].isdigit():
                last_step = int(tok[0])
        if line.strip() == "Energies (kJ/mol)":
            block: dict[str, float] = {}
            j = i + 1
            while j + 1 < len(lines) and lines[j].strip() and lines[j + 1].strip():
                names, vals = lines[j], lines[j + 1]
                ncol = (len(names) + 14) // 15
                for k in range(ncol):
                    name = names[15 * k : 15 * k + 15].strip()
                    sval = vals[15 * k : 15 * k + 15].strip()
                    if name:
                        try:
                            block[name] = float(sval)
                        except ValueError:
                            block[name] = math.nan
                j += 2
            blocks.append(block)
            i = j
        i += 1
    return last_step, blocks


class GromacsEngine(Engine):
    """LJ protocol with GROMACS (``gmx`` on PATH)."""

    name = "gromacs"

    def __init__(self, gmx: str = _GMX) -> None:
        self.gmx = gmx
        self._version: str | None = None

    @classmethod
    def available(cls) -> bool:
        """Return True when ``gmx`` is on PATH."""
        return shutil.which(_GMX) is not None

    def version(self) -> str:
        """Return the GROMACS version string, e.g. ``"2022.5-Debian_2022.5_2"``."""
        if self._version is None:
            try:
                out = subprocess.run(
                    [self.gmx, "--version"],
                    capture_output=True,
                    text=True,
                    env=_env(),
                    timeout=60,
                    check=False,
                ).stdout
            except (OSError, subprocess.TimeoutExpired) as exc:
                raise SimulationError(f"cannot run '{self.gmx} --version': {exc}") from exc
            m = re.search(r"GROMACS version:\s*(\S+)", out)
            self._version = m.group(1) if m else "unknown"
        return self._version

    # ------------------------------------------------------------------ helpers
    def _grompp(self, d: Path, stage: str, conf: str, checkpoint: str | None = None) -> None:
        cmd = grompp_command(stage, conf, checkpoint, gmx=self.gmx)
        with open(d / f"grompp_{stage}.log", "w") as log:
            rc = subprocess.run(
                cmd, cwd=d, stdout=log, stderr=subprocess.STDOUT, env=_env(), check=False, timeout=600
            ).returncode
        if rc != 0:
            tail = (d / f"grompp_{stage}.log").read_text()[-1500:]
            raise SimulationError(f"gmx grompp failed for stage '{stage}' (exit {rc}); log tail:\n{tail}")

    def mdrun_command(self, stage: str, threads: int) -> list[str]:
        """Return the ``gmx mdrun`` command line of a stage (run in the engine folder)."""
        cmd = [
            self.gmx,
            "mdrun",
            "-deffnm",
            stage,
            "-nt",
            str(threads),
            "-ntmpi",
            "1",
            "-cpi",
            f"{stage}.cpt",
            "-cpt",
            setting("GMX_CHECKPOINT_MIN", str(CHECKPOINT_MINUTES)),
        ]
        if stage == "prod":
            cmd += ["-x", "prod.xtc"]
        return cmd

    def _mdrun(self, d: Path, p: Protocol, stage: str, nsteps: int, threads: int) -> tuple[float, bool]:
        """Run mdrun for a stage under the watchdog (:func:`watch_mdrun`); return (wall s, resumed)."""
        return watch_mdrun(
            self.mdrun_command(stage, threads),
            d,
            stage,
            nsteps=nsteps,
            rate=estimated_steps_per_s(p, threads),
            threads=threads,
            u_max=MAX_U_PER_N_EPS * p.epsilon * p.N,
            t_max=MAX_T_FACTOR * max(p.T, p.T_melt),
        )

    def _extract_thermo(self, d: Path) -> np.ndarray:
        with open(d / "energy.log", "w") as log:
            rc = subprocess.run(
                [self.gmx, "energy", "-f", "prod.edr", "-o", "energy.xvg"],
                cwd=d,
                input="Potential\nPressure\nTemperature\n\n",
                text=True,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=_env(),
                check=False,
                timeout=600,
            ).returncode
        if rc != 0:
            raise SimulationError(f"gmx energy failed (exit {rc}); see {d / 'energy.log'}")
        return read_energy_xvg(d / "energy.xvg")

    # ------------------------------------------------------------------ protocol
    def run(self, protocol: Protocol, workdir: Path, threads: int | None = None) -> EngineResult:
        """Run (or resume) the protocol in ``workdir`` (see :meth:`Engine.run`)."""
        p = protocol
        threads = threads or os.cpu_count() or 1
        d = Path(workdir) / "gromacs"
        d.mkdir(parents=True, exist_ok=True)
        from project.engines.base import initial_positions

        if not (d / "start.gro").exists():
            (d / "topol.top").write_text(make_top(p))
            (d / "start.gro").write_text(make_gro(initial_positions(p.N, p.box, p.seed), p.box))
        resumed = False
        prod_wall, prod_steps = 0.0, 0
        for stage, conf, cpt, nsteps in (
            ("em", "start.gro", None, 5000),
            ("equil", "em.gro", None, p.n_equil),
            ("prod", "equil.gro", "equil.cpt", p.n_prod),
        ):
            if (d / f"{stage}.done").exists():
                continue
            if stage == "equil" and p.n_equil == 0:
                # no equilibration: production starts from the minimised structure with fresh velocities
                raise SimulationError("t_equil = 0 is not supported: melting needs a non-zero t_equil")
            (d / f"{stage}.mdp").write_text(make_mdp(p, stage))
            if not (d / f"{stage}.tpr").exists() or not (d / f"{stage}.cpt").exists():
                try:
                    self._grompp(d, stage, conf, cpt)
                except SimulationError as exc:
                    if "pair-list cut-off" not in str(exc):
                        raise
                    # small box: the buffer for the tolerance does not fit; use a fixed list instead
                    logger.warning("stage %s: Verlet buffer does not fit the box; fixed rlist, nstlist 10", stage)
                    (d / f"{stage}.mdp").write_text(make_mdp(p, stage, fixed_list=True))
                    self._grompp(d, stage, conf, cpt)
            logger.info("gromacs stage %s: %d steps in %s", stage, nsteps, d)
            steps_before = _checkpoint_step(d, stage) if stage == "prod" else 0
            wall, res = self._mdrun(d, p, stage, nsteps, threads)
            resumed = resumed or res
            if stage == "prod":
                prod_wall, prod_steps = wall, nsteps - steps_before
            (d / f"{stage}.done").write_text("done\n")
        thermo = self._extract_thermo(d)
        if not np.all(np.isfinite(thermo)):
            raise SimulationError("blew up: non-finite production energies in prod.edr")
        write_thermo_csv(Path(workdir) / "thermo.csv", thermo)
        pos, box = read_gro(d / "prod.gro")
        write_pdb(Path(workdir) / "topology.pdb", pos, box)
        atomic_copy(d / "prod.xtc", Path(workdir) / "traj.xtc")
        return EngineResult(n_steps=p.n_prod, prod_wall_s=prod_wall, prod_steps_run=prod_steps, resumed=resumed)


def grompp_command(stage: str, conf: str, checkpoint: str | None = None, gmx: str = "gmx") -> list[str]:
    """``gmx grompp`` of a stage in its folder: ``<stage>.mdp`` + ``conf`` + ``topol.top`` -> ``<stage>.tpr`` (no
    warnings allowed), continuing from ``checkpoint`` when given."""
    cmd = [gmx, "grompp", "-f", f"{stage}.mdp", "-c", conf, "-p", "topol.top", "-o", f"{stage}.tpr"]
    cmd += ["-po", f"{stage}_out.mdp", "-maxwarn", "0"]
    return cmd + (["-t", checkpoint] if checkpoint else [])


def watch_mdrun(
    cmd: list[str], d: Path, stage: str, *, nsteps: int, rate: float, threads: int, u_max: float, t_max: float
) -> tuple[float, bool]:
    """Run ``gmx mdrun`` for a stage in ``d`` under the watchdog; return (wall s, resumed from a checkpoint).

    The one GROMACS runner of the LJ, all-atom and CG runs. It stops the run (and deletes its checkpoints) when its
    log shows a non-finite energy, a potential energy above ``u_max`` (kJ/mol) or a temperature above ``t_max``
    (K), when it makes no progress for ``LJ_MD_STALL_S`` CPU seconds, or when it uses more than
    ``LJ_MD_SLOW_FACTOR`` times the CPU time that ``nsteps`` at ``rate`` steps/s on ``threads`` threads need, and
    raises :class:`~project.errors.SimulationError` ("blew up: ..."); also when mdrun fails or does not finish.
    """
    resumed = (d / f"{stage}.cpt").exists()
    if resumed:
        logger.info("gromacs %s: resuming from checkpoint %s", stage, d / f"{stage}.cpt")
    log_path = d / f"{stage}.log"
    # a resumed run appends to the log after GROMACS truncated it to the checkpoint's position: read it whole
    start_off = log_path.stat().st_size if log_path.exists() and not resumed else 0
    slow = float(setting("MD_SLOW_FACTOR", str(SLOW_FACTOR)))
    # limits in CPU seconds of mdrun: a crawling blown-up run burns CPU without progress, while a healthy run
    # on oversubscribed cores mostly waits (its wall time grows, its CPU time hardly)
    deadline_cpu = GRACE_S + slow * threads * nsteps / rate
    nstlog = _mdp_value(d / f"{stage}.mdp", "nstlog", 100)
    stall_cpu = max(float(setting("MD_STALL_S", str(STALL_S))), slow * threads * nstlog / rate)
    t0 = time.monotonic()
    with open(d / f"mdrun_{stage}.out", "a") as out:
        proc = subprocess.Popen(cmd, cwd=d, stdout=out, stderr=subprocess.STDOUT, env=_env())
        reason = None
        off = start_off
        buf = ""
        last_step, cpu_progress = None, 0.0
        try:
            while proc.poll() is None:
                time.sleep(POLL_S)
                cpu = _cpu_seconds(proc.pid, t0)
                if log_path.exists():
                    with open(log_path, "rb") as fh:
                        fh.seek(off)
                        raw = fh.read()
                    off += len(raw)
                    buf = (buf + raw.decode(errors="replace"))[-200000:]
                    cut = buf.rfind("\n\n")
                    if cut > 0:
                        step, blocks = _parse_log_energies(buf[:cut])
                        buf = buf[cut:]
                        reason = _check_blocks(blocks, u_max, t_max)
                        if step is not None and step != last_step:
                            last_step, cpu_progress = step, cpu
                if reason is None and last_step is not None and cpu - cpu_progress > stall_cpu:
                    reason = (
                        f"mdrun stage '{stage}' made no progress for {cpu - cpu_progress:.0f} CPU s after step "
                        f"{last_step} (log every {nstlog} steps, expected ~{rate:.0f} steps/s)"
                    )
                if reason is None and cpu > deadline_cpu:
                    reason = (
                        f"mdrun stage '{stage}' used {cpu:.0f} CPU s, more than {slow:g}x the expected "
                        f"CPU time for {nsteps} steps"
                    )
                if reason is not None:
                    _kill(proc)
                    break
        except BaseException:
            _kill(proc, graceful=True)
            raise
    wall = time.monotonic() - t0
    if reason is not None:
        for f in (f"{stage}.cpt", f"{stage}_prev.cpt"):
            (d / f).unlink(missing_ok=True)
        raise SimulationError(f"blew up: {reason}")
    log_text = log_path.read_text(errors="replace")[start_off:] if log_path.exists() else ""
    _, blocks = _parse_log_energies(log_text)
    reason = _check_blocks(blocks, u_max, t_max)
    if reason is not None:
        for f in (f"{stage}.cpt", f"{stage}_prev.cpt"):
            (d / f).unlink(missing_ok=True)
        raise SimulationError(f"blew up: {reason}")
    if proc.returncode != 0 or "Finished mdrun" not in log_text[-5000:]:
        tail = (d / f"mdrun_{stage}.out").read_text(errors="replace")[-2000:]
        raise SimulationError(f"gmx mdrun failed in stage '{stage}' (exit {proc.returncode}); tail:\n{tail}")
    return wall, resumed


def read_energy_xvg(path: Path) -> np.ndarray:
    """Read ``gmx energy`` output as an ``(n, 4)`` array: time ps, potential kJ/mol, pressure bar, temperature K."""
    legends: list[str] = []
    rows = []
    for line in Path(path).read_text().splitlines():
        m = re.match(r'@ s\d+ legend "(.*)"', line)
        if m:
            legends.append(m.group(1))
        elif line and line[0] not in "#@":
            rows.append([float(x) for x in line.split()])
    data = np.array(rows, dtype=float)
    try:
        cols = [legends.index(k) + 1 for k in ("Potential", "Pressure", "Temperature")]
    except ValueError as exc:
        raise SimulationError(f"{path}: gmx energy output lacks a term (legends {legends})") from exc
    return np.column_stack([data[:, 0]] + [data[:, c] for c in cols])


def _cpu_seconds(pid: int, t0: float) -> float:
    """CPU time (user + system, s) used so far by process ``pid``; wall time since ``t0`` where /proc is absent."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return time.monotonic() - t0


def _mdp_value(path: Path, key: str, default: int) -> int:
    """Integer value of ``key`` in an .mdp file (``default`` when absent)."""
    for line in Path(path).read_text().splitlines():
        k, _, v = line.partition("=")
        if k.strip().replace("_", "-") == key.replace("_", "-"):
            return int(v.split(";")[0])
    return default


def _checkpoint_step(d: Path, stage: str) -> int:
    """Step of a stage's checkpoint from its log (0 when there is none)."""
    if not (d / f"{stage}.cpt").exists() or not (d / f"{stage}.log").exists():
        return 0
    steps = re.findall(r"Writing checkpoint, step (\d+)", (d / f"{stage}.log").read_text(errors="replace"))
    return int(steps[-1]) if steps else 0


def _check_blocks(blocks: list[dict[str, float]], u_max: float, t_max: float) -> str | None:
    for b in blocks:
        for k, v in b.items():
            if not math.isfinite(v):
                return f"non-finite {k} ({v}) in md.log"
        u = b.get("Potential")
        if u is not None and u > u_max:
            return f"potential energy {u:.4g} kJ/mol exceeds {u_max:.4g} kJ/mol"
        t = b.get("Temperature")
        if t is not None and t > t_max:
            return f"temperature {t:.4g} K exceeds {t_max:.4g} K"
    return None


def _kill(proc: subprocess.Popen, graceful: bool = False) -> None:
    """Stop mdrun: SIGKILL, or SIGTERM first when ``graceful`` (GROMACS then stops at the next step)."""
    if proc.poll() is not None:
        return
    try:
        proc.send_signal(signal.SIGTERM if graceful else signal.SIGKILL)
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    logger.warning("killed gmx mdrun (pid %d)", proc.pid)


__all__ = ["GromacsEngine", "estimated_steps_per_s", "make_gro", "make_mdp", "make_top", "read_gro"]
