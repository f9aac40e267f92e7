"""One-shot coarse-graining: the trained inverse model maps the AA COM RDF, T and rho to (sigma, epsilon).

Units: r nm, T K, rho nm^-3, sigma nm, epsilon kJ/mol, mass amu.

One prediction (:meth:`project.model.inverse.InverseModel.predict`) and the robust fit of the same RDF
(:func:`project.model.fit.fit_rdf`); no CG simulation. The model's domain warnings (predicted state outside the
training range, RDF unlike any training RDF, disagreeing ensemble members) are kept in the result.
:func:`project.cg.userfit.fit_user_run` (``lj-inverse cg fit``) builds every one-shot bead on it.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np


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
        Model folder (None: the shipped model ``project/data/models/lj_inverse_v4``).
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
    from project.errors import RDFError
    from project.model.fit import fit_rdf, one_shot
    from project.model.inverse import SHIPPED_MODEL, InverseModel

    t0 = time.monotonic()
    model = InverseModel.load(model_path)
    r, g = np.asarray(r, float), np.asarray(g, float)
    pred = one_shot(model, g, r, float(T), float(rho), source)
    out = pred.as_dict()
    try:
        fit = fit_rdf(r, g, float(T), float(rho), g_err=g_err, inverse=model, source=source, prediction=pred).as_dict()
    except RDFError as exc:
        fit = {"error": str(exc)}
    out["fit"] = fit
    out["predict_wall_s"] = time.monotonic() - t0
    out["model_path"] = str(model_path or SHIPPED_MODEL)
    return out


__all__ = ["predict_bead"]
