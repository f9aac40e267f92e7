"""Sub-commands of ``python -m project`` that live beside their subsystems (export, catalogue, model, ...).

Each ``register_*`` function adds one sub-command to the parser; importing this module registers them all.
"""

from __future__ import annotations

from project.cli import _EXTRA_COMMANDS  # noqa: F401
