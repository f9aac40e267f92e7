"""Zero-simulation refinement of the one-shot bead against the reduced-units LJ RDF library.

Units: r nm, T K, rho nm^-3, sigma nm, epsilon kJ/mol, total deviation nm, KL dimensionless.

The inverse model answers "which LJ state has this RDF?"; for a molecular COM RDF, which no LJ state has, that is
not the same as "which bead makes the two metrics of the comparison small". The two metrics can be evaluated
without a simulation, by corresponding states: g_LJ(r; sigma, epsilon) at the molecule's T and rho is the library
curve g*(x; T* = k_B T/epsilon, rho* = rho sigma^3) on x = r rho^(1/3), interpolated over the simulated jobs of
the shipped exports (:data:`LIBRARY_EXPORTS`; :class:`project.model.baseline.LibraryFit`, thin-plate RBF in
(log T*, log rho*)). On the x range of the model grid (0.5-1.75, the first two shells) :func:`refine_bead`

1. finds the surrogate optimum of the total deviation D_s and, separately, of the KL divergence KL_s over the
   library's reduced states (a grid, then Nelder-Mead);
2. minimises max(D_s / min D_s, KL_s / min KL_s), the worse of the two ratios to their own optima: the bead that
   is closest to optimal on both metrics at once.

No baseline result and no simulation enter; the one CG simulation of the refined bead is the assessment. Checked
against brute force, the 7 x 7 (sigma, epsilon) grids of ``python -m project cg scan`` (one CG simulation per
point): Spearman rank correlation between surrogate and simulated metrics D 0.996 / 0.982 / 0.956 and KL 0.992 /
0.983 / 0.944 for CH4 / CO / F2 (without the hot, dense states F2's D correlation is 0.68). The library is
interpolated locally (40 nearest states); a global fit over both exports ranks the grids the same.
"""

from __future__ import annotations

import functools
import time
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

from project.cg.metrics import kl_divergence, total_deviation
from project.units import reduced_density, reduced_temperature

_REFERENCE = Path(__file__).resolve().parents[1] / "data" / "reference"
#: the exports (simulated by this project's pipeline) that the surrogate interpolates: the shipped training
#: dataset (T* 0.7-3.5, rho* 0.3-0.95) and the hot, dense states of design ``hot_dense`` (T* 3.5-10, rho* 0.8-1.1),
#: which the inverse model never sees
LIBRARY_EXPORTS = (_REFERENCE / "lj_library.h5", _REFERENCE / "lj_library_hot.h5")


@functools.lru_cache(maxsize=2)
def library(paths: tuple[str | Path, ...] = LIBRARY_EXPORTS, neighbors: int | None = 40):
    """The interpolated reduced RDF library of one or more exports (cached): a
    :class:`project.model.baseline.LibraryFit` over all their jobs (each resampled onto the model grid)."""
    from project.export import load_dataset
    from project.model.baseline import LibraryFit
    from project.model.features import scaled_rdf_batch

    gx, t_star, rho_star = [], [], []
    for path in paths:
        ds = load_dataset(path)
        tab = ds.table
        gx.append(scaled_rdf_batch(ds.r_nm, ds.g.astype(float), tab["rho"].to_numpy()))
        t_star.append(tab["T_star"].to_numpy())
        rho_star.append(tab["rho_star"].to_numpy())
    return LibraryFit(np.concatenate(gx), np.concatenate(t_star), np.concatenate(rho_star), neighbors=neighbors)


def _surrogate_curves(lib, x: np.ndarray, log_t: np.ndarray, log_rho: np.ndarray) -> np.ndarray:
    """Library curves at reduced states (log T*, log rho*), resampled from the model grid onto x (>= 0)."""
    from project.model.features import X_GRID

    q = np.stack([np.atleast_1d(log_t), np.atleast_1d(log_rho)], axis=1)
    gs = lib.interp(q / lib.scale)
    return np.clip(np.array([np.interp(x, X_GRID, row) for row in gs]), 0.0, None)


def _window(r: np.ndarray, rho: float) -> np.ndarray:
    """Bins of r (nm) whose x = r rho^(1/3) lies on the model grid."""
    from project.model.features import X_GRID

    x = np.asarray(r, float) * np.cbrt(rho)
    return (x >= X_GRID[0]) & (x <= X_GRID[-1])


def surrogate_metrics(
    r: np.ndarray, g: np.ndarray, T: float, rho: float, sigma: float, epsilon: float, lib=None
) -> tuple[float, float]:
    """Total deviation (nm) and KL divergence between a target RDF and the library's LJ RDF at (sigma, epsilon).

    Both are taken over the part of ``r`` (nm) whose x = r rho^(1/3) lies on the model grid (first two shells).
    """
    lib = lib or library()
    r, g = np.asarray(r, float), np.asarray(g, float)
    m = _window(r, rho)
    g_lj = _surrogate_curves(
        lib, r[m] * np.cbrt(rho), np.log(reduced_temperature(T, epsilon)), np.log(reduced_density(rho, sigma))
    )[0]
    return total_deviation(r[m], g[m], g_lj), kl_divergence(r[m], g[m], g_lj)


