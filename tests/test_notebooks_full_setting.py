"""Every chapter runs top to bottom in the setting a student is in: the full setting.

CI and the stored outputs use ``EDU_CNN_FAST=1`` (short runs); a student never sets it.
Here each notebook runs in a fresh kernel **without** ``EDU_CNN_FAST``, offline
(``EDU_CNN_OFFLINE=1``: the shipped MNIST / Fashion-MNIST sample, no download), and
must finish with no error in any cell. The notebooks run from a temporary copy of
``notebooks/`` (and ``images/``), so nothing they write lands in the repository, and
their outputs are thrown away. Each notebook's time is printed (``pytest -s``).

It takes minutes (on 2 cores under load: 25–190 s a notebook, 10 min in all), so
``make test`` leaves it out and ``make test-full-setting`` runs it.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
CELL_TIMEOUT_S = 900

pytestmark = [pytest.mark.slow, pytest.mark.full_setting]


@pytest.fixture(scope="module")
def course_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("full-setting")
    shutil.copytree(
        REPO / "notebooks", root / "notebooks", ignore=shutil.ignore_patterns(".ipynb_checkpoints")
    )
    if (REPO / "images").is_dir():
        shutil.copytree(REPO / "images", root / "images")
    return root / "notebooks"


def full_setting_env() -> dict[str, str]:
    """A student's kernel, offline: no EDU_CNN_FAST; one BLAS thread as in `make test`."""
    env = {k: v for k, v in os.environ.items() if k != "EDU_CNN_FAST"}
    env.update(
        EDU_CNN_OFFLINE="1",
        OPENBLAS_NUM_THREADS="1",
        OMP_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
        MPLBACKEND="module://matplotlib_inline.backend_inline",
    )
    return env


def _error_text(cell: dict) -> str:
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            return f"{output.get('ename')}: {output.get('evalue')}"
    return ""


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_in_the_full_setting_offline(course_copy: Path, notebook: Path) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    path = course_copy / notebook.name
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb,
        timeout=CELL_TIMEOUT_S,
        kernel_name="python3",
        allow_errors=True,
        record_timing=False,
        resources={"metadata": {"path": str(path.parent)}},
    )
    start = time.perf_counter()
    client.execute(env=full_setting_env())
    seconds = time.perf_counter() - start
    print(f"{notebook.name}: {seconds:.1f} s without EDU_CNN_FAST (offline, sample data)")
    expected = {
        i
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code"
        and (
            "raises-exception" in cell.metadata.get("tags", [])
            or cell.source.lstrip().startswith("# NBVAL_RAISES_EXCEPTION")
        )
    }
    failures = [
        f"cell {i} ({cell.source.strip().splitlines()[0][:70]!r}): {_error_text(cell)}"
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and i not in expected and _error_text(cell)
    ]
    assert not failures, (
        f"{notebook.name} fails in the full setting (offline, no "
        f"EDU_CNN_FAST) after {seconds:.0f} s:\n" + "\n".join(failures)
    )
