"""Text generation for the decoder: greedy decoding and sampling through the key/value cache.

A left-to-right model gives ``p(x_{t+1} | x_{\\le t}) = softmax(logits_t / tau)``. Greedy decoding
takes the arg-max token at every step; sampling draws from that distribution, optionally
restricted to the ``top_k`` most likely tokens (Fan et al., 2018), with the temperature ``tau``
sharpening (< 1) or flattening (> 1) it. The prompt is encoded once; each new token is then a
one-token forward pass that reuses the cached keys and values of every earlier position, so a
step costs O(T) instead of re-encoding the whole sequence at O(T^2).

``GenerationMixin`` adds ``generate`` to a causal language model (``BertLMHeadModel``): it only
needs the model's forward to accept ``past_key_values`` / ``use_cache`` and return ``logits`` and
``past_key_values``.

References:
    Fan, Lewis and Dauphin (2018), Hierarchical Neural Story Generation (top-k sampling).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

Tensor = torch.Tensor
OptTensor = torch.Tensor | None


class GenerationMixin:
    """``generate`` for a causal LM whose forward takes and returns a key/value cache."""

    @torch.no_grad()
    def generate(
        self,
        input_ids: Tensor,
        max_new_tokens: int = 20,
        do_sample: bool = False,
        temperature: float = 1.0,
        top_k: int | None = None,
        eos_token_id: int | None = None,
        attention_mask: OptTensor = None,
        encoder_hidden_states: OptTensor = None,
        encoder_attention_mask: OptTensor = None,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        """Extend ``input_ids`` (B, T) by up to ``max_new_tokens`` tokens; returns (B, T + n).

        Greedy by default; ``do_sample=True`` samples from ``softmax(logits / temperature)``
        restricted to the ``top_k`` best tokens. The prompt is encoded once, then each new token
        is a one-token forward pass through the key/value cache. Sequences that produced
        ``eos_token_id`` are padded with it; generation stops when all have.
        """
        if not isinstance(input_ids, torch.Tensor) or input_ids.dim() != 2:
            kind = (f"a tensor of shape {tuple(input_ids.shape)}"
                    if isinstance(input_ids, torch.Tensor) else f"a {type(input_ids).__name__}")
            raise TypeError(f"generate: input_ids must be a (batch, length) torch.Tensor, got "
                            f"{kind}; pass return_tensors='pt' to the tokenizer")
        if max_new_tokens < 0:
            raise ValueError(f"max_new_tokens must be >= 0, got {max_new_tokens}")
        if do_sample and temperature <= 0:
            raise ValueError(f"temperature must be positive when sampling, got {temperature}")
        limit = self.config.max_position_embeddings - input_ids.shape[1]
        if max_new_tokens > limit:
            raise ValueError(
                f"{input_ids.shape[1]} prompt tokens + {max_new_tokens} new tokens exceed "
                f"max_position_embeddings={self.config.max_position_embeddings}"
            )
        was_training = self.training
        self.eval()
        tokens, cache, step_input = input_ids, None, input_ids
        done = torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)
        for _ in range(max_new_tokens):
            out = self(step_input, attention_mask=attention_mask, past_key_values=cache,
                       encoder_hidden_states=encoder_hidden_states,
                       encoder_attention_mask=encoder_attention_mask, use_cache=True)
            cache = out.past_key_values
            logits = out.logits[:, -1].float()  # (B, V)
            if do_sample:
                logits = logits / temperature
                if top_k is not None:
                    kth = torch.topk(logits, min(top_k, logits.shape[-1])).values[:, -1:]
                    logits = logits.masked_fill(logits < kth, float("-inf"))
                next_token = torch.multinomial(logits.softmax(-1), 1, generator=generator)
            else:
                next_token = logits.argmax(dim=-1, keepdim=True)  # (B, 1)
            if eos_token_id is not None:
                next_token = next_token.masked_fill(done[:, None], eos_token_id)
                done = done | (next_token[:, 0] == eos_token_id)
            tokens = torch.cat([tokens, next_token], dim=1)  # (B, T + i)
            step_input = next_token
            if attention_mask is not None:
                attention_mask = F.pad(attention_mask, (0, 1), value=1)
            if eos_token_id is not None and bool(done.all()):
                break
        self.train(was_training)
        return tokens
