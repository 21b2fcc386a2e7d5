"""Every core on one batch: a layer's big passes cut into pieces that run on threads.

OpenBLAS spreads a matrix product over its threads, but the rest of a layer – im2col's
copies, ReLU, the pooling comparisons, col2im's additions – is numpy, one core, and
OpenBLAS's idle threads spin while they wait for the next product. Measured on a 2-core
machine with two OpenBLAS threads: a LeNet training step at batch 64 took 3 % less wall
time than with one thread and 85 % more CPU time; at batch 256, 26 % less wall time and
43 % more CPU time. So edu_cnn does it the other way round:

* **OpenBLAS runs on one thread.** The first time a layer multiplies matrices, edu_cnn
  reads how many threads OpenBLAS was set to use (``OPENBLAS_NUM_THREADS``, by default
  one per core), keeps that number as its own thread count, and sets OpenBLAS to one
  thread for the whole process – and back to one whenever a layer finds it changed.
  Your own numpy products run on one thread too from then on.
* **A layer cuts each big pass into pieces** – groups of column blocks of a product,
  groups of kernel offsets of im2col, groups of channels of col2im and of the pooling
  passes, groups of rows of ReLU – and runs them at the same time on that many Python
  threads. That works because numpy and OpenBLAS release Python's lock (the GIL) while
  they compute – not for every call: ``np.matmul`` keeps it for a product with a small
  result, so such products are not cut (dW in ``conv.py``). Same machine, a training
  step at batch 256: 20 % less wall time than on one thread, for 5 % more CPU time.

**The same numbers for any number of threads.** A piece computes exactly what the
one-thread loop computes – the same column blocks, the same products, the same
element-wise operations – and no sum is cut into pieces. OpenBLAS itself does not promise
this: on more than one thread it gives other bits for some product shapes (LeNet's linear
layers among them), one more reason to keep it on one. So on a given machine the results
are bit for bit the same whatever the thread count (tested with 1, 2 and 3 threads): the
notebooks' stored numbers, computed by CI on one thread, come out on a laptop's four
threads too – if its CPU and OpenBLAS sum in the same order as CI's.

**Setting the count.** ``set_num_threads(1)`` (or ``OPENBLAS_NUM_THREADS=1`` before Python
starts) makes every layer run on one thread; ``get_num_threads()`` tells the count. This
works with numpy's own OpenBLAS (pthreads build, found through ``threadpoolctl``); with
another BLAS (MKL, Apple's Accelerate) edu_cnn leaves the BLAS alone and runs on one
thread. A pass smaller than ``MIN_ELEMENTS`` is not cut.
"""

from __future__ import annotations

import ctypes
import os
import threading
from collections.abc import Callable, Sequence
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
_local = threading.local()  # .inside: this thread is running a piece (no nested cuts)
_openblas: list[tuple[Any, Any]] | None = None  # (get, set) of each OpenBLAS found
_num_threads = 1  # edu_cnn's thread count, read from OpenBLAS at first use
_workers: list[_Worker] = []


def _find_openblas() -> list[tuple[Any, Any]]:
    """The C functions ``openblas_get_num_threads`` / ``openblas_set_num_threads`` of every
    OpenBLAS (pthreads build) loaded – numpy's among them – found by threadpoolctl.

    They are called directly: a fraction of a microsecond, and process-wide from any
    Python thread (threadpoolctl's own setter ignores a second thread's setting).
    """
    from threadpoolctl import ThreadpoolController

    found = []
    for lib in ThreadpoolController().select(internal_api="openblas").lib_controllers:
        if lib.threading_layer != "pthreads":  # an OpenMP build keeps a setting per thread
            continue
        dll = ctypes.CDLL(lib.filepath)
        for prefix, suffix in product(("", "scipy_"), ("", "64_", "_64")):
            name = f"{prefix}openblas_get_num_threads{suffix}"
            if hasattr(dll, name):
                found.append((getattr(dll, name), getattr(dll, name.replace("get", "set"))))
                break
    return found


def one_blas_thread() -> None:
    """OpenBLAS on one thread – called by every layer before it multiplies matrices.

    The first call remembers OpenBLAS's setting as edu_cnn's thread count.
    """
    global _openblas, _num_threads
    if _openblas is None:
        with _lock:
            if _openblas is None:
                found = _find_openblas()
                counts = [get() for get, _ in found]
                _num_threads = max([n for n in counts if isinstance(n, int) and n > 0] or [1])
                _openblas = found
    for get, set_ in _openblas:
        if get() != 1:
            set_(1)


def get_num_threads() -> int:
    """How many threads edu_cnn's layers cut their big passes into."""
    one_blas_thread()
    return _num_threads if _openblas else 1


def set_num_threads(n: int) -> None:
    """Cut big passes into ``n`` pieces from now on (1: everything on the calling thread).

    Without numpy's OpenBLAS (pthreads build) edu_cnn always runs on one thread, since it
    could not keep another BLAS from adding threads of its own.
    """
    global _num_threads
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"threads.set_num_threads: expected an int ≥ 1, got {n!r}")
    one_blas_thread()
    _num_threads = n


def pieces(n_items: int, elements: int) -> list[slice]:
    """Cut ``range(n_items)`` into at most ``get_num_threads()`` contiguous, nearly equal
    slices – or one slice, the whole range, for a pass of fewer than ``MIN_ELEMENTS``
    elements or inside a piece.
    """
    if elements < MIN_ELEMENTS or n_items <= 1 or getattr(_local, "inside", False):
        return [slice(0, n_items)]
    n = min(get_num_threads(), n_items)
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
        _local.inside = True  # a piece is never cut again
        while True:
            fn, part, answer = self.tasks.get()
            try:
                answer.put((True, fn(part)))
            except BaseException as error:  # handed to the caller, raised there
                answer.put((False, error))
            del fn, part, answer  # let the piece's arrays go before the next task comes


def _helpers(n: int) -> list[_Worker]:
    with _lock:
        while len(_workers) < n:
            _workers.append(_Worker())
        return _workers[:n]


def _forget_workers_after_fork() -> None:
    """A forked child has none of the parent's threads: it starts its own when needed."""
    global _lock
    _lock = threading.Lock()
    _workers.clear()


if hasattr(os, "register_at_fork"):  # not on Windows, which does not fork
    os.register_at_fork(after_in_child=_forget_workers_after_fork)


def _wait(answer: SimpleQueue) -> tuple[bool, Any]:
    """The answer of one piece – waiting for it even through Ctrl-C (which is raised once
    every piece is in: no piece may still write into arrays the caller uses next).
    """
    interrupted: BaseException | None = None
    while True:
        try:
            result = answer.get()
            break
        except BaseException as error:  # KeyboardInterrupt while waiting
            interrupted = error
    if interrupted is not None:
        return False, interrupted
    return result


def run(fn: Callable[[slice], T], parts: Sequence[slice]) -> list[T]:
    """``[fn(part) for part in parts]``, the parts at the same time on threads.

    The calling thread computes the first part itself. When this returns or raises, every
    part has finished; the error raised is the first part's if it failed, else that of
    the lowest-numbered part that failed.
    """
    if len(parts) == 1 or getattr(_local, "inside", False):
        return [fn(part) for part in parts]
    answers: list[SimpleQueue] = []
    for helper, part in zip(_helpers(len(parts) - 1), parts[1:], strict=True):
        answers.append(SimpleQueue())
        helper.tasks.put((fn, part, answers[-1]))
    _local.inside = True
    try:
        first = fn(parts[0])
    finally:
        _local.inside = False
        results = [_wait(answer) for answer in answers]
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
