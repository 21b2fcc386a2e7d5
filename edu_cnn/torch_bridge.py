"""The bridge to PyTorch (appendix A1): the same network, the same weights, both ways.

edu_cnn already uses PyTorch's names, argument order and weight layouts – a
``Conv2d`` weight is (out_channels, in_channels, kH, kW) in both, a ``Linear`` weight
(out_features, in_features) – and a ``Sequential`` names its parameters as
``torch.nn.Sequential`` does ("0.weight", "0.bias", "3.weight", …). So moving a model
across is a matter of copying arrays under the same keys; this module does that, with
the checks a student needs when the two architectures do not match.

torch is optional: nothing here imports it until a function that needs it is called.

>>> from edu_cnn.models import lenet5
>>> from edu_cnn.torch_bridge import to_torch, torch_state_dict, load_torch_state_dict
>>> model = lenet5()
>>> net = to_torch(model)                       # torch.nn.Sequential, same weights
>>> load_torch_state_dict(model, net.state_dict())   # and back
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import numpy as np

from .layer import Layer
from .sequential import Sequential

# Buffers (state that is not trained by the optimiser) that PyTorch keeps in a
# state_dict beside the parameters: batch normalisation's running statistics.
_BUFFERS = ("running_mean", "running_var")


def require_torch() -> Any:
    """The ``torch`` module, or an ``ImportError`` that says how to install it."""
    try:
        import torch
    except ImportError:
        raise ImportError(
            "edu_cnn.torch_bridge needs PyTorch, which the course does not install: "
            "`pip install torch` in the course's environment (a CPU-only build is enough and "
            "much smaller – pytorch.org, Get Started, Compute Platform: CPU), then restart "
            "the kernel."
        ) from None
    return torch


def _arrays(model: Layer, prefix: str = "") -> OrderedDict[str, np.ndarray]:
    """Every parameter and buffer of ``model`` under PyTorch's state_dict key, in order."""
    found: OrderedDict[str, np.ndarray] = OrderedDict()
    if isinstance(model, Sequential):
        for i, layer in enumerate(model.children()):
            found.update(_arrays(layer, f"{prefix}{i}."))
        return found
    for name, parameter in model.named_parameters().items():
        found[prefix + name] = parameter.data
    for name in _BUFFERS:
        if isinstance(getattr(model, name, None), np.ndarray):
            found[prefix + name] = getattr(model, name)
    return found


def torch_state_dict(model: Layer) -> OrderedDict[str, Any]:
    """``model``'s weights as a PyTorch ``state_dict`` (keys and layouts as PyTorch has them).

    The tensors are copies: changing them does not change ``model``. Load the result with
    ``torch_module.load_state_dict(...)`` into a PyTorch network of the same architecture.
    """
    torch = require_torch()
    state: OrderedDict[str, Any] = OrderedDict()
    for key, array in _arrays(model).items():
        state[key] = torch.from_numpy(np.array(array, copy=True))
        if key.endswith("running_var"):  # PyTorch counts the batches it has averaged
            state[key[: -len("running_var")] + "num_batches_tracked"] = torch.tensor(0)
    return state


def load_torch_state_dict(model: Layer, state_dict: dict[str, Any]) -> None:
    """Copy a PyTorch ``state_dict`` (tensors or arrays) into ``model``, in place.

    Raises ``ValueError`` naming every missing or unexpected key and the first array whose
    shape differs – the usual sign that the two networks are not built the same way.
    """
    own = _arrays(model)
    given = {k: v for k, v in state_dict.items() if not k.endswith("num_batches_tracked")}
    missing, unexpected = sorted(set(own) - set(given)), sorted(set(given) - set(own))
    if missing or unexpected:
        raise ValueError(
            f"load_torch_state_dict: the two networks differ – keys missing from the "
            f"state_dict: {missing or 'none'}; keys edu_cnn does not have: {unexpected or 'none'}"
        )
    for key, target in own.items():
        value = given[key]
        if hasattr(value, "detach"):
            value = value.detach().cpu().numpy()
        value = np.asarray(value)
        if value.shape != target.shape:
            raise ValueError(
                f"load_torch_state_dict: {key!r} has shape {value.shape} in the "
                f"state_dict but {target.shape} in the edu_cnn model"
            )
        if not np.isfinite(value).all():
            raise ValueError(f"load_torch_state_dict: {key!r} holds NaN or infinite values")
        target[...] = value.astype(target.dtype, copy=False)  # in place: Parameter keeps its array


