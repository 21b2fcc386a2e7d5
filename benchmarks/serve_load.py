"""Load figures of ``python -m edu_cnn serve``: requests/s and p50 / p99 latency.

The service runs in its own process (``python -m edu_cnn serve MODEL --port 0``); 8 client
threads here each POST a digit image in a loop over their own connection per request
(HTTP/1.0, as the service speaks), on 127.0.0.1 only, for a bounded number of requests.
Two settings, alternated (A B A B) so a busy machine slows both alike:

* ``plain`` – just the 8 clients;
* ``idle``  – plus one connection held open that never sends a byte (re-opened whenever
  the service's 10 s request deadline closes it): before issue 17 it blocked everyone.

    python benchmarks/serve_load.py lenet5.educnn [--requests 400] [--onnx]
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def start_service(model: str, onnx: bool) -> tuple[subprocess.Popen, int]:
    command = [sys.executable, "-m", "edu_cnn", "serve", model, "--port", "0"]
    if onnx:
        command.append("--onnx")
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    child = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env
    )
    line = child.stdout.readline()
    port = int(re.search(r"http://127\.0\.0\.1:(\d+)", line).group(1))
    return child, port


def one_request(port: int, body: bytes) -> float:
    start = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("POST", "/predict", body=body)
    response = connection.getresponse()
    response.read()
    connection.close()
    if response.status != 200:
        raise RuntimeError(f"status {response.status}")
    return time.perf_counter() - start


def hold_idle(port: int, stop: threading.Event) -> None:
    while not stop.is_set():
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            sock.settimeout(0.2)
            while not stop.is_set():
                try:
                    if sock.recv(1024) == b"":  # the service closed it (deadline): re-open
                        break
                except TimeoutError:
                    continue
                except OSError:
                    break


def run(port: int, body: bytes, requests: int, clients: int, idle: bool) -> dict[str, float]:
    stop = threading.Event()
    idler = threading.Thread(target=hold_idle, args=(port, stop), daemon=True)
    if idle:
        idler.start()
        time.sleep(0.2)
    latencies: list[float] = []
    lock = threading.Lock()
    per_client = requests // clients

    def client() -> None:
        mine = [one_request(port, body) for _ in range(per_client)]
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    elapsed = time.perf_counter() - start
    stop.set()
    if idle:
        idler.join(timeout=5)
    latencies.sort()
    return {
        "rps": len(latencies) / elapsed,
        "p50": statistics.median(latencies) * 1e3,
        "p99": latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))] * 1e3,
        "n": len(latencies),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", default="lenet5.educnn")
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--onnx", action="store_true")
    parser.add_argument("--image", default=str(ROOT / "examples" / "three.png"))
    args = parser.parse_args()
    body = Path(args.image).read_bytes()
    child, port = start_service(args.model, args.onnx)
    try:
        for _ in range(20):  # warm up
            one_request(port, body)
        results: dict[str, list[dict[str, float]]] = {"plain": [], "idle": []}
        for _ in range(2):
            for setting in ("plain", "idle"):
                results[setting].append(
                    run(port, body, args.requests, args.clients, setting == "idle")
                )
    finally:
        child.terminate()
        child.wait(timeout=10)
    print(
        f"serve {args.model} ({'ONNX Runtime' if args.onnx else 'numpy'}), {args.clients} "
        f"clients, {args.requests} POSTs of {Path(args.image).name} per run, load average "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    for setting, runs in results.items():
        for r in runs:
            print(
                f"  {setting:<5}: {r['rps']:6.0f} requests/s   p50 {r['p50']:6.1f} ms   "
                f"p99 {r['p99']:6.1f} ms   ({r['n']} requests)"
            )


if __name__ == "__main__":
    main()
