"""Exercises with immediate feedback: ``check(name, your_function)``, ``show_hint(name)``,
``show_solution(name)``.

Each chapter's exercises live in ``chNN_<topic>.py`` beside the checker and register
themselves with the :func:`~edu_cnn.exercises.checker.exercise` decorator.
"""

from .checker import (
    CheckResult,
    Mistake,
    check,
    compare,
    exercise,
    list_exercises,
    show_hint,
    show_solution,
    solution_source,
)

__all__ = [
    "CheckResult",
    "Mistake",
    "check",
    "compare",
    "exercise",
    "list_exercises",
    "show_hint",
    "show_solution",
    "solution_source",
]
