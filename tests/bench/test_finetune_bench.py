"""bertedu.bench.finetune and bertedu.bench.trainer: fine-tuning side by side with transformers on
a tiny random model that uses MiniLM's vocabulary (``tiny_model_dir``, tests/conftest.py), a few
steps of every task."""

import csv
import json
import warnings

import pytest
import torch

from bertedu.__main__ import main
from bertedu.bench import finetune as bench_ft
from bertedu.finetuning import TASKS, get_task

TASK_NAMES = list(TASKS)


def _labels(task):
    from bertedu.finetuning.data import label_names

    return label_names(task) if get_task(task).head_labels else []


@pytest.mark.parametrize("task", TASK_NAMES)
def test_build_pair_gives_transformers_the_same_weights_head_included(task, tiny_model_dir):
    import transformers

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours, theirs = bench_ft.build_pair(task, tiny_model_dir, _labels(task), seed=3)
    assert type(theirs) is getattr(transformers, get_task(task).model_class)
    a, b = ours.state_dict(), theirs.state_dict()
    assert set(a) <= set(b)
    for key in a:
        assert torch.equal(a[key], b[key]), key
    # the head is bertedu's fresh one (seeded), not transformers' own draw
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        other, _ = bench_ft.build_pair(task, tiny_model_dir, _labels(task), seed=4)
    head = [k for k in a if not k.startswith("bert.")]
    assert head and not all(torch.equal(a[k], other.state_dict()[k]) for k in head)


@pytest.mark.parametrize("task", TASK_NAMES)
def test_both_libraries_train_in_step(task, tiny_model_dir):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        record = bench_ft.bench_task(task, tiny_model_dir, max_train_samples=12, max_eval_samples=6,
                                     max_steps=3, batch_size=4, eval_steps=2, progress=False)
    ours, theirs = record["libraries"]["bertedu"], record["libraries"]["transformers"]
    # identical start weights, batches and dropout masks: identical first-step losses
    assert ours["losses"][0] == pytest.approx(theirs["losses"][0], abs=1e-5)
    torch.testing.assert_close(torch.tensor(ours["losses"]), torch.tensor(theirs["losses"]),
                               atol=1e-4, rtol=0)
    assert len(ours["step_times_s"]) == len(theirs["step_times_s"]) == 3
    assert all(t > 0 for t in ours["step_times_s"] + theirs["step_times_s"])
    assert [e["step"] for e in ours["evaluations"]] == [2, 3]
    metric = get_task(task).metric
    assert ours["metric_value"] == ours["evaluations"][-1][metric]
    assert ours["metric_value"] == pytest.approx(theirs["metric_value"], abs=1e-6)
    assert record["ratio_bertedu_over_transformers"] == pytest.approx(
        ours["step_time_median_s"] / theirs["step_time_median_s"])
    assert len(ours["step_cpu_times_s"]) == 3 and ours["step_cpu_median_s"] > 0
    assert record["cpu_ratio_bertedu_over_transformers"] == pytest.approx(
        ours["step_cpu_median_s"] / theirs["step_cpu_median_s"])
    assert record["steps"] == 3 and record["seed"] == 42 and record["batch_size"] == 4
    assert 0 < record["real_tokens"] <= record["padded_tokens"]
    assert record["total_ratio_bertedu_over_transformers"] == pytest.approx(
        sum(ours["step_times_s"]) / sum(theirs["step_times_s"]))
    assert record["cpu_paired_median_ratio_bertedu_over_transformers"] == pytest.approx(
        sorted(a / b for a, b in zip(ours["step_cpu_times_s"], theirs["step_cpu_times_s"],
                                     strict=True))[1])  # the middle of three


def test_paired_ratios_compare_each_step_with_its_pair():
    """Medians of unequal batches can fall on different steps; the paired ratios cannot."""
    record = {"libraries": {
        "bertedu": {"step_times_s": [1.0, 9.0, 9.0, 2.0], "step_cpu_times_s": [1.0, 1.0, 1.0, 1.0]},
        "transformers": {"step_times_s": [2.0, 10.0, 10.0, 2.0],
                         "step_cpu_times_s": [2.0, 2.0, 2.0, 2.0]}}}
    ratios = bench_ft.paired_ratios(record)
    assert ratios["total_ratio_bertedu_over_transformers"] == pytest.approx(21 / 24)
    assert ratios["paired_median_ratio_bertedu_over_transformers"] == pytest.approx(0.9)
    assert ratios["cpu_total_ratio_bertedu_over_transformers"] == pytest.approx(0.5)
    record.update(task="sst2", steps=4, batch_size=32, threads="1", date="2026-12-04T01:00")
    assert bench_ft.format_ratios(record) == (
        "sst2: 4 steps of batch 32, AdamW (for-loop), 1 thread(s), 2026-12-04; step time "
        "bertedu / transformers: all steps 0.875 (CPU 0.500), median per step 0.900 (CPU 0.500)")
    record["libraries"]["bertedu"]["step_times_s"].pop()
    with pytest.raises(ValueError, match="step_times_s: 3 steps for bertedu, 4 for transformers"):
        bench_ft.paired_ratios(record)


