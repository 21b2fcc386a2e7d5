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
notebook so an exported slide deck still shows it. Every such image is made by
:func:`picture`, which shows each PNG at its own size (never stretched by the page).
"""

from __future__ import annotations

import io
import struct
import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

# Import-light: ipywidgets and matplotlib are imported where they are used, so that
# `import edu_cnn` stays fast and works without a notebook front end.


#: The widest picture a widget shows, in CSS pixels: a notebook cell's output area is about
#: 930 px wide in JupyterLab on a 1366×768 laptop screen; wider figures are drawn at a lower
#: resolution so that they fit instead of being shrunk (or stretched) by the browser.
MAX_PICTURE_WIDTH = 900


def png_size(png: bytes) -> tuple[int, int]:
    """The (width, height) in pixels of PNG bytes, read from the header.

    Raises
    ------
    ValueError
        If ``png`` does not start with a PNG signature and an IHDR chunk.
    """
    if len(png) < 24 or png[:8] != b"\x89PNG\r\n\x1a\n" or png[12:16] != b"IHDR":
        raise ValueError(f"png_size: expected PNG bytes, got {len(png)} bytes "
                         f"starting {bytes(png[:8])!r}")
    width, height = struct.unpack(">II", png[16:24])
    return int(width), int(height)


def fitting_dpi(fig: Any, dpi: float, max_width: int = MAX_PICTURE_WIDTH,
                pad_inches: float = 0.0) -> float:
    """``dpi``, lowered if the figure (plus ``pad_inches`` each side) would be wider than
    ``max_width`` pixels at it."""
    width_inches = float(fig.get_size_inches()[0]) + 2 * pad_inches
    return min(float(dpi), max_width / width_inches) if width_inches > 0 else float(dpi)


def figure_to_png(fig: Any, dpi: float = 80, close: bool = True,
                  max_width: int = MAX_PICTURE_WIDTH) -> bytes:
    """Render a matplotlib figure to PNG bytes (and close it so it is not shown twice).

    The figure is drawn at ``dpi`` unless that would make it wider than ``max_width``
    pixels; then at the resolution that fits (see :func:`fitting_dpi`).
    """
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    # bbox_inches="tight" trims the empty margin and adds savefig.pad_inches (0.1") each side
    fig.savefig(buffer, format="png", dpi=fitting_dpi(fig, dpi, max_width, pad_inches=0.1),
                bbox_inches="tight", pad_inches=0.1)
    if close:
        plt.close(fig)
    return buffer.getvalue()


def widget_figure(figsize: tuple[float, float], pyplot: bool = True) -> Any:
    """A figure for a widget class: through pyplot for the static twin, plain otherwise.

    ``pyplot=True`` (the static twin in a notebook cell) registers the figure with pyplot so
    the inline backend shows it; ``pyplot=False`` (inside a live widget) makes a bare
    :class:`matplotlib.figure.Figure`, which is never shown twice and is safe off the main
    thread.
    """
    if pyplot:
        import matplotlib.pyplot as plt

        return plt.figure(figsize=figsize)
    from matplotlib.figure import Figure

    return Figure(figsize=figsize)


def _show_at_own_size(change: Mapping[str, Any]) -> None:
    """Observer of an Image's ``value``: give the ``<img>`` the width of its picture."""
    image, png = change["owner"], change["new"]
    if not png:
        return
    try:
        width, _ = png_size(png)
    except ValueError:
        return  # not a PNG (e.g. a JPEG set by hand): leave the layout alone
    image.layout.width = f"{width}px"
    image.layout.height = "auto"


def picture(css_class: str | None = None) -> Any:
    """An :class:`ipywidgets.Image` that shows every PNG it is given at the PNG's own size.

    Without this the page stretches a picture to the width of the cell (a 460 px figure
    drawn at 930 px, blurry) – the image is a flex item of its container. Each time
    ``value`` changes, the layout width is set to the picture's pixel width (height
    follows, ``max-width`` keeps it inside a narrower window). All widget pictures of the
    course are made here.
    """
    import ipywidgets as widgets

    image = widgets.Image(format="png")
    image.layout.max_width = "100%"
    image.observe(_show_at_own_size, names="value")
    if css_class:
        image.add_class(css_class)
    return image


def images_in(widget: Any) -> list[Any]:
    """Every :class:`ipywidgets.Image` inside ``widget`` (depth first), for tests and benchmarks."""
    import ipywidgets as widgets

    root = getattr(widget, "widget", widget)
    if isinstance(root, widgets.Image):
        return [root]
    found: list[Any] = []
    for child in getattr(root, "children", ()) or ():
        found.extend(images_in(child))
    return found


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
        self.image = picture(image_class)
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
