"""Provenance of every computed product: code version, packages, engine, host, times and input hashes.

Plain library code (no signac): the workflow layer stores the returned dicts in each job document.
"""

from __future__ import annotations

import datetime as _dt
import functools
import hashlib
import json
import platform
import socket
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
#: Python packages whose versions are recorded.
PACKAGES = ("numpy", "scipy", "signac", "signac-flow", "MDAnalysis", "openmm", "h5py", "teqp", "tensorflow", "keras")


def now() -> str:
    """Return the current UTC time in ISO 8601 format with seconds."""
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def code_version(repo: Path | None = None) -> dict[str, Any]:
    """Return the git commit of the code and whether the working tree was dirty.

    Falls back to the package version when the code is not in a git checkout.
    """
    from project import __version__

    root = Path(repo) if repo else REPO_ROOT
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout
        return {"commit": commit, "dirty": bool(status.strip()), "package_version": __version__}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None, "package_version": __version__}


def code_version_string(repo: Path | None = None) -> str:
    """Return ``<commit>[-dirty]`` (or ``package-<version>`` outside git) for file attributes."""
    cv = code_version(repo)
    if cv["commit"] is None:
        return f"package-{cv['package_version']}"
    return cv["commit"] + ("-dirty" if cv["dirty"] else "")


@functools.lru_cache(maxsize=1)
def package_versions() -> dict[str, str | None]:
    """Return the installed versions of the packages in :data:`PACKAGES` (None when not installed)."""
    out: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def host_info() -> dict[str, Any]:
    """Return the host name, platform, Python version and CPU count."""
    import os

    return {
        "hostname": socket.gethostname(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
    }


def hash_statepoint(sp: dict[str, Any]) -> str:
    """Return the sha256 of the canonical JSON of a state point."""
    return hashlib.sha256(json.dumps(sp, sort_keys=True).encode()).hexdigest()


def hash_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """Return the sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def provenance(
    sp: dict[str, Any],
    *,
    started: str,
    engine: dict[str, Any] | None = None,
    inputs: dict[str, str | Path] | None = None,
) -> dict[str, Any]:
    """Return the provenance record of one operation on one state point.

    Parameters
    ----------
    sp : dict
        The state point (its hash and seed are recorded).
    started : str
        ISO start time (from :func:`now`); the end time is taken now.
    engine : dict, optional
        Engine name and version.
    inputs : dict, optional
        Name -> path of input files whose sha256 is recorded (missing files are recorded as None).
    """
    hashes = {"statepoint": hash_statepoint(sp)}
    for name, path in (inputs or {}).items():
        # signac documents refuse dots in keys: "traj.xtc" is stored as "traj_xtc"
        hashes[name.replace(".", "_")] = hash_file(path) if Path(path).is_file() else None
    return {
        "code": code_version(),
        "packages": package_versions(),
        "engine": engine,
        "host": host_info(),
        "started": started,
        "finished": now(),
        "input_hashes": hashes,
        "seed": sp.get("seed"),
    }
