"""``pipeline(task, model, tokenizer)``: the one entry point, with transformers' task names.

The task decides the head: ``fill-mask`` needs the masked-LM head (``BertForMaskedLM``),
``text-classification`` the sequence classifier, ``token-classification`` the token
classifier, ``question-answering`` the span head, ``feature-extraction`` and
``sentence-embeddings`` the bare encoder (``BertModel``). ``model`` is a checkpoint directory
(or Hub id) or an already built model; ``tokenizer`` likewise, and defaults to the one saved
with a checkpoint directory.

Loading a checkpoint *without* the head the task needs (a bare encoder such as
all-MiniLM-L6-v2 asked for fill-mask) would give a randomly initialised head and random
predictions; transformers only warns, bertedu stops with an error naming the missing weights.

References:
    Hugging Face transformers documentation, "Pipelines" (``pipeline()`` and its task names).
"""

from __future__ import annotations

import difflib
import os
import warnings

import torch

from ..config import BertConfig
from ..model import BertPreTrainedModel
from ..tokenization import BertTokenizer, BertTokenizerFast
from .base import Pipeline
from .feature_extraction import FeatureExtractionPipeline, SentenceEmbeddingPipeline
from .fill_mask import FillMaskPipeline
from .question_answering import QuestionAnsweringPipeline
from .text_classification import TextClassificationPipeline
from .token_classification import TokenClassificationPipeline

TASKS: dict[str, type[Pipeline]] = {
    cls.task: cls
    for cls in (FillMaskPipeline, TextClassificationPipeline, TokenClassificationPipeline,
                QuestionAnsweringPipeline, FeatureExtractionPipeline, SentenceEmbeddingPipeline)
}
ALIASES = {"sentiment-analysis": "text-classification", "ner": "token-classification"}
# the saved classes (config.architectures) whose head serves each task; feature extraction
# reads the encoder of any of them
HEAD_ARCHITECTURES = {
    "fill-mask": {"BertForMaskedLM", "BertForPreTraining", "BertLMHeadModel"},
    "text-classification": {"BertForSequenceClassification"},
    "token-classification": {"BertForTokenClassification"},
    "question-answering": {"BertForQuestionAnswering"},
}


def resolve_task(task: str) -> type[Pipeline]:
    """The pipeline class of ``task`` (or of an alias); an unknown name is a ``KeyError``
    that lists the valid ones and suggests the closest."""
    name = ALIASES.get(task, task)
    if name in TASKS:
        return TASKS[name]
    valid = sorted([*TASKS, *ALIASES])
    close = difflib.get_close_matches(str(task), valid, n=1, cutoff=0.5)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise KeyError(f"unknown task {task!r}; the tasks are {valid}{hint}")


def load_model(cls: type[Pipeline], name_or_path: str | os.PathLike) -> BertPreTrainedModel:
    """``cls.model_class.from_pretrained(name_or_path)``, refusing a checkpoint saved from a
    model with another task's head, or whose head weights for the task are missing (they would
    be random)."""
    model_class = cls.model_class
    config = BertConfig.from_pretrained(name_or_path)
    saved = [a for a in config.architectures or [] if a.startswith("BertFor")]
    wanted = HEAD_ARCHITECTURES.get(cls.task)
    if wanted and saved and not wanted.intersection(saved):
        # e.g. a token classifier's "classifier" weights would load into a sequence classifier
        raise ValueError(
            f"the checkpoint {os.fspath(name_or_path)!r} was saved from {saved[0]}, whose head "
            f"is not for {cls.task!r}; the task needs one of {sorted(wanted)}"
        )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = model_class.from_pretrained(name_or_path)
    prefix = model.base_model_prefix + "."
    head = [k for k in model.state_dict() if not k.startswith(prefix)]
    if model_class.__name__ == "BertModel":
        head = []  # feature extraction reads the encoder only
    # from_pretrained names the weights it had to initialise in a "newly initialized" warning
    reports = " ".join(str(w.message) for w in caught if "newly initialized" in str(w.message))
    missing = [k for k in head if f"'{k}'" in reports]
    if missing:
        raise ValueError(
            f"the checkpoint {os.fspath(name_or_path)!r} has no trained {cls.task!r} head: "
            f"{model_class.__name__} would initialise {missing} at random and predict noise; "
            f"use a checkpoint trained for {cls.task!r} (or fine-tune this one first)"
        )
    for w in caught:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return model


def pipeline(
    task: str,
    model: str | os.PathLike | BertPreTrainedModel | None = None,
    tokenizer: str | os.PathLike | BertTokenizer | None = None,
    device: int | str | torch.device | None = None,
    batch_size: int = 1,
    progress_bar: bool | None = None,
) -> Pipeline:
    """Build the pipeline of ``task`` on ``model`` and ``tokenizer``.

    Args:
        task: ``"fill-mask"``, ``"text-classification"`` (alias ``"sentiment-analysis"``),
            ``"token-classification"`` (alias ``"ner"``), ``"question-answering"``,
            ``"feature-extraction"`` or ``"sentence-embeddings"``.
        model: a checkpoint directory or Hub id (loaded with the head of the task), or a model.
        tokenizer: a directory, Hub id or tokenizer; by default the one stored beside ``model``.
        device: ``-1``/``None`` for the CPU, a GPU index, or a device name such as ``"cuda"``.
        batch_size: inputs run through the model together.
        progress_bar: show a tqdm bar; by default only from 64 model inputs (QA windows) on.
    """
    cls = resolve_task(task)
    if model is None:
        raise ValueError(f"pipeline({task!r}) needs model=: a checkpoint directory, Hub id or "
                         "model (bertedu has no default checkpoints)")
    if tokenizer is None:
        if not isinstance(model, (str, os.PathLike)):
            raise ValueError("tokenizer= is needed when model is an object, not a path")
        tokenizer = model
    if isinstance(model, (str, os.PathLike)):
        model = load_model(cls, model)
    if isinstance(tokenizer, (str, os.PathLike)):
        tokenizer = BertTokenizerFast.from_pretrained(tokenizer)
    return cls(model, tokenizer, device=device, batch_size=batch_size, progress_bar=progress_bar)
