"""The exercise checker: a right answer passes, each kind of mistake gets its own message."""

from __future__ import annotations

import numpy as np
import pytest

from edu_cnn.exercises.checker import REGISTRY, check, compare, exercise, solution_source


@pytest.fixture(autouse=True)
def demo_exercise():
    @exercise(
        "test_double",
        cases=lambda rng: [(rng.normal(size=(3, 2)),), (np.arange(4.0),)],
        hint="multiply by two",
    )
    def test_double(a):
        return 2 * a

    yield
    REGISTRY.pop("test_double", None)


def test_right_answer_passes(capsys):
    result = check("test_double", lambda a: a + a)
    assert result and result.cases_run == 2
    assert "✅ test_double: correct on all 2 hidden cases." in capsys.readouterr().out


@pytest.mark.parametrize(
    "answer, message",
    [
        (lambda a: -2 * a, "opposite sign everywhere"),
        (lambda a: a, "off by a constant factor: yours = 0.5 × expected"),
        (lambda a: (2 * a).T, "has shape (2, 3) but should have shape (3, 2) – transposed?"),
        (lambda a: (2 * a).reshape(-1), "has shape (6,) but should have shape (3, 2)"),
        (lambda a: None, "is None – did you forget to `return` it?"),
        (lambda a: 2 * a + (a > 1), "is wrong at index"),
        (lambda a: np.sqrt(-1 - a * a), "contains NaN"),
        (lambda a: np.log(a - a), "contains ±inf"),
    ],
)
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
    assert compare(expected, got) == (
        "the result is wrong at index (1, 0): expected 3, got 3.5 (1 of 4 values differ)"
    )
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
        result = check(name, REGISTRY[name].reference, verbose=False)
        assert result and result.is_reference, name
    assert not check("test_double", lambda a: 2 * a, verbose=False).is_reference


# -- the single diagnoses ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "expected, got, words",
    [
        (3, 2, "expected 3, got 2"),
        (np.array([1.0, 2.0]), np.zeros(2), "all zeros"),
        (np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[1.0, 3.0], [2.0, 4.0]]), "transposed"),
        (np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[4.0, 3.0], [2.0, 1.0]]), "rotated by 180°"),
        (
            np.array([[1.0, 2.0], [3.0, 4.0]]),
            np.array([[3.0, 4.0], [1.0, 2.0]]),
            "flipped upside down",
        ),
        (
            np.array([[1.0, 2.0], [3.0, 4.0]]),
            np.array([[2.0, 1.0], [4.0, 3.0]]),
            "flipped left–right",
        ),
        (np.array([1.0, 2.0, 0.0]), np.array([3.0, 6.0, 0.0]), "yours = 3 × expected"),
        (
            np.array([1.0, 0.0, 0.0]),
            np.array([-1.0, 0.0, 0.0]),
            "is wrong at index (0,): expected 1, got -1",
        ),
        (
            np.array([2.0, 4.0]),
            np.array([2.0, 4.0, 0.0]),
            "has shape (3,) but should have shape (2,)",
        ),
        (np.array(2.0), np.array([2.0, 2.0]), "should be one number"),
        (["a", "b", "c"], ["a", "c", "b"], "wrong order: position 1 should be 'b'"),
        (["a", "b"], ["a"], "'b' is missing"),
    ],
)
def test_compare_names_what_is_wrong(expected, got, words):
    assert words in compare(expected, got)


def test_a_single_number_is_never_called_a_factor_or_a_sign():
    assert compare(4.0, 2.0) == "the result is wrong: expected 4, got 2"
    assert compare(4.0, -4.0) == "the result is wrong: expected 4, got -4"
    assert compare(3, 0) == "the result is wrong: expected 3, got 0"


def test_integer_and_dtype_diagnoses():
    assert "not an integer – integer division `//`" in compare(3, 2.5, integer=True)
    assert "3.0, a float, not an integer" in compare(3, 3.0, integer=True)
    assert compare(3, np.int64(3), integer=True) is None
    assert "booleans" in compare(np.array([0, 1]), np.array([False, True]), dtype="integer")
    assert "float32" in compare(np.zeros(2, np.float32), np.zeros(2), dtype="float32")
    assert compare(np.zeros(2, np.float32), np.zeros(2, np.float32), dtype="float32") is None


def test_a_factor_is_named_only_when_it_holds_over_every_case():
    @exercise("test_scalar", cases=lambda rng: [(1.0,), (2.0,), (5.0,)])
    def test_scalar(a):
        return 3 * a

    try:
        doubled = check("test_scalar", lambda a: 6 * a, verbose=False)
        assert "expected 3, got 6" in doubled.message
        assert (
            "in every case your answer is off by a constant factor: yours = 2 × expected"
            in doubled.message
        )
        once = check("test_scalar", lambda a: 3 * a if a > 1 else 6.0, verbose=False)
        assert "expected 3, got 6" in once.message and "factor" not in once.message
    finally:
        REGISTRY.pop("test_scalar", None)


def test_values_in_the_wrong_order():
    @exercise("test_pair", cases=lambda rng: [(np.array([1.0, 2.0]), 3.0)])
    def test_pair(w, b):
        return w * 2, b + 1

    try:
        result = check("test_pair", lambda w, b: (b + 1, w * 2), verbose=False)
        assert "the values are right but in the wrong order" in result.message
    finally:
        REGISTRY.pop("test_pair", None)


