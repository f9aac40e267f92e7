"""Training the forward model g*(s; T*, rho*) (Keras) and measuring it: ``python -m project.model.train_forward``.

The model and its grid are described in :mod:`project.model.forward`. Training data: the simulated jobs of the
shipped exports (:func:`shipped_training_data`). Units: r nm, sigma nm, g dimensionless, T* and rho* reduced.
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
from project.model.binning import histogram_average
from project.model.forward import (
    _MAX_LN_G,
    META_VERSION,
    S_GRID,
    SHIPPED_FORWARD,
    ForwardModel,
    lj_u_star,
    training_curves,
)


def _ln_y_loss(out_mean: np.ndarray, out_std: float):
    """Masked mean squared error of g* when the network outputs scaled ln y*: g* = exp(ln y* - u*/T*).

    ``y_true`` is [g* targets, mask, u*(s)/T*] side by side (each n_s wide).
    """
    import keras

    mean = keras.ops.convert_to_tensor(out_mean.astype(np.float32))

    def loss(y_true, y_pred):
        n = keras.ops.shape(y_pred)[-1]
        y, w, bu = y_true[:, :n], y_true[:, n : 2 * n], y_true[:, 2 * n :]
        g = keras.ops.exp(keras.ops.minimum(y_pred * out_std + mean - bu, _MAX_LN_G))
        return keras.ops.sum(w * (y - g) ** 2) / keras.ops.maximum(keras.ops.sum(w), 1.0)

    return loss


def ln_y_targets(y: np.ndarray, mask: np.ndarray, t_star: np.ndarray, floor: float = 0.05) -> np.ndarray:
    """ln y* = ln g* + u*/T* of training curves where g* >= ``floor`` (NaN elsewhere; dimensionless)."""
    ok = mask & (y >= floor)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.log(np.where(ok, y, 1.0)) + lj_u_star(S_GRID)[None, :] / t_star[:, None]
    return np.where(ok, out, np.nan)


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
        full-batch Adam on the masked mean squared error of g* = exp(ln y* - u*/T*), the network giving ln y*.
    info : dict
        Extra entries for ``meta.json`` (datasets, held-out accuracy).
    """
    import keras

    t0 = time.monotonic()
    y, mask = training_curves(r_nm, g, sigma)
    x = ForwardModel._coords(t_star, rho_star)
    in_mean, in_std = x.mean(0), x.std(0)
    z = ((x - in_mean) / in_std).astype(np.float32)
    wt = mask.astype(np.float32)
    ly = ln_y_targets(y, mask, t_star)
    have = np.isfinite(ly).any(0)
    col_mean = np.nanmean(np.where(have[None, :], ly, 0.0), 0)
    idx = np.flatnonzero(have)  # columns without a target (deep in the core) take the nearest column's mean
    out_mean = col_mean[idx[np.abs(np.arange(len(S_GRID))[:, None] - idx[None, :]).argmin(1)]]
    out_std = float(np.nanstd(ly - out_mean))
    bu = lj_u_star(S_GRID)[None, :] / t_star[:, None]
    yt = np.concatenate([np.where(mask, y, 0.0), wt, bu], 1).astype(np.float32)
    loss = _ln_y_loss(out_mean, out_std)
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
        model.compile(optimizer=keras.optimizers.Adam(sched), loss=loss)
        hist = model.fit(z[boot], yt[boot], epochs=epochs, batch_size=len(z), verbose=0, shuffle=False)
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
        "output": "ln y*(s) = ln g*(s) + u*(s)/T* on s_grid, u* = 4 (s^-12 - s^-6) (dimensionless)",
        "output_scaler": {"mean": out_mean.tolist(), "std": out_std},
        "n_members": n_members,
        "activations": acts,
        "settings": {
            "seed": seed,
            "hidden": list(hidden),
            "epochs": epochs,
            "learning_rate": learning_rate,
            "loss": "masked MSE of g* = exp(ln y* - u*/T*), full batch, bootstrap per member",
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
#: The wide campaign's designs (docs/campaign.md): trained on, and held out (one region each).
WIDE_TRAIN_DESIGNS = ("triple", "dense", "hot_wide", "dense2", "hot_dense_wide", "hot_edge", "freezing_edge")
WIDE_TEST_DESIGNS = ("triple_test", "dense_test", "hot_wide_test")


def design_seed(name: str) -> int:
    """The state-point seed of a shipped design (how an export tells its designs apart)."""
    from project.design import load_design

    return int(load_design(name)["fixed"]["seed"])


def shipped_training_data(inverse_meta: dict | None = None) -> dict[str, Any]:
    """The forward model's training jobs, and the held-out ones.

    Trained on: the shipped inverse model's train, val and transfer splits of the reference dataset
    (``lj_library.h5``, T* 0.7-3.5), the hot, dense library (``lj_library_hot.h5``, T* 3.6-10) and the wide
    campaign's training designs (:data:`WIDE_TRAIN_DESIGNS` of ``lj_library_wide.h5``: near the triple point, the
    dense liquid, the hot fluid to T* 10). The transfer split is used because the forward model must cover the
    states a user's RDF can have; its accuracy there is measured on the blind designs of
    ``benchmarks/bench_independent.py`` instead. Held out: the reference test split and the wide campaign's held-out
    designs (:data:`WIDE_TEST_DESIGNS`, one region each).

    Returns a dict with ``r_nm`` (nm), ``g``, ``sigma`` (nm), ``T_star``, ``rho_star`` (training rows), the
    reference dataset ``ds`` with the boolean row masks ``test`` (held out) and ``transfer``, the wide export
    ``wide_ds`` with a row mask per held-out design name and the exports' checksums.
    """
    from project.export import load_dataset
    from project.model.inverse import SHIPPED_MODEL

    ref = SHIPPED_MODEL.parents[1] / "reference"
    meta = inverse_meta or json.loads((SHIPPED_MODEL / "meta.json").read_text())
    split = meta["split_job_ids"]
    ds = load_dataset(ref / "lj_library.h5")
    hot = load_dataset(ref / "lj_library_hot.h5")
    wide_ds = load_dataset(ref / "lj_library_wide.h5")
    tab = ds.table
    for other in (hot, wide_ds):
        if not np.allclose(ds.r_nm, other.r_nm):
            raise ProjectError("the reference exports have different r grids")
    seeds = wide_ds.table["seed"].to_numpy()
    parts = [
        (ds, tab.index.isin(split["train"] + split["val"] + split["transfer"])),
        (hot, np.ones(len(hot.table), dtype=bool)),
        (wide_ds, np.isin(seeds, [design_seed(n) for n in WIDE_TRAIN_DESIGNS])),
    ]

    def col(key: str) -> np.ndarray:
        return np.concatenate([d.table[key].to_numpy()[m] for d, m in parts])

    return {
        "r_nm": ds.r_nm,
        "g": np.concatenate([d.g[m] for d, m in parts]).astype(float),
        "sigma": col("sigma"),
        "T_star": col("T_star"),
        "rho_star": col("rho_star"),
        "ds": ds,
        "test": tab.index.isin(split["test"]),
        "transfer": tab.index.isin(split["transfer"]),
        "wide_ds": wide_ds,
        **{name: seeds == design_seed(name) for name in WIDE_TEST_DESIGNS},
        "datasets": {
            "reference": ds.attrs.get("content_checksum"),
            "hot": hot.attrs.get("content_checksum"),
            "wide": wide_ds.attrs.get("content_checksum"),
        },
    }


def main(argv: list[str] | None = None) -> int:
    """Train the shipped forward model, measure it on the held-out split: ``python -m project.model.train_forward``."""
    import argparse
    import logging

    parser = argparse.ArgumentParser(prog="python -m project.model.train_forward", description=main.__doc__)
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
            "held_out": "test split of the inverse model lj_inverse_v3, designs "
            + ", ".join(WIDE_TEST_DESIGNS)
            + " of the wide campaign",
        },
    )
    model = ForwardModel.load(args.out)
    acc = {}
    for name in ("test", *WIDE_TEST_DESIGNS):
        ds = d["ds"] if name == "test" else d["wide_ds"]
        tab, sel = ds.table, d[name]
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
