"""Chapter 7 exercises: LeNet-5's parameter count and sizes, reading a confusion matrix,
and normalising Fashion-MNIST with the training statistics.

The reference solutions are deliberately plain – they are what ``show_solution(name)``
prints for a student.
"""

from __future__ import annotations

import numpy as np

from .checker import Mistake, exercise


def _conv_cases(rng: np.random.Generator) -> list[dict[str, int]]:
    cases = [
        {"in_channels": 1, "out_channels": 6, "kernel_size": 5},  # LeNet's conv 1
        {"in_channels": 6, "out_channels": 16, "kernel_size": 5},  # LeNet's conv 2
        {"in_channels": 3, "out_channels": 64, "kernel_size": 3},
        {"in_channels": 3, "out_channels": 96, "kernel_size": 11},  # AlexNet's first layer
        {"in_channels": 256, "out_channels": 64, "kernel_size": 1},
    ]  # a 1×1 convolution
    for _ in range(5):
        cases.append(
            {
                "in_channels": int(rng.integers(1, 65)),
                "out_channels": int(rng.integers(1, 65)),
                "kernel_size": int(rng.choice([1, 3, 5, 7])),
            }
        )
    return cases


@exercise(
    "conv2d_parameters",
    cases=_conv_cases,
    hint="Count what one filter holds, then how many filters there are. Do not forget the bias.",
    hints=[
        (
            "One filter spans all in_channels with a kernel_size × kernel_size window of weights, "
            "and has ONE bias; the layer has out_channels such filters."
        ),
        "out_channels * (in_channels * kernel_size**2 + 1)",
    ],
    integer=True,
    mistakes=[
        Mistake(
            "no bias",
            lambda in_channels, out_channels, kernel_size: (
                in_channels * out_channels * kernel_size**2
            ),
            "The biases are missing: each filter has ONE bias, so add out_channels.",
        ),
        Mistake(
            "k not squared",
            lambda in_channels, out_channels, kernel_size: (
                out_channels * (in_channels * kernel_size + 1)
            ),
            "A kernel is kernel_size × kernel_size: square it.",
        ),
        Mistake(
            "no in_channels",
            lambda in_channels, out_channels, kernel_size: out_channels * (kernel_size**2 + 1),
            "Each filter spans all in_channels input channels: "
            "multiply its k × k weights by in_channels.",
        ),
        Mistake(
            "bias per input channel",
            lambda in_channels, out_channels, kernel_size: (
                out_channels * in_channels * (kernel_size**2 + 1)
            ),
            "One bias per filter, not one per input channel: "
            "out_channels · (in_channels · k² + 1).",
        ),
        Mistake(
            "bias per weight",
            lambda in_channels, out_channels, kernel_size: (
                2 * out_channels * in_channels * kernel_size**2
            ),
            "One bias per filter, not one per weight: each filter has ONE bias.",
        ),
        Mistake(
            "one bias",
            lambda in_channels, out_channels, kernel_size: (
                out_channels * in_channels * kernel_size**2 + 1
            ),
            "One bias per filter, not one for the whole layer: add out_channels biases.",
        ),
    ],
)
def conv2d_parameters(in_channels, out_channels, kernel_size):
    """Trainable parameters of Conv2d(in_channels, out_channels, kernel_size) with a bias."""
    weights_per_filter = in_channels * kernel_size * kernel_size
    return out_channels * (weights_per_filter + 1)


