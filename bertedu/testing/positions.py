"""Checkers for chapter 5: the relative-position term and the bias that feeds it to SDPA.

With relative positions the scores gain a term ``R`` indexed by the distance ``l - r``:
``R[b, h, l, r] = q_l . D[l - r + P - 1]`` (``relative_key``), plus ``k_r . D[l - r + P - 1]``
(``relative_key_query``). SDPA only takes an additive bias, so
``(QK^T + R) / sqrt(d) + M = QK^T / sqrt(d) + (R / sqrt(d) + M)`` and the bias is
``R / sqrt(d) + M``. Edge cases cover length 1, the longest sequence, no padding and a cache offset
(the queries are the last ``T_q`` of the ``T_k`` positions).

References:
    Shaw et al. (2018), self-attention with relative position representations;
    Huang et al. (2020), improve transformer models with better relative position embeddings.
"""

from __future__ import annotations

from .compare import assert_matches
from .model import model_config, padding_mask, random_sizes, seeded_module
from .result import Case, case_rng, checker

_KINDS = ("relative_key", "relative_key_query")


@checker("bertedu.model.attention.BertSelfAttention.relative_scores",
         "bertedu.model.attention.BertSelfAttention.forward")
def check_relative_scores(seed: int) -> list[Case]:
    """Check ``student_fn(self_attn, q, k) -> R``, the relative-position term, unscaled.

    ``self_attn`` is a seeded ``BertSelfAttention`` with ``position_embedding_type``
    ``relative_key`` or ``relative_key_query``; ``q`` is ``(B, A, T_q, d)`` and ``k`` is
    ``(B, A, T_k, d)``, the queries being the last ``T_q`` positions (``T_q = T_k`` without a
    cache). ``R`` is ``(B, A, T_q, T_k)`` and must equal ``self_attn.relative_scores(q, k)``.
    """
    import torch

    from bertedu.model.attention import BertSelfAttention

    def case(name, group, kind, q_len, k_len, index, **overrides):
        def body(call):
            config = model_config(position_embedding_type=kind, max_position_embeddings=12,
                                  **overrides)
            attn = seeded_module(BertSelfAttention, config, index)
            g = torch.Generator().manual_seed(index)
            heads = config.num_attention_heads
            width = config.hidden_size // heads
            q = torch.randn(2, heads, q_len, width, generator=g)  # (B, A, T_q, d)
            k = torch.randn(2, heads, k_len, width, generator=g)  # (B, A, T_k, d)
            with torch.no_grad():
                expected = attn.relative_scores(q, k)  # (B, A, T_q, T_k)
                got = call(attn, q, k)
            assert_matches(f"relative scores ({kind}, T_q={q_len}, T_k={k_len})", got, expected)
        return Case(name, group, body)

    cases = [case(kind, "visible", kind, 6, 6, i) for i, kind in enumerate(_KINDS)]
    cases += [
        case("length 1", "edge", "relative_key_query", 1, 1, 2),
        case("the longest sequence (12 positions)", "edge", "relative_key", 12, 12, 3),
        case("a cached step: 2 queries after 5 cached keys", "edge", "relative_key_query", 2, 7, 4),
        case("one query after 11 cached keys", "edge", "relative_key", 1, 12, 5),
    ]
    for i in range(3):
        rng = case_rng(seed, i)
        k_len = rng.randint(1, 12)
        sizes = random_sizes(rng)
        sizes.pop("intermediate_size")
        cases.append(case(f"random config {i}", "hidden", rng.choice(_KINDS),
                          rng.randint(1, k_len), k_len, seed + i, **sizes))
    return cases


@checker("bertedu.model.attention.BertSelfAttention.forward",
         "bertedu.model.attention.BertSelfAttention._sdpa",
         "bertedu.model.attention.BertSelfAttention._eager",
         "bertedu.model.attention.extended_attention_mask")
def check_sdpa_bias(seed: int) -> list[Case]:
    """Check ``student_fn(self_attn, q, k, attention_mask) -> bias`` for relative positions.

    ``q`` and ``k`` are ``(B, A, T, d)``, ``attention_mask`` is ``(B, T)`` with 0 for padding.
    The bias (broadcastable to ``(B, A, T, T)``) must make
    ``F.scaled_dot_product_attention(q, k, v, attn_mask=bias)`` equal the library's eager
    attention with relative positions. ``self_attn.relative_scores`` may be used; the masks and
    the attention itself are the exercise.
    """
    import torch
    import torch.nn.functional as F

    from bertedu.model.attention import BertSelfAttention, extended_attention_mask

    def case(name, group, kind, lengths, seq_len, index, **overrides):
        def body(call):
            config = model_config(position_embedding_type=kind, max_position_embeddings=16,
                                  attn_implementation="eager", **overrides)
            attn = seeded_module(BertSelfAttention, config, index)
            g = torch.Generator().manual_seed(index)
            batch = len(lengths)
            hidden = torch.randn(batch, seq_len, config.hidden_size, generator=g)  # (B, T, H)
            mask = padding_mask(lengths, seq_len)  # (B, T)
            additive = extended_attention_mask(mask, batch, seq_len, seq_len, hidden.dtype)
            with torch.no_grad():
                expected = attn(hidden, additive)[0]  # (B, T, H)
                q, k, v = (attn._heads(layer(hidden)) for layer in (attn.query, attn.key,
                                                                     attn.value))  # (B, A, T, d)
                bias = call(attn, q, k, mask.clone())
                if not isinstance(bias, torch.Tensor) or not bias.dtype.is_floating_point:
                    what = getattr(bias, "dtype", type(bias).__name__)
                    raise AssertionError(f"expected a float tensor, got {what}")
                try:
                    context = F.scaled_dot_product_attention(q, k, v, attn_mask=bias)
                except RuntimeError as err:
                    wanted = (*q.shape[:3], seq_len)
                    raise AssertionError(f"SDPA rejects a bias of shape {tuple(bias.shape)} "
                                         f"(expected (B, A, T, T) = {wanted}): {err}") from None
                context = context.transpose(1, 2).reshape(batch, seq_len, -1)  # (B, T, H)
            assert_matches(f"SDPA with your bias vs eager ({kind}, lengths {lengths})",
                           context, expected)
        return Case(name, group, body)

    cases = [case(f"{kind}, padded", "visible", kind, [6, 4], 6, i)
             for i, kind in enumerate(_KINDS)]
    cases += [
        case("length 1", "edge", "relative_key_query", [1, 1], 1, 2),
        case("no padding", "edge", "relative_key", [5, 5, 5], 5, 3),
        case("the longest sequence (16 positions)", "edge", "relative_key_query", [16, 9], 16, 4),
    ]
    for i in range(3):
        rng = case_rng(seed, i)
        seq_len = rng.randint(1, 16)
        lengths = [rng.randint(1, seq_len) for _ in range(rng.randint(1, 3))]
        sizes = random_sizes(rng)
        sizes.pop("intermediate_size")
        cases.append(case(f"random config {i}", "hidden", rng.choice(_KINDS), lengths, seq_len,
                          seed + i, **sizes))
    return cases
