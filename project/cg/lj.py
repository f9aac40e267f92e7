"""Single-bead Lennard-Jones CG simulations for the coarse-graining methods, with their RDFs, cached on disk.

Units: sigma nm, epsilon kJ/mol, T K, rho nm^-3, mass amu; run lengths of :class:`CGSettings` in tau.

Every CG evaluation of every method is one call of :func:`run_lj`: the state point is normalised with
:func:`project.statepoint.normalise` (``check_phase=False``: an NVT run at the experimental density is well
defined even if an optimiser visits a (sigma, epsilon) whose reduced state lies in the LJ two-phase region; the
T* >= 0.7 and box-size limits still apply, and T* may reach 50: a nearly repulsive bead) and run by
:func:`project.simulate.run_simulation` in ``root/lj_<hash>`` (hash of the state point). The g(r) on the export
grid is saved as ``rdf.npz`` there and the cost as ``cg_run.json``. A second call with the same parameters reuses
the folder (this makes every method resumable); the cost recorded on the first run is what the comparison reports.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from project.engines.base import atomic_write_text
from project.rdf import RDFResult, compute_rdf, load_rdf, save_rdf
from project.statepoint import normalise

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CGSettings:
    """Run settings shared by every CG simulation of the comparison.

    Attributes
    ----------
    N : int
        Number of beads.
    cutoff : float
        LJ cut-off in sigma (dispersion correction applied).
    dt, t_equil, t_prod, t_sample : float
        Time step, melting + equilibration, production, frame interval (tau).
    seed : int
        Random seed.
    engine : str
        MD engine for LJ runs (``gromacs``, ``openmm`` or ``auto``).
    threads : int or None
        Engine threads (None: every core).
    n_blocks : int
        Blocks for the RDF error bars.
    """

    N: int = 500
    cutoff: float = 3.0
    dt: float = 0.004
    t_equil: float = 25.0
    t_prod: float = 150.0
    t_sample: float = 0.5
    seed: int = 1
    engine: str = "gromacs"
    threads: int | None = None
    n_blocks: int = 5


@dataclass
class CGRun:
    """One finished CG run: its state point, folder, RDF and cost (wall s, whether it was reused)."""

    statepoint: dict
    workdir: Path
    rdf: RDFResult
    wall_s: float
    reused: bool


#: Largest dt sqrt(T*) (tau) of a CG run: that of dt = 0.004 tau at T* = 10, the hottest state the LJ library
#: (and its time step) covers. Hotter beads (T* up to 50) get dt = this / sqrt(T*), so that a particle crosses the
#: same fraction of the repulsive wall per step.
MAX_DT_SQRT_T_STAR = 0.004 * 10**0.5


#: Time step (tau) of a Mie bead's run at most: that of the Mie library (docs/mie.md; the steep walls of large
#: exponents), so that a Mie bead is simulated like the states its forward model learned from.
MIE_MAX_DT = 0.002


def cg_statepoint(
    sigma: float, epsilon: float, T: float, rho: float, mass: float, settings: CGSettings, lambda_r: float = 12.0
) -> dict:
    """Return the normalised state point of a CG run (raises StatePointError naming the bad field).

    The time step is ``settings.dt`` (tau), reduced to :data:`MAX_DT_SQRT_T_STAR` / sqrt(T*) for beads hotter than
    T* = (MAX_DT_SQRT_T_STAR / settings.dt)^2 (10 at the default 0.004 tau), and to at most :data:`MIE_MAX_DT` for a
    Mie lambda_r-6 bead (``lambda_r`` != 12, dimensionless)."""
    from project.units import KB

    t_star = KB * float(T) / float(epsilon) if epsilon > 0 else 1.0
    dt = min(settings.dt, MAX_DT_SQRT_T_STAR / t_star**0.5) if t_star > 0 else settings.dt
    if float(lambda_r) != 12.0:
        dt = min(dt, MIE_MAX_DT)
    sp = {
        "sigma": float(sigma),
        "epsilon": float(epsilon),
        "T": float(T),
        "rho": float(rho),
        "mass": float(mass),
        "N": settings.N,
        "cutoff": settings.cutoff,
        "dt": float(f"{dt:.6g}"),
        "t_equil": settings.t_equil,
        "t_prod": settings.t_prod,
        "t_sample": settings.t_sample,
        "seed": settings.seed,
    }
    if float(lambda_r) != 12.0:
        sp["lambda_r"] = float(lambda_r)
    return normalise(sp, check_phase=False)


def run_lj(
    sigma: float,
    epsilon: float,
    T: float,
    rho: float,
    mass: float,
    settings: CGSettings,
    root: Path | str,
    lambda_r: float = 12.0,
) -> CGRun:
    """Run (or reuse) one single-bead LJ (or Mie lambda_r-6) CG simulation and its g(r).

    Parameters
    ----------
    sigma, epsilon : float
        Bead parameters (nm, kJ/mol).
    T, rho, mass : float
        Temperature (K), bead number density (nm^-3), bead mass (amu).
    settings : CGSettings
        Run settings.
    root : path
        Folder of the method; the run goes to ``root/lj_<hash>``.
    lambda_r : float
        Repulsive exponent of a Mie bead (dimensionless; 12: LJ). A Mie bead runs with LAMMPS, the Mie engine
        (docs/mie.md), whatever ``settings.engine`` says.

    Returns
    -------
    CGRun

    Raises
    ------
    project.errors.StatePointError
        Parameters outside the allowed LJ state space (e.g. T* < 0.7), naming the field.
    project.errors.SimulationError
        Engine failure or blow-up.
    """
    from project.simulate import run_simulation

    sp = cg_statepoint(sigma, epsilon, T, rho, mass, settings, lambda_r)
    key = hashlib.sha1(json.dumps(sp, sort_keys=True).encode()).hexdigest()[:12]
    workdir = Path(root) / f"lj_{key}"
    cost_path = workdir / "cg_run.json"
    if cost_path.is_file() and (workdir / "rdf.npz").is_file():
        cost = json.loads(cost_path.read_text())
        return CGRun(sp, workdir, load_rdf(workdir / "rdf.npz"), float(cost["wall_s"]), True)
    t0 = time.monotonic()
    workdir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(workdir / "statepoint.json", json.dumps(sp, indent=1, sort_keys=True) + "\n")
    engine = settings.engine if "lambda_r" not in sp else "lammps"
    summary = run_simulation(sp, workdir, engine=engine, threads=settings.threads)
    rdf = compute_rdf(workdir / "topology.pdb", workdir / "traj.xtc", n_blocks=settings.n_blocks)
    save_rdf(rdf, workdir / "rdf.npz")
    wall = time.monotonic() - t0
    atomic_write_text(
        cost_path,
        json.dumps(
            {
                "wall_s": wall,
                "simulate_wall_s": summary.get("wall_s"),
                "engine": summary.get("engine"),
                "settings": asdict(settings),
                "units": {"wall_s": "s"},
            },
            indent=1,
        )
        + "\n",
    )
    logger.info("CG LJ sigma=%.5f nm epsilon=%.5f kJ/mol: %.1f s", sp["sigma"], sp["epsilon"], wall)
    return CGRun(sp, workdir, rdf, wall, False)


def lj_potential(r: np.ndarray, sigma: float, epsilon: float) -> np.ndarray:
    """LJ 12-6 pair energy (kJ/mol) at distances r (nm)."""
    s6 = (sigma / np.asarray(r, dtype=float)) ** 6
    return 4.0 * epsilon * (s6 * s6 - s6)


def initial_guess(r_nm: np.ndarray, g: np.ndarray, T: float) -> tuple[float, float]:
    """Naive start point shared by the iterative methods: sigma = r_peak / 2^(1/6) (nm), epsilon = k_B T (kJ/mol).

    The first peak of g sits near the minimum of the pair potential, and T* = 1 is a generic liquid temperature.
    """
    from project.rdf import derived_quantities
    from project.units import KB

    peak = derived_quantities(np.asarray(r_nm), np.asarray(g), 1.0, 2)["first_peak_r_nm"]
    return float(peak / 2.0 ** (1.0 / 6.0)), float(KB * T)


__all__ = ["CGRun", "CGSettings", "cg_statepoint", "initial_guess", "lj_potential", "run_lj"]
