"""Token classification (named entities): a label per word piece, then grouped into entities.

The token-classification head gives, for every word piece ``t``, label probabilities
``p_t = softmax(W h_t + b)``. Word pieces are not what a reader wants: "Hugging Face" is two
words and four pieces (``hug ##ging face``). The pipeline maps each piece back to its
character span ``(start, end)`` in the text (the fast tokenizer's offsets) and then aggregates:

========  ==================================================================================
none      one entry per piece: its best label, its probability and its ``index`` in the input
simple    adjacent pieces with the same entity type are merged (``B-X`` opens a new entity,
          ``I-X`` and ``X`` continue one); score = mean of their probabilities
first     first, one label per *word*: the label of the word's first piece
average   one label per word from the mean of its pieces' probability vectors
max       one label per word: that of the piece with the highest probability
========  ==================================================================================

and the word strategies then merge words as ``simple`` does. A piece continues a word when its
text (``##ging``) is longer than the characters it covers (``ging``): the ``##`` marks
WordPiece continuations; an ``[UNK]`` piece always starts a word. Entities labelled in
``ignore_labels`` (``O`` by default) are dropped at the end.

References:
    Devlin et al., 2019, "BERT", Section 5.3 (CoNLL-2003 NER with the first sub-token).
    Ramshaw and Marcus, 1995, "Text Chunking using Transformation-Based Learning" (BIO tags).
    Hugging Face transformers documentation, "TokenClassificationPipeline".
"""

from __future__ import annotations

from typing import Any

import torch

from ..model import BertForTokenClassification
from .base import Pipeline

STRATEGIES = ("none", "simple", "first", "average", "max")


def split_tag(label: str) -> tuple[str, str]:
    """``"B-PER" -> ("B", "PER")``, ``"I-PER" -> ("I", "PER")``, ``"PER" -> ("I", "PER")``."""
    if label.startswith(("B-", "I-")):
        return label[0], label[2:]
    return "I", label


class TokenClassificationPipeline(Pipeline):
    """``pipe("My name is Wolfgang.", aggregation_strategy="simple", ignore_labels=["O"])``.

    Returns a list of entities: ``{"entity", "score", "index", "word", "start", "end"}`` for
    ``none``, ``{"entity_group", "score", "word", "start", "end"}`` otherwise.
    """

    task = "token-classification"
    model_class = BertForTokenClassification
    needs_offsets = True

    def split_parameters(
        self, aggregation_strategy: str = "none", ignore_labels: list[str] | None = None,
        **kwargs: Any,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        super().split_parameters(**kwargs)
        strategy = str(aggregation_strategy).lower()
        if strategy not in STRATEGIES:
            raise ValueError(
                f"aggregation_strategy must be one of {STRATEGIES}, got {aggregation_strategy!r}"
            )
        ignore = ["O"] if ignore_labels is None else list(ignore_labels)
        return {}, {"strategy": strategy, "ignore_labels": ignore}

    def preprocess(self, item: Any) -> list[dict[str, Any]]:
        if not isinstance(item, str):
            raise TypeError(f"token-classification takes a text (str), got {type(item).__name__}")
        feature = self.encode(item, truncation=True, return_special_tokens_mask=True,
                              return_offsets_mapping=True)
        feature["text"] = item
        return [feature]

    def tokens_to_text(self, tokens: list[str]) -> str:
        """Word pieces -> text with the Rust WordPiece decoder, as transformers' fast tokenizer
        does (it also drops the space before punctuation: ``in berlin .`` -> ``in berlin.``)."""
        return self.tokenizer.backend_tokenizer.decoder.decode(tokens)

    def pieces(self, feature: dict[str, Any], probs: torch.Tensor) -> list[dict[str, Any]]:
        """One record per non-special word piece: text, probabilities, span, continuation."""
        text = feature["text"]
        records = []
        for index, token_id in enumerate(feature["input_ids"]):
            if feature["special_tokens_mask"][index]:
                continue
            start, end = feature["offset_mapping"][index]
            word = self.tokenizer.convert_ids_to_tokens(token_id)
            is_subword = len(word) != end - start
            if token_id == self.tokenizer.unk_token_id:
                word, is_subword = text[start:end], False
            records.append({"word": word, "probs": probs[index], "start": start, "end": end,
                            "index": index, "is_subword": is_subword})
        return records

    def label_pieces(self, pieces: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Strategies none / simple: each piece keeps its own best label."""
        id2label = self.model.config.id2label
        entities = []
        for piece in pieces:
            best = int(piece["probs"].argmax())
            entities.append({"entity": id2label[best], "score": piece["probs"][best].item(),
                             "index": piece["index"], "word": piece["word"],
                             "start": piece["start"], "end": piece["end"]})
        return entities

    def label_words(self, pieces: list[dict[str, Any]], strategy: str) -> list[dict[str, Any]]:
        """Strategies first / average / max: the pieces of a word agree on one label."""
        words: list[list[dict[str, Any]]] = []
        for piece in pieces:
            if piece["is_subword"] and words:
                words[-1].append(piece)
            else:
                words.append([piece])
        entities = []
        for word in words:
            if strategy == "first":
                probs = word[0]["probs"]  # (L,)
            elif strategy == "max":
                probs = max(word, key=lambda p: p["probs"].max().item())["probs"]  # (L,)
            else:
                probs = torch.stack([p["probs"] for p in word]).mean(dim=0)  # (L,)
            best = int(probs.argmax())
            entities.append({
                "entity": self.model.config.id2label[best], "score": probs[best].item(),
                "word": self.tokens_to_text([p["word"] for p in word]),
                "start": word[0]["start"], "end": word[-1]["end"],
            })
        return entities

    def group(self, entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Merge adjacent entries of one entity type (a ``B-`` tag starts a new group)."""
        groups: list[list[dict[str, Any]]] = []
        for entity in entities:
            bi, tag = split_tag(entity["entity"])
            if groups and bi != "B" and split_tag(groups[-1][-1]["entity"])[1] == tag:
                groups[-1].append(entity)
            else:
                groups.append([entity])
        return [{
            "entity_group": members[0]["entity"].split("-", 1)[-1],
            "score": sum(m["score"] for m in members) / len(members),
            "word": self.tokens_to_text([m["word"] for m in members]),
            "start": members[0]["start"], "end": members[-1]["end"],
        } for members in groups]

    def postprocess(
        self, features: list[dict[str, Any]], rows: list[dict[str, torch.Tensor]],
        strategy: str = "none", ignore_labels: list[str] | None = None,
    ) -> list[dict[str, Any]]:
        feature = features[0]
        n = len(feature["input_ids"])
        probs = rows[0]["logits"][:n].softmax(dim=-1)  # (T, L)
        pieces = self.pieces(feature, probs)
        if strategy in ("none", "simple"):
            entities = self.label_pieces(pieces)
        else:
            entities = self.label_words(pieces, strategy)
        if strategy != "none":
            entities = self.group(entities)
        ignore = set(ignore_labels or ())
        return [e for e in entities if e.get("entity", e.get("entity_group")) not in ignore]
