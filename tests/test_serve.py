"""``edu_cnn.serve``: a service that no client can block, crash or make answer in HTML.

Every test talks to a real server over 127.0.0.1 (a port the OS picks), with real sockets;
loops are bounded in count and time.
"""

from __future__ import annotations

import concurrent.futures
import io
import json
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import zlib

import numpy as np
import pytest
from PIL import Image, ImageDraw

from edu_cnn import init, modelfile
from edu_cnn.linear import Flatten, Linear
from edu_cnn.sequential import Sequential
from edu_cnn.serve import make_server

CLASSES = ["zero", "one", "seven"]


def digit(kind: str, size: int = 96) -> bytes:
    """A dark digit on white paper, as PNG bytes."""
    image = Image.new("L", (size, size), 255)
    pen = ImageDraw.Draw(image)
    s = size / 96
    if kind == "zero":
        pen.ellipse((30 * s, 15 * s, 66 * s, 81 * s), outline=0, width=int(7 * s))
    elif kind == "one":
        pen.line([(48 * s, 12 * s), (48 * s, 84 * s)], fill=0, width=int(7 * s))
    else:
        pen.line([(25 * s, 15 * s), (70 * s, 15 * s)], fill=0, width=int(7 * s))
        pen.line([(70 * s, 15 * s), (38 * s, 84 * s)], fill=0, width=int(7 * s))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    """A template-matching classifier of three digits (one weight row per class)."""
    from edu_cnn.preprocess import load_image, to_model_input

    rows = []
    for kind in CLASSES:
        x = to_model_input(load_image(digit(kind, 200)), 0.1307, 0.3081).ravel()
        rows.append(x / np.linalg.norm(x))
    model = Sequential(Flatten(), Linear(784, 3), input_shape=(1, 28, 28))
    model.load_state_dict({"1.weight": 40 * np.stack(rows), "1.bias": np.zeros(3)})
    return modelfile.save(
        model,
        tmp_path_factory.mktemp("serve") / "digits.educnn",
        mean=0.1307,
        std=0.3081,
        class_names=CLASSES,
    )


