"""The fast BERT tokenizer on Hugging Face ``tokenizers`` (Rust), and WordPiece vocab training.

The pipeline is the one of ``bertedu.tokenization.slow``, expressed as the four stages of a
``tokenizers.Tokenizer``:

================  ==========================  ================================================
stage             component                   job
================  ==========================  ================================================
normalizer        ``BertNormalizer``          clean, space out CJK, lowercase, strip accents
pre-tokenizer     ``BertPreTokenizer``        split on whitespace and punctuation
model             ``WordPiece``               greedy longest-match-first, ``##`` continuation
post-processor    ``TemplateProcessing``      ``[CLS] $A [SEP] $B:1 [SEP]:1``
================  ==========================  ================================================

and a ``WordPiece`` decoder for the way back. Because Rust keeps track of where each token came
from, the fast tokenizer can return ``offset_mapping``: the character span ``(start, end)`` of
every token in the original text (``(0, 0)`` for special tokens).

``train_wordpiece_vocab`` learns a vocabulary from raw text with ``tokenizers``'
``WordPieceTrainer``: start from the characters, and repeatedly merge the pair of adjacent
units ``(a, b)`` that raises the likelihood of the corpus the most,
``score(a, b) = count(ab) / (count(a) * count(b))``, until ``vocab_size`` entries exist.

References:
    Devlin et al., 2019, "BERT", Section 3 (WordPiece embeddings, 30,000-token vocabulary).
    Schuster and Nakajima, 2012, "Japanese and Korean Voice Search", Section 3.1 (wordpieces).
    Wu et al., 2016, "Google's Neural Machine Translation System", Section 4.1.
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Iterable, Sequence
from typing import Any

import torch
from tokenizers import AddedToken, Tokenizer, decoders, normalizers, pre_tokenizers, processors
from tokenizers.models import WordPiece
from tokenizers.trainers import WordPieceTrainer

from .encoding import BatchEncoding, batch_of_pairs, finish_batch, resolve_strategies
from .overflow import check_stride, windows_of
from .slow import BertTokenizer
from .vocab_files import VOCAB_FILE, load_vocab

TOKENIZER_FILE = "tokenizer.json"
DEFAULT_SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


def _bert_pipeline(
    model: WordPiece, lowercase: bool, strip_accents: bool | None, tokenize_chinese_chars: bool
) -> Tokenizer:
    """A ``Tokenizer`` around ``model`` with BERT's normalizer and pre-tokenizer."""
    backend = Tokenizer(model)
    backend.normalizer = normalizers.BertNormalizer(
        clean_text=True,
        handle_chinese_chars=tokenize_chinese_chars,
        strip_accents=strip_accents,
        lowercase=lowercase,
    )
    backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    return backend


def build_backend(
    vocab: dict[str, int],
    do_lower_case: bool = True,
    tokenize_chinese_chars: bool = True,
    strip_accents: bool | None = None,
    unk_token: str = "[UNK]",
    cls_token: str = "[CLS]",
    sep_token: str = "[SEP]",
    special_tokens: Sequence[str] = (),
) -> Tokenizer:
    """A ``tokenizers.Tokenizer`` doing BERT's normalization, pre-tokenization and WordPiece."""
    backend = _bert_pipeline(
        WordPiece(vocab, unk_token=unk_token, max_input_chars_per_word=100),
        do_lower_case,
        strip_accents,
        tokenize_chinese_chars,
    )
    if cls_token in vocab and sep_token in vocab:
        backend.post_processor = processors.TemplateProcessing(
            single=f"{cls_token}:0 $A:0 {sep_token}:0",
            pair=f"{cls_token}:0 $A:0 {sep_token}:0 $B:1 {sep_token}:1",
            special_tokens=[(cls_token, vocab[cls_token]), (sep_token, vocab[sep_token])],
        )
    backend.decoder = decoders.WordPiece(prefix="##")
    # Special tokens written in the text are matched on the raw text, before normalization.
    backend.add_special_tokens(
        [AddedToken(t, normalized=False, special=True) for t in special_tokens if t in vocab]
    )
    return backend


