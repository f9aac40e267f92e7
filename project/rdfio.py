"""Reading a user's RDF as programs write it: plain text tables (whitespace- or comma-separated, CSV with a header
row), GROMACS ``gmx rdf`` .xvg files (one or several selections), LAMMPS ``fix ave/time`` output of ``compute rdf``
(blocks of rows ``index r g coord``) and VMD ``measure gofr`` / g(r) GUI files (r, g, integral of g).

Units: r is returned in nm (read in nm, or Angstrom with ``r_unit="A"``: LAMMPS real and metal units and VMD
write Angstrom); g(r) and its error are dimensionless.

What the columns mean is decided as follows, and every decision that changes the numbers is said in the
``warnings`` of the result (:class:`RDFFile`):

* **Several RDFs in one file** (``gmx rdf`` with several selections, named by its ``@ sN legend`` lines; LAMMPS
  with several pairs): ``column`` picks one (1 = the first); without it the file is refused, naming them.
* **A third column** is the 1-std error of g only when ``columns`` says so (``"r,g,err"``) or it plainly is one:
  non-negative, positive where g > 0.5, small against g (median error/g <= :data:`ERR_MAX_REL` where g > 0.5)
  and not cumulative (a coordination number or an integral of g never decreases). Otherwise it is ignored,
  with a warning.
* **r as left bin edges**: a uniform grid that starts at r = 0 is read as left bin edges and shifted by half a
  bin to the bin centres, except in ``gmx rdf`` .xvg files (recognised by their header), whose bins are centred on
  r = 0, dr, 2 dr, ... (the first bin is half a bin wide). ``r_grid`` overrides the guess.
* **LAMMPS blocks**: ``blocks="last"`` reads the last complete block, ``"mean"`` the mean of all blocks.

Refused with an :class:`~project.errors.RDFError` naming the file, the line or value, and what is allowed: a
missing file or a directory, malformed lines, fewer than 10 points, NaN, r not increasing, several RDFs without
``column``, a self-pair spike at r ~ 0 (:func:`check_rdf_shape`) and raw pair counts or an unnormalised g
(g far from 1 at large r).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from project.errors import RDFError

#: Length units accepted for the r column, with their size in nm.
R_UNITS = {"nm": 1.0, "A": 0.1}
#: Which blocks of a LAMMPS ``fix ave/time`` file are read.
BLOCKS = ("last", "mean")
#: What the r column marks: guessed (``auto``), bin centres, or left bin edges (shifted to centres).
R_GRIDS = ("auto", "centres", "left-edges")
#: Column names understood by ``columns``; any other name marks a column that is ignored.
COLUMN_ROLES = ("r", "g", "err")
#: Largest median ratio error/g (where g > 0.5) of a third column read as the error of g (dimensionless).
ERR_MAX_REL = 0.1
#: Allowed mean of g over the last quarter of the r range: an RDF tends to 1 at large r.
TAIL_MEAN_RANGE = (0.5, 2.0)
#: g above which a point counts as inside a coordination shell (dimensionless); g below CORE_G as empty core.
SHELL_G, CORE_G = 0.5, 0.05
#: g at r ~ 0 above which a point is a self-pair spike (dimensionless): 1 / (rho V_bin) is >> 10 for any bin.
SPIKE_G = 10.0


@dataclass
class RDFFile:
    """An RDF read from a file.

    Attributes
    ----------
    r_nm : numpy.ndarray
        Bin centres (or point positions) in nm.
    g : numpy.ndarray
        g(r), dimensionless.
    g_err : numpy.ndarray or None
        1-std error of g (dimensionless), None when the file gives none.
    warnings : list of str
        Decisions that changed how the file's numbers are read (ignored third column, shifted r, LAMMPS block).
    info : dict
        How the file was read: ``format``, the columns used, ``r_grid``, ``third_column``, LAMMPS ``blocks``.
    """

    r_nm: np.ndarray
    g: np.ndarray
    g_err: np.ndarray | None
    warnings: list[str] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)


def read_rdf(
    path: str | Path,
    r_unit: str = "nm",
    columns: str | None = None,
    column: int | None = None,
    blocks: str = "last",
    r_grid: str = "auto",
) -> RDFFile:
    """Read an RDF file in any of the formats of the module docstring.

    Parameters
    ----------
    path : str or Path
        The file.
    r_unit : {"nm", "A"}
        Unit of r in the file; r is returned in nm.
    columns : str or None
        Comma list naming the file's columns in order: ``r``, ``g``, ``err`` (1-std error of g); any other name
        (``index``, ``coord``, ``-``) marks a column to ignore, e.g. ``"r,g,err"`` or ``"index,r,g,coord"``.
        None: decided by the format.
    column : int or None
        With several RDFs in one file (gmx rdf selections, LAMMPS pairs, or columns r, g_A, g_B, ...): which
        one, counting from 1.
    blocks : {"last", "mean"}
        LAMMPS ``fix ave/time`` files: the last block, or the mean of all blocks.
    r_grid : {"auto", "centres", "left-edges"}
        What r marks; left edges are shifted by half a bin to the centres.

    Raises
    ------
    RDFError
        Everything listed in the module docstring, naming the file and the value.
    """
    roles = check_read_options(r_unit, columns, column, blocks, r_grid)
    path = Path(path)
    if path.is_dir():
        raise RDFError(f"RDF file {path}: is a directory; give one RDF file (or many with --manifest CSV)")
    if not path.is_file():
        raise RDFError(f"RDF file {path}: not found")
    source = f"RDF file {path}"
    lines = path.read_text(errors="replace").splitlines()
    comments = [t.strip() for t in lines if t.strip()[:1] in ("#", "@")]
    if any("timestep number-of-rows" in c.lower() for c in comments) or _looks_lammps(lines):
        out = _read_lammps(lines, source, roles, column, blocks)
    else:
        data, names = _numeric_rows(lines, source, r_unit)
        if any(c.startswith("@") for c in comments):
            out = _xvg_columns(data, comments, source, roles, column)
        else:
            out = _table_columns(data, names, source, roles, column)
    out.r_nm = out.r_nm * R_UNITS[r_unit]
    validate_rdf(out.r_nm, out.g, source, allow_negative=True)
    _place_r(out, r_grid, source)
    check_rdf_shape(out.r_nm, out.g, source)
    return out


def check_read_options(
    r_unit: str = "nm",
    columns: str | None = None,
    column: int | None = None,
    blocks: str = "last",
    r_grid: str = "auto",
) -> dict[str, int] | None:
    """Check the options of :func:`read_rdf`; return the positions (0-based) of r, g and err named by ``columns``
    and their count ``n`` (None without ``columns``). Raises :class:`RDFError` naming the option and what is
    allowed."""
    if r_unit not in R_UNITS:
        raise RDFError(f"r unit {r_unit!r}; allowed: {', '.join(R_UNITS)}")
    if blocks not in BLOCKS:
        raise RDFError(f"blocks {blocks!r}; allowed: {', '.join(BLOCKS)}")
    if r_grid not in R_GRIDS:
        raise RDFError(f"r grid {r_grid!r}; allowed: {', '.join(R_GRIDS)}")
    if column is not None and column < 1:
        raise RDFError(f"column {column}; allowed: 1, 2, ... (the N-th RDF of the file, counting from 1)")
    if columns is None:
        return None
    if column is not None:
        raise RDFError("give --columns or --column, not both")
    names = [c.strip() for c in columns.split(",")]
    roles = {n: names.index(n) for n in COLUMN_ROLES if n in names}
    if "r" not in roles or "g" not in roles or any(names.count(n) > 1 for n in COLUMN_ROLES):
        raise RDFError(
            f"columns {columns!r}: name each of r and g once (and err, the 1-std error of g, at most once); "
            "other names mark ignored columns, e.g. r,g,err or index,r,g,coord"
        )
    roles["n"] = len(names)
    return roles


def _numeric_rows(lines: list[str], source: str, r_unit: str) -> tuple[np.ndarray, list[str] | None]:
    """The numeric rows of a table or .xvg file and the column names of a header row (or of the last comment line
    with as many words as the rows have columns)."""
    rows: list[list[float]] = []
    names: list[str] | None = None
    last_comment: list[str] = []
    width = None
    for lineno, line in enumerate(lines, start=1):
        text = line.strip()
        if not text or text[0] in "#@":
            if text.startswith("#"):
                last_comment = text.lstrip("#").replace(",", " ").split()
            continue
        parts = text.replace(",", " ").split()
        if len(parts) < 2:
            raise RDFError(f"{source}, line {lineno}: expected two columns (r in {r_unit}, g), got {len(parts)}")
        try:
            values = [float(p) for p in parts]
        except ValueError:
            if not rows and names is None and not _is_number(parts[0]):  # a header row of column names
                names = parts
                continue
            raise RDFError(f"{source}, line {lineno}: not a number: {text[:60]!r}") from None
        if width is None:
            width = len(values)
            if names is None and len(last_comment) == width:
                names = last_comment
        elif len(values) != width:
            raise RDFError(
                f"{source}, line {lineno}: {len(values)} columns; the first data line has {width} (allowed: the "
                "same number on every line)"
            )
        rows.append(values)
    if not rows:
        raise RDFError(f"{source}: no data lines (expected columns: r in {r_unit}, g)")
    return np.asarray(rows, dtype=float), names


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _by_roles(data: np.ndarray, roles: dict[str, int], source: str, fmt: str) -> RDFFile:
    """Columns picked by ``columns``."""
    if roles["n"] > data.shape[1]:
        raise RDFError(f"{source}: --columns names {roles['n']} columns; the file has {data.shape[1]}")
    err = data[:, roles["err"]] if "err" in roles else None
    info = {"format": fmt, "columns": f"as given: r = column {roles['r'] + 1}, g = column {roles['g'] + 1}"}
    info["third_column"] = "error of g (as given)" if err is not None else "not used"
    return RDFFile(data[:, roles["r"]], data[:, roles["g"]], err, [], info)


def _pick(n_rdf: int, column: int | None, labels: list[str], source: str, what: str) -> int:
    """Index (0-based) of the RDF chosen by ``column`` among ``n_rdf``; refuse when several and none chosen."""
    named = ", ".join(f"{k + 1}: {labels[k]}" for k in range(n_rdf))
    if column is None and n_rdf > 1:
        raise RDFError(f"{source} holds {n_rdf} RDFs ({what}) {named}; pick one with --column N (1-{n_rdf})")
    k = (column or 1) - 1
    if k >= n_rdf:
        raise RDFError(f"{source}: --column {column}; the file holds {n_rdf} RDF(s) ({what}) {named}")
    return k


def _xvg_columns(
    data: np.ndarray, comments: list[str], source: str, roles: dict[str, int] | None, column: int | None
) -> RDFFile:
    """A .xvg file: r, then one g column per legend (``@ sN legend "..."``); a gmx rdf header marks the grid."""
    legends: dict[int, str] = {}
    for c in comments:
        m = re.match(r'@\s*s(\d+)\s+legend\s+"(.*)"', c)
        if m:
            legends[int(m.group(1))] = m.group(2)
    text = " ".join(comments).lower()
    gmx = "gmx rdf" in text or "gmx_mpi rdf" in text or re.search(r'title\s+"radial distribution"', text) is not None
    if re.search(r'title\s+"cumulative', text):
        raise RDFError(f"{source}: a cumulative number RDF (gmx rdf -cn), not g(r); give the -o file")
    if roles is not None:
        out = _by_roles(data, roles, source, "xvg")
    elif len(legends) > 1 or (gmx and data.shape[1] > 2):
        n = data.shape[1] - 1
        labels = [f'"{legends[k]}"' if k in legends else f"column {k + 2}" for k in range(n)]
        k = _pick(n, column, labels, source, "gmx rdf selections" if gmx else "xvg data sets")
        out = RDFFile(data[:, 0], data[:, k + 1], None, [], {"format": "xvg", "columns": f"r, g = {labels[k]}"})
        out.info["third_column"] = "not used"
    else:
        out = _table_columns(data, None, source, None, column)
        out.info["format"] = "xvg"
    out.info["gmx_rdf"] = gmx
    return out


def _table_columns(
    data: np.ndarray, names: list[str] | None, source: str, roles: dict[str, int] | None, column: int | None
) -> RDFFile:
    """A plain table: r, g, and a third column read as the error of g only when it plainly is one."""
    if roles is not None:
        out = _by_roles(data, roles, source, "table")
    elif column is not None:
        n = data.shape[1] - 1
        labels = [names[k + 1] if names and len(names) == data.shape[1] else f"column {k + 2}" for k in range(n)]
        k = _pick(n, column, labels, source, "columns after r")
        out = RDFFile(data[:, 0], data[:, k + 1], None, [], {"format": "table", "columns": f"r, g = {labels[k]}"})
        out.info["third_column"] = "not used"
    else:
        out = RDFFile(data[:, 0], data[:, 1], None, [], {"format": "table", "columns": "r, g = columns 1, 2"})
        out.info["third_column"] = "none"
        if data.shape[1] >= 3:
            verdict = third_column_verdict(data[:, 1], data[:, 2])
            if verdict is None:
                out.g_err = data[:, 2]
                out.info["third_column"] = "error of g (non-negative, small against g, not cumulative)"
            else:
                out.info["third_column"] = f"ignored: {verdict}"
                out.warnings.append(
                    f"the third column is not read as the error of g: {verdict}; the noise is estimated from the "
                    "curve (give --columns r,g,err if it is the 1-std error of g)"
                )
    if names and len(names) == data.shape[1]:
        out.info["names"] = names
    return out


def third_column_verdict(g: np.ndarray, c: np.ndarray) -> str | None:
    """Why a third column ``c`` is not plainly the 1-std error of ``g`` (dimensionless), or None when it is one.

    An error column is finite and non-negative, positive where g > :data:`SHELL_G`, small against g there (median
    c/g <= :data:`ERR_MAX_REL`) and not cumulative (a coordination number or an integral of g never decreases).
    """
    shell = g > SHELL_G
    if not np.all(np.isfinite(c)) or np.any(c < 0) or not np.any(shell):
        return "it is not finite and non-negative"
    if np.all(np.diff(c) >= 0):
        return "it never decreases (cumulative, like a coordination number or the integral of g)"
    rel = float(np.median(c[shell] / g[shell]))
    if rel > ERR_MAX_REL:
        return (
            f"it is not small against g (median ratio {rel:.3g} where g > 0.5; an error is at most "
            f"{ERR_MAX_REL:g}): another RDF or a count?"
        )
    if np.any(c[shell] <= 0):
        return "it is 0 at some points where g > 0.5"
    return None


def _looks_lammps(lines: list[str]) -> bool:
    """A LAMMPS fix ave/time file without its comment lines: a first data line of two integers (timestep, rows),
    then a row starting with index 1."""
    data = [t.split() for t in (x.strip() for x in lines) if t and t[0] not in "#@"][:2]
    if len(data) < 2 or len(data[0]) != 2 or len(data[1]) < 3 or data[1][0] != "1":
        return False
    return all(p.isdigit() for p in data[0])


def _read_lammps(
    lines: list[str], source: str, roles: dict[str, int] | None, column: int | None, blocks: str
) -> RDFFile:
    """LAMMPS ``fix ave/time`` output of ``compute rdf``: per block a line ``TimeStep Number-of-rows``, then
    that many rows ``index r g_1 coord_1 [g_2 coord_2 ...]``; r is the bin centre."""
    parsed: list[tuple[int, np.ndarray]] = []
    head: tuple[int, int, int] | None = None  # (line number, timestep, rows)
    rows: list[list[float]] = []
    warnings: list[str] = []

    def close() -> None:
        if head is None:
            return
        if len(rows) == head[2]:
            parsed.append((head[1], np.asarray(rows, dtype=float)))
        else:
            warnings.append(
                f"the LAMMPS block of timestep {head[1]} (line {head[0]}) has {len(rows)} of its {head[2]} rows "
                "(file still being written?): not used"
            )

    for lineno, line in enumerate(lines, start=1):
        text = line.strip()
        if not text or text[0] == "#":
            continue
        parts = text.split()
        try:
            values = [float(p) for p in parts]
        except ValueError:
            raise RDFError(f"{source}, line {lineno}: not a number: {text[:60]!r}") from None
        if len(values) == 2:
            close()
            head, rows = (lineno, int(values[0]), int(values[1])), []
        elif head is None or len(values) < 3 or (rows and len(values) != len(rows[0])):
            raise RDFError(
                f"{source}, line {lineno}: expected a block header 'TimeStep Number-of-rows' or a row 'index r g "
                f"coord' of LAMMPS fix ave/time, got {text[:60]!r}"
            )
        else:
            rows.append(values)
    close()
    if not parsed:
        raise RDFError(f"{source}: no complete block of LAMMPS fix ave/time rows (TimeStep Number-of-rows, rows)")
    last = parsed[-1][1]
    if blocks == "mean" and any(a.shape != last.shape or not np.allclose(a[:, 1], last[:, 1]) for _, a in parsed):
        raise RDFError(f"{source}: the LAMMPS blocks have different r grids; allowed with --blocks mean: one grid")
    steps = [t for t, _ in parsed]
    data = parsed[-1][1] if blocks == "last" else np.mean([a for _, a in parsed], axis=0)
    info: dict[str, Any] = {"format": "LAMMPS fix ave/time", "n_blocks": len(parsed), "timesteps": steps}
    if blocks == "last":
        info["blocks"] = f"last block (timestep {steps[-1]})"
    else:
        info["blocks"] = f"mean of {len(parsed)} blocks (timesteps {steps[0]}-{steps[-1]})"
    if len(parsed) > 1:
        other = "mean (--blocks mean averages all)" if blocks == "last" else "last"
        warnings.append(f"LAMMPS fix ave/time file with {len(parsed)} blocks: {info['blocks']} read, not the {other}")
    if roles is not None:
        out = _by_roles(data, roles, source, info["format"])
        out.info.update(info)
    else:
        n_pairs = max((data.shape[1] - 2) // 2, 1)
        k = _pick(n_pairs, column, [f"pair {j + 1}" for j in range(n_pairs)], source, "compute rdf pairs")
        info["columns"] = f"index, r, g and coord of pair {k + 1} (coord, the coordination number, not used)"
        out = RDFFile(data[:, 1], data[:, 2 + 2 * k], None, [], info)
    out.warnings = warnings + out.warnings
    return out


def _place_r(out: RDFFile, r_grid: str, source: str) -> None:
    """Shift r given as left bin edges to the bin centres (in place), with a warning."""
    r = out.r_nm
    step = np.diff(r)
    uniform = bool(np.allclose(step, step.mean(), rtol=0.01, atol=1e-9))
    if r_grid == "auto":
        lammps = out.info["format"].startswith("LAMMPS")
        named = bool(re.search(r"left|edge|lower", (out.info.get("names") or [""])[0], re.IGNORECASE))
        left = uniform and (r[0] == 0.0 or named) and not out.info.get("gmx_rdf") and not lammps
    else:
        left = r_grid == "left-edges"
    if left and not uniform:
        raise RDFError(f"{source}: r as left bin edges needs a uniform grid; this one is not uniform")
    if not left:
        gmx = " (gmx rdf: bins centred on r = 0, dr, 2 dr, ...)" if out.info.get("gmx_rdf") and r[0] == 0 else ""
        out.info["r_grid"] = "bin centres or point positions, as given" + gmx
        return
    half = 0.5 * float(step.mean())
    out.r_nm = r + half
    out.info["r_grid"] = f"left bin edges, shifted by +{half:.6g} nm to the bin centres"
    why = "as given" if r_grid != "auto" else "r starts at 0 on a uniform grid" if r[0] == 0 else "its column name"
    out.warnings.append(
        f"r read as left bin edges ({why}) and shifted by half a bin, +{half:.4g} nm, to the bin centres"
        + (
            "; if each value belongs to its r (bins centred on r = 0, dr, 2 dr, ... as gmx rdf writes them), "
            "give --r-grid centres"
            if r_grid == "auto"
            else ""
        )
    )


def check_rdf_shape(r_nm: np.ndarray, g: np.ndarray, source: str = "RDF") -> None:
    """Refuse what is not a normalised g(r) of a fluid, with :class:`RDFError` naming the value.

    * A **self-pair spike**: g > :data:`SPIKE_G` in the first three points (r ~ 0), then at least three points
      with g < :data:`CORE_G`, then the first shell: each particle counted at distance 0 from itself
      (MDAnalysis ``InterRDF(ag, ag)`` without ``exclusion_block=(1, 1)``).
    * **Raw counts or an unnormalised g**: the mean of g over the last quarter of the r range (nm) outside
      :data:`TAIL_MEAN_RANGE` (an RDF tends to 1 at large r).
    """
    r, g = np.asarray(r_nm, float), np.asarray(g, float)
    k = int(np.argmax(g[:3]))
    if g[k] > SPIKE_G:
        empty = g[k + 1 :] < CORE_G
        run = np.flatnonzero(empty[:-2] & empty[1:-1] & empty[2:])  # three points in a row: the empty core
        if len(run) and np.any(g[k + 1 + run[0] :] > SHELL_G):
            end = k + 1 + run[0] + int(np.argmax(g[k + 1 + run[0] :] > SHELL_G))
            raise RDFError(
                f"{source}: g = {g[k]:.4g} at r = {r[k]:.4g} nm, then g < {CORE_G} up to r = {r[end]:.4g} nm: a "
                "spike of self-pairs (each particle counted at distance 0 from itself, as MDAnalysis InterRDF(ag, "
                "ag) gives without exclusion_block=(1, 1)); recompute without them (allowed: g ~ 0 at r ~ 0)"
            )
    tail = r >= r[0] + 0.75 * (r[-1] - r[0])
    mean = float(np.mean(g[tail]))
    lo, hi = TAIL_MEAN_RANGE
    if not lo <= mean <= hi:
        raise RDFError(
            f"{source}: g averages {mean:.4g} over r = {r[tail][0]:.4g}-{r[-1]:.4g} nm (the last quarter of its "
            f"range); a normalised RDF tends to 1 at large r (allowed: {lo:g}-{hi:g}). Raw pair counts or an "
            "unnormalised histogram? Divide each bin's count by its ideal-gas count (rho V_shell per particle)"
        )


def read_rdf_file(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Read an RDF file (r in nm) with the default choices of :func:`read_rdf` and return ``(r_nm, g)``.

    Raises
    ------
    RDFError
        As :func:`read_rdf`, and for negative g.
    """
    out = read_rdf(path)
    validate_rdf(out.r_nm, out.g, source=f"RDF file {path}")
    return out.r_nm, out.g


