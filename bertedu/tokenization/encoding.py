"""Encoding: from token ids to the tensors a BERT model takes, shared by both tokenizers.

A tokenizer turns text into token ids; an *encoding* turns those ids into model inputs. For
one text ``A`` or a pair ``(A, B)`` (question and passage, premise and hypothesis)::

    tokens                [CLS]  a1  a2  [SEP]  b1  [SEP]  [PAD]
    input_ids              101   ..  ..   102   ..   102     0     the ids, specials added
    token_type_ids          0     0   0    0     1    1      0     segment of each token
    attention_mask          1     1   1    1     1    1      0     1 = real, 0 = padding
    special_tokens_mask     1     0   0    1     0    1      1     added by the tokenizer

The ``[CLS]`` vector summarizes the input for classification heads, ``[SEP]`` closes each
segment, and the segment embedding ``E_A``/``E_B`` (indexed by ``token_type_ids``) is added to
every token embedding (Devlin et al., 2019, Section 3, Figure 2).

A batch is a rectangle ``(B, T)``, so examples of different lengths need two operations:

* **truncation** removes ids from the right until ``len <= max_length``. ``longest_first``
  shortens the longer segment of a pair first, ``only_first``/``only_second`` cut one segment;
  the special tokens always stay.
* **padding** appends ``[PAD]`` (token type 0) up to the longest example (``"longest"``) or to
  ``max_length`` (``"max_length"``), optionally rounded up to a multiple of
  ``pad_to_multiple_of``. The attention mask is 0 there: attention adds ``-inf`` to the
  scores of those keys, so they get the weight ``exp(-inf) = 0`` in the softmax (the masking
  of Vaswani et al., 2017, Section 3.2.3).

``resolve_strategies`` (in ``bertedu.tokenization.truncation``, with the truncation itself)
turns the user's ``padding``/``truncation``/``max_length`` into one of those strategies with the
rules of ``transformers``; ``EncodingMixin`` (here) holds the special-token layout, truncation,
padding and batching that ``BertTokenizer`` (pure Python) uses and ``BertTokenizerFast`` (whose Rust
backend pads and truncates by itself) shares in part; the result is a ``BatchEncoding`` (in
``bertedu.tokenization.batch_encoding``). Every one of these names can be imported from this module.

References:
    Devlin et al., 2019, "BERT: Pre-training of Deep Bidirectional Transformers for Language
    Understanding", Section 3 (input representation, Figure 2) and Section 4 (sentence pairs).
    Vaswani et al., 2017, "Attention Is All You Need", Section 3.2.3 (masking in attention).
    Hugging Face transformers documentation, "Padding and truncation" (the strategy names).
"""

from __future__ import annotations

from typing import Any

import torch

from .alignment import Alignment
from .batch_encoding import BatchEncoding, finish_batch
from .overflow import check_overflow_request, check_stride, overflowing_tokens
from .truncation import (
    resolve_strategies,
    truncate_sequences,
)


def batch_of_pairs(
    text: Any, text_pair: Any, is_split_into_words: bool
) -> tuple[bool, list[tuple[Any, Any]]]:
    """``__call__``'s ``text``/``text_pair`` as ``(batched, [(first, second or None), ...])``.

    ``text`` is one text, a list of words (``is_split_into_words``), a list of token ids, or a
    batch of any of these, where a batch element may also be a ``(first, second)`` pair.
    """
    batched = isinstance(text, (list, tuple)) and (
        not is_split_into_words or (bool(text) and isinstance(text[0], (list, tuple)))
    )
    if batched and text and all(isinstance(t, int) for t in text):
        batched = False  # a list of ids is one example
    if not batched:
        return False, [(text, text_pair)]
    if text_pair is not None:
        if not isinstance(text_pair, (list, tuple)) or len(text_pair) != len(text):
            raise ValueError("a batch of texts needs a text_pair list of the same length")
        return True, list(zip(text, text_pair, strict=True))
    return True, [_split_pair(t, is_split_into_words) for t in text]


