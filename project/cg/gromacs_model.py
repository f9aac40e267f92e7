"""The GROMACS files of a single-bead LJ model (``cg fit --out``): topology, coordinates and run parameters.

Units: sigma nm, epsilon kJ/mol, mass amu, T K, positions and box nm. The texts are made here; writing them is
:func:`project.cg.userfit.write_outputs`.
"""

from __future__ import annotations

import re

import numpy as np

from project.errors import ProjectError


def cg_model_files(
    name: str, sigma: float, epsilon: float, mass: float, T: float, com_nm: np.ndarray, box_nm: np.ndarray
) -> dict[str, str]:
    """GROMACS files of the single-bead model: ``.top``, ``.gro`` and ``.mdp`` texts (keys ``top``, ``gro``, ``mdp``).

    Units: sigma nm, epsilon kJ/mol, mass amu, T K, positions and box nm. The .mdp fixes the interactions of the
    model (plain truncation at 3 sigma, ``vdw-modifier = None``, dispersion correction for energy and pressure: the
    LJ fluid the network and the forward model were trained on) and an NVT ``sd`` run at T.
    """
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,4}", name):
        raise ProjectError(
            f"name: got {name!r}; allowed: 1-5 letters, digits or _, starting with a letter "
            "(a GROMACS residue and atom name)"
        )
    top = "\n".join(
        [
            f"; single-bead LJ model of {name}: sigma {sigma:.6f} nm, epsilon {epsilon:.6f} kJ/mol, "
            f"mass {mass:.4f} amu",
            "; made by lj-inverse cg fit; use with the .mdp beside it (truncated at 3 sigma, dispersion correction)",
            "[ defaults ]",
            "; nbfunc comb-rule gen-pairs fudgeLJ fudgeQQ",
            "1 2 no 1.0 1.0",
            "",
            "[ atomtypes ]",
            "; name at.num mass(amu) charge(e) ptype sigma(nm) epsilon(kJ/mol)",
            f"B{name} 0 {mass:.6f} 0.0 A {sigma:.8g} {epsilon:.8g}",
            "",
            "[ moleculetype ]",
            "; name nrexcl",
            f"{name} 1",
            "",
            "[ atoms ]",
            "; nr type resnr res atom cgnr charge(e) mass(amu)",
            f"1 B{name} 1 {name} B 1 0.0 {mass:.6f}",
            "",
            "[ system ]",
            f"{name} single-bead LJ liquid",
            "",
            "[ molecules ]",
            f"{name} {len(com_nm)}",
            "",
        ]
    )
    lines = [f"{name} beads at the all-atom centres of mass", f"{len(com_nm):5d}"]
    for k, (x, y, z) in enumerate(np.mod(com_nm, box_nm)):
        lines.append(f"{(k + 1) % 100000:5d}{name:<5s}{'B':>5s}{(k + 1) % 100000:5d}{x:8.3f}{y:8.3f}{z:8.3f}")
    lines.append(f"{box_nm[0]:10.5f}{box_nm[1]:10.5f}{box_nm[2]:10.5f}")
    rc = 3.0 * sigma
    mdp = "\n".join(
        [
            f"; single-bead LJ model of {name} at T = {T:.6g} K (NVT); interactions as the LJ training data",
            "integrator = sd",
            "dt = 0.002",
            "nsteps = 50000",
            "tc-grps = System",
            "tau-t = 1.0",
            f"ref-t = {T:.6g}",
            "gen-vel = yes",
            f"gen-temp = {T:.6g}",
            "cutoff-scheme = Verlet",
            "pbc = xyz",
            "vdwtype = Cut-off",
            "vdw-modifier = None",
            f"rvdw = {rc:.6g}",
            "coulombtype = Cut-off",
            f"rcoulomb = {rc:.6g}",
            "DispCorr = EnerPres",
            "nstenergy = 500",
            "nstxout-compressed = 500",
            "",
        ]
    )
    return {"top": top, "gro": "\n".join(lines) + "\n", "mdp": mdp}


__all__ = ["cg_model_files"]
