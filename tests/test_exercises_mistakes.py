"""Every exercise names the typical wrong answers: one table of (exercise, a wrong answer
written as a student would, words the message must contain)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import convolve2d, correlate2d

from edu_cnn.exercises import check, list_exercises
from edu_cnn.exercises.checker import get_exercise


def sig(z):
    return 1 / (1 + np.exp(-z))


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


# -- chapter 1 -----------------------------------------------------------------------------------
def update_wrong_sign(w, b, x, t, lr):
    y = 1 if w @ x + b >= 0 else 0
    return w + lr * (y - t) * x, b + lr * (y - t)


def update_bias_forgotten(w, b, x, t, lr):
    y = 1 if w @ x + b >= 0 else 0
    return w + lr * (t - y) * x, b


def update_no_lr(w, b, x, t, lr):
    y = 1 if w @ x + b >= 0 else 0
    return w + (t - y) * x, b + (t - y)


def epoch_batch(X, t, w, b, lr):
    y = (X @ w + b >= 0).astype(int)
    err = t - y
    return w + lr * err @ X, b + lr * err.sum(), int((err != 0).sum())


def epoch_counts_right(X, t, w, b, lr):
    right = 0
    for x_n, t_n in zip(X, t, strict=True):
        y = int(w @ x_n + b >= 0)
        right += y == t_n
        w, b = w + lr * (t_n - y) * x_n, b + lr * (t_n - y)
    return w, b, right


def epoch_reordered(X, t, w, b, lr):
    mistakes = 0
    for x_n, t_n in zip(X, t, strict=True):
        y = int(w @ x_n + b >= 0)
        mistakes += y != t_n
        w, b = w + lr * (t_n - y) * x_n, b + lr * (t_n - y)
    return b, w, mistakes


# -- chapter 2 -----------------------------------------------------------------------------------
def grad_factory(scale=2.0, per_n=True, bias=True, sign=1.0):
    def gradient(X, y, w, b):
        r = sign * (X @ w + (b if bias else 0) - y)
        k = scale / len(y) if per_n else scale
        return k * X.T @ r, k * r.sum()

    return gradient


def step_uphill(X, y, w, b, lr):
    dw, db = grad_factory()(X, y, w, b)
    return w + lr * dw, b + lr * db


def step_returns_gradient(X, y, w, b, lr):
    return grad_factory()(X, y, w, b)


def step_no_lr(X, y, w, b, lr):
    dw, db = grad_factory()(X, y, w, b)
    return w - dw, b - db


# -- chapter 3 -----------------------------------------------------------------------------------
def mlp_factory(derivative="prime", mean=True, order=False):
    def backward(x, labels, W1, b1, W2, b2):
        a1 = sig(x @ W1.T + b1)
        y = softmax(a1 @ W2.T + b2)
        d2 = (y - np.eye(len(b2))[labels]) / (len(x) if mean else 1)
        d1 = (d2 @ W2) * {"prime": a1 * (1 - a1), "sigma": a1}[derivative]
        grads = (d1.T @ x, d1.sum(0), d2.T @ a1, d2.sum(0))
        return (grads[2], grads[3], grads[0], grads[1]) if order else grads

    return backward


# -- chapter 5 -----------------------------------------------------------------------------------
def windows(x, size, stride):
    oh, ow = (x.shape[0] - size) // stride + 1, (x.shape[1] - size) // stride + 1
    for i in range(oh):
        for j in range(ow):
            yield i, j, (slice(i * stride, i * stride + size), slice(j * stride, j * stride + size))


def pool_factory(reduce, step=None):
    def pool(x, size, stride):
        stride = step or stride
        oh, ow = (x.shape[0] - size) // stride + 1, (x.shape[1] - size) // stride + 1
        out = np.zeros((oh, ow))
        for i, j, win in windows(x, size, stride):
            out[i, j] = reduce(x[win])
        return out

    return pool


def backward_every_tie(x, grad_out, size, stride):
    g = np.zeros_like(x)
    for i, j, win in windows(x, size, stride):
        g[win] += (x[win] == x[win].max()) * grad_out[i, j]
    return g


def backward_overwrite(x, grad_out, size, stride):
    g = np.zeros_like(x)
    for i, j, win in windows(x, size, stride):
        r, c = np.unravel_index(np.argmax(x[win]), (size, size))
        g[i * stride + r, j * stride + c] = grad_out[i, j]
    return g


def backward_spread(x, grad_out, size, stride):
    g = np.zeros_like(x)
    for i, j, win in windows(x, size, stride):
        g[win] += grad_out[i, j] / size**2
    return g


def backward_last_max(x, grad_out, size, stride):
    g = np.zeros_like(x)
    for i, j, win in windows(x, size, stride):
        best = None
        for r in range(size):
            for c in range(size):
                if best is None or x[win][r, c] >= x[win][best]:
                    best = (r, c)
        g[i * stride + best[0], j * stride + best[1]] += grad_out[i, j]
    return g


# -- chapter 6 -----------------------------------------------------------------------------------
def numgrad_factory(kind="central", restore=True, fixed=None):
    def numerical_gradient(f, x, eps=1e-5):
        eps = fixed or eps
        g = np.zeros_like(x)
        for i in np.ndindex(x.shape):
            old = x[i]
            x[i] = old + eps
            up = f(x)
            x[i] = old - eps if kind != "forward" else old
            down = f(x)
            if restore:
                x[i] = old
            g[i] = (up - down) / (2 * eps if kind == "central" else eps)
        return g

    return numerical_gradient


def numgrad_all_at_once(f, x, eps=1e-5):
    return np.full(x.shape, (f(x + eps) - f(x - eps)) / (2 * eps))


def conv_multi_factory(bias=True, flip=False, channels=None):
    def conv2d_multichannel(x, weight, b):
        c_out, c_in, kh, kw = weight.shape
        out = np.zeros((c_out, x.shape[1] - kh + 1, x.shape[2] - kw + 1))
        for o in range(c_out):
            for c in range(channels or c_in):
                k = weight[o, c][::-1, ::-1] if flip else weight[o, c]
                out[o] += correlate2d(x[c], k, mode="valid")
            out[o] += b[o] if bias else 0
        return out

    return lambda x, weight, bias: conv2d_multichannel(x, weight, bias)


# -- chapter 8 -----------------------------------------------------------------------------------
def resize_factory(rounding):
    def resize(x, scale_h, scale_w):
        h, w = x.shape[2:]
        rows = np.minimum(rounding(np.arange(int(h * scale_h)) / scale_h).astype(int), h - 1)
        cols = np.minimum(rounding(np.arange(int(w * scale_w)) / scale_w).astype(int), w - 1)
        return x[:, :, rows][:, :, :, cols]

    return resize


def order_one_pass(nodes, available):
    known, done = set(available), []
    for node in nodes:
        if set(node["inputs"]) <= known:
            done.append(node["name"])
            known |= set(node["outputs"])
    return done


WRONG = [
    # chapter 0
    ("accuracy", lambda predictions, labels: np.sum(predictions == labels), "a count"),
    ("accuracy", lambda predictions, labels: 1 - np.mean(predictions == labels), "error rate"),
    ("accuracy", lambda predictions, labels: np.mean(predictions == labels) * 100, "percentage"),
    # chapter 1
    (
        "perceptron_output",
        lambda X, w, b: (X @ w + b > 0).astype(int),
        "z = 0 exactly should give 1",
    ),
    ("perceptron_output", lambda X, w, b: X @ w + b >= 0, "booleans"),
    ("perceptron_output", lambda X, w, b: (X @ w >= 0).astype(int), "bias b is missing"),
    ("perceptron_output", lambda X, w, b: np.sign(X @ w + b).astype(int), "expected 0, got -1"),
    ("perceptron_update", update_wrong_sign, "opposite sign: the error is t − y"),
    ("perceptron_update", update_bias_forgotten, "b did not change"),
    ("perceptron_update", update_no_lr, "learning rate lr is missing"),
    ("perceptron_epoch", epoch_batch, "Every row used the starting weights"),
    ("perceptron_epoch", epoch_counts_right, "the rows the perceptron got right"),
    ("perceptron_epoch", epoch_reordered, "in the wrong order"),
    # chapter 2
    ("mse_loss", lambda y_pred, y: np.mean(np.abs(y_pred - y)), "mean absolute error"),
    ("mse_loss", lambda y_pred, y: np.sqrt(np.mean((y_pred - y) ** 2)), "RMSE"),
    ("mse_loss", lambda y_pred, y: np.sum((y_pred - y) ** 2), "1/N"),
    ("mse_loss", lambda y_pred, y: np.mean(y_pred - y) ** 2, "square of the mean"),
    ("mse_loss", lambda y_pred, y: np.mean((y_pred - y) ** 2) / 2, "half the MSE"),
    ("mse_gradient", grad_factory(sign=-1.0), "opposite sign"),
    ("mse_gradient", grad_factory(per_n=False), "1/N is missing"),
    ("mse_gradient", grad_factory(scale=1.0), "factor 2 is missing"),
    ("mse_gradient", grad_factory(bias=False), "bias is missing"),
    ("mse_gradient", lambda X, y, w, b: grad_factory()(X, y, w, b)[0], "tuple of 2 values"),
    ("gradient_descent_step", step_uphill, "uphill"),
    ("gradient_descent_step", step_returns_gradient, "the gradient (dw, db) itself"),
    ("gradient_descent_step", step_no_lr, "learning rate is missing"),
    (
        "zscore_with_train_stats",
        lambda X_train, X_test: (
            (X_train - X_train.mean(0)) / X_train.std(0),
            (X_test - X_test.mean(0)) / X_test.std(0),
        ),
        "value 2 of the result",
    ),
    (
        "zscore_with_train_stats",
        lambda X_train, X_test: (
            (X_train - X_train.mean()) / X_train.std(),
            (X_test - X_train.mean()) / X_train.std(),
        ),
        "each feature (column, axis=0)",
    ),
    (
        "zscore_with_train_stats",
        lambda X_train, X_test: (
            (X_train - X_train.mean(0)) / X_train.std(0, ddof=1),
            (X_test - X_train.mean(0)) / X_train.std(0, ddof=1),
        ),
        "ddof=1",
    ),
    (
        "zscore_with_train_stats",
        lambda X_train, X_test: (X_train - X_train.mean(0), X_test - X_train.mean(0)),
        "Only the mean was subtracted",
    ),
    # chapter 3
    ("sigmoid_derivative", lambda z: 1 / (1 + np.exp(-z)), "σ(z) itself"),
    ("sigmoid_derivative", lambda z: z * (1 - z), "applied to z"),
    ("sigmoid_derivative", lambda z: 1 - np.tanh(z) ** 2, "tanh"),
    ("one_hot", lambda labels, num_classes: np.eye(num_classes)[labels].T, "swapped"),
    ("one_hot", lambda labels, num_classes: np.eye(max(labels) + 1)[labels], "labels.max() + 1"),
    ("one_hot", lambda labels, num_classes: np.eye(num_classes)[labels - 1], "one column too far"),
    (
        "softmax_ce_gradient",
        lambda z, labels: softmax(z) - np.eye(z.shape[1])[labels],
        "1/N is missing",
    ),
    (
        "softmax_ce_gradient",
        lambda z, labels: (np.eye(z.shape[1])[labels] - softmax(z)) / len(z),
        "sign",
    ),
    (
        "softmax_ce_gradient",
        lambda z, labels: (
            (np.exp(z) / np.exp(z).sum(1, keepdims=True) - np.eye(z.shape[1])[labels]) / len(z)
        ),
        "NaN",
    ),
    (
        "softmax_ce_gradient",
        lambda z, labels: (
            (softmax(z) - np.eye(z.shape[1])[labels]) / len(z) * np.eye(z.shape[1])[labels]
        ),
        "Only the true class got a gradient",
    ),
    ("mlp_backward", mlp_factory(derivative="sigma"), "instead of σ′"),
    ("mlp_backward", mlp_factory(mean=False), "1/N is missing"),
    ("mlp_backward", mlp_factory(order=True), "in the wrong order"),
    (
        "mlp_backward",
        lambda *a: tuple(g.T if g.ndim == 2 else g for g in mlp_factory()(*a)),
        "transposed",
    ),
    # chapter 4
    ("conv_output_size", lambda n, k, p=0, s=1: (n + 2 * p - k) // s, "expected 3, got 2"),
    ("conv_output_size", lambda n, k, p=0, s=1: (n + 2 * p - k) // s, "+ 1 is missing"),
    ("conv_output_size", lambda n, k, p=0, s=1: (n + 2 * p - k) / s + 1, "integer division `//`"),
    ("conv_output_size", lambda n, k, p=0, s=1: (n + p - k) // s + 1, "n + 2p"),
    ("conv_output_size", lambda n, k, p=0, s=1: n + 2 * p - k + 1, "stride is missing"),
    ("cross_correlate2d", lambda image, kernel: convolve2d(image, kernel, mode="valid"), "180°"),
    (
        "cross_correlate2d",
        lambda image, kernel: correlate2d(image, kernel[::-1], mode="valid"),
        "one axis",
    ),
    (
        "cross_correlate2d",
        lambda image, kernel: correlate2d(image, kernel, mode="same"),
        "should have shape",
    ),
    (
        "cross_correlate2d",
        lambda image, kernel: correlate2d(image, kernel, mode="valid")[:-1, :-1],
        "One row and one column short",
    ),
    ("conv2d_multichannel", conv_multi_factory(bias=False), "bias is missing"),
    ("conv2d_multichannel", conv_multi_factory(flip=True), "180°"),
    ("conv2d_multichannel", conv_multi_factory(channels=1), "Only input channel 0"),
    # chapter 5
    ("maxpool_forward", pool_factory(np.mean), "mean pooling"),
    ("maxpool_forward", pool_factory(np.max, step=1), "moved by 1 instead of by `stride`"),
    ("maxpool_forward", pool_factory(np.min), "minimum"),
    ("maxpool_backward", backward_every_tie, "tied"),
    ("maxpool_backward", backward_overwrite, "use +="),
    ("maxpool_backward", backward_spread, "spread evenly"),
    ("maxpool_backward", backward_last_max, "went to the last of them"),
    ("avgpool_forward", pool_factory(np.sum), "sum of each window"),
    ("avgpool_forward", pool_factory(np.max), "That is max pooling"),
    ("avgpool_forward", pool_factory(np.mean, step=1), "moved by 1"),
    (
        "avgpool_forward",
        lambda x, size, stride: pool_factory(np.sum)(x, size, stride) / size,
        "a window holds size × size values",
    ),
    (
        "transposed_conv_output_size",
        lambda n, k, s=1, p=0, output_padding=0: (n + 2 * p - k) // s + 1,
        "That is a convolution's output size",
    ),
    (
        "transposed_conv_output_size",
        lambda n, k, s=1, p=0, output_padding=0: (n - 1) * s - 2 * p + k,
        "output_padding is missing",
    ),
    (
        "transposed_conv_output_size",
        lambda n, k, s=1, p=0, output_padding=0: (n - 1) * s + 2 * p + k + output_padding,
        "− 2p, not + 2p",
    ),
    (
        "transposed_conv_output_size",
        lambda n, k, s=1, p=0, output_padding=0: n * s - 2 * p + k + output_padding,
        "(n − 1)·s, not n·s",
    ),
    (
        "transposed_conv_output_size",
        lambda n, k, s=1, p=0, output_padding=0: float((n - 1) * s - 2 * p + k + output_padding),
        "not an integer",
    ),
    # chapter 6
    ("conv_dW", lambda a_prev, delta: convolve2d(a_prev, delta, mode="valid"), "180°"),
    ("conv_dW", lambda a_prev, delta: -correlate2d(a_prev, delta, mode="valid"), "opposite sign"),
    ("conv_dW", lambda a_prev, delta: correlate2d(a_prev, delta, mode="valid").T, "transposed"),
    (
        "conv_delta",
        lambda delta, kernel: correlate2d(delta, kernel, mode="full"),
        "not rotated by 180°",
    ),
    (
        "conv_delta",
        lambda delta, kernel: convolve2d(delta, kernel[::-1], mode="full"),
        "one axis only",
    ),
    ("conv_delta", lambda delta, kernel: -convolve2d(delta, kernel, mode="full"), "opposite sign"),
    (
        "conv_delta",
        lambda delta, kernel: convolve2d(delta, kernel, mode="same"),
        "should have shape",
    ),
    ("numerical_gradient", numgrad_factory(kind="forward"), "forward difference"),
    ("numerical_gradient", numgrad_factory(kind="one eps"), "divide by 2·eps"),
    ("numerical_gradient", numgrad_factory(restore=False), "changed its input x"),
    ("numerical_gradient", numgrad_all_at_once, "one element at a time"),
    ("numerical_gradient", numgrad_factory(fixed=1e-5), "use the parameter eps"),
    # chapter 7
    (
        "conv2d_parameters",
        lambda in_channels, out_channels, kernel_size: in_channels * out_channels * kernel_size**2,
        "expected 156, got 150",
    ),
    (
        "conv2d_parameters",
        lambda in_channels, out_channels, kernel_size: in_channels * out_channels * kernel_size**2,
        "ONE bias",
    ),
    (
        "conv2d_parameters",
        lambda in_channels, out_channels, kernel_size: (
            out_channels * (in_channels * kernel_size + 1)
        ),
        "square it",
    ),
    (
        "conv2d_parameters",
        lambda in_channels, out_channels, kernel_size: (
            out_channels * in_channels * (kernel_size**2 + 1)
        ),
        "not one per input channel",
    ),
    ("lenet_flat_features", lambda height, width: 400, "right for 28 × 28 only"),
    (
        "lenet_flat_features",
        lambda height, width: 16 * (((height - 4) // 2 - 4) // 2) * (((width - 4) // 2 - 4) // 2),
        "padding 2",
    ),
    (
        "lenet_flat_features",
        lambda height, width: ((height // 2 - 4) // 2) * ((width // 2 - 4) // 2),
        "all 16 of them",
    ),
    (
        "per_class_accuracy",
        lambda c: np.diag(c) / np.asarray(c).sum(axis=0),
        "row i (not column i)",
    ),
    ("per_class_accuracy", lambda c: np.diag(c) / np.sum(c), "divided by all samples"),
    ("per_class_accuracy", lambda c: np.full(len(c), np.trace(c) / np.sum(c)), "overall accuracy"),
    (
        "standardize_with_training_stats",
        lambda x_train, x_test: (
            (x_train - x_train.mean()) / x_train.std(),
            (x_test - x_test.mean()) / x_test.std(),
        ),
        "never the test set's own statistics",
    ),
    (
        "standardize_with_training_stats",
        lambda x_train, x_test: (x_train - x_train.mean(), x_test - x_train.mean()),
        "divide by the training std",
    ),
    (
        "standardize_with_training_stats",
        lambda x_train, x_test: (
            (x_train - x_train.mean(0)) / x_train.std(0),
            (x_test - x_train.mean(0)) / x_train.std(0),
        ),
        "per pixel position",
    ),
    # chapter 8
    (
        "gemm",
        lambda A, B, C, alpha=1.0, beta=1.0, transA=0, transB=0: (
            (A.T if transA else A) @ (B.T if transB else B) + beta * C
        ),
        "alpha is missing",
    ),
    (
        "gemm",
        lambda A, B, C, alpha=1.0, beta=1.0, transA=0, transB=0: (
            alpha * (A.T if transA else A) @ (B.T if transB else B) + C
        ),
        "beta is missing",
    ),
    (
        "gemm",
        lambda A, B, C, alpha=1.0, beta=1.0, transA=0, transB=0: (
            alpha * ((A.T if transA else A) @ (B.T if transB else B) + beta * C)
        ),
        "alpha scaled C too",
    ),
    (
        "gemm",
        lambda A, B, C, alpha=1.0, beta=1.0, transA=0, transB=0: alpha * (A @ B) + beta * C,
        "raised ValueError",
    ),
    (
        "execution_order",
        lambda nodes, available: [n["name"] for n in nodes],
        "the order of the list",
    ),
    ("execution_order", order_one_pass, "Only one pass"),
    (
        "execution_order",
        lambda nodes, available: [n["name"] for n in nodes][::-1],
        "the list reversed",
    ),
    ("resize_nearest", resize_factory(np.round), "rounded to nearest"),
    ("resize_nearest", resize_factory(np.ceil), "⌈i / scale⌉"),
    (
        "resize_nearest",
        lambda x, scale_h, scale_w: resize_factory(np.floor)(x, scale_w, scale_h),
        "swapped",
    ),
    (
        "prepare_request",
        lambda image, mean, std: ((image / 255 - mean) / std).reshape(1, 1, 28, 28),
        "float32",
    ),
    (
        "prepare_request",
        lambda image, mean, std: (
            ((image.astype(np.float32) - mean) / std).reshape(1, 1, 28, 28).astype(np.float32)
        ),
        "divide by 255",
    ),
    (
        "prepare_request",
        lambda image, mean, std: ((image / 255 - mean) / std).astype(np.float32).reshape(28, 28),
        "should have shape (1, 1, 28, 28)",
    ),
    (
        "prepare_request",
        lambda image, mean, std: (image / 255).astype(np.float32).reshape(1, 1, 28, 28),
        "not normalised",
    ),
]


@pytest.mark.parametrize(
    "name, wrong, words", WRONG, ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(WRONG)]
)
def test_a_typical_wrong_answer_gets_its_diagnosis(name, wrong, words):
    with np.errstate(all="ignore"):
        result = check(name, wrong, verbose=False)
    assert not result
    assert words in result.message, result.message
    assert "on case" in result.message and "Hint:" in result.message


def test_every_exercise_has_three_wrong_answers_in_the_table():
    counts = {name: 0 for name in list_exercises()}
    for name, _, _ in WRONG:
        counts[name] += 1
    assert {n: c for n, c in counts.items() if c < 3} == {}


@pytest.mark.parametrize("name", list_exercises())
def test_every_declared_mistake_is_recognised(name):
    """A student whose answer is exactly a declared mistake is told that mistake – so no
    mistake coincides with the reference or with another mistake on all hidden cases."""
    ex = get_exercise(name)
    assert check(name, ex.reference, verbose=False)
    assert len(ex.mistakes) >= 3
    for mistake in ex.mistakes:
        with np.errstate(all="ignore"):
            result = check(name, mistake.answer, verbose=False)
        assert not result and result.mistake == mistake.name, (mistake.name, result.message)
        assert mistake.message in result.message


@pytest.mark.parametrize("name", list_exercises())
def test_hints_are_staged(name):
    """Several hints, the first shorter and vaguer than the last; the first does not give
    the last one's formula."""
    hints = get_exercise(name).all_hints()
    assert len(hints) >= 3
    assert hints[-1] not in hints[0] and hints[0] != hints[1]


