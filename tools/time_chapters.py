"""Time every chapter end to end and keep the introduction's table of chapter times up to date.

Usage::

    python tools/time_chapters.py [--quick] [--threads N] [CHAPTER ...]   # run, record
    python tools/time_chapters.py --update-intro                          # rewrite the table
    python tools/time_chapters.py --update-intro --check                  # exit 1 if stale

Running a chapter executes the notebook from a clean kernel with ``nbclient`` (``BERTEDU_QUICK``
set to 1 with ``--quick``, unset otherwise), as a reader would run it, and replaces its row for
(chapter, mode, device) in ``results/chapter_times.csv``: the wall time in seconds, the device
(``cpu`` or the CUDA device's name), the number of CPU threads torch may use, and the date.
A chapter that fails to execute is reported and not recorded.

``--from-cache DIR`` records, instead of running anything, the execution times that the book
build kept in its jupyter-cache (``_build/.jupyter_cache``: ``make book`` executes every chapter at
full size, one after the other, with torch's default threads), so that one build yields both the
book and its times; the mode comes from the build's marker file (``.inputs-full`` or
``.inputs-quick``).

``--update-intro`` writes the table between the markers of ``book/intro.md`` from that CSV, so
that the book's times are always the recorded ones; a cell with no recorded run says so.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CSV = ROOT / "results" / "chapter_times.csv"
INTRO = ROOT / "book" / "intro.md"
BEGIN, END = "<!-- chapter-times: begin -->", "<!-- chapter-times: end -->"
FIELDS = ("chapter", "mode", "device", "threads", "seconds", "date")
NOT_MEASURED = "not measured"


def chapters() -> list[Path]:
    return sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def _device() -> str:
    probe = ("import torch; print(torch.cuda.get_device_name(0) if torch.cuda.is_available() "
             "else 'cpu')")
    return subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True).stdout.strip()


def run_chapter(notebook: Path, quick: bool, threads: int | None, timeout: int) -> float:
    """Execute ``notebook`` in a fresh kernel in its own folder (as nbval does); wall seconds."""
    import nbformat
    from nbclient import NotebookClient

    env_before = dict(os.environ)
    os.environ.pop("BERTEDU_QUICK", None)
    if quick:
        os.environ["BERTEDU_QUICK"] = "1"
    if threads:
        os.environ["OMP_NUM_THREADS"] = str(threads)
    try:
        nb = nbformat.read(notebook, as_version=4)
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                resources={"metadata": {"path": str(notebook.parent)}})
        start = time.perf_counter()
        client.execute()
        return time.perf_counter() - start
    finally:
        os.environ.clear()
        os.environ.update(env_before)


def cached_times(cache_dir: Path) -> tuple[str, dict[str, tuple[float, str]]]:
    """(mode, chapter -> (seconds, date)) from a book build's jupyter-cache folder."""
    from jupyter_cache import get_cache

    markers = [m.name.split("-", 1)[1] for m in cache_dir.glob(".inputs-*")]
    if len(markers) != 1 or markers[0] not in ("full", "quick"):
        raise ValueError(f"{cache_dir}: expected one .inputs-full or .inputs-quick marker, found "
                         f"{markers}")
    stems = {n.stem for n in chapters()}
    times, latest = {}, {}
    for record in get_cache(str(cache_dir)).list_cache_records():
        stem = Path(record.uri).stem
        seconds = (record.data or {}).get("execution_seconds")
        if stem in stems and seconds is not None and (
                stem not in latest or record.created > latest[stem]):
            latest[stem] = record.created  # a chapter edited since has a newer record
            times[stem] = (float(seconds), record.created.date().isoformat())
    return markers[0], times


def record(chapter: str, mode: str, device: str, threads: str, seconds: float,
           date: str) -> None:
    """Replace the row of (chapter, mode, device) in the CSV."""
    rows = [r for r in read_rows() if (r["chapter"], r["mode"], r["device"])
            != (chapter, mode, device)]
    rows.append({"chapter": chapter, "mode": mode, "device": device, "threads": threads,
                 "seconds": f"{seconds:.1f}", "date": date})
    write_rows(rows)


def read_rows(path: Path = CSV) -> list[dict]:
    if not path.exists():
        return []
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        missing = [k for k in FIELDS if not row.get(k)]
        if missing:
            raise ValueError(f"{path}: row {row} lacks {missing}")
    return rows


def write_rows(rows: list[dict], path: Path = CSV) -> None:
    rows = sorted(rows, key=lambda r: (r["chapter"], r["mode"], r["device"]))
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.1f} min"


