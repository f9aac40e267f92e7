"""All-atom NVT protocol of a molecular liquid with GROMACS (PME, constraints, sd thermostat), resumable.

Units: nm, ps, kJ/mol, K, amu, e, number density nm^-3, pressure bar.

Protocol (:class:`AAParams`, defaults in brackets):

1. ``n_molecules`` [500] randomly oriented molecules on a cubic lattice in the cubic box of the experimental
   liquid density (:func:`project.cg.molecules.start_configuration`);
2. steepest-descent minimisation;
3. NVT equilibration for ``t_equil_ps`` [100 ps] with the GROMACS ``sd`` integrator (Langevin, tau-t 1 ps):
   the first quarter at ``T_melt = melt_factor x T`` [2 T] (melts the lattice), a linear ramp to T over the
   second quarter, the second half at T;
4. NVT production for ``t_prod_ps`` [300 ps] at T, a frame and an energy row every ``t_sample_ps`` [1 ps].

Interactions: LJ cut off at ``rc_nm`` [1.0 nm] (potential-shifted, the GROMACS default) with the analytic
dispersion correction for energy and pressure; electrostatics PME (real-space cut-off ``rc_nm``, Fourier spacing
0.12 nm); constraints with LINCS (order 4, 2 iterations); time step ``dt_ps`` [0.002 ps].

Engine files live in ``workdir/aa_gromacs/``; ``mdrun`` checkpoints every minute and is always started with
``-cpi``, so a killed run resumes. Products in ``workdir`` (written atomically): ``aa_topology.tpr`` (masses and
molecules for MDAnalysis), ``aa_traj.xtc``, ``aa_thermo.csv`` and, last, ``aa.json`` (summary; its presence means
success).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from project.atomic import atomic_copy, atomic_write_text
from project.cg.molecules import get_molecule, make_gro, make_topology, start_configuration
from project.engines.base import write_thermo_csv
from project.engines.gromacs import MAX_T_FACTOR, GromacsEngine, grompp_command, read_energy_xvg, watch_mdrun
from project.errors import ProjectError, SimulationError
from project.simulate import block_average

logger = logging.getLogger(__name__)

#: Steepest-descent steps of the minimisation.
N_EM_STEPS = 5000
#: Rough mdrun speed of the all-atom models, site-steps per second per thread (the watchdog's CPU budget is
#: LJ_MD_SLOW_FACTOR times what this predicts).
AA_SITE_STEPS_PER_S = 1.0e6
#: Potential energy per molecule (kJ/mol) above which a run counts as blown up (liquids are negative).
MAX_U_PER_MOLECULE = 100.0

SUMMARY_NAME = "aa.json"
PRODUCTS = ("aa_topology.tpr", "aa_traj.xtc", "aa_thermo.csv")
ENGINE_DIR = "aa_gromacs"


@dataclass(frozen=True)
class AAParams:
    """Parameters of one all-atom run (units in the field names' docs).

    Attributes
    ----------
    molecule : str
        A key of :data:`project.cg.molecules.MOLECULES` (``CH4``, ``F2``, ``CO``; held out: ``N2``, ``O2``,
        ``CO2``; new families, held out: ``C2H6``, ``CF4``; positive control: ``CH4UA``).
    n_molecules : int
        Number of molecules.
    T : float or None
        Temperature (K); None uses the molecule's normal boiling point.
    rho : float or None
        Molecular number density (nm^-3); None uses the experimental liquid density at T_b.
    dt_ps, t_equil_ps, t_prod_ps, t_sample_ps : float
        Time step, equilibration, production and frame interval (ps).
    rc_nm : float
        LJ and PME real-space cut-off (nm).
    melt_factor : float
        Melting temperature of the first equilibration quarter in units of T.
    seed : int
        Random seed (start configuration, velocities, thermostat).
    """

    molecule: str
    n_molecules: int = 500
    T: float | None = None
    rho: float | None = None
    dt_ps: float = 0.002
    t_equil_ps: float = 100.0
    t_prod_ps: float = 300.0
    t_sample_ps: float = 1.0
    rc_nm: float = 1.0
    melt_factor: float = 2.0
    seed: int = 1

    def resolved(self) -> AAParams:
        """Return a copy with T and rho filled in from the molecule (and every field validated).

        Raises
        ------
        ProjectError
            Naming the offending field and the allowed values.
        """
        mol = get_molecule(self.molecule)
        p = dataclasses.replace(
            self,
            T=mol.T_b if self.T is None else float(self.T),
            rho=mol.rho_liquid if self.rho is None else float(self.rho),
        )
        checks = (
            ("n_molecules", p.n_molecules, 2),
            ("T", p.T, 0),
            ("rho", p.rho, 0),
            ("dt_ps", p.dt_ps, 0),
            ("t_prod_ps", p.t_prod_ps, 0),
            ("t_sample_ps", p.t_sample_ps, 0),
            ("rc_nm", p.rc_nm, 0),
            ("melt_factor", p.melt_factor, 0),
            ("t_equil_ps", p.t_equil_ps, 0),
        )
        for name, value, lo in checks:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value) or value <= lo:
                raise ProjectError(f"{name}: got {value!r}; allowed: a number > {lo}")
        if p.melt_factor < 1:
            raise ProjectError(f"melt_factor: got {p.melt_factor}; allowed: >= 1")
        box = (p.n_molecules / p.rho) ** (1.0 / 3.0)
        if box < 2.2 * p.rc_nm:
            raise ProjectError(
                f"n_molecules: box edge {box:.3g} nm is smaller than 2.2 x rc_nm ({p.rc_nm} nm); "
                f"allowed: n_molecules >= {int(np.ceil(p.rho * (2.2 * p.rc_nm) ** 3))}"
            )
        if p.t_sample_ps > p.t_prod_ps:
            raise ProjectError(f"t_sample_ps: got {p.t_sample_ps}; allowed: <= t_prod_ps ({p.t_prod_ps})")
        return p

    @property
    def box_nm(self) -> float:
        """Cubic box edge (nm); needs resolved ``rho``."""
        return (self.n_molecules / float(self.rho)) ** (1.0 / 3.0)

    def steps(self) -> tuple[int, int, int]:
        """(equilibration steps, production steps, steps per frame)."""
        n_sample = max(1, round(self.t_sample_ps / self.dt_ps))
        n_prod = max(1, round(self.t_prod_ps / self.dt_ps / n_sample)) * n_sample
        return round(self.t_equil_ps / self.dt_ps), n_prod, n_sample


def statepoint(params: AAParams) -> dict:
    """Return the signac state point of a CG-workflow job: the resolved :class:`AAParams` as a dict.

    Floats are rounded to 6 significant digits (:func:`project.statepoint.round_sig`) so that equal runs map to
    the same job id.
    """
    from project.statepoint import round_sig

    d = dataclasses.asdict(params.resolved())
    return {k: (round_sig(v) if isinstance(v, float) else v) for k, v in d.items()}


def params_from_statepoint(sp: dict) -> AAParams:
    """Inverse of :func:`statepoint` (unknown keys raise :class:`ProjectError` naming them)."""
    names = {f.name for f in dataclasses.fields(AAParams)}
    unknown = sorted(set(sp) - names)
    if unknown:
        raise ProjectError(f"{unknown[0]}: unknown AA parameter; allowed: {', '.join(sorted(names))}")
    return AAParams(**dict(sp)).resolved()


def make_mdp(p: AAParams, stage: str) -> str:
    """Return the ``.mdp`` text of a stage (``em``, ``equil`` or ``prod``) of a resolved :class:`AAParams`."""
    n_equil, n_prod, n_sample = p.steps()
    mol = get_molecule(p.molecule)
    elec = (
        ["coulombtype = PME", f"rcoulomb = {p.rc_nm}", "fourierspacing = 0.12", "pme-order = 4"]
        if mol.charged
        else ["coulombtype = Cut-off", f"rcoulomb = {p.rc_nm}"]
    )  # no charges: no PME (grompp refuses it)
    vdw = ["vdwtype = Cut-off"] + ([f"vdw-modifier = {mol.vdw_modifier}"] if mol.vdw_modifier else [])
    common = [
        "cutoff-scheme = Verlet",
        "pbc = xyz",
        "nstlist = 10",
        *elec,
        *vdw,
        f"rvdw = {p.rc_nm}",
        "DispCorr = EnerPres",
        "constraints = none",
        "constraint-algorithm = lincs",
        "lincs-order = 4",
        "lincs-iter = 2",
    ]
    if stage == "em":
        return (
            "\n".join(
                [
                    "integrator = steep",
                    f"nsteps = {N_EM_STEPS}",
                    "emtol = 100",
                    "emstep = 0.001",
                    "nstenergy = 0",
                    "nstlog = 500",
                    *common,
                ]
            )
            + "\n"
        )
    T = float(p.T)
    lines = [
        "integrator = sd",
        f"dt = {p.dt_ps}",
        "tc-grps = System",
        "tau-t = 1.0",
        f"ref-t = {T:.6g}",
        "comm-mode = Linear",
        f"nstcalcenergy = {_divisor_at_most(n_sample, 100)}",
        "nstlog = 5000",
        *common,
    ]
    if stage == "equil":
        t_eq = n_equil * p.dt_ps
        t_melt = p.melt_factor * T
        lines += [
            f"nsteps = {n_equil}",
            "gen-vel = yes",
            f"gen-temp = {t_melt:.6g}",
            f"gen-seed = {p.seed}",
            f"ld-seed = {p.seed}",
            "nstenergy = 0",
            "nstxout-compressed = 0",
            "annealing = single",
            "annealing-npoints = 3",
            f"annealing-time = 0 {0.25 * t_eq:.6g} {0.5 * t_eq:.6g}",
            f"annealing-temp = {t_melt:.6g} {t_melt:.6g} {T:.6g}",
        ]
    else:
        lines += [
            f"nsteps = {n_prod}",
            "gen-vel = no",
            "continuation = yes",
            f"ld-seed = {p.seed + 1}",
            f"nstenergy = {n_sample}",
            f"nstxout-compressed = {n_sample}",
            "compressed-x-precision = 1000",
        ]
    return "\n".join(lines) + "\n"


def _divisor_at_most(n: int, cap: int) -> int:
    return next(d for d in range(min(n, cap), 0, -1) if n % d == 0)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["GMX_MAXBACKUP"] = "-1"
    env.pop("OMP_NUM_THREADS", None)
    return env


def _run(cmd: list[str], d: Path, log_name: str, timeout_s: float, stdin: str | None = None) -> None:
    try:
        with open(d / log_name, "a") as log:
            rc = subprocess.run(
                cmd,
                cwd=d,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=_env(),
                input=stdin,
                text=True,
                timeout=timeout_s,
                check=False,
            ).returncode
    except subprocess.TimeoutExpired as exc:
        raise SimulationError(
            f"{' '.join(cmd[:2])} did not finish within {timeout_s:.0f} s (see {d / log_name})"
        ) from exc
    except OSError as exc:
        raise SimulationError(f"cannot run {cmd[0]!r}: {exc}") from exc
    if rc != 0:
        tail = (d / log_name).read_text(errors="replace")[-1500:]
        raise SimulationError(f"{' '.join(cmd[:2])} failed (exit {rc}); log tail:\n{tail}")


def _extract_thermo(d: Path) -> np.ndarray:
    _run(
        ["gmx", "energy", "-f", "prod.edr", "-o", "energy.xvg"],
        d,
        "energy.log",
        600,
        stdin="Potential\nPressure\nTemperature\n\n",
    )
    return read_energy_xvg(d / "energy.xvg")


def load_summary(workdir: Path | str) -> dict | None:
    """Return the ``aa.json`` summary if it and every product exist, else None."""
    workdir = Path(workdir)
    path = workdir / SUMMARY_NAME
    if not path.is_file() or any(not (workdir / f).is_file() for f in PRODUCTS):
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        logger.warning("ignoring unreadable %s", path)
        return None


def run_aa(params: AAParams, workdir: Path | str, threads: int | None = None) -> dict:
    """Run (or resume, or reuse) the all-atom protocol of one molecular liquid.

    Parameters
    ----------
    params : AAParams
        Run parameters (T and rho default to the experimental liquid at the normal boiling point).
    workdir : path
        Output folder (created). Engine files go to ``workdir/aa_gromacs``.
    threads : int or None
        OpenMP threads for ``mdrun`` (None: every core).

    Returns
    -------
    dict
        The ``aa.json`` summary: ``molecule``, ``params``, ``n_molecules``, ``box_nm``, ``T_mean_K``,
        ``P_bar``, ``U_per_molecule_kJ_mol`` with block standard errors, ``n_frames``, ``wall_s`` (s),
        ``gromacs_version``.

    Raises
    ------
    ProjectError
        Bad parameters (naming the field).
    SimulationError
        GROMACS failure, a run stopped by the watchdog of :func:`project.engines.gromacs.watch_mdrun` (non-finite or
        too high energy, temperature, no progress, CPU time), or a production temperature more than 5 % off the
        thermostat (blow-up).
    """
    p = params.resolved()
    mol = get_molecule(p.molecule)
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    existing = load_summary(workdir)
    if existing is not None:
        return existing
    if shutil.which("gmx") is None:
        raise SimulationError("GROMACS (gmx) is not on PATH; the all-atom runs need it")
    threads = threads or os.cpu_count() or 1
    d = workdir / ENGINE_DIR
    d.mkdir(exist_ok=True)
    t0 = time.monotonic()
    if not (d / "start.gro").exists():
        pos, box = start_configuration(mol, p.n_molecules, float(p.rho), p.seed)
        (d / "topol.top").write_text(make_topology(mol, p.n_molecules))
        atomic_write_text(d / "start.gro", make_gro(mol, pos, box))
    n_equil, n_prod, n_sample = p.steps()
    for stage, conf, cpt in (("em", "start.gro", None), ("equil", "em.gro", None), ("prod", "equil.gro", "equil.cpt")):
        if (d / f"{stage}.done").exists():
            continue
        (d / f"{stage}.mdp").write_text(make_mdp(p, stage))
        if not (d / f"{stage}.tpr").exists() or not (d / f"{stage}.cpt").exists():
            _run(grompp_command(stage, conf, cpt), d, f"grompp_{stage}.log", 600)
        logger.info("AA %s: stage %s in %s", p.molecule, stage, d)
        cmd = GromacsEngine().mdrun_command(stage, threads)  # the LJ stages' command line (checkpoints, threads)
        # the LJ runs' watchdog (project.engines.gromacs.watch_mdrun): energies, temperature, stalls, CPU time;
        # no energy limit while minimising a random start, where overlaps start with a huge potential energy
        n_sites = p.n_molecules * len(mol.sites)
        watch_mdrun(
            cmd,
            d,
            stage,
            nsteps={"em": N_EM_STEPS, "equil": n_equil, "prod": n_prod}[stage],
            rate=AA_SITE_STEPS_PER_S * threads / n_sites,
            threads=threads,
            u_max=math.inf if stage == "em" else MAX_U_PER_MOLECULE * p.n_molecules,
            t_max=MAX_T_FACTOR * float(p.T),
        )
        (d / f"{stage}.done").write_text("done\n")
    thermo = _extract_thermo(d)
    if not np.all(np.isfinite(thermo)):
        raise SimulationError("blew up: non-finite production energies")
    t_mean, t_se = block_average(thermo[:, 3])
    if abs(t_mean / float(p.T) - 1.0) > 0.05:
        raise SimulationError(f"blew up: mean production temperature {t_mean:.4g} K, thermostat at {p.T:.4g} K")
    for src, dst in (("prod.tpr", "aa_topology.tpr"), ("prod.xtc", "aa_traj.xtc")):
        atomic_copy(d / src, workdir / dst)
    write_thermo_csv(workdir / "aa_thermo.csv", thermo)
    u, u_se = block_average(thermo[:, 1] / p.n_molecules)
    pr, p_se = block_average(thermo[:, 2])
    version = ""
    m = re.search(r"GROMACS version:\s*(\S+)", (d / "prod.log").read_text(errors="replace"))
    if m:
        version = m.group(1)
    summary = {
        "molecule": p.molecule,
        "params": dataclasses.asdict(p),
        "n_molecules": p.n_molecules,
        "n_sites": mol.n_sites,
        "box_nm": p.box_nm,
        "T_K": p.T,
        "rho_nm3": p.rho,
        "T_mean_K": t_mean,
        "T_stderr_K": t_se,
        "P_bar": pr,
        "P_stderr_bar": p_se,
        "U_per_molecule_kJ_mol": u,
        "U_per_molecule_stderr_kJ_mol": u_se,
        "n_frames": int(len(thermo)),
        "n_prod_steps": n_prod,
        "wall_s": time.monotonic() - t0,
        "threads": threads,
        "gromacs_version": version,
        "units": {"T": "K", "rho": "nm^-3", "box": "nm", "P": "bar", "U": "kJ/mol", "wall": "s", "threads": "count"},
    }
    atomic_write_text(workdir / SUMMARY_NAME, json.dumps(summary, indent=1, sort_keys=True) + "\n")
    logger.info("AA %s: done, T = %.2f K, P = %.0f bar, U/molecule = %.3f kJ/mol", p.molecule, t_mean, pr, u)
    return summary


__all__ = ["AAParams", "load_summary", "make_mdp", "params_from_statepoint", "run_aa", "statepoint"]
