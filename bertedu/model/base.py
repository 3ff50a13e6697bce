"""The base class every BERT model shares, and the glue between a model and its ``BertModel``.

``BertPreTrainedModel`` holds what does not depend on the architecture on top: weight
initialisation (every Linear and Embedding weight drawn from N(0, ``initializer_range``), zero
biases, LayerNorm at 1/0), tying the masked-LM decoder to the word embeddings (one tensor under
two names), gradient checkpointing switches, parameter counting, and checkpoint I/O
(``from_pretrained`` / ``save_pretrained``, implemented in :mod:`bertedu.model.checkpoints`).

Every model's inputs pass one check before its ``forward`` runs (a forward pre-hook): each tensor
argument is a ``torch.Tensor`` or ``None``, so a tokenizer's lists (``return_tensors`` not set)
fail at once with what to do, not with an ``AttributeError`` deep inside.

The helpers below it are shared by every model that wraps a ``BertModel`` (the pretraining models
in :mod:`bertedu.model.modeling`, the fine-tuning models in :mod:`bertedu.model.task_models`):
default the output flags from the config, call the encoder with ``return_dict=True``, and return
a dataclass or the reference's tuple.

References:
    Press and Wolf (2017), Using the Output Embedding to Improve Language Models (weight tying).
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from ..config import BertConfig
from . import checkpoints
from .heads import BertLMPredictionHead
from .outputs import ModelOutput

# ---------------------------------------------------------------------------------- input check
# forward arguments that must be tensors (or None)
TENSOR_ARGUMENTS = frozenset((
    "input_ids", "attention_mask", "token_type_ids", "position_ids", "head_mask",
    "inputs_embeds", "encoder_hidden_states", "encoder_attention_mask", "labels",
    "next_sentence_label", "start_positions", "end_positions",
))


def _tensor_argument_error(model: nn.Module, name: str, value: Any) -> TypeError:
    kind = type(value).__name__
    if isinstance(value, Mapping):  # the whole tokenizer output passed as one argument
        fix = ("unpack it: model(**batch), with batch = tokenizer(..., return_tensors='pt')")
    else:
        fix = ("pass return_tensors='pt' to the tokenizer (or wrap the ids in torch.tensor, "
               "with a batch dimension)")
    return TypeError(f"{type(model).__name__}: {name} must be a torch.Tensor, got a {kind}; {fix}")


def check_tensor_inputs(model: nn.Module, args: tuple, kwargs: dict[str, Any]) -> None:
    """Forward pre-hook: raise ``TypeError`` if a tensor argument is a list, a dict, an array...

    Positional arguments are named from the model's ``forward`` signature.
    """
    names = _forward_parameters(type(model))
    for name, value in (*zip(names, args, strict=False), *kwargs.items()):
        if value is not None and name in TENSOR_ARGUMENTS and not isinstance(value, torch.Tensor):
            raise _tensor_argument_error(model, name, value)


_PARAMETERS: dict[type, tuple[str, ...]] = {}


def _forward_parameters(cls: type) -> tuple[str, ...]:
    if cls not in _PARAMETERS:
        _PARAMETERS[cls] = tuple(inspect.signature(cls.forward).parameters)[1:]  # minus self
    return _PARAMETERS[cls]


# ---------------------------------------------------------------------------------- base class
class BertPreTrainedModel(nn.Module):
    """Weight initialisation, weight tying and checkpoint I/O shared by every BERT model."""

    config_class = BertConfig
    base_model_prefix = "bert"
    supports_gradient_checkpointing = True
    # parameters that are copies of others and therefore not required in a checkpoint
    _tied_weights_keys: list[str] = []

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        if not isinstance(config, BertConfig):
            raise TypeError(
                f"{type(self).__name__} expects a bertedu BertConfig, got {type(config).__name__}"
            )
        self.config = config
        self.register_forward_pre_hook(_check_inputs_hook, with_kwargs=True)

    def post_init(self) -> None:
        """Initialise every weight, then tie the output embeddings to the input ones."""
        self.apply(self._init_weights)
        self.tie_weights()

    def _init_weights(self, module: nn.Module) -> None:
        """N(0, initializer_range) for Linear and Embedding weights, zero biases, LayerNorm 1/0."""
        std = self.config.initializer_range
        with torch.no_grad():
            if isinstance(module, nn.Linear):
                module.weight.normal_(0.0, std)
                if module.bias is not None:
                    module.bias.zero_()
            elif isinstance(module, nn.Embedding):
                module.weight.normal_(0.0, std)
                if module.padding_idx is not None:
                    module.weight[module.padding_idx].zero_()
            elif isinstance(module, nn.LayerNorm):
                module.weight.fill_(1.0)
                module.bias.zero_()
            elif isinstance(module, BertLMPredictionHead):
                module.bias.zero_()

    def get_input_embeddings(self) -> nn.Embedding:
        base = getattr(self, self.base_model_prefix, self)
        return base.embeddings.word_embeddings

    def set_input_embeddings(self, value: nn.Embedding) -> None:
        """Replace the word-embedding table (of the wrapped ``BertModel`` for a head model)."""
        base = getattr(self, self.base_model_prefix, self)
        base.embeddings.word_embeddings = value

    def get_output_embeddings(self) -> nn.Linear | None:
        cls = getattr(self, "cls", None)
        predictions = getattr(cls, "predictions", None)
        return predictions.decoder if predictions is not None else None

    def tie_weights(self) -> None:
        """Share the MLM decoder matrix with the word embeddings (one tensor, two names)."""
        output = self.get_output_embeddings()
        if output is None:
            return
        if self.config.tie_word_embeddings:
            output.weight = self.get_input_embeddings().weight
        self.cls.predictions._tie_weights()

    def gradient_checkpointing_enable(self) -> None:
        """Recompute each layer's activations in the backward pass (less memory, more time)."""
        getattr(self, self.base_model_prefix, self).encoder.gradient_checkpointing = True

    def gradient_checkpointing_disable(self) -> None:
        getattr(self, self.base_model_prefix, self).encoder.gradient_checkpointing = False

    def num_parameters(self, exclude_embeddings: bool = False) -> int:
        """Number of distinct parameters (tied ones counted once)."""
        params = {id(p): p for name, p in self.named_parameters()
                  if not (exclude_embeddings and "embeddings" in name)}
        return sum(p.numel() for p in params.values())

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        return next(self.parameters()).dtype

    @classmethod
    def from_pretrained(
        cls, name_or_path: str | os.PathLike, attn_implementation: str | None = None,
        **kwargs: Any,
    ):
        """Load a transformers checkpoint (directory or Hub id); see :mod:`.checkpoints`.

        Keywords: ``dtype``/``torch_dtype``, ``subfolder``, Hub options, or config fields.
        """
        return checkpoints.from_pretrained(
            cls, name_or_path, attn_implementation=attn_implementation, **kwargs
        )

    def save_pretrained(self, save_directory: str | os.PathLike) -> None:
        """Write ``config.json`` + ``model.safetensors`` that transformers loads unchanged."""
        checkpoints.save_pretrained(self, save_directory)


def _check_inputs_hook(module: nn.Module, args: tuple, kwargs: dict[str, Any]) -> None:
    check_tensor_inputs(module, args, kwargs)


# ---------------------------------------------------------------------------------- helpers
def _flag(value: bool | None, default: bool) -> bool:
    return default if value is None else value


def _base_inputs(
    input_ids, attention_mask, token_type_ids, position_ids, head_mask, inputs_embeds,
    output_attentions, output_hidden_states,
) -> dict[str, Any]:
    return dict(
        input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids,
        position_ids=position_ids, head_mask=head_mask, inputs_embeds=inputs_embeds,
        output_attentions=output_attentions, output_hidden_states=output_hidden_states,
        return_dict=True,
    )


def _finish(output: ModelOutput, return_dict: bool | None, config: BertConfig):
    return output if _flag(return_dict, config.return_dict) else output.to_tuple()


def _classifier_dropout(config: BertConfig) -> nn.Dropout:
    p = config.classifier_dropout
    return nn.Dropout(config.hidden_dropout_prob if p is None else p)
