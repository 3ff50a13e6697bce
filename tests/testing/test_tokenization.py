"""Chapter 2 checkers: basic tokenization, WordPiece and pair truncation."""

from __future__ import annotations

import unicodedata

from bertedu.testing import check_basic_tokenize, check_truncate_longest_first, check_wordpiece
from bertedu.tokenization.slow import BasicTokenizer, WordpieceTokenizer

from .marks import assert_full_marks, assert_library_call_caught, assert_rejected


def basic_tokenize(text, strip_accents=True):
    out = []
    for ch in text:
        cp = ord(ch)
        if cp == 0 or cp == 0xFFFD or (unicodedata.category(ch).startswith("C")
                                       and ch not in "\t\n\r"):
            continue
        if ch in " \t\n\r" or unicodedata.category(ch) == "Zs":
            out.append(" ")
        elif 0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0xF900 <= cp <= 0xFAFF \
                or 0x20000 <= cp <= 0x2FA1F:
            out.append(f" {ch} ")
        else:
            out.append(ch)
    tokens = []
    for word in unicodedata.normalize("NFC", "".join(out)).split():
        word = word.lower()
        if strip_accents:
            word = "".join(c for c in unicodedata.normalize("NFD", word)
                           if unicodedata.category(c) != "Mn")
        piece = ""
        for c in word:
            cp = ord(c)
            if (33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126
                    or unicodedata.category(c).startswith("P")):
                tokens += [piece, c] if piece else [c]
                piece = ""
            else:
                piece += c
        if piece:
            tokens.append(piece)
    return tokens


def test_check_basic_tokenize_grades_right_wrong_and_library_call():
    assert_full_marks(check_basic_tokenize, basic_tokenize)
    result = assert_rejected(check_basic_tokenize, lambda t: basic_tokenize(t, strip_accents=False),
                             r"\[visible\] accents and non-Latin scripts: basic tokenization of "
                             "'Héllo naïve café")
    assert "CJK ideographs" in {o.name for o in result.outcomes if o.passed}
    reference = BasicTokenizer(do_lower_case=True)
    assert_library_call_caught(check_basic_tokenize, lambda t: reference.tokenize(t),
                               "BasicTokenizer.tokenize")


def wordpiece(word, vocab, longest=True, limit=100):
    if len(word) > limit:
        return ["[UNK]"]
    pieces, start = [], 0
    while start < len(word):
        ends = range(len(word), start, -1) if longest else range(start + 1, len(word) + 1)
        for end in ends:
            piece = ("##" if start else "") + word[start:end]
            if piece in vocab:
                break
        else:
            return ["[UNK]"]
        pieces.append(piece)
        start = end
    return pieces


def test_check_wordpiece_grades_right_wrong_and_library_call():
    assert_full_marks(check_wordpiece, wordpiece)
    assert_rejected(check_wordpiece, lambda w, v: wordpiece(w, v, longest=False),
                    r"\[visible\] words of the toy vocabulary: WordPiece of 'abc'")
    assert_rejected(check_wordpiece, lambda w, v: wordpiece(w, v, limit=1000),
                    r"\[edge\] over 100 characters: WordPiece of 'unableable")
    vocab = {"[UNK]": 0, "hel": 1, "##lo": 2, "h": 3, "##e": 4, "##l": 5, "##o": 6}
    assert_full_marks(check_wordpiece, wordpiece, vocab=vocab)
    assert_library_call_caught(
        check_wordpiece, lambda w, v: WordpieceTokenizer(v, "[UNK]").tokenize_word(w),
        "WordpieceTokenizer.tokenize_word")


def truncate(ids_a, ids_b, max_length, tie_to_a=False):
    while len(ids_a) + len(ids_b) + 3 > max_length and (ids_a or ids_b):
        if len(ids_a) > len(ids_b) or (tie_to_a and len(ids_a) == len(ids_b)):
            ids_a = ids_a[:-1]
        else:
            ids_b = ids_b[:-1]
    return ids_a, ids_b


def test_check_truncate_longest_first_grades_right_wrong_and_library_call():
    assert_full_marks(check_truncate_longest_first, truncate)
    assert_rejected(check_truncate_longest_first, lambda a, b, n: truncate(a, b, n, tie_to_a=True),
                    r"\[visible\] equal lengths: lengths \(6, 6\), max_length=10")
    assert_rejected(check_truncate_longest_first, lambda a, b, n: (a[: n - 3], b[:0]),
                    r"\[visible\] A longer than B")
    from bertedu import BertTokenizer

    def cheat(a, b, max_length):
        return BertTokenizer.truncate_sequences(a, b, len(a) + len(b) + 3 - max_length,
                                                "longest_first")

    assert_library_call_caught(check_truncate_longest_first, cheat,
                               "EncodingMixin.truncate_sequences")
