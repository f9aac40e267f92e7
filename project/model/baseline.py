"""Baseline without a neural network: least-squares fit against an interpolated reduced-units RDF library.

By corresponding states every simulated job gives g on the density-scaled grid x = r rho^(1/3) as a function of
(T*, rho*) only (:mod:`project.model.features`). The library interpolates these curves over
(log T*, log rho*) with a thin-plate-spline radial basis function (scipy ``RBFInterpolator``, every grid point
at once); a query RDF is fitted by minimising the squared difference to the interpolated curve over (T*, rho*)
(``scipy.optimize.least_squares``, started from the nearest library curve), and sigma (nm), epsilon (kJ/mol)
follow from the known T (K) and rho (nm^-3).
"""

from __future__ import annotations

import numpy as np
from scipy.interpolate import RBFInterpolator
from scipy.optimize import least_squares

from project.model.features import reduced_to_physical


class LibraryFit:
    """Least-squares (T*, rho*) fit against an interpolated library of reduced RDFs.

    Parameters
    ----------
    gx : array, shape (n, n_grid)
        Library curves on the model grid.
    T_star, rho_star : arrays, shape (n,)
        Reduced states of the library curves.
    smoothing : float
        RBF smoothing (absorbs the noise of the simulated curves).
    neighbors : int or None
        Interpolate from this many nearest library states only (a local RBF); None uses all of them.
    """

    def __init__(
        self,
        gx: np.ndarray,
        T_star: np.ndarray,
        rho_star: np.ndarray,
        smoothing: float = 1e-3,
        neighbors: int | None = None,
    ) -> None:
        self.p = np.stack([np.log(T_star), np.log(rho_star)], axis=1)
        self.scale = self.p.std(0)
        self.gx = np.asarray(gx, dtype=float)
        self.interp = RBFInterpolator(
            self.p / self.scale, self.gx, kernel="thin_plate_spline", smoothing=smoothing, neighbors=neighbors
        )
        self.lo, self.hi = self.p.min(0), self.p.max(0)

    def fit_reduced(self, gx: np.ndarray) -> tuple[float, float]:
        """Return the least-squares (T*, rho*) of one curve on the model grid."""
        start = self.p[np.argmin(((self.gx - gx) ** 2).sum(1))]

        def resid(q: np.ndarray) -> np.ndarray:
            return self.interp((q / self.scale)[None, :])[0] - gx

        sol = least_squares(resid, start, bounds=(self.lo - 0.05, self.hi + 0.05), x_scale=self.scale)
        return float(np.exp(sol.x[0])), float(np.exp(sol.x[1]))

    def predict_physical(self, gx: np.ndarray, T: np.ndarray, rho: np.ndarray) -> dict[str, np.ndarray]:
        """Return sigma (nm), epsilon (kJ/mol), T*, rho* for rows of g(x) at temperatures T (K), densities rho."""
        red = np.array([self.fit_reduced(row) for row in np.atleast_2d(gx)])
        sigma, epsilon = reduced_to_physical(red[:, 0], red[:, 1], T, rho)
        return {"sigma": sigma, "epsilon": epsilon, "T_star": red[:, 0], "rho_star": red[:, 1]}
