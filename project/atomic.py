"""Atomic file writes: write to a temporary file in the target's folder, then ``os.replace`` it into place.

Readers see the old file or the new one, never a half-written one; an error (or an interruption) removes the
temporary file and leaves the old file untouched.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = ".tmp", fsync: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success move it onto ``path``, on error remove it.

    Parameters
    ----------
    path : path
        The final file.
    suffix : str
        Suffix of the temporary name (writers such as ``numpy.savez`` or matplotlib look at it).
    fsync : bool
        Flush the temporary file to disk before the rename.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    os.close(fd)
    try:
        yield Path(tmp)
        if fsync:
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; products are meant to be read by others
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` atomically (flushed to disk before the rename)."""
    with atomic_path(path, fsync=True) as tmp:
        tmp.write_text(text)


def atomic_copy(src: str | os.PathLike, dst: str | os.PathLike) -> None:
    """Copy ``src`` onto ``dst`` atomically."""
    with atomic_path(dst) as tmp:
        shutil.copyfile(src, tmp)


@contextmanager
def exclusive_lock(path: str | os.PathLike, blocking: bool = False) -> Iterator[bool]:
    """Hold an exclusive advisory lock (``fcntl.flock``) on ``path`` (created if missing) for the ``with`` block.

    Yields True when the lock is held, False when another process holds it and ``blocking`` is False. The lock
    goes away with the process that holds it (a killed run leaves no stale lock behind).

    Parameters
    ----------
    path : path
        The lock file, e.g. ``<job folder>/.lock``.
    blocking : bool
        Wait for the lock instead of giving up at once.
    """
    import fcntl

    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
