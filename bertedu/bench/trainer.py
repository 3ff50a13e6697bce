"""One SST-2 epoch end to end: :func:`bertedu.finetuning.finetune` against ``Trainer``.

Both runs go from the rows to a validation accuracy: tokenize, batch, train, evaluate, timed from
the first tokenizer call to the last prediction, one after the other in one process (bertedu
first, so it never profits from caches the other run warmed). The rows are the same
``datasets.Dataset`` objects (loaded once, untimed, by :mod:`bertedu.finetuning.data`); the
hyperparameters are the same (learning rate, batch size, warmup ratio, weight decay, epochs,
seed); everything else is each library's default:

* transformers: the documented text-classification recipe, ``Dataset.map`` of
  ``tokenizer(sentence, truncation=True)`` (no on-disk cache, so a second run re-tokenizes),
  ``DataCollatorWithPadding`` (each batch padded to its longest row), random batches
  (``group_by_length`` off), ``Trainer.train`` then ``Trainer.predict`` on the validation rows.
  Two settings are not defaults, and neither changes the training: ``report_to="none"`` (no
  logging integrations: the machine is offline) and ``save_strategy="no"`` (the bertedu run saves
  nothing either); the evaluation batch is bertedu's (twice the training batch).
* bertedu: :func:`bertedu.finetuning.finetune` with ``output_dir=None``: length-grouped,
  dynamically padded batches, AdamW with warmup and linear decay, one evaluation at the end.

The figure of merit is ``bertedu wall time / Trainer wall time`` at equal accuracy; the CPU
seconds of each run (this process) are recorded too, the steadier figure on a shared CPU.

References:
    Devlin et al., 2019, "BERT", appendix A.3. Wolf et al., 2020, "Transformers", the ``Trainer``
    and ``DataCollatorWithPadding`` (transformers documentation, "Text classification" task guide).
"""

from __future__ import annotations

import os
import tempfile
import time
from typing import Any

import torch

from ..finetuning import data as data_module
from ..finetuning.metrics import accuracy
from ..finetuning.run import finetune, get_task, load_task_splits

__all__ = ["bench_trainer"]


def _trainer_run(model_path, train_ds, eval_ds, *, epochs: float, learning_rate: float,
                 batch_size: int, warmup_ratio: float, weight_decay: float, seed: int,
                 max_steps: int | None, device: str, progress: bool) -> dict[str, Any]:
    import transformers

    labels = data_module.label_names("sst2")
    start, cpu_start = time.perf_counter(), time.process_time()
    tokenizer = transformers.BertTokenizerFast.from_pretrained(model_path)

    def tokenize(rows):
        return tokenizer(rows["sentence"], truncation=True, max_length=128)

    train_tok = train_ds.map(tokenize, batched=True, load_from_cache_file=False,
                             keep_in_memory=True)
    eval_tok = eval_ds.map(tokenize, batched=True, load_from_cache_file=False,
                           keep_in_memory=True)
    transformers.set_seed(seed)
    model = transformers.BertForSequenceClassification.from_pretrained(
        model_path, num_labels=len(labels), id2label=dict(enumerate(labels)),
        label2id={n: i for i, n in enumerate(labels)})
    with tempfile.TemporaryDirectory() as out:
        args = transformers.TrainingArguments(
            output_dir=out, learning_rate=learning_rate, per_device_train_batch_size=batch_size,
            per_device_eval_batch_size=2 * batch_size, num_train_epochs=epochs,
            max_steps=max_steps or -1, warmup_ratio=warmup_ratio, weight_decay=weight_decay,
            seed=seed, report_to="none", save_strategy="no", disable_tqdm=not progress,
            use_cpu=device == "cpu")
        trainer = transformers.Trainer(
            model=model, args=args, train_dataset=train_tok, processing_class=tokenizer,
            data_collator=transformers.DataCollatorWithPadding(tokenizer))
        train_out = trainer.train()
        prediction = trainer.predict(eval_tok)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    pred = prediction.predictions.argmax(-1).tolist()
    return {"wall_s": wall, "cpu_s": cpu, "accuracy": 100 * accuracy(list(eval_ds["label"]), pred),
            "steps": int(train_out.global_step), "train_loss": float(train_out.training_loss),
            "batches": "random order, DataCollatorWithPadding (dynamic padding)"}


