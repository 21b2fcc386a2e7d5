"""load_mnist / load_fashion_mnist without any network: sample, cache, Debian's package."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from edu_cnn import data
from edu_cnn.data import (
    FASHION_MNIST,
    MNIST,
    Dataset,
    SampleDataWarning,
    load_dataset,
    load_fashion_mnist,
    load_mnist,
    write_idx,
)
from edu_cnn.data.mnist import DEBIAN_FASHION_MNIST_DIR

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "edu_cnn" / "data" / "sample"


@pytest.fixture(autouse=True)
def _offline_empty_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("EDU_CNN_OFFLINE", "1")
    monkeypatch.setenv("EDU_CNN_DATA", str(tmp_path / "cache"))


def test_offline_returns_the_shipped_sample_and_warns():
    with pytest.warns(SampleDataWarning) as record:
        mnist = load_mnist()
    message = str(record[0].message)
    assert "MNIST: using the small sample" in message
    assert "EDU_CNN_OFFLINE=1 forbids downloads" in message
    assert "unset EDU_CNN_OFFLINE" in message and "train-images-idx3-ubyte.gz" in message
    assert mnist.source == "sample" and mnist.name == "MNIST"
    assert mnist.x_train.shape == (4000, 28, 28) and mnist.x_train.dtype == np.uint8
    assert mnist.x_test.shape == (1000, 28, 28)
    assert mnist.y_train.dtype == np.int64 and mnist.y_test.dtype == np.int64
    assert mnist.class_names == tuple("0123456789")
    # balanced and stratified: 400 / 100 per digit
    assert np.bincount(mnist.y_train).tolist() == [400] * 10
    assert np.bincount(mnist.y_test).tolist() == [100] * 10


def test_sample_looks_like_mnist_digits():
    with pytest.warns(SampleDataWarning):
        mnist = load_mnist()
    x = mnist.x_train.astype(np.float64)
    # MNIST: black background, digits centred in a 20×20 box, so the frame is nearly empty
    frame = np.concatenate([x[:, :2, :].ravel(), x[:, -2:, :].ravel(), x[:, :, :2].ravel()])
    assert (frame > 0).mean() < 0.01
    assert 0.10 < (x > 127).mean() < 0.16
    assert abs(x.mean() / 255 - 0.1307) < 0.02  # the well-known MNIST mean
    # the mean image of the ones is a thin vertical stroke, of the zeros a ring
    ones, zeros = x[mnist.y_train == 1].mean(0), x[mnist.y_train == 0].mean(0)
    assert ones[14, 14] > 150 and ones[14, 4] < 5
    assert zeros[14, 14] < zeros[14, 8]
    # no duplicate images between train and test
    train = {img.tobytes() for img in mnist.x_train}
    assert not any(img.tobytes() in train for img in mnist.x_test)


def test_warning_location_is_the_same_everywhere():
    """nbval compares stored stderr: no kernel-specific file name in the warning line."""
    with pytest.warns(SampleDataWarning) as record:
        load_mnist()
    assert (record[0].filename, record[0].lineno) == ("edu_cnn.data", 0)
    assert "~/" in str(record[0].message) or "cache" in str(record[0].message)


def test_as_float_layout():
    with pytest.warns(SampleDataWarning):
        mnist = load_mnist(as_float=True)
    assert mnist.x_train.shape == (4000, 1, 28, 28) and mnist.x_train.dtype == np.float32
    assert mnist.x_train.min() == 0.0 and mnist.x_train.max() == 1.0


def test_download_false_never_downloads(monkeypatch):
    monkeypatch.delenv("EDU_CNN_OFFLINE")
    with pytest.warns(SampleDataWarning, match="download=False"):
        assert load_mnist(download=False).source == "sample"


def test_subset_is_smaller_balanced_and_seeded():
    with pytest.warns(SampleDataWarning):
        mnist = load_mnist(as_float=True)
    small = mnist.subset(1000, 200, seed=1)
    assert small.x_train.shape == (1000, 1, 28, 28) and small.y_test.shape == (200,)
    assert np.bincount(small.y_train).tolist() == [100] * 10
    assert small.source == "sample" and small.class_names == mnist.class_names
    again = mnist.subset(1000, 200, seed=1)
    np.testing.assert_array_equal(small.x_train, again.x_train)
    assert mnist.subset(n_test=50).x_train.shape[0] == 4000  # None keeps a part whole
    assert mnist.subset(10**6).x_train.shape[0] == 4000
    with pytest.raises(ValueError, match=r"Dataset.subset: n_train must be a positive integer"):
        mnist.subset(0)


def test_dataset_is_frozen_and_prints_readably():
    with pytest.warns(SampleDataWarning):
        mnist = load_mnist()
    with pytest.raises(dataclasses.FrozenInstanceError):
        mnist.source = "cache"
    text = repr(mnist)
    assert text.splitlines()[0] == "MNIST from 'sample': 4,000 training and 1,000 test images"
    assert "x_train  uint8    (4000, 28, 28)" in text and "classes  0, 1, 2" in text


def test_cache_is_used_when_complete(tmp_path):
    """Files placed in <data_dir>/mnist with the spec's checksums are read from there."""
    rng = np.random.default_rng(1)
    arrays = [
        rng.integers(0, 256, (6, 28, 28), dtype=np.uint8),
        np.arange(6, dtype=np.uint8),
        rng.integers(0, 256, (2, 28, 28), dtype=np.uint8),
        np.array([9, 0], np.uint8),
    ]
    folder = tmp_path / "mine" / "mnist"
    folder.mkdir(parents=True)
    files = []
    for remote, array in zip(MNIST.files, arrays, strict=True):
        body = write_idx(folder / remote.name, array).read_bytes()
        files.append(dataclasses.replace(remote, sha256=hashlib.sha256(body).hexdigest(), md5=None))
    spec = dataclasses.replace(MNIST, files=tuple(files))
    loaded = load_dataset(spec, data_dir=tmp_path / "mine")
    assert loaded.source == "cache"
    np.testing.assert_array_equal(loaded.y_train, np.arange(6))


