"""Engine interface and the engine-independent parts of the simulation protocol.

Units: length nm, time ps, energy kJ/mol, temperature K, mass amu, number density nm^-3, pressure bar.
Reduced units use sigma (nm), epsilon (kJ/mol) and tau = sigma sqrt(m / epsilon) (ps).

The protocol shared by every engine (see :func:`make_protocol`):

1. start configuration: a simple-cubic lattice with ``ceil(N^(1/3))^3`` sites in the cubic box
   ``L = (N / rho)^(1/3)`` nm, ``N`` sites drawn at random (seeded), each jittered by up to 5 % of the
   spacing, so no two particles overlap;
2. energy minimisation (steepest descent);
3. melting + equilibration for ``t_equil`` with a stochastic thermostat: the first quarter at
   ``T_melt = max(T, 2 epsilon / k_B)``, a linear ramp to ``T`` over the second quarter, the second half
   at ``T``;
4. NVT production for ``t_prod`` at ``T``, a frame and a thermo row every ``t_sample``.

LJ 12-6 (or, with ``lambda_r``, Mie lambda_r-6: u = C epsilon [(sigma/r)^lambda_r - (sigma/r)^6]) truncated (not
shifted) at ``cutoff * sigma`` with the analytic long-range correction for energy and pressure.
"""

from __future__ import annotations

import csv
import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from project import units
from project.atomic import atomic_path, atomic_write_text
from project.eos import mie_prefactor

#: Default time step in tau when a state point has none. Hot LJ fluids (T* = 2.5) blew up with GROMACS at
#: 0.003 tau and larger (docs: shared/notes/environment.md); 0.002 tau is safe for every state we run.
DEFAULT_DT_TAU = 0.002
#: Melting temperature of the equilibration stage in reduced units (a lattice melts at any liquid density).
MELT_T_STAR = 2.0
#: Langevin / sd inverse friction (GROMACS tau-t) in tau.
THERMOSTAT_TAU = 1.0
#: Header of ``thermo.csv`` (units in the column names).
THERMO_HEADER = ("time_ps", "potential_kJ_mol", "pressure_bar", "temperature_K")


@dataclass(frozen=True)
class Protocol:
    """Engine-independent run parameters derived from a state point (GROMACS units).

    Attributes
    ----------
    sigma, epsilon, mass : float
        LJ diameter (nm), well depth (kJ/mol), particle mass (amu).
    T : float
        Production temperature (K).
    T_melt : float
        Temperature of the melting stage (K).
    rho : float
        Number density (nm^-3).
    N : int
        Number of particles.
    box : float
        Cubic box edge (nm).
    rc : float
        Cut-off radius (nm).
    tau : float
        LJ time unit (ps).
    dt : float
        Time step (ps).
    n_equil, n_prod, n_sample : int
        Equilibration steps, production steps, steps between saved frames / thermo rows.
    tau_t : float
        Thermostat inverse friction (ps).
    seed : int
        Random seed combining the state-point seed and replica index (positive, < 2^31).
    lambda_r : float
        Repulsive exponent of the Mie lambda_r-6 potential (dimensionless; 12 is LJ).
    """

    sigma: float
    epsilon: float
    mass: float
    T: float
    T_melt: float
    rho: float
    N: int
    box: float
    rc: float
    tau: float
    dt: float
    n_equil: int
    n_prod: int
    n_sample: int
    tau_t: float
    seed: int
    lambda_r: float = 12.0
    extra: dict = field(default_factory=dict)

    @property
    def n_frames(self) -> int:
        """Expected number of production frames (step 0 and every ``n_sample`` steps, both ends included)."""
        return self.n_prod // self.n_sample + 1


