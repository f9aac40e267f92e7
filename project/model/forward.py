"""The forward model: the LJ radial distribution function g_LJ(r; sigma, epsilon, T, rho) over the design domain.

Corresponding states (cut-off fixed in units of sigma) make it a function of two numbers:
g(r; sigma, epsilon, T, rho) = g*(s; T*, rho*) with s = r / sigma, T* = k_B T / epsilon, rho* = rho sigma^3.
An ensemble of small MLPs maps (1/T*, rho*) to g* on the fixed grid :data:`S_GRID` (s = 0.75 ... 3.0 in steps of
0.005). Below s = 0.75 the core is continued with the Boltzmann factor, g*(s) = g*(0.75) exp(-(u*(s) - u*(0.75)) / T*)
with u*(s) = 4 (s^-12 - s^-6); beyond s = 3 the model says nothing (a fit does not use those points).

Training data: the simulated jobs of the shipped exports (the training dataset, GROMACS, N = 1000, cut-off
3 sigma, 0.005 nm histogram bins; and the hot, dense states of design ``hot_dense``). A histogram value is the
shell-volume average of g over its bin, so each job's curve is first turned into point values to second order,

    g(r_c) = g_bin - (dr^2 / 24) (g'' + 4 g' / r_c),

(finite differences of the binned curve; the r^2 weight of the shell gives the g' term), then interpolated (cubic)
onto ``s``; points beyond a job's last bin are masked. :func:`histogram_average` does the opposite for a user's
RDF: it averages the model's point curve over the user's bins with the same r^2 weight, so a curve from any bin
width is compared like with like. :func:`q_truncation_matrix` applies what a scattering experiment does to g(r):
the Fourier transform of h = g - 1 cut at Q_max.

A model folder holds ``meta.json`` (grid, scalers, units, training states, held-out accuracy, settings) and
``weights.npz`` (dense layers ``m<i>_l<j>_W/_b``); prediction runs in numpy (about 30 us per curve).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from project.errors import ProjectError

#: The forward model shipped with the package.
SHIPPED_FORWARD = Path(__file__).resolve().parents[1] / "data" / "models" / "lj_forward_v1"
#: The model's grid in s = r / sigma (dimensionless).
S_GRID = np.round(np.arange(0.75, 3.0 + 1e-9, 0.005), 6)
META_VERSION = 1


def lj_u_star(s: np.ndarray) -> np.ndarray:
    """Reduced LJ pair energy u* = 4 (s^-12 - s^-6) at s = r / sigma (dimensionless)."""
    s = np.asarray(s, dtype=float)
    return 4.0 * (s**-12 - s**-6)


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


class ForwardModel:
    """g*(s; T*, rho*) from a model folder (see the module docstring). Units: s = r/sigma, T*, rho* dimensionless."""

    def __init__(self, meta: dict[str, Any], members: list[list[tuple[np.ndarray, np.ndarray, str]]]) -> None:
        self.meta = meta
        self.members = members
        # the members side by side (float64, stacked per layer) for one batched pass
        self._W = [np.stack([m[j][0] for m in members]).astype(float) for j in range(len(members[0]))]
        self._b = [np.stack([m[j][1] for m in members]).astype(float)[:, None, :] for j in range(len(members[0]))]
        self._acts = [a for _, _, a in members[0]]
        self._last: tuple[tuple[float, float] | None, np.ndarray | None] = (None, None)
        self.s = np.asarray(meta["s_grid"], dtype=float)
        self.in_mean = np.asarray(meta["input_scaler"]["mean"], dtype=float)
        self.in_std = np.asarray(meta["input_scaler"]["std"], dtype=float)
        self.out_mean = np.asarray(meta["output_scaler"]["mean"], dtype=float)
        self.out_std = float(meta["output_scaler"]["std"])
        states = np.asarray(meta["training_states"], dtype=float)  # (n, 2): T*, rho*
        self._states = self._coords(states[:, 0], states[:, 1])

    @classmethod
    def load(cls, path: str | Path | None = None) -> ForwardModel:
        """Load a forward-model folder (default: the one shipped with the package)."""
        path = Path(path) if path else SHIPPED_FORWARD
        try:
            meta = json.loads((path / "meta.json").read_text())
            with np.load(path / "weights.npz") as w:
                arrays = {k: w[k] for k in w.files}
        except (OSError, ValueError) as exc:
            raise ProjectError(f"forward model folder {path}: missing or unreadable ({exc})") from exc
        if meta.get("meta_version") != META_VERSION:
            raise ProjectError(
                f"forward model folder {path}: meta_version {meta.get('meta_version')} is not {META_VERSION}"
            )
        members = [
            [(arrays[f"m{m}_l{j}_W"], arrays[f"m{m}_l{j}_b"], act) for j, act in enumerate(meta["activations"])]
            for m in range(meta["n_members"])
        ]
        return cls(meta, members)

    @staticmethod
    def _coords(t_star: np.ndarray, rho_star: np.ndarray) -> np.ndarray:
        return np.stack([1.0 / np.asarray(t_star, float), np.asarray(rho_star, float)], axis=-1)

    def members_g(self, t_star: np.ndarray | float, rho_star: np.ndarray | float) -> np.ndarray:
        """Every member's g* on :data:`S_GRID`, shape (n_members, n, n_s), at states (T*, rho*) (broadcast 1-D)."""
        t, d = np.broadcast_arrays(np.atleast_1d(np.asarray(t_star, float)), np.atleast_1d(np.asarray(rho_star, float)))
        h = ((self._coords(t, d) - self.in_mean) / self.in_std)[None, :, :]
        for W, b, act in zip(self._W, self._b, self._acts):
            h = _act(act, np.matmul(h, W) + b)
        return np.maximum(h * self.out_std + self.out_mean, 0.0)

    def g_star(self, t_star: np.ndarray | float, rho_star: np.ndarray | float) -> np.ndarray:
        """Ensemble-mean g* on :data:`S_GRID`, shape (n, n_s), at states (T*, rho*) (dimensionless)."""
        return self.members_g(t_star, rho_star).mean(0)

    def g_of_s(self, s: np.ndarray, t_star: float, rho_star: float, member: int | None = None) -> np.ndarray:
        """g* at arbitrary s = r/sigma >= 0 (dimensionless) for one state; NaN beyond the grid's end (s > 3).

        Below the grid the core is continued with the Boltzmann factor (module docstring). ``member`` picks one
        ensemble member (None: the mean).
        """
        key = (float(t_star), float(rho_star))
        if key != self._last[0]:  # a fit asks for the same state several times (normalisation, spread)
            self._last = (key, self.members_g(t_star, rho_star)[:, 0])
        gs = self._last[1].mean(0) if member is None else self._last[1][member]
        s = np.asarray(s, dtype=float)
        out = np.interp(s, self.s, gs, right=np.nan)
        core = s < self.s[0]
        if np.any(core):
            sc = np.maximum(s[core], 0.3)
            out[core] = gs[0] * np.exp(-(lj_u_star(sc) - lj_u_star(self.s[0])) / t_star)
        return out

    def distance_to_training(self, t_star: float, rho_star: float) -> float:
        """Distance of (T*, rho*) to the nearest training state in (1/T*, rho*), in units of the inputs' std."""
        p = (self._coords(np.array([t_star]), np.array([rho_star])) - 0) / self.in_std
        d = (self._states / self.in_std - p) ** 2
        return float(np.sqrt(d.sum(1).min()))

    @property
    def typical_spacing(self) -> float:
        """Median nearest-neighbour distance of the training states (same units as :meth:`distance_to_training`)."""
        return float(self.meta["typical_spacing"])


