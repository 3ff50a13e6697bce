"""bertedu.finetuning.run and the command line: a whole fine-tuning run on a tiny model, its
saved folder loaded by transformers unchanged, and clear errors for bad input."""

import dataclasses
import json
import shutil
import warnings

import pytest
import torch

from bertedu.__main__ import main
from bertedu.finetuning import TASKS, evaluate, finetune, get_task


@pytest.fixture(scope="module")
def sst2_run(tiny_model_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("sst2_run")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the new classifier head is reported as initialised
        result = finetune("sst2", tiny_model_dir, out, epochs=2, batch_size=16,
                          max_train_samples=96, max_eval_samples=48, learning_rate=1e-3,
                          progress=False)
    return result, out


def test_finetune_evaluates_each_epoch_and_keeps_the_best(sst2_run):
    result, out = sst2_run
    assert len(result.history) == 12  # 2 epochs of 96 rows / 16
    assert [e["epoch"] for e in result.evaluations] == [1.0, 2.0]
    record = json.loads((out / "eval_results.json").read_text())
    best = max(result.evaluations, key=lambda e: e["accuracy"])
    assert record["best"]["accuracy"] == best["accuracy"] == result.best["accuracy"]
    assert record["train_rows"] == 96 and record["eval_rows"] == 48 and record["finished"]
    assert record["torch_version"] == torch.__version__ and record["device"] == "cpu"
    assert record["args"]["seed"] == 42 and record["args"]["max_train_samples"] == 96
    assert {"config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json"} <= {
        p.name for p in out.iterdir()}
    # the saved folder scores what the best evaluation scored
    again = evaluate("sst2", out, max_eval_samples=48)
    assert again["accuracy"] == pytest.approx(record["best"]["accuracy"])


def test_transformers_loads_the_finetuned_folder_unchanged(sst2_run):
    import transformers

    from bertedu import BertForSequenceClassification, BertTokenizerFast

    _, out = sst2_run
    ref, info = transformers.BertForSequenceClassification.from_pretrained(
        out, output_loading_info=True, attn_implementation="eager")
    assert info["missing_keys"] == [] and info["unexpected_keys"] == []
    assert info["mismatched_keys"] == []
    ours = BertForSequenceClassification.from_pretrained(out)
    ref_tok = transformers.BertTokenizerFast.from_pretrained(out)
    texts = ["a gorgeous , witty , seductive movie .", "the plot is nothing but boilerplate"]
    enc = ref_tok(texts, padding=True, return_tensors="pt")
    assert BertTokenizerFast.from_pretrained(out)(texts, padding=True)["input_ids"] == \
        enc["input_ids"].tolist()
    with torch.no_grad():
        torch.testing.assert_close(ours(**enc).logits, ref.eval()(**enc).logits,
                                   atol=1e-5, rtol=1e-5)
    assert ref.config.id2label == {0: "negative", 1: "positive"}


@pytest.mark.parametrize("task", ["wnut_17", "squad", "commonsense_qa"])
def test_every_task_runs_end_to_end(task, tiny_model_dir, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = finetune(task, tiny_model_dir, tmp_path, max_steps=2, batch_size=4,
                          max_train_samples=8, max_eval_samples=6, progress=False)
    metric = get_task(task).metric
    assert len(result.history) == 2 and metric in result.best
    assert json.loads((tmp_path / "eval_results.json").read_text())["best"][metric] == \
        result.best[metric]


def test_cli_finetune_then_evaluate(tiny_model_dir, tmp_path, capsys):
    out = tmp_path / "run"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(["finetune", "commonsense_qa", "--model", str(tiny_model_dir),
                     "--output-dir", str(out), "--max-steps", "2", "--batch-size", "2",
                     "--max-train-samples", "4", "--max-eval-samples", "4", "--no-progress",
                     "--seed", "3"]) == 0
        best = json.loads(capsys.readouterr().out)["best"]
        assert main(["evaluate", "commonsense_qa", "--model", str(out),
                     "--max-eval-samples", "4"]) == 0
    assert json.loads(capsys.readouterr().out)["accuracy"] == pytest.approx(best["accuracy"])


def test_unknown_task_names_the_closest(capsys):
    with pytest.raises(ValueError, match=r"unknown task 'squad2' \(did you mean 'squad'\?\)"):
        get_task("squad2")
    with pytest.raises(SystemExit):
        main(["finetune", "wnut17", "--model", "x", "--output-dir", "y"])
    assert "did you mean 'wnut_17'" in capsys.readouterr().err


def _local_copy(tmp_path, task, rows_by_split):
    (tmp_path / task).mkdir(parents=True)
    for split, rows in rows_by_split.items():
        text = "\n".join(json.dumps(r) for r in rows)
        (tmp_path / task / f"{split}.jsonl").write_text(text)
    return tmp_path


def test_bad_datasets(tiny_model_dir, tmp_path):
    good = [{"idx": i, "sentence": f"row {i}", "label": i % 2} for i in range(4)]
    root = _local_copy(tmp_path / "a", "sst2", {
        "train": [{"idx": 0, "text": "no sentence column", "label": 1}], "validation": good})
    with pytest.raises(ValueError, match="sst2: the dataset has no column 'sentence'"):
        finetune("sst2", tiny_model_dir, data_dir=root, progress=False)
    root = _local_copy(tmp_path / "b", "sst2", {
        "train": good + [{"idx": 9, "sentence": "x", "label": 7}], "validation": good})
    with pytest.raises(ValueError, match="sst2: row 4 has label 7, outside 0..1"):
        finetune("sst2", tiny_model_dir, data_dir=root, progress=False)
    root = _local_copy(tmp_path / "c", "sst2", {"train": [], "validation": good})
    with pytest.raises(ValueError, match="'train' split of 'sst2' is empty"):
        finetune("sst2", tiny_model_dir, data_dir=root, progress=False)


def test_bad_squad_answers_are_reported(tiny_model_dir, tmp_path):
    from bertedu.finetuning.data import load_split

    dev = load_split("squad", "validation")
    titles = list(dev["title"])
    firsts = [titles.index(t) for t in dict.fromkeys(titles)]  # one question per article
    rows = [dict(dev[i]) for i in firsts]
    assert len(rows) == 48
    rows[2]["answers"] = {"text": ["nowhere"], "answer_start": [5]}
    shutil.rmtree(tmp_path, ignore_errors=True)
    root = _local_copy(tmp_path, "squad", {"validation": rows})
    with pytest.warns(UserWarning, match="1 of 40 questions"):
        finetune("squad", tiny_model_dir, tmp_path / "out", max_steps=1, batch_size=2,
                 data_dir=root, progress=False)
    record = json.loads((tmp_path / "out" / "eval_results.json").read_text())
    assert record["skipped_bad_answers"] == 1 and record["eval_rows"] == 8
    root = _local_copy(tmp_path / "few", "squad", {"validation": rows[:5]})
    with pytest.raises(ValueError, match="squad: the evaluation articles are empty"):
        finetune("squad", tiny_model_dir, data_dir=root, progress=False)


def _trained_batches(monkeypatch, spec):
    """Every batch the loop trains ``spec`` on, seen through a wrapper of its loss."""
    seen = []

    def loss_fn(model, batch):
        seen.append({k: batch[k].clone() for k in ("input_ids", "attention_mask", "labels")})
        return spec.loss_fn(model, batch)

    monkeypatch.setitem(TASKS, spec.name, dataclasses.replace(spec, loss_fn=loss_fn))
    return seen


def test_label_all_pieces_tags_the_later_pieces_through_finetune_and_the_cli(
        tiny_model_dir, tmp_path, monkeypatch, capsys):
    from bertedu import BertTokenizerFast
    from bertedu.finetuning import token_classification as tc
    from bertedu.finetuning.data import label_names

    names = label_names("wnut_17")
    b_to_i = tc.b_to_i_map(names)
    common = ["--max-train-samples", "16", "--max-eval-samples", "4", "--batch-size", "4",
              "--no-progress"]
    runs, spec = {}, get_task("wnut_17")
    for mode in ("first", "all"):
        seen = _trained_batches(monkeypatch, spec)
        flags = ["--label-all-pieces"] if mode == "all" else []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert main(["finetune", "wnut_17", "--model", str(tiny_model_dir), "--output-dir",
                         str(tmp_path / mode), *common, *flags]) == 0
        runs[mode] = seen
        record = json.loads((tmp_path / mode / "eval_results.json").read_text())
        assert record["args"]["label_all_pieces"] is (mode == "all")
    capsys.readouterr()
    assert len(runs["first"]) == len(runs["all"]) == 4  # one epoch of 16 rows in batches of 4
    tokenizer = BertTokenizerFast.from_pretrained(tiny_model_dir)
    special = {tokenizer.cls_token_id, tokenizer.sep_token_id}
    later = b_as_i = 0
    for first, every in zip(runs["first"], runs["all"], strict=True):
        assert torch.equal(first["input_ids"], every["input_ids"])  # the same rows, same order
        for ids, mask, a, b in zip(first["input_ids"], first["attention_mask"], first["labels"],
                                   every["labels"], strict=True):
            word_tag = None
            for token, real, one, all_ in zip(ids.tolist(), mask.tolist(), a.tolist(),
                                              b.tolist(), strict=True):
                if not real or token in special:
                    assert one == all_ == -100
                elif one != -100:  # a word's first piece: its tag in both modes
                    assert all_ == one
                    word_tag = one
                else:  # a later piece: -100, or the word's tag with B- turned into I-
                    assert all_ == b_to_i.get(word_tag, word_tag) != -100
                    later += 1
                    b_as_i += word_tag in b_to_i
    assert later > 0 and b_as_i > 0, (later, b_as_i)

    # evaluate encodes the rows as the run did, and scores what the run's best evaluation scored
    asked = []
    real_encode = tc.encode
    monkeypatch.setattr(tc, "encode", lambda *a, **k: asked.append(k["label_all_pieces"])
                        or real_encode(*a, **k))
    best = json.loads((tmp_path / "all" / "eval_results.json").read_text())["best"]
    assert main(["evaluate", "wnut_17", "--model", str(tmp_path / "all"),
                 "--max-eval-samples", "4"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again == pytest.approx({k: best[k] for k in again})
    assert asked == [True]
    assert evaluate("wnut_17", tmp_path / "first", max_eval_samples=4)["f1"] == \
        pytest.approx(json.loads((tmp_path / "first" / "eval_results.json").read_text())
                      ["best"]["f1"])
    assert asked == [True, False]


def test_label_all_pieces_is_refused_outside_token_classification(tiny_model_dir, tmp_path,
                                                                   capsys):
    message = (r"label_all_pieces is for token classification \(wnut_17\), whose words are "
               r"split into pieces; 'sst2' is a BertForSequenceClassification task")
    with pytest.raises(ValueError, match=message):
        finetune("sst2", tiny_model_dir, tmp_path / "api", label_all_pieces=True,
                 progress=False)
    with pytest.raises(TypeError, match="label_all_pieces must be True or False, got 'yes'"):
        finetune("wnut_17", tiny_model_dir, label_all_pieces="yes", progress=False)
    with pytest.raises(SystemExit) as exit_info:
        main(["finetune", "sst2", "--model", str(tiny_model_dir), "--output-dir",
              str(tmp_path / "cli"), "--label-all-pieces"])
    assert exit_info.value.code == 2
    assert "error: --label-all-pieces is for token classification (wnut_17)" in \
        capsys.readouterr().err
    assert not (tmp_path / "api").exists() and not (tmp_path / "cli").exists()


def test_a_resumed_run_keeps_its_labelling(tiny_model_dir, tmp_path):
    kwargs = dict(max_steps=4, eval_steps=1, batch_size=4, max_train_samples=16,
                  max_eval_samples=4, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        finetune("wnut_17", tiny_model_dir, tmp_path, stop_after=2, label_all_pieces=True,
                 **kwargs)
        with pytest.raises(ValueError, match="started with label_all_pieces=True; resume it "
                                             "with the same value"):
            finetune("wnut_17", tiny_model_dir, tmp_path, resume_from=True, **kwargs)
        result = finetune("wnut_17", tiny_model_dir, tmp_path, resume_from=True,
                          label_all_pieces=True, **kwargs)
    assert [e["step"] for e in result.evaluations] == [1, 2, 3, 4]
