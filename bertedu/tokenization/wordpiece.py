"""Text to word pieces: BERT's basic tokenizer, then greedy longest-match-first WordPiece.

BERT never sees characters or whole words. A sentence becomes a sequence of *word pieces*
drawn from a fixed vocabulary of about 30,000 strings (Wu et al., 2016, Section 4.1; Schuster
and Nakajima, 2012). Tokenizing happens in two stages:

1. ``BasicTokenizer``: clean the text (drop NUL, U+FFFD and control characters, map every
   whitespace character to a space), put spaces around each CJK ideograph, NFC-normalize,
   split on whitespace, lowercase and strip accents (NFD, then drop the combining marks of
   category ``Mn``), and split every punctuation character off as its own token.
2. ``WordpieceTokenizer``: greedy longest-match-first. For a word ``w`` the longest prefix
   ``w[0:e]`` in the vocabulary is the first piece; the rest is matched the same way with a
   ``##`` prefix marking "continues the previous piece"::

       unaffable -> un ##aff ##able

   A word with no complete segmentation, or longer than ``max_input_chars_per_word`` (100)
   characters, becomes ``[UNK]``.

Both work on strings alone: the vocabulary is any container supporting ``in``. Ids, special
tokens and the word cache belong to ``bertedu.tokenization.slow.BertTokenizer``.

References:
    Devlin et al., 2019, "BERT: Pre-training of Deep Bidirectional Transformers for Language
    Understanding", Section 3 (input representation) and Appendix A.
    Wu et al., 2016, "Google's Neural Machine Translation System", Section 4.1 (wordpieces).
    Schuster and Nakajima, 2012, "Japanese and Korean Voice Search" (the wordpiece model).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

# --- character classes ----------------------------------------------------------------------


def is_whitespace(char: str) -> bool:
    """Space, tab, newline, carriage return, and every Unicode space separator (category Zs)."""
    if char in " \t\n\r":
        return True
    return unicodedata.category(char) == "Zs"


def is_control(char: str) -> bool:
    """Unicode "other" categories (Cc, Cf, Cn, Co, Cs), except the whitespace \\t \\n \\r."""
    if char in "\t\n\r":
        return False
    return unicodedata.category(char).startswith("C")


def is_punctuation(char: str) -> bool:
    """Unicode punctuation (P*), plus all non-alphanumeric printable ASCII such as ``$ + ^ `.``"""
    cp = ord(char)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(char).startswith("P")


def is_chinese_char(cp: int) -> bool:
    """CJK Unified Ideographs blocks (Chinese characters, Japanese kanji, Korean hanja).

    Hiragana, katakana and hangul are *not* in these blocks: they are split like other scripts.
    """
    return (
        0x4E00 <= cp <= 0x9FFF
        or 0x3400 <= cp <= 0x4DBF
        or 0x20000 <= cp <= 0x2A6DF
        or 0x2A700 <= cp <= 0x2B73F
        or 0x2B740 <= cp <= 0x2B81F
        or 0x2B820 <= cp <= 0x2CEAF
        or 0xF900 <= cp <= 0xFAFF
        or 0x2F800 <= cp <= 0x2FA1F
    )


def whitespace_tokenize(text: str) -> list[str]:
    """Split on any run of whitespace (Python's ``str.split``), dropping empty strings."""
    return text.split()


def strip_accents(text: str) -> str:
    """Decompose (NFD: ``é`` -> ``e`` + U+0301) and drop the nonspacing marks (category Mn)."""
    return "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")


class _CharMap(dict):
    """Memoized per-character rewrite for ``str.translate``: cleaning + CJK spacing in one pass.

    ``__missing__`` applies the readable rules once per distinct character; later look-ups are
    plain dict hits, so the text-level pass runs at C speed.
    """

    def __init__(self, tokenize_chinese_chars: bool):
        super().__init__()
        self.tokenize_chinese_chars = tokenize_chinese_chars

    def __missing__(self, cp: int) -> str:
        char = chr(cp)
        if cp == 0 or cp == 0xFFFD or is_control(char):
            out = ""
        elif is_whitespace(char):
            out = " "
        elif self.tokenize_chinese_chars and is_chinese_char(cp):
            out = f" {char} "
        else:
            out = char
        self[cp] = out
        return out


# --- stage 1: the basic tokenizer ---------------------------------------------------------------


class BasicTokenizer:
    """Cleaning, CJK split, lowercasing, accent stripping and punctuation split.

    Args:
        do_lower_case: lowercase every token (and, unless ``strip_accents=False``, strip accents).
        never_split: tokens kept whole (not lowercased, not split on punctuation).
        tokenize_chinese_chars: put spaces around each CJK ideograph.
        strip_accents: ``None`` follows ``do_lower_case``; ``True``/``False`` force it.
        do_split_on_punc: split punctuation characters off as their own tokens.
    """

    def __init__(
        self,
        do_lower_case: bool = True,
        never_split: Iterable[str] | None = None,
        tokenize_chinese_chars: bool = True,
        strip_accents: bool | None = None,
        do_split_on_punc: bool = True,
    ):
        self.do_lower_case = do_lower_case
        self.never_split = set(never_split or ())
        self.tokenize_chinese_chars = tokenize_chinese_chars
        self.strip_accents = strip_accents
        self.do_split_on_punc = do_split_on_punc
        self._char_map = _CharMap(tokenize_chinese_chars)

    def clean_and_split(self, text: str) -> list[str]:
        """Text-level steps: clean, space out CJK, NFC-normalize, split on whitespace."""
        text = text.translate(self._char_map)  # same as _clean_text then _tokenize_chinese_chars
        return whitespace_tokenize(unicodedata.normalize("NFC", text))

    def split_word(self, token: str, never_split: set[str] | frozenset[str]) -> list[str]:
        """Word-level steps on one whitespace token: lowercase, strip accents, split punctuation."""
        if token in never_split:
            return [token]
        if self.do_lower_case:
            token = token.lower()
            if self.strip_accents is not False:
                token = strip_accents(token)
        elif self.strip_accents:
            token = strip_accents(token)
        if not self.do_split_on_punc or token in never_split:
            return whitespace_tokenize(token)
        pieces: list[str] = []
        current: list[str] = []
        for char in token:
            if is_punctuation(char):
                if current:
                    pieces.append("".join(current))
                    current = []
                pieces.append(char)
            else:
                current.append(char)
        if current:
            pieces.append("".join(current))
        return [p for piece in pieces for p in whitespace_tokenize(piece)]

    def tokenize(self, text: str, never_split: Iterable[str] | None = None) -> list[str]:
        """Split ``text`` into basic tokens: ``"Héllo, world!"`` -> ``hello , world !``."""
        keep = self.never_split.union(never_split) if never_split else self.never_split
        return [p for tok in self.clean_and_split(text) for p in self.split_word(tok, keep)]


# --- stage 2: WordPiece -------------------------------------------------------------------------


class WordpieceTokenizer:
    """Greedy longest-match-first segmentation of one word into vocabulary pieces.

    Args:
        vocab: the vocabulary (anything supporting ``in``; a dict token -> id).
        unk_token: the token emitted for a word that cannot be segmented.
        max_input_chars_per_word: longer words become ``unk_token`` directly.
    """

    def __init__(self, vocab, unk_token: str, max_input_chars_per_word: int = 100):
        self.vocab = vocab
        self.unk_token = unk_token
        self.max_input_chars_per_word = max_input_chars_per_word

    def tokenize_word(self, word: str) -> list[str]:
        """One word (no whitespace) -> its pieces, e.g. ``unaffable`` -> ``un ##aff ##able``."""
        if len(word) > self.max_input_chars_per_word:
            return [self.unk_token]
        pieces = []
        start = 0
        while start < len(word):
            end = len(word)
            while start < end:  # shrink the candidate from the right until it is in the vocab
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in self.vocab:
                    break
                end -= 1
            else:  # no prefix of the rest matched: the whole word is unknown
                return [self.unk_token]
            pieces.append(piece)
            start = end
        return pieces

    def tokenize(self, text: str) -> list[str]:
        """Whitespace-split ``text`` (already basic-tokenized) and segment every word."""
        return [p for word in whitespace_tokenize(text) for p in self.tokenize_word(word)]
