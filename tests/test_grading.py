"""``python -m edu_cnn grade``: a folder of submissions the test writes gives the expected
CSV and feedback, within bounded time.

The submissions answer chapter 4's two exercises (``conv_output_size``,
``cross_correlate2d``): right, partly wrong, empty stubs, an endless loop (in a cell and
in an exercise), a cell that raises, a copied reference (imported and pasted), and a
file that is not JSON. Real kernels run them (nbclient), so this takes ~1 minute.
"""

from __future__ import annotations

import csv
import time
from pathlib import Path

import nbformat
import pytest

from edu_cnn import cli, grading
from edu_cnn.exercises.checker import solution_source

pytestmark = pytest.mark.slow

IMPORTS = "import numpy as np\nfrom edu_cnn.exercises import check, show_solution"
SIZE_RIGHT = "def conv_output_size(n, k, p=0, s=1):\n    return (n - k + 2 * p) // s + 1"
SIZE_WRONG = "def conv_output_size(n, k, p=0, s=1):\n    return (n - k + 2 * p) // s   # no + 1"
SIZE_STUB = (
    "def conv_output_size(n, k, p=0, s=1):\n    raise NotImplementedError   # your code here"
)
SIZE_LOOP = "def conv_output_size(n, k, p=0, s=1):\n    while True:\n        n += 1"
CORR_RIGHT = """def cross_correlate2d(image, kernel):
    kh, kw = kernel.shape
    h, w = image.shape[0] - kh + 1, image.shape[1] - kw + 1
    return np.array([[(image[i:i + kh, j:j + kw] * kernel).sum() for j in range(w)]
                     for i in range(h)])"""
CORR_FLIPPED = """def cross_correlate2d(image, kernel):
    kernel = kernel[::-1, ::-1]          # true convolution: flipped
    kh, kw = kernel.shape
    h, w = image.shape[0] - kh + 1, image.shape[1] - kw + 1
    return np.array([[(image[i:i + kh, j:j + kw] * kernel).sum() for j in range(w)]
                     for i in range(h)])"""
CORR_STUB = "def cross_correlate2d(image, kernel):\n    raise NotImplementedError"
CHECKS = [
    'check("conv_output_size", conv_output_size)',
    'check("cross_correlate2d", cross_correlate2d)',
]


def _notebook(path: Path, *cells: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Chapter 4 – my answers")]
    nb.cells += [nbformat.v4.new_code_cell(source) for source in cells]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)
    return path