def make_protocol(sp: dict) -> Protocol:
    """Derive the run parameters from a (normalised) state point.

    Parameters
    ----------
    sp : dict
        State point: ``sigma`` (nm), ``epsilon`` (kJ/mol), ``T`` (K), ``rho`` (nm^-3), ``N``, ``mass`` (amu),
        ``cutoff`` (sigma, default 3.0), ``dt``, ``t_equil``, ``t_prod``, ``t_sample`` (tau), ``seed``,
        ``replica``, ``lambda_r`` (dimensionless, default 12: LJ).

    Returns
    -------
    Protocol
        Step counts rounded to whole steps; ``t_prod`` is rounded up to a whole number of sample intervals.

    Raises
    ------
    project.errors.SimulationError
        If a key is missing or the box is too small for the cut-off (box edge < 2.1 cutoff).
    """
    from project.errors import SimulationError

    try:
        sigma, epsilon, mass = float(sp["sigma"]), float(sp["epsilon"]), float(sp["mass"])
        T, rho, N = float(sp["T"]), float(sp["rho"]), int(sp["N"])
        t_equil, t_prod, t_sample = float(sp["t_equil"]), float(sp["t_prod"]), float(sp["t_sample"])
    except KeyError as exc:
        raise SimulationError(f"state point lacks key {exc.args[0]!r}") from exc
    cutoff = float(sp.get("cutoff", 3.0))
    dt_tau = float(sp.get("dt", DEFAULT_DT_TAU))
    if min(sigma, epsilon, mass, T, rho, dt_tau, t_sample) <= 0 or N < 2 or t_prod <= 0 or t_equil < 0:
        raise SimulationError(f"state point has non-positive values: {sp}")
    tau = units.tau(sigma, epsilon, mass)
    dt = dt_tau * tau
    box = (N / rho) ** (1.0 / 3.0)
    rc = cutoff * sigma
    if box < 2.1 * rc:
        raise SimulationError(
            f"box edge {box:.4g} nm is smaller than 2.1 x cut-off ({rc:.4g} nm): increase N (now {N})"
        )
    n_sample = max(1, round(t_sample / dt_tau))
    n_prod = max(1, math.ceil(round(t_prod / dt_tau, 6) / n_sample)) * n_sample
    n_equil = round(t_equil / dt_tau)
    seed = (int(sp.get("seed", 0)) * 1_000_003 + int(sp.get("replica", 0)) * 7919 + 12345) % (2**31 - 2) + 1
    T_melt = max(T, units.temperature_from_reduced(MELT_T_STAR, epsilon))
    return Protocol(
        sigma=sigma,
        epsilon=epsilon,
        mass=mass,
        T=T,
        T_melt=T_melt,
        rho=rho,
        N=N,
        box=box,
        rc=rc,
        tau=tau,
        dt=dt,
        n_equil=n_equil,
        n_prod=n_prod,
        n_sample=n_sample,
        tau_t=THERMOSTAT_TAU * tau,
        seed=seed,
        lambda_r=float(sp.get("lambda_r", 12.0)),
    )


def initial_positions(N: int, box: float, seed: int) -> np.ndarray:
    """Return non-overlapping start positions in a cubic box.

    Parameters
    ----------
    N : int
        Number of particles.
    box : float
        Box edge (nm).
    seed : int
        Random seed.

    Returns
    -------
    numpy.ndarray
        ``(N, 3)`` positions in nm inside ``[0, box)``; nearest neighbours are at least 0.9 lattice
        spacings apart.
    """
    rng = np.random.default_rng(seed)
    n = math.ceil(N ** (1.0 / 3.0) - 1e-9)
    a = box / n
    grid = np.stack(np.meshgrid(np.arange(n), np.arange(n), np.arange(n), indexing="ij"), -1).reshape(-1, 3)
    sites = grid[np.sort(rng.choice(len(grid), size=N, replace=False))]
    pos = (sites + 0.5) * a + rng.uniform(-0.05 * a, 0.05 * a, size=(N, 3))
    return np.mod(pos, box)


def lrc_energy_per_particle(rho: float, sigma: float, epsilon: float, rc: float, lambda_r: float = 12.0) -> float:
    """Analytic long-range energy correction per particle, kJ/mol (rho nm^-3, sigma/rc nm, eps kJ/mol).

    2 pi rho int_rc^inf r^2 u(r) dr = 2 pi rho C epsilon sigma^3 [x^(n-3)/(n-3) - x^3/3] with x = sigma/rc and
    n = lambda_r; (8/3) pi rho epsilon sigma^3 (x^9/3 - x^3) for LJ.
    """
    x, n = sigma / rc, float(lambda_r)
    return 2.0 * math.pi * rho * sigma**3 * epsilon * mie_prefactor(n) * (x ** (n - 3.0) / (n - 3.0) - x**3 / 3.0)


