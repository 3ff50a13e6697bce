"""Checkers for the chapters' exercises and for course assignments.

Each ``check_*`` function takes a student's implementation, runs it next to the library's on
seeded inputs, and raises ``AssertionError`` with a message that says what differs; it returns
``True`` when everything agrees. Sections follow the chapters.
"""

from __future__ import annotations

# --- chapter 2: tokenization -------------------------------------------------------------------

_TOKENIZATION_TEXTS = [
    "Hello, World! BERT's tokenizer.",
    "Héllo naïve café, crème brûlée.",
    "ΟΔΟΣ Σίσυφος, Привет мир!",
    "日本語のテキスト and 中文 text",
    "control\x00chars\x7f and\ufffd zero\u200bwidth",
    "tabs\tand\nnewlines\u00a0nbsp\u3000ideographic",
    "emoji 😀🤗 and $5 + 7% = (x) {y} <w> ~ ` @ # &",
    "e\u0301 a\u0308 combining marks",
    "don't stop-believing... ok?!",
    "",
]

_TOY_VOCAB = [
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un", "##aff", "##able", "token", "##ization",
    "##s", "play", "##ing", "##ed", "the", "a", "##b", "##c", "b", "c", "abc", "##bc", "x",
]


def check_basic_tokenize(student_fn) -> bool:
    """``student_fn(text) -> list[str]``: BERT's uncased basic tokenization.

    Clean (drop NUL, U+FFFD, control characters; whitespace -> space), space out CJK ideographs,
    NFC, split on whitespace, lowercase, strip accents, split off punctuation.
    """
    from bertedu.tokenization import BasicTokenizer

    reference = BasicTokenizer(do_lower_case=True)
    for text in _TOKENIZATION_TEXTS:
        expected = reference.tokenize(text)
        got = student_fn(text)
        if list(got) != expected:
            raise AssertionError(
                f"basic tokenization of {text!r}:\n  got      {list(got)}\n  expected {expected}"
            )
    return True


def check_wordpiece(student_fn, vocab=None) -> bool:
    """``student_fn(word, vocab) -> list[str]``: greedy longest-match-first WordPiece.

    ``vocab`` is a dict token -> id (default: a toy vocabulary); unknown words give
    ``["[UNK]"]``, and so do words longer than 100 characters.
    """
    from bertedu.tokenization import BasicTokenizer, WordpieceTokenizer

    if vocab is None:
        vocab = {token: i for i, token in enumerate(_TOY_VOCAB)}
    reference = WordpieceTokenizer(vocab, "[UNK]", max_input_chars_per_word=100)
    words = ["unaffable", "tokenization", "tokens", "playing", "played", "abc", "abcbc", "xyz",
             "un", "", "a" * 101, "tokenizations"]
    words += [w for text in _TOKENIZATION_TEXTS for w in BasicTokenizer().tokenize(text)]
    for word in words:
        expected = reference.tokenize_word(word) if word else []
        got = list(student_fn(word, vocab)) if word else []
        if got != expected:
            raise AssertionError(f"WordPiece of {word!r}:\n  got      {got}\n  expected {expected}")
    return True


def check_truncate_longest_first(student_fn) -> bool:
    """``student_fn(ids_a, ids_b, max_length) -> (ids_a, ids_b)`` for ``[CLS] A [SEP] B [SEP]``.

    Remove tokens from the right until the pair plus its 3 special tokens fits: first from the
    longer sequence down to the other's length, then the rest shared (the extra token from B).
    """
    from bertedu.tokenization import BertTokenizer

    for len_a, len_b, max_length in [(10, 4, 10), (4, 10, 10), (6, 6, 10), (6, 6, 11), (5, 7, 40),
                                     (3, 0, 4), (0, 5, 5), (9, 8, 3), (20, 1, 12)]:
        a, b = list(range(100, 100 + len_a)), list(range(200, 200 + len_b))
        n = len_a + len_b + 3 - max_length
        expected = BertTokenizer.truncate_sequences(a, b, n, "longest_first")
        got = student_fn(list(a), list(b), max_length)
        if (list(got[0]), list(got[1])) != (list(expected[0]), list(expected[1])):
            raise AssertionError(
                f"lengths ({len_a}, {len_b}), max_length={max_length}: got lengths "
                f"({len(got[0])}, {len(got[1])}), expected "
                f"({len(expected[0])}, {len(expected[1])})"
            )
    return True

