"""Benchmark: centre-of-mass g(r) speed (frames/s) on the AA trajectories of the CG data space.

Usage: ``python benchmarks/bench_cg_com_rdf.py [CG_DATASPACE]`` (default ``$LJ_CG_DATASPACE`` or ``./cg_space``).
Prints one line per molecule: frames, molecules, wall time (s) and frames/s of the compiled kernels (default path)
and of MDAnalysis' grid search (``method="mdanalysis"``, the reference), their ratio, the largest difference in g
between the two (target <= 1e-6), and the first-peak position (nm) and height.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from project.cg.com_rdf import compute_com_rdf  # noqa: E402
from project.dataspace import cg_dataspace  # noqa: E402
from project.rdf_kernel import warm_up  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "cg_dataspace", nargs="?", default=None, help="CG data space (default $LJ_CG_DATASPACE or ./cg_space)"
    )
    root = cg_dataspace(p.parse_args().cg_dataspace) / "workspace"
    warm_up()  # load the compiled kernels before timing
    for job in sorted(root.glob("*/aa.json")):
        d = job.parent
        walls, results = {}, {}
        for method in ("auto", "mdanalysis"):
            t0 = time.perf_counter()
            results[method] = compute_com_rdf(d / "aa_topology.tpr", d / "aa_traj.xtc", method=method)
            walls[method] = time.perf_counter() - t0
        res = results["auto"]
        dg = float(np.max(np.abs(res.g - results["mdanalysis"].g)))
        print(
            f"{d.name[:8]}: {res.n_frames} frames, {res.n_atoms} molecules, compiled {walls['auto']:.2f} s "
            f"({res.n_frames / walls['auto']:.0f} frames/s), MDAnalysis {walls['mdanalysis']:.2f} s, "
            f"ratio {walls['auto'] / walls['mdanalysis']:.2f}, max |dg| {dg:.2g}, first peak "
            f"{res.first_peak_r_nm:.4f} nm (g = {res.first_peak_g:.3f})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
