"""Small made-up data sets for chapters 1–3, all seeded.

Classification sets return ``(x, y)`` with ``x`` float32 of shape (N, 2) and ``y``
int64 class indices of shape (N,). Regression sets return float32 arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..shapes import check_int

__all__ = [
    "LOGIC_GATES",
    "HousePrices",
    "circles",
    "house_prices",
    "linear_data",
    "logic_gate",
    "spirals",
    "two_moons",
    "xor_blobs",
]

#: Output column of each gate's truth table, for the inputs (0,0), (0,1), (1,0), (1,1)
#: (NOT: for the inputs 0, 1).
LOGIC_GATES: dict[str, tuple[int, ...]] = {
    "AND": (0, 0, 0, 1),
    "OR": (0, 1, 1, 1),
    "NAND": (1, 1, 1, 0),
    "NOR": (1, 0, 0, 0),
    "XOR": (0, 1, 1, 0),
    "XNOR": (1, 0, 0, 1),
    "NOT": (1, 0),
}


def logic_gate(name: str) -> tuple[np.ndarray, np.ndarray]:
    """The truth table of a logic gate (逻辑门) as a tiny data set.

    Parameters
    ----------
    name : str
        One of AND, OR, NAND, NOR, XOR, XNOR (two inputs) or NOT (one input);
        case does not matter.

    Returns
    -------
    x : numpy.ndarray
        float32 inputs, shape (4, 2) – rows (0,0), (0,1), (1,0), (1,1) – or (2, 1) for NOT.
    y : numpy.ndarray
        int64 outputs, shape (4,) or (2,).

    Examples
    --------
    >>> x, y = logic_gate("xor")
    >>> y.tolist()
    [0, 1, 1, 0]
    """
    key = str(name).upper()
    if key not in LOGIC_GATES:
        raise ValueError(f"logic_gate: expected one of {', '.join(LOGIC_GATES)}, got {name!r}")
    if key == "NOT":
        x = np.array([[0], [1]], dtype=np.float32)
    else:
        x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
    return x, np.array(LOGIC_GATES[key], dtype=np.int64)


def _check_n(function: str, n: int, minimum: int = 1) -> None:
    check_int(n, "n", function, minimum)


def linear_data(
    n: int = 50,
    weight: float = 2.0,
    bias: float = 1.0,
    noise: float = 1.0,
    x_range: tuple[float, float] = (0.0, 10.0),
    seed: int | None = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Points scattered around a straight line ``y = weight·x + bias``.

    Returns
    -------
    x : numpy.ndarray
        float32, shape (n, 1), uniform in ``x_range``.
    y : numpy.ndarray
        float32, shape (n,), the line plus Gaussian noise of standard deviation ``noise``.
    """
    _check_n("linear_data", n)
    rng = np.random.default_rng(seed)
    x = rng.uniform(*x_range, size=(n, 1))
    y = weight * x[:, 0] + bias + rng.normal(0.0, noise, size=n)
    return x.astype(np.float32), y.astype(np.float32)


@dataclass(frozen=True, eq=False)
class HousePrices:
    """A regression table whose features live on very different scales.

    Attributes
    ----------
    x : numpy.ndarray
        float32 (N, 3): floor area in m² (~30–200), rooms (1–7), distance to the
        centre in km (~0.5–30).
    y : numpy.ndarray
        float32 (N,): price in thousands of euros.
    feature_names, units : tuple of str
        Names and units of the columns of ``x``.
    true_weights, true_bias :
        The linear rule the prices were made with (before the noise), to compare
        a trained model with.
    """

    x: np.ndarray
    y: np.ndarray
    feature_names: tuple[str, ...]
    units: tuple[str, ...]
    target_name: str
    true_weights: np.ndarray
    true_bias: float


def house_prices(n: int = 200, noise: float = 20.0, seed: int | None = 0) -> HousePrices:
    """Made-up house prices from area (m²), rooms and distance (km) – for normalisation.

    The three features differ in scale by two orders of magnitude, so plain gradient
    descent on them needs a tiny learning rate and crawls (or diverges): the case for
    normalising features (chapter 2).

    Parameters
    ----------
    n : int
        Number of houses.
    noise : float
        Standard deviation of the price noise, in thousands of euros.
    seed : int, optional
        Random seed.
    """
    _check_n("house_prices", n)
    rng = np.random.default_rng(seed)
    area = rng.uniform(30.0, 200.0, size=n)
    rooms = np.clip(np.round(area / 30.0 + rng.normal(0.0, 0.7, size=n)), 1, 7)
    distance = rng.uniform(0.5, 30.0, size=n)
    x = np.stack([area, rooms, distance], axis=1)
    weights = np.array([3.0, 12.0, -4.0])  # k€ per m², per room, per km
    bias = 50.0
    y = x @ weights + bias + rng.normal(0.0, noise, size=n)
    return HousePrices(
        x=x.astype(np.float32),
        y=y.astype(np.float32),
        feature_names=("area", "rooms", "distance"),
        units=("m²", "rooms", "km"),
        target_name="price (k€)",
        true_weights=weights,
        true_bias=bias,
    )


