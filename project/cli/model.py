"""Model commands: train, evaluate, fit, predict, finetune.

Paths default to the data space: the export is ``<dataspace>/export/dataset.h5``, the results catalogue
``<dataspace>/results/catalogue.sqlite``, models and evaluations go under ``<dataspace>/results/``. Units: sigma nm,
epsilon kJ/mol, T K, rho nm^-3; errors in percent.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from project.cli.common import add_common as _add_common
from project.cli.common import add_dataspace as _add_dataspace
from project.cli.common import export_path as _export_path
from project.cli.common import flatten as _flatten
from project.cli.common import open_catalogue as _catalogue
from project.cli.common import space as _space

log = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------------- train
def cmd_train(args: argparse.Namespace) -> int:
    """Train an ensemble on the export, evaluate it, record both in the catalogue."""
    from project.export import load_dataset
    from project.model.evaluate import evaluate
    from project.model.train import train_model

    settings = _train_settings(args.settings)
    export = _export_path(args)
    ds = load_dataset(export)
    if args.seed is not None:
        settings.seed = args.seed
    if args.epochs is not None:
        settings.epochs = args.epochs
    if args.members is not None:
        settings.n_members = args.members
    out = Path(args.out) if args.out else _space(args) / "results" / "models" / f"model_seed{settings.seed}"
    res = train_model(ds, out, settings, dataset_path=str(export))
    ev = evaluate(ds, out, out / "evaluation")
    cat = _catalogue(args)
    run_id = cat.record("train", ds.attrs["content_checksum"], res["meta"]["settings"],
                        _flatten(ev["metrics"]) | {"train_wall_s": res["wall_s"]},
                        {"model": str(out), **ev["paths"]})
    sys.stdout.write(json.dumps({"run_id": run_id, "model": str(out), "metrics": ev["metrics"]}, indent=1) + "\n")
    return 0


def _train_settings(text: str | None):
    """``--settings`` JSON -> TrainSettings; a malformed object or an unknown field is refused by name."""
    import dataclasses

    from project.model.train import TrainSettings

    if not text:
        return TrainSettings()
    try:
        values = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"--settings: not valid JSON ({exc}); allowed: a JSON object of TrainSettings "
                         "fields") from None
    allowed = [f.name for f in dataclasses.fields(TrainSettings)]
    if not isinstance(values, dict):
        raise ValueError(f"--settings: got {type(values).__name__}; allowed: a JSON object with keys among "
                         f"{', '.join(allowed)}")
    unknown = [k for k in values if k not in allowed]
    if unknown:
        raise ValueError(f"--settings field '{unknown[0]}' (value {values[unknown[0]]!r}): unknown; allowed: "
                         f"{', '.join(allowed)}")
    return TrainSettings(**values)


def register_train(sub) -> None:
    p = sub.add_parser("train", help="train the inverse model on the HDF5 export (Keras/TensorFlow)")
    _add_common(p)
    p.add_argument("--out", default=None, help="model folder (default <dataspace>/results/models/model_seed<S>)")
    p.add_argument("--seed", type=int, default=None, help="seed of splits, augmentation and weights (integer)")
    p.add_argument("--epochs", type=int, default=None, help="maximum epochs (count; early stopping ends sooner)")
    p.add_argument("--members", type=int, default=None, help="ensemble members (count)")
    p.add_argument("--settings", default=None,
                   help="JSON object of TrainSettings fields (project/model/train.py; units in its docstring)")
    p.set_defaults(func=cmd_train)


# ---------------------------------------------------------------------------------------------------- evaluate
def cmd_evaluate(args: argparse.Namespace) -> int:
    """Evaluate a model (default: the shipped one) on an export against the baseline; record it."""
    from project.export import load_dataset
    from project.model.evaluate import evaluate
    from project.model.inverse import SHIPPED_MODEL

    ds = load_dataset(_export_path(args))
    model = Path(args.model) if args.model else SHIPPED_MODEL
    out = Path(args.out) if args.out else _space(args) / "results" / "evaluations" / model.name
    ev = evaluate(ds, model, out, with_baseline=not args.no_baseline)
    run_id = _catalogue(args).record("evaluate", ds.attrs["content_checksum"], {"model": str(model)},
                                     _flatten(ev["metrics"]), ev["paths"])
    sys.stdout.write(json.dumps({"run_id": run_id, "metrics": ev["metrics"], "paths": ev["paths"]}, indent=1) + "\n")
    return 0


def register_evaluate(sub) -> None:
    p = sub.add_parser("evaluate", help="MAPE / max error of sigma and epsilon per split, NN vs baseline, plots")
    _add_common(p)
    p.add_argument("--model", default=None, help="model folder (default: the shipped model)")
    p.add_argument("--out", default=None, help="output folder (default <dataspace>/results/evaluations/<model>)")
    p.add_argument("--no-baseline", action="store_true", help="skip the library least-squares baseline")
    p.set_defaults(func=cmd_evaluate)


# ---------------------------------------------------------------------------------------------------- fit
def cmd_fit(args: argparse.Namespace) -> int:
    """Predict sigma (nm) and epsilon (kJ/mol) of a user's RDF file."""
    from project.model.inverse import InverseModel
    from project.rdfio import read_rdf_file

    r, g = read_rdf_file(args.rdf_file)
    model = InverseModel.load(args.model)
    pred = model.predict(r, g, args.temperature, args.density, source=f"RDF file {args.rdf_file}")
    if args.json:
        sys.stdout.write(json.dumps(pred.as_dict()) + "\n")
    else:
        sys.stdout.write(f"sigma   = {pred.sigma:.5f} +- {pred.sigma_std:.5f} nm\n"
                         f"epsilon = {pred.epsilon:.4f} +- {pred.epsilon_std:.4f} kJ/mol "
                         f"(epsilon/k_B = {pred.epsilon / 0.0083144626:.2f} K)\n"
                         f"T* = {pred.T_star:.4f}, rho* = {pred.rho_star:.4f}\n")
        for w in pred.warnings:
            sys.stdout.write(f"WARNING (outside the model's domain): {w}\n")
    return 0


