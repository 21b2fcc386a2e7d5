"""How fast does edu_cnn train and run LeNet-5 on this CPU, next to PyTorch – through the plain API?

    .venv/bin/python benchmarks/lenet_speed.py            # full run (several minutes)
    .venv/bin/python benchmarks/lenet_speed.py --quick    # about a minute, rough numbers
    .venv/bin/python benchmarks/lenet_speed.py --threads 1 --batches 64,256

LeNet-5 as in chapter 7: conv 6@5×5 pad 2 → ReLU → max-pool 2 → conv 16@5×5 → ReLU →
max-pool 2 → flatten → 120 → ReLU → 84 → ReLU → 10, on random MNIST-shaped data
(1×28×28, float32). One training step is exactly what a student writes::

    loss = loss_fn(model.forward(x), y)
    model.backward(loss_fn.backward())
    opt.step()

with no private flags. Inference is ``model.eval()`` and ``model.forward(x)``.

Fair play:
* both libraries start from the same weights and see the same batches (the first loss
  of each is printed – equal losses mean equal work);
* the same number of threads: ``OPENBLAS_NUM_THREADS`` for edu_cnn, whose layers cut their
  big passes into pieces on that many threads while OpenBLAS itself runs on one inside
  them (``edu_cnn.threads``), intra-op threads for PyTorch;
* **each library runs in its own child process** (this script with ``--worker``), one
  pair of processes per thread count; repetitions of the two alternate, so a burst of
  load from other programs hits both, and the ratio reported is the median of the
  per-repetition ratios;
* two clocks: images per wall-clock second and images per CPU-second of the worker
  process (all its threads – steadier on a machine other programs load);
* the load average (``os.getloadavg``, 1 minute) is printed beside every row: numbers
  taken at a load above the number of cores are noisy;
* GFLOP/s counts the multiply-adds the network needs (2 FLOP each): forward, the weight
  gradients and the input gradients of every layer but the first (which neither library
  computes: ``model.backward(δ)`` skips it by default, PyTorch's input has no
  ``requires_grad``) – the same count for both, next to the machine's float32 matmul peak
  (1024×1024 @ 1024×1024, best of 7, same thread count);
* peak memory: a fresh edu_cnn worker that only trains and runs batch 256 reports its
  peak resident set (the interpreter and numpy included; its size right after start-up
  is printed too).

``--with-input-grad`` also measures ``model.backward(δ, input_grad=True)`` side by side (the
column "edu ∂x"): what asking for ∂L/∂images costs (saliency maps, ``gradcheck``).

The last lines say which of issue 20's targets this run meets (per CPU-second, at each
thread count measured).

PyTorch is optional (a benchmark-only extra, never a course dependency): without it only
the edu_cnn figures are printed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time


def _int_list(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        values = []
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(
            f"expected positive integers separated by commas, got {text!r}"
        )
    return values


_parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
_parser.add_argument(
    "--threads",
    type=_int_list,
    default=[1, 2],
    help="BLAS / PyTorch thread counts, comma-separated (default 1,2)",
)
_parser.add_argument(
    "--batches",
    type=_int_list,
    default=[1, 16, 64, 256, 1024],
    help="batch sizes, comma-separated (default 1,16,64,256,1024)",
)
_parser.add_argument("--reps", type=int, default=7, help="timed repetitions (median reported)")
_parser.add_argument("--seconds", type=float, default=0.4, help="target length of one repetition")
_parser.add_argument("--quick", action="store_true", help="3 short repetitions")
_parser.add_argument("--no-torch", action="store_true", help="skip PyTorch even if installed")
_parser.add_argument(
    "--with-input-grad",
    action="store_true",
    help="also measure model.backward(δ, input_grad=True): the cost of asking for ∂L/∂images",
)
_parser.add_argument("--worker", choices=("edu", "edu-dx", "torch"), help=argparse.SUPPRESS)
_parser.add_argument("--worker-threads", type=int, default=1, help=argparse.SUPPRESS)
ARGS = _parser.parse_args()

LR = 0.01
MEMORY_BATCH = 256

# multiply-adds per image of LeNet-5 (forward): conv1, conv2, the three linear layers
_MACS = {
    "conv1": 6 * 28 * 28 * 1 * 25,
    "conv2": 16 * 10 * 10 * 6 * 25,
    "linear": 400 * 120 + 120 * 84 + 84 * 10,
}
FLOP_INFER = 2 * sum(_MACS.values())
# training: forward + every weight gradient (as many multiply-adds as the forward pass)
# + every input gradient except the first layer's (nobody needs ∂L/∂images)
FLOP_TRAIN = 2 * (2 * sum(_MACS.values()) + _MACS["conv2"] + _MACS["linear"])

# issue 20, per CPU-second against PyTorch: (training or inference, batch) → least ratio
TARGETS = {("train", 64): 1.2, ("train", 256): 1.0, ("train", 1024): 1.0, ("infer", 64): 1.2}
TARGETS[("infer", 256)] = 1.2
MEMORY_TARGET_MIB = 200


# -- the machine ----------------------------------------------------------------------------
def peak_rss_mib() -> float:
    """Peak resident memory of this process so far (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def load1() -> float:
    return os.getloadavg()[0]


def cpu_model() -> str:
    try:
        out = subprocess.run(
            ["lscpu"], capture_output=True, text=True, timeout=5, check=False
        ).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return platform.processor() or platform.machine()


def _wall_and_cpu(fn) -> tuple[float, float]:
    """Wall-clock seconds and CPU seconds of this process (all its threads) for ``fn()``."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


# -- the workers (child processes) ----------------------------------------------------------
def _edu_worker_runner_class():
    import numpy as np

    from edu_cnn.losses import CrossEntropyLoss
    from edu_cnn.optim import SGD

    class EduRunner:
        """Training and inference steps of edu_cnn's LeNet-5 on one fixed batch, plain API."""

        def __init__(self, batch: int, input_grad: bool) -> None:
            self.model = lenet_edu()
            self.input_grad = input_grad  # only for the "edu ∂x" column
            self.x, self.y = batch_data(np, batch)
            self.loss_fn = CrossEntropyLoss()
            self.opt = SGD(self.model.parameters(), lr=LR)

        def first_loss(self) -> float:
            return float(self.loss_fn(self.model.forward(self.x), self.y))

        def train_step(self) -> None:
            self.model.train()
            self.loss_fn(self.model.forward(self.x), self.y)
            if self.input_grad:
                self.model.backward(self.loss_fn.backward(), input_grad=True)
            else:
                self.model.backward(self.loss_fn.backward())  # what a student writes
            self.opt.step()

        def infer_step(self) -> None:
            self.model.eval()
            self.model.forward(self.x)

    return EduRunner


def batch_data(np, batch: int):
    rng = np.random.default_rng(batch)
    return rng.standard_normal((batch, 1, 28, 28), dtype=np.float32), rng.integers(
        0, 10, size=batch
    )


def lenet_edu(seed: int = 0):
    """Chapter 7's ``lenet5()``, its weights drawn after ``manual_seed(seed)``."""
    from edu_cnn.init import manual_seed
    from edu_cnn.models import lenet5

    manual_seed(seed)
    return lenet5()


def _torch_worker_runner_class():
    import numpy as np
    import torch
    from torch import nn

    class TorchRunner:
        """The same in PyTorch, same starting weights (edu_cnn uses PyTorch's names and layouts)."""

        def __init__(self, batch: int, _input_grad: bool) -> None:
            self.model = nn.Sequential(
                nn.Conv2d(1, 6, 5, padding=2),
                nn.ReLU(),
                nn.MaxPool2d(2),
                nn.Conv2d(6, 16, 5),
                nn.ReLU(),
                nn.MaxPool2d(2),
                nn.Flatten(),
                nn.Linear(400, 120),
                nn.ReLU(),
                nn.Linear(120, 84),
                nn.ReLU(),
                nn.Linear(84, 10),
            )
            ours = [layer for layer in lenet_edu() if layer.parameters()]
            theirs = [layer for layer in self.model if isinstance(layer, (nn.Conv2d, nn.Linear))]
            with torch.no_grad():
                for a, b in zip(ours, theirs, strict=True):
                    b.weight.copy_(torch.from_numpy(a.weight.data))
                    b.bias.copy_(torch.from_numpy(a.bias.data))
            x, y = batch_data(np, batch)
            self.x, self.y = torch.from_numpy(x), torch.from_numpy(y.astype(np.int64))
            self.loss_fn = nn.CrossEntropyLoss()
            self.opt = torch.optim.SGD(self.model.parameters(), lr=LR)

        def first_loss(self) -> float:
            with torch.no_grad():
                return self.loss_fn(self.model(self.x), self.y).item()

        def train_step(self) -> None:
            self.model.train()
            self.opt.zero_grad()
            self.loss_fn(self.model(self.x), self.y).backward()
            self.opt.step()

        def infer_step(self) -> None:
            self.model.eval()
            with torch.no_grad():
                self.model(self.x)

    return TorchRunner


def matmul_gflops(n: int = 1024, repeat: int = 7) -> tuple[float, float]:
    """float32 n×n @ n×n (2n³ operations), best of ``repeat``: GFLOP per wall-second and per
    CPU-second (all threads) – the machine's scale."""
    import numpy as np

    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    out = np.empty((n, n), np.float32)
    np.matmul(a, b, out=out)
    times = [_wall_and_cpu(lambda: np.matmul(a, b, out=out)) for _ in range(repeat)]
    return (
        2 * n**3 / min(t[0] for t in times) / 1e9,
        2 * n**3 / max(min(t[1] for t in times), 1e-9) / 1e9,
    )


def worker() -> None:
    """Child process: answer one JSON command per line on stdin with one JSON line."""
    kind = ARGS.worker
    if kind == "torch":
        import torch

        torch.set_num_threads(ARGS.worker_threads)
        runner_class = _torch_worker_runner_class()
        version = (
            f"PyTorch {torch.__version__}, torch.get_num_threads() = {torch.get_num_threads()}"
        )
    else:
        import numpy as np

        runner_class = _edu_worker_runner_class()
        version = f"numpy {np.__version__}"
    runners: dict[int, object] = {}
    print(json.dumps(peak_rss_mib()), flush=True)  # size after start-up
    for line in sys.stdin:
        cmd = json.loads(line)
        batch = cmd.get("batch")
        if batch is not None and batch not in runners:
            runners[batch] = runner_class(batch, kind == "edu-dx")
        op = cmd["op"]
        if op == "info":
            reply: object = version
        elif op == "peak":
            reply = matmul_gflops()
        elif op == "loss":
            reply = runners[batch].first_loss()
        elif op == "seconds":
            fn, steps = getattr(runners[batch], f"{cmd['what']}_step"), cmd["steps"]
            reply = _wall_and_cpu(lambda fn=fn, steps=steps: [fn() for _ in range(steps)])
        else:
            reply = peak_rss_mib()
        print(json.dumps(reply), flush=True)


class Worker:
    """The parent's handle on one child process."""

    def __init__(self, kind: str, threads: int) -> None:
        env = dict(os.environ)
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            env[var] = str(threads)  # fixed before numpy / torch load their thread pools
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--worker", kind, "--worker-threads", str(threads)],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.startup_rss = float(self._read())

    def _read(self) -> object:
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("a benchmark worker stopped")
        return json.loads(line)

    def ask(self, **cmd) -> object:
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        return self._read()

    def seconds(self, batch: int, what: str, steps: int) -> tuple[float, float]:
        wall, cpu = self.ask(op="seconds", batch=batch, what=what, steps=steps)
        return wall, cpu

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


def torch_available() -> bool:
    try:
        import importlib.util

        return importlib.util.find_spec("torch") is not None
    except (ImportError, ValueError):
        return False


# -- measuring ------------------------------------------------------------------------------
def steps_for(worker: Worker, batch: int, what: str, target: float) -> int:
    """How many steps fill about ``target`` seconds (after a warm-up)."""
    worker.seconds(batch, what, 1)
    once = min(worker.seconds(batch, what, 1)[0] for _ in range(2))
    return max(2, int(target / max(once, 1e-6)))


def _median_ratio(a: list[float], b: list[float]) -> float:
    return statistics.median(x / y for x, y in zip(a, b, strict=True))


def measure(threads: int, libraries: list[str], reps: int, target: float) -> dict:
    workers = {name: Worker(kind, threads) for name, kind in libraries}
    first = next(iter(workers.values()))
    infos = ", ".join(f"{n}: {w.ask(op='info')}" for n, w in workers.items())
    print(f"\n=== {threads} thread(s); {infos}")
    peak = tuple(first.ask(op="peak"))
    print(
        f"float32 matmul 1024×1024 peak: {peak[0]:.0f} GFLOP/s wall, {peak[1]:.0f} GFLOP per "
        f"CPU-second (best of 7), load {load1():.2f}"
    )
    for b in ARGS.batches:
        losses = ", ".join(f"{n} {w.ask(op='loss', batch=b):.5f}" for n, w in workers.items())
        print(f"batch {b}: first loss {losses}")
    rows = []
    for what in ("train", "infer"):
        for b in ARGS.batches:
            steps = {n: steps_for(w, b, what, target) for n, w in workers.items()}
            wall = {n: [] for n in workers}
            cpu = {n: [] for n in workers}
            load_start = load1()
            for _ in range(reps):
                for n, w in workers.items():
                    t_wall, t_cpu = w.seconds(b, what, steps[n])
                    wall[n].append(steps[n] * b / t_wall)
                    cpu[n].append(steps[n] * b / max(t_cpu, 1e-9))
            row = {
                "what": what,
                "batch": b,
                "wall": wall,
                "cpu": cpu,
                "load": (load_start + load1()) / 2,
            }
            rows.append(row)
            print_row(row, workers, what)
    for w in workers.values():
        w.close()
    return {"threads": threads, "peak": peak, "rows": rows}


def print_row(row: dict, workers: dict, what: str) -> None:
    flop = FLOP_TRAIN if what == "train" else FLOP_INFER
    parts = [f"{what} {row['batch']:>5d}"]
    names = list(workers)
    for n in names:
        wall, cpu = statistics.median(row["wall"][n]), statistics.median(row["cpu"][n])
        parts.append(
            f"{n} {wall:8.0f}/s wall {cpu:8.0f}/CPU-s {wall * flop / 1e9:5.1f} GFLOP/s "
            f"{cpu * flop / 1e9:5.1f} GFLOP/CPU-s ({1e3 * row['batch'] / wall:7.2f} ms/batch)"
        )
    if "PyTorch" in workers:
        for n in names:
            if n != "PyTorch":
                wall = _median_ratio(row["wall"][n], row["wall"]["PyTorch"])
                cpu = _median_ratio(row["cpu"][n], row["cpu"]["PyTorch"])
                parts.append(f"{n}/PyTorch wall {wall:.2f}× CPU {cpu:.2f}×")
    parts.append(f"load {row['load']:.1f}")
    print(" | ".join(parts), flush=True)


def summary(result: dict, names: list[str]) -> None:
    """A markdown table of one thread count (what benchmarks/README.md quotes)."""
    print(
        f"\n{result['threads']} thread(s), matmul peak {result['peak'][0]:.0f} GFLOP/s wall, "
        f"{result['peak'][1]:.0f} GFLOP per CPU-second; "
        f"images/s (wall) · images per CPU-second · ratios to PyTorch (median of the "
        f"per-repetition ratios)\n"
    )
    head = ["", *[f"{n} wall" for n in names], *[f"{n} CPU" for n in names]]
    others = [n for n in names if n != "PyTorch"]
    if "PyTorch" in names:
        head += [f"{n}/PyTorch CPU (wall)" for n in others]
    head += [
        f"{others[0]} GFLOP/s wall · per CPU-s",
        f"{others[0]} ms per batch (wall)",
        f"{others[0]} µs CPU per image",
        "load",
    ]
    print("| " + " | ".join(head) + " |")
    print("| --- |" + " ---: |" * (len(head) - 1))
    for row in result["rows"]:
        flop = FLOP_TRAIN if row["what"] == "train" else FLOP_INFER
        med = {(k, n): statistics.median(row[k][n]) for k in ("wall", "cpu") for n in names}
        cells = [f"{row['what']} {row['batch']}"]
        cells += [f"{med['wall', n]:,.0f}" for n in names]
        cells += [f"{med['cpu', n]:,.0f}" for n in names]
        if "PyTorch" in names:
            cells += [
                f"{_median_ratio(row['cpu'][n], row['cpu']['PyTorch']):.2f} × "
                f"({_median_ratio(row['wall'][n], row['wall']['PyTorch']):.2f} ×)"
                for n in others
            ]
        first = others[0]
        cells += [
            f"{med['wall', first] * flop / 1e9:.1f} · {med['cpu', first] * flop / 1e9:.1f}",
            f"{1e3 * row['batch'] / med['wall', first]:.2f}",
            f"{1e6 / med['cpu', first]:.0f}",
            f"{row['load']:.1f}",
        ]
        print("| " + " | ".join(cells) + " |")


def memory(threads: int) -> float:
    """Peak RSS (MiB) of a fresh edu_cnn process that trains and runs batch 256 only."""
    w = Worker("edu", threads)
    for what in ("train", "infer"):
        w.seconds(MEMORY_BATCH, what, 3)
    peak = float(w.ask(op="rss"))
    w.close()
    print(
        f"\npeak RSS of an edu_cnn process training and running batch {MEMORY_BATCH} "
        f"({threads} thread(s)): {peak:.0f} MiB (after start-up: {w.startup_rss:.0f} MiB); "
        f"load {load1():.2f}"
    )
    return peak


def targets(results: list[dict], peaks: dict[int, float]) -> None:
    """One line per target of issue 20 and thread count: met or not, with the number."""
    print("\nIssue 20's targets (edu_cnn through the plain API / PyTorch, per CPU-second):")
    met_all = True
    for result in results:
        t = result["threads"]
        rows = {(row["what"], row["batch"]): row for row in result["rows"]}
        for (what, batch), least in TARGETS.items():
            row = rows.get((what, batch))
            if row is None or "PyTorch" not in row["cpu"]:
                print(f"  {t} thread(s): {what} {batch} ≥ {least} × – not measured")
                continue
            ratio = _median_ratio(row["cpu"]["edu_cnn"], row["cpu"]["PyTorch"])
            met = ratio >= least
            met_all &= met
            print(
                f"  {t} thread(s): {what} {batch} ≥ {least} ×: {ratio:.2f} × – "
                f"{'met' if met else 'NOT met'} (load {row['load']:.1f})"
            )
        row = rows.get(("infer", 1))
        if row is not None and "PyTorch" in row["wall"]:
            ours, theirs = (1e3 / statistics.median(row["wall"][n]) for n in ("edu_cnn", "PyTorch"))
            met = ours <= theirs
            met_all &= met
            print(
                f"  {t} thread(s): batch-1 latency ≤ PyTorch's: {ours:.2f} ms vs "
                f"{theirs:.2f} ms – {'met' if met else 'NOT met'}"
            )
        else:
            print(f"  {t} thread(s): batch-1 latency – not measured (add batch 1)")
        peak = peaks[t]
        met = peak <= MEMORY_TARGET_MIB
        met_all &= met
        print(
            f"  {t} thread(s): peak memory at batch {MEMORY_BATCH} ≤ {MEMORY_TARGET_MIB} MiB: "
            f"{peak:.0f} MiB – {'met' if met else 'NOT met'}"
        )
    print("All targets measured here are met." if met_all else "Not every target is met.")


def main() -> None:
    if ARGS.worker:
        worker()
        return
    reps, target = (3, 0.2) if ARGS.quick else (ARGS.reps, ARGS.seconds)
    load = os.getloadavg()
    print(
        f"CPU: {cpu_model()}, {os.cpu_count()} logical cores; load average "
        f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )
    print(
        f"Python {platform.python_version()}; {reps} alternating repetitions of ≈{target:.2f} s; "
        f"FLOP per image: training {FLOP_TRAIN / 1e6:.2f} M, inference {FLOP_INFER / 1e6:.2f} M"
    )
    libraries = [("edu_cnn", "edu")]
    if ARGS.with_input_grad:
        libraries.append(("edu ∂x", "edu-dx"))
    if not ARGS.no_torch:
        if torch_available():
            libraries.append(("PyTorch", "torch"))
        else:
            print("PyTorch is not installed: edu_cnn figures only (it is not a course dependency).")
    print(
        "edu_cnn: the plain API (model.forward → loss → model.backward(δ) → opt.step)"
        + (
            "; edu ∂x: the same with model.backward(δ, input_grad=True)"
            if ARGS.with_input_grad
            else ""
        )
    )
    results = [measure(t, libraries, reps, target) for t in ARGS.threads]
    names = [n for n, _ in libraries]
    for result in results:
        summary(result, names)
    peaks = {t: memory(t) for t in ARGS.threads}
    if "PyTorch" in names:
        targets(results, peaks)
    else:
        print("\nIssue 20's targets are ratios to PyTorch: not checked without it.")
    load = os.getloadavg()
    print(f"load average at the end {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    main()
