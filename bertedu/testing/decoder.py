"""Checkers for chapter 9: the causal mask with a cache, and one cached attention step.

With a key/value cache of ``T_past`` positions, a step feeds ``T_q`` new tokens: their keys and
values are appended after the cached ones (``K = [K_past; K_new]`` along the time axis) and query
``i`` sits at absolute position ``T_past + i``, so it may attend to key ``j`` only when
``j <= T_past + i`` and key ``j`` is not padding. Edge cases: an empty cache, a one-token step,
padding rows and a step that fills the window.

References:
    Vaswani et al. (2017), section 3.2.3 (masking in the decoder); Radford et al. (2019), GPT-2
    (incremental decoding with cached keys and values).
"""

from __future__ import annotations

from .compare import assert_matches
from .heads import heads_config
from .model import padding_mask, seeded_module
from .result import Case, case_rng, checker


@checker("bertedu.model.attention.extended_attention_mask",
         "bertedu.model.attention.BertSelfAttention.forward")
def check_causal_mask(seed: int) -> list[Case]:
    """Check ``student_fn(attention_mask, query_length) -> allowed`` for a decoder.

    ``attention_mask`` is ``(B, S)`` (1 = real token, 0 = padding) over all key positions, of which
    the last ``query_length`` are the queries (the first ``S - query_length`` are cached). The
    result is a boolean ``(B, 1, query_length, S)``, True where a query may attend to a key: the key
    is real and not in the future. It is compared with where the library's decoder puts nonzero
    attention probability.
    """
    import torch

    from bertedu.model.modeling import BertModel

    def case(name, group, lengths, past, index):
        def body(call):
            torch.manual_seed(index)
            model = BertModel(heads_config(is_decoder=True, num_hidden_layers=1),
                              add_pooling_layer=False).eval()
            total = max(lengths)
            mask = padding_mask(lengths, total)  # (B, S), right padding
            g = torch.Generator().manual_seed(index)
            ids = torch.randint(1, model.config.vocab_size, mask.shape, generator=g)  # (B, S)
            with torch.no_grad():
                cache = None
                if past:
                    cache = model(ids[:, :past], attention_mask=mask[:, :past],
                                  use_cache=True).past_key_values
                out = model(ids[:, past:], attention_mask=mask, past_key_values=cache,
                            output_attentions=True)
            expected = out.attentions[0].amax(dim=1, keepdim=True) > 0  # (B, 1, T, S)
            got = call(mask.clone(), total - past)
            assert_matches(f"allowed positions (lengths {lengths}, {past} cached keys, "
                           f"{total - past} queries)", got, expected)
        return Case(name, group, body)

    cases = [case("no cache, padded", "visible", [8, 5], 0, 0),
             case("3 cached keys, padded", "visible", [8, 5], 3, 1),
             case("one new token after 7 cached", "edge", [8, 6], 7, 2),
             case("one token, no cache", "edge", [1], 0, 3),
             case("no padding, 2 cached", "edge", [6, 6], 2, 4)]
    for i in range(3):
        rng = case_rng(seed, i)
        lengths = [rng.randint(1, 12) for _ in range(rng.randint(1, 3))]
        cases.append(case(f"random lengths and cache {i}", "hidden", lengths,
                          rng.randint(0, max(lengths) - 1), seed + i))
    return cases


@checker("bertedu.model.attention.BertSelfAttention.forward",
         "bertedu.model.attention.BertSelfAttention._eager",
         "bertedu.model.attention.BertSelfAttention._sdpa",
         "bertedu.model.attention.extended_attention_mask")
def check_cache_update(seed: int) -> list[Case]:
    """Check one cached decoder step, ``student_fn(self_attn, hidden_states, past_key_value,
    attention_mask) -> (context, (keys, values))``.

    ``self_attn`` is a seeded decoder ``BertSelfAttention``; ``hidden_states`` is ``(B, T_q, H)``
    for the new tokens; ``past_key_value`` is ``(keys, values)``, each ``(B, A, T_past, d)``
    (``T_past`` may be 0); ``attention_mask`` is ``(B, T_past + T_q)``, 0 for padding. The student
    appends the new keys and values after the cached ones and attends causally: the context
    ``(B, T_q, H)`` and the updated cache must equal the library's.
    """
    import torch

    from bertedu.model.attention import BertSelfAttention, extended_attention_mask

    def case(name, group, lengths, past, index):
        def body(call):
            config = heads_config(is_decoder=True)
            attn = seeded_module(BertSelfAttention, config, index)
            total, batch = max(lengths), len(lengths)
            mask = padding_mask(lengths, total)  # (B, S)
            g = torch.Generator().manual_seed(index)
            hidden = torch.randn(batch, total, config.hidden_size, generator=g)  # (B, S, H)
            dtype = hidden.dtype
            with torch.no_grad():
                prefix = extended_attention_mask(mask[:, :past], batch, past, past, dtype,
                                                 causal=True)
                cache = attn(hidden[:, :past], prefix)[2]  # each (B, A, T_past, d)
                step = extended_attention_mask(mask, batch, total - past, total, dtype,
                                               causal=True)
                context, _, (keys, values) = attn(hidden[:, past:], step, past_key_value=cache)
                got = call(attn, hidden[:, past:].clone(), tuple(t.clone() for t in cache),
                           mask.clone())
            if not (isinstance(got, tuple) and len(got) == 2 and len(got[1]) == 2):
                raise AssertionError("expected (context, (keys, values))")
            where = f"(lengths {lengths}, {past} cached, {total - past} new)"
            assert_matches(f"updated keys {where}", got[1][0], keys)
            assert_matches(f"updated values {where}", got[1][1], values)
            assert_matches(f"context {where}", got[0], context)
        return Case(name, group, body)

    cases = [case("4 cached, 3 new, padded", "visible", [7, 5], 4, 0),
             case("2 cached, 1 new", "visible", [3, 3], 2, 1),
             case("an empty cache", "edge", [5, 3], 0, 2),
             case("one token after 9 cached, padded", "edge", [10, 6], 9, 3),
             case("a single token, empty cache", "edge", [1], 0, 4)]
    for i in range(3):
        rng = case_rng(seed, i)
        lengths = [rng.randint(1, 12) for _ in range(rng.randint(1, 3))]
        cases.append(case(f"random lengths and cache {i}", "hidden", lengths,
                          rng.randint(0, max(lengths) - 1), seed + i))
    return cases
