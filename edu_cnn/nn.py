"""Layers and losses under one name, so code reads like PyTorch::

    from edu_cnn import nn

    model = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), ...)
    loss_fn = nn.CrossEntropyLoss()

Everything here is defined elsewhere in ``edu_cnn`` (this module only re-exports it);
``edu_cnn.Conv2d`` and ``edu_cnn.nn.Conv2d`` are the same class.
"""

from __future__ import annotations

from .activations import LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from .batchnorm import BatchNorm1d, BatchNorm2d
from .conv import Conv2d, ConvTranspose2d
from .dropout import Dropout
from .layer import Layer, Parameter
from .linear import Flatten, Linear
from .losses import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, Loss, MSELoss
from .pooling import AvgPool2d, MaxPool2d, MaxUnpool2d, Upsample
from .sequential import Sequential

#: PyTorch's ``nn.Module`` is edu_cnn's ``Layer``.
Module = Layer

__all__ = [
    "AvgPool2d",
    "BCELoss",
    "BCEWithLogitsLoss",
    "BatchNorm1d",
    "BatchNorm2d",
    "Conv2d",
    "ConvTranspose2d",
    "CrossEntropyLoss",
    "Dropout",
    "Flatten",
    "Layer",
    "LeakyReLU",
    "Linear",
    "Loss",
    "MSELoss",
    "MaxPool2d",
    "MaxUnpool2d",
    "Module",
    "Parameter",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Softmax",
    "Tanh",
    "Upsample",
]
