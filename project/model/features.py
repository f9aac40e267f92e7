"""Model input: the RDF on a density-scaled grid, where corresponding states make it two-dimensional.

With the cutoff fixed in units of sigma, g(r; sigma, epsilon, T, rho) = g*(r/sigma; T*, rho*). Measuring distance
in units of the mean inter-particle spacing, x = r rho^(1/3) (r in nm, rho in nm^-3, x dimensionless), gives

    g(x) = g*(x / rho*^(1/3); T*, rho*),

which depends on (T*, rho*) only: the known density removes the length scale, so the network maps a curve on a
fixed x grid to two dimensionless numbers (T*, rho*), and sigma = (rho*/rho)^(1/3) nm, epsilon = k_B T / T* kJ/mol
follow exactly. Every simulated system, whatever its sigma and epsilon, is an exact training sample of that map.

Grid: x from 0.5 to 1.75 in steps of 0.01 (126 points). x = 0.5 lies inside the repulsive core (r < 0.8 sigma)
at every state of the design domain (rho* >= 0.3); x = 1.75 is the largest value that the exported RDF grid
(r <= 1.2 nm) reaches at every state of the domain (rho* >= 0.3, sigma <= 0.45 nm: 1.2 nm * 0.3^(1/3) / 0.45 nm
= 1.79) and covers the first two coordination shells.
"""

from __future__ import annotations

import numpy as np

from project.errors import RDFError
from project.rdfio import validate_rdf

#: The model's input grid in x = r rho^(1/3) (dimensionless).
X_GRID = np.round(np.arange(0.5, 1.75 + 1e-9, 0.01), 6)
#: g below which the RDF is taken to be zero (inside the core) when a file starts at larger r.
CORE_G = 0.02


def scaled_rdf(
    r_nm: np.ndarray, g: np.ndarray, rho: float, source: str = "RDF", x_max: float | None = None
) -> np.ndarray:
    """Resample g(r) onto :data:`X_GRID` (x = r rho^(1/3)).

    Parameters
    ----------
    r_nm : array
        Distances in nm (strictly increasing).
    g : array
        g(r), dimensionless, same length.
    rho : float
        Number density in nm^-3.
    source : str
        Name used in error messages.
    x_max : float or None
        Largest x the caller needs (dimensionless; None: the end of the grid, 1.75). Beyond the RDF's last point
        the curve is continued with its last value; a model that reads only x <= x_max does not see it.

    Returns
    -------
    numpy.ndarray
        g on :data:`X_GRID` (float64).

    Raises
    ------
    RDFError
        If the RDF is malformed or does not reach far enough: r_max must be at least x_max rho^(-1/3) nm.
    """
    validate_rdf(r_nm, g, source)
    if not (np.isfinite(rho) and rho > 0):
        raise RDFError(f"{source}: density must be a positive number in nm^-3, got {rho!r}")
    scale = rho ** (1.0 / 3.0)
    x = np.asarray(r_nm, dtype=float) * scale
    g = np.asarray(g, dtype=float)
    need = float(X_GRID[-1] if x_max is None else min(x_max, X_GRID[-1]))
    if x[-1] < need - 0.005:
        raise RDFError(
            f"{source}: r range too short for the model: r_max = {r_nm[-1]:.4g} nm, the model needs r up to "
            f"{need / scale:.4g} nm at rho = {rho:g} nm^-3 (x = r rho^(1/3) up to {need:g})"
        )
    if x[0] > X_GRID[0]:
        if g[0] > CORE_G:
            raise RDFError(
                f"{source}: r starts at {r_nm[0]:.4g} nm where g = {g[0]:.3g} > {CORE_G}; the model needs g from "
                f"r = {X_GRID[0] / scale:.4g} nm (inside the repulsive core)"
            )
        x = np.concatenate([[X_GRID[0]], x])
        g = np.concatenate([[0.0], g])
    return np.interp(X_GRID, x, g)


def scaled_rdf_batch(r_nm: np.ndarray, g: np.ndarray, rho: np.ndarray) -> np.ndarray:
    """Resample many RDFs on one r grid (nm) with densities ``rho`` (nm^-3) onto :data:`X_GRID`.

    ``g`` has shape (n, n_bins); rows whose r range is too short raise :class:`RDFError`.
    """
    out = np.empty((len(g), len(X_GRID)))
    for i in range(len(g)):
        out[i] = scaled_rdf(r_nm, g[i], float(rho[i]), source=f"RDF row {i}")
    return out


def model_inputs(gx: np.ndarray, log_floor: float | None, x_max: float | None = None) -> np.ndarray:
    """Network inputs from g on the x grid: g itself and, when ``log_floor`` is set, ln(max(g, log_floor)).

    ``x_max`` (dimensionless, None: the whole grid) keeps only the grid points x <= x_max (at 1.25: the core, the
    first peak and the start of the first minimum; :class:`project.model.train.TrainSettings` ``input_x_max``,
    None by default).

    In the repulsive core ln g(r) = -u(r) / (k_B T) + ln y(r) with a smooth cavity function y, so ln g is linear in
    1/T*: these inputs let the network (and its extrapolation to hotter states) follow the Boltzmann factor. The
    floor (dimensionless) keeps the noisy, nearly empty bins at the edge of the core from dominating.
    """
    gx = np.atleast_2d(np.asarray(gx, dtype=float))
    if x_max is not None:
        gx = gx[:, X_GRID <= x_max + 1e-9]
    if log_floor is None:
        return gx
    return np.concatenate([gx, np.log(np.clip(gx, log_floor, None))], axis=1)


def reduced_to_physical(
    t_star: np.ndarray, rho_star: np.ndarray, T: np.ndarray, rho: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Return (sigma in nm, epsilon in kJ/mol) from (T*, rho*) and the known T (K) and rho (nm^-3)."""
    from project.units import KB

    sigma = (np.asarray(rho_star) / np.asarray(rho)) ** (1.0 / 3.0)
    epsilon = KB * np.asarray(T) / np.asarray(t_star)
    return sigma, epsilon
