"""A small HTTP inference service: ``python -m edu_cnn serve model.educnn``.

``GET /`` describes the model (input shape, pre-processing, classes, limits);
``POST /predict`` with the bytes of a PNG or JPEG as the body answers
``{"class": …, "probabilities": {…}}``. Every answer is JSON, errors included
(``{"error": …, "status": …}``): 400 a bad request or an image that cannot be used,
404 no such page, 405 a wrong method for the page (``GET /predict``), 408 a client too
slow, 411 no ``Content-Length``, 413 a body too large, 500 a model that gave no finite
answer, 501 an unknown method, 503 too many connections at once.

Why the standard library's ``ThreadingHTTPServer`` and not a WSGI/ASGI server: the course
runs it on a laptop with no extra dependency, and what a production server adds that
matters here – a thread per connection, time limits, bounded sizes, a listen backlog – is
a few lines on top of it, each visible below. (Behind the internet put a real reverse
proxy in front: TLS, rate limits, many processes.)

What it guarantees:

* one idle or slow client cannot block the others: each connection has its own thread,
  every read waits at most ``read_timeout`` seconds and the whole request must arrive
  within ``request_timeout`` (slowloris, a short body, HTTP/0.9 junk);
* at most ``max_connections`` connections are served at once (more get a 503 at once),
  the listen backlog absorbs a burst (``backlog``), and at most ``workers`` requests decode
  and predict at the same time (memory stays bounded);
* the body is at most ``max_bytes``, the image at most ``max_pixels`` (from its header,
  before decoding);
* the model is shared safely: the numpy forward pass runs under a lock; ONNX Runtime
  (``onnx=True``) needs none.
"""

from __future__ import annotations

import io
import json
import socket
import sys
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .inference import Classifier, PredictionError, escape_controls
from .layer import Layer
from .modelfile import Budget

__all__ = ["MAX_PIXELS", "MAX_REQUEST_BYTES", "InferenceServer", "make_server"]

#: The largest request body (an image file) the service reads.
MAX_REQUEST_BYTES = 5 * 1024 * 1024
#: The largest image the service decodes, in pixels (a digit needs far fewer).
MAX_PIXELS = 4_000_000
PROG = "python -m edu_cnn serve"


class _DeadlineReader(io.RawIOBase):
    """The socket as a raw stream whose every read waits at most the time left: a read
    timeout per call *and* one deadline for the whole request (set by the handler).
    """

    def __init__(self, sock: socket.socket, read_timeout: float) -> None:
        self.sock = sock
        self.read_timeout = read_timeout
        self.deadline = float("inf")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the request took longer than its deadline")
        self.sock.settimeout(min(self.read_timeout, left))
        return self.sock.recv_into(buffer)


