"""Knowledge distillation: a small student learns a fine-tuned teacher's soft predictions.

A teacher classifier gives, for every example, scores ``z_t``; softened by a temperature ``T``,
``p_t = softmax(z_t / T)`` says not only which class is right but how the teacher ranks the
others ("dark knowledge"). A student with fewer layers is trained on

$$ L = \\alpha\\, T^2\\, \\mathrm{KL}\\big(\\mathrm{softmax}(z_t/T) \\,\\|\\,
      \\mathrm{softmax}(z_s/T)\\big) + (1 - \\alpha)\\, \\mathrm{CE}(z_s, y)
      + \\beta\\, \\frac{1}{K} \\sum_{m=1}^{K} d\\big(h_s^{(m)}, h_t^{(g(m))}\\big). $$

The soft term's gradients shrink as ``1/T^2`` (Hinton et al., 2015, section 2), hence the ``T^2``
that keeps the two terms' balance independent of ``T``. The optional third term (``beta =
hidden_weight``) matches the student's layer outputs ``h_s^(m)`` to the teacher's at the mapped
layers ``g(m)`` (``uniform_layer_map``: every ``L_t / K``-th layer, TinyBERT's uniform strategy),
with ``d`` the mean squared error or ``1 - cos`` over the real (unpadded) positions; DistilBERT
uses the cosine on the last layer.

The student (:func:`student_from_teacher`) is the teacher with some of its layers: the embeddings,
the chosen layers, the pooler and the classification head are copied, so training starts from a
network that already computes something close to the teacher's function. DistilBERT takes one
layer in two; :func:`default_student_layers` spreads ``K`` layers evenly from the first to the
last, which keeps the layer that reads the embeddings and the layer whose output the pooler and
classifier were trained on, and for 12 -> 6 gives DistilBERT's own choice (0, 2, 4, 7, 9, 11).

:func:`distill` trains the student on a classification task with the shared loop
(:func:`bertedu.training.train`), evaluates it after every epoch, and keeps the best student
with ``save_pretrained`` (a folder transformers loads). The command line is
``python -m bertedu distill --teacher DIR --output-dir DIR`` (:func:`cli`).

References:
    Hinton, Vinyals and Dean, 2015, "Distilling the Knowledge in a Neural Network", section 2
    (temperature, the T^2 factor). Sanh et al., 2019, "DistilBERT", section 3 (student
    initialisation from one teacher layer in two, the cosine loss on hidden states). Jiao et al.,
    2020, "TinyBERT", section 3.1 (hidden-state loss, the uniform layer mapping).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from ..training.loop import TrainingArguments, train
from . import data as data_module
from .batching import EpochBatches
from .run import KeepBest, _environment, get_task, load_task_splits

__all__ = ["DistillResult", "default_student_layers", "student_from_teacher", "soft_targets",
           "distillation_loss", "hidden_state_loss", "uniform_layer_map", "distill", "cli"]

HIDDEN_LOSSES = ("mse", "cosine")


# ----------------------------------------------------------------------- the student
def _classifier(model: Any, role: str):
    from ..model import BertForSequenceClassification

    if not isinstance(model, BertForSequenceClassification):
        raise TypeError(f"the {role} must be a BertForSequenceClassification (a classification "
                        f"head over the pooler), got {type(model).__name__}")
    return model


def default_student_layers(num_teacher_layers: int, num_layers: int) -> tuple[int, ...]:
    """``num_layers`` teacher layers (0-based) spread evenly from the first to the last."""
    if not 1 <= num_layers <= num_teacher_layers:
        raise ValueError(f"num_layers={num_layers} must be in 1..{num_teacher_layers} "
                         f"(the teacher's number of layers)")
    if num_layers == 1:
        return (num_teacher_layers - 1,)
    step = (num_teacher_layers - 1) / (num_layers - 1)
    return tuple(int(i * step + 0.5) for i in range(num_layers))


def student_from_teacher(teacher, layers: Sequence[int] | None = None,
                         num_layers: int | None = None):
    """A copy of ``teacher`` that keeps only the encoder layers ``layers`` (0-based, increasing).

    Without ``layers``: ``num_layers`` (default a third of the teacher's, at least 1) spread by
    :func:`default_student_layers`. Embeddings, pooler and classifier are copied unchanged;
    student layer ``i`` is teacher layer ``layers[i]``. Returned in eval mode, on the teacher's
    device and dtype.
    """
    teacher = _classifier(teacher, "teacher")
    total = teacher.config.num_hidden_layers
    if layers is None:
        layers = default_student_layers(total, num_layers or max(1, round(total / 3)))
    layers = [int(j) for j in layers]
    if not layers:
        raise ValueError("layers is empty: the student needs at least one layer")
    bad = [j for j in layers if not 0 <= j < total]
    if bad:
        raise ValueError(f"layers {bad} are out of range: the teacher has layers 0..{total - 1}")
    if any(b <= a for a, b in zip(layers, layers[1:], strict=False)):
        raise ValueError(f"layers must be strictly increasing, got {layers}")
    if num_layers is not None and num_layers != len(layers):
        raise ValueError(f"num_layers={num_layers} but {len(layers)} layers were given")
    student = type(teacher)(teacher.config.copy(num_hidden_layers=len(layers)))
    prefix = "bert.encoder.layer."
    state = {}
    for key, value in teacher.state_dict().items():
        if not key.startswith(prefix):
            state[key] = value  # embeddings, pooler, classifier
            continue
        index, rest = key[len(prefix):].split(".", 1)
        if int(index) in layers:
            state[f"{prefix}{layers.index(int(index))}.{rest}"] = value
    student.load_state_dict(state, strict=True)
    param = next(teacher.parameters())
    return student.to(device=param.device, dtype=param.dtype).eval()


# ----------------------------------------------------------------------- the loss
def soft_targets(logits: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """``softmax(z / T)`` over the last axis: (B, C) -> (B, C); larger ``T``, flatter."""
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    return (logits.float() / temperature).softmax(-1)


def distillation_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor,
                      labels: torch.Tensor | None, temperature: float = 2.0, alpha: float = 0.5):
    """``alpha T^2 KL(p_t || p_s) + (1 - alpha) CE(z_s, y)`` of (B, C) scores, labels (B,).

    KL is averaged over the batch (``batchmean``). Returns ``(loss, {"kl": KL, "ce": CE})``
    (the unscaled terms); ``labels`` may be ``None`` only when ``alpha == 1``.
    """
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    if not 0 <= alpha <= 1:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    if student_logits.shape != teacher_logits.shape:
        raise ValueError(f"student logits {tuple(student_logits.shape)} and teacher logits "
                         f"{tuple(teacher_logits.shape)} differ: do they have the same labels?")
    log_p_s = (student_logits.float() / temperature).log_softmax(-1)  # (B, C)
    log_p_t = (teacher_logits.float() / temperature).log_softmax(-1)  # (B, C)
    kl = F.kl_div(log_p_s, log_p_t, reduction="batchmean", log_target=True)
    if labels is None:
        if alpha != 1:
            raise ValueError("labels are needed for the hard loss (alpha < 1)")
        ce = kl.new_zeros(())
    else:
        ce = F.cross_entropy(student_logits.float(), labels)
    return alpha * temperature ** 2 * kl + (1 - alpha) * ce, {"kl": kl, "ce": ce}


def hidden_state_loss(student_hidden: torch.Tensor, teacher_hidden: torch.Tensor,
                      attention_mask: torch.Tensor, kind: str = "mse") -> torch.Tensor:
    """Distance of two (B, T, H) hidden states at the real positions (``attention_mask`` 1).

    ``mse``: mean over positions of ``(1/H) ||h_s - h_t||^2``; ``cosine``: mean of
    ``1 - cos(h_s, h_t)``.
    """
    if student_hidden.shape != teacher_hidden.shape:
        raise ValueError(f"hidden states {tuple(student_hidden.shape)} and "
                         f"{tuple(teacher_hidden.shape)} differ: matching needs the same width")
    real = attention_mask.bool()  # (B, T)
    s, t = student_hidden[real].float(), teacher_hidden[real].float()  # (N, H)
    if kind == "mse":
        return (s - t).pow(2).mean()
    if kind == "cosine":
        return (1 - F.cosine_similarity(s, t, dim=-1)).mean()
    raise ValueError(f"hidden loss must be one of {HIDDEN_LOSSES}, got {kind!r}")


def uniform_layer_map(num_student_layers: int, num_teacher_layers: int) -> tuple[int, ...]:
    """Teacher ``hidden_states`` index for student layers 1..K: ``g(m) = round(m L_t / K)``."""
    return tuple(int(m * num_teacher_layers / num_student_layers + 0.5)
                 for m in range(1, num_student_layers + 1))


# ----------------------------------------------------------------------- the run
@dataclasses.dataclass
class DistillResult:
    """What :func:`distill` returns: the trained student, the tokenizer, the loop's history, one
    evaluation per epoch, the best one and the teacher's score on the same rows."""

    model: Any
    tokenizer: Any
    history: list[dict[str, float]]
    evaluations: list[dict[str, float]]
    best: dict[str, float]
    teacher: dict[str, float]
    output_dir: str | None


def _load(model, role: str):
    if isinstance(model, (str, os.PathLike)):
        from ..model import BertForSequenceClassification

        return BertForSequenceClassification.from_pretrained(model)
    return _classifier(model, role)


def distill(teacher, student, task: str = "sst2", tokenizer=None, temperature: float = 2.0,
            alpha: float = 0.5, hidden_weight: float = 0.0, hidden_loss: str = "mse",
            layer_map: Sequence[int] | None = None, output_dir: str | os.PathLike | None = None,
            epochs: float = 1, learning_rate: float | None = None, batch_size: int = 32,
            max_train_samples: int | None = None, max_eval_samples: int | None = None,
            max_steps: int | None = None, seed: int = 42, precision: str = "fp32",
            device: str | None = None, warmup_ratio: float = 0.1, weight_decay: float = 0.01,
            eval_steps: int | None = None, evaluate_teacher: bool = True, progress: bool = True,
            data_dir: str | os.PathLike | None = None) -> DistillResult:
    """Distill ``teacher`` into ``student`` (models or folders) on a classification ``task``.

    ``tokenizer`` defaults to the teacher's folder's. ``alpha = 0`` and ``hidden_weight = 0``
    train on the hard labels alone (the teacher is then not run). ``layer_map``: the teacher
    ``hidden_states`` index matched by each student layer (default :func:`uniform_layer_map`).
    The other arguments are those of :func:`bertedu.finetuning.finetune`; with ``output_dir``
    the best student and the tokenizer are saved there, next to ``eval_results.json``.
    """
    from ..tokenization import BertTokenizerFast

    spec = get_task(task)
    if spec.model_class != "BertForSequenceClassification":
        raise ValueError(f"distill works on classification tasks; {task!r} needs a "
                         f"{spec.model_class}")
    if tokenizer is None:
        if not isinstance(teacher, (str, os.PathLike)):
            raise ValueError("pass tokenizer= when the teacher is a model, not a folder")
        tokenizer = BertTokenizerFast.from_pretrained(teacher)
    source = os.fspath(teacher) if isinstance(teacher, (str, os.PathLike)) else None
    teacher, student = _load(teacher, "teacher"), _load(student, "student")
    labels = data_module.label_names(task, data_dir)
    for role, net in (("teacher", teacher), ("student", student)):
        if net.config.num_labels != len(labels):
            raise ValueError(f"the {role} has num_labels={net.config.num_labels} but {task} has "
                             f"{len(labels)} labels ({', '.join(labels)})")
    if teacher.config.vocab_size != student.config.vocab_size:
        raise ValueError(f"teacher and student vocabularies differ ({teacher.config.vocab_size} "
                         f"vs {student.config.vocab_size} ids): they must share the tokenizer")
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    if not 0 <= alpha <= 1:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    if not hidden_weight >= 0:
        raise ValueError(f"hidden_weight must be >= 0, got {hidden_weight}")
    if hidden_loss not in HIDDEN_LOSSES:
        raise ValueError(f"hidden_loss must be one of {HIDDEN_LOSSES}, got {hidden_loss!r}")
    k, total = student.config.num_hidden_layers, teacher.config.num_hidden_layers
    layer_map = tuple(layer_map or uniform_layer_map(k, total))
    if hidden_weight > 0:
        if student.config.hidden_size != teacher.config.hidden_size:
            raise ValueError("hidden-state matching needs the same hidden_size in teacher "
                             f"({teacher.config.hidden_size}) and student "
                             f"({student.config.hidden_size})")
        if len(layer_map) != k or not all(0 <= g <= total for g in layer_map):
            raise ValueError(f"layer_map={layer_map} needs one teacher hidden_states index in "
                             f"0..{total} per student layer ({k})")
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    torch.manual_seed(seed)
    train_ds, eval_ds = load_task_splits(spec, data_dir, max_train_samples, max_eval_samples)
    features = spec.encode(tokenizer, train_ds, True, labels)
    eval_data = spec.encode(tokenizer, eval_ds, False, labels)
    batches = EpochBatches(features, batch_size, seed, tokenizer.pad_token_id)
    steps = max_steps or max(1, round(epochs * batches.per_epoch))
    args = TrainingArguments(
        steps=steps, batch_size=batch_size, lr=learning_rate or spec.learning_rate,
        warmup=int(warmup_ratio * steps), weight_decay=weight_decay, clip=1.0,
        eval_every=eval_steps or batches.per_epoch, seed=seed, precision=precision, device=device,
        progress=progress)
    teacher = teacher.to(device).eval()  # no dropout: the targets are the teacher's predictions
    use_teacher = alpha > 0 or hidden_weight > 0
    teacher_scores = spec.evaluate(teacher, eval_data, 2 * batch_size, device) \
        if evaluate_teacher else {}

    def loss_fn(model, batch):
        inputs = {k: batch[k] for k in ("input_ids", "attention_mask", "token_type_ids")}
        out = model(**inputs, output_hidden_states=hidden_weight > 0)
        if not use_teacher:
            ce = F.cross_entropy(out.logits.float(), batch["labels"])
            return ce, {"ce": ce}
        with torch.no_grad():
            ref = teacher(**inputs, output_hidden_states=hidden_weight > 0)
        loss, parts = distillation_loss(out.logits, ref.logits, batch["labels"], temperature,
                                        alpha)
        if hidden_weight > 0:
            hidden = torch.stack([hidden_state_loss(out.hidden_states[m + 1],
                                                    ref.hidden_states[g], inputs["attention_mask"],
                                                    hidden_loss)
                                  for m, g in enumerate(layer_map)]).mean()
            loss, parts = loss + hidden_weight * hidden, {**parts, "hidden": hidden}
        return loss, parts

    out_dir = Path(output_dir) if output_dir is not None else None
    record = {"task": task, "metric": spec.metric, "train_rows": len(train_ds),
              "eval_rows": len(eval_ds), "steps": steps, "steps_per_epoch": batches.per_epoch,
              "teacher_model": source, "teacher_layers": total, "student_layers": k,
              "teacher": teacher_scores,
              "distillation": {"temperature": temperature, "alpha": alpha,
                               "hidden_weight": hidden_weight, "hidden_loss": hidden_loss,
                               "layer_map": list(layer_map)},
              "data": data_module.describe_source(task, spec.eval_split, data_dir),
              "args": {**dataclasses.asdict(args), "max_train_samples": max_train_samples,
                       "max_eval_samples": max_eval_samples, "epochs": epochs},
              **_environment(device)}
    keeper = KeepBest(spec, eval_data, 2 * batch_size, device, batches, steps, tokenizer, out_dir,
                      record)
    history = train(student, args, keeper.batch, loss_fn, evaluate=keeper.evaluate,
                    desc=f"distill {task}")
    return DistillResult(student, tokenizer, history, keeper.evaluations, keeper.best,
                         teacher_scores, os.fspath(out_dir) if out_dir is not None else None)


# ----------------------------------------------------------------------- command line
def cli(argv: list[str] | None = None) -> int:
    """``python -m bertedu distill --teacher DIR --output-dir DIR``: build the student from the
    teacher's layers, distill it, keep the best one."""
    parser = argparse.ArgumentParser(prog="python -m bertedu distill",
                                     description="distill a fine-tuned classifier into a student")
    parser.add_argument("--teacher", required=True, help="a fine-tuned classifier folder")
    parser.add_argument("--output-dir", required=True)
    parser.add_argument("--task", default="sst2")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--layers", default=None, help="teacher layers to keep, e.g. 0,5")
    which.add_argument("--num-layers", type=int, default=None,
                       help="layers of the student (default: a third of the teacher's)")
    parser.add_argument("--temperature", type=float, default=2.0)
    parser.add_argument("--alpha", type=float, default=0.5, help="weight of the soft loss")
    parser.add_argument("--hidden-weight", type=float, default=0.0)
    parser.add_argument("--hidden-loss", choices=HIDDEN_LOSSES, default="mse")
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--learning-rate", type=float, default=None)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-train-samples", type=int, default=None)
    parser.add_argument("--max-eval-samples", type=int, default=None)
    parser.add_argument("--max-steps", type=int, default=None)
    parser.add_argument("--eval-steps", type=int, default=None)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--device", default=None)
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads")
    parser.add_argument("--data-dir", default=None, help="local data folder ($BERTEDU_DATA)")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        layers = [int(j) for j in args.layers.split(",")] if args.layers else None
        student = student_from_teacher(_load(args.teacher, "teacher"), layers, args.num_layers)
        result = distill(
            args.teacher, student, args.task,
            temperature=args.temperature, alpha=args.alpha, hidden_weight=args.hidden_weight,
            hidden_loss=args.hidden_loss, output_dir=args.output_dir, epochs=args.epochs,
            learning_rate=args.learning_rate, batch_size=args.batch_size,
            max_train_samples=args.max_train_samples, max_eval_samples=args.max_eval_samples,
            max_steps=args.max_steps, eval_steps=args.eval_steps, seed=args.seed,
            device=args.device, progress=not args.no_progress, data_dir=args.data_dir)
    except (ValueError, TypeError) as err:
        parser.error(str(err))
    print(json.dumps({"teacher": result.teacher, "best": result.best,
                      "output_dir": result.output_dir}, indent=2))
    return 0

