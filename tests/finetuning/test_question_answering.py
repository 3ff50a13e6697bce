"""bertedu.finetuning.question_answering: doc-stride windows equal to the reference fast
tokenizer, answer positions in pieces, n-best decoding back to context characters."""

import datasets
import pytest
import torch

from bertedu import BertForQuestionAnswering
from bertedu.finetuning import question_answering as qa
from bertedu.finetuning.data import load_split
from bertedu.finetuning.metrics import normalize_answer


@pytest.fixture(scope="module")
def long_rows():
    """SQuAD dev questions with the longest contexts (several windows each at 384/128)."""
    dev = load_split("squad", "validation").select(range(3000))
    lengths = [len(c) for c in dev["context"]]
    order = sorted(range(len(dev)), key=lambda i: -lengths[i])
    picked, seen = [], set()
    for i in order:
        if dev[i]["context"] not in seen:
            seen.add(dev[i]["context"])
            picked.append(i)
        if len(picked) == 6:
            break
    return dev.select(picked)


def test_windows_equal_the_reference_window_for_window(tokenizer, hf_tokenizer, long_rows):
    ours = qa.encode_windows(tokenizer, long_rows["question"], long_rows["context"])
    ref = hf_tokenizer([q.lstrip() for q in long_rows["question"]], list(long_rows["context"]),
                       truncation="only_second", max_length=384, stride=128,
                       return_overflowing_tokens=True, return_offsets_mapping=True)
    assert len(ours["input_ids"]) == len(ref["input_ids"]) > len(long_rows)
    assert list(ours["overflow_to_sample_mapping"]) == list(ref["overflow_to_sample_mapping"])
    for w in range(len(ref["input_ids"])):
        assert ours["input_ids"][w] == ref["input_ids"][w]
        assert [tuple(o) for o in ours["offset_mapping"][w]] == \
            [tuple(o) for o in ref["offset_mapping"][w]]
        assert ours.sequence_ids(w) == ref.sequence_ids(w)


def test_answer_positions_point_at_the_answer_or_cls(tokenizer, long_rows):
    windows = qa.encode(tokenizer, long_rows, train=True)
    found = set()
    for w, feature in enumerate(windows.features):
        i = windows.example_index[w]
        s, e = feature["start_positions"], feature["end_positions"]
        if (s, e) == (0, 0):
            continue
        found.add(i)
        offsets = windows.offsets[w]
        span = windows.contexts[i][offsets[s][0]:offsets[e][1]]
        gold = long_rows[i]["answers"]
        start = gold["answer_start"][0]
        assert offsets[s][0] <= start < offsets[s][1]  # the start piece holds the first char
        assert gold["text"][0] in span and len(span) < len(gold["text"][0]) + 20
    assert found == set(range(len(long_rows)))  # every answer is inside some window
    assert any(f["start_positions"] == 0 for f in windows.features)  # and some windows lack it


def test_decode_takes_the_best_span_over_windows(tokenizer, long_rows):
    windows = qa.encode(tokenizer, long_rows.select([0]), train=True)
    assert len(windows.features) > 1
    logits = [(torch.zeros(len(f["input_ids"])), torch.zeros(len(f["input_ids"])))
              for f in windows.features]
    w = next(k for k, f in enumerate(windows.features) if f["start_positions"] > 0)
    s, e = windows.features[w]["start_positions"], windows.features[w]["end_positions"]
    logits[w][0][s] = 5.0
    logits[w][1][e] = 5.0
    other = (w + 1) % len(logits)  # a weaker span elsewhere
    first_ctx = windows.offsets[other].index(next(o for o in windows.offsets[other] if o))
    logits[other][0][first_ctx] = 4.0
    logits[other][1][first_ctx] = 4.0
    logits[0][0][0] = logits[0][1][0] = 100.0  # [CLS] is never an answer
    (answer,) = qa.decode(windows, logits).values()
    gold = long_rows[0]["answers"]["text"][0]
    assert normalize_answer(gold) in normalize_answer(answer)
    # a span longer than max_answer_length pieces is never chosen
    long_logits = [(torch.zeros(len(f["input_ids"])), torch.zeros(len(f["input_ids"])))
                   for f in windows.features]
    ctx = [t for t, o in enumerate(windows.offsets[0]) if o]
    long_logits[0][0][ctx[0]] = 9.0
    long_logits[0][1][ctx[0] + 40] = 9.0
    (answer,) = qa.decode(windows, long_logits, max_answer_length=30).values()
    text = windows.contexts[0]
    assert answer != text[windows.offsets[0][ctx[0]][0]:windows.offsets[0][ctx[0] + 40][1]]


def test_bad_answer_start_is_counted_and_not_trained_on(tokenizer):
    rows = datasets.Dataset.from_dict({
        "id": ["ok", "bad"], "question": ["Who?", "Where?"],
        "context": ["Ada wrote the notes.", "It was in Paris."],
        "answers": [{"text": ["Ada"], "answer_start": [0]},
                    {"text": ["Paris"], "answer_start": [3]}]})
    with pytest.warns(UserWarning, match=r"squad: 1 of 2 questions .*answer_start"):
        windows = qa.encode(tokenizer, rows, train=True)
    assert windows.skipped == ["bad"]
    assert set(windows.example_index) == {0}
    with pytest.raises(ValueError, match="squad: the dataset has no column 'answers'"):
        qa.encode(tokenizer, rows.remove_columns("answers"), train=True)


def test_evaluate_runs_the_model_on_every_window(tiny_model_dir, tokenizer, long_rows):
    model = BertForQuestionAnswering.from_pretrained(tiny_model_dir)
    windows = qa.encode(tokenizer, long_rows.select([0, 1]), train=False)
    scores = qa.evaluate(model, windows, batch_size=4)
    assert set(scores) == {"exact_match", "f1"} and 0 <= scores["f1"] <= 100
    batch = {k: torch.tensor([v]) for k, v in windows.features[1].items()}
    loss, parts = qa.loss_fn(model, {**batch, "start_positions": torch.tensor([3]),
                                     "end_positions": torch.tensor([5])})
    assert torch.isclose(loss, (parts["start_loss"] + parts["end_loss"]) / 2)
