"""Fine-tune a pretrained BERT on one of the four tasks, in a few lines, on the shared loop.

::

    from bertedu.finetuning import finetune
    result = finetune("sst2", "path/or/hub-id", output_dir="runs/sst2", epochs=1)
    result.best["accuracy"]

:func:`finetune` loads the task's rows (:mod:`bertedu.finetuning.data`), the tokenizer and the
task model, encodes the rows with the task's module, trains with
:func:`bertedu.training.train` (AdamW, 10% warmup then linear decay, clipping at 1.0; the paper's
recipe, appendix A.3) on length-grouped, dynamically padded batches, evaluates after every epoch,
and keeps the best model: ``save_pretrained`` of model and tokenizer into ``output_dir`` whenever
the task's metric improves, so transformers (or bertedu) loads the folder unchanged.
``eval_results.json`` records every evaluation, the best one, the arguments, device, torch
version and date. :func:`evaluate` scores a saved folder again. A run stopped early
(``stop_after``, ``max_seconds``) leaves the loop's checkpoint in ``output_dir/checkpoints/``
and ``resume_from=True`` continues it exactly (:mod:`bertedu.training.loop`, "Exact resume").

References:
    Devlin et al., 2019, "BERT", section 4 and appendix A.3 (fine-tuning procedure).
"""

from __future__ import annotations

import dataclasses
import datetime
import difflib
import json
import os
import platform
import shutil
from pathlib import Path
from typing import Any

import torch

from ..training.loop import TrainingArguments, train
from . import data as data_module
from .batching import EpochBatches
from .tasks import TASKS, Task

__all__ = ["FinetuneResult", "KeepBest", "get_task", "load_task_splits", "load_task_model",
           "encode_options", "finetune", "evaluate"]


@dataclasses.dataclass
class FinetuneResult:
    """What :func:`finetune` returns: the trained model, its tokenizer, the per-step history of
    the loop, every evaluation (one per epoch) and the best one."""

    model: Any
    tokenizer: Any
    history: list[dict[str, float]]
    evaluations: list[dict[str, float]]
    best: dict[str, float]
    output_dir: str | None


