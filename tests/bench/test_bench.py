"""The benchmark runs on CPU in seconds, writes a well-formed CSV and checks agreement first.

No wall time of a live run is asserted: only the schema, that numbers are sane and that the
eager/SDPA check was measured and recorded. The recorded results (the CSVs shipped in
``bertedu/bench/results/``) are checked for what chapter 12 says of them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import transformers

from bertedu import bench


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
        assert (r["atol"], r["rtol"]) == bench.TOLERANCES["float32"]
        for check in ("eager_sdpa", "transformers"):
            used = r[f"{check}_tol_used"]
            assert 0 <= used <= 1 and r[f"{check}_agree"] is (used <= 1)
            # the largest difference is one of the elements the tolerance fraction bounds
            assert 0 <= r[f"{check}_max_abs_diff"] <= used * (r["atol"] + r["rtol"] * 100)
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
        assert row["eager_sdpa_tol_used"] == pytest.approx(orig["eager_sdpa_tol_used"])
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


ROOT = Path(__file__).resolve().parents[2]
RESULTS = bench.recorded_results()
RECORDED = sorted(p for p in RESULTS.glob("*.csv") if not p.name.startswith("profile_"))
MEASURED = bench.COLUMNS[:-len(bench.AGREEMENT_COLUMNS)]  # the schema before 0.2


@pytest.mark.parametrize("path", RECORDED, ids=lambda p: p.name)
def test_recorded_results_are_well_formed(path):
    """The shipped CSVs (chapter 12 plots them): schema, agreement, consistent numbers."""
    header = tuple(path.read_text().splitlines()[0].split(","))
    assert header in (bench.COLUMNS, MEASURED)
    rows = bench.read_csv(path)
    assert rows
    for r in rows:
        assert set(r) == set(bench.COLUMNS)
        assert (r["atol"], r["rtol"]) == bench.TOLERANCES[r["dtype"]]
        if r["eager_sdpa_tol_used"] != "":  # recorded with the measured-agreement columns
            assert r["eager_sdpa_agree"] is (r["eager_sdpa_tol_used"] <= 1) is True
        else:  # an older row: its verdict, and a difference inside the absolute tolerance
            assert header == MEASURED and r["eager_sdpa_agree"] is True
            assert 0 <= r["eager_sdpa_max_abs_diff"] <= r["atol"]
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


def test_old_rows_are_migrated_and_new_rows_round_trip(tmp_path):
    old = bench.read_csv(RESULTS / "cpu_float32_amd-epyc.csv")[0]
    assert (old["atol"], old["rtol"]) == bench.TOLERANCES["float32"]
    assert old["eager_sdpa_tol_used"] == old["transformers_max_abs_diff"] == ""
    new = dict(old, eager_sdpa_tol_used=0.25, transformers_max_abs_diff=1e-6,
               transformers_tol_used=0.01)
    back = bench.read_csv(bench.write_csv([new], tmp_path / "new.csv"))[0]
    assert back["eager_sdpa_tol_used"] == 0.25 and back["transformers_tol_used"] == 0.01


def test_tolerance_used_is_the_assert_close_criterion():
    expected = torch.tensor([1.0, -2.0, 0.0])
    atol, rtol = 1e-3, 1e-2
    bound = atol + rtol * expected.abs()  # (3,)
    for fraction in (0.5, 0.999, 1.001, 3.0):
        actual = expected + torch.tensor([0.0, fraction, 0.0]) * bound
        diff, used = bench.tolerance_used(actual, expected, atol, rtol)
        assert diff == pytest.approx(fraction * bound[1].item(), rel=1e-4)
        assert used == pytest.approx(fraction, rel=1e-4)
        close = torch.allclose(actual, expected, atol=atol, rtol=rtol)
        assert close is (used <= 1)


def _shift_sdpa_output(monkeypatch, shift):
    """Make bertedu's SDPA model disagree with its eager twin by ``shift`` at every output."""
    build = bench.runner.build_models

    def shifted(*args, **kwargs):
        models = build(*args, **kwargs)
        with torch.no_grad():
            models[("bertedu", "sdpa")].bert.encoder.layer[-1].output.LayerNorm.bias += shift
        return models
    monkeypatch.setattr(bench.runner, "build_models", shifted)


