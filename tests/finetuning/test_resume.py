"""finetune() on the shared loop's exact resume: a run stopped and resumed ends like one that
never stopped (losses, weights, evaluations), from Python and from the command line."""

import dataclasses
import json
import warnings

import pytest
import torch

from bertedu.__main__ import main
from bertedu.finetuning import TASKS, finetune

RECIPE = dict(epochs=2, batch_size=8, max_train_samples=32, max_eval_samples=16,
              learning_rate=1e-3, eval_steps=2, progress=False)


def _run(model_dir, out, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the new head is reported as initialised
        return finetune("sst2", model_dir, out, **{**RECIPE, **kwargs})


@pytest.fixture(scope="module")
def unbroken(tiny_model_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("unbroken")
    result = _run(tiny_model_dir, out)
    assert not (out / "checkpoints").exists()  # a run that cannot stop early writes none
    return result


def test_stopped_then_resumed_equals_unbroken(tiny_model_dir, tmp_path, unbroken, monkeypatch):
    out = tmp_path / "split"
    first = _run(tiny_model_dir, out, stop_after=3)
    assert len(first.history) == 3 and first.history[-1]["stop_reason"] == "stop_after"
    assert (out / "checkpoints" / "step-000003.pt").is_file()
    record = json.loads((out / "eval_results.json").read_text())
    assert not record["finished"] and record["resumed_from"] is None

    calls = []
    spec = TASKS["sst2"]

    def counted(model, batch):
        calls.append(len(batch["labels"]))
        return spec.loss_fn(model, batch)

    monkeypatch.setitem(TASKS, "sst2", dataclasses.replace(spec, loss_fn=counted))
    second = _run(tiny_model_dir, out, resume_from=True)
    assert len(calls) == 5  # steps 4..8 only: the first three come from the checkpoint
    assert [h["step"] for h in second.history] == list(range(1, 9))
    assert second.history[-1]["stop_reason"] == "steps"
    torch.testing.assert_close(torch.tensor([h["loss"] for h in second.history]),
                               torch.tensor([h["loss"] for h in unbroken.history]),
                               atol=1e-5, rtol=0)
    for (name, a), (_, b) in zip(second.model.state_dict().items(),
                                 unbroken.model.state_dict().items(), strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=0, msg=name)
    # the evaluations of the unbroken run (steps 2, 4, 6, 8) are found again; the stopped run
    # also evaluated where it stopped (step 3)
    scores = {e["step"]: e["accuracy"] for e in second.evaluations}
    assert sorted(scores) == [2, 3, 4, 6, 8]
    assert {e["step"]: e["accuracy"] for e in unbroken.evaluations} == {
        s: scores[s] for s in (2, 4, 6, 8)}
    record = json.loads((out / "eval_results.json").read_text())
    assert record["finished"] and record["resumed_from"].endswith("step-000003.pt")
    assert [e["step"] for e in record["evaluations"]] == [2, 3, 4, 6, 8]
    assert not (out / "checkpoints").exists()  # done: only the best model stays


def test_a_resume_that_changes_the_data_order_is_refused(tiny_model_dir, tmp_path):
    out = tmp_path / "run"
    _run(tiny_model_dir, out, stop_after=2)
    with pytest.raises(ValueError, match="checkpoint has seed=42, this run has seed=7"):
        _run(tiny_model_dir, out, resume_from=True, seed=7)


def test_resume_needs_a_checkpoint_and_an_output_dir(tiny_model_dir, tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint to resume in"):
        _run(tiny_model_dir, tmp_path / "empty", resume_from=True)
    with pytest.raises(FileNotFoundError, match="no such checkpoint file"):
        _run(tiny_model_dir, tmp_path / "x", resume_from=tmp_path / "missing.pt")
    with pytest.raises(ValueError, match="need an output_dir"):
        _run(tiny_model_dir, None, stop_after=2)


def test_cli_stop_after_then_resume(tiny_model_dir, tmp_path, capsys, unbroken):
    out = tmp_path / "cli"
    base = ["finetune", "sst2", "--model", str(tiny_model_dir), "--output-dir", str(out),
            "--epochs", "2", "--batch-size", "8", "--max-train-samples", "32",
            "--max-eval-samples", "16", "--learning-rate", "1e-3", "--eval-steps", "2",
            "--no-progress"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(base + ["--stop-after", "5"]) == 0
        stopped = json.loads(capsys.readouterr().out)
        assert main(base + ["--resume"]) == 0
        done = json.loads(capsys.readouterr().out)
    assert stopped["steps_done"] == 5 and stopped["stop_reason"] == "stop_after"
    assert done["steps_done"] == 8 and done["stop_reason"] == "steps"
    evaluations = json.loads((out / "eval_results.json").read_text())["evaluations"]
    assert [e["step"] for e in evaluations] == [2, 4, 5, 6, 8]
    assert {e["step"]: e["accuracy"] for e in evaluations if e["step"] != 5} == {
        e["step"]: e["accuracy"] for e in unbroken.evaluations}
    assert done["best"]["accuracy"] == max(e["accuracy"] for e in evaluations)
    with pytest.raises(SystemExit):
        main(base + ["--stop-after", "0"])
    assert "--stop-after 0: must be >= 1" in capsys.readouterr().err
