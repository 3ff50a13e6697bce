"""BERT's input embeddings: word + position + token type, then LayerNorm and dropout.

Each input token ``t`` at position ``i`` in segment ``s`` becomes one vector of width ``H``:

$$ e_i = \\mathrm{LayerNorm}(W^{tok}_{t} + W^{pos}_{i} + W^{seg}_{s}) $$

followed by dropout. The three tables are learned. The position table is added only when
``position_embedding_type == "absolute"``; with the relative types the attention layers receive
the positions through their ``distance_embedding`` instead, and the (unused) absolute table is still
created so that state dicts keep the same keys (the reference does the same).

With a key/value cache (incremental decoding) the new tokens start at position
``past_key_values_length``, not 0.

References:
    Devlin et al. (2018), BERT, section 3.2 (input representation, figure 2).
"""

from __future__ import annotations

import torch
from torch import nn

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


class BertEmbeddings(nn.Module):
    """Word + absolute position + token type embeddings, LayerNorm, dropout."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.config = config
        self.word_embeddings = nn.Embedding(
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