def register_fit(sub) -> None:
    p = sub.add_parser("fit", help="fit LJ sigma and epsilon to an RDF file (two columns r/nm g, or gmx rdf .xvg)")
    p.add_argument("rdf_file", help="RDF file: two columns, r in nm and g(r); .xvg headers (#, @) are skipped")
    p.add_argument("--temperature", "-T", type=float, required=True, help="temperature in K")
    p.add_argument("--density", "-rho", type=float, required=True, help="number density in nm^-3")
    p.add_argument("--model", default=None, help="model folder (default: the shipped model)")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object: sigma (nm), epsilon (kJ/mol), sigma_std, epsilon_std, ...")
    p.set_defaults(func=cmd_fit)


# ---------------------------------------------------------------------------------------------------- predict
def cmd_predict(args: argparse.Namespace) -> int:
    """Predict sigma and epsilon of every exported job with a model and compare with the true values."""
    from project.export import load_dataset
    from project.model.evaluate import ape
    from project.model.features import scaled_rdf_batch
    from project.model.inverse import InverseModel

    ds = load_dataset(_export_path(args))
    model = InverseModel.load(args.model)
    tab = ds.table
    gx = scaled_rdf_batch(ds.r_nm, ds.g.astype(float), tab["rho"].to_numpy())
    p = model.predict_physical(gx, tab["T"].to_numpy(), tab["rho"].to_numpy())
    out = tab[["sigma", "epsilon", "T_star", "rho_star"]].copy()
    out["pred_sigma"], out["pred_sigma_std"] = p["sigma"], p["sigma_std"]
    out["pred_epsilon"], out["pred_epsilon_std"] = p["epsilon"], p["epsilon_std"]
    out["sigma_err_pct"] = ape(p["sigma"], out["sigma"])
    out["epsilon_err_pct"] = ape(p["epsilon"], out["epsilon"])
    if args.json:
        sys.stdout.write(out.reset_index().to_json(orient="records") + "\n")
        return 0
    shown = out.rename(columns={"sigma": "sigma_nm", "epsilon": "epsilon_kJ_mol", "pred_sigma": "pred_sigma_nm",
                                "pred_sigma_std": "std_nm", "pred_epsilon": "pred_epsilon_kJ_mol",
                                "pred_epsilon_std": "std_kJ_mol"})
    sys.stdout.write(shown.to_string(float_format=lambda x: f"{x:.4g}") + "\n")
    sys.stdout.write(f"{len(out)} jobs: sigma MAPE {out['sigma_err_pct'].mean():.3f} %, epsilon MAPE "
                     f"{out['epsilon_err_pct'].mean():.3f} % (model {model.meta.get('created')}, one-shot)\n")
    return 0


def register_predict(sub) -> None:
    p = sub.add_parser("predict", help="predict sigma/epsilon of every exported job and compare with the truth")
    _add_dataspace(p)
    p.add_argument("--export", default=None, help="HDF5 export (default <dataspace>/export/dataset.h5)")
    p.add_argument("--model", default=None, help="model folder (default: the shipped model)")
    p.add_argument("--json", action="store_true", help="JSON records")
    p.set_defaults(func=cmd_predict)


# ---------------------------------------------------------------------------------------------------- finetune
def cmd_finetune(args: argparse.Namespace) -> int:
    """Continue training a model on another export (transfer learning); record it."""
    from project.export import load_dataset
    from project.model.evaluate import evaluate
    from project.model.finetune import finetune

    ds = load_dataset(_export_path(args))
    out = Path(args.out)
    res = finetune(ds, args.model, out, epochs=args.epochs, learning_rate=args.learning_rate)
    ev = evaluate(ds, out, out / "evaluation", with_baseline=False)
    run_id = _catalogue(args).record("finetune", ds.attrs["content_checksum"], res["settings"],
                                     _flatten(ev["metrics"]), {"model": str(out), **ev["paths"]})
    sys.stdout.write(json.dumps({"run_id": run_id, "model": str(out), "metrics": ev["metrics"]}, indent=1) + "\n")
    return 0


def register_finetune(sub) -> None:
    p = sub.add_parser("finetune", help="fine-tune a model on your own export (transfer learning)")
    _add_common(p)
    p.add_argument("--model", default=None, help="starting model folder (default: the shipped model)")
    p.add_argument("--out", required=True, help="new model folder")
    p.add_argument("--epochs", type=int, default=100, help="maximum epochs (count); default 100")
    p.add_argument("--learning-rate", type=float, default=3e-4,
                   help="Adam learning rate (dimensionless, per step); default 3e-4")
    p.set_defaults(func=cmd_finetune)