def _title(notebook: Path) -> str:
    """The chapter's first heading without its number ("# 3. Embeddings" -> "Embeddings")."""
    import json

    for cell in json.loads(notebook.read_text())["cells"]:
        for line in "".join(cell["source"]).splitlines():
            if cell["cell_type"] == "markdown" and line.startswith("# "):
                return line[2:].split(". ", 1)[-1].split(": ", 1)[0].strip()
    return notebook.stem.split("_", 1)[1].replace("_", " ")


def _threads(rows: list[dict], mode: str) -> str:
    counts = sorted({int(r["threads"]) for r in rows if r["mode"] == mode}) or [0]
    label = "/".join(map(str, counts)) if counts != [0] else "?"
    return f"{label} thread{'' if counts == [1] else 's'}"


def table(rows: list[dict]) -> str:
    """The Markdown table of the introduction: one line per chapter, one column per setting."""
    cpu = [r for r in rows if r["device"] == "cpu"]
    gpus = sorted({r["device"] for r in rows} - {"cpu"})
    columns = [("full", "cpu", f"CPU, full size ({_threads(cpu, 'full')})"),
               ("quick", "cpu", f"CPU, quick mode ({_threads(cpu, 'quick')})"),
               *[("full", g, f"GPU, full size ({g})") for g in gpus]]
    if not gpus:
        columns.append(("full", None, "GPU, full size"))
    index = {(r["chapter"], r["mode"], r["device"]): float(r["seconds"]) for r in rows}
    lines = ["| chapter | " + " | ".join(c[2] for c in columns) + " |",
             "| --- |" + " ---: |" * len(columns)]
    for notebook in chapters():
        cells = []
        for mode, device, _ in columns:
            seconds = index.get((notebook.stem, mode, device))
            cells.append(NOT_MEASURED if seconds is None else _duration(seconds))
        number = int(notebook.stem[:2])
        lines.append(f"| {number}. {_title(notebook)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def update_intro(path: Path = INTRO, rows: list[dict] | None = None, check: bool = False) -> bool:
    """Rewrite the block between the markers of ``path``; with ``check``, only say if current."""
    text = path.read_text()
    if BEGIN not in text or END not in text:
        raise ValueError(f"{path} has no {BEGIN} ... {END} block")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    new = f"{head}{BEGIN}\n{table(read_rows() if rows is None else rows)}\n{END}{tail}"
    if check:
        return new == text
    path.write_text(new)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python tools/time_chapters.py",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("chapters", nargs="*", help="chapter stems or numbers (default: all)")
    parser.add_argument("--quick", action="store_true", help="BERTEDU_QUICK=1")
    parser.add_argument("--threads", type=int, default=None, help="OMP_NUM_THREADS")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds per cell")
    parser.add_argument("--from-cache", type=Path, default=None,
                        help="record the times of a book build's jupyter-cache folder")
    parser.add_argument("--update-intro", action="store_true")
    parser.add_argument("--check", action="store_true", help="with --update-intro")
    args = parser.parse_args(argv)
    if args.update_intro:
        if args.check:
            if update_intro(check=True):
                return 0
            print(f"{INTRO} is stale: run python tools/time_chapters.py --update-intro")
            return 1
        update_intro()
        return 0
    device = _device()
    import torch

    threads = str(args.threads or int(os.environ.get("OMP_NUM_THREADS", 0))
                  or torch.get_num_threads())
    if args.from_cache:
        mode, times = cached_times(args.from_cache)
        for chapter, (seconds, date) in sorted(times.items()):
            record(chapter, mode, device, threads, seconds, date)
            print(f"{chapter}: {seconds:.1f} s ({mode}, {device}, threads={threads})")
        return 0 if times else 1
    wanted = {c.zfill(2) if c.isdigit() else c for c in args.chapters}
    selected = [n for n in chapters() if not wanted or n.stem in wanted or n.stem[:2] in wanted]
    if wanted and not selected:
        parser.error(f"no chapter matches {sorted(wanted)}")
    mode = "quick" if args.quick else "full"
    failed = 0
    for notebook in selected:
        try:
            seconds = run_chapter(notebook, args.quick, args.threads, args.timeout)
        except Exception as err:  # a failed chapter is reported, and its old row kept
            print(f"{notebook.stem}: FAILED ({type(err).__name__}: {str(err)[-300:]})",
                  flush=True)
            failed += 1
            continue
        record(notebook.stem, mode, device, threads, seconds, datetime.date.today().isoformat())
        print(f"{notebook.stem}: {seconds:.1f} s ({mode}, {device}, threads={threads})",
              flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