def test_recorded_agreement_is_the_measured_difference(monkeypatch):
    """A disagreement inside the tolerance is recorded as measured, one outside it stops the run
    (before 0.2 the row said the literal True either way)."""
    _shift_sdpa_output(monkeypatch, 3e-5)
    rows = bench.run_grid("cpu-quick", reps=1, log=None)
    r = rows[0]
    assert r["eager_sdpa_max_abs_diff"] == pytest.approx(3e-5, rel=0.2)
    assert 0.1 < r["eager_sdpa_tol_used"] < 1 and r["eager_sdpa_agree"] is True
    _shift_sdpa_output(monkeypatch, 1e-2)
    with pytest.raises(AssertionError, match="bertedu: eager and SDPA differ"):
        bench.run_grid("cpu-quick", reps=1, log=None)


def test_benchmark_without_the_race_never_imports_transformers():
    code = (
        "import sys\n"
        "from bertedu import bench\n"
        "bench.run_grid('cpu-quick', reps=1, log=None)\n"
        "bench.figures()\n"
        "bad = [m for m in sys.modules if m.split('.')[0] == 'transformers']\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_profile_grid_on_cpu():
    rows = bench.profile_grid("cpu-quick", top=3, log=None)
    impls = {(r["library"], r["implementation"]) for r in rows}
    assert impls == {("bertedu", "eager"), ("bertedu", "sdpa")}
    grid = bench.GRIDS["cpu-quick"]
    B, T = max(grid.train, key=lambda p: p[0] * p[1])
    for impl in impls:
        mine = [r for r in rows if (r["library"], r["implementation"]) == impl]
        assert len(mine) == 4 and mine[-1]["op"] == "(other)"  # top 3 and the rest
        assert sum(r["share"] for r in mine) == pytest.approx(1.0)
        top = [r["self_ms"] for r in mine[:-1]]
        assert top == sorted(top, reverse=True) and top[-1] > 0
        assert all(set(r) == set(bench.PROFILE_COLUMNS) for r in mine)
        assert {(r["batch"], r["seq"], r["device"]) for r in mine} == {(B, T, "cpu")}
    with pytest.raises(ValueError, match="no training points"):
        bench.profile_grid("gpu-infer")


def test_recorded_profile_is_well_formed():
    profiles = sorted(RESULTS.glob("profile_*.csv"))
    assert profiles, "the recorded results hold the GPU profile of chapter 12"
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
    script = ROOT / "results" / "run_gpu.sh"
    subprocess.run(["bash", "-n", str(script)], check=True)
    text = script.read_text()
    for grid in ("gpu-train", "gpu-infer", "gpu-varlen", "--profile", "BERTEDU_TEST_DEVICE=cuda"):
        assert grid in text


def test_recordings_go_to_the_shipped_results():
    """`make bench` and the GPU script write where `bench.recorded_results()` reads."""
    shipped = RESULTS.relative_to(ROOT).as_posix()
    assert f"OUT=${{OUT:-{shipped}}}" in (ROOT / "results" / "run_gpu.sh").read_text()
    bench_target = (ROOT / "Makefile").read_text().split("\nbench:")[1].split("\n\n")[0]
    assert f"--out {shipped}/" in bench_target


def test_wheel_ships_the_recorded_results(tmp_path):
    """A wheel built from the sources holds every recorded CSV at the path the chapter reads."""
    import shutil
    import zipfile

    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "bertedu", src / "bertedu",
                    ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                    "--no-build-isolation", "-w", str(tmp_path / "dist"), str(src)], check=True)
    (wheel,) = (tmp_path / "dist").glob("bertedu-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for path in RESULTS.glob("*.csv"):
        assert f"bertedu/bench/results/{path.name}" in names, path.name
