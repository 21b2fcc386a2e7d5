"""How fast does edu_cnn train and run LeNet-5 on this CPU, next to PyTorch?

    .venv/bin/python benchmarks/lenet_speed.py            # full run (~1–2 minutes)
    .venv/bin/python benchmarks/lenet_speed.py --quick    # a few seconds, rough numbers

LeNet-5 as in chapter 7: conv 6@5×5 pad 2 → ReLU → max-pool 2 → conv 16@5×5 → ReLU →
max-pool 2 → flatten → 120 → ReLU → 84 → ReLU → 10, on random MNIST-shaped data
(1×28×28, float32). One training step = forward, CrossEntropyLoss, backward, SGD update.

Both libraries get the same weights, the same batches and the same number of threads
(OpenBLAS for numpy, intra-op threads for PyTorch). Repetitions of edu_cnn and PyTorch
alternate, so a burst of load from other processes hits both; the ratio reported is the
median of the per-repetition ratios. PyTorch is optional (a benchmark-only extra, not a
course dependency): without it only the edu_cnn figures are printed.
"""

from __future__ import annotations

import argparse
import os
import sys

# The thread count must be fixed before numpy loads OpenBLAS.
_parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
_parser.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                     help="BLAS / PyTorch threads (default: all cores)")
_parser.add_argument("--reps", type=int, default=7, help="timed repetitions (median reported)")
_parser.add_argument("--seconds", type=float, default=0.6, help="target length of one repetition")
_parser.add_argument("--quick", action="store_true", help="3 short repetitions")
_parser.add_argument("--no-torch", action="store_true", help="skip PyTorch even if installed")
ARGS = _parser.parse_args()
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = str(ARGS.threads)

import platform
import resource
import statistics
import subprocess
import time

import numpy as np

from edu_cnn.activations import ReLU
from edu_cnn.conv import Conv2d
from edu_cnn.linear import Flatten, Linear
from edu_cnn.losses import CrossEntropyLoss
from edu_cnn.optim import SGD
from edu_cnn.pooling import MaxPool2d
from edu_cnn.sequential import Sequential

BATCHES = (64, 256)
LR = 0.01


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def cpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=5, check=False).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return platform.processor() or platform.machine()


def blas_info() -> str:
    try:
        config = np.show_config(mode="dicts")
        blas = config["Build Dependencies"]["blas"]
        return f"{blas.get('name', '?')} {blas.get('version', '')}".strip()
    except Exception:  # noqa: BLE001 - only a label
        return "unknown BLAS"


def matmul_gflops(n: int = 1024, repeat: int = 5) -> float:
    """float32 n×n @ n×n in GFLOP/s (2n³ operations) – the machine's scale."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    out = np.empty((n, n), np.float32)
    np.matmul(a, b, out=out)
    best = min(_timed(lambda: np.matmul(a, b, out=out)) for _ in range(repeat))
    return 2 * n**3 / best / 1e9


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def lenet_edu(seed: int = 0) -> Sequential:
    rng = np.random.default_rng(seed)
    return Sequential(
        Conv2d(1, 6, 5, padding=2, rng=rng), ReLU(), MaxPool2d(2),
        Conv2d(6, 16, 5, rng=rng), ReLU(), MaxPool2d(2),
        Flatten(),
        Linear(400, 120, rng=rng), ReLU(),
        Linear(120, 84, rng=rng), ReLU(),
        Linear(84, 10, rng=rng),
    )


def lenet_torch(edu_model: Sequential):
    import torch
    from torch import nn

    model = nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(),
        nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, 10),
    )
    # the same starting weights: edu_cnn uses PyTorch's names and layouts
    ours = [layer for layer in edu_model if layer.parameters()]
    theirs = [layer for layer in model if any(True for _ in layer.parameters())]
    with torch.no_grad():
        for a, b in zip(ours, theirs):
            b.weight.copy_(torch.from_numpy(a.weight.data))
            b.bias.copy_(torch.from_numpy(a.bias.data))
    return model


class EduRunner:
    """Train / infer steps of edu_cnn's LeNet-5 on fixed batches."""

    name = "edu_cnn"

    def __init__(self, model: Sequential, x: np.ndarray, y: np.ndarray) -> None:
        self.model, self.x, self.y = model, x, y
        self.loss_fn = CrossEntropyLoss()
        self.opt = SGD(model.parameters(), lr=LR)

    def train_step(self) -> float:
        self.model.train()
        loss = self.loss_fn(self.model(self.x), self.y)
        self.model.backward(self.loss_fn.backward())
        self.opt.step()
        return loss

    def infer_step(self) -> None:
        self.model.eval()
        self.model(self.x)


