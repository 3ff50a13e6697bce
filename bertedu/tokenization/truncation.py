"""Truncation: cutting an example (one segment or a pair) to ``max_length`` ids.

A batch is a rectangle, so an example longer than ``max_length`` loses ids from the right (or
from the left, with the tokenizer's ``truncation_side="left"``):

* ``longest_first`` shortens the longer segment of a pair first, down to the length of the
  other, then takes one id from each in turn (the second segment loses the odd one);
* ``only_first`` / ``only_second`` cut only that segment (an error when it is too short);
* ``do_not_truncate`` keeps everything.

The special tokens (``[CLS]``, ``[SEP]``) always stay: they are added after truncating, and
the room they need is counted in ``max_length``. ``resolve_strategies`` turns the user's
``padding``/``truncation``/``max_length`` arguments into one truncation strategy, one padding
strategy and a length, with the rules of ``transformers``.

References:
    Devlin et al., 2019, "BERT: Pre-training of Deep Bidirectional Transformers for Language
    Understanding", Section 4 (sentence pairs, maximum sequence length).
    Hugging Face transformers documentation, "Padding and truncation" (the strategy names).
"""

from __future__ import annotations

PADDING_STRATEGIES = ("longest", "max_length", "do_not_pad")
TRUNCATION_STRATEGIES = ("longest_first", "only_first", "only_second", "do_not_truncate")


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


def _cut(seq: list, n: int, side: str) -> list:
    """``seq`` without ``n`` items on ``side``."""
    return seq[n:] if side == "left" else seq[: len(seq) - n]


def truncate_sequences(
    ids: list[int],
    pair_ids: list[int] | None,
    num_tokens_to_remove: int,
    strategy: str,
    side: str = "right",
) -> tuple[list[int], list[int] | None]:
    """Remove ``num_tokens_to_remove`` ids from the right (or the left), as ``strategy`` says.

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
        return _cut(ids, n, side), pair_ids
    if strategy == "only_second":
        if pair_ids is None:
            raise ValueError("truncation='only_second' needs a pair of sequences")
        if len(pair_ids) <= n:
            raise ValueError(
                f"cannot truncate: {n} tokens must go but the second sequence has only "
                f"{len(pair_ids)}; raise max_length or use another truncation strategy"
            )
        return ids, _cut(pair_ids, n, side)
    # longest_first on a pair
    first_remove = min(abs(len(pair_ids) - len(ids)), n)
    shared = n - first_remove
    if len(ids) > len(pair_ids):
        cut_a, cut_b = first_remove + shared // 2, shared - shared // 2
    else:
        cut_a, cut_b = shared // 2, first_remove + shared - shared // 2
    return _cut(ids, cut_a, side), _cut(pair_ids, cut_b, side)
