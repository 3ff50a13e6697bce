"""The book's structure: every chapter is in the TOC, committed without outputs, Colab-ready.

Also the book's own Sphinx extension (book/_ext/page_scripts.py): each script once on a page, and
bertviz's scripts served by the book instead of a CDN.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import bertedu

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import colab_cell  # noqa: E402 (tools/ is no package: the one source of the install cell)

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def _toc_files() -> list[str]:
    return re.findall(r"file:\s*(\S+)", (ROOT / "_toc.yml").read_text())


def test_every_notebook_is_in_the_toc():
    listed = set(_toc_files())
    missing = [nb.name for nb in NOTEBOOKS if f"notebooks/{nb.stem}" not in listed]
    assert not missing, f"notebooks missing from _toc.yml: {missing}"


def test_every_toc_entry_exists():
    absent = [f for f in _toc_files()
              if not any((ROOT / f"{f}{ext}").exists() for ext in (".ipynb", ".md"))]
    assert not absent, f"_toc.yml lists files that do not exist: {absent}"


def test_notebooks_are_committed_without_outputs():
    dirty = []
    for nb in NOTEBOOKS:
        cells = json.loads(nb.read_text())["cells"]
        if any(c.get("outputs") or c.get("execution_count") for c in cells
               if c["cell_type"] == "code"):
            dirty.append(nb.name)
    assert not dirty, f"strip outputs from: {dirty}"


def test_every_chapter_starts_with_the_one_install_cell():
    """First cell: tools/colab_cell.py's (pinned release, tagged remove-cell); then the title."""
    problems = [line for nb in NOTEBOOKS for line in colab_cell.problems(nb)]
    assert not problems, "\n".join(problems) + "\nfix: python tools/colab_cell.py --write"


def test_install_cell_pins_this_release_from_the_index():
    cell = colab_cell.install_cell()
    assert f'%pip install -q "bertedu[viz,data,export]=={bertedu.__version__}"' in cell
    assert "git+" not in cell and "@" not in cell  # from the package index, not an address
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'version = {attr = "bertedu.__version__"}' in pyproject  # the version is defined once


def test_second_code_cell_imports_and_picks_the_device():
    for nb in NOTEBOOKS:
        code = ["".join(c["source"]) for c in json.loads(nb.read_text())["cells"]
                if c["cell_type"] == "code"]
        assert "import" in code[1] and "device" in code[1], nb.name


def test_readme_colab_links_open_every_chapter_of_the_repository():
    readme = (ROOT / "README.md").read_text()
    links = set(re.findall(r"https://colab\.research\.google\.com/[^)\s]+", readme))
    expected = {colab_cell.colab_url(nb.name) for nb in NOTEBOOKS}
    assert links == expected, (sorted(links - expected), sorted(expected - links))


def _sphinx_page(tmp_path: Path, extensions: list[str], body: str) -> tuple[str, str]:
    """Build a one-page Sphinx site with ``extensions``; returns its HTML and the warnings."""
    src = tmp_path / "src"
    src.mkdir(parents=True)
    ext = str(ROOT / "book" / "_ext")
    (src / "conf.py").write_text(f"import sys\nsys.path.insert(0, {ext!r})\n"
                                 f"extensions = {extensions!r}\n")
    (src / "index.rst").write_text(f"Page\n====\n\n.. raw:: html\n\n   {body}\n")
    done = subprocess.run([sys.executable, "-m", "sphinx", "-q", "-b", "html", str(src),
                           str(tmp_path / "out")], capture_output=True, text=True, check=True)
    return (tmp_path / "out" / "index.html").read_text(), done.stderr


def test_sphinx_74_writes_thebes_script_twice_and_page_scripts_once(tmp_path):
    page, _ = _sphinx_page(tmp_path / "plain", ["sphinx_thebe"], "<p>x</p>")
    assert page.count("const THEBE_JS_URL") == 2  # the bug: 'already been declared' in a browser
    page, _ = _sphinx_page(tmp_path / "fixed", ["sphinx_thebe", "page_scripts"], "<p>x</p>")
    assert page.count("const THEBE_JS_URL") == 1


def test_page_scripts_serves_bertviz_scripts_from_the_book(tmp_path):
    cdn = "https://cdnjs.cloudflare.com/ajax/libs"
    body = (f'<script src="{cdn}/require.js/2.3.6/require.min.js"></script>'
            f"<script>require.config({{paths: {{d3: '{cdn}/d3/5.7.0/d3.min'}}}});</script>")
    page, warnings = _sphinx_page(tmp_path, ["page_scripts"], body)
    assert "cdnjs" not in page and not warnings
    assert '<script src="_static/vendor/require.js"></script>' in page
    assert "d3: '_static/vendor/d3.min'" in page
    assert all((ROOT / "book" / "_static" / "vendor" / name).is_file()
               for name in ("require.js", "d3.min.js", "jquery.min.js"))


def test_page_scripts_warns_of_any_other_script_from_the_network(tmp_path):
    body = '<script src="https://example.org/widget.js"></script>'
    _, warnings = _sphinx_page(tmp_path, ["page_scripts"], body)
    assert "loads a script from the network" in warnings and "example.org/widget.js" in warnings


def test_public_names_resolve():
    for name in bertedu.__all__:
        try:
            getattr(bertedu, name)
        except ModuleNotFoundError as err:  # a module still being written is reported, not hidden
            raise AssertionError(f"bertedu.{name}: {err}") from err


def test_cli_lists_commands(capsys):
    from bertedu.__main__ import main

    assert main([]) == 0
    out = capsys.readouterr().out
    assert "pretrain" in out and "bench" in out
    assert main(["nonsense"]) == 2


def test_the_bibliography_parses_and_holds_every_cited_key():
    """The bibliography is parsed by pybtex, as sphinxcontrib-bibtex parses it in the book build:
    a missing brace there fails the whole build, after every chapter has executed."""
    from pybtex.database import parse_file

    entries = parse_file(str(ROOT / "book" / "references.bib")).entries
    text = "\n".join(p.read_text() for p in [*(ROOT / "notebooks").glob("*.ipynb"),
                                             *(ROOT / "book").glob("*.md")])
    cited = {key.strip() for keys in re.findall(r"\{cite(?::\w+)?\}`([^`]+)`", text)
             for key in keys.split(",")}
    assert len(cited) > 20, cited
    assert cited <= set(entries), sorted(cited - set(entries))


def _inline_math_open(text: str) -> bool:
    """Whether ``text`` ends inside ``$...$`` math (``$$`` blocks and ``\\$`` are not counted)."""
    text = re.sub(r"\$\$.*?\$\$", "", text.replace("\\$", ""), flags=re.S)
    text = re.sub(r"`[^`]*`", "", text)
    return text.count("$") % 2 == 1


def test_inline_math_never_wraps_onto_a_line_that_markdown_reads_as_a_list():
    """A wrapped line of ``$...$`` that starts with ``+ ``, ``- `` or ``* `` ends the paragraph:
    the list item cuts the formula in two and both halves are printed as raw TeX."""
    slips = []
    for notebook in NOTEBOOKS:
        for cell in json.loads(notebook.read_text())["cells"]:
            if cell["cell_type"] != "markdown":
                continue
            lines = "".join(cell["source"]).split("\n")
            for i in range(1, len(lines)):
                paragraph = "\n".join(lines[:i]).split("\n\n")[-1]
                if re.match(r"\s*[-+*] ", lines[i]) and _inline_math_open(paragraph):
                    slips.append(f"{notebook.name}: {lines[i][:60]!r}")
    assert not slips, slips
