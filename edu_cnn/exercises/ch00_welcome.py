"""Chapter 0 exercise: accuracy, the simplest measure P of how well a classifier does.

It exists mainly to show how exercises work: write the function, run ``check``, read
the message, fix, repeat; ``show_hint`` gives more help, ``show_solution`` prints the
reference below.
"""

from __future__ import annotations

import numpy as np

from .checker import Mistake, exercise


def _accuracy_cases(rng: np.random.Generator) -> list[tuple]:
    cases = [
        (np.array([1, 0, 1, 1]), np.array([1, 0, 0, 1])),
        (np.array([2, 2, 2]), np.array([2, 2, 2])),
        (np.array([0, 1, 2, 0, 1]), np.array([1, 1, 2, 0, 0])),
    ]
    for n in (10, 37):
        cases.append((rng.integers(0, 3, size=n), rng.integers(0, 3, size=n)))
    return cases


@exercise(
    "accuracy",
    cases=_accuracy_cases,
    hint="The answer is a share between 0 and 1: how many predictions are right, out of how many?",
    hints=[
        (
            "predictions == labels compares element by element and gives True/False; "
            "True counts as 1 when you add or average."
        ),
        "np.mean(predictions == labels) – the mean of the True/False array is the share of True.",
    ],
    mistakes=[
        Mistake(
            "count",
            lambda predictions, labels: np.sum(predictions == labels),
            "That is the number of right predictions, a count – divide it by how many there are.",
        ),
        Mistake(
            "error rate",
            lambda predictions, labels: np.mean(predictions != labels),
            "That is the share of *wrong* predictions (the error rate) – "
            "accuracy counts the right ones.",
        ),
        Mistake(
            "percent",
            lambda predictions, labels: 100 * np.mean(predictions == labels),
            "That is a percentage – the task asks for a share between 0 and 1.",
        ),
    ],
)
def accuracy(predictions, labels):
    """The share of predictions that equal their label, a number between 0 and 1."""
    return np.mean(predictions == labels)
