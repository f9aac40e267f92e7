"""Sub-commands of ``python -m project`` beside their subsystems: export, train, evaluate, fit, finetune, catalogue.

Paths default to the data space: the export is ``<dataspace>/export/dataset.h5``, the results catalogue
``<dataspace>/results/catalogue.sqlite``, models and evaluations go under ``<dataspace>/results/``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import sys
from pathlib import Path

from project.cli import _EXTRA_COMMANDS, _add_dataspace

log = logging.getLogger(__name__)


def _space(args: argparse.Namespace) -> Path:
    from project.dataspace import dataspace_path

    return dataspace_path(args.dataspace)


def _export_path(args: argparse.Namespace) -> Path:
    return Path(args.export) if getattr(args, "export", None) else _space(args) / "export" / "dataset.h5"


def _catalogue(args: argparse.Namespace):
    from project.catalogue import Catalogue

    path = Path(args.catalogue) if getattr(args, "catalogue", None) else _space(args) / "results" / "catalogue.sqlite"
    return Catalogue(path)


def _add_common(p: argparse.ArgumentParser, export: bool = True) -> None:
    _add_dataspace(p)
    if export:
        p.add_argument("--export", default=None, help="HDF5 export (default <dataspace>/export/dataset.h5)")
    p.add_argument("--catalogue", default=None,
                   help="results catalogue, SQLite (default <dataspace>/results/catalogue.sqlite)")


# ---------------------------------------------------------------------------------------------------- export
def cmd_export(args: argparse.Namespace) -> int:
    """Export every finished job of the data space to the indexed HDF5 file."""
    from project.dataspace import get_project, query
    from project.export import export_dataset, record_from_job_dir
    from project.provenance import code_version_string

    project = get_project(args.dataspace)
    df = query(project)
    done = df[df["status"] == "done"]
    records = []
    for jid in done["job_id"]:
        job = project.open_job(id=jid)
        records.append(record_from_job_dir(jid, dict(job.cached_statepoint), job.path))
    report = export_dataset(records, _export_path(args), code_version=code_version_string())
    counts = df["status"].value_counts().to_dict()
    out = {"path": str(report.path), "n_jobs": report.n_jobs, "new": report.n_new, "reused": report.n_reused,
           "skipped": report.skipped, "not_finished": int(len(df) - len(done)), "status_counts": counts,
           "content_checksum": report.content_checksum, "wall_s": round(report.wall_s, 3)}
    sys.stdout.write(json.dumps(out, indent=None if args.json else 1) + "\n")
    return 0


def register_export(sub) -> None:
    p = sub.add_parser("export", help="write the indexed HDF5 export of all finished jobs (incremental)")
    _add_dataspace(p)
    p.add_argument("--export", default=None, help="output file (default <dataspace>/export/dataset.h5)")
    p.add_argument("--json", action="store_true", help="one-line JSON report")
    p.set_defaults(func=cmd_export)


# ---------------------------------------------------------------------------------------------------- train
def cmd_train(args: argparse.Namespace) -> int:
    """Train an ensemble on the export, evaluate it, record both in the catalogue."""
    from project.export import load_dataset
    from project.model.evaluate import evaluate
    from project.model.train import TrainSettings, train_model

    export = _export_path(args)
    ds = load_dataset(export)
    settings = TrainSettings(**json.loads(args.settings)) if args.settings else TrainSettings()
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


def _flatten(metrics: dict) -> dict[str, float]:
    return {f"{split}.{method}.{k}": v for split, m in metrics.items() for method, d in m.items()
            for k, v in d.items()}


def register_train(sub) -> None:
    p = sub.add_parser("train", help="train the inverse model on the HDF5 export (Keras/TensorFlow)")
    _add_common(p)
    p.add_argument("--out", default=None, help="model folder (default <dataspace>/results/models/model_seed<S>)")
    p.add_argument("--seed", type=int, default=None, help="seed of splits, augmentation and weights")
    p.add_argument("--epochs", type=int, default=None, help="maximum epochs (early stopping ends sooner)")
    p.add_argument("--members", type=int, default=None, help="ensemble members")
    p.add_argument("--settings", default=None, help="JSON object of TrainSettings fields")
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
    p.add_argument("--epochs", type=int, default=100, help="maximum epochs")
    p.add_argument("--learning-rate", type=float, default=3e-4, help="Adam learning rate")
    p.set_defaults(func=cmd_finetune)


# ---------------------------------------------------------------------------------------------------- catalogue
def cmd_catalogue(args: argparse.Namespace) -> int:
    """List the results catalogue, filtered."""
    where = []
    for cond in args.where or []:
        for op in ("<=", ">=", "!=", "<", ">", "="):
            if op in cond:
                name, value = cond.split(op, 1)
                where.append((name.strip(), op, float(value)))
                break
        else:
            raise ValueError(f"--where {cond!r}: expected NAME OP VALUE with OP one of < <= > >= = !=")
    df = _catalogue(args).list(kind=args.kind, dataset=args.dataset, where_metric=where or None)
    if args.json:
        sys.stdout.write(df.to_json(orient="records") + "\n")
    else:
        sys.stdout.write((df.to_string(index=False) if len(df) else "no runs recorded") + "\n")
    return 0


def register_catalogue(sub) -> None:
    p = sub.add_parser("catalogue", help="list recorded training runs, evaluations and CG fits")
    _add_common(p, export=False)
    p.add_argument("--kind", default=None, help="train, evaluate, finetune, cg_fit, ...")
    p.add_argument("--dataset", default=None, help="export content checksum (prefix of >= 8 characters)")
    p.add_argument("--where", action="append", help="metric condition, e.g. 'test.nn.sigma_mape_pct<0.5'")
    p.add_argument("--json", action="store_true", help="JSON records")
    p.set_defaults(func=cmd_catalogue)


_EXTRA_COMMANDS.extend([register_export, register_train, register_evaluate, register_fit, register_predict,
                        register_finetune, register_catalogue])

from project.dashboard_cli import register_dashboard  # noqa: E402

_EXTRA_COMMANDS.append(register_dashboard)
if importlib.util.find_spec("project.cg_cli") is not None:  # coarse-graining commands (project/cg_cli.py)
    from project.cg_cli import register_cg

    _EXTRA_COMMANDS.append(register_cg)
