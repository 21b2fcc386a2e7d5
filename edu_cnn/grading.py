"""Grade a folder of submitted notebooks with the course's own checkers.

``python -m edu_cnn grade SUBMISSIONS/ [--chapter 04] [--out grades.csv] [--references DIR]``

Each submission runs top to bottom in a fresh kernel (nbclient; errors allowed, so one
failing cell does not stop the rest), with a time limit per cell and per notebook. Then,
in the same kernel, one cell per exercise calls the checker on the student's function of
that name, with its own time limit (an endless loop is interrupted and reported). The
result is

- ``grades.csv``: one row per student, one column per exercise (``pass`` / ``fail`` /
  ``not done`` / ``missing`` / ``timeout`` / ``error``), the number passed, integrity
  flags, the notebook's cell errors, and which references were used;
- ``feedback/<student>.md``: the checker's message for every exercise (what is wrong,
  on which case), the errors of the cells that failed, and the flags.

A notebook that is not JSON, does not run, or kills its kernel gets that in its feedback
and its row; the run goes on with the next one.

**Integrity.** A function is flagged when it *is* the package's reference (imported, or
``get_exercise(name).reference``), when its code is the reference's (``show_solution``
output pasted; compared as syntax trees, so comments and layout do not matter), or when
it compiles to the reference's bytecode (the same code with renamed variables). A flag is
a prompt to look, not a verdict: the course lets students call ``show_solution``, and a
notebook that does is noted too.

**Private references.** Students have the package, so its references and hidden cases
are theirs to read. ``--references`` takes a Python file, or a folder of them, that
defines for an exercise ``name`` a function ``name`` (the reference to compare with) and
optionally ``name_cases(rng)`` (the hidden cases, as in ``@exercise``). Exercises it
defines are graded against it; the others against the installed package, and the CSV's
``references`` column says which was used for each student.

Limitation: the student's code runs in the kernel before the checker, so a determined
student could patch numpy there. The checker itself is loaded afresh from its file for
grading, so patching ``edu_cnn.exercises`` does not help; run submissions you do not trust
in a sandbox (a container without network) all the same.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "ExerciseResult",
    "GradeResult",
    "add_grade_command",
    "chapter_exercises",
    "grade_folder",
    "grade_notebook",
]

RESULT_MARK = "EDU_CNN_GRADE "
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
CHECK_CALL = re.compile(r"""\bcheck\(\s*["']([A-Za-z_][A-Za-z0-9_]*)["']""")
SOLUTION_CALL = re.compile(r"""\bshow_solution\(\s*["']([A-Za-z_][A-Za-z0-9_]*)["']""")

#: The kernel-side helper: defined in a cell appended after the student's cells.
_KERNEL_HELPER = r"""
def __edu_cnn_grade_setup__(checker_file, reference_files, case_limit):
    import ast, dataclasses, importlib.util, inspect, json, runpy, sys, textwrap
    spec = importlib.util.spec_from_file_location("_edu_cnn_grading_checker", checker_file)
    fresh = importlib.util.module_from_spec(spec)
    sys.modules["_edu_cnn_grading_checker"] = fresh
    spec.loader.exec_module(fresh)
    from edu_cnn.exercises.checker import get_exercise   # registers every exercise
    private = {}
    for path in reference_files:
        private.update(runpy.run_path(path, run_name="_edu_cnn_private_references"))

    def tree(func):
        try:
            source = textwrap.dedent(inspect.getsource(func))
        except (OSError, TypeError):
            return None
        try:
            node = ast.parse(source).body[0]
        except (SyntaxError, IndexError):
            return None
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return None
        node.decorator_list = []
        body = node.body
        first = body[0] if body else None
        if isinstance(first, ast.Expr) and isinstance(getattr(first, "value", None), ast.Constant) \
                and isinstance(first.value.value, str):
            node.body = body[1:] or [ast.Pass()]
        return ast.dump(node, annotate_fields=False)

    def flags(name, func, reference):
        found = []
        target = inspect.unwrap(func) if callable(func) else func
        if target is reference:
            found.append("is the package's reference (imported or get_exercise(...).reference)")
        elif str(getattr(target, "__module__", "") or "").startswith("edu_cnn"):
            found.append(f"comes from the package ({target.__module__})")
        else:
            mine, theirs = tree(target), tree(reference)
            code, ref_code = getattr(target, "__code__", None), getattr(reference, "__code__", None)
            if mine is not None and mine == theirs:
                found.append("is the reference solution's code (show_solution output pasted?)")
            elif code is not None and ref_code is not None and code.co_code == ref_code.co_code \
                    and len(code.co_code) > 8:
                found.append(
                    "compiles to the reference's bytecode (the reference with renamed names?)"
                )
        return found

    def grade(name):
        out = {"name": name, "flags": [], "private": False}
        try:
            package = get_exercise(name)
        except ValueError as error:
            out.update(status="error", message=str(error))
            print("EDU_CNN_GRADE " + json.dumps(out), flush=True)
            return
        func = globals().get(name)
        if func is None:
            message = f"❌ {name}: the notebook defines no function `{name}`."
            out.update(status="missing", message=message)
        elif not callable(func):
            kind = type(func).__name__
            message = f"❌ {name}: `{name}` is a {kind}, not a function."
            out.update(status="missing", message=message)
        else:
            out["flags"] = flags(name, func, package.reference)
            reference = private.get(name, package.reference)
            cases = private.get(name + "_cases", package.cases)
            out["private"] = name in private
            exercise = dataclasses.replace(package, reference=reference, cases=cases)
            fresh.REGISTRY[name] = exercise
            if "time_limit" in inspect.signature(fresh.check).parameters:
                result = fresh.check(name, func, verbose=False, time_limit=case_limit)
            else:
                result = fresh.check(name, func, verbose=False)
            if getattr(result, "is_reference", False) and not out["flags"]:
                out["flags"].append("is the reference (the checker says so)")
            status = "pass" if result.passed else (
                "timeout" if getattr(result, "timed_out", False) else
                "not done" if result.message.startswith("⏳") else "fail")
            out.update(status=status, message=result.message)
        print("EDU_CNN_GRADE " + json.dumps(out), flush=True)

    return grade
"""


@dataclass
class ExerciseResult:
    """One exercise of one submission."""

    name: str
    status: str  # pass, fail, not done, missing, timeout, error, not run
    message: str
    flags: list[str] = field(default_factory=list)
    private_reference: bool = False


@dataclass
class GradeResult:
    """One submission: what ran, what each exercise gave, what to tell the student."""

    student: str
    path: Path
    exercises: dict[str, ExerciseResult] = field(default_factory=dict)
    cell_errors: list[str] = field(default_factory=list)
    problem: str = ""  # the notebook could not be read or run
    solutions_viewed: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def passed(self) -> int:
        return sum(r.status == "pass" for r in self.exercises.values())

    @property
    def flags(self) -> list[str]:
        return [f"{name}: {flag}" for name, r in self.exercises.items() for flag in r.flags]


# --------------------------------------------------------------------------- exercises
def chapter_exercises(chapter: str | int | None = None) -> dict[str, list[str]]:
    """Exercise names by chapter (``"04"`` → ``[...]``) in the order the chapter defines them."""
    from .exercises.checker import REGISTRY, load_all_exercises

    load_all_exercises()
    by_chapter: dict[str, list[str]] = {}
    for name, ex in REGISTRY.items():
        match = re.search(r"\.ch(\d\d)_", ex.reference.__module__ + ".")
        number = match.group(1) if match else "??"
        by_chapter.setdefault(number, []).append(name)
    if chapter is None:
        return by_chapter
    key = f"{int(chapter):02d}" if str(chapter).isdigit() else str(chapter)
    if key not in by_chapter:
        raise ValueError(
            f"grade: chapter {chapter!r} has no exercises; chapters with "
            f"exercises: {', '.join(sorted(by_chapter))}"
        )
    return {key: by_chapter[key]}


def exercises_in(nb: Any) -> list[str]:
    """The exercises a notebook checks (``check("name", ...)`` in its code), in order."""
    names: list[str] = []
    for cell in nb.cells:
        if cell.cell_type == "code":
            for name in CHECK_CALL.findall(cell.source):
                if name not in names:
                    names.append(name)
    return names


def reference_files(references: Path | None) -> list[Path]:
    """The Python files of ``--references`` (a file or a folder), checked."""
    if references is None:
        return []
    if references.is_file():
        if references.suffix != ".py":
            raise ValueError(f"grade: --references {references} is not a Python (.py) file")
        return [references.resolve()]
    if references.is_dir():
        files = sorted(p.resolve() for p in references.glob("*.py"))
        if not files:
            raise ValueError(f"grade: --references folder {references} holds no .py file")
        return files
    raise ValueError(f"grade: --references {references} does not exist")


def private_names(files: Iterable[Path]) -> set[str]:
    """Names of the functions the reference files define (read without running them)."""
    import ast

    names: set[str] = set()
    for path in files:
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        except SyntaxError as error:
            raise ValueError(
                f"grade: the references file {path} is not valid Python: "
                f"{error.msg} (line {error.lineno})"
            ) from None
        names |= {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    return names


# --------------------------------------------------------------------------- one notebook
def _cell_error_text(index: int, output: Any) -> str:
    trace = ANSI.sub("", "\n".join(output.get("traceback", [])))
    lines = [line for line in trace.splitlines() if line.strip()]
    tail = "\n".join(lines[-6:]) if lines else f"{output.get('ename')}: {output.get('evalue')}"
    return f"cell {index}: {output.get('ename')}: {output.get('evalue')}\n{tail}"


def grade_notebook(
    path: Path,
    exercises: Sequence[str],
    student: str | None = None,
    references: Sequence[Path] = (),
    cell_timeout: float = 60,
    exercise_timeout: float = 10,
    notebook_timeout: float = 300,
    kernel_name: str = "python3",
) -> GradeResult:
    """Run one submission in a fresh kernel and check ``exercises`` in it.

    Parameters
    ----------
    path : the submitted notebook.
    exercises : the exercise names to grade (columns of the CSV).
    student : the name in the CSV (default: the file name without ``.ipynb``).
    references : private reference files (see the module docstring).
    cell_timeout, exercise_timeout, notebook_timeout : seconds for each of the student's
        cells, for each exercise's check, and for the student's cells together; a cell
        over its limit is interrupted, cells after the notebook's limit are not run.
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError

    from .exercises import checker

    result = GradeResult(student or path.stem, path)
    start = time.monotonic()

    def finish(status: str, message: str) -> GradeResult:
        for name in exercises:
            result.exercises.setdefault(name, ExerciseResult(name, status, message))
        result.seconds = time.monotonic() - start
        return result

    try:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
    except Exception as error:  # noqa: BLE001 – any unreadable file is reported, not raised
        result.problem = f"not a readable notebook: {type(error).__name__}: {str(error)[:300]}"
        return finish("not run", f"❌ the notebook could not be read ({result.problem}).")
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    # "cell 7" in the feedback counts every cell from 1, as the student sees the notebook
    numbers = [i + 1 for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    for cell in code_cells:
        cell.outputs = []
        cell.execution_count = None
    result.solutions_viewed = sorted(
        {n for c in code_cells for n in SOLUTION_CALL.findall(c.source)}
    )
    setup = nbformat.v4.new_code_cell(
        _KERNEL_HELPER + f"\n__edu_cnn_grade__ = __edu_cnn_grade_setup__("
        f"{str(Path(checker.__file__).resolve())!r}, {[str(p) for p in references]!r}, "
        f"{min(float(exercise_timeout), 3.0)!r})\n"
        "del __edu_cnn_grade_setup__"
    )
    grading = [nbformat.v4.new_code_cell(f"__edu_cnn_grade__({name!r})") for name in exercises]
    nb.cells = code_cells + [setup] + grading
    client = NotebookClient(
        nb,
        timeout=cell_timeout,
        kernel_name=kernel_name,
        allow_errors=True,
        interrupt_on_timeout=True,
        record_timing=False,
        shutdown_kernel="immediate",
        error_on_timeout={
            "ename": "TimeoutError",
            "evalue": "the cell ran over its time limit",
            "traceback": [],
        },
        resources={"metadata": {"path": str(path.resolve().parent)}},
    )
    try:
        with client.setup_kernel():
            deadline = time.monotonic() + notebook_timeout
            for index, cell in enumerate(code_cells):
                left = deadline - time.monotonic()
                if left <= 0:
                    result.cell_errors.append(
                        f"cell {numbers[index]} and later: not run, the notebook ran over its "
                        f"{notebook_timeout:.0f} s"
                    )
                    break
                client.timeout = max(1, int(min(cell_timeout, left)))
                began = time.monotonic()
                client.execute_cell(cell, index)
                timed_out = time.monotonic() - began >= client.timeout
                if timed_out:
                    result.cell_errors.append(
                        f"cell {numbers[index]}: interrupted after "
                        f"{client.timeout} s (an endless loop?)"
                    )
                for output in cell.outputs:
                    if output.get("output_type") == "error" and not (
                        timed_out and output.get("ename") == "KeyboardInterrupt"
                    ):
                        result.cell_errors.append(_cell_error_text(numbers[index], output))
            client.timeout = max(30, int(exercise_timeout))
            client.execute_cell(setup, len(code_cells))
            setup_errors = [o for o in setup.outputs if o.get("output_type") == "error"]
            if setup_errors:
                raise RuntimeError(
                    "the grading helper failed: "
                    + _cell_error_text(len(code_cells), setup_errors[0])
                )
            for offset, (name, cell) in enumerate(zip(exercises, grading, strict=True)):
                # the checker stops a slow case itself (and says which); this is the backstop
                client.timeout = max(1, int(exercise_timeout))
                began = time.monotonic()
                client.execute_cell(cell, len(code_cells) + 1 + offset)
                result.exercises[name] = _exercise_result(
                    name, cell, time.monotonic() - began, client.timeout
                )
    except DeadKernelError:
        result.problem = "the kernel died while running the notebook (it crashed or was killed)"
        return finish("error", f"❌ not graded: {result.problem}.")
    except Exception as error:  # noqa: BLE001 – one broken submission must not stop the run
        result.problem = f"could not be run: {type(error).__name__}: {str(error)[:500]}"
        return finish("error", f"❌ not graded: the notebook {result.problem}.")
    return finish("error", "❌ not graded (no result from the checker).")


def _exercise_result(name: str, cell: Any, seconds: float, limit: float) -> ExerciseResult:
    for output in cell.outputs:
        if output.get("output_type") == "stream":
            for line in output.get("text", "").splitlines():
                if line.startswith(RESULT_MARK):
                    data = json.loads(line[len(RESULT_MARK) :])
                    return ExerciseResult(
                        name,
                        data["status"],
                        data["message"],
                        data.get("flags", []),
                        data.get("private", False),
                    )
    errors = [o for o in cell.outputs if o.get("output_type") == "error"]
    if seconds >= limit or any(o.get("ename") == "KeyboardInterrupt" for o in errors):
        return ExerciseResult(
            name,
            "timeout",
            f"❌ {name}: stopped after {limit:.0f} s on the "
            "hidden cases – an endless loop, or far too slow?",
        )
    if errors:
        return ExerciseResult(
            name,
            "error",
            f"❌ {name}: the checker failed: {errors[0].get('ename')}: {errors[0].get('evalue')}",
        )
    return ExerciseResult(name, "error", f"❌ {name}: no result from the checker.")


# --------------------------------------------------------------------------- a folder
def find_submissions(folder: Path, chapter: str | None = None) -> list[tuple[str, Path]]:
    """(student, notebook) pairs: ``folder/alice.ipynb`` or ``folder/alice/…/NN_x.ipynb``."""
    if not folder.is_dir():
        raise ValueError(f"grade: {folder} is not a folder of submitted notebooks")
    found: list[tuple[str, Path]] = []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_file() and entry.suffix == ".ipynb":
            found.append((entry.stem, entry))
        elif entry.is_dir():
            notebooks = sorted(
                p for p in entry.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts
            )
            if chapter is not None:
                prefix = f"{int(chapter):02d}_" if str(chapter).isdigit() else str(chapter)
                notebooks = [p for p in notebooks if p.name.startswith(prefix)] or notebooks
            if notebooks:
                found.append((entry.name, notebooks[0]))
    return found


def _columns(submissions: list[tuple[str, Path]], chapter: str | None) -> list[str]:
    """The exercises to grade: the chapter's, or those the submissions check."""
    if chapter is not None:
        return next(iter(chapter_exercises(chapter).values()))
    import nbformat

    by_chapter = chapter_exercises()
    known = {name: number for number, names in by_chapter.items() for name in names}
    chapters: list[str] = []
    for _, path in submissions:
        try:
            nb = nbformat.read(path, as_version=4)
        except Exception:  # noqa: BLE001, S112 – reported when the notebook is graded
            continue
        for name in exercises_in(nb):
            if name in known and known[name] not in chapters:
                chapters.append(known[name])
    if not chapters:
        raise ValueError(
            'grade: no submission calls check("<exercise>", ...) on a known '
            "exercise; say which chapter with --chapter NN"
        )
    return [name for number in sorted(chapters) for name in by_chapter[number]]


def grade_folder(
    folder: Path,
    chapter: str | None = None,
    out: Path | None = None,
    references: Path | None = None,
    feedback_dir: Path | None = None,
    **limits: float,
) -> list[GradeResult]:
    """Grade every submission in ``folder``; write the CSV and the feedback files.

    Returns the results in the CSV's order. ``limits`` are passed to
    :func:`grade_notebook` (``cell_timeout``, ``exercise_timeout``, ``notebook_timeout``).
    """
    files = reference_files(references)
    private = private_names(files)
    submissions = find_submissions(folder, chapter)
    if not submissions:
        raise ValueError(f"grade: no notebooks (*.ipynb) in {folder}")
    columns = _columns(submissions, chapter)
    out = out or Path("grades.csv")
    feedback_dir = feedback_dir or out.parent / "feedback"
    feedback_dir.mkdir(parents=True, exist_ok=True)
    results = []
    for student, path in submissions:
        result = grade_notebook(path, columns, student, files, **limits)
        results.append(result)
        (feedback_dir / f"{_safe(student)}.md").write_text(feedback_text(result), encoding="utf-8")
        print(
            f"grade: {student}: {result.passed}/{len(columns)} passed"
            f"{' – ' + result.problem if result.problem else ''}"
            f"{' – flagged' if result.flags else ''} ({result.seconds:.1f} s)"
        )
    used = ("private: " + ", ".join(sorted(private & set(columns)))) if private else ""
    write_csv(results, columns, out, used, private)
    return results


def _safe(name: str) -> str:
    return re.sub(r"[^\w.-]+", "_", name) or "student"


def _references_used(result: GradeResult, columns: Sequence[str], private: set[str]) -> str:
    mine = [n for n in columns if n in private]
    if not mine:
        return "package"
    if len(mine) == len(columns):
        return "private"
    return "private (" + " ".join(mine) + "), package (others)"


def write_csv(
    results: Sequence[GradeResult],
    columns: Sequence[str],
    out: Path,
    used: str = "",
    private: set[str] | None = None,
) -> None:
    """One row per student: a column per exercise, then totals, flags, errors, references."""
    private = private or set()
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            [
                "student",
                *columns,
                "passed",
                "total",
                "flags",
                "solutions_viewed",
                "errors",
                "references",
                "notebook",
            ]
        )
        for r in results:
            errors = r.problem or "; ".join(e.splitlines()[0] for e in r.cell_errors)
            writer.writerow(
                [
                    r.student,
                    *(r.exercises[c].status for c in columns),
                    r.passed,
                    len(columns),
                    " | ".join(r.flags),
                    " ".join(r.solutions_viewed),
                    errors,
                    _references_used(r, columns, private),
                    str(r.path),
                ]
            )


def feedback_text(result: GradeResult) -> str:
    """The feedback file of one student (Markdown)."""
    lines = [
        f"# Feedback for {result.student}",
        "",
        (
            f"Notebook: `{result.path.name}` – {result.passed} of {len(result.exercises)} "
            "exercises passed."
        ),
        "",
    ]
    if result.problem:
        lines += [f"**The notebook {result.problem}.**", ""]
    lines += ["## Exercises", ""]
    for name, r in result.exercises.items():
        lines += [f"### {name}: {r.status}", "", "```", r.message.strip(), "```", ""]
        lines += [f"- ⚠️ flagged: {flag}" for flag in r.flags]
        if r.flags:
            lines.append("")
    if result.cell_errors:
        lines += ["## Cells that failed", ""]
        for error in result.cell_errors:
            lines += ["```", error.strip(), "```", ""]
    if result.solutions_viewed:
        lines += [f"Solutions viewed with show_solution: {', '.join(result.solutions_viewed)}", ""]
    return "\n".join(lines)


# --------------------------------------------------------------------------- command line
def add_grade_command(commands: Any) -> None:
    """Add ``grade`` to the ``python -m edu_cnn`` sub-commands."""
    grade = commands.add_parser(
        "grade",
        help="grade a folder of submitted notebooks",
        description="Run each submitted notebook in a fresh kernel, check every exercise "
        "with the course's checker, and write a CSV (one row per student) and a "
        "feedback file per student.",
    )
    grade.add_argument(
        "submissions",
        type=Path,
        metavar="SUBMISSIONS",
        help="a folder of notebooks (alice.ipynb, …) or of student folders",
    )
    grade.add_argument(
        "--chapter",
        help="grade this chapter's exercises (e.g. 04); default: the exercises the notebooks check",
    )
    grade.add_argument(
        "--out",
        type=Path,
        default=Path("grades.csv"),
        help="the CSV to write (default grades.csv); feedback/ goes beside it",
    )
    grade.add_argument(
        "--references",
        type=Path,
        help="a .py file or folder of private "
        "reference solutions (default: the installed package's)",
    )
    grade.add_argument(
        "--cell-timeout", type=float, default=60, help="seconds per notebook cell (default 60)"
    )
    grade.add_argument(
        "--exercise-timeout", type=float, default=10, help="seconds per exercise check (default 10)"
    )
    grade.add_argument(
        "--notebook-timeout",
        type=float,
        default=300,
        help="seconds for all of a notebook's cells (default 300)",
    )
    grade.set_defaults(run=cmd_grade)


def cmd_grade(args: argparse.Namespace) -> int:
    from .cli import CommandError

    for option in ("cell_timeout", "exercise_timeout", "notebook_timeout"):
        if getattr(args, option) <= 0:
            raise CommandError(
                f"--{option.replace('_', '-')} must be a positive number of "
                f"seconds, got {getattr(args, option)}"
            )
    try:
        results = grade_folder(
            args.submissions,
            args.chapter,
            args.out,
            args.references,
            cell_timeout=args.cell_timeout,
            exercise_timeout=args.exercise_timeout,
            notebook_timeout=args.notebook_timeout,
        )
    except ValueError as error:
        raise CommandError(str(error)) from None
    print(f"grade: {len(results)} submission(s) -> {args.out} and {args.out.parent / 'feedback'}/")
    return 0
