"""``lj-inverse cg ...``: coarse-graining of molecular liquids to single LJ beads (any molecule with ``cg fit``).

The CG data space is a signac project, default ``./cg_space`` (``--dataspace``/``--cg-dataspace``, env
``LJ_CG_DATASPACE``), with one job per molecule. The same steps run through ``flow_cg.py`` (signac-flow, local or
SLURM); these commands call the same library functions in-process. Units: nm, ps, kJ/mol, K, amu, nm^-3.

Commands::

    lj-inverse cg init                       # create the three molecule jobs (idempotent)
    lj-inverse cg topology CO --out DIR       # GROMACS topology + start configuration of a model
    lj-inverse cg run [--molecule CO] [--method relent ...]   # the iterative methods
    lj-inverse cg compare [--folder DIR ...] [--out DIR]   # every bead re-simulated; table, plots, catalogue
    lj-inverse cg fit TOPOLOGY TRAJECTORY -T K [--select SEL] [--objective kl] [--pressure BAR] [--out DIR]
                                              # one LJ bead for any molecule of a user's all-atom run
    lj-inverse cg optimum --results DIR --molecule CH4 [--metric D] [--runs DIR]
                                              # the best single LJ bead in real CG runs, regret of every bead
    lj-inverse cg baselines --results DIR --molecule CH4 [--method relent] [--repeats 3]
                                              # iterative methods repeated with independent seeds, regrets
    lj-inverse cg mie-compare --results DIR --molecule CH4    # Mie beads in CG runs beside the LJ optimum and IBI
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

log = logging.getLogger(__name__)


def _jobs(project, molecules: list[str] | None):
    jobs = sorted(project, key=lambda j: j.cached_statepoint["molecule"])
    if molecules:
        jobs = [j for j in jobs if j.cached_statepoint["molecule"] in molecules]
    return jobs


def _settings(args: argparse.Namespace):
    from project.cg.lj import CGSettings

    return CGSettings(N=args.n_beads, t_prod=args.t_prod_tau, threads=args.threads)


def cmd_init(args: argparse.Namespace) -> int:
    from project.cg.aa import AAParams, statepoint
    from project.cg.molecules import DEVELOPMENT_MOLECULES
    from project.dataspace import get_cg_project, init_cg_jobs

    molecules = args.molecule or list(DEVELOPMENT_MOLECULES)
    for m in molecules:  # validate every state point before anything is written
        statepoint(AAParams(m, n_molecules=args.n_molecules, t_prod_ps=args.aa_t_prod_ps))
    project = get_cg_project(args.cg_dataspace, create=True)
    jobs = init_cg_jobs(project, molecules, args.n_molecules, args.aa_t_prod_ps)
    out = {"cg_dataspace": str(project.path), "jobs": {j.cached_statepoint["molecule"]: j.id for j in jobs}}
    sys.stdout.write(json.dumps(out, indent=1) + "\n")
    return 0


def cmd_topology(args: argparse.Namespace) -> int:
    from project.cg.molecules import get_molecule, make_gro, make_topology, start_configuration

    mol = get_molecule(args.name)
    if args.n_molecules < 1:
        raise ValueError(f"--n-molecules: got {args.n_molecules}; allowed: an integer >= 1")
    pos, box = start_configuration(mol, args.n_molecules, mol.rho_liquid, 1)
    top, gro = make_topology(mol, args.n_molecules), make_gro(mol, pos, box)  # everything before writing
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{mol.name}.top").write_text(top)
    (out / f"{mol.name}.gro").write_text(gro)
    sys.stdout.write(f"wrote {out / (mol.name + '.top')} and {out / (mol.name + '.gro')} (box {box:.4f} nm)\n")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from project.cg.aa import params_from_statepoint, run_aa
    from project.cg.pipeline import AA_RDF_NAME, METHODS, compute_aa_rdf, run_method
    from project.dataspace import get_cg_project
    from project.errors import ProjectError

    project = get_cg_project(args.cg_dataspace)
    methods = args.method or list(METHODS)
    failures = 0
    for job in _jobs(project, args.molecule):
        sp = dict(job.cached_statepoint)
        run_aa(params_from_statepoint(sp), job.path, threads=args.threads)
        if not job.isfile(AA_RDF_NAME):
            compute_aa_rdf(job.path)
        for method in methods:
            try:
                res = run_method(job.path, method, _settings(args))
            except ProjectError as exc:
                failures += 1
                log.error("%s %s: %s", sp["molecule"], method, exc)
                continue
            sys.stdout.write(
                json.dumps(
                    {
                        k: res.get(k)
                        for k in (
                            "molecule",
                            "method",
                            "sigma",
                            "epsilon",
                            "total_deviation_nm",
                            "kl_divergence",
                            "n_simulations",
                            "wall_s",
                            "converged",
                        )
                    }
                )
                + "\n"
            )
    return 1 if failures else 0


def cmd_compare(args: argparse.Namespace) -> int:
    from project.cg.report import write_comparison
    from project.provenance import code_version_string

    if args.seeds < 2:
        raise ValueError(f"--seeds: got {args.seeds}; allowed: an integer >= 2 (standard errors need two runs)")
    if args.scan_n < 0 or args.scan_n == 1:
        raise ValueError(f"--scan-n: got {args.scan_n}; allowed: 0 (no scan) or an integer >= 2")
    if args.folder:
        dirs = [Path(f) for f in args.folder]
        missing = [str(d) for d in dirs if not (d / "aa.json").is_file()]
        if missing:
            raise ValueError(f"--folder: {', '.join(missing)} has no aa.json; allowed: folders of `lj-inverse cg aa`")
        base = Path(args.out) if args.out else Path("cg_results")
    else:
        from project.dataspace import get_cg_project

        project = get_cg_project(args.cg_dataspace)
        dirs = [Path(j.path) for j in _jobs(project, args.molecule)]
        base = Path(args.out) if args.out else Path(project.path) / "results"
    for d in dirs:
        if not (d / "com_rdf.npz").is_file():
            from project.cg.pipeline import compute_aa_rdf

            compute_aa_rdf(d)
    cat = Path(args.catalogue) if args.catalogue else base / "catalogue.sqlite"
    rep = write_comparison(
        dirs,
        base,
        _settings(args),
        catalogue_path=None if args.no_catalogue else cat,
        code_version=code_version_string(),
        seeds=args.seeds,
        run_missing=not args.no_run,
        scan_n=args.scan_n,
        model_path=args.model,
    )
    sys.stdout.write(Path(rep["paths"]["markdown"]).read_text())
    if (base / "optimum").is_dir():
        from project.cg.regret import regret_summary, write_regret_csv

        table = write_regret_csv([base], base / "regret.csv")
        rep["paths"]["regret"] = str(base / "regret.csv")
        sys.stdout.write("\nRegret against the simulated optimum (`cg optimum` in this folder):\n\n")
        sys.stdout.write(regret_summary(table))
    sys.stdout.write(json.dumps({"paths": rep["paths"], "catalogue_run_id": rep["catalogue_run_id"]}) + "\n")
    return 0


def cmd_optimum(args: argparse.Namespace) -> int:
    """The simulated optimum of each metric for one molecule of a comparison (or of a `cg fit` result), and the
    regret of every bead of it."""
    import pandas as pd

    from project.atomic import atomic_write_text
    from project.cg.optimum import (
        START_ROWS,
        regret_markdown,
        regret_table,
        shipped_target,
        simulated_optimum,
        start_regret_table,
    )

    if args.seeds < 2:
        raise ValueError(f"--seeds: got {args.seeds}; allowed: an integer >= 2 (standard errors need two runs)")
    if args.max_rounds < 1:
        raise ValueError(f"--max-rounds: got {args.max_rounds}; allowed: an integer >= 1")
    res_dir = Path(args.results)
    comp_path = res_dir / "comparison.csv"
    fit_path = res_dir / f"cg_fit_{args.molecule}.json"
    rows = None
    if comp_path.is_file():
        comp = pd.read_csv(comp_path)
        rows = comp[comp.molecule == args.molecule]
    if rows is not None and not rows.empty:
        starts = {
            m: (float(rows[rows.row == r].iloc[0].sigma_nm), float(rows[rows.row == r].iloc[0].epsilon_kJ_mol))
            for m, r in START_ROWS.items()
        }
    elif fit_path.is_file():
        refined = json.loads(fit_path.read_text())["refined"]
        missing = [r for r in START_ROWS.values() if r not in refined]
        if missing:
            raise ValueError(
                f"--results: {fit_path} has no bead refined for {', '.join(missing)}; run `cg fit` with "
                "--objective total-deviation --objective kl"
            )
        starts = {m: (float(refined[r]["sigma"]), float(refined[r]["epsilon"])) for m, r in START_ROWS.items()}
        rows = None  # no comparison rows: the regrets are those of the refined beads (start_regret_table)
    else:
        names = ", ".join(sorted(comp.molecule.unique())) if comp_path.is_file() else "none"
        raise ValueError(
            f"--molecule: {args.molecule!r} has neither rows in {comp_path} (molecules there: {names}) nor a "
            f"`cg fit` result {fit_path.name} in {res_dir}; allowed: a molecule of `lj-inverse cg compare`, or one "
            "with cg_fit_<molecule>.json, com_rdf_<molecule>.npz and aa_<molecule>.json"
        )
    target = shipped_target(res_dir, args.molecule)
    out = Path(args.out) if args.out else res_dir / "optimum"
    runs = Path(args.runs) if args.runs else out / "runs" / args.molecule
    out.mkdir(parents=True, exist_ok=True)
    optima, points_of = {}, {}
    for metric in ("D", "KL") if args.metric == "both" else (args.metric,):
        opt, points = simulated_optimum(
            target, _settings(args), runs, starts[metric], metric, seeds=args.seeds, max_rounds=args.max_rounds
        )
        optima[metric], points_of[metric] = opt, points
        atomic_write_text(out / f"points_{args.molecule}_{metric}.csv", points.to_csv(index=False))
        atomic_write_text(out / f"optimum_{args.molecule}_{metric}.json", json.dumps(opt, indent=1) + "\n")
    if rows is None:
        table = start_regret_table(args.molecule, {m: starts[m] for m in optima}, points_of, optima)
    else:
        table = regret_table(rows, optima)
    atomic_write_text(out / f"regret_{args.molecule}.csv", table.to_csv(index=False))
    atomic_write_text(out / "regret.md", regret_markdown(out))
    sys.stdout.write(json.dumps({"molecule": args.molecule, "optima": optima}, indent=1) + "\n")
    sys.stdout.write(table.to_string(index=False) + "\n")
    return 0


def cmd_baselines(args: argparse.Namespace) -> int:
    """Relative entropy and/or simplex repeated with independent seeds on a comparison's target; regrets."""
    import pandas as pd

    from project.atomic import atomic_write_text
    from project.cg.baselines import method_summary, relent_repeats, simplex_repeats
    from project.cg.lj import initial_guess
    from project.cg.optimum import regret_markdown, shipped_target

    if args.repeats < 2:
        raise ValueError(f"--repeats: got {args.repeats}; allowed: an integer >= 2 (a spread needs two repeats)")
    res_dir = Path(args.results)
    target = shipped_target(res_dir, args.molecule)
    out = Path(args.out) if args.out else res_dir / "optimum"
    runs = Path(args.runs) if args.runs else out / "runs" / args.molecule
    start = initial_guess(target.r, target.g, target.T)
    frames = []
    for method in ("relent", "simplex") if args.method == "both" else (args.method,):
        fn = relent_repeats if method == "relent" else simplex_repeats
        frames.append(fn(target, _settings(args), runs / "baselines", start, repeats=args.repeats))
    rows = pd.concat(frames, ignore_index=True).assign(molecule=args.molecule)
    optima = {}
    for metric in ("D", "KL"):
        f = out / f"optimum_{args.molecule}_{metric}.json"
        if f.is_file():
            optima[metric] = json.loads(f.read_text())
    summary = method_summary(rows, optima).assign(molecule=args.molecule)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / f"baselines_{args.molecule}_{args.method}.csv", rows.to_csv(index=False))
    atomic_write_text(out / f"baselines_summary_{args.molecule}_{args.method}.csv", summary.to_csv(index=False))
    atomic_write_text(out / "regret.md", regret_markdown(out))
    sys.stdout.write(rows.to_string(index=False) + "\n" + summary.to_string(index=False) + "\n")
    return 0


