"""Part V, from model to product: task pipelines on a fine-tuned model (transformers' pipeline
API and output format), distillation into a smaller student, export and int8 quantization.

Modules, in reading order: :mod:`.base` (preprocess, batched forward, postprocess),
:mod:`.fill_mask`, :mod:`.text_classification`, :mod:`.token_classification` (entity
aggregation), :mod:`.question_answering` (doc-stride windows and span scoring),
:mod:`.feature_extraction` (token features and sentence embeddings) and :mod:`.factory`
(``pipeline(task, model, tokenizer)``).
"""

from .base import Pipeline
from .factory import TASKS, pipeline
from .feature_extraction import FeatureExtractionPipeline, SentenceEmbeddingPipeline
from .fill_mask import FillMaskPipeline
from .question_answering import QuestionAnsweringPipeline
from .text_classification import TextClassificationPipeline
from .token_classification import TokenClassificationPipeline

__all__ = ["TASKS", "FeatureExtractionPipeline", "FillMaskPipeline", "Pipeline",
           "QuestionAnsweringPipeline", "SentenceEmbeddingPipeline", "TextClassificationPipeline",
           "TokenClassificationPipeline", "pipeline"]
