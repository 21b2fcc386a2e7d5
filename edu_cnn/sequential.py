"""``Sequential``: layers applied one after another, and its ``summary()`` (chapters 3, 7).

Forward runs the layers in order; backward runs them in reverse, each turning ∂L/∂(its
output) into ∂L/∂(its input) – the δ recursion of chapter 3 and 6, one layer at a time.
The first layer's ∂L/∂(its input), the gradient for the data, is computed only when asked
(``backward(δ, input_grad=True)``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from .layer import Layer, Parameter
from .pooling import MaxPool2d


def _backward_without_input_grad(layer: Layer, grad_y: np.ndarray) -> None:
    """``layer.backward(grad_y)`` for the parameter gradients only: a nested ``Sequential``
    passes the request on, a ``Conv2d`` or ``Linear`` skips its input-gradient product
    (``needs_input_grad``); other layers compute it and it is dropped.
    """
    if isinstance(layer, Sequential):
        layer.backward(grad_y)  # its default: no ∂L/∂x
        return
    saved = getattr(layer, "needs_input_grad", None)
    if saved is None:
        layer.backward(grad_y)
        return
    layer.needs_input_grad = False
    try:
        layer.backward(grad_y)
    finally:
        layer.needs_input_grad = saved


def _backward_with_input_grad(layer: Layer, grad_y: np.ndarray) -> np.ndarray:
    """``layer.backward(grad_y)``, returning ∂L/∂(the layer's input) – a nested
    ``Sequential`` must be asked for it.
    """
    if isinstance(layer, Sequential):
        return layer.backward(grad_y, input_grad=True)
    return layer.backward(grad_y)


def _fuses_relu_backward(layer: Layer, before: Layer) -> bool:
    """Whether ``layer`` is a max pooling with disjoint windows right after a ``ReLU``, so
    that both backward passes can run as one (``MaxPool2d.backward_through_relu``).
    """
    return isinstance(layer, MaxPool2d) and layer.can_fuse_relu_backward(before)


class Sequential(Layer):
    """A chain of layers.

    Parameters
    ----------
    *layers : Layer
        Applied in the order given.
    input_shape : tuple, optional
        The shape of one sample (e.g. ``(1, 28, 28)``); lets ``summary()`` run without an
        argument and is written into model files.

    Examples
    --------
    >>> from edu_cnn import Sequential, Linear, ReLU
    >>> model = Sequential(Linear(2, 8), ReLU(), Linear(8, 1), input_shape=(2,))
    >>> model.num_parameters()
    33
    """

    def __init__(self, *layers: Layer, input_shape: tuple[int, ...] | None = None) -> None:
        super().__init__()
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise ValueError(
                    f"Sequential: argument {i} must be a Layer (e.g. Linear(2, 3)), "
                    f"got {type(layer).__name__}: {layer!r}"
                )
        self.layers: list[Layer] = list(layers)
        self.input_shape = tuple(input_shape) if input_shape is not None else None

    # -- the two passes ---------------------------------------------------------------
    def forward(self, x: np.ndarray) -> np.ndarray:
        for i, layer in enumerate(self.layers):
            try:
                x = layer.forward(x)
            except ValueError as error:
                raise ValueError(
                    f"Sequential layer {i} ({type(layer).__name__}): {error}"
                ) from None
        return x

    def backward(self, grad_y: np.ndarray, input_grad: bool = False) -> np.ndarray | None:
        """Run every layer's backward, last to first: fill every parameter's ``grad``.

        Parameters
        ----------
        grad_y : ndarray
            ∂L/∂y for the last forward output (``loss_fn.backward()``).
        input_grad : bool, default ``False``
            Also compute ∂L/∂x, the gradient for the model's *input*, and return it.

        Returns
        -------
        ndarray or None
            ∂L/∂x with ``input_grad=True``; ``None`` by default.

        Notes
        -----
        Training needs only the parameters' gradients: the input images are data, not
        something to learn (PyTorch does not compute their gradient either, an input has no
        ``requires_grad``). So by default the first layer with parameters (LeNet's first
        ``Conv2d``, an MLP's first ``Linear``) skips its input gradient – for a first
        convolution the costliest product of the backward pass – and the layers before it
        (a ``Flatten``, say) are not run at all. Every parameter's gradient is bit for bit
        the same either way.

        Ask with ``input_grad=True`` when you need ∂L/∂x: ``gradcheck``, saliency maps,
        and an outer ``Sequential`` asks every ``Sequential`` nested inside it (it needs
        their input gradients to go on). Single layers keep the plain layer contract: their
        ``backward`` returns ∂L/∂x (``Conv2d`` and ``Linear`` return ``None`` only while
        their ``needs_input_grad`` flag is off, which this method turns off and back on).

        Where a ``ReLU`` is followed by a ``MaxPool2d`` with disjoint windows (LeNet's
        2×2, stride 2), the two backward passes run as one
        (:meth:`MaxPool2d.backward_through_relu`), with the same numbers bit for bit.
        """
        layers = self.layers
        if input_grad:
            stop = 0
        else:
            with_parameters = [i for i, layer in enumerate(layers) if layer.parameters()]
            if not with_parameters:
                return None  # no gradient to fill
            stop = with_parameters[0]
        i = len(layers) - 1
        while i >= stop:
            layer = layers[i]
            try:
                if i == stop and not input_grad:
                    _backward_without_input_grad(layer, grad_y)
                    return None
                if i > stop and _fuses_relu_backward(layer, layers[i - 1]):
                    grad_y = layer.backward_through_relu(grad_y, layers[i - 1])
                    i -= 2
                    continue
                grad_y = _backward_with_input_grad(layer, grad_y)
            except ValueError as error:
                raise ValueError(
                    f"Sequential layer {i} ({type(layer).__name__}): {error}"
                ) from None
            i -= 1
        return grad_y

    # -- parameters (PyTorch's names: "0.weight", "0.bias", "3.weight", …) -------------
    def named_parameters(self) -> dict[str, Parameter]:
        return {
            f"{i}.{name}": p
            for i, layer in enumerate(self.layers)
            for name, p in layer.named_parameters().items()
        }

    def named_buffers(self) -> dict[str, np.ndarray]:
        return {
            f"{i}.{name}": b
            for i, layer in enumerate(self.layers)
            for name, b in layer.named_buffers().items()
        }

    def children(self) -> list[Layer]:
        """The layers in order."""
        return list(self.layers)

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        own = {**self.named_parameters(), **self.named_buffers()}
        missing, unexpected = sorted(set(own) - set(state)), sorted(set(state) - set(own))
        if missing or unexpected:
            raise ValueError(
                f"Sequential.load_state_dict: missing {missing}, unexpected {unexpected}"
            )
        for i, layer in enumerate(self.layers):
            prefix = f"{i}."
            layer.load_state_dict(
                {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
            )

    def astype(self, dtype: Any) -> Sequential:
        for layer in self.layers:
            layer.astype(dtype)
        return self

    def train(self, mode: bool = True) -> Sequential:
        self.training = mode
        for layer in self.layers:
            layer.train(mode)
        return self

    # -- a list of layers ----------------------------------------------------------------
    def __getitem__(self, index: int) -> Layer:
        return self.layers[index]

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self) -> Iterator[Layer]:
        return iter(self.layers)

    def append(self, layer: Layer) -> Sequential:
        if not isinstance(layer, Layer):
            raise ValueError(f"Sequential.append: expected a Layer, got {type(layer).__name__}")
        self.layers.append(layer)
        return self

    # -- shapes and summary -------------------------------------------------------------
    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        shape = tuple(input_shape)
        for layer in self.layers:
            shape = layer.output_shape(shape)
        return shape

    def layer_shapes(self, input_shape: tuple[int, ...] | None = None) -> list[tuple[int, ...]]:
        """The output shape of every layer for one sample of ``input_shape``."""
        shape = self._input_shape(input_shape)
        shapes = []
        for i, layer in enumerate(self.layers):
            try:
                shape = layer.output_shape(shape)
            except ValueError as error:
                raise ValueError(
                    f"Sequential layer {i} ({type(layer).__name__}): {error}"
                ) from None
            shapes.append(shape)
        return shapes

    def _input_shape(self, input_shape: tuple[int, ...] | None) -> tuple[int, ...]:
        if input_shape is None:
            input_shape = self.input_shape
        if input_shape is None:
            raise ValueError(
                "Sequential.summary: give the shape of one sample, e.g. "
                "summary((1, 28, 28)), or build the model with input_shape=…"
            )
        return tuple(int(s) for s in input_shape)

    def summary(self, input_shape: tuple[int, ...] | None = None, show: bool = True) -> str:
        """A table of every layer, its output shape and its number of parameters.

        Returns the table as a string and prints it unless ``show=False``.
        """
        shapes = self.layer_shapes(input_shape)
        rows = [("Layer", "Output shape", "Parameters")]
        for i, (layer, shape) in enumerate(zip(self.layers, shapes, strict=True)):
            rows.append(
                (
                    f"{i}: {layer!r}",
                    "(N, " + ", ".join(map(str, shape)) + ")",
                    f"{layer.num_parameters():,}",
                )
            )
        widths = [max(len(r[c]) for r in rows) for c in range(3)]
        line = "-" * (sum(widths) + 4)

        def fmt(r: tuple[str, str, str]) -> str:
            return f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:>{widths[2]}}"

        input_text = "(N, " + ", ".join(map(str, self._input_shape(input_shape))) + ")"
        total = self.num_parameters()
        text = "\n".join(
            [
                f"Input: {input_text}",
                line,
                fmt(rows[0]),
                line,
                *map(fmt, rows[1:]),
                line,
                f"Total parameters: {total:,} ({total * 4 / 1024:.1f} KiB as float32)",
            ]
        )
        if show:
            print(text)
        return text

    def config(self) -> dict[str, Any]:
        return {}

    def __repr__(self) -> str:
        inner = ",\n".join(f"  ({i}): {layer!r}" for i, layer in enumerate(self.layers))
        return f"Sequential(\n{inner}\n)" if self.layers else "Sequential()"
