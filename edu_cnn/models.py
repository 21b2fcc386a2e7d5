"""Ready-made networks of the course: LeNet-5 (chapter 7) and the MLP (chapter 3)."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

from .activations import activation_layer
from .batchnorm import BatchNorm1d, BatchNorm2d
from .conv import Conv2d
from .dropout import Dropout
from .linear import Flatten, Linear
from .pooling import MaxPool2d
from .sequential import Sequential


def lenet5(
    num_classes: int = 10, in_channels: int = 1, activation: str = "relu", batch_norm: bool = False
) -> Sequential:
    """LeNet-5 for 28×28 images, as in chapter 7 (61,706 parameters with the defaults).

    conv 6@5×5, padding 2 → act → max-pool 2 → conv 16@5×5 → act → max-pool 2 →
    flatten (16·5·5 = 400) → 120 → act → 84 → act → ``num_classes`` logits.
    LeCun et al. (1998) used 32×32 inputs and tanh-like squashing; padding 2 keeps the
    28×28 MNIST digits at the original sizes, and ReLU trains faster.

    ``batch_norm=True`` puts a ``BatchNorm2d`` after each convolution and a ``BatchNorm1d``
    after the two hidden fully connected layers, before the activation (chapter 7's
    modernised LeNet-5: 452 more parameters, 62,158 in all).
    """

    def norm(kind: type, n: int) -> list:
        return [kind(n)] if batch_norm else []

    return Sequential(
        Conv2d(in_channels, 6, kernel_size=5, padding=2),
        *norm(BatchNorm2d, 6),
        activation_layer(activation),
        MaxPool2d(2),
        Conv2d(6, 16, kernel_size=5),
        *norm(BatchNorm2d, 16),
        activation_layer(activation),
        MaxPool2d(2),
        Flatten(),
        Linear(16 * 5 * 5, 120),
        *norm(BatchNorm1d, 120),
        activation_layer(activation),
        Linear(120, 84),
        *norm(BatchNorm1d, 84),
        activation_layer(activation),
        Linear(84, num_classes),
        input_shape=(in_channels, 28, 28),
    )


def mlp(
    sizes: Sequence[int], activation: str = "relu", dropout: float = 0.0, flatten: bool = False
) -> Sequential:
    """A multilayer perceptron: ``sizes = (inputs, hidden…, outputs)``.

    An activation follows every layer but the last (which gives logits); ``dropout > 0``
    adds a ``Dropout`` after each hidden activation; ``flatten=True`` starts with a
    ``Flatten`` so the model takes images.
    """
    sizes = [int(s) for s in sizes]
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(f"mlp: sizes must be at least (inputs, outputs), all ≥ 1, got {sizes}")
    layers = [Flatten()] if flatten else []
    for i, (n_in, n_out) in enumerate(pairwise(sizes)):
        layers.append(Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(activation_layer(activation))
            if dropout > 0:
                layers.append(Dropout(dropout))
    return Sequential(*layers, input_shape=None if flatten else (sizes[0],))