class BertTokenizerFast(BertTokenizer):
    """BERT tokenizer backed by ``tokenizers``; the outputs of ``BertTokenizer`` plus offsets.

    Takes the arguments of ``BertTokenizer`` (``do_basic_tokenize=False`` and ``never_split``
    are not available: the Rust normalizer always runs). Vocabulary look-ups, special tokens,
    ``build_inputs_with_special_tokens`` and friends are inherited; tokenizing, encoding and
    decoding run in Rust. ``from_pretrained`` rebuilds the Rust pipeline from ``vocab.txt`` and
    the stored options, so a saved ``tokenizer.json`` with other truncation or padding defaults
    does not change results.
    """

    def __init__(
        self,
        vocab_file: str | os.PathLike,
        do_lower_case: bool = True,
        unk_token: str = "[UNK]",
        sep_token: str = "[SEP]",
        pad_token: str = "[PAD]",
        cls_token: str = "[CLS]",
        mask_token: str = "[MASK]",
        tokenize_chinese_chars: bool = True,
        strip_accents: bool | None = None,
        model_max_length: int = 512,
        clean_up_tokenization_spaces: bool = True,
        **kwargs: Any,
    ):
        kwargs.pop("do_basic_tokenize", None)  # the slow tokenizer's option; stored configs have it
        if kwargs.pop("never_split", None):
            raise ValueError("BertTokenizerFast does not support never_split; use BertTokenizer")
        if kwargs:
            raise TypeError(f"unexpected arguments: {sorted(kwargs)}")
        super().__init__(
            vocab_file,
            do_lower_case=do_lower_case,
            unk_token=unk_token,
            sep_token=sep_token,
            pad_token=pad_token,
            cls_token=cls_token,
            mask_token=mask_token,
            tokenize_chinese_chars=tokenize_chinese_chars,
            strip_accents=strip_accents,
            model_max_length=model_max_length,
            clean_up_tokenization_spaces=clean_up_tokenization_spaces,
        )
        self._tokenizer = build_backend(
            self.vocab,
            do_lower_case=do_lower_case,
            tokenize_chinese_chars=tokenize_chinese_chars,
            strip_accents=strip_accents,
            unk_token=unk_token,
            cls_token=cls_token,
            sep_token=sep_token,
            special_tokens=self.all_special_tokens,
        )

    @property
    def backend_tokenizer(self) -> Tokenizer:
        """The underlying ``tokenizers.Tokenizer``."""
        return self._tokenizer

    def tokenize(self, text: str, text_pair: str | None = None) -> list[str]:
        """Text (or pair) -> word pieces, without special tokens."""
        if not isinstance(text, str):
            raise TypeError(f"tokenize() expects a str, got {type(text).__name__}")
        self._set_truncation_and_padding("do_not_pad", "do_not_truncate", None, None)
        return self._tokenizer.encode(text, text_pair, add_special_tokens=False).tokens

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
        return_offsets_mapping: bool = False,
        stride: int = 0,
        return_overflowing_tokens: bool = False,
    ) -> BatchEncoding:
        """Encode one text, a pair, or a batch, like ``BertTokenizer.__call__``.

        ``return_offsets_mapping=True`` adds ``offset_mapping``: per token the ``(start, end)``
        character span in its input text, ``(0, 0)`` for special tokens and padding.

        ``return_overflowing_tokens=True`` keeps what truncation cuts as more rows (windows,
        see ``bertedu.tokenization.overflow``): each window repeats the last ``stride`` tokens of
        the one before, and ``overflow_to_sample_mapping`` names the input row of each window.
        """
        padding, truncation, max_length = resolve_strategies(
            padding, truncation, max_length, self.model_max_length, pad_to_multiple_of
        )
        batched, pairs = batch_of_pairs(text, text_pair, is_split_into_words)
        if not batched:
            # As transformers' fast tokenizer: a lone empty second text ("" or []) is no pair,
            # so truncation gives its room to the first text (in a batch it stays a pair).
            pairs = [(pairs[0][0], pairs[0][1] or None)]
        for pair in pairs:
            _check_input(pair, is_split_into_words)
        has_pair = any(second is not None for _, second in pairs)
        self._check_room(has_pair, add_special_tokens, truncation, max_length)
        check_stride(stride)
        inputs = [first if second is None else (first, second) for first, second in pairs]
        self._set_truncation_and_padding(
            padding, truncation, max_length, pad_to_multiple_of, stride
        )
        try:
            encodings = self._tokenizer.encode_batch(
                inputs, add_special_tokens=add_special_tokens, is_pretokenized=is_split_into_words
            )
        except BaseException as err:  # Rust raises a bare Exception, or panics
            if "`stride` must be strictly less than" in str(err):
                raise ValueError(
                    f"stride={stride} leaves no room: it must be smaller than the tokens a "
                    f"window has for the truncated text (max_length={max_length} minus the "
                    "special tokens and, for a pair, the other text)"
                ) from None
            if not isinstance(err, Exception):
                raise
            if "Second sequence not provided" in str(err):
                raise ValueError("truncation='only_second' needs a pair of sequences") from err
            if "Truncation error" in str(err):
                raise ValueError(
                    f"cannot truncate to max_length={max_length} with truncation="
                    f"{truncation!r}: the sequence to truncate is too short ({err})"
                ) from err
            raise
        if return_overflowing_tokens:
            encodings, sample_of_row = windows_of(encodings)
        data: dict[str, list] = {"input_ids": [e.ids for e in encodings]}
        if return_token_type_ids is not False:
            data["token_type_ids"] = [e.type_ids for e in encodings]
        if return_attention_mask is not False:
            data["attention_mask"] = [e.attention_mask for e in encodings]
        if return_special_tokens_mask:
            data["special_tokens_mask"] = [e.special_tokens_mask for e in encodings]
        if return_offsets_mapping:
            data["offset_mapping"] = [e.offsets for e in encodings]
        if return_overflowing_tokens:
            data["overflow_to_sample_mapping"] = sample_of_row
        return finish_batch(
            data, batched or return_overflowing_tokens, return_tensors, encodings=encodings
        )

    encode_plus = __call__
    batch_encode_plus = __call__

    def _set_truncation_and_padding(
        self,
        padding: str,
        truncation: str,
        max_length: int | None,
        pad_to_multiple_of: int | None,
        stride: int = 0,
    ) -> None:
        """Configure the Rust tokenizer for this call (it keeps the settings as state)."""
        if truncation == "do_not_truncate":
            self._tokenizer.no_truncation()
        else:
            self._tokenizer.enable_truncation(
                max_length, stride=stride, strategy=truncation, direction="right"
            )
        if padding == "do_not_pad":
            self._tokenizer.no_padding()
        else:
            self._tokenizer.enable_padding(
                direction="right",
                pad_id=self.pad_token_id,
                pad_type_id=self.pad_token_type_id,
                pad_token=self.pad_token,
                length=max_length if padding == "max_length" else None,
                pad_to_multiple_of=pad_to_multiple_of,
            )

    def decode(
        self,
        token_ids: int | Sequence[int] | torch.Tensor,
        skip_special_tokens: bool = False,
        clean_up_tokenization_spaces: bool | None = None,
    ) -> str:
        """Ids -> text with the Rust WordPiece decoder."""
        if isinstance(token_ids, torch.Tensor):
            token_ids = token_ids.tolist()
        if isinstance(token_ids, numbers.Integral):
            token_ids = [int(token_ids)]
        text = self._tokenizer.decode(list(token_ids), skip_special_tokens=skip_special_tokens)
        return self._clean_up(text, clean_up_tokenization_spaces)

    def save_pretrained(self, save_directory: str | os.PathLike) -> tuple[str, ...]:
        """``BertTokenizer.save_pretrained`` plus the backend's ``tokenizer.json``."""
        files = super().save_pretrained(save_directory)
        path = os.path.join(save_directory, TOKENIZER_FILE)
        self._tokenizer.no_truncation()
        self._tokenizer.no_padding()
        self._tokenizer.save(path)
        return (*files, path)


