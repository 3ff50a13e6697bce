"""The figures of chapter 12 and results/README.md come from the recorded CSVs, and hold.

* ``bench.figures`` agrees with a direct computation from the raw rows;
* what the chapter's prose says of the recorded results is true of them (the claims without a
  number: "faster at every point", "grows with the length", ...);
* the generated part of ``results/README.md`` is up to date, and neither the chapter's markdown
  nor the README's hand-written part contains a number equal to a recorded figure: every such
  number is glued (``{glue:text}``) or generated.
"""

from __future__ import annotations

import json
import re
import statistics
from pathlib import Path

import pytest

from bertedu import bench

ROOT = Path(__file__).resolve().parents[2]
CHAPTER = ROOT / "notebooks" / "12_attention_speed.ipynb"
README = ROOT / "results" / "README.md"
FILES = bench.load_recorded()
FIG = bench.figures(FILES)


def rows_of(prefix: str) -> list[dict]:
    (name,) = [n for n in FILES if n.startswith(prefix)]
    return FILES[name]


def by_point(rows, **where) -> dict[tuple, dict]:
    return {(r["batch"], r["seq"]): r for r in rows
            if all(r[k] == v for k, v in where.items())}


# ------------------------------------------------------------------------------- figures


def test_sdpa_figures_equal_a_direct_computation():
    rows = rows_of("gpu-train_float16")
    eager = by_point(rows, library="bertedu", implementation="eager")
    sdpa = by_point(rows, library="bertedu", implementation="sdpa")
    speedup = [100 * (eager[p]["time_median_s"] / sdpa[p]["time_median_s"] - 1) for p in eager]
    saving = [100 * (eager[p]["peak_mem_mb"] / sdpa[p]["peak_mem_mb"] - 1) for p in eager]
    less = [100 * (1 - sdpa[p]["peak_mem_mb"] / eager[p]["peak_mem_mb"]) for p in eager]
    assert len(speedup) == len(bench.SEED_TRAIN)
    assert (FIG["gpu16_train_speedup_min"], FIG["gpu16_train_speedup_max"]) == pytest.approx(
        (min(speedup), max(speedup)))
    assert FIG["gpu16_train_mem_saving_max"] == pytest.approx(max(saving))
    assert FIG["gpu16_train_less_mem_max"] == pytest.approx(max(less))
    # the two memory measures are different numbers, related by less = s / (1 + s)
    s = FIG["gpu16_train_mem_saving_max"] / 100
    assert FIG["gpu16_train_less_mem_max"] == pytest.approx(100 * s / (1 + s))
    assert FIG["gpu16_train_less_mem_max"] < FIG["gpu16_train_mem_saving_max"] - 20


def test_library_and_varlen_figures_equal_a_direct_computation():
    rows = rows_of("gpu-train_float16") + rows_of("gpu-infer_float16")
    ratios = []
    for bench_name in ("train", "infer"):
        for impl in ("eager", "sdpa"):
            ours = by_point(rows, benchmark=bench_name, library="bertedu", implementation=impl)
            theirs = by_point(rows, benchmark=bench_name, library="transformers",
                              implementation=impl)
            ratios += [theirs[p]["time_median_s"] / ours[p]["time_median_s"] for p in ours]
    assert FIG["gpu16_lib_count"] == len(ratios) == 24
    assert FIG["gpu16_lib_median"] == pytest.approx(statistics.median(ratios))
    assert FIG["gpu16_lib_below1_count"] == sum(r < 1 for r in ratios)
    varlen = rows_of("gpu-varlen_bfloat16")
    unpadded = by_point(varlen, implementation="unpadded")
    ref = by_point(varlen, library="transformers", implementation="sdpa")
    for (B, T), r in unpadded.items():
        expected = r["tokens_per_s"] / ref[(B, T)]["tokens_per_s"]
        assert FIG[f"gpubf16_varlen_unpadded_b{B}"] == pytest.approx(expected)


# ------------------------------------------------------------------------------- the claims


