"""Iterative Boltzmann inversion (tabulated pair potential, OpenMM) and the LJ fit to the converged potential.

Units: r nm, U kJ/mol, T K, rho nm^-3, mass amu, time ps.

GROMACS 2022 (Verlet scheme) has no tabulated user potentials, so the tabulated CG runs use OpenMM (CPU
platform unless ``LJ_OPENMM_PLATFORM`` says otherwise): a ``CustomNonbondedForce`` with energy ``table(r)``,
a ``Continuous1DFunction`` (natural cubic spline) on the bin centres of the RDF grid from 0 to the table cut-off
``rc`` (default 0.9 nm; no long-range correction), a ``LangevinMiddleIntegrator`` at T with friction 1/tau and
time step ``dt`` tau, where tau = sigma0 sqrt(mass / k_B T) and sigma0 = r_peak / 2^(1/6).

Algorithm:

* U_0(r) = -k_B T ln g_AA(r) (potential of mean force);
* U_{n+1}(r) = U_n(r) + alpha k_B T ln(g_n(r) / g_AA(r)) (default alpha = 0.5), the correction smoothed with a
  5-bin running mean and applied only where both RDFs exceed :data:`G_MIN`;
* in the core (g_AA < :data:`G_MIN`) the potential is continued linearly inwards with the slope at the core edge,
  at least :data:`MIN_CORE_SLOPE_KT` k_B T/nm (repulsive);
* the potential is shifted to zero at rc and multiplied by a cosine switch over [rc - 0.1 nm, rc].

Each iteration is one CG simulation with the run settings (:class:`project.cg.lj.CGSettings`; the pipeline
uses :func:`ibi_settings`, ``t_equil`` 10 tau and ``t_prod`` 100 tau): ``t_equil`` tau continuing from the last
configuration of the previous iteration (twice that from a lattice), then ``t_prod`` tau of production.
Convergence: the total deviation between g_n and g_AA is below ``tol_factor`` (default 1.5) times its statistical
noise floor (:func:`project.metrics.noise_deviation`), or it has not improved for ``patience`` (default 3)
iterations; at most ``max_iter`` (default 20) iterations. The best iterate is the result.

LJ fit: least-squares fit of 4 eps ((s/r)^12 - (s/r)^6) to the final table over the range from where U < 3 k_B T
to rc; the fitted LJ bead is then simulated like every other LJ model (:func:`project.cg.lj.run_lj`).
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from project.atomic import atomic_write_text
from project.cg.lj import CGSettings, initial_guess
from project.cg.target import CGTarget
from project.engines.base import initial_positions, write_pdb
from project.env import setting
from project.errors import ProjectError, SimulationError
from project.metrics import noise_deviation, total_deviation
from project.rdf import RDFResult, compute_rdf, load_rdf, save_rdf
from project.units import KB

logger = logging.getLogger(__name__)

G_MIN = 0.02
MIN_CORE_SLOPE_KT = 50.0
SWITCH_WIDTH_NM = 0.1


def _smooth(x: np.ndarray, width: int = 5) -> np.ndarray:
    pad = width // 2
    return np.convolve(np.pad(x, pad, mode="edge"), np.ones(width) / width, mode="valid")


def finish_table(r: np.ndarray, u: np.ndarray, valid: np.ndarray, kT: float, rc: float) -> np.ndarray:
    """Core extrapolation, shift to zero at rc and switch (see module docstring); returns the table (kJ/mol).

    Parameters
    ----------
    r : numpy.ndarray
        Table grid (nm), uniform.
    u : numpy.ndarray
        Potential (kJ/mol); values where ``valid`` is False are replaced.
    valid : numpy.ndarray
        Bool mask of the bins where the potential is defined by the RDFs.
    kT : float
        k_B T (kJ/mol).
    rc : float
        Cut-off (nm).
    """
    u = np.array(u, dtype=float)
    idx = np.flatnonzero(valid)
    if len(idx) < 4:
        raise ProjectError("IBI: fewer than 4 bins where g exceeds the threshold; the target RDF is empty")
    i0 = idx[0]
    slope = -(u[i0 + 2] - u[i0]) / (r[i0 + 2] - r[i0])
    slope = max(slope, MIN_CORE_SLOPE_KT * kT)
    u[:i0] = u[i0] + slope * (r[i0] - r[:i0])
    # bins beyond the first valid one but invalid (rare dips): interpolate
    bad = ~valid & (np.arange(len(r)) > i0)
    if np.any(bad):
        u[bad] = np.interp(r[bad], r[~bad], u[~bad])
    u_rc = float(np.interp(rc, r, u))
    u = u - u_rc
    x = np.clip((r - (rc - SWITCH_WIDTH_NM)) / SWITCH_WIDTH_NM, 0.0, 1.0)
    u *= 0.5 * (1.0 + np.cos(np.pi * x))
    u[r >= rc] = 0.0
    return u


def initial_potential(r: np.ndarray, g_aa: np.ndarray, T: float, rc: float) -> np.ndarray:
    """U_0 = -k_B T ln g_AA, finished with :func:`finish_table` (kJ/mol on the grid r, nm)."""
    kT = KB * T
    valid = np.asarray(g_aa) > G_MIN
    u = np.where(valid, -kT * np.log(np.maximum(g_aa, G_MIN)), 0.0)
    return finish_table(np.asarray(r, float), u, valid & (np.asarray(r) < rc), kT, rc)


def ibi_update(
    r: np.ndarray, u: np.ndarray, g_cg: np.ndarray, g_aa: np.ndarray, T: float, rc: float, alpha: float = 0.5
) -> np.ndarray:
    """One IBI update U + alpha k_B T ln(g_cg / g_aa) (smoothed, finished); kJ/mol on the grid r (nm)."""
    kT = KB * T
    valid = (np.asarray(g_aa) > G_MIN) & (np.asarray(g_cg) > G_MIN) & (np.asarray(r) < rc)
    corr = np.where(valid, np.log(np.maximum(g_cg, G_MIN) / np.maximum(g_aa, G_MIN)), 0.0)
    corr = _smooth(corr) * valid
    u_new = np.asarray(u, float) + alpha * kT * corr
    keep = np.asarray(g_aa) > G_MIN
    return finish_table(np.asarray(r, float), u_new, keep & (np.asarray(r) < rc), kT, rc)


def _table_system(r: np.ndarray, u: np.ndarray, n: int, mass: float, box: float, rc: float):
    """The OpenMM system of ``n`` beads (mass amu) in a cubic box (edge nm) with the table U(r) (kJ/mol on the grid
    r, nm) as a natural cubic spline on the grid's spacing from 0 to the cut-off rc (nm)."""
    import openmm

    system = openmm.System()
    system.setDefaultPeriodicBoxVectors(openmm.Vec3(box, 0, 0), openmm.Vec3(0, box, 0), openmm.Vec3(0, 0, box))
    grid = np.arange(0.0, rc + 1e-9, float(r[1] - r[0]))
    table = np.interp(grid, r, u)
    force = openmm.CustomNonbondedForce("table(r)")
    force.addTabulatedFunction("table", openmm.Continuous1DFunction(table.tolist(), float(grid[0]), float(grid[-1])))
    force.setNonbondedMethod(openmm.CustomNonbondedForce.CutoffPeriodic)
    force.setCutoffDistance(rc)
    for _ in range(n):
        system.addParticle(mass)
        force.addParticle([])
    system.addForce(force)
    return system


