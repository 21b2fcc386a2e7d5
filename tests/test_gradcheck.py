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
