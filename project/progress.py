"""Progress of a local ``flow.py run``: one line per finished operation with a counter and a time estimate.

Plain Python (no signac). :func:`start` is called by the entry point before flow forks its worker processes,
which inherit the shared counter; :func:`finished` is called by each operation when it ends and logs to the
``lj.run`` logger, e.g. ``[3/16] simulate 1a2b3c4: 12.3 s, U*/N = -5.12, P* = 0.41 | elapsed 0:40, left ~2:13``.
Times are wall-clock seconds.
"""

from __future__ import annotations

import logging
import multiprocessing
import time

log = logging.getLogger("lj.run")

_state: dict = {"t0": None, "total": 0, "done": None}


def start(total: int) -> None:
    """Start counting: ``total`` operations expected (0 when unknown)."""
    _state.update(t0=time.monotonic(), total=int(total), done=multiprocessing.Value("i", 0))


def _clock(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def finished(operation: str, job_id: str, seconds: float, detail: str = "") -> str:
    """Count one finished operation and log its summary line; return the line.

    Parameters
    ----------
    operation : str
        Operation name.
    job_id : str
        Job id (the line shows its first 7 characters).
    seconds : float
        Wall time of the operation in s.
    detail : str
        Result summary appended to the line.
    """
    head = ""
    tail = ""
    if _state["done"] is not None:
        with _state["done"].get_lock():
            _state["done"].value += 1
            done = _state["done"].value
        total = _state["total"]
        elapsed = time.monotonic() - _state["t0"]
        head = f"[{done}/{total}] " if total else f"[{done}] "
        tail = f" | elapsed {_clock(elapsed)}"
        if total and done < total:
            tail += f", left ~{_clock(elapsed / done * (total - done))}"
    line = f"{head}{operation} {job_id[:7]}: {seconds:.1f} s{', ' + detail if detail else ''}{tail}"
    log.info(line)
    return line
