"""The regret table: every bead and method of a coarse-graining comparison against the simulated optimum.

Units: sigma nm, epsilon kJ/mol, total deviation D nm, KL dimensionless; T*, rho* reduced.

One row per molecule x row (bead or method) x metric (``D`` or ``KL``), gathered from what ``cg optimum`` and
``cg baselines`` wrote into ``<results>/optimum`` (``optimum_<molecule>_<metric>.json``, ``regret_<molecule>.csv``,
``baselines_summary_<molecule>_<method>.csv``, and ``refined_<model>.csv`` of ``benchmarks/bench_cg_regret.py``: the
refined beads a later model gives, kind ``one-shot (<model>)``) and, for the beads' states, ``comparison.csv`` or
``cg_fit_<molecule>.json`` and ``aa_<molecule>.json`` of ``<results>``:

* ``value`` = regret x the optimum's value: the bead's metric, mean over its check runs (for repeated methods the
  mean over the repeats' final beads);
* ``regret`` = value / optimum with its 95 % t-interval (:func:`project.cg.optimum.regret`); the optima's own
  rows (``optimum_D``, ``optimum_KL``) have regret 1 and say whether their search converged (``optimum_converged``
  on every row: a regret against an optimum that did not converge is a lower bound);
* ``n_fit``: CG simulations the bead's method needed (0 for one-shot beads; for repeated methods the mean per
  repeat; for the optimum the runs of its search), ``n_fit_to_regret_1.05`` for repeated methods;
* ``converged``: the method's own convergence (repeated methods: every repeat converged);
* ``in_domain``: as the ``cg fit`` (or ``cg compare``) that made the bead recorded it, where it did; otherwise the
  bead's state (T*, rho*) against the training states of the LJ forward model given (the shipped one by default;
  :func:`project.model.fit.verdict.forward_domain`, the rule of ``fit``); empty for the IBI table;
* ``held_out``: the molecule was never used to choose anything (:class:`project.cg.molecules.Molecule`).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from project.cg.optimum import METRICS
from project.units import reduced_density, reduced_temperature

#: Row names of the table for the comparison's refined beads (the others keep the comparison's names).
ROW_NAMES = {"total-deviation": "refined_D", "kl": "refined_KL"}
#: Columns of ``regret.csv``, in order.
COLUMNS = (
    "molecule",
    "row",
    "kind",
    "metric",
    "unit",
    "value",
    "regret",
    "regret_lo95",
    "regret_hi95",
    "n_fit",
    "n_fit_to_regret_1.05",
    "repeats",
    "converged",
    "optimum_converged",
    "sigma_nm",
    "epsilon_kJ_mol",
    "T_star",
    "rho_star",
    "in_domain",
    "held_out",
)


def _held_out(molecule: str) -> bool | None:
    from project.cg.molecules import MOLECULES

    m = MOLECULES.get(molecule)
    return None if m is None else bool(m.held_out)


def _beads(results: Path, molecule: str) -> dict[str, tuple[float, float, int, bool | None]]:
    """Row name -> (sigma nm, epsilon kJ/mol, n_fit, in_domain as recorded or None) of the beads of
    ``comparison.csv`` or ``cg_fit_<molecule>.json``."""
    out: dict[str, tuple[float, float, int, bool | None]] = {}
    comp = results / "comparison.csv"
    if comp.is_file():
        c = pd.read_csv(comp)
        for _, r in c[c.molecule == molecule].iterrows():
            rec = r.get("in_domain")
            out[r.row] = (float(r.sigma_nm), float(r.epsilon_kJ_mol), int(r.n_fit), None if pd.isna(rec) else bool(rec))
    fit = results / f"cg_fit_{molecule}.json"
    if not out and fit.is_file():
        for name, bead in json.loads(fit.read_text()).get("refined", {}).items():
            out[name] = (float(bead["sigma"]), float(bead["epsilon"]), 0, bead.get("in_domain"))
    return out


def _aa_state(results: Path, molecule: str) -> tuple[float, float]:
    """Temperature (K) and molecule number density (nm^-3) of the all-atom run (``aa_<molecule>.json``)."""
    aa = json.loads((results / f"aa_{molecule}.json").read_text())
    return float(aa["T_K"]), float(aa["rho_nm3"])


def regret_rows(results: str | Path, forward=None) -> pd.DataFrame:
    """The regret table of one results folder (module docstring; columns :data:`COLUMNS`).

    Parameters
    ----------
    results : str or Path
        A folder of ``cg compare`` or ``cg fit`` results with an ``optimum`` subfolder of ``cg optimum``.
    forward : ForwardModel, optional
        The LJ forward model whose training states define ``in_domain`` (default: the shipped one).

    Returns
    -------
    pandas.DataFrame
        Empty (with the columns) when the folder has no optimum.
    """
    from project.model.fit.verdict import forward_domain

    results = Path(results)
    opt_dir = results / "optimum"
    if forward is None:
        from project.model.forward import ForwardModel

        forward = ForwardModel.load()
    optima: dict[str, dict[str, dict]] = {}
    for f in sorted(opt_dir.glob("optimum_*_*.json")):
        o = json.loads(f.read_text())
        optima.setdefault(f.stem.split("_")[1], {})[o["metric"]] = o
    rows: list[dict] = []
    aa_states: dict[str, tuple[float, float]] = {}

    def add(molecule, row, kind, metric, regret, lo, hi, sigma, epsilon, recorded=None, **extra) -> None:
        opt = optima[molecule][metric]
        rec = dict(
            molecule=molecule,
            row=ROW_NAMES.get(row, row),
            kind=kind,
            metric=metric,
            unit=METRICS[metric],
            value=float(regret) * float(opt["value"]),
            regret=float(regret),
            regret_lo95=lo,
            regret_hi95=hi,
            optimum_converged=bool(opt["converged"]),
            sigma_nm=sigma,
            epsilon_kJ_mol=epsilon,
            held_out=_held_out(molecule),
        )
        if sigma is not None and np.isfinite(sigma):
            if molecule not in aa_states:  # read once per molecule
                aa_states[molecule] = _aa_state(results, molecule)
            T, rho = aa_states[molecule]
            t_star, rho_star = reduced_temperature(T, epsilon), reduced_density(rho, sigma)
            in_domain = forward_domain(forward, t_star, rho_star)[0] if recorded is None else recorded
            rec.update(T_star=t_star, rho_star=rho_star, in_domain=in_domain)
        rec.update(extra)
        rows.append(rec)

    for molecule, of_metric in optima.items():
        for metric, o in of_metric.items():
            add(
                molecule,
                f"optimum_{metric}",
                "simulated optimum",
                metric,
                1.0,
                np.nan,
                np.nan,
                o["sigma_nm"],
                o["epsilon_kJ_mol"],
                n_fit=int(o["n_runs"]),
                converged=bool(o["converged"]),
            )
        beads = _beads(results, molecule)
        f = opt_dir / f"regret_{molecule}.csv"
        if f.is_file():
            for _, r in pd.read_csv(f).iterrows():
                sigma, epsilon, n_fit, recorded = beads.get(r.row, (np.nan, np.nan, 0, None))
                table = r.kind == "table"
                conv = r.get("converged")
                for metric in of_metric:
                    if f"regret_{metric}" not in r or pd.isna(r[f"regret_{metric}"]):
                        continue
                    add(
                        molecule,
                        r.row,
                        r.kind,
                        metric,
                        r[f"regret_{metric}"],
                        r[f"regret_{metric}_lo95"],
                        r[f"regret_{metric}_hi95"],
                        None if table else sigma,
                        None if table else epsilon,
                        recorded=recorded,
                        n_fit=n_fit,
                        converged=None if pd.isna(conv) else str(conv) == "True",
                    )
        for f in sorted(opt_dir.glob("refined_*.csv")):  # benchmarks/bench_cg_regret.py: beads of a later model
            model = f.stem[len("refined_") :]
            for _, r in pd.read_csv(f).iterrows():
                if r.molecule != molecule:
                    continue
                for metric in of_metric:
                    add(
                        molecule,
                        r.bead,
                        f"one-shot ({model})",
                        metric,
                        r[f"regret_{metric}"],
                        r[f"regret_{metric}_lo95"],
                        r[f"regret_{metric}_hi95"],
                        float(r.sigma_nm),
                        float(r.epsilon_kJ_mol),
                        recorded=bool(r.in_domain),
                        n_fit=0,
                    )
        for f in sorted(opt_dir.glob(f"baselines_summary_{molecule}_*.csv")):
            for _, r in pd.read_csv(f).iterrows():
                for metric in of_metric:
                    if f"regret_{metric}" not in r or pd.isna(r[f"regret_{metric}"]):
                        continue
                    add(
                        molecule,
                        f"{r.method}_x{int(r.repeats)}",
                        "iterative, repeated",
                        metric,
                        r[f"regret_{metric}"],
                        r[f"regret_{metric}_lo95"],
                        r[f"regret_{metric}_hi95"],
                        float(r.sigma_nm_mean),
                        float(r.epsilon_kJ_mol_mean),
                        n_fit=float(r.n_fit_mean),
                        repeats=int(r.repeats),
                        converged=int(r.converged) == int(r.repeats),
                        **{"n_fit_to_regret_1.05": r.get(f"n_fit_to_regret_{metric}_1.05", np.nan)},
                    )
    out = pd.DataFrame(rows, columns=list(COLUMNS))
    return out


def regret_csv(results: list[str | Path], forward=None) -> pd.DataFrame:
    """The regret tables of several results folders, one after the other (:func:`regret_rows`)."""
    frames = [regret_rows(r, forward) for r in results]
    frames = [f for f in frames if not f.empty]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=list(COLUMNS))


def write_regret_csv(results: list[str | Path], out: str | Path) -> pd.DataFrame:
    """Write :func:`regret_csv` of the results folders to ``out`` (CSV, atomically) and return the table."""
    from project.atomic import atomic_write_text

    table = regret_csv(results)
    atomic_write_text(Path(out), table.to_csv(index=False))
    return table


def regret_summary(table: pd.DataFrame) -> str:
    """A Markdown table of a regret table: one line per molecule and row, regret of D and KL with 95 % intervals."""
    if table.empty:
        return ""
    lines = [
        "| molecule | row | kind | regret D [95 %] | regret KL [95 %] | N_fit | converged | in domain | held out |",
        "|---|---|---|---|---|---|---|---|---|",
    ]

    def cell(r) -> str:
        if r is None:
            return ""
        if not np.isfinite(r.regret_lo95):
            return f"{r.regret:.3f}"
        return f"{r.regret:.3f} [{r.regret_lo95:.3f}, {r.regret_hi95:.3f}]"

    def flag(v) -> str:
        return "" if v is None or (isinstance(v, float) and np.isnan(v)) else ("yes" if bool(v) else "no")

    for (mol, row, _), g in table.groupby(["molecule", "row", "kind"], sort=False):
        by = {r.metric: r for r in g.itertuples()}
        first = g.iloc[0]
        nf = first.n_fit
        lines.append(
            f"| {mol} | {row} | {first.kind} | {cell(by.get('D'))} | {cell(by.get('KL'))} | "
            f"{'' if pd.isna(nf) else f'{nf:.3g}'} | {flag(first.converged)} | {flag(first.in_domain)} | "
            f"{flag(first.held_out)} |"
        )
    return "\n".join(lines) + "\n"


__all__ = ["COLUMNS", "ROW_NAMES", "regret_csv", "regret_rows", "regret_summary", "write_regret_csv"]
