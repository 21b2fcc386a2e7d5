"""Every core on one batch: a layer's big passes cut into pieces that run on threads.

OpenBLAS spreads a matrix product over its threads, but the rest of a layer – im2col's
copies, ReLU, the pooling comparisons, col2im's additions – is numpy, one core, and
OpenBLAS's idle threads spin while they wait for the next product. Measured on a 2-core
machine with two OpenBLAS threads: a LeNet training step at batch 64 took 3 % less wall
time than with one thread and 85 % more CPU time; at batch 256, 26 % less wall time and
43 % more CPU time. So here OpenBLAS runs on one thread inside edu_cnn's layers, and a
layer cuts each *big* pass into independent pieces instead – groups of column blocks of
a product, groups of kernel offsets of im2col, groups of channels of col2im and of the
pooling passes, groups of rows of ReLU – and runs them at the same time on a small pool
of Python threads. That works because numpy and OpenBLAS release Python's lock (the GIL)
while they compute. Same machine, batch 256: 20 % less wall time than one thread for
training, 18 % for inference, and 5 % and 26 % more CPU time.

**The same numbers for any number of threads.** A piece is computed exactly as the
one-thread loop computes it – the same column blocks, the same products, the same
element-wise operations – and a sum over pieces is never split: dW, a sum over column
blocks, is added up block after block as with one thread. OpenBLAS itself does not
promise this: it gives other bits on two threads than on one for some product shapes
(LeNet's linear layers among them), which is one more reason why every product of
edu_cnn's layers runs on one OpenBLAS thread. So results are bit for bit the same with
1, 2 or 16 threads (tested) – a student's laptop computes the numbers stored in the
notebooks, which CI computed on one thread.

**How many threads.** As many as OpenBLAS is set to use, read through ``threadpoolctl``
(the library scikit-learn uses for the same question): ``OPENBLAS_NUM_THREADS=1`` before
Python starts, or ``with threadpoolctl.threadpool_limits(1):`` in a running kernel, makes
every layer run on one thread. A pass smaller than ``MIN_ELEMENTS`` is not split.
"""

from __future__ import annotations

import ctypes
import os
import threading
from collections.abc import Callable, Sequence
from contextlib import ContextDecorator
from itertools import product
from queue import SimpleQueue
from typing import Any, TypeVar

T = TypeVar("T")

# Below this many array elements (8 MB of float32) a pass runs in one piece. Measured on a
# 2-core machine: a hand-off to another thread and back costs 30–50 µs, and two pieces
# slow each other down (they share the caches and the memory bus). With 2¹⁸–2²⁰ LeNet's
# passes at batch 64 were cut too: 10–35 % more CPU time for no gain in wall time.
MIN_ELEMENTS = 1 << 21

_lock = threading.Lock()
_local = threading.local()  # .inside: this thread is running a piece (no nested splits)
_state: dict[str, Any] = {"blas": None, "pool": [], "depth": 0, "saved": [], "workers": 1}


class _Blas:
    """Get and set the thread count of one loaded BLAS library.

    threadpoolctl finds the libraries; for OpenBLAS (numpy's wheels) its two C functions
    are called directly – a fraction of a microsecond, against several through
    threadpoolctl, which also ignores a setting made from a second Python thread while
    another thread that set one is alive (a server answering in several threads).
    """

    def __init__(self, controller: Any) -> None:
        self.get, self.set = controller.get_num_threads, controller.set_num_threads
        if controller.internal_api == "openblas" and controller.threading_layer == "pthreads":
            dll = ctypes.CDLL(controller.filepath)
            for prefix, suffix in product(("", "scipy_"), ("", "64_", "_64")):
                name = f"{prefix}openblas_get_num_threads{suffix}"
                if hasattr(dll, name):
                    self.get = getattr(dll, name)
                    self.set = getattr(dll, f"{prefix}openblas_set_num_threads{suffix}")
                    break


def _forget_after_fork() -> None:
    """A forked child has none of the parent's threads: start afresh."""
    global _lock
    _lock = threading.Lock()
    _state.update(pool=[], depth=0)


if hasattr(os, "register_at_fork"):  # not on Windows, which does not fork
    os.register_at_fork(after_in_child=_forget_after_fork)


def _blas() -> list[_Blas]:
    """The BLAS libraries loaded (numpy's OpenBLAS), found once by threadpoolctl."""
    if _state["blas"] is None:
        from threadpoolctl import ThreadpoolController

        controllers = ThreadpoolController().select(user_api="blas").lib_controllers
        _state["blas"] = [_Blas(controller) for controller in controllers]
    return _state["blas"]


