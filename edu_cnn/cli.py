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
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .inference import Classifier, PredictionError, escape_controls
from .layer import Layer
from .metrics import top_k
from .modelfile import Budget
from .preprocess import MAX_IMAGE_PIXELS

PROG = "python -m edu_cnn"


class CommandError(Exception):
    """A failure the user can fix; printed as one line, exit code 1."""


def _budget(args: argparse.Namespace) -> Budget:
    defaults = Budget()
    try:
        return Budget(
            max_weight_bytes=args.max_weight_bytes or defaults.max_weight_bytes,
            max_parameters=args.max_parameters or defaults.max_parameters,
            max_activation_numbers=args.max_activations or defaults.max_activation_numbers,
        )
    except ValueError as error:
        raise CommandError(str(error)) from None


def _load_model(path: str, args: argparse.Namespace | None = None) -> Layer:
    from .modelfile import load

    try:
        if args is None:
            return load(path)
        return load(path, sha256=args.sha256, budget=_budget(args))
    except ValueError as error:  # ModelFileError and friends: their message says it all
        raise CommandError(str(error)) from None


def _classifier(model: Layer, args: argparse.Namespace | None = None, **options: Any) -> Classifier:
    try:
        budget = _budget(args) if args is not None else None
        return Classifier(model, budget=budget, **options)
    except PredictionError as error:
        raise CommandError(str(error)) from None


def image_to_input(model: Layer, source: str | Path | bytes | np.ndarray) -> np.ndarray:
    """The batch of one that ``model`` expects for a digit image (path, bytes or array).

    Uses :mod:`edu_cnn.preprocess` (MNIST-style crop, scale and centre) and the model's
    stored mean / std (none stored: the pixels stay in [0, 1]).
    """
    try:
        return _classifier(model).to_input(source)
    except PredictionError as error:
        raise CommandError(str(error)) from None


def predict_image(model: Layer, source: str | Path | bytes | np.ndarray) -> np.ndarray:
    """The class probabilities (a vector) the model gives one digit image."""
    classifier = _classifier(model)
    try:
        return classifier.probabilities(classifier.to_input(source))[0]
    except PredictionError as error:
        raise CommandError(str(error)) from None


def classify(model: Layer, source: str | Path | bytes | np.ndarray) -> dict[str, Any]:
    """``{"class": name, "probabilities": {name: p, …}}`` for one digit image."""
    try:
        return _classifier(model).classify(source)
    except PredictionError as error:
        raise CommandError(str(error)) from None


def _json(value: Any) -> str:
    """JSON for a terminal: no NaN, and control characters escaped even beyond ASCII."""
    return (
        escape_controls(json.dumps(value, indent=2, ensure_ascii=False, allow_nan=False))
        .replace("\\x0a", "\n")
        .replace("\\x", "\\u00")
    )


def cmd_predict(args: argparse.Namespace) -> int:
    model = _load_model(args.model, args)
    classifier = _classifier(model, args, max_pixels=args.max_pixels)
    if getattr(model, "preprocessing", None) is None:
        print(
            f"{PROG} predict: note: {escape_controls(args.model)} stores no mean / std; "
            f"pixels are fed in [0, 1]",
            file=sys.stderr,
        )
    failures = 0
    results = []
    for path in args.images:
        try:
            answer = classifier.classify(path)
        except PredictionError as error:
            print(f"{PROG} predict: error: {escape_controls(str(error))}", file=sys.stderr)
            failures += 1
            continue
        results.append({"image": path, **answer})
        if not args.json:
            names = list(answer["probabilities"])
            classes, probs = top_k(
                list(answer["probabilities"].values()), min(args.top, len(names))
            )
            ranked = "  ".join(f"{names[c]}: {q:.3f}" for c, q in zip(classes, probs, strict=True))
            print(escape_controls(f"{path}: {answer['class']}  ({ranked})"))
    if args.json:
        print(_json(results))
    return 1 if failures else 0


