"""Map both metrics over a (sigma, epsilon) grid of single-bead LJ models: what any bead can reach.

Units: sigma nm, epsilon kJ/mol, T K, rho nm^-3, total deviation nm, KL dimensionless.

The methods optimise different things (simplex: D; relative entropy: a KL-like functional), so no single bead is
best on both metrics: what single-bead LJ models can reach is the Pareto front of D and KL. :func:`scan_grid` maps
it with one CG simulation per grid point (cached like every CG run) on a grid spanning the beads of the comparison
(:func:`grid_around`); :mod:`project.cg.compare` draws the front. Not a CG method: it costs tens of simulations
and describes the model family, not a competitor.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from project.cg.lj import CGSettings, run_lj
from project.cg.relent import MAX_T_STAR, MIN_T_STAR
from project.cg.target import CGTarget
from project.errors import StatePointError
from project.metrics import kl_divergence, total_deviation
from project.units import reduced_density, reduced_temperature

logger = logging.getLogger(__name__)

#: reduced temperatures a scan point may have (the relative-entropy steps' limits, docs/coarse_graining.md)
T_STAR_LIMITS = (MIN_T_STAR, MAX_T_STAR)


def scan_grid(
    target: CGTarget,
    settings: CGSettings,
    root: Path | str,
    sigmas: np.ndarray,
    epsilons: np.ndarray,
) -> pd.DataFrame:
    """Run one CG simulation per (sigma, epsilon) of the grid and return both metrics against the target.

    Parameters
    ----------
    target : CGTarget
        Target COM RDF (nm, dimensionless), T (K), rho (nm^-3), bead mass (amu).
    settings : CGSettings
        CG run settings.
    root : path
        Folder of the runs (``root/lj_<hash>``; existing runs are reused).
    sigmas, epsilons : numpy.ndarray
        Grid axes (nm, kJ/mol); points whose T* = k_B T / epsilon lies outside :data:`T_STAR_LIMITS` are skipped.

    Returns
    -------
    pandas.DataFrame
        Columns ``sigma_nm``, ``epsilon_kJ_mol``, ``T_star``, ``rho_star``, ``total_deviation_nm``,
        ``kl_divergence``, ``wall_s``.
    """
    r, g_aa, T, rho = target.r, target.g, target.T, target.rho
    rows = []
    for s in np.asarray(sigmas, float):
        for e in np.asarray(epsilons, float):
            t_star = reduced_temperature(T, e)
            if not T_STAR_LIMITS[0] <= t_star <= T_STAR_LIMITS[1]:
                continue
            try:
                run = run_lj(s, e, T, rho, target.mass, settings, root)
            except StatePointError as exc:
                logger.warning("scan point sigma=%.4f nm epsilon=%.4f kJ/mol skipped: %s", s, e, exc)
                continue
            g = run.rdf.g  # CG and AA RDFs share the grid of project.rdf
            rows.append(
                {
                    "sigma_nm": s,
                    "epsilon_kJ_mol": e,
                    "T_star": t_star,
                    "rho_star": reduced_density(rho, s),
                    "total_deviation_nm": total_deviation(r, g_aa, g),
                    "kl_divergence": kl_divergence(r, g_aa, g),
                    "wall_s": run.wall_s,
                }
            )
    return pd.DataFrame(rows)


def grid_around(
    points: list[tuple[float, float]], n: int = 7, sigma_margin: float = 0.02, epsilon_margin: float = 0.25
) -> tuple[np.ndarray, np.ndarray]:
    """Grid axes spanning the given (sigma nm, epsilon kJ/mol) points with margins (linear sigma, log epsilon)."""
    s = np.array([p[0] for p in points])
    e = np.array([p[1] for p in points])
    sig = np.linspace(s.min() * (1 - sigma_margin), s.max() * (1 + sigma_margin), n)
    eps = np.geomspace(e.min() / (1 + epsilon_margin), e.max() * (1 + epsilon_margin), n)
    return sig, eps


__all__ = ["T_STAR_LIMITS", "grid_around", "scan_grid"]