def lrc_pressure(rho: float, sigma: float, epsilon: float, rc: float, lambda_r: float = 12.0) -> float:
    """Analytic long-range pressure correction in bar (rho nm^-3, sigma/rc nm, eps kJ/mol).

    -(2/3) pi rho^2 int_rc^inf r^3 u'(r) dr = (2/3) pi rho^2 C epsilon sigma^3 [n x^(n-3)/(n-3) - 2 x^3] with
    x = sigma/rc and n = lambda_r.
    """
    x, n = sigma / rc, float(lambda_r)
    p = (2.0 / 3.0) * math.pi * rho**2 * sigma**3 * epsilon * mie_prefactor(n)
    p *= n * x ** (n - 3.0) / (n - 3.0) - 2.0 * x**3
    return p * units.KJ_MOL_NM3_TO_BAR


def write_pdb(path: Path, positions: np.ndarray, box: float) -> None:
    """Write a single-frame PDB (atom name and residue ``LJ``) atomically.

    Parameters
    ----------
    path : Path
        Output file.
    positions : numpy.ndarray
        ``(N, 3)`` positions in nm (written in Angstrom as PDB requires).
    box : float
        Cubic box edge in nm (CRYST1 record, in Angstrom).
    """
    b = box * 10.0
    lines = [f"CRYST1{b:9.3f}{b:9.3f}{b:9.3f}{90.0:7.2f}{90.0:7.2f}{90.0:7.2f} P 1           1"]
    for i, (x, y, z) in enumerate(np.asarray(positions) * 10.0):
        serial = (i + 1) % 100000
        resid = (i + 1) % 10000
        lines.append(f"HETATM{serial:5d}  LJ   LJ X{resid:4d}    {x:8.3f}{y:8.3f}{z:8.3f}  1.00  0.00          LJ")
    lines.append("END")
    atomic_write_text(path, "\n".join(lines) + "\n")


def write_thermo_csv(path: Path, rows: np.ndarray) -> None:
    """Write ``thermo.csv`` atomically.

    Parameters
    ----------
    path : Path
        Output file.
    rows : numpy.ndarray
        ``(n, 4)`` array: time (ps), potential energy (kJ/mol), pressure (bar), temperature (K).
    """
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(THERMO_HEADER)
        for r in np.asarray(rows, dtype=float):
            w.writerow([f"{r[0]:.6f}", f"{r[1]:.8g}", f"{r[2]:.8g}", f"{r[3]:.8g}"])


def read_thermo_csv(path: Path) -> np.ndarray:
    """Read ``thermo.csv`` as an ``(n, 4)`` array: time ps, potential kJ/mol, pressure bar, temperature K."""
    data = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
    return data.reshape(-1, 4)


@dataclass
class EngineResult:
    """What an engine run produced (files are in the work directory).

    Attributes
    ----------
    n_steps : int
        Production steps.
    prod_wall_s : float
        Wall time of the production stage in this call (s); 0 if nothing was run.
    prod_steps_run : int
        Production steps run in this call (fewer than ``n_steps`` after a resume).
    resumed : bool
        Whether a stage resumed from a checkpoint.
    """

    n_steps: int
    prod_wall_s: float
    prod_steps_run: int
    resumed: bool = False


class Engine(ABC):
    """An MD engine able to run the protocol of :func:`make_protocol` (LJ; LAMMPS also Mie lambda_r-6).

    Attributes
    ----------
    name : str
        Engine name (``"gromacs"``, ``"openmm"`` or ``"lammps"``).
    """

    name: str = ""

    @classmethod
    @abstractmethod
    def available(cls) -> bool:
        """Return whether the engine can run on this machine."""

    @abstractmethod
    def version(self) -> str:
        """Return the engine version string."""

    @abstractmethod
    def run(self, protocol: Protocol, workdir: Path, threads: int | None = None) -> EngineResult:
        """Run (or resume) the protocol in ``workdir``.

        Writes ``topology.pdb``, ``traj.xtc`` and ``thermo.csv`` (time ps, potential kJ/mol, pressure bar,
        temperature K; one row per production frame) in ``workdir``; engine files go to a sub-folder.

        Parameters
        ----------
        protocol : Protocol
            Run parameters.
        workdir : Path
            Work directory (exists).
        threads : int or None
            CPU threads; None uses all cores.

        Returns
        -------
        EngineResult

        Raises
        ------
        project.errors.SimulationError
            Engine failure or blow-up (message starts with ``"blew up:"``).
        """
