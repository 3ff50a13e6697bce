"""The Transformer encoder stack: L identical layers, then the pooler.

One layer (post-LayerNorm, as in BERT and the original Transformer) is

$$ a = \\mathrm{LN}(x + \\mathrm{MultiHead}(x)), \\qquad
   y = \\mathrm{LN}(a + W_2\\, \\mathrm{act}(W_1 a + b_1) + b_2) $$

with dropout on each sublayer output before the residual sum. A decoder layer (``is_decoder`` and
``add_cross_attention``) inserts a cross-attention sublayer over the encoder output between the
two. The pooler maps the final hidden state of the first token (``[CLS]``) through a dense layer
and ``tanh``; the next-sentence and sequence-classification heads read it.

References:
    Vaswani et al. (2017), Attention Is All You Need, section 3.1 and 3.3.
    Devlin et al. (2018), BERT, section 3 (GELU activation, [CLS] pooling).
    Hendrycks and Gimpel (2016), Gaussian Error Linear Units.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

from ..config import BertConfig
from .attention import BertAttention, dropout_rows

ACT2FN: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "gelu": F.gelu,  # exact erf form, as in the BERT release
    "gelu_new": lambda x: F.gelu(x, approximate="tanh"),  # the tanh approximation
    "gelu_pytorch_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "relu": F.relu,
    "silu": F.silu,
    "swish": F.silu,
    "tanh": torch.tanh,
}

# A layer's cache: (self_k, self_v) or (self_k, self_v, cross_k, cross_v), each (B, A, T, d).
LayerCache = tuple[torch.Tensor, ...]


class BertIntermediate(nn.Module):
    """First feed-forward layer and activation: (B, T, H) -> (B, T, intermediate_size)."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.intermediate_size)
        self.intermediate_act_fn = ACT2FN[config.hidden_act]

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.intermediate_act_fn(self.dense(hidden_states))  # (B, T, I)


class BertOutput(nn.Module):
    """Second feed-forward layer, dropout, residual, post-LayerNorm: (B, T, I) -> (B, T, H)."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.intermediate_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, hidden_states: torch.Tensor, input_tensor: torch.Tensor,
                full_len: int | None = None) -> torch.Tensor:
        """``full_len``: the inputs are the first rows of ``full_len`` positions (dropout draws
        for all of them, :func:`~bertedu.model.attention.dropout_rows`)."""
        return self.LayerNorm(dropout_rows(self.dense(hidden_states), self.dropout, full_len)
                              + input_tensor)  # (B, T, H)


class BertLayer(nn.Module):
    """Self-attention, optional cross-attention, feed-forward; each with residual + LayerNorm."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.attention = BertAttention(config)
        self.is_decoder = config.is_decoder
        self.add_cross_attention = config.add_cross_attention
        if self.add_cross_attention:
            # cross-attention has no relative positions: queries and keys live in different texts
            self.crossattention = BertAttention(config, position_embedding_type="absolute")
        self.intermediate = BertIntermediate(config)
        self.output = BertOutput(config)

    def forward(
        self,
        hidden_states: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        head_mask: torch.Tensor | None = None,
        encoder_hidden_states: torch.Tensor | None = None,
        encoder_attention_mask: torch.Tensor | None = None,
        past_key_value: LayerCache | None = None,
        output_attentions: bool = False,
        use_cache: bool = True,
        rows: int | None = None,
    ) -> tuple[torch.Tensor, LayerCache | None, torch.Tensor | None, torch.Tensor | None]:
        """One layer on (B, T, H); masks are additive (see ``extended_attention_mask``).

        ``rows``: compute the output of the first ``rows`` positions only, (B, rows, H): they
        attend to every position, and nothing else depends on the other outputs when this is the
        last layer and only [CLS] is read (``BertModel(pooled_only=True)``). Self-attention
        without a cache or cross-attention only.

        Returns ``(hidden (B, T, H), cache for this layer or None when not ``use_cache``,
        self-attention probs, cross probs)``.
        """
        self_past = past_key_value[:2] if past_key_value is not None else None
        if rows is not None and encoder_hidden_states is not None:
            raise ValueError("rows applies to a layer without cross-attention only")
        attention_output, self_probs, present = self.attention(
            hidden_states, attention_mask, head_mask, None, self_past, output_attentions, rows
        )
        cross_probs = None
        if encoder_hidden_states is not None:
            if not self.add_cross_attention:
                raise ValueError(
                    "encoder_hidden_states were passed but the model has no cross-attention: "
                    "build it with is_decoder=True and add_cross_attention=True"
                )
            cross_past = (
                past_key_value[2:] if past_key_value is not None and len(past_key_value) == 4
                else None
            )
            attention_output, cross_probs, cross_present = self.crossattention(
                attention_output, encoder_attention_mask, head_mask, encoder_hidden_states,
                cross_past, output_attentions,
            )
            present = present + cross_present  # (self_k, self_v, cross_k, cross_v)
        if not use_cache:
            present = None  # frees this layer's keys and values before the feed-forward peak
        layer_output = self.output(self.intermediate(attention_output), attention_output,
                                   hidden_states.shape[1])
        return layer_output, present, self_probs, cross_probs


