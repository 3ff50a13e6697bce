"""Dynamic padding and length-grouped batches: fine-tuning without paying for padding.

A batch of encoded texts is a rectangle ``(B, T)``; the encoder's cost grows with ``B * T``
(and attention with ``B * T^2``). Padding every example to one global ``max_length`` (128 in the
paper's GLUE runs) wastes most of that on SST-2, whose sentences are ~13 word pieces long on
average. Two standard remedies, used together:

- **dynamic padding**: pad each batch only to its own longest example, ``T_b = max_i len(x_i)``;
- **length-grouped batches**: shuffle, cut the shuffled order into mega-batches of
  ``group * B`` examples, sort each mega-batch by length and cut it into batches, so examples of
  similar length share a batch and ``T_b`` is close to every member's length. The order of the
  batches is shuffled again, so training still sees a random mix of lengths.

Both keep the data of epoch ``e`` a pure function of ``(seed, e)``: micro-batch ``k`` of
:func:`bertedu.training.train` is found from ``k`` alone, so an interrupted run resumes exactly.

References:
    Devlin et al., 2019, "BERT", appendix A.3 (fine-tuning recipe). The length-grouped sampler of
    Hugging Face ``transformers`` (``group_by_length``), and the bucketing of Sutskever et al.,
    2014, "Sequence to Sequence Learning with Neural Networks", section 3.4.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

__all__ = ["PAD_VALUES", "feature_length", "pad_batch", "length_grouped_batches", "EpochBatches",
           "sorted_batches"]

# the value each padded column takes beyond an example's end (input_ids: the tokenizer's pad id)
PAD_VALUES = {"attention_mask": 0, "token_type_ids": 0, "labels": -100,
              "special_tokens_mask": 1}


def feature_length(feature: dict[str, Any]) -> int:
    """Pieces in one encoded example (the longest choice for a multiple-choice example)."""
    ids = feature["input_ids"]
    return max(len(c) for c in ids) if ids and isinstance(ids[0], list) else len(ids)


def pad_batch(features: Sequence[dict[str, Any]], pad_token_id: int = 0,
              pad_to_multiple_of: int | None = None) -> dict[str, torch.Tensor]:
    """Stack encoded examples into tensors padded to the batch's longest example.

    Columns holding a list per example become ``(B, T)`` (or ``(B, C, T)`` for lists of lists,
    multiple choice); columns holding a number become ``(B,)``. ``T`` is the longest
    ``input_ids`` in the batch, rounded up to ``pad_to_multiple_of``.
    """
    if not features:
        raise ValueError("pad_batch needs at least one example")
    length = max(feature_length(f) for f in features)
    if pad_to_multiple_of:
        length = -(-length // pad_to_multiple_of) * pad_to_multiple_of
    batch = {}
    for key in features[0]:
        values = [f[key] for f in features]
        if not isinstance(values[0], list):
            batch[key] = torch.tensor(values)  # (B,)
            continue
        pad = pad_token_id if key == "input_ids" else PAD_VALUES.get(key, 0)
        nested = bool(values[0]) and isinstance(values[0][0], list)
        rows = [v for value in values for v in value] if nested else values
        padded = torch.tensor([list(r) + [pad] * (length - len(r)) for r in rows])  # (B*C, T)
        batch[key] = padded.view(len(values), -1, length) if nested else padded  # (B,[C,]T)
    return batch


def length_grouped_batches(lengths: Sequence[int], batch_size: int, generator: torch.Generator,
                           group: int = 50) -> list[list[int]]:
    """One epoch of batches (lists of example indices) grouped by length, in a random order."""
    order = torch.randperm(len(lengths), generator=generator).tolist()
    mega = group * batch_size
    batches = []
    for start in range(0, len(order), mega):
        chunk = sorted(order[start:start + mega], key=lambda i: lengths[i], reverse=True)
        batches += [chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size)]
    shuffle = torch.randperm(len(batches), generator=generator).tolist()
    return [batches[i] for i in shuffle]


class EpochBatches:
    """Micro-batch ``k`` of a run, as a pure function of ``k``: epoch ``k // per_epoch``'s
    length-grouped batches are drawn from a generator seeded with ``(seed, epoch)``.

    ``group_by_length=False`` gives plain shuffled batches (the baseline the chapter compares to).
    """

    def __init__(self, features: Sequence[dict[str, Any]], batch_size: int, seed: int,
                 pad_token_id: int = 0, group_by_length: bool = True):
        if not features:
            raise ValueError("no training examples: the training split is empty")
        self.features = features
        self.batch_size = batch_size
        self.seed = seed
        self.pad_token_id = pad_token_id
        self.group = 50 if group_by_length else 1
        self.lengths = [feature_length(f) for f in features]
        self.per_epoch = len(self._epoch(0))
        self._cache: dict[int, list[list[int]]] = {}

    def _epoch(self, epoch: int) -> list[list[int]]:
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
        if self.group == 1:
            order = torch.randperm(len(self.features), generator=generator).tolist()
            return [order[i:i + self.batch_size] for i in range(0, len(order), self.batch_size)]
        return length_grouped_batches(self.lengths, self.batch_size, generator, self.group)

    def indices(self, k: int) -> list[int]:
        """Example indices of micro-batch ``k``."""
        epoch, position = divmod(k, self.per_epoch)
        if epoch not in self._cache:
            self._cache = {epoch: self._epoch(epoch)}
        return self._cache[epoch][position]

    def __call__(self, k: int) -> dict[str, torch.Tensor]:
        return pad_batch([self.features[i] for i in self.indices(k)], self.pad_token_id)


def sorted_batches(features: Sequence[dict[str, Any]], batch_size: int, pad_token_id: int = 0):
    """Inference batches in order of length (least padding): yields ``(indices, batch)``."""
    order = sorted(range(len(features)), key=lambda i: feature_length(features[i]))
    for start in range(0, len(order), batch_size):
        idx = order[start:start + batch_size]
        yield idx, pad_batch([features[i] for i in idx], pad_token_id)
