"""The benchmark runs on CPU in seconds, writes a well-formed CSV and checks agreement first.

No wall time is asserted: only the schema, that numbers are sane and that the eager/SDPA check
was made. Ratios are for the chapter and results/, not for tests.
"""

from __future__ import annotations

import json

import pytest
import torch

from bertedu import bench

transformers = pytest.importorskip("transformers")


@pytest.fixture(scope="module")
def quick_rows():
    return bench.run_grid("cpu-quick", compare_transformers=True, reps=2, log=None)


def test_one_row_per_grid_point_and_implementation(quick_rows):
    grid = bench.GRIDS["cpu-quick"]
    seen = {(r["benchmark"], r["library"], r["implementation"], r["batch"]) for r in quick_rows}
    impls = [(lib, impl) for lib in ("bertedu", "transformers") for impl in ("eager", "sdpa")]
    for kind, points in (("train", grid.train), ("infer", grid.infer)):
        for B, _T in points:
            for lib, impl in impls:
                assert (kind, lib, impl, B) in seen, (kind, lib, impl, B)
    varlen = [r for r in quick_rows if r["benchmark"] == "varlen-train"]
    assert {(r["library"], r["implementation"]) for r in varlen} == {
        ("bertedu", "sdpa"), ("transformers", "sdpa"), ("bertedu", "unpadded")}
    expected = (len(grid.train) + len(grid.infer)) * 4 + len(grid.varlen) * 3
    assert len(quick_rows) == expected


def test_numbers_are_sane_and_agreement_recorded(quick_rows):
    for r in quick_rows:
        assert set(r) == set(bench.COLUMNS)
        assert 0 < r["time_min_s"] <= r["time_q1_s"] <= r["time_median_s"]
        assert r["time_median_s"] <= r["time_q3_s"] <= r["time_max_s"]
        assert r["peak_mem_mb"] > 0 and r["tokens_per_s"] > 0 and r["model_tflops"] > 0
        assert r["reps"] == 2 and r["threads"] == torch.get_num_threads()
        assert r["eager_sdpa_agree"] is True and r["transformers_agree"] is True
        assert 0 <= r["eager_sdpa_max_abs_diff"] < bench.TOLERANCES["float32"][0]
        assert r["device"] == "cpu" and r["dtype"] == "float32"
        assert r["transformers_version"] == transformers.__version__
        assert r["real_tokens"] <= r["batch"] * r["seq"]
        assert (r["per_token_ms"] != "") == (r["benchmark"] == "infer")
        assert r["mfu"] == ""  # no peak FLOP/s for CPUs


def test_csv_round_trip_keeps_schema_and_types(quick_rows, tmp_path):
    path = bench.write_csv(quick_rows, tmp_path / "sub" / "quick.csv")
    header = path.read_text().splitlines()[0].split(",")
    assert tuple(header) == bench.COLUMNS
    back = bench.read_csv(path)
    assert len(back) == len(quick_rows)
    for row, orig in zip(back, quick_rows, strict=True):
        assert isinstance(row["batch"], int) and isinstance(row["seq"], int)
        assert isinstance(row["time_median_s"], float) and isinstance(row["peak_mem_mb"], float)
        assert row["eager_sdpa_agree"] is True
        assert row["time_median_s"] == pytest.approx(orig["time_median_s"])
        assert row["torch_version"] == torch.__version__


def test_summary_has_seed_ratios_and_library_ratios(quick_rows):
    summary = bench.summarize(quick_rows)
    ours = [s for s in summary if s["benchmark"] == "train" and s["library"] == "bertedu"]
    assert ours and all("speedup_pct" in s and "mem_saving_pct" in s for s in ours)
    assert all(s["transformers_over_bertedu_sdpa"] > 0 for s in ours)
    unpadded = [s for s in summary if s["implementation"] == "unpadded"]
    assert len(unpadded) == 1 and unpadded[0]["throughput_vs_ref"] > 0
    table = bench.format_table(quick_rows)
    assert "speedup_pct" in table and "transformers" in table


