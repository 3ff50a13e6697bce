"""BERT tokenization in pure Python: word pieces, their ids, special tokens, save and load.

BERT never sees characters or whole words. A sentence becomes a sequence of *word pieces*
drawn from a fixed vocabulary of about 30,000 strings (Wu et al., 2016, Section 4.1; Schuster
and Nakajima, 2012). The two stages that cut text into pieces, ``BasicTokenizer`` (cleaning,
lowercasing, accent stripping, punctuation split) and ``WordpieceTokenizer`` (greedy
longest-match-first, ``unaffable -> un ##aff ##able``), are explained in
:mod:`bertedu.tokenization.wordpiece`; the files a tokenizer is stored in are read by
:mod:`bertedu.tokenization.vocab_files`.

``BertTokenizer`` maps pieces to ids and back (``vocab.txt``: the line number is the id),
decodes, and saves and loads itself in the ``transformers`` directory format. What the model
needs around the ids (``[CLS] A [SEP] B [SEP]``, token type ids, truncation, padding with
``[PAD]``, the attention mask, batching) is the *encoding* step, shared with the fast tokenizer
and explained in ``bertedu.tokenization.encoding`` (``EncodingMixin``). The outputs match
``transformers.BertTokenizer`` exactly. A word cache (a basic token always gives the same
pieces) makes it faster than the reference on real text.

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
from collections.abc import Iterable, Sequence
from typing import Any

import torch

from .alignment import word_ids_of_pieces
from .encoding import EncodingMixin
from .padding import check_side
from .vocab_files import (
    SPECIAL_TOKEN_NAMES,
    SPECIAL_TOKENS_MAP_FILE,
    TOKENIZER_CONFIG_FILE,
    VOCAB_FILE,
    load_vocab,
    read_tokenizer_config,
    resolve_pretrained_dir,
)
from .wordpiece import (
    BasicTokenizer,
    WordpieceTokenizer,
    whitespace_tokenize,
)

# --- BertTokenizer ------------------------------------------------------------------------------


class BertTokenizer(EncodingMixin):
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
        padding_side, truncation_side: ``"right"`` (default) or ``"left"``, where ``[PAD]``
            goes and where truncation cuts (also attributes; ``padding_side`` is also an
            argument of ``__call__`` and ``pad``).

    A tokenizer pickles (for ``DataLoader`` workers and ``datasets.map(num_proc=...)``): the
    word cache is left out and rebuilt empty.
    """

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
        padding_side: str = "right",
        truncation_side: str = "right",
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
        self.padding_side = check_side(padding_side, "padding_side")
        self.truncation_side = check_side(truncation_side, "truncation_side")
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
        self._word_cache_size = word_cache_size
        self._word_pieces = functools.lru_cache(maxsize=word_cache_size)(self._split_word)

    def __getstate__(self) -> dict[str, Any]:
        """Everything but the word cache (an ``lru_cache`` around a bound method: no pickle)."""
        state = dict(self.__dict__)
        del state["_word_pieces"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._word_pieces = functools.lru_cache(maxsize=self._word_cache_size)(self._split_word)

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
        get, unk = self.ids_to_tokens.get, self.unk_token
        if not skip_special_tokens:  # numpy integers hash like ints: no conversion needed
            return [get(i, unk) for i in ids]
        skip = set(self.all_special_ids)
        return [get(int(i), unk) for i in ids if int(i) not in skip]

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

    def _to_ids(self, text: Any, is_split_into_words: bool) -> list[int]:
        return self._to_ids_and_words(text, is_split_into_words)[0]

    def _to_ids_and_words(
        self, text: Any, is_split_into_words: bool
    ) -> tuple[list[int], list[int] | None]:
        """One segment -> (ids, word index of each id); token ids given as input have no words."""
        if isinstance(text, str) and not is_split_into_words:
            pieces = self.tokenize(text)
            return self.convert_tokens_to_ids(pieces), word_ids_of_pieces(pieces)
        if is_split_into_words and isinstance(text, (list, tuple)):
            if not all(isinstance(w, str) for w in text):
                raise TypeError("is_split_into_words=True expects a list of str per example")
            per_word = [self.tokenize(w) for w in text]
            pieces = [t for tokens in per_word for t in tokens]
            words = [i for i, tokens in enumerate(per_word) for _ in tokens]
            return self.convert_tokens_to_ids(pieces), words
        if isinstance(text, (list, tuple)) and all(isinstance(i, int) for i in text):
            return list(text), None
        raise TypeError(
            "text must be a str, a list of str (a batch), a list of (str, str) pairs, or a list "
            f"of token ids; got {type(text).__name__}"
        )

    # ---- decoding ----

    @staticmethod
    def clean_up_tokenization(text: str) -> str:
        """Undo the spaces that tokenization puts before punctuation and English clitics."""
        for before, after in (
            (" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"),
            (" n't", "n't"), (" 'm", "'m"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re"),
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
        return self._clean_up(self.convert_tokens_to_string(tokens), clean_up_tokenization_spaces)

    def _clean_up(self, text: str, clean_up_tokenization_spaces: bool | None) -> str:
        """``clean_up_tokenization`` when asked (``None``: the tokenizer's default)."""
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
            "padding_side": self.padding_side,
            "truncation_side": self.truncation_side,
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
