"""``python -m bertedu bench``: run a grid (or a profile), print a table, write the CSV; or
rewrite the figures of the benchmark report from the recorded CSVs (``--report``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from .findings import update_report
from .profiling import PROFILE_COLUMNS, profile_grid
from .report import default_csv_name, format_table, write_csv
from .runner import run_grid
from .workload import GRIDS


def cli(argv: list[str] | None = None) -> int:
    """``python -m bertedu bench``: run a grid, print a table, write the CSV."""
    parser = argparse.ArgumentParser(
        prog="python -m bertedu bench",
        description="Time eager vs SDPA attention (and bertedu vs transformers, padded vs "
                    "unpadded) on random-weight BERT models and write the results as CSV.")
    parser.add_argument("--grid", choices=tuple(GRIDS), default="cpu-quick",
                        help="which experiment: cpu-quick (tiny model, seconds, for CI), cpu "
                             "(mini model, minutes), gpu-train / gpu-infer (the seed's training "
                             "or inference grid on bert-base), gpu-varlen (variable-length "
                             "training: padded vs unpadded), gpu (all three). Default: cpu-quick")
    parser.add_argument("--dtype", default=None,
                        help="float32 or bfloat16 on CPU (default float32); float16, bfloat16 or "
                             "float32 on CUDA (default float16, as the seed)")
    parser.add_argument("--out", default="results/",
                        help="CSV destination: a folder (the file is named "
                             "<grid>_<dtype>_<device>.csv) or a path ending in .csv. "
                             "Default: results/")
    parser.add_argument("--compare-transformers", action="store_true",
                        help="also time transformers' eager and SDPA BertForMaskedLM loaded from "
                             "the same weights (needs transformers installed)")
    parser.add_argument("--reps", type=int, default=None,
                        help="timed repetitions per implementation (default: the grid's)")
    parser.add_argument("--threads", type=int, default=None,
                        help="CPU threads for torch (default: torch's current setting)")
    parser.add_argument("--compile", action="store_true",
                        help="add torch.compile variants (padded SDPA and unpadded) to the "
                             "variable-length grid")
    parser.add_argument("--compile-mode", default=None,
                        help="torch.compile mode for --compile (default: torch's default; e.g. "
                             "reduce-overhead for CUDA graphs)")
    parser.add_argument("--seed", type=int, default=0, help="seed of weights and inputs")
    parser.add_argument("--profile", action="store_true",
                        help="instead of timing the grid, profile one training step at its "
                             "largest point operator by operator and write "
                             "profile_<dtype>_<device>.csv")
    parser.add_argument("--report", metavar="MARKDOWN", default=None,
                        help="instead of timing, rewrite the generated figures of MARKDOWN "
                             "(results/README.md) from the recorded CSVs of "
                             "bertedu.bench.recorded_results()")
    args = parser.parse_args(argv)
    if args.report:
        try:
            fresh = update_report(args.report)
        except (OSError, ValueError) as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        print(f"{args.report}: {'already up to date' if fresh else 'figures rewritten'}")
        return 0
    if args.profile:
        try:
            rows = profile_grid(args.grid, args.dtype, args.compare_transformers, seed=args.seed)
        except ValueError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        out = Path(args.out)
        name = "profile_" + default_csv_name([dict(rows[0], grid="x")]).split("_", 1)[1]
        path = write_csv(rows, out if out.suffix == ".csv" else out / name, PROFILE_COLUMNS)
        print(f"wrote {len(rows)} rows to {path}")
        return 0
    out = Path(args.out)

    def destination(rows: list[dict[str, Any]]) -> Path:
        name = default_csv_name(rows, args.compile, args.compile_mode)
        return out if out.suffix == ".csv" else out / name

    try:
        rows = run_grid(args.grid, args.dtype, args.compare_transformers, args.reps,
                        args.threads, args.compile, args.seed, compile_mode=args.compile_mode,
                        on_rows=lambda rows: write_csv(rows, destination(rows)))
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(format_table(rows))
    path = write_csv(rows, destination(rows))
    print(f"\nwrote {len(rows)} rows to {path}")
    return 0


def int8_cli(argv: list[str] | None = None) -> int:
    """``python -m bertedu bench-int8``: float32 / int8 / exported runtimes of a fine-tuned SST-2
    classifier, bertedu and transformers side by side; a table and a CSV."""
    from .int8 import COLUMNS, run_int8_bench

    parser = argparse.ArgumentParser(
        prog="python -m bertedu bench-int8",
        description="Accuracy and CPU throughput on the SST-2 validation sentences of a "
                    "fine-tuned classifier: float32 eager and SDPA, PyTorch dynamic int8, "
                    "torch.export, ONNX Runtime float32 and int8; the same for transformers' "
                    "model loaded from the same folder.")
    parser.add_argument("--model", required=True,
                        help="a fine-tuned BertForSequenceClassification folder (SST-2)")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads (default 2)")
    parser.add_argument("--out", default="results/",
                        help="a folder (the file is int8_sst2_cpu.csv) or a .csv path")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--reps", type=int, default=5, help="timed passes per runtime")
    parser.add_argument("--max-rows", type=int, default=None,
                        help="the first N validation sentences (default all 872)")
    parser.add_argument("--no-sort", action="store_true",
                        help="batch the sentences in their file order (default: by length)")
    parser.add_argument("--engine", default=None,
                        help="quantized engine: x86, fbgemm, onednn (default torch's)")
    parser.add_argument("--per-channel", action="store_true",
                        help="one int8 scale per weight row instead of one per matrix")
    parser.add_argument("--no-transformers", action="store_true",
                        help="bertedu's runtimes only")
    parser.add_argument("--data-dir", default=None, help="local data folder ($BERTEDU_DATA)")
    args = parser.parse_args(argv)
    from ..finetuning.data import load_split

    try:
        rows_ds = load_split("sst2", "validation", args.data_dir)
        if args.max_rows is not None:
            rows_ds = rows_ds.select(range(min(args.max_rows, len(rows_ds))))
        rows = run_int8_bench(
            args.model, list(rows_ds["sentence"]), list(rows_ds["label"]), threads=args.threads,
            batch_size=args.batch_size, reps=args.reps, sort_by_length=not args.no_sort,
            engine=args.engine, per_channel=args.per_channel,
            compare_transformers=not args.no_transformers)
    except (OSError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    out = Path(args.out)
    path = write_csv(rows, out if out.suffix == ".csv" else out / "int8_sst2_cpu.csv", COLUMNS)
    print(f"\nwrote {len(rows)} rows to {path}")
    return 0
