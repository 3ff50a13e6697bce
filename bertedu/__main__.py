"""Command line: ``python -m bertedu <command> ...``.

Commands:
    pretrain        pretrain a BERT from scratch (see ``python -m bertedu pretrain --help``)
    prepare         tokenize a corpus once into shards for ``pretrain --data``
    finetune        fine-tune a pretrained BERT on sst2, wnut_17, squad or commonsense_qa
    evaluate        score a fine-tuned model on its task
    distill         distill a fine-tuned classifier into a student with fewer layers
    bench           timing experiments, results to CSV (see ``python -m bertedu bench --help``)
    bench-finetune  fine-tuning side by side with transformers, or against its ``Trainer``
    bench-int8      int8 and exported runtimes of a fine-tuned SST-2 classifier, results to CSV
"""

from __future__ import annotations

import sys

# command -> (module, function taking argv, help)
COMMANDS = {
    "pretrain": ("bertedu.pretraining.cli", "cli",
                 "pretrain a BERT (MLM + NSP) and save a checkpoint"),
    "prepare": ("bertedu.pretraining.prepare_cli", "cli",
                "tokenize a corpus once into memory-mapped shards (pretrain --data)"),
    "finetune": ("bertedu.finetuning.cli", "cli",
                 "fine-tune on sst2, wnut_17, squad or commonsense_qa; keep the best model"),
    "evaluate": ("bertedu.finetuning.cli", "evaluate_cli",
                 "score a fine-tuned model folder on its task"),
    "distill": ("bertedu.finetuning.distillation", "cli",
                "distill a fine-tuned classifier into a student with a third of its layers"),
    "bench": ("bertedu.bench", "cli", "time eager vs SDPA and bertedu vs transformers, write CSV"),
    "bench-finetune": ("bertedu.bench.finetune", "cli",
                       "fine-tune bertedu and transformers side by side (or vs Trainer)"),
    "bench-int8": ("bertedu.bench.cli", "int8_cli",
                   "SST-2 accuracy and CPU speed: float32, int8, torch.export, ONNX Runtime"),
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in {"-h", "--help"} or argv[0] not in COMMANDS:
        lines = ["usage: python -m bertedu <command> [options]", "", "commands:"]
        lines += [f"  {name:<15} {help_}" for name, (_, _, help_) in COMMANDS.items()]
        print("\n".join(lines))
        if argv and argv[0] not in {"-h", "--help"}:
            print(f"\nerror: unknown command {argv[0]!r}", file=sys.stderr)
            return 2
        return 0
    import importlib

    module_name, function, _ = COMMANDS[argv[0]]
    module = importlib.import_module(module_name)
    return int(getattr(module, function)(argv[1:]) or 0)


if __name__ == "__main__":
    sys.exit(main())
