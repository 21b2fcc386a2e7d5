"""Downloads and the MNIST loader against a local HTTP server on 127.0.0.1.

The server runs in a thread for the duration of a test; nothing leaves the machine.
Each route maps a path to (status, body, how): how is "ok", "short" (announce the full
Content-Length but close after half the body) or "nolength" (no Content-Length header).
"""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import http.server
import socket
import threading
import time
import warnings
from typing import ClassVar

import numpy as np
import pytest

from edu_cnn.data import (
    MNIST,
    DataError,
    DownloadError,
    RemoteFile,
    SampleDataWarning,
    fetch_file,
    load_dataset,
    verify_file,
    write_idx,
)
from edu_cnn.data import download as download_module


class _Handler(http.server.BaseHTTPRequestHandler):
    routes: ClassVar[dict] = {}
    hits: ClassVar[list] = []

    def do_GET(self):
        type(self).hits.append(self.path)
        status, body, how = self.routes.get(self.path, (404, b"not here", "ok"))
        self.send_response(status)
        if how != "nolength":
            length = len(body)
            self.send_header("Content-Length", str(length))
        self.end_headers()
        self.wfile.write(body[: len(body) // 2] if how == "short" else body)
        self.close_connection = True

    def log_message(self, *args):  # keep the test output clean
        pass


@pytest.fixture
def server():
    """A fresh local HTTP server; yields (base_url, routes, hits)."""
    handler = type("Handler", (_Handler,), {"routes": {}, "hits": []})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", handler.routes, handler.hits
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@pytest.fixture
def dead_mirror():
    """A URL on a local port that nothing listens on (connection refused at once)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture(autouse=True)
def _online(monkeypatch, tmp_path):
    monkeypatch.delenv("EDU_CNN_OFFLINE", raising=False)
    for name in ("no_proxy", "NO_PROXY"):  # a proxy set in the environment must not see 127.0.0.1
        monkeypatch.setenv(name, "127.0.0.1,localhost")
    monkeypatch.setenv("EDU_CNN_DATA", str(tmp_path / "default-cache"))


PAYLOAD = bytes(range(256)) * 40


def _remote(name="file.bin", body=PAYLOAD, md5=True):
    return RemoteFile(
        name,
        sha256=hashlib.sha256(body).hexdigest(),
        md5=hashlib.md5(body).hexdigest() if md5 else None,
        size=len(body),
    )


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# -- fetch_file --------------------------------------------------------------------------


def test_happy_path(server, tmp_path, capsys):
    base, routes, hits = server
    routes["/m/file.bin"] = (200, PAYLOAD, "ok")
    path = fetch_file(_remote(), [base + "/m"], tmp_path / "cache", progress=True)
    assert path == tmp_path / "cache" / "file.bin"
    assert path.read_bytes() == PAYLOAD
    assert _leftovers(tmp_path / "cache") == ["file.bin"]
    assert hits == ["/m/file.bin"]
    # the progress bar (tqdm in text mode, on stderr) counts bytes up to the whole file
    err = capsys.readouterr().err
    assert "file.bin: 100%" in err and "10.2k/10.2k" in err, err  # 10,240 bytes


def test_no_content_length_still_checked(server, tmp_path):
    base, routes, _ = server
    routes["/file.bin"] = (200, PAYLOAD, "nolength")
    path = fetch_file(_remote(), [base], tmp_path, progress=False)
    verify_file(path, _remote())


def test_wrong_checksum_leaves_nothing(server, tmp_path):
    base, routes, _ = server
    routes["/file.bin"] = (200, b"an HTML error page", "ok")
    with pytest.raises(DownloadError, match=r"file\.bin: could not be downloaded") as info:
        fetch_file(_remote(), [base], tmp_path / "c", progress=False)
    message = str(info.value)
    assert "checksum mismatch – SHA-256 is" in message and base + "/file.bin" in message
    assert "What to do" in message
    assert _leftovers(tmp_path / "c") == []


def test_md5_is_checked_too(server, tmp_path):
    base, routes, _ = server
    routes["/file.bin"] = (200, PAYLOAD, "ok")
    remote = dataclasses.replace(_remote(), md5="0" * 32)
    with pytest.raises(DownloadError, match=r"MD5 is [0-9a-f]{32}, expected 0{32}"):
        fetch_file(remote, [base], tmp_path, progress=False)
    assert _leftovers(tmp_path) == []


def test_failing_mirrors_then_a_working_one(server, dead_mirror, tmp_path):
    base, routes, hits = server
    routes["/good/file.bin"] = (200, PAYLOAD, "ok")
    routes["/bad/file.bin"] = (200, b"tampered", "ok")
    mirrors = [dead_mirror, base + "/missing", base + "/bad", base + "/good"]
    path = fetch_file(_remote(), mirrors, tmp_path, progress=False, timeout=5)
    assert path.read_bytes() == PAYLOAD
    assert hits == ["/missing/file.bin", "/bad/file.bin", "/good/file.bin"]
    assert _leftovers(tmp_path) == ["file.bin"]


def test_every_mirror_failing_lists_each_reason(server, dead_mirror, tmp_path):
    base, _, _ = server
    with pytest.raises(DownloadError) as info:
        fetch_file(_remote(), [dead_mirror, base], tmp_path, progress=False, timeout=5)
    message = str(info.value)
    assert "file.bin: could not be downloaded from any of 2 mirrors" in message
    assert dead_mirror + "/file.bin" in message and "refused" in message.lower()
    assert base + "/file.bin: HTTP error 404 Not Found" in message
    assert _leftovers(tmp_path) == []


def test_interrupted_transfer(server, tmp_path):
    base, routes, _ = server
    routes["/file.bin"] = (200, PAYLOAD, "short")
    with pytest.raises(
        DownloadError, match=r"transfer interrupted – received 5,120 of 10,240 bytes"
    ):
        fetch_file(_remote(), [base], tmp_path, progress=False)
    assert _leftovers(tmp_path) == []


def test_interrupted_then_good_mirror(server, tmp_path):
    base, routes, _ = server
    routes["/a/file.bin"] = (200, PAYLOAD, "short")
    routes["/b/file.bin"] = (200, PAYLOAD, "ok")
    fetch_file(_remote(), [base + "/a", base + "/b"], tmp_path, progress=False)
    assert _leftovers(tmp_path) == ["file.bin"]


def test_existing_good_file_is_not_clobbered_by_a_failed_download(server, tmp_path):
    base, routes, _ = server
    (tmp_path / "file.bin").write_bytes(b"old content")
    routes["/file.bin"] = (200, PAYLOAD, "short")
    with pytest.raises(DownloadError):
        fetch_file(_remote(), [base], tmp_path, progress=False)
    assert (tmp_path / "file.bin").read_bytes() == b"old content"


@pytest.mark.parametrize("fails_on", ["write", "flush"])
def test_full_disk(server, tmp_path, monkeypatch, fails_on):
    """The disk fills up while writing (or only when the buffer is flushed)."""
    base, routes, _ = server
    routes["/file.bin"] = (200, PAYLOAD, "ok")
    real_open = download_module._open_temporary

    class FullDisk:
        def __init__(self, handle):
            self.handle = handle

        def write(self, block):
            if fails_on == "write":
                raise OSError(errno.ENOSPC, "No space left on device")
            return len(block)

        def flush(self):
            raise OSError(errno.ENOSPC, "No space left on device")

        def close(self):
            self.handle.close()

    def open_full(folder, name):
        handle, temp = real_open(folder, name)
        return FullDisk(handle), temp

    monkeypatch.setattr(download_module, "_open_temporary", open_full)
    with pytest.raises(
        DataError, match=r"file\.bin: cannot write the download – No space left"
    ) as info:
        fetch_file(_remote(), [base], tmp_path, progress=False)
    assert not isinstance(info.value, DownloadError)  # a local problem, not the mirror's
    assert "EDU_CNN_DATA" in str(info.value)
    assert _leftovers(tmp_path) == []


def test_offline_mode_never_connects(server, tmp_path, monkeypatch):
    base, routes, hits = server
    routes["/file.bin"] = (200, PAYLOAD, "ok")
    monkeypatch.setenv("EDU_CNN_OFFLINE", "1")
    with pytest.raises(DownloadError, match=r"file\.bin: not downloaded because EDU_CNN_OFFLINE=1"):
        fetch_file(_remote(), [base], tmp_path, progress=False)
    assert hits == []


def test_verify_file_names_the_file(tmp_path):
    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(b"corrupt")
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte\.gz: checksum mismatch"):
        verify_file(path, _remote())


# -- the loader with a fake MNIST served locally ------------------------------------------


@pytest.fixture
def fake_mnist(tmp_path_factory):
    """Four small MNIST-format files and a spec that expects exactly them."""
    folder = tmp_path_factory.mktemp("fake")
    rng = np.random.default_rng(0)
    arrays = [
        rng.integers(0, 256, (30, 28, 28), dtype=np.uint8),
        rng.integers(0, 10, 30).astype(np.uint8),
        rng.integers(0, 256, (10, 28, 28), dtype=np.uint8),
        rng.integers(0, 10, 10).astype(np.uint8),
    ]
    bodies, files = {}, []
    for remote, array in zip(MNIST.files, arrays, strict=True):
        body = write_idx(folder / remote.name, array).read_bytes()
        bodies[remote.name] = body
        files.append(_remote(remote.name, body, md5=False))
    spec = dataclasses.replace(MNIST, files=tuple(files), mirrors=())
    return spec, bodies, arrays


def _serve(routes, bodies, prefix=""):
    for name, body in bodies.items():
        routes[f"{prefix}/{name}"] = (200, body, "ok")


def test_loader_downloads_then_uses_the_cache(server, tmp_path, fake_mnist):
    base, routes, hits = server
    spec, bodies, arrays = fake_mnist
    _serve(routes, bodies)
    first = load_dataset(spec, data_dir=tmp_path, mirrors=[base], progress=False)
    assert first.source == "download"
    np.testing.assert_array_equal(first.x_train, arrays[0])
    np.testing.assert_array_equal(first.y_test, arrays[3].astype(np.int64))
    assert sorted(p.name for p in (tmp_path / "mnist").iterdir()) == sorted(bodies)
    assert len(hits) == 4
    second = load_dataset(spec, data_dir=tmp_path, mirrors=[base], progress=False, as_float=True)
    assert second.source == "cache" and len(hits) == 4  # no new request
    assert second.x_train.shape == (30, 1, 28, 28) and second.x_train.dtype == np.float32
    np.testing.assert_allclose(second.x_train[:, 0] * 255, arrays[0], atol=1e-4)


def test_loader_uses_settings_data_dir(server, tmp_path, fake_mnist, monkeypatch):
    base, routes, _ = server
    spec, bodies, _ = fake_mnist
    _serve(routes, bodies)
    monkeypatch.setenv("EDU_CNN_DATA", str(tmp_path / "from-env"))
    load_dataset(spec, mirrors=[base], progress=False)
    assert (tmp_path / "from-env" / "mnist" / "train-images-idx3-ubyte.gz").is_file()


def test_corrupt_cached_file_is_fetched_again(server, tmp_path, fake_mnist):
    base, routes, hits = server
    spec, bodies, arrays = fake_mnist
    _serve(routes, bodies)
    cache = tmp_path / "mnist"
    cache.mkdir()
    for name, body in bodies.items():
        (cache / name).write_bytes(body)
    damaged = cache / "train-labels-idx1-ubyte.gz"
    damaged.write_bytes(damaged.read_bytes()[:-5])
    with pytest.warns(RuntimeWarning, match=r"train-labels-idx1-ubyte\.gz: checksum mismatch"):
        data = load_dataset(spec, data_dir=tmp_path, mirrors=[base], progress=False)
    assert data.source == "download"
    assert hits == ["/train-labels-idx1-ubyte.gz"]  # only the damaged file
    np.testing.assert_array_equal(data.y_train, arrays[1])
    verify_file(damaged, spec.files[1])


def test_unreachable_mirrors_fall_back_to_the_sample(dead_mirror, tmp_path, fake_mnist):
    spec, _, _ = fake_mnist
    with pytest.warns(
        SampleDataWarning,
        match=r"the download failed:\n"
        r"  - http://127\.0\.0\.1:\d+/train-images-idx3-ubyte\.gz: .*refused",
    ):
        data = load_dataset(
            spec, data_dir=tmp_path, mirrors=[dead_mirror], progress=False, timeout=5
        )
    assert data.source == "sample"
    assert _leftovers(tmp_path / "mnist") == []


def test_loader_in_offline_mode_makes_no_request(server, tmp_path, fake_mnist, monkeypatch):
    base, routes, hits = server
    spec, bodies, _ = fake_mnist
    _serve(routes, bodies)
    monkeypatch.setenv("EDU_CNN_OFFLINE", "1")
    with pytest.warns(SampleDataWarning, match=r"EDU_CNN_OFFLINE=1 forbids downloads"):
        data = load_dataset(spec, data_dir=tmp_path, mirrors=[base], progress=False)
    assert data.source == "sample" and hits == []


def test_loader_full_disk_raises_and_names_the_file(server, tmp_path, fake_mnist, monkeypatch):
    base, routes, _ = server
    spec, bodies, _ = fake_mnist
    _serve(routes, bodies)

    def no_room(folder, name):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(download_module, "_open_temporary", no_room)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SampleDataWarning)  # must not hide it behind the sample
        with pytest.raises(DataError, match=r"train-images-idx3-ubyte\.gz: cannot write"):
            load_dataset(spec, data_dir=tmp_path, mirrors=[base], progress=False)
    assert _leftovers(tmp_path / "mnist") == []


# -- hostile mirrors (issue 17) ------------------------------------------------------------------
class _Hostile(http.server.BaseHTTPRequestHandler):
    """``/endless``: no Content-Length and bytes until the client leaves (at most 50 MB);
    ``/trickle``: one byte every 0.1 s (at most 100 bytes); ``/huge``: announces 1 GB."""

    def do_GET(self):
        self.send_response(200)
        if self.path == "/huge/file.bin":
            self.send_header("Content-Length", str(10**9))
        self.end_headers()
        try:
            if self.path == "/endless/file.bin":
                for _ in range(800):
                    self.wfile.write(bytes(65536))
            elif self.path == "/trickle/file.bin":
                for _ in range(100):
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(0.1)
        except OSError:
            pass
        self.close_connection = True

    def log_message(self, *args):
        pass


@pytest.fixture
def hostile():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hostile)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_an_endless_body_stops_at_the_expected_size(hostile, tmp_path):
    with pytest.raises(DownloadError, match=r"sent more than the 10,240 bytes expected; stopped"):
        fetch_file(_remote(), [hostile + "/endless"], tmp_path, progress=False, timeout=5)
    assert _leftovers(tmp_path) == []
    with pytest.raises(
        DownloadError,
        match=r"announces 1,000,000,000 bytes, more than the "
        r"10,240 expected",
    ):
        fetch_file(_remote(), [hostile + "/huge"], tmp_path, progress=False, timeout=5)


def test_a_trickling_mirror_meets_the_overall_deadline(hostile, tmp_path):
    start = time.monotonic()
    with pytest.raises(DownloadError, match=r"too slow – \d+ bytes in 1 s"):
        fetch_file(
            _remote(), [hostile + "/trickle"], tmp_path, progress=False, timeout=5, deadline=1.0
        )
    assert time.monotonic() - start < 3  # each read timeout (5 s) is never reached
    assert _leftovers(tmp_path) == []


def test_leftovers_of_a_killed_download_are_removed_and_nothing_else(server, tmp_path):
    import os

    base, routes, _ = server
    routes["/file.bin"] = (200, PAYLOAD, "ok")
    dead = tmp_path / ".file.bin.999999999.0a1b2c3d.part"  # our naming, its process gone
    old_style = tmp_path / ".file.bin.k2j4h5g6.part"  # older edu_cnn, a day old
    alive = tmp_path / f".file.bin.{os.getpid()}.deadbeef.part"  # a download in progress
    mine = tmp_path / ".file.bin.notes"  # not our naming
    for path in (dead, old_style, alive, mine):
        path.write_bytes(b"x" * 100)
    os.utime(old_style, (time.time() - 86400, time.time() - 86400))
    fetch_file(_remote(), [base], tmp_path, progress=False)
    assert _leftovers(tmp_path) == sorted([alive.name, mine.name, "file.bin"])
