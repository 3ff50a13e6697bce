"""Try every chapter's first two code cells the way a fresh Colab runtime runs them.

``make colab-smoke`` builds the wheel into ``dist/`` and then runs this script, which

1. creates a fresh virtual environment (``--venv``, default a new folder under /tmp) holding what a
   Colab runtime comes with before any chapter runs: torch (the pinned local build, through
   ``constraints.txt``) and IPython;
2. runs, for each chapter in its own IPython shell started in an empty folder (so that neither the
   checkout nor its ``bertedu/`` is importable), the first code cell with a ``google.colab`` module
   present, so that its ``%pip install "bertedu[viz,data,export]==<version>"`` line really runs,
   with ``dist/`` offered to pip as the place of the bertedu release (the package index stays the
   source of every other requirement). As on Colab, that install runs without ``constraints.txt``:
   the pins are CI's, and a reader's pip resolves bertedu's and bertviz's requirements on its own
   (bertviz's botocore needs python-dateutil<3, which the pins hold at 4.0.0);
3. runs the second code cell (the imports) and checks that the imported bertedu is the installed
   release of the expected version, not the checkout.

A chapter passes when both cells run without an error and every ``%pip`` line exited 0.
``--pin VERSION`` replaces the version in the install line before running it, to see the check
fail on a version that was never built. Exit status 1 when any chapter fails.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
import colab_cell  # noqa: E402 (the one source of the install cell, beside this file)

# Runs inside the fresh venv: argv[1] is a JSON list of cell sources, argv[2] the version.
DRIVER = r"""
import json, sys, types
from IPython.core.interactiveshell import InteractiveShell

cells, version = json.loads(sys.argv[1]), sys.argv[2]
sys.modules["google.colab"] = types.ModuleType("google.colab")  # what Colab's runtime has
shell = InteractiveShell.instance()
failed_commands = []
run_system = shell.system


def system(command):  # %pip runs through here; remember each command that fails
    run_system(command)
    if shell.user_ns.get("_exit_code", 0):
        failed_commands.append(f"{command} (exit {shell.user_ns['_exit_code']})")


shell.system = system
for number, source in enumerate(cells, 1):
    result = shell.run_cell(source)
    if failed_commands:
        sys.exit(f"code cell {number}: " + "; ".join(failed_commands))
    if not result.success:
        sys.exit(f"code cell {number} failed: {result.error_in_exec or result.error_before_exec!r}")
import bertedu
if bertedu.__version__ != version or "site-packages" not in bertedu.__file__:
    sys.exit(f"imported bertedu {bertedu.__version__} from {bertedu.__file__}, not the release")
print(f"ok: bertedu {bertedu.__version__} from {bertedu.__file__}")
"""


def first_code_cells(path: Path, count: int = 2) -> list[str]:
    """Sources of the first ``count`` code cells of a notebook."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return ["".join(c["source"]) for c in cells if c["cell_type"] == "code"][:count]


def make_runtime(where: Path, constraints: Path) -> Path:
    """A fresh venv with torch and IPython, as a Colab runtime has them; returns its python."""
    venv.EnvBuilder(with_pip=True, clear=True).create(where)
    python = where / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", "-c", str(constraints),
                    "torch", "ipython"], check=True)
    return python


def run_chapter(python: Path, notebook: Path, dist: Path, version: str,
                pin: str | None) -> tuple[bool, str]:
    """Run a chapter's first two code cells in ``python``; returns (passed, last output line)."""
    cells = first_code_cells(notebook)
    if pin is not None:
        cells[0] = cells[0].replace(f"=={version}", f"=={pin}")
    drop = ("PYTHONPATH", "VIRTUAL_ENV", "PIP_CONSTRAINT")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env["PIP_FIND_LINKS"] = " ".join(filter(None, [str(dist), os.environ.get("PIP_FIND_LINKS")]))
    env["MPLBACKEND"] = "Agg"
    with tempfile.TemporaryDirectory(prefix="colab-smoke-cwd-") as cwd:
        done = subprocess.run([str(python), "-c", DRIVER, json.dumps(cells), version], cwd=cwd,
                              env=env, capture_output=True, text=True)
    output = (done.stdout + done.stderr).strip().splitlines() or [""]
    failed = done.returncode != 0
    return not failed, "\n    ".join(output[-12:] if failed else output[-1:])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dist", type=Path, default=ROOT / "dist", help="folder of the wheel")
    parser.add_argument("--venv", type=Path, default=None, help="where to create the runtime")
    parser.add_argument("--constraints", type=Path, default=ROOT / "constraints.txt")
    parser.add_argument("--pin", default=None, help="install this version instead (must fail)")
    args = parser.parse_args(argv)

    version = colab_cell.version()
    if not list(args.dist.glob(f"bertedu-{version}-*.whl")):
        raise SystemExit(f"no bertedu {version} wheel in {args.dist}: run make dist first")
    where = args.venv or Path(tempfile.mkdtemp(prefix="colab-smoke-venv-"))
    start = time.perf_counter()
    python = make_runtime(where, args.constraints.resolve())
    print(f"fresh runtime {where} ({time.perf_counter() - start:.0f} s)")

    failures = 0
    for notebook in sorted((ROOT / "notebooks").glob("*.ipynb")):
        start = time.perf_counter()
        passed, line = run_chapter(python, notebook, args.dist.resolve(), version, args.pin)
        failures += not passed
        print(f"{'PASS' if passed else 'FAIL'} {notebook.name} "
              f"({time.perf_counter() - start:.0f} s): {line}")
    print(f"{failures} of {len(list((ROOT / 'notebooks').glob('*.ipynb')))} chapters failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
