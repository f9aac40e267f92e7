"""The forward model: the radial distribution function g(r; sigma, epsilon, T, rho[, lambda_r]) of an LJ or a Mie
lambda_r-6 fluid over the design domain.

Corresponding states (cut-off fixed in units of sigma) make it a function of two numbers (three for Mie fluids):
g(r; sigma, epsilon, T, rho) = g*(s; T*, rho*) with s = r / sigma, T* = k_B T / epsilon, rho* = rho sigma^3.
An ensemble of small MLPs maps (1/T*, rho*) (LJ models) or (1/T*, rho*, ln lambda_r) (Mie models, ``potential``
"mie" in ``meta.json``) to the logarithm of the cavity function, ln y*(s) = ln g*(s) + u*(s)/T*, on the fixed grid
:data:`S_GRID` (s = 0.75 ... 3.0 in steps of 0.005), with the reduced pair energy
u*(s) = C (s^-lambda_r - s^-6), C = lambda_r/(lambda_r - 6) (lambda_r/6)^(6/(lambda_r - 6)) (u* = 4 (s^-12 - s^-6)
for LJ, lambda_r = 12); then

    g*(s) = y*(s) exp(-u*(s) / T*).

y* is smooth where g* is steep (the core, where g* rises by orders of magnitude over 0.1 sigma), so the network and
the interpolation between grid points only carry the smooth part, and the Boltzmann factor is exact at every s. The
loss is the masked mean squared error of g* itself. Below s = 0.75 ln y* is held at its first grid value (g*
continued with the Boltzmann factor); beyond s = 3 the model says nothing (a fit does not use those points).
(Models of ``meta_version`` 1 output g* itself; they are not read.)

Training data: the simulated jobs of the shipped exports (GROMACS, N = 1000, cut-off 3 sigma, 0.005 nm histogram
bins; :func:`project.model.train_forward.shipped_training_data`). A histogram value is the
shell-volume average of g over its bin, so each job's curve is first turned into point values to second order,

    g(r_c) = g_bin - (dr^2 / 24) (g'' + 4 g' / r_c),

(finite differences of the binned curve; the r^2 weight of the shell gives the g' term), then interpolated (cubic)
onto ``s``; points beyond a job's last bin are masked. :func:`project.model.binning.histogram_average` does the
opposite for a user's RDF: it averages the model's point curve over the user's bins with the same r^2 weight, so a
curve from any bin width is compared like with like. :func:`project.model.binning.q_truncation_matrix` applies
what a scattering experiment does to g(r): the Fourier transform of h = g - 1 cut at Q_max.

A model folder holds ``meta.json`` (grid, scalers, units, training states, held-out accuracy, settings) and
``weights.npz`` (dense layers ``m<i>_l<j>_W/_b``); prediction runs in numpy (about 30 us per curve). Training:
:mod:`project.model.train_forward`; binning operators: :mod:`project.model.binning`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from project.eos import mie_prefactor
from project.errors import ProjectError

#: The forward models shipped with the package: LJ, and Mie lambda_r-6.
SHIPPED_FORWARD = Path(__file__).resolve().parents[1] / "data" / "models" / "lj_forward_v3"
SHIPPED_MIE_FORWARD = Path(__file__).resolve().parents[1] / "data" / "models" / "mie_forward_v3"
#: Training states nearest to a state whose own nearest-neighbour distances set the spacing there (count).
LOCAL_NEIGHBOURS = 5
#: The model's grid in s = r / sigma (dimensionless).
S_GRID = np.round(np.arange(0.75, 3.0 + 1e-9, 0.005), 6)
META_VERSION = 2
#: Largest exponent of the Boltzmann factor applied to ln y* (g* <= e^10; keeps a wild member finite).
_MAX_LN_G = 10.0


def lj_u_star(s: np.ndarray) -> np.ndarray:
    """Reduced LJ pair energy u* = 4 (s^-12 - s^-6) at s = r / sigma (dimensionless)."""
    s = np.asarray(s, dtype=float)
    return 4.0 * (s**-12 - s**-6)


def mie_u_star(s: np.ndarray, lambda_r) -> np.ndarray:
    """Reduced Mie pair energy u* = C (s^-lambda_r - s^-6) at s = r / sigma (dimensionless; broadcast)."""
    s = np.asarray(s, dtype=float)
    lam = np.asarray(lambda_r, dtype=float)
    return mie_prefactor(lam) * (s**-lam - s**-6)


def input_coords(t_star, rho_star, lambda_r=None) -> np.ndarray:
    """The networks' inputs: (1/T*, rho*) or, with ``lambda_r``, (1/T*, rho*, ln lambda_r); last axis."""
    cols = [1.0 / np.asarray(t_star, float), np.asarray(rho_star, float)]
    if lambda_r is not None:
        cols.append(np.log(np.asarray(lambda_r, float)))
    return np.stack(np.broadcast_arrays(*cols), axis=-1)


