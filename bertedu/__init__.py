"""bertedu: BERT (Devlin et al., 2018) rebuilt in PyTorch, one subpackage per part of the book.

The public names are compatible with Hugging Face ``transformers`` (class names, argument names,
output field names and state-dict keys), so checkpoints move both ways.

Names are imported lazily: ``import bertedu`` is cheap, and ``bertedu.BertModel`` loads the
modeling code on first use.
"""

from __future__ import annotations

import importlib

__version__ = "0.2.0"

# public name -> module (in reading order of the book)
_EXPORTS: dict[str, str] = {
    "BertConfig": "config",
    "BertTokenizer": "tokenization",
    "BasicTokenizer": "tokenization",
    "WordpieceTokenizer": "tokenization",
    "BertTokenizerFast": "tokenization",
    "train_wordpiece_vocab": "tokenization",
    "BertModel": "model",
    "BertPreTrainedModel": "model",
    "BertForPreTraining": "model",
    "BertLMHeadModel": "model",
    "BertForMaskedLM": "model",
    "BertForNextSentencePrediction": "model",
    "BertForSequenceClassification": "model",
    "BertForMultipleChoice": "model",
    "BertForTokenClassification": "model",
    "BertForQuestionAnswering": "model",
    "BaseModelOutputWithPoolingAndCrossAttentions": "model",
    "BertForPreTrainingOutput": "model",
    "CausalLMOutputWithCrossAttentions": "model",
    "MaskedLMOutput": "model",
    "NextSentencePredictorOutput": "model",
    "SequenceClassifierOutput": "model",
    "MultipleChoiceModelOutput": "model",
    "TokenClassifierOutput": "model",
    "QuestionAnsweringModelOutput": "model",
    "DataCollatorForLanguageModeling": "pretraining",
    "pipeline": "pipelines",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        module = importlib.import_module(f".{_EXPORTS[name]}", __name__)
        value = getattr(module, name)
        globals()[name] = value  # cache: later lookups skip __getattr__
        return value
    raise AttributeError(f"module 'bertedu' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
