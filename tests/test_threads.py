"""edu_cnn.threads: big passes cut into pieces on threads – the same bits for any count.

The LeNet-wide check (the weights after two training steps hash the same with 1, 2 and
3 OpenBLAS threads) is in ``test_lenet_bitwise.py``; here each piece-wise pass is held
bit for bit to the one-thread pass, with the size limit lowered so that small test
arrays are cut too.
"""

from __future__ import annotations

import signal
import sys
import threading
import time

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from edu_cnn import threads
from edu_cnn.activations import ReLU, _relu_fast
from edu_cnn.conv import Conv2d, conv2d_backward, conv2d_forward
from edu_cnn.losses import CrossEntropyLoss
from edu_cnn.models import lenet5
from edu_cnn.pooling import MaxPool2d, max_pool2d_backward, max_pool2d_forward

threads.one_blas_thread()
pytestmark = pytest.mark.skipif(
    not threads._openblas, reason="no OpenBLAS (pthreads build): edu_cnn runs on one thread"
)


def blas_threads() -> int:
    """OpenBLAS's thread setting (numpy's; PyTorch, if the tests loaded it, has its own)."""
    return max(get() for get, _ in threads._openblas)


@pytest.fixture
def cut_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every pass, however small, is cut into pieces."""
    monkeypatch.setattr(threads, "MIN_ELEMENTS", 1)


@pytest.fixture(autouse=True)
def thread_count_restored():
    before = threads.get_num_threads()
    yield
    threads.set_num_threads(before)


# -- the machinery ---------------------------------------------------------------------
def test_the_thread_count_is_set_and_checked() -> None:
    threads.set_num_threads(3)
    assert threads.get_num_threads() == 3
    for wrong in (0, -1, 2.0, True, "2"):
        with pytest.raises(ValueError, match="set_num_threads: expected an int ≥ 1"):
            threads.set_num_threads(wrong)


def test_a_layer_puts_openblas_back_on_one_thread() -> None:
    layer = Conv2d(1, 2, 3)
    with threadpool_limits(2):  # someone else asks OpenBLAS for two threads
        assert blas_threads() == 2
        layer.forward(np.ones((1, 1, 5, 5), np.float32))
        assert blas_threads() == 1
    assert blas_threads() == 1


@pytest.mark.parametrize("n_items", [1, 2, 5, 49])
def test_pieces_cover_the_range_in_order(n_items: int, cut_everything: None) -> None:
    threads.set_num_threads(3)
    parts = threads.pieces(n_items, elements=10**9)
    assert len(parts) == min(3, n_items)
    covered = [i for part in parts for i in range(n_items)[part]]
    assert covered == list(range(n_items))
    sizes = [len(range(n_items)[part]) for part in parts]
    assert max(sizes) - min(sizes) <= 1


def test_a_small_pass_is_one_piece() -> None:
    threads.set_num_threads(2)
    assert threads.pieces(49, elements=threads.MIN_ELEMENTS - 1) == [slice(0, 49)]
    assert len(threads.pieces(49, elements=threads.MIN_ELEMENTS)) == 2
    threads.set_num_threads(1)
    assert threads.pieces(49, elements=10**9) == [slice(0, 49)]


def test_run_returns_the_parts_in_order_from_other_threads() -> None:
    seen: list[str] = []

    def piece(part: slice) -> list[int]:
        seen.append(threading.current_thread().name)
        return list(range(10)[part])

    parts = [slice(0, 3), slice(3, 7), slice(7, 10)]
    assert threads.run(piece, parts) == [[0, 1, 2], [3, 4, 5, 6], [7, 8, 9]]
    assert threading.current_thread().name in seen
    assert sum(name.startswith("edu_cnn") for name in seen) == 2


@pytest.mark.parametrize("failing", [0, 1])
def test_an_error_in_a_part_is_raised_after_every_part_finished(failing: int) -> None:
    finished: list[int] = []

    def piece(part: slice) -> None:
        if part.start == failing:
            raise ValueError(f"part {part.start} failed")
        time.sleep(0.2)
        finished.append(part.start)

    with pytest.raises(ValueError, match=f"part {failing} failed"):
        threads.run(piece, [slice(0, 1), slice(1, 2)])
    assert finished == [1 - failing]
    assert threads.run(lambda part: part.start, [slice(0, 1), slice(1, 2)]) == [0, 1]


@pytest.mark.skipif(sys.platform == "win32", reason="no SIGALRM-style timers on Windows")
def test_ctrl_c_while_waiting_is_raised_once_every_part_finished() -> None:
    finished: list[float] = []

    def piece(part: slice) -> None:
        if part.start == 1:
            time.sleep(0.4)
            finished.append(time.monotonic())

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, 0.1)  # Ctrl-C while run waits for part 1
    try:
        with pytest.raises(KeyboardInterrupt):
            threads.run(piece, [slice(0, 1), slice(1, 2)])
        raised = time.monotonic()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    assert finished and finished[0] <= raised


def test_a_piece_is_not_cut_again() -> None:
    threads.set_num_threads(2)

    def inner(part: slice) -> str:
        return threading.current_thread().name

    def outer(part: slice) -> list[object]:
        # explicit parts and pieces() both stay on this piece's thread
        here = threading.current_thread().name
        explicit = threads.run(inner, [slice(0, 1), slice(1, 2)])
        return [explicit == [here, here], threads.pieces(4, elements=10**9)]

    assert threads.run(outer, [slice(0, 1), slice(1, 2)]) == [[True, [slice(0, 4)]]] * 2


def test_two_callers_sharing_the_workers_get_their_own_answers() -> None:
    results: dict[int, list[list[int]]] = {}

    def caller(k: int) -> None:
        out = []
        for _ in range(50):
            out.append(threads.run(lambda part: [k, part.start], [slice(0, 1), slice(1, 2)]))
        results[k] = out

    callers = [threading.Thread(target=caller, args=(k,)) for k in range(3)]
    for t in callers:
        t.start()
    for t in callers:
        t.join()
    for k in range(3):
        assert results[k] == [[[k, 0], [k, 1]]] * 50


def test_without_openblas_everything_runs_on_one_thread(monkeypatch) -> None:
    monkeypatch.setattr(threads, "_openblas", [])  # MKL, Accelerate, …: left alone
    assert threads.get_num_threads() == 1
    assert threads.pieces(49, elements=10**9) == [slice(0, 49)]
    y = Conv2d(1, 2, 3).forward(np.ones((2, 1, 5, 5), np.float32))
    assert y.shape == (2, 2, 3, 3)


def test_a_forked_child_starts_its_own_workers() -> None:
    import multiprocessing

    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("no fork on this platform")
    threads.set_num_threads(2)
    threads.run(lambda part: None, [slice(0, 1), slice(1, 2)])  # the parent's workers
    with multiprocessing.get_context("fork").Pool(1) as pool:
        assert pool.apply_async(_two_parts).get(timeout=60) == [0, 1]


def _two_parts() -> list[int]:
    return threads.run(lambda part: part.start, [slice(0, 1), slice(1, 2)])


def test_a_lenet_step_cuts_every_kind_of_pass(monkeypatch, cut_everything) -> None:
    """The equality tests below would pass vacuously if nothing were cut: spy on run."""
    cut: set[str] = set()
    real_run = threads.run

    def spy(fn, parts):
        if len(parts) > 1:
            cut.add(fn.__name__)
        return real_run(fn, parts)

    monkeypatch.setattr(threads, "run", spy)
    threads.set_num_threads(3)
    model = lenet5()
    x = np.random.default_rng(0).standard_normal((20, 1, 28, 28), dtype=np.float32)
    loss_fn = CrossEntropyLoss()
    loss_fn(model.forward(x), np.arange(20) % 10)
    model.backward(loss_fn.backward(), input_grad=True)
    assert cut >= {"copy", "multiply", "piece", "pool", "find_maxima", "input_product", "add"}


# -- every piece-wise pass gives the one-thread bits -------------------------------------
def batch_last(a: np.ndarray) -> np.ndarray:
    """``a`` with its memory in (C, H, W, N) order, as Conv2d hands its output on."""
    return np.ascontiguousarray(a.transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2)


def same_bits(a, b) -> bool:
    if isinstance(a, tuple):
        return all(same_bits(x, y) for x, y in zip(a, b, strict=True))
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def one_and_many(fn):
    threads.set_num_threads(1)
    one = fn()
    threads.set_num_threads(3)
    many = fn()
    return one, many


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("c_in", "stride", "padding"), [(1, 1, 2), (3, 2, 1), (6, 1, 0)])
def test_convolution_in_pieces(dtype, c_in, stride, padding, cut_everything) -> None:
    rng = np.random.default_rng(c_in)
    x = rng.standard_normal((9, c_in, 12, 12)).astype(dtype)
    w = rng.standard_normal((5, c_in, 3, 3)).astype(dtype)
    b = rng.standard_normal(5).astype(dtype)
    y = conv2d_forward(x, w, b, stride, padding)
    g = rng.standard_normal(y.shape).astype(dtype)
    one, many = one_and_many(
        lambda: (
            conv2d_forward(x, w, b, stride, padding),
            *conv2d_backward(g, x, w, stride, padding),
        )
    )
    assert same_bits(one, many)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_conv_layer_in_pieces_with_many_column_blocks(dtype, cut_everything) -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal((20, 1, 28, 28)).astype(dtype)  # 15,680 columns: 4 blocks
    g = rng.standard_normal((20, 6, 28, 28)).astype(dtype)

    def step():
        layer = Conv2d(1, 6, 5, padding=2, rng=np.random.default_rng(0))
        y = layer.forward(x)
        dx = layer.backward(g)
        return y.copy(), dx, layer.weight.grad, layer.bias.grad

    one, many = one_and_many(step)
    assert same_bits(one, many)


@pytest.mark.parametrize(("k", "s", "p"), [(2, 2, 0), (3, 2, 1), (3, 1, 0)])
def test_max_pooling_in_pieces(k, s, p, cut_everything) -> None:
    rng = np.random.default_rng(k)
    x = batch_last(np.round(rng.standard_normal((7, 4, 10, 10)), 1).astype(np.float32))
    y = max_pool2d_forward(x, k, s, p)
    g = rng.standard_normal(y.shape).astype(np.float32)
    one, many = one_and_many(
        lambda: (
            max_pool2d_forward(x, k, s, p),
            max_pool2d_backward(g, x, k, s, p),
            max_pool2d_forward(x, k, s, p, return_indices=True)[1],
        )
    )
    assert same_bits(one, many)


def test_relu_then_pool_backward_in_pieces(cut_everything) -> None:
    rng = np.random.default_rng(2)
    z = batch_last(np.round(rng.standard_normal((7, 4, 8, 8)), 1).astype(np.float32))
    g = rng.standard_normal((7, 4, 4, 4)).astype(np.float32)

    def step():
        relu, pool = ReLU(), MaxPool2d(2)
        pool.forward(relu.forward(z))
        return pool.backward_through_relu(g, relu)

    one, many = one_and_many(step)
    assert same_bits(one, many)


SPECIAL = np.array([-0.0, 0.0, np.nan, -np.nan, 1.0, -1.0, np.inf, -np.inf, 1e-45, -1e-45])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "shape", [(3, 5), (5000,), (7, 6, 28, 28), (64, 16, 10, 10), (4099, 1), (1,)]
)
def test_the_fast_relu_is_numpys_maximum_bit_for_bit(shape, dtype) -> None:
    rng = np.random.default_rng(len(shape))
    x = rng.choice(SPECIAL, size=shape).astype(dtype)
    views = [x, x.T, x[..., ::2] if x.ndim > 1 else x[::2]]
    if x.ndim == 4:
        views.append(batch_last(x))
    for view in views:
        expected = np.maximum(view, 0)
        for n in (1, 3):
            threads.set_num_threads(n)
            got = _relu_fast(view)
            assert got.tobytes() == expected.tobytes()
            # the same memory order as numpy's (a length-1 axis's stride does not matter)
            longer = [axis for axis in range(view.ndim) if view.shape[axis] > 1]
            assert [got.strides[a] for a in longer] == [expected.strides[a] for a in longer]


def test_the_fast_relu_in_pieces(cut_everything) -> None:
    x = batch_last(np.random.default_rng(3).standard_normal((9, 6, 28, 28), dtype=np.float32))
    one, many = one_and_many(lambda: _relu_fast(x))
    assert same_bits(one, many) and same_bits(one, np.maximum(x, 0))
