"""Overflowing windows (``stride``, ``return_overflowing_tokens``) and ``sequence_ids``.

BertTokenizerFast against transformers' BertTokenizerFast window for window (every field, and
``sequence_ids``/``word_ids`` of every window) on real SQuAD questions with their long contexts
(``max_length`` 384, ``stride`` 128, as in the BERT recipe) and on randomized texts, strategies,
lengths, strides, paddings and tensor types. BertTokenizer against transformers' BertTokenizer,
which returns ``overflowing_tokens`` and ``num_truncated_tokens`` instead of windows.
"""

import json
import random
import unicodedata

import pytest
import torch
import transformers

from bertedu import BertTokenizer, BertTokenizerFast
from tests.tokenization.test_slow import TEXTS, UNCASED_VOCAB, as_lists, data_dir

HF_FAST = transformers.BertTokenizerFast(UNCASED_VOCAB, model_max_length=512)
HF_SLOW = transformers.BertTokenizer(UNCASED_VOCAB, model_max_length=512)
FAST, SLOW = BertTokenizerFast(UNCASED_VOCAB), BertTokenizer(UNCASED_VOCAB)
WORDS = sorted({w for t in TEXTS for w in t.split()})


def squad_rows(n: int = 64) -> list[dict]:
    """The ``n`` SQuAD validation questions with the longest contexts (all need windows)."""
    path = data_dir() / "squad" / "validation.jsonl"
    if not path.is_file():
        rng = random.Random(0)
        return [
            {"question": " ".join(rng.choices(WORDS, k=8)) + "?",
             "context": " ".join(rng.choices(WORDS, k=500))}
            for _ in range(n)
        ]
    with open(path, encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    rows.sort(key=lambda r: -len(r["context"]))
    return rows[:n]


def plain(text: str) -> str:
    """Lowercased without accents: what an uncased piece spells."""
    decomposed = unicodedata.normalize("NFD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def assert_same_windows(ours, ref) -> None:
    assert list(ours) == list(ref)
    assert as_lists(ours) == as_lists(ref)
    n = len(ref["input_ids"])
    assert len(ours.encodings) == n
    for r in range(n):
        assert ours.sequence_ids(r) == ref.sequence_ids(r), r
        assert ours.word_ids(r) == ref.word_ids(r), r
        assert ours.tokens(r) == ref.tokens(r), r


@pytest.mark.parametrize("padding", ["max_length", True, False])
def test_squad_windows_match_transformers_fast(padding):
    rows = squad_rows()
    kwargs = dict(
        truncation="only_second",
        max_length=384,
        stride=128,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
        padding=padding,
    )
    questions, contexts = [r["question"] for r in rows], [r["context"] for r in rows]
    ours, ref = FAST(questions, contexts, **kwargs), HF_FAST(questions, contexts, **kwargs)
    assert len(ref["input_ids"]) > len(rows)  # the long contexts do need several windows
    assert_same_windows(ours, ref)
    # each passage piece's offsets point into its own context
    mapping, offsets = ours["overflow_to_sample_mapping"], ours["offset_mapping"]
    for r, sample in enumerate(mapping):
        for t, seq in enumerate(ours.sequence_ids(r)):
            if seq == 1:
                start, end = offsets[r][t]
                piece = ours.tokens(r)[t].removeprefix("##")
                assert plain(contexts[sample][start:end]) == piece or piece == "[UNK]"


def test_squad_windows_as_tensors():
    rows = squad_rows(8)
    kwargs = dict(truncation="only_second", max_length=384, stride=128, padding="max_length",
                  return_overflowing_tokens=True, return_offsets_mapping=True, return_tensors="pt")
    args = ([r["question"] for r in rows], [r["context"] for r in rows])
    ours, ref = FAST(*args, **kwargs), HF_FAST(*args, **kwargs)
    assert list(ours) == list(ref)
    for key in ref:
        assert ours[key].dtype == ref[key].dtype and torch.equal(ours[key], ref[key]), key


def random_case(seed: int) -> tuple[tuple, dict]:
    rng = random.Random(seed)

    def text(k: int) -> str:
        return " ".join(rng.choices(WORDS, k=k))

    pair = rng.random() < 0.7
    batch = rng.random() < 0.6
    n = rng.randint(1, 4) if batch else 1
    firsts = [text(rng.randint(0, 12 if pair else 60)) for _ in range(n)]
    seconds = [text(rng.randint(0, 80)) for _ in range(n)] if pair else None
    strategy = rng.choice(["only_second", "longest_first"] if pair else ["longest_first"])
    max_length = rng.randint(20, 48)
    kwargs = dict(
        truncation=strategy,
        max_length=max_length,
        stride=rng.randint(0, 4),
        return_overflowing_tokens=True,
        return_offsets_mapping=rng.random() < 0.5,
        return_special_tokens_mask=rng.random() < 0.3,
        padding=rng.choice([False, True, "max_length"]),
    )
    if kwargs["padding"] is True and rng.random() < 0.5:
        kwargs["pad_to_multiple_of"] = 8
        kwargs["max_length"] = 8 * (max_length // 8)
    if kwargs["padding"] and rng.random() < 0.3:
        kwargs["return_tensors"] = "pt"
    args = (firsts if batch else firsts[0],) + (
        () if seconds is None else (seconds if batch else seconds[0],)
    )
    return args, kwargs


@pytest.mark.parametrize("seed", range(60))
def test_random_windows_match_transformers_fast(seed):
    args, kwargs = random_case(seed)
    try:
        ref = HF_FAST(*args, **kwargs)
    except BaseException as err:  # transformers panics in Rust when the stride leaves no room
        assert "stride" in str(err)
        with pytest.raises(ValueError, match="leaves no room"):
            FAST(*args, **kwargs)
        return
    ours = FAST(*args, **kwargs)
    if kwargs.get("return_tensors") == "pt":
        assert list(ours) == list(ref)
        for key in ref:
            assert torch.equal(ours[key], ref[key]), key
        for r in range(len(ref["input_ids"])):
            assert ours.sequence_ids(r) == ref.sequence_ids(r)
    else:
        assert_same_windows(ours, ref)


def test_words_split_into_windows():
    words = [w for t in TEXTS[:40] for w in t.split()][:300]
    kwargs = dict(is_split_into_words=True, truncation=True, max_length=32, stride=8,
                  return_overflowing_tokens=True, padding=True)
    assert_same_windows(FAST(words, **kwargs), HF_FAST(words, **kwargs))


def test_stride_too_large_is_a_clear_error():
    long = " ".join(WORDS[:80])
    with pytest.raises(ValueError, match="stride=30 leaves no room"):
        FAST(long, truncation=True, max_length=32, stride=30, return_overflowing_tokens=True)
    # the same stride is fine where nothing is cut (as in transformers)
    assert FAST("short text", truncation=True, max_length=32, stride=30,
                return_overflowing_tokens=True)["overflow_to_sample_mapping"] == [0]
    for tok in (FAST, SLOW):
        with pytest.raises(ValueError, match="stride must be a non-negative int"):
            tok(long, truncation=True, max_length=32, stride=-1)


# --- the slow tokenizer: overflowing_tokens, as transformers' slow tokenizer --------------------


SLOW_CASES = {
    "single": ((" ".join(WORDS[:50]),), dict(truncation=True, max_length=20, stride=3)),
    "single_no_stride": ((" ".join(WORDS[:50]),), dict(max_length=12)),
    "only_second": (("a question?", " ".join(WORDS[:50])),
                    dict(truncation="only_second", max_length=24, stride=5)),
    "only_first": ((" ".join(WORDS[:50]), "a question?"),
                   dict(truncation="only_first", max_length=24, stride=2)),
    "nothing_cut": (("short", "text"), dict(truncation="only_second", max_length=24, stride=2)),
    "batch_padded": (([" ".join(WORDS[:50]), "short", " ".join(WORDS[9:30])],),
                     dict(truncation=True, max_length=16, stride=4, padding=True)),
    "batch_of_pairs": ((["q one", "q two"], [" ".join(WORDS[:40]), "tiny"]),
                       dict(truncation="only_second", max_length=16, stride=3,
                            padding="max_length")),
    "padded_not_cut": (("short",), dict(padding="max_length", max_length=10, truncation=False)),
    "single_pt": ((" ".join(WORDS[:50]),),
                  dict(truncation=True, max_length=20, stride=3, return_tensors="pt")),
}


@pytest.mark.parametrize("case", list(SLOW_CASES))
def test_slow_overflowing_tokens_match_transformers_slow(case):
    args, kwargs = SLOW_CASES[case]
    ours = SLOW(*args, return_overflowing_tokens=True, **kwargs)
    ref = HF_SLOW(*args, return_overflowing_tokens=True, **kwargs)
    assert set(ours) == set(ref) and as_lists(ours) == as_lists(ref)


def test_slow_overflow_errors_name_the_problem():
    long = " ".join(WORDS[:50])
    with pytest.raises(ValueError, match="longest_first"):
        SLOW("q", long, truncation="longest_first", max_length=16, return_overflowing_tokens=True)
    with pytest.raises(ValueError, match="needs max_length"):
        SLOW(long, return_overflowing_tokens=True)
    with pytest.raises(ValueError, match="overflowing_tokens of different lengths"):
        SLOW([long, long[:60]], truncation=True, max_length=12, padding=True,
             return_overflowing_tokens=True, return_tensors="pt")
    with pytest.raises(NotImplementedError, match="BertTokenizerFast"):
        SLOW(long, return_offsets_mapping=True)


def test_sequence_ids_of_both_tokenizers():
    """Question pieces are segment 0, passage pieces 1, specials and padding None."""
    q, c = ["who is it?", "where"], [" ".join(WORDS[:30]), "here and there"]
    kwargs = dict(padding=True, truncation="only_second", max_length=24)
    ref = HF_FAST(q, c, **kwargs)
    for ours in (FAST(q, c, **kwargs), SLOW(q, c, **kwargs)):
        for r in range(2):
            seq = ours.sequence_ids(r)
            assert seq == ref.sequence_ids(r)
            types = ours["token_type_ids"][r]
            mask = ours["attention_mask"][r]
            assert [s for s in seq if s is not None] == [t for t, m, s in zip(
                types, mask, seq, strict=True) if m and s is not None]
            assert seq[0] is None and None in seq[-3:]
    assert SLOW("one text").sequence_ids() == HF_FAST("one text").sequence_ids()