class TorchRunner:
    name = "PyTorch"

    def __init__(self, model, x: np.ndarray, y: np.ndarray) -> None:
        import torch

        self.torch = torch
        self.model = model
        self.x, self.y = torch.from_numpy(x), torch.from_numpy(y.astype(np.int64))
        self.loss_fn = torch.nn.CrossEntropyLoss()
        self.opt = torch.optim.SGD(model.parameters(), lr=LR)

    def train_step(self) -> float:
        self.model.train()
        self.opt.zero_grad()
        loss = self.loss_fn(self.model(self.x), self.y)
        loss.backward()
        self.opt.step()
        return loss.item()

    def infer_step(self) -> None:
        self.model.eval()
        with self.torch.no_grad():
            self.model(self.x)


def steps_for(fn, seconds: float) -> int:
    """How many calls of ``fn`` fill about ``seconds`` (after a warm-up call)."""
    fn()
    once = min(_timed(fn) for _ in range(3))
    return max(3, int(seconds / max(once, 1e-6)))


def images_per_second(fn, steps: int, batch: int) -> float:
    start = time.perf_counter()
    for _ in range(steps):
        fn()
    return steps * batch / (time.perf_counter() - start)


def measure(runners: list, what: str, batch: int, reps: int, seconds: float) -> dict[str, list[float]]:
    """Alternate the runners ``reps`` times; images/s of every repetition by runner name."""
    fns = {r.name: getattr(r, f"{what}_step") for r in runners}
    steps = {name: steps_for(fn, seconds) for name, fn in fns.items()}
    rates: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(reps):
        for name, fn in fns.items():
            rates[name].append(images_per_second(fn, steps[name], batch))
    return rates


def spread(values: list[float]) -> str:
    lo, hi = min(values), max(values)
    return f"{statistics.median(values):8.0f}  (min {lo:.0f}, max {hi:.0f})"


def main() -> None:
    reps, seconds = (3, 0.25) if ARGS.quick else (ARGS.reps, ARGS.seconds)
    load_before = os.getloadavg()
    print(f"CPU: {cpu_model()}, {os.cpu_count()} logical cores; load average "
          f"{load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}")
    print(f"Python {platform.python_version()}, numpy {np.__version__} with {blas_info()}, "
          f"{ARGS.threads} BLAS thread(s) (OPENBLAS_NUM_THREADS)")
    print(f"float32 matmul 1024×1024: {matmul_gflops():.0f} GFLOP/s")

    rng = np.random.default_rng(0)
    data = {b: (rng.standard_normal((b, 1, 28, 28), dtype=np.float32),
                rng.integers(0, 10, size=b)) for b in BATCHES}

    # edu_cnn alone first, so its memory peak is not mixed up with PyTorch's
    edu = {b: EduRunner(lenet_edu(), *data[b]) for b in BATCHES}
    for b in BATCHES:
        steps_for(edu[b].train_step, 0.1)
        steps_for(edu[b].infer_step, 0.1)
    edu_rss = peak_rss_mib()

    torch_runners = {}
    if not ARGS.no_torch:
        try:
            import torch
        except ImportError:
            print("PyTorch is not installed: edu_cnn figures only "
                  "(pip install torch to compare; it is not a course dependency).")
        else:
            torch.set_num_threads(ARGS.threads)
            print(f"PyTorch {torch.__version__}, torch.get_num_threads() = {torch.get_num_threads()}")
            for b in BATCHES:
                torch_runners[b] = TorchRunner(lenet_torch(edu[b].model), *data[b])
                # same weights, same batch → the same first loss (a check that the work is equal)
                with torch.no_grad():
                    t_loss = float(torch_runners[b].loss_fn(torch_runners[b].model(torch_runners[b].x),
                                                            torch_runners[b].y))
                e_loss = edu[b].loss_fn(edu[b].model(edu[b].x), edu[b].y)
                print(f"batch {b}: first loss edu_cnn {e_loss:.5f}, PyTorch {t_loss:.5f}")

    print(f"\n{reps} repetitions of ≈{seconds:.2f} s each, alternating; images/s, median (min, max)")
    header = f"{'':24s}{'edu_cnn':>30s}"
    if torch_runners:
        header += f"{'PyTorch':>32s}{'edu/PyTorch':>14s}"
    print(header)
    for what in ("train", "infer"):
        for b in BATCHES:
            runners = [edu[b]] + ([torch_runners[b]] if torch_runners else [])
            rates = measure(runners, what, b, reps, seconds)
            line = f"{what + ' batch ' + str(b):24s}{spread(rates['edu_cnn']):>30s}"
            if torch_runners:
                ratios = [e / t for e, t in zip(rates["edu_cnn"], rates["PyTorch"])]
                line += f"{spread(rates['PyTorch']):>32s}{statistics.median(ratios):>11.2f} ×"
                line += f"   (ratios {min(ratios):.2f}–{max(ratios):.2f})"
            print(line, flush=True)

    load_after = os.getloadavg()
    print(f"\npeak RSS: edu_cnn alone {edu_rss:.0f} MiB, whole process {peak_rss_mib():.0f} MiB; "
          f"load average now {load_after[0]:.2f}")


if __name__ == "__main__":
    main()