def refine_bead(
    r: np.ndarray, g: np.ndarray, T: float, rho: float, start: tuple[float, float], lib=None, n_grid: int = 60
) -> dict:
    """Refine a bead (sigma nm, epsilon kJ/mol) on the surrogate metrics (see the module docstring).

    The search covers the library's reduced states: an ``n_grid`` x ``n_grid`` grid in (log T*, log rho*) locates
    the optimum of each metric and of the compromise (the D-KL valley is long and flat, so a local search from
    the start alone stalls), then Nelder-Mead polishes it.

    Parameters
    ----------
    r, g : numpy.ndarray
        Target RDF (nm, dimensionless).
    T, rho : float
        Temperature (K) and bead number density (nm^-3).
    start : tuple of float
        The inverse model's bead (nm, kJ/mol), recorded with its surrogate metrics for comparison.
    lib : LibraryFit or None
        Library (None: that of the shipped exports, :func:`library`).
    n_grid : int
        Grid points per reduced axis of the global search.

    Returns
    -------
    dict
        ``sigma``, ``epsilon`` (the refined bead), ``start``, the surrogate metrics at the start and the end,
        the surrogate optimum of each metric alone, ``worse_ratio`` and ``wall_s``.
    """
    from project.model.features import reduced_to_physical

    t0 = time.monotonic()
    lib = lib or library()
    r, g = np.asarray(r, float), np.asarray(g, float)
    m = _window(r, rho)
    rw, gw, xw = r[m], g[m], r[m] * np.cbrt(rho)
    lo, hi = lib.lo, lib.hi  # (log T*, log rho*) bounds of the library

    def metrics(q: np.ndarray) -> np.ndarray:
        """(D, KL) for rows of reduced states q = (log T*, log rho*)."""
        curves = _surrogate_curves(lib, xw, q[:, 0], q[:, 1])
        return np.array([[total_deviation(rw, gw, c), kl_divergence(rw, gw, c)] for c in curves])

    lt, lr = np.meshgrid(np.linspace(lo[0], hi[0], n_grid), np.linspace(lo[1], hi[1], n_grid), indexing="ij")
    grid = np.stack([lt.ravel(), lr.ravel()], axis=1)
    vals = metrics(grid)

    def polish(fun, q0: np.ndarray) -> tuple[np.ndarray, float]:
        def f(q: np.ndarray) -> float:
            return np.inf if np.any(q < lo) or np.any(q > hi) else float(fun(q))

        sol = minimize(f, q0, method="Nelder-Mead", options={"xatol": 1e-5, "fatol": 1e-10, "maxiter": 400})
        return sol.x, float(sol.fun)

    optima = [polish(lambda q, k=k: metrics(q[None, :])[0, k], grid[np.argmin(vals[:, k])]) for k in (0, 1)]
    d_min, kl_min = optima[0][1], optima[1][1]
    worse_grid = np.maximum(vals[:, 0] / d_min, vals[:, 1] / kl_min)
    q_best, worse = polish(lambda q: np.max(metrics(q[None, :])[0] / [d_min, kl_min]), grid[np.argmin(worse_grid)])

    def bead(q: np.ndarray) -> tuple[float, float]:
        sigma, epsilon = reduced_to_physical(np.exp(q[0]), np.exp(q[1]), T, rho)
        return float(sigma), float(epsilon)

    sigma, epsilon = bead(q_best)
    return {
        "sigma": sigma,
        "epsilon": epsilon,
        "start": {"sigma": float(start[0]), "epsilon": float(start[1])},
        "surrogate_start": dict(
            zip(("total_deviation_nm", "kl_divergence"), surrogate_metrics(r, g, T, rho, *start, lib=lib))
        ),
        "surrogate_end": dict(
            zip(("total_deviation_nm", "kl_divergence"), surrogate_metrics(r, g, T, rho, sigma, epsilon, lib=lib))
        ),
        "surrogate_optima": {
            "total_deviation_nm": {"value": d_min, "bead": bead(optima[0][0])},
            "kl_divergence": {"value": kl_min, "bead": bead(optima[1][0])},
        },
        "worse_ratio": worse,
        "wall_s": time.monotonic() - t0,
        "units": {"sigma": "nm", "epsilon": "kJ/mol", "total_deviation_nm": "nm", "wall_s": "s"},
    }


__all__ = ["LIBRARY_EXPORTS", "library", "refine_bead", "surrogate_metrics"]
