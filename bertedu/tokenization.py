"""BERT tokenization in pure Python: text cleaning, a basic split, then WordPiece.

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

``BertTokenizer`` adds what the model needs around the pieces: ``[CLS] A [SEP]`` or
``[CLS] A [SEP] B [SEP]``, token type ids (0 for the first segment, 1 for the second),
truncation, padding with ``[PAD]`` and an attention mask (1 = real token, 0 = padding).
Its outputs match ``transformers.BertTokenizer`` exactly. It keeps a word cache (a basic token
always gives the same pieces), which makes it faster than the reference on real text.

References:
    Devlin et al., 2019, "BERT: Pre-training of Deep Bidirectional Transformers for Language
    Understanding", Section 3 (input representation, Figure 2) and Appendix A.
    Wu et al., 2016, "Google's Neural Machine Translation System", Section 4.1 (wordpieces).
    Schuster and Nakajima, 2012, "Japanese and Korean Voice Search" (the wordpiece model).
"""

from __future__ import annotations

import functools
import json
import numbers
import os
import re
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any

import torch

VOCAB_FILE = "vocab.txt"
TOKENIZER_CONFIG_FILE = "tokenizer_config.json"
SPECIAL_TOKENS_MAP_FILE = "special_tokens_map.json"

# The order of transformers' ``all_special_tokens`` (bos/eos are absent in BERT).
SPECIAL_TOKEN_NAMES = ("unk_token", "sep_token", "pad_token", "cls_token", "mask_token")
PADDING_STRATEGIES = ("longest", "max_length", "do_not_pad")
TRUNCATION_STRATEGIES = ("longest_first", "only_first", "only_second", "do_not_truncate")


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


# --- the encoding container -----------------------------------------------------------------------


class BatchEncoding(dict):
    """The tokenizer's output: a dict (``input_ids``, ``token_type_ids``, ``attention_mask``,
    ...) that also allows attribute access (``enc.input_ids``) and ``enc.to(device)``.

    The fast tokenizer also keeps the ``tokenizers`` ``Encoding`` objects, which know which word
    and which character span each token came from (``word_ids``, ``tokens``).
    """

    def __init__(self, data: dict | None = None, encodings: list | None = None):
        super().__init__(data or {})
        self.encodings = encodings

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"BatchEncoding has no field {name!r}") from None

    def __getstate__(self) -> dict:
        return {"data": dict(self), "encodings": self.encodings}

    def __setstate__(self, state: dict) -> None:
        self.update(state["data"])
        self.encodings = state["encodings"]

    def to(self, device: str | torch.device) -> BatchEncoding:
        """Move every tensor field to ``device`` (in place; returns ``self``)."""
        for key, value in self.items():
            if isinstance(value, torch.Tensor):
                self[key] = value.to(device)
        return self

    def _encoding(self, batch_index: int):
        if self.encodings is None:
            raise ValueError("word_ids()/tokens() need the fast tokenizer (BertTokenizerFast)")
        return self.encodings[batch_index]

    def tokens(self, batch_index: int = 0) -> list[str]:
        """The token strings of example ``batch_index`` (fast tokenizer only)."""
        return self._encoding(batch_index).tokens

    def word_ids(self, batch_index: int = 0) -> list[int | None]:
        """Index of the word each token comes from, None for special tokens (fast only)."""
        return self._encoding(batch_index).word_ids

    def sequence_ids(self, batch_index: int = 0) -> list[int | None]:
        """0/1 for the segment of each token, None for special tokens (fast only)."""
        return self._encoding(batch_index).sequence_ids


def to_tensors(data: dict, return_tensors: str | None) -> dict:
    """Turn list fields into ``torch.long`` tensors (``"pt"``); ragged batches are an error."""
    if return_tensors is None:
        return data
    if return_tensors != "pt":
        raise ValueError(f"return_tensors must be None or 'pt', got {return_tensors!r}")
    out = {}
    for key, value in data.items():
        if value and isinstance(value[0], list) and len({len(v) for v in value}) > 1:
            raise ValueError(
                f"return_tensors='pt' needs equal lengths, but {key!r} is ragged "
                f"(lengths {sorted({len(v) for v in value})}); pass padding=True or "
                "padding='max_length' (and truncation=True for long texts)"
            )
        if key == "offset_mapping":
            out[key] = torch.tensor(value, dtype=torch.long).reshape(len(value), -1, 2)
        else:
            out[key] = torch.tensor(value, dtype=torch.long)
    return out