@pytest.fixture
def serve(model_path):
    """Start a server (keyword arguments go to make_server); yields its base URL's port."""
    servers = []

    def start(path=model_path, **options) -> int:
        options.setdefault("quiet", True)
        server = make_server(modelfile.load(path), port=0, **options)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        servers.append((server, thread))
        return server.server_address[1]

    start.servers = servers
    yield start
    for server, thread in servers:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def post(port: int, body: bytes, path: str = "/predict", timeout: float = 20) -> tuple[int, dict]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def raw(port: int, data: bytes, timeout: float = 20) -> tuple[int, dict, str]:
    """Send raw bytes, read the whole answer: (status, JSON body, headers)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status = int(head.split()[1])
    return status, json.loads(body), head.decode("latin-1")


# -- answers -------------------------------------------------------------------------------------
def test_get_describes_and_post_classifies(serve):
    port = serve()
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as response:
        description = json.load(response)
    assert description["class_names"] == CLASSES and description["input_shape"] == [1, 28, 28]
    for kind in CLASSES:
        status, answer = post(port, digit(kind))
        assert status == 200 and answer["class"] == kind, answer


def test_serving_through_onnx_runtime_gives_the_same_answers(serve):
    numpy_port, onnx_port = serve(), serve(onnx=True)
    assert [server.runtime for server, _ in serve.servers] == ["numpy", "onnxruntime"]
    assert serve.servers[1][0].classifier.session is not None
    for kind in CLASSES:
        a, b = post(numpy_port, digit(kind))[1], post(onnx_port, digit(kind))[1]
        assert a["class"] == b["class"] == kind
        np.testing.assert_allclose(
            list(a["probabilities"].values()), list(b["probabilities"].values()), atol=2e-4
        )


@pytest.mark.parametrize(
    "request_bytes, status, message",
    [
        (b"GET /predict HTTP/1.0\r\n\r\n", 405, "POST the bytes"),
        (b"POST / HTTP/1.0\r\nContent-Length: 1\r\n\r\nx", 405, "GET / describes"),
        (b"GET /nothing HTTP/1.0\r\n\r\n", 404, "no such page"),
        (
            b"POST /predict HTTP/1.0\r\nContent-Length: abc\r\n\r\n",
            400,
            "Content-Length must be a number of bytes, got 'abc'",
        ),
        (b"POST /predict HTTP/1.0\r\n\r\n", 411, "Content-Length header is required"),
        (b"POST /predict HTTP/1.0\r\nContent-Length: 0\r\n\r\n", 400, "it is empty"),
        (b"POST /predict HTTP/1.0\r\nContent-Length: 99999999\r\n\r\n", 413, "at most 5,242,880"),
        (
            b"POST /predict HTTP/1.0\r\nContent-Length: 12\r\n\r\nnot an image",
            400,
            "not an image PIL can read",
        ),
        (b"BREW /pot HTTP/1.0\r\n\r\n", 501, "unsupported method 'BREW'"),
        (b"GARBAGE\r\n\r\n", 400, "Bad request"),
        (b"GET /" + b"a" * 70_000 + b" HTTP/1.0\r\n\r\n", 414, "URI Too Long"),
        (b"GET / HTTP/1.0\r\n" + b"X-A: b\r\n" * 120 + b"\r\n", 431, "Too many headers"),
        (b"GET / HTTP/7.0\r\n\r\n", 505, "Invalid HTTP version"),
    ],
)
def test_every_answer_is_json_with_the_right_status(serve, request_bytes, status, message):
    port = serve()
    got, body, head = raw(port, request_bytes)
    assert got == status, body
    assert "application/json" in head
    assert body["status"] == status and message in body["error"], body
    if status == 405:
        assert "Allow:" in head


def test_a_request_cut_short_gets_a_json_408_within_the_deadline(serve):
    port = serve(request_timeout=1.0, read_timeout=0.5)
    start = time.monotonic()
    got, body, _ = raw(port, b"POST /predict HTTP/1.0\r\nContent-Length: 1000\r\n\r\nabc")
    assert got == 408 and "did not arrive within 1 s" in body["error"]
    assert time.monotonic() - start < 3


# -- no client can block the others ----------------------------------------------------------
def test_an_idle_and_a_slowloris_client_do_not_delay_another(serve):
    port = serve(request_timeout=30, read_timeout=30)
    idle = socket.create_connection(("127.0.0.1", port), timeout=10)
    slow = socket.create_connection(("127.0.0.1", port), timeout=10)
    slow.sendall(b"POST /predict HTTP/1.0\r\nContent-Len")  # and never more
    zero09 = socket.create_connection(("127.0.0.1", port), timeout=10)
    zero09.sendall(b"GET /")  # an HTTP/0.9 line, unfinished
    try:
        body = digit("seven")
        post(port, body)  # warm up (imports, first forward pass)
        start = time.monotonic()
        status, answer = post(port, body, timeout=5)
        elapsed = time.monotonic() - start
        assert status == 200 and answer["class"] == "seven"
        assert elapsed < 1.0, f"answered after {elapsed:.2f} s"
    finally:
        for sock in (idle, slow, zero09):
            sock.close()


def test_200_concurrent_requests_get_answers_and_no_reset(serve):
    """A burst of 200 connections at once (the stdlib default backlog of 5 reset 105)."""
    port = serve()
    body = digit("one", 48)
    barrier = threading.Barrier(200, timeout=30)

    def one(_):
        barrier.wait()
        return post(port, body, timeout=60)

    start = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(200) as pool:
        results = list(pool.map(one, range(200)))
    assert time.monotonic() - start < 90
    assert [status for status, _ in results] == [200] * 200
    assert {answer["class"] for _, answer in results} == {"one"}


def test_too_many_connections_get_a_json_503_at_once(serve):
    port = serve(max_connections=2, request_timeout=20, read_timeout=20)
    held = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(2)]
    try:
        time.sleep(0.3)  # let the server accept both
        start = time.monotonic()
        status, body, _ = raw(port, b"GET / HTTP/1.0\r\n\r\n")
        assert status == 503 and "too many connections" in body["error"]
        assert time.monotonic() - start < 2
    finally:
        for sock in held:
            sock.close()
    time.sleep(0.3)
    assert raw(port, b"GET / HTTP/1.0\r\n\r\n")[0] == 200


def test_the_model_is_shared_safely_between_threads(serve):
    """Concurrent predictions of different digits each get their own answer (the layers
    keep their last forward pass: without the lock, answers would mix)."""
    port = serve(workers=8)
    bodies = {kind: digit(kind) for kind in CLASSES}
    expected = {kind: post(port, body)[1] for kind, body in bodies.items()}
    jobs = [CLASSES[i % 3] for i in range(48)]
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda kind: post(port, bodies[kind])[1], jobs))
    for kind, answer in zip(jobs, answers, strict=True):
        assert answer == expected[kind]


# -- hostile images and models ---------------------------------------------------------------
def bomb_png(side: int = 10_000) -> bytes:
    """A real decompression bomb: a side×side gray PNG of zeros, ~100 KB for 100 M pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    packer = zlib.compressobj(9)
    row = bytes(side + 1)
    idat = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0))
        + chunk(b"IDAT", idat)
        + chunk(b"IEND", b"")
    )


