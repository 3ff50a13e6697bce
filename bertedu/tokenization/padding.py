"""Padding: making the examples of a batch one length, on the right or on the left.

A batch is a rectangle ``(B, T)``, so shorter examples get ``[PAD]`` ids up to a target length
``T``: the longest example of the batch (``padding="longest"``, or ``True``), a fixed
``max_length`` (``"max_length"``), optionally rounded up to a multiple ``m`` of
``pad_to_multiple_of``, ``T = m * ceil(T / m)`` (tensor cores like multiples of 8). Each column
has its own pad value::

    column                 pad value          why
    input_ids              [PAD] id           a real token id the embedding can look up
    token_type_ids         0                  segment A
    attention_mask         0                  attention ignores the position
    special_tokens_mask    1                  padding is not text

Attention ignores a padded position whichever side it is on (its key gets the weight
``exp(-inf) = 0``), but BERT's position embeddings are absolute: padded on the left, the first
real token of a short row sits at position ``k > 0`` instead of 0 and gets another embedding.
That is why an encoder is padded on the right (``padding_side="right"``, the default), while a
decoder that generates from the end of its prompt is padded on the left, so that the last real
token of every row sits at ``T - 1``. ``padding_side`` is an attribute of the tokenizer, a
constructor argument and an argument of ``__call__`` and ``pad``.

References:
    Vaswani et al., 2017, "Attention Is All You Need", Section 3.2.3 (masking in attention).
    Hugging Face transformers documentation, "Padding and truncation".
"""

from __future__ import annotations

import torch

from .batch_encoding import BatchEncoding
from .truncation import resolve_strategies

SIDES = ("right", "left")


def check_side(side: str, name: str) -> str:
    """``side`` if it is ``"right"`` or ``"left"``; else an error naming the argument."""
    if side not in SIDES:
        raise ValueError(f"{name} must be 'right' or 'left', got {side!r}")
    return side


def target_length(
    lengths: list[int], padding: str, max_length: int | None, pad_to_multiple_of: int | None
) -> int | None:
    """The length ``T`` the batch is padded to (None: no padding)."""
    length = None
    if padding == "longest":
        length = max(lengths, default=0)
    elif padding == "max_length":
        length = max_length
    if length is not None and pad_to_multiple_of and length % pad_to_multiple_of:
        length = (length // pad_to_multiple_of + 1) * pad_to_multiple_of
    return length


class PaddingMixin:
    """Pads encoded examples; the class using it provides ``pad_token_id``,
    ``model_input_names`` (the first is the ids column), ``model_max_length`` and ``_finish``.
    """

    padding_side = "right"
    pad_token_type_id = 0

    def _pad_one(
        self,
        example: dict[str, list],
        length: int | None,
        return_attention_mask: bool,
        side: str,
        main: str,
    ) -> dict[str, list]:
        n = len(example[main])
        missing = max(0, length - n) if length is not None else 0
        out = dict(example)
        if return_attention_mask and "attention_mask" not in out:
            out["attention_mask"] = [1] * n
        if missing:
            pad_value = {
                main: self.pad_token_id,
                "token_type_ids": self.pad_token_type_id,
                "attention_mask": 0,
                "special_tokens_mask": 1,
                "_word_ids": None,
                "_sequence_ids": None,
            }
            for key, value in out.items():
                if key in pad_value:
                    fill = [pad_value[key]] * missing
                    out[key] = fill + list(value) if side == "left" else list(value) + fill
        return out

    def _pad_batch(
        self,
        examples: list[dict[str, list]],
        padding: str,
        max_length: int | None,
        pad_to_multiple_of: int | None,
        return_attention_mask: bool,
        padding_side: str | None = None,
        main: str = "input_ids",
    ) -> list[dict[str, list]]:
        """Pad ``examples`` to one length; ``main`` is the ids column (``__call__`` names it
        ``input_ids``, ``pad`` takes ``model_input_names[0]``)."""
        side = check_side(padding_side or self.padding_side, "padding_side")
        lengths = [len(e[main]) for e in examples]
        length = target_length(lengths, padding, max_length, pad_to_multiple_of)
        return [self._pad_one(e, length, return_attention_mask, side, main) for e in examples]

    def pad(
        self,
        encoded_inputs: dict | list[dict],
        padding: bool | str = True,
        max_length: int | None = None,
        pad_to_multiple_of: int | None = None,
        padding_side: str | None = None,
        return_attention_mask: bool | None = None,
        return_tensors: str | None = None,
    ) -> BatchEncoding:
        """Pad already-encoded examples (a list of dicts, or a dict of lists) to one length.

        The ids column is ``model_input_names[0]`` (``input_ids``); ``padding_side`` defaults to
        the tokenizer's ``padding_side``.
        """
        main = self.model_input_names[0]
        if isinstance(encoded_inputs, (list, tuple)):
            if not encoded_inputs:
                raise ValueError("pad() got an empty list of examples")
            examples = [dict(e) for e in encoded_inputs]
        elif isinstance(encoded_inputs, dict):
            examples = [dict(encoded_inputs)]
        else:
            raise TypeError(f"pad() takes a dict or a list of dicts, got {type(encoded_inputs)}")
        for e in examples:
            if main not in e:
                raise ValueError(
                    f"pad() needs the column {main!r} (model_input_names[0]) in every example; "
                    f"got {sorted(e)}"
                )
        single = True
        if isinstance(encoded_inputs, dict):
            ids = encoded_inputs[main]
            if isinstance(ids, torch.Tensor):
                raise TypeError("pad() takes lists of ids, not tensors")
            if ids and isinstance(ids[0], (list, tuple)):
                keys = list(encoded_inputs)
                rows = zip(*encoded_inputs.values(), strict=True)
                examples = [dict(zip(keys, vals, strict=True)) for vals in rows]
                single = False
        else:
            single = False
        examples = [
            {k: (v.tolist() if isinstance(v, torch.Tensor) else list(v)) for k, v in e.items()}
            for e in examples
        ]
        padding, _, max_length = resolve_strategies(
            padding, False, max_length, self.model_max_length
        )
        if return_attention_mask is None:
            return_attention_mask = "attention_mask" in self.model_input_names
        padded = self._pad_batch(
            examples,
            padding,
            max_length,
            pad_to_multiple_of,
            return_attention_mask,
            padding_side,
            main,
        )
        return self._finish(padded, not single, return_tensors)
