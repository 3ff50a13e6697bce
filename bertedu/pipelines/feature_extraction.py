"""Feature extraction: the encoder's vectors as the product, per token or per sentence.

``feature-extraction`` returns the last hidden states ``H = encoder(x)``, one ``d``-vector per
token (``[CLS]`` and ``[SEP]`` included), as transformers does: for each text a nested list of
shape ``(1, T, d)``, or a tensor with ``return_tensors=True``.

``sentence-embeddings`` turns a text into one vector, the recipe of Sentence-BERT models such as
all-MiniLM-L6-v2: the mean of the token vectors over the real tokens (attention mask ``m``),
then unit length,

    u = sum_t m_t H_t / sum_t m_t,        e = u / max(||u||_2, 1e-12)

so that the dot product ``e_a . e_b`` is the cosine similarity of two texts. It returns a list
of ``d`` floats per text (a ``(d,)`` tensor with ``return_tensors=True``).

References:
    Devlin et al., 2019, "BERT", Section 5.4 (feature-based use of the encoder).
    Reimers and Gurevych, 2019, "Sentence-BERT", Section 3 (MEAN pooling).
    sentence-transformers/all-MiniLM-L6-v2 model card (mean pooling, then normalisation).
"""

from __future__ import annotations

from typing import Any

import torch

from ..model import BertModel
from .base import Pipeline


def mean_pooling(last_hidden_state: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """``(B, T, d)`` token vectors and a ``(B, T)`` 0/1 mask -> ``(B, d)``, the real tokens' mean.

    ``u_b = sum_t m_bt H_bt / max(sum_t m_bt, 1e-9)``: padding positions get weight 0, so a padded
    sentence gets the vector it gets alone (Sentence-BERT's MEAN pooling, Section 3).
    """
    if last_hidden_state.dim() != 3 or attention_mask.shape != last_hidden_state.shape[:2]:
        raise ValueError(f"mean_pooling takes (B, T, d) states and a (B, T) mask; got "
                         f"{tuple(last_hidden_state.shape)} and {tuple(attention_mask.shape)}")
    m = attention_mask.unsqueeze(-1).to(last_hidden_state.dtype)  # (B, T, 1)
    return (last_hidden_state * m).sum(dim=1) / m.sum(dim=1).clamp(min=1e-9)  # (B, d)


class FeatureExtractionPipeline(Pipeline):
    """``pipe("some text", truncation=False, return_tensors=False)`` -> ``(1, T, d)`` list."""

    task = "feature-extraction"
    model_class = BertModel
    forward_outputs = ("last_hidden_state",)

    def split_parameters(
        self, truncation: bool = False, return_tensors: bool = False, **kwargs: Any
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        super().split_parameters(**kwargs)
        return {"truncation": truncation}, {"return_tensors": return_tensors}

    def preprocess(self, item: Any, truncation: bool = False) -> list[dict[str, Any]]:
        if not isinstance(item, str):
            raise TypeError(f"{self.task} takes a text (str), got {type(item).__name__}")
        return [self.encode(item, truncation=truncation)]

    def postprocess(
        self, features: list[dict[str, Any]], rows: list[dict[str, torch.Tensor]],
        return_tensors: bool = False,
    ) -> Any:
        n = len(features[0]["input_ids"])
        hidden = rows[0]["last_hidden_state"][:n].unsqueeze(0)  # (1, T, d)
        return hidden if return_tensors else hidden.tolist()


class SentenceEmbeddingPipeline(FeatureExtractionPipeline):
    """``pipe(["a text", "another"], return_tensors=False)`` -> one unit vector per text.

    Texts are truncated to the tokenizer's ``model_max_length`` (as the model card's recipe).
    """

    task = "sentence-embeddings"

    def split_parameters(
        self, truncation: bool = True, return_tensors: bool = False, **kwargs: Any
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        return super().split_parameters(truncation, return_tensors, **kwargs)

    def postprocess(
        self, features: list[dict[str, Any]], rows: list[dict[str, torch.Tensor]],
        return_tensors: bool = False,
    ) -> Any:
        n = len(features[0]["input_ids"])
        hidden = rows[0]["last_hidden_state"][:n]  # (T, d), the real tokens only
        mean = mean_pooling(hidden[None], torch.ones(1, n, dtype=torch.long))[0]  # (d,)
        embedding = torch.nn.functional.normalize(mean, p=2, dim=0, eps=1e-12)  # (d,)
        return embedding if return_tensors else embedding.tolist()
