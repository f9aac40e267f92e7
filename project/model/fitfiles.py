"""The file side of the fit: manifests of many RDF files, a pool of workers, text reports, curves and plots.

The numerics live in :mod:`project.model.fit`; the models a pool fits with are handed to its workers by
:func:`project.model.cache.init_worker`. Units: r nm, T K, rho nm^-3, sigma nm, epsilon kJ/mol, Q_max A^-1.
"""

from __future__ import annotations

import csv
import multiprocessing
import os
from pathlib import Path
from typing import Any

import numpy as np

from project.atomic import atomic_write_text
from project.errors import ProjectError, RDFError
from project.model.cache import init_worker, resolve, worker_models
from project.model.fit import FitOptions, FitResult, fit_rdf
from project.rdfio import RDFFile, read_rdf
from project.units import KB


def read_manifest(path: str) -> list[dict[str, Any]]:
    """Read a CSV manifest of RDF files: a header with ``path,T_K,rho_nm3`` and optionally ``density_error_nm3``,
    ``temperature_error_K`` columns; relative paths are relative to the manifest's folder.

    Raises :class:`RDFError` naming the line and the column for a missing column or a non-numeric value.
    """
    p = Path(path)
    if not p.is_file():
        raise RDFError(f"manifest {p}: not found")
    with p.open(newline="") as fh:
        reader = csv.DictReader(fh)
        need = {"path", "T_K", "rho_nm3"}
        if reader.fieldnames is None or not need <= set(reader.fieldnames):
            raise RDFError(
                f"manifest {p}: header {reader.fieldnames}; required columns: path,T_K,rho_nm3 "
                "(optional: density_error_nm3, temperature_error_K)"
            )
        rows = []
        for lineno, row in enumerate(reader, start=2):
            try:
                item = {
                    "path": str((p.parent / row["path"].strip()).resolve()),
                    "T": float(row["T_K"]),
                    "rho": float(row["rho_nm3"]),
                    "density_error": float(row.get("density_error_nm3") or 0.0),
                    "temperature_error": float(row.get("temperature_error_K") or 0.0),
                }
            except (TypeError, ValueError):
                raise RDFError(
                    f"manifest {p}, line {lineno}: T_K, rho_nm3 and the error columns must be numbers, got {dict(row)}"
                ) from None
            rows.append(item)
    if not rows:
        raise RDFError(f"manifest {p}: no rows")
    return rows


def fit_file(
    item: dict[str, Any], read_options: dict[str, Any], fit_options: dict[str, Any], models=None
) -> tuple[RDFFile | None, FitResult | None, str | None]:
    """Read one RDF file (:func:`project.rdfio.read_rdf`) and fit it.

    Parameters
    ----------
    item : dict
        ``path``, ``T`` (K), ``rho`` (nm^-3) and optionally ``density_error`` (nm^-3), ``temperature_error`` (K).
    read_options : dict
        Keyword arguments of :func:`project.rdfio.read_rdf` (r unit, columns, LAMMPS blocks, r grid).
    fit_options : dict
        ``q_max`` (A^-1) and ``normalisation`` of :class:`FitOptions`.
    models : (InverseModel, ForwardModel) or None
        None: the models of this process (:func:`project.model.cache.worker_models`).

    Returns
    -------
    tuple
        ``(RDFFile, FitResult, None)``, or ``(None, None, the error message)`` where the file is refused. The
        reader's warnings lead the fit's, and how the file was read is kept in ``result.input["file"]``.
    """
    inverse, forward = models or worker_models()
    try:
        data = read_rdf(item["path"], **read_options)
        options = FitOptions(
            density_error=item.get("density_error", 0.0),
            temperature_error=item.get("temperature_error", 0.0),
            **fit_options,
        )
        res = fit_rdf(
            data.r_nm,
            data.g,
            item["T"],
            item["rho"],
            g_err=data.g_err,
            options=options,
            inverse=inverse,
            forward=forward,
            source=f"RDF file {item['path']}",
        )
    except (ProjectError, ValueError) as exc:
        return None, None, str(exc)
    res.warnings[:0] = data.warnings
    res.input["file"] = data.info
    return data, res, None


def _fit_job(job: tuple[dict, dict, dict]) -> tuple[RDFFile | None, FitResult | None, str | None]:
    return fit_file(*job)


def fit_files(
    items: list[dict[str, Any]],
    read_options: dict[str, Any] | None = None,
    fit_options: dict[str, Any] | None = None,
    inverse=None,
    forward=None,
    workers: int | None = None,
):
    """Fit many RDF files; yield ``(item, data, result, error)`` in input order (see :func:`fit_file`).

    Parameters
    ----------
    items : list of dict
        As :func:`read_manifest` returns them.
    read_options, fit_options : dict or None
        As :func:`fit_file`.
    inverse, forward : models or None
        None: the shipped ones. The worker processes get them through the pool initializer
        (:func:`project.model.cache.init_worker`).
    workers : int or None
        Processes side by side (None: every core when there are more than 16 files, else 1).
    """
    models = resolve(inverse, forward)
    jobs = [(item, dict(read_options or {}), dict(fit_options or {})) for item in items]
    if workers is None:
        workers = (os.cpu_count() or 1) if len(items) > 16 else 1
    if workers <= 1:
        for job in jobs:
            yield (job[0], *fit_file(*job, models=models))
        return
    with multiprocessing.get_context("fork").Pool(workers, initializer=init_worker, initargs=models) as pool:
        for job, out in zip(jobs, pool.imap(_fit_job, jobs, chunksize=8)):
            yield (job[0], *out)


