"""Fill-mask: the pretraining task of BERT, used as a product.

The masked language model gives, at each ``[MASK]`` position ``m``, a distribution over the
vocabulary,

    p(w | x) = softmax(h_m W^T + b)_w,        h_m = transform(encoder(x)_m)

and the pipeline returns the ``top_k`` words with their probability, the token id, the token as
text and the input with the mask filled in. ``targets`` restricts the choice to a few words: the
probabilities stay those of the full softmax, only the ranking is over the targets (a word that
is not a single vocabulary entry stands for its first word piece).

A text may hold several masks: each gets its own top-k list, computed independently from the
same forward pass (the other masks stay ``[MASK]`` in the filled sequence, and the special
tokens are kept there so that the result stays readable), as transformers does.

References:
    Devlin et al., 2019, "BERT", Section 3.1, Task #1: Masked LM.
    Hugging Face transformers documentation, "FillMaskPipeline" (output fields).
"""

from __future__ import annotations

from typing import Any

import torch

from ..model import BertForMaskedLM
from .base import Pipeline


class FillMaskPipeline(Pipeline):
    """``pipe("Paris is the [MASK] of France.", top_k=5, targets=None)``.

    Returns, per text, a list of ``{"score", "token", "token_str", "sequence"}`` dicts (a list
    of such lists when the text has several masks).
    """

    task = "fill-mask"
    model_class = BertForMaskedLM

    def split_parameters(
        self, top_k: int = 5, targets: str | list[str] | None = None, **kwargs: Any
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        super().split_parameters(**kwargs)
        if top_k < 1:
            raise ValueError(f"top_k must be >= 1, got {top_k}")
        target_ids = None if targets is None else self.target_ids(targets)
        if target_ids is not None:
            top_k = min(top_k, len(target_ids))
        return {}, {"top_k": top_k, "target_ids": target_ids}

    def target_ids(self, targets: str | list[str]) -> list[int]:
        """Vocabulary ids of ``targets``; a word outside the vocabulary -> its first piece."""
        if isinstance(targets, str):
            targets = [targets]
        vocab = self.tokenizer.get_vocab()
        ids = []
        for target in targets:
            if target in vocab:
                ids.append(vocab[target])
                continue
            pieces = self.tokenizer(target, add_special_tokens=False)["input_ids"]
            if pieces:
                ids.append(pieces[0])
        if not ids:
            raise ValueError(f"none of the targets {targets!r} is in the vocabulary")
        return sorted(set(ids))

    def preprocess(self, item: Any) -> list[dict[str, Any]]:
        if not isinstance(item, str):
            raise TypeError(f"fill-mask takes a text (str), got {type(item).__name__}")
        feature = self.encode(item)
        mask_id = self.tokenizer.mask_token_id
        feature["masks"] = [i for i, t in enumerate(feature["input_ids"]) if t == mask_id]
        if not feature["masks"]:
            raise ValueError(
                f"fill-mask needs a {self.tokenizer.mask_token} token in its input, found none "
                f"in {item!r}"
            )
        return [feature]

    def postprocess(
        self, features: list[dict[str, Any]], rows: list[dict[str, torch.Tensor]],
        top_k: int = 5, target_ids: list[int] | None = None,
    ) -> list[dict[str, Any]] | list[list[dict[str, Any]]]:
        feature, logits = features[0], rows[0]["logits"]  # logits: (T, V)
        masks = feature["masks"]
        probs = logits[masks].softmax(dim=-1)  # (M, V)
        if target_ids is not None:
            probs = probs[:, target_ids]  # (M, len(targets))
        values, picks = probs.topk(top_k, dim=-1)  # (M, k)
        single = len(masks) == 1
        results = []
        for position, scores, choices in zip(masks, values.tolist(), picks.tolist(), strict=True):
            row = []
            for score, choice in zip(scores, choices, strict=True):
                token = choice if target_ids is None else target_ids[choice]
                filled = list(feature["input_ids"])
                filled[position] = token
                row.append({
                    "score": score,
                    "token": token,
                    "token_str": self.tokenizer.decode([token]),
                    # one mask: a clean sentence; several: keep [MASK] and the specials visible
                    "sequence": self.tokenizer.decode(filled, skip_special_tokens=single),
                })
            results.append(row)
        return results[0] if single else results

    def __call__(self, inputs: str | list[str], **kwargs: Any) -> Any:
        """As transformers: a list holding one text gives that text's result, not a list."""
        result = super().__call__(inputs, **kwargs)
        if isinstance(inputs, list) and len(inputs) == 1:
            return result[0]
        return result
