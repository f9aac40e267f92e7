"""Environment variables of the platform: one prefix, ``LJ_``.

| variable | meaning |
|---|---|
| ``LJ_DATASPACE`` | data-space folder (default: the current directory) |
| ``LJ_CG_DATASPACE`` | coarse-graining data space (default ``./cg_space``) |
| ``LJ_ENGINE`` | MD engine: ``gromacs``, ``openmm`` or ``auto`` |
| ``LJ_THREADS`` | MD threads per run |
| ``LJ_OPENMM_PLATFORM`` | OpenMM platform (``CPU``, ``CUDA``, ...) |
| ``LJ_OPENMM_CHECKPOINT_S`` | OpenMM checkpoint interval (wall-clock s) |
| ``LJ_GMX_CHECKPOINT_MIN`` | GROMACS checkpoint interval (min) |
| ``LJ_MD_SLOW_FACTOR``, ``LJ_MD_STALL_S`` | watchdog of stalled MD runs (factor, CPU s) |

The settings below were once read as ``PROJECT_<NAME>``; that spelling is still honoured where ``LJ_<NAME>`` is
not set, so existing job scripts keep working.
"""

from __future__ import annotations

import os


def setting(name: str, default: str) -> str:
    """Value of ``LJ_<name>`` (else the old ``PROJECT_<name>``, else ``default``)."""
    return os.environ.get(f"LJ_{name}", os.environ.get(f"PROJECT_{name}", default))