def _pair_or_int(value: Any) -> Any:
    return tuple(value) if isinstance(value, (tuple, list)) else value


def _torch_layer(layer: Layer) -> Any:
    """The PyTorch module that computes what ``layer`` computes (weights not copied yet)."""
    nn = require_torch().nn
    name, c = type(layer).__name__, layer.config()
    if isinstance(layer, Sequential):
        return nn.Sequential(*(_torch_layer(child) for child in layer.children()))
    if name == "Conv2d":
        return nn.Conv2d(
            c["in_channels"],
            c["out_channels"],
            _pair_or_int(c["kernel_size"]),
            stride=_pair_or_int(c["stride"]),
            padding=_pair_or_int(c["padding"]),
            bias=c["bias"],
        )
    if name == "ConvTranspose2d":
        return nn.ConvTranspose2d(
            c["in_channels"],
            c["out_channels"],
            _pair_or_int(c["kernel_size"]),
            stride=_pair_or_int(c["stride"]),
            padding=_pair_or_int(c["padding"]),
            output_padding=_pair_or_int(c.get("output_padding", 0)),
            bias=c["bias"],
        )
    if name == "Linear":
        return nn.Linear(c["in_features"], c["out_features"], bias=c["bias"])
    if name in ("BatchNorm1d", "BatchNorm2d"):
        return getattr(nn, name)(
            c["num_features"], eps=c.get("eps", 1e-5), momentum=c.get("momentum", 0.1)
        )
    if name == "MaxPool2d":
        if c.get("return_indices"):
            raise ValueError(
                "to_torch: MaxPool2d(return_indices=True) returns two arrays; "
                "torch.nn.Sequential cannot pass them on – build that part by hand"
            )
        return nn.MaxPool2d(
            _pair_or_int(c["kernel_size"]),
            stride=_pair_or_int(c["stride"]),
            padding=_pair_or_int(c.get("padding", 0)),
        )
    if name == "AvgPool2d":
        return nn.AvgPool2d(
            _pair_or_int(c["kernel_size"]),
            stride=_pair_or_int(c["stride"]),
            padding=_pair_or_int(c.get("padding", 0)),
        )
    if name == "Upsample":
        return nn.Upsample(
            size=c.get("size"), scale_factor=c.get("scale_factor"), mode=c.get("mode", "nearest")
        )
    simple = {"ReLU": nn.ReLU, "Sigmoid": nn.Sigmoid, "Tanh": nn.Tanh, "Flatten": nn.Flatten}
    if name in simple:
        return simple[name]()
    if name == "LeakyReLU":
        return nn.LeakyReLU(c["negative_slope"])
    if name == "Softmax":
        return nn.Softmax(dim=c["dim"])
    if name == "Dropout":
        return nn.Dropout(c["p"])
    raise ValueError(f"to_torch: no PyTorch counterpart known for {name} ({layer!r})")


def to_torch(model: Layer) -> Any:
    """A PyTorch module with ``model``'s architecture and a copy of its weights.

    The module is in eval mode if ``model`` is (``model.training``), so dropout and batch
    normalisation behave the same on both sides.
    """
    module = _torch_layer(model)
    if not isinstance(model, Sequential):
        module = require_torch().nn.Sequential(module)
        state = OrderedDict(("0." + k, v) for k, v in torch_state_dict(model).items())
    else:
        state = torch_state_dict(model)
    module.load_state_dict(state)
    module.train(bool(getattr(model, "training", True)))
    return module
