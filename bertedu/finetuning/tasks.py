"""The four fine-tuning tasks as data: which rows, which model class, which metric, which module.

Each :class:`Task` ties a dataset of :mod:`bertedu.finetuning.data` to the module that encodes its
rows and scores a model on it, so :func:`bertedu.finetuning.finetune` is one code path for all
four:

=================  ===============================  ==================  =====================
task               model class                      train / evaluate    metric
=================  ===============================  ==================  =====================
``sst2``           BertForSequenceClassification    train / validation  accuracy
``wnut_17``        BertForTokenClassification       train / test        entity F1 (conlleval)
``squad``          BertForQuestionAnswering         dev, article split  F1 (SQuAD v1.1)
``commonsense_qa`` BertForMultipleChoice            train / validation  accuracy
=================  ===============================  ==================  =====================

SQuAD has no training split offline: its dev set is split by article, never by question, the
first 40 articles to train on and the last 8 to evaluate on ("SQuAD dev, article split").

References:
    Devlin et al., 2019, "BERT", section 4 (GLUE, SQuAD, SWAG) and 5.3 (NER).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import classification, multiple_choice, question_answering, token_classification
from .data import load_split

__all__ = ["Task", "TASKS", "SQUAD_TRAIN_ARTICLES"]

SQUAD_TRAIN_ARTICLES = 40  # of the dev set's 48, in file order


@dataclass(frozen=True)
class Task:
    """A task: its splits, model class, primary metric (higher is better), default learning
    rate, and the module functions ``encode(tokenizer, dataset, train, label_names, **options)``,
    ``loss_fn(model, batch)`` and ``evaluate(model, encoded, batch_size, device)``.
    ``encode_options`` names the keyword options its ``encode`` takes (``label_all_pieces`` for
    token classification)."""

    name: str
    model_class: str
    train_split: str
    eval_split: str
    metric: str
    learning_rate: float
    head_labels: bool
    encode: Callable[..., Any]
    loss_fn: Callable[..., Any]
    evaluate: Callable[..., dict[str, float]]
    encode_options: tuple[str, ...] = ()

    def splits(self, data_dir=None, need_train: bool = True):
        """(train, eval) datasets; train is ``None`` when ``need_train`` is false."""
        if self.name == "squad":
            return squad_article_split(load_split("squad", "validation", data_dir), need_train)
        train = load_split(self.name, self.train_split, data_dir) if need_train else None
        return train, load_split(self.name, self.eval_split, data_dir)


def squad_article_split(dev, need_train: bool = True):
    """SQuAD dev split by article: the first 40 titles (file order) vs the last 8."""
    all_titles = list(dev["title"])
    titles = list(dict.fromkeys(all_titles))
    train_titles = set(titles[:SQUAD_TRAIN_ARTICLES])
    in_train = [t in train_titles for t in all_titles]
    if all(in_train):
        raise ValueError(f"squad: the evaluation articles are empty (the dev set has "
                         f"{len(titles)} articles; the first {SQUAD_TRAIN_ARTICLES} train)")
    train = dev.select([i for i, x in enumerate(in_train) if x]) if need_train else None
    return train, dev.select([i for i, x in enumerate(in_train) if not x])


def _encode_sst2(tokenizer, dataset, train: bool, names: list[str]):
    return classification.encode(tokenizer, dataset, "sentence", None, "label", len(names),
                                 max_length=128, task="sst2")


def _encode_wnut(tokenizer, dataset, train: bool, names: list[str],
                 label_all_pieces: bool = False):
    features, word_ids = token_classification.encode(tokenizer, dataset, len(names), names,
                                                     max_length=128,
                                                     label_all_pieces=label_all_pieces,
                                                     task="wnut_17")
    if train:
        return features
    return features, word_ids, list(dataset["ner_tags"]), names


def _encode_squad(tokenizer, dataset, train: bool, names: list[str]):
    return question_answering.encode(tokenizer, dataset, train, max_length=384, doc_stride=128)


def _encode_csqa(tokenizer, dataset, train: bool, names: list[str]):
    return multiple_choice.encode(tokenizer, dataset, max_length=80, task="commonsense_qa")


TASKS: dict[str, Task] = {
    "sst2": Task("sst2", "BertForSequenceClassification", "train", "validation", "accuracy",
                 5e-5, True, _encode_sst2, classification.loss_fn, classification.evaluate),
    "wnut_17": Task("wnut_17", "BertForTokenClassification", "train", "test", "f1", 5e-5, True,
                    _encode_wnut, token_classification.loss_fn, token_classification.evaluate,
                    encode_options=("label_all_pieces",)),
    "squad": Task("squad", "BertForQuestionAnswering", "validation", "validation", "f1", 5e-5,
                  False, _encode_squad, question_answering.loss_fn, question_answering.evaluate),
    "commonsense_qa": Task("commonsense_qa", "BertForMultipleChoice", "train", "validation",
                           "accuracy", 5e-5, False, _encode_csqa, multiple_choice.loss_fn,
                           multiple_choice.evaluate),
}