# ---------------------------------------------------------------------------------------------------- operators
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


def point_sampling(r_points: np.ndarray, r_fine: np.ndarray) -> np.ndarray:
    """Matrix (n_points x n_fine) of linear interpolation from the uniform grid ``r_fine`` onto ``r_points`` (nm)."""
    return point_sampling_op(r_points, r_fine).dense()


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


# ---------------------------------------------------------------------------------------------------- training
def _masked_mse(y_true_and_mask, y_pred):
    """Mean squared error over the unmasked points; ``y_true_and_mask`` is [targets, mask] side by side."""
    import keras

    n = keras.ops.shape(y_pred)[-1]
    y, w = y_true_and_mask[:, :n], y_true_and_mask[:, n:]
    return keras.ops.sum(w * (y - y_pred) ** 2) / keras.ops.maximum(keras.ops.sum(w), 1.0)


def train_forward(
    r_nm: np.ndarray,
    g: np.ndarray,
    sigma: np.ndarray,
    t_star: np.ndarray,
    rho_star: np.ndarray,
    out: str | Path,
    seed: int = 11,
    n_members: int = 3,
    hidden: tuple[int, ...] = (128, 128, 128),
    epochs: int = 4000,
    learning_rate: float = 2e-3,
    info: dict | None = None,
) -> dict[str, Any]:
    """Train the forward ensemble on histogram RDFs (one r grid in nm) and save it to ``out``.

    Parameters
    ----------
    r_nm, g : arrays
        Bin centres (nm) and histogram g of each job, shape (n_jobs, n_bins).
    sigma, t_star, rho_star : arrays
        LJ diameter (nm), reduced temperature and density of each job.
    out : path
        Model folder (written atomically).
    seed, n_members, hidden, epochs, learning_rate
        Training settings: each member sees a bootstrap sample and its own initial weights (seed 1000 seed + m);
        full-batch Adam on the masked mean squared error of g*.
    info : dict
        Extra entries for ``meta.json`` (datasets, held-out accuracy).
    """
    import keras

    t0 = time.monotonic()
    y, mask = training_curves(r_nm, g, sigma)
    x = ForwardModel._coords(t_star, rho_star)
    in_mean, in_std = x.mean(0), x.std(0)
    out_mean = np.where(mask.any(0), (y * mask).sum(0) / np.maximum(mask.sum(0), 1), 1.0)
    out_std = float(np.sqrt(((y - out_mean) ** 2 * mask).sum() / mask.sum()))
    z = ((x - in_mean) / in_std).astype(np.float32)
    yt = np.where(mask, (y - out_mean) / out_std, 0.0).astype(np.float32)
    wt = mask.astype(np.float32)
    arrays, histories = {}, []
    acts = ["tanh"] * len(hidden) + ["linear"]
    for m in range(n_members):
        keras.utils.set_random_seed(1000 * seed + m)
        rng = np.random.default_rng(1000 * seed + m)
        boot = rng.integers(0, len(z), len(z))
        inp = keras.Input(shape=(2,))
        h = inp
        for width in hidden:
            h = keras.layers.Dense(width, activation="tanh")(h)
        model = keras.Model(inp, keras.layers.Dense(len(S_GRID))(h))
        sched = keras.optimizers.schedules.CosineDecay(learning_rate, epochs, alpha=0.01)
        model.compile(optimizer=keras.optimizers.Adam(sched), loss=_masked_mse)
        hist = model.fit(
            z[boot], np.concatenate([yt[boot], wt[boot]], 1), epochs=epochs, batch_size=len(z), verbose=0, shuffle=False
        )
        histories.append({"epochs": epochs, "final_loss": float(hist.history["loss"][-1])})
        dense = [layer for layer in model.layers if layer.__class__.__name__ == "Dense"]
        for j, layer in enumerate(dense):
            W, b = layer.get_weights()
            arrays[f"m{m}_l{j}_W"], arrays[f"m{m}_l{j}_b"] = W.astype(np.float32), b.astype(np.float32)
    pts = x / in_std
    dist = np.sqrt(((pts[:, None, :] - pts[None, :, :]) ** 2).sum(-1))
    np.fill_diagonal(dist, np.inf)
    meta = {
        "meta_version": META_VERSION,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "s_grid": S_GRID.tolist(),
        "s_definition": "s = r / sigma (dimensionless)",
        "inputs": ["1/T_star", "rho_star"],
        "input_scaler": {"mean": in_mean.tolist(), "std": in_std.tolist()},
        "output": "g*(s) on s_grid (dimensionless)",
        "output_scaler": {"mean": out_mean.tolist(), "std": out_std},
        "n_members": n_members,
        "activations": acts,
        "settings": {
            "seed": seed,
            "hidden": list(hidden),
            "epochs": epochs,
            "learning_rate": learning_rate,
            "loss": "masked MSE of g*, full batch, bootstrap per member",
        },
        "training_states": np.stack([t_star, rho_star], 1).tolist(),
        "typical_spacing": float(np.median(dist.min(1))),
        "histories": histories,
        "train_wall_s": time.monotonic() - t0,
        **(info or {}),
    }
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}."))
    np.savez(tmp / "weights.npz", **arrays)
    (tmp / "meta.json").write_text(json.dumps(meta, indent=1))
    if out.exists():
        old = out.with_name(f".{out.name}.old.{os.getpid()}")
        os.replace(out, old)
        shutil.rmtree(old, ignore_errors=True)
    os.replace(tmp, out)
    return meta