def test_a_bomb_image_is_refused_with_bounded_memory(model_path, tmp_path):
    """The server runs in a child process; its peak RSS (VmHWM) after the bomb is read."""
    bomb = bomb_png()
    assert len(bomb) < 200_000
    code = (
        "import sys, threading\n"
        "from edu_cnn import modelfile\nfrom edu_cnn.serve import make_server\n"
        f"server = make_server(modelfile.load({str(model_path)!r}), port=0, quiet=True)\n"
        "threading.Thread(target=server.serve_forever, daemon=True).start()\n"
        "print(server.server_address[1], flush=True)\n"
        "sys.stdin.readline()\n"
        "print([l for l in open('/proc/self/status') if l.startswith('VmHWM')][0], flush=True)\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        port = int(child.stdout.readline())
        start = time.monotonic()
        status, answer = post(port, bomb, timeout=30)
        elapsed = time.monotonic() - start
        status2, answer2 = post(port, digit("zero"))
        child.stdin.write("\n")
        child.stdin.flush()
        peak_mb = int(child.stdout.readline().split()[1]) / 1024
    finally:
        child.kill()
        child.wait(timeout=10)
    assert (
        status == 400
        and "is 10000×10000 = 100,000,000 pixels, more than the 4,000,000" in answer["error"]
    ), answer
    assert status2 == 200 and answer2["class"] == "zero"  # still serving
    print(
        f"serve: {len(bomb):,}-byte PNG bomb (100 M pixels) refused in {elapsed:.2f} s, "
        f"server peak RSS {peak_mb:.0f} MB"
    )
    assert (
        elapsed < 5 and peak_mb < 300
    )  # decoding it would have cost ≥ 100 MB more, 4.6 GB at 141 M


def test_non_finite_outputs_are_a_json_500_never_nan(serve, tmp_path):
    model = Sequential(Flatten(), Linear(784, 3), input_shape=(1, 28, 28))
    model.load_state_dict(
        {"1.weight": np.full((3, 784), 3e38, np.float32), "1.bias": np.zeros(3, np.float32)}
    )
    path = modelfile.save(model, tmp_path / "overflow.educnn", mean=0.1307, std=0.3081)
    port = serve(path)
    got, body, _ = raw(
        port,
        b"POST /predict HTTP/1.0\r\nContent-Length: %d\r\n\r\n%s"
        % (len(digit("one")), digit("one")),
    )
    assert got == 500 and "layer 1 (Linear" in body["error"] and "not finite" in body["error"]


def test_a_model_that_cannot_classify_digits_is_refused_before_listening(tmp_path):
    from edu_cnn.activations import Softmax
    from edu_cnn.inference import PredictionError

    init.manual_seed(0)
    wrong_softmax = Sequential(Flatten(), Linear(784, 3), Softmax(dim=0), input_shape=(1, 28, 28))
    with pytest.raises(PredictionError, match=r"normalises over axis 0 .* not over the classes"):
        make_server(wrong_softmax, port=0)
    from edu_cnn.conv import Conv2d

    not_a_vector = Sequential(Conv2d(1, 3, 28), input_shape=(1, 28, 28))
    with pytest.raises(PredictionError, match=r"output for one sample has shape \(3, 1, 1\)"):
        make_server(not_a_vector, port=0)
    wrong_shape = Sequential(Flatten(), Linear(100, 3), input_shape=(1, 28, 28))
    with pytest.raises(PredictionError, match=r"does not fit the layers: layer 1"):
        make_server(wrong_shape, port=0)