def cmd_regret(args: argparse.Namespace) -> int:
    """The regret table of one or more results folders (``cg optimum`` / ``cg baselines`` outputs), written as CSV."""
    from project.cg.regret import regret_summary, write_regret_csv

    missing = [r for r in args.results if not (Path(r) / "optimum").is_dir()]
    if missing:
        raise ValueError(
            f"--results: {', '.join(missing)} has no optimum folder; allowed: folders where `lj-inverse cg optimum` "
            "wrote RESULTS/optimum"
        )
    out = Path(args.out) if args.out else Path(args.results[0]) / "regret.csv"
    table = write_regret_csv(args.results, out)
    sys.stdout.write(regret_summary(table))
    sys.stdout.write(json.dumps({"path": str(out), "rows": len(table)}) + "\n")
    return 0


def cmd_mie_compare(args: argparse.Namespace) -> int:
    """Mie beads of one molecule re-simulated (LAMMPS) beside the simulated LJ optimum and the IBI table."""
    import pandas as pd

    from project.atomic import atomic_write_text
    from project.cg.mie_compare import mie_gap, mie_markdown, published_markdown, published_rows

    res_dir = Path(args.results)
    out = Path(args.out) if args.out else res_dir / "optimum"
    runs = Path(args.runs) if args.runs else out / "runs" / args.molecule / "mie"
    table = mie_gap(res_dir, args.molecule, _settings(args), runs, out)
    published = published_rows(res_dir, args.molecule, _settings(args), runs)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / f"mie_{args.molecule}.csv", table.to_csv(index=False))
    if len(published):
        atomic_write_text(out / f"published_mie_{args.molecule}.csv", published.to_csv(index=False))
    tables = [pd.read_csv(f) for f in sorted(out.glob("mie_*.csv"))]
    pub = [pd.read_csv(f) for f in sorted(out.glob("published_mie_*.csv"))]
    text = mie_markdown(tables)
    if pub:
        text += "\nPublished single-site Mie models (fitted to the real fluids, not to these all-atom models):\n\n"
        text += published_markdown(pub)
    atomic_write_text(out / "mie.md", text)
    sys.stdout.write(mie_markdown([table]) + (published_markdown([published]) if len(published) else ""))
    return 0


