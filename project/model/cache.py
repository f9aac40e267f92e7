"""The models a process has loaded: one cache of the shipped inverse and forward models.

Loading a model reads its folder once (a few ms); :func:`shipped_models` keeps them for the life of the process.
Worker processes get the models their parent chose through :func:`init_worker` (a pool initializer), so that a
pool fits with the same models, shipped or not.
"""

from __future__ import annotations

from typing import Any

_LOADED: dict[str, Any] = {}
#: The models a worker process fits with (set by :func:`init_worker`).
_WORKER: dict[str, Any] = {}


def shipped_models():
    """The shipped inverse and forward models, loaded once per process: ``(InverseModel, ForwardModel)``."""
    from project.model.forward import ForwardModel
    from project.model.inverse import InverseModel

    if "inverse" not in _LOADED:
        _LOADED["inverse"] = InverseModel.load()
    if "forward" not in _LOADED:
        _LOADED["forward"] = ForwardModel.load()
    return _LOADED["inverse"], _LOADED["forward"]


def _shipped_mie(key: str, folder, load, what: str, train: str):
    """A shipped Mie model, loaded once per process; a clear :class:`ProjectError` when its folder is missing."""
    from project.errors import ProjectError

    if key not in _LOADED:
        if not (folder / "meta.json").is_file():
            raise ProjectError(
                f"potential mie: the Mie {what} is not installed ({folder} is missing); train it with {train}"
            )
        _LOADED[key] = load(folder)
    return _LOADED[key]


def shipped_mie_forward():
    """The shipped Mie lambda_r-6 forward model, loaded once per process.

    Raises
    ------
    ProjectError
        It is not installed (the message names the folder and how to train it).
    """
    from project.model.forward import SHIPPED_MIE_FORWARD, ForwardModel

    return _shipped_mie(
        "mie_forward",
        SHIPPED_MIE_FORWARD,
        ForwardModel.load,
        "forward model",
        "python -m project.model.train_forward --potential mie",
    )


def shipped_mie_inverse():
    """The shipped Mie lambda_r-6 inverse network, loaded once per process (a missing one: as
    :func:`shipped_mie_forward`)."""
    from project.model.inverse import InverseModel
    from project.model.train_mie import SHIPPED_MIE_INVERSE

    return _shipped_mie(
        "mie_inverse", SHIPPED_MIE_INVERSE, InverseModel.load, "inverse network", "python -m project.model.train_mie"
    )


def resolve(inverse=None, forward=None):
    """The given models, with the shipped ones (cached) for those left None: ``(InverseModel, ForwardModel)``."""
    if inverse is None or forward is None:
        shipped_inverse, shipped_forward = shipped_models()
        inverse = shipped_inverse if inverse is None else inverse
        forward = shipped_forward if forward is None else forward
    return inverse, forward


def init_worker(inverse, forward) -> None:
    """Pool initializer: the models a worker process fits with (:func:`worker_models`)."""
    _WORKER["models"] = (inverse, forward)


def worker_models():
    """The models :func:`init_worker` gave this process, else the shipped ones."""
    return _WORKER.get("models") or shipped_models()
