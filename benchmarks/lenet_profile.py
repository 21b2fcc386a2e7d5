"""Where does a LeNet-5 training step of edu_cnn spend its time? Per layer, per pass.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/lenet_profile.py            # batch 64 and 256
    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/lenet_profile.py --batches 256 --steps 20

Runs the plain API step of ``lenet_speed.py`` (``model.forward`` → loss → ``model.backward``
→ ``opt.step()``) and times every layer's ``forward`` and ``backward`` with the CPU clock
of this process (median over the steps), plus the loss and the optimiser step. Set the
thread count with ``OPENBLAS_NUM_THREADS`` (one thread shows the work most clearly).
``--cprofile`` prints the 25 functions with the most own time instead.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np

from edu_cnn.activations import ReLU
from edu_cnn.conv import Conv2d
from edu_cnn.linear import Flatten, Linear
from edu_cnn.losses import CrossEntropyLoss
from edu_cnn.optim import SGD
from edu_cnn.pooling import MaxPool2d
from edu_cnn.sequential import Sequential


def lenet(seed: int = 0) -> Sequential:
    rng = np.random.default_rng(seed)
    return Sequential(
        Conv2d(1, 6, 5, padding=2, rng=rng),
        ReLU(),
        MaxPool2d(2),
        Conv2d(6, 16, 5, rng=rng),
        ReLU(),
        MaxPool2d(2),
        Flatten(),
        Linear(400, 120, rng=rng),
        ReLU(),
        Linear(120, 84, rng=rng),
        ReLU(),
        Linear(84, 10, rng=rng),
    )


def profile(batch: int, steps: int) -> None:
    model = lenet()
    rng = np.random.default_rng(batch)
    x = rng.standard_normal((batch, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, size=batch)
    loss_fn = CrossEntropyLoss()
    opt = SGD(model.parameters(), lr=0.01)
    names = [f"{i} {type(layer).__name__}" for i, layer in enumerate(model)]
    times: dict[str, list[float]] = {}

    def clock(key: str, fn, *args):
        start = time.process_time()
        out = fn(*args)
        times.setdefault(key, []).append(time.process_time() - start)
        return out

    for _ in range(steps + 2):
        h = x
        for name, layer in zip(names, model):
            h = clock(f"forward  {name}", layer.forward, h)
        clock("loss forward", loss_fn, h, y)
        g = clock("loss backward", loss_fn.backward)
        for name, layer in zip(reversed(names), reversed(model.layers)):
            g = clock(f"backward {name}", layer.backward, g)
        clock("SGD step", opt.step)
    medians = {k: statistics.median(v[2:]) * 1e3 for k, v in times.items()}
    total = sum(medians.values())
    print(
        f"\nbatch {batch}, OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', '?')}, "
        f"load {os.getloadavg()[0]:.1f}: {total:.2f} ms CPU per step ({1e3 * total / batch:.1f} µs per image)"
    )
    print("| part | ms CPU | share |\n| --- | ---: | ---: |")
    for key, ms in medians.items():
        print(f"| {key} | {ms:.3f} | {100 * ms / total:.1f} % |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batches", default="64,256")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--cprofile", action="store_true")
    args = parser.parse_args()
    for batch in (int(b) for b in args.batches.split(",")):
        if args.cprofile:
            import cProfile
            import pstats

            profiler = cProfile.Profile(time.process_time)
            profiler.runcall(profile, batch, args.steps)
            pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
        else:
            profile(batch, args.steps)


if __name__ == "__main__":
    main()
