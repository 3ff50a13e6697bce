"""bertedu.finetuning.classification and multiple_choice: encoding equal to the reference
tokenizer, batches of the right shape, clear errors for bad rows."""

import datasets
import pytest
import torch

from bertedu import BertForMultipleChoice, BertForSequenceClassification
from bertedu.finetuning import classification, multiple_choice
from bertedu.finetuning.batching import pad_batch
from bertedu.finetuning.data import load_split


@pytest.fixture(scope="module")
def sst2_rows():
    return load_split("sst2", "validation").select(range(40))


@pytest.fixture(scope="module")
def csqa_rows():
    return load_split("commonsense_qa", "validation").select(range(12))


def test_encode_equals_the_reference_tokenizer(tokenizer, hf_tokenizer, sst2_rows):
    features = classification.encode(tokenizer, sst2_rows, max_length=16)
    ref = hf_tokenizer(list(sst2_rows["sentence"]), truncation=True, max_length=16)
    assert [f["input_ids"] for f in features] == ref["input_ids"]
    assert [f["token_type_ids"] for f in features] == ref["token_type_ids"]
    assert [f["labels"] for f in features] == list(sst2_rows["label"])
    assert max(len(f["input_ids"]) for f in features) == 16  # truncation applied
    assert len({len(f["input_ids"]) for f in features}) > 1  # and no padding


def test_pair_encoding_and_padded_batch(tokenizer, hf_tokenizer):
    rows = datasets.Dataset.from_dict({"a": ["a cat", "the dog runs"], "b": ["sat", "fast"],
                                       "label": [0, 2]})
    features = classification.encode(tokenizer, rows, "a", "b", "label", num_labels=3)
    ref = hf_tokenizer(["a cat", "the dog runs"], ["sat", "fast"], padding=True,
                       return_tensors="pt")
    batch = pad_batch(features, tokenizer.pad_token_id)
    for key in ("input_ids", "token_type_ids", "attention_mask"):
        torch.testing.assert_close(batch[key], ref[key])


def test_missing_column_and_labels_out_of_range(tokenizer):
    rows = datasets.Dataset.from_dict({"text": ["good"], "label": [1]})
    with pytest.raises(ValueError, match=r"sst2: the dataset has no column 'sentence'"):
        classification.encode(tokenizer, rows)
    rows = datasets.Dataset.from_dict({"sentence": ["good", "bad"], "label": [1, 2]})
    with pytest.raises(ValueError, match=r"sst2: row 1 has label 2, outside 0..1"):
        classification.encode(tokenizer, rows)
    rows = datasets.Dataset.from_dict({"sentence": ["good"], "label": [-1]})
    with pytest.raises(ValueError, match="row 0 has label -1"):
        classification.encode(tokenizer, rows)


def test_predict_keeps_the_input_order(tiny_model_dir, tokenizer, sst2_rows):
    model = BertForSequenceClassification.from_pretrained(tiny_model_dir)
    features = classification.encode(tokenizer, sst2_rows)
    logits = classification.predict(model, features, batch_size=7)  # (N, 2), length-sorted
    one = pad_batch([features[3]])
    with torch.no_grad():
        direct = model(**{k: v for k, v in one.items() if k != "labels"}).logits
    torch.testing.assert_close(logits[3:4], direct, atol=1e-5, rtol=1e-5)
    scores = classification.evaluate(model, features)
    pred = logits.argmax(-1)
    gold = torch.tensor(sst2_rows["label"])
    assert scores["accuracy"] == pytest.approx(100 * float((pred == gold).float().mean()))


def test_multiple_choice_batches_are_batch_choices_seq(tokenizer, hf_tokenizer, csqa_rows):
    features = multiple_choice.encode(tokenizer, csqa_rows)
    first = csqa_rows[0]
    ref = hf_tokenizer([first["question"]] * 5, first["choices"]["text"])
    assert features[0]["input_ids"] == ref["input_ids"]
    assert [f["labels"] for f in features] == ["ABCDE".index(k) for k in csqa_rows["answerKey"]]
    batch = pad_batch(features[:4], tokenizer.pad_token_id)
    longest = max(len(c) for f in features[:4] for c in f["input_ids"])
    assert batch["input_ids"].shape == (4, 5, longest)


def test_multiple_choice_scores_each_choice_alone(tiny_model_dir, tokenizer, csqa_rows):
    model = BertForMultipleChoice.from_pretrained(tiny_model_dir)
    features = multiple_choice.encode(tokenizer, csqa_rows)
    logits = multiple_choice.predict(model, features, batch_size=5)  # (12, 5)
    pair = pad_batch([{k: v[2] for k, v in features[0].items() if k != "labels"}])
    with torch.no_grad():
        h = model.bert(**pair).pooler_output  # (1, H)
        alone = model.classifier(h)[0, 0]
    torch.testing.assert_close(logits[0, 2], alone, atol=1e-5, rtol=1e-5)
    loss, _ = multiple_choice.loss_fn(model, pad_batch(features[:3]))
    assert loss.ndim == 0 and torch.isfinite(loss)


def test_multiple_choice_bad_answer_key(tokenizer):
    rows = datasets.Dataset.from_dict({"question": ["q"], "answerKey": ["F"], "choices": [
        {"label": list("ABCDE"), "text": list("vwxyz")}]})
    with pytest.raises(ValueError, match="commonsense_qa: row 0 has answerKey 'F'"):
        multiple_choice.encode(tokenizer, rows)
    with pytest.raises(ValueError, match="commonsense_qa: the dataset has no column 'answerKey'"):
        multiple_choice.encode(tokenizer, rows.remove_columns("answerKey"))
