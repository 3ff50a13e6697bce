"""The pretraining heads: masked-language-model prediction and next-sentence prediction.

Masked LM (BERT's "MLM"): each final hidden vector ``h`` goes through a transform and is scored
against every vocabulary entry with the *input* embedding matrix ``E`` (V, H), so the output
projection is tied to the word embeddings (Press and Wolf, 2017):

$$ \\mathrm{logits} = E\\, \\mathrm{LN}(\\mathrm{act}(W h + b)) + b_{out} $$

Only the bias ``b_out`` (V) is a parameter of its own. Next sentence prediction (NSP): a linear
layer on the pooled ``[CLS]`` vector gives two scores (IsNext, NotNext).

References:
    Devlin et al. (2018), BERT, section 3.1 (Task #1: Masked LM, Task #2: NSP) and appendix A.1.
    Press and Wolf (2017), Using the Output Embedding to Improve Language Models.
"""

from __future__ import annotations

import torch
from torch import nn

from ..config import BertConfig
from .encoder import ACT2FN


class BertPredictionHeadTransform(nn.Module):
    """dense -> activation -> LayerNorm on (B, T, H)."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.transform_act_fn = ACT2FN[config.hidden_act]
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.transform_act_fn(self.dense(hidden_states)))  # (B, T, H)


class BertLMPredictionHead(nn.Module):
    """Transform, then scores over the vocabulary: (B, T, H) -> (B, T, V).

    ``decoder.weight`` is replaced by the word-embedding matrix when the model ties its weights;
    ``decoder.bias`` *is* ``bias`` (one parameter under two names, as in the reference).
    """

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.transform = BertPredictionHeadTransform(config)
        self.decoder = nn.Linear(config.hidden_size, config.vocab_size, bias=False)
        self.bias = nn.Parameter(torch.zeros(config.vocab_size))
        self.decoder.bias = self.bias

    def _tie_weights(self) -> None:
        self.decoder.bias = self.bias

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.transform(hidden_states))  # (B, T, V)


class BertOnlyMLMHead(nn.Module):
    """The MLM head alone (``cls.predictions``)."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.predictions = BertLMPredictionHead(config)

    def forward(self, sequence_output: torch.Tensor) -> torch.Tensor:
        return self.predictions(sequence_output)  # (B, T, V)


class BertOnlyNSPHead(nn.Module):
    """The NSP head alone (``cls.seq_relationship``): (B, H) -> (B, 2)."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.seq_relationship = nn.Linear(config.hidden_size, 2)

    def forward(self, pooled_output: torch.Tensor) -> torch.Tensor:
        return self.seq_relationship(pooled_output)  # (B, 2)


class BertPreTrainingHeads(nn.Module):
    """Both pretraining heads: returns (MLM scores (B, T, V), NSP scores (B, 2))."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.predictions = BertLMPredictionHead(config)
        self.seq_relationship = nn.Linear(config.hidden_size, 2)

    def forward(
        self, sequence_output: torch.Tensor, pooled_output: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return self.predictions(sequence_output), self.seq_relationship(pooled_output)
