"""Checker for chapter 14 (token classification): word labels aligned to word pieces.

A tagging dataset gives one label per *word*, the model predicts one per *piece*. With
``w(t)`` the word of piece ``t`` (the tokenizer's ``word_ids()``, ``None`` for ``[CLS]``,
``[SEP]`` and padding) and ``y_w`` the label of word ``w``, the piece labels are

$$ \\ell_t = \\begin{cases} -100 & w(t) = \\text{None} \\\\
                            y_{w(t)} & w(t) \\ne w(t-1) \\text{ (the word's first piece)} \\\\
                            -100 \\text{, or } \\beta(y_{w(t)}) & \\text{a later piece}
             \\end{cases} $$

where the later pieces get ``-100`` (ignored by the loss) by default and, with
``label_all_pieces=True``, their word's label passed through ``beta`` (``b_to_i``, which turns a
``B-X`` id into the ``I-X`` id, so one word never opens two entities).

The cases are real tokenizer outputs: a toy WordPiece vocabulary splits made-up words into one
piece, a few, or one piece a letter; characters outside it give ``[UNK]``; a zero-width space or
a control character gives a word with no piece at all (its id never appears in ``word_ids``);
truncation at ``max_length`` drops the last words, or cuts a word after some of its pieces; and
padding adds trailing ``None``. A failed case names the words and shows both label lists.

References:
    Devlin et al. (2019), BERT, section 5.3 (the first sub-token's representation feeds the
    token classifier); Ramshaw and Marcus (1995), text chunking (the B-/I-/O tags).
"""

from __future__ import annotations

import functools
import os
import tempfile

from .result import Case, case_rng, checker

# WNUT-17's label names, in the dataset's order (ids 0..12)
WNUT_LABELS = ["O", "B-corporation", "I-corporation", "B-creative-work", "I-creative-work",
               "B-group", "I-group", "B-location", "I-location", "B-person", "I-person",
               "B-product", "I-product"]
_WORDS = ["new", "york", "paul", "love", "##s", "##ing", "##ed", "play", "the", "@", "#", "!",
          "city", "blor", "##p", "##wax", "##town", "apple", "##bee", "##s", ".", "to"]
_LETTERS = "abcdefghijklmnopqrstuvwxyz"
_SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
_NO_PIECES = ["\u200b", "\x00", "\u200b\u200b"]  # removed by the tokenizer's cleaning step
_UNKNOWN = ["😀", "Ω", "日本", "🤗🤗"]  # outside the toy vocabulary: one [UNK] each


@functools.lru_cache(maxsize=1)
def toy_tokenizer():
    """A fast uncased tokenizer over a toy vocabulary: whole words, ``##`` suffixes, and every
    letter alone and as a suffix (so any lowercase word can be split, into one piece a letter
    at worst)."""
    from bertedu.tokenization import BertTokenizerFast

    vocab = list(dict.fromkeys(_SPECIALS + _WORDS + list(_LETTERS)
                               + ["##" + c for c in _LETTERS]))
    with tempfile.TemporaryDirectory(prefix="bertedu_toy_vocab_") as folder:
        path = os.path.join(folder, "vocab.txt")  # read once, when the tokenizer is built
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join(vocab) + "\n")
        return BertTokenizerFast(path, do_lower_case=True)


def _b_to_i() -> dict[int, int]:
    from bertedu.finetuning.token_classification import b_to_i_map

    return b_to_i_map(WNUT_LABELS)


def _describe(words, word_ids, tokens, got, expected, all_pieces) -> str:
    if not isinstance(got, (list, tuple)) or len(got) != len(expected):
        size = len(got) if hasattr(got, "__len__") else "no"
        return (f"words {words} (label_all_pieces={all_pieces}): expected one label per piece, "
                f"{len(expected)} labels, got {size} ({got!r})")
    p = next(i for i, (g, e) in enumerate(zip(got, expected, strict=True)) if g != e)
    return (f"words {words} (label_all_pieces={all_pieces}), pieces {tokens}, word_ids "
            f"{word_ids}:\n    got      {list(got)}\n    expected {expected}\n    first "
            f"difference at piece {p} ({tokens[p]!r}, word {word_ids[p]})")


def _random_word(rng) -> str:
    kind = rng.random()
    if kind < 0.08:
        return rng.choice(_NO_PIECES)
    if kind < 0.16:
        return rng.choice(_UNKNOWN)
    if kind < 0.6:
        return "".join(rng.choice(_LETTERS) for _ in range(rng.randint(1, 12)))
    pieces = [w for w in _WORDS if not w.startswith("##")]
    return rng.choice(pieces) + "".join(rng.choice(["", "s", "ing", "ed", "p", "wax"])
                                        for _ in range(rng.randint(0, 2)))


