"""Moved to :mod:`project.metrics` (temporary re-export while the CG modules are updated)."""

from project.metrics import *  # noqa: F403
from project.metrics import __all__  # noqa: F401