# --- chapters 3-6: embeddings, attention, relative positions, encoder ---------------------------


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


def _model_compare(what: str, got, expected, atol: float = 1e-5, rtol: float = 1e-4) -> None:
    """Raise AssertionError naming ``what`` when ``got`` is not a tensor close to ``expected``."""
    import torch

    if not isinstance(got, torch.Tensor):
        raise AssertionError(f"{what}: expected a torch.Tensor, got {type(got).__name__}")
    if got.shape != expected.shape:
        raise AssertionError(
            f"{what}: shape {tuple(got.shape)} differs from the library's {tuple(expected.shape)}")
    if not torch.allclose(got.double(), expected.double(), atol=atol, rtol=rtol):
        worst = (got.double() - expected.double()).abs().max().item()
        raise AssertionError(
            f"{what}: values differ from the library's (largest difference {worst:.3g})")


def check_embeddings(student_fn) -> bool:
    """Check ``student_fn(emb, input_ids, token_type_ids) -> (B, T, H)`` against BertEmbeddings.

    ``emb`` is a seeded ``bertedu.embeddings.BertEmbeddings`` in eval mode with random weights
    (LayerNorm included); ``input_ids`` and ``token_type_ids`` are ``(B, T)``. The student adds
    the word, position (0..T-1) and segment vectors, then applies the LayerNorm with
    ``emb.LayerNorm.eps``.
    """
    import torch

    from bertedu.embeddings import BertEmbeddings

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
        _model_compare(f"embeddings (hidden_size={config.hidden_size}, "
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


def check_attention(student_fn) -> bool:
    """Check ``student_fn(self_attn, hidden_states, attention_mask) -> (B, T, H)``.

    ``self_attn`` is a seeded ``bertedu.attention.BertSelfAttention`` (absolute positions, eval
    mode), ``hidden_states`` is ``(B, T, H)`` and ``attention_mask`` is ``(B, T)`` with 1 for a real
    token and 0 for padding. The student computes the merged multi-head context from the module's
    ``query``, ``key`` and ``value`` weights; it must equal the library's output with both the
    eager and the SDPA implementation.
    """
    import torch

    from bertedu.attention import BertSelfAttention, extended_attention_mask

    for case, overrides in enumerate([{}, dict(hidden_size=24, num_attention_heads=2)]):
        eager_config = _model_config(attn_implementation="eager", **overrides)
        torch.manual_seed(case)
        attn = BertSelfAttention(eager_config).eval()
        _model_randomize(attn)
        hidden, mask = _model_attention_inputs(eager_config, case)
        batch, seq_len, _ = hidden.shape
        additive = extended_attention_mask(mask, batch, seq_len, seq_len, hidden.dtype)
        sdpa = BertSelfAttention(_model_config(attn_implementation="sdpa", **overrides)).eval()
        sdpa.load_state_dict(attn.state_dict())
        with torch.no_grad():
            got = student_fn(attn, hidden, mask)
            for impl, module in (("eager", attn), ("sdpa", sdpa)):
                expected = module(hidden, additive)[0]  # (B, T, H)
                _model_compare(
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

    from bertedu.attention import BertSelfAttention

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
        _model_compare(f"relative scores ({kind})", got, expected)
    return True


def check_layer(student_fn) -> bool:
    """Check ``student_fn(layer, hidden_states, attention_mask) -> (B, T, H)`` against BertLayer.

    ``layer`` is a seeded ``bertedu.encoder.BertLayer`` (absolute positions, GELU, eval mode);
    ``hidden_states`` is ``(B, T, H)``, ``attention_mask`` ``(B, T)`` with 0 for padding. The
    student computes self-attention, the output projection with its residual and LayerNorm, then
    the feed-forward sublayer with its residual and LayerNorm.
    """
    import torch

    from bertedu.attention import extended_attention_mask
    from bertedu.encoder import BertLayer

    for case, overrides in enumerate([{}, dict(hidden_size=24, num_attention_heads=3,
                                               intermediate_size=40, layer_norm_eps=1e-3)]):
        config = _model_config(**overrides)
        torch.manual_seed(case)
        layer = BertLayer(config).eval()
        _model_randomize(layer)
        hidden, mask = _model_attention_inputs(config, case)
        batch, seq_len, _ = hidden.shape
        additive = extended_attention_mask(mask, batch, seq_len, seq_len, hidden.dtype)
        with torch.no_grad():
            expected = layer(hidden, additive)[0]  # (B, T, H)
            got = student_fn(layer, hidden, mask)
        _model_compare(f"layer output (hidden_size={config.hidden_size}, "
                       f"layer_norm_eps={config.layer_norm_eps})", got, expected)
    return True


def check_parameter_count(student_fn) -> bool:
    """Check ``student_fn(config) -> int``, a formula for the parameters of ``BertModel(config)``.

    Tried on several small configurations (absolute and relative positions); the expected value is
    ``sum(p.numel() for p in BertModel(config).parameters())``.
    """
    from bertedu.modeling import BertModel

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


# --- chapters 7-9: heads, pretrained weights, decoder ------------------------------------------


def _heads_config(**overrides):
    """A tiny config for the chapters 7-9 checkers: no dropout, eager attention."""
    from bertedu.config import BertConfig

    settings = dict(vocab_size=97, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                    intermediate_size=37, max_position_embeddings=64, type_vocab_size=2,
                    hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
                    attn_implementation="eager")
    settings.update(overrides)
    return BertConfig(**settings)


def _heads_compare(name: str, got, expected, atol: float = 1e-5, rtol: float = 1e-4) -> None:
    import torch

    if not isinstance(got, torch.Tensor):
        raise AssertionError(f"{name}: expected a torch.Tensor, got {type(got).__name__}")
    if got.shape != expected.shape:
        raise AssertionError(
            f"{name}: shape {tuple(got.shape)} differs from the library's {tuple(expected.shape)}")
    if got.dtype.is_floating_point and expected.dtype.is_floating_point:
        if not torch.allclose(got.float(), expected.float(), atol=atol, rtol=rtol):
            worst = (got.float() - expected.float()).abs().max().item()
            raise AssertionError(
                f"{name}: values differ from the library's (largest difference {worst:.3g})")
    elif not torch.equal(got, expected):
        wrong = (got != expected).nonzero()[:3].tolist()
        raise AssertionError(f"{name}: entries differ from the library's, e.g. at indices {wrong}")


def check_mlm_head(student_fn) -> bool:
    """Check ``student_fn(sequence_output, cls) -> prediction logits`` against the library.

    ``sequence_output`` is ``(B, T, H)``, ``cls`` is the ``BertOnlyMLMHead`` of a seeded tiny
    ``BertForMaskedLM``; the student computes ``(B, T, V)`` logits from its parameters
    (dense -> activation -> LayerNorm -> tied decoder + bias) and must match
    ``cls(sequence_output)``.
    """
    import torch

    from bertedu.modeling import BertForMaskedLM

    torch.manual_seed(0)
    model = BertForMaskedLM(_heads_config()).eval()
    ids = torch.randint(0, model.config.vocab_size, (2, 7))  # (B, T)
    with torch.no_grad():
        sequence_output = model.bert(ids).last_hidden_state  # (B, T, H)
        expected = model.cls(sequence_output)  # (B, T, V)
        got = student_fn(sequence_output, model.cls)
    _heads_compare("MLM logits", got, expected)
    return True


def check_qa_loss(student_fn) -> bool:
    """Check ``student_fn(start_logits, end_logits, start_positions, end_positions) -> loss``.

    Logits are ``(B, T)``, positions ``(B,)``; positions outside ``[0, T)`` are ignored (the
    reference clamps them to ``T`` and uses that as the ignore index). The library's
    ``BertForQuestionAnswering`` gives the expected loss.
    """
    import torch

    from bertedu.task_models import BertForQuestionAnswering

    torch.manual_seed(0)
    model = BertForQuestionAnswering(_heads_config()).eval()
    ids = torch.randint(0, model.config.vocab_size, (3, 9))  # (B, T)
    cases = {"in-range spans": (torch.tensor([1, 4, 0]), torch.tensor([2, 6, 0])),
             "a span past the end": (torch.tensor([1, 40, 3]), torch.tensor([2, 41, 5]))}
    for case, (start, end) in cases.items():
        with torch.no_grad():
            out = model(ids, start_positions=start, end_positions=end)
            got = student_fn(out.start_logits, out.end_logits, start.clone(), end.clone())
        _heads_compare(f"QA loss ({case})", got, out.loss)
    return True


def check_mean_pooling(student_fn) -> bool:
    """Check ``student_fn(last_hidden_state, attention_mask) -> sentence embeddings``.

    ``last_hidden_state`` is ``(B, T, H)`` and ``attention_mask`` ``(B, T)`` with 1 for real tokens;
    the result ``(B, H)`` is the mean over real tokens only, so a padded sentence must get exactly
    the embedding the library gives the same sentence alone without padding.
    """
    import torch

    from bertedu.modeling import BertModel

    torch.manual_seed(0)
    model = BertModel(_heads_config()).eval()
    lengths = [7, 3, 5]
    ids = torch.randint(1, model.config.vocab_size, (len(lengths), max(lengths)))  # (B, T)
    mask = (torch.arange(max(lengths)) < torch.tensor(lengths)[:, None]).long()  # (B, T)
    ids = ids * mask
    with torch.no_grad():
        hidden = model(ids, attention_mask=mask).last_hidden_state  # (B, T, H)
        got = student_fn(hidden, mask)
        alone = torch.stack([model(ids[i:i + 1, :n]).last_hidden_state[0].mean(0)
                             for i, n in enumerate(lengths)])  # (B, H)
    _heads_compare("sentence embeddings (padded batch vs each sentence alone)", got, alone)
    return True


def check_causal_mask(student_fn) -> bool:
    """Check ``student_fn(attention_mask, query_length) -> allowed`` for a decoder.

    ``attention_mask`` is ``(B, S)`` (1 = real token, 0 = padding) over all key positions, of which
    the last ``query_length`` are the queries (the first ``S - query_length`` are cached). The
    result is a boolean ``(B, 1, query_length, S)``, True where a query may attend to a key: the key
    is real and not in the future. It is compared with where the library's decoder puts nonzero
    attention probability.
    """
    import torch

    from bertedu.modeling import BertModel

    torch.manual_seed(0)
    model = BertModel(_heads_config(is_decoder=True), add_pooling_layer=False).eval()
    lengths = [8, 5]
    S = max(lengths)
    ids = torch.randint(1, model.config.vocab_size, (len(lengths), S))  # (B, S)
    mask = (torch.arange(S) < torch.tensor(lengths)[:, None]).long()  # (B, S), right padding
    with torch.no_grad():
        for past in (0, 3):
            if past:
                cache = model(ids[:, :past], attention_mask=mask[:, :past],
                              use_cache=True).past_key_values
                out = model(ids[:, past:], attention_mask=mask, past_key_values=cache,
                            output_attentions=True)
            else:
                out = model(ids, attention_mask=mask, output_attentions=True)
            expected = out.attentions[0].amax(dim=1, keepdim=True) > 0  # (B, 1, T, S)
            got = student_fn(mask.clone(), S - past)
            label = f"allowed positions ({past} cached keys)" if past else "allowed positions"
            _heads_compare(label, got, expected)
    return True


# --- chapters 10-11: pretraining ---------------------------------------------------------------


def check_truncate_seq_pair(student_fn) -> bool:
    """Check ``student_fn(tokens_a, tokens_b, max_num_tokens, rng)`` (trims in place).

    Over many random pairs: the total fits, only the longer side is cut at each step (so the
    final lengths equal the library's), each side stays a contiguous piece of itself, and both
    the front and the back get trimmed.
    """
    import random

    from .nsp import truncate_seq_pair

    rng = random.Random(0)
    fronts = backs = 0
    for trial in range(300):
        a = list(range(rng.randint(1, 40)))
        b = list(range(1000, 1000 + rng.randint(1, 40)))
        max_num = rng.randint(2, 60)
        got_a, got_b, ref_a, ref_b = list(a), list(b), list(a), list(b)
        student_fn(got_a, got_b, max_num, random.Random(trial))
        truncate_seq_pair(ref_a, ref_b, max_num, random.Random(trial))
        where = f"(len(a)={len(a)}, len(b)={len(b)}, max_num_tokens={max_num})"
        if (len(got_a), len(got_b)) != (len(ref_a), len(ref_b)):
            raise AssertionError(
                f"lengths after truncation {where}: got {(len(got_a), len(got_b))}, expected "
                f"{(len(ref_a), len(ref_b))} (trim the longer list, one token at a time)"
            )
        for name, got, orig in (("tokens_a", got_a, a), ("tokens_b", got_b, b)):
            if got and got != orig[orig.index(got[0]) : orig.index(got[0]) + len(got)]:
                raise AssertionError(f"{name} is not a contiguous piece of the input {where}")
        fronts += bool(got_a) and got_a[0] != a[0]
        backs += bool(got_a) and got_a[-1] != a[-1]
    if fronts < 20 or backs < 20:
        raise AssertionError(
            f"tokens were trimmed from the front {fronts} times and from the back {backs} times; "
            "choose the end at random (rng.random() < 0.5)"
        )
    return True


def check_mask_tokens(student_fn) -> bool:
    """Check ``student_fn(input_ids, special_tokens_mask, mask_token_id, vocab_size,
    mlm_probability, generator) -> (masked_input_ids, labels)`` (all ``(B, T)`` tensors).

    On 200 x 128 random ids with 10% special positions: about 15% of the non-special tokens
    picked (+/- 0.01), never a special one; of the picked 80% [MASK], 10% random, 10% unchanged
    (+/- 0.015); labels the original ids at picked positions and -100 elsewhere; the input
    untouched elsewhere and not modified in place.
    """
    import torch

    g = torch.Generator().manual_seed(0)
    vocab, mask_id = 1000, 4
    ids = torch.randint(5, vocab, (200, 128), generator=g)  # (B, T)
    special = torch.rand(ids.shape, generator=g) < 0.1  # (B, T)
    before = ids.clone()
    out, labels = student_fn(ids, special, mask_id, vocab, 0.15, torch.Generator().manual_seed(1))
    if not torch.equal(ids, before):
        raise AssertionError("the input tensor was modified in place; clone it first")
    if out.shape != ids.shape or labels.shape != ids.shape:
        raise AssertionError(
            f"shapes {tuple(out.shape)}, {tuple(labels.shape)} differ from {tuple(ids.shape)}"
        )
    picked = labels != -100
    if (picked & special).any():
        raise AssertionError("a special token was picked for prediction")
    if not torch.equal(labels[picked], ids[picked]):
        raise AssertionError("labels must hold the original ids at the picked positions")
    if not torch.equal(out[~picked], ids[~picked]):
        raise AssertionError("positions that are not picked must stay unchanged")
    frac = picked.sum().item() / (~special).sum().item()
    if abs(frac - 0.15) > 0.01:
        raise AssertionError(f"{frac:.3f} of the non-special tokens were picked, expected 0.15")
    n = picked.sum().item()
    masked = (out[picked] == mask_id).sum().item() / n
    kept = (out[picked] == ids[picked]).sum().item() / n
    for name, value, target in (("[MASK]", masked, 0.8), ("random", 1 - masked - kept, 0.1),
                                ("unchanged", kept, 0.1)):
        if abs(value - target) > 0.015:
            raise AssertionError(f"{value:.3f} of the picked tokens are {name}, expected {target}")
    return True



# --- chapter 12: timing ------------------------------------------------------------------------


def check_varlen_attention(fn) -> bool:
    """Check a per-sequence attention on packed tokens against ``bertedu.unpadded``.

    ``fn(q, k, v, lengths)`` takes ``(N, A, d)`` packed queries, keys and values of sequences of
    the given ``lengths`` (``sum(lengths) == N``) and returns the ``(N, A, d)`` outputs where each
    sequence attends only to itself (no dropout).
    """
    import torch

    from .unpadded import pack, varlen_attention

    g = torch.Generator().manual_seed(12)
    for lengths in ([3, 5, 1], [7], [2, 2, 2, 2]):
        mask = torch.zeros(len(lengths), max(lengths), dtype=torch.long)
        for row, n in enumerate(lengths):
            mask[row, :n] = 1
        q, k, v = (torch.randn(sum(lengths), 2, 4, generator=g) for _ in range(3))
        expected = varlen_attention(q, k, v, pack(mask), backend="loop")
        got = fn(q, k, v, list(lengths))
        if not isinstance(got, torch.Tensor) or got.shape != expected.shape:
            shape = tuple(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__
            raise AssertionError(f"lengths {lengths}: expected shape {tuple(expected.shape)}, "
                                 f"got {shape}")
        torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5,
                                   msg=lambda m, n=lengths: f"lengths {n}: {m}")
    return True
