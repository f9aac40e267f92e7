"""Benchmark: centre-of-mass g(r) speed (frames/s) on the AA trajectories of the CG data space.

Usage: ``python benchmarks/bench_cg_com_rdf.py [CG_DATASPACE]`` (default ``$LJ_CG_DATASPACE`` or ``./cg_space``).
Prints one line per molecule: frames, molecules, wall time (s), frames/s, first-peak position (nm) and height.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from project.cg.com_rdf import compute_com_rdf  # noqa: E402
from project.dataspace import cg_dataspace  # noqa: E402


def main() -> int:
    root = cg_dataspace(sys.argv[1] if len(sys.argv) > 1 else None) / "workspace"
    for job in sorted(root.glob("*/aa.json")):
        d = job.parent
        t0 = time.perf_counter()
        res = compute_com_rdf(d / "aa_topology.tpr", d / "aa_traj.xtc")
        wall = time.perf_counter() - t0
        print(
            f"{d.name[:8]}: {res.n_frames} frames, {res.n_atoms} molecules, {wall:.2f} s, "
            f"{res.n_frames / wall:.0f} frames/s, first peak {res.first_peak_r_nm:.4f} nm "
            f"(g = {res.first_peak_g:.3f})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