def heldout_error(
    model: ForwardModel,
    r_nm: np.ndarray,
    g: np.ndarray,
    sigma: np.ndarray,
    t_star: np.ndarray,
    rho_star: np.ndarray,
    s_range: tuple[float, float] = (0.8, 3.0),
) -> dict[str, Any]:
    """Mean |g_model - g_sim| over s in ``s_range`` of held-out histogram RDFs (model binned like the data).

    Returns the mean over jobs of each job's mean absolute deviation (dimensionless), its maximum, the per-job
    values, and the simulated curves' own noise for comparison: the mean |g_sim - smooth| that the block errors
    imply, sqrt(2/pi) mean(g_err) (computed by the caller where the export has g_err).
    """
    width = float(r_nm[1] - r_nm[0])
    per_job = []
    for i in range(len(g)):
        rf = np.arange(0.0, r_nm[-1] + width, width / 8)
        gf = model.g_of_s(rf / sigma[i], t_star[i], rho_star[i])
        keep = (r_nm / sigma[i] >= s_range[0]) & (r_nm / sigma[i] <= s_range[1])
        keep &= (r_nm + width / 2) / sigma[i] <= model.s[-1]
        B = histogram_average(r_nm[keep], rf, width)
        gm = B @ np.nan_to_num(gf, nan=1.0)
        per_job.append(float(np.mean(np.abs(gm - g[i, keep]))))
    per_job = np.asarray(per_job)
    return {
        "mean_abs_dg": float(per_job.mean()),
        "max_job_mean_abs_dg": float(per_job.max()),
        "per_job": per_job.tolist(),
        "s_range": list(s_range),
    }


