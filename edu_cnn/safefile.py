"""Files written all at once or not at all, and opened only when they are regular files.

One home for what model files (:mod:`edu_cnn.modelfile`), ONNX exports and downloads
(:mod:`edu_cnn.data.download`) share:

* :func:`atomic_write` – a temporary file beside the target, ``fsync``, ``os.replace``;
  the file mode of a file it replaces is kept (0644 stays 0644), a new file gets the
  usual ``0666 & ~umask``;
* :func:`remove_stale_temporaries` – the temporary files of a writer that was killed
  (``kill -9``, a power cut) are named ``.NAME.PID.RANDOM.tmp`` (``.part`` for downloads);
  the next write removes those whose process is gone (and, for names without a PID, those
  older than an hour). Nothing else in the folder is touched;
* :func:`read_regular_file` – open without blocking, refuse what is not a regular file (a
  FIFO would hang, ``/dev/zero`` never ends) and anything larger than a limit, before a
  byte is read.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

__all__ = ["atomic_write", "read_regular_file", "remove_stale_temporaries"]

#: A temporary file without a PID in its name (older edu_cnn) counts as stale after this.
STALE_AFTER_SECONDS = 3600.0


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    except OSError:
        return True
    return True


def remove_stale_temporaries(
    folder: str | os.PathLike[str], name: str, suffix: str = ".tmp"
) -> list[Path]:
    """Remove the leftovers of killed writes of ``folder/name``; return what was removed.

    Only names of this module's own pattern (``.NAME.PID.RANDOM.SUFFIX``, or the older
    ``.NAME.RANDOM.SUFFIX``) are considered; a file whose writer is still running is kept.
    """
    pattern = re.compile(
        rf"^\.{re.escape(name)}\.(?:(\d+)\.)?[A-Za-z0-9_]{{6,16}}"
        rf"{re.escape(suffix)}$"
    )
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        match = pattern.match(entry.name)
        if not match:
            continue
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if not stat.S_ISREG(info.st_mode):
            continue
        pid = match.group(1)
        stale = (not _pid_alive(int(pid))) if pid else now - info.st_mtime > STALE_AFTER_SECONDS
        if stale:
            with contextlib.suppress(OSError):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
    return removed


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX); a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_write(
    path: str | os.PathLike[str],
    where: str = "atomic_write",
    *,
    suffix: str = ".tmp",
    error: type[Exception] = ValueError,
) -> Iterator[BinaryIO]:
    """Write ``path`` all at once or not at all.

    Yields a binary file in the same folder; when the ``with`` block ends without an
    error the data are flushed to disk (``fsync``), the file gets the mode of the file it
    replaces (or ``0666 & ~umask`` for a new one) and is renamed onto ``path``
    (``os.replace`` is atomic). On any error the temporary file is removed and ``path``
    keeps its previous content. Leftovers of killed earlier writes are removed first.

    ``error`` is the exception class raised (with ``where`` in the message) when the
    folder does not exist.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise error(f"{where}: the folder {str(folder)!r} does not exist")
    remove_stale_temporaries(folder, path.name, suffix)
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        mode = 0o666 & ~_umask()
    temp = folder / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}{suffix}"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
            os.fchmod(handle.fileno(), mode)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _fsync_folder(folder)


def read_regular_file(path: str | os.PathLike[str], limit: int, what: str = "file") -> bytes:
    """The bytes of ``path`` if it is a regular file of at most ``limit`` bytes.

    The file is opened with ``O_NONBLOCK`` (a FIFO does not wait for a writer) and checked
    with ``fstat`` on the open descriptor (no race with a rename), so a pipe, a device such
    as ``/dev/zero`` or a folder is refused at once, before anything is read.

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        Not a regular file, or larger than ``limit``; the message names the path.
    """
    path = Path(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags)
    except IsADirectoryError:
        raise ValueError(f"{path}: is a folder, not a {what}") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        if stat.S_ISDIR(info.st_mode):
            raise ValueError(f"{path}: is a folder, not a {what}")
        kind = (
            "a pipe (FIFO)"
            if stat.S_ISFIFO(info.st_mode)
            else "a device"
            if stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode)
            else "a socket"
            if stat.S_ISSOCK(info.st_mode)
            else "not a regular file"
        )
        raise ValueError(f"{path}: is {kind}, not a {what}; only regular files are read")
    with os.fdopen(fd, "rb") as handle:
        if info.st_size > limit:
            raise ValueError(
                f"{path}: is {info.st_size:,} bytes, more than the {limit:,} a {what} may have"
            )
        data = handle.read(limit + 1)
    if len(data) > limit:  # the file grew while we read it
        raise ValueError(f"{path}: is more than the {limit:,} bytes a {what} may have")
    return data