def cmd_aa(args: argparse.Namespace) -> int:
    from project.cg.aa import AAParams, run_aa

    kw = {"n_molecules": args.n_molecules, "t_prod_ps": args.aa_t_prod_ps}
    if args.rc_nm is not None:
        kw["rc_nm"] = args.rc_nm
    params = AAParams(args.name, **kw)
    params.resolved()  # refuses bad values before anything is written
    summary = run_aa(params, args.out, threads=args.threads)
    sys.stdout.write(
        json.dumps(
            {
                k: summary[k]
                for k in ("molecule", "T_mean_K", "P_bar", "P_stderr_bar", "U_per_molecule_kJ_mol", "wall_s")
            }
        )
        + "\n"
    )
    return 0


def cmd_fit(args: argparse.Namespace) -> int:
    from project.cg.beads import bead_of
    from project.cg.objective import OBJECTIVES
    from project.cg.summary import text_summary
    from project.cg.userfit import fit_user_run, write_outputs

    objectives = tuple(dict.fromkeys(args.objective or OBJECTIVES))
    if args.bead in OBJECTIVES and args.bead not in objectives:
        raise ValueError(f"--bead: got {args.bead!r}, which is not among the --objective values {list(objectives)}")
    if args.bead == "pressure" and args.pressure is None:
        raise ValueError("--bead: got 'pressure'; allowed only with --pressure BAR (the all-atom pressure)")
    res, rdf, box = fit_user_run(
        args.topology,
        args.trajectory,
        args.temperature,
        selection=args.select,
        objectives=objectives,
        pressure_bar=args.pressure,
        model_path=args.model,
        r_max=args.r_max,
        bin_width=args.bin_width,
        start=args.start,
        stop=args.stop,
        step=args.step,
        allow_guessed_masses=args.guessed_masses,
        potential=args.potential,
    )
    bead_of(res, args.bead)  # refuses a missing bead before anything is written
    paths = write_outputs(res, rdf, box, args.out, name=args.name, bead=args.bead) if args.out else None
    if args.json:
        sys.stdout.write(json.dumps({**res, "paths": paths}, default=float) + "\n")
    else:
        sys.stdout.write(text_summary(res))
        if paths:
            sys.stdout.write(f"wrote {', '.join(paths.values())} (GROMACS model: bead {args.bead!r})\n")
    return 0


