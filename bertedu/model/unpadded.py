"""Unpadded (variable-length) BERT: compute only on real tokens, never on padding.

A padded batch of ``B`` sequences with lengths ``t_1, ..., t_B`` padded to ``T`` spends the
dense layers' work on ``B * T`` token positions, of which only ``N = sum_b t_b`` are real. Every
layer of BERT except attention acts on each token independently (embeddings, the Q/K/V and output
projections, the feed-forward block, LayerNorm, the MLM head), so we may *pack* the real tokens
into one ``(N, H)`` matrix, run those layers on it, and pad back at the end. Attention is the one
place where tokens meet; there each sequence attends only to itself:

$$ O_b = \\mathrm{softmax}\\left(\\frac{Q_b K_b^\\top}{\\sqrt{d}}\\right) V_b,
   \\qquad Q_b = Q[c_b : c_{b+1}] $$

with ``c = cu_seqlens = (0, t_1, t_1 + t_2, ..., N)`` the cumulative offsets of the sequences in
the packed matrix. This is mathematically the padded forward: padded keys get weight
``exp(-inf) = 0`` there, and here they are simply absent. The work falls from
``O(B T (H^2) + B T^2 H)`` to ``O(N H^2 + sum_b t_b^2 H)``.

Three attention back ends compute the per-sequence attention:

* ``"flash"``: the packed ``(N, A, d)`` Q, K, V go straight into PyTorch's variable-length
  FlashAttention kernel (``torch.ops.aten._flash_attention_forward`` with ``cu_seqlens``, the
  kernel that SDPA itself calls); one launch for the whole batch, dropout included, gradients
  through its registered backward. CUDA, float16/bfloat16, head width a multiple of 8 up to 256.
* ``"nested"``: the packed Q, K, V become nested tensors in the jagged layout
  (``torch.nested.nested_tensor_from_jagged``, offsets ``cu_seqlens``) and go through
  ``scaled_dot_product_attention``, which on CUDA dispatches to the variable-length FlashAttention
  or memory-efficient kernel (one launch for the whole batch).
* ``"loop"``: one dense SDPA call per sequence; portable and exact (the CPU default).

``"auto"`` takes ``flash`` where it applies and ``loop`` elsewhere. On an H200, bert-base, float16,
``nested`` added about 100 ms of fixed cost per training step (the nested-tensor wrapper runs in
Python for every operation, forward and backward), which is why ``flash`` calls the kernel
directly (both measurements are in ``bertedu/bench/results/``).

The functions reuse the model's own modules and weights (nothing is copied), so gradients flow
into the model as usual and the unpadded forward can train it.

Only the encoder with absolute positions is supported: relative position scores
(``relative_key``/``relative_key_query``) and decoders (causal masks, key/value caches) raise a
``NotImplementedError`` that names the feature.

References:
    NVIDIA FasterTransformer's "effective transformer" (2020), which removes padding between
    the layers of a BERT encoder (the packing idea); Dao et al. (2022), FlashAttention,
    section 3 (variable-length kernels); Vaswani et al. (2017), section 3.2.1 (scaled
    dot-product attention).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

ATTENTION_BACKENDS = ("auto", "flash", "nested", "loop")


@dataclass
class PackedBatch:
    """Where the real tokens of a padded ``(B, T)`` batch sit in the packed ``(N,)`` order.

    Attributes:
        indices: ``(N,)`` int64 positions of the real tokens in the flattened ``(B * T,)`` batch.
        cu_seqlens: ``(B + 1,)`` int64 cumulative lengths ``(0, t_1, t_1 + t_2, ..., N)``.
        lengths: the ``B`` lengths ``t_b`` as Python ints.
        batch_size: ``B``.
        seq_len: ``T``.
    """

    indices: torch.Tensor
    cu_seqlens: torch.Tensor
    lengths: list[int]
    batch_size: int
    seq_len: int

    @property
    def num_tokens(self) -> int:
        """``N``, the number of real tokens."""
        return int(self.indices.numel())

    def cu_seqlens_on(self, device: torch.device) -> torch.Tensor:
        """``cu_seqlens`` as int32 on ``device`` (the kernels' format), converted once."""
        cached = self.__dict__.get("_cu32")
        if cached is None or cached.device != device:
            cached = self.cu_seqlens.to(device=device, dtype=torch.int32)
            self.__dict__["_cu32"] = cached
        return cached


def pack(attention_mask: torch.Tensor) -> PackedBatch:
    """Describe the real tokens of a padded batch from its ``(B, T)`` 0/1 attention mask.

    Any 0/1 pattern is allowed (right or left padding); every row needs at least one real token.
    """
    if attention_mask.dim() != 2:
        raise ValueError(
            f"attention_mask must have shape (batch, seq_len), got {tuple(attention_mask.shape)}"
        )
    mask = attention_mask.bool()  # (B, T)
    if not torch.equal(mask.to(attention_mask.dtype), attention_mask):
        raise ValueError("attention_mask must hold only 0 and 1 (1 = real token, 0 = padding)")
    lengths_t = mask.sum(dim=1)  # (B,)
    lengths = [int(n) for n in lengths_t.tolist()]
    if min(lengths) == 0:
        raise ValueError(f"row {lengths.index(0)} of attention_mask has no real token")
    indices = mask.flatten().nonzero().squeeze(1)  # (N,)
    cu_seqlens = F.pad(lengths_t.cumsum(0), (1, 0))  # (B + 1,)
    batch_size, seq_len = mask.shape
    return PackedBatch(indices, cu_seqlens, lengths, batch_size, seq_len)


def unpad(x: torch.Tensor, packed: PackedBatch) -> torch.Tensor:
    """Gather the real tokens: ``(B, T, ...)`` -> ``(N, ...)``."""
    return x.flatten(0, 1).index_select(0, packed.indices)  # (N, ...)


def pad(x: torch.Tensor, packed: PackedBatch, value: float = 0.0) -> torch.Tensor:
    """Scatter packed tokens back: ``(N, ...)`` -> ``(B, T, ...)``, ``value`` at padding."""
    full = x.new_full((packed.batch_size * packed.seq_len, *x.shape[1:]), value)  # (B*T, ...)
    full = full.index_copy(0, packed.indices, x)  # (B*T, ...)
    return full.view(packed.batch_size, packed.seq_len, *x.shape[1:])  # (B, T, ...)


def varlen_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    packed: PackedBatch,
    dropout_p: float = 0.0,
    backend: str = "auto",
) -> torch.Tensor:
    """Per-sequence scaled dot-product attention on packed heads.

    Args:
        q, k, v: ``(N, A, d)`` packed queries, keys and values (``A`` heads of width ``d``).
        packed: the layout from :func:`pack`.
        dropout_p: dropout on the attention probabilities (pass 0.0 in eval mode).
        backend: ``"flash"`` (the variable-length FlashAttention kernel), ``"nested"`` (jagged
            nested tensors + SDPA), ``"loop"`` (one SDPA per sequence) or ``"auto"`` (``flash``
            where it applies, else ``loop``).

    Returns:
        ``(N, A, d)`` attention outputs in the packed order.
    """
    check_backend(backend)
    if backend == "auto":
        backend = "flash" if flash_applies(q) else "loop"
    if backend == "flash":
        if not flash_applies(q):
            raise ValueError(
                "attention backend 'flash' needs CUDA tensors in float16 or bfloat16 with a head "
                f"width that is a multiple of 8 up to 256; got {q.device.type} {q.dtype} with "
                f"width {q.shape[-1]} (use 'auto', 'nested' or 'loop')")
        cu = packed.cu_seqlens_on(q.device)  # (B + 1,) int32
        longest = max(packed.lengths)
        out = torch.ops.aten._flash_attention_forward(
            q, k, v, cu, cu, longest, longest, dropout_p, False, False)[0]  # (N, A, d)
        return out
    if backend == "nested":
        offsets = packed.cu_seqlens.to(q.device)  # (B + 1,)
        # the length bounds are known on the host: passing them spares SDPA a device-to-host
        # read of max(lengths) per call (three per layer)
        bounds = {"min_seqlen": min(packed.lengths), "max_seqlen": max(packed.lengths)}

        def jagged(x: torch.Tensor) -> torch.Tensor:
            nt = torch.nested.nested_tensor_from_jagged(x, offsets=offsets,
                                                        **bounds)  # (B, j, A, d)
            return nt.transpose(1, 2)  # (B, A, j, d)

        with warnings.catch_warnings():  # the CPU math fallback warns that nested is a prototype
            warnings.filterwarnings("ignore", message=".*nested tensors is in prototype.*")
            out = F.scaled_dot_product_attention(jagged(q), jagged(k), jagged(v),
                                                 dropout_p=dropout_p)  # (B, A, j, d)
        return out.transpose(1, 2).values()  # (N, A, d)
    outs = []
    for qb, kb, vb in zip(q.split(packed.lengths), k.split(packed.lengths),
                          v.split(packed.lengths), strict=True):  # each (t_b, A, d)
        ob = F.scaled_dot_product_attention(qb.transpose(0, 1), kb.transpose(0, 1),
                                            vb.transpose(0, 1), dropout_p=dropout_p)  # (A, t_b, d)
        outs.append(ob.transpose(0, 1))  # (t_b, A, d)
    return torch.cat(outs, dim=0)  # (N, A, d)


