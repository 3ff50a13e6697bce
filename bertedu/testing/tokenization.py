"""Checkers for chapter 2 (tokenization): basic splitting, WordPiece, pair truncation.

Each checker runs a student's function next to bertedu's tokenizers on a fixed set of texts
(accents, CJK, control characters, emoji, punctuation) and raises ``AssertionError`` naming the
first input whose result differs.

References:
    Devlin et al. (2018), BERT, section 3 (input representation); Wu et al. (2016), Google's
    neural machine translation system, section 4.1 (WordPiece).
"""

from __future__ import annotations

_TOKENIZATION_TEXTS = [
    "Hello, World! BERT's tokenizer.",
    "Héllo naïve café, crème brûlée.",
    "ΟΔΟΣ Σίσυφος, Привет мир!",
    "日本語のテキスト and 中文 text",
    "control\x00chars\x7f and\ufffd zero\u200bwidth",
    "tabs\tand\nnewlines\u00a0nbsp\u3000ideographic",
    "emoji 😀🤗 and $5 + 7% = (x) {y} <w> ~ ` @ # &",
    "e\u0301 a\u0308 combining marks",
    "don't stop-believing... ok?!",
    "",
]

_TOY_VOCAB = [
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un", "##aff", "##able", "token", "##ization",
    "##s", "play", "##ing", "##ed", "the", "a", "##b", "##c", "b", "c", "abc", "##bc", "x",
]


def check_basic_tokenize(student_fn) -> bool:
    """``student_fn(text) -> list[str]``: BERT's uncased basic tokenization.

    Clean (drop NUL, U+FFFD, control characters; whitespace -> space), space out CJK ideographs,
    NFC, split on whitespace, lowercase, strip accents, split off punctuation.
    """
    from bertedu.tokenization.slow import BasicTokenizer

    reference = BasicTokenizer(do_lower_case=True)
    for text in _TOKENIZATION_TEXTS:
        expected = reference.tokenize(text)
        got = student_fn(text)
        if list(got) != expected:
            raise AssertionError(
                f"basic tokenization of {text!r}:\n  got      {list(got)}\n  expected {expected}"
            )
    return True


def check_wordpiece(student_fn, vocab=None) -> bool:
    """``student_fn(word, vocab) -> list[str]``: greedy longest-match-first WordPiece.

    ``vocab`` is a dict token -> id (default: a toy vocabulary); unknown words give
    ``["[UNK]"]``, and so do words longer than 100 characters.
    """
    from bertedu.tokenization.slow import BasicTokenizer, WordpieceTokenizer

    if vocab is None:
        vocab = {token: i for i, token in enumerate(_TOY_VOCAB)}
    reference = WordpieceTokenizer(vocab, "[UNK]", max_input_chars_per_word=100)
    words = ["unaffable", "tokenization", "tokens", "playing", "played", "abc", "abcbc", "xyz",
             "un", "", "a" * 101, "tokenizations"]
    words += [w for text in _TOKENIZATION_TEXTS for w in BasicTokenizer().tokenize(text)]
    for word in words:
        expected = reference.tokenize_word(word) if word else []
        got = list(student_fn(word, vocab)) if word else []
        if got != expected:
            raise AssertionError(f"WordPiece of {word!r}:\n  got      {got}\n  expected {expected}")
    return True


def check_truncate_longest_first(student_fn) -> bool:
    """``student_fn(ids_a, ids_b, max_length) -> (ids_a, ids_b)`` for ``[CLS] A [SEP] B [SEP]``.

    Remove tokens from the right until the pair plus its 3 special tokens fits: first from the
    longer sequence down to the other's length, then the rest shared (the extra token from B).
    """
    from bertedu.tokenization.slow import BertTokenizer

    for len_a, len_b, max_length in [(10, 4, 10), (4, 10, 10), (6, 6, 10), (6, 6, 11), (5, 7, 40),
                                     (3, 0, 4), (0, 5, 5), (9, 8, 3), (20, 1, 12)]:
        a, b = list(range(100, 100 + len_a)), list(range(200, 200 + len_b))
        n = len_a + len_b + 3 - max_length
        expected = BertTokenizer.truncate_sequences(a, b, n, "longest_first")
        got = student_fn(list(a), list(b), max_length)
        if (list(got[0]), list(got[1])) != (list(expected[0]), list(expected[1])):
            raise AssertionError(
                f"lengths ({len_a}, {len_b}), max_length={max_length}: got lengths "
                f"({len(got[0])}, {len(got[1])}), expected "
                f"({len(expected[0])}, {len(expected[1])})"
            )
    return True