def workers() -> int:
    """How many threads a big pass is cut into: OpenBLAS's thread setting (1 inside a piece)."""
    if getattr(_local, "inside", False):
        return 1
    if _state["depth"]:
        return _state["workers"]
    return max([lib.get() for lib in _blas()] or [1])


class _OneBlasThread(ContextDecorator):
    """The context manager behind :func:`one_blas_thread`, also usable as a decorator (a
    class: it is entered ~20 times per forward pass, and a generator-based one costs
    microseconds each time).
    """

    def __enter__(self) -> None:
        with _lock:
            if _state["depth"] == 0:
                libs = _blas()
                _state["saved"] = [lib.get() for lib in libs]
                _state["workers"] = max(_state["saved"] or [1])
                for lib, n in zip(libs, _state["saved"], strict=True):
                    if n != 1:
                        lib.set(1)
            _state["depth"] += 1

    def __exit__(self, *exc: object) -> None:
        with _lock:
            _state["depth"] -= 1
            if _state["depth"] == 0:
                for lib, n in zip(_blas(), _state["saved"], strict=True):
                    if n != 1:
                        lib.set(n)


_ONE_BLAS_THREAD = _OneBlasThread()


def one_blas_thread() -> _OneBlasThread:
    """OpenBLAS on one thread while the ``with`` block runs (re-entrant, from any thread;
    the setting comes back when the outermost block ends).

    ``Sequential`` holds this over a whole forward or backward pass, so that the small
    products between the split passes (LeNet's linear layers) do not wake OpenBLAS's
    threads either: woken, they spin for a while and take a core from the next piece.
    Meanwhile *every* OpenBLAS call of the process runs on one thread.
    """
    return _ONE_BLAS_THREAD


def pieces(n_items: int, elements: int) -> list[slice]:
    """Cut ``range(n_items)`` into at most ``workers()`` contiguous, nearly equal slices.

    ``elements`` is the size of the whole pass; below ``MIN_ELEMENTS`` the answer is one
    slice, the whole range.
    """
    if elements < MIN_ELEMENTS or n_items <= 1:
        return [slice(0, n_items)]
    n = min(workers(), n_items)
    bounds = [i * n_items // n for i in range(n + 1)]
    return [slice(bounds[i], bounds[i + 1]) for i in range(n)]


class _Worker:
    """A thread that runs the pieces handed to it, one at a time.

    Lighter than ``concurrent.futures``: a hand-off is one ``put`` and one ``get`` of a
    ``SimpleQueue`` (both in C, and both release the GIL while they wait). Each piece
    comes with the queue its answer goes to, so two callers sharing a worker (two models
    in two threads) each get their own answers.
    """

    def __init__(self) -> None:
        self.tasks: SimpleQueue = SimpleQueue()
        threading.Thread(target=self._loop, name="edu_cnn piece", daemon=True).start()

    def _loop(self) -> None:
        _local.inside = True  # a piece never splits again
        while True:
            fn, part, answer = self.tasks.get()
            try:
                answer.put((True, fn(part)))
            except BaseException as error:  # handed to the caller, raised there
                answer.put((False, error))


def _helpers(n: int) -> list[_Worker]:
    with _lock:
        pool = _state["pool"]
        while len(pool) < n:
            pool.append(_Worker())
        return pool[:n]


def run(fn: Callable[[slice], T], parts: Sequence[slice]) -> list[T]:
    """``[fn(part) for part in parts]``, the parts at the same time on threads.

    The calling thread computes the first part itself. Every part has finished when this
    returns; an error raised by a part is raised here (the first part's first).
    """
    with _ONE_BLAS_THREAD:  # also for one part: a product's bits must not depend on it
        if len(parts) == 1:
            return [fn(parts[0])]
        answers: list[SimpleQueue] = []
        for helper, part in zip(_helpers(len(parts) - 1), parts[1:], strict=True):
            answers.append(SimpleQueue())
            helper.tasks.put((fn, part, answers[-1]))
        _local.inside = True
        try:
            first = fn(parts[0])
        finally:
            _local.inside = False
            results = [answer.get() for answer in answers]  # wait for every part
        for ok, value in results:
            if not ok:
                raise value
        return [first, *(value for _, value in results)]


def split_axis(a: Any, axes: Sequence[int]) -> int:
    """Of ``axes``, the one that is outermost in ``a``'s memory: slices along it are whole
    contiguous runs (the channel axis of a batch-last array, the batch axis of a C-ordered one).
    """
    return max(axes, key=lambda axis: abs(a.strides[axis]) if a.shape[axis] > 1 else -1)


def along(axis: int, part: slice) -> tuple[slice, ...]:
    """The index ``a[along(axis, part)]`` that takes ``part`` of axis ``axis``."""
    return (slice(None),) * axis + (part,)
