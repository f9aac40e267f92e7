"""The forward model of one input: the LJ RDF binned (or Fourier-truncated) like the input, and a scan of it.

Units: r nm, sigma nm, T K, rho nm^-3, Q nm^-1 (``q_max_nm``); T* and rho* reduced.
"""

from __future__ import annotations

import numpy as np

from project.model.binning import histogram_average_op, point_sampling_op, q_truncation_matrix
from project.model.fit.settings import S_MAX_FIT
from project.units import KB


class ForwardProblem:
    """The forward model of one input, on a fixed fine r grid, with the input's binning or truncation.

    Parameters
    ----------
    forward : project.model.forward.ForwardModel
        The forward model g*(s; T*, rho*) (LJ) or g*(s; T*, rho*, lambda_r) (Mie).
    r : numpy.ndarray
        The input's points (nm).
    T, rho : float
        Temperature (K) and stated number density (nm^-3).
    width : float or None
        Histogram bin width (nm); None: point values.
    q_max_nm : float or None
        Q_max of a scattering input (nm^-1); None: no truncation.
    """

    def __init__(
        self, forward, r: np.ndarray, T: float, rho: float, width: float | None, q_max_nm: float | None
    ) -> None:
        self.fw, self.T, self.rho = forward, T, rho
        step = min(0.002, width / 4) if width else 0.002
        self.rf = np.arange(0.0, r[-1] + (width or 0) + 4 * step, step)
        self.A = histogram_average_op(r, self.rf, width) if width else point_sampling_op(r, self.rf)
        self.Q = q_truncation_matrix(self.rf, q_max_nm) if q_max_nm is not None else None

    def curve(
        self, sigma: float, t_star: float, rho_star: float, member: int | None = None, lambda_r: float = 12.0
    ) -> np.ndarray:
        """The model's point curve g(r_fine) (h = 0 beyond the model's range, s > 3); ``lambda_r``: Mie exponent."""
        g = self.fw.g_of_s(self.rf / sigma, t_star, rho_star, member=member, lambda_r=lambda_r)
        g = np.nan_to_num(g, nan=1.0)
        if self.Q is not None:
            g = 1.0 + self.Q @ (g - 1.0)
        return g

    def model(
        self, sigma: float, t_star: float, rho_star: float, member: int | None = None, lambda_r: float = 12.0
    ) -> np.ndarray:
        """The model of the input at sigma (nm), T*, rho*[, lambda_r]: the point curve binned like the input."""
        return self.A @ self.curve(sigma, t_star, rho_star, member, lambda_r)


def scan_start(prob: ForwardProblem, r: np.ndarray, g: np.ndarray, w: np.ndarray) -> tuple[float, float, float]:
    """Best (sigma nm, T*, lambda_r) among the forward model's training states (normalisation optimised): a start.

    All states at once: g* of every state, resampled onto the fine r grid at its sigma = (rho*/rho)^(1/3), binned
    like the input, compared over s <= S_MAX_FIT with weights ``w`` (0 for masked points).
    """
    fw = prob.fw
    states = np.asarray(fw.meta["training_states"])
    sig = (states[:, 1] / prob.rho) ** (1 / 3)
    lam = states[:, 2] if fw.is_mie else np.full(len(states), 12.0)
    gs = fw.training_g_star()  # (n, n_s)
    ds = fw.s[1] - fw.s[0]
    pos = (prob.rf[None, :] / sig[:, None] - fw.s[0]) / ds
    lo = np.clip(np.floor(pos).astype(int), 0, len(fw.s) - 2)
    frac = np.clip(pos - lo, 0.0, 1.0)
    rows = np.arange(len(states))[:, None]
    curves = gs[rows, lo] * (1 - frac) + gs[rows, lo + 1] * frac
    curves = np.where(pos < 0, 0.0, np.where(pos > len(fw.s) - 1, 1.0, curves))
    if prob.Q is not None:
        curves = 1.0 + (curves - 1.0) @ prob.Q.T
    m = np.asarray(prob.A @ curves.T).T  # (n, n_points)
    ww = w[None, :] * (r[None, :] / sig[:, None] <= S_MAX_FIT)
    c = np.sum(ww * m * g, 1) / np.maximum(np.sum(ww * m * m, 1), 1e-12)
    chi = np.sum(ww * (g - c[:, None] * m) ** 2, 1) / np.maximum(ww.astype(bool).sum(1), 1)
    k = int(np.argmin(np.where(ww.astype(bool).sum(1) >= 10, chi, np.inf)))
    return float(sig[k]), float(states[k, 0]), float(lam[k])


def lj_rdf(
    r_nm: np.ndarray,
    sigma: float,
    epsilon: float,
    T: float,
    rho: float,
    bin_width: float | None = None,
    q_max: float | None = None,
    forward=None,
    lambda_r: float = 12.0,
) -> np.ndarray:
    """The LJ RDF g(r) of the forward model at sigma (nm), epsilon (kJ/mol), T (K), rho (nm^-3), as an input is.

    With a Mie forward model, ``lambda_r`` (dimensionless) gives the Mie lambda_r-6 fluid's RDF instead.
    ``bin_width`` (nm): values are histogram averages over bins of that width centred on ``r_nm`` (None: point
    values); ``q_max`` (A^-1): after the Fourier truncation of a scattering experiment. NaN beyond r = 3 sigma,
    where the forward model ends. ``forward``: a :class:`~project.model.forward.ForwardModel` (None: the shipped
    one, cached).
    """
    from project.model.cache import shipped_models

    forward = forward if forward is not None else shipped_models()[1]
    r = np.asarray(r_nm, dtype=float)
    prob = ForwardProblem(forward, r, T, rho, bin_width, None if q_max is None else 10.0 * q_max)
    g = prob.model(sigma, KB * T / epsilon, rho * sigma**3, lambda_r=lambda_r)
    return np.where(r + 0.5 * (bin_width or 0.0) <= forward.s[-1] * sigma, g, np.nan)
