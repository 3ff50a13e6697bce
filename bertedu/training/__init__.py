"""The shared training loop, used by pretraining (Part III) and fine-tuning (Part IV) alike.

Modules: :mod:`.optimization` (AdamW parameter groups, warmup + linear decay), :mod:`.checkpointing`
(the full training state, saved atomically, read with ``weights_only=True``) and :mod:`.loop`
(:func:`train`: accumulation, clipping, mixed precision, evaluation hook, progress bar, exact
resume) and :mod:`.distributed` (data parallelism on ``torch.distributed``, under
``torchrun``). Chapter 11 teaches it.
"""

from .checkpointing import load_checkpoint, save_checkpoint
from .distributed import Distributed, init_from_env
from .loop import TrainingArguments, autocast, micro_batch_indices, train
from .optimization import linear_warmup_decay, make_optimizer, param_groups

__all__ = ["Distributed", "TrainingArguments", "autocast", "init_from_env", "linear_warmup_decay",
           "load_checkpoint", "make_optimizer", "micro_batch_indices", "param_groups",
           "save_checkpoint", "train"]
