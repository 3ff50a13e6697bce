"""Feeding pretraining: the in-memory path against the shard loader, side by side in one process.

Two ways to get ``batches`` masked NSP micro-batches of ``batch_size`` pairs from a corpus:

* ``in-memory``: the path of chapter 11. Tokenize every sentence, build all NSP pairs
  (:class:`bertedu.pretraining.NspDataset`, ``dupe_factor`` draws), then per micro-batch pick
  rows (:func:`bertedu.training.loop.micro_batch_indices`) and mask them with the collator;
* ``shards``: open the shards ``prepare`` wrote (tokenized once, beforehand) and read batches
  from :class:`bertedu.pretraining.loader.ShardNspStream` through a ``DataLoader`` with
  ``num_workers`` background processes, bucketed by length or not.

Each call is timed from a cold start (setup, then the batches), the implementations alternate
(A B C, C B A, ... :func:`bertedu.bench.measure.time_alternating`), and the medians are reported:
setup seconds, batches/s after setup, and the padding fraction ``1 - real / (b T)`` of the
batches. ``prepare`` itself is timed on the same corpus (shard files, tokens, seconds).
"""

from __future__ import annotations

import argparse
import datetime
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import torch

from ..pretraining.corpus import default_corpus
from ..pretraining.loader import ShardNspStream, make_loader, padding_fraction
from ..pretraining.masking import DataCollatorForLanguageModeling
from ..pretraining.nsp import NspDataset
from ..pretraining.shards import open_shards, prepare_shards
from ..tokenization.fast import BertTokenizerFast, train_wordpiece_vocab
from ..training.loop import MIX, micro_batch_indices
from .measure import time_alternating
from .runner import _device_name

__all__ = ["LOADER_COLUMNS", "bench_data_loading", "cli"]

LOADER_COLUMNS = (
    "date", "path", "num_workers", "bucket", "batch_size", "seq_len", "batches", "reps",
    "setup_s", "batches_s", "batches_per_s", "batches_per_s_cold", "padding_fraction",
    "shard_files", "shard_bytes", "tokens", "documents", "threads", "device_name",
    "torch_version",
)


def _in_memory(docs, tok, batch_size, seq_len, batches, dupe_factor, log) -> Callable[[], None]:
    def run() -> None:
        t0 = time.perf_counter()
        data = NspDataset.from_corpus(docs, tok, max_seq_length=seq_len, dupe_factor=dupe_factor)
        collator = DataCollatorForLanguageModeling(tok)
        t1 = time.perf_counter()
        pads = []
        for k in range(batches):  # what pretrain() does for micro-batch k
            idx = micro_batch_indices(k, batch_size, len(data), 0)
            collator.generator = torch.Generator().manual_seed(MIX + k)
            pads.append(padding_fraction(collator([data[i] for i in idx])))
        log.append((t1 - t0, time.perf_counter() - t1, statistics.mean(pads)))
    return run


def _shards(folder, tok, batch_size, seq_len, batches, workers, bucket, log) -> Callable[[], None]:
    def run() -> None:
        t0 = time.perf_counter()
        stream = ShardNspStream(open_shards(folder, tok), tok, batch_size,
                                max_seq_length=seq_len, bucket=bucket)
        it = iter(make_loader(stream, num_workers=workers))
        first = next(it)  # the workers have started and delivered
        t1 = time.perf_counter()
        pads = [padding_fraction(first)] + [padding_fraction(next(it)) for _ in range(batches)]
        t2 = time.perf_counter()
        del it
        log.append((t1 - t0, t2 - t1, statistics.mean(pads)))
    return run


