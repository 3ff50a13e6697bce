"""Part III, pretraining: the corpus, masked LM, next-sentence prediction and the objective
(chapters 10 and 11).

Modules: :mod:`.corpus` (documents of sentences: the embedded corpus, text files, hub datasets),
:mod:`.masking` (MLM's 15% with 80/10/10, whole-word masking), :mod:`.nsp` (50/50 sentence pairs),
:mod:`.objective` (``L = L_MLM + L_NSP`` on the shared loop of :mod:`bertedu.training`) and
:mod:`.cli` (``python -m bertedu pretrain``).
"""

from .masking import DataCollatorForLanguageModeling
from .nsp import NspDataset, create_nsp_instances, truncate_seq_pair
from .objective import PretrainingArguments, evaluate, pretrain, pretraining_losses

__all__ = ["DataCollatorForLanguageModeling", "NspDataset", "PretrainingArguments",
           "create_nsp_instances", "evaluate", "pretrain", "pretraining_losses",
           "truncate_seq_pair"]
