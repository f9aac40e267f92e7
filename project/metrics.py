"""Structural agreement metrics between two RDFs: a reference (all-atom, or a user's input) and a model's.

Units: r in nm, g dimensionless; the total deviation is in nm, the KL divergence is dimensionless. Used by the
fit (its residual) and by coarse-graining.

Definitions (docs/coarse_graining.md, "Metrics"); both RDFs on the same grid of bin centres r_i with uniform
width dr, restricted to r_i <= r_max (default: the whole grid, 1.2 nm for the export grid):

* **total deviation** ``D = sum_i |g_AA(r_i) - g_CG(r_i)| dr`` (nm), the midpoint rule for
  ``integral |g_AA - g_CG| dr``;
* **Kullback-Leibler divergence** ``KL = sum_i p_AA,i ln(p_AA,i / p_CG,i) dr`` of the normalised pair-distance
  distributions ``p(r) = r^2 g(r) / sum_j r_j^2 g(r_j) dr`` (nm^-1) on [0, r_max]. Bins where p_AA = 0 contribute
  0 (0 ln 0 = 0); p_CG is floored at :data:`KL_FLOOR` times its maximum so that a CG RDF that is zero where the AA
  one is not gives a large finite value instead of infinity.
"""

from __future__ import annotations

import numpy as np

from project.errors import RDFError

#: Relative floor of p_CG in the KL divergence (times max p_CG).
KL_FLOOR = 1e-8


def _check(r: np.ndarray, g_ref: np.ndarray, g: np.ndarray, r_max: float | None) -> tuple[np.ndarray, ...]:
    r = np.asarray(r, dtype=float)
    g_ref = np.asarray(g_ref, dtype=float)
    g = np.asarray(g, dtype=float)
    if r.ndim != 1 or len(r) < 2:
        raise RDFError(f"r: expected a 1-D grid of at least 2 bin centres (nm), got shape {r.shape}")
    if g_ref.shape != r.shape or g.shape != r.shape:
        raise RDFError(f"g_ref / g: shapes {g_ref.shape} / {g.shape} must equal the grid shape {r.shape}")
    dr = np.diff(r)
    if np.any(dr <= 0) or not np.allclose(dr, dr[0], rtol=1e-6, atol=1e-12):
        raise RDFError("r: bin centres must be uniformly spaced and increasing (nm)")
    for name, arr in (("r", r), ("g_ref", g_ref), ("g", g)):
        if not np.all(np.isfinite(arr)):
            raise RDFError(f"{name}: contains non-finite values")
    if np.any(g_ref < 0) or np.any(g < 0):
        raise RDFError("g_ref / g: an RDF cannot be negative")
    if r_max is not None:
        if not r_max > r[0]:
            raise RDFError(f"r_max: got {r_max} nm; allowed: > the first bin centre {r[0]:.4g} nm")
        keep = r <= r_max + 1e-12
        r, g_ref, g = r[keep], g_ref[keep], g[keep]
    return r, g_ref, g, float(dr[0])


def total_deviation(r: np.ndarray, g_ref: np.ndarray, g: np.ndarray, r_max: float | None = None) -> float:
    """Return ``integral_0^r_max |g_ref - g| dr`` in nm (midpoint rule on the bin centres ``r``, nm).

    Raises
    ------
    RDFError
        Mismatched shapes, a non-uniform grid, non-finite or negative g, or r_max below the grid.
    """
    r, g_ref, g, dr = _check(r, g_ref, g, r_max)
    return float(np.sum(np.abs(g_ref - g)) * dr)


def pair_distribution(r: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Normalised pair-distance distribution ``p(r) = r^2 g(r) / sum r^2 g dr`` (nm^-1) on bin centres r (nm)."""
    r = np.asarray(r, dtype=float)
    w = r**2 * np.asarray(g, dtype=float)
    norm = float(np.sum(w) * (r[1] - r[0]))
    if not norm > 0:
        raise RDFError("g: the RDF is zero everywhere; no pair distribution can be formed")
    return w / norm


def kl_divergence(r: np.ndarray, g_ref: np.ndarray, g: np.ndarray, r_max: float | None = None) -> float:
    """Return the KL divergence ``KL(p_ref || p)`` of the normalised pair distributions (dimensionless).

    See the module docstring for the definition, the r range and the floor of ``p``.

    Raises
    ------
    RDFError
        As :func:`total_deviation`, or an RDF that is zero everywhere.
    """
    r, g_ref, g, dr = _check(r, g_ref, g, r_max)
    p = pair_distribution(r, g_ref)
    q = pair_distribution(r, g)
    q = np.maximum(q, KL_FLOOR * float(q.max()))
    m = p > 0
    return float(np.sum(p[m] * np.log(p[m] / q[m])) * dr)


def noise_deviation(r: np.ndarray, err_ref: np.ndarray, err: np.ndarray, r_max: float | None = None) -> float:
    """Expected total deviation (nm) of two RDFs that differ only by their statistical noise.

    ``sum_i sqrt(2/pi) sqrt(err_ref,i^2 + err_i^2) dr``: the mean of |X| for a normal X with that standard
    deviation, summed like :func:`total_deviation`. NaN errors count as zero. Used as the noise floor in the
    convergence criteria.
    """
    r = np.asarray(r, dtype=float)
    e = np.sqrt(np.nan_to_num(np.asarray(err_ref, float)) ** 2 + np.nan_to_num(np.asarray(err, float)) ** 2)
    if r_max is not None:
        e = e[r <= r_max + 1e-12]
    return float(np.sqrt(2.0 / np.pi) * np.sum(e) * (r[1] - r[0]))


__all__ = ["KL_FLOOR", "kl_divergence", "noise_deviation", "pair_distribution", "total_deviation"]
