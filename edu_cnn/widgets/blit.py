"""Fast redraws for plot widgets: draw the fixed parts of a figure once, then only what moves.

A widget figure has a fixed background – axes, ticks, labels, contour lines – and a few
artists that change with the controls (a path, a curve, a title). Drawing everything on
every slider move takes 100–300 ms on a laptop; :class:`BlitRenderer` draws the
background once, keeps its pixels, and per update pastes them back and draws only the
changing artists (matplotlib's "blitting"), then encodes the pixels with
:func:`~edu_cnn.widgets.base.array_to_png`: 10–30 ms.

The same figure without a renderer is the widget's static twin: nothing is marked
animated there, so ``savefig`` or the notebook's inline display draws all of it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from .base import array_to_png, fitting_dpi

#: The resolution of plot widgets: 10-pt text is 12.5 px tall, readable on a laptop screen
#: (at 72 dpi it was 10 px); figures wider than MAX_PICTURE_WIDTH are drawn at less.
WIDGET_DPI = 90


class BlitRenderer:
    """Render ``fig`` to PNG, redrawing only ``artists`` once the background is cached.

    Parameters
    ----------
    fig : matplotlib Figure (made with ``matplotlib.figure.Figure``, no pyplot needed)
    artists : the artists that change between updates; they are marked animated, so
        they are left out of the cached background.
    dpi : the resolution of the picture (lowered if the figure would be wider than
        :data:`~edu_cnn.widgets.base.MAX_PICTURE_WIDTH` at it).
    """

    def __init__(self, fig: Any, artists: Iterable[Any], dpi: int = WIDGET_DPI) -> None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        self.fig = fig
        self.fig.set_dpi(fitting_dpi(fig, dpi))
        self.canvas = FigureCanvasAgg(fig)
        self.artists = list(artists)
        for artist in self.artists:
            artist.set_animated(True)
        self._background: Any = None

    def invalidate(self) -> None:
        """Forget the cached background (after a change to axes limits, ticks or contours)."""
        self._background = None

    def render(self) -> bytes:
        """The figure as PNG bytes: cached background + the animated artists drawn fresh."""
        if self._background is None:
            self.canvas.draw()  # draws everything not animated
            self._background = self.canvas.copy_from_bbox(self.fig.bbox)
        else:
            self.canvas.restore_region(self._background)
        for artist in self.artists:
            if artist.get_visible():
                self.fig.draw_artist(artist)
        pixels = np.asarray(self.canvas.buffer_rgba())[..., :3]
        return array_to_png(pixels)


def blit_render(figure: Any) -> Callable[[Any], bytes]:
    """The ``render`` of an :class:`~edu_cnn.widgets.base.Explorer` over a figure class
    built with ``fast=True``: ``figure.update(state)``, then its :class:`BlitRenderer`
    redraws only the artists that change.
    """

    def render(state: Any) -> bytes:
        return figure.update(state).renderer.render()

    return render


class UpdatingRenderer:
    """PNG of a widget state through a figure class, redrawing only what changed.

    ``figure_class(state, pyplot=False)`` must build a figure with attributes ``fig`` and
    ``animated`` (the artists that change) and a method ``update(state)``. The figure is
    built on the first call and again whenever ``key(state)`` changes (a new layout, e.g.
    another padding or window size); otherwise it is updated in place and redrawn by a
    :class:`BlitRenderer`.
    """

    def __init__(
        self,
        figure_class: Callable[..., Any],
        key: Callable[[Any], Any] = lambda state: None,
        dpi: int = WIDGET_DPI,
    ) -> None:
        self._figure_class, self._key_of, self._dpi = figure_class, key, dpi
        self._key: Any = object()
        self._figure: Any = None
        self._renderer: BlitRenderer | None = None

    def __call__(self, state: Any) -> bytes:
        key = self._key_of(state)
        if self._figure is None or self._renderer is None or key != self._key:
            self._figure = self._figure_class(state, pyplot=False)
            self._renderer = BlitRenderer(self._figure.fig, self._figure.animated, dpi=self._dpi)
            self._key = key
        else:
            self._figure.update(state)
        return self._renderer.render()
