"""The two building blocks of every network: a trainable ``Parameter`` and a ``Layer``.

A layer is a function with a memory. ``forward(x)`` computes its output and keeps what
the chain rule will need; ``backward(grad_y)`` takes ∂L/∂y, stores ∂L/∂θ in each
parameter's ``grad`` and returns ∂L/∂x for the layer before it (chapter 6).
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

DEFAULT_DTYPE = np.float32


def _same(default: Any, value: Any) -> bool:
    """Whether a configured value equals the constructor's default (``1`` equals ``(1, 1)``)."""
    if isinstance(default, (tuple, list)) and len(default) == 2 and default[0] == default[1]:
        default = default[0]
    try:
        return bool(default == value)
    except (TypeError, ValueError):  # e.g. arrays
        return False


class Parameter:
    """A trainable array together with the gradient of the loss with respect to it.

    Parameters
    ----------
    data : array_like
        The initial value; stored as float32 unless it already is a float array.
    name : str
        ``"weight"`` or ``"bias"`` – used by ``summary()``, model files and ONNX export.
    """

    __slots__ = ("data", "grad", "name")

    def __init__(self, data: Any, name: str = "") -> None:
        array = np.asarray(data)
        if not np.issubdtype(array.dtype, np.floating):
            array = array.astype(DEFAULT_DTYPE)
        self.data: np.ndarray = np.ascontiguousarray(array)
        self.grad: np.ndarray = np.zeros_like(self.data)
        self.name = name

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def size(self) -> int:
        return int(self.data.size)

    def __repr__(self) -> str:
        return f"Parameter({self.name or '?'}, shape={self.shape}, dtype={self.data.dtype})"


_REGISTRY: dict[str, type[Layer]] = {}


def registered_layers() -> dict[str, type[Layer]]:
    """Every public layer class by name (``{"Conv2d": Conv2d, …}``), filled by the classes.

    A subclass of :class:`Layer` defined at the top level of an ``edu_cnn`` module registers
    itself when it is defined (``__init_subclass__``) unless its name starts with ``_`` or
    it is declared ``class Name(Layer, register=False)``. Classes from elsewhere (a
    student's own layer) join with :func:`edu_cnn.modelfile.register_layer`.
    Model files and the ONNX export read this one registry.
    """
    return dict(_REGISTRY)