def test_inconsistent_files_are_reported(tmp_path):
    folder = tmp_path / "mnist"
    folder.mkdir()
    arrays = [
        np.zeros((3, 28, 28), np.uint8),
        np.zeros(2, np.uint8),
        np.zeros((1, 28, 28), np.uint8),
        np.zeros(1, np.uint8),
    ]
    files = []
    for remote, array in zip(MNIST.files, arrays, strict=True):
        body = write_idx(folder / remote.name, array).read_bytes()
        files.append(dataclasses.replace(remote, sha256=hashlib.sha256(body).hexdigest(), md5=None))
    spec = dataclasses.replace(MNIST, files=tuple(files))
    with pytest.raises(
        data.DataFormatError, match=r"train-labels-idx1-ubyte\.gz: expected 3 labels"
    ):
        load_dataset(spec, data_dir=tmp_path)


def test_fashion_sample_when_debian_is_absent():
    spec = dataclasses.replace(FASHION_MNIST, debian_dir=Path("/nonexistent/fashion-mnist"))
    with pytest.warns(SampleDataWarning, match=r"apt-get install dataset-fashion-mnist"):
        fashion = load_dataset(spec)
    assert fashion.source == "sample"
    assert fashion.x_train.shape == (1600, 28, 28) and fashion.x_test.shape == (400, 28, 28)
    assert np.bincount(fashion.y_train).tolist() == [160] * 10
    assert fashion.class_names[9] == "Ankle boot"


def test_fake_debian_folder_with_wrong_content_is_ignored(tmp_path):
    for remote in FASHION_MNIST.files:
        write_idx(tmp_path / remote.name, np.zeros(3, np.uint8))
    spec = dataclasses.replace(FASHION_MNIST, debian_dir=tmp_path)
    with (
        pytest.warns(RuntimeWarning, match=r"content differs from the published Fashion-MNIST"),
        pytest.warns(SampleDataWarning),
    ):
        assert load_dataset(spec).source == "sample"


@pytest.mark.skipif(
    not (DEBIAN_FASHION_MNIST_DIR / "t10k-labels-idx1-ubyte.gz").is_file(),
    reason="Debian's dataset-fashion-mnist is not installed",
)
def test_debian_fashion_mnist_is_found_and_checked():
    fashion = load_fashion_mnist()
    assert fashion.source == "debian"
    assert fashion.x_train.shape == (60000, 28, 28) and fashion.x_test.shape == (10000, 28, 28)
    assert np.bincount(fashion.y_train).tolist() == [6000] * 10
    assert np.bincount(fashion.y_test).tolist() == [1000] * 10


