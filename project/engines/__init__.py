"""MD engines for the Lennard-Jones and Mie protocol (GROMACS for LJ; LAMMPS for Mie lambda_r-6; OpenMM for both).

Units: length nm, time ps, energy kJ/mol, temperature K, mass amu, pressure bar.
"""

from __future__ import annotations

from project.engines.base import Engine, EngineResult, Protocol, make_protocol

#: Engine names accepted by :func:`get_engine`.
ENGINE_NAMES = ("auto", "gromacs", "openmm", "lammps")


def engine_threads() -> int:
    """Threads for an MD engine: $LJ_THREADS, else the SLURM allocation ($SLURM_CPUS_PER_TASK), else every core."""
    import os

    for var in ("LJ_THREADS", "SLURM_CPUS_PER_TASK"):
        if os.environ.get(var):
            return int(os.environ[var])
    return os.cpu_count() or 1


def get_engine(name: str = "auto", lambda_r: float = 12.0) -> Engine:
    """Return an engine by name.

    Parameters
    ----------
    name : str
        ``"auto"`` (LJ: GROMACS when ``gmx`` is on PATH, else OpenMM; Mie: LAMMPS), ``"gromacs"``, ``"openmm"``
        or ``"lammps"``.
    lambda_r : float
        Repulsive exponent of the state (dimensionless; 12 is LJ). GROMACS runs LJ only; LAMMPS and OpenMM run any
        lambda_r.

    Returns
    -------
    Engine
        A new engine instance.

    Raises
    ------
    ValueError
        If ``name`` is not one of :data:`ENGINE_NAMES`, or names GROMACS for lambda_r != 12.
    """
    key = str(name).strip().lower()
    if key not in ENGINE_NAMES:
        raise ValueError(f"unknown engine {name!r}; allowed: {', '.join(ENGINE_NAMES)}")
    if key == "lammps" or (key == "auto" and float(lambda_r) != 12.0):
        from project.engines.lammps import LammpsEngine

        return LammpsEngine()
    if float(lambda_r) != 12.0 and key == "gromacs":
        raise ValueError(
            f"engine {name!r} runs LJ only (lambda_r 12), got lambda_r = {lambda_r:g}; allowed: auto, lammps, openmm"
        )
    from project.engines.gromacs import GromacsEngine

    if key == "gromacs" or (key == "auto" and GromacsEngine.available()):
        return GromacsEngine()
    from project.engines.openmm_engine import OpenMMEngine

    return OpenMMEngine()


__all__ = ["ENGINE_NAMES", "Engine", "EngineResult", "Protocol", "engine_threads", "get_engine", "make_protocol"]
