"""Checkers for chapters 1, 3, 4 and 6: the parameter count, embeddings, attention, the layer.

The student's tensor function runs on a tiny seeded config (no dropout) whose every parameter,
LayerNorms and biases included, is randomised, and must match the library module's output to
``atol=1e-5``. Visible cases are fixed; edge cases cover length 1, full-length sequences, rows
without padding and rows that are all padding; hidden cases draw sizes, lengths and padding from
the run's seed. The library case patches the module being rebuilt to raise.

References:
    Devlin et al. (2018), BERT, section 3; Vaswani et al. (2017), section 3.2 (attention).
"""

from __future__ import annotations

import functools
import json

from .compare import assert_matches
from .result import Case, case_rng, checker


def model_config(**overrides):
    """A tiny config for the model checkers (no dropout), with ``overrides`` applied."""
    from bertedu.config import BertConfig

    settings = dict(vocab_size=101, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                    intermediate_size=48, max_position_embeddings=40, type_vocab_size=2,
                    hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    settings.update(overrides)
    return BertConfig(**settings)


def randomize(module, seed: int) -> None:
    """Give every parameter (LayerNorm and biases too) seeded random values, none can be skipped."""
    import torch

    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in module.named_parameters():
            if name.endswith("LayerNorm.weight"):
                param.copy_(0.5 + torch.rand(param.shape, generator=g))
            else:
                param.copy_(0.2 * torch.randn(param.shape, generator=g))


def padding_mask(lengths: list[int], seq_len: int):
    """A (B, T) 0/1 mask whose row ``b`` keeps its first ``lengths[b]`` tokens."""
    import torch

    return (torch.arange(seq_len)[None, :] < torch.tensor(lengths)[:, None]).long()  # (B, T)


def random_sizes(rng) -> dict:
    """Hidden-case sizes: heads, head width and feed-forward size drawn from ``rng``."""
    heads = rng.choice([1, 2, 3, 4])
    return dict(num_attention_heads=heads, hidden_size=heads * rng.choice([4, 6, 8]),
                intermediate_size=rng.randint(8, 40), layer_norm_eps=rng.choice([1e-12, 1e-3]))


def _describe(overrides: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in overrides.items()) or "the default config"


@checker("bertedu.model.embeddings.BertEmbeddings.forward")
def check_embeddings(seed: int) -> list[Case]:
    """Check ``student_fn(emb, input_ids, token_type_ids) -> (B, T, H)`` against BertEmbeddings.

    ``emb`` is a seeded ``bertedu.model.embeddings.BertEmbeddings`` in eval mode with random weights
    (LayerNorm included); ``input_ids`` and ``token_type_ids`` are ``(B, T)``. The student adds
    the word, position (0..T-1) and segment vectors, then applies the LayerNorm with
    ``emb.LayerNorm.eps``, without calling the module.
    """
    import torch

    from bertedu.model.embeddings import BertEmbeddings

    def case(name, group, overrides, batch, seq_len, index):
        def body(call):
            config = model_config(**overrides)
            emb = BertEmbeddings(config).eval()
            randomize(emb, index)
            g = torch.Generator().manual_seed(index)
            ids = torch.randint(0, config.vocab_size, (batch, seq_len), generator=g)  # (B, T)
            types = torch.randint(0, config.type_vocab_size, (batch, seq_len), generator=g)
            with torch.no_grad():
                expected = emb(input_ids=ids, token_type_ids=types)  # (B, T, H)
                got = call(emb, ids, types)
            assert_matches(f"embeddings ({_describe(overrides)}, B={batch}, T={seq_len})",
                           got, expected)
        return Case(name, group, body)

    cases = [
        case("two sentences", "visible", {}, 2, 9, 0),
        case("hidden_size 24, three segment types, eps 1e-3", "visible",
             dict(hidden_size=24, type_vocab_size=3, layer_norm_eps=1e-3), 2, 9, 1),
        case("length 1", "edge", {}, 3, 1, 2),
        case("the longest sequence (all 40 positions)", "edge", {}, 1, 40, 3),
    ]
    for i in range(3):
        rng = case_rng(seed, i)
        overrides = dict(random_sizes(rng), type_vocab_size=rng.randint(1, 3))
        cases.append(case(f"random config {i}", "hidden", overrides, rng.randint(1, 4),
                          rng.randint(1, 40), seed + i))
    return cases


def seeded_module(module_cls, config, index: int):
    """A ``module_cls(config)`` in eval mode with every parameter drawn from ``index``."""
    module = module_cls(config).eval()
    randomize(module, index)
    return module


def _inputs(config, lengths: list[int], seq_len: int, index: int):
    """Hidden states (B, T, H), the 0/1 mask (B, T) and its additive form (B, 1, 1, T)."""
    import torch

    from bertedu.model.attention import extended_attention_mask

    g = torch.Generator().manual_seed(index)
    hidden = torch.randn(len(lengths), seq_len, config.hidden_size, generator=g)  # (B, T, H)
    mask = padding_mask(lengths, seq_len)  # (B, T)
    additive = extended_attention_mask(mask, len(lengths), seq_len, seq_len, hidden.dtype)
    return hidden, mask, additive


def _module_cases(seed: int, make_case) -> list[Case]:
    """The shared case list of the attention and layer checkers."""
    cases = [
        make_case("a padded batch", "visible", {}, [7, 5], 7, 0),
        make_case("hidden_size 24, 2 heads, padded", "visible",
                  dict(hidden_size=24, num_attention_heads=2, intermediate_size=40,
                       layer_norm_eps=1e-3), [7, 3], 7, 1),
        make_case("length 1", "edge", {}, [1, 1], 1, 2),
        make_case("no padding at all", "edge", {}, [6, 6, 6], 6, 3),
        make_case("a row that is all padding (must stay finite)", "edge", {}, [5, 0], 5, 4),
    ]
    for i in range(3):
        rng = case_rng(seed, i)
        seq_len = rng.randint(1, 12)
        lengths = [rng.randint(1, seq_len) for _ in range(rng.randint(1, 4))]
        make_case_args = (random_sizes(rng), lengths, seq_len, seed + i)
        cases.append(make_case(f"random config and padding {i}", "hidden", *make_case_args))
    return cases


@checker("bertedu.model.attention.BertSelfAttention.forward",
         "bertedu.model.attention.BertSelfAttention._eager",
         "bertedu.model.attention.BertSelfAttention._sdpa",
         "bertedu.model.attention.BertAttention.forward")
def check_attention(seed: int) -> list[Case]:
    """Check ``student_fn(self_attn, hidden_states, attention_mask) -> (B, T, H)``.

    ``self_attn`` is a seeded ``bertedu.model.attention.BertSelfAttention`` (absolute positions,
    eval mode), ``hidden_states`` is ``(B, T, H)`` and ``attention_mask`` is ``(B, T)`` with 1 for a
    real token and 0 for padding. The student computes the merged multi-head context from the
    module's ``query``, ``key`` and ``value`` layers; it must equal the library's output with both
    the eager and the SDPA implementation.
    """
    import torch

    from bertedu.model.attention import BertSelfAttention

    def make_case(name, group, overrides, lengths, seq_len, index):
        def body(call):
            eager_config = model_config(attn_implementation="eager", **overrides)
            attn = seeded_module(BertSelfAttention, eager_config, index)
            sdpa = BertSelfAttention(model_config(attn_implementation="sdpa", **overrides)).eval()
            sdpa.load_state_dict(attn.state_dict())
            hidden, mask, additive = _inputs(eager_config, lengths, seq_len, index)
            with torch.no_grad():
                got = call(attn, hidden, mask.clone())
                for impl, module in (("eager", attn), ("sdpa", sdpa)):
                    expected = module(hidden, additive)[0]  # (B, T, H)
                    assert_matches(f"attention context vs {impl} ({_describe(overrides)}, "
                                   f"lengths {lengths})", got, expected)
        return Case(name, group, body)

    return _module_cases(seed, make_case)


@checker("bertedu.model.encoder.BertLayer.forward",
         "bertedu.model.encoder.BertIntermediate.forward",
         "bertedu.model.encoder.BertOutput.forward",
         "bertedu.model.attention.BertAttention.forward",
         "bertedu.model.attention.BertSelfAttention.forward",
         "bertedu.model.attention.BertSelfOutput.forward")
def check_layer(seed: int) -> list[Case]:
    """Check ``student_fn(layer, hidden_states, attention_mask) -> (B, T, H)`` against BertLayer.

    ``layer`` is a seeded ``bertedu.model.encoder.BertLayer`` (absolute positions, GELU, eval mode);
    ``hidden_states`` is ``(B, T, H)``, ``attention_mask`` ``(B, T)`` with 0 for padding. The
    student computes self-attention, the output projection with its residual and LayerNorm, then
    the feed-forward sublayer with its residual and LayerNorm, from the layer's weights.
    """
    import torch

    from bertedu.model.encoder import BertLayer

    def make_case(name, group, overrides, lengths, seq_len, index):
        def body(call):
            config = model_config(**overrides)
            layer = seeded_module(BertLayer, config, index)
            hidden, mask, additive = _inputs(config, lengths, seq_len, index)
            with torch.no_grad():
                expected = layer(hidden, additive)[0]  # (B, T, H)
                got = call(layer, hidden, mask.clone())
            assert_matches(f"layer output ({_describe(overrides)}, lengths {lengths})",
                           got, expected)
        return Case(name, group, body)

    return _module_cases(seed, make_case)


@functools.lru_cache(maxsize=32)
def model_size(config_json: str) -> int:
    """``sum(p.numel())`` over ``BertModel(config)``, built on the meta device (no memory)."""
    import torch

    from bertedu.config import BertConfig
    from bertedu.model.modeling import BertModel

    with torch.device("meta"):
        model = BertModel(BertConfig.from_dict(json.loads(config_json)))
    return sum(p.numel() for p in model.parameters())


@checker("bertedu.model.modeling.BertModel.__init__",
         "bertedu.model.embeddings.BertEmbeddings.__init__",
         "bertedu.model.encoder.BertLayer.__init__")
def check_parameter_count(seed: int, relative: bool = True) -> list[Case]:
    """Check ``student_fn(config) -> int``, a formula for the parameters of ``BertModel(config)``.

    The expected value is ``sum(p.numel() for p in BertModel(config).parameters())`` (pooler
    included, tied weights once); the formula must work from the configuration alone, without
    building the model. ``relative=False`` leaves out the configurations with relative position
    embeddings (chapter 1 comes before them).
    """
    from bertedu.config import BertConfig

    def case(name, group, config_fn):
        def body(call):
            config = config_fn()
            expected = model_size(config.to_json_string())
            got = call(config)
            if not isinstance(got, int) or isinstance(got, bool):
                raise AssertionError(f"expected an int, got {type(got).__name__}")
            if got != expected:
                raise AssertionError(f"got {got:,}, BertModel has {expected:,} "
                                     f"(off by {expected - got:+,})")
        return Case(name, group, body)

    cases = [
        case("BERT-base", "visible", BertConfig),
        case("a tiny config", "visible", model_config),
        case("3 layers, hidden 24, 3 segment types", "visible", lambda: model_config(
            vocab_size=57, hidden_size=24, num_attention_heads=3, intermediate_size=40,
            num_hidden_layers=3, type_vocab_size=3)),
        case("relative_key_query positions", "edge",
             lambda: model_config(position_embedding_type="relative_key_query",
                                  max_position_embeddings=16)),
        case("relative_key positions, 8 heads", "edge",
             lambda: model_config(position_embedding_type="relative_key", num_attention_heads=8)),
        case("1 layer, 1 segment type", "edge",
             lambda: model_config(num_hidden_layers=1, type_vocab_size=1)),
    ]
    kinds = ["absolute", "relative_key", "relative_key_query"] if relative else ["absolute"]
    if not relative:
        cases = [c for c in cases if "relative" not in c.name]
    for i in range(3):
        rng = case_rng(seed, i)
        overrides = dict(random_sizes(rng), vocab_size=rng.randint(5, 500),
                         num_hidden_layers=rng.randint(1, 4), type_vocab_size=rng.randint(1, 4),
                         max_position_embeddings=rng.randint(4, 64),
                         position_embedding_type=rng.choice(kinds))
        cases.append(case(f"random config {i}", "hidden",
                          lambda o=overrides: model_config(**o)))
    return cases
