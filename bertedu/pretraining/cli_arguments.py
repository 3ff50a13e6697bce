"""The flags of ``python -m bertedu prepare`` and ``python -m bertedu pretrain``, checked before
anything is read or written.

Both commands read a corpus (``--corpus`` text files, or the embedded one), tokenize it with a
vocabulary (``--vocab``, or one of ``--vocab-size`` WordPiece tokens trained on the corpus) and
write into ``--out`` (refused when it already holds files, unless ``--overwrite``):
:func:`add_shared_arguments` defines those flags once, :func:`check_files_and_out` checks them and
:func:`load_or_train_vocabulary` builds the tokenizer. :func:`check_pretrain_arguments` checks
every other flag of ``pretrain``: a bad one exits with status 2 and one line naming it.
"""

from __future__ import annotations

import argparse
import math
import tempfile
from collections.abc import Sequence
from pathlib import Path

import torch

__all__ = ["add_shared_arguments", "check_files_and_out", "load_or_train_vocabulary",
           "check_pretrain_arguments"]

MAX_SEED = 2**32  # seeds are mixed into 64-bit generator seeds


def add_shared_arguments(parser: argparse.ArgumentParser, out_help: str, overwrite_help: str,
                         vocab_note: str = "") -> None:
    """Add ``--corpus``, ``--vocab``, ``--vocab-size``, ``--out``, ``--overwrite`` and
    ``--no-progress`` to ``parser``, as one group of its help."""
    a = parser.add_argument_group("corpus, vocabulary and output").add_argument
    a("--corpus", nargs="+", default=None,
      help="text files, one sentence per line, blank line between documents "
      "(default: the embedded standard-library corpus)")
    a("--vocab", default=None,
      help=f"an existing vocab.txt, used instead of training one{vocab_note}")
    a("--vocab-size", type=int, default=4000,
      help="size of the WordPiece vocabulary trained on the corpus (without --vocab)")
    a("--out", required=True, help=out_help)
    a("--overwrite", action="store_true", help=overwrite_help)
    a("--no-progress", action="store_true", help="hide the progress bar")


def check_files_and_out(parser: argparse.ArgumentParser, ns: argparse.Namespace,
                        more_files: Sequence[tuple[str, Sequence[str]]] = (),
                        may_reuse: bool = False,
                        hint: str = "; pass --overwrite to replace them") -> Path:
    """``--corpus``, ``--vocab`` and ``more_files`` (flag, paths) name files that exist;
    ``--out`` is a folder, empty unless ``--overwrite`` (or ``may_reuse``). Returns ``--out``."""
    files = [("--corpus", ns.corpus or []), ("--vocab", [ns.vocab] if ns.vocab else []),
             *more_files]
    for flag, paths in files:
        for path in paths:
            if not Path(path).is_file():
                parser.error(f"{flag} {path}: no such file")
    out = Path(ns.out)
    if out.exists() and not out.is_dir():
        parser.error(f"--out {out}: is a file, not a directory")
    if out.is_dir() and any(out.iterdir()) and not (ns.overwrite or may_reuse):
        parser.error(f"--out {out}: already holds files{hint}")
    return out


def load_or_train_vocabulary(parser: argparse.ArgumentParser, vocab_file: str | Path | None,
                             documents: Sequence[Sequence[str]], vocab_size: int):
    """The tokenizer of ``vocab_file`` or, without one, of a WordPiece vocabulary of
    ``vocab_size`` tokens trained on the sentences of ``documents``.

    Returns ``(tokenizer, trained vocabulary)``, the vocabulary ``None`` when ``vocab_file`` is
    given: a trained one is only in memory, for the caller to write where it belongs. A file the
    tokenizer cannot read, or a size too small for the corpus, exits naming the flag.
    """
    from ..tokenization.fast import BertTokenizerFast, train_wordpiece_vocab

    if vocab_file is not None:
        try:
            return BertTokenizerFast(vocab_file), None
        except (OSError, ValueError, KeyError) as err:
            parser.error(f"--vocab {vocab_file}: {err}")
    try:
        vocab = train_wordpiece_vocab([s for d in documents for s in d], vocab_size=vocab_size)
    except ValueError as err:
        parser.error(f"--vocab-size {vocab_size}: {err}")
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "vocab.txt"
        path.write_text("".join(t + "\n" for t in vocab), encoding="utf-8")
        return BertTokenizerFast(path), vocab


