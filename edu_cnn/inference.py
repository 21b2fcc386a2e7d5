"""Classify a digit image with a loaded model: what ``predict`` and ``serve`` share.

:class:`Classifier` checks once, when it is made, that the model can answer at all – it
takes one 28×28 gray digit (its declared input shape, or none), its output for one sample
is a vector of class scores, and a last ``Softmax`` (if any) normalises over the classes,
not the batch – and then answers for any image:

* the image is read within a pixel budget (:func:`edu_cnn.preprocess.load_image`),
  prepared the MNIST way and normalised with the model's stored mean / std;
* the forward pass runs under a lock (the layers keep what their last forward pass
  computed, so two at once would mix) – or through ONNX Runtime, whose ``run`` is safe
  to call from several threads;
* an output that is not finite is refused, naming the first layer that produced it.

Every problem is a :class:`PredictionError` (a ``ValueError``) with a one-line message.
"""

from __future__ import annotations

import threading
import unicodedata
from pathlib import Path
from typing import Any

import numpy as np

from .activations import softmax
from .layer import Layer
from .modelfile import Budget, ModelFileError, check_activations, leaf_layers
from .preprocess import MAX_IMAGE_PIXELS, load_image, preprocess_digit

__all__ = ["Classifier", "PredictionError", "escape_controls"]

_DIGIT = (1, 28, 28)


class PredictionError(ValueError):
    """A model cannot classify digits, or one image cannot be classified; says why."""


def escape_controls(text: str) -> str:
    r"""``text`` with control and format characters (ANSI escapes, bidi overrides, new
    lines) written as ``\x1b`` / ``\u202e``, so a string from a file or a request cannot
    drive the terminal it is printed on.
    """
    out = []
    for char in str(text):
        if unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp"):
            code = ord(char)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(char)
    return "".join(out)


class Classifier:
    """A model (or its ONNX Runtime session) that classifies digit images, thread-safely.

    Parameters
    ----------
    model : Layer
        A model returned by :func:`edu_cnn.modelfile.load` (its ``input_shape``,
        ``preprocessing`` and ``class_names`` are used).
    onnx : bool
        Run the forward pass with ONNX Runtime (the graph is exported in memory and
        checked against numpy on one input before it is used).
    max_pixels : int
        The largest image accepted, in pixels (read from the header before decoding).
    budget : Budget, optional
        The activation budget for one sample (default :class:`edu_cnn.modelfile.Budget`).

    Raises
    ------
    PredictionError
        If the model does not take one 28×28 gray digit or does not output class scores.
    """

    def __init__(
        self,
        model: Layer,
        *,
        onnx: bool = False,
        max_pixels: int = MAX_IMAGE_PIXELS,
        budget: Budget | None = None,
    ) -> None:
        declared = getattr(model, "input_shape", None)
        if declared is not None and int(np.prod(declared)) != 28 * 28:
            raise PredictionError(
                f"this command prepares 28×28 grey digits, but the model "
                f"expects input {tuple(declared)}"
            )
        self.input_shape = tuple(declared) if declared is not None else _DIGIT
        try:
            out = check_activations(model, self.input_shape, budget or Budget(), "the model")
        except ModelFileError as error:
            raise PredictionError(str(error)) from None
        if out is None or len(out) != 1:
            raise PredictionError(
                f"the model's output for one sample has shape {out}; a "
                f"classifier outputs one score per class, shape (classes,)"
            )
        self.n_classes = int(out[0])
        leaves = [layer for _, layer in leaf_layers(model)]
        last = leaves[-1] if leaves else model
        self.outputs_probabilities = type(last).__name__ == "Softmax"
        if self.outputs_probabilities and getattr(last, "dim", 1) not in (1, -1):
            raise PredictionError(
                f"the model ends with {last!r}, which normalises over axis "
                f"{last.dim} of the (N, classes) output, not over the classes"
            )
        self.model = model
        self.max_pixels = int(max_pixels)
        self.preprocessing = getattr(model, "preprocessing", None)
        names = getattr(model, "class_names", None)
        self.class_names = (
            list(names)
            if names and len(names) == self.n_classes
            else [str(i) for i in range(self.n_classes)]
        )
        self._lock = threading.Lock()
        self.session = self._onnx_session() if onnx else None

    def _onnx_session(self) -> Any:
        from .onnx_export import onnx_session, run_onnx, to_onnx

        try:
            proto = to_onnx(self.model, self.input_shape)
        except ValueError as error:
            raise PredictionError(str(error)) from None
        session = onnx_session(proto, threads=1)
        probe = np.random.default_rng(0).normal(size=(2, *self.input_shape)).astype(np.float32)
        expected = self._forward_numpy(probe)
        difference = float(np.abs(run_onnx(session, probe) - expected).max())
        if not difference <= 1e-3 * max(1.0, float(np.abs(expected).max())):
            raise PredictionError(
                f"ONNX Runtime disagrees with numpy on a test input (max "
                f"difference {difference:.3g}); not serving it"
            )
        return session

    # -- the steps -------------------------------------------------------------------------
    def to_input(self, source: str | Path | bytes | np.ndarray) -> np.ndarray:
        """The normalised batch of one (1, *input_shape) for an image (path, bytes, array)."""
        try:
            image = (
                source
                if isinstance(source, np.ndarray)
                else load_image(source, max_pixels=self.max_pixels)
            )
            digit = preprocess_digit(image)[np.newaxis, np.newaxis]
        except ValueError as error:
            raise PredictionError(str(error)) from None
        pre = self.preprocessing
        x = pre.apply(digit) if pre is not None else digit.astype(np.float32)
        return np.asarray(x, dtype=np.float32).reshape((1, *self.input_shape))

    def _forward_numpy(self, x: np.ndarray) -> np.ndarray:
        with self._lock, np.errstate(all="ignore"):  # a non-finite output is refused below
            try:
                y = np.asarray(self.model.forward(x))
            except ValueError as error:
                raise PredictionError(f"the model cannot process the input: {error}") from None
            if not np.isfinite(y).all():
                raise PredictionError(self._non_finite_at(x))
            return y

    def _non_finite_at(self, x: np.ndarray) -> str:
        """Which layer first gave a NaN or an infinity (called under the lock)."""
        for prefix, layer in leaf_layers(self.model):
            x = layer.forward(x)
            if not np.isfinite(x).all():
                where = f"layer {prefix.rstrip('.')} " if prefix else ""
                return (
                    f"the model's output is not finite: {where}({layer!r}) produced "
                    f"NaN or infinite values; refused"
                )
        return "the model's output is not finite; refused"

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        """The class probabilities (N, classes) for a prepared batch."""
        if self.session is not None:
            from .onnx_export import run_onnx

            y = np.asarray(run_onnx(self.session, x))
            if not np.isfinite(y).all():
                raise PredictionError("ONNX Runtime's output is not finite; refused")
        else:
            y = self._forward_numpy(x)
        p = y if self.outputs_probabilities else softmax(y.astype(np.float64), axis=1)
        p = np.asarray(p, dtype=np.float64)
        if not np.isfinite(p).all():
            raise PredictionError("the class probabilities are not finite; refused")
        return p

    def classify(self, source: str | Path | bytes | np.ndarray) -> dict[str, Any]:
        """``{"class": name, "probabilities": {name: p, …}}`` for one digit image."""
        p = self.probabilities(self.to_input(source))[0]
        return {
            "class": self.class_names[int(np.argmax(p))],
            "probabilities": {
                n: round(float(v), 4) for n, v in zip(self.class_names, p, strict=True)
            },
        }
