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

import numpy as np

from project.cli.common import add_common as _add_common
from project.cli.common import add_dataspace as _add_dataspace
from project.cli.common import add_export, strict_json
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
    run_id = cat.record(
        "train",
        ds.attrs["content_checksum"],
        res["meta"]["settings"],
        _flatten(ev["metrics"]) | {"train_wall_s": res["wall_s"]},
        {"model": str(out), **ev["paths"]},
    )
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
        raise ValueError(
            f"--settings: not valid JSON ({exc}); allowed: a JSON object of TrainSettings fields"
        ) from None
    allowed = [f.name for f in dataclasses.fields(TrainSettings)]
    if not isinstance(values, dict):
        raise ValueError(
            f"--settings: got {type(values).__name__}; allowed: a JSON object with keys among {', '.join(allowed)}"
        )
    unknown = [k for k in values if k not in allowed]
    if unknown:
        raise ValueError(
            f"--settings field '{unknown[0]}' (value {values[unknown[0]]!r}): unknown; allowed: {', '.join(allowed)}"
        )
    return TrainSettings(**values)


def register_train(sub) -> None:
    p = sub.add_parser("train", help="train the inverse model on the HDF5 export (Keras/TensorFlow)")
    _add_common(p)
    p.add_argument("--out", default=None, help="model folder (default <dataspace>/results/models/model_seed<S>)")
    p.add_argument("--seed", type=int, default=None, help="seed of splits, augmentation and weights (integer)")
    p.add_argument("--epochs", type=int, default=None, help="maximum epochs (count; early stopping ends sooner)")
    p.add_argument("--members", type=int, default=None, help="ensemble members (count)")
    p.add_argument(
        "--settings",
        default=None,
        help="JSON object of TrainSettings fields (project/model/train.py; units in its docstring)",
    )
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
    run_id = _catalogue(args).record(
        "evaluate", ds.attrs["content_checksum"], {"model": str(model)}, _flatten(ev["metrics"]), ev["paths"]
    )
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
    """Fit sigma (nm) and epsilon (kJ/mol) to one or more RDF files: one-shot network, then refinement."""
    from project.model.fitfiles import fit_files, plot_fit, text_report, write_curve
    from project.rdfio import check_read_options

    items = _fit_items(args)
    if (args.curve or args.plot) and len(items) != 1:
        raise ValueError(f"--curve / --plot need exactly one RDF file, got {len(items)}")
    read_options = {
        "r_unit": args.r_unit,
        "columns": args.columns,
        "column": args.column,
        "blocks": args.blocks,
        # g(r) from a scattering experiment holds point values, whatever grid they are on
        "r_grid": "centres" if args.r_grid == "auto" and args.q_max is not None else args.r_grid,
    }
    check_read_options(**read_options)
    inverse = forward = None
    if args.model or args.forward_model:
        from project.model.forward import ForwardModel
        from project.model.inverse import InverseModel

        inverse, forward = InverseModel.load(args.model), ForwardModel.load(args.forward_model)
    fit_options = {"q_max": args.q_max, "normalisation": not args.no_normalisation, "potential": args.potential}
    failed = 0
    for item, data, res, err in fit_files(items, read_options, fit_options, inverse, forward):
        if err is not None:
            failed += 1
            if args.json:
                sys.stdout.write(strict_json({"path": item["path"], "error": err}) + "\n")
            sys.stderr.write(f"error: {err}\n")
            continue
        if args.curve:
            write_curve(res, args.curve)
        if args.plot:
            plot_fit(res, data.r_nm, data.g, args.plot)
        if args.json:
            sys.stdout.write(strict_json({"path": item["path"], **res.as_dict()}) + "\n")
        else:
            sys.stdout.write(text_report(res, f"RDF file {item['path']}") + f"  read as: {_read_as(data.info)}\n")
    return 2 if failed else 0


def _read_as(info: dict) -> str:
    """One line of how a file was read (format, columns, third column, LAMMPS block, r grid)."""
    third = str(info.get("third_column", "none")).split(":")[0]
    parts = [info["format"], info["columns"], f"third column: {third}", info.get("blocks"), f"r: {info['r_grid']}"]
    return "; ".join(p for p in parts if p)


def _fit_items(args: argparse.Namespace) -> list[dict]:
    """The files to fit, with T (K), rho (nm^-3) and their errors: the positional files or the manifest."""
    from project.model.fitfiles import read_manifest

    if args.manifest:
        if args.rdf_files:
            raise ValueError("give RDF files or --manifest, not both")
        return read_manifest(args.manifest)
    if not args.rdf_files:
        raise ValueError("no RDF file given (positional RDF_FILE, or --manifest CSV)")
    if args.temperature is None or args.density is None:
        raise ValueError("--temperature (K) and --density (nm^-3) are required without --manifest")
    return [
        {
            "path": p,
            "T": args.temperature,
            "rho": args.density,
            "density_error": args.density_error,
            "temperature_error": args.temperature_error,
        }
        for p in args.rdf_files
    ]


