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

import functools
import io
import struct
import threading
import time
from collections.abc import Callable, Mapping, Sequence
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
        raise ValueError(
            f"png_size: expected PNG bytes, got {len(png)} bytes starting {bytes(png[:8])!r}"
        )
    width, height = struct.unpack(">II", png[16:24])
    return int(width), int(height)


def fitting_dpi(
    fig: Any, dpi: float, max_width: int = MAX_PICTURE_WIDTH, pad_inches: float = 0.0
) -> float:
    """``dpi``, lowered if the figure (plus ``pad_inches`` each side) would be wider than
    ``max_width`` pixels at it.
    """
    width_inches = float(fig.get_size_inches()[0]) + 2 * pad_inches
    return min(float(dpi), max_width / width_inches) if width_inches > 0 else float(dpi)


def figure_to_png(
    fig: Any, dpi: float = 80, close: bool = True, max_width: int = MAX_PICTURE_WIDTH
) -> bytes:
    """Render a matplotlib figure to PNG bytes (and close it so it is not shown twice).

    The figure is drawn at ``dpi`` unless that would make it wider than ``max_width``
    pixels; then at the resolution that fits (see :func:`fitting_dpi`).
    """
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    # bbox_inches="tight" trims the empty margin and adds savefig.pad_inches (0.1") each side
    fig.savefig(
        buffer,
        format="png",
        dpi=fitting_dpi(fig, dpi, max_width, pad_inches=0.1),
        bbox_inches="tight",
        pad_inches=0.1,
    )
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
        image.layout.display = "none"  # no picture: no broken-image icon either
        return
    image.layout.display = None
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
    image.layout.display = "none"  # until it gets a picture
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


@functools.cache
def _colour_table(cmap: str) -> tuple[np.ndarray, np.ndarray]:
    """A colour map's N colours as (N, 3) floats and (N, 3) bytes (looked up, not called)."""
    from matplotlib import colormaps

    colours = colormaps[cmap]
    table = colours(np.arange(colours.N))[:, :3]
    return table, (table * 255).astype(np.uint8)  # bytes as matplotlib makes them


def _colour_indices(unit: np.ndarray, n: int) -> np.ndarray:
    """Which of ``n`` colours each value in 0…1 gets – the rule of matplotlib's Colormap."""
    return np.minimum((np.clip(unit, 0.0, 1.0) * n).astype(np.intp), n - 1)


def to_rgb(
    a: np.ndarray,
    cmap: str = "gray",
    vmin: float | None = None,
    vmax: float | None = None,
    bad: tuple[float, float, float] = (1.0, 1.0, 1.0),
) -> np.ndarray:
    """A 2-D array through a colour map: (H, W, 3) floats in 0…1; NaN cells get ``bad``.

    The limits default to the array's own (NaN ignored); a constant array is mapped to
    the colour map's low end.
    """
    a = np.asarray(a, dtype=np.float64)
    if a.ndim != 2:
        raise ValueError(f"to_rgb: expected a 2-D array, got shape {a.shape}")
    finite = np.isfinite(a)
    low = (float(a[finite].min()) if finite.any() else 0.0) if vmin is None else float(vmin)
    high = (float(a[finite].max()) if finite.any() else 1.0) if vmax is None else float(vmax)
    unit = (a - low) / (high - low) if high > low else np.zeros_like(a)
    table, _ = _colour_table(cmap)
    rgb = table[_colour_indices(np.nan_to_num(unit), len(table))]
    rgb[~finite] = bad
    return rgb


def upscale(rgb: np.ndarray, factor: int) -> np.ndarray:
    """Repeat every pixel ``factor``×``factor`` times (crisp, no smoothing)."""
    factor = int(factor)
    if factor < 1:
        raise ValueError(f"upscale: factor must be ≥ 1, got {factor}")
    return np.repeat(np.repeat(rgb, factor, axis=0), factor, axis=1) if factor > 1 else rgb


