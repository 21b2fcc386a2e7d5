"""Exercises with immediate feedback.

A chapter registers an exercise by decorating its reference solution::

    @exercise("mse_gradient", cases=lambda rng: [...], hint="…", hints=["…", "…"],
              mistakes=[Mistake("no 1/N", lambda X, y, w, b: ..., "… 1/N …")])
    def mse_gradient(X, y, w, b): ...

A student writes their own ``mse_gradient`` in the notebook and calls
``check("mse_gradient", mse_gradient)``. It runs both on the hidden cases (each case with
a time limit) and prints either a clear success or what is wrong, where, and expected
versus got – never a bare assertion. A wrong answer is diagnosed in this order:

1. the *form* of the answer: ``None``, a tuple of the wrong length, the wrong shape or
   dtype, NaN or ±inf, a non-integer where an integer is asked for;
2. the exercise's **known mistakes**: each is a function of the case's inputs giving the
   wrong answer a typical slip produces (the kernel rotated by 180°, y − t for t − y, a
   forgotten 1/N …). The student's output is compared with it, on every failing case
   – that names the mistake reliably;
3. patterns any array can show: the opposite sign, transposed, rotated by 180°, flipped,
   values in the wrong order, all zeros, one constant factor over all values of all
   cases run.

The first failure prints the first hint, which points the way without giving the
formula; ``show_hint(name)`` prints the next, more explicit one on each call;
``show_solution(name)`` prints the reference.
"""

from __future__ import annotations

import contextvars
import ctypes
import importlib
import inspect
import os
import pkgutil
import textwrap
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

Case = tuple[tuple[Any, ...], dict[str, Any]]

#: Seconds each hidden case may take before ``check`` stops the student's function
#: (``EDU_CNN_CHECK_TIME_LIMIT`` overrides it; so does ``check(..., time_limit=…)``).
TIME_LIMIT = float(os.environ.get("EDU_CNN_CHECK_TIME_LIMIT", "3"))


@dataclass(frozen=True)
class Mistake:
    """A typical wrong answer an exercise can name.

    Parameters
    ----------
    name
        A short key (``"rotated 180°"``), stored in ``CheckResult.mistake``.
    answer
        A function of the case's inputs (the reference's parameters) giving the wrong
        answer the slip produces.
    message
        What the student is told when their output equals ``answer``'s on every failing case.
    """

    name: str
    answer: Callable[..., Any]
    message: str


@dataclass
class Exercise:
    """One exercise: a reference solution, its hidden cases, hints and known mistakes."""

    name: str
    reference: Callable[..., Any]
    cases: Callable[[np.random.Generator], Sequence[Any]]
    hint: str = ""
    rtol: float = 1e-5
    atol: float = 1e-7
    seed: int = 1234
    hints: Sequence[str] = ()
    mistakes: Sequence[Mistake] = ()
    dtype: str | None = None
    integer: bool = False
    keep_inputs: bool = False
    time_limit: float | None = None

    def hidden_cases(self) -> list[Case]:
        """The cases as (args, kwargs); a case may be given as a tuple of args or a dict."""
        normalised: list[Case] = []
        for case in self.cases(np.random.default_rng(self.seed)):
            if isinstance(case, dict):
                normalised.append(((), dict(case)))
            elif (
                isinstance(case, tuple)
                and len(case) == 2
                and isinstance(case[1], dict)
                and isinstance(case[0], tuple)
            ):
                normalised.append((case[0], case[1]))
            elif isinstance(case, tuple):
                normalised.append((case, {}))
            else:
                normalised.append(((case,), {}))
        return normalised

    def all_hints(self) -> list[str]:
        """The staged hints, vaguest first."""
        return [h for h in (self.hint, *self.hints) if h]

    def stub(self) -> str:
        """The first line of the function the student writes: ``def name(params):``."""
        return f"def {self.name}{inspect.signature(self.reference)}:"


REGISTRY: dict[str, Exercise] = {}


