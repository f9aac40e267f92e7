"""OpenMM engine: the LJ (and Mie lambda_r-6) protocol with a LangevinMiddleIntegrator.

Units: length nm, time ps, energy kJ/mol, temperature K, mass amu, pressure bar.

The platform is CPU unless the environment variable ``LJ_OPENMM_PLATFORM`` names another (``CUDA``,
``OpenCL``, ``Reference``). LJ 12-6 via ``NonbondedForce`` with ``CutoffPeriodic`` at ``cutoff * sigma``
(plain truncation: no switching function, reaction field off because all charges are zero) and
``useDispersionCorrection`` for the long-range energy correction. Mie lambda_r-6 (``lambda_r`` != 12):
``CustomNonbondedForce`` with u = C epsilon [(sigma/r)^lambda_r - (sigma/r)^6], the same truncation and OpenMM's
long-range correction of custom forces (numerical integral of the same tail). The automatic engine choice for Mie
stays LAMMPS (faster here, docs/mie.md); OpenMM is the second, independent Mie engine.

OpenMM does not report the pressure: it is computed per saved frame from the virial
``W = sum_{r_ij < rc} r_ij . f_ij`` (pairs found with MDAnalysis), the instantaneous kinetic temperature and
the analytic long-range pressure correction: ``P = (N k_B T + W / 3) / V + P_LRC``.

Engine files live in ``workdir/openmm/``: ``state.xml`` (serialised State) and ``progress.json`` (stage,
step, XTC size in bytes, thermo rows), written together atomically every :data:`CHECKPOINT_S` seconds.
On resume the XTC is truncated to the size recorded at the checkpoint and appended to.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from pathlib import Path

import numpy as np

from project import units
from project.atomic import atomic_copy, atomic_write_text
from project.engines.base import (
    Engine,
    EngineResult,
    Protocol,
    initial_positions,
    lrc_pressure,
    mie_prefactor,
    write_pdb,
    write_thermo_csv,
)
from project.env import setting
from project.errors import SimulationError

logger = logging.getLogger(__name__)

#: Checkpoint interval (wall-clock seconds; env ``LJ_OPENMM_CHECKPOINT_S`` overrides).
CHECKPOINT_S = 60.0
#: Steps per integration chunk during equilibration (temperature schedule resolution, NaN checks).
EQUIL_CHUNK = 200
#: Potential energy per particle above this many epsilon counts as a blow-up.
MAX_U_PER_N_EPS = 50.0


def _import_openmm():
    try:
        import openmm
        from openmm import app
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise SimulationError("OpenMM is not installed (pip install openmm)") from exc
    return openmm, app


def virial_pressure(positions: np.ndarray, box: float, temperature: float, p: Protocol) -> float:
    """Return the pressure (bar) of a configuration of the truncated LJ (or Mie) fluid plus the long-range correction.

    Pair virial r . f = C epsilon [lambda_r (sigma/r)^lambda_r - 6 (sigma/r)^6] (24 epsilon [2 (sigma/r)^12 -
    (sigma/r)^6] for LJ, C = 4).

    Parameters
    ----------
    positions : numpy.ndarray
        ``(N, 3)`` positions (nm).
    box : float
        Cubic box edge (nm).
    temperature : float
        Kinetic temperature (K).
    p : Protocol
        Supplies sigma (nm), epsilon (kJ/mol), rc (nm), rho (nm^-3).

    Returns
    -------
    float
        Pressure in bar.
    """
    from MDAnalysis.lib.distances import self_capped_distance

    dims = np.array([box, box, box, 90.0, 90.0, 90.0], dtype=np.float32)
    _, dist = self_capped_distance(np.asarray(positions, dtype=np.float32), p.rc, box=dims)
    x = p.sigma / dist.astype(np.float64)
    n = float(p.lambda_r)
    w = float(np.sum(mie_prefactor(n) * p.epsilon * (n * x**n - 6.0 * x**6)))
    vol = box**3
    p_int = (p.N * units.KB * temperature + w / 3.0) / vol  # kJ/mol/nm^3
    return p_int * units.KJ_MOL_NM3_TO_BAR + lrc_pressure(p.rho, p.sigma, p.epsilon, p.rc, p.lambda_r)


class OpenMMEngine(Engine):
    """LJ and Mie lambda_r-6 protocol with OpenMM (CPU platform by default)."""

    name = "openmm"

    @classmethod
    def available(cls) -> bool:
        """Return True when OpenMM can be imported."""
        try:
            import openmm  # noqa: F401
        except ImportError:
            return False
        return True

    def version(self) -> str:
        """Return the OpenMM version string, e.g. ``"8.6.1"``."""
        openmm, _ = _import_openmm()
        return openmm.version.short_version

    def _build(self, p: Protocol, threads: int | None):
        openmm, app = _import_openmm()
        unit = openmm.unit
        system = openmm.System()
        L = p.box
        system.setDefaultPeriodicBoxVectors(openmm.Vec3(L, 0, 0), openmm.Vec3(0, L, 0), openmm.Vec3(0, 0, L))
        mie = float(p.lambda_r) != 12.0
        if not mie:
            nb = openmm.NonbondedForce()
            nb.setNonbondedMethod(openmm.NonbondedForce.CutoffPeriodic)
            nb.setUseDispersionCorrection(True)
        else:  # Mie lambda_r-6; one particle type, so the parameters are global
            nb = openmm.CustomNonbondedForce("c_mie*eps_mie*((sig_mie/r)^n_mie - (sig_mie/r)^6)")
            for name, value in (
                ("c_mie", mie_prefactor(p.lambda_r)),
                ("eps_mie", p.epsilon),
                ("sig_mie", p.sigma),
                ("n_mie", float(p.lambda_r)),
            ):
                nb.addGlobalParameter(name, value)
            nb.setNonbondedMethod(openmm.CustomNonbondedForce.CutoffPeriodic)
            nb.setUseLongRangeCorrection(True)
        nb.setCutoffDistance(p.rc)
        nb.setUseSwitchingFunction(False)
        for _ in range(p.N):
            system.addParticle(p.mass)
            if mie:
                nb.addParticle([])
            else:
                nb.addParticle(0.0, p.sigma, p.epsilon)
        system.addForce(nb)
        integrator = openmm.LangevinMiddleIntegrator(
            p.T_melt * unit.kelvin, 1.0 / p.tau_t / unit.picosecond, p.dt * unit.picosecond
        )
        integrator.setRandomNumberSeed(p.seed)
        top = app.Topology()
        chain = top.addChain()
        for _ in range(p.N):
            res = top.addResidue("LJ", chain)
            top.addAtom("LJ", None, res)
        top.setPeriodicBoxVectors(system.getDefaultPeriodicBoxVectors())
        name = setting("OPENMM_PLATFORM", "CPU")
        try:
            platform = openmm.Platform.getPlatformByName(name)
        except Exception as exc:
            raise SimulationError(f"OpenMM platform {name!r} is not available: {exc}") from exc
        props = {"Threads": str(threads)} if (threads and name == "CPU") else {}
        context = openmm.Context(system, integrator, platform, props)
        return context, integrator, top

    def run(self, protocol: Protocol, workdir: Path, threads: int | None = None) -> EngineResult:
        """Run (or resume) the protocol in ``workdir`` (see :meth:`Engine.run`)."""
        openmm, _ = _import_openmm()
        from openmm.app.xtcfile import XTCFile

        p = protocol
        workdir = Path(workdir)
        d = workdir / "openmm"
        d.mkdir(parents=True, exist_ok=True)
        xtc_path = d / "prod.xtc"
        context, integrator, top = self._build(p, threads)
        progress = {"stage": "em", "step": 0, "xtc_bytes": 0, "thermo": []}
        resumed = False
        if (d / "progress.json").exists() and (d / "state.xml").exists():
            progress = json.loads((d / "progress.json").read_text())
            context.setState(openmm.XmlSerializer.deserialize((d / "state.xml").read_text()))
            resumed = True
            logger.info("openmm: resuming from checkpoint (stage %s, step %d)", progress["stage"], progress["step"])
        u_max = MAX_U_PER_N_EPS * p.epsilon * p.N
        last_ckpt = time.monotonic()
        ckpt_s = float(setting("OPENMM_CHECKPOINT_S", str(CHECKPOINT_S)))

        def checkpoint() -> None:
            nonlocal last_ckpt
            state = context.getState(getPositions=True, getVelocities=True, getParameters=True)
            atomic_write_text(d / "state.xml", openmm.XmlSerializer.serialize(state))
            atomic_write_text(d / "progress.json", json.dumps(progress))
            last_ckpt = time.monotonic()

        def check(state, where: str) -> float:
            u = state.getPotentialEnergy().value_in_unit(openmm.unit.kilojoule_per_mole)
            if not math.isfinite(u) or u > u_max:
                raise SimulationError(f"blew up: potential energy {u:.4g} kJ/mol at {where}")
            return u

        def step(n: int, where: str) -> None:
            try:
                integrator.step(n)
            except Exception as exc:  # OpenMMException on NaN coordinates
                raise SimulationError(f"blew up: OpenMM error at {where}: {exc}") from exc

        try:
            if progress["stage"] == "em":
                context.setPositions(initial_positions(p.N, p.box, p.seed))
                openmm.LocalEnergyMinimizer.minimize(context, 10.0 * p.epsilon / p.sigma, 5000)
                check(context.getState(getEnergy=True), "minimisation")
                context.setVelocitiesToTemperature(p.T_melt, p.seed)
                progress.update(stage="equil", step=0)
                checkpoint()
            if progress["stage"] == "equil":
                while progress["step"] < p.n_equil:
                    s = progress["step"]
                    frac = s / max(p.n_equil, 1)
                    t_now = p.T_melt if frac < 0.25 else (p.T_melt + (p.T - p.T_melt) * min((frac - 0.25) / 0.25, 1.0))
                    integrator.setTemperature(t_now)
                    n = min(EQUIL_CHUNK, p.n_equil - s)
                    step(n, f"equilibration step {s}")
                    check(context.getState(getEnergy=True), f"equilibration step {s + n}")
                    progress["step"] = s + n
                    if time.monotonic() - last_ckpt > ckpt_s:
                        checkpoint()
                integrator.setTemperature(p.T)
                progress.update(stage="prod", step=0, xtc_bytes=0, thermo=[])
                xtc_path.unlink(missing_ok=True)
                checkpoint()
            prod_steps_run = 0
            t_prod0 = time.monotonic()
            if progress["stage"] == "prod":
                integrator.setTemperature(p.T)
                if xtc_path.exists():
                    os.truncate(xtc_path, progress["xtc_bytes"])
                append = xtc_path.exists() and progress["xtc_bytes"] > 0
                xtc = XTCFile(str(xtc_path), top, p.dt, firstStep=0, interval=p.n_sample, append=append)
                dof = 3 * p.N
                while True:
                    s = progress["step"]
                    if len(progress["thermo"]) * p.n_sample <= s:  # frame at step s not yet written
                        state = context.getState(getPositions=True, getEnergy=True)
                        u = check(state, f"production step {s}")
                        pos = state.getPositions(asNumpy=True).value_in_unit(openmm.unit.nanometer)
                        ke = state.getKineticEnergy().value_in_unit(openmm.unit.kilojoule_per_mole)
                        temp = 2.0 * ke / (dof * units.KB)
                        pres = virial_pressure(np.mod(pos, p.box), p.box, temp, p)
                        xtc.writeModel(np.mod(pos, p.box), periodicBoxVectors=state.getPeriodicBoxVectors())
                        progress["thermo"].append([s * p.dt, u, pres, temp])
                        progress["xtc_bytes"] = xtc_path.stat().st_size
                    if s >= p.n_prod:
                        break
                    step(p.n_sample, f"production step {s}")
                    progress["step"] = s + p.n_sample
                    prod_steps_run += p.n_sample
                    if time.monotonic() - last_ckpt > ckpt_s:
                        checkpoint()
                progress["stage"] = "done"
                checkpoint()
            prod_wall = time.monotonic() - t_prod0
        except SimulationError:
            for f in ("state.xml", "progress.json"):
                (d / f).unlink(missing_ok=True)
            raise
        write_thermo_csv(workdir / "thermo.csv", np.array(progress["thermo"], dtype=float))
        state = context.getState(getPositions=True)
        pos = state.getPositions(asNumpy=True).value_in_unit(openmm.unit.nanometer)
        write_pdb(workdir / "topology.pdb", np.mod(pos, p.box), p.box)
        atomic_copy(xtc_path, workdir / "traj.xtc")
        return EngineResult(n_steps=p.n_prod, prod_wall_s=prod_wall, prod_steps_run=prod_steps_run, resumed=resumed)


__all__ = ["OpenMMEngine", "virial_pressure"]
