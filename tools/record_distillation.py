"""Record a distillation run on SST-2: the teacher, the distilled student and the student trained
on the hard labels alone, with their validation accuracy and their inference speed, side by side.

Usage: ``python tools/record_distillation.py TEACHER_DIR KD_DIR HARD_DIR NAME [--reps 7]`` reads
each run's ``eval_results.json`` (``python -m bertedu finetune`` / ``distill``), times teacher and
students on the whole SST-2 validation set in one process, alternating
(``bertedu.bench.measure``), and writes ``results/finetune/NAME.json`` and ``NAME.csv`` (one row
per model).
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
from pathlib import Path

import torch

from bertedu import BertForSequenceClassification, BertTokenizerFast
from bertedu.bench.measure import spread, time_alternating
from bertedu.finetuning import classification
from bertedu.finetuning.data import load_split

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("teacher", type=Path)
    parser.add_argument("kd", type=Path)
    parser.add_argument("hard", type=Path)
    parser.add_argument("name")
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    runs = {"teacher": args.teacher, "student, distilled": args.kd,
            "student, hard labels": args.hard}
    records = {k: json.loads((d / "eval_results.json").read_text()) for k, d in runs.items()}
    models = {k: BertForSequenceClassification.from_pretrained(d).eval() for k, d in runs.items()}
    tokenizer = BertTokenizerFast.from_pretrained(args.teacher)
    features = classification.encode(tokenizer, load_split("sst2", "validation"))
    calls = {k: (lambda m=m: classification.predict(m, features, 64)) for k, m in models.items()}
    times = time_alternating(calls, reps=args.reps, warmup=1, device=torch.device("cpu"))
    rows = []
    for key, model in models.items():
        run, s = records[key], spread(times[key])
        rows.append({
            "model": key, "layers": model.config.num_hidden_layers,
            "parameters": sum(p.numel() for p in model.parameters()),
            "accuracy_best": round(run["best"]["accuracy"], 2), "best_step": run["best"]["step"],
            "accuracy_end": round(run["evaluations"][-1]["accuracy"], 2),
            "train_rows": run["train_rows"], "steps": run["steps"],
            "distillation": json.dumps(run.get("distillation")) if "distillation" in run else "",
            "time_median_s": round(s["time_median_s"], 4), "time_min_s": round(s["time_min_s"], 4),
            "time_max_s": round(s["time_max_s"], 4),
            "sentences_per_s": round(len(features) / s["time_median_s"], 1),
        })
    teacher_rate = rows[0]["sentences_per_s"]
    for row in rows:
        row["speedup_over_teacher"] = round(row["sentences_per_s"] / teacher_rate, 3)
    meta = {"task": "sst2", "eval_rows": len(features), "reps": args.reps, "threads": args.threads,
            "device": "cpu", "device_name": platform.machine(), "torch_version": torch.__version__,
            "teacher_recipe": records["teacher"].get("args"),
            "kd_recipe": records["student, distilled"].get("args"),
            "hard_recipe": records["student, hard labels"].get("args")}
    # local paths mean nothing on another machine
    for recipe in ("teacher_recipe", "kd_recipe", "hard_recipe"):
        if isinstance(meta[recipe], dict):
            meta[recipe] = {k: v for k, v in meta[recipe].items()
                            if k not in {"model", "output_dir", "teacher", "data_dir"}}
    out = ROOT / "results" / "finetune"
    (out / f"{args.name}.json").write_text(json.dumps({**meta, "models": rows}, indent=2) + "\n")
    with open(out / f"{args.name}.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    for row in rows:
        print(f"{row['model']:<22} {row['layers']} layers  accuracy {row['accuracy_best']:.2f} "
              f"(end {row['accuracy_end']:.2f})  {row['sentences_per_s']:,.0f} sentences/s  "
              f"x{row['speedup_over_teacher']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