def _check_input(pair: tuple[Any, Any], is_split_into_words: bool) -> None:
    """The Rust side takes str (or lists of str) only: token ids and other types are errors."""
    first, second = pair
    for part in (first,) if second is None else (first, second):
        ok = (
            isinstance(part, (list, tuple)) and all(isinstance(w, str) for w in part)
            if is_split_into_words
            else isinstance(part, str)
        )
        if not ok:
            kind = "a list of str" if is_split_into_words else "a str"
            raise TypeError(f"each text must be {kind}, got {type(part).__name__}")


def train_wordpiece_vocab(
    corpus: Iterable[str] | str | os.PathLike | Sequence[os.PathLike],
    vocab_size: int = 30522,
    lowercase: bool = True,
    min_frequency: int = 2,
    strip_accents: bool | None = None,
    tokenize_chinese_chars: bool = True,
    limit_alphabet: int = 1000,
    special_tokens: Sequence[str] = DEFAULT_SPECIAL_TOKENS,
    save_to: str | os.PathLike | None = None,
) -> list[str]:
    """Learn a WordPiece vocabulary with ``tokenizers``' ``WordPieceTrainer``.

    Args:
        corpus: an iterable of texts, or a path (``str``/``PathLike``) to a text file, or a list
            of ``pathlib.Path`` files (a list of ``str`` is read as texts, not file names).
        vocab_size: the largest vocabulary to produce (special tokens and alphabet included).
        lowercase, strip_accents, tokenize_chinese_chars: the BERT normalizer options.
        min_frequency: pairs seen fewer times are never merged.
        limit_alphabet: keep at most this many distinct characters (each also gets a ``##``
            form, so the alphabet takes up to twice this many entries).
        special_tokens: placed first, with ids 0, 1, ...
        save_to: when given, also write the vocabulary there as ``vocab.txt`` (a directory or a
            file path).

    Returns:
        The vocabulary in id order.
    """
    if vocab_size < len(special_tokens):
        raise ValueError(f"vocab_size={vocab_size} is smaller than the special tokens")
    if "[UNK]" not in special_tokens:
        raise ValueError("special_tokens must contain '[UNK]' (WordPiece needs it)")
    backend = _bert_pipeline(
        WordPiece(unk_token="[UNK]"), lowercase, strip_accents, tokenize_chinese_chars
    )
    trainer = WordPieceTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=list(special_tokens),
        limit_alphabet=limit_alphabet,
        continuing_subword_prefix="##",
        show_progress=False,
    )
    if isinstance(corpus, (str, os.PathLike)):
        files = [os.fspath(corpus)]
    elif isinstance(corpus, Sequence) and corpus and isinstance(corpus[0], os.PathLike):
        files = [os.fspath(p) for p in corpus]
    else:
        files = None
    if files is not None:
        for path in files:
            if not os.path.isfile(path):
                raise FileNotFoundError(f"training file not found: {path!r}")
        backend.train(files, trainer)
    else:
        backend.train_from_iterator(corpus, trainer)
    vocab = sorted(backend.get_vocab().items(), key=lambda kv: kv[1])
    tokens = [token for token, _ in vocab]
    if len(tokens) > vocab_size:
        raise ValueError(
            f"vocab_size={vocab_size} is too small: the special tokens and the corpus' "
            f"characters (with their ## forms) already take {len(tokens)} entries; raise "
            "vocab_size or lower limit_alphabet"
        )
    if save_to is not None:
        path = os.path.join(save_to, VOCAB_FILE) if os.path.isdir(save_to) else os.fspath(save_to)
        with open(path, "w", encoding="utf-8") as f:
            f.writelines(t + "\n" for t in tokens)
        load_vocab(path)  # read back: fails loudly on an empty result
    return tokens
