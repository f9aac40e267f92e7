"""Evaluation of the inverse model against the library least-squares baseline.

Metrics per split and method (sigma and epsilon separately): mean absolute percentage error
MAPE = 100/n sum |pred - true| / true, and the maximum absolute percentage error. Plots (PNG): parity plots of
sigma (nm) and epsilon (kJ/mol), and absolute percentage error against T* and rho*.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from project.model.baseline import LibraryFit
from project.model.features import scaled_rdf_batch
from project.model.inverse import InverseModel

log = logging.getLogger(__name__)


def ape(pred: np.ndarray, true: np.ndarray) -> np.ndarray:
    """Absolute percentage error, 100 |pred - true| / |true|."""
    return 100.0 * np.abs(np.asarray(pred) - np.asarray(true)) / np.abs(np.asarray(true))


def metrics(df: pd.DataFrame, prefix: str) -> dict[str, float]:
    """MAPE and max APE of sigma and epsilon for predictions in columns ``{prefix}_sigma``, ``{prefix}_epsilon``."""
    out = {}
    for key in ("sigma", "epsilon"):
        err = ape(df[f"{prefix}_{key}"], df[key])
        out[f"{key}_mape_pct"] = float(err.mean()) if len(err) else float("nan")
        out[f"{key}_max_ape_pct"] = float(err.max()) if len(err) else float("nan")
    out["n"] = int(len(df))
    return out


def evaluate(
    dataset, model_dir: str | Path | None, out_dir: str | Path, with_baseline: bool = True, plots: bool = True
) -> dict[str, Any]:
    """Evaluate a model on every split stored in its metadata; write predictions.csv, metrics.json and PNGs.

    Parameters
    ----------
    dataset : project.export.Dataset
        The export the model was trained on (rows are matched by job id).
    model_dir : path or None
        Model folder (None: the shipped model).
    out_dir : path
        Folder for the evaluation products.

    Returns
    -------
    dict
        ``metrics`` (split -> method -> numbers), ``predictions`` (DataFrame) and ``paths``.
    """
    model = InverseModel.load(model_dir)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tab = dataset.table
    gx_all = scaled_rdf_batch(dataset.r_nm, dataset.g.astype(float), tab["rho"].to_numpy())
    frames = []
    split_ids = model.meta["split_job_ids"]
    baseline = None
    known = set(dataset.job_ids)  # a model trained on several exports: the rows of this one
    if with_baseline:
        tr = np.array([dataset.row(j) for j in split_ids["train"] + split_ids["val"] if j in known])
        baseline = LibraryFit(gx_all[tr], tab["T_star"].to_numpy()[tr], tab["rho_star"].to_numpy()[tr])
    for split in ("train", "val", "test", "transfer"):
        ids = [j for j in split_ids.get(split, []) if j in known]
        if not ids:
            continue
        rows = np.array([dataset.row(j) for j in ids])
        sub = tab.iloc[rows][["sigma", "epsilon", "T", "rho", "T_star", "rho_star"]].copy()
        sub["split"] = split
        t0 = time.perf_counter()
        p = model.predict_physical(gx_all[rows], sub["T"].to_numpy(), sub["rho"].to_numpy())
        nn_ms = 1000 * (time.perf_counter() - t0) / len(rows)
        for k in ("sigma", "epsilon", "sigma_std", "epsilon_std", "T_star", "rho_star"):
            sub[f"nn_{k}"] = p[k]
        if baseline is not None and split != "train":
            b = baseline.predict_physical(gx_all[rows], sub["T"].to_numpy(), sub["rho"].to_numpy())
            for k in ("sigma", "epsilon"):
                sub[f"baseline_{k}"] = b[k]
        sub.attrs["nn_ms_per_rdf"] = nn_ms
        frames.append(sub)
    pred = pd.concat(frames)
    result: dict[str, Any] = {}
    for split, sub in pred.groupby("split", sort=False):
        result[split] = {"nn": metrics(sub, "nn")}
        if "baseline_sigma" in sub and sub["baseline_sigma"].notna().all():
            result[split]["baseline"] = metrics(sub, "baseline")
    pred_path = out_dir / "predictions.csv"
    header = (
        "# sigma nm, epsilon kJ/mol, T K, rho nm^-3, T_star and rho_star dimensionless; nn_* neural network,"
        " baseline_* library least squares\n"
    )
    pred_path.write_text(header + pred.to_csv(index_label="job_id"))
    (out_dir / "metrics.json").write_text(json.dumps(result, indent=1))
    paths = {"predictions": str(pred_path), "metrics": str(out_dir / "metrics.json")}
    if plots:
        paths.update(plot_evaluation(pred, out_dir))
    return {"metrics": result, "predictions": pred, "paths": paths}


def plot_evaluation(pred: pd.DataFrame, out_dir: Path) -> dict[str, str]:
    """Write parity and error-against-state plots (PNG); return their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = {}
    colours = {"train": "0.75", "val": "tab:green", "test": "tab:blue", "transfer": "tab:red"}
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.6))
    for ax, key, unit in ((axes[0], "sigma", "nm"), (axes[1], "epsilon", "kJ/mol")):
        for split, sub in pred.groupby("split", sort=False):
            ax.errorbar(
                sub[key],
                sub[f"nn_{key}"],
                yerr=sub[f"nn_{key}_std"],
                fmt="o",
                ms=3,
                lw=0.8,
                color=colours.get(split, "k"),
                label=split,
            )
        lo, hi = pred[key].min(), pred[key].max()
        ax.plot([lo, hi], [lo, hi], "k--", lw=0.8)
        ax.set_xlabel(f"true {key} ({unit})")
        ax.set_ylabel(f"predicted {key} ({unit})")
        ax.legend(fontsize=8)
    fig.tight_layout()
    paths["parity"] = str(out_dir / "parity.png")
    fig.savefig(paths["parity"], dpi=110)
    plt.close(fig)

    fig, axes = plt.subplots(2, 2, figsize=(10, 7))
    for row, key in enumerate(("sigma", "epsilon")):
        err = ape(pred[f"nn_{key}"], pred[key])
        for col, state in enumerate(("T_star", "rho_star")):
            ax = axes[row, col]
            for split in pred["split"].unique():
                m = (pred["split"] == split).to_numpy()
                ax.scatter(pred[state][m], err[m], s=8, color=colours.get(split, "k"), label=split)
            ax.set_xlabel("T*" if state == "T_star" else "rho*")
            ax.set_ylabel(f"{key} abs. error (%)")
            ax.set_yscale("log")
    axes[0, 0].legend(fontsize=8)
    fig.tight_layout()
    paths["error_vs_state"] = str(out_dir / "error_vs_state.png")
    fig.savefig(paths["error_vs_state"], dpi=110)
    plt.close(fig)
    return paths