def _class_sizes(n: int, classes: int) -> list[int]:
    """n split as evenly as possible into ``classes`` parts."""
    return [n // classes + (1 if k < n % classes else 0) for k in range(classes)]


def _shuffled(
    x: np.ndarray, y: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    order = rng.permutation(len(y))
    return x[order].astype(np.float32), y[order].astype(np.int64)


def two_moons(
    n: int = 200, noise: float = 0.1, seed: int | None = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles (class 0 on top, class 1 below and shifted).

    Returns ``x`` float32 (n, 2) and ``y`` int64 (n,), in random order.
    """
    _check_n("two_moons", n, 2)
    rng = np.random.default_rng(seed)
    n0, n1 = _class_sizes(n, 2)
    t0, t1 = rng.uniform(0, np.pi, n0), rng.uniform(0, np.pi, n1)
    upper = np.stack([np.cos(t0), np.sin(t0)], axis=1)
    lower = np.stack([1.0 - np.cos(t1), 0.5 - np.sin(t1)], axis=1)
    x = np.concatenate([upper, lower]) + rng.normal(0.0, noise, size=(n, 2))
    y = np.repeat([0, 1], [n0, n1])
    return _shuffled(x, y, rng)


def spirals(
    n: int = 300, classes: int = 3, noise: float = 0.2, turns: float = 1.0, seed: int | None = 0
) -> tuple[np.ndarray, np.ndarray]:
    """``classes`` spiral arms winding out from the centre, one class per arm.

    Returns ``x`` float32 (n, 2) within about [-1, 1]² and ``y`` int64 (n,) in 0…classes−1.
    ``noise`` jitters each point's angle (in radians).
    """
    _check_n("spirals", n, 1)
    check_int(classes, "classes", "spirals", 2)
    if n < classes:
        raise ValueError(f"spirals: n={n} is fewer than one point per class ({classes} classes)")
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for k, size in enumerate(_class_sizes(n, classes)):
        radius = np.linspace(0.05, 1.0, size)
        angle = 2 * np.pi * (turns * radius + k / classes) + rng.normal(0.0, noise, size)
        xs.append(np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1))
        ys.append(np.full(size, k))
    return _shuffled(np.concatenate(xs), np.concatenate(ys), rng)


def circles(
    n: int = 200, noise: float = 0.05, factor: float = 0.5, seed: int | None = 0
) -> tuple[np.ndarray, np.ndarray]:
    """A small circle (class 1, radius ``factor``) inside a big one (class 0, radius 1)."""
    _check_n("circles", n, 2)
    if not 0.0 < factor < 1.0:
        raise ValueError(f"circles: factor must be between 0 and 1, got {factor}")
    rng = np.random.default_rng(seed)
    n0, n1 = _class_sizes(n, 2)
    angle = rng.uniform(0, 2 * np.pi, n)
    radius = np.concatenate([np.ones(n0), np.full(n1, factor)])
    x = radius[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    x += rng.normal(0.0, noise, size=(n, 2))
    return _shuffled(x, np.repeat([0, 1], [n0, n1]), rng)


def xor_blobs(
    n: int = 200, spread: float = 0.3, seed: int | None = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Four Gaussian blobs at (±1, ±1); class 1 where exactly one coordinate is positive.

    The noisy version of the XOR truth table: no single line separates the classes.
    """
    _check_n("xor_blobs", n, 4)
    rng = np.random.default_rng(seed)
    centres = np.array([[-1, -1], [-1, 1], [1, -1], [1, 1]], dtype=np.float64)
    sizes = _class_sizes(n, 4)
    corner = np.repeat(np.arange(4), sizes)
    x = centres[corner] + rng.normal(0.0, spread, size=(n, 2))
    y = np.array(LOGIC_GATES["XOR"])[corner]
    return _shuffled(x, y, rng)
