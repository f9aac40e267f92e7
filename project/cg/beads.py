"""The beads of ``cg fit``: the network's guess, the robust fit, the refined beads, the pressure-constrained beads.

Units: r nm, T K, rho nm^-3, sigma nm, epsilon kJ/mol, pressure bar, energy kJ/mol per molecule, total deviation nm.

:func:`fit_beads` is step 3 of :func:`project.cg.userfit.fit_user_run`: the inverse network's one-shot guess and
the robust fit (:func:`project.cg.oneshot.predict_bead`), a bead refined for each objective through the LJ forward
model from the network's bead and from the fit's, the better kept (:func:`project.cg.objective.refine_from_starts`)
and, given the all-atom pressure, the
pressure-constrained bead (:func:`project.cg.objective.refine_with_pressure`), each with its equation-of-state
pressure and energy (:func:`project.cg.objective.eos_thermo`); the refined and pressure-constrained beads also with
the forward model's predicted D (nm) and KL, ``in_domain`` and their warnings. No CG simulation.
:func:`bead_table` names the beads for ``cg fit --bead`` and the comparison (:mod:`project.cg.compare`).
"""

from __future__ import annotations

import numpy as np

from project.errors import ProjectError, RDFError

#: Beads the CG model can be written for (``cg fit --bead``).
BEADS = ("fit", "network", "total-deviation", "kl", "pressure")
#: Keys of the network's bead copied into the result.
NETWORK_KEYS = ("sigma", "epsilon", "sigma_std", "epsilon_std", "T_star", "rho_star", "in_domain")


def fit_beads(
    r: np.ndarray,
    g: np.ndarray,
    g_err: np.ndarray,
    T: float,
    rho: float,
    objectives: tuple[str, ...],
    pressure_bar: float | None,
    model_path,
    source: str,
    potential: str = "lj",
) -> dict:
    """Every bead of a COM RDF (module docstring); no file is written.

    Parameters
    ----------
    r, g, g_err : numpy.ndarray
        COM RDF: bin centres (nm), g and its block error (dimensionless).
    T, rho : float
        Temperature (K) and molecule number density (nm^-3) of the all-atom run.
    objectives : tuple of str
        Objectives to refine a bead for (:data:`project.cg.objective.OBJECTIVES`).
    pressure_bar : float or None
        All-atom pressure (bar) for the pressure-constrained bead (None: not computed).
    model_path : path or None
        Inverse-model folder (None: the shipped model).
    source : str
        Where the RDF comes from (recorded with the prediction).
    potential : str
        "lj" (default) or "mie": also a Mie lambda_r-6 bead per objective, refined through the Mie forward model
        from the LJ bead refined for that objective (:func:`project.cg.objective.refine_mie_for_objective`), with
        its SAFT-VR Mie pressure and energy; given ``pressure_bar``, also the pressure-constrained Mie bead
        (``mie["pressure"]``, :func:`project.cg.objective.refine_mie_with_pressure`, from the LJ one).

    Returns
    -------
    dict
        ``network``, ``fit``, ``refined`` (by objective), ``pressure_aware`` (or None), ``mie`` (Mie beads by
        objective, or None) and ``model_path``; every bead with its equation-of-state ``eos``.

    Raises
    ------
    RDFError
        The COM RDF cannot be fitted.
    """
    from project.cg.objective import refine_from_starts, refine_with_pressure
    from project.cg.oneshot import predict_bead

    if potential not in ("lj", "mie"):
        raise ProjectError(f"potential: got {potential!r}; allowed: lj, mie")

    pred = predict_bead(r, g, T, rho, model_path, source=source, g_err=g_err)
    network = {k: pred[k] for k in NETWORK_KEYS if k in pred}
    network["warnings"] = list(pred.get("warnings", []))
    fit = pred["fit"]
    if "error" in fit:
        raise RDFError(f"the COM RDF cannot be fitted: {fit['error']}")
    starts = {"network": (pred["sigma"], pred["epsilon"]), "fit": (fit["sigma"], fit["epsilon"])}
    refined = {o: refine_from_starts(r, g, T, rho, starts, o) for o in objectives}
    pressure = None
    if pressure_bar is not None:
        first = refined[objectives[0]]
        start = (first["start"]["sigma"], first["start"]["epsilon"])
        pressure = refine_with_pressure(r, g, T, rho, start, float(pressure_bar), objectives[0])
    out = {"network": network, "fit": fit, "refined": refined, "pressure_aware": pressure}
    add_eos_thermo(bead_table(out), T, rho)
    out["mie"] = None
    if potential == "mie":
        from project.cg.objective import refine_mie_for_objective

        out["mie"] = {
            o: refine_mie_for_objective(r, g, T, rho, (b["sigma"], b["epsilon"]), o) for o, b in refined.items()
        }
        if pressure is not None:
            from project.cg.objective import refine_mie_with_pressure

            out["mie"]["pressure"] = refine_mie_with_pressure(
                r, g, T, rho, (pressure["sigma"], pressure["epsilon"]), float(pressure_bar), objectives[0]
            )
    return {**out, "model_path": pred.get("model_path")}


def add_eos_thermo(beads: dict[str, dict | None], T: float, rho: float) -> None:
    """Add ``eos`` (pressure bar, energy kJ/mol per molecule, T*, rho*) to every bead with sigma and epsilon."""
    from project.cg.objective import eos_thermo

    for b in beads.values():
        if b and "sigma" in b and "epsilon" in b:
            b["eos"] = eos_thermo(b["sigma"], b["epsilon"], T, rho)


def bead_table(result: dict) -> dict[str, dict | None]:
    """Every bead of a :func:`project.cg.userfit.fit_user_run` result by name: network, fit, the refined ones,
    pressure (None when not computed)."""
    return {
        "network": result["network"],
        "fit": result["fit"],
        **result.get("refined", {}),
        "pressure": result.get("pressure_aware"),
    }


def bead_of(result: dict, which: str) -> dict:
    """(sigma nm, epsilon kJ/mol) of one bead of a :func:`project.cg.userfit.fit_user_run` result, by name
    (:data:`BEADS`).

    Raises :class:`ProjectError` for an unknown or missing bead, naming the allowed ones.
    """
    table = bead_table(result)
    bead = table.get(which)
    if which not in BEADS or bead is None:
        have = [k for k, v in table.items() if v is not None]
        raise ProjectError(f"bead: got {which!r}; allowed here: {', '.join(have)}")
    return {"sigma": float(bead["sigma"]), "epsilon": float(bead["epsilon"])}


__all__ = ["BEADS", "add_eos_thermo", "bead_of", "bead_table", "fit_beads"]