def exercise(
    name: str,
    cases: Callable[[np.random.Generator], Sequence[Any]],
    hint: str = "",
    rtol: float = 1e-5,
    atol: float = 1e-7,
    *,
    hints: Sequence[str] = (),
    mistakes: Sequence[Mistake] = (),
    dtype: str | None = None,
    integer: bool = False,
    keep_inputs: bool = False,
    time_limit: float | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register the decorated function as the reference solution of exercise ``name``.

    Parameters
    ----------
    name
        The name the student passes to ``check``.
    cases
        ``cases(rng)`` returns the hidden cases (tuples of arguments or dicts of keyword
        arguments), a tiny one first, then cases on which the common mistakes differ.
    hint, hints
        The first hint (printed on the first failure; points the way, no formula) and
        the later, more explicit ones ``show_hint`` gives one at a time.
    mistakes
        Known typical wrong answers (:class:`Mistake`), named when the output equals them.
    dtype
        ``"float32"``, ``"integer"`` (int, not bool) …: the dtype the task asks for.
    integer
        The answer is a whole number (a size, a count): a float is called out.
    keep_inputs
        The function must leave its array inputs unchanged.
    time_limit
        Seconds per case, if not :data:`TIME_LIMIT`.
    """

    def register(reference: Callable[..., Any]) -> Callable[..., Any]:
        if name in REGISTRY and REGISTRY[name].reference.__module__ != reference.__module__:
            raise ValueError(
                f"exercise: the name {name!r} is already used by "
                f"{REGISTRY[name].reference.__module__}"
            )
        REGISTRY[name] = Exercise(
            name,
            reference,
            cases,
            hint,
            rtol,
            atol,
            hints=tuple(hints),
            mistakes=tuple(mistakes),
            dtype=dtype,
            integer=integer,
            keep_inputs=keep_inputs,
            time_limit=time_limit,
        )
        return reference

    return register


def load_all_exercises() -> None:
    """Import every chapter module of this package, which registers its exercises."""
    package = importlib.import_module(__package__)
    for info in pkgutil.iter_modules(package.__path__):
        if info.name != "checker":
            importlib.import_module(f"{__package__}.{info.name}")


def get_exercise(name: str) -> Exercise:
    """The registered exercise ``name`` (``ValueError`` listing the known ones if none)."""
    if name not in REGISTRY:
        load_all_exercises()
    if name not in REGISTRY:
        known = ", ".join(sorted(REGISTRY))
        raise ValueError(f"check: no exercise called {name!r}; the exercises are: {known}")
    return REGISTRY[name]


# -- printing values small enough to redo by hand ------------------------------------------------
def _short(value: Any, precision: int = 4) -> str:
    if isinstance(value, np.ndarray):
        text = np.array2string(value, precision=precision, suppress_small=True, threshold=20)
    elif isinstance(value, (float, np.floating)):
        text = f"{float(value):.6g}"
    elif (
        isinstance(value, list)
        and value
        and all(isinstance(v, dict) for v in value)
        and len(value) <= 12
    ):
        return "[" + ",\n ".join(repr(v) for v in value) + "]"
    else:
        text = repr(value)
    return text if len(text) < 300 else text[:297] + "…"


def _num(value: Any) -> str:
    """One number as a student writes it: 3, 2.5, 0.333333."""
    if isinstance(value, (bool, np.bool_)):
        return repr(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return f"{float(value):.6g}"


# -- the diagnoses: each returns one sentence or None ----------------------------------------------
def _form_problem(e: Any, got: Any, what: str) -> str | None:
    """None, a non-number, or the wrong shape."""
    if got is None:
        return f"{what} is None – did you forget to `return` it?"
    if isinstance(e, (bool, np.bool_)):
        if isinstance(got, (bool, np.bool_, int, np.integer)) and bool(got) == bool(e):
            return None
        return f"{what} should be {e}, got {_short(got)}"
    if (
        isinstance(e, np.ndarray)
        and not np.issubdtype(e.dtype, np.number)
        or isinstance(e, (list, str))
        and not np.issubdtype(np.asarray(e).dtype, np.number)
    ):
        return None  # names or other objects: compared by _object_problem
    try:
        g = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return f"{what} should be numbers, got {type(got).__name__}: {_short(got)}"
    e = np.asarray(e)
    if e.shape != g.shape:
        return _shape_problem(e.shape, g.shape, what)
    return None


def _shape_problem(want: tuple[int, ...], have: tuple[int, ...], what: str) -> str:
    base = f"{what} has shape {have} but should have shape {want}"
    if len(want) == 0:
        return f"{what} should be one number, got an array of shape {have}"
    if len(want) == 2 and have == want[::-1]:
        return base + " – transposed?"
    if int(np.prod(want)) == int(np.prod(have)):
        return base + " (same number of values: a reshape or axis mix-up?)"
    if len(want) == len(have) and all(h - w in (-1, 1, 0) for w, h in zip(want, have, strict=True)):
        return base + " – one row or column too many or too few: count the positions again"
    return base


def _object_problem(e: Any, got: Any, what: str) -> str | None:
    """Non-numeric answers (lists of names): equal, or say what differs."""
    e_list, g_list = np.asarray(e).ravel().tolist(), np.asarray(got, dtype=object).ravel().tolist()
    if e_list == g_list:
        return None
    if sorted(map(str, e_list)) == sorted(map(str, g_list)):
        i = next(i for i, (a, b) in enumerate(zip(e_list, g_list, strict=True)) if a != b)
        return (
            f"{what} has the right values in the wrong order: position {i} should be "
            f"{e_list[i]!r}, got {g_list[i]!r}"
        )
    missing = [v for v in e_list if v not in g_list]
    if missing:
        return f"{what} should be {_short(e)}, got {_short(got)} ({missing[0]!r} is missing)"
    return f"{what} should be {_short(e)}, got {_short(got)}"


def _dtype_problem(got: Any, dtype: str | None, what: str) -> str | None:
    """The dtype the exercise names (``"float32"``, ``"integer"``)."""
    if dtype is None:
        return None
    have = np.asarray(got).dtype
    if dtype == "integer":
        if have == np.bool_:
            return (
                f"{what} holds booleans (True/False), but the task asks for the integers "
                f"0 and 1 – convert with .astype(int)"
            )
        if not np.issubdtype(have, np.integer):
            return (
                f"{what} has dtype {have}, but the task asks for integers – "
                "convert with .astype(int)"
            )
        return None
    if have != np.dtype(dtype):
        return (
            f"{what} has dtype {have}, but the task asks for {dtype} – convert with "
            f".astype(np.{dtype}) (a model served by ONNX Runtime refuses any other dtype)"
        )
    return None


def _integer_problem(got: Any, what: str) -> str | None:
    """A float where a whole number is asked for."""
    if isinstance(got, (bool, np.bool_)) or np.ndim(got) != 0:
        return None
    if isinstance(got, (int, np.integer)):
        return None
    value = float(got)
    if value.is_integer():
        return (
            f"{what} is {value!r}, a float, not an integer – integer division `//` "
            f"keeps whole numbers whole"
        )
    return f"{what} is {value:.6g}, not an integer – integer division `//`?"


def _finite_problem(e: np.ndarray, g: np.ndarray, what: str) -> str | None:
    if np.isnan(g).any() and not np.isnan(e).any():
        where = tuple(int(i) for i in np.argwhere(np.isnan(g))[0]) if g.ndim else ()
        at = f" (first at index {where})" if where else ""
        return f"{what} contains NaN{at} – a 0/0, ∞ − ∞ or a log of a negative number?"
    if np.isinf(g).any() and not np.isinf(e).any():
        where = tuple(int(i) for i in np.argwhere(np.isinf(g))[0]) if g.ndim else ()
        at = f" (first at index {where})" if where else ""
        return f"{what} contains ±inf{at} – a division by zero, log(0) or exp overflow?"
    return None


def _close(a: Any, b: Any, rtol: float, atol: float) -> bool:
    try:
        a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=True))


def _pattern_problem(
    e: np.ndarray, g: np.ndarray, rtol: float, atol: float, what: str
) -> str | None:
    """Patterns any array answer can show, tested one after another."""
    if np.count_nonzero(np.abs(e) > atol) < 2:
        return None  # one number: a sign or a factor would be a guess
    if np.allclose(g, 0, atol=atol):
        return f"{what} is all zeros – is the array filled in, and is the filled one returned?"
    if np.allclose(g, -e, rtol=rtol, atol=atol):
        return f"{what} has the right size but the opposite sign everywhere – check the sign"
    if e.ndim == 2:
        for name, moved in (
            ("transposed (rows and columns swapped)", e.T),
            ("rotated by 180°", np.rot90(e, 2)),
            ("flipped upside down (on axis 0)", e[::-1]),
            ("flipped left–right (on axis 1)", e[:, ::-1]),
        ):
            if (
                moved.shape == e.shape
                and not np.allclose(moved, e, rtol=rtol, atol=atol)
                and np.allclose(g, moved, rtol=rtol, atol=atol)
            ):
                return f"{what} is the expected array {name}"
    if np.allclose(g, e, rtol=1e-3, atol=max(atol, 1e-6)):
        return _value_problem(e, g, rtol, atol, what) + (
            f" – close, but outside the tolerance (relative {rtol:g}): a rounded constant, "
            f"float32 arithmetic or another step size?"
        )
    factor = _constant_factor([(e, g)], atol)
    if factor is not None:
        return _factor_sentence(factor, what)
    return None


def _constant_factor(pairs: Sequence[tuple[Any, Any]], atol: float) -> float | None:
    """The one factor k with got = k·expected over at least two non-zero values, else None."""
    ratios = []
    for e, g in pairs:
        e, g = np.asarray(e, dtype=np.float64).ravel(), np.asarray(g, dtype=np.float64).ravel()
        if e.shape != g.shape:
            return None
        nonzero = np.abs(e) > 1e-12
        if not np.allclose(g[~nonzero], 0, atol=atol):
            return None
        ratios.extend(g[nonzero] / e[nonzero])
    if len(ratios) < 2:
        return None
    k = ratios[0]
    if np.isclose(k, 1.0) or np.isclose(k, 0.0) or not np.allclose(ratios, k, rtol=1e-4):
        return None
    return float(k)


def _factor_sentence(k: float, what: str) -> str:
    shown = f"{k:.4g}" if not np.isclose(float(f"{k:.4g}"), 1.0) else f"{k:.8g}"
    return (
        f"{what} is off by a constant factor: yours = {shown} × expected "
        f"– a missing or extra 1/N, 2 or learning rate?"
    )


def _value_problem(e: np.ndarray, g: np.ndarray, rtol: float, atol: float, what: str) -> str:
    """Where the first wrong value is, expected versus got."""
    if e.ndim == 0:
        return f"{what} is wrong: expected {_num(e[()])}, got {_num(g[()])}"
    wrong = ~np.isclose(g, e, rtol=rtol, atol=atol)
    index = tuple(int(i) for i in np.argwhere(wrong)[0])
    return (
        f"{what} is wrong at index {index}: expected {_num(e[index])}, got {_num(g[index])} "
        f"({int(wrong.sum())} of {wrong.size} values differ)"
    )


def compare(
    expected: Any,
    got: Any,
    rtol: float = 1e-5,
    atol: float = 1e-7,
    what: str = "the result",
    *,
    dtype: str | None = None,
    integer: bool = False,
) -> str | None:
    """``None`` when ``got`` matches ``expected``, else one sentence saying what is wrong.

    The sentence names the first problem found: the form (tuple length, shape, dtype,
    NaN), then a pattern (sign, transposed, rotated, factor, zeros), else the first wrong
    value with expected versus got.
    """
    if isinstance(expected, tuple):
        if not isinstance(got, (tuple, list)) or len(got) != len(expected):
            n = len(got) if isinstance(got, (tuple, list)) else "a single value"
            return f"{what} should be a tuple of {len(expected)} values, got {n}"
        for i, (e, g) in enumerate(zip(expected, got, strict=True)):
            problem = compare(e, g, rtol, atol, f"value {i + 1} of {what}")
            if problem:
                return problem
        return None
    problem = _form_problem(expected, got, what)
    if problem or isinstance(expected, (bool, np.bool_)):
        return problem
    if not np.issubdtype(np.asarray(expected).dtype, np.number):
        return _object_problem(expected, got, what)
    problem = _dtype_problem(got, dtype, what) or (_integer_problem(got, what) if integer else None)
    if problem:
        return problem
    e, g = np.asarray(expected, dtype=np.float64), np.asarray(got, dtype=np.float64)
    problem = _finite_problem(e, g, what)
    if problem:
        return problem
    if np.allclose(g, e, rtol=rtol, atol=atol):
        return None
    return _pattern_problem(e, g, rtol, atol, what) or _value_problem(e, g, rtol, atol, what)


def _first_difference(expected: Any, got: Any, rtol: float, atol: float) -> str | None:
    """Where a (possibly tuple-valued) answer first differs, as a plain value sentence."""
    if isinstance(expected, tuple):
        # strict=False: a student's tuple may be shorter or longer (the form check says so)
        for i, (e, g) in enumerate(zip(expected, got, strict=False)):
            sentence = _first_difference(e, g, rtol, atol)
            if sentence:
                return sentence.replace("the result", f"value {i + 1} of the result", 1)
        return None
    if not np.issubdtype(np.asarray(expected).dtype, np.number):
        return _object_problem(expected, got, "the result")
    try:
        e, g = np.asarray(expected, dtype=np.float64), np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    if e.shape != g.shape:
        return _shape_problem(e.shape, g.shape, "the result")
    if np.allclose(g, e, rtol=rtol, atol=atol):
        return None
    return _value_problem(e, g, rtol, atol, "the result")


def _tuple_order_problem(expected: Any, got: Any, rtol: float, atol: float) -> str | None:
    """A tuple whose values are all right but returned in another order."""
    if (
        not isinstance(expected, tuple)
        or not isinstance(got, (tuple, list))
        or len(got) != len(expected)
    ):
        return None
    from itertools import permutations

    for order in permutations(range(len(expected))):
        if list(order) != list(range(len(expected))) and all(
            _close(expected[j], got[i], rtol, atol) for i, j in enumerate(order)
        ):
            wrong = [i for i, j in enumerate(order) if i != j]
            i = wrong[0]
            return (
                "the values are right but in the wrong order: "
                f"value {i + 1} of your tuple is value {order[i] + 1} of the expected one – "
                "return them in the order the task names"
            )
    return None


# -- running the student's function with a time limit -------------------------------------------
class CheckTimeLimit(BaseException):
    """Raised inside a student's function that ran past its time limit.

    A ``BaseException``, so that an ``except Exception`` in the student's code does not
    swallow it.
    """


@dataclass
class _Outcome:
    value: Any = None
    error: BaseException | None = None
    timed_out: bool = False
    stopped: bool = True
    seconds: float = 0.0


def _raise_in_thread(thread: threading.Thread, error: type[BaseException]) -> None:
    """Raise ``error`` inside ``thread`` at its next Python instruction (CPython; any OS)."""
    if thread.ident is not None:
        ctypes.pythonapi.PyThreadState_SetAsyncExc(
            ctypes.c_ulong(thread.ident), ctypes.py_object(error)
        )


def call_with_time_limit(
    func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], limit: float
) -> _Outcome:
    """Run ``func(*args, **kwargs)`` in a worker thread for at most ``limit`` seconds.

    After the deadline a :class:`CheckTimeLimit` is raised inside the worker with
    ``PyThreadState_SetAsyncExc``: a pure-Python loop stops at its next instruction, on
    Linux, macOS and Windows, inside a Jupyter kernel as well. (A single long numpy call
    cannot be interrupted; it finishes in the background and ``stopped`` is False.) The
    worker runs in a copy of the caller's context, so ``np.errstate`` still applies.
    """
    outcome = _Outcome()
    context = contextvars.copy_context()

    def work() -> None:
        start = time.perf_counter()
        try:
            outcome.value = context.run(func, *args, **kwargs)
        except CheckTimeLimit:
            outcome.timed_out = True
        except BaseException as error:  # noqa: BLE001 – handed to the caller, who says what it was
            outcome.error = error
        outcome.seconds = time.perf_counter() - start

    worker = threading.Thread(target=work, name="edu-cnn-check", daemon=True)
    deadline = time.monotonic() + limit
    worker.start()
    try:
        while worker.is_alive() and time.monotonic() < deadline:
            worker.join(min(0.05, max(deadline - time.monotonic(), 0.001)))
    except KeyboardInterrupt:  # the student pressed "interrupt": stop the worker too
        _raise_in_thread(worker, CheckTimeLimit)
        raise
    if worker.is_alive():
        outcome.timed_out = True
        give_up = time.monotonic() + 0.9
        while worker.is_alive() and time.monotonic() < give_up:
            _raise_in_thread(worker, CheckTimeLimit)  # again, in case an `except:` caught it
            worker.join(0.1)
        outcome.stopped = not worker.is_alive()
        outcome.seconds = limit
    return outcome


# -- what check reports ---------------------------------------------------------------------------
@dataclass
class CheckResult:
    """What ``check`` found; true when every hidden case passed.

    ``diagnosis`` is the sentence naming the mistake (if one was recognised), ``mistake``
    the key of the exercise's known mistake, ``case`` the number of the reported case,
    ``is_reference`` true when the function checked is the reference itself (a grader
    should not count that as the student's work).
    """

    name: str
    passed: bool
    message: str
    cases_run: int = 0
    details: list[str] = field(default_factory=list)
    diagnosis: str = ""
    mistake: str = ""
    timed_out: bool = False
    case: int = 0
    is_reference: bool = False

    def __bool__(self) -> bool:
        return self.passed

    def __repr__(self) -> str:
        return self.message

    def _ipython_display_(self) -> None:  # already printed by check(); show nothing more
        pass


def _describe_inputs(
    args: tuple[Any, ...], kwargs: dict[str, Any], reference: Callable[..., Any]
) -> str:
    try:
        bound = inspect.signature(reference).bind(*args, **kwargs)
        items = bound.arguments.items()
    except TypeError:
        items = [(f"arg{i}", a) for i, a in enumerate(args)] + list(kwargs.items())
    lines = [f"    {k} = {_short(v)}".replace("\n", "\n" + " " * (len(k) + 7)) for k, v in items]
    return "\n".join(lines)


def _size(value: Any) -> int:
    """How many numbers a case's inputs hold: the smallest failing case is reported."""
    if isinstance(value, np.ndarray):
        return int(value.size)
    if isinstance(value, (tuple, list)):
        return sum(_size(v) for v in value)
    if isinstance(value, dict):
        return sum(_size(v) for v in value.values())
    return 1


def _copy(value: Any) -> Any:
    """Give each function its own copies, so an in-place change cannot leak into the next."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, tuple):
        return tuple(_copy(v) for v in value)
    if isinstance(value, list):
        return [_copy(v) for v in value]
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    return value


def _changed_input(before: Case, after: Case, reference: Callable[..., Any]) -> str | None:
    """The first array input the student's function changed in place, as a sentence."""
    try:
        names = list(inspect.signature(reference).parameters)
    except (TypeError, ValueError):
        names = []
    pairs = [
        (names[i] if i < len(names) else f"argument {i + 1}", b, a)
        for i, (b, a) in enumerate(zip(before[0], after[0], strict=True))
    ]
    pairs += [(k, before[1][k], after[1][k]) for k in before[1]]
    for name, old, new in pairs:
        if isinstance(old, np.ndarray) and not np.array_equal(old, new):
            index = tuple(int(i) for i in np.argwhere(old != new)[0])
            return (
                f"your function changed its input {name}: {name}{list(index)} is "
                f"{_num(new[index])} afterwards instead of {_num(old[index])} – put each "
                f"nudged value back (or work on a copy) so the caller's array stays as it was"
            )
    return None


def _keyword_advice(error: BaseException, func: Callable[..., Any], ex: Exercise) -> str:
    """Advice when a call failed because the student renamed or dropped a parameter."""
    text = str(error)
    if not isinstance(error, TypeError) or not any(
        s in text
        for s in (
            "unexpected keyword argument",
            "required positional argument",
            "positional argument",
            "multiple values for argument",
        )
    ):
        return ""
    try:
        theirs = list(inspect.signature(func).parameters)
    except (TypeError, ValueError):
        theirs = []
    wanted = list(inspect.signature(ex.reference).parameters)
    if theirs == wanted:
        return ""
    return (
        f"\n  Keep the stub's parameter names and order: the checker calls your function "
        f"with these names as keywords. The first line should read\n    {ex.stub()}"
    )


_HINTS_SHOWN: dict[str, int] = {}


def _hint_footer(ex: Exercise) -> str:
    hints = ex.all_hints()
    text = f"\n  Hint: {hints[0]}" if hints else ""
    _HINTS_SHOWN[ex.name] = max(_HINTS_SHOWN.get(ex.name, 0), 1 if hints else 0)
    more = f'show_hint("{ex.name}") gives more, ' if len(hints) > 1 else ""
    return text + f'\n  ({more}show_solution("{ex.name}") shows a solution)'


@dataclass
class _Run:
    number: int
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    expected: Any
    got: Any


def _known_mistake(ex: Exercise, runs: Sequence[_Run]) -> Mistake | None:
    """The declared mistake that explains the whole run: its wrong answer equals the
    student's output on every case run (failing ones and passing ones alike)."""
    for mistake in ex.mistakes:
        matches = True
        for run in runs:
            try:
                with np.errstate(all="ignore"):
                    wrong = mistake.answer(*_copy(run.args), **_copy(run.kwargs))
            except Exception:  # noqa: BLE001 – a mistake that cannot be computed here does not match
                matches = False
                break
            if not _same(wrong, run.got, ex.rtol, ex.atol):
                matches = False
                break
        if matches:
            return mistake
    return None


def _same(a: Any, b: Any, rtol: float, atol: float) -> bool:
    if isinstance(a, tuple):
        return (
            isinstance(b, (tuple, list))
            and len(a) == len(b)
            and all(_same(x, y, rtol, atol) for x, y in zip(a, b, strict=True))
        )
    if isinstance(b, tuple):
        return False
    if not np.issubdtype(np.asarray(a).dtype, np.number):
        return np.asarray(a).ravel().tolist() == np.asarray(b, dtype=object).ravel().tolist()
    return _close(a, b, rtol, atol)


def _diagnose(
    ex: Exercise, runs: Sequence[_Run], failing: Sequence[_Run], report: _Run
) -> tuple[str, str, str]:
    """(problem sentence, diagnosis sentence, mistake key) for the reported failing case."""
    rtol, atol = ex.rtol, ex.atol
    expected, got = report.expected, report.got
    mistake = _known_mistake(ex, runs)
    if mistake is not None:
        where = _first_difference(expected, got, rtol, atol) or compare(expected, got, rtol, atol)
        form = _form_only(ex, expected, got)
        return form or where or "the result is wrong", mistake.message, mistake.name
    order = _tuple_order_problem(expected, got, rtol, atol)
    if order:
        return order, "", ""
    problem = compare(expected, got, rtol, atol, dtype=ex.dtype, integer=ex.integer)
    if problem is None:
        problem = "the result is wrong"
    # a scalar (or a value of a tuple) off by one factor in every case run
    if " is wrong" in problem and _is_plain_value(problem):
        factor = _factor_over_cases(runs, atol)
        if factor is not None:
            return (
                problem,
                _factor_sentence(factor, "your answer").replace(
                    "your answer is", "in every case your answer is"
                ),
                "",
            )
    return problem, "", ""


def _form_only(ex: Exercise, expected: Any, got: Any) -> str | None:
    """A dtype problem stays the headline even when a known mistake is named."""
    if ex.dtype is not None and not isinstance(expected, tuple):
        return _dtype_problem(got, ex.dtype, "the result")
    return None


def _is_plain_value(problem: str) -> bool:
    return "expected" in problem and not any(
        w in problem for w in ("factor", "shape", "close, but")
    )


def _factor_over_cases(runs: Sequence[_Run], atol: float) -> float | None:
    pairs = []
    for run in runs:
        e, g = run.expected, run.got
        if isinstance(e, tuple):
            if not isinstance(g, (tuple, list)) or len(g) != len(e):
                return None
            pairs.extend(zip(e, g, strict=True))
        else:
            pairs.append((e, g))
    try:
        return _constant_factor(pairs, atol)
    except (TypeError, ValueError):
        return None


def check(
    name: str, func: Callable[..., Any], verbose: bool = True, time_limit: float | None = None
) -> CheckResult:
    """Run the student's ``func`` on exercise ``name``'s hidden cases and say what is wrong.

    Parameters
    ----------
    name
        The exercise's name.
    func
        The student's function, called with the same arguments as the reference.
    verbose
        Print the verdict (the result is returned either way).
    time_limit
        Seconds each case may take (default: the exercise's, else :data:`TIME_LIMIT`).

    Returns
    -------
    CheckResult
        True when every hidden case passed; ``message`` is what was printed.
    """
    ex = get_exercise(name)
    result = _check(ex, func, time_limit if time_limit is not None else ex.time_limit or TIME_LIMIT)
    result.is_reference = func is ex.reference
    if verbose:
        print(result.message)
    return result


def _check(ex: Exercise, func: Callable[..., Any], limit: float) -> CheckResult:
    name = ex.name
    if not callable(func):
        return CheckResult(
            name,
            False,
            f"❌ {name}: pass your function itself, e.g. "
            f"check({name!r}, {name}), got {type(func).__name__}",
        )
    total = len(ex.hidden_cases())
    runs, failing, stopped = _run_cases(ex, func, limit)
    if stopped is not None:
        return stopped
    if not failing:
        return CheckResult(name, True, f"✅ {name}: correct on all {total} hidden cases.", total)
    return _failure_result(ex, runs, failing, total)


def _run_cases(
    ex: Exercise, func: Callable[..., Any], limit: float
) -> tuple[list[_Run], list[_Run], CheckResult | None]:
    """Run every case (each with the time limit); after the first failure keep going for a
    while, so that a mistake or a factor can be confirmed on several cases.

    Returns the runs, the failing ones, and the result when a case crashed, ran too long
    or changed its input before anything failed.
    """
    cases = ex.hidden_cases()
    runs: list[_Run] = []
    failing: list[_Run] = []
    budget = time.monotonic() + 2 * limit  # after a failure: time to look at more cases
    for number, (args, kwargs) in enumerate(cases, start=1):
        if failing and time.monotonic() > budget:
            break
        expected = ex.reference(*_copy(args), **_copy(kwargs))
        given = (_copy(args), _copy(kwargs))
        outcome = call_with_time_limit(func, given[0], given[1], limit)
        if outcome.timed_out or outcome.error is not None:
            if failing:
                break
            if outcome.timed_out:
                return (
                    runs,
                    failing,
                    _timeout_result(ex, number, len(cases), args, kwargs, limit, outcome.stopped),
                )
            return (
                runs,
                failing,
                _error_result(ex, func, outcome.error, number, len(cases), args, kwargs),
            )
        run = _Run(number, args, kwargs, expected, outcome.value)
        runs.append(run)
        changed = _changed_input((args, kwargs), given, ex.reference) if ex.keep_inputs else None
        if changed and not failing:
            message = (
                f"❌ {ex.name}: {changed}\n  on case {number} of {len(cases)} with\n"
                f"{_describe_inputs(args, kwargs, ex.reference)}{_hint_footer(ex)}"
            )
            return (
                runs,
                failing,
                CheckResult(
                    ex.name,
                    False,
                    message,
                    number,
                    diagnosis=changed,
                    mistake="changed input",
                    case=number,
                ),
            )
        if compare(expected, outcome.value, ex.rtol, ex.atol, dtype=ex.dtype, integer=ex.integer):
            failing.append(run)
    return runs, failing, None


def _failure_result(
    ex: Exercise, runs: Sequence[_Run], failing: Sequence[_Run], total: int
) -> CheckResult:
    """The message for a wrong answer: what, where, expected vs got, the mistake, the inputs."""
    report = (
        failing[0]
        if _size((failing[0].args, failing[0].kwargs)) <= 40
        else min(failing, key=lambda r: (_size((r.args, r.kwargs)), r.number))
    )  # small enough to redo by hand
    problem, diagnosis, key = _diagnose(ex, runs, failing, report)
    lines = [f"❌ {ex.name}: {problem}"]
    if diagnosis:
        lines.append(f"  {diagnosis}")
    lines.append(
        f"  on case {report.number} of {total} with\n"
        f"{_describe_inputs(report.args, report.kwargs, ex.reference)}"
    )
    small = _small_answer(report.expected, report.got)
    if small:
        lines.append(small)
    message = "\n".join(lines) + _hint_footer(ex)
    return CheckResult(
        ex.name,
        False,
        message,
        report.number,
        diagnosis=diagnosis or problem,
        mistake=key,
        case=report.number,
    )


def _small_answer(expected: Any, got: Any) -> str:
    """Both answers in full when they are small enough to compare by eye."""

    def small(v: Any) -> bool:
        return isinstance(v, np.ndarray) and 1 < v.size <= 25 and v.ndim <= 2

    if small(expected) and isinstance(got, np.ndarray) and got.size <= 25:
        indent = "\n" + " " * 14
        digits = 8 if _close(expected, got, 1e-3, 1e-6) else 4  # show where close ones differ
        return (
            f"  expected:   {_short(expected, digits).replace(chr(10), indent)}\n"
            f"  yours:      {_short(got, digits).replace(chr(10), indent)}"
        )
    return ""


def _timeout_result(
    ex: Exercise,
    number: int,
    total: int,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    limit: float,
    stopped: bool,
) -> CheckResult:
    name = ex.name
    after = (
        "and was stopped"
        if stopped
        else (
            "and could not be stopped (it is inside one long library call, "
            "or a bare `except:` catches everything); it goes on in the background – "
            "restart the kernel if it slows down"
        )
    )
    diagnosis = (
        f"case {number} of {total} ran longer than {limit:g} s {after} – a loop that may "
        f"never end? Check that every `while` condition can become false and that each "
        f"pass makes progress."
    )
    message = (
        f"⏱ {name}: {diagnosis}\n  on case {number} with\n"
        f"{_describe_inputs(args, kwargs, ex.reference)}{_hint_footer(ex)}"
    )
    return CheckResult(
        name,
        False,
        message,
        number,
        diagnosis=diagnosis,
        mistake="time limit",
        timed_out=True,
        case=number,
    )


def _error_result(
    ex: Exercise,
    func: Callable[..., Any],
    error: BaseException,
    number: int,
    total: int,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> CheckResult:
    name = ex.name
    if isinstance(error, NotImplementedError):
        message = (
            f"⏳ {name}: not done yet – replace the `raise NotImplementedError` with your code."
        )
        return CheckResult(name, False, message, number, case=number)
    if isinstance(error, KeyboardInterrupt):
        raise error
    message = (
        f"❌ {name}: your function raised {type(error).__name__}: {error}\n"
        f"  on case {number} of {total} with\n{_describe_inputs(args, kwargs, ex.reference)}"
        f"{_keyword_advice(error, func, ex)}{_hint_footer(ex)}"
    )
    return CheckResult(
        name, False, message, number, diagnosis=f"raised {type(error).__name__}", case=number
    )


# -- hints and solutions ---------------------------------------------------------------------------
def hint_text(name: str, level: int) -> str:
    """Hint number ``level`` (1 = the vaguest) of exercise ``name``, with its position."""
    hints = get_exercise(name).all_hints()
    if not hints:
        return f'{name}: no hints – show_solution("{name}") shows a solution.'
    level = min(max(level, 1), len(hints))
    text = f"Hint {level} of {len(hints)} for {name}: {hints[level - 1]}"
    if level == len(hints):
        text += f'\n(That was the last hint; show_solution("{name}") shows a solution.)'
    return text


def show_hint(name: str, level: int | None = None) -> None:
    """Print the next hint of exercise ``name`` – each call a more explicit one.

    The first failing ``check`` already printed hint 1; ``level`` picks a hint directly.
    """
    get_exercise(name)
    if level is None:
        level = _HINTS_SHOWN.get(name, 0) + 1
    _HINTS_SHOWN[name] = max(_HINTS_SHOWN.get(name, 0), level)
    print(hint_text(name, level))


def solution_source(name: str) -> str:
    """The reference solution's source code, without its ``@exercise`` decorator."""
    source = textwrap.dedent(inspect.getsource(get_exercise(name).reference))
    lines = source.splitlines()
    start = next(i for i, line in enumerate(lines) if line.lstrip().startswith("def "))
    return "\n".join(lines[start:])


def show_solution(name: str) -> None:
    """Print the reference solution of exercise ``name``."""
    print(solution_source(name))


def list_exercises(prefix: str = "") -> list[str]:
    """Names of all registered exercises (optionally only those starting with ``prefix``)."""
    load_all_exercises()
    return sorted(n for n in REGISTRY if n.startswith(prefix))


__all__: Iterable[str] = [
    "TIME_LIMIT",
    "CheckResult",
    "CheckTimeLimit",
    "Exercise",
    "Mistake",
    "call_with_time_limit",
    "check",
    "compare",
    "exercise",
    "hint_text",
    "list_exercises",
    "load_all_exercises",
    "show_hint",
    "show_solution",
    "solution_source",
]
