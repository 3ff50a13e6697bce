"""Overflow: what truncation cuts off, kept as more windows of the same text (doc stride).

A question-answering passage is often longer than the ``max_length`` a model reads (384 pieces in
the BERT recipe), and the answer may sit anywhere in it. Instead of cutting the passage, split it
into windows that overlap by ``stride`` pieces and pair every window with the whole question::

    passage pieces   p0 p1 ... p9                 max_length leaves room for L = 4 pieces
    window 0         p0 p1 p2 p3                  stride s = 2: each window starts
    window 1               p2 p3 p4 p5            L - s = 2 pieces after the one before
    window 2                     p4 p5 p6 p7
    window 3                           p6 p7 p8 p9

so window ``k`` covers pieces ``[k (L - s), k (L - s) + L)`` and every piece is seen with at least
``s`` pieces of context on each side where the passage allows it (Devlin et al., 2019, Section
4.2, "doc stride" in the released code). The fast tokenizer returns the windows as extra rows;
``overflow_to_sample_mapping[r]`` is the input example of row ``r``, ``sequence_ids(r)`` tells
question (0) from passage (1) pieces and ``offset_mapping`` points each piece back into its text,
which is how a predicted span becomes an answer string. ``stride`` must stay below ``L`` for a
text that needs windows, or they would never advance.

The slow tokenizer has no windows (as in transformers): with ``return_overflowing_tokens`` it
returns, per example, the ids that truncation removed plus the ``stride`` ids before them
(``overflowing_tokens``) and how many ids went (``num_truncated_tokens``). Which ids those are
follows the truncation strategy; ``longest_first`` on a pair cuts both texts, so it has no single
overflow and is refused.

References:
    Devlin et al., 2019, "BERT", Section 4.2 (SQuAD v1.1) and the released ``run_squad.py``
    (``doc_stride`` 128, ``max_seq_length`` 384).
    Hugging Face transformers documentation, "Question answering" (overflowing windows).
"""

from __future__ import annotations

from typing import Any


def check_stride(stride: int) -> None:
    """An error unless ``stride`` is a non-negative int (its upper bound depends on the text)."""
    if not isinstance(stride, int) or isinstance(stride, bool) or stride < 0:
        raise ValueError(f"stride must be a non-negative int, got {stride!r}")


def windows_of(encodings: list[Any]) -> tuple[list[Any], list[int]]:
    """Flatten ``tokenizers`` encodings and their ``overflowing`` windows into rows.

    Returns the rows (each input's first window, then its overflowing ones) and, per row, the
    index of the input it came from (``overflow_to_sample_mapping``).
    """
    rows, sample_of_row = [], []
    for i, encoding in enumerate(encodings):
        for window in [encoding, *encoding.overflowing]:
            rows.append(window)
            sample_of_row.append(i)
    return rows, sample_of_row


def check_overflow_request(truncation: str, pair: bool, max_length: int | None) -> None:
    """The slow tokenizer's ``return_overflowing_tokens`` needs a length and a single overflow."""
    if max_length is None:
        raise ValueError(
            "return_overflowing_tokens=True needs max_length (and truncation) to know what "
            "overflows"
        )
    if truncation == "longest_first" and pair:
        raise ValueError(
            "return_overflowing_tokens=True cannot be used with truncation='longest_first' on "
            "a pair (both texts lose tokens); use 'only_first' or 'only_second'"
        )


def overflowing_tokens(
    ids: list[int],
    pair_ids: list[int] | None,
    num_tokens_to_remove: int,
    strategy: str,
    stride: int = 0,
    side: str = "right",
) -> list[int]:
    """The ids truncation removes from the cut sequence, with ``stride`` ids of context.

    ``side="right"`` removes from the end, so the overflow is the last ``stride + n`` ids of the
    cut sequence; ``"left"`` removes from the start, so it is the first ``stride + n``.
    """
    if num_tokens_to_remove <= 0:
        return []
    cut = pair_ids if strategy == "only_second" else ids
    if strategy == "longest_first" and pair_ids is not None or cut is None:
        return []
    window = min(len(cut), stride + num_tokens_to_remove)
    return list(cut[-window:]) if side == "right" else list(cut[:window])
