"""Chapter 0 exercise: accuracy, the simplest measure P of how well a classifier does.

It exists mainly to show how exercises work: write the function, run ``check``, read
the message, fix, repeat; ``show_solution`` prints the reference below.
"""

from __future__ import annotations

import numpy as np

from .checker import exercise


def _accuracy_cases(rng: np.random.Generator) -> list[tuple]:
    cases = [(np.array([1, 0, 1, 1]), np.array([1, 0, 0, 1])),
             (np.array([2, 2, 2]), np.array([2, 2, 2])),
             (np.array([0, 1]), np.array([1, 0]))]
    for n in (10, 37):
        cases.append((rng.integers(0, 3, size=n), rng.integers(0, 3, size=n)))
    return cases


@exercise(
    "accuracy",
    cases=_accuracy_cases,
    hint="Compare the two arrays element by element (predictions == labels gives True/False), "
         "then take the mean: True counts as 1. The answer is a share between 0 and 1, not a count.",
)
def accuracy(predictions, labels):
    """The share of predictions that equal their label, a number between 0 and 1."""
    return np.mean(predictions == labels)