def cg_run_options(q: argparse.ArgumentParser) -> None:
    """Options of every command that runs CG simulations: threads, beads, production time."""
    from project.cg.ibi import IBI_T_PROD
    from project.cg.lj import CGSettings

    q.add_argument("--threads", type=int, default=None, help="MD threads per run (count; default: every core)")
    q.add_argument(
        "--n-beads",
        type=int,
        default=CGSettings.N,
        help="beads per CG simulation (count; default %(default)s)",
    )
    q.add_argument(
        "--t-prod-tau",
        "--t-prod",
        dest="t_prod_tau",
        type=float,
        default=CGSettings.t_prod,
        help="CG production time in LJ time units tau = sigma sqrt(m/epsilon) (default %(default)s tau; the IBI "
        f"iterations run {IBI_T_PROD:g} tau)",
    )


def _data_space_options(q: argparse.ArgumentParser) -> None:
    """Options of the commands on the CG data space: its folder and the molecules (jobs) to act on."""
    from project.cg.molecules import DEVELOPMENT_MOLECULES, MOLECULES

    q.add_argument(
        "--dataspace",
        "--cg-dataspace",
        dest="cg_dataspace",
        default=None,
        help="CG data space (signac project); default $LJ_CG_DATASPACE, else ./cg_space",
    )
    q.add_argument(
        "--molecule",
        action="append",
        choices=tuple(MOLECULES),
        help=f"restrict to this molecule (repeatable); default every job (cg init: {', '.join(DEVELOPMENT_MOLECULES)})",
    )


