"""edu_cnn – the numpy package behind the edu-cnn course.

PyTorch's names and argument order, N×C×H×W arrays, float32 by default. Every layer has
a readable reference implementation next to its fast one; see docs/ARCHITECTURE.md.
"""

from . import nn
from .activations import relu, sigmoid, softmax, step
from .gradcheck import GradcheckResult, gradcheck, gradcheck_loss
from .init import manual_seed
from .metrics import accuracy, confusion_matrix, top_k
from .nn import *  # noqa: F403 – every layer and loss of edu_cnn.nn, e.g. edu_cnn.Conv2d
from .optim import SGD, Adadelta, Adagrad, Adam, Optimizer, RMSprop, StepLR
from .shapes import conv_output_size
from .training import Callback, EarlyStopping, History, SaveBestModel, evaluate, fit, predict

__version__ = "0.1.0"

# the layers and losses (edu_cnn.nn), then training, optimisers, metrics and checks
__all__ = [
    *nn.__all__,
    "Adadelta",
    "Adagrad",
    "Adam",
    "Callback",
    "EarlyStopping",
    "GradcheckResult",
    "History",
    "Optimizer",
    "RMSprop",
    "SGD",
    "SaveBestModel",
    "StepLR",
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