@pytest.mark.parametrize("prefix", ["gpu-train_float16", "gpu-infer_float16", "gpu_bfloat16"])
def test_sdpa_beats_eager_at_every_gpu_point(prefix):
    for s in bench.summarize(rows_of(prefix)):
        if s["benchmark"] in ("train", "infer") and "speedup_pct" in s:
            assert s["speedup_pct"] > 0, s
            if s["benchmark"] == "train":
                assert s["mem_saving_pct"] > 0 and 0 < s["less_mem_pct"] < s["mem_saving_pct"]


def test_cpu_sdpa_helps_inference_only():
    summary = [s for s in bench.summarize(rows_of("cpu_")) if "speedup_pct" in s]
    assert all(s["speedup_pct"] > 0 for s in summary if s["benchmark"] == "infer")
    assert all(abs(s["mem_saving_pct"]) < 1 for s in summary if s["benchmark"] == "train")


def test_training_memory_saving_grows_with_length_and_batch():
    saving = {(s["batch"], s["seq"]): s["mem_saving_pct"]
              for s in bench.summarize(rows_of("gpu-train_float16"))
              if s["library"] == "bertedu" and "mem_saving_pct" in s}
    assert all(saving[(B, 512)] > saving[(B, 256)] for B in (4, 8, 16))
    assert all(saving[(4, T)] < saving[(8, T)] < saving[(16, T)] for T in (256, 512))


@pytest.mark.parametrize("prefix", ["gpu-infer_float16", "gpu_bfloat16", "cpu_"])
def test_transformers_slower_at_every_inference_point_and_ties_are_noise(prefix):
    points = bench.library_ratios(rows_of(prefix))
    assert all(p["ratio"] > 1 for p in points if p["benchmark"] == "infer")
    if prefix.startswith("gpu"):  # the chapter calls the GPU training points below 1 ties
        assert all(p["iqr_overlap"] for p in points if p["ratio"] < 1)


def test_unpadded_beats_padded_at_every_batch():
    for prefix in ("cpu_", "gpu-varlen_bfloat16", "gpu-varlen-compile_float16"):
        ratios = [s["throughput_vs_ref"] for s in bench.summarize(rows_of(prefix))
                  if s["implementation"].startswith("unpadded")]
        assert ratios and min(ratios) > 1, prefix
    race = {B: FIG[f"gpubf16_varlen_unpadded_b{B}"] for B in (32, 128, 16, 64)}
    assert min(race, key=race.get) == 32  # "smallest for the smallest batch"


def test_quartiles_surround_every_recorded_median():
    for name, rows in FILES.items():
        for r in rows:
            if "time_median_s" in r:
                assert r["time_q1_s"] <= r["time_median_s"] <= r["time_q3_s"], name


# ------------------------------------------------------------------------------- the text

# numbers the prose may type: the grid's batch sizes and lengths
GRID_NUMBERS = {n for g in bench.GRIDS.values() for point in g.train + g.infer + g.varlen
                for n in point[:2]} | {n for r in bench.SEED_TRAIN_TABLE + bench.SEED_INFER_TABLE
                                        for n in r[:2]}
# a number, with its sign, thousands separators and decimals, not part of a name or a version
NUMBER = re.compile(r"(?<![\w.,-])[-+]?\d[\d,]*(?:\.\d+)?(?![\d.]*\.\d)")
WHOLE_UNIT = re.compile(r"\s?%|x\b|-[+-]?\d+(\.\d+)?%")  # 35%, 2x, 11-35% (not "16 x 512")


def significant(s: str) -> int:
    return len(s.lstrip("+-").replace(",", "").replace(".", "").lstrip("0"))


def figure_strings() -> tuple[set[str], set[str]]:
    """Every recorded figure as the text would print it: ``(decimals, whole numbers)``.

    Decimals: each figure at 1-3 decimals and each measured CSV cell (ms, MiB, tokens/s, MFU,
    profile shares) at 2-3 decimals. Whole numbers: each figure rounded (a whole number in
    prose counts only before ``%`` or ``x``), and the integral figures of 100 or more (token and
    event counts, the peak TFLOP/s) in any context. Numbers of one significant digit are left
    out: they are everywhere in prose.
    """
    decimals, whole = set(), set()
    for value in FIG.values():
        decimals |= {format(value, spec) for spec in (".1f", ".2f", ".3f")}
        whole |= {format(value, spec) for spec in (".0f", "+.0f")}
    for rows in FILES.values():
        for r in rows:
            cells = [1e3 * r[k] for k in ("time_median_s", "time_q1_s", "time_q3_s")
                     if isinstance(r.get(k), float)]
            cells += [r[k] for k in ("per_token_ms", "peak_mem_mb", "tokens_per_s", "mfu",
                                     "share", "self_ms") if isinstance(r.get(k), float)]
            decimals |= {format(v, spec) for v in cells for spec in (".2f", ".3f")}
    decimals = {s for s in decimals if significant(s) >= 2}
    whole = {s for s in whole if significant(s) >= 2}
    return decimals, whole