@pytest.fixture(scope="module")
def submissions(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("submitted")
    _notebook(folder / "right.ipynb", IMPORTS, SIZE_RIGHT, CHECKS[0], CORR_RIGHT, CHECKS[1])
    _notebook(folder / "partly.ipynb", IMPORTS, SIZE_RIGHT, CHECKS[0], CORR_FLIPPED, CHECKS[1])
    _notebook(folder / "stubs.ipynb", IMPORTS, SIZE_STUB, CHECKS[0], CORR_STUB, CHECKS[1])
    _notebook(folder / "loops.ipynb", IMPORTS, "while True:\n    pass", SIZE_LOOP, CORR_RIGHT)
    _notebook(folder / "raises.ipynb", IMPORTS, SIZE_RIGHT, "1 / 0", CORR_RIGHT, CHECKS[1])
    _notebook(
        folder / "copied.ipynb",
        IMPORTS,
        "from edu_cnn.exercises.checker import get_exercise\n"
        'conv_output_size = get_exercise("conv_output_size").reference',
        'show_solution("cross_correlate2d")',
        "# pasted from show_solution, comments and all\n"
        + solution_source("cross_correlate2d").replace("    out = ", "    out  =  "),
        CHECKS[1],
    )
    (folder / "broken.ipynb").write_text('{"cells": [ this is not JSON', encoding="utf-8")
    nested = folder / "zoe" / "chapter4"
    nested.mkdir(parents=True)
    _notebook(nested / "04_convolution.ipynb", IMPORTS, SIZE_RIGHT, CORR_RIGHT)
    return folder


LIMITS = {"cell_timeout": 6, "exercise_timeout": 4, "notebook_timeout": 60}


@pytest.fixture(scope="module")
def graded(submissions: Path, tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("grades") / "grades.csv"
    start = time.monotonic()
    results = grading.grade_folder(submissions, "04", out, **LIMITS)
    elapsed = time.monotonic() - start
    with out.open(encoding="utf-8") as handle:
        rows = {row["student"]: row for row in csv.DictReader(handle)}
    return results, rows, out, elapsed


def test_one_row_per_student_a_column_per_exercise(graded) -> None:
    _, rows, out, elapsed = graded
    assert set(rows) == {"right", "partly", "stubs", "loops", "raises", "copied", "broken", "zoe"}
    header = out.read_text(encoding="utf-8").splitlines()[0].split(",")
    assert header[:3] == ["student", "conv_output_size", "cross_correlate2d"]
    # 8 kernels, two interrupted loops: bounded by the limits, not by the loops
    assert elapsed < 8 * 45, f"grading took {elapsed:.0f} s"


def test_statuses(graded) -> None:
    _, rows, _, _ = graded
    status = {
        s: (r["conv_output_size"], r["cross_correlate2d"], r["passed"]) for s, r in rows.items()
    }
    assert status["right"] == ("pass", "pass", "2")
    assert status["zoe"] == ("pass", "pass", "2")  # student folder, no check() calls
    assert status["partly"] == ("pass", "fail", "1")
    assert status["stubs"] == ("not done", "not done", "0")
    assert status["loops"] == ("timeout", "pass", "1")
    assert status["raises"] == ("pass", "pass", "2")  # a failing cell stops nothing
    assert status["broken"] == ("not run", "not run", "0")
    for student in ("right", "partly", "stubs", "loops", "raises", "zoe"):
        assert rows[student]["flags"] == "", student
        assert rows[student]["references"] == "package"


def test_copied_references_are_flagged(graded) -> None:
    _, rows, _, _ = graded
    row = rows["copied"]
    assert row["conv_output_size"] == "pass" and row["cross_correlate2d"] == "pass"
    assert "conv_output_size: is the package's reference" in row["flags"]
    assert "cross_correlate2d: is the reference solution's code" in row["flags"]
    assert row["solutions_viewed"] == "cross_correlate2d"


def test_feedback_files_hold_the_checkers_messages_and_the_errors(graded) -> None:
    _, rows, out, _ = graded
    feedback = out.parent / "feedback"
    assert sorted(p.stem for p in feedback.glob("*.md")) == sorted(rows)
    partly = (feedback / "partly.md").read_text(encoding="utf-8")
    assert "❌ cross_correlate2d:" in partly and "on case" in partly and "Hint:" in partly
    assert "✅ conv_output_size: correct on all 16 hidden cases." in partly
    stubs = (feedback / "stubs.md").read_text(encoding="utf-8")
    assert "⏳ conv_output_size: not done yet" in stubs
    raises = (feedback / "raises.md").read_text(encoding="utf-8")
    assert "ZeroDivisionError" in raises and "## Cells that failed" in raises
    assert "ZeroDivisionError" in rows["raises"]["errors"]
    loops = (feedback / "loops.md").read_text(encoding="utf-8")
    assert "interrupted after 6 s" in loops  # the endless cell
    # the endless exercise: the checker stops the case (3 s), or the grader's backstop (4 s)
    assert (
        "⏱ conv_output_size: case 1 of 16 ran longer than 3 s" in loops
        or "conv_output_size: stopped after 4 s" in loops
    ), loops
    broken = (feedback / "broken.md").read_text(encoding="utf-8")
    assert "not a readable notebook" in broken
    assert "not a readable notebook" in rows["broken"]["errors"]
    copied = (feedback / "copied.md").read_text(encoding="utf-8")
    assert "flagged: is the package's reference" in copied


PRIVATE = '''
def conv_output_size(n, k, p=0, s=1):
    """The instructor's reference: here deliberately the formula without + 1."""
    return (n - k + 2 * p) // s


def conv_output_size_cases(rng):
    return [{"n": 9, "k": 3, "p": 0, "s": 1}, {"n": 10, "k": 4, "p": 1, "s": 2},
            {"n": 5, "k": 5, "p": 0, "s": 1}]
'''


def test_private_references_are_used_and_said(submissions: Path, tmp_path: Path) -> None:
    folder = tmp_path / "two"
    folder.mkdir()
    for name in ("right.ipynb", "partly.ipynb"):
        (folder / name).write_bytes((submissions / name).read_bytes())
    refs = tmp_path / "refs"
    refs.mkdir()
    (refs / "ch04.py").write_text(PRIVATE, encoding="utf-8")
    out = tmp_path / "grades.csv"
    # no --chapter: the columns come from the check(...) calls of the notebooks
    code = cli.main(
        [
            "grade",
            str(folder),
            "--out",
            str(out),
            "--references",
            str(refs),
            "--cell-timeout",
            "6",
            "--exercise-timeout",
            "4",
        ]
    )
    assert code == 0
    with out.open(encoding="utf-8") as handle:
        rows = {row["student"]: row for row in csv.DictReader(handle)}
    # the right answer fails against the private reference, on its 3 private cases
    assert rows["right"]["conv_output_size"] == "fail"
    assert rows["right"]["cross_correlate2d"] == "pass"
    assert rows["right"]["references"] == "private (conv_output_size), package (others)"
    feedback = (tmp_path / "feedback" / "right.md").read_text(encoding="utf-8")
    assert "on case 1 of 3" in feedback


def test_bad_input_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert cli.main(["grade", str(tmp_path / "nowhere")]) == 1
    assert "is not a folder of submitted notebooks" in capsys.readouterr().err
    (tmp_path / "a.ipynb").write_text("{}", encoding="utf-8")
    assert cli.main(["grade", str(tmp_path), "--chapter", "42"]) == 1
    assert "chapter '42' has no exercises" in capsys.readouterr().err
    assert cli.main(["grade", str(tmp_path), "--references", str(tmp_path / "a.ipynb")]) == 1
    assert "is not a Python (.py) file" in capsys.readouterr().err
    assert cli.main(["grade", str(tmp_path), "--exercise-timeout", "0"]) == 1
    assert "--exercise-timeout must be a positive" in capsys.readouterr().err
