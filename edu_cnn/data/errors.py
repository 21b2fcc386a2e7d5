"""The exceptions and warnings of the data module.

Every message names the file (or URL) concerned and says what to do about it.
All errors derive from :class:`DataError`, itself a :class:`RuntimeError`, so a
notebook can catch them all with one ``except DataError``.
"""

from __future__ import annotations


class DataError(RuntimeError):
    """A data file could not be read, checked, stored or fetched."""


class DataFormatError(DataError):
    """A file is not a valid (gzipped) IDX file: wrong magic number, truncated, corrupt."""


class ChecksumError(DataError):
    """A file's SHA-256 (or published MD5) differs from the expected one."""


class DownloadError(DataError):
    """No mirror delivered a good copy of a file (unreachable, interrupted, wrong checksum).

    ``failures`` lists what went wrong with each mirror, one line each (``url: reason``).
    """

    failures: list[str]

    def __init__(self, *args: object) -> None:
        super().__init__(*args)
        self.failures = []


class SampleDataWarning(UserWarning):
    """The full data set was not available, so the small sample shipped with the course is used."""
