"""The shared widget machinery: pictures at their own size, the figure switch, the grid."""

from __future__ import annotations

import numpy as np
import pytest

from edu_cnn.plots import cell_lines, new_figure, value_grid
from edu_cnn.widgets.base import (
    MAX_PICTURE_WIDTH,
    Explorer,
    array_to_png,
    figure_to_png,
    fitting_dpi,
    images_in,
    picture,
    png_size,
    widget_figure,
)


def test_png_size_reads_the_header():
    png = array_to_png(np.zeros((7, 13)))
    assert png_size(png) == (13, 7)
    assert png_size(array_to_png(np.zeros((3, 5)), scale=4)) == (20, 12)


@pytest.mark.parametrize("data", [b"", b"GIF89a" + b"\0" * 30, b"\x89PNG\r\n\x1a\n" + b"\0" * 4])
def test_png_size_refuses_what_is_not_a_png(data):
    with pytest.raises(ValueError, match="png_size: expected PNG bytes"):
        png_size(data)


def test_picture_takes_the_width_of_each_png_it_shows():
    image = picture("educnn-test")
    assert "educnn-test" in image._dom_classes
    image.value = array_to_png(np.zeros((10, 123)))
    assert (image.layout.width, image.layout.height) == ("123px", "auto")
    image.value = array_to_png(np.zeros((10, 321)))
    assert image.layout.width == "321px"
    assert image.layout.max_width == "100%"
    image.value = b""  # cleared: hidden, no broken icon
    assert image.layout.display == "none"
    image.value = array_to_png(np.zeros((10, 5)))
    assert image.layout.display is None and image.layout.width == "5px"
    assert picture().layout.display == "none"  # nothing to show yet


def test_fitting_dpi_lowers_the_resolution_of_wide_figures_only():
    narrow, wide = new_figure(4, 3), new_figure(20, 3)
    wide.add_subplot().plot([0, 1], [0, 1])
    assert fitting_dpi(narrow, 80) == 80
    assert fitting_dpi(wide, 80) == pytest.approx(MAX_PICTURE_WIDTH / 20)
    width, _ = png_size(figure_to_png(wide, dpi=80))
    assert width <= MAX_PICTURE_WIDTH
    # a narrow figure keeps its resolution: 4" + 0.1" padding each side at 80 dpi
    assert png_size(figure_to_png(new_figure(4, 3), dpi=80))[0] == pytest.approx(4.2 * 80, abs=2)


def test_every_explorer_image_is_found_and_sized():
    import ipywidgets as widgets

    explorer = Explorer(
        {"n": widgets.IntSlider(value=3, min=1, max=9)},
        compute=lambda n: np.ones((n, 2 * n)),
        render=lambda a: array_to_png(a, scale=10),
        css_class="educnn-x",
    )
    (image,) = images_in(explorer)
    assert image is explorer.image and image.layout.width == "60px"
    explorer.controls["n"].value = 7
    assert image.layout.width == "140px"


def test_widget_figure_is_pyplot_only_when_asked():
    import matplotlib.pyplot as plt

    before = set(plt.get_fignums())
    bare = widget_figure((3, 2), pyplot=False)
    assert set(plt.get_fignums()) == before and tuple(bare.get_size_inches()) == (3, 2)
    shown = widget_figure((3, 2), pyplot=True)
    assert shown.number in plt.get_fignums()
    plt.close(shown)


def test_value_grid_writes_each_number_in_its_cell():
    fig = new_figure(3, 3)
    ax = fig.add_subplot()
    values = np.array([[1.0, -2.5], [0.004, 3.0]])
    image, texts = value_grid(ax, values, "kernel", mask=np.array([[True, False], [True, True]]))
    assert (
        texts.shape == (2, 2) and texts[0, 0].get_text() == "1" and texts[0, 1].get_text() == "-2.5"
    )
    assert texts[1, 0].get_text() == "0" and not texts[0, 1].get_visible()
    assert np.ma.getmaskarray(image.get_array())[0, 1] and ax.get_title() == "kernel"
    assert len(ax.get_xticks(minor=True)) == 3 and len(ax.get_xticks()) == 0
    with pytest.raises(ValueError, match="value_grid: expected a 2-D array"):
        value_grid(ax, np.zeros(3), "x")


def test_cell_lines_puts_a_line_between_every_pair_of_cells():
    ax = new_figure(3, 3).add_subplot()
    cell_lines(ax, 4, 6)
    assert list(ax.get_xticks(minor=True)) == [-0.5 + i for i in range(7)]
    assert list(ax.get_yticks(minor=True)) == [-0.5 + i for i in range(5)]
