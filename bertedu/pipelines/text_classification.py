"""Text classification: one label for a text (or a pair of texts) from the ``[CLS]`` vector.

The sequence-classification head gives logits ``z = W pooler([CLS]) + b`` over the ``C``
labels; the pipeline turns them into scores with the function the model was trained for:

* ``softmax`` ``p_c = exp(z_c) / sum_j exp(z_j)`` for single-label classification (``C > 1``);
* ``sigmoid`` ``p_c = 1 / (1 + exp(-z_c))`` for multi-label classification, or a model with a
  single output that is not a regression;
* ``none`` (the raw ``z``) for regression.

(``function_to_apply`` overrides that choice.) The label names come from ``config.id2label``.
With the default ``top_k`` the result is the best label; ``top_k=k`` gives the ``k`` best,
sorted, and ``top_k=None`` all of them.

References:
    Devlin et al., 2019, "BERT", Section 4.1 (GLUE: a classifier on the final [CLS] vector).
    Hugging Face transformers documentation, "TextClassificationPipeline".
"""

from __future__ import annotations

from typing import Any

import torch

from ..model import BertForSequenceClassification
from .base import Pipeline

FUNCTIONS = ("softmax", "sigmoid", "none")
_DEFAULT_TOP_K = object()  # "top_k not given": the best label only, as a bare dict


class TextClassificationPipeline(Pipeline):
    """``pipe("a great film", top_k=1, function_to_apply=None)``; a pair is
    ``{"text": ..., "text_pair": ...}``. Returns ``{"label", "score"}`` dicts."""

    task = "text-classification"
    model_class = BertForSequenceClassification

    def split_parameters(
        self, top_k: Any = _DEFAULT_TOP_K, function_to_apply: str | None = None,
        truncation: bool = False, **kwargs: Any,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        super().split_parameters(**kwargs)
        if function_to_apply is None:
            function_to_apply = self.default_function()
        function_to_apply = function_to_apply.lower()
        if function_to_apply not in FUNCTIONS:
            raise ValueError(
                f"function_to_apply must be one of {FUNCTIONS}, got {function_to_apply!r}"
            )
        if top_k is not _DEFAULT_TOP_K and top_k is not None and top_k < 1:
            raise ValueError(f"top_k must be >= 1 or None, got {top_k}")
        return {"truncation": truncation}, {"top_k": top_k, "function": function_to_apply}

    def default_function(self) -> str:
        """The score function implied by the model's ``problem_type`` and label count."""
        config = self.model.config
        if config.problem_type == "regression":
            return "none"
        if config.problem_type == "multi_label_classification" or config.num_labels == 1:
            return "sigmoid"
        return "softmax"

    def preprocess(self, item: Any, truncation: bool = False) -> list[dict[str, Any]]:
        if isinstance(item, dict):
            if set(item) - {"text", "text_pair"} or "text" not in item:
                raise ValueError(
                    f"a text pair is {{'text': ..., 'text_pair': ...}}, got keys {sorted(item)}"
                )
            return [self.encode(item["text"], item.get("text_pair"), truncation=truncation)]
        if not isinstance(item, str):
            raise TypeError(
                "text-classification takes a str or {'text': ..., 'text_pair': ...}, got "
                f"{type(item).__name__}"
            )
        return [self.encode(item, truncation=truncation)]

    def postprocess(
        self, features: list[dict[str, Any]], rows: list[dict[str, torch.Tensor]],
        top_k: Any = _DEFAULT_TOP_K, function: str = "softmax",
    ) -> dict[str, Any] | list[dict[str, Any]]:
        logits = rows[0]["logits"]  # (C,)
        if function == "softmax":
            scores = logits.softmax(dim=-1)  # (C,)
        elif function == "sigmoid":
            scores = logits.sigmoid()  # (C,)
        else:
            scores = logits
        id2label = self.model.config.id2label
        if top_k is _DEFAULT_TOP_K:
            best = int(scores.argmax())
            return {"label": id2label[best], "score": scores[best].item()}
        ranked = [{"label": id2label[i], "score": s} for i, s in enumerate(scores.tolist())]
        ranked.sort(key=lambda r: r["score"], reverse=True)
        return ranked if top_k is None else ranked[:top_k]

    def __call__(self, inputs: Any, **kwargs: Any) -> Any:
        """As transformers: a single text without ``top_k`` still gives a one-element list."""
        result = super().__call__(inputs, **kwargs)
        if isinstance(inputs, str) and "top_k" not in kwargs:
            return [result]
        return result