def cmd_export(args: argparse.Namespace) -> int:
    import onnx

    from .onnx_export import onnx_session, run_onnx, to_onnx
    from .safefile import atomic_write

    model = _load_model(args.model, args)
    shape = args.input_shape or getattr(model, "input_shape", None)
    if shape is None:
        raise CommandError(
            f"{args.model} stores no input shape; give one, e.g. --input-shape 1,28,28"
        )
    try:
        proto = to_onnx(model, shape, opset=args.opset)
        onnx.checker.check_model(proto, full_check=True)
    except (ValueError, onnx.checker.ValidationError) as error:
        raise CommandError(str(error)) from None
    # compared in memory first: a graph that disagrees with numpy is never written
    x = np.random.default_rng(0).normal(size=(4, *shape)).astype(np.float32)
    expected = np.asarray(model.forward(x))
    if not np.isfinite(expected).all():
        raise CommandError(
            f"{args.model}: the model's output on 4 random inputs is not finite; not exported"
        )
    got = np.asarray(run_onnx(onnx_session(proto), x))
    difference = float(np.abs(got - expected).max())
    if not difference <= 1e-3 * max(1.0, float(np.abs(expected).max())):
        raise CommandError(
            f"ONNX Runtime disagrees with numpy on 4 random inputs (max "
            f"difference {difference:.3g}); {args.output} not written"
        )
    with atomic_write(args.output, "export", error=CommandError) as handle:
        handle.write(proto.SerializeToString())
    nodes = len(proto.graph.node)
    print(
        f"wrote {escape_controls(args.output)}: {nodes} node{'' if nodes == 1 else 's'}, "
        f"opset {args.opset}, passes onnx.checker; ONNX Runtime vs numpy on 4 random "
        f"inputs: max difference {difference:.1e}"
    )
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    model = _load_model(args.model, args)
    print(escape_controls(f"{args.model}: edu-cnn model file, format version 1"))
    shape = getattr(model, "input_shape", None)
    pre = getattr(model, "preprocessing", None)
    pre = pre.to_json() if pre is not None else None
    names = getattr(model, "class_names", None)
    rows = [
        ("input shape", "(N, " + ", ".join(map(str, shape)) + ")" if shape else "not stored"),
        (
            "preprocessing",
            f"pixels in [0, 1], then (x − {pre['mean']}) / {pre['std']}" if pre else "not stored",
        ),
        ("classes", ", ".join(names) if names else "not stored"),
        *(
            (str(k), json.dumps(v, ensure_ascii=False) if not isinstance(v, str) else v)
            for k, v in (getattr(model, "metadata", None) or {}).items()
        ),
    ]
    rows = [(escape_controls(key), escape_controls(value)) for key, value in rows]
    width = max(len(key) for key, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}: {value}")
    print()
    if shape is not None and hasattr(model, "summary"):
        text = model.summary(shape, show=False)
    else:
        text = f"{model!r}\nTotal parameters: {model.num_parameters():,}"
    for line in str(text).splitlines():
        print(escape_controls(line))
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from .serve import make_server

    model = _load_model(args.model, args)
    try:
        server = make_server(
            model,
            args.host,
            args.port,
            onnx=args.onnx,
            max_pixels=args.max_pixels,
            max_bytes=args.max_bytes,
            budget=_budget(args),
            workers=args.workers,
        )
    except PredictionError as error:
        raise CommandError(str(error)) from None
    except OSError as error:  # port in use, address not available
        raise CommandError(
            f"cannot listen on {args.host}:{args.port} ({error.strerror or error})"
        ) from None
    host, port = server.server_address[:2]
    if host not in ("127.0.0.1", "::1", "localhost"):
        print(
            f"{PROG} serve: note: listening on {host}, reachable from other computers; "
            f"the service has no authentication and no TLS",
            file=sys.stderr,
        )
    runtime = "ONNX Runtime" if args.onnx else "numpy"
    print(
        f"serving {escape_controls(args.model)} ({runtime}) on http://{host}:{port} – POST a "
        f"PNG or JPEG to /predict, e.g. curl --data-binary @digit.png "
        f"http://{host}:{port}/predict; Ctrl+C stops",
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def __getattr__(name: str) -> Any:
    if name == "make_server":  # its home is edu_cnn.serve; kept here for older notebooks
        from .serve import make_server

        return make_server
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _port_argument(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"a port is a number from 0 to 65535, got {text!r}")
    return port


def _positive_int(text: str) -> int:
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _sha256_argument(text: str) -> str:
    value = text.strip().lower()
    if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
        raise argparse.ArgumentTypeError(f"a SHA-256 is 64 hex digits, got {text!r}")
    return value


def _model_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="a model file written by edu_cnn.modelfile.save")
    parser.add_argument(
        "--sha256",
        type=_sha256_argument,
        metavar="HEX",
        help="refuse the file unless its SHA-256 is HEX (a hash published "
        "by the model's author, e.g. beside the download)",
    )
    budget = Budget()
    parser.add_argument(
        "--max-weight-bytes",
        type=_positive_int,
        metavar="N",
        help=f"largest total size of the weights (default {budget.max_weight_bytes:,})",
    )
    parser.add_argument(
        "--max-parameters",
        type=_positive_int,
        metavar="N",
        help=f"largest number of parameters (default {budget.max_parameters:,})",
    )
    parser.add_argument(
        "--max-activations",
        type=_positive_int,
        metavar="N",
        help=f"largest layer output for one sample, in numbers (default "
        f"{budget.max_activation_numbers:,})",
    )


def _shape_argument(text: str) -> tuple[int, ...]:
    try:
        shape = tuple(int(part) for part in text.split(","))
    except ValueError:
        shape = ()
    if not shape or min(shape) < 1:
        raise argparse.ArgumentTypeError(
            f"expected positive integers separated by commas, e.g. 1,28,28, got {text!r}"
        )
    return shape