def get_task(name: str) -> Task:
    """The :class:`~bertedu.finetuning.tasks.Task` called ``name`` (a typo names the closest)."""
    if name not in TASKS:
        close = difflib.get_close_matches(name, list(TASKS), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValueError(f"unknown task {name!r}{hint}: choose one of {', '.join(TASKS)}")
    return TASKS[name]


def load_task_splits(task: Task, data_dir=None, max_train_samples: int | None = None,
                     max_eval_samples: int | None = None, need_train: bool = True):
    """(train, eval) ``datasets.Dataset`` of a task, each cut to its first ``max_*`` rows."""
    train_ds, eval_ds = task.splits(data_dir, need_train)

    def cut(ds, n):
        if ds is None or n is None:
            return ds
        if n < 1:
            raise ValueError(f"max samples must be >= 1, got {n}")
        return ds.select(range(min(n, len(ds))))

    return cut(train_ds, max_train_samples), cut(eval_ds, max_eval_samples)


def _environment(device: str) -> dict[str, str]:
    name = torch.cuda.get_device_name(device) if device.startswith("cuda") else platform.processor()
    return {"device": device, "device_name": name or platform.machine(),
            "torch_version": torch.__version__, "threads": str(torch.get_num_threads()),
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}


def load_task_model(task: Task, model_name: str | os.PathLike, labels: list[str]):
    """``task``'s model class (a bertedu ``BertFor...``) from a folder or hub id; a new head gets
    ``labels`` as its ``id2label``/``label2id`` and is initialised from torch's RNG."""
    import bertedu

    cls = getattr(bertedu, task.model_class)
    overrides = {}
    if task.head_labels:
        overrides = {"id2label": dict(enumerate(labels)),
                     "label2id": {name: i for i, name in enumerate(labels)}}
    return cls.from_pretrained(model_name, **overrides)


def encode_options(spec: Task, label_all_pieces: bool = False) -> dict[str, Any]:
    """The keyword options of ``spec.encode`` a run asks for; a clear error for one the task
    lacks (``label_all_pieces``: token classification only)."""
    if not isinstance(label_all_pieces, bool):
        raise TypeError(f"label_all_pieces must be True or False, got {label_all_pieces!r}")
    if label_all_pieces and "label_all_pieces" not in spec.encode_options:
        having = [t.name for t in TASKS.values() if "label_all_pieces" in t.encode_options]
        raise ValueError(f"label_all_pieces is for token classification ({', '.join(having)}), "
                         f"whose words are split into pieces; {spec.name!r} is a "
                         f"{spec.model_class} task")
    return {"label_all_pieces": True} if label_all_pieces else {}


def finetune(
    task: str,
    model: str | os.PathLike,
    output_dir: str | os.PathLike | None = None,
    epochs: float = 1,
    learning_rate: float | None = None,
    batch_size: int = 32,
    max_train_samples: int | None = None,
    max_eval_samples: int | None = None,
    max_steps: int | None = None,
    seed: int = 42,
    precision: str = "fp32",
    device: str | None = None,
    warmup_ratio: float = 0.1,
    weight_decay: float = 0.01,
    group_by_length: bool = True,
    eval_steps: int | None = None,
    progress: bool = True,
    data_dir: str | os.PathLike | None = None,
    resume_from: str | os.PathLike | bool | None = None,
    stop_after: int | None = None,
    max_seconds: float | None = None,
    save_steps: int | None = None,
    keep_checkpoints: bool = False,
    label_all_pieces: bool = False,
) -> FinetuneResult:
    """Fine-tune ``model`` (a folder or hub id) on ``task`` and evaluate after each epoch.

    ``learning_rate`` defaults to the task's (:data:`~bertedu.finetuning.tasks.TASKS`).
    ``max_steps`` overrides ``epochs``. Evaluation runs after every epoch, or every
    ``eval_steps`` steps, and at the end. With ``output_dir``, the best model and its tokenizer
    are saved there with ``save_pretrained``, next to ``eval_results.json`` (rewritten after each
    evaluation, so a stopped run keeps what it measured).

    Stopping and resuming (the shared loop's exact resume, :func:`bertedu.training.train`):
    with ``output_dir`` the loop writes its full state to
    ``<output_dir>/checkpoints/step-XXXXXX.pt`` every ``save_steps`` steps and whenever the run
    stops early (``stop_after`` steps in total, or ``max_seconds`` of wall time).
    ``resume_from`` (a checkpoint file, or ``True`` for the newest one in ``output_dir``)
    continues such a run: the same call with ``resume_from`` ends with the losses, weights and
    evaluations of a run that never stopped. The checkpoints are deleted once every step is done
    (the best model is kept) unless ``keep_checkpoints``.

    ``label_all_pieces`` (token classification only): every piece of a word carries the word's
    tag (``B-`` becoming ``I-`` after the first piece) instead of the first piece alone, the
    others ``-100`` (:func:`bertedu.finetuning.token_classification.align_labels`). It is
    recorded in ``eval_results.json``, which :func:`evaluate` reads back.
    """
    from ..tokenization import BertTokenizerFast

    spec = get_task(task)
    options = encode_options(spec, label_all_pieces)
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    out = Path(output_dir) if output_dir is not None else None
    checkpoint = _resume_checkpoint(out, resume_from, stop_after, max_seconds, save_steps)
    _check_same_labelling(out, checkpoint, label_all_pieces)
    torch.manual_seed(seed)
    train_ds, eval_ds = load_task_splits(spec, data_dir, max_train_samples, max_eval_samples)
    tokenizer = BertTokenizerFast.from_pretrained(model)
    labels = data_module.label_names(task, data_dir) if spec.head_labels else []
    net = load_task_model(spec, model, labels)
    encoded = spec.encode(tokenizer, train_ds, True, labels, **options)
    features = getattr(encoded, "features", encoded)  # QA: windows, with the skipped answers
    eval_data = spec.encode(tokenizer, eval_ds, False, labels, **options)
    batches = EpochBatches(features, batch_size, seed, tokenizer.pad_token_id, group_by_length)
    steps = max_steps or max(1, round(epochs * batches.per_epoch))
    args = TrainingArguments(
        steps=steps, batch_size=batch_size, lr=learning_rate or spec.learning_rate,
        warmup=int(warmup_ratio * steps), weight_decay=weight_decay, clip=1.0,
        eval_every=eval_steps or batches.per_epoch, seed=seed, precision=precision, device=device,
        progress=progress, save_every=save_steps or 0, stop_after=stop_after,
        max_seconds=max_seconds, output_dir=_checkpoint_dir(
            out, checkpoint, stop_after, max_seconds, save_steps, keep_checkpoints))
    evaluations, best = _earlier_evaluations(out, checkpoint, spec.metric)
    record = {"task": task, "metric": spec.metric, "train_rows": len(train_ds),
              "eval_rows": len(eval_ds), "steps": steps, "steps_per_epoch": batches.per_epoch,
              "train_features": len(features), "model": os.fspath(model),
              "skipped_bad_answers": len(getattr(encoded, "skipped", [])),
              "data": data_module.describe_source(task, spec.eval_split, data_dir),
              "args": {**dataclasses.asdict(args), "max_train_samples": max_train_samples,
                       "max_eval_samples": max_eval_samples, "epochs": epochs,
                       "label_all_pieces": label_all_pieces},
              "resumed_from": os.fspath(checkpoint) if checkpoint is not None else None,
              **_environment(device)}
    keeper = KeepBest(spec, eval_data, 2 * batch_size, device, batches, steps, tokenizer, out,
                      record, evaluations, best)
    history = train(net, args, keeper.batch, spec.loss_fn, evaluate=keeper.evaluate,
                    resume_from=checkpoint, desc=task)
    if out is not None and not keep_checkpoints and history[-1].get("stop_reason") == "steps":
        shutil.rmtree(out / "checkpoints", ignore_errors=True)  # done: the best model stays
    return FinetuneResult(net, tokenizer, history, keeper.evaluations, keeper.best,
                          os.fspath(out) if out is not None else None)


@dataclasses.dataclass
class KeepBest:
    """The loop's batches and evaluation hook for a run that keeps its best model.

    :meth:`batch` hands the loop batch ``k`` of ``batches`` and counts the steps done.
    :meth:`evaluate` scores the model on ``eval_data`` with the task's module, appends the scores
    (with ``step`` and ``epoch``) to ``evaluations`` and, whenever the task's metric beats
    ``best``, makes them the new ``best`` and saves model and tokenizer into ``out`` with
    ``save_pretrained``. With ``out``, every evaluation rewrites ``out/eval_results.json``:
    ``record`` with ``best``, ``evaluations`` and ``finished`` (all ``steps`` done), so a stopped
    run keeps what it measured. :func:`finetune` and :func:`~bertedu.finetuning.distill` both
    train with it.
    """

    spec: Task
    eval_data: Any
    batch_size: int
    device: str
    batches: EpochBatches
    steps: int
    tokenizer: Any
    out: Path | None
    record: dict[str, Any]
    evaluations: list[dict[str, float]] = dataclasses.field(default_factory=list)
    best: dict[str, float] = dataclasses.field(default_factory=dict)
    done: int = 0

    def batch(self, k: int) -> dict[str, torch.Tensor]:
        """Batch ``k`` (0-based) of the run; ``k + 1`` steps are then done."""
        self.done = k + 1
        return self.batches(k)

    def evaluate(self, model) -> dict[str, float]:
        """Score ``model``, keep it if it is the best so far; the scores for the loop's history."""
        metric = self.spec.metric
        scores = self.spec.evaluate(model, self.eval_data, self.batch_size, self.device)
        scores = {**scores, "step": self.done,
                  "epoch": round(self.done / self.batches.per_epoch, 3)}
        self.evaluations.append(scores)
        if not self.best or scores[metric] > self.best[metric]:
            self.best.clear()
            self.best.update(scores)
            if self.out is not None:
                model.save_pretrained(self.out)
                self.tokenizer.save_pretrained(self.out)
        if self.out is not None:
            self.record.update(best=self.best, evaluations=self.evaluations,
                               finished=self.done >= self.steps)
            (self.out / "eval_results.json").write_text(json.dumps(self.record, indent=2) + "\n")
        return {k: v for k, v in scores.items() if k not in {"step", "epoch"}}


def _resume_checkpoint(out: Path | None, resume_from, stop_after, max_seconds,
                       save_steps) -> Path | None:
    """The checkpoint file to resume from (``None``: start afresh), after checking the options."""
    if out is None and any(x is not None and x is not False
                           for x in (resume_from, stop_after, max_seconds, save_steps)):
        raise ValueError("resume_from, stop_after, max_seconds and save_steps need an output_dir "
                         "(the checkpoints go to <output_dir>/checkpoints)")
    if resume_from is None or resume_from is False:
        return None
    if resume_from is True or resume_from == "latest":
        found = sorted((out / "checkpoints").glob("step-*.pt"))
        if not found:
            raise FileNotFoundError(f"no checkpoint to resume in {out / 'checkpoints'} "
                                    f"(a run stopped by stop_after or max_seconds leaves one)")
        return found[-1]
    path = Path(resume_from)
    if not path.is_file():
        raise FileNotFoundError(f"resume_from={os.fspath(path)!r}: no such checkpoint file")
    return path


def _checkpoint_dir(out: Path | None, *options) -> str | None:
    """Where the loop writes checkpoints: ``out`` when the run can stop early, resumes or keeps
    them; otherwise nowhere (a run that cannot stop early needs no checkpoint of its end)."""
    return os.fspath(out) if out is not None and any(options) else None


def _recorded_labelling(folder: Path) -> bool | None:
    """The ``label_all_pieces`` a run recorded in ``folder/eval_results.json`` (``None``: none)."""
    results = folder / "eval_results.json"
    if not results.is_file():
        return None
    return json.loads(results.read_text()).get("args", {}).get("label_all_pieces")


def _check_same_labelling(out: Path | None, checkpoint: Path | None,
                          label_all_pieces: bool) -> None:
    """A resumed run keeps the labels it started with: refuse a different ``label_all_pieces``."""
    if out is None or checkpoint is None:
        return
    recorded = _recorded_labelling(out)
    if recorded is not None and recorded != label_all_pieces:
        raise ValueError(f"the run in {os.fspath(out)} was started with "
                         f"label_all_pieces={recorded}; resume it with the same value")


def _earlier_evaluations(out: Path | None, checkpoint: Path | None,
                         metric: str) -> tuple[list[dict[str, float]], dict[str, float]]:
    """The evaluations a resumed run made before its checkpoint, from ``eval_results.json``."""
    if out is None or checkpoint is None or not (out / "eval_results.json").is_file():
        return [], {}
    tail = checkpoint.stem.rsplit("-", 1)[-1]
    step = int(tail) if tail.isdigit() else None  # the loop names them step-XXXXXX.pt
    record = json.loads((out / "eval_results.json").read_text())
    evaluations = [e for e in record.get("evaluations", []) if step is None or e["step"] <= step]
    best = max(evaluations, key=lambda e: e[metric], default={})
    return evaluations, dict(best)


def evaluate(task: str, model: str | os.PathLike, batch_size: int = 64,
             max_eval_samples: int | None = None, device: str | None = None,
             data_dir: str | os.PathLike | None = None) -> dict[str, float]:
    """Score a fine-tuned folder (or hub id) on ``task``'s evaluation split.

    The rows are encoded as the run that wrote the folder encoded them: with the
    ``label_all_pieces`` its ``eval_results.json`` records (the scores themselves come from each
    word's first piece in either mode).
    """
    from ..tokenization import BertTokenizerFast

    spec = get_task(task)
    recorded = _recorded_labelling(Path(model)) if spec.encode_options else None
    options = encode_options(spec, bool(recorded))
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    _, eval_ds = load_task_splits(spec, data_dir, None, max_eval_samples, need_train=False)
    tokenizer = BertTokenizerFast.from_pretrained(model)
    labels = data_module.label_names(task, data_dir) if spec.head_labels else []
    net = load_task_model(spec, model, labels).to(device)
    return spec.evaluate(net, spec.encode(tokenizer, eval_ds, False, labels, **options),
                         batch_size, device)
