"""Part IV, fine-tuning: pretrained BERT trained on real tasks with the shared loop of
:mod:`bertedu.training` (classification, token classification, question answering, multiple
choice), scored with the official metrics (:mod:`.metrics`).

``finetune(task, model, output_dir=...)`` and ``evaluate(task, model_dir)`` are the API; the
command line is ``python -m bertedu finetune|evaluate`` (:mod:`.cli`). ``distill(teacher,
student)`` trains a smaller classifier on a fine-tuned one's predictions (:mod:`.distillation`,
``python -m bertedu distill``).
"""

from .distillation import DistillResult, distill, student_from_teacher
from .run import FinetuneResult, evaluate, finetune, get_task
from .tasks import TASKS, Task

__all__ = ["DistillResult", "FinetuneResult", "TASKS", "Task", "distill", "evaluate", "finetune",
           "get_task", "student_from_teacher"]
