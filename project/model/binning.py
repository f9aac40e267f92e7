"""Binning operators: what a histogram, a point sampling or a scattering experiment does to a point curve g(r).

A forward model gives g at points on a fine uniform grid (nm); a user's RDF is a histogram (shell-volume averages
over bins, :func:`histogram_average`), point values (:func:`point_sampling_op`) or g(r) after a round trip
through S(Q) cut at Q_max (:func:`q_truncation_matrix`). Units: r nm, Q nm^-1, g dimensionless.
"""

from __future__ import annotations

import numpy as np


class RowOperator:
    """A linear operator whose rows hold a few weights on a fine grid, applied by gathering: ``op @ v``.

    ``idx`` and ``w`` have shape (n_rows, k); ``op @ v`` is ``sum_j w[i, j] v[idx[i, j]]`` for a 1-D ``v`` (fine
    grid) or column-wise for a 2-D one.
    """

    def __init__(self, idx: np.ndarray, w: np.ndarray, n_fine: int) -> None:
        self.idx, self.w, self.n_fine = idx, w, n_fine

    def __matmul__(self, v: np.ndarray) -> np.ndarray:
        w = self.w if v.ndim == 1 else self.w[:, :, None]
        return (v[self.idx] * w).sum(1)

    def dense(self) -> np.ndarray:
        """The operator as a dense (n_rows x n_fine) matrix."""
        B = np.zeros((len(self.idx), self.n_fine))
        np.add.at(B, (np.repeat(np.arange(len(self.idx)), self.idx.shape[1]), self.idx.ravel()), self.w.ravel())
        return B


def _interpolation_op(pts: np.ndarray, weights: np.ndarray, rf: np.ndarray) -> RowOperator:
    """Rows of linear-interpolation weights onto the uniform grid ``rf`` for sample points ``pts`` (n, m)."""
    dr = float(rf[1] - rf[0])
    pos = np.clip((pts - rf[0]) / dr, 0, len(rf) - 1 - 1e-9)
    lo = np.floor(pos).astype(int)
    frac = pos - lo
    idx = np.concatenate([lo, np.minimum(lo + 1, len(rf) - 1)], axis=1)
    return RowOperator(idx, np.concatenate([weights * (1 - frac), weights * frac], axis=1), len(rf))


def histogram_average_op(r_centres: np.ndarray, r_fine: np.ndarray, width: float) -> RowOperator:
    """Operator that averages a point curve on ``r_fine`` over histogram bins (see :func:`histogram_average`)."""
    rf = np.asarray(r_fine, dtype=float)
    rc = np.asarray(r_centres, dtype=float)
    n_sub = max(4, int(np.ceil(width / float(rf[1] - rf[0]))) * 2)
    u = (np.arange(n_sub) + 0.5) / n_sub - 0.5  # sub-samples within each bin (midpoint rule)
    pts = rc[:, None] + u[None, :] * width
    w = np.maximum(pts, 0.0) ** 2
    return _interpolation_op(pts, w / np.maximum(w.sum(1, keepdims=True), 1e-300), rf)


def histogram_average(r_centres: np.ndarray, r_fine: np.ndarray, width: float) -> np.ndarray:
    """Matrix B (n_centres x n_fine) that averages a point curve on ``r_fine`` over histogram bins.

    Bin i spans [r_i - w/2, r_i + w/2] (nm). The average is the shell-volume average a histogram RDF reports,
    ``g_i = integral g(r) r^2 dr / integral r^2 dr`` over the bin, by the midpoint rule on sub-samples of the bin
    with linear interpolation on ``r_fine`` (uniform, nm).
    """
    return histogram_average_op(r_centres, r_fine, width).dense()


def point_sampling_op(r_points: np.ndarray, r_fine: np.ndarray) -> RowOperator:
    """Operator of linear interpolation from the uniform grid ``r_fine`` onto ``r_points`` (nm)."""
    pts = np.asarray(r_points, float)[:, None]
    return _interpolation_op(pts, np.ones_like(pts), np.asarray(r_fine, dtype=float))


def q_truncation_matrix(r_fine: np.ndarray, q_max_nm: float) -> np.ndarray:
    """Matrix T with h_t = T h: what g(r) becomes after a round trip through S(Q) cut at Q_max.

    With h = g - 1 on the uniform grid ``r_fine`` (nm, starting near 0), S(Q) - 1 = 4 pi rho / Q integral r h(r)
    sin(Qr) dr, and the transform back with Q <= Q_max (nm^-1) gives

        r h_t(r) = integral r' h(r') [K(r - r') - K(r + r')] dr',  K(u) = sin(Q_max u) / (pi u),

    (K(0) = Q_max / pi). Evaluated by the trapezoidal rule; the density cancels.
    """
    rf = np.asarray(r_fine, dtype=float)
    dr = float(rf[1] - rf[0])

    def kern(u: np.ndarray) -> np.ndarray:
        return q_max_nm / np.pi * np.sinc(q_max_nm * u / np.pi)

    K = kern(rf[:, None] - rf[None, :]) - kern(rf[:, None] + rf[None, :])
    wts = np.full(len(rf), dr)
    wts[0] = wts[-1] = dr / 2
    return K * (rf[None, :] * wts[None, :]) / np.maximum(rf[:, None], 1e-12)
