"""bertedu: BERT (Devlin et al., 2018) rebuilt in PyTorch, one readable module per concept.

The public names are compatible with Hugging Face ``transformers`` (class names, argument names,
output field names and state-dict keys), so checkpoints move both ways.

Names are imported lazily: ``import bertedu`` is cheap, and ``bertedu.BertModel`` loads the
modeling code on first use.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

# public name -> module (in reading order of the book)
_EXPORTS: dict[str, str] = {
    "BertConfig": "config",
    "BertTokenizer": "tokenization",
    "BasicTokenizer": "tokenization",
    "WordpieceTokenizer": "tokenization",
    "BertTokenizerFast": "tokenization_fast",
    "train_wordpiece_vocab": "tokenization_fast",
    "BertModel": "modeling",
    "BertPreTrainedModel": "modeling",
    "BertForPreTraining": "modeling",
    "BertLMHeadModel": "modeling",
    "BertForMaskedLM": "modeling",
    "BertForNextSentencePrediction": "modeling",
    "BertForSequenceClassification": "task_models",
    "BertForMultipleChoice": "task_models",
    "BertForTokenClassification": "task_models",
    "BertForQuestionAnswering": "task_models",
    "BaseModelOutputWithPoolingAndCrossAttentions": "outputs",
    "BertForPreTrainingOutput": "outputs",
    "CausalLMOutputWithCrossAttentions": "outputs",
    "MaskedLMOutput": "outputs",
    "NextSentencePredictorOutput": "outputs",
    "SequenceClassifierOutput": "outputs",
    "MultipleChoiceModelOutput": "outputs",
    "TokenClassifierOutput": "outputs",
    "QuestionAnsweringModelOutput": "outputs",
    "DataCollatorForLanguageModeling": "masking",
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
