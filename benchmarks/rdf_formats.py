"""RDF files as other programs write them, made from simulated LJ RDFs (0.005 nm histogram bins, r in nm).

Used by ``bench_realworld.py --formats`` and by ``tests/test_rdfio.py``: gmx rdf with two selections (its bin
convention, 0.01 nm), LAMMPS ``fix ave/time`` output of ``compute rdf`` (real units, Angstrom, five blocks), VMD gofr
(r in Angstrom, g, integral), a table written at the left bin edges, and a CSV with the error of g.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

#: The formats :func:`write_format` writes.
FORMATS = ("lammps-last", "lammps-mean", "gmx-two-selections", "vmd", "left-edges", "error")

GMX_TWO_SELECTIONS = """# This file was created Mon Dec  7 05:00:00 2026
# Created by:
#                      :-) GROMACS - gmx rdf, 2023.3 (-:
# Command line:
#   gmx rdf -f traj.xtc -s topol.tpr -ref 0 -sel 0 1 -bin 0.01
@    title "Radial distribution"
@    xaxis  label "r (nm)"
@    yaxis  label "g(r)"
@TYPE xy
@ subtitle "reference LJ"
@ legend on
@ s0 legend "LJ"
@ s1 legend "LJ_other"
"""


def shell_weights(r: np.ndarray) -> np.ndarray:
    """Shell volumes (nm^3 / (4 pi / 3)) of the 0.005 nm bins centred on ``r`` (nm)."""
    edges = np.concatenate([r - 0.0025, [r[-1] + 0.0025]])
    return np.diff(edges**3)


def gmx_convention(r: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """0.01 nm bins as gmx rdf makes them: bin i centred on r = 0.01 i nm, [0.01 i - 0.005, 0.01 i + 0.005] (bin 0:
    [0, 0.005]); exact shell-volume averages of the dataset's 0.005 nm bins."""
    w = shell_weights(r)
    n = (len(g) - 1) // 2
    pairs = np.arange(1, 2 * n + 1).reshape(n, 2)
    gg = np.concatenate([[g[0]], (g[pairs] * w[pairs]).sum(1) / w[pairs].sum(1)])
    return 0.01 * np.arange(n + 1), gg


def left_edge_bins(r: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """0.01 nm bins [0.01 i, 0.01 (i + 1)] written at their left edge r = 0.01 i nm (shell-volume averages)."""
    w = shell_weights(r)
    n = len(g) // 2
    gw, ww = (g * w)[: 2 * n].reshape(n, 2).sum(1), w[: 2 * n].reshape(n, 2).sum(1)
    return 0.01 * np.arange(n), gw / ww


def coordination(r: np.ndarray, g: np.ndarray, rho: float) -> np.ndarray:
    """Running coordination number 4 pi rho sum g r^2 dr (r nm, rho nm^-3), as LAMMPS and VMD write it."""
    return np.cumsum(4 * np.pi * rho * g * r**2 * 0.005)


def write_lammps(path: Path, r_nm: np.ndarray, blocks: list[np.ndarray], rho: float, rows: int | None = None):
    """A LAMMPS fix ave/time file of compute rdf in real units (r in Angstrom): one block per g, timesteps 1000,
    2000, ...; ``rows``: write only that many rows of the last block (a file still being written)."""
    text = [
        "# Time-averaged data for fix rdfout\n# TimeStep Number-of-rows\n# Row c_rdf[1] c_rdf[2] c_rdf[3]\n",
    ]
    for b, g in enumerate(blocks):
        text.append(f"{1000 * (b + 1)} {len(r_nm)}\n")
        cn = coordination(r_nm, g, rho)
        n = len(r_nm) if rows is None or b < len(blocks) - 1 else rows
        text += [f"{k + 1} {10 * r_nm[k]:.4f} {g[k]:.6f} {cn[k]:.6f}\n" for k in range(n)]
    path.write_text("".join(text))


def lammps_blocks(g: np.ndarray, g_err: np.ndarray, n: int = 5) -> list[np.ndarray]:
    """n blocks around g with its measured error (the dataset's standard error of 5 block means), mean exactly g."""
    z = np.random.default_rng(3).normal(size=(n, len(g)))
    z -= z.mean(0)
    return [g + np.sqrt(n) * g_err * zk for zk in z]


def write_format(
    fmt: str, path: Path, r: np.ndarray, g: np.ndarray, g_err: np.ndarray, rho: float, other_g: np.ndarray
) -> dict:
    """Write one simulated RDF (r nm, g, g_err; density rho nm^-3) to ``path`` in format ``fmt`` (:data:`FORMATS`);
    ``other_g`` is the second selection of the gmx file. Returns the keyword arguments of
    :func:`project.rdfio.read_rdf` a user gives for it."""
    if fmt.startswith("lammps"):
        write_lammps(path, r, lammps_blocks(g, g_err), rho)
        return {"r_unit": "A", "blocks": fmt[7:]}
    if fmt == "gmx-two-selections":
        rr, ga = gmx_convention(r, g)
        gb = gmx_convention(r, other_g)[1]
        path.write_text(GMX_TWO_SELECTIONS + "".join(f"{a:.3f} {b:.6f} {c:.6f}\n" for a, b, c in zip(rr, ga, gb)))
        return {"column": 1}
    if fmt == "vmd":
        cn = coordination(r, g, rho)
        path.write_text("".join(f"{10 * a:.4f} {b:.6f} {c:.6f}\n" for a, b, c in zip(r, g, cn)))
        return {"r_unit": "A"}
    if fmt == "left-edges":
        path.write_text("".join(f"{a:.4f} {b:.5f}\n" for a, b in zip(*left_edge_bins(r, g))))
        return {}
    if fmt == "error":
        path.write_text("r_nm,g,g_err\n" + "".join(f"{a:.4f},{b:.6f},{c:.6f}\n" for a, b, c in zip(r, g, g_err)))
        return {}
    raise ValueError(f"format {fmt!r}; allowed: {', '.join(FORMATS)}")
