"""The one pattern every widget of the course follows.

A widget is three things:

1. a **pure function** ``compute(**control_values) -> state`` that does all the work and
   is unit-tested without any front end;
2. a **drawing function** ``draw(state) -> matplotlib Figure`` (or ``render(state) ->
   PNG bytes`` for speed) – called once it is the widget's *static twin*, the figure that
   slides, static pages and CI show;
3. an :class:`Explorer` that wires ipywidgets controls to the two: every time a control
   moves it recomputes the state and replaces the picture.

Pictures are shown in :class:`ipywidgets.Image` widgets rather than Output widgets: they
redraw without flicker, nbval ignores them, and their last picture is saved with the
notebook so an exported slide deck still shows it.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

# Import-light: ipywidgets and matplotlib are imported where they are used, so that
# `import edu_cnn` stays fast and works without a notebook front end.


def figure_to_png(fig: Any, dpi: int = 80, close: bool = True) -> bytes:
    """Render a matplotlib figure to PNG bytes (and close it so it is not shown twice)."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    if close:
        plt.close(fig)
    return buffer.getvalue()


def array_to_png(
    image: np.ndarray,
    cmap: str = "gray",
    vmin: float | None = None,
    vmax: float | None = None,
    scale: int = 1,
) -> bytes:
    """Encode a 2-D array (through a colour map) or an (H, W, 3) RGB array as PNG bytes.

    Much faster than a matplotlib figure (a few ms for 512×512), which is what keeps
    image widgets such as the kernel explorer under 100 ms per update. ``scale`` repeats
    each pixel ``scale`` times so tiny arrays (a 5×5 kernel) are visible.
    """
    from matplotlib import colormaps
    from PIL import Image

    a = np.asarray(image, dtype=np.float64)
    if a.ndim == 2:
        low = float(np.nanmin(a)) if vmin is None else vmin
        high = float(np.nanmax(a)) if vmax is None else vmax
        unit = (a - low) / (high - low) if high > low else np.zeros_like(a)
        rgb = colormaps[cmap](np.clip(unit, 0.0, 1.0), bytes=True)[..., :3]
    elif a.ndim == 3 and a.shape[2] in (3, 4):
        rgb = np.clip(a[..., :3] * (255.0 if a.max() <= 1.0 else 1.0), 0, 255).astype(np.uint8)
    else:
        raise ValueError(f"array_to_png: expected (H, W) or (H, W, 3), got shape {a.shape}")
    if scale > 1:
        rgb = np.repeat(np.repeat(rgb, scale, axis=0), scale, axis=1)
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb)).save(buffer, format="png", compress_level=1)
    return buffer.getvalue()


class Explorer:
    """Controls wired to a pure function and a renderer.

    Parameters
    ----------
    controls : mapping of name → ipywidgets control
        Their ``value``s are passed to ``compute`` as keyword arguments.
    compute : callable
        ``compute(**values) -> state``; pure, tested on its own.
    render : callable
        ``render(state) -> bytes`` (a PNG), e.g. ``lambda s: figure_to_png(draw(s))``.
    css_class : str
        Added to the container so browser tests can find it (e.g. ``educnn-kernel-explorer``).
    caption : callable, optional
        ``caption(state) -> str`` (HTML) shown under the picture.

    Attributes
    ----------
    state : the last value ``compute`` returned (notebooks and tests assert on it).
    last_update_ms : how long the last recompute + redraw took.
    widget : the ipywidgets container to display (``display(explorer)`` works too).
    """

    def __init__(
        self,
        controls: Mapping[str, Any],
        compute: Callable[..., Any],
        render: Callable[[Any], bytes],
        css_class: str,
        caption: Callable[[Any], str] | None = None,
        image_class: str | None = None,
        caption_class: str | None = None,
        controls_per_row: int = 4,
    ) -> None:
        import ipywidgets as widgets

        self.controls = dict(controls)
        self._compute = compute
        self._render = render
        self._caption = caption
        self.image = widgets.Image(format="png")
        if image_class:
            self.image.add_class(image_class)
        self.caption = widgets.HTML()
        if caption_class:
            self.caption.add_class(caption_class)
        items = list(self.controls.values())
        rows = [widgets.HBox(items[i:i + controls_per_row])
                for i in range(0, len(items), controls_per_row)]
        self.widget = widgets.VBox([*rows, self.image, self.caption])
        self.widget.add_class(css_class)
        self.state: Any = None
        self.last_update_ms = 0.0
        for control in items:
            control.observe(self._on_change, names="value")
        self.update()

    def values(self) -> dict[str, Any]:
        """The current value of every control by name."""
        return {name: control.value for name, control in self.controls.items()}

    def update(self) -> Any:
        """Recompute the state from the controls and redraw; returns the state."""
        start = time.perf_counter()
        self.state = self._compute(**self.values())
        self.image.value = self._render(self.state)
        if self._caption is not None:
            self.caption.value = self._caption(self.state)
        self.last_update_ms = (time.perf_counter() - start) * 1000.0
        return self.state

    def _on_change(self, _change: Any) -> None:
        self.update()

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)