def run_table(
    r: np.ndarray,
    u: np.ndarray,
    target: CGTarget,
    settings: CGSettings,
    workdir: Path,
    *,
    rc: float,
    start_positions: np.ndarray | None = None,
) -> tuple[np.ndarray, float]:
    """Simulate beads with a tabulated pair potential in OpenMM; write ``topology.pdb`` and ``traj.xtc``.

    Parameters
    ----------
    r, u : numpy.ndarray
        Uniform table grid (nm) starting near 0, and the potential (kJ/mol).
    target : CGTarget
        The state (T K, rho nm^-3, bead mass amu); its RDF fixes the time unit (:func:`time_unit`).
    settings : CGSettings
        ``N`` beads, ``dt``, ``t_equil``, ``t_prod``, ``t_sample`` (tau), ``seed`` and ``threads`` (OpenMM CPU
        threads); the other fields are for LJ runs.
    workdir : Path
        Output folder.
    rc : float
        Table cut-off (nm).
    start_positions : numpy.ndarray or None
        Start configuration (nm); None starts from a jittered lattice with a minimisation.

    Returns
    -------
    tuple
        Final positions (nm) and wall time (s). ``table_run.json`` in ``workdir`` keeps the mean potential
        energy per bead over the production frames (kJ/mol) and the wall time (s).
    """
    import openmm
    from openmm import app, unit
    from openmm.app.xtcfile import XTCFile

    t0 = time.monotonic()
    T, mass, n, threads = target.T, target.mass, settings.N, settings.threads
    tau_ps = time_unit(target)
    box = (n / target.rho) ** (1.0 / 3.0)
    if box < 2.0 * rc:
        raise ProjectError(f"IBI: box edge {box:.3g} nm is smaller than twice the table cut-off {rc} nm; increase N")
    system = _table_system(r, u, n, mass, box, rc)
    dt, seed = settings.dt, settings.seed
    dt_ps = dt * tau_ps
    integ = openmm.LangevinMiddleIntegrator(T * unit.kelvin, 1.0 / tau_ps / unit.picosecond, dt_ps * unit.picosecond)
    integ.setRandomNumberSeed(seed)
    name = setting("OPENMM_PLATFORM", "CPU")
    platform = openmm.Platform.getPlatformByName(name)
    props = {"Threads": str(threads)} if (threads and name == "CPU") else {}
    ctx = openmm.Context(system, integ, platform, props)
    if start_positions is None:
        ctx.setPositions(initial_positions(n, box, seed))
        openmm.LocalEnergyMinimizer.minimize(ctx, 10.0, 2000)
    else:
        ctx.setPositions(np.asarray(start_positions))
    ctx.setVelocitiesToTemperature(T, seed)
    n_sample = max(1, round(settings.t_sample / dt))
    n_equil = round(settings.t_equil / dt)
    n_frames = max(1, round(settings.t_prod / settings.t_sample))
    top = app.Topology()
    chain = top.addChain()
    for _ in range(n):
        top.addAtom("CG", None, top.addResidue("CG", chain))
    top.setPeriodicBoxVectors(system.getDefaultPeriodicBoxVectors())
    workdir.mkdir(parents=True, exist_ok=True)
    tmp_xtc = workdir / ".traj.xtc.tmp"
    tmp_xtc.unlink(missing_ok=True)
    energies = []
    try:
        integ.step(n_equil)
        xtc = XTCFile(str(tmp_xtc), top, dt_ps, firstStep=0, interval=n_sample)
        for _ in range(n_frames):
            integ.step(n_sample)
            st = ctx.getState(getPositions=True, getEnergy=True)
            e = st.getPotentialEnergy().value_in_unit(unit.kilojoule_per_mole)
            if not math.isfinite(e):
                raise SimulationError("blew up: non-finite energy in the IBI table run")
            energies.append(e / n)
            pos = np.mod(st.getPositions(asNumpy=True).value_in_unit(unit.nanometer), box)
            xtc.writeModel(pos, periodicBoxVectors=st.getPeriodicBoxVectors())
    except openmm.OpenMMException as exc:
        raise SimulationError(f"blew up: OpenMM error in the IBI table run: {exc}") from exc
    del xtc
    write_pdb(workdir / "topology.pdb", pos, box)
    os.replace(tmp_xtc, workdir / "traj.xtc")
    wall = time.monotonic() - t0
    thermo = {
        "U_per_molecule_kJ_mol": float(np.mean(energies)),
        "wall_s": wall,
        "threads": threads,
        "note": "potential energy of the table (cut and shifted at rc, no long-range correction); no pressure",
        "units": {"U_per_molecule_kJ_mol": "kJ/mol", "wall_s": "s"},
    }
    atomic_write_text(workdir / "table_run.json", json.dumps(thermo, indent=1) + "\n")
    return pos, wall