def _tiny_sst2(model_dir, **kwargs):
    """A few SST-2 steps side by side on the tiny model, warnings silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bench_ft.bench_task("sst2", model_dir, max_train_samples=8, max_eval_samples=4,
                                   batch_size=4, progress=False, **kwargs)


def test_a_different_head_shows_in_the_first_loss(tiny_model_dir, monkeypatch):
    """The equal-loss check can fail: a transformers head left as transformers drew it."""
    real = bench_ft.build_pair

    def own_head(*args, **kwargs):
        ours, theirs = real(*args, **kwargs)
        with torch.no_grad():
            theirs.classifier.weight.normal_(0, 1)
        return ours, theirs

    monkeypatch.setattr(bench_ft, "build_pair", own_head)
    record = _tiny_sst2(tiny_model_dir, max_steps=1)
    libs = record["libraries"]
    assert abs(libs["bertedu"]["losses"][0] - libs["transformers"]["losses"][0]) > 1e-3


def test_cli_writes_csv_and_json(tiny_model_dir, tmp_path, capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(["bench-finetune", "commonsense_qa", "--model", str(tiny_model_dir),
                     "--max-train-samples", "8", "--max-eval-samples", "4", "--max-steps", "2",
                     "--batch-size", "4", "--threads", "1", "--seed", "5", "--out",
                     str(tmp_path), "--no-progress"]) == 0
    printed = json.loads(capsys.readouterr().out)
    stem = f"bench_commonsense_qa_{tiny_model_dir.name.lower()}"
    assert printed["csv"] == str(tmp_path / f"{stem}.csv")
    with open(tmp_path / f"{stem}.csv", newline="") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
    assert tuple(reader.fieldnames) == bench_ft.CSV_COLUMNS
    assert [r["library"] for r in rows] == ["bertedu", "transformers"]
    for row in rows:
        assert row["task"] == "commonsense_qa" and row["metric"] == "accuracy"
        assert row["seed"] == "5" and row["steps"] == "2" and row["train_rows"] == "8"
        assert float(row["step_time_median_s"]) > 0 and row["torch_version"] == torch.__version__
        assert json.loads(row["metrics_json"])["accuracy"] == float(row["metric_value"])
    assert float(rows[0]["ratio_bertedu_over_transformers"]) == pytest.approx(
        float(rows[0]["step_time_median_s"]) / float(rows[1]["step_time_median_s"]))
    record = json.loads((tmp_path / f"{stem}.json").read_text())
    assert record["threads"] == "1" and len(record["libraries"]["bertedu"]["losses"]) == 2
    assert record["transformers_version"]


def _sst2_folder(root, n_train=40, n_eval=16):
    (root / "sst2").mkdir(parents=True)
    words = ["good", "bad", "fine movie", "a dull , tired plot", "wonderful", "awful acting"]
    for split, n in (("train", n_train), ("validation", n_eval)):
        rows = [{"idx": i, "sentence": " ".join(words[: 1 + i % len(words)]), "label": i % 2}
                for i in range(n)]
        (root / "sst2" / f"{split}.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    return root


def test_trainer_comparison_end_to_end(tiny_model_dir, tmp_path, capsys):
    data = _sst2_folder(tmp_path / "data")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(["bench-finetune", "sst2", "--trainer", "--model", str(tiny_model_dir),
                     "--batch-size", "8", "--data-dir", str(data), "--out", str(tmp_path),
                     "--no-progress"]) == 0
    out = capsys.readouterr().out
    printed = json.loads(out[out.rindex("{\n"):])  # after the Trainer's own log lines
    stem = f"trainer_sst2_{tiny_model_dir.name.lower()}"
    record = json.loads((tmp_path / f"{stem}.json").read_text())
    ours, theirs = record["libraries"]["bertedu"], record["libraries"]["transformers_trainer"]
    assert ours["steps"] == theirs["steps"] == 5  # one epoch of 40 rows in batches of 8
    assert 0 <= ours["accuracy"] <= 100 and 0 <= theirs["accuracy"] <= 100
    assert record["wall_ratio_bertedu_over_trainer"] == pytest.approx(
        ours["wall_s"] / theirs["wall_s"]) == printed["wall_ratio_bertedu_over_trainer"]
    assert record["learning_rate"] == 8e-5 and record["seed"] == 42 and record["epochs"] == 1
    with open(tmp_path / f"{stem}.csv", newline="") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
    assert tuple(reader.fieldnames) == bench_ft.TRAINER_COLUMNS
    assert [r["library"] for r in rows] == ["bertedu", "transformers_trainer"]


def test_cli_rejects_bad_arguments(capsys):
    with pytest.raises(SystemExit):
        main(["bench-finetune", "wnut", "--max-steps", "1"])
    assert "unknown task 'wnut' (did you mean 'wnut_17'?)" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["bench-finetune", "squad", "--trainer"])
    assert "--trainer compares one SST-2 epoch" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["bench-finetune", "sst2", "--optimizer", "sgd"])
    assert "--optimizer: invalid choice: 'sgd'" in capsys.readouterr().err


def test_build_pair_refuses_state_dicts_that_differ(tiny_model_dir, monkeypatch):
    real = bench_ft.load_task_model

    def with_extra(*args, **kwargs):
        model = real(*args, **kwargs)
        model.register_parameter("extra", torch.nn.Parameter(torch.zeros(1)))
        return model

    monkeypatch.setattr(bench_ft, "load_task_model", with_extra)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(RuntimeError, match=r"sst2: .* differ in state-dict keys .*'extra'"):
            bench_ft.build_pair("sst2", tiny_model_dir, _labels("sst2"), seed=0)


def _record(seed, ours, theirs, ratio, **recipe):
    base = {"task": "wnut_17", "model": "m", "metric": "f1", "train_rows": 10, "eval_rows": 5,
            "batch_size": 4, "learning_rate": 5e-5, "steps": 3, "max_train_samples": None,
            "max_eval_samples": None, "epochs": 1.0, "device": "cpu", "threads": "1",
            "date": "2026-12-03"}
    return {**base, **recipe, "seed": seed, "ratio_bertedu_over_transformers": ratio,
            "cpu_ratio_bertedu_over_transformers": ratio + 0.01,
            "libraries": {"bertedu": {"metric_value": ours},
                          "transformers": {"metric_value": theirs}}}


def test_seed_spread_gives_each_seed_and_mean_std_range():
    import statistics

    records = [_record(44, 30.0, 31.0, 0.99), _record(42, 33.0, 33.0, 1.01),
               _record(43, 35.5, 34.0, 0.97)]
    spread = bench_ft.seed_spread(records)
    assert spread["seeds"] == [r["seed"] for r in spread["per_seed"]] == [42, 43, 44]
    assert [r["difference"] for r in spread["per_seed"]] == [0.0, 1.5, -1.0]
    ours = spread["summary"]["bertedu"]
    assert ours["mean"] == pytest.approx(statistics.fmean([30.0, 33.0, 35.5]))
    assert ours["std"] == pytest.approx(statistics.stdev([30.0, 33.0, 35.5]))
    assert (ours["min"], ours["max"]) == (30.0, 35.5)
    assert spread["summary"]["ratio"]["max"] == 1.01
    assert spread["summary"]["cpu_ratio"]["mean"] == pytest.approx(1.0)
    assert bench_ft.seed_spread(records[:1])["summary"]["bertedu"]["std"] is None


def test_seed_spread_refuses_mixed_recipes_and_repeated_seeds():
    with pytest.raises(ValueError, match="learning_rate is 5e-05 for seed 1 and 0.0001 for seed 2"):
        bench_ft.seed_spread([_record(1, 1, 1, 1), _record(2, 1, 1, 1, learning_rate=1e-4)])
    with pytest.raises(ValueError, match=r"a seed appears twice: \[1, 1\]"):
        bench_ft.seed_spread([_record(1, 1, 1, 1), _record(1, 2, 2, 1)])
    with pytest.raises(ValueError, match="at least one record"):
        bench_ft.seed_spread([])


def test_seed_spread_reads_a_record_without_optimizer_as_the_for_loop_one():
    old = _record(1, 1, 1, 1)  # written before the field existed
    assert "optimizer" not in old
    spread = bench_ft.seed_spread([old, _record(2, 1, 1, 1, optimizer="for-loop")])
    assert spread["optimizer"] == "for-loop"
    with pytest.raises(ValueError, match="optimizer is 'for-loop' for seed 1 and 'fused'"):
        bench_ft.seed_spread([old, _record(2, 1, 1, 1, optimizer="fused")])


@pytest.mark.parametrize("kind, fused", [("fused", True), ("for-loop", False)])
def test_both_libraries_get_the_chosen_adamw(kind, fused, tiny_model_dir, monkeypatch):
    seen = []
    real = bench_ft.make_optimizer

    def spy(*args, **kwargs):
        optimizer, scheduler = real(*args, **kwargs)
        seen.append(bool(optimizer.defaults.get("fused")))
        return optimizer, scheduler

    monkeypatch.setattr(bench_ft, "make_optimizer", spy)
    record = _tiny_sst2(tiny_model_dir, max_steps=2, optimizer=kind)
    assert seen == [fused, fused] and record["optimizer"] == kind
    libs = record["libraries"]
    assert libs["bertedu"]["losses"] == pytest.approx(libs["transformers"]["losses"], abs=1e-5)
    with pytest.raises(ValueError, match="optimizer must be one of fused, for-loop; got 'adam'"):
        bench_ft.bench_task("sst2", tiny_model_dir, optimizer="adam")


def test_cli_runs_every_seed_writes_the_spread_and_resumes(tiny_model_dir, tmp_path, capsys):
    data = _sst2_folder(tmp_path / "data")
    args = ["bench-finetune", "sst2", "--model", str(tiny_model_dir), "--data-dir", str(data),
            "--max-train-samples", "8",
            "--max-eval-samples", "4", "--max-steps", "2", "--batch-size", "4", "--threads", "1",
            "--out", str(tmp_path), "--no-progress"]
    stem = f"bench_sst2_{tiny_model_dir.name.lower()}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main([*args, "--seeds", "3,1"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["seeds"] == [1, 3] and printed["json"] == str(tmp_path / f"{stem}_seeds.json")
    one = json.loads((tmp_path / f"{stem}_seed1.json").read_text())
    three = json.loads((tmp_path / f"{stem}_seed3.json").read_text())
    assert (one["seed"], three["seed"]) == (1, 3)
    # another seed draws another head and other dropout masks: other losses
    assert one["libraries"]["bertedu"]["losses"] != three["libraries"]["bertedu"]["losses"]
    spread = json.loads((tmp_path / f"{stem}_seeds.json").read_text())
    assert [r["seed"] for r in spread["per_seed"]] == [1, 3]
    assert spread["per_seed"][0]["ratio"] == one["ratio_bertedu_over_transformers"]
    with open(tmp_path / f"{stem}_seeds.csv", newline="") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
    assert tuple(reader.fieldnames) == bench_ft.SPREAD_COLUMNS
    assert [r["seed"] for r in rows] == ["1", "3"] and {r["task"] for r in rows} == {"sst2"}
    before = (tmp_path / f"{stem}_seed1.json").read_text()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main([*args, "--seeds", "1,3,5", "--resume"]) == 0
    out = capsys.readouterr().out
    assert "seed 1: reusing" in out and "seed 3: reusing" in out and "seed 5: reusing" not in out
    assert (tmp_path / f"{stem}_seed1.json").read_text() == before
    assert json.loads((tmp_path / f"{stem}_seeds.json").read_text())["seeds"] == [1, 3, 5]
    # a reused record of another recipe is named, not averaged in
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(SystemExit) as exit_info:
            main([*args[:-1], "--batch-size", "2", "--no-progress", "--seeds", "1,7", "--resume"])
    assert exit_info.value.code == 2
    assert "records of different recipes: batch_size is 4 for seed 1 and 2 for seed 7" in (
        capsys.readouterr().err)


@pytest.mark.parametrize("extra, message", [
    (["--seeds", "1,x"], "--seeds takes integers separated by commas"),
    (["--seeds", "2,2"], "--seeds needs distinct seeds"),
    (["--resume"], "--resume goes with --seeds"),
])
def test_cli_rejects_bad_seeds(extra, message, capsys):
    with pytest.raises(SystemExit):
        main(["bench-finetune", "wnut_17", *extra])
    assert message in capsys.readouterr().err


def test_format_spread_prints_a_row_per_seed_and_the_mean_and_std():
    spread = bench_ft.seed_spread([_record(42, 33.0, 33.0, 1.01), _record(43, 35.0, 34.0, 0.97)])
    lines = bench_ft.format_spread(spread).splitlines()
    assert lines[0] == ("wnut_17, 10 training rows, 3 steps of batch 4, learning rate 5e-05, "
                        "seeds 42, 43")
    assert lines[2].split() == ["42", "33.00", "33.00", "0.00", "1.010", "1.020"]
    assert lines[3].split() == ["43", "35.00", "34.00", "1.00", "0.970", "0.980"]
    assert lines[4].split() == ["mean", "±", "std", "34.00", "±", "1.41", "33.50", "±", "0.71",
                                "0.50", "±", "0.71", "0.990", "±", "0.028", "1.000", "±", "0.028"]
    assert len({len(line) for line in lines[1:]}) == 1  # the columns line up
