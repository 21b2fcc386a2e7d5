"""Figure content of chapters 4–6 added for issue 15: the stepper's static twin, the arg-max
marks of step 9, the numbered-grid pictures and the connections figure."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np

from edu_cnn.widgets import backprop as bw
from edu_cnn.widgets import convolution as cw
from edu_cnn.widgets import pooling as pw


def test_step_9_marks_one_arg_max_per_window_and_delta_only_goes_there():
    step = bw.backprop_trace(seed=0)[9]
    labels = [label for label, _ in step.panels]
    assert labels[:2] == ["δ² channel 0", "δ² channel 1"]  # δ² beside what it sends back
    for c in range(2):
        marks = step.marks[f"δ w.r.t. a¹ channel {c}"]
        back = dict(step.panels)[f"δ w.r.t. a¹ channel {c}"]
        blocks = marks.reshape(4, 2, 4, 2).sum(axis=(1, 3))
        assert (blocks == 1).all()  # one winner per 2×2 window
        assert not back[~marks].any()  # δ is zero off the winners
        winners_values = back[marks]
        assert set(np.round(winners_values, 12)) <= set(
            np.round(dict(step.panels)[f"δ² channel {c}"].ravel(), 12)
        )


def test_static_twin_draws_one_row_per_step_with_formula_and_check():
    steps = bw.backprop_trace(seed=0)
    fig = bw.draw_backprop_steps(steps, [1, 5, 9, 11])
    texts = [t.get_text() for sub in fig.subfigs for t in sub.texts]
    assert len(fig.subfigs) == 4
    assert sum("gradient check: max relative error" in t for t in texts) == 2  # steps 9 and 11
    assert any("a⁰ ⋆ W¹[c]" in t for t in texts)
    plt.close(fig)


def test_draw_arrays_writes_zeros_in_grey():
    fig = pw.draw_arrays([[("a", np.array([[0.0, 2.0]]))]])
    colours = [t.get_color() for t in fig.axes[0].texts]
    assert colours == ["0.45", "black"]
    plt.close(fig)


def test_connections_figure_has_one_line_per_input_output_pair():
    fig = bw.draw_input_gradient_connections()
    drawn = [line for line in fig.axes[0].lines if len(line.get_xdata()) == 2]
    assert len(drawn) == 16  # 3×3 input, 2×2 kernel: 4 outputs × 4 weights
    plt.close(fig)


def test_padding_stride_figure_hatches_never_visited_cells():
    state = cw.padding_stride_state(6, 3, 0, 2)
    assert state.left_over == 1
    fig = cw.draw_padding_stride(state)
    assert sum(p.get_hatch() == "xx" for p in fig.axes[0].patches) == 2
    plt.close(fig)
