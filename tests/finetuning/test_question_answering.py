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


def test_answer_positions_rejects_bad_input_naming_the_problem():
    offsets, seq = [(0, 0), (0, 3), (0, 0), (0, 4), (5, 9), (0, 0)], [None, 0, None, 1, 1, None]
    assert qa.answer_positions(offsets, seq, 5, 9) == (4, 4)
    assert qa.answer_positions(offsets, seq, 1, 7) == (3, 4)  # inside pieces: whole pieces
    assert qa.answer_positions(offsets, seq, 5, 10) == (0, 0)  # past the window: [CLS]
    with pytest.raises(ValueError, match="offsets has 6 pieces but sequence_ids has 5"):
        qa.answer_positions(offsets, seq[:-1], 0, 3)
    with pytest.raises(ValueError, match=r"answer's characters \[4, 4\) are empty"):
        qa.answer_positions(offsets, seq, 4, 4)
    with pytest.raises(ValueError, match="no context piece"):
        qa.answer_positions(offsets, [None, 0, None, 0, 0, None], 0, 3)


def test_candidates_are_every_allowed_top_pair_best_first(tokenizer, long_rows):
    windows = qa.encode(tokenizer, long_rows.select([0, 1]), train=False)
    g = torch.Generator().manual_seed(0)
    logits = [(torch.randn(len(f["input_ids"]), generator=g),
               torch.randn(len(f["input_ids"]), generator=g)) for f in windows.features]
    found = qa.candidates(windows, logits, n_best=5, max_answer_length=8)
    assert list(found) == list(long_rows.select([0, 1])["id"])
    for qid, cands in found.items():
        i = windows.ids.index(qid)
        brute = []
        for w, (s_log, e_log) in enumerate(logits):
            if windows.example_index[w] != i:
                continue
            offsets = windows.offsets[w]
            top_s, top_e = s_log.topk(5).indices.tolist(), e_log.topk(5).indices.tolist()
            brute += [(float(s_log[s] + e_log[e]), w, s, e) for s in top_s for e in top_e
                      if offsets[s] and offsets[e] and s <= e < s + 8]
        assert sorted((c.score, c.window, c.start, c.end) for c in cands) == sorted(brute)
        assert [c.score for c in cands] == sorted((c.score for c in cands), reverse=True)
        for c in cands:
            assert c.text == windows.contexts[i][c.start_char:c.end_char]
            assert c.start_char == windows.offsets[c.window][c.start][0]
    assert qa.decode(windows, logits, 5, 8) == {q: c[0].text if c else ""
                                                for q, c in found.items()}
    with pytest.raises(ValueError, match="n_best"):
        qa.candidates(windows, logits, n_best=0)
    with pytest.raises(ValueError, match=r"\d+ logit pairs for \d+ windows"):
        qa.candidates(windows, logits[:-1])
    with pytest.raises(ValueError, match="window 0 has .* pieces but"):
        qa.candidates(windows, [(s[:-1], e) for s, e in logits])
