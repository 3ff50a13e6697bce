"""Checkers for chapter 2 (tokenization): basic splitting, WordPiece, pair truncation.

Each checker runs a student's function next to bertedu's tokenizers, on fixed texts (accents,
CJK, control characters, emoji, punctuation), on edge cases (empty text, whitespace only, words
over the length limit, budgets smaller than the special tokens) and on random strings drawn from
the run's seed; a failed case names the input and shows both results.

References:
    Devlin et al. (2018), BERT, section 3 (input representation); Wu et al. (2016), Google's
    neural machine translation system, section 4.1 (WordPiece).
"""

from __future__ import annotations

from .result import Case, case_rng, checker

_TEXTS = {
    "ASCII with punctuation": ["Hello, World! BERT's tokenizer.", "don't stop-believing... ok?!"],
    "accents and non-Latin scripts": ["Héllo naïve café, crème brûlée.",
                                      "ΟΔΟΣ Σίσυφος, Привет мир!",
                                      "e\u0301 a\u0308 combining marks"],
    "CJK ideographs": ["日本語のテキスト and 中文 text"],
    "control and special whitespace": ["control\x00chars\x7f and\ufffd zero\u200bwidth",
                                       "tabs\tand\nnewlines\u00a0nbsp\u3000ideographic"],
    "emoji and symbols": ["emoji 😀🤗 and $5 + 7% = (x) {y} <w> ~ ` @ # &"],
}
_EDGE_TEXTS = {"an empty text": [""], "whitespace only": [" \t\n\u3000 "],
               "one character": ["A", "!", "中"]}
# characters that exercise every rule: letters, accents, CJK, punctuation, controls, spaces
_ALPHABET = "abcXYZ019 ,.!?'-éÑüß日本中\x00\x7f\ufffd\t\n\u00a0\u200b\u0301😀$%&()"

_TOY_VOCAB = [
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un", "##aff", "##able", "token", "##ization",
    "##s", "play", "##ing", "##ed", "the", "a", "##b", "##c", "b", "c", "abc", "##bc", "x",
]


def _random_texts(seed: int, index: int, count: int = 20) -> list[str]:
    rng = case_rng(seed, index)
    return ["".join(rng.choice(_ALPHABET) for _ in range(rng.randint(0, 30)))
            for _ in range(count)]


@checker("bertedu.tokenization.wordpiece.BasicTokenizer.tokenize",
         "bertedu.tokenization.wordpiece.BasicTokenizer.clean_and_split",
         "bertedu.tokenization.wordpiece.BasicTokenizer.split_word",
         "bertedu.tokenization.fast.BertTokenizerFast.tokenize")
def check_basic_tokenize(seed: int) -> list[Case]:
    """Check ``student_fn(text) -> list[str]``, BERT's uncased basic tokenization.

    Clean (drop NUL, U+FFFD, control characters; whitespace -> space), space out CJK ideographs,
    NFC, split on whitespace, lowercase, strip accents, split off punctuation.
    """
    from bertedu.tokenization.wordpiece import BasicTokenizer

    def case(name, group, texts):
        def body(call):
            reference = BasicTokenizer(do_lower_case=True)
            for text in texts:
                expected = reference.tokenize(text)
                got = call(text)
                if list(got) != expected:
                    raise AssertionError(f"basic tokenization of {text!r}:\n    got      "
                                         f"{list(got)}\n    expected {expected}")
        return Case(name, group, body)

    cases = [case(name, "visible", texts) for name, texts in _TEXTS.items()]
    cases += [case(name, "edge", texts) for name, texts in _EDGE_TEXTS.items()]
    cases += [case(f"20 random strings ({i})", "hidden", _random_texts(seed, i)) for i in range(2)]
    return cases


@checker("bertedu.tokenization.wordpiece.WordpieceTokenizer.tokenize_word",
         "bertedu.tokenization.wordpiece.WordpieceTokenizer.tokenize")
