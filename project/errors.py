"""Exceptions raised by the platform.

Every error names the offending field or file and what is allowed, so a user can fix the input.
"""

from __future__ import annotations


class ProjectError(Exception):
    """Base class of every error the platform raises on purpose."""


class StatePointError(ProjectError, ValueError):
    """A state point is outside the schema or the stable single-phase fluid.

    Parameters
    ----------
    field : str
        Name of the offending state-point key.
    message : str
        What is wrong and what is allowed.
    """

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"state point field '{field}': {message}")


class SimulationError(ProjectError, RuntimeError):
    """An MD run failed (engine error, NaN or infinite energy, lost atoms)."""


class RDFError(ProjectError, ValueError):
    """An RDF could not be computed, or an RDF (file) is malformed."""


class ExportError(ProjectError, RuntimeError):
    """The HDF5 export is missing, corrupt, or inconsistent."""