def text_report(res: FitResult, source: str) -> str:
    """Human-readable summary of a fit (units named)."""
    lines = [
        f"{source}:",
        f"  sigma   = {res.sigma:.5f} +- {res.sigma_std:.5f} nm",
        f"  epsilon = {res.epsilon:.4f} +- {res.epsilon_std:.4f} kJ/mol (epsilon/k_B = {res.epsilon / KB:.2f} "
        f"+- {res.epsilon_std / KB:.2f} K)",
        f"  T* = {res.T_star:.4f}, rho* = {res.rho_star:.4f}; normalisation of g "
        f"{res.nuisance['normalisation']:.4f}, density {res.nuisance['density']:.5g} nm^-3",
    ]
    if res.potential == "mie":
        lines.append(f"  Mie lambda_r-6: lambda_r = {res.lambda_r:.3g} +- {res.lambda_r_std:.2g}")
    sel = res.model_selection
    if sel is not None:
        supported = "yes" if sel["mie_supported"] else "no"
        lines.append(
            f"  exponent other than 12 supported by the data: {supported} (chi^2 rise with lambda_r held at 12: "
            f"{sel['delta_chi2_lambda_12']:.3g}, threshold {sel['threshold']:g})"
            + (f"; reported: {sel['chosen']}" if "chosen" in sel else "")
        )
    if res.oneshot is not None:
        lines.append(
            f"  one-shot network: sigma {res.oneshot['sigma']:.5f} nm, epsilon {res.oneshot['epsilon']:.4f} kJ/mol"
        )
    rs = res.residual
    lines.append(
        f"  residual: chi^2/dof {rs['chi2_per_dof']:.3g}, integral |g - g_fit| dr {rs['total_deviation_nm']:.4g} "
        f"nm, KL {rs['kl_divergence']:.3g}, max |dg| {rs['max_abs_dg']:.3g} "
        f"(r {rs['r_range_nm'][0]:.3g}-{rs['r_range_nm'][1]:.3g} nm)"
    )
    form = "one LJ fluid" if res.potential == "lj" else f"one Mie {res.lambda_r:.3g}-6 fluid"
    lines.append(
        f"  {form} describes it: {'yes' if res.adequate else 'NO'}; inside the model's domain: "
        f"{'yes' if res.in_domain else 'NO'}"
    )
    lines.extend(f"  WARNING: {w}" for w in res.warnings)
    return "\n".join(lines) + "\n"


def write_curve(res: FitResult, path: str) -> None:
    """Write the fitted RDF (binned like the input) as text: r in nm, g; written to a temporary name, renamed."""
    r, g = res.curve
    body = "".join(f"{a:.6f} {b:.6f}\n" for a, b in zip(r, g))
    form = "LJ" if res.potential == "lj" else f"Mie {res.lambda_r:.4g}-6"
    atomic_write_text(
        path,
        f"# fitted {form} RDF: sigma {res.sigma:.6f} nm, epsilon {res.epsilon:.6f} kJ/mol, "
        f"normalisation {res.nuisance['normalisation']:.5f}\n# r_nm g\n" + body,
    )


def plot_fit(res: FitResult, r: np.ndarray, g: np.ndarray, path: str) -> None:
    """PNG of the input RDF, the fitted LJ RDF and their difference (r in nm); written to a temporary name."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rf, gf = res.curve
    fig, (ax, bx) = plt.subplots(2, 1, figsize=(6.4, 5.6), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    ax.plot(r, g, ".", ms=3, color="0.3", label="input")
    ax.plot(
        rf[res.used],
        gf[res.used],
        "-",
        color="C3",
        label=("LJ" if res.potential == "lj" else f"Mie {res.lambda_r:.3g}-6")
        + f" fit: sigma {res.sigma:.4f} nm, epsilon {res.epsilon:.3f} kJ/mol",
    )
    ax.set_ylabel("g(r)")
    ax.legend(frameon=False, fontsize=8)
    ax.set_title(
        f"chi^2/dof {res.residual['chi2_per_dof']:.2g}; the fitted form describes it: "
        f"{'yes' if res.adequate else 'no'}",
        fontsize=9,
    )
    bx.plot(rf[res.used], np.interp(rf[res.used], r, g) - gf[res.used], "-", color="C0")
    bx.axhline(0, color="0.5", lw=0.5)
    bx.set_xlabel("r (nm)")
    bx.set_ylabel("input - fit")
    fig.tight_layout()
    p = Path(path)
    tmp = p.with_name(f".{p.name}.tmp.png")
    fig.savefig(tmp, dpi=120)
    plt.close(fig)
    os.replace(tmp, p)
