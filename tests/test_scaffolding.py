"""Teaching scaffolding: a glossary of at least 40 terms that the chapters reference with the
``{term}`` role, and every chapter opens with learning objectives and closes with a summary.

The ``{term}`` checks need no Sphinx build: the markdown cells are parsed with markdown-it and
MyST's role and math plugins (the parser the book build uses), so a reference inside a code span
or an equation, which the book would print as text, is not counted as one."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from markdown_it import MarkdownIt
from mdit_py_plugins.colon_fence import colon_fence_plugin
from mdit_py_plugins.dollarmath import dollarmath_plugin
from mdit_py_plugins.myst_role import myst_role_plugin

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


# ---------------------------------------------------------------- {term} references
_MD = (MarkdownIt("commonmark").use(myst_role_plugin).use(colon_fence_plugin)
       .use(dollarmath_plugin, double_inline=True))


# directives whose body is code or math, not markdown
_LITERAL = {"code", "code-block", "code-cell", "sourcecode", "math", "eval-rst", "raw", "glossary"}


def term_references(markdown: str) -> list[str]:
    """The targets of the ``{term}`` roles of a markdown text, lowercased (Sphinx matches glossary
    terms case-insensitively): ``{term}`text <target>``` names ``target``, ``{term}`target```
    itself."""
    def roles(tokens):
        for t in tokens:
            if t.type == "myst_role" and t.meta.get("name") == "term":
                yield t.content
            directive = re.fullmatch(r"\{([\w:-]+)\}.*", t.info.strip()) if t.info else None
            fenced = t.type in ("fence", "colon_fence")
            if fenced and directive and directive.group(1) not in _LITERAL:
                body = re.sub(r"(?m)^:[\w-]+:.*\n", "", t.content)  # the directive's options
                yield from roles(_MD.parse(body))  # MyST parses a directive's body as markdown
            yield from roles(t.children or [])

    out = []
    for content in roles(_MD.parse(markdown)):
        target = re.fullmatch(r"(?s).*?<([^<>]+)>\s*", content)
        out.append(" ".join((target.group(1) if target else content).split()).lower())
    return out


def test_term_references_parses_the_role_like_the_book_build():
    text = ("A {term}`Padding` and **{term}`hidden states <hidden state>`**, not `{term}`code``,\n"
            "not $x = {term}`math`$, and {term}`[CLS] <CLS token>`.\n\n```\n{term}`fenced`\n```\n"
            "```{admonition} Title\n:class: tip\n- {term}`MLM`\n```\n"
            "```{code-block} python\n{term}`code`\n```\n")
    assert term_references(text) == ["padding", "hidden state", "cls token", "mlm"]


def _references() -> dict[str, list[str]]:
    return {nb.stem: [ref for text in _markdown(nb) for ref in term_references(text)]
            for nb in CHAPTERS}


def test_every_term_reference_names_a_glossary_term():
    defined = {t.lower() for t in glossary_terms((ROOT / "book" / "glossary.md").read_text())}
    unknown = {f"{chapter}: {ref}" for chapter, refs in _references().items()
               for ref in refs if ref not in defined}
    assert not unknown, f"{{term}} references to undefined terms: {sorted(unknown)}"


def test_every_glossary_term_is_referenced_from_a_chapter():
    terms = glossary_terms((ROOT / "book" / "glossary.md").read_text())
    referenced = {ref for refs in _references().values() for ref in refs}
    unused = [t for t in terms if t.lower() not in referenced]
    assert not unused, f"glossary terms no chapter references with {{term}}: {unused}"


@pytest.mark.parametrize("notebook", CHAPTERS, ids=[n.stem for n in CHAPTERS])
def test_chapter_references_at_least_3_glossary_terms_from_markdown_only(notebook):
    cells = json.loads(notebook.read_text())["cells"]
    refs = {ref for text in _markdown(notebook) for ref in term_references(text)}
    assert len(refs) >= 3, f"{notebook.stem} references only {sorted(refs)} with {{term}}"
    in_code = [i for i, c in enumerate(cells)
               if c["cell_type"] != "markdown" and "{term}`" in "".join(c["source"])]
    assert not in_code, f"{{term}} roles in non-markdown cells {in_code}: only markdown has roles"


def _time_chapters():
    import importlib.util

    spec = importlib.util.spec_from_file_location("time_chapters",
                                                  ROOT / "tools" / "time_chapters.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_intro_states_every_chapters_recorded_cpu_times():
    tool = _time_chapters()
    rows = tool.read_rows()
    recorded = {(r["chapter"], r["mode"]) for r in rows if r["device"] == "cpu"}
    for notebook in CHAPTERS:
        for mode in ("full", "quick"):
            assert (notebook.stem, mode) in recorded, (notebook.stem, mode)
    assert tool.update_intro(check=True), (
        "book/intro.md's chapter times are stale: run python tools/time_chapters.py "
        "--update-intro")


def test_the_chapter_time_table_is_built_from_the_rows(tmp_path):
    tool = _time_chapters()
    first = CHAPTERS[0].stem
    rows = [{"chapter": first, "mode": "full", "device": "cpu", "threads": "1",
             "seconds": "12.4", "date": "2026-12-03"},
            {"chapter": first, "mode": "full", "device": "NVIDIA H200", "threads": "16",
             "seconds": "150", "date": "2026-12-03"}]
    text = tool.table(rows)
    head, _, line = text.splitlines()[:3]
    assert head == ("| chapter | CPU, full size (1 thread) | CPU, quick mode (? threads) | "
                    "GPU, full size (NVIDIA H200) |")
    assert line == "| 1. What BERT is | 12 s | not measured | 2.5 min |"
    intro = tmp_path / "intro.md"
    intro.write_text(f"before\n{tool.BEGIN}\nold\n{tool.END}\nafter\n")
    assert not tool.update_intro(intro, rows, check=True)
    assert tool.update_intro(intro, rows) and tool.update_intro(intro, rows, check=True)
    assert intro.read_text().startswith(f"before\n{tool.BEGIN}\n| chapter |")
    tool.write_rows(rows, tmp_path / "times.csv")
    assert tool.read_rows(tmp_path / "times.csv") == sorted(
        rows, key=lambda r: (r["chapter"], r["mode"], r["device"]))
    (tmp_path / "bad.csv").write_text("chapter,mode,device,threads,seconds,date\nx,full,,1,2,d\n")
    with pytest.raises(ValueError, match=r"lacks \['device'\]"):
        tool.read_rows(tmp_path / "bad.csv")
