"""edu_cnn – the numpy package behind the edu-cnn course.

PyTorch's names and argument order, N×C×H×W arrays, float32 by default. Every layer has
a readable reference implementation next to its fast one; see docs/ARCHITECTURE.md.
"""

from .activations import LeakyReLU, ReLU, Sigmoid, Softmax, Tanh, relu, sigmoid, softmax, step
from .dropout import Dropout
from .gradcheck import GradcheckResult, gradcheck, gradcheck_loss
from .init import manual_seed
from .layer import Layer, Parameter
from .linear import Flatten, Linear
from .losses import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, MSELoss
from .optim import SGD, Adadelta, Adagrad, Adam, RMSprop, StepLR
from .sequential import Sequential
from .shapes import conv_output_size
from .training import Callback, EarlyStopping, History, evaluate, fit, predict

__version__ = "0.1.0"

__all__ = [
    "SGD",
    "Adadelta",
    "Adagrad",
    "Adam",
    "BCELoss",
    "BCEWithLogitsLoss",
    "Callback",
    "CrossEntropyLoss",
    "Dropout",
    "EarlyStopping",
    "Flatten",
    "GradcheckResult",
    "History",
    "Layer",
    "LeakyReLU",
    "Linear",
    "MSELoss",
    "Parameter",
    "RMSprop",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Softmax",
    "StepLR",
    "Tanh",
    "conv_output_size",
    "evaluate",
    "fit",
    "gradcheck",
    "gradcheck_loss",
    "manual_seed",
    "predict",
    "relu",
    "sigmoid",
    "softmax",
    "step",
]
