"""Nelder-Mead simplex on the single-bead LJ parameters (sigma, epsilon), one CG simulation per evaluation.

Units: sigma nm, epsilon kJ/mol, T K, rho nm^-3, the objective (total deviation) nm.

The objective is the total deviation ``integral |g_AA - g_CG| dr`` (:func:`project.metrics.total_deviation`)
between the target COM RDF and the RDF of a CG simulation at (sigma, epsilon). The simplex works in scaled
coordinates ``x = ((sigma / sigma0 - 1) / 0.01, (epsilon / epsilon0 - 1) / 0.05)`` so that one unit is 1 % in
sigma and 5 % in epsilon (g(r) is ~15-20x more sensitive to sigma than to epsilon), starting from the simplex
(0, 0), (3, 0), (0, 3). A point outside the allowed LJ state space (T* < 0.7) gets a penalty value without a
simulation. scipy's Nelder-Mead stops when both the simplex size (``xatol``, default 0.3: 0.3 % in sigma, 1.5 %
in epsilon) and the spread of the objective over the simplex (``fatol``, default the statistical noise floor of
the total deviation, :func:`project.metrics.noise_deviation`, of the first evaluation) are reached, or after
``max_evals`` evaluations (not converged).

With ``seeds_per_eval`` > 1 an evaluation is the mean D of that many runs (seeds ``settings.seed``, +1, ...) and
the default ``fatol`` is half the noise of that mean (noise floor / (2 sqrt(seeds_per_eval))): below the noise, so
that the simplex stops on its size, not on a spread the noise alone produces.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

from project.cg.lj import CGSettings, run_lj
from project.cg.target import CGTarget
from project.engines.base import atomic_write_text
from project.errors import StatePointError
from project.metrics import noise_deviation, total_deviation

logger = logging.getLogger(__name__)

SCALE_SIGMA = 0.01
SCALE_EPS = 0.05


class _Objective:
    """The simplex objective in scaled coordinates x (module docstring): the total deviation (nm) of a CG run at
    (sigma, epsilon) from the target; a penalty without a simulation outside the LJ state space. Keeps every
    evaluation (``history``), the runs (``runs``: folder -> (wall s, D nm)) and ``fatol`` (nm)."""

    def __init__(
        self,
        target: CGTarget,
        settings: CGSettings,
        root: Path,
        start: tuple[float, float],
        fatol: float | None,
        seeds_per_eval: int = 1,
    ):
        self.target, self.settings, self.root = target, settings, root
        self.s0, self.e0 = float(start[0]), float(start[1])
        self.fatol = fatol
        self.seeds_per_eval = seeds_per_eval
        self.penalty: float | None = None
        self.history: list[dict] = []
        self.runs: dict[str, tuple[float, float]] = {}

    def __call__(self, x: np.ndarray) -> float:
        tgt = self.target
        sigma, eps = self.s0 * (1.0 + SCALE_SIGMA * x[0]), self.e0 * (1.0 + SCALE_EPS * x[1])
        try:
            if sigma <= 0 or eps <= 0:
                raise StatePointError("sigma", "non-positive")
            runs = [
                run_lj(
                    sigma, eps, tgt.T, tgt.rho, tgt.mass, replace(self.settings, seed=self.settings.seed + k), self.root
                )
                for k in range(self.seeds_per_eval)
            ]
        except StatePointError as exc:
            pen = self.penalty if self.penalty is not None else 10.0
            self.history.append({"sigma": sigma, "epsilon": eps, "penalty_nm": pen, "penalty": str(exc)})
            return pen
        values = [total_deviation(tgt.r, tgt.g, run.rdf.g) for run in runs]
        f = float(np.mean(values))
        if self.fatol is None:
            noise = noise_deviation(tgt.r, tgt.g_err, runs[0].rdf.g_err)
            self.fatol = noise if self.seeds_per_eval == 1 else noise / (2.0 * np.sqrt(self.seeds_per_eval))
        if self.penalty is None:
            self.penalty = 10.0 * f
        for run, v in zip(runs, values):
            self.runs[str(run.workdir)] = (run.wall_s, v)
        run = runs[0]
        self.history.append(
            {
                "sigma": run.statepoint["sigma"],
                "epsilon": run.statepoint["epsilon"],
                "total_deviation_nm": f,
                "workdir": str(run.workdir),
            }
        )
        logger.info("simplex eval %d: sigma=%.5f eps=%.5f D=%.5f nm", len(self.history), sigma, eps, f)
        return f


def run_simplex(
    target: CGTarget,
    settings: CGSettings,
    root: Path | str,
    *,
    start: tuple[float, float],
    max_evals: int = 40,
    xatol: float = 0.3,
    fatol: float | None = None,
    seeds_per_eval: int = 1,
) -> dict:
    """Minimise the total deviation over (sigma, epsilon) with Nelder-Mead.

    Parameters
    ----------
    target : CGTarget
        Target COM RDF and its block standard error (export grid, nm / dimensionless), T (K), rho (nm^-3), bead
        mass (amu).
    settings : CGSettings
        CG run settings.
    root : path
        Method folder.
    start : tuple of float
        Start (sigma nm, epsilon kJ/mol).
    max_evals : int
        Maximum number of objective evaluations.
    xatol : float
        Simplex-size tolerance in scaled units (see module docstring).
    fatol : float or None
        Objective-spread tolerance (nm); None uses the noise floor of the first evaluation (divided by
        2 sqrt(seeds_per_eval) when that is > 1).
    seeds_per_eval : int
        CG runs averaged per evaluation (seeds ``settings.seed``, +1, ...).

    Returns
    -------
    dict
        ``sigma`` (nm), ``epsilon`` (kJ/mol) of the best evaluated point, ``total_deviation_nm`` (its objective),
        ``converged``, ``n_simulations``, ``n_evaluations``, ``wall_s``, ``history``, ``final_workdir``,
        ``criterion``.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    objective = _Objective(target, settings, root, start, fatol, seeds_per_eval)
    objective(np.zeros(2))  # sets fatol from the first run's noise
    res = minimize(
        objective,
        np.zeros(2),
        method="Nelder-Mead",
        options={
            "initial_simplex": np.array([[0.0, 0.0], [3.0, 0.0], [0.0, 3.0]]),
            "xatol": xatol,
            "fatol": objective.fatol,
            "maxfev": max_evals - 1,
        },
    )
    history, runs = objective.history, objective.runs
    evaluated = [h for h in history if "workdir" in h]
    best = min(evaluated, key=lambda h: h["total_deviation_nm"])
    out = {
        "method": "simplex",
        "sigma": best["sigma"],
        "epsilon": best["epsilon"],
        "total_deviation_nm": best["total_deviation_nm"],
        "converged": bool(res.success),
        "message": str(res.message),
        "n_simulations": len(runs),
        "n_evaluations": len(history),
        "wall_s": float(sum(w for w, _ in runs.values())),
        "session_wall_s": time.monotonic() - t0,
        "fatol_nm": objective.fatol,
        "history": history,
        "final_workdir": best["workdir"],
        "criterion": f"Nelder-Mead: simplex size < {xatol:g} scaled units (= {xatol * SCALE_SIGMA:.2%} sigma, "
        f"{xatol * SCALE_EPS:.2%} epsilon) and objective spread < "
        f"{objective.fatol:.4g} nm (max {max_evals} evaluations; {seeds_per_eval} run(s) per evaluation)",
        "units": {"sigma": "nm", "epsilon": "kJ/mol", "total_deviation_nm": "nm", "penalty_nm": "nm", "wall_s": "s"},
    }
    atomic_write_text(root / "history.json", json.dumps(out, indent=1) + "\n")
    return out


__all__ = ["run_simplex"]