class BertEncoder(nn.Module):
    """A stack of ``num_hidden_layers`` :class:`BertLayer` (attribute ``layer``, a ModuleList)."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.config = config
        self.layer = nn.ModuleList([BertLayer(config) for _ in range(config.num_hidden_layers)])
        self.gradient_checkpointing = False

    def forward(
        self,
        hidden_states: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        head_mask: torch.Tensor | None = None,
        encoder_hidden_states: torch.Tensor | None = None,
        encoder_attention_mask: torch.Tensor | None = None,
        past_key_values: tuple[LayerCache, ...] | None = None,
        use_cache: bool = False,
        output_attentions: bool = False,
        output_hidden_states: bool = False,
        last_layer_rows: int | None = None,
    ) -> tuple:
        """Run every layer on (B, T, H); ``head_mask`` is (L, 1, A, 1, 1) or None.
        ``last_layer_rows``: the last layer computes only its first rows (see ``BertLayer``), so
        ``last_hidden_state`` is (B, rows, H).

        Returns ``(last_hidden_state, past_key_values, hidden_states, attentions,
        cross_attentions)``; an entry is ``None`` when not requested. ``hidden_states`` holds
        L + 1 tensors (the embeddings, then each layer's output).
        """
        checkpointing = self.gradient_checkpointing and self.training
        if checkpointing:
            use_cache = False  # recomputation and a growing cache do not mix
        if past_key_values is not None and len(past_key_values) != len(self.layer):
            raise ValueError(
                f"past_key_values has {len(past_key_values)} entries; expected one per layer "
                f"({len(self.layer)})"
            )
        all_hidden = (hidden_states,) if output_hidden_states else None
        all_self = () if output_attentions else None
        all_cross = () if output_attentions and self.config.add_cross_attention else None
        presents = () if use_cache else None
        for i, layer in enumerate(self.layer):
            past = past_key_values[i] if past_key_values is not None else None
            layer_head_mask = head_mask[i] if head_mask is not None else None
            rows = last_layer_rows if i == len(self.layer) - 1 else None
            args = (hidden_states, attention_mask, layer_head_mask, encoder_hidden_states,
                    encoder_attention_mask, past, output_attentions, use_cache, rows)
            if checkpointing:
                outputs = checkpoint(layer, *args, use_reentrant=False)
            else:
                outputs = layer(*args)
            hidden_states, present, self_probs, cross_probs = outputs
            if use_cache:
                presents = presents + (present,)
            if output_hidden_states:
                all_hidden = all_hidden + (hidden_states,)
            if output_attentions:
                all_self = all_self + (self_probs,)
                if all_cross is not None:
                    all_cross = all_cross + (cross_probs,)
        return hidden_states, presents, all_hidden, all_self, all_cross


class BertPooler(nn.Module):
    """tanh(W h_[CLS] + b): (B, T, H) -> (B, H)."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.activation = nn.Tanh()

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.activation(self.dense(hidden_states[:, 0]))  # (B, H)