def check_backend(backend: str) -> None:
    """``ValueError`` unless ``backend`` is one of :data:`ATTENTION_BACKENDS`."""
    if backend not in ATTENTION_BACKENDS:
        raise ValueError(f"unknown attention backend {backend!r}; expected one of "
                         f"{ATTENTION_BACKENDS}")


def flash_applies(q: torch.Tensor) -> bool:
    """Whether the ``flash`` back end can take queries like ``q`` (``(N, A, d)``)."""
    return (q.is_cuda and q.dtype in (torch.float16, torch.bfloat16)
            and q.shape[-1] % 8 == 0 and q.shape[-1] <= 256)


def _check_supported(config) -> None:
    if getattr(config, "position_embedding_type", "absolute") != "absolute":
        raise NotImplementedError(
            "unpadded forward supports absolute position embeddings only, got "
            f"position_embedding_type={config.position_embedding_type!r} (relative position "
            "scores need the padded (T, T) score matrix)"
        )
    if getattr(config, "is_decoder", False) or getattr(config, "add_cross_attention", False):
        raise NotImplementedError(
            "unpadded forward supports the bidirectional encoder only; decoders (is_decoder, "
            "causal masks, cross-attention, key/value caches) are not supported"
        )


def _split_model(model: nn.Module) -> tuple[nn.Module, nn.Module | None]:
    """(BertModel, MLM head or None) for a BertModel or a BertForMaskedLM."""
    if hasattr(model, "bert") and hasattr(model, "cls"):
        return model.bert, model.cls
    if hasattr(model, "embeddings") and hasattr(model, "encoder"):
        return model, None
    raise TypeError(
        f"unpadded forward expects a BertModel or BertForMaskedLM, got {type(model).__name__}"
    )