def _model_command(
    commands: Any, name: str, run: Callable[[argparse.Namespace], int], **texts: str
) -> argparse.ArgumentParser:
    """A subcommand ``name`` that reads a model file (with its safety options) and runs ``run``."""
    parser = commands.add_parser(name, **texts)
    _model_options(parser)
    parser.set_defaults(run=run)
    return parser


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m edu_cnn`` command line: subcommands predict, export, info and serve."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Use a trained edu-cnn model: classify digit images, export it to ONNX, "
        "or show what the model file holds.",
        epilog="Exit codes: 0 ok, 1 error (missing file, not an image, bad model file), "
        "2 wrong usage.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    predict = _model_command(
        commands,
        "predict",
        cmd_predict,
        help="classify PNG / JPEG digit images",
        description="Print the predicted class and the top probabilities for each image. "
        "Images are prepared like MNIST (crop, scale to 20×20, centre in 28×28) "
        "and normalised with the mean / std stored in the model file.",
    )
    predict.add_argument("images", nargs="+", metavar="IMAGE", help="PNG or JPEG files")
    predict.add_argument(
        "--top",
        type=int,
        default=3,
        metavar="K",
        help="how many classes to list per image (default 3)",
    )
    predict.add_argument(
        "--json", action="store_true", help="print all probabilities as JSON instead"
    )
    predict.add_argument(
        "--max-pixels",
        type=_positive_int,
        default=MAX_IMAGE_PIXELS,
        metavar="N",
        help=f"largest image, in pixels (default {MAX_IMAGE_PIXELS:,})",
    )

    export = _model_command(
        commands,
        "export",
        cmd_export,
        help="export a model file to ONNX",
        description="Write the model as an ONNX graph (dynamic batch axis), check it with "
        "onnx.checker and compare ONNX Runtime with the numpy forward pass.",
    )
    export.add_argument("output", metavar="OUT.onnx", help="where to write the ONNX file")
    export.add_argument("--opset", type=int, default=17, help="ONNX opset version (default 17)")
    export.add_argument(
        "--input-shape",
        type=_shape_argument,
        metavar="C,H,W",
        help="one sample's shape, if the model file stores none (e.g. 1,28,28)",
    )

    _model_command(
        commands,
        "info",
        cmd_info,
        help="show the architecture and the pre-processing contract",
        description="Print the input shape, pre-processing, class names, metadata and the "
        "layer-by-layer summary of a model file.",
    )

    from .serve import MAX_PIXELS, MAX_REQUEST_BYTES

    serve = _model_command(
        commands,
        "serve",
        cmd_serve,
        help="answer predictions over HTTP (a small service)",
        description="Serve the model over HTTP: GET / describes it, POST /predict with a PNG "
        "or JPEG as the body returns the class and probabilities as JSON.",
    )
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1: this computer only)",
    )
    serve.add_argument(
        "--port", type=_port_argument, default=8000, help="port (default 8000; 0 = any free)"
    )
    serve.add_argument(
        "--onnx",
        action="store_true",
        help="answer through ONNX Runtime (the graph is exported in memory)",
    )
    serve.add_argument(
        "--max-bytes",
        type=_positive_int,
        default=MAX_REQUEST_BYTES,
        metavar="N",
        help=f"largest request body (default {MAX_REQUEST_BYTES:,})",
    )
    serve.add_argument(
        "--max-pixels",
        type=_positive_int,
        default=MAX_PIXELS,
        metavar="N",
        help=f"largest image, in pixels (default {MAX_PIXELS:,})",
    )
    serve.add_argument(
        "--workers",
        type=_positive_int,
        default=4,
        metavar="N",
        help="images decoded and predicted at the same time (default 4)",
    )

    from .grading import add_grade_command  # `grade`: edu_cnn/grading.py

    add_grade_command(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 ok, 1 error, 2 usage)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "top", 1) < 1:
        parser.error("--top must be at least 1")
    try:
        with np.errstate(all="ignore"):  # overflow is caught where it matters: outputs checked
            return args.run(args)
    except KeyboardInterrupt:
        return 130
    except (CommandError, ValueError, OSError, MemoryError, RecursionError) as error:
        message = str(error) or type(error).__name__
        if isinstance(error, OSError) and error.filename and error.strerror:
            message = f"{error.filename}: {error.strerror}"
        print(f"{PROG} {args.command}: error: {escape_controls(message)}", file=sys.stderr)
        return 1
    except Exception as error:  # noqa: BLE001 - the promise is one line, never a traceback
        print(
            f"{PROG} {args.command}: internal error: {type(error).__name__}: "
            f"{escape_controls(str(error))} (please report it)",
            file=sys.stderr,
        )
        return 1


__all__ = [
    "build_parser",
    "classify",
    "image_to_input",
    "main",
    "predict_image",
]
