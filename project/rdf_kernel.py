"""Compiled pair histograms of the single-species g(r): the fast path of :func:`project.rdf.compute_rdf`.

Units: whatever the caller passes (``project.rdf`` passes Angstrom, MDAnalysis' unit, with edges in Angstrom).

The kernels reproduce, operation for operation, the arithmetic of MDAnalysis' grid search
(``MDAnalysis.lib.distances.self_capped_distance``, method ``nsgrid``, orthorhombic box) followed by
``numpy.histogram``, so that they count every pair in the same bin as the reference path
(``project.rdf.SingleSpeciesRDF`` with ``method="mdanalysis"``):

1. coordinates (float32) are wrapped into the primary box as ``_ortho_pbc`` of MDAnalysis does, in float32;
2. a pair difference is the float32 difference of two wrapped coordinates, promoted to float64;
3. the minimum image is the "lazy" one (one box shift, ``dx > L/2`` or ``dx <= -L/2``) in float64;
4. ``d2 = dx*dx + dy*dy + dz*dz`` (left to right, float64); a pair counts when ``d2 <= cutoff**2``;
5. the bin follows ``numpy.histogram`` with explicit edges: ``edges[k] <= r < edges[k+1]``, the last bin closed.

Two kernels share steps 1-5 (the same compiled functions) and differ only in which pairs they visit:

* :func:`pair_counts` visits every pair, N (N - 1) / 2 per frame: the faster one in a box under about three
  cut-offs wide (the data space's smallest box, N = 1000 at sigma 0.25 nm and rho* 0.95, is 2.1 cut-offs of
  1.2 nm wide).
* :func:`cell_pair_counts` sorts the wrapped particles into a grid of cells at least ``cutoff / CELLS_PER_CUTOFF``
  wide and visits, for every particle, only the cells within ``CELLS_PER_CUTOFF`` cells (half of them, so each
  pair once): of order N per frame. Which pairs it skips does not change a count: a skipped pair is more than
  one cut-off apart, and steps 2-5 of a visited pair do not depend on the order of its two particles (a float32
  difference changes sign exactly, and the lazy shift of ``-dx`` is that of ``dx`` mirrored, up to ``|dx| = L/2``
  where both give ``L/2``).

:func:`histogram_pairs` picks the cell list for a frame whose box is at least three cut-offs wide along every edge
(:data:`MIN_CELLS`), the all-pairs kernel otherwise. Triclinic boxes are not handled here (the caller,
:mod:`project.rdf`, uses MDAnalysis' grid search for them and says so at DEBUG).

Why not a library RDF: freud's ``density.RDF`` works in float32 and bins ties on bin edges differently (the
XTC positions are quantised at 0.01 Angstrom, so many pair distances fall exactly on the 0.05 Angstrom edges):
measured here up to 1.4e-4 in g against the reference path, above the 1e-6 the data space promises. The loops
are compiled with numba (no fast-math: no reordering or fused multiply-add that would change a rounding), serial
(``parallel=False``): the workflow runs one job per core, and a ``prange`` over slabs of cells on two threads took
2.5x the serial time (N = 10,000, a loaded two-core machine).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

#: Cells per cut-off length of the cell list (cells at least ``cutoff / CELLS_PER_CUTOFF`` wide). Two visit
#: about 3.7 candidates per pair within the cut-off (one: 6.4) at a neighbour loop still long enough to vectorise.
CELLS_PER_CUTOFF = 2
#: Relative margin on the cell width: a cell is at least ``(1 + _CELL_MARGIN) cutoff / CELLS_PER_CUTOFF`` wide, so
#: that rounding in the cell index or in a float32 difference never puts a pair within the cut-off two cells apart.
_CELL_MARGIN = 1e-4
#: Fewest cells along every box edge for the cell list, i.e. a box at least three cut-offs wide (it needs
#: ``2 CELLS_PER_CUTOFF + 1`` for each pair to be visited once). Measured on random frames at 20 nm^-3, r_max
#: 1.2 nm: at 2.55 and 2.8 cut-offs the cell list took 1.4x the time of all pairs, at 3.0 and 3.3 cut-offs 0.94x.
MIN_CELLS = 3 * CELLS_PER_CUTOFF
#: Most cells per particle (cells are made wider beyond it). Random frames, 2000 particles in a 10 nm box, r_max
#: 1.2 nm: 16^3 cells 1.0 ms, capped to 12^3 1.2 ms per frame; 1000 particles in a 50 nm box, r_max 0.5 nm:
#: 199^3 cells 52 ms, capped to 10^3 0.6 ms.
MAX_CELLS_PER_PARTICLE = 1


@njit(cache=True, nogil=True)
def _wrap_ortho(coords: np.ndarray, box: np.ndarray) -> None:  # pragma: no cover - compiled
    """Wrap float32 coordinates into [0, L) in place, exactly like MDAnalysis' ``_ortho_pbc``."""
    zero = np.float32(0.0)
    for i in range(coords.shape[0]):
        for j in range(3):
            b = box[j]
            inv = 1.0 / np.float64(b)
            crd = coords[i, j]
            if crd < zero:
                crd = np.float32(crd + b)
                if crd < zero:
                    s = math.floor(np.float64(coords[i, j]) * inv)
                    coords[i, j] = np.float32(coords[i, j] - np.float32(np.float32(s) * b))
                    if coords[i, j] < zero:
                        coords[i, j] = np.float32(coords[i, j] + b)
                else:
                    coords[i, j] = crd
            if crd >= b:  # on purpose no "else" (MDAnalysis: a shifted coordinate may land on L)
                crd = np.float32(crd - b)
                if crd >= b:
                    s = math.floor(np.float64(coords[i, j]) * inv)
                    coords[i, j] = np.float32(coords[i, j] - np.float32(np.float32(s) * b))
                    if coords[i, j] >= b:
                        coords[i, j] = np.float32(coords[i, j] - b)
                else:
                    coords[i, j] = crd


