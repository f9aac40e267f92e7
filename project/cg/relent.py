"""Relative-entropy minimisation for the single-bead LJ parameters (sigma, epsilon), Newton-Raphson steps.

Units: sigma, r nm; epsilon, U kJ/mol; T K; beta mol/kJ; rho nm^-3.

For a pair potential u(r; lambda) with lambda = (sigma, epsilon) the relative entropy of the CG model with
respect to the mapped AA ensemble has the gradient (Shell 2008; Chaimovich & Shell 2011)

    dS_rel/dlambda = beta (<dU/dlambda>_AA - <dU/dlambda>_CG)
                   = beta (N rho' / 2) 4 pi integral_0^rc r^2 [g_AA(r) - g_CG(r)] du/dlambda dr,

with rho' = (N - 1)/V (the RDF normalisation), and the Hessian

    H = beta (<d2U>_AA - <d2U>_CG) + beta^2 Cov_CG(dU/dlambda_i, dU/dlambda_j),

whose first term is the same RDF integral with d2u/dlambda_i dlambda_j and whose covariance term is computed from
the per-frame sums of du/dlambda over the pairs of the CG trajectory. Each iteration runs one CG simulation at the
current lambda and takes a damped Newton step ``-H^-1 grad``: the step is scaled so that sigma changes by at most
:data:`MAX_REL_STEP_SIGMA` and epsilon by at most :data:`MAX_REL_STEP_EPS` (relative), and epsilon is kept at
:data:`MIN_T_STAR` <= T* <= :data:`MAX_T_STAR`; if H is not positive definite a gradient step with the diagonal of
H is used instead.

Convergence: the proposed (undamped) Newton step changes sigma by less than ``sigma_tol`` (default 0.2 %) and
epsilon by less than ``eps_tol`` (default 2 %); the parameters of the last simulated iterate are the result.
"""

from __future__ import annotations

import json
import logging
import math
import time
from pathlib import Path

import numpy as np

from project.cg.lj import CGRun, CGSettings, run_lj
from project.cg.target import CGTarget
from project.engines.base import atomic_write_text
from project.errors import ProjectError, StatePointError
from project.units import KB

logger = logging.getLogger(__name__)

MAX_REL_STEP_SIGMA = 0.03
MAX_REL_STEP_EPS = 0.25
MIN_T_STAR = 0.72
#: Upper limit of T* kept by the steps: CG state points allow T* <= 50 (a nearly repulsive bead); 45 leaves room for
#: a last step. It was 9.5 (the training states' T* <= 10), where relative entropy stalled on F2 and CO2.
MAX_T_STAR = 45.0


def lj_parameter_derivatives(r: np.ndarray, sigma: float, epsilon: float) -> tuple[np.ndarray, np.ndarray]:
    """First and second derivatives of the LJ pair energy with respect to (sigma, epsilon).

    Parameters
    ----------
    r : numpy.ndarray
        Distances (nm).
    sigma, epsilon : float
        LJ parameters (nm, kJ/mol).

    Returns
    -------
    tuple
        ``d1`` of shape (2, n): du/dsigma (kJ/mol/nm), du/depsilon (1); ``d2`` of shape (2, 2, n):
        d2u/dsigma2 (kJ/mol/nm^2), d2u/dsigma depsilon (1/nm), d2u/depsilon2 (= 0).
    """
    s6 = (sigma / np.asarray(r, dtype=float)) ** 6
    s12 = s6 * s6
    du_ds = 4.0 * epsilon * (12.0 * s12 - 6.0 * s6) / sigma
    du_de = 4.0 * (s12 - s6)
    d2_ss = 4.0 * epsilon * (132.0 * s12 - 30.0 * s6) / sigma**2
    d2_se = 4.0 * (12.0 * s12 - 6.0 * s6) / sigma
    d1 = np.stack([du_ds, du_de])
    d2 = np.array([[d2_ss, d2_se], [d2_se, np.zeros_like(s6)]])
    return d1, d2


def _pair_integral(r: np.ndarray, g: np.ndarray, f: np.ndarray, n: int, volume: float, rc: float) -> np.ndarray:
    """(N (N-1) / 2V) 4 pi sum r^2 g f dr over r < rc: the ensemble average of sum_pairs f (any trailing shape)."""
    r = np.asarray(r, dtype=float)
    m = (r < rc) & (np.asarray(g) > 0)
    dr = float(r[1] - r[0])
    w = 0.5 * n * (n - 1) / volume * 4.0 * math.pi * r[m] ** 2 * np.asarray(g)[m] * dr
    return np.tensordot(f[..., m], w, axes=([-1], [0]))