def register_fit(sub) -> None:
    p = sub.add_parser(
        "fit",
        help="fit LJ sigma (nm) and epsilon (kJ/mol) to RDF files (r in nm, g[, error])",
        description="One-shot network guess, then refinement through the LJ forward model binned "
        "like the input, with a normalisation factor of g and the density as nuisance "
        "parameters; reports an honest uncertainty, the residual and whether one LJ "
        "fluid describes the input.",
    )
    p.add_argument(
        "rdf_files",
        nargs="*",
        metavar="RDF_FILE",
        help="RDF files: columns r (nm), g, optional 1-std error of g; whitespace or commas; .xvg/# "
        "headers and one row of column names are skipped. Also read as written: gmx rdf .xvg (several "
        "selections: --column), LAMMPS fix ave/time output of compute rdf (--blocks), VMD gofr (r, g, integral)",
    )
    p.add_argument("--temperature", "-T", "--T", type=float, default=None, help="temperature in K")
    p.add_argument("--density", "-rho", "--rho", type=float, default=None, help="number density in nm^-3")
    p.add_argument(
        "--density-error",
        type=float,
        default=0.0,
        metavar="NM3",
        help="1-std uncertainty of the density in nm^-3 (default 0: exact)",
    )
    p.add_argument(
        "--temperature-error",
        type=float,
        default=0.0,
        metavar="K",
        help="1-std uncertainty of the temperature in K (default 0: exact)",
    )
    p.add_argument(
        "--q-max",
        type=float,
        default=None,
        metavar="INV_A",
        help="g(r) from a scattering experiment: Q_max of its Fourier transform in A^-1; the model "
        "applies the same truncation",
    )
    p.add_argument(
        "--r-unit",
        choices=("nm", "A"),
        default="nm",
        help="unit of the r column: nm (default, gmx rdf) or A (Angstrom: LAMMPS real and metal units, VMD)",
    )
    p.add_argument(
        "--columns",
        default=None,
        metavar="NAMES",
        help="comma list naming the file's columns: r, g, err (the 1-std error of g, dimensionless); any other "
        "name marks a column to ignore, e.g. r,g,err or index,r,g,coord (default: decided by the format; a "
        "third column is the error of g only when it plainly is one: positive, small against g, not cumulative)",
    )
    p.add_argument(
        "--column",
        type=int,
        default=None,
        metavar="N",
        help="with several RDFs in one file (gmx rdf selections, LAMMPS pairs, or columns r, g_A, g_B): fit the "
        "N-th (a count from 1); without it such a file is refused, naming them",
    )
    p.add_argument(
        "--blocks",
        choices=("last", "mean"),
        default="last",
        help="LAMMPS fix ave/time files: fit the last block (default) or the mean of all blocks",
    )
    p.add_argument(
        "--r-grid",
        choices=("auto", "centres", "left-edges"),
        default="auto",
        help="what r marks: bin centres (or point positions: r as given), or left bin edges (shifted by half a "
        "bin, nm, to the centres); auto (default): left edges when r starts at 0 on a uniform grid or the r "
        "column is named left/edge, except in gmx rdf .xvg files (bins centred on r = 0, dr, 2 dr, ...), LAMMPS "
        "files and with --q-max (point values)",
    )
    p.add_argument(
        "--potential",
        choices=("lj", "mie", "auto"),
        default="lj",
        help="pair potential fitted: lj (12-6, default), mie (lambda_r-6 with the repulsive exponent lambda_r "
        "fitted, trained range 8-32), auto (both; the Mie fit is reported only where the data support an exponent "
        "other than 12: chi^2 rises by more than 4 with lambda_r held at 12)",
    )
    p.add_argument(
        "--no-normalisation",
        action="store_true",
        help="do not fit a normalisation factor of g (default: fitted, prior 1 +- 0.05)",
    )
    p.add_argument(
        "--manifest",
        default=None,
        metavar="CSV",
        help="CSV with columns path,T_K,rho_nm3 (optional density_error_nm3, temperature_error_K): "
        "many files in one call",
    )
    p.add_argument("--curve", default=None, metavar="FILE", help="write the fitted LJ RDF: r (nm), g")
    p.add_argument("--plot", default=None, metavar="FILE.png", help="PNG of input, fit and residual")
    p.add_argument("--model", default=None, help="inverse model folder (default: the shipped model)")
    p.add_argument(
        "--forward-model",
        default=None,
        help="forward model folder, LJ or Mie (default: the shipped models: lj_forward_v3, mie_forward_v3)",
    )
    p.add_argument(
        "--json",
        action="store_true",
        help="one strict JSON object per line and file (null, never NaN): sigma (nm), epsilon (kJ/mol), "
        "sigma_std, epsilon_std (total uncertainties), potential, lambda_r, lambda_r_std, oneshot, residual, "
        "lj_adequate, adequate, model_selection, in_domain, warnings, input (with file: how the file was read), ...",
    )
    p.set_defaults(func=cmd_fit)