@njit(cache=True, nogil=True)
def _wrapped_frame(frame: np.ndarray, box: np.ndarray, c: np.ndarray) -> None:  # pragma: no cover - compiled
    """Copy one frame's float32 positions into ``c`` and wrap them into the box (step 1)."""
    for i in range(frame.shape[0]):
        for j in range(3):
            c[i, j] = frame[i, j]
    _wrap_ortho(c, box)


@njit(cache=True, nogil=True)
def _half_box(box: np.ndarray) -> tuple:  # pragma: no cover - compiled
    """Box edges and half edges in float64, the half edges rounded through float32 as MDAnalysis does."""
    lx, ly, lz = np.float64(box[0]), np.float64(box[1]), np.float64(box[2])
    hx = np.float64(np.float32(np.float32(0.5) * box[0]))
    hy = np.float64(np.float32(np.float32(0.5) * box[1]))
    hz = np.float64(np.float32(np.float32(0.5) * box[2]))
    return lx, ly, lz, hx, hy, hz


@njit(cache=True, nogil=True)
def _squared_distances(xi, yi, zi, xs, ys, zs, a, b, lx, ly, lz, hx, hy, hz, d2s, m):  # pragma: no cover - compiled
    """Write the squared minimum-image distances from (xi, yi, zi) to particles a..b-1 into ``d2s[m:]`` (steps 2-4).

    No branches (vectorisable): a shift of -1, 0 or +1 box is exact (x - (-L) == x + L, x - 0 == x), as
    MDAnalysis' branches. Returns the new fill level of ``d2s``.
    """
    for j in range(a, b):
        dx = np.float64(np.float32(xi - xs[j]))
        dy = np.float64(np.float32(yi - ys[j]))
        dz = np.float64(np.float32(zi - zs[j]))
        dx = dx - (np.float64(dx > hx) - np.float64(dx <= -hx)) * lx
        dy = dy - (np.float64(dy > hy) - np.float64(dy <= -hy)) * ly
        dz = dz - (np.float64(dz > hz) - np.float64(dz <= -hz)) * lz
        d2s[m + j - a] = dx * dx + dy * dy + dz * dz
    return m + b - a


