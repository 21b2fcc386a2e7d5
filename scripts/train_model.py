"""Train LeNet-5 on the MNIST sample shipped with the course and save it as a model file.

What ``make model`` runs, so the README's command-line block has a ``lenet5.educnn`` to
work with before chapter 8 is reached (chapter 8 saves its own, from chapter 7's recipe)::

    python scripts/train_model.py                 # writes lenet5.educnn (about a minute)
    python scripts/train_model.py out.educnn      # somewhere else

The shipped sample (4,000 training and 1,000 test digits) needs no download; the recipe
is chapter 7's short one (Adam, lr 2e-3, batch 32). ``EDU_CNN_FAST=1`` trains one epoch on
1,000 digits (a few seconds; what the tests use).
"""

from __future__ import annotations

import argparse
import hashlib
import warnings
from pathlib import Path

from edu_cnn import init, modelfile, settings
from edu_cnn.data import SampleDataWarning, load_mnist
from edu_cnn.losses import CrossEntropyLoss
from edu_cnn.models import lenet5
from edu_cnn.optim import Adam
from edu_cnn.preprocess import normalize
from edu_cnn.training import fit


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", nargs="?", default="lenet5.educnn", type=Path)
    parser.add_argument(
        "--epochs", type=int, default=None, help="training epochs (default 4; EDU_CNN_FAST=1: 1)"
    )
    args = parser.parse_args(argv)
    fast = settings.fast_mode()
    epochs = args.epochs or (1 if fast else 4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SampleDataWarning)
        data = load_mnist(as_float=True, sample=True)
    if fast:
        data = data.subset(1000, 500)
    mean, std = float(data.x_train.mean()), float(data.x_train.std())
    x_train = normalize(data.x_train, mean, std)
    x_test = normalize(data.x_test, mean, std)
    init.manual_seed(0)
    model = lenet5()
    fit(
        model,
        CrossEntropyLoss(),
        Adam(model.parameters(), lr=2e-3),
        x_train,
        data.y_train,
        epochs=epochs,
        batch_size=32,
        seed=0,
        verbose=False,
    )
    model.eval()
    accuracy = float((model(x_test).argmax(axis=1) == data.y_test).mean())
    modelfile.save(
        model,
        args.output,
        input_shape=(1, 28, 28),
        mean=round(mean, 4),
        std=round(std, 4),
        class_names=[str(d) for d in range(10)],
        metadata={
            "trained_on": f"the MNIST sample shipped with edu-cnn ({len(data.y_train):,} digits)",
            "epochs": epochs,
            "test_accuracy": round(accuracy, 4),
        },
    )
    digest = hashlib.sha256(args.output.read_bytes()).hexdigest()
    print(
        f"wrote {args.output}: LeNet-5, {epochs} epoch{'s' if epochs > 1 else ''} on "
        f"{len(data.y_train):,} sample digits, test accuracy {accuracy:.1%} on "
        f"{len(data.y_test):,}; SHA-256 {digest}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