def relent_gradient(
    r: np.ndarray,
    g_aa: np.ndarray,
    g_cg: np.ndarray,
    sigma: float,
    epsilon: float,
    T: float,
    n: int,
    volume: float,
    rc: float,
) -> np.ndarray:
    """Gradient of S_rel with respect to (sigma, epsilon): (1/nm, mol/kJ), see the module docstring.

    Parameters
    ----------
    r : numpy.ndarray
        Bin centres (nm); ``g_aa`` and ``g_cg`` on this grid.
    g_aa, g_cg : numpy.ndarray
        Target and current CG RDFs.
    sigma, epsilon : float
        Current parameters (nm, kJ/mol).
    T : float
        Temperature (K).
    n : int
        Number of beads; ``volume`` the box volume (nm^3).
    volume : float
        Box volume (nm^3).
    rc : float
        CG cut-off (nm); the integral runs over r < rc (and over the grid).

    Raises
    ------
    ProjectError
        Mismatched arrays or non-positive parameters.
    """
    r, g_aa, g_cg = (np.asarray(x, dtype=float) for x in (r, g_aa, g_cg))
    if not (r.shape == g_aa.shape == g_cg.shape) or r.ndim != 1:
        raise ProjectError(
            f"relent_gradient: r, g_aa, g_cg must be 1-D of equal length, got {r.shape}, {g_aa.shape}, {g_cg.shape}"
        )
    if min(sigma, epsilon, T, volume, rc) <= 0 or n < 2:
        raise ProjectError("relent_gradient: sigma, epsilon, T, volume, rc must be positive and n >= 2")
    d1, _ = lj_parameter_derivatives(np.maximum(r, 1e-6), sigma, epsilon)
    beta = 1.0 / (KB * T)
    return beta * (_pair_integral(r, g_aa, d1, n, volume, rc) - _pair_integral(r, g_cg, d1, n, volume, rc))


def frame_derivative_sums(workdir: Path, sigma: float, epsilon: float, rc: float) -> np.ndarray:
    """Per-frame sums over pairs r < rc of (du/dsigma, du/depsilon) of a CG trajectory, shape (n_frames, 2)."""
    import MDAnalysis as mda
    from MDAnalysis.lib.distances import self_capped_distance

    u = mda.Universe(str(workdir / "topology.pdb"), str(workdir / "traj.xtc"))
    out = []
    for ts in u.trajectory:
        _, d = self_capped_distance(u.atoms.positions, rc * 10.0, box=ts.dimensions, return_distances=True)
        d1, _ = lj_parameter_derivatives(d / 10.0, sigma, epsilon)
        out.append(d1.sum(axis=1))
    return np.array(out)


def relent_hessian(
    r: np.ndarray,
    g_aa: np.ndarray,
    g_cg: np.ndarray,
    frame_sums: np.ndarray,
    sigma: float,
    epsilon: float,
    T: float,
    n: int,
    volume: float,
    rc: float,
) -> np.ndarray:
    """Hessian of S_rel in (sigma, epsilon) (module docstring); ``frame_sums`` from :func:`frame_derivative_sums`."""
    _, d2 = lj_parameter_derivatives(np.maximum(np.asarray(r, float), 1e-6), sigma, epsilon)
    beta = 1.0 / (KB * T)
    h = beta * (_pair_integral(r, g_aa, d2, n, volume, rc) - _pair_integral(r, g_cg, d2, n, volume, rc))
    return h + beta**2 * np.cov(np.asarray(frame_sums).T, ddof=1)


def newton_step(grad: np.ndarray, hess: np.ndarray, sigma: float, epsilon: float) -> tuple[np.ndarray, str]:
    """Return the (undamped) step in (sigma nm, epsilon kJ/mol) and its kind (``newton`` or ``gradient``)."""
    try:
        eig = np.linalg.eigvalsh(hess)
        if np.all(eig > 0):
            return -np.linalg.solve(hess, grad), "newton"
    except np.linalg.LinAlgError:
        pass
    diag = np.abs(np.diag(hess))
    diag = np.where(diag > 0, diag, 1.0)
    return -grad / diag, "gradient"


def damp(step: np.ndarray, sigma: float, epsilon: float, T: float) -> np.ndarray:
    """Scale a step to the trust region (relative limits on sigma and epsilon); keep MIN_T_STAR <= T* <= MAX_T_STAR."""
    scale = max(abs(step[0]) / (MAX_REL_STEP_SIGMA * sigma), abs(step[1]) / (MAX_REL_STEP_EPS * epsilon), 1.0)
    step = step / scale
    eps_max, eps_min = KB * T / MIN_T_STAR, KB * T / MAX_T_STAR
    new_eps = min(max(epsilon + step[1], eps_min), eps_max)
    return np.array([step[0], new_eps - epsilon])


