"""Accuracy benchmark: chapter 7's LeNet-5 recipe on MNIST and Fashion-MNIST.

Trains ``edu_cnn.models.lenet5()`` exactly as notebook 07 does – 10 % of the training set
held out for validation, pixels standardised with the training part's mean and standard
deviation, every training digit shifted by a random 0–2 pixels in each direction
(``RandomShift(2)``, data augmentation), Adam, the learning rate halved every 3 epochs,
early stopping on the validation loss (patience 3, best weights restored) – and prints
the test accuracy and the wall time of every epoch, for each seed (default 0, 1 and 2,
one after the other) and a summary at the end. Like the notebook, the shipped sample
(the notebook's short setting) takes mini-batches of 32 and lr 2·10⁻³, the full sets 64 and
10⁻³ (see ``RECIPES``). ``--shift 0`` trains without the shifts (the recipe before them).

This is a benchmark, not a test: a full run takes minutes per epoch on a laptop CPU.

    python benchmarks/lenet_accuracy.py                 # every data set that is here
    python benchmarks/lenet_accuracy.py fashion mnist   # the full sets only
    python benchmarks/lenet_accuracy.py sample --epochs 6 --seeds 0   # the notebook's CI setting
    python benchmarks/lenet_accuracy.py mnist --mnist-dir DIR         # MNIST IDX files from DIR

Data sets: ``mnist`` (the full MNIST from the cache, or from ``--mnist-dir DIR`` holding
the four IDX files – skipped when only the shipped sample is there), ``fashion``
(Fashion-MNIST: cache, Debian's ``dataset-fashion-mnist`` or a download), ``sample`` (the
MNIST sample shipped with the course, 4,000 + 1,000).
Targets: MNIST ≥ 99.2 % for every seed, Fashion-MNIST ≥ 90 % within 10 epochs; the sample
≥ 95 % in the notebook's 6 epochs. The exit status is 1 if any run misses its target.
"""

from __future__ import annotations

import argparse
import hashlib
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from edu_cnn.data import load_fashion_mnist, load_mnist, train_val_split
from edu_cnn.data.augment import RandomShift
from edu_cnn.data.errors import SampleDataWarning
from edu_cnn.data.idx import decompress, parse_idx
from edu_cnn.data.mnist import MNIST, Dataset
from edu_cnn.init import manual_seed
from edu_cnn.losses import CrossEntropyLoss
from edu_cnn.models import lenet5
from edu_cnn.optim import Adam, StepLR
from edu_cnn.training import EarlyStopping, evaluate, fit

TARGETS = {"mnist": 0.992, "fashion": 0.90, "sample": 0.95}
MNIST_DIR: Path | None = None  # --mnist-dir
# (batch size, initial learning rate), as notebook 07's
# `BATCH, LR = (32, 2e-3) if FAST else (64, 1e-3)`
RECIPES = {"sample": (32, 2e-3), "mnist": (64, 1e-3), "fashion": (64, 1e-3)}
SHIFT = 2  # data augmentation: random shifts of up to ±2 pixels (notebook 07's RandomShift(2))


def load_idx_folder(folder: Path, spec) -> Dataset:
    """The four uncompressed IDX files of ``spec`` from ``folder`` (any copy, e.g. one a
    package ships), each checked against the SHA-256 of the published contents."""
    arrays = []
    for remote, expected in zip(spec.files, spec.raw_sha256, strict=True):
        stem = remote.name.removesuffix(".gz")  # train-images-idx3-ubyte
        candidates = [folder / stem, folder / stem.replace("-idx", ".idx"), folder / remote.name]
        path = next((c for c in candidates if c.is_file()), None)
        if path is None:
            raise SystemExit(f"--mnist-dir: none of {[c.name for c in candidates]} is in {folder}")
        raw = path.read_bytes()
        raw = decompress(raw, str(path)) if path.suffix == ".gz" else raw
        if hashlib.sha256(raw).hexdigest() != expected:
            raise SystemExit(
                f"--mnist-dir: {path} is not the published {spec.name} file (SHA-256 differs)"
            )
        arrays.append(parse_idx(raw, str(path)))
    x_train, y_train, x_test, y_test = arrays
    as_float = [(x[:, None] / np.float32(255)).astype(np.float32) for x in (x_train, x_test)]
    return Dataset(
        as_float[0],
        y_train.astype(np.int64),
        as_float[1],
        y_test.astype(np.int64),
        spec.class_names,
        "folder",
        spec.name,
        str(folder),
    )


def load(name: str):
    """The data set, or None when only the shipped sample stands in for a full set."""
    if name == "mnist" and MNIST_DIR is not None:
        return load_idx_folder(MNIST_DIR, MNIST)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SampleDataWarning)
        data = load_fashion_mnist(as_float=True) if name == "fashion" else load_mnist(as_float=True)
    from_sample = data.source == "sample" or any(
        issubclass(w.category, SampleDataWarning) for w in caught
    )
    if name != "sample" and from_sample:
        return None
    return data