def _device(parser: argparse.ArgumentParser, name: str | None) -> str:
    if name is None:
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(name)
    except RuntimeError:
        parser.error(f"--device {name}: not a device; expected cpu, cuda, cuda:N or mps")
    if device.type == "cuda":
        if not torch.cuda.is_available():
            parser.error(f"--device {name}: CUDA is not available on this machine (use cpu)")
        if device.index is not None and device.index >= torch.cuda.device_count():
            parser.error(f"--device {name}: this machine has {torch.cuda.device_count()} "
                         "CUDA device(s)")
    elif device.type == "mps":
        if not torch.backends.mps.is_available():
            parser.error(f"--device {name}: MPS is not available on this machine (use cpu)")
    elif device.type != "cpu":
        parser.error(f"--device {name}: unsupported device type; expected cpu, cuda or mps")
    return name


def _config(parser: argparse.ArgumentParser, name: str):
    from ..config import PRESETS, BertConfig

    if name in PRESETS:
        return BertConfig.preset(name)
    if not Path(name).exists():
        parser.error(f"--config {name}: unknown preset and no such file; expected a preset "
                     f"({', '.join(PRESETS)}) or a config.json")
    try:
        return BertConfig.from_pretrained(name)
    except (OSError, ValueError, TypeError) as err:
        parser.error(f"--config {name}: {err}")


def check_pretrain_arguments(parser: argparse.ArgumentParser, ns: argparse.Namespace):
    """``pretrain``: every flag on its own and against the others; returns (device, config)."""
    def at_least(flag: str, value: int | None, low: int, what: str = "") -> None:
        if value is not None and value < low:
            parser.error(f"{flag} {value}: must be >= {low}{what}")

    def real(flag: str, value: float, low: float, high: float = math.inf,
             open_high: bool = False) -> None:
        inside = low <= value < high if open_high else low <= value <= high
        if not math.isfinite(value) or not inside:
            bounds = f"[{low}, {high})" if open_high else f"[{low}, {high}]"
            parser.error(f"{flag} {value}: must be in {bounds}")

    at_least("--steps", ns.steps, 1)
    at_least("--num-workers", ns.num_workers, 0)
    if ns.data is not None:
        if ns.corpus:
            parser.error("--data and --corpus exclude each other: the shards are the corpus")
        if not (Path(ns.data) / "index.json").is_file():
            parser.error(f"--data {ns.data}: not a shard folder (no index.json); write one with "
                         "python -m bertedu prepare --out DIR")
    at_least("--batch-size", ns.batch_size, 1)
    at_least("--grad-accum", ns.grad_accum, 1)
    at_least("--dupe-factor", ns.dupe_factor, 1)
    at_least("--eval-every", ns.eval_every, 0, " (0: only at the end)")
    at_least("--save-every", ns.save_every, 0, " (0: only at the end)")
    at_least("--stop-after", ns.stop_after, 1)
    at_least("--seq-len", ns.seq_len, 5, " ([CLS] A [SEP] B [SEP] needs 5 positions)")
    at_least("--vocab-size", ns.vocab_size, 6, " (5 special tokens and some text)")
    if ns.warmup is not None and not 0 <= ns.warmup <= ns.steps:
        parser.error(f"--warmup {ns.warmup}: must be in [0, --steps={ns.steps}]")
    if ns.lr <= 0 or not math.isfinite(ns.lr):
        parser.error(f"--lr {ns.lr}: must be a positive number")
    if ns.max_seconds is not None and not (ns.max_seconds > 0 and math.isfinite(ns.max_seconds)):
        parser.error(f"--max-seconds {ns.max_seconds}: must be a positive number of seconds")
    real("--weight-decay", ns.weight_decay, 0.0)
    real("--clip", ns.clip, 0.0)
    real("--short-seq-prob", ns.short_seq_prob, 0.0, 1.0)
    real("--held-out", ns.held_out, 0.0, 1.0, open_high=True)
    if not 0 <= ns.seed < MAX_SEED:
        parser.error(f"--seed {ns.seed}: must be in [0, 2**32)")
    device = _device(parser, ns.device)
    if ns.precision == "fp16" and torch.device(device).type != "cuda":
        parser.error(f"--precision fp16: needs a CUDA device, not {device} (use bf16 or fp32)")
    config = _config(parser, ns.config)
    if ns.seq_len > config.max_position_embeddings:
        parser.error(f"--seq-len {ns.seq_len}: longer than max_position_embeddings="
                     f"{config.max_position_embeddings} of --config {ns.config}")
    if ns.overwrite and ns.resume:
        parser.error("--overwrite and --resume exclude each other: resume a run or replace it")
    check_files_and_out(parser, ns, [("--resume", [ns.resume] if ns.resume else [])],
                        may_reuse=bool(ns.resume),
                        hint=" (a previous run?); pass --overwrite to replace them or --resume "
                        "to continue that run")
    return device, config
