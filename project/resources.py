"""Files that ship beside the package rather than inside it: the signac-flow scripts, their submission
templates and the coarse-graining results of ``docs/results/cg``.

In a source checkout (also ``pip install -e .``) they are the files of the checkout; an installed wheel puts
copies under ``<prefix>/share/lj-inverse/`` (``[tool.setuptools.data-files]`` in ``pyproject.toml``).
"""

from __future__ import annotations

import os
import sys
import sysconfig
from pathlib import Path

from project.errors import ProjectError

#: Where each shared item lives in a checkout (relative to the repository root) and in ``share/lj-inverse``.
_ITEMS = {
    "flow.py": ("flow.py", "flow.py"),
    "flow_cg.py": ("flow_cg.py", "flow_cg.py"),
    "templates": ("templates", "templates"),
    "results/cg": ("docs/results/cg", "results/cg"),
}


def _candidates(name: str) -> list[Path]:
    in_checkout, in_share = _ITEMS[name]
    root = Path(__file__).resolve().parents[1]
    out = [root / in_checkout] if (root / "pyproject.toml").is_file() else []
    bases = [sysconfig.get_path("data"), sys.prefix, sysconfig.get_path("data", f"{os.name}_user")]
    for base in dict.fromkeys(bases):
        out.append(Path(base) / "share" / "lj-inverse" / in_share)
    return out


def find_shared(name: str) -> Path | None:
    """The path of a shared item (``flow.py``, ``flow_cg.py``, ``templates``, ``results/cg``), or None."""
    return next((p for p in _candidates(name) if p.exists()), None)


def workflow_file(name: str = "flow.py") -> Path:
    """The signac-flow script ``name`` (``flow.py`` or ``flow_cg.py``); ProjectError naming the places tried."""
    path = find_shared(name)
    if path is None:
        raise ProjectError(
            f"workflow script {name} not found; looked in {', '.join(str(c) for c in _candidates(name))}"
        )
    return path
