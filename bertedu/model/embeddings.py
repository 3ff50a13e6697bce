"""BERT's input embeddings: word + position + token type, then LayerNorm and dropout.

Each input token ``t`` at position ``i`` in segment ``s`` becomes one vector of width ``H``:

$$ e_i = \\mathrm{LayerNorm}(W^{tok}_{t} + W^{pos}_{i} + W^{seg}_{s}) $$

followed by dropout. The three tables are learned. The position table is added only when
``position_embedding_type == "absolute"``; with the relative types the attention layers receive
the positions through their ``distance_embedding`` instead, and the (unused) absolute table is still
created so that state dicts keep the same keys (the reference does the same).

With a key/value cache (incremental decoding) the new tokens start at position
``past_key_values_length``, not 0.

The word table is a :class:`WordEmbedding`: an ``nn.Embedding`` (same weight, same state-dict
key) whose weight gradient, on the CPU, is written into one buffer kept from step to step
instead of a fresh ``V x H`` tensor each backward pass (see its docstring).

References:
    Devlin et al. (2018), BERT, section 3.2 (input representation, figure 2).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.weak import WeakTensorKeyDictionary

from ..config import BertConfig


def _tracing() -> bool:
    """True while ``torch.compile`` or ``torch.export`` traces the model: a graph cannot branch
    on tensor values, so value checks are left to the eager runs."""
    return torch.compiler.is_compiling()


def check_ids_in_range(ids: torch.Tensor, upper: int, name: str, config_field: str) -> None:
    """Raise ``ValueError`` if any id is negative or ``>= upper``.

    The check runs on CPU tensors only: on an accelerator it would force a host-device sync on every
    forward pass, and PyTorch's own device-side index assertion catches the error there.
    """
    if ids.device.type != "cpu" or ids.numel() == 0 or _tracing():
        return
    low, high = torch.aminmax(ids)
    if int(low) < 0 or int(high) >= upper:
        raise ValueError(
            f"{name} must be in [0, {config_field}={upper}); got values in "
            f"[{int(low)}, {int(high)}]"
        )


# the references to a storage, where PyTorch exposes them (a private function; without it the
# gradient buffer is never reused and every backward pass allocates, as nn.Embedding does)
_storage_use_count = getattr(torch._C, "_storage_Use_Count", None)
# weight -> its gradient buffer, dropped with the weight
_GRAD_BUFFERS: WeakTensorKeyDictionary = WeakTensorKeyDictionary()


def _free(buffer: torch.Tensor) -> bool:
    """True if nothing but ``buffer`` itself holds its memory (no ``.grad``, no tensor a user
    kept, no gradient of this same backward pass)."""
    storage = buffer.untyped_storage()  # this Python handle is one reference
    return _storage_use_count is not None and _storage_use_count(storage._cdata) <= 2


class _EmbeddingGradInBuffer(torch.autograd.Function):
    """``F.embedding(ids, weight)`` whose weight gradient goes into a kept buffer."""

    @staticmethod
    def forward(ctx, ids: torch.Tensor, weight: torch.Tensor, padding_idx: int) -> torch.Tensor:
        ctx.save_for_backward(ids)
        ctx.weight = weight  # the parameter itself: its .grad is looked at in backward
        ctx.padding_idx = padding_idx
        return F.embedding(ids, weight)  # (..., H)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (ids,) = ctx.saved_tensors
        weight, pad = ctx.weight, ctx.padding_idx
        buffer = _GRAD_BUFFERS.get(weight)
        if (torch.is_grad_enabled() or weight.grad is not None or grad.dtype != weight.dtype
                or (buffer is not None and not _free(buffer))):
            # double backward, accumulation into an existing .grad, or the buffer in use:
            # PyTorch's own kernel into new memory
            return None, torch.ops.aten.embedding_dense_backward(
                grad, ids, weight.shape[0], pad, False), None
        if buffer is None or buffer.shape != weight.shape or buffer.dtype != weight.dtype:
            buffer = torch.zeros(weight.shape, dtype=weight.dtype, device=weight.device)
            _GRAD_BUFFERS[weight] = buffer
        else:
            buffer.zero_()
        # row ids[i] += grad[i], in the order of i: the sums of PyTorch's CPU kernel, bit for bit
        buffer.index_add_(0, ids.reshape(-1), grad.reshape(-1, grad.shape[-1]))
        if pad >= 0:
            buffer[pad] = 0  # the padding row gets no gradient
        return None, buffer.detach(), None  # shares the buffer's memory; .grad takes it over


class WordEmbedding(nn.Embedding):
    """The token table: ``nn.Embedding`` with a cheaper weight gradient on the CPU.

    The gradient of ``E[ids]`` with respect to the table ``E`` (V x H) is zero except on the rows
    of the ids seen, ``dE_t = sum_{i: ids_i = t} dy_i``. PyTorch computes it into a newly
    allocated V x H tensor each backward pass, and once the optimizer has used it, setting the
    gradients to ``None`` frees it again. For BERT's 30,522 x 768 table that is 94 MB; memory
    that large goes back to the operating system when freed, so every step pays for
    fresh pages, zeroed by the kernel one page at a time. Here (CPU, training, no gradient already
    present) the gradient is written into one buffer kept between steps: zeroed in place, the
    rows added in the order PyTorch adds them (the same values, bit for bit), and handed over as
    ``weight.grad`` without a copy. The buffer is reused only when nothing else holds it: not a
    ``.grad`` still set, not a gradient tensor the caller kept from an earlier step (those are
    never overwritten), not a second use of the table in the same backward pass. Otherwise, and
    for double backward, on accelerators (whose allocators cache memory already) and while
    ``torch.compile``, ``torch.export`` or the JIT traces, it is ``nn.Embedding`` unchanged.
    The cost is one V x H buffer alive between steps, the memory the gradient occupies anyway
    while it is set.
    """

    def forward(self, input: torch.Tensor) -> torch.Tensor:  # noqa: A002 (nn.Embedding's name)
        if (self.weight.device.type != "cpu" or not self.weight.requires_grad
                or not torch.is_grad_enabled() or self.max_norm is not None
                or self.scale_grad_by_freq or self.sparse or _storage_use_count is None
                or torch.compiler.is_compiling() or torch.jit.is_tracing()
                or torch.jit.is_scripting()):
            return super().forward(input)
        pad = -1 if self.padding_idx is None else self.padding_idx
        return _EmbeddingGradInBuffer.apply(input, self.weight, pad)


class BertEmbeddings(nn.Module):
    """Word + absolute position + token type embeddings, LayerNorm, dropout."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.config = config
        self.word_embeddings = WordEmbedding(
            config.vocab_size, config.hidden_size, padding_idx=config.pad_token_id
        )
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, config.hidden_size)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, config.hidden_size)
        # `LayerNorm` keeps its TensorFlow capitalisation: checkpoint keys depend on it.
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        self.position_embedding_type = config.position_embedding_type
        # Non-persistent buffers: default positions 0..P-1 and segment 0, never saved.
        self.register_buffer(
            "position_ids", torch.arange(config.max_position_embeddings).expand((1, -1)),
            persistent=False,
        )  # (1, P)
        self.register_buffer(
            "token_type_ids", torch.zeros(1, config.max_position_embeddings, dtype=torch.long),
            persistent=False,
        )  # (1, P)

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        past_key_values_length: int = 0,
    ) -> torch.Tensor:
        """Embed ``input_ids`` (B, T) or ``inputs_embeds`` (B, T, H); return (B, T, H)."""
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("pass exactly one of input_ids and inputs_embeds")
        if input_ids is not None:
            if input_ids.dim() != 2:
                raise ValueError(
                    f"input_ids must have shape (batch, seq_len), got {tuple(input_ids.shape)}"
                )
            check_ids_in_range(input_ids, self.config.vocab_size, "input_ids", "vocab_size")
            batch, seq_len = input_ids.shape
        else:
            if inputs_embeds.dim() != 3 or inputs_embeds.shape[-1] != self.config.hidden_size:
                raise ValueError(
                    f"inputs_embeds must have shape (batch, seq_len, {self.config.hidden_size}), "
                    f"got {tuple(inputs_embeds.shape)}"
                )
            batch, seq_len = inputs_embeds.shape[:2]
        end = past_key_values_length + seq_len
        if end > self.config.max_position_embeddings:
            raise ValueError(
                f"sequence too long: {seq_len} tokens after {past_key_values_length} cached ones "
                f"reach position {end}, but max_position_embeddings is "
                f"{self.config.max_position_embeddings}"
            )
        if position_ids is None:
            position_ids = self.position_ids[:, past_key_values_length:end]  # (1, T)
        else:
            check_ids_in_range(
                position_ids, self.config.max_position_embeddings, "position_ids",
                "max_position_embeddings",
            )
        if token_type_ids is None:
            token_type_ids = self.token_type_ids[:, :seq_len].expand(batch, seq_len)  # (B, T)
        else:
            check_ids_in_range(
                token_type_ids, self.config.type_vocab_size, "token_type_ids", "type_vocab_size"
            )
        if inputs_embeds is None:
            inputs_embeds = self.word_embeddings(input_ids)  # (B, T, H)
        embeddings = inputs_embeds + self.token_type_embeddings(token_type_ids)  # (B, T, H)
        if self.position_embedding_type == "absolute":
            embeddings += self.position_embeddings(position_ids)  # (B, T, H), in place
        return self.dropout(self.LayerNorm(embeddings))  # (B, T, H)
