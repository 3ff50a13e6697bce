"""BatchEncoding: the tokenizer's output container, and the step that builds it from columns.

Both tokenizers end the same way: one list per field (``input_ids``, ``token_type_ids``,
``attention_mask``, ...), one row per example, turned into ``(B, T)`` ``torch.long`` tensors
when ``return_tensors="pt"`` (a rectangle, so every row must have the same length ``T``: pad
first) and wrapped as a ``BatchEncoding``, a dict that also allows attribute access and
``.to(device)``. A single text without ``return_tensors`` gives plain lists, with ``"pt"`` a
``(1, T)`` batch.

References:
    Hugging Face transformers documentation, "Tokenizer" (``BatchEncoding``).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch


class BatchEncoding(dict):
    """The tokenizer's output: a dict (``input_ids``, ``token_type_ids``, ``attention_mask``,
    ...) that also allows attribute access (``enc.input_ids``) and ``enc.to(device)``.

    Both tokenizers also keep one alignment per row (``tokenizers.Encoding`` for the fast one,
    ``bertedu.tokenization.alignment.Alignment`` for the slow one), which knows which word and
    which segment each token came from (``word_ids``, ``sequence_ids``, ``word_to_tokens``).
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
            raise ValueError(
                "word_ids()/tokens()/sequence_ids() need the alignment that BertTokenizer and "
                "BertTokenizerFast return (use the fast tokenizer for offsets)"
            )
        return self.encodings[batch_index]

    @staticmethod
    def _two_indices(first: int, second: int | None) -> tuple[int, int]:
        """``f(i)`` means row 0, index i; ``f(b, i)`` means row b, index i."""
        return (0, first) if second is None else (first, second)

    def tokens(self, batch_index: int = 0) -> list[str]:
        """The token strings of example ``batch_index``."""
        return self._encoding(batch_index).tokens

    def word_ids(self, batch_index: int = 0) -> list[int | None]:
        """Index of the word each token comes from, None for special tokens and padding."""
        return self._encoding(batch_index).word_ids

    def sequence_ids(self, batch_index: int = 0) -> list[int | None]:
        """0/1 for the segment of each token, None for special tokens and padding."""
        return self._encoding(batch_index).sequence_ids

    def token_to_word(
        self, batch_or_token_index: int, token_index: int | None = None
    ) -> int | None:
        """The word of one token: ``token_to_word(t)`` (row 0) or ``(b, t)``."""
        row, token = self._two_indices(batch_or_token_index, token_index)
        return self._encoding(row).token_to_word(token)

    def token_to_sequence(
        self, batch_or_token_index: int, token_index: int | None = None
    ) -> int | None:
        """The segment (0/1) of one token, None for special tokens and padding."""
        row, token = self._two_indices(batch_or_token_index, token_index)
        return self._encoding(row).token_to_sequence(token)

    def word_to_tokens(
        self, batch_or_word_index: int, word_index: int | None = None, sequence_index: int = 0
    ) -> TokenSpan | None:
        """Tokens ``[start, end)`` of one word: ``word_to_tokens(w)`` or ``(b, w)``; None if cut."""
        row, word = self._two_indices(batch_or_word_index, word_index)
        span = self._encoding(row).word_to_tokens(word, sequence_index)
        return TokenSpan(*span) if span is not None else None


class TokenSpan(NamedTuple):
    """Tokens ``start .. end - 1`` of an encoding."""

    start: int
    end: int


def to_tensors(data: dict, return_tensors: str | None) -> dict:
    """Turn list fields into ``torch.long`` tensors (``"pt"``); ragged batches are an error."""
    if return_tensors is None:
        return data
    if return_tensors != "pt":
        raise ValueError(f"return_tensors must be None or 'pt', got {return_tensors!r}")
    out = {}
    for key, value in data.items():
        ragged = value and isinstance(value[0], list) and len({len(v) for v in value}) > 1
        if ragged and key == "overflowing_tokens":
            raise ValueError(
                "overflowing_tokens of different lengths cannot be one tensor; use "
                "return_tensors=None, or BertTokenizerFast whose overflow comes as padded windows"
            )
        if ragged:
            raise ValueError(
                f"return_tensors='pt' needs equal lengths, but {key!r} is ragged "
                f"(lengths {sorted({len(v) for v in value})}); pass padding=True or "
                "padding='max_length' (and truncation=True for long texts)"
            )
        if value == [] and key != "overflow_to_sample_mapping":
            out[key] = torch.empty((0, 0), dtype=torch.long)  # an empty batch
        elif key == "offset_mapping":
            out[key] = torch.tensor(value, dtype=torch.long).reshape(len(value), -1, 2)
        else:
            out[key] = torch.tensor(value, dtype=torch.long)
    return out


def finish_batch(
    data: dict[str, list], batched: bool, return_tensors: str | None, encodings: list | None = None
) -> BatchEncoding:
    """Wrap the columns ``data`` (one list per field, one row per example) as the output.

    A single text without ``return_tensors`` gives plain lists; with ``"pt"`` it is ``(1, T)``.
    """
    if not batched and return_tensors is None:
        data = {k: v[0] for k, v in data.items()}
    return BatchEncoding(to_tensors(data, return_tensors), encodings=encodings)
