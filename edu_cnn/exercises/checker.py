"""Exercises with immediate feedback.

A chapter registers an exercise by decorating its reference solution::

    @exercise("mse_gradient", cases=lambda rng: [...], hint="…")
    def mse_gradient(X, y, w, b): ...

A student writes their own ``mse_gradient`` in the notebook and calls
``check("mse_gradient", mse_gradient)``: it runs both on the hidden cases and prints
either a clear success or exactly what is wrong – the shape, the sign, a constant factor,
the first wrong value and where – never a bare assertion. ``show_solution("mse_gradient")``
prints the reference.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import textwrap
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

Case = tuple[tuple[Any, ...], dict[str, Any]]


@dataclass
class Exercise:
    """One exercise: a reference solution and the hidden cases it is checked on."""

    name: str
    reference: Callable[..., Any]
    cases: Callable[[np.random.Generator], Sequence[Any]]
    hint: str = ""
    rtol: float = 1e-5
    atol: float = 1e-7
    seed: int = 1234

    def hidden_cases(self) -> list[Case]:
        """The cases as (args, kwargs); a case may be given as a tuple of args or a dict."""
        normalised: list[Case] = []
        for case in self.cases(np.random.default_rng(self.seed)):
            if isinstance(case, dict):
                normalised.append(((), dict(case)))
            elif isinstance(case, tuple) and len(case) == 2 and isinstance(case[1], dict) \
                    and isinstance(case[0], tuple):
                normalised.append((case[0], case[1]))
            elif isinstance(case, tuple):
                normalised.append((case, {}))
            else:
                normalised.append(((case,), {}))
        return normalised


REGISTRY: dict[str, Exercise] = {}


def exercise(
    name: str,
    cases: Callable[[np.random.Generator], Sequence[Any]],
    hint: str = "",
    rtol: float = 1e-5,
    atol: float = 1e-7,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register the decorated function as the reference solution of exercise ``name``."""

    def register(reference: Callable[..., Any]) -> Callable[..., Any]:
        if name in REGISTRY and REGISTRY[name].reference.__module__ != reference.__module__:
            raise ValueError(f"exercise: the name {name!r} is already used by "
                             f"{REGISTRY[name].reference.__module__}")
        REGISTRY[name] = Exercise(name, reference, cases, hint, rtol, atol)
        return reference

    return register


def _load_all() -> None:
    """Import every chapter module of this package, which registers its exercises."""
    package = importlib.import_module(__package__)
    for info in pkgutil.iter_modules(package.__path__):
        if info.name != "checker":
            importlib.import_module(f"{__package__}.{info.name}")


def get_exercise(name: str) -> Exercise:
    if name not in REGISTRY:
        _load_all()
    if name not in REGISTRY:
        known = ", ".join(sorted(REGISTRY))
        raise ValueError(f"check: no exercise called {name!r}; the exercises are: {known}")
    return REGISTRY[name]


# -- comparing an answer with the reference --------------------------------------------------
def _short(value: Any) -> str:
    text = np.array2string(np.asarray(value), precision=4, suppress_small=True, threshold=20) \
        if isinstance(value, np.ndarray) else repr(value)
    return text if len(text) < 300 else text[:297] + "…"