# ---------------------------------------------------------------------------------------------------- predict
def cmd_predict(args: argparse.Namespace) -> int:
    """Fit sigma and epsilon of every exported job (one shot, then refined) and compare with the true values."""
    import pandas as pd

    from project.export import load_dataset
    from project.model.evaluate import ape
    from project.model.fit import fit_rdf
    from project.model.inverse import InverseModel

    ds = load_dataset(_export_path(args))
    model = InverseModel.load(args.model)
    tab = ds.table
    rows = []
    for i in range(len(tab)):
        res = fit_rdf(
            ds.r_nm,
            ds.g[i].astype(float),
            float(tab["T"].iloc[i]),
            float(tab["rho"].iloc[i]),
            g_err=ds.g_err[i].astype(float) if np.all(np.isfinite(ds.g_err[i])) else None,
            inverse=model,
            source=f"job {tab.index[i]}",
        )
        os_ = res.oneshot or {"sigma": np.nan, "epsilon": np.nan}
        rows.append(
            {
                "pred_sigma": res.sigma,
                "pred_sigma_std": res.sigma_std,
                "pred_epsilon": res.epsilon,
                "pred_epsilon_std": res.epsilon_std,
                "oneshot_sigma": os_["sigma"],
                "oneshot_epsilon": os_["epsilon"],
                "chi2_per_dof": res.residual["chi2_per_dof"],
                "lj_adequate": res.lj_adequate,
                "in_domain": res.in_domain,
            }
        )
    out = pd.concat([tab[["sigma", "epsilon", "T_star", "rho_star"]], pd.DataFrame(rows, index=tab.index)], axis=1)
    out["sigma_err_pct"] = ape(out["pred_sigma"], out["sigma"])
    out["epsilon_err_pct"] = ape(out["pred_epsilon"], out["epsilon"])
    out["oneshot_epsilon_err_pct"] = ape(out["oneshot_epsilon"], out["epsilon"])
    if args.json:
        sys.stdout.write(out.reset_index().to_json(orient="records") + "\n")
        return 0
    shown = out.rename(
        columns={
            "sigma": "sigma_nm",
            "epsilon": "epsilon_kJ_mol",
            "pred_sigma": "pred_sigma_nm",
            "pred_sigma_std": "std_nm",
            "pred_epsilon": "pred_epsilon_kJ_mol",
            "pred_epsilon_std": "std_kJ_mol",
        }
    )
    shown = shown.drop(columns=["oneshot_sigma", "oneshot_epsilon"])
    sys.stdout.write(shown.to_string(float_format=lambda x: f"{x:.4g}") + "\n")
    sys.stdout.write(
        f"{len(out)} jobs: sigma MAPE {out['sigma_err_pct'].mean():.3f} %, epsilon MAPE "
        f"{out['epsilon_err_pct'].mean():.3f} % (refined fit; one-shot network epsilon MAPE "
        f"{out['oneshot_epsilon_err_pct'].mean():.3f} %); {int(out['lj_adequate'].sum())} of {len(out)} "
        f"described by one LJ fluid within their noise (model {model.meta.get('created')})\n"
    )
    return 0


def register_predict(sub) -> None:
    p = sub.add_parser("predict", help="fit sigma (nm) / epsilon (kJ/mol) of every exported job; compare with truth")
    _add_dataspace(p)
    add_export(p)
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
    run_id = _catalogue(args).record(
        "finetune",
        ds.attrs["content_checksum"],
        res["settings"],
        _flatten(ev["metrics"]),
        {"model": str(out), **ev["paths"]},
    )
    sys.stdout.write(json.dumps({"run_id": run_id, "model": str(out), "metrics": ev["metrics"]}, indent=1) + "\n")
    return 0


def register_finetune(sub) -> None:
    p = sub.add_parser("finetune", help="fine-tune a model on your own export (transfer learning)")
    _add_common(p)
    p.add_argument("--model", default=None, help="starting model folder (default: the shipped model)")
    p.add_argument("--out", required=True, help="new model folder")
    p.add_argument("--epochs", type=int, default=100, help="maximum epochs (count); default 100")
    p.add_argument(
        "--learning-rate", type=float, default=3e-4, help="Adam learning rate (dimensionless, per step); default 3e-4"
    )
    p.set_defaults(func=cmd_finetune)