class Layer:
    """Base class of every layer.

    Subclasses implement ``forward`` and ``backward`` and, where the output shape is not
    the input shape, ``output_shape``. Parameters are found automatically among the
    instance attributes, in the order they were assigned (weight before bias). Arrays
    that are state but not trained (a batch norm's running mean) are *buffers*: their
    attribute names are listed in the class attribute ``buffers`` and they are saved
    with the parameters (``state_dict``), as in PyTorch.

    Every public subclass defined in ``edu_cnn`` registers itself by class name (see
    :func:`registered_layers`), which is how a model file names it.
    """

    buffers: tuple[str, ...] = ()

    def __init_subclass__(cls, register: bool = True, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if (
            register
            and not cls.__name__.startswith("_")
            and "<locals>" not in cls.__qualname__
            and cls.__module__.startswith("edu_cnn.")
        ):
            _REGISTRY[cls.__name__] = cls

    def __init__(self) -> None:
        self.training = True

    # -- the two passes -------------------------------------------------------------
    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)

    def forward(self, x: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        """Compute the layer's output y = f(x) for a batch and keep what backward needs.

        Parameters
        ----------
        x : ndarray
            A batch, the sample axis first (e.g. (N, C, H, W) or (N, features)).

        Returns
        -------
        ndarray
            The output batch, shaped ``(N, *self.output_shape(x.shape[1:]))``.

        Raises
        ------
        ValueError
            If ``x`` does not have the shape or dtype the layer expects (naming both).
        """
        raise NotImplementedError(f"{type(self).__name__} does not implement forward()")

    def backward(self, grad_y: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        """Turn ∂L/∂y into ∂L/∂x for the last ``forward`` call (the chain rule, chapter 6).

        Stores ∂L/∂θ in each parameter's ``grad`` (replacing what was there).

        Parameters
        ----------
        grad_y : ndarray
            ∂L/∂y, shaped like the last output of ``forward``.

        Returns
        -------
        ndarray
            ∂L/∂x, shaped like the last input of ``forward``.

        Raises
        ------
        ValueError
            If called before ``forward`` or with a gradient of the wrong shape.
        """
        raise NotImplementedError(f"{type(self).__name__} does not implement backward()")

    # -- structure ------------------------------------------------------------------
    def children(self) -> list[Layer]:
        """The layers inside this one (a ``Sequential``'s layers); ``[]`` for a plain layer."""
        return []

    # -- parameters -----------------------------------------------------------------
    def named_parameters(self) -> dict[str, Parameter]:
        """The layer's parameters by attribute name (``{"weight": …, "bias": …}``)."""
        return {k: v for k, v in vars(self).items() if isinstance(v, Parameter)}

    def parameters(self) -> list[Parameter]:
        """The layer's trainable parameters, weight first."""
        return list(self.named_parameters().values())

    def named_buffers(self) -> dict[str, np.ndarray]:
        """The layer's non-trained state arrays by name (``{"running_mean": …}``)."""
        return {name: getattr(self, name) for name in self.buffers}

    def num_parameters(self) -> int:
        """How many trainable numbers the layer has."""
        return sum(p.size for p in self.parameters())

    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of the parameter and buffer arrays by name (PyTorch's names: weight,
        bias, running_mean, …).
        """
        state = {k: p.data.copy() for k, p in self.named_parameters().items()}
        state.update({k: np.array(b, copy=True) for k, b in self.named_buffers().items()})
        return state

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Set the parameters and buffers from ``state``; every name and shape must match."""
        own = self.named_parameters()
        buffers = self.named_buffers()
        if set(state) != set(own) | set(buffers):
            raise ValueError(
                f"{self!r}: expected parameters {sorted(own) + sorted(buffers)}, "
                f"got {sorted(state)}"
            )
        shapes = {
            **{k: p.shape for k, p in own.items()},
            **{k: np.shape(b) for k, b in buffers.items()},
        }
        for name, shape in shapes.items():
            value = np.asarray(state[name])
            if value.shape != shape:
                raise ValueError(
                    f"{self!r}: parameter '{name}' expected shape {shape}, got {value.shape}"
                )
        for name, p in own.items():
            p.data = np.ascontiguousarray(np.asarray(state[name], dtype=p.data.dtype))
            p.grad = np.zeros_like(p.data)
        for name, b in buffers.items():
            setattr(self, name, np.array(state[name], dtype=np.asarray(b).dtype))

    def astype(self, dtype: Any) -> Layer:
        """Convert the parameters and buffers (e.g. to float64 for a gradient check);
        returns self.
        """
        for p in self.parameters():
            p.data = p.data.astype(dtype)
            p.grad = p.grad.astype(dtype)
        for name, b in self.named_buffers().items():
            setattr(self, name, np.asarray(b).astype(dtype))
        return self

    # -- modes ----------------------------------------------------------------------
    def train(self, mode: bool = True) -> Layer:
        """Training mode (dropout active); returns self."""
        self.training = mode
        return self

    def eval(self) -> Layer:
        """Evaluation mode (dropout off); returns self."""
        return self.train(False)

    # -- description ----------------------------------------------------------------
    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """The output shape for one sample of ``input_shape`` (no batch axis)."""
        return tuple(input_shape)

    def config(self) -> dict[str, Any]:
        """The constructor's arguments, enough to build the same layer again."""
        return {}

    def __repr__(self) -> str:
        """The call that builds this layer, as a student would write it: required
        arguments by position, others only where they differ from the default, and a
        square pair such as ``(5, 5)`` written as ``5`` –
        ``Conv2d(1, 6, kernel_size=5, padding=2)``.
        """
        try:
            signature = inspect.signature(type(self).__init__)
        except (TypeError, ValueError):  # pragma: no cover - builtins
            signature = None
        parts = []
        for name, value in self.config().items():
            if isinstance(value, (tuple, list)) and len(value) == 2 and value[0] == value[1]:
                value = value[0]
            parameter = signature.parameters.get(name) if signature else None
            if parameter is not None and parameter.default is inspect.Parameter.empty:
                parts.append(repr(value))
            elif parameter is None or not _same(parameter.default, value):
                parts.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(parts)})"

    # -- for subclasses ---------------------------------------------------------------
    def _saved(self, cache: Any) -> Any:
        """Return ``cache`` or raise the error for a backward before any forward."""
        if cache is None:
            raise ValueError(f"{self!r}: backward() called before forward()")
        return cache