@njit(cache=True, nogil=True)
def _bin_within(d2s, m, near, cutoff2, edges, lo, hi, width, counts, f):  # pragma: no cover - compiled
    """Add the squared distances ``d2s[:m]`` within the cut-off to ``counts[f]`` (step 5).

    The selection has no branch either (a branch here would be mispredicted for many pairs); then each kept
    distance is binned like ``numpy.histogram`` with explicit edges.
    """
    n_bins = edges.shape[0] - 1
    q = 0
    for j in range(m):
        d2 = d2s[j]
        near[q] = d2
        q += d2 <= cutoff2
    for p in range(q):
        r = math.sqrt(near[p])
        if r < lo or r > hi:
            continue
        k = int((r - lo) / width)
        if k > n_bins - 1:
            k = n_bins - 1
        while k > 0 and r < edges[k]:
            k -= 1
        while k < n_bins - 1 and r >= edges[k + 1]:
            k += 1
        counts[f, k] += 1


@njit(cache=True, nogil=True)
def _cutoff2(edges: np.ndarray) -> float:  # pragma: no cover - compiled
    """The squared cut-off as MDAnalysis' grid search compares it: float32 cut-off, squared in float32."""
    cut32 = np.float32(edges[edges.shape[0] - 1])
    return np.float64(np.float32(cut32 * cut32))


@njit(cache=True, nogil=True)
def pair_counts(frames: np.ndarray, boxes: np.ndarray, edges: np.ndarray, counts: np.ndarray) -> None:
    """Histogram the minimum-image pair distances of every frame, visiting every pair.

    Parameters
    ----------
    frames : numpy.ndarray
        float32 positions, shape (n_frames, N, 3) (any length unit; not modified).
    boxes : numpy.ndarray
        float32 orthorhombic box edges, shape (n_frames, 3), same unit as ``frames``.
    edges : numpy.ndarray
        float64 bin edges, increasing, ``edges[0] >= 0``; ``edges[-1]`` is the cut-off. Must be below half
        the smallest box edge (the caller checks).
    counts : numpy.ndarray
        int64 output, shape (n_frames, len(edges) - 1); unordered pairs per bin are added to it.
    """
    n_bins = edges.shape[0] - 1
    lo, hi = edges[0], edges[n_bins]
    width = (hi - lo) / n_bins
    cutoff2 = _cutoff2(edges)
    n = frames.shape[1]
    c = np.empty((n, 3), dtype=np.float32)
    xs = np.empty(n, dtype=np.float32)
    ys = np.empty(n, dtype=np.float32)
    zs = np.empty(n, dtype=np.float32)
    d2s = np.empty(n, dtype=np.float64)
    near = np.empty(n, dtype=np.float64)
    for f in range(frames.shape[0]):
        _wrapped_frame(frames[f], boxes[f], c)
        for i in range(n):
            xs[i], ys[i], zs[i] = c[i, 0], c[i, 1], c[i, 2]
        lx, ly, lz, hx, hy, hz = _half_box(boxes[f])
        for i in range(n - 1):
            m = _squared_distances(xs[i], ys[i], zs[i], xs, ys, zs, i + 1, n, lx, ly, lz, hx, hy, hz, d2s, 0)
            _bin_within(d2s, m, near, cutoff2, edges, lo, hi, width, counts, f)


def cells_per_side(box: np.ndarray, cutoff: float, n_particles: int | None = None) -> np.ndarray:
    """Number of cell-list cells along each box edge for a cut-off.

    Parameters
    ----------
    box : numpy.ndarray
        Orthorhombic box edges (3,), same length unit as ``cutoff``.
    cutoff : float
        The RDF cut-off (upper edge of the last bin), same unit.
    n_particles : int, optional
        Number of particles; caps the cells at :data:`MAX_CELLS_PER_PARTICLE` per particle (wider cells, still
        at least :data:`MIN_CELLS` per edge where there were that many), so a dilute system with a short cut-off
        does not loop over (and allocate) millions of empty cells.

    Returns
    -------
    numpy.ndarray
        int64 (3,): ``floor(L CELLS_PER_CUTOFF / ((1 + margin) cutoff))`` per edge, capped as above; the cell list
        is used when every entry is at least :data:`MIN_CELLS` (see :func:`histogram_pairs`).
    """
    box = np.asarray(box, dtype=np.float64)
    cells = np.floor(box * CELLS_PER_CUTOFF / ((1.0 + _CELL_MARGIN) * float(cutoff))).astype(np.int64)
    if n_particles is not None:
        limit = max(MAX_CELLS_PER_PARTICLE * int(n_particles), MIN_CELLS**3)
        total = float(np.prod(cells.astype(np.float64)))
        if total > limit:
            shrunk = np.floor(cells / (total / limit) ** (1.0 / 3.0)).astype(np.int64)
            cells = np.maximum(shrunk, np.minimum(cells, MIN_CELLS))
    return cells