def resolve_strategies(
    padding: bool | str,
    truncation: bool | str | None,
    max_length: int | None,
    model_max_length: int,
    pad_to_multiple_of: int | None = None,
) -> tuple[str, str, int | None]:
    """Map the user's ``padding``/``truncation``/``max_length`` to (padding, truncation, length).

    The rules of transformers: ``max_length`` alone (no padding, truncation unset) turns on
    ``longest_first``; ``True`` means ``longest`` / ``longest_first``; a missing ``max_length``
    falls back to ``model_max_length`` when padding to max length or truncating.
    """
    if max_length is not None and padding is False and truncation is None:
        truncation = "longest_first"
    if padding is True:
        padding = "longest"
    elif padding is False:
        padding = "do_not_pad"
    if padding not in PADDING_STRATEGIES:
        raise ValueError(
            f"unknown padding strategy {padding!r}; use True/False or one of {PADDING_STRATEGIES}"
        )
    if truncation is True:
        truncation = "longest_first"
    elif truncation is None or truncation is False:
        truncation = "do_not_truncate"
    if truncation not in TRUNCATION_STRATEGIES:
        raise ValueError(
            f"unknown truncation strategy {truncation!r}; use True/False or one of "
            f"{TRUNCATION_STRATEGIES}"
        )
    if max_length is None and (padding == "max_length" or truncation != "do_not_truncate"):
        max_length = model_max_length
    if max_length is not None and (not isinstance(max_length, int) or max_length < 0):
        raise ValueError(f"max_length must be a non-negative int, got {max_length!r}")
    if (
        truncation != "do_not_truncate"
        and padding != "do_not_pad"
        and pad_to_multiple_of is not None
        and max_length is not None
        and max_length % pad_to_multiple_of != 0
    ):
        raise ValueError(
            f"truncation length ({max_length}) is not a multiple of "
            f"pad_to_multiple_of ({pad_to_multiple_of})"
        )
    return padding, truncation, max_length


def load_vocab(vocab_file: str | os.PathLike) -> dict[str, int]:
    """Read a ``vocab.txt`` (one token a line; the line number is the id)."""
    if not os.path.isfile(vocab_file):
        raise FileNotFoundError(f"vocabulary file not found: {os.fspath(vocab_file)!r}")
    with open(vocab_file, encoding="utf-8") as f:
        tokens = [line.rstrip("\n") for line in f]
    if not tokens:
        raise ValueError(f"vocabulary file {os.fspath(vocab_file)!r} is empty")
    return {token: i for i, token in enumerate(tokens)}


def _token_content(value: Any) -> Any:
    """A special token in a config file is a string or an AddedToken dict {"content": ...}."""
    return value["content"] if isinstance(value, dict) else value


def read_tokenizer_config(directory: str) -> dict[str, Any]:
    """Constructor arguments from ``tokenizer_config.json`` and ``special_tokens_map.json``."""
    kwargs: dict[str, Any] = {}
    for name in (SPECIAL_TOKENS_MAP_FILE, TOKENIZER_CONFIG_FILE):
        path = os.path.join(directory, name)
        if os.path.isfile(path):
            with open(path, encoding="utf-8") as f:
                kwargs.update(json.load(f))
    keys = (
        "do_lower_case",
        "do_basic_tokenize",
        "never_split",
        "tokenize_chinese_chars",
        "strip_accents",
        "model_max_length",
        "clean_up_tokenization_spaces",
        *SPECIAL_TOKEN_NAMES,
    )
    out = {k: _token_content(kwargs[k]) for k in keys if k in kwargs}
    if out.get("model_max_length", 0) > 1e29:  # transformers' "no limit" placeholder
        del out["model_max_length"]
    return out


