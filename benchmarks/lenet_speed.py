"""How fast does edu_cnn train and run LeNet-5 on this CPU, next to PyTorch?

    .venv/bin/python benchmarks/lenet_speed.py            # full run (about 2 minutes)
    .venv/bin/python benchmarks/lenet_speed.py --quick    # a few seconds, rough numbers

LeNet-5 as in chapter 7: conv 6@5×5 pad 2 → ReLU → max-pool 2 → conv 16@5×5 → ReLU →
max-pool 2 → flatten → 120 → ReLU → 84 → ReLU → 10, on random MNIST-shaped data
(1×28×28, float32). One training step = forward, CrossEntropyLoss, backward, SGD update.

Fair play:
* both libraries start from the same weights and see the same batches (the first loss
  of each is printed – equal losses mean equal work);
* the same number of threads: OpenBLAS for numpy, intra-op threads for PyTorch;
* like PyTorch, which computes no gradient for an input that does not need one, the first
  convolution skips ∂L/∂x (``needs_input_grad = False``); ``--first-input-grad`` turns
  that off to show the cost;
* PyTorch runs in a child process (this script with ``--torch-worker``), so the memory
  figure of the edu_cnn process is its own; repetitions of the two alternate, so a burst
  of load from other programs hits both, and the ratio reported is the median of the
  per-repetition ratios.

PyTorch is optional (a benchmark-only extra, never a course dependency): without it only
the edu_cnn figures are printed.
"""

from __future__ import annotations

import argparse
import os
import sys

# The thread count must be fixed before numpy loads OpenBLAS.
_parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
_parser.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                     help="BLAS / PyTorch threads (default: all cores)")
_parser.add_argument("--reps", type=int, default=9, help="timed repetitions (median reported)")
_parser.add_argument("--seconds", type=float, default=0.5, help="target length of one repetition")
_parser.add_argument("--quick", action="store_true", help="3 short repetitions")
_parser.add_argument("--no-torch", action="store_true", help="skip PyTorch even if installed")
_parser.add_argument("--first-input-grad", action="store_true",
                     help="let the first convolution compute ∂L/∂x as well")
_parser.add_argument("--torch-worker", action="store_true", help=argparse.SUPPRESS)
ARGS = _parser.parse_args()
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = str(ARGS.threads)

import json
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


# -- the machine ----------------------------------------------------------------------------
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
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return f"{blas.get('name', '?')} {blas.get('version', '')}".strip()
    except Exception:  # noqa: BLE001 - only a label
        return "unknown BLAS"


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _wall_and_cpu(fn) -> tuple[float, float]:
    """Wall-clock seconds and CPU seconds of this process (all its threads) for ``fn()``."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def matmul_gflops(n: int = 1024, repeat: int = 7) -> float:
    """float32 n×n @ n×n in GFLOP/s (2n³ operations), best of ``repeat`` – the machine's scale."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    out = np.empty((n, n), np.float32)
    np.matmul(a, b, out=out)
    return 2 * n**3 / min(_timed(lambda: np.matmul(a, b, out=out)) for _ in range(repeat)) / 1e9


# -- the two models -----------------------------------------------------------------------
def batch_data(batch: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(batch)
    return rng.standard_normal((batch, 1, 28, 28), dtype=np.float32), rng.integers(0, 10, size=batch)


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


class EduRunner:
    """Training and inference steps of edu_cnn's LeNet-5 on one fixed batch."""

    def __init__(self, batch: int) -> None:
        self.batch = batch
        self.model = lenet_edu()
        # PyTorch computes no gradient for the input images; neither do we (see the docstring)
        self.model[0].needs_input_grad = ARGS.first_input_grad
        self.x, self.y = batch_data(batch)
        self.loss_fn = CrossEntropyLoss()
        self.opt = SGD(self.model.parameters(), lr=LR)

    def first_loss(self) -> float:
        return self.loss_fn(self.model(self.x), self.y)

    def train_step(self) -> None:
        self.model.train()
        self.loss_fn(self.model(self.x), self.y)
        self.model.backward(self.loss_fn.backward())
        self.opt.step()

    def infer_step(self) -> None:
        self.model.eval()
        self.model(self.x)

    def seconds(self, what: str, steps: int) -> tuple[float, float]:
        fn = getattr(self, f"{what}_step")
        return _wall_and_cpu(lambda: [fn() for _ in range(steps)])


class TorchRunner:
    """The same in PyTorch, same starting weights (edu_cnn uses PyTorch's names and layouts)."""

    def __init__(self, batch: int) -> None:
        import torch
        from torch import nn

        self.torch = torch
        self.model = nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(400, 120), nn.ReLU(),
            nn.Linear(120, 84), nn.ReLU(),
            nn.Linear(84, 10),
        )
        ours = [layer for layer in lenet_edu() if layer.parameters()]
        theirs = [layer for layer in self.model if isinstance(layer, (nn.Conv2d, nn.Linear))]
        with torch.no_grad():
            for a, b in zip(ours, theirs):
                b.weight.copy_(torch.from_numpy(a.weight.data))
                b.bias.copy_(torch.from_numpy(a.bias.data))
        x, y = batch_data(batch)
        self.x, self.y = torch.from_numpy(x), torch.from_numpy(y.astype(np.int64))
        self.loss_fn = nn.CrossEntropyLoss()
        self.opt = torch.optim.SGD(self.model.parameters(), lr=LR)

    def first_loss(self) -> float:
        with self.torch.no_grad():
            return self.loss_fn(self.model(self.x), self.y).item()

    def train_step(self) -> None:
        self.model.train()
        self.opt.zero_grad()
        self.loss_fn(self.model(self.x), self.y).backward()
        self.opt.step()

    def infer_step(self) -> None:
        self.model.eval()
        with self.torch.no_grad():
            self.model(self.x)

    def seconds(self, what: str, steps: int) -> tuple[float, float]:
        fn = getattr(self, f"{what}_step")
        return _wall_and_cpu(lambda: [fn() for _ in range(steps)])