DECIMALS, WHOLE = figure_strings()
COUNTS = {format(v, spec) for v in FIG.values() if v == int(v) and abs(v) >= 100
          and int(v) not in GRID_NUMBERS for spec in (".0f", ",.0f")}


def typed_figures(text: str) -> list[str]:
    """Numbers in the prose of ``text`` (glue roles, inline code and math removed) that equal a
    recorded figure."""
    text = re.sub(r"\{glue:[a-z]*\}`[^`]*`", " ", text)
    text = re.sub(r"\$\$.*?\$\$|\$[^$]*\$|`[^`]*`", " ", text, flags=re.S)
    found = []
    for m in NUMBER.finditer(text):
        token = m.group()
        if "." in token:
            hit = token in DECIMALS
        else:
            hit = token in COUNTS or (token in WHOLE and WHOLE_UNIT.match(text, m.end()))
        if hit:
            found.append(token)
    return found


def chapter_markdown() -> str:
    cells = json.loads(CHAPTER.read_text())["cells"]
    return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")


def test_the_check_catches_hand_typed_figures():
    f = FIG
    typed = (f"SDPA trains {f['gpu16_train_speedup_min']:.0f}-"
             f"{f['gpu16_train_speedup_max']:.0f}% faster, a median of "
             f"{f['gpu16_lib_median']:.2f}, {f['gpubf16_varlen_unpadded_b64']:.2f}x, "
             f"{f['profile_sdpa_events']:,.0f} events at batch 16 x 512")
    assert typed_figures(typed) == [  # a range is caught at its first number
        f"{f['gpu16_train_speedup_min']:.0f}", f"{f['gpu16_lib_median']:.2f}",
        f"{f['gpubf16_varlen_unpadded_b64']:.2f}", f"{f['profile_sdpa_events']:,.0f}"]
    assert typed_figures("{glue:text}`gpu16_lib_median:.2f` at batch 16 x 512") == []


def test_chapter_12_types_no_recorded_figure():
    assert typed_figures(chapter_markdown()) == []


def test_chapter_12_glues_only_known_figures():
    cells = json.loads(CHAPTER.read_text())["cells"]
    code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    glued = set(FIG) | set(re.findall(r'glue\("(\w+)"', code))
    used = set(re.findall(r"\{glue:text\}`(\w+)", chapter_markdown()))
    assert len(used) > 40 and used <= glued, used - glued


def test_readme_figures_are_generated_and_up_to_date(tmp_path):
    text = README.read_text()
    head, rest = text.split(bench.findings.REPORT_BEGIN)
    _, tail = rest.split(bench.findings.REPORT_END)
    assert typed_figures(head + tail) == []
    assert bench.update_report(README, check=True), (
        "results/README.md is stale: run python -m bertedu bench --report results/README.md")
    stale = tmp_path / "README.md"
    stale.write_text(text.replace(f"{FIG['gpu16_lib_median']:.2f}", "9.99"))
    assert not bench.update_report(stale, check=True)
    assert bench.cli(["--report", str(stale)]) == 0 and stale.read_text() == text
    (tmp_path / "plain.md").write_text("no generated block\n")
    assert bench.cli(["--report", str(tmp_path / "plain.md")]) == 2


def test_a_missing_recorded_file_is_a_clear_error():
    files = {name: rows for name, rows in FILES.items() if not name.startswith("cpu_")}
    with pytest.raises(FileNotFoundError, match=r"one recorded CSV named cpu_\*, found \[\]"):
        bench.figures(files)