class _Writer(io.BufferedIOBase):
    """Writes go out whole (``sendall``), each within the socket's timeout."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.sock.sendall(data)
        return len(data)


class _Handler(BaseHTTPRequestHandler):
    server: InferenceServer
    server_version = "edu-cnn"
    protocol_version = "HTTP/1.0"  # one request per connection: nothing idles in between

    def setup(self) -> None:
        self.connection = self.request
        self.connection.settimeout(self.server.read_timeout)
        self._raw = _DeadlineReader(self.connection, self.server.read_timeout)
        self._raw.deadline = time.monotonic() + self.server.request_timeout
        self.rfile = io.BufferedReader(self._raw, 65536)
        self.wfile = _Writer(self.connection)

    def finish(self) -> None:
        for stream in (self.wfile, self.rfile):
            try:
                stream.close()
            except OSError:
                pass

    def handle_one_request(self) -> None:
        """The standard library's loop body, with a JSON 408 when the client is too slow."""
        try:
            self.raw_requestline = self.rfile.readline(65537)
            if len(self.raw_requestline) > 65536:
                self.requestline = self.request_version = self.command = ""
                self.send_error(HTTPStatus.REQUEST_URI_TOO_LONG)
                return
            if not self.raw_requestline:
                self.close_connection = True
                return
            if not self.parse_request():
                return
            method = getattr(self, "do_" + self.command, None)
            if method is None:
                self.send_error(
                    HTTPStatus.NOT_IMPLEMENTED,
                    f"unsupported method {escape_controls(self.command)!r}; "
                    f"use GET / or POST /predict",
                )
                return
            method()
            self.wfile.flush()
        except TimeoutError:
            self._try_error(
                HTTPStatus.REQUEST_TIMEOUT,
                f"the request did not arrive within "
                f"{self.server.request_timeout:g} s (or a read waited more than "
                f"{self.server.read_timeout:g} s)",
            )
            self.close_connection = True
        except OSError:  # the client went away
            self.close_connection = True

    def _try_error(self, status: int, message: str) -> None:
        try:
            self.request_version = getattr(self, "request_version", "HTTP/1.0")
            self._reply(status, {"error": message, "status": int(status)})
        except OSError:
            pass

    # -- every answer is JSON ----------------------------------------------------------------
    def _reply(
        self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        data = json.dumps(body, ensure_ascii=False, allow_nan=False).encode("utf-8")
        if getattr(self, "request_version", "HTTP/1.0") == "HTTP/0.9":
            self.request_version = "HTTP/1.0"  # answer with a status line and headers anyway
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if getattr(self, "command", "") != "HEAD":
            self.wfile.write(data)
        self.close_connection = True

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The standard library's errors (400 bad request line, 414, 431, 501, 505) as JSON."""
        text = message or HTTPStatus(code).phrase
        if explain:
            text = f"{text} – {explain}"
        self.log_error("code %d, message %s", code, text)
        self._reply(code, {"error": text, "status": int(code)})

    # -- the pages -------------------------------------------------------------------------
    def _route(self) -> str:
        return self.path.split("?", 1)[0].rstrip("/") or "/"

    def do_GET(self) -> None:
        route = self._route()
        if route == "/":
            self._reply(200, self.server.description)
        elif route == "/predict":
            self._reply(
                405,
                {
                    "error": "POST the bytes of a PNG or JPEG to /predict (GET "
                    "/ describes the model)",
                    "status": 405,
                },
                {"Allow": "POST"},
            )
        else:
            self._reply(
                404,
                {
                    "error": f"no such page {escape_controls(self.path)!r}; try "
                    f"GET / or POST /predict",
                    "status": 404,
                },
            )

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_POST(self) -> None:
        route = self._route()
        if route == "/":
            self._reply(
                405,
                {"error": "GET / describes the model; POST images to /predict", "status": 405},
                {"Allow": "GET, HEAD"},
            )
            return
        if route != "/predict":
            self._reply(
                404,
                {"error": f"POST to /predict, not {escape_controls(self.path)!r}", "status": 404},
            )
            return
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            self._reply(
                411, {"error": "send the image with a Content-Length, not chunked", "status": 411}
            )
            return
        text = self.headers.get("Content-Length")
        limit = self.server.max_bytes
        if text is None:
            self._reply(411, {"error": "a Content-Length header is required", "status": 411})
            return
        if not text.strip().isdigit():
            self._reply(
                400,
                {
                    "error": f"Content-Length must be a number of bytes, got "
                    f"{escape_controls(text)[:40]!r}",
                    "status": 400,
                },
            )
            return
        length = int(text)
        if length == 0:
            self._reply(
                400, {"error": "send the image as the request body (it is empty)", "status": 400}
            )
            return
        if length > limit:
            self._reply(
                413,
                {
                    "error": f"the body is {length:,} bytes; at most {limit:,} are accepted",
                    "status": 413,
                },
            )
            return
        body = self.rfile.read(length)
        if len(body) < length:
            self._reply(
                400,
                {
                    "error": f"the body ended after {len(body):,} of the "
                    f"{length:,} bytes announced",
                    "status": 400,
                },
            )
            return
        with self.server.work:  # at most `workers` images decoded and predicted at once
            try:
                answer = self.server.classifier.classify(body)
            except PredictionError as error:
                status = 500 if "not finite" in str(error) else 400
                self._reply(status, {"error": str(error), "status": status})
                return
        self._reply(200, answer)

    def log_message(self, format: str, *args: Any) -> None:
        if not self.server.quiet:
            sys.stderr.write(f"{PROG}: {self.address_string()} {escape_controls(format % args)}\n")


class InferenceServer(ThreadingHTTPServer):
    """A ``ThreadingHTTPServer`` with the limits listed in the module's docstring."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        classifier: Classifier,
        *,
        quiet: bool = False,
        read_timeout: float = 5.0,
        request_timeout: float = 10.0,
        max_bytes: int = MAX_REQUEST_BYTES,
        max_connections: int = 256,
        backlog: int = 512,
        workers: int = 4,
    ) -> None:
        self.request_queue_size = int(backlog)  # read by server_activate's listen()
        self.classifier = classifier
        self.quiet = quiet
        self.read_timeout = float(read_timeout)
        self.request_timeout = float(request_timeout)
        self.max_bytes = int(max_bytes)
        self.connections = threading.BoundedSemaphore(int(max_connections))
        self.work = threading.BoundedSemaphore(int(workers))
        pre = classifier.preprocessing
        self.runtime = "onnxruntime" if classifier.session is not None else "numpy"
        self.description = {  # what GET / answers (chapter 8 prints it)
            "input_shape": list(classifier.input_shape),
            "preprocessing": pre.to_json() if pre else None,
            "class_names": classifier.class_names,
            "usage": "POST the bytes of a PNG or JPEG digit to /predict",
        }
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self.connections.acquire(blocking=False):
            self._refuse_busy(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self.connections.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.connections.release()

    def _refuse_busy(self, request: socket.socket) -> None:
        body = json.dumps({"error": "too many connections at once; try again", "status": 503})
        data = (
            f"HTTP/1.0 503 Service Unavailable\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nRetry-After: 1\r\nConnection: close\r\n\r\n"
            f"{body}"
        ).encode()
        try:
            request.settimeout(1.0)
            request.sendall(data)
        except OSError:
            pass
        self.shutdown_request(request)


def make_server(
    model: Layer,
    host: str = "127.0.0.1",
    port: int = 8000,
    quiet: bool = False,
    *,
    onnx: bool = False,
    max_pixels: int = MAX_PIXELS,
    max_bytes: int = MAX_REQUEST_BYTES,
    budget: Budget | None = None,
    **limits: Any,
) -> InferenceServer:
    """The inference service around ``model``; call ``serve_forever()`` to run it.

    ``port=0`` picks a free port (``server.server_address`` says which); ``quiet=True``
    logs no requests; ``onnx=True`` answers through ONNX Runtime. ``limits`` are passed to
    :class:`InferenceServer` (``read_timeout``, ``request_timeout``, ``max_connections``,
    ``backlog``, ``workers``).

    Raises
    ------
    PredictionError
        If the model cannot classify 28×28 digits (the message says why).
    """
    classifier = Classifier(model, onnx=onnx, max_pixels=max_pixels, budget=budget)
    return InferenceServer((host, port), classifier, quiet=quiet, max_bytes=max_bytes, **limits)