def side_by_side(
    pictures: Sequence[np.ndarray], gap: int = 8, background: float = 1.0
) -> np.ndarray:
    """(H, W, 3) pictures in one row, top-aligned, ``gap`` pixels of ``background`` between."""
    if not pictures:
        raise ValueError("side_by_side: expected at least one picture, got none")
    height = max(p.shape[0] for p in pictures)
    width = sum(p.shape[1] for p in pictures) + gap * (len(pictures) - 1)
    out = np.full((height, width, 3), background, dtype=np.float64)
    x = 0
    for p in pictures:
        out[: p.shape[0], x : x + p.shape[1]] = p[..., :3]
        x += p.shape[1] + gap
    return out


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
    from PIL import Image

    a = np.asarray(image, dtype=np.float64)
    if a.ndim == 2:
        low = float(np.nanmin(a)) if vmin is None else vmin
        high = float(np.nanmax(a)) if vmax is None else vmax
        unit = (a - low) / (high - low) if high > low else np.zeros_like(a)
        _, table = _colour_table(cmap)
        rgb = table[_colour_indices(np.nan_to_num(unit), len(table))]
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
        # rows wrap instead of squeezing their controls (a slider squeezed by long check-box
        # labels loses its track)
        rows = [
            widgets.HBox(
                items[i : i + controls_per_row], layout=widgets.Layout(flex_flow="row wrap")
            )
            for i in range(0, len(items), controls_per_row)
        ]
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


class BackgroundLoop:
    """Call ``step()`` in a background thread, at most ``fps`` times a second, until it
    returns False or :meth:`stop` is called – what makes a widget *live* (an animation of
    the learning rule, a network redrawn while it trains) while the kernel stays free to
    answer the buttons.

    Each call of ``step`` does one deterministic piece of work and redraws; the loop only
    decides *when* the next one runs, so a given seed gives the same frames however fast
    the machine is. ``on_end()`` runs in the thread after the last step (also after a stop).
    """

    def __init__(
        self, step: Callable[[], bool], fps: float = 5.0, on_end: Callable[[], None] | None = None
    ) -> None:
        if fps <= 0:
            raise ValueError(f"BackgroundLoop: fps must be > 0, got {fps}")
        self._step, self._period, self._on_end = step, 1.0 / float(fps), on_end
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.steps = 0
        self.error: BaseException | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start the loop (nothing happens if it is running already)."""
        if self.running:
            return
        self._stop.clear()
        self.steps = 0
        self.error = None
        self._thread = threading.Thread(target=self._run, name="edu-cnn-widget-loop", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Ask the loop to end after the current step."""
        self._stop.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the loop has ended; returns False if it still runs after ``timeout``."""
        if self._thread is not None:
            self._thread.join(timeout)
        return not self.running

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                started = time.perf_counter()
                more = self._step()
                self.steps += 1
                if not more:
                    break
                self._stop.wait(max(0.0, self._period - (time.perf_counter() - started)))
        except BaseException as error:  # noqa: BLE001 - kept for the caller, the thread ends
            self.error = error
        finally:
            if self._on_end is not None:
                self._on_end()


class LiveControls:
    """What a widget whose "train" button runs a :class:`BackgroundLoop` offers – the
    perceptron's animation and the boundary trainer share it. The widget keeps its loop in
    ``self._loop`` and starts it with ``self.train(fps=...)``.
    """

    FRAMES_PER_SECOND = 5.0
    _loop: BackgroundLoop | None = None

    def toggle_training(self) -> None:
        """The train button: start in the background, or stop what runs."""
        if self.training:
            self.stop()
        else:
            self.train(fps=self.FRAMES_PER_SECOND)  # type: ignore[attr-defined]

    @property
    def training(self) -> bool:
        """True while the background loop runs."""
        return self._loop is not None and self._loop.running

    def stop(self) -> None:
        """End the background loop after the current frame (or row)."""
        if self._loop is not None:
            self._loop.stop()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the background loop to end; False if it still runs after ``timeout``."""
        return self._loop.wait(timeout) if self._loop is not None else True