def test_known_mistake_is_named_and_the_hint_is_staged(capsys):
    from edu_cnn.exercises import Mistake, show_hint

    @exercise(
        "test_mean",
        cases=lambda rng: [(np.array([1.0, 2.0, 6.0]),), (np.array([4.0, 0.0]),)],
        hint="first hint",
        hints=["second hint", "third hint"],
        mistakes=[Mistake("sum", lambda a: np.sum(a), "That is the sum: divide by N (1/N).")],
    )
    def test_mean(a):
        return np.mean(a)

    try:
        result = check("test_mean", lambda a: a.sum(), verbose=False)
        assert result.mistake == "sum" and "expected 3, got 9" in result.message
        assert "That is the sum: divide by N (1/N)." in result.message
        assert "Hint: first hint" in result.message and "second hint" not in result.message
        show_hint("test_mean")
        assert "Hint 2 of 3 for test_mean: second hint" in capsys.readouterr().out
        show_hint("test_mean")
        out = capsys.readouterr().out
        assert "Hint 3 of 3" in out and "third hint" in out and "last hint" in out
        show_hint("test_mean", level=1)
        assert "first hint" in capsys.readouterr().out
    finally:
        REGISTRY.pop("test_mean", None)


# -- the time limit ------------------------------------------------------------------------------
def endless(a):
    while True:
        pass


def stubborn(a):  # an endless loop that swallows ordinary exceptions
    while True:
        try:
            pass
        except Exception:  # noqa: BLE001, S110 – the point: a student's loop that swallows errors
            pass


def very_stubborn(a):  # a bare except: the time limit is raised again until it gets through
    while True:
        try:
            pass
        except:  # noqa: E722, S110
            pass


@pytest.mark.parametrize("loop", [endless, stubborn, very_stubborn])
def test_an_endless_loop_is_stopped_within_the_limit(loop):
    import threading
    import time

    start = time.monotonic()
    result = check("test_double", loop, verbose=False, time_limit=1.0)
    elapsed = time.monotonic() - start
    assert elapsed < 2.0, elapsed
    assert not result and result.timed_out
    assert "case 1 of 2 ran longer than 1 s and was stopped" in result.message
    assert "a loop that may never end" in result.message
    time.sleep(0.2)
    assert not any(t.name == "edu-cnn-check" for t in threading.enumerate())


def test_the_default_time_limit_applies(monkeypatch):
    import time

    from edu_cnn.exercises import checker

    monkeypatch.setattr(checker, "TIME_LIMIT", 0.5)
    start = time.monotonic()
    assert check("test_double", endless, verbose=False).timed_out
    assert time.monotonic() - start < 1.5


def test_errstate_reaches_the_students_function():
    with np.errstate(divide="raise"):
        result = check("test_double", lambda a: a / (a - a), verbose=False)
    assert "raised FloatingPointError" in result.message


# -- renamed parameters ----------------------------------------------------------------------------
def test_renamed_parameter_gets_advice():
    @exercise("test_kw", cases=lambda rng: [{"x": np.ones(2), "size": 2}])
    def test_kw(x, size=1):
        return x * size

    try:
        result = check("test_kw", lambda image, size: image * size, verbose=False)
        assert "unexpected keyword argument 'x'" in result.message
        assert "Keep the stub's parameter names" in result.message
        assert "def test_kw(x, size=1):" in result.message
        crash = check("test_kw", lambda x, size: x[5], verbose=False)
        assert "raised IndexError" in crash.message and "parameter names" not in crash.message
    finally:
        REGISTRY.pop("test_kw", None)


def test_an_input_changed_in_place_is_named():
    @exercise("test_keep", cases=lambda rng: [(np.array([1.0, 2.0]),)], keep_inputs=True)
    def test_keep(a):
        return a + 1

    def in_place(a):
        a += 1
        return a

    try:
        result = check("test_keep", in_place, verbose=False)
        assert "changed its input a: a[0] is 2 afterwards instead of 1" in result.message
    finally:
        REGISTRY.pop("test_keep", None)


@pytest.mark.slow
def test_time_limit_inside_a_real_jupyter_kernel(real_kernel):
    """In a kernel the student's function runs in a worker thread: its prints reach the
    cell, an endless loop is stopped after the limit, and the kernel stays usable."""
    import time

    execute = real_kernel.execute
    execute("from edu_cnn.exercises import check")
    started = time.monotonic()
    out = execute(
        "def accuracy(predictions, labels):\n"
        "    print('looking', len(labels))\n"
        "    while True:\n"
        "        pass\n"
        "r = check('accuracy', accuracy, time_limit=1.5)"
    )
    assert time.monotonic() - started < 5
    assert "looking 4" in out and "⏱ accuracy: case 1 of" in out and "ran longer than 1.5 s" in out
    out = execute(
        "import numpy as np\n"
        "check('accuracy', lambda predictions, labels: np.mean(predictions == labels))"
    )
    assert "✅ accuracy" in out


def test_a_long_library_call_is_left_behind_but_check_returns():
    import time

    start = time.monotonic()
    result = check("test_double", lambda a: time.sleep(3), verbose=False, time_limit=0.5)
    assert time.monotonic() - start < 1.5
    assert result.timed_out and "could not be stopped" in result.message


def test_a_nearly_right_answer_is_called_close():
    expected = np.array([0.25, 0.19661193])
    message = compare(expected, np.round(expected, 4))
    assert "close, but outside the tolerance" in message and "factor" not in message
