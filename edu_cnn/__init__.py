"""edu_cnn – the numpy package behind the edu-cnn course.

PyTorch's names and argument order, N×C×H×W arrays, float32 by default. Every layer has
a readable reference implementation next to its fast one; see docs/ARCHITECTURE.md.
"""

from . import nn
from .activations import LeakyReLU, ReLU, Sigmoid, Softmax, Tanh, relu, sigmoid, softmax, step
from .batchnorm import BatchNorm1d, BatchNorm2d
from .conv import Conv2d, ConvTranspose2d
from .dropout import Dropout
from .gradcheck import GradcheckResult, gradcheck, gradcheck_loss
from .init import manual_seed
from .layer import Layer, Parameter
from .linear import Flatten, Linear
from .losses import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, Loss, MSELoss
from .metrics import accuracy, confusion_matrix, top_k
from .optim import SGD, Adadelta, Adagrad, Adam, Optimizer, RMSprop, StepLR
from .pooling import AvgPool2d, MaxPool2d, MaxUnpool2d, Upsample
from .sequential import Sequential
from .shapes import conv_output_size
from .training import Callback, EarlyStopping, History, SaveBestModel, evaluate, fit, predict

__version__ = "0.1.0"

__all__ = [
    "Adadelta",
    "Adagrad",
    "Adam",
    "AvgPool2d",
    "BCELoss",
    "BCEWithLogitsLoss",
    "BatchNorm1d",
    "BatchNorm2d",
    "Callback",
    "Conv2d",
    "ConvTranspose2d",
    "CrossEntropyLoss",
    "Dropout",
    "EarlyStopping",
    "Flatten",
    "GradcheckResult",
    "History",
    "Layer",
    "LeakyReLU",
    "Linear",
    "Loss",
    "MSELoss",
    "MaxPool2d",
    "MaxUnpool2d",
    "Optimizer",
    "Parameter",
    "RMSprop",
    "ReLU",
    "SGD",
    "SaveBestModel",
    "Sequential",
    "Sigmoid",
    "Softmax",
    "StepLR",
    "Tanh",
    "Upsample",
    "accuracy",
    "confusion_matrix",
    "conv_output_size",
    "evaluate",
    "fit",
    "gradcheck",
    "gradcheck_loss",
    "manual_seed",
    "nn",
    "predict",
    "relu",
    "sigmoid",
    "softmax",
    "step",
    "top_k",
]
