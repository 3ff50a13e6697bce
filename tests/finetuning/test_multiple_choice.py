"""bertedu.finetuning.multiple_choice: pairing in question-major order, encoding equal to the
reference tokenizer on the flattened pairs, scores and loss equal to transformers' model on the
same weights, and clear errors for splits that cannot fold into (batch, choices)."""

import datasets
import pytest
import torch
import torch.nn.functional as F

from bertedu import BertForMultipleChoice
from bertedu.finetuning import multiple_choice
from bertedu.finetuning.batching import pad_batch
from bertedu.finetuning.data import load_split


@pytest.fixture(scope="module")
def csqa_rows():
    return load_split("commonsense_qa", "validation").select(range(10))


def _rows(questions, texts, keys=None):
    data = {"question": questions,
            "choices": [{"label": [chr(65 + i) for i in range(len(t))], "text": t}
                        for t in texts]}
    if keys is not None:
        data["answerKey"] = keys
    return datasets.Dataset.from_dict(data)


def test_pair_rows_is_question_major():
    firsts, seconds, count = multiple_choice.pair_rows(
        ["q0", "q1"], [{"label": ["A", "B", "C"], "text": ["a", "b", "c"]},
                       {"label": ["A", "B", "C"], "text": ["d", "e", "f"]}])
    assert count == 3
    assert firsts == ["q0"] * 3 + ["q1"] * 3
    assert seconds == list("abcdef")
    one = multiple_choice.pair_rows(["q"], [{"label": ["A"], "text": ["only"]}])
    assert one == (["q"], ["only"], 1)


def test_encode_equals_the_reference_tokenizer_on_flat_pairs(tokenizer, hf_tokenizer, csqa_rows):
    features = multiple_choice.encode(tokenizer, csqa_rows, max_length=12)
    firsts = [q for q in csqa_rows["question"] for _ in range(5)]
    seconds = [t for c in csqa_rows["choices"] for t in c["text"]]
    ref = hf_tokenizer(firsts, seconds, truncation=True, max_length=12)
    for key in ("input_ids", "token_type_ids", "attention_mask"):
        assert [row for f in features for row in f[key]] == ref[key], key
    assert max(len(r) for f in features for r in f["input_ids"]) == 12  # truncated
    assert all(len(f["input_ids"]) == 5 for f in features)


def test_test_split_encodes_without_answers(tokenizer):
    rows = load_split("commonsense_qa", "test").select(range(3))
    assert set(rows["answerKey"]) == {""}
    features = multiple_choice.encode(tokenizer, rows, with_labels=False)
    assert len(features) == 3 and all("labels" not in f for f in features)
    with pytest.raises(ValueError, match="row 0 has answerKey ''"):
        multiple_choice.encode(tokenizer, rows)


def test_scores_and_loss_equal_transformers(tiny_model_dir, tokenizer, csqa_rows):
    import transformers

    ours = BertForMultipleChoice.from_pretrained(tiny_model_dir).eval()
    torch.manual_seed(3)
    with torch.no_grad():
        ours.classifier.weight.normal_()
    ref = transformers.BertForMultipleChoice(transformers.BertConfig.from_pretrained(
        tiny_model_dir)).eval()
    missing, unexpected = ref.load_state_dict(ours.state_dict(), strict=False)
    assert not missing and not unexpected
    features = multiple_choice.encode(tokenizer, csqa_rows)
    batch = pad_batch(features, tokenizer.pad_token_id)  # (10, 5, T)
    with torch.no_grad():
        expected = ref(**batch)
        loss, _ = multiple_choice.loss_fn(ours, batch)
    torch.testing.assert_close(loss, expected.loss, atol=1e-5, rtol=1e-5)
    logits = multiple_choice.predict(ours, features, batch_size=3)  # (10, 5), length-sorted
    torch.testing.assert_close(logits, expected.logits, atol=1e-5, rtol=1e-5)
    scores = multiple_choice.evaluate(ours, features)
    gold = batch["labels"]
    assert scores["accuracy"] == pytest.approx(
        100 * float((expected.logits.argmax(-1) == gold).float().mean()))
    assert scores["loss"] == pytest.approx(float(F.cross_entropy(expected.logits, gold)),
                                           rel=1e-5)


def test_bad_splits_name_the_problem(tokenizer):
    with pytest.raises(ValueError, match="commonsense_qa: the split is empty"):
        multiple_choice.encode(tokenizer, _rows([], [], []))
    with pytest.raises(ValueError, match="row 1 has 2 choices, row 0 has 3"):
        multiple_choice.encode(tokenizer, _rows(["a", "b"], [["x", "y", "z"], ["x", "y"]],
                                                ["A", "B"]))
    with pytest.raises(ValueError, match="have no choices"):
        multiple_choice.pair_rows(["q"], [{"label": [], "text": []}])
    with pytest.raises(ValueError, match="row 0 has 1 choice labels for 2 choice texts"):
        multiple_choice.pair_rows(["q"], [{"label": ["A"], "text": ["x", "y"]}])
    with pytest.raises(ValueError, match="2 questions but 1 choice lists"):
        multiple_choice.pair_rows(["q", "r"], [{"label": ["A"], "text": ["x"]}])
    with pytest.raises(ValueError, match="no questions to evaluate"):
        multiple_choice.evaluate(None, [])
