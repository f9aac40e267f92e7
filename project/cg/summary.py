"""The text summary that ``cg fit`` prints (a table of the beads and the fit's verdict).

Units: sigma nm, epsilon kJ/mol, T K, density nm^-3, mass amu, D (total deviation) nm, KL dimensionless, P bar,
U kJ/mol per molecule.
"""

from __future__ import annotations

import numpy as np


def text_summary(result: dict) -> str:
    """Human-readable summary of a :func:`project.cg.userfit.fit_user_run` result (units named)."""
    i = result["input"]
    lines = [
        f"{i['n_molecules']} molecules ({i['atoms_per_molecule']} atoms, {i['mass_amu']:.4g} amu), "
        f"{i['n_frames_used']} frames, T {i['T_K']:.5g} K, density {i['density_nm3']:.5g} nm^-3, first COM peak "
        f"{i['first_peak_r_nm']:.4g} nm",
        f"{'bead':<16s} {'sigma (nm)':>11s} {'eps (kJ/mol)':>13s} {'T*':>7s} {'rho*':>7s} {'D (nm)':>9s} "
        f"{'KL':>9s} {'P_EOS (bar)':>12s} {'U_EOS (kJ/mol)':>15s}",
    ]
    rows = [
        ("network", result["network"], None),
        ("fit", result["fit"], result["fit"].get("residual")),
        *((f"refined {k}", v, v.get("predicted")) for k, v in result["refined"].items()),
    ]
    if result.get("pressure_aware"):
        rows.append(("pressure-aware", result["pressure_aware"], result["pressure_aware"].get("predicted")))
    for k, v in (result.get("mie") or {}).items():
        rows.append((f"Mie {v['lambda_r']:.3g}-6 {k}"[:16], v, v.get("predicted")))
    for label, b, m in rows:
        d = m.get("total_deviation_nm") if m else None
        kl = m.get("kl_divergence") if m else None
        e = b.get("eos", {})
        lines.append(
            f"{label:<16s} {b['sigma']:11.5f} {b['epsilon']:13.5f} {e.get('T_star', np.nan):7.3f} "
            f"{e.get('rho_star', np.nan):7.3f} {(np.nan if d is None else d):9.4g} "
            f"{(np.nan if kl is None else kl):9.3g} {e.get('P_bar', np.nan):12.1f} "
            f"{e.get('U_per_molecule_kJ_mol', np.nan):15.3f}"
        )
    fit = result["fit"]
    lines.append(
        f"fit: sigma {fit['sigma']:.5f} +- {fit['sigma_std']:.5f} nm, epsilon {fit['epsilon']:.4f} +- "
        f"{fit['epsilon_std']:.4f} kJ/mol; chi^2/dof {fit['residual']['chi2_per_dof']:.3g}; one LJ fluid "
        f"describes it: {'yes' if result['lj_adequate'] else 'NO'}"
    )
    if i.get("aa_pressure_bar") is not None:
        lines.append(f"all-atom pressure (given): {i['aa_pressure_bar']:.1f} bar")
    lines.append(
        "D and KL: the fit's residual over its range, the refined beads' over theirs (forward model, no simulation)"
    )
    if result.get("mie"):
        lines.append(
            "Mie beads: P_EOS and U_EOS from SAFT-VR Mie; lambda_r = "
            + ", ".join(f"{v['lambda_r']:.3g} ({k})" for k, v in result["mie"].items())
        )
    lines.extend(
        f"{label}: state {'inside' if b['in_domain'] else 'OUTSIDE'} the forward model's training states "
        f"({b['distance_to_training']:.2g} x their spacing from the nearest)"
        for label, b, m in rows[2:]
    )
    lines.extend(f"WARNING: {w}" for w in result["warnings"])
    lines.extend(f"WARNING: {w}" for label, b, m in rows if m is not None for w in b.get("warnings", []))
    return "\n".join(lines) + "\n"


__all__ = ["text_summary"]
