"""Run notebooks top to bottom in a fresh kernel and store their outputs in place.

Used by ``make execute-notebooks`` after a notebook is edited, so that the outputs
nbval compares in ``make test`` are the fresh ones. Run it with the same settings as
the tests (the Makefile sets them).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from nbconvert.preprocessors import ExecutePreprocessor


def execute(path: Path, timeout: int = 600) -> float:
    notebook = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    ExecutePreprocessor(timeout=timeout, kernel_name="python3").preprocess(
        notebook, {"metadata": {"path": str(path.parent)}}
    )
    elapsed = time.perf_counter() - start
    nbformat.write(notebook, path)
    return elapsed


def main(paths: list[str]) -> int:
    for name in paths:
        elapsed = execute(Path(name))
        print(f"{name}: {elapsed:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