def _random_tags(rng, n: int) -> list[int]:
    tags, previous = [], 0
    for _ in range(n):
        r = rng.random()
        if r < 0.5:
            tag = 0
        elif r < 0.8 or previous == 0:
            tag = 2 * rng.randint(0, 5) + 1  # a B- tag
        else:
            tag = previous if previous % 2 == 0 else previous + 1  # continue with I-
        tags.append(tag)
        previous = tag
    return tags


@checker("bertedu.finetuning.token_classification.align_labels",
         "bertedu.finetuning.token_classification.encode")
def check_label_alignment(seed: int) -> list[Case]:
    """Check ``student_fn(word_ids, word_labels, label_all_pieces, b_to_i) -> list[int]``.

    ``word_ids`` is one encoding's ``word_ids()`` (``None`` for special tokens and padding),
    ``word_labels`` the label id of every word of the sentence, ``b_to_i`` a dict ``B-X`` id ->
    ``I-X`` id (WNUT-17's tags). The answer has one label per piece: the word's label on its first
    piece, ``-100`` on special tokens and padding, and on later pieces ``-100`` or, with
    ``label_all_pieces=True``, the word's label with ``B-`` turned into ``I-``.
    """
    from bertedu.finetuning.token_classification import align_labels

    b_to_i = _b_to_i()

    def case(name, group, sentences):
        """``sentences``: (words, tags, label_all_pieces, max_length, pad_to) tuples."""

        def body(call):
            tok = toy_tokenizer()
            for words, tags, all_pieces, max_length, pad_to in sentences:
                options = {"truncation": True, "max_length": max_length} if max_length else {}
                if pad_to:
                    options.update(padding="max_length", max_length=pad_to)
                enc = tok(words, is_split_into_words=True, **options)
                word_ids = enc.word_ids()
                expected = align_labels(word_ids, tags, all_pieces, b_to_i)
                got = call(list(word_ids), list(tags), all_pieces, dict(b_to_i))
                if not isinstance(got, (list, tuple)) or list(got) != expected:
                    tokens = tok.convert_ids_to_tokens(enc["input_ids"])
                    raise AssertionError(_describe(words, word_ids, tokens, got, expected,
                                                   all_pieces))
        return Case(name, group, body)

    B_LOC, I_LOC, B_PER = 7, 8, 9  # WNUT_LABELS ids
    tweet = (["@paul", "loves", "New", "Yorkblorpwaxtown", "!"], [0, 0, B_LOC, I_LOC, 0])
    person = (["paulapplebees", "plays"], [B_PER, 0])
    cases = [
        case("a tweet: first piece labelled, the rest -100", "visible",
             [(*tweet, False, None, None), (*person, False, None, None)]),
        case("the same tweet, every piece labelled (B- becomes I-)", "visible",
             [(*tweet, True, None, None), (*person, True, None, None)]),
        case("a word split into one piece a letter", "edge",
             [(["zqxjvkwy"], [B_PER], mode, None, None) for mode in (False, True)]),
        case("[UNK] words (outside the vocabulary)", "edge",
             [(["😀", "paul", "Ω", "x"], [0, B_PER, B_LOC, I_LOC], mode, None, None)
              for mode in (False, True)]),
        case("words with no pieces at all (zero-width space, NUL)", "edge",
             [(["new", "\u200b", "york", "\x00", "city"], [B_LOC, I_LOC, I_LOC, 0, B_LOC], mode,
               None, None) for mode in (False, True)]),
        case("truncation at max_length cuts the last words and a word's pieces", "edge",
             [(["paul", "blorpwaxtown", "loves", "new", "york"], [B_PER, B_LOC, 0, B_LOC, I_LOC],
               mode, n, None) for mode in (False, True) for n in (4, 6, 2)]),
        case("padding after [SEP], and I- tags on later pieces", "edge",
             [(["york", "citytown"], [I_LOC, I_LOC], mode, None, 12) for mode in (False, True)]),
    ]
    for i in range(3):
        rng = case_rng(seed, i)
        sentences = []
        for _ in range(8):
            words = [_random_word(rng) for _ in range(rng.randint(1, 10))]
            max_length = rng.choice([None, None, rng.randint(2, 16)])
            sentences.append((words, _random_tags(rng, len(words)), rng.random() < 0.5,
                              max_length, None))
        cases.append(case(f"8 random sentences ({i})", "hidden", sentences))
    return cases
