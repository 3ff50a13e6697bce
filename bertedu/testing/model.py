"""Checkers for chapters 3-6: embeddings, self-attention, relative positions, the encoder layer.

The student's tensor function runs on a tiny seeded config (no dropout) whose every parameter,
LayerNorms and biases included, is randomised, and must match the library module's output to
``atol=1e-5``; a mismatch names the quantity, the shapes or the largest difference.

References:
    Devlin et al. (2018), BERT, section 3; Vaswani et al. (2017), section 3.2 (attention);
    Shaw et al. (2018) and Huang et al. (2020) (relative position embeddings).
"""

from __future__ import annotations

from .compare import assert_matches


def _model_config(**overrides):
    """A tiny seeded config for the chapters 3-6 checkers (no dropout)."""
    from bertedu.config import BertConfig

    settings = dict(vocab_size=101, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                    intermediate_size=48, max_position_embeddings=40, type_vocab_size=2,
                    hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    settings.update(overrides)
    return BertConfig(**settings)


def _model_randomize(module) -> None:
    """Give every parameter (LayerNorm and biases too) random values, so none can be skipped."""
    import torch

    with torch.no_grad():
        for name, param in module.named_parameters():
            if name.endswith("LayerNorm.weight"):
                param.uniform_(0.5, 1.5)
            else:
                param.normal_(0.0, 0.2)


def check_embeddings(student_fn) -> bool:
    """Check ``student_fn(emb, input_ids, token_type_ids) -> (B, T, H)`` against BertEmbeddings.

    ``emb`` is a seeded ``bertedu.model.embeddings.BertEmbeddings`` in eval mode with random weights
    (LayerNorm included); ``input_ids`` and ``token_type_ids`` are ``(B, T)``. The student adds
    the word, position (0..T-1) and segment vectors, then applies the LayerNorm with
    ``emb.LayerNorm.eps``.
    """
    import torch

    from bertedu.model.embeddings import BertEmbeddings

    for case, overrides in enumerate([{}, dict(hidden_size=24, type_vocab_size=3,
                                               layer_norm_eps=1e-3)]):
        torch.manual_seed(case)
        config = _model_config(**overrides)
        emb = BertEmbeddings(config).eval()
        _model_randomize(emb)
        ids = torch.randint(0, config.vocab_size, (2, 9))  # (B, T)
        types = torch.randint(0, config.type_vocab_size, (2, 9))  # (B, T)
        with torch.no_grad():
            expected = emb(input_ids=ids, token_type_ids=types)  # (B, T, H)
            got = student_fn(emb, ids, types)
        assert_matches(f"embeddings (hidden_size={config.hidden_size}, "
                       f"layer_norm_eps={config.layer_norm_eps})", got, expected)
    return True


def _model_attention_inputs(config, seed: int):
    """Seeded hidden states (B, T, H) and a padding mask (B, T): the second row ends in padding."""
    import torch

    torch.manual_seed(seed)
    hidden = torch.randn(2, 7, config.hidden_size)  # (B, T, H)
    mask = torch.ones(2, 7, dtype=torch.long)  # (B, T)
    mask[1, 5:] = 0
    return hidden, mask


def _model_seeded_case(module_cls, config, case: int):
    """A seeded, randomised ``module_cls(config)`` in eval mode, its inputs and additive mask.

    Returns ``(module, hidden (B, T, H), mask (B, T), additive (B, 1, T, T))``.
    """
    import torch

    from bertedu.model.attention import extended_attention_mask

    torch.manual_seed(case)
    module = module_cls(config).eval()
    _model_randomize(module)
    hidden, mask = _model_attention_inputs(config, case)
    batch, seq_len, _ = hidden.shape
    additive = extended_attention_mask(mask, batch, seq_len, seq_len, hidden.dtype)
    return module, hidden, mask, additive


def check_attention(student_fn) -> bool:
    """Check ``student_fn(self_attn, hidden_states, attention_mask) -> (B, T, H)``.

    ``self_attn`` is a seeded ``bertedu.model.attention.BertSelfAttention`` (absolute positions,
    eval mode), ``hidden_states`` is ``(B, T, H)`` and ``attention_mask`` is ``(B, T)`` with 1 for a
    real token and 0 for padding. The student computes the merged multi-head context from the
    module's ``query``, ``key`` and ``value`` weights; it must equal the library's output with both
    the eager and the SDPA implementation.
    """
    import torch

    from bertedu.model.attention import BertSelfAttention

    for case, overrides in enumerate([{}, dict(hidden_size=24, num_attention_heads=2)]):
        eager_config = _model_config(attn_implementation="eager", **overrides)
        attn, hidden, mask, additive = _model_seeded_case(BertSelfAttention, eager_config, case)
        sdpa = BertSelfAttention(_model_config(attn_implementation="sdpa", **overrides)).eval()
        sdpa.load_state_dict(attn.state_dict())
        with torch.no_grad():
            got = student_fn(attn, hidden, mask)
            for impl, module in (("eager", attn), ("sdpa", sdpa)):
                expected = module(hidden, additive)[0]  # (B, T, H)
                assert_matches(
                    f"attention context ({impl}, hidden_size={eager_config.hidden_size}, "
                    f"{eager_config.num_attention_heads} heads, with padding)", got, expected)
    return True


def check_relative_scores(student_fn) -> bool:
    """Check ``student_fn(self_attn, q, k) -> R``, the relative-position term, unscaled.

    ``self_attn`` is a seeded ``BertSelfAttention`` with ``position_embedding_type``
    ``relative_key`` and then ``relative_key_query``; ``q`` and ``k`` are ``(B, A, T, d)``. The
    student returns ``R`` of shape ``(B, A, T, T)`` with ``R[b, h, l, r] = q_l . D[l - r + P - 1]``
    (plus ``k_r . D[l - r + P - 1]`` for ``relative_key_query``), ``D`` being
    ``self_attn.distance_embedding.weight`` and ``P`` the ``max_position_embeddings``. It must equal
    ``self_attn.relative_scores(q, k)``.
    """
    import torch

    from bertedu.model.attention import BertSelfAttention

    for case, kind in enumerate(("relative_key", "relative_key_query")):
        config = _model_config(position_embedding_type=kind, max_position_embeddings=12)
        torch.manual_seed(case)
        attn = BertSelfAttention(config).eval()
        _model_randomize(attn)
        shape = (2, config.num_attention_heads, 6, config.head_size)  # (B, A, T, d)
        q, k = torch.randn(shape), torch.randn(shape)
        with torch.no_grad():
            expected = attn.relative_scores(q, k)  # (B, A, T, T)
            got = student_fn(attn, q, k)
        assert_matches(f"relative scores ({kind})", got, expected)
    return True


def check_layer(student_fn) -> bool:
    """Check ``student_fn(layer, hidden_states, attention_mask) -> (B, T, H)`` against BertLayer.

    ``layer`` is a seeded ``bertedu.model.encoder.BertLayer`` (absolute positions, GELU, eval mode);
    ``hidden_states`` is ``(B, T, H)``, ``attention_mask`` ``(B, T)`` with 0 for padding. The
    student computes self-attention, the output projection with its residual and LayerNorm, then
    the feed-forward sublayer with its residual and LayerNorm.
    """
    import torch

    from bertedu.model.encoder import BertLayer

    for case, overrides in enumerate([{}, dict(hidden_size=24, num_attention_heads=3,
                                               intermediate_size=40, layer_norm_eps=1e-3)]):
        config = _model_config(**overrides)
        layer, hidden, mask, additive = _model_seeded_case(BertLayer, config, case)
        with torch.no_grad():
            expected = layer(hidden, additive)[0]  # (B, T, H)
            got = student_fn(layer, hidden, mask)
        assert_matches(f"layer output (hidden_size={config.hidden_size}, "
                       f"layer_norm_eps={config.layer_norm_eps})", got, expected)
    return True


def check_parameter_count(student_fn) -> bool:
    """Check ``student_fn(config) -> int``, a formula for the parameters of ``BertModel(config)``.

    Tried on several small configurations (absolute and relative positions); the expected value is
    ``sum(p.numel() for p in BertModel(config).parameters())``.
    """
    from bertedu.model.modeling import BertModel

    cases = [
        {},
        dict(vocab_size=57, hidden_size=24, num_attention_heads=3, intermediate_size=40,
             num_hidden_layers=3, type_vocab_size=3),
        dict(position_embedding_type="relative_key_query", max_position_embeddings=16),
    ]
    for overrides in cases:
        config = _model_config(**overrides)
        expected = sum(p.numel() for p in BertModel(config).parameters())
        got = student_fn(config)
        if got != expected:
            described = ", ".join(f"{k}={v}" for k, v in overrides.items()) or "the default"
            raise AssertionError(
                f"parameter count for config ({described}): got {got}, BertModel has {expected}"
                f" (difference {expected - got if isinstance(got, int) else 'n/a'})")
    return True
