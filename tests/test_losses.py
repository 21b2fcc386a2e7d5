"""Losses: values against scipy, gradients against central differences, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit
from scipy.special import log_softmax as scipy_log_softmax

from edu_cnn.gradcheck import gradcheck_loss
from edu_cnn.losses import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, MSELoss

try:
    import torch
except ImportError:  # torch is optional: only the cross-checks need it
    torch = None

# edu_cnn.gradcheck compares with central differences in float64; their error is O(ε²)
# ≈ 1e-10 relative, far below the 1e-6 threshold, while a wrong formula (a missing 1/N, a
# sign, only the true class) gives 1e-1 or more. CS231n: < 1e-7 is good, > 1e-2 is wrong.
RTOL = 1e-6


rng = np.random.default_rng(0)
N, C = 5, 4
LOGITS = rng.normal(size=(N, C)) * 2
LABELS = rng.integers(0, C, size=N)
SOFT = rng.dirichlet(np.ones(C), size=N)
PROBS = rng.uniform(0.05, 0.95, size=(N, 1))
BITS = rng.integers(0, 2, size=(N, 1)).astype(float)


CASES = {
    "mse mean": (MSELoss(), rng.normal(size=(N, 3)), rng.normal(size=(N, 3))),
    "mse sum": (MSELoss(reduction="sum"), rng.normal(size=(N, 3)), rng.normal(size=(N, 3))),
    "bce labels": (BCELoss(), PROBS.copy(), BITS),
    "bce soft": (BCELoss(), PROBS.copy(), rng.uniform(size=(N, 1))),
    "bce sum (N,) target": (BCELoss(reduction="sum"), PROBS.copy(), BITS.ravel()),
    "bce logits": (BCEWithLogitsLoss(), rng.normal(size=(N, 1)) * 3, BITS),
    "bce logits soft 2-D": (BCEWithLogitsLoss(), rng.normal(size=(N, 3)), rng.uniform(size=(N, 3))),
    "ce labels": (CrossEntropyLoss(), LOGITS.copy(), LABELS),
    "ce one-hot": (CrossEntropyLoss(), LOGITS.copy(), np.eye(C)[LABELS]),
    "ce soft": (CrossEntropyLoss(), LOGITS.copy(), SOFT),
    "ce sum": (CrossEntropyLoss(reduction="sum"), LOGITS.copy(), LABELS),
    "ce float labels": (CrossEntropyLoss(), LOGITS.copy(), LABELS.astype(np.float64)),
}


@pytest.mark.parametrize("case", CASES)
def test_gradient_matches_central_differences(case):
    loss_fn, pred, target = CASES[case]
    result = gradcheck_loss(loss_fn, pred, target)
    assert result.passed(RTOL), str(result)
    loss_fn(pred, target)
    analytic = loss_fn.backward()
    assert analytic.shape == pred.shape and analytic.dtype == np.float64


def test_values_match_independent_formulas():
    # cross-entropy against scipy's log-softmax
    expected = -scipy_log_softmax(LOGITS, axis=1)[np.arange(N), LABELS].mean()
    assert CrossEntropyLoss()(LOGITS, LABELS) == pytest.approx(expected, rel=1e-12)
    soft = -(SOFT * scipy_log_softmax(LOGITS, axis=1)).sum()
    assert CrossEntropyLoss(reduction="sum")(LOGITS, SOFT) == pytest.approx(soft, rel=1e-12)
    # binary cross-entropy, written out with scipy's sigmoid
    z = rng.normal(size=(N, 1)) * 3
    p = expit(z)
    bce = -(BITS * np.log(p) + (1 - BITS) * np.log(1 - p)).mean()
    assert BCEWithLogitsLoss()(z, BITS) == pytest.approx(bce, rel=1e-12)
    assert BCELoss()(p, BITS) == pytest.approx(bce, rel=1e-12)
    # simple numbers a student can check by hand
    assert CrossEntropyLoss()(np.zeros((2, 10)), [3, 7]) == pytest.approx(np.log(10))
    assert BCELoss()(np.full((4, 1), 0.5), [0, 1, 1, 0]) == pytest.approx(np.log(2))
    assert MSELoss()(np.array([[1.0], [3.0]]), np.array([[0.0], [0.0]])) == pytest.approx(5.0)
    assert isinstance(MSELoss()(np.ones(3), np.zeros(3)), float)


def test_cross_entropy_gradient_is_y_minus_t_for_every_class():
    loss_fn = CrossEntropyLoss()
    loss_fn(LOGITS, LABELS)
    grad = loss_fn.backward()
    y = np.exp(scipy_log_softmax(LOGITS, axis=1))
    t = np.eye(C)[LABELS]
    np.testing.assert_allclose(grad, (y - t) / N, rtol=1e-12)
    wrong = t == 0  # the classes seed note 004 forgot: their gradient is y_j / N > 0
    assert np.all(grad[wrong] > 0) and np.all(grad[~wrong] < 0)
    np.testing.assert_allclose(grad.sum(axis=1), 0, atol=1e-15)


def test_extreme_logits_stay_finite():
    z = np.array([[1000.0, 0.0, -1000.0], [-800.0, 800.0, 0.0]], dtype=np.float32)
    loss_fn = CrossEntropyLoss()
    assert loss_fn(z, [0, 1]) == pytest.approx(0.0, abs=1e-6)
    assert loss_fn(z, [2, 0]) == pytest.approx(1800.0, rel=1e-6)
    assert np.isfinite(loss_fn.backward()).all()
    big = np.array([[500.0], [-500.0]], dtype=np.float32)
    bce = BCEWithLogitsLoss()
    assert bce(big, [0, 1]) == pytest.approx(500.0, rel=1e-6)
    np.testing.assert_allclose(bce.backward(), [[0.5], [-0.5]])
    clamp = BCELoss()  # log clamped at −100 as in PyTorch: finite, not inf
    assert clamp(np.array([[0.0], [1.0]]), [1, 0]) == pytest.approx(100.0)
    assert np.isfinite(clamp.backward()).all()


@pytest.mark.parametrize(
    "loss_fn, pred, target",
    [
        (MSELoss(), np.ones((3, 2), np.float32), np.zeros((3, 2))),
        (BCELoss(), np.full((3, 1), 0.3, np.float32), np.array([0, 1, 1])),
        (BCEWithLogitsLoss(), np.zeros((3, 1), np.float32), np.array([0, 1, 1])),
        (CrossEntropyLoss(), np.zeros((3, 4), np.float32), np.array([0, 1, 3])),
    ],
)
def test_gradient_keeps_float32(loss_fn, pred, target):
    loss_fn(pred, target)
    grad = loss_fn.backward()
    assert grad.dtype == np.float32 and grad.shape == pred.shape


# -- bad input: one test per kind of mistake, asserting the message -------------------------------
ALL_LOSSES = [MSELoss, BCELoss, BCEWithLogitsLoss, CrossEntropyLoss]


@pytest.mark.parametrize("cls", ALL_LOSSES)
def test_backward_before_forward(cls):
    with pytest.raises(
        ValueError, match=rf"{cls.__name__}: backward\(\) called before forward\(\)"
    ):
        cls().backward()


def test_batch_size_mismatch():
    with pytest.raises(
        ValueError,
        match=r"CrossEntropyLoss: the logits have batch size 5 but "
        r"the targets have 4",
    ):
        CrossEntropyLoss()(LOGITS, LABELS[:4])


def test_label_outside_class_range():
    with pytest.raises(
        ValueError,
        match=r"CrossEntropyLoss: label 4 at index 2 is outside "
        r"the class range \[0, 4\)",
    ):
        CrossEntropyLoss()(LOGITS, [0, 1, 4, 2, 3])
    with pytest.raises(
        ValueError, match=r"label -1 at index 0 is outside the class range \[0, 4\)"
    ):
        CrossEntropyLoss()(LOGITS, [-1, 1, 2, 2, 3])


def test_non_integer_labels():
    with pytest.raises(
        ValueError,
        match=r"CrossEntropyLoss: class labels must be integers, "
        r"got 1.5 at index 1",
    ):
        CrossEntropyLoss()(LOGITS, [0.0, 1.5, 2.0, 2.0, 3.0])
    with pytest.raises(
        ValueError, match=r"CrossEntropyLoss: class labels must be integers, got dtype <U1"
    ):
        CrossEntropyLoss()(LOGITS, np.array(list("abcde")))


@pytest.mark.parametrize(
    "cls, pred, target, what",
    [
        (CrossEntropyLoss, np.where(np.eye(5, 4) == 1, np.nan, 0.0), [0] * 5, "logits contain nan"),
        (BCEWithLogitsLoss, np.array([[0.0], [np.inf]]), [0, 1], "logits contain inf"),
        (MSELoss, np.zeros((2, 1)), np.array([[0.0], [-np.inf]]), "targets contain -inf"),
        (BCELoss, np.array([[np.nan], [0.5]]), [0, 1], "probabilities contain nan"),
    ],
)
def test_nan_or_inf_input(cls, pred, target, what):
    with pytest.raises(ValueError, match=rf"{cls.__name__}: the {what} at index"):
        cls()(pred, target)


def test_bce_probabilities_outside_unit_interval():
    with pytest.raises(
        ValueError,
        match=r"BCELoss: probabilities must lie in \[0, 1\], got 1.5 "
        r"at index \(1, 0\) – did you forget the Sigmoid",
    ):
        BCELoss()(np.array([[0.2], [1.5]]), [0, 1])
    with pytest.raises(ValueError, match=r"BCELoss: targets must lie in \[0, 1\], got 2.0"):
        BCELoss()(np.array([[0.2], [0.5]]), [0, 2])
    with pytest.raises(
        ValueError, match=r"BCEWithLogitsLoss: targets must lie in \[0, 1\], got -1.0"
    ):
        BCEWithLogitsLoss()(np.zeros((2, 1)), [-1, 1])


def test_wrong_shapes():
    with pytest.raises(
        ValueError,
        match=r"MSELoss: expected targets of the prediction's shape "
        r"\(3, 2\), got \(3,\)",
    ):
        MSELoss()(np.zeros((3, 2)), np.zeros(3))
    # PyTorch would broadcast (N, 1) against (N,) to N×N differences: refused, with the fix
    with pytest.raises(
        ValueError,
        match=r"MSELoss: expected targets of the prediction's shape "
        r"\(4, 1\), got \(4,\); PyTorch's MSELoss would "
        r"broadcast these to 4×4 .* y.reshape\(-1, 1\)",
    ):
        MSELoss()(np.zeros((4, 1)), np.zeros(4))
    with pytest.raises(
        ValueError,
        match=r"CrossEntropyLoss: expected logits \(N, C\) with 2 axes, "
        r"got shape \(4,\) – for one sample",
    ):
        CrossEntropyLoss()(np.zeros(4), [1])
    with pytest.raises(
        ValueError,
        match=r"CrossEntropyLoss: expected targets as labels \(5,\) or "
        r"one-hot rows \(5, 4\) for logits \(5, 4\), got \(5, 3\)",
    ):
        CrossEntropyLoss()(LOGITS, np.zeros((5, 3)))
    with pytest.raises(ValueError, match=r"got \(5, 1\) – flatten the labels with y.ravel\(\)"):
        CrossEntropyLoss()(LOGITS, LABELS.reshape(-1, 1))
    with pytest.raises(
        ValueError,
        match=r"CrossEntropyLoss: expected logits \(N, C\) with C ≥ 2 "
        r"classes, got \(5, 1\) – for one binary output use "
        r"BCEWithLogitsLoss",
    ):
        CrossEntropyLoss()(LOGITS[:, :1], np.zeros(5, int))


def test_unknown_reduction():
    with pytest.raises(ValueError, match=r"CrossEntropyLoss: reduction must be one of"):
        CrossEntropyLoss(reduction="none")


@pytest.mark.skipif(torch is None, reason="torch is not installed")
def test_against_pytorch():
    F = torch.nn.functional
    cases = [
        (CrossEntropyLoss(), LOGITS, LABELS, lambda z: F.cross_entropy(z, torch.tensor(LABELS))),
        (CrossEntropyLoss(), LOGITS, SOFT, lambda z: F.cross_entropy(z, torch.tensor(SOFT))),
        (
            BCEWithLogitsLoss(),
            LOGITS,
            SOFT,
            lambda z: F.binary_cross_entropy_with_logits(z, torch.tensor(SOFT)),
        ),
        (BCELoss(), expit(LOGITS), SOFT, lambda p: F.binary_cross_entropy(p, torch.tensor(SOFT))),
        (MSELoss(), LOGITS, SOFT, lambda z: F.mse_loss(z, torch.tensor(SOFT))),
    ]
    for loss_fn, pred, target, reference in cases:
        z = torch.tensor(pred, requires_grad=True)
        expected = reference(z)
        expected.backward()
        assert loss_fn(pred, target) == pytest.approx(expected.item(), rel=1e-10)
        np.testing.assert_allclose(loss_fn.backward(), z.grad.numpy(), rtol=1e-9, atol=1e-15)


# -- hostile input (issue 17, defect 11) ---------------------------------------------------------
@pytest.mark.parametrize(
    "loss, target",
    [
        ("MSELoss", np.zeros((0, 3))),
        ("BCELoss", np.zeros((0, 3))),
        ("BCEWithLogitsLoss", np.zeros((0, 3))),
        ("CrossEntropyLoss", np.zeros(0, int)),
    ],
)
def test_an_empty_batch_is_a_value_error_not_a_division_by_zero(loss, target):
    from edu_cnn import losses

    with pytest.raises(ValueError, match=rf"{loss}: the \w+ are empty \(shape \(0, 3\)\)"):
        getattr(losses, loss)()(np.zeros((0, 3), np.float32), target)


def test_a_huge_float_label_is_reported_as_itself():
    from edu_cnn.losses import CrossEntropyLoss

    with pytest.raises(ValueError, match=r"label 1e\+20 at index 0 is outside the class range"):
        CrossEntropyLoss()(np.zeros((1, 3), np.float32), np.array([1e20]))
