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
    "Layer", "Parameter", "Sequential", "Linear", "Flatten", "Dropout",
    "ReLU", "LeakyReLU", "Sigmoid", "Tanh", "Softmax", "relu", "sigmoid", "softmax", "step",
    "MSELoss", "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss",
    "SGD", "Adagrad", "Adadelta", "RMSprop", "Adam", "StepLR",
    "fit", "evaluate", "predict", "History", "Callback", "EarlyStopping",
    "gradcheck", "gradcheck_loss", "GradcheckResult", "manual_seed", "conv_output_size",
]
