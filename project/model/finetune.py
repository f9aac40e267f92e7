"""Transfer learning: continue training a saved model on another export (for example a user's own jobs).

The input grid and the scalers of the starting model are kept (so the fine-tuned model reads RDFs exactly as the
original did); the Keras members are loaded from the model folder and trained further at a lower learning rate
on the new export's jobs, with the same corresponding-states augmentation. All jobs of the new export are used
for training except a validation fraction for early stopping.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np

from project.model.features import model_inputs, scaled_rdf_batch
from project.model.inverse import (
    SHIPPED_MODEL,
    InverseModel,
    KnownJobs,
    oneshot_validation_error,
    record_in_meta,
    validation_error_by_band,
)
from project.model.train import TrainSettings, augment, build_member, fit_members, labels


def keras_member(base: InverseModel, m: int, settings: TrainSettings) -> Any:
    """Rebuild member ``m`` of an inverse model as a Keras model with its stored weights (for fine-tuning)."""
    model = build_member(len(base.x_mean), settings, seed=m)
    dense = [layer for layer in model.layers if layer.__class__.__name__ == "Dense"]
    for layer in dense:
        if layer.name == "linear_skip":
            layer.set_weights(list(base.skips[m]))
    for (W, b, _), layer in zip(base.layers[m], [x for x in dense if x.name != "linear_skip"], strict=True):
        layer.set_weights([W, b])
    return model


def finetune(
    dataset,
    model_dir: str | Path | None,
    out_dir: str | Path,
    epochs: int = 100,
    learning_rate: float = 3e-4,
    seed: int = 11,
    val_fraction: float = 0.2,
) -> dict[str, Any]:
    """Fine-tune a model on ``dataset`` (a loaded export) and save it to ``out_dir``.

    Returns
    -------
    dict
        ``settings`` (what was done) and ``meta`` of the new model.
    """
    from project.provenance import code_version_string, now

    src = Path(model_dir) if model_dir else SHIPPED_MODEL
    base = InverseModel.load(src)
    old = base.meta["settings"]
    known = {f.name for f in dataclasses.fields(TrainSettings)}
    settings = TrainSettings(**{k: v for k, v in old.items() if k in known})
    members = [keras_member(base, m, settings) for m in range(base.meta["n_members"])]
    settings.epochs, settings.learning_rate, settings.seed = epochs, learning_rate, seed
    settings.patience = max(10, epochs // 5)

    tab = dataset.table
    rng = np.random.default_rng(seed)
    idx = rng.permutation(len(tab))
    n_val = max(1, int(round(val_fraction * len(idx))))
    val, train = np.sort(idx[:n_val]), np.sort(idx[n_val:])
    if len(train) < 1:
        raise ValueError(f"fine-tuning needs at least 2 jobs in the export, got {len(tab)}")
    T_star, rho_star, sigma = (tab[c].to_numpy() for c in ("T_star", "rho_star", "sigma"))
    g, g_err = dataset.g.astype(float), dataset.g_err.astype(float)
    x_tr, y_tr = augment(
        dataset.r_nm,
        g[train],
        g_err[train],
        sigma[train],
        T_star[train],
        rho_star[train],
        settings.variants_per_job,
        settings.noise_scale,
        rng,
        settings.T_target,
    )
    x_val = scaled_rdf_batch(dataset.r_nm, g[val], tab["rho"].to_numpy()[val])
    y_val = labels(T_star[val], rho_star[val], settings.T_target)
    x_max = base.meta.get("input_x_max")
    floor = base.meta.get("log_floor")
    x_tr, x_val = model_inputs(x_tr, floor, x_max), model_inputs(x_val, floor, x_max)
    sx = lambda x: (x - base.x_mean) / base.x_std  # noqa: E731
    sy = lambda y: (y - base.y_mean) / base.y_std  # noqa: E731
    members, histories = fit_members(sx(x_tr), sy(y_tr), sx(x_val), sy(y_val), settings, init_members=members)
    meta = dict(base.meta)
    meta.update(
        {
            "created": now(),
            "code_version": code_version_string(),
            "finetuned_from": {"model": str(src), "dataset": base.meta.get("dataset")},
            "dataset": {"content_checksum": dataset.attrs.get("content_checksum"), "n_jobs": int(len(tab))},
            "settings": dataclasses.asdict(settings),
            "histories": histories,
            "split_job_ids": {
                "train": dataset.job_ids[train].tolist(),
                "val": dataset.job_ids[val].tolist(),
                "test": [],
                "transfer": [],
            },
        }
    )
    meta["domain"] = {
        **base.meta["domain"],
        "T_star": [
            min(base.meta["domain"]["T_star"][0], float(T_star[train].min())),
            max(base.meta["domain"]["T_star"][1], float(T_star[train].max())),
        ],
        "rho_star": [
            min(base.meta["domain"]["rho_star"][0], float(rho_star[train].min())),
            max(base.meta["domain"]["rho_star"][1], float(rho_star[train].max())),
        ],
    }
    # the parent's measured errors are not this model's: measure them again on the fine-tuning's validation jobs
    for k in ("meta_version", "n_members", "activations", "error_outside", "heldout_oneshot"):
        meta.pop(k, None)
    InverseModel.save(out_dir, meta, members, base.meta["activations"])
    tuned, jobs = InverseModel.load(out_dir), KnownJobs(dataset.r_nm, g, sigma, T_star, rho_star).rows(val)
    meta["validation_error"] = record_in_meta(out_dir, "validation_error", oneshot_validation_error(tuned, jobs))
    bands = validation_error_by_band(tuned, jobs)
    meta["validation_error_by_band"] = record_in_meta(out_dir, "validation_error_by_band", bands)
    return {"settings": dataclasses.asdict(settings) | {"finetuned_from": str(src)}, "meta": meta}