def unpadded_encoder(
    bert: nn.Module,
    input_ids: torch.Tensor,
    packed: PackedBatch,
    token_type_ids: torch.Tensor | None = None,
    attention: str = "auto",
) -> torch.Tensor:
    """Run a BertModel's embeddings and encoder on the real tokens only.

    Args:
        bert: a ``BertModel`` (its submodules are used, in place).
        input_ids: ``(B, T)`` token ids.
        packed: the layout from :func:`pack` of the batch's attention mask.
        token_type_ids: ``(B, T)`` segment ids (zeros when ``None``).
        attention: back end for :func:`varlen_attention`.

    Returns:
        ``(N, H)`` final hidden states of the real tokens, in packed order.
    """
    config = bert.config
    _check_supported(config)
    emb = bert.embeddings
    B, T = input_ids.shape
    if T > config.max_position_embeddings:
        raise ValueError(f"sequence length {T} exceeds max_position_embeddings "
                         f"({config.max_position_embeddings})")
    # absolute positions are the column indices, exactly as in the padded model
    positions = torch.arange(T, device=input_ids.device).expand(B, T)  # (B, T)
    if token_type_ids is None:
        token_type_ids = torch.zeros_like(input_ids)  # (B, T)
    ids = unpad(input_ids, packed)  # (N,)
    x = (emb.word_embeddings(ids) + emb.position_embeddings(unpad(positions, packed))
         + emb.token_type_embeddings(unpad(token_type_ids, packed)))  # (N, H)
    x = emb.LayerNorm(x)  # (N, H)
    x = F.dropout(x, config.hidden_dropout_prob, training=bert.training)  # (N, H)

    A, d = config.num_attention_heads, config.hidden_size // config.num_attention_heads
    p_attn = config.attention_probs_dropout_prob if bert.training else 0.0
    for layer in bert.encoder.layer:
        attn = layer.attention.self
        q = attn.query(x).view(-1, A, d)  # (N, A, d)
        k = attn.key(x).view(-1, A, d)  # (N, A, d)
        v = attn.value(x).view(-1, A, d)  # (N, A, d)
        ctx = varlen_attention(q, k, v, packed, p_attn, attention).reshape(-1, A * d)  # (N, H)
        h = layer.attention.output(ctx, x)  # (N, H): dense, dropout, LayerNorm(. + x)
        x = layer.output(layer.intermediate(h), h)  # (N, H): feed-forward sublayer
    return x


