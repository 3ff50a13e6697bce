"""Model outputs: one dataclass per kind of result, readable as an object, a dict or a tuple.

Every ``forward`` of a bertedu model returns one of these dataclasses (or, with
``return_dict=False``, the plain tuple of its fields). The same result reads three ways:

* attribute: ``out.logits``;
* dictionary: ``out["logits"]``, ``out.keys()``, ``"loss" in out``;
* tuple: ``out[0]``, ``out.to_tuple()``, ``loss, logits = out[:2]``.

Fields that are ``None`` (no labels, so no ``loss``; attentions not requested) are skipped by
the dict and tuple views, so ``out[0]`` is the loss when labels were given and the logits
otherwise, exactly like the reference. Class and field names (``last_hidden_state``,
``pooler_output``, ``prediction_logits``, ``seq_relationship_logits``, ``start_logits``, ...)
are those of Hugging Face ``transformers``, so code written against either library reads the
other's outputs unchanged. Shapes: B batch, T tokens, H hidden size, V vocabulary, A heads,
L layers, S encoder tokens (cross-attention).

References:
    Devlin et al. (2018), BERT, section 3 (what the pretraining heads predict) and section 4
    (the fine-tuning outputs); the transformers ``ModelOutput`` API (field names and order).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import torch

Tensor = torch.Tensor
OptTensor = torch.Tensor | None


@dataclass
class ModelOutput:
    """A dataclass that also reads like the reference's ``ModelOutput``.

    ``out.logits``, ``out["logits"]`` and ``out[0]`` all work; integer indices and ``to_tuple()``
    skip the fields that are ``None``; iterating yields the names of the fields that are set.
    """

    def keys(self) -> list[str]:
        return [f.name for f in fields(self) if getattr(self, f.name) is not None]

    def values(self) -> list[Any]:
        return [getattr(self, k) for k in self.keys()]

    def items(self) -> list[tuple[str, Any]]:
        return [(k, getattr(self, k)) for k in self.keys()]

    def to_tuple(self) -> tuple:
        return tuple(self.values())

    def __getitem__(self, key: str | int | slice) -> Any:
        if isinstance(key, str):
            if key not in self.keys():
                raise KeyError(key)
            return getattr(self, key)
        return self.to_tuple()[key]

    def __iter__(self):
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self.keys())

    def __contains__(self, key: object) -> bool:
        return key in self.keys()


@dataclass
class BaseModelOutputWithPoolingAndCrossAttentions(ModelOutput):
    last_hidden_state: OptTensor = None  # (B, T, H)
    pooler_output: OptTensor = None  # (B, H)
    hidden_states: tuple[Tensor, ...] | None = None  # L + 1 x (B, T, H)
    past_key_values: tuple[tuple[Tensor, ...], ...] | None = None  # L x (k, v[, ck, cv])
    attentions: tuple[Tensor, ...] | None = None  # L x (B, A, T, T_k)
    cross_attentions: tuple[Tensor, ...] | None = None  # L x (B, A, T, S)


@dataclass
class BertForPreTrainingOutput(ModelOutput):
    loss: OptTensor = None
    prediction_logits: OptTensor = None  # (B, T, V)
    seq_relationship_logits: OptTensor = None  # (B, 2)
    hidden_states: tuple[Tensor, ...] | None = None
    attentions: tuple[Tensor, ...] | None = None


@dataclass
class CausalLMOutputWithCrossAttentions(ModelOutput):
    loss: OptTensor = None
    logits: OptTensor = None  # (B, T, V)
    past_key_values: tuple[tuple[Tensor, ...], ...] | None = None
    hidden_states: tuple[Tensor, ...] | None = None
    attentions: tuple[Tensor, ...] | None = None
    cross_attentions: tuple[Tensor, ...] | None = None


@dataclass
class MaskedLMOutput(ModelOutput):
    loss: OptTensor = None
    logits: OptTensor = None  # (B, T, V)
    hidden_states: tuple[Tensor, ...] | None = None
    attentions: tuple[Tensor, ...] | None = None


@dataclass
class NextSentencePredictorOutput(ModelOutput):
    loss: OptTensor = None
    logits: OptTensor = None  # (B, 2)
    hidden_states: tuple[Tensor, ...] | None = None
    attentions: tuple[Tensor, ...] | None = None


@dataclass
class SequenceClassifierOutput(ModelOutput):
    loss: OptTensor = None
    logits: OptTensor = None  # (B, num_labels)
    hidden_states: tuple[Tensor, ...] | None = None
    attentions: tuple[Tensor, ...] | None = None


@dataclass
class MultipleChoiceModelOutput(ModelOutput):
    loss: OptTensor = None
    logits: OptTensor = None  # (B, num_choices)
    hidden_states: tuple[Tensor, ...] | None = None
    attentions: tuple[Tensor, ...] | None = None


@dataclass
class TokenClassifierOutput(ModelOutput):
    loss: OptTensor = None
    logits: OptTensor = None  # (B, T, num_labels)
    hidden_states: tuple[Tensor, ...] | None = None
    attentions: tuple[Tensor, ...] | None = None


@dataclass
class QuestionAnsweringModelOutput(ModelOutput):
    loss: OptTensor = None
    start_logits: OptTensor = None  # (B, T)
    end_logits: OptTensor = None  # (B, T)
    hidden_states: tuple[Tensor, ...] | None = None
    attentions: tuple[Tensor, ...] | None = None

