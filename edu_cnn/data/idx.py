"""Reading and writing IDX files, the format of MNIST and Fashion-MNIST.

An IDX file is a tiny header followed by raw array data (big-endian)::

    byte 0, 1   0x00 0x00                 (magic, part 1)
    byte 2      type code                 (0x08 = uint8, 0x09 = int8, 0x0B = int16,
                                           0x0C = int32, 0x0D = float32, 0x0E = float64)
    byte 3      number of dimensions d    (magic, part 2)
    then d big-endian uint32 sizes, then prod(sizes) values.

So MNIST's image files start with ``00 00 08 03`` (2051 as a big-endian int32) and
their label files with ``00 00 08 01`` (2049). Files ending in ``.gz`` are gzipped.
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from edu_cnn.data.errors import DataFormatError

__all__ = ["IDX_DTYPES", "decompress", "encode_idx", "parse_idx", "read_idx", "write_idx"]

#: IDX type code → big-endian numpy dtype.
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES = {dtype.newbyteorder(">").str: code for code, dtype in IDX_DTYPES.items()}


def parse_idx(data: bytes, name: str = "<bytes>") -> np.ndarray:
    """Decode the (already decompressed) bytes of an IDX file.

    Parameters
    ----------
    data : bytes
        The whole file content.
    name : str
        The file's name, used in error messages.

    Returns
    -------
    numpy.ndarray
        The array in native byte order (uint8 for MNIST), read-only view of ``data``
        is avoided: a fresh, writable array is returned.

    Raises
    ------
    DataFormatError
        Wrong magic number, unknown type code, or a size that does not match the header.
    """
    if len(data) < 4:
        raise DataFormatError(
            f"{name}: not an IDX file – only {len(data)} bytes, the header alone needs 4. "
            "The file is truncated: delete it and fetch it again."
        )
    zero, code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or code not in IDX_DTYPES or ndim == 0:
        raise DataFormatError(
            f"{name}: wrong magic number 0x{data[:4].hex()} – an IDX file starts with "
            "00 00, a type code (08 = uint8 … 0E = float64) and the number of dimensions "
            "(e.g. 00000803 for images, 00000801 for labels). This is not an IDX file "
            "(an HTML error page? a file that was not decompressed?): delete it and fetch it again."
        )
    header_size = 4 + 4 * ndim
    if len(data) < header_size:
        raise DataFormatError(
            f"{name}: truncated header – {ndim} dimensions need {header_size} bytes, "
            f"the file has {len(data)}. Delete it and fetch it again."
        )
    shape = struct.unpack(f">{ndim}I", data[4:header_size])
    dtype = IDX_DTYPES[code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    actual = len(data) - header_size
    if actual != expected:
        problem = "truncated" if actual < expected else "too long"
        raise DataFormatError(
            f"{name}: {problem} – the header announces shape {shape} of {dtype.name} "
            f"({expected:,} bytes of data), the file holds {actual:,}. "
            "Delete it and fetch it again."
        )
    array = np.frombuffer(data, dtype=dtype, offset=header_size).reshape(shape)
    return array.astype(dtype.newbyteorder("="), copy=True)


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an IDX file (gzipped if its name ends in ``.gz``) into a numpy array.

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    DataFormatError
        A broken gzip stream or an invalid IDX content; the message names the file.
    """
    path = Path(path)
    raw = path.read_bytes()
    return parse_idx(decompress(raw, str(path)) if path.suffix == ".gz" else raw, str(path))


def decompress(raw: bytes, name: str) -> bytes:
    """Gunzip ``raw``; a damaged stream becomes a :class:`DataFormatError` naming ``name``."""
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as error:  # BadGzipFile is an OSError
        raise DataFormatError(
            f"{name}: not a valid gzip file ({error}). The download was probably cut "
            "short or damaged: delete it and fetch it again."
        ) from error


def encode_idx(array: np.ndarray) -> bytes:
    """The bytes of ``array`` as an IDX file (uncompressed)."""
    array = np.asarray(array)
    big_endian = array.dtype.newbyteorder(">")
    if big_endian.str not in _CODES or array.ndim == 0 or array.ndim > 255:
        raise ValueError(
            "encode_idx: expected an array of 1–255 dimensions with dtype uint8, int8, "
            f"int16, int32, float32 or float64, got dtype {array.dtype} "
            f"and shape {array.shape}"
        )
    header = struct.pack(">HBB", 0, _CODES[big_endian.str], array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    return header + np.ascontiguousarray(array, dtype=big_endian).tobytes()


def write_idx(path: str | os.PathLike[str], array: np.ndarray) -> Path:
    """Write ``array`` as an IDX file, gzipped if ``path`` ends in ``.gz``.

    The gzip header gets time stamp 0, so the same array always gives the same bytes.
    """
    path = Path(path)
    data = encode_idx(array)
    if path.suffix == ".gz":
        data = gzip.compress(data, compresslevel=9, mtime=0)
    path.write_bytes(data)
    return path
