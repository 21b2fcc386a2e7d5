"""Appendix A2, the glossary, is what the chapters' own **term** (中文) markup gives."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location(
    "build_glossary", ROOT / "scripts" / "build_glossary.py"
)
glossary = importlib.util.module_from_spec(_spec)
sys.modules["build_glossary"] = glossary  # dataclasses look their module up there
_spec.loader.exec_module(glossary)


def _notebook(tmp_path: Path, name: str, *markdown: str) -> Path:
    cells = [{"cell_type": "markdown", "metadata": {}, "source": text} for text in markdown]
    path = tmp_path / name
    path.write_text(
        json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}),
        encoding="utf-8",
    )
    return path


def test_the_glossary_notebook_is_current_and_complete():
    text, problems = glossary.build()
    assert problems == [], "\n".join(problems)
    assert glossary.GLOSSARY.read_text(encoding="utf-8") == text, (
        "notebooks/A2_glossary.ipynb is stale: run python scripts/build_glossary.py"
    )


def test_terms_are_collected_with_their_section(tmp_path):
    a = _notebook(
        tmp_path,
        "01_a.ipynb",
        "# Chapter 1\n\n## Weights\nA **weight** (权重) and a **bias** (偏置, also called offset).",
    )
    b = _notebook(tmp_path, "02_b.ipynb", "## More\nAgain **Weight** (权重).")
    terms, problems = glossary.collect([a, b])
    assert problems == []
    assert terms["weight"].chapter == "01" and terms["weight"].heading == "Weights"
    assert terms["bias"].chinese == ("偏置",)
    assert terms["weight"].seen == ["01 › Weights", "02 › More"]


def test_two_chinese_names_for_one_term_are_named(tmp_path):
    a = _notebook(tmp_path, "01_a.ipynb", "## One\nan **epoch** (轮)")
    b = _notebook(tmp_path, "07_b.ipynb", "## Two\nan **epoch** (轮次)")
    _, problems = glossary.collect([a, b])
    assert len(problems) == 1
    assert "'epoch' is 轮次 in chapter 07 (Two) but 轮 in chapter 01 (One)" in problems[0]


def test_a_term_without_a_definition_is_named(tmp_path):
    a = _notebook(tmp_path, "04_a.ipynb", "## Size\nthe **receptive field** (感受野)")
    terms, _ = glossary.collect([a])
    _, problems = glossary.entries(terms, {})
    assert problems == [
        "chapter 04 (Size) introduces 'receptive field' (感受野), which "
        "docs/glossary.tsv lacks: add a line"
    ]


def test_bold_text_without_chinese_is_not_a_term(tmp_path):
    a = _notebook(tmp_path, "01_a.ipynb", "**Note** (see chapter 3) and **bold** alone")
    terms, _ = glossary.collect([a])
    assert terms == {}


@pytest.mark.parametrize(
    "line, message",
    [
        ("only two\tcolumns", "expected 3 tab-separated columns"),
        ("term\t\t", "expected 3 tab-separated columns"),
    ],
)
def test_malformed_definition_lines_are_named(tmp_path, line, message):
    path = tmp_path / "glossary.tsv"
    path.write_text(line + "\n", encoding="utf-8")
    _, problems = glossary.read_definitions(path)
    assert message in problems[0]
