"""Fetching a data file from a list of mirrors, safely.

What :func:`fetch_file` guarantees:

* mirrors are tried in turn, each with a timeout per read **and an overall deadline**
  (a mirror sending one byte a second is given up), so an offline laptop does not hang;
* a mirror may not send more than the file's expected size (an endless body is cut off
  there, not written until the disk is full);
* the bytes go to a temporary file *in the destination folder* (``.NAME.PID.RANDOM.part``)
  and are checked (length, SHA-256 and – where the publisher only gives one – MD5) before
  :func:`os.replace` moves them into place in one atomic step, so the cache never holds a
  half-written or unchecked file, whatever goes wrong (interrupted transfer, wrong
  checksum, full disk, Ctrl-C); the ``.part`` files of a killed download are removed by
  the next one;
* ``EDU_CNN_OFFLINE=1`` (:func:`edu_cnn.settings.offline`) forbids any network access.

Nothing here touches the network at import time.

Why not pooch (which this module otherwise resembles: a registry of hashes, mirrors,
atomic writes): its HTTP downloader has no size cap and no overall deadline (``requests``'
timeout is per read), both required here; it checks one hash per file (Fashion-MNIST's
publisher gives MD5, we add SHA-256); on a hash mismatch of a file already in the cache it
downloads over it, while this cache never deletes a file a user put there (see
:mod:`edu_cnn.data.mnist`); and its temporary files (``tmpXXXXXXXX``) cannot be told from
a user's, so leftovers could not be cleaned. With a custom downloader for the cap and the
deadline, pooch would be left doing the rename and one hash – a dependency (and
``requests``) for that. The progress bar is tqdm's, as pooch's would be (``tqdm.auto``, as
in :func:`edu_cnn.training.fit`: a widget in Jupyter, a text line in a terminal).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from edu_cnn import settings
from edu_cnn.data.errors import ChecksumError, DataError, DownloadError
from edu_cnn.safefile import remove_stale_temporaries

__all__ = [
    "DEFAULT_TIMEOUT",
    "RemoteFile",
    "deadline_for",
    "fetch_file",
    "file_digests",
    "verify_file",
]

#: Seconds to wait for a mirror to answer (and between two received blocks).
DEFAULT_TIMEOUT = 20.0
#: The slowest transfer accepted: below this many bytes a second on average, the deadline
#: (:func:`deadline_for`) gives the mirror up.
MIN_BYTES_PER_SECOND = 50_000
#: What a file of unknown size may be at most.
MAX_UNKNOWN_SIZE = 100_000_000
_CHUNK = 1 << 16
_USER_AGENT = "edu-cnn data loader"


@dataclass(frozen=True)
class RemoteFile:
    """A file that can be fetched from mirrors and checked.

    Parameters
    ----------
    name : str
        File name, the same on every mirror and in the cache.
    sha256 : str
        Expected SHA-256 of the file as served (hex).
    md5 : str or None
        Expected MD5 as well, where the publisher gives only MD5; checked too.
    size : int or None
        Expected size in bytes, for the progress bar and an early length check.
    """

    name: str
    sha256: str
    md5: str | None = None
    size: int | None = None


def file_digests(path: str | os.PathLike[str]) -> tuple[str, str]:
    """SHA-256 and MD5 (hex) of a file, read once in blocks."""
    sha, md5 = hashlib.sha256(), hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            sha.update(block)
            md5.update(block)
    return sha.hexdigest(), md5.hexdigest()


def _checksum_problem(remote: RemoteFile, sha256: str, md5: str) -> str | None:
    if sha256 != remote.sha256.lower():
        return f"SHA-256 is {sha256}, expected {remote.sha256}"
    if remote.md5 is not None and md5 != remote.md5.lower():
        return f"MD5 is {md5}, expected {remote.md5}"
    return None


def verify_file(path: str | os.PathLike[str], remote: RemoteFile) -> None:
    """Raise :class:`ChecksumError` naming ``path`` unless it has the expected checksums."""
    problem = _checksum_problem(remote, *file_digests(path))
    if problem:
        raise ChecksumError(
            f"{path}: checksum mismatch ({problem}). The file is damaged or not the "
            "expected one: delete it and fetch it again."
        )


def _progress_bar(name: str, total: int | None) -> Any:
    """A tqdm bar counting the bytes of ``name`` (kB / MB as they grow): ``tqdm.auto``
    draws a widget in Jupyter and a text line on stderr in a terminal.
    """
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=name, unit="B", unit_scale=True, leave=True, mininterval=0.2)


def deadline_for(remote: RemoteFile) -> float:
    """Seconds one mirror gets for the whole file: a minute, plus the time of the expected
    size at :data:`MIN_BYTES_PER_SECOND`.
    """
    return 60.0 + (remote.size or MAX_UNKNOWN_SIZE) / MIN_BYTES_PER_SECOND


def _open_temporary(folder: Path, name: str) -> tuple[BinaryIO, Path]:
    """A new temporary file beside the final one (same disk, so the rename is atomic),
    named like :mod:`edu_cnn.safefile`'s (``.NAME.PID.RANDOM.part``) so the next download
    can tell a killed one's leftover from a user's file.
    """
    temp = folder / f".{name}.{os.getpid()}.{secrets.token_hex(4)}.part"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    return os.fdopen(fd, "wb"), temp


def _disk_full_error(destination: Path, remote: RemoteFile, error: OSError) -> DataError:
    """The error for a download that cannot be stored (full disk, read-only, no permission)."""
    need = f" (it needs {remote.size / 1e6:.1f} MB)" if remote.size else ""
    return DataError(
        f"{destination}: cannot write the download – {error.strerror or error}{need}. "
        "Nothing was left in the cache. Free some disk space, or point the environment "
        "variable EDU_CNN_DATA at a folder on a disk with enough room, and try again."
    )


def _set_read_timeout(response: object, seconds: float) -> None:
    """Shorten the socket timeout of an open response (so the last read ends by the
    deadline). ``http.client`` has no public way; without it the overshoot is one timeout.
    """
    sock = getattr(getattr(getattr(response, "fp", None), "raw", None), "_sock", None)
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.settimeout(max(seconds, 0.01))


def _download_once(
    url: str,
    remote: RemoteFile,
    destination: Path,
    timeout: float,
    progress: bool,
    deadline: float,
) -> None:
    """Download ``url`` into ``destination`` through a checked temporary file.

    Raises :class:`DownloadError` for a failure of this mirror, :class:`DataError` for
    a local one (full disk, no permission); in every case no temporary file is left.
    """
    request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    limit = remote.size if remote.size else MAX_UNKNOWN_SIZE
    ends = time.monotonic() + deadline
    temp: Path | None = None
    bar = None
    try:
        with urllib.request.urlopen(request, timeout=min(timeout, deadline)) as response:
            announced = response.headers.get("Content-Length")
            announced = int(announced) if announced and announced.isdigit() else None
            if announced is not None and announced > limit:
                raise DownloadError(
                    f"{url}: announces {announced:,} bytes, more than the "
                    f"{limit:,} expected; not downloaded"
                )
            if progress:
                bar = _progress_bar(remote.name, announced or remote.size)
            sha, md5 = hashlib.sha256(), hashlib.md5(usedforsecurity=False)
            received = 0
            try:
                handle, temp = _open_temporary(destination.parent, remote.name)
            except OSError as error:
                raise _disk_full_error(destination, remote, error) from error
            try:
                # Network errors come from response.read1, local ones from write/flush:
                # only the latter are the disk's fault. read1 returns what one receive
                # brings, so the deadline is checked between receives however slow they are.
                while True:
                    left = ends - time.monotonic()
                    too_slow = DownloadError(
                        f"{url}: too slow – {received:,} bytes in {deadline:.0f} s (the "
                        f"deadline for this file); gave up"
                    )
                    if left <= 0:
                        raise too_slow
                    _set_read_timeout(response, min(timeout, left))
                    try:
                        block = response.read1(_CHUNK)
                    except TimeoutError:
                        if ends - time.monotonic() < 0.05:
                            raise too_slow from None
                        raise
                    if not block:
                        break
                    received += len(block)
                    if received > limit:
                        raise DownloadError(
                            f"{url}: sent more than the {limit:,} bytes expected; stopped"
                        )
                    try:
                        handle.write(block)
                    except OSError as error:
                        raise _disk_full_error(destination, remote, error) from error
                    sha.update(block)
                    md5.update(block)
                    if bar is not None:
                        bar.update(len(block))
                try:
                    handle.flush()
                except OSError as error:
                    raise _disk_full_error(destination, remote, error) from error
            finally:
                with contextlib.suppress(OSError):
                    handle.close()
        if announced is not None and received != announced:
            raise DownloadError(
                f"{url}: transfer interrupted – received {received:,} of {announced:,} bytes"
            )
        problem = _checksum_problem(remote, sha.hexdigest(), md5.hexdigest())
        if problem:
            raise DownloadError(f"{url}: checksum mismatch – {problem}")
        try:
            os.replace(temp, destination)
        except OSError as error:
            raise _disk_full_error(destination, remote, error) from error
        temp = None
    except DataError:  # DownloadError, or a local problem already explained
        raise
    except urllib.error.HTTPError as error:
        raise DownloadError(f"{url}: HTTP error {error.code} {error.reason}") from error
    except TimeoutError as error:
        raise DownloadError(f"{url}: timed out ({error or 'no data'})") from error
    except OSError as error:  # URLError, refused or reset connections
        reason = getattr(error, "reason", None) or error
        raise DownloadError(f"{url}: {reason}") from error
    except Exception as error:  # http.client.IncompleteRead, BadStatusLine, …
        raise DownloadError(f"{url}: {type(error).__name__}: {error}") from error
    finally:
        if bar is not None:
            bar.close()  # also after a failure: the bar shows how far this mirror got
        if temp is not None:
            temp.unlink(missing_ok=True)


def fetch_file(
    remote: RemoteFile,
    mirrors: Sequence[str],
    folder: str | os.PathLike[str],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    progress: bool = True,
    deadline: float | None = None,
) -> Path:
    """Download ``remote`` from the first mirror that delivers a good copy.

    Parameters
    ----------
    remote : RemoteFile
        What to fetch and the checksums it must have.
    mirrors : sequence of str
        Base URLs, tried in order; the file's URL is ``mirror + "/" + remote.name``.
    folder : path
        Where the checked file goes (created if needed).
    timeout : float
        Seconds to wait for a mirror to answer or send the next block.
    progress : bool
        Show a tqdm progress bar (a widget in Jupyter, a text line on stderr elsewhere).
    deadline : float, optional
        Seconds one mirror gets for the whole file (default :func:`deadline_for`).

    Returns
    -------
    pathlib.Path
        ``folder / remote.name``, a file whose checksums match.

    Raises
    ------
    DownloadError
        Offline mode, or no mirror worked; the message names the file, each mirror's
        problem and what to do.
    DataError
        The file cannot be written (full disk, no permission).
    """
    folder = Path(folder)
    destination = folder / remote.name
    if settings.offline():
        raise DownloadError(
            f"{remote.name}: not downloaded because EDU_CNN_OFFLINE=1 forbids network "
            f"access. Unset EDU_CNN_OFFLINE, or copy the file into {folder}."
        )
    if not mirrors:
        raise DownloadError(f"{remote.name}: no mirror to download it from.")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise _disk_full_error(destination, remote, error) from error
    remove_stale_temporaries(folder, remote.name, ".part")
    seconds = deadline_for(remote) if deadline is None else float(deadline)
    failures = []
    for mirror in mirrors:
        url = mirror.rstrip("/") + "/" + remote.name
        try:
            _download_once(url, remote, destination, timeout, progress, seconds)
            return destination
        except DownloadError as error:
            failures.append(str(error))
    tried = "\n".join(f"  - {failure}" for failure in failures)
    error = DownloadError(
        f"{remote.name}: could not be downloaded from any of {len(mirrors)} mirrors:\n{tried}\n"
        f"What to do: check the internet connection (or proxy) and try again; or fetch "
        f"the file by hand from one of these addresses into {folder} "
        f"(expected SHA-256 {remote.sha256}); or work offline with EDU_CNN_OFFLINE=1 "
        "and the small sample shipped with the course."
    )
    error.failures = failures
    raise error
