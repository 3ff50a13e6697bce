"""Multi-head scaled dot-product attention, self and cross, with optional relative positions.

For each head the input ``X`` (T, H) is projected to queries, keys and values of width ``d = H/A``
and the output is

$$ \\mathrm{Attention}(Q, K, V)
   = \\mathrm{softmax}\\Big(\\frac{QK^\\top + R}{\\sqrt{d}} + M\\Big) V $$

where ``M`` is an additive mask (0 where a key may be seen, a very large negative number where it
may not: padding, or the future in a decoder) and ``R`` is the relative-position term (0 for
``absolute`` positions). The ``A`` head outputs are concatenated back to width ``H``.

Relative positions: a learned ``distance_embedding`` ``D`` has one row of width ``d`` for every
distance ``i - j`` in ``[-(P-1), P-1]`` (so ``2P - 1`` rows, ``P = max_position_embeddings``).

* ``relative_key`` (Shaw et al., 2018): ``R_ij = q_i . D_{i-j}``
* ``relative_key_query`` (Huang et al., 2020, method 4): ``R_ij = q_i . D_{i-j} + k_j . D_{i-j}``

Two implementations compute the same function, chosen by ``config.attn_implementation``:

* ``eager``: the formula above, step by step (the teaching path). It is also used, whatever the
  setting, when ``output_attentions=True``: SDPA never materialises the probabilities.
* ``sdpa``: ``torch.nn.functional.scaled_dot_product_attention`` (fused kernels). SDPA computes
  ``softmax(QK^T / sqrt(d) + bias)``, so the relative term is passed as part of the additive bias,
  already divided by ``sqrt(d)``: ``bias = M + R / sqrt(d)``. Unlike the reference, relative
  positions therefore do not fall back to eager. In training on the CPU (float32, dropout on the
  probabilities), where SDPA has no fused kernel and runs its reference path, the same function
  is computed by :func:`dropout_attention_cpu`, which draws the same dropout mask.

Incremental decoding: a layer's cache holds the keys and values of the tokens seen so far; new
queries sit at positions ``past_len .. past_len + T - 1``, which the relative term must use.
Cross-attention keys and values depend only on the encoder output, so they are computed once and
reused.

References:
    Vaswani et al. (2017), Attention Is All You Need, section 3.2.
    Devlin et al. (2018), BERT, section 3.
    Shaw et al. (2018), Self-Attention with Relative Position Representations, section 3.
    Huang et al. (2020), Improve Transformer Models with Better Relative Position Embeddings,
    section 3.4 (method 4).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..config import BertConfig

KeyValue = tuple[torch.Tensor, torch.Tensor]


def _check_batch(mask: torch.Tensor, batch: int, expected: str, name: str) -> None:
    if mask.shape[0] not in (1, batch):
        raise ValueError(
            f"{name} has shape {tuple(mask.shape)}; expected {expected} with batch size {batch}"
        )


def extended_attention_mask(
    attention_mask: torch.Tensor | None,
    batch: int,
    q_len: int,
    k_len: int,
    dtype: torch.dtype,
    causal: bool = False,
    name: str = "attention_mask",
    device: torch.device | None = None,
) -> torch.Tensor | None:
    """Turn a keep-mask into the additive mask ``M`` broadcastable to (B, A, T_q, T_k).

    Accepted inputs: ``None``; a 2D padding mask (B, T_k) with 1 = attend, 0 = ignore; a 3D mask
    (B, T_q, T_k) of the same meaning; or a 4D mask (B, 1 or A, T_q, T_k) that is already additive
    (0 = attend, large negative = ignore; used as given, so it must already contain any causal
    part; a boolean 4D mask means True = attend and is combined with the causal mask). With
    ``causal=True`` query ``i`` (at absolute position ``k_len - q_len + i``, after the cache) may
    not see later keys. Returns ``None`` when nothing is masked, so SDPA can use its fastest path.
    ``device`` places the causal mask when no ``attention_mask`` is given.
    """
    if attention_mask is not None:
        device = attention_mask.device
    if attention_mask is None:
        keep = None
    elif attention_mask.dim() == 2:
        if attention_mask.shape[1] != k_len:
            raise ValueError(
                f"{name} has shape {tuple(attention_mask.shape)}; expected (batch, {k_len}) "
                f"(one entry per key, cached keys included)"
            )
        _check_batch(attention_mask, batch, f"(batch, {k_len})", name)
        keep = attention_mask[:, None, None, :].bool()  # (B, 1, 1, T_k)
        if keep.device.type == "cpu" and not torch.compiler.is_compiling() and bool(keep.all()):
            # nothing padded: no mask lets SDPA take its fastest kernel. Checked on CPU only,
            # where it is free; on an accelerator it would cost a host-device sync per forward.
            keep = None
    elif attention_mask.dim() == 3:
        if tuple(attention_mask.shape[1:]) != (q_len, k_len):
            raise ValueError(
                f"{name} has shape {tuple(attention_mask.shape)}; expected (batch, {q_len}, "
                f"{k_len})"
            )
        _check_batch(attention_mask, batch, f"(batch, {q_len}, {k_len})", name)
        keep = attention_mask[:, None, :, :].bool()  # (B, 1, T_q, T_k)
    elif attention_mask.dim() == 4:
        if attention_mask.shape[2] not in (1, q_len) or attention_mask.shape[3] != k_len:
            raise ValueError(
                f"{name} has shape {tuple(attention_mask.shape)}; expected (batch, 1 or heads, "
                f"{q_len}, {k_len})"
            )
        _check_batch(attention_mask, batch, f"(batch, 1 or heads, {q_len}, {k_len})", name)
        if attention_mask.dtype != torch.bool:
            return attention_mask.to(dtype)  # already extended: used as given (causal included)
        keep = attention_mask
    else:
        raise ValueError(
            f"{name} has {attention_mask.dim()} dimensions (shape {tuple(attention_mask.shape)}); "
            f"expected (batch, {k_len}), (batch, {q_len}, {k_len}) or an extended 4D mask"
        )
    if causal:
        q_pos = torch.arange(k_len - q_len, k_len, device=device)[:, None]  # (T_q, 1)
        k_pos = torch.arange(k_len, device=device)[None, :]  # (1, T_k)
        causal_keep = (k_pos <= q_pos)[None, None]  # (1, 1, T_q, T_k)
        keep = causal_keep if keep is None else keep & causal_keep
    if keep is None:
        return None
    zero = torch.zeros((), dtype=dtype, device=keep.device)
    # finfo.min rather than -inf: a fully masked row stays finite (uniform), like the reference
    return torch.where(keep, zero, torch.finfo(dtype).min)  # (B|1, 1, T_q|1, T_k)


# elements of one (heads, T_q, T_k) score block in dropout_attention_cpu: 2^22 floats (16 MiB),
# the fastest of 2^17 ... 2^24 for forward + backward at (16, 12, 384, 32) on a 2-core Xeon
CPU_SCORE_BLOCK = 1 << 22


def dropout_rows(x: torch.Tensor, dropout: nn.Module, full_len: int | None = None,
                 dim: int = 1) -> torch.Tensor:
    """``dropout(x)`` where ``x`` holds only the first rows (along ``dim``) of a tensor that has
    ``full_len`` rows there: the mask is drawn for the whole tensor and its first rows are used,
    so the random stream advances exactly as dropout on the whole would and the rows kept are
    the rows the whole would keep. With ``full_len`` None (or equal to the rows present) this is
    the module's own call.
    """
    if full_len is None or full_len == x.shape[dim] or not dropout.training or dropout.p == 0.0:
        return dropout(x)
    shape = list(x.shape)
    shape[dim] = full_len
    scale = F.dropout(x.new_ones(shape), dropout.p, True).narrow(dim, 0, x.shape[dim])  # Z/(1-p)
    return x * scale


def dropout_attention_cpu(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, bias: torch.Tensor | None, p: float,
    draw_rows: int | None = None,
) -> torch.Tensor:
    """Training-mode attention with dropout on the probabilities, for the CPU.

    Computes what ``F.scaled_dot_product_attention(q, k, v, bias, dropout_p=p)`` computes in
    training, and draws its dropout mask from the generator in the same way (one
    ``bernoulli_(1 - p)`` over the whole (B, A, T_q, T_k) probability tensor), so the same seed
    drops the same entries:

    $$ O = \\frac{1}{1 - p} \\big(\\mathrm{softmax}(QK^\\top / \\sqrt{d} + M) \\odot Z\\big) V,
       \\qquad Z_{ij} \\sim \\mathrm{Bernoulli}(1 - p) $$

    (Srivastava et al., 2014, section 4, for dropout; BERT applies it to the attention
    probabilities, Devlin et al., 2018, section 3, with the Transformer's rate). On the CPU
    ``scaled_dot_product_attention`` has no fused kernel with dropout and falls back to its
    reference path, which passes over the (T_q, T_k) scores many times (a "safe" softmax, the
    scaling of the mask, two multiplications). Here the work is cut down:

    * the mask joins the score product (``baddbmm``: ``M + scale * Q K^T``, one pass);
    * a plain softmax, since the additive masks of this package are finite
      (``finfo.min``: no row is all ``-inf``; the caller keeps SDPA for masks that have one);
    * the ``1 / (1 - p)`` scale goes onto the (T_q, d) output, not the (T_q, T_k) probabilities;
    * the heads go through in blocks of at most :data:`CPU_SCORE_BLOCK` score elements, so a
      block's scores are still near the core when the softmax and the product with ``V`` read them
      (much smaller blocks lose more to the per-call cost of the kernels than they gain).

    ``q``: (B, A, T_q, d); ``k``, ``v``: (B, A, T_k, d); ``bias``: ``None`` or broadcastable to
    (B, A, T_q, T_k). ``draw_rows``: the queries are the first ``T_q`` of ``draw_rows`` (see
    :func:`dropout_rows`); the mask is drawn for all of them and its first rows are used.
    Returns (B, A, T_q, d).
    """
    batch, heads, q_len, width = q.shape
    k_len = k.shape[2]
    keep = torch.empty(batch, heads, draw_rows or q_len, k_len, dtype=q.dtype,
                       device=q.device).bernoulli_(1.0 - p)  # Z, drawn as SDPA draws it
    if keep.shape[2] != q_len:
        keep = keep[:, :, :q_len].contiguous()
    n = batch * heads
    q3 = q.reshape(n, q_len, width)
    k3 = k.reshape(n, k_len, width).transpose(1, 2)  # (B A, d, T_k)
    v3 = v.reshape(n, k_len, width)
    z3 = keep.view(n, q_len, k_len)
    scale = 1.0 / math.sqrt(width)
    block = max(1, CPU_SCORE_BLOCK // (q_len * k_len))
    count = math.ceil(n / block)
    bias_blocks: list[torch.Tensor | None] = [None] * count
    if bias is not None and bias.dim() == 4 and bias.shape[0] == bias.shape[1] == 1:
        # one mask for every sequence and head (a causal mask): broadcast, never copied
        bias_blocks = [bias.reshape(1, bias.shape[-2], k_len)] * count
    elif bias is not None:
        rows = bias.shape[-2]
        bias_blocks = list(bias.expand(batch, heads, rows, k_len).reshape(n, rows, k_len)
                           .split(block))
    # split, not slicing: the backward of a split is one concatenation per input, where each
    # slice's backward would write its piece into a fresh full-size zero tensor
    blocks = zip(q3.split(block), k3.split(block), v3.split(block), z3.split(block),
                 bias_blocks, strict=True)
    outs = []
    for qb, kb, vb, zb, bb in blocks:
        if bb is None:
            scores = torch.bmm(qb, kb).mul_(scale)
        else:
            scores = torch.baddbmm(bb, qb, kb, alpha=scale)
        outs.append(torch.bmm(torch.softmax(scores, dim=-1) * zb, vb))
    out = outs[0] if len(outs) == 1 else torch.cat(outs)
    return out.mul_(1.0 / (1.0 - p)).view(batch, heads, q_len, width)


class BertSelfAttention(nn.Module):
    """Multi-head attention (self or cross) with eager and SDPA implementations.

    Attribute names (``query``, ``key``, ``value``, ``distance_embedding``) follow the reference so
    that checkpoints load unchanged.
    """

    def __init__(self, config: BertConfig, position_embedding_type: str | None = None) -> None:
        super().__init__()
        if config.hidden_size % config.num_attention_heads != 0:
            raise ValueError(
                f"hidden_size ({config.hidden_size}) is not divisible by num_attention_heads "
                f"({config.num_attention_heads})"
            )
        self.config = config
        self.num_attention_heads = config.num_attention_heads
        self.attention_head_size = config.hidden_size // config.num_attention_heads
        self.all_head_size = self.num_attention_heads * self.attention_head_size
        self.query = nn.Linear(config.hidden_size, self.all_head_size)
        self.key = nn.Linear(config.hidden_size, self.all_head_size)
        self.value = nn.Linear(config.hidden_size, self.all_head_size)
        self.dropout = nn.Dropout(config.attention_probs_dropout_prob)
        self.position_embedding_type = position_embedding_type or config.position_embedding_type
        if self.position_embedding_type != "absolute":
            self.max_position_embeddings = config.max_position_embeddings
            self.distance_embedding = nn.Embedding(
                2 * config.max_position_embeddings - 1, self.attention_head_size
            )
        self.is_decoder = config.is_decoder

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, H) -> (B, A, T, d)."""
        batch, seq_len, _ = x.shape
        return x.view(batch, seq_len, self.num_attention_heads, self.attention_head_size).transpose(
            1, 2
        )

    def relative_scores(self, q: torch.Tensor, k: torch.Tensor,
                        q_start: int | None = None) -> torch.Tensor:
        """The relative-position term ``R`` (B, A, T_q, T_k), unscaled.

        Queries sit at positions ``q_start .. q_start + T_q - 1`` of the ``T_k`` keys; by default
        they are the last ``T_q`` (the first ``T_k - T_q`` keys come from the cache).
        ``q``: (B, A, T_q, d), ``k``: (B, A, T_k, d).
        """
        q_len, k_len = q.shape[2], k.shape[2]
        start = k_len - q_len if q_start is None else q_start
        q_pos = torch.arange(start, start + q_len, device=q.device)[:, None]  # (T_q, 1)
        k_pos = torch.arange(k_len, device=q.device)[None, :]  # (1, T_k)
        distance = q_pos - k_pos + self.max_position_embeddings - 1  # (T_q, T_k), >= 0
        table = self.distance_embedding(distance).to(q.dtype)  # (T_q, T_k, d)
        scores = torch.einsum("bhld,lrd->bhlr", q, table)  # (B, A, T_q, T_k)
        if self.position_embedding_type == "relative_key_query":
            scores = scores + torch.einsum("bhrd,lrd->bhlr", k, table)  # (B, A, T_q, T_k)
        return scores

    def forward(
        self,
        hidden_states: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        head_mask: torch.Tensor | None = None,
        encoder_hidden_states: torch.Tensor | None = None,
        past_key_value: KeyValue | None = None,
        output_attentions: bool = False,
        rows: int | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None, KeyValue]:
        """Attend from ``hidden_states`` (B, T, H) to itself or to ``encoder_hidden_states``.

        ``attention_mask`` is the additive mask from :func:`extended_attention_mask`;
        ``head_mask`` (1, A, 1, 1) multiplies each head's probabilities (1 keeps, 0 silences).
        ``past_key_value`` holds cached (keys, values), each (B, A, T_past, d): for self-attention
        the new keys are appended; for cross-attention they are reused as they are.
        ``rows``: only the first ``rows`` positions ask (self-attention without a cache): keys
        and values still come from every position, and the context is (B, rows, H); dropout
        draws as for all T queries (:func:`dropout_rows`), except inside a fused SDPA kernel on
        an accelerator, which draws for the rows it computes.
        Returns ``(context (B, T, H), probabilities (B, A, T_q, T_k) or None, (keys, values))``.
        """
        batch, q_len, _ = hidden_states.shape
        draw_rows = None
        if rows is not None and rows < q_len:
            if encoder_hidden_states is not None or past_key_value is not None:
                raise ValueError("rows applies to self-attention without a cache only")
            draw_rows, q_len = q_len, rows
            if attention_mask is not None and attention_mask.shape[-2] > 1:
                attention_mask = attention_mask[..., :rows, :]  # (B|1, 1|A, rows, T_k)
        queries = hidden_states if draw_rows is None else hidden_states[:, :q_len]
        q = self._heads(self.query(queries))  # (B, A, T_q, d)
        if encoder_hidden_states is not None:  # cross-attention
            if past_key_value is not None:
                k, v = past_key_value  # (B, A, S, d): computed at the first step, reused
            else:
                k = self._heads(self.key(encoder_hidden_states))  # (B, A, S, d)
                v = self._heads(self.value(encoder_hidden_states))  # (B, A, S, d)
        else:
            k = self._heads(self.key(hidden_states))  # (B, A, T_q, d)
            v = self._heads(self.value(hidden_states))  # (B, A, T_q, d)
            if past_key_value is not None:
                k = torch.cat([past_key_value[0], k], dim=2)  # (B, A, T_k, d)
                v = torch.cat([past_key_value[1], v], dim=2)  # (B, A, T_k, d)
        relative = None
        if self.position_embedding_type != "absolute":
            relative = self.relative_scores(q, k, 0 if draw_rows else None)  # (B, A, T_q, T_k)

        if self.config.attn_implementation == "eager" or output_attentions:
            context, probs = self._eager(q, k, v, attention_mask, relative, head_mask, draw_rows)
        else:
            context, probs = self._sdpa(q, k, v, attention_mask, relative, draw_rows), None
            if head_mask is not None:  # (P * m) V = m (P V): the mask scales each head's output
                context = context * head_mask  # (B, A, T_q, d)
        context = context.transpose(1, 2).reshape(batch, q_len, self.all_head_size)  # (B, T, H)
        # probabilities leave only on request: otherwise the (T_q, T_k) matrix is freed here
        return context, probs if output_attentions else None, (k, v)

    def _eager(self, q, k, v, mask, relative, head_mask=None, draw_rows=None):
        """softmax((QK^T + R) / sqrt(d) + M) V, step by step; returns (context, probabilities)."""
        # The (T_q, T_k) score matrix is the largest tensor here: update it in place (none of
        # these steps needs its input for the backward pass) so only one copy is ever alive.
        scores = q @ k.transpose(-1, -2)  # (B, A, T_q, T_k)
        if relative is not None:
            scores += relative
        scores /= math.sqrt(self.attention_head_size)
        if mask is not None:
            scores += mask
        probs = dropout_rows(scores.softmax(dim=-1), self.dropout, draw_rows, dim=2)  # (B,A,Tq,Tk)
        if head_mask is not None:
            probs = probs * head_mask
        return probs @ v, probs  # (B, A, T_q, d), (B, A, T_q, T_k)

    def _sdpa(self, q, k, v, mask, relative, draw_rows=None):
        """The same function with the fused kernel; R / sqrt(d) joins the additive bias."""
        bias = mask
        if relative is not None:
            relative = relative / math.sqrt(self.attention_head_size)  # SDPA scales only QK^T
            bias = relative if mask is None else relative + mask  # (B, A, T_q, T_k)
        dropout_p = self.dropout.p if self.training else 0.0
        if dropout_p > 0.0 and q.device.type == "cpu" and q.dtype == torch.float32 and not (
            mask is not None and bool(torch.isneginf(mask).all(dim=-1).any())
        ):
            return dropout_attention_cpu(q, k, v, bias, dropout_p, draw_rows)
        return F.scaled_dot_product_attention(
            q, k, v, attn_mask=bias, dropout_p=dropout_p
        )  # (B, A, T_q, d)


class BertSelfOutput(nn.Module):
    """Output projection of attention, dropout, residual connection and post-LayerNorm."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, hidden_states: torch.Tensor, input_tensor: torch.Tensor,
                full_len: int | None = None) -> torch.Tensor:
        """LayerNorm(x + Dropout(W h + b)); both inputs (B, T, H). ``full_len``: the inputs are
        the first rows of ``full_len`` positions (dropout draws for all, :func:`dropout_rows`)."""
        return self.LayerNorm(dropout_rows(self.dense(hidden_states), self.dropout, full_len)
                              + input_tensor)


class BertAttention(nn.Module):
    """The attention sublayer: ``self`` (multi-head attention) then ``output`` (residual + LN)."""

    def __init__(self, config: BertConfig, position_embedding_type: str | None = None) -> None:
        super().__init__()
        self.self = BertSelfAttention(config, position_embedding_type=position_embedding_type)
        self.output = BertSelfOutput(config)

    def forward(
        self,
        hidden_states: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        head_mask: torch.Tensor | None = None,
        encoder_hidden_states: torch.Tensor | None = None,
        past_key_value: KeyValue | None = None,
        output_attentions: bool = False,
        rows: int | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None, KeyValue]:
        """Returns ``(output (B, T, H), probabilities or None, (keys, values))``; with ``rows``
        the output holds the first ``rows`` positions only (see ``BertSelfAttention``)."""
        context, probs, present = self.self(
            hidden_states, attention_mask, head_mask, encoder_hidden_states, past_key_value,
            output_attentions, rows,
        )
        rows_out, full_len = context.shape[1], hidden_states.shape[1]
        residual = hidden_states if rows_out == full_len else hidden_states[:, :rows_out]
        return self.output(context, residual, full_len), probs, present