def validate_rdf(
    r_nm: np.ndarray, g: np.ndarray, source: str = "RDF", min_points: int = 10, allow_negative: bool = False
) -> None:
    """Check an RDF given as arrays; raise :class:`RDFError` naming ``source`` and the problem.

    ``min_points``: the fewest points accepted; ``allow_negative``: accept negative g (the refined fit masks and
    judges them itself).
    """
    r_nm, g = np.asarray(r_nm, dtype=float), np.asarray(g, dtype=float)
    if r_nm.ndim != 1 or r_nm.shape != g.shape:
        raise RDFError(f"{source}: r and g must be 1-D arrays of the same length, got {r_nm.shape} and {g.shape}")
    if len(r_nm) < min_points:
        raise RDFError(f"{source}: {len(r_nm)} points; at least {min_points} are needed")
    if not np.all(np.isfinite(r_nm)):
        raise RDFError(f"{source}: r contains NaN or infinite values")
    if not np.all(np.isfinite(g)):
        bad = int(np.flatnonzero(~np.isfinite(g))[0])
        raise RDFError(f"{source}: g is NaN or infinite at r = {r_nm[bad]:g} nm")
    if np.any(r_nm < 0):
        raise RDFError(f"{source}: negative r (r must be distances in nm, >= 0)")
    if np.any(np.diff(r_nm) <= 0):
        bad = int(np.flatnonzero(np.diff(r_nm) <= 0)[0])
        raise RDFError(f"{source}: r is not strictly increasing at r = {r_nm[bad]:g} nm")
    if not allow_negative and np.any(g < 0):
        bad = int(np.flatnonzero(g < 0)[0])
        raise RDFError(f"{source}: negative g = {g[bad]:g} at r = {r_nm[bad]:g} nm (g(r) >= 0)")