def _add_init(cg) -> None:
    from project.cg.aa import AAParams

    q = cg.add_parser("init", help="create one job per molecule (idempotent)")
    _data_space_options(q)
    q.add_argument(
        "--n-molecules",
        type=int,
        default=AAParams.n_molecules,
        help="molecules in the AA box (count; default %(default)s)",
    )
    q.add_argument(
        "--aa-t-prod-ps",
        "--aa-t-prod",
        dest="aa_t_prod_ps",
        type=float,
        default=AAParams.t_prod_ps,
        help="AA production time in ps (default %(default)s ps)",
    )
    q.set_defaults(func=cmd_init)


def _add_topology(cg) -> None:
    from project.cg.aa import AAParams
    from project.cg.molecules import MOLECULES

    q = cg.add_parser("topology", help="write the GROMACS topology (.top) and a start configuration (.gro)")
    q.add_argument("name", choices=tuple(MOLECULES), help="molecule")
    q.add_argument("--out", required=True, help="output folder")
    q.add_argument(
        "--n-molecules",
        type=int,
        default=AAParams.n_molecules,
        help="number of molecules (count; default %(default)s)",
    )
    q.set_defaults(func=cmd_topology)


def _add_run(cg) -> None:
    from project.cg.pipeline import METHODS

    q = cg.add_parser("run", help="run the AA simulation, COM RDF and CG methods of the jobs (resumable)")
    _data_space_options(q)
    q.add_argument(
        "--method", action="append", choices=METHODS, help="method to run (repeatable, in order); default all"
    )
    cg_run_options(q)
    q.set_defaults(func=cmd_run)


def _add_compare(cg) -> None:
    q = cg.add_parser(
        "compare",
        help="compare one-shot beads with relative entropy, simplex and IBI: check runs with several seeds, "
        "costs, pressure and energy, Pareto front; table (markdown, CSV), plots, catalogue record",
    )
    _data_space_options(q)
    q.add_argument(
        "--folder",
        nargs="+",
        default=None,
        help="molecule folders of 'lj-inverse cg aa' (aa.json, aa_topology.tpr, aa_traj.xtc) instead of the CG "
        "data space's jobs",
    )
    q.add_argument("--out", default=None, help="output folder (default <cg_dataspace>/results, or ./cg_results)")
    q.add_argument("--seeds", type=int, default=3, help="check runs per row (count; default 3)")
    q.add_argument(
        "--scan-n", type=int, default=6, help="scan grid points per axis for the Pareto front (count; 0: none)"
    )
    q.add_argument("--no-run", action="store_true", help="do not run missing iterative methods (leave their rows out)")
    q.add_argument("--model", default=None, help="inverse-model folder for the one-shot beads (default: shipped)")
    q.add_argument(
        "--catalogue", default=None, help="results catalogue, SQLite (default <output folder>/catalogue.sqlite)"
    )
    q.add_argument("--no-catalogue", action="store_true", help="do not record the comparison in the catalogue")
    cg_run_options(q)
    q.set_defaults(func=cmd_compare)


