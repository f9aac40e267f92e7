"""The ``simulate`` step: LJ (or Mie) state point -> equilibrated NVT production trajectory and its summary.

Units: length nm, time ps, energy kJ/mol, temperature K, mass amu, number density nm^-3, pressure bar.
Reduced values use sigma, epsilon and tau = sigma sqrt(m / epsilon) (see :mod:`project.units`).

Products in the work directory (docs/ARCHITECTURE.md): ``topology.pdb``, ``traj.xtc``, ``thermo.csv`` and,
last and atomically, ``simulate.json`` whose presence means success. The protocol is described in
:mod:`project.engines.base`; the default time step is :data:`project.engines.base.DEFAULT_DT_TAU` tau.
"""

from __future__ import annotations

import json
import logging
import math
import time
from pathlib import Path

import numpy as np

from project import units
from project.atomic import atomic_write_text
from project.engines import get_engine, make_protocol
from project.engines.base import Protocol, read_thermo_csv
from project.errors import SimulationError

logger = logging.getLogger(__name__)

SUMMARY_NAME = "simulate.json"
PRODUCTS = ("topology.pdb", "traj.xtc", "thermo.csv")
#: Keys every valid ``simulate.json`` carries.
SUMMARY_KEYS = (
    "engine",
    "engine_version",
    "n_steps",
    "wall_s",
    "steps_per_s",
    "U_per_N_kJ_mol",
    "P_bar",
    "U_star_per_N",
    "P_star",
    "U_per_N_stderr_kJ_mol",
    "P_stderr_bar",
    "n_frames",
    "equilibration",
)
#: Number of blocks for block-averaged standard errors.
N_BLOCKS = 10
#: Equilibration check: |mean(second half) - mean(first half)| of U/N must be within this many standard
#: errors.
EQUIL_K = 4.0
#: Mean production temperature must lie within this relative deviation of T (else the run is rejected).
MAX_REL_T_DEVIATION = 0.1


