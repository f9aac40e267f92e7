"""Reading a user's RDF: two-column text files and GROMACS ``gmx rdf`` .xvg files.

Columns: r in nm, g(r) dimensionless. Lines starting with ``#`` or ``@`` (xvg headers) are skipped. Every
malformed file is refused with an :class:`~project.errors.RDFError` that names the file and the problem.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from project.errors import RDFError


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
    path = Path(path)
    if not path.is_file():
        raise RDFError(f"RDF file {path}: not found")
    rows = []
    for lineno, line in enumerate(path.read_text(errors="replace").splitlines(), start=1):
        text = line.strip()
        if not text or text[0] in "#@":
            continue
        parts = text.split()
        if len(parts) < 2:
            raise RDFError(f"RDF file {path}, line {lineno}: expected two columns (r in nm, g), got {len(parts)}")
        try:
            rows.append((float(parts[0]), float(parts[1])))
        except ValueError:
            raise RDFError(f"RDF file {path}, line {lineno}: not a number: {text[:60]!r}") from None
    if not rows:
        raise RDFError(f"RDF file {path}: no data lines (expected two columns: r in nm, g)")
    data = np.asarray(rows, dtype=float)
    r, g = data[:, 0], data[:, 1]
    validate_rdf(r, g, source=f"RDF file {path}")
    return r, g


def validate_rdf(r_nm: np.ndarray, g: np.ndarray, source: str = "RDF") -> None:
    """Check an RDF given as arrays; raise :class:`RDFError` naming ``source`` and the problem."""
    r_nm, g = np.asarray(r_nm, dtype=float), np.asarray(g, dtype=float)
    if r_nm.ndim != 1 or r_nm.shape != g.shape:
        raise RDFError(f"{source}: r and g must be 1-D arrays of the same length, got {r_nm.shape} and {g.shape}")
    if len(r_nm) < 10:
        raise RDFError(f"{source}: {len(r_nm)} points; at least 10 are needed")
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
    if np.any(g < 0):
        bad = int(np.flatnonzero(g < 0)[0])
        raise RDFError(f"{source}: negative g = {g[bad]:g} at r = {r_nm[bad]:g} nm (g(r) >= 0)")
