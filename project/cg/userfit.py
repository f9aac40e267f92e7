"""Coarse-grain any small molecule of a user's all-atom run to one LJ bead (``lj-inverse cg fit``).

Units: r nm, T K, density nm^-3, mass amu, sigma nm, epsilon kJ/mol, pressure bar, energy kJ/mol per molecule.

Steps (:func:`fit_user_run`):

1. :func:`open_system` reads a topology and trajectory with MDAnalysis (GROMACS .tpr + .xtc/.trr, LAMMPS data +
   dump, ...), selects the atoms of the molecules (MDAnalysis selection; one residue = one molecule) and checks
   them: masses read from the topology (guessed masses are refused unless allowed: MDAnalysis guesses from atom
   names, e.g. a united-atom ``C`` becomes 12.011 amu), one species (same atom count and mass per molecule), at
   least :data:`MIN_MOLECULES` molecules, an orthorhombic periodic box, and whole molecules: molecules split
   across the box are made whole by the minimum image (reported), one that still spans more than a quarter of the
   box is refused (residues that are not molecules, or a box too small).
2. The centre-of-mass g(r) with block errors (:mod:`project.cg.com_rdf`, the same analysis as the built-in
   molecules), on 0.005 nm bins up to min(1.2 nm, the box half-width). A changing box (NPT) uses the mean density
   N / <V>, with a warning.
3. The beads (:func:`project.cg.beads.fit_beads`): the inverse network's one-shot guess and the robust fit
   (:func:`project.cg.oneshot.predict_bead`, i.e. :func:`project.model.fit.fit_rdf`: refinement through the LJ
   forward model, total uncertainty, residual, ``lj_adequate``), then the network's bead refined for each chosen
   objective through the forward model (:func:`project.cg.objective.refine_for_objective`) and, given the
   all-atom pressure, the pressure-constrained bead (:func:`project.cg.objective.refine_with_pressure`). No CG
   simulation. Each bead's equation-of-state pressure and energy per molecule
   (:func:`project.cg.objective.eos_thermo`).
4. Optionally (:func:`write_outputs`) the result as JSON, the COM RDF, and a GROMACS model of the chosen bead:
   ``.top`` (one LJ atom type), ``.gro`` (the molecules' centres of mass in the last analysed frame) and ``.mdp``
   (the model's interaction settings: plain truncation at 3 sigma with the dispersion correction, as the LJ
   training data; texts from :mod:`project.cg.gromacs_model`). Everything is computed before anything is written.

The text summary that ``cg fit`` prints is :func:`project.cg.summary.text_summary`.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np

from project.cg.objective import OBJECTIVES
from project.errors import ProjectError, RDFError
from project.trajectory import open_universe, rdf_edges, select_frames

#: Fewest molecules accepted (a COM RDF from fewer is too noisy, and the box too small, for the fit).
MIN_MOLECULES = 100
#: Largest distance of an atom from its molecule's reference atom after unwrapping, in box lengths.
MAX_SPAN_BOX = 0.25
#: Default upper edge of the COM RDF grid (nm) and bin width (nm): the project's RDF grid.
R_MAX_DEFAULT = 1.2
BIN_WIDTH_DEFAULT = 0.005


def open_system(
    topology: str | os.PathLike,
    trajectory: str | os.PathLike,
    selection: str = "all",
    allow_guessed_masses: bool = False,
) -> tuple[object, dict]:
    """Read and check a user's all-atom system; return (the selected AtomGroup, a description with warnings).

    The description: ``n_molecules``, ``atoms_per_molecule``, ``mass_amu`` (per molecule), ``n_frames``,
    ``residue_names``, ``split_molecules`` (molecules found split across the box in the first frame, made whole),
    ``masses`` (``topology`` or ``guessed``) and ``warnings`` (list of str).

    Raises
    ------
    RDFError
        Missing or unreadable files, a bad or empty selection, no or guessed masses, a mixture, fewer than
        :data:`MIN_MOLECULES` molecules, no periodic box, molecules that span more than a quarter of the box; each
        message names the field, the value and what is allowed.
    """
    u = open_universe(topology, trajectory)
    warn: list[str] = []
    try:
        ag = u.select_atoms(selection)
    except Exception as exc:  # SelectionError, ValueError, ...
        raise RDFError(
            f"selection: {selection!r} is not a valid MDAnalysis selection ({exc}); allowed: e.g. "
            "'resname SOL' or 'all'"
        ) from exc
    if len(ag) == 0:
        names = sorted(set(u.residues.resnames)) if hasattr(u.residues, "resnames") else []
        raise RDFError(
            f"selection: {selection!r} matches no atoms; allowed: a selection of the molecules' atoms "
            f"(residue names in this topology: {', '.join(map(str, names[:10])) or 'none'})"
        )
    if not hasattr(ag, "masses"):
        raise RDFError(
            f"topology {os.fspath(topology)!r}: no masses; the centre of mass needs them (allowed: a "
            "topology with masses, e.g. GROMACS .tpr, LAMMPS data with a Masses section, PSF)"
        )
    guessed = bool(getattr(u._topology.masses, "is_guessed", False))
    if guessed:
        msg = (
            f"topology {os.fspath(topology)!r}: the masses are not in the file; MDAnalysis guessed them from atom "
            f"names (e.g. {ag[0].name} -> {ag[0].mass:g} amu)"
        )
        if not allow_guessed_masses:
            raise RDFError(
                msg + "; allowed: a topology with masses (GROMACS .tpr, LAMMPS data with Masses, PSF), or "
                "--guessed-masses to accept the guess"
            )
        warn.append(msg + " (accepted with --guessed-masses)")
    masses = np.asarray(ag.masses, float)
    if not np.all(np.isfinite(masses)) or np.any(masses < 0):
        raise RDFError(f"masses: non-finite or negative values in the selection {selection!r}; allowed: >= 0 amu")
    _, resindex = np.unique(ag.resindices, return_inverse=True)
    n_mol = int(resindex.max()) + 1
    per_mol_mass = np.bincount(resindex, weights=masses, minlength=n_mol)
    per_mol_atoms = np.bincount(resindex, minlength=n_mol)
    if np.any(per_mol_mass <= 0):
        bad = int(np.flatnonzero(per_mol_mass <= 0)[0])
        raise RDFError(
            f"masses: molecule {bad + 1} of the selection (residue {ag.residues[bad].resid}) has zero "
            "total mass; allowed: every molecule with a positive mass (amu)"
        )
    if np.ptp(per_mol_atoms) > 0 or np.ptp(per_mol_mass) > 1e-3 * per_mol_mass.mean():
        raise RDFError(
            f"selection: {selection!r} holds different molecules (atoms per molecule "
            f"{per_mol_atoms.min()}-{per_mol_atoms.max()}, mass {per_mol_mass.min():.4g}-"
            f"{per_mol_mass.max():.4g} amu); allowed: one species, e.g. 'resname XXX'"
        )
    if n_mol < MIN_MOLECULES:
        raise RDFError(
            f"selection: {selection!r} holds {n_mol} molecules (residues); allowed: at least "
            f"{MIN_MOLECULES} (a COM RDF needs many pairs, and the box must hold the first two shells)"
        )
    full = np.bincount(np.unique(ag.resindices, return_inverse=True)[1], minlength=n_mol)
    total = np.array([len(res.atoms) for res in ag.residues])
    if np.any(full < total):
        warn.append(
            f"the selection holds part of each residue ({int(full[0])} of {int(total[0])} atoms): the bead "
            "maps the centre of mass of the selected atoms only"
        )
    select_frames(u, f"trajectory {os.fspath(trajectory)!r}", n_blocks=5)
    ts = u.trajectory[0]
    dims = ts.dimensions
    if dims is None or not np.all(np.asarray(dims[:3]) > 0):
        raise RDFError(
            f"trajectory {os.fspath(trajectory)!r}: frame 0 has no periodic box; allowed: a periodic, orthorhombic box"
        )
    box = np.asarray(dims[:3], float)
    pos = ag.positions.astype(float)
    keep = masses > 0
    first = np.array([np.flatnonzero((resindex == i) & keep)[0] for i in range(n_mol)])
    raw = pos - pos[first][resindex]
    d = raw - box * np.round(raw / box)
    span = np.zeros(n_mol)
    np.maximum.at(span, resindex, np.linalg.norm(d, axis=1))
    raw_span = np.zeros(n_mol)
    np.maximum.at(raw_span, resindex, np.linalg.norm(raw, axis=1))
    if span.max() > MAX_SPAN_BOX * box.min():
        bad = int(np.argmax(span))
        raise RDFError(
            f"molecules: residue {ag.residues[bad].resid} spans {span[bad] / 10:.3g} nm after making it "
            f"whole by the minimum image, more than {MAX_SPAN_BOX} of the box ({box.min() / 10:.3g} nm); "
            "allowed: residues that are single small molecules (is the residue numbering per molecule?)"
        )
    split = int(np.sum(raw_span > span + 1e-3))
    if split:
        warn.append(
            f"{split} of {n_mol} molecules are split across the periodic box in the first frame; they are "
            "made whole by the minimum image before their centres of mass are taken"
        )
    u.trajectory[0]
    return ag, {
        "n_molecules": n_mol,
        "atoms_per_molecule": int(per_mol_atoms[0]),
        "mass_amu": float(per_mol_mass.mean()),
        "n_frames": len(u.trajectory),
        "residue_names": sorted({str(x) for x in ag.residues.resnames}) if hasattr(ag.residues, "resnames") else [],
        "split_molecules": split,
        "masses": "guessed" if guessed else "topology",
        "max_span_nm": float(span.max() / 10),
        "warnings": warn,
    }


def com_rdf(
    ag,
    r_max: float | None = None,
    bin_width: float = BIN_WIDTH_DEFAULT,
    n_blocks: int = 5,
    start: int = 0,
    stop: int | None = None,
    step: int | None = None,
    source: str = "",
) -> tuple[object, dict]:
    """COM g(r) of the molecules (residues) of a checked AtomGroup; returns (RDFResult, box description).

    ``r_max`` (nm) None: min(1.2 nm, the largest multiple of ``bin_width`` (nm) within 0.99 of the smallest box
    half-width of frame 0). The box description holds ``mean_volume_nm3``, ``volume_rel_std`` and ``npt`` (the
    volume changes by more than 1e-6 relative), ``last_com_nm`` (centres of mass of the last analysed frame, nm)
    and ``box_nm`` (its box).

    Raises
    ------
    RDFError
        A bad grid, too few frames, a non-orthorhombic box or a box smaller than 2 r_max in some frame.
    """
    from project.cg.com_rdf import analysis_class, molecule_com, rdf_result

    u = ag.universe
    half = float(np.min(u.trajectory[0].dimensions[:3])) / 20.0
    if r_max is None:
        r_max = min(R_MAX_DEFAULT, np.floor(0.99 * half / bin_width) * bin_width)
    if not (np.isfinite(bin_width) and 0.0005 <= bin_width <= 0.05):
        raise RDFError(f"bin_width: got {bin_width!r} nm; allowed: 0.0005-0.05 nm")
    edges = rdf_edges(r_max, bin_width)
    if r_max > half:
        raise RDFError(f"r_max: got {r_max:g} nm; allowed: up to the box half-width {half:.4g} nm")
    select_frames(u, source, n_blocks, start, stop, step)
    ana = analysis_class()(ag, edges, n_blocks=n_blocks, source=source)
    ana.run(start=start, stop=stop, step=step)
    res = ana.results
    vols = np.asarray(res.volumes_nm3)
    rdf = rdf_result(res, bin_width, r_max, n_blocks, start)
    vol = rdf.mean_volume_nm3
    masses = np.asarray(ana._masses)
    dims = u.trajectory.ts.dimensions
    com = (
        molecule_com(ana._ag.positions.astype(float), ana._resindex, masses, np.asarray(dims[:3], float), ana._first)
        / 10.0
    )
    rel = float(vols.std() / vol)
    return rdf, {
        "mean_volume_nm3": vol,
        "volume_rel_std": rel,
        "npt": rel > 1e-6,
        "last_com_nm": com,
        "box_nm": np.asarray(dims[:3], float) / 10.0,
    }


def _check_arguments(T: float, objectives: tuple[str, ...], pressure_bar: float | None) -> None:
    """Refuse a bad temperature (K), objective or pressure (bar) before any file is read."""
    from project.cg.objective import OBJECTIVES
    from project.units import check_temperature_K

    check_temperature_K(T, "cg fit")
    bad = [o for o in objectives if o not in OBJECTIVES]
    if bad or not objectives:
        raise ProjectError(f"objective: got {bad or list(objectives)}; allowed: {', '.join(OBJECTIVES)}")
    if pressure_bar is not None and not np.isfinite(pressure_bar):
        raise ProjectError(f"pressure: got {pressure_bar!r} bar; allowed: a finite pressure in bar")


#: Units of a :func:`fit_user_run` result.
RESULT_UNITS = {
    "sigma": "nm",
    "epsilon": "kJ/mol",
    "T": "K",
    "density": "nm^-3",
    "mass": "amu",
    "P_bar": "bar",
    "U_per_molecule_kJ_mol": "kJ/mol",
    "total_deviation_nm": "nm",
    "wall_s": "s",
    "r": "nm",
}


def fit_user_run(
    topology: str | os.PathLike,
    trajectory: str | os.PathLike,
    T: float,
    selection: str = "all",
    objectives: tuple[str, ...] = OBJECTIVES,
    pressure_bar: float | None = None,
    model_path: str | os.PathLike | None = None,
    r_max: float | None = None,
    bin_width: float = BIN_WIDTH_DEFAULT,
    start: int = 0,
    stop: int | None = None,
    step: int | None = None,
    allow_guessed_masses: bool = False,
    potential: str = "lj",
) -> tuple[dict, object, dict]:
    """The one-shot bead of a user's all-atom run (steps 1-3 of the module docstring); no file is written.

    Parameters
    ----------
    topology, trajectory : path
        Files MDAnalysis reads (topology with masses).
    T : float
        Temperature of the run (K).
    selection : str
        MDAnalysis selection of the molecules' atoms (one residue per molecule).
    objectives : tuple of str
        Objectives to refine the network's bead for (``total-deviation``, ``kl``).
    pressure_bar : float or None
        All-atom pressure (bar) for the pressure-constrained bead (None: not computed).
    model_path : path or None
        Inverse-model folder (None: the shipped model).
    r_max, bin_width : float
        COM RDF grid (nm); r_max None: automatic (:func:`com_rdf`).
    start, stop, step : int
        Frames to analyse.
    allow_guessed_masses : bool
        Accept masses MDAnalysis guessed from atom names (with a warning).
    potential : str
        "lj" (default) or "mie": also Mie lambda_r-6 beads (``mie`` in the result; :func:`project.cg.beads.fit_beads`).

    Returns
    -------
    tuple
        (result dict, RDFResult, box description of :func:`com_rdf`).

    Raises
    ------
    ProjectError
        Any refused input (naming the field, the value and what is allowed).
    """
    from project.cg.beads import fit_beads

    t0 = time.perf_counter()
    _check_arguments(T, objectives, pressure_bar)
    ag, info = open_system(topology, trajectory, selection, allow_guessed_masses)
    rdf, box = com_rdf(ag, r_max, bin_width, start=start, stop=stop, step=step, source=os.fspath(trajectory))
    warn = list(info.pop("warnings"))
    if box["npt"]:
        warn.append(
            f"the box changes (NPT): volume relative std {100 * box['volume_rel_std']:.2g} %; the density is "
            f"the mean N / <V> = {rdf.density_nm3:.5g} nm^-3"
        )
    rho = float(rdf.density_nm3)
    source = f"COM RDF of {os.fspath(trajectory)}"
    beads = fit_beads(
        rdf.r_nm, rdf.g, rdf.g_err, float(T), rho, objectives, pressure_bar, model_path, source, potential
    )
    fit = beads["fit"]
    if not fit.get("lj_adequate", False):
        warn.append(
            f"one LJ fluid does not describe this COM RDF within its noise (chi^2/dof "
            f"{fit['residual']['chi2_per_dof']:.3g}): a single LJ bead is an approximation here"
        )
    out = {
        "input": {
            "topology": os.fspath(topology),
            "trajectory": os.fspath(trajectory),
            "selection": selection,
            "T_K": float(T),
            "density_nm3": rho,
            **info,
            "n_frames_used": int(rdf.n_frames),
            "mean_volume_nm3": box["mean_volume_nm3"],
            "volume_rel_std": box["volume_rel_std"],
            "r_max_nm": float(rdf.r_max_nm),
            "bin_width_nm": float(rdf.bin_width_nm),
            "first_peak_r_nm": float(rdf.first_peak_r_nm),
            "aa_pressure_bar": pressure_bar,
        },
        "network": beads["network"],
        "fit": fit,
        "refined": beads["refined"],
        "pressure_aware": beads["pressure_aware"],
        "mie": beads["mie"],
        "lj_adequate": bool(fit.get("lj_adequate", False)),
        "warnings": warn,
        "n_simulations": 0,
        "wall_s": time.perf_counter() - t0,
        "model_path": beads["model_path"],
        "units": dict(RESULT_UNITS),
    }
    return out, rdf, box


def write_outputs(
    result: dict, rdf, box: dict, out_dir: str | os.PathLike, name: str = "CG", bead: str = "fit"
) -> dict[str, str]:
    """Write ``cg_fit.json``, ``com_rdf.npz`` and the GROMACS model of ``bead`` (``<name>.top/.gro/.mdp``,
    :func:`project.cg.gromacs_model.cg_model_files`) into ``out_dir`` (created); every text is made before the
    first file is written. Returns the paths."""
    from project.atomic import atomic_write_text
    from project.cg.beads import bead_of
    from project.cg.gromacs_model import cg_model_files
    from project.rdf import save_rdf

    b = bead_of(result, bead)
    files = cg_model_files(
        name,
        b["sigma"],
        b["epsilon"],
        result["input"]["mass_amu"],
        result["input"]["T_K"],
        box["last_com_nm"],
        box["box_nm"],
    )
    body = json.dumps({**result, "topology_bead": {"name": bead, **b}}, indent=1, default=float) + "\n"
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "json": out / "cg_fit.json",
        "rdf": out / "com_rdf.npz",
        "top": out / f"{name}.top",
        "gro": out / f"{name}.gro",
        "mdp": out / f"{name}.mdp",
    }
    save_rdf(rdf, paths["rdf"])
    for key in ("top", "gro", "mdp"):
        atomic_write_text(paths[key], files[key])
    atomic_write_text(paths["json"], body)
    return {k: str(v) for k, v in paths.items()}


__all__ = [
    "MIN_MOLECULES",
    "com_rdf",
    "fit_user_run",
    "open_system",
    "write_outputs",
]
