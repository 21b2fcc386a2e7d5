"""Chapter 7 exercises: LeNet-5's parameter count and sizes, reading a confusion matrix,
and normalising Fashion-MNIST with the training statistics.

The reference solutions are deliberately plain – they are what ``show_solution(name)``
prints for a student.
"""

from __future__ import annotations

import numpy as np

from .checker import exercise


def _conv_cases(rng: np.random.Generator) -> list[dict[str, int]]:
    cases = [{"in_channels": 1, "out_channels": 6, "kernel_size": 5},      # LeNet's conv 1
             {"in_channels": 6, "out_channels": 16, "kernel_size": 5},     # LeNet's conv 2
             {"in_channels": 3, "out_channels": 64, "kernel_size": 3},
             {"in_channels": 3, "out_channels": 96, "kernel_size": 11},    # AlexNet's first layer
             {"in_channels": 256, "out_channels": 64, "kernel_size": 1}]   # a 1×1 convolution
    for _ in range(5):
        cases.append({"in_channels": int(rng.integers(1, 65)), "out_channels": int(rng.integers(1, 65)),
                          "kernel_size": int(rng.choice([1, 3, 5, 7]))})
    return cases


@exercise(
    "conv2d_parameters",
    cases=_conv_cases,
    hint="Each of the out_channels filters has in_channels × k × k weights and ONE bias.",
)
def conv2d_parameters(in_channels, out_channels, kernel_size):
    """Trainable parameters of Conv2d(in_channels, out_channels, kernel_size) with a bias."""
    weights_per_filter = in_channels * kernel_size * kernel_size
    return out_channels * (weights_per_filter + 1)


def _flat_cases(rng: np.random.Generator) -> list[dict[str, int]]:
    cases = [{"height": 28, "width": 28}, {"height": 32, "width": 32}, {"height": 28, "width": 36},
             {"height": 64, "width": 48}, {"height": 20, "width": 20}]
    for _ in range(5):
        cases.append({"height": int(rng.integers(12, 80)), "width": int(rng.integers(12, 80))})
    return cases


@exercise(
    "lenet_flat_features",
    cases=_flat_cases,
    hint="Follow one side through the layers: conv 5×5 with padding 2 keeps it, pooling 2 "
         "halves it (rounding down), conv 5×5 without padding takes 4 away, pooling halves "
         "it again. Then multiply by the 16 channels.",
)
def lenet_flat_features(height, width):
    """Length of the vector Flatten hands to the first Linear layer of LeNet-5 for an
    input of height × width pixels (conv 5×5 pad 2 → pool 2 → conv 5×5 → pool 2, 16 maps)."""
    sizes = []
    for n in (height, width):
        n = (n + 2 * 2 - 5) // 1 + 1   # conv 1: 5×5, padding 2
        n = (n - 2) // 2 + 1           # max-pool 2×2, stride 2
        n = (n - 5) // 1 + 1           # conv 2: 5×5, no padding
        n = (n - 2) // 2 + 1           # max-pool 2×2, stride 2
        sizes.append(n)
    return 16 * sizes[0] * sizes[1]


def _confusion_cases(rng: np.random.Generator) -> list[tuple[np.ndarray]]:
    cases = [(np.array([[5, 1, 0], [2, 7, 1], [0, 0, 4]]),),
             (np.array([[10, 0], [3, 7]]),),
             (np.array([[4, 1, 0], [6, 2, 0], [1, 0, 3]]),)]
    for n in (4, 10):
        cases.append((rng.integers(0, 20, (n, n)) + np.diag(rng.integers(20, 80, n)),))
    return cases


@exercise(
    "per_class_accuracy",
    cases=_confusion_cases,
    hint="Row i of the confusion matrix holds every sample whose TRUE class is i; the "
         "correct ones are on the diagonal. Divide C[i, i] by the sum of row i (not column i).",
)
def per_class_accuracy(confusion):
    """The fraction of each class's samples that were classified correctly (recall, 召回率)."""
    confusion = np.asarray(confusion, dtype=float)
    result = np.empty(len(confusion))
    for i in range(len(confusion)):
        result[i] = confusion[i, i] / confusion[i].sum()   # correct / all of true class i
    return result


def _standardize_cases(rng: np.random.Generator) -> list[tuple[np.ndarray, np.ndarray]]:
    cases = [(np.array([[0.0, 1.0], [1.0, 0.0]]), np.array([[0.5, 0.9]])),
             (rng.integers(0, 256, (6, 1, 4, 4)).astype(float) / 255,
              rng.integers(0, 256, (3, 1, 4, 4)).astype(float) / 255)]
    for _ in range(3):
        # a test set with other statistics than the training set: using its own mean and
        # std instead of the training set's gives a different answer
        cases.append((rng.random((8, 1, 5, 5)), rng.random((4, 1, 5, 5)) * 0.5 + 0.4))
    return cases


@exercise(
    "standardize_with_training_stats",
    cases=_standardize_cases,
    hint="Compute ONE mean and ONE standard deviation over all training pixels (x_train.mean(), "
         "x_train.std()) and use them for both sets – never the test set's own statistics.",
)
def standardize_with_training_stats(x_train, x_test):
    """Standardise both sets with the training set's pixel mean and standard deviation."""
    mean = x_train.mean()
    std = x_train.std()
    return (x_train - mean) / std, (x_test - mean) / std