def uses_cell_list(box: np.ndarray, cutoff: float) -> bool:
    """Whether :func:`histogram_pairs` bins a frame with this box (same unit as ``cutoff``) by the cell list."""
    return bool(np.all(cells_per_side(box, cutoff) >= MIN_CELLS))


@njit(cache=True, nogil=True)
def _row_ranges(start, base, x0, x1, nx, ranges):  # pragma: no cover - compiled
    """Particle index ranges of cells x0..x1 (periodic in x, at most one wrap) of the row starting at cell ``base``.

    Cells of a row are contiguous in the sorted order, so this is one range, or two when the strip wraps.
    Writes [a, b) pairs into ``ranges`` and returns how many (1 or 2).
    """
    if x0 < 0:
        ranges[0, 0], ranges[0, 1] = start[base + x0 + nx], start[base + nx]
        ranges[1, 0], ranges[1, 1] = start[base], start[base + x1 + 1]
        return 2
    if x1 >= nx:
        ranges[0, 0], ranges[0, 1] = start[base + x0], start[base + nx]
        ranges[1, 0], ranges[1, 1] = start[base], start[base + x1 - nx + 1]
        return 2
    ranges[0, 0], ranges[0, 1] = start[base + x0], start[base + x1 + 1]
    return 1


@njit(cache=True, nogil=True)
def _sort_into_cells(c, nx, ny, nz, lx, ly, lz, xs, ys, zs, start, cell):  # pragma: no cover - compiled
    """Counting sort of wrapped particles into cells (x fastest); sorted coordinates into xs, ys, zs.

    ``start[k]`` is the first sorted index of cell k (``start[n_cells]`` = N). A coordinate equal to L (possible
    after the wrap) goes into the last cell, next to the first one across the boundary.
    """
    n = c.shape[0]
    n_cells = nx * ny * nz
    sx, sy, sz = nx / lx, ny / ly, nz / lz
    for k in range(n_cells + 1):
        start[k] = 0
    for i in range(n):
        ix = min(int(np.float64(c[i, 0]) * sx), nx - 1)
        iy = min(int(np.float64(c[i, 1]) * sy), ny - 1)
        iz = min(int(np.float64(c[i, 2]) * sz), nz - 1)
        cell[i] = ix + nx * (iy + ny * iz)
        start[cell[i] + 1] += 1
    for k in range(n_cells):
        start[k + 1] += start[k]
    for i in range(n):
        k = cell[i]
        p = start[k]
        xs[p], ys[p], zs[p] = c[i, 0], c[i, 1], c[i, 2]
        start[k] = p + 1
    for k in range(n_cells, 0, -1):  # undo the shift of the fill pass
        start[k] = start[k - 1]
    start[0] = 0


