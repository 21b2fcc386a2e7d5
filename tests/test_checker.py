"""The exercise checker: a right answer passes, each kind of mistake gets its own message."""

from __future__ import annotations

import numpy as np
import pytest

from edu_cnn.exercises.checker import REGISTRY, check, compare, exercise, solution_source


@pytest.fixture(autouse=True)
def demo_exercise():
    @exercise("test_double", cases=lambda rng: [(rng.normal(size=(3, 2)),), (np.arange(4.0),)],
              hint="multiply by two")
    def test_double(a):
        return 2 * a

    yield
    REGISTRY.pop("test_double", None)


def test_right_answer_passes(capsys):
    result = check("test_double", lambda a: a + a)
    assert result and result.cases_run == 2
    assert "✅ test_double: correct on all 2 hidden cases." in capsys.readouterr().out


@pytest.mark.parametrize("answer, message", [
    (lambda a: -2 * a, "opposite sign everywhere"),
    (lambda a: a, "off by a constant factor: yours = 0.5 × expected"),
    (lambda a: (2 * a).T, "has shape (2, 3) but should have shape (3, 2) – transposed?"),
    (lambda a: (2 * a).reshape(-1), "has shape (6,) but should have shape (3, 2)"),
    (lambda a: None, "is None – did you forget to `return` it?"),
    (lambda a: 2 * a + (a > 1), "is wrong at index"),
    (lambda a: np.sqrt(-1 - a * a), "contains NaN"),
    (lambda a: np.log(a - a), "contains ±inf"),
])
def test_each_mistake_is_named(answer, message, capsys):
    with np.errstate(all="ignore"):
        result = check("test_double", answer)
    out = capsys.readouterr().out
    assert not result
    assert message in out, out
    assert "on case" in out and "Hint: multiply by two" in out


def test_unfinished_stub_and_crash(capsys):
    def stub(a):
        raise NotImplementedError

    assert not check("test_double", stub)
    assert "not done yet" in capsys.readouterr().out

    assert not check("test_double", lambda a: a[10, 10])
    out = capsys.readouterr().out
    assert "your function raised IndexError" in out and "a = " in out


def test_first_wrong_value_is_reported():
    expected = np.array([[1.0, 2.0], [3.0, 4.0]])
    got = expected.copy()
    got[1, 0] = 3.5
    assert compare(expected, got) == ("the result is wrong at index (1, 0): expected 3, got 3.5 "
                                      "(1 of 4 values differ)")
    assert compare((1.0, expected), (1.0, expected)) is None
    assert "tuple of 2 values" in compare((1.0, expected), expected)


def test_solution_is_shown_without_decorator():
    source = solution_source("test_double")
    assert source.startswith("def test_double(a):") and "return 2 * a" in source


def test_unknown_exercise():
    with pytest.raises(ValueError, match="no exercise called 'nope'"):
        check("nope", lambda: 0)


def test_every_registered_exercise_accepts_its_own_reference():
    from edu_cnn.exercises import list_exercises

    for name in list_exercises():
        assert check(name, REGISTRY[name].reference, verbose=False), name