def _split_pair(item: Any, is_split_into_words: bool) -> tuple[Any, Any]:
    """A batch element is a text, or a (text, text_pair) tuple/list."""
    if isinstance(item, (list, tuple)) and not (
        is_split_into_words and not isinstance(item[0], (list, tuple))
    ):
        if len(item) != 2:
            raise ValueError(f"a pair in a batch must have 2 elements, got {len(item)}")
        return item[0], item[1]
    return item, None


# --- special tokens, truncation, padding, batching ----------------------------------------------


class EncodingMixin:
    """Turns token ids into BERT's model inputs; the part of ``__call__`` after tokenizing.

    A class using it provides ``_to_ids(text, is_split_into_words) -> list[int]`` (text, words
    or ids of one segment), ``model_max_length``, ``all_special_ids`` and the ids
    ``cls_token_id``, ``sep_token_id``, ``pad_token_id``.
    """

    model_input_names = ["input_ids", "token_type_ids", "attention_mask"]
    padding_side = "right"
    truncation_side = "right"
    pad_token_type_id = 0

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

    truncate_sequences = staticmethod(truncate_sequences)

    def _check_room(
        self, pair: bool, add_special_tokens: bool, truncation: str, max_length: int | None
    ) -> int:
        """How many special tokens get added; an error when truncating cannot make room."""
        n_special = self.num_special_tokens_to_add(pair) if add_special_tokens else 0
        if truncation != "do_not_truncate" and max_length is not None and max_length < n_special:
            raise ValueError(
                f"max_length={max_length} is smaller than the {n_special} special tokens "
                "that must be added"
            )
        return n_special

    def _prepare(
        self,
        ids: list[int],
        pair_ids: list[int] | None,
        add_special_tokens: bool,
        truncation: str,
        max_length: int | None,
        return_token_type_ids: bool,
        return_special_tokens_mask: bool,
        words: list[int] | None = None,
        pair_words: list[int] | None = None,
        stride: int = 0,
        return_overflowing_tokens: bool = False,
    ) -> dict[str, list]:
        """Truncate, add special tokens, token types and the special tokens mask (no padding).

        With ``words`` (the word index of each id of ``ids``, ``pair_words`` likewise) the
        example also carries its alignment as the private columns ``_word_ids`` and
        ``_sequence_ids``, truncated and padded with the ids. ``return_overflowing_tokens`` adds
        ``overflowing_tokens`` and ``num_truncated_tokens`` (``bertedu.tokenization.overflow``).
        """
        pair = pair_ids is not None
        n_special = self._check_room(pair, add_special_tokens, truncation, max_length)
        total = len(ids) + (len(pair_ids) if pair_ids is not None else 0) + n_special
        out: dict[str, Any] = {}
        if return_overflowing_tokens:
            check_overflow_request(truncation, pair, max_length)
            out["overflowing_tokens"] = []
            out["num_truncated_tokens"] = total - max_length
        if truncation != "do_not_truncate" and max_length is not None and total > max_length:
            n = total - max_length
            if return_overflowing_tokens:
                out["overflowing_tokens"] = overflowing_tokens(ids, pair_ids, n, truncation, stride)
            ids, pair_ids = self.truncate_sequences(ids, pair_ids, n, truncation)
            if words is not None:
                words, pair_words = self.truncate_sequences(words, pair_words, n, truncation)
        if add_special_tokens:
            input_ids = self.build_inputs_with_special_tokens(ids, pair_ids)
            token_type_ids = self.create_token_type_ids_from_sequences(ids, pair_ids)
            special = self.get_special_tokens_mask(ids, pair_ids)
        else:
            input_ids = ids + (pair_ids or [])
            token_type_ids = [0] * len(input_ids)
            special = [0] * len(input_ids)
        out["input_ids"] = input_ids
        if return_token_type_ids:
            out["token_type_ids"] = token_type_ids
        if return_special_tokens_mask:
            out["special_tokens_mask"] = special
        if words is not None:
            segments = [[0] * len(ids)] + ([[1] * len(pair_ids)] if pair else [])
            word_lists = [words] + ([pair_words] if pair else [])
            out["_word_ids"] = self._with_specials(word_lists, add_special_tokens)
            out["_sequence_ids"] = self._with_specials(segments, add_special_tokens)
            out["_pair"] = pair
        return out

    @staticmethod
    def _with_specials(parts: list[list[int]], add_special_tokens: bool) -> list[int | None]:
        """Per-token values of the segments, with None where the special tokens go."""
        if not add_special_tokens:
            return [v for part in parts for v in part]
        out: list[int | None] = [None]
        for part in parts:
            out += list(part) + [None]
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
                "_word_ids": None,
                "_sequence_ids": None,
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
        return_offsets_mapping: bool = False,
        stride: int = 0,
        return_overflowing_tokens: bool = False,
    ) -> BatchEncoding:
        """Encode one text, a pair, or a batch of texts or pairs for the model.

        Returns a ``BatchEncoding`` with ``input_ids``, ``token_type_ids`` and ``attention_mask``
        (lists, or ``(B, T)`` long tensors with ``return_tensors="pt"``; a single text gives
        ``(1, T)``), and per row the alignment (``word_ids()``, ``sequence_ids()``).
        ``return_overflowing_tokens`` adds ``overflowing_tokens`` (what truncation removed, with
        ``stride`` ids of context) and ``num_truncated_tokens`` per example; windows of a long
        text are the fast tokenizer's.
        """
        if return_offsets_mapping:
            raise NotImplementedError(
                "return_offsets_mapping is not available in the pure-Python BertTokenizer; "
                "use BertTokenizerFast for character offsets"
            )
        check_stride(stride)
        padding, truncation, max_length = resolve_strategies(
            padding, truncation, max_length, self.model_max_length, pad_to_multiple_of
        )
        batched, pairs = batch_of_pairs(text, text_pair, is_split_into_words)
        examples = []
        for first, second in pairs:
            ids, words = self._to_ids_and_words(first, is_split_into_words)
            pair_ids, pair_words = (
                self._to_ids_and_words(second, is_split_into_words)
                if second is not None
                else (None, None)
            )
            if second is not None and pair_words is None:
                words = None
            examples.append(
                self._prepare(
                    ids,
                    pair_ids,
                    add_special_tokens,
                    truncation,
                    max_length,
                    True if return_token_type_ids is None else return_token_type_ids,
                    return_special_tokens_mask,
                    words=words,
                    pair_words=pair_words,
                    stride=stride,
                    return_overflowing_tokens=return_overflowing_tokens,
                )
            )
        attention = True if return_attention_mask is None else return_attention_mask
        if not examples:  # an empty batch: empty columns, as the fast tokenizer gives
            keys = ["input_ids", "token_type_ids", "attention_mask", "special_tokens_mask"]
            wanted = [True, return_token_type_ids is not False, attention,
                      return_special_tokens_mask]
            data = {k: [] for k, w in zip(keys, wanted, strict=True) if w}
            return finish_batch(data, True, return_tensors)
        examples = self._pad_batch(examples, padding, max_length, pad_to_multiple_of, attention)
        return self._finish(examples, batched, return_tensors)

    def _to_ids_and_words(
        self, text: Any, is_split_into_words: bool
    ) -> tuple[list[int], list[int] | None]:
        """The ids of one segment and the word index of each (None: no word alignment known).

        The default knows no words; ``BertTokenizer`` overrides it.
        """
        return self._to_ids(text, is_split_into_words), None

    def _finish(
        self, examples: list[dict[str, list]], batched: bool, return_tensors: str | None
    ) -> BatchEncoding:
        """Columns from the examples; the private alignment columns become ``Alignment``s."""
        encodings = None
        if examples and "_word_ids" in examples[0]:
            encodings = [
                Alignment(
                    self.convert_ids_to_tokens(e["input_ids"]),
                    e.pop("_word_ids"),
                    e.pop("_sequence_ids"),
                    e.pop("_pair"),
                )
                for e in examples
            ]
        keys = [k for k in ("input_ids", "token_type_ids", "attention_mask") if k in examples[0]]
        keys += [k for k in examples[0] if k not in keys]
        data = {k: [e[k] for e in examples] for k in keys}
        return finish_batch(data, batched, return_tensors, encodings=encodings)

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
