"""The IDX reader and writer, on files the tests write themselves."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest

from edu_cnn.data import DataError, DataFormatError, parse_idx, read_idx, write_idx
from edu_cnn.data.idx import encode_idx


def _handmade_idx(shape, values, code=0x08, fmt="B"):
    """An IDX file built byte by byte from the format description (not with encode_idx)."""
    header = bytes([0, 0, code, len(shape)]) + b"".join(struct.pack(">I", s) for s in shape)
    return header + struct.pack(f">{len(values)}{fmt}", *values)


def test_reads_a_handmade_uint8_file(tmp_path):
    data = _handmade_idx((2, 3), [0, 1, 2, 253, 254, 255])
    (tmp_path / "a.idx").write_bytes(data)
    array = read_idx(tmp_path / "a.idx")
    assert array.dtype == np.uint8 and array.shape == (2, 3)
    assert array.tolist() == [[0, 1, 2], [253, 254, 255]]


def test_reads_big_endian_int32_and_float32(tmp_path):
    ints = _handmade_idx((3,), [1, -2, 70000], code=0x0C, fmt="i")
    floats = _handmade_idx((2,), [1.5, -0.25], code=0x0D, fmt="f")
    assert parse_idx(ints).tolist() == [1, -2, 70000]
    assert parse_idx(ints).dtype == np.int32
    assert parse_idx(floats).tolist() == [1.5, -0.25]


def test_mnist_style_magic_numbers():
    images = encode_idx(np.zeros((2, 28, 28), np.uint8))
    labels = encode_idx(np.zeros(2, np.uint8))
    assert struct.unpack(">i", images[:4])[0] == 2051
    assert struct.unpack(">i", labels[:4])[0] == 2049


@pytest.mark.parametrize(
    "array",
    [
        np.arange(24, dtype=np.uint8).reshape(2, 3, 4),
        np.array([-3, 0, 7], dtype=np.int8),
        np.array([[1, -300], [32000, 5]], dtype=np.int16),
        np.array([1.25, -2.5, 1e30], dtype=np.float32),
        np.array([np.pi, -1e-300], dtype=np.float64),
    ],
)
@pytest.mark.parametrize("suffix", [".idx", ".idx.gz"])
def test_write_then_read_round_trip(tmp_path, array, suffix):
    path = write_idx(tmp_path / f"x{suffix}", array)
    back = read_idx(path)
    assert back.dtype == array.dtype and back.shape == array.shape
    np.testing.assert_array_equal(back, array)
    assert back.flags.writeable


def test_gzip_output_is_reproducible(tmp_path):
    array = np.arange(100, dtype=np.uint8)
    first = write_idx(tmp_path / "a.gz", array).read_bytes()
    second = write_idx(tmp_path / "b.gz", array).read_bytes()
    assert first == second
    assert gzip.decompress(first) == encode_idx(array)


def test_wrong_magic_names_the_file(tmp_path):
    path = tmp_path / "labels.idx"
    path.write_bytes(b"<html>404 Not Found</html>")
    with pytest.raises(
        DataFormatError, match=r"labels\.idx: wrong magic number 0x3c68746d"
    ) as info:
        read_idx(path)
    assert "fetch it again" in str(info.value)
    assert isinstance(info.value, DataError) and isinstance(info.value, RuntimeError)


def test_unknown_type_code_is_a_wrong_magic(tmp_path):
    data = bytearray(_handmade_idx((2,), [1, 2]))
    data[2] = 0x07
    with pytest.raises(DataFormatError, match=r"wrong magic number 0x00000701"):
        parse_idx(bytes(data), "x.idx")


@pytest.mark.parametrize("cut", [2, 6, 10, 17])
def test_truncated_file_names_file_and_sizes(tmp_path, cut):
    data = encode_idx(np.ones((2, 2, 2), np.uint8))  # 16-byte header + 8 bytes
    path = tmp_path / "images.idx"
    path.write_bytes(data[:cut])
    with pytest.raises(DataFormatError, match=r"images\.idx: (not an IDX file|truncated)"):
        read_idx(path)


def test_truncated_data_message_gives_expected_and_actual_size():
    data = encode_idx(np.ones((3, 4), np.uint8))
    with pytest.raises(
        DataFormatError, match=r"shape \(3, 4\) of uint8 \(12 bytes of data\), the file holds 5"
    ):
        parse_idx(data[:-7], "t.idx")


def test_extra_bytes_are_rejected():
    data = encode_idx(np.ones(3, np.uint8)) + b"\x00"
    with pytest.raises(DataFormatError, match=r"too long"):
        parse_idx(data, "t.idx")


def test_truncated_gzip_names_the_file(tmp_path):
    good = write_idx(tmp_path / "good.gz", np.arange(5000, dtype=np.uint8) % 251)
    bad = tmp_path / "train-images-idx3-ubyte.gz"
    bad.write_bytes(good.read_bytes()[:-20])
    with pytest.raises(
        DataFormatError, match=r"train-images-idx3-ubyte\.gz: not a valid gzip file"
    ):
        read_idx(bad)


def test_corrupt_gzip_names_the_file(tmp_path):
    path = tmp_path / "x.gz"
    path.write_bytes(b"\x1f\x8b\x08\x00" + b"garbage" * 10)
    with pytest.raises(DataFormatError, match=r"x\.gz: not a valid gzip file"):
        read_idx(path)


def test_writer_rejects_unsupported_dtype(tmp_path):
    with pytest.raises(ValueError, match=r"encode_idx: .*got dtype int64 and shape \(2,\)"):
        write_idx(tmp_path / "x.idx", np.array([1, 2], dtype=np.int64))