def fit_lj(r: np.ndarray, u: np.ndarray, T: float, rc: float, start: tuple[float, float]) -> tuple[float, float]:
    """Least-squares LJ (sigma nm, epsilon kJ/mol) fit to a table over [r(U = 3 k_B T), rc)."""
    from scipy.optimize import curve_fit

    r = np.asarray(r, float)
    u = np.asarray(u, float)
    m = (r < rc - SWITCH_WIDTH_NM) & (u < 3.0 * KB * T)
    first = np.flatnonzero(m)[0]
    m[:first] = False
    m &= np.arange(len(r)) >= first

    def lj(x, s, e):
        s6 = (s / x) ** 6
        return 4 * e * (s6 * s6 - s6)

    (s, e), _ = curve_fit(lj, r[m], u[m], p0=list(start), maxfev=10000)
    return float(s), float(abs(e))


def time_unit(target: CGTarget) -> float:
    """The LJ time unit tau = sigma0 sqrt(mass / k_B T) (ps) of the table runs, sigma0 from the target's first peak
    (:func:`project.cg.lj.initial_guess`); T K, mass amu."""
    sigma0, _ = initial_guess(target.r, target.g, target.T)
    return sigma0 * math.sqrt(target.mass / (KB * target.T))


#: Run lengths of the IBI iterations (tau): shorter than the LJ runs of :class:`CGSettings`; the first iteration
#: equilibrates twice as long (it starts from a lattice).
IBI_T_EQUIL = 10.0
IBI_T_PROD = 100.0


def ibi_settings(settings: CGSettings) -> CGSettings:
    """The settings of the IBI iterations: ``settings`` with the IBI run lengths :data:`IBI_T_EQUIL`,
    :data:`IBI_T_PROD` (tau)."""
    return replace(settings, t_equil=IBI_T_EQUIL, t_prod=IBI_T_PROD)


