"""Teaching scaffolding: a glossary of at least 40 terms, and every chapter opens with learning
objectives and closes with a summary."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def glossary_terms(text: str) -> list[str]:
    """The terms of the ``{glossary}`` directive: its unindented, non-blank lines."""
    block = re.search(r"```\{glossary\}\n(.*?)\n```", text, flags=re.S)
    assert block, "book/glossary.md has no {glossary} directive"
    return [line for line in block.group(1).splitlines() if line and not line[0].isspace()]


def test_the_glossary_defines_at_least_40_terms_once_each():
    terms = glossary_terms((ROOT / "book" / "glossary.md").read_text())
    assert len(terms) >= 40, len(terms)
    assert len({t.lower() for t in terms}) == len(terms), "a term is defined twice"
    assert glossary_terms("```{glossary}\nterm\n  its definition\n\nother\n  text\n```") == [
        "term", "other"]


def _markdown(notebook: Path) -> list[str]:
    cells = json.loads(notebook.read_text())["cells"]
    return ["".join(c["source"]) for c in cells if c["cell_type"] == "markdown"]


@pytest.mark.parametrize("notebook", CHAPTERS, ids=[n.stem for n in CHAPTERS])
def test_chapter_opens_with_objectives_and_closes_with_a_summary(notebook):
    markdown = _markdown(notebook)
    assert markdown[0].startswith("# "), "the first markdown cell is the title"
    objectives = re.compile(r"(?im)^(#{2,4}\s*|```\{admonition\}\s*|\*\*)(learning\s+)?objectives")
    assert any(objectives.search(text) for text in markdown[:3]), "no objectives at the top"
    headings = [line for text in markdown for line in text.splitlines()
                if line.startswith("## ")]
    closing = [h for h in headings if h != "## Exercises"][-1:]
    assert closing == ["## Summary"], f"the last section is {closing}, not a summary"