@njit(cache=True, nogil=True)
def cell_pair_counts(
    frames: np.ndarray, boxes: np.ndarray, edges: np.ndarray, counts: np.ndarray, cells: np.ndarray
) -> None:
    """Histogram the minimum-image pair distances of every frame with a cell list (same bins as :func:`pair_counts`).

    Parameters
    ----------
    frames, boxes, edges, counts : numpy.ndarray
        As :func:`pair_counts`.
    cells : numpy.ndarray
        int64, shape (n_frames, 3): cells per box edge of each frame, from :func:`cells_per_side`; each at least
        ``2 CELLS_PER_CUTOFF + 1`` so that every pair is visited once (the caller checks).
    """
    p = CELLS_PER_CUTOFF
    n_bins = edges.shape[0] - 1
    lo, hi = edges[0], edges[n_bins]
    width = (hi - lo) / n_bins
    cutoff2 = _cutoff2(edges)
    n = frames.shape[1]
    c = np.empty((n, 3), dtype=np.float32)
    xs = np.empty(n, dtype=np.float32)
    ys = np.empty(n, dtype=np.float32)
    zs = np.empty(n, dtype=np.float32)
    d2s = np.empty(n, dtype=np.float64)
    near = np.empty(n, dtype=np.float64)
    cell = np.empty(n, dtype=np.int64)
    ranges = np.empty((2, 2), dtype=np.int64)
    for f in range(frames.shape[0]):
        nx, ny, nz = cells[f, 0], cells[f, 1], cells[f, 2]
        start = np.empty(nx * ny * nz + 1, dtype=np.int64)
        _wrapped_frame(frames[f], boxes[f], c)
        lx, ly, lz, hx, hy, hz = _half_box(boxes[f])
        _sort_into_cells(c, nx, ny, nz, lx, ly, lz, xs, ys, zs, start, cell)
        for iz in range(nz):
            for iy in range(ny):
                for ix in range(nx):
                    own = ix + nx * (iy + ny * iz)
                    for i in range(start[own], start[own + 1]):
                        xi, yi, zi = xs[i], ys[i], zs[i]
                        # own row: the rest of the own cell, then the next p cells in x
                        base = nx * (iy + ny * iz)
                        m = 0
                        if ix + p < nx:
                            m = _squared_distances(
                                xi, yi, zi, xs, ys, zs, i + 1, start[base + ix + p + 1], lx, ly, lz, hx, hy, hz, d2s, m
                            )
                        else:
                            m = _squared_distances(
                                xi, yi, zi, xs, ys, zs, i + 1, start[base + nx], lx, ly, lz, hx, hy, hz, d2s, m
                            )
                            m = _squared_distances(
                                xi,
                                yi,
                                zi,
                                xs,
                                ys,
                                zs,
                                start[base],
                                start[base + ix + p - nx + 1],
                                lx,
                                ly,
                                lz,
                                hx,
                                hy,
                                hz,
                                d2s,
                                m,
                            )
                        # rows of the upper half: dz > 0, or dz == 0 and dy > 0; cells ix - p .. ix + p
                        for dz in range(0, p + 1):
                            jz = (iz + dz) % nz
                            for dy in range(-p, p + 1):
                                if dz == 0 and dy <= 0:
                                    continue
                                base = nx * ((iy + dy) % ny + ny * jz)
                                for r in range(_row_ranges(start, base, ix - p, ix + p, nx, ranges)):
                                    m = _squared_distances(
                                        xi,
                                        yi,
                                        zi,
                                        xs,
                                        ys,
                                        zs,
                                        ranges[r, 0],
                                        ranges[r, 1],
                                        lx,
                                        ly,
                                        lz,
                                        hx,
                                        hy,
                                        hz,
                                        d2s,
                                        m,
                                    )
                        _bin_within(d2s, m, near, cutoff2, edges, lo, hi, width, counts, f)


def histogram_pairs(positions: np.ndarray, box: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Pair counts of one frame on ``edges``, by the cell list when the box is wide enough, else all pairs.

    Parameters
    ----------
    positions : numpy.ndarray
        (N, 3) positions (any length unit; converted to float32, not modified).
    box : numpy.ndarray
        Orthorhombic box edges (3,), same unit.
    edges : numpy.ndarray
        Bin edges, same unit, increasing from >= 0; the last is the cut-off, at most half the smallest edge.

    Returns
    -------
    numpy.ndarray
        int64 (len(edges) - 1,): unordered pairs per bin.
    """
    frames = np.ascontiguousarray(positions, dtype=np.float32)[None]
    boxes = np.ascontiguousarray(box[:3], dtype=np.float32)[None]
    edges = np.ascontiguousarray(edges, dtype=np.float64)
    counts = np.zeros((1, len(edges) - 1), dtype=np.int64)
    cells = cells_per_side(boxes[0], float(np.float32(edges[-1])), len(frames[0]))
    if np.all(cells >= MIN_CELLS):
        cell_pair_counts(frames, boxes, edges, counts, cells[None])
    else:
        pair_counts(frames, boxes, edges, counts)
    return counts[0]


def warm_up() -> None:
    """Compile both kernels (or load them from numba's cache) now, e.g. before forking worker processes."""
    edges = np.linspace(0.0, 1.0, 3)
    histogram_pairs(np.zeros((2, 3), dtype=np.float32), np.full(3, 10.0, dtype=np.float32), edges)
    histogram_pairs(np.zeros((2, 3), dtype=np.float32), np.full(3, 2.5, dtype=np.float32), edges)