def _derivatives(target: CGTarget, run: CGRun) -> tuple[np.ndarray, np.ndarray]:
    """Gradient and Hessian of S_rel at the parameters of a finished CG run (module docstring)."""
    sp = run.statepoint
    n, volume, rc = sp["N"], sp["N"] / sp["rho"], sp["cutoff"] * sp["sigma"]
    r, g_aa, g_cg, T = target.r, target.g, run.rdf.g, target.T
    grad = relent_gradient(r, g_aa, g_cg, sp["sigma"], sp["epsilon"], T, n, volume, rc)
    sums = frame_derivative_sums(run.workdir, sp["sigma"], sp["epsilon"], rc)
    hess = relent_hessian(r, g_aa, g_cg, sums, sp["sigma"], sp["epsilon"], T, n, volume, rc)
    return grad, hess


def run_relent(
    target: CGTarget,
    settings: CGSettings,
    root: Path | str,
    *,
    start: tuple[float, float],
    max_iter: int = 30,
    sigma_tol: float = 0.002,
    eps_tol: float = 0.02,
) -> dict:
    """Minimise the relative entropy over (sigma, epsilon) with one CG simulation per iteration.

    Parameters
    ----------
    target : CGTarget
        Target COM RDF on the export grid (nm, dimensionless), T (K), rho (nm^-3), bead mass (amu).
    settings : CGSettings
        CG run settings.
    root : path
        Method folder (runs go to ``root/lj_<hash>``, the history to ``root/history.json``).
    start : tuple of float
        Start (sigma nm, epsilon kJ/mol).
    max_iter : int
        Maximum number of iterations (= CG simulations).
    sigma_tol, eps_tol : float
        Relative convergence tolerances on the proposed Newton step.

    Returns
    -------
    dict
        ``sigma`` (nm), ``epsilon`` (kJ/mol), ``converged``, ``n_simulations``, ``wall_s``, ``history``,
        ``final_workdir``, ``criterion``.
    """
    T = target.T
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    sigma, eps = float(start[0]), float(start[1])
    history, dirs = [], set()
    t0 = time.monotonic()
    wall = 0.0
    converged = False
    run = None
    stopped = None
    for it in range(max_iter):
        try:
            run = run_lj(sigma, eps, T, target.rho, target.mass, settings, root)
        except StatePointError as exc:  # the step left the CG state space: stop at the last simulated iterate
            if run is None:
                raise
            stopped = f"stopped: the next iterate is outside the CG state space ({str(exc).splitlines()[0]})"
            logger.warning("relent: %s", stopped)
            break
        dirs.add(run.workdir)
        wall += run.wall_s
        ta = time.monotonic()
        sp = run.statepoint
        grad, hess = _derivatives(target, run)
        step, kind = newton_step(grad, hess, sigma, eps)
        rel = (abs(step[0]) / sigma, abs(step[1]) / eps)
        history.append(
            {
                "iteration": it,
                "sigma": sp["sigma"],
                "epsilon": sp["epsilon"],
                "grad": grad.tolist(),
                "hessian": hess.tolist(),
                "step": step.tolist(),
                "step_kind": kind,
                "rel_step_sigma": rel[0],
                "rel_step_epsilon": rel[1],
                "workdir": str(run.workdir),
            }
        )
        if not run.reused:
            wall += time.monotonic() - ta
        logger.info(
            "relent it %d: sigma=%.5f eps=%.5f step %s (%.4f, %.4f)",
            it,
            sp["sigma"],
            sp["epsilon"],
            kind,
            rel[0],
            rel[1],
        )
        if kind == "newton" and rel[0] < sigma_tol and rel[1] < eps_tol:
            converged = True
            sigma, eps = sp["sigma"], sp["epsilon"]
            break
        step = damp(step, sigma, eps, T)
        sigma, eps = sp["sigma"] + step[0], sp["epsilon"] + step[1]
    assert run is not None
    out = {
        "method": "relent",
        "sigma": run.statepoint["sigma"],
        "epsilon": run.statepoint["epsilon"],
        "converged": converged,
        "n_simulations": len(dirs),
        "wall_s": wall,
        "session_wall_s": time.monotonic() - t0,
        "history": history,
        "final_workdir": str(run.workdir),
        "criterion": f"Newton step < {sigma_tol:g} relative in sigma and < {eps_tol:g} in epsilon "
        f"(max {max_iter} iterations)",
        "stopped": stopped,
        "units": {"sigma": "nm", "epsilon": "kJ/mol", "wall_s": "s"},
    }
    atomic_write_text(root / "history.json", json.dumps(out, indent=1) + "\n")
    return out


__all__ = [
    "damp",
    "frame_derivative_sums",
    "lj_parameter_derivatives",
    "newton_step",
    "relent_gradient",
    "relent_hessian",
    "run_relent",
]