def check_wordpiece(seed: int, vocab: dict | None = None) -> list[Case]:
    """Check ``student_fn(word, vocab) -> list[str]``, greedy longest-match-first WordPiece.

    ``vocab`` is a dict token -> id (default: a toy vocabulary); unknown words give
    ``["[UNK]"]``, and so do words longer than 100 characters.
    """
    from bertedu.tokenization.wordpiece import BasicTokenizer, WordpieceTokenizer

    if vocab is None:
        vocab = {token: i for i, token in enumerate(_TOY_VOCAB)}

    def case(name, group, words):
        def body(call):
            reference = WordpieceTokenizer(vocab, "[UNK]", max_input_chars_per_word=100)
            for word in words:
                expected = reference.tokenize_word(word)
                got = list(call(word, vocab))
                if got != expected:
                    raise AssertionError(f"WordPiece of {word!r}:\n    got      {got}\n"
                                         f"    expected {expected}")
        return Case(name, group, body)

    basic = BasicTokenizer()
    pieces = [t.removeprefix("##") for t in vocab if not t.startswith("[")][:2000]
    rng = case_rng(seed, 0)
    random_words = ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 4))) +
                    rng.choice(["", "", "q", "z"]) for _ in range(30)]
    return [
        case("words of the toy vocabulary", "visible",
             ["unaffable", "tokenization", "tokens", "playing", "played", "abc", "abcbc"]),
        case("words of the chapter's texts", "visible",
             [w for texts in _TEXTS.values() for text in texts for w in basic.tokenize(text)]),
        case("unknown words", "edge", ["xyz", "tokenizationq", "q"]),
        case("a word that is a whole entry", "edge", ["un", "a", "x"]),
        case("over 100 characters", "edge", ["a" * 100, "a" * 101, "un" + "able" * 25,
                                             "play" + "ing" * 32]),
        case("30 random words", "hidden", random_words),
    ]


@checker("bertedu.tokenization.truncation.truncate_sequences",
         "bertedu.tokenization.encoding.EncodingMixin.truncate_sequences")
def check_truncate_longest_first(seed: int) -> list[Case]:
    """Check ``student_fn(ids_a, ids_b, max_length) -> (ids_a, ids_b)``, ``[CLS] A [SEP] B [SEP]``.

    Remove tokens from the right until the pair plus its 3 special tokens fits: first from the
    longer sequence down to the other's length, then the rest shared (the extra token from B).
    """
    from bertedu.tokenization.truncation import truncate_sequences

    def case(name, group, triples):
        def body(call):
            for len_a, len_b, max_length in triples:
                a, b = list(range(100, 100 + len_a)), list(range(200, 200 + len_b))
                n = max(0, len_a + len_b + 3 - max_length)
                expected = truncate_sequences(list(a), list(b), n, "longest_first")
                got = call(list(a), list(b), max_length)
                if (list(got[0]), list(got[1])) != (list(expected[0]), list(expected[1])):
                    raise AssertionError(
                        f"lengths ({len_a}, {len_b}), max_length={max_length}: got lengths "
                        f"({len(got[0])}, {len(got[1])}), expected "
                        f"({len(expected[0])}, {len(expected[1])}) (or the wrong tokens kept)")
        return Case(name, group, body)

    rng = case_rng(seed, 0)
    return [
        case("A longer than B", "visible", [(10, 4, 10), (20, 1, 12)]),
        case("B longer than A", "visible", [(4, 10, 10), (5, 7, 11)]),
        case("equal lengths", "visible", [(6, 6, 10), (6, 6, 11)]),
        case("a pair that already fits", "edge", [(5, 7, 40), (2, 2, 7)]),
        case("an empty side", "edge", [(3, 0, 4), (0, 5, 5)]),
        case("a budget of only the special tokens", "edge", [(9, 8, 3), (1, 1, 3)]),
        case("20 random pairs", "hidden", [(rng.randint(0, 30), rng.randint(0, 30),
                                            rng.randint(3, 50)) for _ in range(20)]),
    ]