def _bertedu_run(model_path, *, epochs: float, learning_rate: float, batch_size: int,
                 warmup_ratio: float, weight_decay: float, seed: int, max_steps: int | None,
                 max_train_samples: int | None, max_eval_samples: int | None, device: str,
                 progress: bool, data_dir) -> dict[str, Any]:
    start, cpu_start = time.perf_counter(), time.process_time()
    result = finetune("sst2", model_path, None, epochs=epochs, learning_rate=learning_rate,
                      batch_size=batch_size, max_train_samples=max_train_samples,
                      max_eval_samples=max_eval_samples, max_steps=max_steps, seed=seed,
                      device=device, warmup_ratio=warmup_ratio, weight_decay=weight_decay,
                      progress=progress, data_dir=data_dir)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    losses = [float(h["loss"]) for h in result.history]
    return {"wall_s": wall, "cpu_s": cpu, "accuracy": result.evaluations[-1]["accuracy"],
            "steps": len(result.history), "train_loss": sum(losses) / len(losses),
            "batches": "length-grouped, dynamic padding (bertedu.finetuning.batching)"}


def bench_trainer(model_path: str | os.PathLike, *, max_train_samples: int | None = None,
                  max_eval_samples: int | None = None, max_steps: int | None = None,
                  epochs: float = 1, learning_rate: float = 8e-5, batch_size: int = 32,
                  warmup_ratio: float = 0.1, weight_decay: float = 0.01, seed: int = 42,
                  device: str | None = None, data_dir: str | os.PathLike | None = None,
                  progress: bool = True) -> dict[str, Any]:
    """Wall time and validation accuracy of one SST-2 run with each library (see module doc).

    Returns a record with ``libraries = {"bertedu": {...}, "transformers_trainer": {...}}``
    (``wall_s``, ``accuracy``, ``steps``, ``train_loss``) and
    ``wall_ratio_bertedu_over_trainer``.
    """
    from .finetune import _environment, _model_name

    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    spec = get_task("sst2")
    train_ds, eval_ds = load_task_splits(spec, data_dir, max_train_samples, max_eval_samples)
    hyper = {"epochs": epochs, "learning_rate": learning_rate, "batch_size": batch_size,
             "warmup_ratio": warmup_ratio, "weight_decay": weight_decay, "seed": seed,
             "max_steps": max_steps}
    ours = _bertedu_run(model_path, **hyper, max_train_samples=max_train_samples,
                        max_eval_samples=max_eval_samples, device=device, progress=progress,
                        data_dir=data_dir)
    theirs = _trainer_run(model_path, train_ds, eval_ds, **hyper, device=device,
                          progress=progress)
    return {"task": "sst2", "comparison": "end to end: tokenize, batch, train, evaluate",
            "model": _model_name(model_path), "metric": "accuracy",
            "libraries": {"bertedu": ours, "transformers_trainer": theirs},
            "wall_ratio_bertedu_over_trainer": ours["wall_s"] / theirs["wall_s"],
            "cpu_ratio_bertedu_over_trainer": ours["cpu_s"] / max(theirs["cpu_s"], 1e-12),
            "accuracy_difference": ours["accuracy"] - theirs["accuracy"],
            "order": "bertedu first, then the Trainer, in one process",
            "train_rows": len(train_ds), "eval_rows": len(eval_ds), **hyper,
            "max_train_samples": max_train_samples, "max_eval_samples": max_eval_samples,
            "data": data_module.describe_source("sst2", "validation", data_dir),
            **_environment(device)}
