"""Regret of the shipped pipeline's refined beads (no CG run to make them) against the simulated optima.

The shipped comparison (``docs/results/cg/comparison.csv``) and the new-family ``cg fit`` results
(``docs/results/cg/new_families/cg_fit_<molecule>.json``) were made with the forward model of their time. This
script re-makes each molecule's beads refined for D and for KL from its shipped COM RDF with the models shipped
now (:func:`project.cg.beads.fit_beads`: the network's bead refined through the LJ forward model; N_fit = 0),
simulates each with the 3 check seeds of ``cg optimum`` (same CG settings; runs cached in ``--runs``, a rerun
resumes) and prints, per molecule, the bead, whether it is in the forward model's domain, its D (nm) and KL
with their regret against ``optimum/optimum_<molecule>_<metric>.json`` (95 % t-interval,
:func:`project.cg.optimum.regret`), beside the shipped comparison bead's regret. The target of the coarse-graining
comparison: a refined bead in domain has a regret on its own metric whose 95 % upper bound is <= 1.10.

Usage::

    python benchmarks/bench_cg_regret.py [--results docs/results/cg] [--molecules CH4 CO ...] [--runs DIR]
        [--csv FILE] [--threads 1]
    python benchmarks/bench_cg_regret.py --results docs/results/cg/new_families   # C2H6, CF4

Cost: 2 beads x 3 seeds x ~6.5 s of one core per molecule (about 4 minutes for six molecules); cached runs cost
nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from project.cg.beads import fit_beads  # noqa: E402
from project.cg.lj import CGSettings  # noqa: E402
from project.cg.optimum import START_ROWS, evaluate_bead, regret, shipped_target  # noqa: E402

#: seeds per bead, as the optima's points and the comparison's check runs
SEEDS = 3


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--results", default=str(ROOT / "docs" / "results" / "cg"), help="folder of the comparison")
    p.add_argument("--molecules", nargs="+", default=None, help="molecules (default: those with an optimum)")
    p.add_argument("--runs", default=str(Path("cg_regret_runs")), help="cache of the CG runs (folder)")
    p.add_argument("--csv", default=None, help="write the table here too (CSV)")
    p.add_argument("--threads", type=int, default=1, help="MD threads per run (count; default 1)")
    args = p.parse_args(argv)
    res = Path(args.results)
    shipped_beads = {}  # (molecule, objective) -> (sigma nm, epsilon kJ/mol) of the shipped bead
    if (res / "comparison.csv").is_file():
        for r in pd.read_csv(res / "comparison.csv").itertuples():
            shipped_beads[(r.molecule, r.row)] = (float(r.sigma_nm), float(r.epsilon_kJ_mol))
    for f in res.glob("cg_fit_*.json"):
        for objective, b in json.loads(f.read_text())["refined"].items():
            shipped_beads.setdefault((f.stem[len("cg_fit_") :], objective), (float(b["sigma"]), float(b["epsilon"])))
    shipped = {}
    for f in (res / "optimum").glob("regret_*.csv"):
        t = pd.read_csv(f)
        shipped.update({(r.molecule, r.row): r for r in t.itertuples()})
    molecules = args.molecules or sorted({f.stem.split("_")[1] for f in (res / "optimum").glob("optimum_*_D.json")})
    settings = CGSettings(threads=args.threads)
    rows = []
    for mol in molecules:
        target = shipped_target(res, mol)
        optima = {m: json.loads((res / "optimum" / f"optimum_{mol}_{m}.json").read_text()) for m in ("D", "KL")}
        beads = fit_beads(
            target.r, target.g, target.g_err, target.T, target.rho, tuple(START_ROWS.values()), None, None, "bench"
        )
        for metric, objective in START_ROWS.items():
            b = beads["refined"][objective]
            ev = evaluate_bead(target, settings, Path(args.runs) / mol, b["sigma"], b["epsilon"], SEEDS)
            old = shipped_beads.get((mol, objective), (np.nan, np.nan))
            rec = {
                "molecule": mol,
                "bead": f"refined_{metric}",
                "sigma_nm": b["sigma"],
                "epsilon_kJ_mol": b["epsilon"],
                "T_star": b["T_star"],
                "rho_star": b["rho_star"],
                "in_domain": bool(b["in_domain"]),
                "at_bound": bool(b.get("at_bound", False)),
                "n_runs": ev["n"],
                "shipped_sigma_nm": old[0],
                "shipped_epsilon_kJ_mol": old[1],
            }
            for m in ("D", "KL"):
                val, lo, hi = regret(ev[m], ev["n"], optima[m]) if ev["n"] >= 2 else (np.nan,) * 3
                rec.update({m: ev[m], f"regret_{m}": val, f"regret_{m}_lo95": lo, f"regret_{m}_hi95": hi})
                rec[f"shipped_regret_{m}"] = getattr(shipped.get((mol, objective)), f"regret_{m}", np.nan)
            rec["optimum_converged"] = bool(optima[metric]["converged"])
            rec["target_met"] = bool(rec["in_domain"] and rec[f"regret_{metric}_hi95"] <= 1.10)
            rows.append(rec)
            sys.stdout.write(
                f"{mol:5s} refined_{metric:2s} sigma {b['sigma']:.4f} nm eps {b['epsilon']:.4f} kJ/mol T* "
                f"{b['T_star']:.3g} rho* {b['rho_star']:.3g} in_domain {rec['in_domain']!s:5s} | regret on "
                f"{metric}: {rec[f'regret_{metric}']:.3f} [{rec[f'regret_{metric}_lo95']:.3f}, "
                f"{rec[f'regret_{metric}_hi95']:.3f}] (shipped bead {rec[f'shipped_regret_{metric}']:.3f}); "
                f"optimum converged {rec['optimum_converged']}; target met {rec['target_met']}\n"
            )
            sys.stdout.flush()
    tab = pd.DataFrame(rows)
    if args.csv:
        tab.to_csv(args.csv, index=False)
    met = tab[tab.in_domain]
    sys.stdout.write(
        f"refined beads in domain: {len(met)} of {len(tab)}; target (95 % upper bound of the regret on the own "
        f"metric <= 1.10) met by {int(met.target_met.sum())} of {len(met)}\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