def test_chapters_one_to_eight_have_three_exercises_each():
    chapters: dict[str, int] = {}
    for name in list_exercises():
        module = get_exercise(name).reference.__module__.rsplit(".", 1)[-1][:4]
        chapters[module] = chapters.get(module, 0) + 1
    assert all(chapters.get(f"ch0{n}", 0) >= 3 for n in range(1, 9)), chapters


@pytest.mark.parametrize(
    "name, signature",
    [
        ("conv2d_multichannel", "def conv2d_multichannel(x, weight, bias):"),
        ("avgpool_forward", "def avgpool_forward(x, size, stride):"),
        (
            "transposed_conv_output_size",
            "def transposed_conv_output_size(n, k, s=1, p=0, output_padding=0):",
        ),
        ("numerical_gradient", "def numerical_gradient(f, x, eps=1e-05):"),
    ],
)
def test_new_exercises_have_the_agreed_signatures(name, signature):
    assert get_exercise(name).stub() == signature


def test_new_exercise_references_agree_with_the_library():
    from edu_cnn.conv import Conv2d
    from edu_cnn.pooling import AvgPool2d

    ex = get_exercise("conv2d_multichannel")
    for _, case in ex.hidden_cases():
        c_out, c_in, kh, kw = case["weight"].shape
        layer = Conv2d(c_in, c_out, (kh, kw)).astype(np.float64)
        layer.load_state_dict({"weight": case["weight"], "bias": case["bias"]})
        np.testing.assert_allclose(
            ex.reference(**case), layer(case["x"][None])[0], rtol=1e-10, atol=1e-12
        )

    ex = get_exercise("avgpool_forward")
    for _, case in ex.hidden_cases():
        layer = AvgPool2d(case["size"], case["stride"]).astype(np.float64)
        np.testing.assert_allclose(
            ex.reference(**case), layer(case["x"][None, None])[0, 0], rtol=1e-12
        )

    ex = get_exercise("numerical_gradient")
    exact = {"Σ x³": lambda x: 3 * x**2, "Σ exp(x)": np.exp}
    checked = 0
    for _, case in ex.hidden_cases():
        x = case["x"].copy()
        got = ex.reference(**{**case, "x": x})
        assert np.array_equal(x, case["x"])  # left unchanged
        if case["f"].formula in exact:  # central differences: error O(ε²)
            eps = case.get("eps", 1e-5)
            np.testing.assert_allclose(
                got, exact[case["f"].formula](x), rtol=10 * eps**2 * np.exp(3), atol=1e-8
            )
            checked += 1
    assert checked >= 3


def test_transposed_conv_output_size_agrees_with_the_layer():
    from edu_cnn.conv import ConvTranspose2d

    ex = get_exercise("transposed_conv_output_size")
    compared = 0
    for _, case in ex.hidden_cases():
        case = {"s": 1, "p": 0, "output_padding": 0, **case}
        if case["output_padding"] >= case["s"] or case["n"] + 2 * case["p"] < 1:
            continue
        extra = {"output_padding": case["output_padding"]} if case["output_padding"] else {}
        try:
            layer = ConvTranspose2d(1, 1, case["k"], stride=case["s"], padding=case["p"], **extra)
        except TypeError:  # a ConvTranspose2d without output_padding: only the cases without it
            continue
        expected = ex.reference(**case)
        if expected < 1:
            continue
        out = layer(np.zeros((1, 1, case["n"], case["n"]), np.float32))
        assert out.shape[-1] == expected, case
        compared += 1
    assert compared >= 5