def _iteration(
    target: CGTarget, settings: CGSettings, u: np.ndarray, d: Path, it: int, rc: float, pos: np.ndarray | None
) -> tuple[dict, RDFResult, np.ndarray | None]:
    """Iteration ``it`` in folder ``d``: reused if finished, else one table run and its RDF."""
    if (d / "iteration.json").is_file() and (d / "rdf.npz").is_file():
        rec = json.loads((d / "iteration.json").read_text())
        # restart configuration not stored; the next new iteration starts from a lattice
        return rec, load_rdf(d / "rdf.npz"), None
    d.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    run = replace(
        settings,
        t_equil=settings.t_equil if pos is not None else 2 * settings.t_equil,
        seed=settings.seed + it,
    )
    pos, _ = run_table(target.r, u, target, run, d, rc=rc, start_positions=pos)
    rdf = compute_rdf(d / "topology.pdb", d / "traj.xtc")
    save_rdf(rdf, d / "rdf.npz")
    rec = {"iteration": it, "u_kJ_mol": u.tolist(), "wall_s": time.monotonic() - t0}
    atomic_write_text(d / "iteration.json", json.dumps(rec) + "\n")
    return rec, rdf, pos


def run_ibi(
    target: CGTarget,
    settings: CGSettings,
    root: Path | str,
    *,
    rc: float = 0.9,
    alpha: float = 0.5,
    max_iter: int = 20,
    tol_factor: float = 1.5,
    patience: int = 3,
) -> dict:
    """Run IBI to convergence (module docstring); resumable (finished iterations are reused from ``root``).

    Parameters
    ----------
    target : CGTarget
        Target COM RDF and its error on a uniform grid (nm, dimensionless), which must reach rc; T (K), rho
        (nm^-3), bead mass (amu).
    settings : CGSettings
        Run settings of every iteration as in :func:`run_table` (the iteration's seed is ``seed`` + its index;
        :func:`ibi_settings` gives the IBI run lengths that :func:`project.cg.pipeline.run_method` uses).
    root : path
        Method folder; iteration k runs in ``root/iter_<k>``.
    rc, alpha, max_iter, tol_factor, patience : see module docstring
        Table cut-off (nm), mixing, iteration limit, convergence factor, stagnation patience.

    Returns
    -------
    dict
        ``n_simulations``, ``wall_s``, ``converged``, ``best_iteration``, ``history``, ``final_workdir``,
        ``table`` (``r_nm``, ``u_kJ_mol``), ``criterion``.
    """
    r, g_aa = target.r, target.g
    if r[-1] < rc:
        raise ProjectError(f"rc: table cut-off {rc} nm beyond the RDF grid (r_max {r[-1]:.3g} nm)")
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    u = initial_potential(r, g_aa, target.T, rc)
    history, pos = [], None
    best, since_best, converged, wall = None, 0, False, 0.0
    for it in range(max_iter):
        d = root / f"iter_{it:02d}"
        rec, rdf, pos = _iteration(target, settings, u, d, it, rc, pos)
        u = np.asarray(rec["u_kJ_mol"])  # the potential of this iteration (as stored)
        wall += rec["wall_s"]
        dev = total_deviation(r, g_aa, rdf.g)
        floor = noise_deviation(r, target.g_err, rdf.g_err)
        history.append({"iteration": it, "total_deviation_nm": dev, "noise_floor_nm": floor, "workdir": str(d)})
        logger.info("IBI it %d: D = %.5f nm (noise floor %.5f nm)", it, dev, floor)
        if best is None or dev < best[1]:
            best, since_best = (it, dev, u.copy(), d), 0
        else:
            since_best += 1
        if dev <= tol_factor * floor:
            converged = True
            break
        if since_best >= patience:
            break
        u = ibi_update(r, u, rdf.g, g_aa, target.T, rc, alpha)
    it_best, dev_best, u_best, d_best = best
    out = {
        "method": "ibi",
        "converged": converged,
        "n_simulations": len(history),
        "wall_s": wall,
        "best_iteration": it_best,
        "total_deviation_nm": dev_best,
        "history": history,
        "final_workdir": str(d_best),
        "table": {"r_nm": r.tolist(), "u_kJ_mol": u_best.tolist()},
        "rc_nm": rc,
        "alpha": alpha,
        "criterion": f"total deviation <= {tol_factor:g} x noise floor, or no improvement for {patience} "
        f"iterations (max {max_iter})",
        "stop_reason": "noise floor reached"
        if converged
        else ("no improvement" if since_best >= patience else "max_iter"),
        "units": {"r_nm": "nm", "u_kJ_mol": "kJ/mol", "wall_s": "s", "rc_nm": "nm"},
    }
    atomic_write_text(root / "history.json", json.dumps(out) + "\n")
    return out


__all__ = [
    "IBI_T_EQUIL",
    "IBI_T_PROD",
    "finish_table",
    "fit_lj",
    "ibi_settings",
    "ibi_update",
    "initial_potential",
    "run_ibi",
    "run_table",
    "time_unit",
]
