"""Default places of a data space's products: the HDF5 export and the results catalogue.

Every command, the dashboard and the workflows take these defaults from here. Paths are relative to the data-space
folder (a signac project).
"""

from __future__ import annotations

import os
from pathlib import Path

#: The HDF5 export of a data space, relative to its folder.
EXPORT_RELPATH = Path("export") / "dataset.h5"
#: The results catalogue (SQLite) of a data space, relative to its folder.
CATALOGUE_RELPATH = Path("results") / "catalogue.sqlite"


def default_export(root: str | os.PathLike) -> Path:
    """The HDF5 export of the data space at ``root``: ``<root>/export/dataset.h5``."""
    return Path(root) / EXPORT_RELPATH


def default_catalogue(root: str | os.PathLike) -> Path:
    """The results catalogue of the data space at ``root``: ``<root>/results/catalogue.sqlite``."""
    return Path(root) / CATALOGUE_RELPATH
