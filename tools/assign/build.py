"""Write course assignments from the chapters with Otter-Grader's ``otter assign``.

Every chapter is its own master notebook: a graded question is a ``# BEGIN QUESTION`` raw cell,
a prompt, the solution between ``# BEGIN SOLUTION`` / ``# END SOLUTION`` (the code inside carries
the same markers around the part a student writes), and tests between ``# BEGIN TESTS`` /
``# END TESTS`` that call ``bertedu.testing``. This script adds the assignment configuration (one
place for all chapters, below) to a copy of each chapter that has questions and runs
``otter assign`` on it. Per chapter it writes

    OUT/NN_topic/student/NN_topic.ipynb      the notebook with stubs, no solutions, public tests
    OUT/NN_topic/autograder/NN_topic.ipynb   the master with solutions
    OUT/NN_topic/autograder/*.zip            the autograder bundle for ``otter run`` / Gradescope

Usage: ``python tools/assign/build.py [--out _build/assignments] [notebooks/NN_topic.ipynb ...]``
(default: every chapter with a graded question).

References:
    Otter-Grader documentation, "Otter Assign" (notebook format v1) and "Otter Run".
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Exception-based tests (each test is a function calling a checker), kept in the notebook's
# metadata; no PDFs, no export cell (students hand in the notebook), no run of the tests at
# assign time (tests/test_assignments.py grades the result instead).
CONFIG = """# ASSIGNMENT CONFIG
name: {name}
init_cell: true
check_all_cell: true
export_cell: false
run_tests: false
solutions_pdf: false
generate:
  pdf: false
  filtering: false
tests:
  files: false
  ok_format: false
"""


def has_questions(notebook: Path) -> bool:
    """True when ``notebook`` holds at least one ``# BEGIN QUESTION`` raw cell."""
    cells = json.loads(notebook.read_text())["cells"]
    return any(c["cell_type"] == "raw" and "".join(c["source"]).startswith("# BEGIN QUESTION")
               for c in cells)


def build(notebook: Path, out: Path) -> list[Path]:
    """Run ``otter assign`` on ``notebook`` with the course configuration; return its files."""
    master = json.loads(notebook.read_text())
    config = {"cell_type": "raw", "id": "assignment-config", "metadata": {},
              "source": CONFIG.format(name=notebook.stem).splitlines(keepends=True)}
    master["cells"].insert(0, config)
    target = out / notebook.stem
    shutil.rmtree(target, ignore_errors=True)
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / notebook.name
        copy.write_text(json.dumps(master, indent=1, ensure_ascii=False))
        subprocess.run([str(Path(sys.executable).with_name("otter")), "assign", "--no-pdfs",
                        str(copy), str(target)], check=True, cwd=tmp)
    student = target / "student" / notebook.name
    unfolded = json.loads(student.read_text())
    for cell in unfolded["cells"]:  # the book folds solutions away; a student's stub stays open
        tags = cell["metadata"].get("tags", [])
        if "hide-input" in tags:
            tags.remove("hide-input")
    student.write_text(json.dumps(unfolded, indent=1, ensure_ascii=False))
    return sorted(p for p in target.rglob("*") if p.is_file())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--out", type=Path, default=ROOT / "_build" / "assignments")
    args = parser.parse_args(argv)
    chapters = args.notebooks or sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    for notebook in [n for n in chapters if has_questions(n)]:
        for path in build(notebook.resolve(), args.out.resolve()):
            print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)


if __name__ == "__main__":
    main()