def test_cli_writes_csv_and_prints_table(tmp_path, capsys):
    assert bench.cli(["--grid", "cpu-quick", "--reps", "1", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "median ms" in out and "wrote" in out
    (path,) = tmp_path.glob("cpu-quick_float32_*.csv")
    rows = bench.read_csv(path)
    assert {r["library"] for r in rows} == {"bertedu"}  # no comparison unless asked


def test_cli_help_explains_every_flag(capsys):
    with pytest.raises(SystemExit) as exit_:
        bench.cli(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    for flag in ("--grid", "--dtype", "--out", "--compare-transformers", "--reps", "--threads",
                 "--compile", "cpu-quick", "gpu-train"):
        assert flag in out


def test_bad_grid_and_dtype_are_clear_errors(capsys):
    with pytest.raises(SystemExit) as exit_:
        bench.cli(["--grid", "tpu"])
    assert exit_.value.code == 2 and "invalid choice: 'tpu'" in capsys.readouterr().err
    assert bench.cli(["--grid", "cpu-quick", "--dtype", "float16"]) == 2
    assert "float16" in capsys.readouterr().err
    with pytest.raises(ValueError, match="unknown grid 'huge'"):
        bench.run_grid("huge")
    with pytest.raises(ValueError, match="dtype 'float16' is not benchmarked on cpu"):
        bench.check_dtype("cpu", "float16")
    with pytest.raises(ValueError, match="reps"):
        bench.run_grid("cpu-quick", reps=0)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="needs a CUDA GPU"):
            bench.run_grid("gpu-train")


def test_lengths_helpers(tmp_path):
    g = torch.Generator().manual_seed(0)
    lengths = bench.lognormal_lengths(200, 128, g)
    assert len(lengths) == 200 and min(lengths) >= 8 and max(lengths) <= 128
    assert len(set(lengths)) > 20  # variable
    uniform = bench.uniform_lengths(50, 64, g)
    assert min(uniform) >= 32 and max(uniform) <= 64
    (tmp_path / "sst2").mkdir()
    (tmp_path / "sst2" / "validation.jsonl").write_text(
        json.dumps({"sentence": "a fine movie . ", "label": 1}) + "\n")
    assert bench.sst2_lengths(tmp_path) == [6]  # 4 words + [CLS] + [SEP]
    with pytest.raises(FileNotFoundError, match="SST-2"):
        bench.sst2_lengths(tmp_path / "missing")
    batch = bench.padded_batch([3, 5], 6, 50, g)
    assert batch["attention_mask"].sum(1).tolist() == [3, 5]
    assert (batch["input_ids"][batch["attention_mask"] == 0] == 0).all()
    assert ((batch["labels"] == -100) | (batch["attention_mask"] == 1)).all()


RESULTS = __import__("pathlib").Path(__file__).resolve().parents[2] / "results"
RECORDED = sorted(p for p in RESULTS.glob("*.csv") if not p.name.startswith("profile_"))


@pytest.mark.parametrize("path", RECORDED, ids=lambda p: p.name)
def test_recorded_results_are_well_formed(path):
    """The committed CSVs (chapter 12 plots them): schema, agreement, consistent numbers."""
    assert tuple(path.read_text().splitlines()[0].split(",")) == bench.COLUMNS
    rows = bench.read_csv(path)
    assert rows
    for r in rows:
        assert r["eager_sdpa_agree"] is True
        assert r["transformers_agree"] in (True, "")
        assert 0 < r["time_min_s"] <= r["time_q1_s"] <= r["time_median_s"]
        assert r["time_median_s"] <= r["time_q3_s"] <= r["time_max_s"]
        assert r["tokens_per_s"] == pytest.approx(r["real_tokens"] / r["time_median_s"])
        assert 0 < r["real_tokens"] <= r["batch"] * r["seq"] and r["peak_mem_mb"] > 0
        if r["device"] == "cuda":
            assert r["mem_method"] == "cuda.max_memory_allocated" and 0 < r["mfu"] < 1
            assert r["dtype"] in bench.CUDA_DTYPES
        else:
            assert r["mfu"] == "" and r["dtype"] in bench.CPU_DTYPES
    # one model per library and implementation at every grid point, nothing measured twice
    keys = [(r["benchmark"], r["library"], r["implementation"], r["batch"], r["seq"])
            for r in rows]
    assert len(keys) == len(set(keys))


def test_recorded_profile_is_well_formed():
    profiles = sorted(RESULTS.glob("profile_*.csv"))
    assert profiles, "results/ holds the GPU profile of chapter 12"
    for path in profiles:
        assert tuple(path.read_text().splitlines()[0].split(",")) == bench.PROFILE_COLUMNS
        rows = bench.read_csv(path)
        for impl in {(r["library"], r["implementation"]) for r in rows}:
            shares = [r["share"] for r in rows if (r["library"], r["implementation"]) == impl]
            assert sum(shares) == pytest.approx(1.0) and all(s >= 0 for s in shares)


def test_csv_names_keep_compiled_runs_apart():
    row = {"grid": "gpu-varlen", "dtype": "float16", "device_name": "NVIDIA H200"}
    assert bench.default_csv_name([row]) == "gpu-varlen_float16_nvidia-h200.csv"
    assert bench.default_csv_name([row], compile=True) == (
        "gpu-varlen_float16_nvidia-h200_compile-default.csv")
    assert bench.default_csv_name([row], True, "reduce-overhead") == (
        "gpu-varlen_float16_nvidia-h200_compile-reduce-overhead.csv")


def test_gpu_recording_script_is_valid_bash():
    import subprocess

    script = RESULTS / "run_gpu.sh"
    subprocess.run(["bash", "-n", str(script)], check=True)
    text = script.read_text()
    for grid in ("gpu-train", "gpu-infer", "gpu-varlen", "--profile", "BERTEDU_TEST_DEVICE=cuda"):
        assert grid in text