def _flat(height, width, padding=2, channels=16, ceil=False):
    def pool(n):
        return -(-n // 2) if ceil else n // 2

    sides = [pool(pool(n + 2 * padding - 4) - 4) for n in (height, width)]
    return channels * sides[0] * sides[1]


def _flat_cases(rng: np.random.Generator) -> list[dict[str, int]]:
    cases = [
        {"height": 28, "width": 28},
        {"height": 32, "width": 32},
        {"height": 28, "width": 36},
        {"height": 64, "width": 48},
        {"height": 20, "width": 20},
    ]
    for _ in range(5):
        cases.append({"height": int(rng.integers(12, 80)), "width": int(rng.integers(12, 80))})
    return cases


@exercise(
    "lenet_flat_features",
    cases=_flat_cases,
    hint="Follow one side (the height, then the width) through the four layers with the "
    "output-size formula, then count the values of all 16 maps.",
    hints=[
        (
            "Conv 5×5 with padding 2 keeps a side as it is, pooling 2 halves it (rounding down), "
            "conv 5×5 without padding takes 4 away, pooling halves it again. The result is "
            "16 · height_out · width_out."
        ),
        "per side: n = n (conv 1), n = n // 2, n = n − 4, n = n // 2; return 16 * h * w.",
    ],
    integer=True,
    mistakes=[
        Mistake(
            "fixed",
            lambda height, width: 400,
            "400 = 16 · 5 · 5 is right for 28 × 28 only: compute the sizes from height and width.",
        ),
        Mistake(
            "no padding",
            lambda height, width: _flat(height, width, padding=0),
            "The first convolution has padding 2: it keeps the size (n + 2·2 − 5 + 1 = n).",
        ),
        Mistake(
            "no channels",
            lambda height, width: _flat(height, width, channels=1),
            "That is the size of one feature map: Flatten sees all 16 of them.",
        ),
        Mistake(
            "6 maps",
            lambda height, width: _flat(height, width, channels=6),
            "6 is the number of maps of the first convolution: Flatten sees the 16 maps of "
            "the second.",
        ),
        Mistake(
            "ceil",
            lambda height, width: _flat(height, width, ceil=True),
            "Pooling rounds down (⌊n/2⌋): a last odd row or column is dropped.",
        ),
    ],
)
def lenet_flat_features(height, width):
    """Length of the vector Flatten hands to the first Linear layer of LeNet-5 for an
    input of height × width pixels (conv 5×5 pad 2 → pool 2 → conv 5×5 → pool 2, 16 maps)."""
    sizes = []
    for n in (height, width):
        n = (n + 2 * 2 - 5) // 1 + 1  # conv 1: 5×5, padding 2
        n = (n - 2) // 2 + 1  # max-pool 2×2, stride 2
        n = (n - 5) // 1 + 1  # conv 2: 5×5, no padding
        n = (n - 2) // 2 + 1  # max-pool 2×2, stride 2
        sizes.append(n)
    return 16 * sizes[0] * sizes[1]


def _confusion_cases(rng: np.random.Generator) -> list[tuple[np.ndarray]]:
    cases = [
        (np.array([[5, 1, 0], [2, 7, 1], [0, 0, 4]]),),
        (np.array([[10, 0], [3, 7]]),),
        (np.array([[4, 1, 0], [6, 2, 0], [1, 0, 3]]),),
    ]
    for n in (4, 10):
        cases.append((rng.integers(0, 20, (n, n)) + np.diag(rng.integers(20, 80, n)),))
    return cases


@exercise(
    "per_class_accuracy",
    cases=_confusion_cases,
    hint="Of all the samples that truly belong to class i, which share was classified as i? "
    "Find both numbers in the confusion matrix.",
    hints=[
        (
            "Row i of the confusion matrix holds every sample whose TRUE class is i; "
            "the correct ones are on the diagonal. Divide C[i, i] by the sum of row i "
            "(not column i)."
        ),
        "np.diag(C) / C.sum(axis=1), as floats.",
    ],
    mistakes=[
        Mistake(
            "columns",
            lambda confusion: np.diag(confusion) / np.asarray(confusion).sum(axis=0),
            "You divided by the column sums (that is precision): recall divides C[i, i] by the "
            "sum of row i (not column i).",
        ),
        Mistake(
            "total",
            lambda confusion: np.diag(confusion) / np.asarray(confusion).sum(),
            "You divided by all samples: divide by the samples of class i, the sum of row i.",
        ),
        Mistake(
            "counts",
            lambda confusion: np.diag(confusion).astype(float),
            "Those are the counts of correct samples: divide each by its row's sum.",
        ),
        Mistake(
            "integer division",
            lambda confusion: np.diag(confusion) // np.asarray(confusion).sum(axis=1),
            "Integer division `//` rounds every share down to 0 (or 1): divide with `/`.",
        ),
        Mistake(
            "overall",
            lambda confusion: np.full(len(confusion), np.trace(confusion) / np.sum(confusion)),
            "That is the overall accuracy, the same for every class: "
            "each class gets C[i, i] / row sum.",
        ),
    ],
)
def per_class_accuracy(confusion):
    """The fraction of each class's samples that were classified correctly (recall, 召回率)."""
    confusion = np.asarray(confusion, dtype=float)
    result = np.empty(len(confusion))
    for i in range(len(confusion)):
        result[i] = confusion[i, i] / confusion[i].sum()  # correct / all of true class i
    return result


def _standardize_cases(rng: np.random.Generator) -> list[tuple[np.ndarray, np.ndarray]]:
    cases = [
        (np.array([[0.0, 1.0], [1.0, 0.0]]), np.array([[0.5, 0.9]])),
        (
            rng.integers(0, 256, (6, 1, 4, 4)).astype(float) / 255,
            rng.integers(0, 256, (3, 1, 4, 4)).astype(float) / 255,
        ),
    ]
    for _ in range(3):
        # a test set with other statistics than the training set: using its own mean and
        # std instead of the training set's gives a different answer
        cases.append((rng.random((8, 1, 5, 5)), rng.random((4, 1, 5, 5)) * 0.5 + 0.4))
    return cases


@exercise(
    "standardize_with_training_stats",
    cases=_standardize_cases,
    hint="The test images must be treated exactly like the training images were – with "
    "numbers the model could have known at training time.",
    hints=[
        (
            "Compute ONE mean and ONE standard deviation over all training pixels and use them for "
            "both sets – never the test set's own statistics."
        ),
        "mean, std = x_train.mean(), x_train.std(); return "
        "((x_train − mean) / std, (x_test − mean) / std).",
    ],
    mistakes=[
        Mistake(
            "test statistics",
            lambda x_train, x_test: (
                (x_train - x_train.mean()) / x_train.std(),
                (x_test - x_test.mean()) / x_test.std(),
            ),
            "The test set was scaled with its own mean and std: use the training set's – never "
            "the test set's own statistics.",
        ),
        Mistake(
            "per image",
            lambda x_train, x_test: tuple(
                (s - s.mean(axis=tuple(range(1, s.ndim)), keepdims=True))
                / s.std(axis=tuple(range(1, s.ndim)), keepdims=True)
                for s in (x_train, x_test)
            ),
            "Each image was standardised on its own: use ONE mean and ONE std over all training "
            "pixels.",
        ),
        Mistake(
            "variance",
            lambda x_train, x_test: (
                (x_train - x_train.mean()) / x_train.var(),
                (x_test - x_train.mean()) / x_train.var(),
            ),
            "You divided by the variance (std²): divide by the standard deviation, x_train.std().",
        ),
        Mistake(
            "mean only",
            lambda x_train, x_test: (x_train - x_train.mean(), x_test - x_train.mean()),
            "Only the mean was subtracted: divide by the training std too.",
        ),
        Mistake(
            "per pixel",
            lambda x_train, x_test: (
                (x_train - x_train.mean(0)) / x_train.std(0),
                (x_test - x_train.mean(0)) / x_train.std(0),
            ),
            "A mean and std per pixel position (axis=0): "
            "use ONE mean and ONE std over all training pixels.",
        ),
    ],
)
def standardize_with_training_stats(x_train, x_test):
    """Standardise both sets with the training set's pixel mean and standard deviation."""
    mean = x_train.mean()
    std = x_train.std()
    return (x_train - mean) / std, (x_test - mean) / std
