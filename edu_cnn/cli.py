"""The command line: ``python -m edu_cnn predict | export | info | serve``.

::

    python -m edu_cnn predict lenet5.educnn three.png seven.jpg   # class and probabilities
    python -m edu_cnn export  lenet5.educnn lenet5.onnx             # ONNX, checked
    python -m edu_cnn info    lenet5.educnn                         # architecture, contract
    python -m edu_cnn serve   lenet5.educnn --port 8000             # a small HTTP service

``predict`` prepares each image exactly as the training digits were prepared
(:mod:`edu_cnn.preprocess`: crop, scale to 20×20, centre by centre of mass in 28×28) and
normalises it with the mean / std stored in the model file – the pre-processing contract.

Exit codes: 0 success, 1 an error (a missing file, not an image, not a model file – said
in one line, without a traceback), 2 a usage error (argparse's convention).
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import numpy as np

from .activations import softmax
from .layer import Layer
from .plots import top_k

PROG = "python -m edu_cnn"


class CommandError(Exception):
    """A failure the user can fix; printed as one line, exit code 1."""


def _load_model(path: str) -> Layer:
    from .modelfile import load

    try:
        return load(path)
    except ValueError as error:  # ModelFileError and friends: their message says it all
        raise CommandError(str(error)) from None


def _outputs_are_probabilities(model: Layer) -> bool:
    children = model.children()
    last = children[-1] if children else model
    return type(last).__name__ == "Softmax"


def _check_takes_digits(model: Layer) -> None:
    input_shape = getattr(model, "input_shape", None)
    if input_shape is not None and int(np.prod(input_shape)) != 28 * 28:
        raise CommandError(f"this command prepares 28×28 grey digits, but the model expects "
                           f"input {tuple(input_shape)}")


def read_image(source: str | Path | bytes) -> np.ndarray:
    """An image as a uint8 array, from a file path or from the bytes of a PNG / JPEG."""
    from .preprocess import load_image

    if not isinstance(source, (bytes, bytearray)):
        return load_image(source)
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(source)) as image:
            if image.mode not in ("L", "RGB", "RGBA"):
                image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
            return np.asarray(image).copy()
    except (UnidentifiedImageError, OSError) as error:
        raise ValueError(f"read_image: the {len(source)} bytes are not an image PIL can read "
                         f"({error})") from None


def image_to_input(model: Layer, source: str | Path | bytes | np.ndarray) -> np.ndarray:
    """The batch of one that ``model`` expects for a digit image (path, bytes or array).

    Uses :mod:`edu_cnn.preprocess` (MNIST-style crop, scale and centre) and the model's
    stored mean / std (none stored: the pixels stay in [0, 1]).
    """
    from .preprocess import preprocess_digit

    _check_takes_digits(model)
    input_shape = getattr(model, "input_shape", None)
    try:
        image = source if isinstance(source, np.ndarray) else read_image(source)
        digit = preprocess_digit(image)[np.newaxis, np.newaxis]
    except ValueError as error:
        raise CommandError(str(error)) from None
    preprocessing = getattr(model, "preprocessing", None)
    x = preprocessing.apply(digit) if preprocessing is not None else digit.astype(np.float32)
    return x.reshape((1, *input_shape)) if input_shape is not None else x


def predict_image(model: Layer, source: str | Path | bytes | np.ndarray) -> np.ndarray:
    """The class probabilities (a vector) the model gives one digit image."""
    output = model.forward(image_to_input(model, source))
    probabilities = output if _outputs_are_probabilities(model) else softmax(output, axis=1)
    return np.asarray(probabilities, dtype=np.float64)[0]


def classify(model: Layer, source: str | Path | bytes | np.ndarray) -> dict[str, Any]:
    """``{"class": name, "probabilities": {name: p, …}}`` for one digit image."""
    p = predict_image(model, source)
    names = _class_names(model, len(p))
    return {"class": names[int(np.argmax(p))],
            "probabilities": {n: round(float(v), 4) for n, v in zip(names, p)}}


def _class_names(model: Layer, n: int) -> list[str]:
    names = getattr(model, "class_names", None)
    return list(names) if names and len(names) == n else [str(i) for i in range(n)]


def cmd_predict(args: argparse.Namespace) -> int:
    model = _load_model(args.model)
    _check_takes_digits(model)
    if getattr(model, "preprocessing", None) is None:
        print(f"{PROG} predict: note: {args.model} stores no mean / std; pixels are fed in "
              f"[0, 1]", file=sys.stderr)
    failures = 0
    results = []
    for path in args.images:
        try:
            answer = classify(model, path)
        except CommandError as error:
            print(f"{PROG} predict: error: {error}", file=sys.stderr)
            failures += 1
            continue
        results.append({"image": path, **answer})
        if not args.json:
            names = list(answer["probabilities"])
            classes, probs = top_k(list(answer["probabilities"].values()),
                                   min(args.top, len(names)))
            ranked = "  ".join(f"{names[c]}: {q:.3f}" for c, q in zip(classes, probs))
            print(f"{path}: {answer['class']}  ({ranked})")
    if args.json:
        print(json.dumps(results, indent=2, ensure_ascii=False))
    return 1 if failures else 0


def cmd_export(args: argparse.Namespace) -> int:
    from .onnx_export import export_onnx, run_onnx

    model = _load_model(args.model)
    shape = args.input_shape or getattr(model, "input_shape", None)
    if shape is None:
        raise CommandError(f"{args.model} stores no input shape; give one, e.g. "
                           f"--input-shape 1,28,28")
    try:
        proto = export_onnx(model, args.output, input_shape=shape, opset=args.opset)
    except ValueError as error:
        raise CommandError(str(error)) from None
    x = np.random.default_rng(0).normal(size=(4, *shape)).astype(np.float32)
    difference = float(np.abs(run_onnx(args.output, x) - model.forward(x)).max())
    nodes = len(proto.graph.node)
    print(f"wrote {args.output}: {nodes} node{'' if nodes == 1 else 's'}, opset {args.opset}, "
          f"passes onnx.checker; ONNX Runtime vs numpy on 4 random inputs: "
          f"max difference {difference:.1e}")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from .modelfile import read_header

    model = _load_model(args.model)
    header = read_header(args.model)
    print(f"{args.model}: edu-cnn model file, format version {header['format_version']}")
    shape = getattr(model, "input_shape", None)
    pre = header.get("preprocessing")
    names = getattr(model, "class_names", None)
    rows = [("input shape", "(N, " + ", ".join(map(str, shape)) + ")" if shape else "not stored"),
            ("preprocessing", f"pixels in [0, 1], then (x − {pre['mean']}) / {pre['std']}"
             if pre else "not stored"),
            ("classes", ", ".join(names) if names else "not stored"),
            *((str(k), str(v)) for k, v in (header.get("metadata") or {}).items())]
    width = max(len(key) for key, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}: {value}")
    print()
    if shape is not None and hasattr(model, "summary"):
        model.summary(shape)
    else:
        print(repr(model))
        print(f"Total parameters: {model.num_parameters():,}")
    return 0


MAX_REQUEST_BYTES = 5 * 1024 * 1024


def make_server(model: Layer, host: str = "127.0.0.1", port: int = 8000,
                quiet: bool = False) -> HTTPServer:
    """A tiny HTTP inference service around ``model`` (standard library only).

    ``GET /`` describes the model (input shape, pre-processing, classes);
    ``POST /predict`` with the bytes of a PNG or JPEG as the body answers
    ``{"class": …, "probabilities": {…}}``; a bad request gets status 400 and
    ``{"error": …}``. Requests are served one at a time (the layers keep what their last
    forward pass computed, so two at once would mix). ``port=0`` picks a free port
    (``server.server_address`` says which); ``quiet=True`` logs no requests. Call
    ``serve_forever()`` to run it.
    """
    _check_takes_digits(model)
    pre = getattr(model, "preprocessing", None)
    description = {"input_shape": list(getattr(model, "input_shape", None) or []),
                   "preprocessing": pre.to_json() if pre else None,
                   "class_names": getattr(model, "class_names", None),
                   "usage": "POST the bytes of a PNG or JPEG digit to /predict"}

    class Handler(BaseHTTPRequestHandler):
        server_version = "edu-cnn"

        def _reply(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body, ensure_ascii=False).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path.rstrip("/") == "":
                self._reply(200, description)
            else:
                self._reply(404, {"error": f"no such page {self.path!r}; try / or POST /predict"})

        def do_POST(self) -> None:
            if self.path.rstrip("/") != "/predict":
                self._reply(404, {"error": f"POST to /predict, not {self.path!r}"})
                return
            length = int(self.headers.get("Content-Length") or 0)
            if not 0 < length <= MAX_REQUEST_BYTES:
                self._reply(400, {"error": f"send the image as the request body "
                                           f"(1 byte … {MAX_REQUEST_BYTES} bytes), got {length}"})
                return
            try:
                self._reply(200, classify(model, self.rfile.read(length)))
            except CommandError as error:
                self._reply(400, {"error": str(error)})

        def log_message(self, format: str, *args: Any) -> None:
            if not quiet:
                sys.stderr.write(f"{PROG} serve: {self.address_string()} {format % args}\n")

    return HTTPServer((host, port), Handler)


def cmd_serve(args: argparse.Namespace) -> int:
    model = _load_model(args.model)
    server = make_server(model, args.host, args.port)
    host, port = server.server_address[:2]
    print(f"serving {args.model} on http://{host}:{port} – POST a PNG or JPEG to /predict, "
          f"e.g. curl --data-binary @digit.png http://{host}:{port}/predict; Ctrl+C stops",
          flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def _shape_argument(text: str) -> tuple[int, ...]:
    try:
        shape = tuple(int(part) for part in text.split(","))
    except ValueError:
        shape = ()
    if not shape or min(shape) < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers separated by commas, "
                                         f"e.g. 1,28,28, got {text!r}")
    return shape


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Use a trained edu-cnn model: classify digit images, export it to ONNX, "
                    "or show what the model file holds.",
        epilog="Exit codes: 0 ok, 1 error (missing file, not an image, bad model file), "
               "2 wrong usage.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    predict = commands.add_parser(
        "predict", help="classify PNG / JPEG digit images",
        description="Print the predicted class and the top probabilities for each image. "
                    "Images are prepared like MNIST (crop, scale to 20×20, centre in 28×28) "
                    "and normalised with the mean / std stored in the model file.")
    predict.add_argument("model", help="a model file written by edu_cnn.modelfile.save")
    predict.add_argument("images", nargs="+", metavar="IMAGE", help="PNG or JPEG files")
    predict.add_argument("--top", type=int, default=3, metavar="K",
                         help="how many classes to list per image (default 3)")
    predict.add_argument("--json", action="store_true",
                         help="print all probabilities as JSON instead")
    predict.set_defaults(run=cmd_predict)

    export = commands.add_parser(
        "export", help="export a model file to ONNX",
        description="Write the model as an ONNX graph (dynamic batch axis), check it with "
                    "onnx.checker and compare ONNX Runtime with the numpy forward pass.")
    export.add_argument("model", help="a model file written by edu_cnn.modelfile.save")
    export.add_argument("output", metavar="OUT.onnx", help="where to write the ONNX file")
    export.add_argument("--opset", type=int, default=17, help="ONNX opset version (default 17)")
    export.add_argument("--input-shape", type=_shape_argument, metavar="C,H,W",
                        help="one sample's shape, if the model file stores none (e.g. 1,28,28)")
    export.set_defaults(run=cmd_export)

    info = commands.add_parser(
        "info", help="show the architecture and the pre-processing contract",
        description="Print the input shape, pre-processing, class names, metadata and the "
                    "layer-by-layer summary of a model file.")
    info.add_argument("model", help="a model file written by edu_cnn.modelfile.save")
    info.set_defaults(run=cmd_info)

    serve = commands.add_parser(
        "serve", help="answer predictions over HTTP (a small service)",
        description="Serve the model over HTTP: GET / describes it, POST /predict with a PNG "
                    "or JPEG as the body returns the class and probabilities as JSON.")
    serve.add_argument("model", help="a model file written by edu_cnn.modelfile.save")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (default 127.0.0.1: this computer only)")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 = any free)")
    serve.set_defaults(run=cmd_serve)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "top", 1) < 1:
        parser.error("--top must be at least 1")
    try:
        return args.run(args)
    except CommandError as error:
        print(f"{PROG} {args.command}: error: {error}", file=sys.stderr)
        return 1
    except OSError as error:  # e.g. cannot write the output file
        print(f"{PROG} {args.command}: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


__all__ = [
    "build_parser",
    "classify",
    "image_to_input",
    "main",
    "make_server",
    "predict_image",
    "read_image",
]