def block_average(x: np.ndarray, n_blocks: int = N_BLOCKS) -> tuple[float, float]:
    """Return the mean and its block-averaged standard error.

    Parameters
    ----------
    x : numpy.ndarray
        Time series (any unit).
    n_blocks : int
        Number of contiguous blocks (reduced to ``len(x) // 2`` for short series).

    Returns
    -------
    tuple of float
        ``(mean, stderr)`` in the unit of ``x``; stderr is NaN for fewer than 4 samples.
    """
    x = np.asarray(x, dtype=float)
    nb = min(n_blocks, len(x) // 2)
    if nb < 2:
        return float(np.mean(x)), math.nan
    m = len(x) // nb
    blocks = x[len(x) - nb * m :].reshape(nb, m).mean(axis=1)
    return float(np.mean(x)), float(np.std(blocks, ddof=1) / math.sqrt(nb))


def equilibration_check(u_per_n: np.ndarray, k: float = EQUIL_K) -> dict:
    """Compare the mean potential energy of the first and second half of the production.

    Parameters
    ----------
    u_per_n : numpy.ndarray
        Potential energy per particle time series (kJ/mol).
    k : float
        Tolerance in standard errors of the difference.

    Returns
    -------
    dict
        ``U_first_half_per_N_kJ_mol``, ``U_second_half_per_N_kJ_mol``, ``drift_per_N_kJ_mol``,
        ``drift_stderr_per_N_kJ_mol`` (block standard errors of the halves, 5 blocks each, combined), ``k``
        and ``equilibrated`` (``|drift| <= k * stderr``).
    """
    half = len(u_per_n) // 2
    m1, s1 = block_average(u_per_n[:half], N_BLOCKS // 2)
    m2, s2 = block_average(u_per_n[half:], N_BLOCKS // 2)
    se = math.sqrt(s1**2 + s2**2) if math.isfinite(s1) and math.isfinite(s2) else math.nan
    drift = m2 - m1
    ok = bool(math.isfinite(se) and abs(drift) <= k * se)
    return {
        "U_first_half_per_N_kJ_mol": m1,
        "U_second_half_per_N_kJ_mol": m2,
        "drift_per_N_kJ_mol": drift,
        "drift_stderr_per_N_kJ_mol": se,
        "k": k,
        "equilibrated": ok,
    }


def load_summary(workdir: Path | str) -> dict | None:
    """Return the ``simulate.json`` summary of a work directory if it is present and valid, else None.

    Valid means: parseable JSON with every key of :data:`SUMMARY_KEYS`, and every product file present.
    """
    workdir = Path(workdir)
    path = workdir / SUMMARY_NAME
    if not path.is_file():
        return None
    try:
        summary = json.loads(path.read_text())
    except (OSError, ValueError):
        logger.warning("ignoring unreadable %s", path)
        return None
    if not isinstance(summary, dict) or any(k not in summary for k in SUMMARY_KEYS):
        logger.warning("ignoring incomplete %s", path)
        return None
    if any(not (workdir / f).is_file() for f in PRODUCTS):
        logger.warning("ignoring %s: a product file is missing", path)
        return None
    return summary


def xtc_frame_times(path: Path | str, n_atoms: int) -> np.ndarray:
    """Return the times (ps) of every frame of an XTC file (MDAnalysis reader)."""
    from MDAnalysis.coordinates.XTC import XTCReader

    reader = XTCReader(str(path), refresh_offsets=True)
    try:
        if reader.n_atoms != n_atoms:
            raise SimulationError(f"{path} has {reader.n_atoms} atoms, expected {n_atoms}")
        return np.array([ts.time for ts in reader], dtype=float)
    finally:
        reader.close()


def _validate_products(p: Protocol, workdir: Path) -> np.ndarray:
    """Check thermo.csv and traj.xtc (frame counts, monotonic times, finite values); return thermo."""
    thermo = read_thermo_csv(workdir / "thermo.csv")
    if len(thermo) != p.n_frames:
        raise SimulationError(f"thermo.csv has {len(thermo)} rows, expected {p.n_frames}")
    if not np.all(np.isfinite(thermo)):
        raise SimulationError("blew up: non-finite values in thermo.csv")
    times = xtc_frame_times(workdir / "traj.xtc", p.N)
    if len(times) != p.n_frames:
        raise SimulationError(f"traj.xtc has {len(times)} frames, expected {p.n_frames}")
    if len(times) > 1 and not np.all(np.diff(times) > 0):
        raise SimulationError("traj.xtc frame times are not strictly increasing")
    t_mean = float(np.mean(thermo[:, 3]))
    if abs(t_mean / p.T - 1.0) > MAX_REL_T_DEVIATION:
        raise SimulationError(f"blew up: mean production temperature {t_mean:.4g} K, thermostat at {p.T:.4g} K")
    return thermo


def summarise(p: Protocol, thermo: np.ndarray) -> dict:
    """Return the thermodynamic part of the summary from the production thermo array.

    Parameters
    ----------
    p : Protocol
        Run parameters.
    thermo : numpy.ndarray
        ``(n, 4)``: time (ps), potential (kJ/mol), pressure (bar), temperature (K).

    Returns
    -------
    dict
        Means and block standard errors of U/N (kJ/mol), P (bar), T (K) and reduced U*/N, P*, T*, rho*,
        plus the equilibration check.
    """
    u_per_n = thermo[:, 1] / p.N
    u, u_se = block_average(u_per_n)
    pr, p_se = block_average(thermo[:, 2])
    t, t_se = block_average(thermo[:, 3])
    return {
        "U_per_N_kJ_mol": u,
        "U_per_N_stderr_kJ_mol": u_se,
        "P_bar": pr,
        "P_stderr_bar": p_se,
        "T_mean_K": t,
        "T_stderr_K": t_se,
        "U_star_per_N": u / p.epsilon,
        "U_star_per_N_stderr": u_se / p.epsilon,
        "P_star": units.reduced_pressure(pr, p.sigma, p.epsilon),
        "P_star_stderr": units.reduced_pressure(p_se, p.sigma, p.epsilon),
        "T_star": units.reduced_temperature(p.T, p.epsilon),
        "rho_star": units.reduced_density(p.rho, p.sigma),
        "equilibration": equilibration_check(u_per_n),
    }


def _finite_or_none(obj):
    """Replace NaN/inf floats by None (strict JSON), recursively."""
    if isinstance(obj, dict):
        return {k: _finite_or_none(v) for k, v in obj.items()}
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def run_simulation(sp: dict, workdir: Path | str, engine: str = "auto", threads: int | None = None) -> dict:
    """Run (or resume, or reuse) the simulate step of one state point.

    Parameters
    ----------
    sp : dict
        Normalised state point: ``sigma`` (nm), ``epsilon`` (kJ/mol), ``T`` (K), ``rho`` (nm^-3), ``N``,
        ``mass`` (amu), ``cutoff`` (sigma), ``dt``, ``t_equil``, ``t_prod``, ``t_sample`` (tau), ``seed``,
        ``replica``, optional ``lambda_r`` (dimensionless; absent: 12, LJ).
    workdir : Path or str
        Job folder; created if missing. Engine files go to a sub-folder; an interrupted run resumes from its
        checkpoint there.
    engine : str
        ``"auto"``, ``"gromacs"``, ``"openmm"`` or ``"lammps"`` (see :func:`project.engines.get_engine`); ``"auto"``
        runs a Mie state (``lambda_r`` != 12) with LAMMPS and an LJ state with GROMACS (else OpenMM).
    threads : int or None
        CPU threads for the engine; None uses all cores.

    Returns
    -------
    dict
        The ``simulate.json`` summary: ``engine``, ``engine_version``, ``n_steps``, ``wall_s`` (s),
        ``steps_per_s`` (production), ``U_per_N_kJ_mol``, ``P_bar``, ``U_star_per_N``, ``P_star``, their
        block standard errors, ``T_mean_K``, ``n_frames``, ``dt_ps``, ``tau_ps``, ``equilibration`` and the
        state point.

    Raises
    ------
    project.errors.SimulationError
        Engine failure, blow-up (message starts with ``"blew up:"``) or inconsistent products.
    ValueError
        Unknown engine name, or an LJ-only engine named for a Mie state.
    """
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    existing = load_summary(workdir)
    if existing is not None:
        logger.info("simulate: %s exists, not rerunning", workdir / SUMMARY_NAME)
        return existing
    p = make_protocol(sp)
    eng = get_engine(engine, p.lambda_r)
    t0 = time.monotonic()
    logger.info("simulate: %s, N=%d, %d production steps of %.4g ps in %s", eng.name, p.N, p.n_prod, p.dt, workdir)
    result = eng.run(p, workdir, threads)
    thermo = _validate_products(p, workdir)
    wall = time.monotonic() - t0
    summary = {
        "engine": eng.name,
        "engine_version": eng.version(),
        "n_steps": result.n_steps,
        "n_equil_steps": p.n_equil,
        "wall_s": wall,
        "steps_per_s": (result.prod_steps_run / result.prod_wall_s) if result.prod_wall_s > 0 else math.nan,
        "resumed": result.resumed,
        "n_frames": p.n_frames,
        "dt_ps": p.dt,
        "tau_ps": p.tau,
        "threads": threads,
        **summarise(p, thermo),
        "statepoint": dict(sp),
    }
    summary = _finite_or_none(summary)
    atomic_write_text(workdir / SUMMARY_NAME, json.dumps(summary, indent=2, sort_keys=True) + "\n")
    logger.info(
        "simulate: done in %.1f s: U*/N = %.4f +- %.4f, P* = %.4f +- %.4f",
        wall,
        summary["U_star_per_N"],
        summary["U_star_per_N_stderr"],
        summary["P_star"],
        summary["P_star_stderr"],
    )
    return summary


__all__ = [
    "block_average",
    "equilibration_check",
    "load_summary",
    "run_simulation",
    "summarise",
    "xtc_frame_times",
]