def run(name: str, epochs: int, seed: int, shift: int = SHIFT, batch_norm: bool = False) -> dict:
    data = load(name)
    if data is None:
        print(
            f"{name}: only the shipped sample is here – the full set is not in the cache; skipped"
        )
        return {}
    x_train, x_val, y_train, y_val = train_val_split(
        data.x_train, data.y_train, val_fraction=0.1, seed=seed
    )
    mean, std = float(x_train.mean()), float(x_train.std())

    def norm(x: np.ndarray) -> np.ndarray:
        return ((x - mean) / std).astype(np.float32)

    manual_seed(seed)
    model = lenet5(batch_norm=batch_norm)
    batch_size, lr = RECIPES[name]
    optimizer = Adam(model.parameters(), lr=lr)
    loss_fn = CrossEntropyLoss()
    stopper = EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True)

    class Report:
        def on_epoch_end(self, trainer, epoch, logs):
            print(
                f"  epoch {epoch + 1:2d}: train loss {logs['loss']:.4f}  "
                f"val accuracy {100 * logs['val_accuracy']:.2f} %  "
                f"{logs['time']:.1f} s  ({logs['images_per_second']:.0f} images/s)",
                flush=True,
            )

    print(
        f"{data.name} from {data.source!r}, seed {seed}: "
        f"{len(x_train):,} train / {len(x_val):,} validation / {len(data.x_test):,} test, "
        f"up to {epochs} epochs, batch {batch_size}, lr {lr:g}, "
        f"random shifts {f'±{shift} px' if shift else 'off'}, "
        f"batch norm {'on' if batch_norm else 'off'}",
        flush=True,
    )
    start = time.perf_counter()
    history = fit(
        model,
        loss_fn,
        optimizer,
        norm(x_train),
        y_train,
        epochs=epochs,
        batch_size=batch_size,
        validation_data=(norm(x_val), y_val),
        callbacks=[StepLR(optimizer, step_size=3, gamma=0.5), stopper, Report()],
        seed=seed,
        verbose=False,
        augment=RandomShift(shift, seed=seed) if shift else None,
    )
    total = time.perf_counter() - start
    test = evaluate(model, loss_fn, norm(data.x_test), data.y_test)
    target = TARGETS[name]
    verdict = "meets" if test["accuracy"] >= target else "MISSES"
    print(
        f"{data.name}, seed {seed}: test accuracy {100 * test['accuracy']:.2f} % after "
        f"{history.epochs} epochs (best epoch {stopper.best_epoch + 1}); "
        f"{verdict} the target {100 * target:.1f} %; {np.mean(history.epoch_time):.1f} s per "
        f"epoch, {total / 60:.1f} min in all",
        flush=True,
    )
    return {
        "name": name,
        "seed": seed,
        "accuracy": test["accuracy"],
        "epochs": history.epochs,
        "best_epoch": stopper.best_epoch + 1,
        "seconds_per_epoch": float(np.mean(history.epoch_time)),
        "minutes": total / 60,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("datasets", nargs="*", help="mnist, fashion, sample (default: all three)")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        default=[0, 1, 2],
        help="seeds to run one after the other (default: 0 1 2)",
    )
    parser.add_argument(
        "--shift",
        type=int,
        default=SHIFT,
        help=f"largest random shift in pixels, 0 for none (default {SHIFT})",
    )
    parser.add_argument(
        "--batch-norm",
        action="store_true",
        help="lenet5(batch_norm=True): batch normalisation after each hidden layer",
    )
    parser.add_argument(
        "--mnist-dir",
        type=Path,
        default=None,
        help="a folder with the four MNIST IDX files (plain or .gz), used instead "
        "of the cache; they are checked against the published contents",
    )
    args = parser.parse_args(argv)
    global MNIST_DIR
    MNIST_DIR = args.mnist_dir
    unknown = sorted(set(args.datasets) - set(TARGETS))
    if unknown:
        parser.error(f"unknown data sets {unknown}; choose from {sorted(TARGETS)}")
    print(
        f"Python {platform.python_version()}, numpy {np.__version__}, "
        f"{platform.processor() or platform.machine()}"
    )
    if args.shift < 0:
        parser.error("--shift must be 0 or more pixels")
    results = [
        run(name, args.epochs, seed, args.shift, args.batch_norm)
        for name in (args.datasets or ["sample", "fashion", "mnist"])
        for seed in args.seeds
    ]
    results = [r for r in results if r]
    if results:
        print("\nSummary (test accuracy on the restored best weights):")
        for r in results:
            print(
                f"  {r['name']:8s} seed {r['seed']}: {100 * r['accuracy']:.2f} %  "
                f"({r['epochs']} epochs, best {r['best_epoch']}, "
                f"{r['seconds_per_epoch']:.1f} s per epoch, {r['minutes']:.1f} min)"
            )
    return 0 if all(r["accuracy"] >= TARGETS[r["name"]] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