@pytest.mark.skipif(
    not (DEBIAN_FASHION_MNIST_DIR / "t10k-labels-idx1-ubyte.gz").is_file(),
    reason="Debian's dataset-fashion-mnist is not installed",
)
def test_fashion_checksums_agree_with_the_published_md5():
    """Independent check of our Fashion-MNIST SHA-256 values against Zalando's MD5.

    Debian's files keep the original deflate streams but drop the gzip header's file name
    and change its time stamp. Restoring the original header (flag FNAME, the upload time)
    must give the publisher's MD5 – and then our SHA-256 must match the same bytes.
    """
    upload_time = {"train": 1504176606, "t10k": 1504176627}  # 2017-08-31 10:50 UTC
    for remote in FASHION_MNIST.files:
        debian = (DEBIAN_FASHION_MNIST_DIR / remote.name).read_bytes()
        assert debian[:4] == b"\x1f\x8b\x08\x00"  # gzip, deflate, no file name
        stamp = upload_time[remote.name.split("-")[0]]
        header = b"\x1f\x8b\x08\x08" + stamp.to_bytes(4, "little") + b"\x00\x03"
        original = header + remote.name[:-3].encode() + b"\x00" + debian[10:]
        assert hashlib.md5(original).hexdigest() == remote.md5, remote.name
        assert hashlib.sha256(original).hexdigest() == remote.sha256, remote.name
        assert len(original) == remote.size


def test_shipped_files_match_the_readme():
    """The sample on disk is what scripts/make_mnist_sample.py wrote and README records."""
    readme = (SAMPLE / "README.md").read_text()
    names = sorted(p.name for p in SAMPLE.glob("*.gz"))
    assert len(names) == 8
    total = 0
    for name in names:
        body = (SAMPLE / name).read_bytes()
        total += len(body)
        assert f"{hashlib.sha256(body).hexdigest()}  {name}" in readme
        assert gzip.decompress(body)[:2] == b"\x00\x00"
    assert total < 2_000_000
    assert "CC BY-SA 3.0" in readme and "MIT" in readme


def _run(code: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code],
        check=False,
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


NO_NETWORK = """
import socket, urllib.request
def refuse(*args, **kwargs):
    raise AssertionError("network access attempted")
socket.socket = refuse
socket.create_connection = refuse
urllib.request.urlopen = refuse
"""


