"""Build appendix A2, the bilingual glossary, from the chapters' own first-use markup.

A chapter introduces a key term as ``**feature map** (特征图)``: the English term in bold,
its Chinese name in brackets right after it. This script collects every such term from
the chapter notebooks (where it is first taught: chapter and section heading), joins each
with its one-line definition from ``docs/glossary.tsv``, and writes
``notebooks/A2_glossary.ipynb``.

    python scripts/build_glossary.py           # rewrite the glossary notebook
    python scripts/build_glossary.py --check   # exit 1 with the reason if it is not current

``tests/test_glossary.py`` runs the check, so a chapter cannot introduce a term the glossary
lacks, or give a term a Chinese name that disagrees with another chapter or the glossary.

``docs/glossary.tsv`` has three tab-separated columns: the term, other spellings the chapters
use for it (``|``-separated: plurals, capitalised forms), and its definition.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
DEFINITIONS = ROOT / "docs" / "glossary.tsv"
GLOSSARY = NOTEBOOKS / "A2_glossary.ipynb"

CJK = re.compile(r"[\u3400-\u9fff]")
# **term** (中文 …) – the bracket must contain at least one Chinese character
TERM = re.compile(r"\*\*([^*]+?)\*\*\s*[（(]([^()（）]*[\u3400-\u9fff][^()（）]*)[)）]")
HEADING = re.compile(r"^(#{1,4})\s+(.+?)\s*$", re.MULTILINE)


@dataclass
class Term:
    english: str  # as the first chapter writes it
    chinese: tuple[str, ...]  # the Chinese names given in the brackets
    chapter: str  # "04"
    heading: str  # the section it is taught in
    seen: list[str] = field(default_factory=list)  # "04 › Padding" for every use


def chinese_names(bracket: str) -> tuple[str, ...]:
    """The Chinese names in a bracket: its comma-separated parts that contain Chinese."""
    parts = (part.strip(" *") for part in re.split(r"[,，;；:：]|\bor\b", bracket))
    return tuple(part for part in parts if CJK.search(part))


def key(english: str) -> str:
    return " ".join(english.strip().lower().split())


def chapter_notebooks() -> list[Path]:
    return sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


def collect(notebooks: list[Path]) -> tuple[dict[str, Term], list[str]]:
    """Every term of the chapters, keyed by its lower-case English, and the disagreements."""
    terms: dict[str, Term] = {}
    problems: list[str] = []
    for path in notebooks:
        chapter = path.name[:2]
        heading = ""
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            if cell["cell_type"] != "markdown":
                continue
            source = "".join(cell["source"])
            # walk the cell in order, so a term belongs to the heading above it
            events = sorted(
                [(m.start(), "h", m) for m in HEADING.finditer(source)]
                + [(m.start(), "t", m) for m in TERM.finditer(source)],
                key=lambda e: e[0],
            )
            for _, kind, match in events:
                if kind == "h":
                    heading = re.sub(r"[*_`$]", "", match.group(2))
                    continue
                english = " ".join(match.group(1).split())  # bold text may wrap a line
                bracket = " ".join(match.group(2).split())
                names = chinese_names(bracket)
                where = f"{chapter} › {heading}"
                found = terms.get(key(english))
                if found is None:
                    terms[key(english)] = Term(english, names, chapter, heading, [where])
                    continue
                found.seen.append(where)
                if set(names) != set(found.chinese):
                    problems.append(
                        f"'{english}' is {'/'.join(names)} in chapter {chapter} ({heading}) but "
                        f"{'/'.join(found.chinese)} in chapter {found.chapter} ({found.heading}): "
                        f"give one Chinese name"
                    )
    return terms, problems


def read_definitions(path: Path = DEFINITIONS) -> tuple[dict[str, tuple[str, str]], list[str]]:
    """{key of every spelling: (term, definition)} from the TSV file, and its format errors."""
    found: dict[str, tuple[str, str]] = {}
    problems: list[str] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        columns = line.split("\t")
        if len(columns) != 3 or not columns[0].strip() or not columns[2].strip():
            problems.append(
                f"{path.name} line {number}: expected 3 tab-separated columns "
                f"(term, other spellings, definition), got {len(columns)}"
            )
            continue
        term, aliases, definition = (c.strip() for c in columns)
        for spelling in [term, *filter(None, (a.strip() for a in aliases.split("|")))]:
            if key(spelling) in found:
                problems.append(f"{path.name} line {number}: '{spelling}' is listed twice")
            found[key(spelling)] = (term, definition)
    return found, problems


@dataclass
class Entry:
    term: str
    chinese: tuple[str, ...]
    definition: str
    chapter: str
    heading: str


def entries(
    terms: dict[str, Term], definitions: dict[str, tuple[str, str]]
) -> tuple[list[Entry], list[str]]:
    """One entry per glossary term (spellings merged), and the terms without a definition.

    ``terms`` is in the order the chapters introduce them, so an entry keeps the place
    where its first spelling is taught."""
    merged: dict[str, Entry] = {}
    problems: list[str] = []
    for k, t in terms.items():
        if k not in definitions:
            problems.append(
                f"chapter {t.chapter} ({t.heading}) introduces '{t.english}' "
                f"({'/'.join(t.chinese)}), which docs/glossary.tsv lacks: add a line"
            )
            continue
        term, definition = definitions[k]
        entry = merged.get(term)
        if entry is None:
            merged[term] = Entry(term, t.chinese, definition, t.chapter, t.heading)
            continue
        if set(entry.chinese) != set(t.chinese):
            problems.append(
                f"'{t.english}' ({'/'.join(t.chinese)}, chapter {t.chapter}) and "
                f"'{entry.term}' ({'/'.join(entry.chinese)}, chapter {entry.chapter}) "
                f"are one glossary term with two Chinese names"
            )
    return sorted(merged.values(), key=lambda e: e.term.lower()), problems


def notebook(glossary: list[Entry]) -> dict:
    """The glossary notebook: an introduction, then one table per initial letter."""

    def markdown(text: str, slide: str | None = None) -> dict:
        metadata = {"slideshow": {"slide_type": slide}} if slide else {}
        return {
            "cell_type": "markdown",
            "metadata": metadata,
            "source": text.splitlines(keepends=True),
        }

    chapters = sorted({e.chapter for e in glossary})
    cells = [
        markdown(
            "# Appendix A2 – Glossary (English / 中文)\n\n"
            f"Every key term of the course – {len(glossary)} of them – with its Chinese name, a "
            "one-line definition and where it is first taught (chapter › section). The list is "
            "collected from the chapters themselves: each chapter marks a new term as "
            "**term** (中文), and `scripts/build_glossary.py` gathers them, so this page and the "
            f"chapters cannot disagree. Chapters {', '.join(str(int(c)) for c in chapters)} "
            "contribute terms.\n",
            "slide",
        )
    ]
    by_letter: dict[str, list[Entry]] = {}
    for e in glossary:
        by_letter.setdefault(e.term[0].upper() if e.term[0].isalpha() else "#", []).append(e)
    for letter, group in by_letter.items():
        rows = [
            f"| **{e.term}** | {'，'.join(e.chinese)} | {e.definition} | "
            f"{int(e.chapter)} › {e.heading} |"
            for e in group
        ]
        cells.append(
            markdown(
                f"## {letter}\n\n| term | 中文 | meaning | taught in |\n| --- | --- | --- | --- |\n"
                + "\n".join(rows)
                + "\n",
                "subslide",
            )
        )
    return {
        "cells": cells,
        "metadata": {
            "kernelspec": {
                "display_name": "Python 3 (ipykernel)",
                "language": "python",
                "name": "python3",
            },
            # what the kernel reports when the notebook is executed (its version dropped,
            # as scripts/execute_notebooks.py does), so executing A2 changes nothing
            "language_info": {
                "codemirror_mode": {"name": "ipython", "version": 3},
                "file_extension": ".py",
                "mimetype": "text/x-python",
                "name": "python",
                "nbconvert_exporter": "python",
                "pygments_lexer": "ipython3",
            },
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def render(glossary: list[Entry]) -> str:
    """The notebook's text exactly as nbformat (and scripts/execute_notebooks.py) writes it."""
    import nbformat

    nb = notebook(glossary)
    for i, cell in enumerate(nb["cells"]):  # stable ids: no churn on a rebuild
        cell["id"] = f"glossary-{i:02d}"
    return nbformat.writes(nbformat.from_dict(nb)) + "\n"


def build() -> tuple[str, list[str]]:
    """The glossary notebook's text, and every problem that stops it being right."""
    terms, problems = collect(chapter_notebooks())
    definitions, more = read_definitions()
    glossary, missing = entries(terms, definitions)
    unused = sorted({t for k, (t, _) in definitions.items()} - {e.term for e in glossary})
    problems += more + missing
    problems += [
        f"docs/glossary.tsv defines '{t}', which no chapter introduces as "
        f"**{t}** (中文): remove the line or mark the term in its chapter"
        for t in unused
    ]
    return render(glossary), problems


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="do not write; exit 1 if the glossary is not current"
    )
    args = parser.parse_args(argv)
    text, problems = build()
    for problem in problems:
        print("glossary:", problem, file=sys.stderr)
    if args.check:
        current = GLOSSARY.exists() and GLOSSARY.read_text(encoding="utf-8") == text
        if not current:
            print(
                "glossary: notebooks/A2_glossary.ipynb is not what the chapters and "
                "docs/glossary.tsv give: run python scripts/build_glossary.py",
                file=sys.stderr,
            )
        return 1 if problems or not current else 0
    if problems:
        return 1
    GLOSSARY.write_text(text, encoding="utf-8")
    print(f"wrote {GLOSSARY.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