def torch_worker() -> None:
    """Child process: answer one JSON command per line on stdin with one JSON line."""
    import torch

    torch.set_num_threads(ARGS.threads)
    runners = {b: TorchRunner(b) for b in BATCHES}
    for line in sys.stdin:
        cmd = json.loads(line)
        if cmd["op"] == "info":
            reply: object = {"version": torch.__version__, "threads": torch.get_num_threads()}
        elif cmd["op"] == "loss":
            reply = runners[cmd["batch"]].first_loss()
        elif cmd["op"] == "seconds":
            reply = runners[cmd["batch"]].seconds(cmd["what"], cmd["steps"])
        else:
            reply = peak_rss_mib()
        print(json.dumps(reply), flush=True)


class TorchProcess:
    """The parent's handle on the worker: same methods as a runner, answered by the child."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen([sys.executable, __file__, "--torch-worker", "--threads",
                                      str(ARGS.threads)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)

    def ask(self, **cmd) -> object:
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the PyTorch worker stopped")
        return json.loads(line)

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def torch_available() -> bool:
    try:
        import importlib.util
        return importlib.util.find_spec("torch") is not None
    except (ImportError, ValueError):
        return False


# -- measuring ------------------------------------------------------------------------------
def steps_for(seconds_of, target: float) -> int:
    """How many steps fill about ``target`` seconds (after a warm-up)."""
    seconds_of(2)
    once = min(seconds_of(1)[0] for _ in range(3))
    return max(3, int(target / max(once, 1e-6)))


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):7.0f} ({min(values):.0f}–{max(values):.0f})"


def table(title: str, rows: dict, with_torch: bool) -> None:
    print(f"\n{title}")
    header = f"{'':18s}{'edu_cnn':>22s}"
    if with_torch:
        header += f"{'PyTorch':>22s}{'edu/PyTorch':>14s}"
    print(header)
    for label, rates in rows.items():
        line = f"{label:18s}{spread(rates['edu_cnn']):>22s}"
        if with_torch:
            ratios = [e / t for e, t in zip(rates["edu_cnn"], rates["PyTorch"])]
            line += (f"{spread(rates['PyTorch']):>22s}{statistics.median(ratios):>9.2f} ×"
                     f"  ({min(ratios):.2f}–{max(ratios):.2f})")
        print(line)


def main() -> None:
    if ARGS.torch_worker:
        torch_worker()
        return
    reps, target = (3, 0.25) if ARGS.quick else (ARGS.reps, ARGS.seconds)
    load = os.getloadavg()
    print(f"CPU: {cpu_model()}, {os.cpu_count()} logical cores; load average "
          f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"Python {platform.python_version()}, numpy {np.__version__} with {blas_info()}, "
          f"OPENBLAS_NUM_THREADS={ARGS.threads}")
    print(f"float32 matmul 1024×1024: {matmul_gflops():.0f} GFLOP/s (best of 7)")

    edu = {b: EduRunner(b) for b in BATCHES}
    torch_proc = None
    if not ARGS.no_torch:
        if torch_available():
            torch_proc = TorchProcess()
            info = torch_proc.ask(op="info")
            print(f"PyTorch {info['version']} in a child process, torch.get_num_threads() = {info['threads']}")
            for b in BATCHES:
                print(f"batch {b}: first loss edu_cnn {edu[b].first_loss():.5f}, "
                      f"PyTorch {torch_proc.ask(op='loss', batch=b):.5f}")
        else:
            print("PyTorch is not installed: edu_cnn figures only (it is not a course dependency).")
    grad_note = "with" if ARGS.first_input_grad else "without"
    print(f"edu_cnn's first convolution {grad_note} ∂L/∂x\n")
    print(f"{reps} alternating repetitions of ≈{target:.2f} s each, training then inference",
          flush=True)
    wall_rows: dict[str, dict[str, list[float]]] = {}
    cpu_rows: dict[str, dict[str, list[float]]] = {}
    for what in ("train", "infer"):
        for b in BATCHES:
            def edu_seconds(steps, b=b, what=what):
                return edu[b].seconds(what, steps)

            def torch_seconds(steps, b=b, what=what):
                return tuple(torch_proc.ask(op="seconds", batch=b, what=what, steps=steps))

            timers = {"edu_cnn": edu_seconds}
            if torch_proc:
                timers["PyTorch"] = torch_seconds
            steps = {name: steps_for(fn, target) for name, fn in timers.items()}
            label = f"{what} batch {b}"
            wall_rows[label] = {name: [] for name in timers}
            cpu_rows[label] = {name: [] for name in timers}
            for _ in range(reps):
                for name, fn in timers.items():
                    wall, cpu = fn(steps[name])
                    wall_rows[label][name].append(steps[name] * b / wall)
                    cpu_rows[label][name].append(steps[name] * b / max(cpu, 1e-9))
    table("images/s (wall clock), median (min–max)", wall_rows, torch_proc is not None)
    table("images per CPU-second (all threads of the process; less sensitive to other "
          "programs' load)", cpu_rows, torch_proc is not None)

    load = os.getloadavg()
    memory = f"peak RSS: edu_cnn process {peak_rss_mib():.0f} MiB"
    if torch_proc:
        memory += f", PyTorch process {torch_proc.ask(op='rss'):.0f} MiB"
        torch_proc.close()
    print(f"\n{memory}; load average now {load[0]:.2f}")


if __name__ == "__main__":
    main()