# ---------------------------------------------------------------------------------------------------- shipped model
def shipped_training_data(inverse_meta: dict | None = None) -> dict[str, Any]:
    """The forward model's training jobs: the shipped inverse model's train, val and transfer splits of the
    reference dataset (T* 0.7-3.5) plus every job of the hot, dense library (T* 3.6-10); its test split stays held
    out. The transfer split is used because the forward model must cover the states a user's RDF can have; its
    accuracy there is measured on the blind designs of ``benchmarks/bench_independent.py`` instead.

    Returns a dict with ``r_nm`` (nm), ``g``, ``sigma`` (nm), ``T_star``, ``rho_star`` (training rows) and the
    reference dataset ``ds`` with the boolean row masks ``test`` (held out) and ``transfer`` (trained on).
    """
    from project.export import load_dataset
    from project.model.inverse import SHIPPED_MODEL

    ref = SHIPPED_MODEL.parents[1] / "reference"
    meta = inverse_meta or json.loads((SHIPPED_MODEL / "meta.json").read_text())
    split = meta["split_job_ids"]
    ds = load_dataset(ref / "lj_library.h5")
    hot = load_dataset(ref / "lj_library_hot.h5")
    tab, hot_tab = ds.table, hot.table
    if not np.allclose(ds.r_nm, hot.r_nm):
        raise ProjectError("the reference exports have different r grids")
    train = tab.index.isin(split["train"] + split["val"] + split["transfer"])

    def col(key: str) -> np.ndarray:
        return np.concatenate([tab[key].to_numpy()[train], hot_tab[key].to_numpy()])

    return {
        "r_nm": ds.r_nm,
        "g": np.concatenate([ds.g[train], hot.g]).astype(float),
        "sigma": col("sigma"),
        "T_star": col("T_star"),
        "rho_star": col("rho_star"),
        "ds": ds,
        "test": tab.index.isin(split["test"]),
        "transfer": tab.index.isin(split["transfer"]),
        "datasets": {"reference": ds.attrs.get("content_checksum"), "hot": hot.attrs.get("content_checksum")},
    }


def main(argv: list[str] | None = None) -> int:
    """Train the shipped forward model and measure it on the held-out splits: ``python -m project.model.forward``."""
    import argparse
    import logging

    parser = argparse.ArgumentParser(prog="python -m project.model.forward", description=main.__doc__)
    parser.add_argument("--out", default=str(SHIPPED_FORWARD), help="model folder (default: the shipped one)")
    parser.add_argument("--epochs", type=int, default=3000, help="full-batch epochs per member (default 3000)")
    parser.add_argument("--members", type=int, default=3, help="ensemble members (default 3)")
    parser.add_argument("--seed", type=int, default=11, help="seed (default 11)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    d = shipped_training_data()
    meta = train_forward(
        d["r_nm"],
        d["g"],
        d["sigma"],
        d["T_star"],
        d["rho_star"],
        args.out,
        seed=args.seed,
        n_members=args.members,
        epochs=args.epochs,
        info={
            "datasets": d["datasets"],
            "n_training_jobs": len(d["g"]),
            "held_out": "test split of the inverse model lj_inverse_v3",
        },
    )
    model = ForwardModel.load(args.out)
    ds, tab = d["ds"], d["ds"].table
    acc = {}
    for name in ("test",):
        sel = d[name]
        res = heldout_error(
            model,
            ds.r_nm,
            ds.g[sel].astype(float),
            tab["sigma"].to_numpy()[sel],
            tab["T_star"].to_numpy()[sel],
            tab["rho_star"].to_numpy()[sel],
        )
        noise = float(np.sqrt(2 / np.pi) * np.nanmean(ds.g_err[sel]))
        acc[name] = {
            "n_jobs": int(sel.sum()),
            "mean_abs_dg": res["mean_abs_dg"],
            "max_job_mean_abs_dg": res["max_job_mean_abs_dg"],
            "simulation_noise_mean_abs": noise,
            "s_range": res["s_range"],
        }
    meta["heldout_accuracy"] = acc
    (Path(args.out) / "meta.json").write_text(json.dumps(meta, indent=1))
    import sys

    sys.stdout.write(
        json.dumps(
            {"model": args.out, "train_wall_s": round(meta["train_wall_s"], 1), "heldout_accuracy": acc}, indent=1
        )
        + "\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
