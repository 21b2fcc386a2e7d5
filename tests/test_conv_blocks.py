"""Conv2d in eval mode builds im2col a block at a time (``_conv2d_forward_in_blocks``):
bit for bit the output of the training-mode forward pass, and a backward pass after it
still works (it rebuilds the columns).
"""

from __future__ import annotations

import numpy as np
import pytest

from edu_cnn import conv, threads
from edu_cnn.conv import Conv2d


def batch_last(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a.transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2)


@pytest.fixture(autouse=True)
def thread_count_restored():
    before = threads.get_num_threads()
    yield
    threads.set_num_threads(before)


CASES = [  # (C_in, C_out, kernel, padding, H, N, dtype): LeNet's two layers, odd sizes
    (1, 6, 5, 2, 28, 256, np.float32),
    (6, 16, 5, 0, 14, 256, np.float32),
    (1, 6, 5, 2, 28, 137, np.float32),
    (3, 4, 3, 1, 17, 61, np.float64),
]


@pytest.mark.parametrize(("c_in", "c_out", "k", "p", "h", "n", "dtype"), CASES)
@pytest.mark.parametrize("n_threads", [1, 3])
def test_eval_forward_gives_the_training_bits(
    c_in, c_out, k, p, h, n, dtype, n_threads, monkeypatch
) -> None:
    """The same bits on one thread and on three (the blocks run on the calling thread)."""
    monkeypatch.setattr(threads, "MIN_ELEMENTS", 1 << 12)  # the small cases take the path too
    threads.set_num_threads(n_threads)
    used: list[int] = []
    real = conv._conv2d_forward_in_blocks
    monkeypatch.setattr(conv, "_conv2d_forward_in_blocks", lambda *a: used.append(1) or real(*a))
    rng = np.random.default_rng(n)
    x = rng.standard_normal((n, c_in, h, h)).astype(dtype)
    if c_in > 1:
        x = batch_last(x)  # as the output of an earlier layer arrives
    x[:, :, :2] = 0.0
    layer = Conv2d(c_in, c_out, k, padding=p, rng=rng)
    trained = layer.forward(x)
    assert not used
    layer.eval()
    evaluated = layer.forward(x)
    assert used and layer._cache[1] is None  # no im2col matrix kept
    assert evaluated.dtype == trained.dtype and evaluated.strides == trained.strides
    assert evaluated.tobytes() == trained.tobytes()


def test_a_backward_after_an_eval_forward_rebuilds_the_columns(monkeypatch) -> None:
    monkeypatch.setattr(threads, "MIN_ELEMENTS", 1 << 12)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((40, 1, 28, 28), dtype=np.float32)
    g = rng.standard_normal((40, 6, 28, 28), dtype=np.float32)
    layer = Conv2d(1, 6, 5, padding=2, rng=rng)
    layer.forward(x)
    want = (layer.backward(g), layer.weight.grad.copy(), layer.bias.grad.copy())
    layer.eval()
    layer.forward(x)
    assert layer._cache[1] is None
    got = (layer.backward(g), layer.weight.grad, layer.bias.grad)
    for a, b in zip(want, got, strict=True):
        assert a.tobytes() == b.tobytes()


def test_stride_two_and_small_passes_keep_the_plain_path(monkeypatch) -> None:
    used: list[int] = []
    monkeypatch.setattr(conv, "_conv2d_forward_in_blocks", lambda *a: used.append(1))
    x = np.ones((4, 1, 28, 28), np.float32)
    Conv2d(1, 6, 5, padding=2).eval().forward(x)  # 78,400 columns' worth: small
    monkeypatch.setattr(threads, "MIN_ELEMENTS", 1)
    Conv2d(1, 6, 5, stride=2, padding=2).eval().forward(x)
    assert not used