def _add_aa(cg) -> None:
    from project.cg.aa import AAParams
    from project.cg.molecules import MOLECULES

    q = cg.add_parser(
        "aa",
        help="run the all-atom model of a built-in molecule into a folder (aa_topology.tpr, "
        "aa_traj.xtc, aa.json; resumable), e.g. as input of cg fit",
    )
    q.add_argument(
        "name",
        choices=tuple(MOLECULES),
        help="molecule (development: CH4, F2, CO; held out: N2, O2, CO2; new families: C2H6, CF4; control: CH4UA)",
    )
    q.add_argument("--out", required=True, help="output folder")
    q.add_argument(
        "--n-molecules",
        type=int,
        default=AAParams.n_molecules,
        help="molecules in the box (count; default %(default)s)",
    )
    q.add_argument(
        "--aa-t-prod-ps",
        type=float,
        default=AAParams.t_prod_ps,
        help="production time (ps; default %(default)s ps)",
    )
    q.add_argument(
        "--rc-nm",
        type=float,
        default=None,
        help=f"LJ (and PME) cut-off in nm (default {AAParams.rc_nm:g} nm for every molecule; give it yourself where a "
        "model asks for another: CH4UA 1.119 nm = 3 sigma, C2H6 1.4 nm)",
    )
    q.add_argument("--threads", type=int, default=None, help="MD threads (count; default every core)")
    q.set_defaults(func=cmd_aa)


def _add_fit(cg) -> None:
    from project.cg.beads import BEADS
    from project.cg.objective import OBJECTIVES
    from project.cg.userfit import BIN_WIDTH_DEFAULT, R_MAX_DEFAULT

    q = cg.add_parser(
        "fit",
        help="one LJ bead for the molecules of your own all-atom run (COM RDF, network, "
        "robust fit, objective refinement; no CG simulation)",
    )
    q.add_argument("topology", help="topology with masses that MDAnalysis reads (GROMACS .tpr, LAMMPS data, PSF, ...)")
    q.add_argument(
        "trajectory", help="trajectory (GROMACS .xtc/.trr, LAMMPS dump, DCD, ...); periodic orthorhombic box"
    )
    q.add_argument("-T", "--temperature", type=float, required=True, help="temperature of the run in K")
    q.add_argument(
        "--select",
        default="all",
        help="MDAnalysis selection of the molecules' atoms, one residue per molecule (default 'all')",
    )
    q.add_argument(
        "--objective",
        action="append",
        choices=OBJECTIVES,
        help="refine the network's bead for this structural objective through the LJ forward model "
        "(repeatable; default all): total-deviation = integral |g_AA - g_LJ| dr (nm), kl = KL "
        "divergence of the pair-distance distributions",
    )
    q.add_argument(
        "--pressure",
        type=float,
        default=None,
        help="all-atom pressure in bar (1 bar = 0.0602 kJ/mol nm^-3): adds the bead whose LJ "
        "equation-of-state pressure equals it",
    )
    q.add_argument(
        "--potential",
        choices=("lj", "mie"),
        default="lj",
        help="lj (default): LJ beads; mie: also a Mie lambda_r-6 bead per objective (lambda_r 8-32, through the Mie "
        "forward model from the LJ bead; SAFT-VR Mie pressure); the GROMACS model is written for LJ beads only",
    )
    q.add_argument(
        "--out",
        default=None,
        help="write cg_fit.json, com_rdf.npz and a GROMACS model (NAME.top, NAME.gro, NAME.mdp) into this folder",
    )
    q.add_argument("--name", default="CG", help="residue and file name of the GROMACS model (1-5 characters)")
    q.add_argument(
        "--bead",
        default="fit",
        choices=BEADS,
        help="which bead the GROMACS model uses (default fit: the robust fit)",
    )
    q.add_argument("--model", default=None, help="inverse-model folder (default: the shipped model)")
    q.add_argument(
        "--r-max",
        type=float,
        default=None,
        help=f"COM RDF range (nm; default min({R_MAX_DEFAULT:g} nm, the box half-width))",
    )
    q.add_argument(
        "--bin-width",
        type=float,
        default=BIN_WIDTH_DEFAULT,
        help="COM RDF bin width (nm; default %(default)s nm)",
    )
    q.add_argument("--start", type=int, default=0, help="first frame (index, a count of frames; default 0)")
    q.add_argument("--stop", type=int, default=None, help="frame to stop before (index, count; default the end)")
    q.add_argument("--step", type=int, default=None, help="frame step (count; default 1)")
    q.add_argument(
        "--guessed-masses",
        action="store_true",
        help="accept masses that MDAnalysis guessed from atom names (amu; refused by default)",
    )
    q.add_argument("--json", action="store_true", help="print the result as one JSON object")
    q.set_defaults(func=cmd_fit)