def bench_data_loading(docs: Sequence[Sequence[str]] | None = None, vocab_size: int = 4000,
                       batch_size: int = 32, seq_len: int = 128, batches: int = 100,
                       reps: int = 3, workers: Sequence[int] = (0, 2),
                       dupe_factor: int = 5) -> list[dict]:
    """Rows of :data:`LOADER_COLUMNS`: one for ``prepare``, one per way of making batches.

    ``docs`` defaults to the embedded corpus. Single-threaded torch is up to the caller
    (``torch.set_num_threads(1)`` for comparable CPU numbers).
    """
    docs = default_corpus() if docs is None else docs
    common = {"date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
              "batch_size": batch_size, "seq_len": seq_len, "batches": batches, "reps": reps,
              "threads": torch.get_num_threads(), "device_name": _device_name(torch.device("cpu")),
              "torch_version": torch.__version__}
    with tempfile.TemporaryDirectory() as scratch:
        vocab = Path(scratch) / "vocab.txt"
        train_wordpiece_vocab([s for d in docs for s in d], vocab_size=vocab_size,
                              save_to=str(vocab))
        tok = BertTokenizerFast(vocab)
        folder = Path(scratch) / "shards"
        prepare_s = []
        for _ in range(reps):
            t0 = time.perf_counter()
            index = prepare_shards(docs, tok, folder, overwrite=True)
            prepare_s.append(time.perf_counter() - t0)
        files = sorted(folder.glob("shard-*"))
        rows = [{**common, "path": "prepare", "setup_s": statistics.median(prepare_s),
                 "shard_files": len(files), "shard_bytes": sum(f.stat().st_size for f in files),
                 "tokens": index["tokens"], "documents": index["documents"]}]
        logs: dict[str, list] = {}
        fns: dict[str, Callable[[], None]] = {}
        logs["in-memory"] = []
        fns["in-memory"] = _in_memory(docs, tok, batch_size, seq_len, batches, dupe_factor,
                                      logs["in-memory"])
        variants = [(w, True) for w in workers] + [(0, False)]
        for w, bucket in variants:
            name = f"shards w={w} bucket={bucket}"
            logs[name] = []
            fns[name] = _shards(folder, tok, batch_size, seq_len, batches, w, bucket, logs[name])
        time_alternating(fns, reps=reps, warmup=0, device=torch.device("cpu"))
        for name, log in logs.items():
            setup = statistics.median(s for s, _, _ in log)
            body = statistics.median(b for _, b, _ in log)
            total = statistics.median(s + b for s, b, _ in log)
            shard = name.startswith("shards")
            w, bucket = variants[list(logs).index(name) - 1] if shard else (0, False)
            rows.append({**common, "path": "shards" if shard else "in-memory",
                         "num_workers": w, "bucket": bucket, "setup_s": setup,
                         "batches_s": body, "batches_per_s": batches / body,
                         "batches_per_s_cold": batches / total,
                         "padding_fraction": statistics.mean(p for _, _, p in log),
                         "tokens": index["tokens"], "documents": index["documents"]})
    return rows


def cli(argv: Sequence[str] | None = None) -> int:
    """``python -m bertedu.bench.data_loading --out results/pretraining/loader_cpu.csv``."""
    from .report import write_csv

    p = argparse.ArgumentParser(prog="python -m bertedu.bench.data_loading",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default="results/pretraining/loader_cpu.csv")
    p.add_argument("--batches", type=int, default=100)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    ns = p.parse_args(argv)
    torch.set_num_threads(ns.threads)
    rows = bench_data_loading(batches=ns.batches, reps=ns.reps)
    write_csv(rows, ns.out, columns=LOADER_COLUMNS)
    for r in rows:
        if r["path"] == "prepare":
            print(f"prepare: {r['tokens']} tokens, {r['documents']} documents, "
                  f"{r['shard_files']} files in {r['setup_s']:.2f} s")
        else:
            print(f"{r['path']:<9} workers={r['num_workers']} bucket={r['bucket']!s:<5} setup "
                  f"{r['setup_s']:.2f} s, {r['batches_per_s']:.1f} batches/s, padding "
                  f"{r['padding_fraction']:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(cli())