def compare(expected: Any, got: Any, rtol: float = 1e-5, atol: float = 1e-7, what: str = "the result") -> str | None:
    """``None`` when ``got`` matches ``expected``, else one sentence saying what is wrong."""
    if isinstance(expected, tuple):
        if not isinstance(got, (tuple, list)) or len(got) != len(expected):
            n = len(got) if isinstance(got, (tuple, list)) else "a single value"
            return f"{what} should be a tuple of {len(expected)} values, got {n}"
        for i, (e, g) in enumerate(zip(expected, got)):
            problem = compare(e, g, rtol, atol, f"value {i + 1} of {what}")
            if problem:
                return problem
        return None
    if got is None:
        return f"{what} is None – did you forget to `return` it?"
    if isinstance(expected, (bool, np.bool_)):
        return None if bool(got) == bool(expected) and isinstance(got, (bool, np.bool_, int, np.integer)) \
            else f"{what} should be {expected}, got {_short(got)}"
    e = np.asarray(expected)
    try:
        g = np.asarray(got, dtype=np.float64 if np.issubdtype(e.dtype, np.number) else None)
    except (TypeError, ValueError):
        return f"{what} should be numbers, got {type(got).__name__}: {_short(got)}"
    if e.shape != g.shape:
        if e.ndim == 2 and g.shape == e.shape[::-1]:
            return f"{what} has shape {g.shape} but should have shape {e.shape} – transposed?"
        if e.size == g.size:
            return f"{what} has shape {g.shape} but should have shape {e.shape} (same number of values: a reshape or axis mix-up?)"
        return f"{what} has shape {g.shape} but should have shape {e.shape}"
    if not np.issubdtype(e.dtype, np.number):
        if np.array_equal(e, g):
            return None
        return f"{what} should be {_short(expected)}, got {_short(got)}"
    if np.isnan(g).any() and not np.isnan(e).any():
        where = tuple(int(i) for i in np.argwhere(np.isnan(g))[0])
        return f"{what} contains NaN (first at index {where}) – a 0/0, ∞ − ∞ or a log of a negative number?"
    if np.isinf(g).any() and not np.isinf(e).any():
        where = tuple(int(i) for i in np.argwhere(np.isinf(g))[0])
        return f"{what} contains ±inf (first at index {where}) – a division by zero, log(0) or exp overflow?"
    if np.allclose(g, e, rtol=rtol, atol=atol):
        return None
    if np.any(e != 0) and np.allclose(g, -e, rtol=rtol, atol=atol):
        return f"{what} has the right size but the opposite sign everywhere – check the sign"
    nonzero = np.abs(e) > 1e-12
    if nonzero.any():
        ratios = g[nonzero] / e[nonzero]
        if np.allclose(ratios, ratios.flat[0], rtol=1e-4) and np.allclose(g[~nonzero], 0, atol=atol) \
                and not np.isclose(ratios.flat[0], 1.0):
            return (f"{what} is off by a constant factor: yours = {ratios.flat[0]:.4g} × expected "
                    f"– a missing or extra 1/N, 2 or learning rate?")
    wrong = ~np.isclose(g, e, rtol=rtol, atol=atol)
    index = tuple(int(i) for i in np.argwhere(wrong)[0]) if e.ndim else ()
    at = f" at index {index}" if index else ""
    count = f" ({int(wrong.sum())} of {wrong.size} values differ)" if e.ndim else ""
    return f"{what} is wrong{at}: expected {float(e[index]):.6g}, got {float(g[index]):.6g}{count}"


@dataclass
class CheckResult:
    """What ``check`` found; true when every hidden case passed."""

    name: str
    passed: bool
    message: str
    cases_run: int = 0
    details: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return self.passed

    def __repr__(self) -> str:
        return self.message

    def _ipython_display_(self) -> None:  # already printed by check(); show nothing more
        pass


def _describe_inputs(args: tuple[Any, ...], kwargs: dict[str, Any], reference: Callable[..., Any]) -> str:
    try:
        bound = inspect.signature(reference).bind(*args, **kwargs)
        items = bound.arguments.items()
    except TypeError:
        items = [(f"arg{i}", a) for i, a in enumerate(args)] + list(kwargs.items())
    lines = [f"    {k} = {_short(v)}".replace("\n", "\n      ") for k, v in items]
    return "\n".join(lines)


def check(name: str, func: Callable[..., Any], verbose: bool = True) -> CheckResult:
    """Run the student's ``func`` on exercise ``name``'s hidden cases and say what is wrong.

    Prints the verdict (unless ``verbose=False``) and returns a :class:`CheckResult`.
    """
    ex = get_exercise(name)
    if not callable(func):
        result = CheckResult(name, False, f"❌ {name}: pass your function itself, e.g. "
                                          f"check({name!r}, {name}), got {type(func).__name__}")
        if verbose:
            print(result.message)
        return result
    cases = ex.hidden_cases()
    for number, (args, kwargs) in enumerate(cases, start=1):
        expected = ex.reference(*_copy(args), **_copy(kwargs))
        try:
            got = func(*_copy(args), **_copy(kwargs))
        except NotImplementedError:
            message = f"⏳ {name}: not done yet – replace the `raise NotImplementedError` with your code."
            result = CheckResult(name, False, message, number)
            break
        except Exception as error:  # noqa: BLE001 – whatever the student's code raised, say it and where
            message = (f"❌ {name}: your function raised {type(error).__name__}: {error}\n"
                       f"  on case {number} with\n{_describe_inputs(args, kwargs, ex.reference)}")
            result = CheckResult(name, False, message, number)
            break
        problem = compare(expected, got, ex.rtol, ex.atol)
        if problem:
            hint = f"\n  Hint: {ex.hint}" if ex.hint else ""
            message = (f"❌ {name}: {problem}\n  on case {number} of {len(cases)} with\n"
                       f"{_describe_inputs(args, kwargs, ex.reference)}{hint}")
            result = CheckResult(name, False, message, number)
            break
    else:
        result = CheckResult(name, True, f"✅ {name}: correct on all {len(cases)} hidden cases.",
                             len(cases))
    if verbose:
        print(result.message)
    return result


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
    _load_all()
    return sorted(n for n in REGISTRY if n.startswith(prefix))


__all__: Iterable[str] = [
    "CheckResult",
    "Exercise",
    "check",
    "compare",
    "exercise",
    "list_exercises",
    "show_solution",
    "solution_source",
]
