"""Reading a user's RDF: text files (whitespace- or comma-separated, CSV with a header row) and GROMACS
``gmx rdf`` .xvg files.

Columns: r (nm, or Angstrom with ``r_unit="A"``), g(r) dimensionless, and optionally a third column with the
1-std error of g. Lines starting with ``#`` or ``@`` (xvg headers) are skipped, and so is a first line of
column names. Every malformed file is refused with an :class:`~project.errors.RDFError` that names the file,
the line and the problem.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from project.errors import RDFError

#: Length units accepted for the r column, with their size in nm.
R_UNITS = {"nm": 1.0, "A": 0.1}


def read_rdf_table(path: str | Path, r_unit: str = "nm") -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Read an RDF file and return ``(r_nm, g, g_err)``; ``g_err`` is None without a third column.

    Parameters
    ----------
    path : str or Path
        Text file: columns r, g and optionally the error of g, separated by whitespace or commas; ``#`` and ``@``
        lines (xvg headers) and one first line of column names are skipped; further columns are ignored.
    r_unit : {"nm", "A"}
        Unit of the r column; r is returned in nm.

    Raises
    ------
    RDFError
        Missing or empty file, fewer than two columns, non-numeric values, fewer than 10 points, or an unknown
        ``r_unit``. Values (NaN, negative g, ordering) are checked by the caller
        (:func:`validate_rdf`, :func:`project.model.fit.fit_rdf`).
    """
    if r_unit not in R_UNITS:
        raise RDFError(f"r unit {r_unit!r}; allowed: {', '.join(R_UNITS)}")
    path = Path(path)
    if not path.is_file():
        raise RDFError(f"RDF file {path}: not found")
    rows, header_seen = [], False
    for lineno, line in enumerate(path.read_text(errors="replace").splitlines(), start=1):
        text = line.strip()
        if not text or text[0] in "#@":
            continue
        parts = text.replace(",", " ").split()
        if len(parts) < 2:
            raise RDFError(f"RDF file {path}, line {lineno}: expected two columns (r in {r_unit}, g), got {len(parts)}")
        try:
            values = [float(p) for p in parts[:3]]
        except ValueError:
            if not rows and not header_seen and not _is_number(parts[0]):  # a header row of column names
                header_seen = True
                continue
            raise RDFError(f"RDF file {path}, line {lineno}: not a number: {text[:60]!r}") from None
        rows.append(values if len(values) == 3 else values + [np.nan])
    if not rows:
        raise RDFError(f"RDF file {path}: no data lines (expected columns: r in {r_unit}, g)")
    data = np.asarray(rows, dtype=float)
    if len(data) < 10:
        raise RDFError(f"RDF file {path}: {len(data)} points; at least 10 are needed")
    g_err = data[:, 2] if np.any(np.isfinite(data[:, 2])) else None
    return data[:, 0] * R_UNITS[r_unit], data[:, 1], g_err


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def read_rdf_file(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Read an RDF file and return ``(r_nm, g)``.

    Parameters
    ----------
    path : str or Path
        Two-column text (r in nm, g) or a ``gmx rdf`` .xvg file; extra columns are ignored.

    Raises
    ------
    RDFError
        Missing or empty file, fewer than two columns, non-numeric values, NaN or infinite values, negative g,
        r not strictly increasing, negative r, or fewer than 10 points.
    """
    r, g, _ = read_rdf_table(path)
    validate_rdf(r, g, source=f"RDF file {path}")
    return r, g


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
