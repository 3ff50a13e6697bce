"""Part II, the model: embeddings, attention, the encoder, the heads and checkpoints (chapters 3-9).

Modules, in reading order: :mod:`.embeddings` (chapter 3), :mod:`.attention` (chapters 4, 5 and
9: eager and SDPA, absolute and relative positions, causal mask, cross-attention, KV cache),
:mod:`.encoder` and the pooler (chapter 6), :mod:`.heads`, :mod:`.outputs`, :mod:`.base`
(``BertPreTrainedModel``), :mod:`.modeling` and :mod:`.task_models` (the nine models, chapter 7),
:mod:`.checkpoints` (``from_pretrained`` / ``save_pretrained``, chapter 8), :mod:`.generation`
(chapter 9) and :mod:`.unpadded` (the packed variable-length path of chapter 12).
"""

from .base import BertPreTrainedModel
from .modeling import (
    BertForMaskedLM,
    BertForNextSentencePrediction,
    BertForPreTraining,
    BertLMHeadModel,
    BertModel,
)
from .outputs import (
    BaseModelOutputWithPoolingAndCrossAttentions,
    BertForPreTrainingOutput,
    CausalLMOutputWithCrossAttentions,
    MaskedLMOutput,
    MultipleChoiceModelOutput,
    NextSentencePredictorOutput,
    QuestionAnsweringModelOutput,
    SequenceClassifierOutput,
    TokenClassifierOutput,
)
from .task_models import (
    BertForMultipleChoice,
    BertForQuestionAnswering,
    BertForSequenceClassification,
    BertForTokenClassification,
)

__all__ = [
    "BaseModelOutputWithPoolingAndCrossAttentions", "BertForMaskedLM", "BertForMultipleChoice",
    "BertForNextSentencePrediction", "BertForPreTraining", "BertForPreTrainingOutput",
    "BertForQuestionAnswering", "BertForSequenceClassification", "BertForTokenClassification",
    "BertLMHeadModel", "BertModel", "BertPreTrainedModel", "CausalLMOutputWithCrossAttentions",
    "MaskedLMOutput", "MultipleChoiceModelOutput", "NextSentencePredictorOutput",
    "QuestionAnsweringModelOutput", "SequenceClassifierOutput", "TokenClassifierOutput",
]
