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
    SHIPPED_MIE_FORWARD,
    ForwardModel,
    hull_equations,
    input_coords,
    mie_u_star,
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


def ln_y_targets(
    y: np.ndarray, mask: np.ndarray, t_star: np.ndarray, floor: float = 0.05, lambda_r: np.ndarray | float = 12.0
) -> np.ndarray:
    """ln y* = ln g* + u*/T* of training curves where g* >= ``floor`` (NaN elsewhere; dimensionless).

    ``lambda_r``: the Mie exponent of each curve (12: LJ)."""
    ok = mask & (y >= floor)
    lam = np.broadcast_to(np.asarray(lambda_r, float), t_star.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.log(np.where(ok, y, 1.0)) + mie_u_star(S_GRID[None, :], lam[:, None]) / t_star[:, None]
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
    epochs: int = 3000,
    learning_rate: float = 2e-3,
    info: dict | None = None,
    lambda_r: np.ndarray | None = None,
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
    lambda_r : array or None
        The Mie exponent of each job: a Mie model, (1/T*, rho*, ln lambda_r) in (None: an LJ model, (1/T*, rho*)).
    """
    import keras

    t0 = time.monotonic()
    mie = lambda_r is not None
    lam = np.asarray(lambda_r, float) if mie else np.full(len(t_star), 12.0)
    y, mask = training_curves(r_nm, g, sigma)
    x = input_coords(t_star, rho_star, lam if mie else None)
    in_mean, in_std = x.mean(0), x.std(0)
    z = ((x - in_mean) / in_std).astype(np.float32)
    wt = mask.astype(np.float32)
    ly = ln_y_targets(y, mask, t_star, lambda_r=lam)
    have = np.isfinite(ly).any(0)
    col_mean = np.nanmean(np.where(have[None, :], ly, 0.0), 0)
    idx = np.flatnonzero(have)  # columns without a target (deep in the core) take the nearest column's mean
    out_mean = col_mean[idx[np.abs(np.arange(len(S_GRID))[:, None] - idx[None, :]).argmin(1)]]
    out_std = float(np.nanstd(ly - out_mean))
    bu = mie_u_star(S_GRID[None, :], lam[:, None]) / t_star[:, None]
    yt = np.concatenate([np.where(mask, y, 0.0), wt, bu], 1).astype(np.float32)
    loss = _ln_y_loss(out_mean, out_std)
    arrays, histories = {}, []
    acts = ["tanh"] * len(hidden) + ["linear"]
    for m in range(n_members):
        keras.utils.set_random_seed(1000 * seed + m)
        rng = np.random.default_rng(1000 * seed + m)
        boot = rng.integers(0, len(z), len(z))
        inp = keras.Input(shape=(x.shape[1],))
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
    spacing = typical_spacing(x / in_std, lam != 12.0 if mie else None)
    meta = {
        "meta_version": META_VERSION,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "s_grid": S_GRID.tolist(),
        "s_definition": "s = r / sigma (dimensionless)",
        "potential": "mie" if mie else "lj",
        "inputs": ["1/T_star", "rho_star", "ln_lambda_r"] if mie else ["1/T_star", "rho_star"],
        "input_scaler": {"mean": in_mean.tolist(), "std": in_std.tolist()},
        "output": "ln y*(s) = ln g*(s) + u*(s)/T* on s_grid, "
        + (
            "u* = C (s^-lambda_r - s^-6), C = lambda_r/(lambda_r-6) (lambda_r/6)^(6/(lambda_r-6))"
            if mie
            else "u* = 4 (s^-12 - s^-6)"
        )
        + " (dimensionless)",
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
        "training_states": np.stack([t_star, rho_star, lam] if mie else [t_star, rho_star], 1).tolist(),
        "typical_spacing": spacing,
        "hull_equations": hull_equations(x / in_std).tolist(),
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


def typical_spacing(pts: np.ndarray, rows: np.ndarray | None = None) -> float:
    """Median distance from a training state to its nearest other one (scaled inputs), over ``rows`` (None: all).

    A Mie model takes the median over its Mie states (``rows``: lambda_r != 12): the LJ jobs it also learns from sit
    densely on the plane lambda_r = 12 and would otherwise set a spacing 6x smaller than the Mie design's, so that
    every Mie state looked far from the training states."""
    dist = np.sqrt(((pts[:, None, :] - pts[None, :, :]) ** 2).sum(-1))
    np.fill_diagonal(dist, np.inf)
    near = dist.min(1)
    return float(np.median(near if rows is None else near[rows]))


def heldout_error(
    model: ForwardModel,
    r_nm: np.ndarray,
    g: np.ndarray,
    sigma: np.ndarray,
    t_star: np.ndarray,
    rho_star: np.ndarray,
    s_range: tuple[float, float] = (0.8, 3.0),
    lambda_r: np.ndarray | None = None,
) -> dict[str, Any]:
    """Mean |g_model - g_sim| over s in ``s_range`` of held-out histogram RDFs (model binned like the data).

    ``lambda_r``: the jobs' Mie exponents (None: LJ, 12).
    Returns the mean over jobs of each job's mean absolute deviation (dimensionless), its maximum, the per-job
    values, and the simulated curves' own noise for comparison: the mean |g_sim - smooth| that the block errors
    imply, sqrt(2/pi) mean(g_err) (computed by the caller where the export has g_err).
    """
    width = float(r_nm[1] - r_nm[0])
    lam = np.full(len(g), 12.0) if lambda_r is None else np.asarray(lambda_r, float)
    per_job = []
    for i in range(len(g)):
        rf = np.arange(0.0, r_nm[-1] + width, width / 8)
        gf = model.g_of_s(rf / sigma[i], t_star[i], rho_star[i], lambda_r=lam[i])
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

    Trained on: every job of the reference dataset but the shipped inverse model's test split
    (``lj_library.h5``, T* 0.7-3.5), the hot, dense library (``lj_library_hot.h5``, T* 3.6-10) and the wide
    campaign's training designs (:data:`WIDE_TRAIN_DESIGNS` of ``lj_library_wide.h5``: near the triple point, the
    dense liquid, the hot fluid to T* 10). The shipped inverse network trains on the same jobs
    (:func:`project.model.train.shipped_training_dataset`). Held out: the reference test split and the wide
    campaign's held-out designs (:data:`WIDE_TEST_DESIGNS`, one region each).

    Returns a dict with ``r_nm`` (nm), ``g``, ``g_err`` (1-std), ``sigma`` (nm), ``T_star``, ``rho_star`` (training
    rows), the reference dataset ``ds`` with the boolean row masks ``test`` (held out) and ``transfer``, the wide export
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
        (ds, ~tab.index.isin(split["test"])),
        (hot, np.ones(len(hot.table), dtype=bool)),
        (wide_ds, np.isin(seeds, [design_seed(n) for n in WIDE_TRAIN_DESIGNS])),
    ]

    def col(key: str) -> np.ndarray:
        return np.concatenate([d.table[key].to_numpy()[m] for d, m in parts])

    return {
        "parts": parts,
        "r_nm": ds.r_nm,
        "g": np.concatenate([d.g[m] for d, m in parts]).astype(float),
        "g_err": np.concatenate([d.g_err[m] for d, m in parts]).astype(float),
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


#: The Mie campaign's designs (docs/mie.md): trained on (the Sobol draw and the grid over its box's faces), held out.
MIE_TRAIN_DESIGNS, MIE_TEST_DESIGN = ("mie", "mie_edge"), "mie_test"
#: The LJ jobs a Mie model also learns from (lambda_r = 12, GROMACS): those of the LJ forward model's training set
#: inside the Mie design's states (T* <= this, rho* <= :data:`MIE_LJ_MAX_RHO_STAR`).
MIE_LJ_MAX_T_STAR, MIE_LJ_MAX_RHO_STAR = 3.2, 1.0


def mie_training_data() -> dict[str, Any]:
    """The Mie forward model's training jobs, and the held-out ones.

    Trained on: the ``mie`` and ``mie_edge`` designs of the Mie export (``mie_library.h5``, lambda_r 8-32, T* 0.7-3,
    rho* 0.3-0.95; ``mie_edge`` puts states on the faces of that box, which a Sobol draw never reaches) and, at
    lambda_r = 12, the LJ forward model's training jobs inside those states (:data:`MIE_LJ_MAX_T_STAR`,
    :data:`MIE_LJ_MAX_RHO_STAR`): a Mie model must give the LJ fluid at 12, and the LJ library is where 12 is
    simulated densely. Held out: the ``mie_test`` design (never trained on) and the LJ held-out jobs in the same
    states. Returns the keys of :func:`shipped_training_data` plus ``lambda_r`` (training rows), ``mie_ds`` (the
    Mie export) with its row mask ``mie_test``.
    """
    from project.export import load_dataset
    from project.model.inverse import SHIPPED_MODEL

    lj = shipped_training_data()
    mie_ds = load_dataset(SHIPPED_MODEL.parents[1] / "reference" / "mie_library.h5")
    if not np.allclose(mie_ds.r_nm, lj["r_nm"]):
        raise ProjectError("the Mie export's r grid differs from the LJ exports'")
    tab = mie_ds.table
    seeds = tab["seed"].to_numpy()
    train = np.isin(seeds, [design_seed(n) for n in MIE_TRAIN_DESIGNS])
    keep = (lj["T_star"] <= MIE_LJ_MAX_T_STAR) & (lj["rho_star"] <= MIE_LJ_MAX_RHO_STAR)

    def col(key: str) -> np.ndarray:
        return np.concatenate([tab[key].to_numpy()[train], lj[key][keep]])

    return {
        "r_nm": lj["r_nm"],
        "g": np.concatenate([mie_ds.g[train].astype(float), lj["g"][keep]]),
        "g_err": np.concatenate([mie_ds.g_err[train].astype(float), lj["g_err"][keep]]),
        "sigma": col("sigma"),
        "T_star": col("T_star"),
        "rho_star": col("rho_star"),
        "lambda_r": np.concatenate([tab["lambda_r"].to_numpy()[train], np.full(int(keep.sum()), 12.0)]),
        "n_mie_jobs": int(train.sum()),
        "n_lj_jobs": int(keep.sum()),
        "mie_ds": mie_ds,
        MIE_TEST_DESIGN: seeds == design_seed(MIE_TEST_DESIGN),
        "datasets": {**lj["datasets"], "mie": mie_ds.attrs.get("content_checksum")},
    }


def _heldout_table(model: ForwardModel, sets: list[tuple[str, Any, np.ndarray]]) -> dict[str, dict]:
    """Held-out accuracy of ``model`` on (name, export, row mask) sets (:func:`heldout_error`)."""
    acc = {}
    for name, ds, sel in sets:
        tab = ds.table
        lam = tab["lambda_r"].to_numpy()[sel] if model.is_mie and "lambda_r" in tab else None
        res = heldout_error(
            model,
            ds.r_nm,
            ds.g[sel].astype(float),
            tab["sigma"].to_numpy()[sel],
            tab["T_star"].to_numpy()[sel],
            tab["rho_star"].to_numpy()[sel],
            lambda_r=lam,
        )
        noise = float(np.sqrt(2 / np.pi) * np.nanmean(ds.g_err[sel]))
        acc[name] = {
            "n_jobs": int(sel.sum()),
            "mean_abs_dg": res["mean_abs_dg"],
            "max_job_mean_abs_dg": res["max_job_mean_abs_dg"],
            "simulation_noise_mean_abs": noise,
            "s_range": res["s_range"],
        }
    return acc


def main(argv: list[str] | None = None) -> int:
    """Train the shipped forward model, measure it on the held-out split: ``python -m project.model.train_forward``."""
    import argparse
    import logging

    parser = argparse.ArgumentParser(prog="python -m project.model.train_forward", description=main.__doc__)
    parser.add_argument(
        "--potential",
        choices=("lj", "mie"),
        default="lj",
        help="lj: the LJ model g*(s; T*, rho*) (default); mie: the Mie lambda_r-6 model g*(s; T*, rho*, lambda_r)",
    )
    parser.add_argument("--out", default=None, help="model folder (default: the shipped one of that potential)")
    parser.add_argument("--epochs", type=int, default=3000, help="full-batch epochs per member (default 3000)")
    parser.add_argument("--members", type=int, default=3, help="ensemble members (default 3)")
    parser.add_argument("--seed", type=int, default=11, help="seed (default 11)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    mie = args.potential == "mie"
    out = args.out or str(SHIPPED_MIE_FORWARD if mie else SHIPPED_FORWARD)
    d = mie_training_data() if mie else shipped_training_data()
    if mie:
        held_out = f"design {MIE_TEST_DESIGN} of the Mie campaign"
        counts = {"n_mie_jobs": d["n_mie_jobs"], "n_lj_jobs": d["n_lj_jobs"]}
    else:
        held_out = (
            "test split of the shipped inverse model, designs " + ", ".join(WIDE_TEST_DESIGNS) + " of the wide campaign"
        )
        counts = {}
    meta = train_forward(
        d["r_nm"],
        d["g"],
        d["sigma"],
        d["T_star"],
        d["rho_star"],
        out,
        seed=args.seed,
        n_members=args.members,
        epochs=args.epochs,
        info={"datasets": d["datasets"], "n_training_jobs": len(d["g"]), **counts, "held_out": held_out},
        lambda_r=d["lambda_r"] if mie else None,
    )
    model = ForwardModel.load(out)
    if mie:
        sets = [(MIE_TEST_DESIGN, d["mie_ds"], d[MIE_TEST_DESIGN])]
    else:
        sets = [("test", d["ds"], d["test"])] + [(n, d["wide_ds"], d[n]) for n in WIDE_TEST_DESIGNS]
    acc = _heldout_table(model, sets)
    meta["heldout_accuracy"] = acc
    (Path(out) / "meta.json").write_text(json.dumps(meta, indent=1))
    import sys

    sys.stdout.write(
        json.dumps({"model": out, "train_wall_s": round(meta["train_wall_s"], 1), "heldout_accuracy": acc}, indent=1)
        + "\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