@dataclass
class UnpaddedOutput:
    """Outputs of :func:`unpadded_forward`, padded back to ``(B, T, ...)`` (zeros at padding).

    Attributes:
        last_hidden_state: ``(B, T, H)`` final hidden states.
        pooler_output: ``(B, H)`` pooled ``[CLS]`` state (BertModel with a pooler only).
        logits: ``(B, T, V)`` MLM logits (BertForMaskedLM only).
        loss: MLM cross-entropy over labelled real tokens when ``labels`` were given.
    """

    last_hidden_state: torch.Tensor
    pooler_output: torch.Tensor | None = None
    logits: torch.Tensor | None = None
    loss: torch.Tensor | None = None


def unpadded_forward(
    model: nn.Module,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor | None = None,
    token_type_ids: torch.Tensor | None = None,
    labels: torch.Tensor | None = None,
    attention: str = "auto",
    pad_logits: bool = True,
) -> UnpaddedOutput:
    """The forward of a BertModel or BertForMaskedLM computed on real tokens only.

    Equal (up to floating-point rounding) to ``model(input_ids, attention_mask, ...)`` at every
    real token; padding positions of the returned tensors are zero. The MLM head and loss run on
    the packed tokens, so padding costs nothing there either.

    Args:
        model: a ``BertModel`` or ``BertForMaskedLM`` with absolute positions, not a decoder.
        input_ids: ``(B, T)`` token ids.
        attention_mask: ``(B, T)`` 1 for real tokens, 0 for padding (all ones when ``None``).
        token_type_ids: ``(B, T)`` segment ids.
        labels: ``(B, T)`` MLM targets, ``-100`` where no loss is taken (padding never counts).
        attention: ``"auto"``, ``"nested"`` or ``"loop"`` (see :func:`varlen_attention`).
        pad_logits: scatter the MLM logits back to ``(B, T, V)`` (the default). With ``False``
            ``logits`` stays the packed ``(N, V)`` matrix (real tokens in packed order): a
            training step that needs only the loss then never allocates the ``B * T * V``
            padded logits (2 GB for bert-base at batch 64 x 512 in float16).
    """
    bert, head = _split_model(model)
    check_backend(attention)
    if attention_mask is None:
        attention_mask = torch.ones_like(input_ids)  # (B, T)
    packed = pack(attention_mask)
    hidden = unpadded_encoder(bert, input_ids, packed, token_type_ids, attention)  # (N, H)
    last_hidden_state = pad(hidden, packed)  # (B, T, H)
    if head is None:
        pooler = getattr(bert, "pooler", None)
        pooled = pooler(last_hidden_state) if pooler is not None else None  # (B, H)
        return UnpaddedOutput(last_hidden_state, pooler_output=pooled)
    logits = head(hidden)  # (N, V)
    loss = None
    if labels is not None:
        loss = F.cross_entropy(logits.float(), unpad(labels, packed), ignore_index=-100)
    return UnpaddedOutput(last_hidden_state, logits=pad(logits, packed) if pad_logits else logits,
                          loss=loss)


def compile_model(model: nn.Module, **compile_kwargs) -> nn.Module:
    """``torch.compile`` a model for the benchmark (kernel fusion with TorchInductor).

    Keyword arguments go to ``torch.compile`` (e.g. ``mode="max-autotune"``, ``dynamic=True``,
    ``backend="eager"`` to test tracing without code generation). The returned module shares the
    original's parameters.
    """
    return torch.compile(model, **compile_kwargs)


def compile_unpadded(model: nn.Module, attention: str = "auto", pad_logits: bool = True,
                     **compile_kwargs):
    """A compiled ``(input_ids, attention_mask, token_type_ids=None, labels=None) -> output``.

    The number of real tokens changes from batch to batch, so shapes are marked dynamic unless
    ``dynamic`` is given.
    """
    compile_kwargs.setdefault("dynamic", True)

    def forward(input_ids, attention_mask, token_type_ids=None, labels=None):
        return unpadded_forward(model, input_ids, attention_mask, token_type_ids, labels,
                                attention, pad_logits)

    return torch.compile(forward, **compile_kwargs)