def _boltzmann(ln_y: np.ndarray, u_star: np.ndarray, t_star) -> np.ndarray:
    """g* = y* exp(-u*/T*) from ln y* (the cavity function), u* the reduced pair energy (all dimensionless)."""
    return np.exp(np.minimum(ln_y - u_star / t_star, _MAX_LN_G))


def debin(r_nm: np.ndarray, g_bin: np.ndarray) -> np.ndarray:
    """Point values of g at the bin centres of a histogram RDF (second order; see the module docstring).

    Parameters
    ----------
    r_nm : array, shape (n,)
        Uniform bin centres in nm.
    g_bin : array, shape (..., n)
        Shell-volume averages of g over each bin (dimensionless).
    """
    r = np.asarray(r_nm, dtype=float)
    g = np.asarray(g_bin, dtype=float)
    dr = float(r[1] - r[0])
    d1 = np.gradient(g, dr, axis=-1)
    d2 = np.zeros_like(g)
    d2[..., 1:-1] = (g[..., 2:] - 2 * g[..., 1:-1] + g[..., :-2]) / dr**2
    return g - dr**2 / 24.0 * (d2 + 4.0 * d1 / r)


def training_curves(r_nm: np.ndarray, g: np.ndarray, sigma: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return (g* on :data:`S_GRID`, mask) of histogram RDFs on one r grid (nm) for LJ diameters ``sigma`` (nm)."""
    from scipy.interpolate import CubicSpline

    gp = debin(r_nm, g)
    half = 0.5 * float(r_nm[1] - r_nm[0])
    out = np.zeros((len(g), len(S_GRID)))
    mask = np.zeros_like(out, dtype=bool)
    for i in range(len(g)):
        s = r_nm / sigma[i]
        ok = S_GRID <= (r_nm[-1] - half) / sigma[i]
        out[i, ok] = CubicSpline(s, gp[i])(S_GRID[ok])
        mask[i] = ok
    return out, mask


def _act(name: str, x: np.ndarray) -> np.ndarray:
    if name == "tanh":
        return np.tanh(x)
    if name == "linear":
        return x
    raise ProjectError(f"forward model activation '{name}' is not supported")


def hull_equations(pts: np.ndarray) -> np.ndarray:
    """Facet equations (n_facets, d + 1) of the convex hull of ``pts`` (scaled inputs): ``a . p + b <= 0`` inside,
    with unit normals ``a`` (``scipy.spatial.ConvexHull``)."""
    from scipy.spatial import ConvexHull

    return ConvexHull(pts).equations


class ForwardModel:
    """g*(s; T*, rho*[, lambda_r]) from a model folder (see the module docstring).

    Units: s = r/sigma, T*, rho*, lambda_r dimensionless. ``potential`` is "lj" (lambda_r = 12 only) or "mie"
    (lambda_r within :attr:`lambda_range`, the training exponents).
    """

    def __init__(self, meta: dict[str, Any], members: list[list[tuple[np.ndarray, np.ndarray, str]]]) -> None:
        self.meta = meta
        self.members = members
        self.potential = str(meta.get("potential", "lj"))
        # the members side by side (float64, stacked per layer) for one batched pass
        self._W = [np.stack([m[j][0] for m in members]).astype(float) for j in range(len(members[0]))]
        self._b = [np.stack([m[j][1] for m in members]).astype(float)[:, None, :] for j in range(len(members[0]))]
        self._acts = [a for _, _, a in members[0]]
        self._last: tuple[tuple[float, ...] | None, np.ndarray | None] = (None, None)
        self.s = np.asarray(meta["s_grid"], dtype=float)
        self.in_mean = np.asarray(meta["input_scaler"]["mean"], dtype=float)
        self.in_std = np.asarray(meta["input_scaler"]["std"], dtype=float)
        self.out_mean = np.asarray(meta["output_scaler"]["mean"], dtype=float)
        self.out_std = float(meta["output_scaler"]["std"])
        states = np.asarray(meta["training_states"], dtype=float)  # (n, 2): T*, rho* (Mie: (n, 3), with lambda_r)
        self.training_states = states
        self._states = input_coords(states[:, 0], states[:, 1], states[:, 2] if self.is_mie else None)
        self._hull = None  # facet equations of the scaled training states' convex hull, read or built on first use
        self._training_g = None  # g* of every training state, built on first use (the fit's scan start)

    @property
    def is_mie(self) -> bool:
        """True for a Mie lambda_r-6 model (lambda_r an input), False for an LJ model."""
        return self.potential == "mie"

    @property
    def lambda_range(self) -> tuple[float, float]:
        """The training exponents' range (12, 12 for an LJ model)."""
        if not self.is_mie:
            return 12.0, 12.0
        return float(self.training_states[:, 2].min()), float(self.training_states[:, 2].max())

    @classmethod
    def load(cls, path: str | Path | None = None) -> ForwardModel:
        """Load a forward-model folder (default: the LJ one shipped with the package)."""
        path = Path(path) if path else SHIPPED_FORWARD
        try:
            meta = json.loads((path / "meta.json").read_text())
            with np.load(path / "weights.npz") as w:
                arrays = {k: w[k] for k in w.files}
        except (OSError, ValueError) as exc:
            raise ProjectError(f"forward model folder {path}: missing or unreadable ({exc})") from exc
        if meta.get("meta_version") != META_VERSION:
            raise ProjectError(
                f"forward model folder {path}: meta_version {meta.get('meta_version')} is not {META_VERSION} "
                "(version 1 models output g* itself; retrain with python -m project.model.train_forward)"
            )
        members = [
            [(arrays[f"m{m}_l{j}_W"], arrays[f"m{m}_l{j}_b"], act) for j, act in enumerate(meta["activations"])]
            for m in range(meta["n_members"])
        ]
        return cls(meta, members)

    def _lam(self, lambda_r) -> np.ndarray | None:
        """The exponent as the network takes it (None for an LJ model; refused there unless it is 12)."""
        lam = np.asarray(lambda_r, float)
        if not self.is_mie:
            if np.any(np.abs(lam - 12.0) > 1e-9):
                raise ProjectError(f"lambda_r = {lam.ravel()[0]:g}: this forward model is LJ (lambda_r = 12 only)")
            return None
        return lam

    def _coords(self, t_star, rho_star, lambda_r=12.0) -> np.ndarray:
        return input_coords(t_star, rho_star, self._lam(lambda_r))

    def members_g(self, t_star, rho_star, lambda_r=12.0) -> np.ndarray:
        """Every member's g* on :data:`S_GRID`, shape (n_members, n, n_s), at states (T*, rho*[, lambda_r]) (broadcast
        1-D)."""
        t, d, lam = np.broadcast_arrays(
            np.atleast_1d(np.asarray(t_star, float)),
            np.atleast_1d(np.asarray(rho_star, float)),
            np.atleast_1d(np.asarray(lambda_r, float)),
        )
        u = mie_u_star(self.s[None, :], lam[:, None])
        return _boltzmann(self._members_out(t, d, lam), u[None, :, :], t[None, :, None])

    def _members_out(self, t: np.ndarray, d: np.ndarray, lam: np.ndarray | float = 12.0) -> np.ndarray:
        """The members' ln y* on the grid, shape (n_members, n, n_s)."""
        h = ((self._coords(t, d, lam) - self.in_mean) / self.in_std)[None, :, :]
        for W, b, act in zip(self._W, self._b, self._acts):
            h = _act(act, np.matmul(h, W) + b)
        return h * self.out_std + self.out_mean

    def training_g_star(self) -> np.ndarray:
        """Ensemble-mean g* on :data:`S_GRID` at every training state, shape (n_states, n_s), computed once."""
        if self._training_g is None:
            st = self.training_states
            lam = st[:, 2] if self.is_mie else np.full(len(st), 12.0)
            self._training_g = self.g_star(st[:, 0], st[:, 1], lam)
        return self._training_g

    def g_star(self, t_star, rho_star, lambda_r=12.0) -> np.ndarray:
        """Ensemble-mean g* on :data:`S_GRID`, shape (n, n_s), at states (T*, rho*[, lambda_r]) (dimensionless)."""
        return self.members_g(t_star, rho_star, lambda_r).mean(0)

    def g_of_s(
        self, s: np.ndarray, t_star: float, rho_star: float, member: int | None = None, lambda_r: float = 12.0
    ) -> np.ndarray:
        """g* at arbitrary s = r/sigma >= 0 (dimensionless) for one state; NaN beyond the grid's end (s > 3).

        Below the grid the core is continued with the Boltzmann factor (module docstring). ``member`` picks one
        ensemble member (None: the mean of the members' g*); ``lambda_r`` the Mie exponent (12: LJ).
        """
        key = (float(t_star), float(rho_star), float(lambda_r))
        if key != self._last[0]:  # a fit asks for the same state several times (normalisation, spread)
            out = self._members_out(np.array([t_star]), np.array([rho_star]), np.array([lambda_r]))[:, 0]
            self._last = (key, out)
        outs = self._last[1] if member is None else self._last[1][member : member + 1]
        s = np.asarray(s, dtype=float)
        # ln y* is smooth through the core and the first peak: interpolate it, apply the Boltzmann factor exactly
        # (ln y* is held at its first grid value below the grid)
        lny = np.stack([np.interp(s, self.s, o) for o in outs])
        out = _boltzmann(lny, mie_u_star(np.maximum(s, 0.3), lambda_r), t_star).mean(0)
        return np.where(s > self.s[-1] + 1e-12, np.nan, out)

    def distance_to_training(self, t_star: float, rho_star: float, lambda_r: float = 12.0) -> float:
        """Distance of a state to the nearest training state in (1/T*, rho*[, ln lambda_r]), in units of the
        inputs' std."""
        p = self._coords(np.array([t_star]), np.array([rho_star]), np.array([lambda_r])) / self.in_std
        d = (self._states / self.in_std - p) ** 2
        return float(np.sqrt(d.sum(1).min()))

    def spacing_at(self, t_star: float, rho_star: float, lambda_r: float = 12.0) -> float:
        """The training states' spacing near a state (units of :meth:`distance_to_training`).

        The median, over the :data:`LOCAL_NEIGHBOURS` training states nearest to the state, of each one's distance
        to its (d + 1)-th nearest other training state (d inputs: the edge length of the simplices around it, not
        fooled by near-duplicate pairs), or :attr:`typical_spacing` where that is larger. The training states are
        not uniform (grids and dense second draws beside a sparse Sobol design), so one global spacing calls a state
        in the middle of the sparse part far from the training states; this local one does not, and still sees a
        hole between dense states.
        """
        pts = self._states / self.in_std
        p = self._coords(np.array([t_star]), np.array([rho_star]), np.array([lambda_r])) / self.in_std
        d2 = ((pts - p) ** 2).sum(1)
        nearest = np.argpartition(d2, min(LOCAL_NEIGHBOURS, len(d2)) - 1)[:LOCAL_NEIGHBOURS]
        k = min(pts.shape[1] + 1, len(pts) - 1)  # the (dimension + 1)-th nearest other state: robust to pairs
        dn = np.sqrt(((pts[nearest][:, None, :] - pts[None, :, :]) ** 2).sum(-1))
        near = np.partition(dn, k, axis=1)[:, k]  # entry 0 of each sorted row is the state itself
        return max(float(np.median(near)), self.typical_spacing)

    def beyond_training_hull(self, t_star: float, rho_star: float, lambda_r: float = 12.0) -> float:
        """How far a state lies outside the convex hull of the training states, in units of their spacing.

        The largest signed distance to the hull's facets in the scaled inputs of :meth:`distance_to_training`,
        divided by :attr:`typical_spacing`: <= 0 inside. Beyond the hull (colder, hotter, denser or thinner than
        every training state in that direction) the model extrapolates, however close the nearest state is.
        """
        if self._hull is None:
            stored = self.meta.get("hull_equations")  # written at training (saves importing scipy.spatial)
            self._hull = np.asarray(stored, float) if stored else hull_equations(self._states / self.in_std)
        p = self._coords(np.array([t_star]), np.array([rho_star]), np.array([lambda_r]))[0] / self.in_std
        return float((self._hull[:, :-1] @ p + self._hull[:, -1]).max()) / self.typical_spacing

    @property
    def typical_spacing(self) -> float:
        """Median nearest-neighbour distance of the training states (same units as :meth:`distance_to_training`)."""
        return float(self.meta["typical_spacing"])
