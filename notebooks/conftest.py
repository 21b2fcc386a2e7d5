"""nbval runs every notebook here; the PyTorch appendix only where PyTorch is installed.

PyTorch is optional for students (about 700 MB), so on a machine without it the appendix's
cells are skipped with the reason shown by pytest; CI installs a CPU build and runs them.
"""

from __future__ import annotations

import importlib.util

import pytest

NEEDS_TORCH = ("A1_pytorch.ipynb",)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if importlib.util.find_spec("torch") is not None:
        return
    skip = pytest.mark.skip(reason="PyTorch is not installed (pip install torch): appendix A1 "
                                   "needs it; CI installs a CPU build")
    for item in items:
        if item.path.name in NEEDS_TORCH:
            item.add_marker(skip)
