"""Part IV, fine-tuning: pretrained BERT trained on real tasks with the shared loop of
:mod:`bertedu.training` (classification, token classification, question answering, multiple
choice), scored with the official metrics (:mod:`.metrics`).

``finetune(task, model, output_dir=...)`` and ``evaluate(task, model_dir)`` are the API; the
command line is ``python -m bertedu finetune|evaluate`` (:mod:`.cli`).
"""

from .run import FinetuneResult, evaluate, finetune, get_task
from .tasks import TASKS, Task

__all__ = ["FinetuneResult", "TASKS", "Task", "evaluate", "finetune", "get_task"]