def _add_optimum(cg) -> None:
    q = cg.add_parser(
        "optimum",
        help="the best single LJ bead for D and KL found in real CG runs (3 x 3 grids with seeds, a response "
        "surface), and the regret (metric / optimum, 95 %% interval) of every bead of a comparison (or, for a molecule "
        "with only a `cg fit` result cg_fit_MOLECULE.json in RESULTS, of its refined beads)",
    )
    _comparison_target_options(q)
    q.add_argument("--metric", choices=("D", "KL", "both"), default="both", help="metric (default both)")
    q.add_argument("--seeds", type=int, default=3, help="seeds per simulated point (count; default 3)")
    q.add_argument(
        "--max-rounds",
        type=int,
        default=4,
        help="3 x 3 grid rounds at most per metric (count; default 4; a rerun resumes)",
    )
    q.set_defaults(func=cmd_optimum)


def _comparison_target_options(q: argparse.ArgumentParser) -> None:
    """Options of the commands that work on one molecule of a shipped comparison (``cg optimum``, ``cg baselines``)."""
    q.add_argument("--results", required=True, help="folder of `cg compare` (comparison.csv, com_rdf_*, aa_*.json)")
    q.add_argument("--molecule", required=True, help="molecule name as in comparison.csv")
    q.add_argument("--out", default=None, help="output folder (default RESULTS/optimum)")
    q.add_argument("--runs", default=None, help="folder of the CG runs, reused on a rerun (default OUT/runs/MOLECULE)")
    cg_run_options(q)


def _add_baselines(cg) -> None:
    q = cg.add_parser(
        "baselines",
        help="relative entropy (to convergence) and simplex (two starts, seed-averaged objective) repeated with "
        "independent seeds on a comparison's target; each final bead re-simulated; regrets against `cg optimum`",
    )
    _comparison_target_options(q)
    q.add_argument("--method", choices=("relent", "simplex", "both"), default="relent", help="default relent")
    q.add_argument("--repeats", type=int, default=3, help="independent repeats per method (count; default 3)")
    q.set_defaults(func=cmd_baselines)


def _add_regret(cg) -> None:
    q = cg.add_parser(
        "regret",
        help="the regret table (metric / simulated optimum, 95 %% interval; one row per molecule x bead or method x "
        "metric, D in nm, KL dimensionless) of the folders where `cg optimum` and `cg baselines` wrote; CSV and a "
        "Markdown summary",
    )
    q.add_argument(
        "--results", nargs="+", required=True, help="results folders with an optimum subfolder (one or more)"
    )
    q.add_argument("--out", default=None, help="CSV file (default RESULTS/regret.csv of the first folder)")
    q.set_defaults(func=cmd_regret)


def _add_mie_compare(cg) -> None:
    q = cg.add_parser(
        "mie-compare",
        help="the Mie lambda_r-6 bead of each metric re-simulated (LAMMPS, 3 seeds) beside the simulated LJ optimum "
        "(`cg optimum`) and the IBI table: how much of the LJ-IBI gap the Mie form closes, and at what pressure",
    )
    _comparison_target_options(q)
    q.set_defaults(func=cmd_mie_compare)


def register_cg(sub) -> None:
    """Add the ``cg`` sub-command (with its own sub-commands, one function each)."""
    p = sub.add_parser("cg", help="coarse-grain molecular liquids to single LJ beads (see docs/coarse_graining.md)")
    cg = p.add_subparsers(dest="cg_command", required=True)
    for add in (
        _add_init,
        _add_topology,
        _add_run,
        _add_compare,
        _add_aa,
        _add_fit,
        _add_optimum,
        _add_baselines,
        _add_regret,
        _add_mie_compare,
    ):
        add(cg)
