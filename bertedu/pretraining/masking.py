"""Masked language modelling (MLM): the data collator that hides tokens for BERT to recover.

BERT's first pretraining task: pick a random 15% of the (non-special, non-padding) positions of a
sequence and train the model to predict the original token at each picked position ``i``, from the
corrupted sequence ``x~``:

$$ \\mathcal{L}_{MLM} = -\\frac{1}{|M|} \\sum_{i \\in M} \\log p_\\theta(x_i \\mid \\tilde{x}) $$

A picked token is replaced by ``[MASK]`` 80% of the time, by a random token 10% of the time, and
left unchanged 10% of the time. ``[MASK]`` never appears when the model is fine-tuned, so always
using it would make the pretraining input unlike the fine-tuning input; the random and unchanged
cases force the model to keep a good representation of *every* token, since any of them may be
asked for. Labels are the original ids at picked positions and -100 (ignored by the loss)
elsewhere.

Options: *whole-word masking* picks words rather than WordPiece tokens (all ``##`` pieces of a
word are masked together, so the model cannot recover ``##ing`` from its visible neighbour
``play``); ``max_predictions_per_seq`` caps the number of picked tokens per sequence, as the
original TensorFlow data had a fixed number of prediction slots. Masking is done when the batch
is made, so each epoch sees a fresh mask ("dynamic masking").

Random numbers come from ``generator`` (a ``torch.Generator``) when given, in a fixed order:
``bernoulli`` (the pick), then ``rand`` (the cap's random priority, only with a cap), then
``rand`` (the 80/10/10 roll), then ``randint`` (the random tokens). The same generator state gives
the same batch.

References:
    Devlin et al., 2019, "BERT: Pre-training of Deep Bidirectional Transformers for Language
    Understanding", section 3.1 (Task #1: Masked LM) and appendix C.2 (the masking ablation).
    Liu et al., 2019, "RoBERTa", section 4.1 (static vs dynamic masking).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

__all__ = ["DataCollatorForLanguageModeling"]


class DataCollatorForLanguageModeling:
    """Pad a list of examples into a batch and make MLM (or causal LM) labels.

    Args:
        tokenizer: a BERT tokenizer (``mask_token_id``, ``pad_token_id``, ``all_special_ids``,
            ``convert_ids_to_tokens``, ``len()``).
        mlm: masked LM labels (True) or causal LM labels (False: labels = input ids, padding -100).
        mlm_probability: the fraction of tokens picked for prediction, in (0, 1).
        mask_replace_prob / random_replace_prob: of the picked tokens, the fraction replaced by
            ``[MASK]`` / by a random token; the rest stay unchanged.
        pad_to_multiple_of: round the padded length up to a multiple of this (tensor cores).
        return_tensors: only ``"pt"``.
        whole_word_mask: pick whole words (a token and its following ``##`` pieces).
        max_predictions_per_seq: at most this many picked tokens per sequence (whole words are
            kept whole).
        seed / generator: the random source (``seed`` makes a new ``torch.Generator``); default
            torch's global generator.
    """

    def __init__(
        self,
        tokenizer,
        mlm: bool = True,
        mlm_probability: float = 0.15,
        mask_replace_prob: float = 0.8,
        random_replace_prob: float = 0.1,
        pad_to_multiple_of: int | None = None,
        return_tensors: str = "pt",
        whole_word_mask: bool = False,
        max_predictions_per_seq: int | None = None,
        seed: int | None = None,
        generator: torch.Generator | None = None,
    ):
        if return_tensors != "pt":
            raise ValueError(f"return_tensors={return_tensors!r}: only 'pt' (PyTorch) is supported")
        if mlm:
            if not 0.0 < mlm_probability < 1.0:
                raise ValueError(f"mlm_probability must be in (0, 1), got {mlm_probability}")
            if _token_id(tokenizer, "mask") is None:
                raise ValueError(
                    "the tokenizer has no mask token ([MASK]), which masked language modelling "
                    "needs; use a tokenizer with a mask token or mlm=False for causal LM labels"
                )
        if mask_replace_prob < 0 or random_replace_prob < 0 or (
            mask_replace_prob + random_replace_prob > 1.0 + 1e-9
        ):
            raise ValueError("mask_replace_prob and random_replace_prob must be >= 0, sum <= 1")
        if max_predictions_per_seq is not None and max_predictions_per_seq < 1:
            raise ValueError(f"max_predictions_per_seq must be >= 1, got {max_predictions_per_seq}")
        if pad_to_multiple_of is not None and pad_to_multiple_of < 1:
            raise ValueError(f"pad_to_multiple_of must be >= 1, got {pad_to_multiple_of}")
        if seed is not None and generator is not None:
            raise ValueError("pass either seed or generator, not both")
        self.tokenizer = tokenizer
        self.mlm = mlm
        self.mlm_probability = mlm_probability
        self.mask_replace_prob = mask_replace_prob
        self.random_replace_prob = random_replace_prob
        self.pad_to_multiple_of = pad_to_multiple_of
        self.return_tensors = return_tensors
        self.whole_word_mask = whole_word_mask
        self.max_predictions_per_seq = max_predictions_per_seq
        self.generator = torch.Generator().manual_seed(seed) if seed is not None else generator
        self._special_ids = torch.tensor(sorted(set(tokenizer.all_special_ids)), dtype=torch.long)
        self._is_piece: torch.Tensor | None = None  # (V,) bool, built on first whole-word use

    # ---------------------------------------------------------------- batching
    def __call__(self, examples: Sequence[Any]) -> dict[str, torch.Tensor]:
        """Collate ``examples`` (dicts with ``input_ids`` and optional ``token_type_ids``,
        ``attention_mask``, ``special_tokens_mask``, ``next_sentence_label``; or bare id lists).

        Returns ``input_ids``, ``attention_mask``, ``labels`` (and ``token_type_ids``,
        ``next_sentence_label`` when given), each ``(B, T)`` with ``T`` the longest example
        (rounded up to ``pad_to_multiple_of``), ``next_sentence_label`` ``(B,)``.
        """
        if len(examples) == 0:
            raise ValueError("cannot collate an empty list of examples")
        if isinstance(examples, (str, Mapping)) or any(isinstance(e, str) for e in examples):
            raise TypeError(
                "the collator takes a list of examples, each a dict with 'input_ids' (or a list "
                "of ids), not text: tokenize first, e.g. [tokenizer(t) for t in texts]")
        rows = [e if isinstance(e, Mapping) else {"input_ids": e} for e in examples]
        ids = [_as_list(r["input_ids"]) for r in rows]
        longest = max(len(x) for x in ids)
        if longest == 0:
            raise ValueError("every example is empty (no input_ids)")
        T = longest
        if self.pad_to_multiple_of:
            T = -(-longest // self.pad_to_multiple_of) * self.pad_to_multiple_of
        needs_pad = any(len(x) < T for x in ids)
        pad_id = 0
        if needs_pad:
            pad_id = _token_id(self.tokenizer, "pad")
            if pad_id is None:
                raise ValueError(
                    "the tokenizer has no pad token ([PAD]), which is needed to pad examples of "
                    "different lengths into one batch"
                )
        batch: dict[str, torch.Tensor] = {"input_ids": _pad(ids, T, pad_id)}  # (B, T)
        if "attention_mask" in rows[0]:
            batch["attention_mask"] = _pad([_as_list(r["attention_mask"]) for r in rows], T, 0)
        else:
            batch["attention_mask"] = _pad([[1] * len(x) for x in ids], T, 0)  # (B, T)
        if "token_type_ids" in rows[0]:
            batch["token_type_ids"] = _pad([_as_list(r["token_type_ids"]) for r in rows], T, 0)
        special = None
        if "special_tokens_mask" in rows[0]:
            special = _pad([_as_list(r["special_tokens_mask"]) for r in rows], T, 1).bool()
        if "next_sentence_label" in rows[0]:
            batch["next_sentence_label"] = torch.tensor(
                [int(r["next_sentence_label"]) for r in rows], dtype=torch.long
            )  # (B,)
        if self.mlm:
            if special is None:
                special = self.special_tokens_mask(batch["input_ids"], batch["attention_mask"])
            masked, labels = self.torch_mask_tokens(batch["input_ids"], special)
            batch["input_ids"], batch["labels"] = masked, labels
        else:
            labels = batch["input_ids"].clone()  # (B, T)
            labels[batch["attention_mask"] == 0] = -100
            batch["labels"] = labels
        return batch

    def special_tokens_mask(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """``(B, T)`` bool: True at special tokens and at padding (never picked for MLM)."""
        special = torch.isin(input_ids, self._special_ids.to(input_ids.device))  # (B, T)
        if attention_mask is not None:
            special |= attention_mask == 0
        return special

    # ---------------------------------------------------------------- masking
    def torch_mask_tokens(
        self, inputs: torch.Tensor, special_tokens_mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Mask ``inputs`` ``(B, T)``; return ``(masked_inputs, labels)``, both ``(B, T)``.

        ``special_tokens_mask`` ``(B, T)`` marks positions that are never picked (special tokens
        and padding); default: the tokenizer's special ids. ``inputs`` is not modified.
        """
        g = self.generator
        inputs = inputs.clone()
        labels = inputs.clone()  # (B, T)
        if special_tokens_mask is None:
            special_tokens_mask = self.special_tokens_mask(inputs)
        special = special_tokens_mask.bool()  # (B, T)
        if self.whole_word_mask:
            starts = self._word_starts(inputs, special)  # (B, T) bool
            probs = torch.where(starts & ~special, self.mlm_probability, 0.0)  # (B, T)
            picked_starts = torch.bernoulli(probs, generator=g).bool()  # (B, T)
            # every token takes the decision of its word's first token
            pos = torch.arange(inputs.shape[1], device=inputs.device).expand_as(inputs)  # (B, T)
            first = torch.where(starts, pos, 0).cummax(dim=1).values  # (B, T)
            picked = picked_starts.gather(1, first) & ~special  # (B, T)
        else:
            starts = ~special
            probs = torch.full(inputs.shape, self.mlm_probability).masked_fill(special, 0.0)
            picked = torch.bernoulli(probs, generator=g).bool()  # (B, T)
        if self.max_predictions_per_seq is not None:
            picked = self._cap(picked, starts)
        labels[~picked] = -100
        roll = torch.rand(inputs.shape, generator=g)  # (B, T)
        to_mask = picked & (roll < self.mask_replace_prob)
        to_random = picked & (roll >= self.mask_replace_prob) & (
            roll < self.mask_replace_prob + self.random_replace_prob
        )
        random_words = torch.randint(len(self.tokenizer), inputs.shape, generator=g)  # (B, T)
        inputs[to_mask] = _token_id(self.tokenizer, "mask")
        inputs[to_random] = random_words[to_random]
        return inputs, labels

    def _word_starts(self, inputs: torch.Tensor, special: torch.Tensor) -> torch.Tensor:
        """``(B, T)`` bool: True where a word begins (not a ``##`` piece, or after a special)."""
        if self._is_piece is None:
            tokens = self.tokenizer.convert_ids_to_tokens(list(range(len(self.tokenizer))))
            self._is_piece = torch.tensor([str(t).startswith("##") for t in tokens])
        is_piece = self._is_piece.to(inputs.device)[inputs]  # (B, T)
        after_special = torch.ones_like(special)
        after_special[:, 1:] = special[:, :-1]  # a piece right after [SEP] starts a word
        return ~is_piece | after_special | special

    def _cap(self, picked: torch.Tensor, starts: torch.Tensor) -> torch.Tensor:
        """Keep at most ``max_predictions_per_seq`` picked tokens per row, whole units at a time:
        units (words, or tokens) are visited in a random order and kept while they fit."""
        cap = self.max_predictions_per_seq
        priority = torch.rand(picked.shape, generator=self.generator)  # (B, T)
        picked = picked.clone()
        for b in torch.nonzero(picked.sum(dim=1) > cap).flatten().tolist():
            unit_starts = torch.nonzero(starts[b] & picked[b]).flatten().tolist()
            bounds = unit_starts[1:] + [picked.shape[1]]
            units = []
            for s, e in zip(unit_starts, bounds, strict=True):
                width = int(picked[b, s:e].long().cumprod(0).sum())  # the contiguous picked run
                units.append((float(priority[b, s]), s, width))
            kept = torch.zeros_like(picked[b])
            total = 0
            for _, s, width in sorted(units):
                if total + width <= cap:
                    kept[s : s + width] = True
                    total += width
            picked[b] = kept
        return picked


def _token_id(tokenizer, name: str) -> int | None:
    """``tokenizer.<name>_token_id``, or None when the tokenizer has no such token."""
    if getattr(tokenizer, f"{name}_token", None) is None:
        return None
    try:
        value = getattr(tokenizer, f"{name}_token_id", None)
    except (ValueError, KeyError):
        return None
    return None if value is None else int(value)


def _as_list(x: Any) -> list[int]:
    if isinstance(x, torch.Tensor):
        x = x.tolist()
    ids = list(x)
    if any(not isinstance(i, int) for i in ids):
        kind = next(type(i).__name__ for i in ids if not isinstance(i, int))
        raise TypeError(f"each example's input_ids must be a flat list of ints, found a {kind}: "
                        "pass one example per row, not a batch")
    return ids


def _pad(rows: list[list[int]], length: int, value: int) -> torch.Tensor:
    """Right-pad ``rows`` to ``length`` with ``value``: ``(B, length)`` long."""
    out = torch.full((len(rows), length), value, dtype=torch.long)
    for i, row in enumerate(rows):
        out[i, : len(row)] = torch.tensor(row, dtype=torch.long)
    return out
