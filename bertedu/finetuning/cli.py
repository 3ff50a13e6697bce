"""``python -m bertedu finetune TASK`` and ``python -m bertedu evaluate TASK``.

::

    python -m bertedu finetune sst2 --model PATH_OR_HUB_ID --output-dir runs/sst2 --epochs 1
    python -m bertedu finetune sst2 --model PATH --output-dir runs/sst2 --stop-after 500
    python -m bertedu finetune sst2 --model PATH --output-dir runs/sst2 --resume
    python -m bertedu finetune wnut_17 --model PATH --output-dir runs/wnut --label-all-pieces
    python -m bertedu evaluate sst2 --model runs/sst2

Both are thin wrappers around :func:`bertedu.finetuning.finetune` and
:func:`bertedu.finetuning.evaluate`: the flags are their arguments.
"""

from __future__ import annotations

import argparse
import json

import torch

from .tasks import TASKS

__all__ = ["cli", "evaluate_cli"]


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("task", help=f"one of {', '.join(TASKS)}")
    parser.add_argument("--model", required=True, help="a model folder or a hub id")
    parser.add_argument("--max-eval-samples", type=int, default=None)
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:1 (default: cuda if any)")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads")
    parser.add_argument("--data-dir", default=None, help="local data folder ($BERTEDU_DATA)")


def _task(parser: argparse.ArgumentParser, name: str, label_all_pieces: bool = False) -> None:
    from .run import encode_options, get_task

    try:
        encode_options(get_task(name), label_all_pieces)
    except ValueError as err:
        parser.error(str(err).replace("label_all_pieces", "--label-all-pieces", 1))


def cli(argv: list[str] | None = None) -> int:
    """``python -m bertedu finetune``: train, evaluate each epoch, keep the best model."""
    parser = argparse.ArgumentParser(prog="python -m bertedu finetune",
                                     description="fine-tune a pretrained BERT on a task")
    _common(parser)
    parser.add_argument("--output-dir", required=True)
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--learning-rate", type=float, default=None,
                        help="default: the task's (5e-5 for MiniLM-sized models)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-train-samples", type=int, default=None)
    parser.add_argument("--max-steps", type=int, default=None)
    parser.add_argument("--eval-steps", type=int, default=None,
                        help="evaluate every N steps (default: after each epoch)")
    parser.add_argument("--seed", type=int, default=42)
    precision = parser.add_mutually_exclusive_group()
    precision.add_argument("--bf16", action="store_true", help="bfloat16 autocast")
    precision.add_argument("--fp16", action="store_true", help="float16 autocast (CUDA only)")
    parser.add_argument("--stop-after", type=int, default=None,
                        help="stop after N steps in total, keeping a checkpoint (see --resume)")
    parser.add_argument("--max-seconds", type=float, default=None,
                        help="stop after this much wall time, keeping a checkpoint")
    parser.add_argument("--save-steps", type=int, default=None,
                        help="also write a checkpoint every N steps")
    parser.add_argument("--resume", nargs="?", const="latest", default=None, metavar="CHECKPOINT",
                        help="continue a stopped run exactly: a checkpoints/step-*.pt file, or "
                             "the newest in --output-dir when none is given")
    parser.add_argument("--keep-checkpoints", action="store_true",
                        help="keep <output-dir>/checkpoints after the last step")
    parser.add_argument("--label-all-pieces", action="store_true",
                        help="token classification: tag every piece of a word, not only the "
                             "first (the later pieces of a B- word get its I- tag)")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    _task(parser, args.task, args.label_all_pieces)
    for flag, value, low in (("--stop-after", args.stop_after, 1),
                             ("--save-steps", args.save_steps, 1)):
        if value is not None and value < low:
            parser.error(f"{flag} {value}: must be >= {low}")
    if args.max_seconds is not None and not args.max_seconds > 0:
        parser.error(f"--max-seconds {args.max_seconds}: must be a positive number of seconds")
    if args.threads:
        torch.set_num_threads(args.threads)
    from .run import finetune

    result = finetune(
        args.task, args.model, args.output_dir, epochs=args.epochs,
        learning_rate=args.learning_rate, batch_size=args.batch_size,
        max_train_samples=args.max_train_samples, max_eval_samples=args.max_eval_samples,
        max_steps=args.max_steps, eval_steps=args.eval_steps, seed=args.seed,
        precision="bf16" if args.bf16 else "fp16" if args.fp16 else "fp32", device=args.device,
        progress=not args.no_progress, data_dir=args.data_dir,
        resume_from=True if args.resume == "latest" else args.resume,
        stop_after=args.stop_after, max_seconds=args.max_seconds, save_steps=args.save_steps,
        keep_checkpoints=args.keep_checkpoints, label_all_pieces=args.label_all_pieces)
    stop = result.history[-1].get("stop_reason") if result.history else None
    print(json.dumps({"best": result.best, "output_dir": result.output_dir,
                      "steps_done": len(result.history), "stop_reason": stop}, indent=2))
    return 0


def evaluate_cli(argv: list[str] | None = None) -> int:
    """``python -m bertedu evaluate``: score a fine-tuned folder on the task's evaluation rows."""
    parser = argparse.ArgumentParser(prog="python -m bertedu evaluate",
                                     description="evaluate a fine-tuned model on a task")
    _common(parser)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args(argv)
    _task(parser, args.task)
    if args.threads:
        torch.set_num_threads(args.threads)
    from .run import evaluate

    scores = evaluate(args.task, args.model, batch_size=args.batch_size,
                      max_eval_samples=args.max_eval_samples, device=args.device,
                      data_dir=args.data_dir)
    print(json.dumps(scores, indent=2))
    return 0