def test_import_and_offline_load_make_no_network_call(tmp_path):
    code = (
        NO_NETWORK
        + """
import warnings
import edu_cnn.data
warnings.simplefilter("ignore")
d = edu_cnn.data.load_mnist()
print(d.source, d.x_train.shape)
"""
    )
    env = dict(os.environ, EDU_CNN_OFFLINE="1", EDU_CNN_DATA=str(tmp_path), PYTHONPATH=str(ROOT))
    result = _run(code, env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "sample (4000, 28, 28)"


def test_sample_loads_from_a_zipped_package(tmp_path):
    """The sample is read as package data (importlib.resources), not by a source-tree path."""
    archive = tmp_path / "edu_cnn.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for path in (ROOT / "edu_cnn").rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                zipped.write(path, path.relative_to(ROOT).as_posix())
    code = f"""
import warnings, edu_cnn.data
assert edu_cnn.data.__file__.startswith({str(archive)!r}), edu_cnn.data.__file__
warnings.simplefilter("ignore")
print(edu_cnn.data.load_mnist().x_test.shape)
"""
    env = dict(os.environ, EDU_CNN_OFFLINE="1", EDU_CNN_DATA=str(tmp_path), PYTHONPATH=str(archive))
    result = _run(code, env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "(1000, 28, 28)"


def test_checksums_are_well_formed():
    for spec in (MNIST, FASHION_MNIST):
        assert len(spec.files) == 4 and len(spec.mirrors) >= 2
        for remote in spec.files:
            assert len(remote.sha256) == 64 and int(remote.sha256, 16) >= 0
            assert remote.md5 is not None and len(remote.md5) == 32
        assert all(len(h) == 64 for h in spec.raw_sha256)


def test_dataset_is_exported():
    assert data.Dataset is Dataset


# -- what a user put in the cache (issue 17) -----------------------------------------------------
def _published(tmp_path):
    """Four small IDX files "as published": a spec with their .gz and raw checksums, the
    raw contents, and a cache folder to put copies in."""
    import gzip as gz

    rng = np.random.default_rng(2)
    arrays = [
        rng.integers(0, 256, (6, 28, 28), dtype=np.uint8),
        np.arange(6, dtype=np.uint8),
        rng.integers(0, 256, (2, 28, 28), dtype=np.uint8),
        np.array([9, 0], np.uint8),
    ]
    from edu_cnn.data.idx import encode_idx

    raws = [encode_idx(a) for a in arrays]
    files = [
        dataclasses.replace(
            remote,
            sha256=hashlib.sha256(gz.compress(raw, mtime=0)).hexdigest(),
            md5=None,
            size=None,
        )
        for remote, raw in zip(MNIST.files, raws, strict=True)
    ]
    spec = dataclasses.replace(
        MNIST,
        files=tuple(files),
        mirrors=(),
        raw_sha256=tuple(hashlib.sha256(r).hexdigest() for r in raws),
    )
    folder = tmp_path / "mine" / "mnist"
    folder.mkdir(parents=True)
    return spec, raws, folder


def test_a_re_compressed_copy_of_the_published_files_is_accepted_not_deleted(tmp_path):
    spec, raws, folder = _published(tmp_path)
    for remote, raw in zip(
        spec.files, raws, strict=True
    ):  # another tool: other gzip bytes, same content
        (folder / remote.name).write_bytes(gzip.compress(raw, compresslevel=1, mtime=123456))
        assert hashlib.sha256((folder / remote.name).read_bytes()).hexdigest() != remote.sha256
    before = sorted(p.name for p in folder.iterdir())
    loaded = load_dataset(spec, data_dir=tmp_path / "mine", sample=False)
    assert loaded.source == "cache"
    np.testing.assert_array_equal(loaded.y_train, np.arange(6))
    assert sorted(p.name for p in folder.iterdir()) == before


def test_uncompressed_idx_files_are_accepted(tmp_path):
    spec, raws, folder = _published(tmp_path)
    for remote, raw in zip(spec.files, raws, strict=True):
        (folder / remote.name.removesuffix(".gz")).write_bytes(raw)
    loaded = load_dataset(spec, data_dir=tmp_path / "mine", sample=False)
    assert loaded.source == "cache" and loaded.y_test.tolist() == [9, 0]


def test_a_damaged_file_is_moved_aside_never_deleted(tmp_path):
    spec, raws, folder = _published(tmp_path)
    for remote, raw in zip(spec.files, raws, strict=True):
        (folder / remote.name).write_bytes(gzip.compress(raw, mtime=0))
    damaged = folder / spec.files[1].name
    damaged.write_bytes(b"my own notes, not MNIST")
    with (
        pytest.warns(
            RuntimeWarning,
            match=r"Moved aside to train-labels-idx1-ubyte\.gz\."
            r"damaged \(nothing is deleted\)",
        ),
        pytest.warns(SampleDataWarning),
    ):
        loaded = load_dataset(spec, data_dir=tmp_path / "mine", sample=False)
    assert loaded.source == "sample"
    assert (
        folder / "train-labels-idx1-ubyte.gz.damaged"
    ).read_bytes() == b"my own notes, not MNIST"


def test_a_read_only_cache_with_a_damaged_file_falls_back_offline(tmp_path, monkeypatch):
    spec, raws, folder = _published(tmp_path)
    for remote, raw in zip(spec.files, raws, strict=True):
        (folder / remote.name).write_bytes(gzip.compress(raw, mtime=0))
    (folder / spec.files[0].name).write_bytes(b"damaged")
    folder.chmod(0o555)
    if os.geteuid() == 0:  # root writes anywhere: make the rename fail as on a read-only disk

        def read_only(self, target):
            raise OSError(30, "Read-only file system")

        monkeypatch.setattr(Path, "rename", read_only)
    try:
        with (
            pytest.warns(RuntimeWarning, match="could not be moved aside"),
            pytest.warns(SampleDataWarning),
        ):
            loaded = load_dataset(spec, data_dir=tmp_path / "mine", sample=False)
    finally:
        folder.chmod(0o755)
    assert loaded.source == "sample"
    assert (folder / spec.files[0].name).read_bytes() == b"damaged"


def test_a_gzip_bomb_in_the_cache_is_not_inflated(tmp_path, monkeypatch):
    from edu_cnn.data import mnist

    spec, raws, folder = _published(tmp_path)
    for remote, raw in zip(spec.files, raws, strict=True):
        (folder / remote.name).write_bytes(gzip.compress(raw, mtime=0))
    monkeypatch.setattr(mnist, "MAX_IDX_BYTES", 1 << 20)
    (folder / spec.files[0].name).write_bytes(gzip.compress(bytes(8 << 20)))
    with pytest.warns(RuntimeWarning, match="Moved aside"), pytest.warns(SampleDataWarning):
        assert load_dataset(spec, data_dir=tmp_path / "mine", sample=False).source == "sample"


def test_mirrors_are_https_or_last_with_a_reason():
    for spec in (MNIST, FASHION_MNIST):
        kinds = [m.split("://")[0] for m in spec.mirrors]
        assert set(kinds) <= {"https", "http"} and kinds == sorted(kinds, reverse=True)
    assert all(m.startswith("https://") for m in MNIST.mirrors)


def test_ensure_chromium_writes_no_fixed_log_path_in_tmp():
    """Run as root, a fixed /tmp/ensure_chromium.log could be a planted symlink."""
    script = (ROOT / "scripts" / "ensure_chromium.sh").read_text()
    assert 'ensure_chromium.log"' not in script and "mktemp" in script
