"""One-shot coarse-graining: the trained inverse model maps the AA COM RDF, T and rho to (sigma, epsilon).

Units: r nm, T K, rho nm^-3, sigma nm, epsilon kJ/mol, mass amu.

One prediction (:meth:`project.model.inverse.InverseModel.predict`) and one CG simulation at the predicted
parameters (:func:`project.cg.lj.run_lj`) - no iteration, so the convergence criterion is trivially "one
prediction". Variant ``oneshot_refined``: the predicted bead is then refined against the reduced LJ RDF library
without any simulation (:mod:`project.cg.refine`), still one CG simulation. The model's domain warnings
(predicted state outside the training range, RDF unlike any training RDF, disagreeing ensemble members) are kept
in the result.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from project.cg.lj import CGSettings, run_lj
from project.engines.base import atomic_write_text


def predict_bead(
    r: np.ndarray,
    g: np.ndarray,
    T: float,
    rho: float,
    model_path: str | Path | None = None,
    source: str = "COM RDF",
    g_err: np.ndarray | None = None,
) -> dict:
    """Predict the single-bead LJ parameters of a target RDF with the inverse model.

    Parameters
    ----------
    r, g : numpy.ndarray
        Target RDF (nm, dimensionless).
    T, rho : float
        Temperature (K) and bead number density (nm^-3).
    model_path : path or None
        Model folder (None: the shipped model ``project/data/models/lj_inverse_v3``).
    source : str
        Name for error messages.
    g_err : numpy.ndarray or None
        1-std errors of g (dimensionless) for the fit; None: estimated from the curve.

    Returns
    -------
    dict
        :meth:`project.model.inverse.Prediction.as_dict` (the network's bead) plus ``predict_wall_s`` (s),
        ``model_path`` and ``fit``: the same RDF through :func:`project.model.fit.fit_rdf` (the bead refined
        through the LJ forward model, with its total uncertainty, ``residual`` and the ``lj_adequate`` verdict:
        whether one LJ fluid describes this COM RDF within its noise), or ``{"error": ...}`` where the fit refuses
        the RDF.

    Raises
    ------
    project.errors.ProjectError
        Missing or unreadable model folder, bad RDF or temperature.
    """
    from project.model.inverse import SHIPPED_MODEL, InverseModel

    t0 = time.monotonic()
    model = InverseModel.load(model_path)
    pred = model.predict(np.asarray(r, float), np.asarray(g, float), float(T), float(rho), source=source)
    out = pred.as_dict()
    from project.errors import RDFError
    from project.model.fit import fit_rdf

    try:
        fit = fit_rdf(
            np.asarray(r, float), np.asarray(g, float), float(T), float(rho), g_err=g_err, inverse=model, source=source
        ).as_dict()
    except RDFError as exc:
        fit = {"error": str(exc)}
    out["fit"] = fit
    out["predict_wall_s"] = time.monotonic() - t0
    out["model_path"] = str(model_path or SHIPPED_MODEL)
    return out


def run_oneshot(
    r: np.ndarray,
    g: np.ndarray,
    T: float,
    rho: float,
    mass: float,
    settings: CGSettings,
    root: Path | str,
    model_path: str | Path | None = None,
    refine: bool = False,
    g_err: np.ndarray | None = None,
) -> dict:
    """Predict (sigma, epsilon) and run the one CG simulation; returns the method result (units in ``units``).

    The prediction carries the refined fit of the same RDF (``prediction["fit"]``: its residual and whether one
    LJ fluid describes the COM RDF). With ``refine`` (method ``oneshot_refined``) the predicted bead is refined
    without any simulation against the reduced LJ RDF library (:func:`project.cg.refine.refine_bead`) before the
    one CG simulation.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    pred = predict_bead(r, g, T, rho, model_path, g_err=g_err)
    sigma, epsilon, extra = pred["sigma"], pred["epsilon"], {}
    criterion = "none needed: one model prediction, one CG simulation"
    if refine:
        from project.cg.refine import refine_bead

        ref = refine_bead(r, g, T, rho, (sigma, epsilon))
        sigma, epsilon, extra = ref["sigma"], ref["epsilon"], {"refinement": ref}
        criterion = (
            "none needed: one model prediction, a zero-simulation refinement on the LJ RDF library "
            "(optimum of the surrogate metrics), one CG simulation"
        )
    run = run_lj(sigma, epsilon, T, rho, mass, settings, root)
    out = {
        "method": "oneshot_refined" if refine else "oneshot",
        "sigma": run.statepoint["sigma"],
        "epsilon": run.statepoint["epsilon"],
        "prediction": pred,
        **extra,
        "converged": True,
        "n_simulations": 1,
        "wall_s": run.wall_s + pred["predict_wall_s"] + extra.get("refinement", {}).get("wall_s", 0.0),
        "final_workdir": str(run.workdir),
        "criterion": criterion,
        "units": {"sigma": "nm", "epsilon": "kJ/mol", "wall_s": "s"},
    }
    atomic_write_text(root / "history.json", json.dumps(out, indent=1) + "\n")
    return out


__all__ = ["predict_bead", "run_oneshot"]
