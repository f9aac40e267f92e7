"""Benchmark: the g(r) stage against the simulate stage of one job, and the compiled g(r) against MDAnalysis.

One job of the training library's protocol (argon-like sigma = 0.34 nm, epsilon = 0.99 kJ/mol, T* = 0.9,
rho* = 0.8, N = 1000, dt = 0.004 tau, 20 + 100 tau, 201 frames) is simulated with GROMACS on ``--threads`` threads
(default 1, as ``flow.py run`` gives each job on a 2-core machine); then ``compute_rdf`` runs on its trajectory
with the default compiled path and with ``method="mdanalysis"`` (the reference), ``--repeat`` times each after a
warm-up (imports and the compiled kernel loaded). Prints wall times (s, median), the ratio RDF/simulate (target
<= 0.10) and the largest difference in g and in the block errors between the two paths (target <= 1e-6).

With ``--n N`` it times a big system instead: 100 frames of N particles (default frames ``--frames``) at the LJ
liquid density 20.35 nm^-3 (rho* = 0.8 at sigma = 0.34 nm), each frame an fcc lattice with N of its sites filled
and every particle displaced by a Gaussian of 0.05 nm per axis, written as a real ``.gro`` + ``.xtc`` through
MDAnalysis. On the same files and the export grid (0-1.2 nm, 0.005 nm bins) it times ``compute_rdf`` (default
path; median of ``--repeat`` runs after a warm-up), MDAnalysis' own ``InterRDF`` (one run; the group with itself,
``exclusion_block=(1, 1)``, which gives the same N (N - 1) normalisation) and ``compute_rdf(method="mdanalysis")``
(one run; the reference of the 1e-6 promise). Prints the times (s), the largest differences in g, the load average
of the machine, and as its last line ``rdf/MDAnalysis time at N=<N>: X`` (compute_rdf over InterRDF; target
<= 0.5). InterRDF's g may differ by a pair or two: its edges are ``linspace(0, 12, 241)`` in Angstrom, ours the
0.005 nm edges times 10, and 75 of the 241 differ in the last bit (5.75 vs 5.750000000000001 Angstrom), so a pair
exactly on such an edge (XTC positions are quantised) can land one bin apart (N = 10,000: one pair in 7e7).

Usage: ``python benchmarks/bench_rdf.py [--threads 1] [--repeat 3]`` or
``python benchmarks/bench_rdf.py --n 10000 [--frames 100] [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from project import units  # noqa: E402
from project.rdf import RDF_N_BINS, RDF_R_MAX_NM, compute_rdf  # noqa: E402
from project.simulate import run_simulation  # noqa: E402
from project.statepoint import normalise  # noqa: E402

#: Number density of the synthetic big system, nm^-3 (rho* = 0.8 at sigma = 0.34 nm).
BIG_DENSITY_NM3 = 0.8 / 0.34**3
#: Displacement of each particle from its lattice site, nm (standard deviation per axis).
BIG_JITTER_NM = 0.05


def write_big_system(folder: Path, n: int, n_frames: int, seed: int = 1) -> tuple[Path, Path, float]:
    """Write ``n`` particles (lattice-jittered fcc at :data:`BIG_DENSITY_NM3`) for ``n_frames`` frames as
    ``big.gro`` + ``big.xtc`` in ``folder``; returns the two paths and the cubic box edge in nm."""
    import warnings

    import MDAnalysis as mda

    box_nm = (n / BIG_DENSITY_NM3) ** (1 / 3)
    k = int(np.ceil((n / 4) ** (1 / 3)))
    basis = np.array([[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]])
    idx = np.arange(k)
    cells = np.stack(np.meshgrid(idx, idx, idx, indexing="ij"), axis=-1).reshape(-1, 1, 3)
    rng = np.random.default_rng(seed)
    sites = ((cells + basis).reshape(-1, 3) + 0.25) / k * box_nm
    sites = sites[np.sort(rng.choice(len(sites), n, replace=False))]
    u = mda.Universe.empty(n, trajectory=True)
    u.add_TopologyAttr("names", ["LJ"] * n)
    u.add_TopologyAttr("resnames", ["LJ"])
    u.dimensions = np.array([box_nm * 10.0] * 3 + [90.0] * 3)
    gro, xtc = folder / "big.gro", folder / "big.xtc"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with mda.Writer(str(xtc), n) as w:
            for _ in range(n_frames):
                u.atoms.positions = (sites + rng.normal(0.0, BIG_JITTER_NM, sites.shape)) * 10.0
                w.write(u.atoms)
        u.atoms.write(str(gro))
    return gro, xtc, box_nm


def big_system(n: int, n_frames: int, repeat: int) -> None:
    """Time compute_rdf, MDAnalysis' InterRDF and the MDAnalysis path of compute_rdf on a synthetic big system."""
    import warnings

    import MDAnalysis as mda
    from MDAnalysis.analysis.rdf import InterRDF

    from project.rdf_kernel import uses_cell_list

    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench_rdf_big_") as tmp:
        gro, xtc, box_nm = write_big_system(Path(tmp), n, n_frames)
        cells = uses_cell_list(np.full(3, box_nm * 10.0, dtype=np.float32), RDF_R_MAX_NM * 10.0)
        compute_rdf(gro, xtc, n_blocks=1, stop=2)  # warm-up: imports, compiled kernels
        runs = []
        for _ in range(repeat):
            t0 = time.monotonic()
            ours = compute_rdf(gro, xtc)
            runs.append(time.monotonic() - t0)
        ours_s = statistics.median(runs)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t0 = time.monotonic()
            u = mda.Universe(str(gro), str(xtc))
            inter = InterRDF(
                u.atoms, u.atoms, nbins=RDF_N_BINS, range=(0.0, RDF_R_MAX_NM * 10.0), exclusion_block=(1, 1)
            ).run()
            inter_s = time.monotonic() - t0
            t0 = time.monotonic()
            ref = compute_rdf(gro, xtc, method="mdanalysis")
            ref_s = time.monotonic() - t0
    load_after = os.getloadavg()
    print(
        f"N = {n}, {ours.n_frames} frames, box {box_nm:.4f} nm, {ours.density_nm3:.4g} nm^-3, "
        f"grid 0-{RDF_R_MAX_NM} nm in {RDF_N_BINS} bins; {'cell list' if cells else 'all pairs'}"
    )
    print(
        f"compute_rdf: {ours_s:.3f} s (median of {repeat})   MDAnalysis InterRDF: {inter_s:.3f} s   "
        f"compute_rdf(method='mdanalysis'): {ref_s:.3f} s"
    )
    print(
        f"max |g - g mdanalysis path| = {np.max(np.abs(ours.g - ref.g)):.3g}, "
        f"max |g_err difference| = {np.max(np.abs(ours.g_err - ref.g_err)):.3g} (target <= 1e-6); "
        f"max |g - g InterRDF| = {np.max(np.abs(ours.g - inter.results.rdf)):.3g}"
    )
    print(
        "load average (1, 5, 15 min) before "
        + ", ".join(f"{x:.2f}" for x in load_before)
        + ", after "
        + ", ".join(f"{x:.2f}" for x in load_after)
        + f" on {os.cpu_count()} cores"
    )
    print(f"rdf/MDAnalysis time at N={n}: {ours_s / inter_s:.3f}")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures; returns 0."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=1, help="GROMACS threads (default 1)")
    ap.add_argument("--repeat", type=int, default=3, help="timed g(r) runs per path (default 3)")
    ap.add_argument(
        "--n", type=int, default=None, help="time a synthetic big system of N particles instead (e.g. 10000)"
    )
    ap.add_argument("--frames", type=int, default=100, help="frames of the big system (default 100)")
    args = ap.parse_args(argv)
    if args.n is not None:
        if args.n < 2 or args.frames < 5:
            ap.error(f"--n {args.n} --frames {args.frames}: allowed: N >= 2 and at least 5 frames (block errors)")
        big_system(args.n, args.frames, args.repeat)
        return 0
    sigma, eps = 0.34, 0.99
    sp = normalise(
        {
            "sigma": sigma,
            "epsilon": eps,
            "T": units.temperature_from_reduced(0.9, eps),
            "rho": units.density_from_reduced(0.8, sigma),
            "N": 1000,
            "dt": 0.004,
            "t_equil": 20.0,
            "t_prod": 100.0,
            "t_sample": 0.5,
            "seed": 11,
        }
    )
    with tempfile.TemporaryDirectory(prefix="bench_rdf_") as tmp:
        t0 = time.monotonic()
        run_simulation(sp, tmp, engine="gromacs", threads=args.threads)
        simulate_s = time.monotonic() - t0
        top, traj = Path(tmp) / "topology.pdb", Path(tmp) / "traj.xtc"
        results, times = {}, {}
        for method in ("auto", "mdanalysis"):
            results[method] = compute_rdf(top, traj, method=method)  # warm-up: imports, compiled kernel
            runs = []
            for _ in range(args.repeat):
                t0 = time.monotonic()
                compute_rdf(top, traj, method=method)
                runs.append(time.monotonic() - t0)
            times[method] = statistics.median(runs)
    dg = float(np.max(np.abs(results["auto"].g - results["mdanalysis"].g)))
    derr = float(np.max(np.abs(results["auto"].g_err - results["mdanalysis"].g_err)))
    print(f"simulate (GROMACS, {args.threads} thread(s)): {simulate_s:.2f} s; {results['auto'].n_frames} frames")
    print(
        f"g(r) compiled: {times['auto']:.3f} s   g(r) MDAnalysis: {times['mdanalysis']:.3f} s   "
        f"speed-up {times['mdanalysis'] / times['auto']:.1f}x"
    )
    print(f"max |g compiled - g MDAnalysis| = {dg:.3g}; max |g_err difference| = {derr:.3g} (target <= 1e-6)")
    print(f"RDF/simulate per job: {times['auto'] / simulate_s:.3f} (target <= 0.10)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
