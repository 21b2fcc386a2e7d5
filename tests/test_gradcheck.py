"""edu_cnn.gradcheck: one set of thresholds for the verdict, passed() and the notebook."""

import numpy as np
import pytest

from edu_cnn.gradcheck import GOOD, KINK, WRONG, GradcheckResult, relative_error


@pytest.mark.parametrize(
    "error, verdict",
    [(1e-9, "correct"), (5e-6, "suspicious"), (1e-3, "probably wrong"), (0.5, "wrong")],
)
def test_verdict_bands(error, verdict):
    assert GradcheckResult(error, "input[0]").verdict == verdict


def test_passed_uses_the_verdicts_bound():
    assert (GOOD, KINK, WRONG) == (1e-7, 1e-4, 1e-2)
    assert GradcheckResult(0.9 * GOOD, "x").passed()
    assert not GradcheckResult(2 * GOOD, "x").passed()
    assert GradcheckResult(2 * GOOD, "x").passed(KINK)


def test_relative_error_floor_is_a_thousandth_of_the_largest_entry():
    analytic = np.array([1.0, 1e-9])
    numeric = np.array([1.0, 2e-9])
    # the tiny entry is compared with the floor 1e-3, not with itself
    assert relative_error(analytic, numeric)[1] == pytest.approx(1e-9 / 1e-3)


def test_data_drawn_with_the_same_seed_is_not_the_projection():
    """x = default_rng(0)… and gradcheck(seed=0): were r = x, L = Σ BatchNorm(x)·x would
    have ∂L/∂x ≈ 0 (largest entry 4e-5) and the check would report rounding (5.6e-3)."""
    from edu_cnn import BatchNorm1d
    from edu_cnn.gradcheck import gradcheck

    x = np.random.default_rng(0).standard_normal((8, 4))
    result = gradcheck(BatchNorm1d(4), x, seed=0)
    assert result.passed(), result