def resolve_pretrained_dir(name_or_path: str | os.PathLike, filenames: Sequence[str]) -> str:
    """A local directory as is; otherwise download ``filenames`` of a hub id (missing ones ok)."""
    if os.path.isdir(name_or_path):
        return os.fspath(name_or_path)
    from huggingface_hub import hf_hub_download

    directory = None
    for filename in filenames:
        try:
            path = hf_hub_download(str(name_or_path), filename)
        except Exception as err:  # a missing optional file, or no such repository
            if filename == VOCAB_FILE:
                raise OSError(
                    f"{name_or_path!r} is neither a local directory nor a hub repository with a "
                    f"{VOCAB_FILE}: {err}"
                ) from err
            continue
        directory = os.path.dirname(path)
    return directory


# --- BertTokenizer ------------------------------------------------------------------------------


class BertTokenizer:
    """The BERT tokenizer, pure Python, API-compatible with ``transformers.BertTokenizer``.

    Args:
        vocab_file: path of ``vocab.txt``.
        do_lower_case: lowercase (and strip accents) before WordPiece; ``True`` for uncased models.
        do_basic_tokenize: run the ``BasicTokenizer`` first (else WordPiece on whitespace words).
        never_split: tokens the basic tokenizer keeps whole.
        unk_token, sep_token, pad_token, cls_token, mask_token: the special tokens.
        tokenize_chinese_chars: one token per CJK ideograph.
        strip_accents: ``None`` follows ``do_lower_case``.
        model_max_length: default ``max_length`` for truncation and ``padding="max_length"``.
        clean_up_tokenization_spaces: ``decode`` removes spaces before punctuation and clitics.
        word_cache_size: how many distinct words the word -> pieces cache remembers.
    """

    model_input_names = ["input_ids", "token_type_ids", "attention_mask"]
    padding_side = "right"
    truncation_side = "right"

    def __init__(
        self,
        vocab_file: str | os.PathLike,
        do_lower_case: bool = True,
        do_basic_tokenize: bool = True,
        never_split: Iterable[str] | None = None,
        unk_token: str = "[UNK]",
        sep_token: str = "[SEP]",
        pad_token: str = "[PAD]",
        cls_token: str = "[CLS]",
        mask_token: str = "[MASK]",
        tokenize_chinese_chars: bool = True,
        strip_accents: bool | None = None,
        model_max_length: int = 512,
        clean_up_tokenization_spaces: bool = True,
        word_cache_size: int = 1 << 16,
    ):
        self.vocab = load_vocab(vocab_file)
        self.ids_to_tokens = {i: t for t, i in self.vocab.items()}
        if unk_token not in self.vocab:
            raise ValueError(
                f"the unknown token {unk_token!r} (unk_token) is not in the vocabulary "
                f"{os.fspath(vocab_file)!r}; WordPiece needs it for words it cannot segment"
            )
        self.unk_token, self.sep_token, self.pad_token = unk_token, sep_token, pad_token
        self.cls_token, self.mask_token = cls_token, mask_token
        self.do_basic_tokenize = do_basic_tokenize
        self.never_split = list(never_split or [])
        self.tokenize_chinese_chars = tokenize_chinese_chars
        self.strip_accents = strip_accents
        self._do_lower_case = do_lower_case
        self.model_max_length = model_max_length
        self.clean_up_tokenization_spaces = clean_up_tokenization_spaces
        self.basic_tokenizer = BasicTokenizer(
            do_lower_case=do_lower_case,
            never_split=never_split,
            tokenize_chinese_chars=tokenize_chinese_chars,
            strip_accents=strip_accents,
        )
        self.wordpiece_tokenizer = WordpieceTokenizer(self.vocab, unk_token)
        # Special tokens in the text are matched before any other processing (and kept cased).
        specials = sorted(set(self.all_special_tokens), key=len, reverse=True)
        self._special_re = re.compile("(" + "|".join(re.escape(s) for s in specials) + ")")
        self._keep_whole = frozenset(self.basic_tokenizer.never_split | set(specials))
        # The word cache: a whitespace token always yields the same pieces.
        self._word_pieces = functools.lru_cache(maxsize=word_cache_size)(self._split_word)

    # ---- vocabulary and special tokens ----

    @property
    def do_lower_case(self) -> bool:
        return self._do_lower_case

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def __len__(self) -> int:
        return len(self.vocab)

    def get_vocab(self) -> dict[str, int]:
        return dict(self.vocab)

    @property
    def all_special_tokens(self) -> list[str]:
        """``[UNK] [SEP] [PAD] [CLS] [MASK]`` (transformers' order)."""
        return [getattr(self, name) for name in SPECIAL_TOKEN_NAMES]

    @property
    def all_special_ids(self) -> list[int]:
        return [self.vocab[t] for t in self.all_special_tokens if t in self.vocab]

    def _special_id(self, name: str) -> int:
        token = getattr(self, name)
        if token not in self.vocab:
            raise ValueError(f"the {name} {token!r} is not in the vocabulary")
        return self.vocab[token]

    unk_token_id = property(lambda self: self._special_id("unk_token"))
    sep_token_id = property(lambda self: self._special_id("sep_token"))
    pad_token_id = property(lambda self: self._special_id("pad_token"))
    cls_token_id = property(lambda self: self._special_id("cls_token"))
    mask_token_id = property(lambda self: self._special_id("mask_token"))
    pad_token_type_id = 0

    def convert_tokens_to_ids(self, tokens: str | Sequence[str]) -> int | list[int]:
        """Token(s) -> id(s); tokens outside the vocabulary map to the ``[UNK]`` id."""
        unk = self.vocab[self.unk_token]
        if isinstance(tokens, str):
            return self.vocab.get(tokens, unk)
        return [self.vocab.get(t, unk) for t in tokens]

    def convert_ids_to_tokens(
        self, ids: int | Sequence[int], skip_special_tokens: bool = False
    ) -> str | list[str]:
        """Id(s) -> token(s); unknown ids give ``[UNK]``."""
        if isinstance(ids, torch.Tensor):
            ids = ids.tolist()
        if isinstance(ids, numbers.Integral):
            return self.ids_to_tokens.get(int(ids), self.unk_token)
        skip = set(self.all_special_ids) if skip_special_tokens else ()
        return [self.ids_to_tokens.get(int(i), self.unk_token) for i in ids if int(i) not in skip]

    def convert_tokens_to_string(self, tokens: Sequence[str]) -> str:
        """Join pieces: ``["un", "##aff", "##able"]`` -> ``"unaffable"``."""
        return " ".join(tokens).replace(" ##", "").strip()

    # ---- tokenizing ----

    def _split_word(self, word: str) -> tuple[str, ...]:
        """One whitespace token -> its word pieces (basic split, then WordPiece). Cached."""
        if not self.do_basic_tokenize:
            return tuple(self.wordpiece_tokenizer.tokenize_word(word))
        out: list[str] = []
        for token in self.basic_tokenizer.split_word(word, self._keep_whole):
            if token in self.basic_tokenizer.never_split:
                out.append(token)
            else:
                out.extend(self.wordpiece_tokenizer.tokenize_word(token))
        return tuple(out)

    def _lowercase(self, text: str) -> str:
        """Lowercase character by character (as transformers does): no final-sigma rule."""
        return text.replace("\u03a3", "\u03c3").lower()

    def tokenize(self, text: str) -> list[str]:
        """Text -> word pieces; special tokens written in the text (``[SEP]``) stay whole."""
        if not isinstance(text, str):
            raise TypeError(f"tokenize() expects a str, got {type(text).__name__}")
        lower = self.do_basic_tokenize and self._do_lower_case
        tokens: list[str] = []
        # re.split with a group alternates: text, special, text, special, ..., text
        for i, chunk in enumerate(self._special_re.split(text)):
            if i % 2:
                tokens.append(chunk)
                continue
            if lower:
                chunk = self._lowercase(chunk)
            words = (
                self.basic_tokenizer.clean_and_split(chunk)
                if self.do_basic_tokenize
                else whitespace_tokenize(chunk)
            )
            for word in words:
                tokens.extend(self._word_pieces(word))
        return tokens

    # ---- model inputs ----

    def num_special_tokens_to_add(self, pair: bool = False) -> int:
        return 3 if pair else 2

    def build_inputs_with_special_tokens(
        self, token_ids_0: list[int], token_ids_1: list[int] | None = None
    ) -> list[int]:
        """``[CLS] A [SEP]`` or ``[CLS] A [SEP] B [SEP]``."""
        cls, sep = [self.cls_token_id], [self.sep_token_id]
        if token_ids_1 is None:
            return cls + list(token_ids_0) + sep
        return cls + list(token_ids_0) + sep + list(token_ids_1) + sep

    def get_special_tokens_mask(
        self,
        token_ids_0: list[int],
        token_ids_1: list[int] | None = None,
        already_has_special_tokens: bool = False,
    ) -> list[int]:
        """1 where ``build_inputs_with_special_tokens`` puts a special token, else 0."""
        if already_has_special_tokens:
            if token_ids_1 is not None:
                raise ValueError("already_has_special_tokens=True takes one sequence of ids")
            special = set(self.all_special_ids)
            return [1 if i in special else 0 for i in token_ids_0]
        if token_ids_1 is None:
            return [1] + [0] * len(token_ids_0) + [1]
        return [1] + [0] * len(token_ids_0) + [1] + [0] * len(token_ids_1) + [1]

    def create_token_type_ids_from_sequences(
        self, token_ids_0: list[int], token_ids_1: list[int] | None = None
    ) -> list[int]:
        """Segment ids: 0 for ``[CLS] A [SEP]``, 1 for ``B [SEP]``."""
        first = [0] * (len(token_ids_0) + 2)
        return first if token_ids_1 is None else first + [1] * (len(token_ids_1) + 1)

    def _to_ids(self, text: Any, is_split_into_words: bool) -> list[int]:
        if isinstance(text, str) and not is_split_into_words:
            return self.convert_tokens_to_ids(self.tokenize(text))
        if is_split_into_words and isinstance(text, (list, tuple)):
            if not all(isinstance(w, str) for w in text):
                raise TypeError("is_split_into_words=True expects a list of str per example")
            return self.convert_tokens_to_ids([t for w in text for t in self.tokenize(w)])
        if isinstance(text, (list, tuple)) and all(isinstance(i, int) for i in text):
            return list(text)
        raise TypeError(
            "text must be a str, a list of str (a batch), a list of (str, str) pairs, or a list "
            f"of token ids; got {type(text).__name__}"
        )

    @staticmethod
    def truncate_sequences(
        ids: list[int], pair_ids: list[int] | None, num_tokens_to_remove: int, strategy: str
    ) -> tuple[list[int], list[int] | None]:
        """Remove ``num_tokens_to_remove`` ids from the right, as ``strategy`` says.

        ``longest_first`` on a pair first shortens the longer sequence down to the length of
        the other, then shares the rest (the second sequence loses the odd token).
        """
        n = num_tokens_to_remove
        if n <= 0:
            return ids, pair_ids
        if strategy == "only_first" or (strategy == "longest_first" and pair_ids is None):
            if len(ids) <= n:
                raise ValueError(
                    f"cannot truncate: {n} tokens must go but the first sequence has only "
                    f"{len(ids)}; raise max_length or use another truncation strategy"
                )
            return ids[:-n], pair_ids
        if strategy == "only_second":
            if pair_ids is None:
                raise ValueError("truncation='only_second' needs a pair of sequences")
            if len(pair_ids) <= n:
                raise ValueError(
                    f"cannot truncate: {n} tokens must go but the second sequence has only "
                    f"{len(pair_ids)}; raise max_length or use another truncation strategy"
                )
            return ids, pair_ids[:-n]
        # longest_first on a pair
        first_remove = min(abs(len(pair_ids) - len(ids)), n)
        shared = n - first_remove
        if len(ids) > len(pair_ids):
            cut_a, cut_b = first_remove + shared // 2, shared - shared // 2
        else:
            cut_a, cut_b = shared // 2, first_remove + shared - shared // 2
        return ids[: len(ids) - cut_a], pair_ids[: len(pair_ids) - cut_b]

    def _prepare(
        self,
        ids: list[int],
        pair_ids: list[int] | None,
        add_special_tokens: bool,
        truncation: str,
        max_length: int | None,
        return_token_type_ids: bool,
        return_special_tokens_mask: bool,
    ) -> dict[str, list[int]]:
        """Truncate, add special tokens, token types and the special tokens mask (no padding)."""
        pair = pair_ids is not None
        n_special = self.num_special_tokens_to_add(pair) if add_special_tokens else 0
        total = len(ids) + (len(pair_ids) if pair_ids is not None else 0) + n_special
        if truncation != "do_not_truncate" and max_length is not None:
            if max_length < n_special:
                raise ValueError(
                    f"max_length={max_length} is smaller than the {n_special} special tokens "
                    "that must be added"
                )
            if total > max_length:
                n = total - max_length
                ids, pair_ids = self.truncate_sequences(ids, pair_ids, n, truncation)
        if add_special_tokens:
            input_ids = self.build_inputs_with_special_tokens(ids, pair_ids)
            token_type_ids = self.create_token_type_ids_from_sequences(ids, pair_ids)
            special = self.get_special_tokens_mask(ids, pair_ids)
        else:
            input_ids = ids + (pair_ids or [])
            token_type_ids = [0] * len(input_ids)
            special = [0] * len(input_ids)
        out = {"input_ids": input_ids}
        if return_token_type_ids:
            out["token_type_ids"] = token_type_ids
        if return_special_tokens_mask:
            out["special_tokens_mask"] = special
        return out

    def _pad_one(
        self, example: dict[str, list[int]], length: int | None, return_attention_mask: bool
    ) -> dict[str, list[int]]:
        n = len(example["input_ids"])
        missing = max(0, length - n) if length is not None else 0
        out = dict(example)
        if return_attention_mask and "attention_mask" not in out:
            out["attention_mask"] = [1] * n
        if missing:
            pad_value = {
                "input_ids": self.pad_token_id,
                "token_type_ids": self.pad_token_type_id,
                "attention_mask": 0,
                "special_tokens_mask": 1,
            }
            for key, value in out.items():
                if key in pad_value:
                    out[key] = list(value) + [pad_value[key]] * missing
        return out

    def _pad_batch(
        self,
        examples: list[dict[str, list[int]]],
        padding: str,
        max_length: int | None,
        pad_to_multiple_of: int | None,
        return_attention_mask: bool,
    ) -> list[dict[str, list[int]]]:
        length = None
        if padding == "longest":
            length = max((len(e["input_ids"]) for e in examples), default=0)
        elif padding == "max_length":
            length = max_length
        if length is not None and pad_to_multiple_of and length % pad_to_multiple_of:
            length = (length // pad_to_multiple_of + 1) * pad_to_multiple_of
        return [self._pad_one(e, length, return_attention_mask) for e in examples]

    def pad(
        self,
        encoded_inputs: dict | list[dict],
        padding: bool | str = True,
        max_length: int | None = None,
        pad_to_multiple_of: int | None = None,
        return_attention_mask: bool | None = None,
        return_tensors: str | None = None,
    ) -> BatchEncoding:
        """Pad already-encoded examples (a list of dicts, or a dict of lists) to one length."""
        if isinstance(encoded_inputs, (list, tuple)):
            if not encoded_inputs:
                raise ValueError("pad() got an empty list of examples")
            examples = [dict(e) for e in encoded_inputs]
        elif isinstance(encoded_inputs, dict):
            ids = encoded_inputs["input_ids"]
            if isinstance(ids, torch.Tensor):
                raise TypeError("pad() takes lists of ids, not tensors")
            if ids and isinstance(ids[0], (list, tuple)):
                keys = list(encoded_inputs)
                rows = zip(*encoded_inputs.values(), strict=True)
                examples = [dict(zip(keys, vals, strict=True)) for vals in rows]
            else:
                examples = [dict(encoded_inputs)]
        else:
            raise TypeError(f"pad() takes a dict or a list of dicts, got {type(encoded_inputs)}")
        examples = [
            {k: (v.tolist() if isinstance(v, torch.Tensor) else list(v)) for k, v in e.items()}
            for e in examples
        ]
        padding, _, max_length = resolve_strategies(
            padding, False, max_length, self.model_max_length
        )
        attention = True if return_attention_mask is None else return_attention_mask
        padded = self._pad_batch(examples, padding, max_length, pad_to_multiple_of, attention)
        single = isinstance(encoded_inputs, dict) and len(examples) == 1 and not isinstance(
            encoded_inputs["input_ids"][0], (list, tuple)
        )
        return self._finish(padded, not single, return_tensors)

    def __call__(
        self,
        text: str | list[str] | list[tuple[str, str]] | list[list[str]],
        text_pair: str | list[str] | None = None,
        add_special_tokens: bool = True,
        padding: bool | str = False,
        truncation: bool | str | None = None,
        max_length: int | None = None,
        is_split_into_words: bool = False,
        pad_to_multiple_of: int | None = None,
        return_tensors: str | None = None,
        return_token_type_ids: bool | None = None,
        return_attention_mask: bool | None = None,
        return_special_tokens_mask: bool = False,
    ) -> BatchEncoding:
        """Encode one text, a pair, or a batch of texts or pairs for the model.

        Returns a ``BatchEncoding`` with ``input_ids``, ``token_type_ids`` and ``attention_mask``
        (lists, or ``(B, T)`` long tensors with ``return_tensors="pt"``; a single text gives
        ``(1, T)``).
        """
        padding, truncation, max_length = resolve_strategies(
            padding, truncation, max_length, self.model_max_length, pad_to_multiple_of
        )
        batched = isinstance(text, (list, tuple)) and (
            not is_split_into_words or (bool(text) and isinstance(text[0], (list, tuple)))
        )
        if batched and text and all(isinstance(t, int) for t in text):
            batched = False  # a list of ids is one example
        if batched:
            if text_pair is not None:
                if not isinstance(text_pair, (list, tuple)) or len(text_pair) != len(text):
                    raise ValueError("a batch of texts needs a text_pair list of the same length")
                pairs = list(zip(text, text_pair, strict=True))
            else:
                pairs = [_split_pair(t, is_split_into_words) for t in text]
        else:
            pairs = [(text, text_pair)]
        examples = []
        for first, second in pairs:
            ids = self._to_ids(first, is_split_into_words)
            pair_ids = self._to_ids(second, is_split_into_words) if second is not None else None
            examples.append(
                self._prepare(
                    ids,
                    pair_ids,
                    add_special_tokens,
                    truncation,
                    max_length,
                    True if return_token_type_ids is None else return_token_type_ids,
                    return_special_tokens_mask,
                )
            )
        attention = True if return_attention_mask is None else return_attention_mask
        examples = self._pad_batch(examples, padding, max_length, pad_to_multiple_of, attention)
        return self._finish(examples, batched, return_tensors)

    @staticmethod
    def _finish(
        examples: list[dict[str, list]], batched: bool, return_tensors: str | None
    ) -> BatchEncoding:
        keys = [k for k in ("input_ids", "token_type_ids", "attention_mask") if k in examples[0]]
        keys += [k for k in examples[0] if k not in keys]
        data = {k: [e[k] for e in examples] for k in keys}
        if not batched and return_tensors is None:
            data = {k: v[0] for k, v in data.items()}
        return BatchEncoding(to_tensors(data, return_tensors))

    def encode(
        self,
        text: str,
        text_pair: str | None = None,
        add_special_tokens: bool = True,
        padding: bool | str = False,
        truncation: bool | str | None = None,
        max_length: int | None = None,
        return_tensors: str | None = None,
    ) -> list[int] | torch.Tensor:
        """Only the ``input_ids`` of ``__call__`` for one text or pair."""
        if not isinstance(text, str):
            raise TypeError(f"encode() takes one str, got {type(text).__name__}")
        return self(
            text,
            text_pair,
            add_special_tokens=add_special_tokens,
            padding=padding,
            truncation=truncation,
            max_length=max_length,
            return_tensors=return_tensors,
        )["input_ids"]

    encode_plus = __call__
    batch_encode_plus = __call__

    # ---- decoding ----

    @staticmethod
    def clean_up_tokenization(text: str) -> str:
        """Undo the spaces that tokenization puts before punctuation and English clitics."""
        for before, after in (
            (" .", "."),
            (" ?", "?"),
            (" !", "!"),
            (" ,", ","),
            (" ' ", "'"),
            (" n't", "n't"),
            (" 'm", "'m"),
            (" 's", "'s"),
            (" 've", "'ve"),
            (" 're", "'re"),
        ):
            text = text.replace(before, after)
        return text

    def decode(
        self,
        token_ids: int | Sequence[int] | torch.Tensor,
        skip_special_tokens: bool = False,
        clean_up_tokenization_spaces: bool | None = None,
    ) -> str:
        """Ids -> text: join the pieces, drop ``##``, optionally drop special tokens."""
        tokens = self.convert_ids_to_tokens(token_ids, skip_special_tokens=skip_special_tokens)
        if isinstance(tokens, str):
            tokens = [tokens]
        if skip_special_tokens:
            special = set(self.all_special_tokens)
            tokens = [t for t in tokens if t not in special]
        text = self.convert_tokens_to_string(tokens)
        if clean_up_tokenization_spaces is None:
            clean_up_tokenization_spaces = self.clean_up_tokenization_spaces
        return self.clean_up_tokenization(text) if clean_up_tokenization_spaces else text

    def batch_decode(
        self,
        sequences: Sequence[Sequence[int]] | torch.Tensor,
        skip_special_tokens: bool = False,
        clean_up_tokenization_spaces: bool | None = None,
    ) -> list[str]:
        """``decode`` for every row of ``sequences`` ((B, T) tensor or list of id lists)."""
        return [
            self.decode(s, skip_special_tokens, clean_up_tokenization_spaces) for s in sequences
        ]

    # ---- saving and loading ----

    def _config(self) -> dict[str, Any]:
        return {
            "tokenizer_class": type(self).__name__,
            "do_lower_case": self._do_lower_case,
            "do_basic_tokenize": self.do_basic_tokenize,
            "never_split": self.never_split or None,
            "tokenize_chinese_chars": self.tokenize_chinese_chars,
            "strip_accents": self.strip_accents,
            "model_max_length": self.model_max_length,
            "clean_up_tokenization_spaces": self.clean_up_tokenization_spaces,
            **{name: getattr(self, name) for name in SPECIAL_TOKEN_NAMES},
        }

    def save_vocabulary(
        self, save_directory: str | os.PathLike, filename_prefix: str | None = None
    ) -> tuple[str]:
        """Write ``vocab.txt`` (tokens in id order) into ``save_directory``."""
        if not os.path.isdir(save_directory):
            raise NotADirectoryError(f"save_vocabulary needs a directory: {save_directory!r}")
        name = (filename_prefix + "-" if filename_prefix else "") + VOCAB_FILE
        path = os.path.join(save_directory, name)
        ordered = sorted(self.vocab.items(), key=lambda kv: kv[1])
        if [i for _, i in ordered] != list(range(len(ordered))):
            raise ValueError("the vocabulary ids are not 0..n-1; vocab.txt cannot represent it")
        with open(path, "w", encoding="utf-8") as f:
            f.writelines(token + "\n" for token, _ in ordered)
        return (path,)

    def save_pretrained(self, save_directory: str | os.PathLike) -> tuple[str, ...]:
        """Write ``vocab.txt``, ``tokenizer_config.json`` and ``special_tokens_map.json``."""
        os.makedirs(save_directory, exist_ok=True)
        files = list(self.save_vocabulary(save_directory))
        config_path = os.path.join(save_directory, TOKENIZER_CONFIG_FILE)
        with open(config_path, "w", encoding="utf-8") as f:
            json.dump(self._config(), f, indent=2, ensure_ascii=False)
        map_path = os.path.join(save_directory, SPECIAL_TOKENS_MAP_FILE)
        with open(map_path, "w", encoding="utf-8") as f:
            json.dump({n: getattr(self, n) for n in SPECIAL_TOKEN_NAMES}, f, indent=2)
        return (*files, config_path, map_path)

    @classmethod
    def from_pretrained(cls, name_or_path: str | os.PathLike, **kwargs: Any) -> BertTokenizer:
        """Load from a directory with ``vocab.txt`` (+ ``tokenizer_config.json``) or a hub id.

        Keyword arguments override the stored configuration.
        """
        directory = resolve_pretrained_dir(
            name_or_path, (VOCAB_FILE, TOKENIZER_CONFIG_FILE, SPECIAL_TOKENS_MAP_FILE)
        )
        config = read_tokenizer_config(directory)
        config.update(kwargs)
        return cls(os.path.join(directory, VOCAB_FILE), **config)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(vocab_size={self.vocab_size}, "
            f"do_lower_case={self._do_lower_case}, model_max_length={self.model_max_length})"
        )


def _split_pair(item: Any, is_split_into_words: bool) -> tuple[Any, Any]:
    """A batch element is a text, or a (text, text_pair) tuple/list."""
    if isinstance(item, (list, tuple)) and not (
        is_split_into_words and not isinstance(item[0], (list, tuple))
    ):
        if len(item) != 2:
            raise ValueError(f"a pair in a batch must have 2 elements, got {len(item)}")
        return item[0], item[1]
    return item, None
