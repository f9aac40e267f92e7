"""Accuracy and honesty of ``fit`` on RDFs made the way real users make them.

Units: sigma nm, epsilon kJ/mol, T K, rho nm^-3, bin widths nm, Q_max A^-1; errors in % of the true value.

Inputs: RDFs of known LJ systems that no model was trained on: the held-out ``test`` split of the shipped dataset
(neither network saw it) and, when they exist, the exports of ``bench_independent.py``'s designs: ``independent``
(16 states inside the training range, other N, cut-off, time step and seeds; ``make independent``) and
``independent_hot`` (128 blind states at T* 2.5-3.5, ``make blind``). The ``transfer`` split (T* 2.5-3.5) can be
selected too, but the forward model is trained on it (the inverse network is not). Each RDF is fitted as it is and
in these variants:

* ``bin0.01``, ``bin0.02``: re-histogrammed to 0.01 / 0.02 nm bins (exact shell-volume averages of the 0.005 nm
  bins; 0.02 nm over 1.2 nm is MDAnalysis ``InterRDF``'s default resolution);
* ``g*0.98``, ``g*1.02``: a normalisation slip of g;
* ``rho+-2%``: the density stated 2 % off (+2 % and -2 % on alternate jobs), with ``density_error`` 2 % given;
* ``q8``, ``q10``, ``q12``: a round trip through S(Q) cut at Q_max = 8, 10, 12 A^-1 (as a scattering experiment
  sees g), plus white noise of 0.01-0.03 in g (seeded), fitted with ``q_max`` given.

Regions beyond the training box (``--sets triple_test,dense_test,hot_wide_test``): the held-out designs of the
wide campaign (``project/data/reference/lj_library_wide.h5``, docs/campaign.md): near the triple point (T* 0.6-0.8),
the dense liquid (rho* 0.9-1.12) and the hot fluid (T* 2.5-10, reported as T* < 5 and T* >= 5).

File formats (``--formats lammps-last,lammps-mean,gmx-two-selections,vmd,left-edges,error``): each RDF is also
written as LAMMPS, gmx rdf (two selections), VMD, at left bin edges and with an error column (``rdf_formats.py``),
read back by ``project.rdfio.read_rdf`` and fitted (variant ``file:<format>``).

Printed per set and variant: sigma and epsilon MAPE, mean signed epsilon error, the fraction of 2-std intervals
that contain the truth (coverage), the fraction judged ``lj_adequate`` and ``in_domain``, the one-shot network's
epsilon MAPE on the same input, fits per second (one process; the machine's load counts), the median stated
epsilon_std (% of epsilon) and ``silent``: fits with sigma or epsilon outside its 2-std interval that carry no
warning, are in domain and judged one LJ fluid (silent wrong answers; target 0). Targets: sigma
MAPE <= 1 %, epsilon MAPE <= 4 % per variant (clean: test <= 0.5 / 2 %, hotter than the training range <= 1 / 4 %),
and for ``rho+-2%`` the coverage 85-98 %.

Usage::

    python benchmarks/bench_realworld.py [--sets test,independent,independent_hot] [--n 0] [--csv FILE]
        [--forward-model DIR]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from project.atomic import atomic_write_text  # noqa: E402
from project.export import load_dataset  # noqa: E402
from project.model.binning import q_truncation_matrix  # noqa: E402
from project.model.fit import FitOptions, fit_rdf  # noqa: E402
from project.model.forward import ForwardModel  # noqa: E402
from project.model.inverse import InverseModel  # noqa: E402
from project.model.train_forward import shipped_training_data  # noqa: E402

sys.path.insert(0, str(ROOT / "benchmarks"))
from rdf_formats import FORMATS  # noqa: E402

VARIANTS = ("clean", "bin0.01", "bin0.02", "g*0.98", "g*1.02", "rho+-2%", "q8", "q10", "q12")
INDEPENDENT = {
    "independent": ROOT / "independent_space" / "export" / "dataset.h5",
    "independent_hot": ROOT / "independent_hot_space" / "export" / "dataset.h5",
}
#: The wide campaign's export (docs/campaign.md) and its held-out designs, one region each.
WIDE_EXPORT = ROOT / "project" / "data" / "reference" / "lj_library_wide.h5"
REGIONS = ("triple_test", "dense_test", "hot_wide_test")
#: T* above which the structure depends only weakly on T* (the epsilon target is looser there).
HOT_SPLIT_T_STAR = 5.0


def region_sets(ds, name: str) -> dict[str, np.ndarray]:
    """Rows of the wide export that belong to the held-out design ``name`` (by its state-point seed); the hot
    design is split at T* = :data:`HOT_SPLIT_T_STAR` into two sets."""
    import json

    seed = json.loads((ROOT / "project" / "data" / "designs" / f"{name}.json").read_text())["fixed"]["seed"]
    tab = ds.table
    rows = np.flatnonzero(tab["seed"].to_numpy() == seed)
    if name != "hot_wide_test":
        return {name: rows}
    hot = tab["T_star"].to_numpy()[rows] >= HOT_SPLIT_T_STAR
    return {f"hot_T*<{HOT_SPLIT_T_STAR:g}": rows[~hot], f"hot_T*>={HOT_SPLIT_T_STAR:g}": rows[hot]}


def rehistogram(r: np.ndarray, g: np.ndarray, width: float) -> tuple[np.ndarray, np.ndarray]:
    """Combine uniform histogram bins (centres ``r``, nm) into bins of ``width`` nm (a multiple of the old one).

    Each new value is the shell-volume-weighted mean of the old bins it covers, exactly what a histogram with the
    wider bins gives.
    """
    old = float(r[1] - r[0])
    k = int(round(width / old))
    edges = np.concatenate([r - old / 2, [r[-1] + old / 2]])
    n = len(r) // k
    vol = np.diff(edges**3)[: n * k].reshape(n, k)
    g_new = (g[: n * k].reshape(n, k) * vol).sum(1) / vol.sum(1)
    centres = 0.5 * (edges[: n * k : k] + edges[k : n * k + 1 : k])
    return centres, g_new


def make_variant(
    name: str, r: np.ndarray, g: np.ndarray, rho: float, job: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, float, FitOptions]:
    """Return (r nm, g, stated rho nm^-3, options) of one variant of a clean histogram RDF."""
    if name == "clean":
        return r, g, rho, FitOptions()
    if name.startswith("bin"):
        rr, gg = rehistogram(r, g, float(name[3:]))
        return rr, gg, rho, FitOptions()
    if name.startswith("g*"):
        return r, g * float(name[2:]), rho, FitOptions()
    if name == "rho+-2%":
        f = 0.02 if job % 2 == 0 else -0.02
        return r, g, rho * (1 + f), FitOptions(density_error=0.02 * rho * (1 + f))
    if name.startswith("q"):
        q = float(name[1:])
        T = q_truncation_matrix(r, 10.0 * q)
        noisy = 1.0 + T @ (g - 1.0) + rng.normal(0.0, rng.uniform(0.01, 0.03), len(r))
        return r, noisy, rho, FitOptions(q_max=q)
    raise ValueError(f"unknown variant {name!r}; allowed: {', '.join(VARIANTS)}")


def run_set(label: str, ds, rows: np.ndarray, variants: list[str], inverse, forward, seed: int = 5) -> list[dict]:
    """Fit every variant of the RDFs ``rows`` of an export; return one record per (job, variant)."""
    tab = ds.table
    out = []
    for v in variants:
        rng = np.random.default_rng(seed)
        for k, i in enumerate(rows):
            row = tab.iloc[i]
            r, g, rho, opt = make_variant(v, ds.r_nm, ds.g[i].astype(float), float(row["rho"]), k, rng)
            t0 = time.perf_counter()
            rec = {
                "set": label,
                "variant": v,
                "job_id": tab.index[i],
                "T_star": row["T_star"],
                "rho_star": row["rho_star"],
                "sigma": row["sigma"],
                "epsilon": row["epsilon"],
            }
            try:
                res = fit_rdf(r, g, float(row["T"]), rho, options=opt, inverse=inverse, forward=forward)
            except Exception as exc:  # a refusal is a result here: count it
                rec.update(error=str(exc), wall_s=time.perf_counter() - t0)
                out.append(rec)
                continue
            rec.update(_result_fields(res), wall_s=time.perf_counter() - t0, error="")
            out.append(rec)
    return out


def run_formats(label: str, ds, rows: np.ndarray, formats: list[str], inverse, forward) -> list[dict]:
    """Write every RDF ``rows`` of an export in each file format (:mod:`rdf_formats`), read it back and fit it as
    ``lj-inverse fit`` does (:func:`project.model.fitfiles.fit_file`); one record per (job, format)."""
    import tempfile

    from rdf_formats import write_format

    from project.model.fitfiles import fit_file

    tab, out = ds.table, []
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in formats:
            for k, i in enumerate(rows):
                row = tab.iloc[i]
                path = Path(tmp) / f"{k}.{fmt}"
                other = ds.g[rows[(k + 1) % len(rows)]].astype(float)
                opts = write_format(fmt, path, ds.r_nm, ds.g[i].astype(float), ds.g_err[i], float(row["rho"]), other)
                item = {"path": str(path), "T": float(row["T"]), "rho": float(row["rho"])}
                t0 = time.perf_counter()
                _, res, err = fit_file(item, opts, {}, models=(inverse, forward))
                rec = {"set": label, "variant": f"file:{fmt}", "job_id": tab.index[i], "T_star": row["T_star"]}
                rec.update(rho_star=row["rho_star"], sigma=row["sigma"], epsilon=row["epsilon"])
                if res is None:
                    rec.update(error=err, wall_s=time.perf_counter() - t0)
                else:
                    rec.update(_result_fields(res), wall_s=time.perf_counter() - t0, error="")
                out.append(rec)
    return out


def _result_fields(res) -> dict:
    """The columns of a record that come from a fit."""
    return {
        "pred_sigma": res.sigma,
        "pred_epsilon": res.epsilon,
        "sigma_std": res.sigma_std,
        "epsilon_std": res.epsilon_std,
        "oneshot_epsilon": res.oneshot["epsilon"] if res.oneshot else np.nan,
        "lj_adequate": res.lj_adequate,
        "in_domain": res.in_domain,
        "chi2": res.residual["chi2_per_dof"],
        "warned": bool(res.warnings) or not res.in_domain or not res.lj_adequate,
    }


def summarise(records: list[dict]) -> list[str]:
    """One printed line per (set, variant)."""
    import pandas as pd

    df = pd.DataFrame(records)
    lines = [
        f"{'set':12s} {'variant':24s} {'n':>4s} {'sig%':>6s} {'eps%':>6s} {'signed':>7s} {'cov_s':>6s} "
        f"{'cov_e':>6s} {'adeq':>5s} {'dom':>5s} {'1shot%':>7s} {'fits/s':>7s} {'refused':>7s} {'eps_std%':>8s} "
        f"{'silent':>6s}"
    ]
    for (s, v), d in df.groupby(["set", "variant"], sort=False):
        ok = d[d["error"] == ""]
        es = 100 * (ok["pred_sigma"] / ok["sigma"] - 1)
        ee = 100 * (ok["pred_epsilon"] / ok["epsilon"] - 1)
        cs = (abs(ok["pred_sigma"] - ok["sigma"]) <= 2 * ok["sigma_std"]).mean()
        ce = (abs(ok["pred_epsilon"] - ok["epsilon"]) <= 2 * ok["epsilon_std"]).mean()
        os_e = np.nanmean(np.abs(100 * (ok["oneshot_epsilon"] / ok["epsilon"] - 1)))
        # silent: sigma or epsilon outside its 2-std interval, with no warning, in domain and judged one LJ fluid
        off = (abs(ok["pred_sigma"] - ok["sigma"]) > 2 * ok["sigma_std"]) | (
            abs(ok["pred_epsilon"] - ok["epsilon"]) > 2 * ok["epsilon_std"]
        )
        silent = int((off & ~ok["warned"].astype(bool)).sum())
        lines.append(
            f"{s:12s} {v:24s} {len(d):4d} {es.abs().mean():6.3f} {ee.abs().mean():6.2f} {ee.mean():+7.2f} "
            f"{cs:6.2f} {ce:6.2f} {ok['lj_adequate'].mean():5.2f} {ok['in_domain'].mean():5.2f} "
            f"{os_e:7.2f} {1 / ok['wall_s'].mean():7.1f} {len(d) - len(ok):7d} "
            f"{100 * (ok['epsilon_std'] / ok['epsilon']).median():8.2f} {silent:6d}"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sets",
        default="test,independent,independent_hot",
        help="comma list of: test (held-out split of the shipped dataset), transfer (its T* > 2.5 "
        "split: the forward model is trained on it), independent, independent_hot (exports of "
        "bench_independent.py, used when present), triple_test, dense_test, hot_wide_test (held-out designs of "
        "the wide campaign's export: near the triple point, dense, hot split at T* 5)",
    )
    parser.add_argument(
        "--variants", default=",".join(VARIANTS), help=f"comma list of {', '.join(VARIANTS)}".replace("%", "%%")
    )
    parser.add_argument(
        "--formats",
        default="",
        help="also write each RDF as other programs do and fit the file, comma list of: " + ", ".join(FORMATS),
    )
    parser.add_argument("--n", type=int, default=0, help="at most this many jobs per set (0: all)")
    parser.add_argument("--csv", default=None, help="write every fit to this CSV (units in its header comment)")
    parser.add_argument("--forward-model", default=None, help="forward model folder (default: the shipped one)")
    parser.add_argument(
        "--export",
        action="append",
        default=[],
        metavar="NAME=H5",
        help="a further set: an HDF5 export of simulated LJ jobs (repeatable), e.g. "
        "hot=independent_hot_space/export/dataset.h5",
    )
    args = parser.parse_args()
    variants = args.variants.split(",")
    formats = [f for f in args.formats.split(",") if f]
    inverse, forward = InverseModel.load(), ForwardModel.load(args.forward_model)
    data = shipped_training_data(inverse.meta)
    records = []
    extra = dict(item.split("=", 1) for item in args.export)
    for name in [*args.sets.split(","), *extra]:
        if name in ("test", "transfer"):
            ds, rows = data["ds"], np.flatnonzero(data[name])
        elif name in REGIONS:
            wide = load_dataset(WIDE_EXPORT)
            for label, region_rows in region_sets(wide, name).items():
                rows = region_rows[: args.n] if args.n else region_rows
                records += run_set(label, wide, rows, variants, inverse, forward)
                if formats:
                    records += run_formats(label, wide, rows, formats, inverse, forward)
            continue
        elif name in extra:
            ds = load_dataset(extra[name])
            rows = np.arange(len(ds.table))
        elif name in INDEPENDENT:
            if not INDEPENDENT[name].is_file():
                print(
                    f"{name}: {INDEPENDENT[name]} not found (create it with benchmarks/bench_independent.py "
                    f"--design {name}); skipped"
                )
                continue
            ds = load_dataset(INDEPENDENT[name])
            rows = np.arange(len(ds.table))
        else:
            raise SystemExit(f"--sets: unknown set {name!r}")
        if args.n:
            rows = rows[: args.n]
        records += run_set(name, ds, rows, variants, inverse, forward)
        if formats:
            records += run_formats(name, ds, rows, formats, inverse, forward)
    for line in summarise(records):
        print(line)
    if args.csv:
        import pandas as pd

        header = (
            "# bench_realworld: sigma nm, epsilon kJ/mol, *_std 1-std total uncertainties in the same units, "
            "T_star and rho_star dimensionless, chi2 per degree of freedom, wall_s s\n"
        )
        atomic_write_text(args.csv, header + pd.DataFrame(records).to_csv(index=False, float_format="%.6g"))
    df = [r for r in records if not r.get("error")]
    e = np.array([abs(r["pred_epsilon"] / r["epsilon"] - 1) * 100 for r in df])
    print(f"all variants: {len(records)} fits, {len(records) - len(df)} refused, epsilon MAPE {e.mean():.2f} %")


if __name__ == "__main__":
    main()
