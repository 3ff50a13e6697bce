"""``python -m bertedu pretrain``: from text files (or the embedded corpus) to a checkpoint.

The command trains a WordPiece vocabulary on the training documents (or takes ``--vocab``),
builds a ``BertForPreTraining`` from a preset or a ``config.json``, holds out a fraction of the
documents for evaluation, makes NSP sentence pairs, runs :func:`bertedu.pretraining.pretrain`, and
writes ``history.json`` plus, once the last step is done, a transformers-compatible directory
(``config.json``, ``model.safetensors``, ``vocab.txt``). ``--stop-after`` and ``--resume`` split
one run over several processes with the same result; one ``--seed`` gives the same run twice.
With ``--data SHARDS`` (a folder written by ``python -m bertedu prepare``) the corpus, vocabulary
and token ids come from the shards instead, and the batches from the background loader of
:mod:`bertedu.pretraining.loader` (``--num-workers``, length buckets unless ``--no-bucket``).

Nothing is written before everything has been checked. Every argument is validated first
(:mod:`bertedu.pretraining.cli_arguments`: a bad one exits with status 2 and one line naming the
flag), then the corpus, vocabulary, NSP pairs,
model and resume checkpoint are prepared in memory; only then is ``--out`` touched. A non-empty
``--out`` (a finished run) is refused unless ``--overwrite`` (replace that run) or ``--resume``
(continue it) says what to do with it, and the vocabulary is written atomically.
"""

from __future__ import annotations

import argparse
import json
import os
import random
from collections.abc import Sequence
from pathlib import Path

import torch

from ..training.distributed import Distributed, init_from_env
from .cli_arguments import add_shared_arguments, check_pretrain_arguments, load_or_train_vocabulary
from .objective import PretrainingArguments, pretrain

__all__ = ["build_parser", "cli"]

# files a run writes into --out; --overwrite removes exactly these (and checkpoints/step-*.pt)
RUN_FILES = ("config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json",
             "special_tokens_map.json", "tokenizer.json", "history.json")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bertedu pretrain",
        description="Pretrain a BERT from scratch with masked LM + next-sentence prediction, "
        "then write a transformers-compatible checkpoint (config.json, model.safetensors, "
        "vocab.txt) to --out.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    a = p.add_argument
    a("--config", default="tiny",
      help="model size: a preset name (tiny, mini, small, medium, base, large) or a config.json "
      "(its vocab_size is replaced by the size of the vocabulary used)")
    a("--data", default=None,
      help="pre-tokenized shards from `python -m bertedu prepare` (instead of --corpus; the "
      "shards' vocab.txt is used, every pass over them draws new NSP pairs)")
    a("--num-workers", type=int, default=2,
      help="background DataLoader workers building batches from --data (0: in this process)")
    a("--no-bucket", action="store_true",
      help="with --data: do not group pairs of similar length into batches")
    a("--steps", type=int, default=1000, help="number of optimizer steps")
    a("--batch-size", type=int, default=32, help="examples per micro-batch (forward pass)")
    a("--seq-len", type=int, default=128, help="max_seq_length of the NSP sentence pairs")
    a("--lr", type=float, default=5e-4, help="peak learning rate of AdamW")
    a("--warmup", type=int, default=None,
      help="linear warmup steps (default: 10%% of --steps), then linear decay to 0")
    a("--weight-decay", type=float, default=0.01,
      help="AdamW decoupled weight decay (never on biases and LayerNorm)")
    a("--grad-accum", type=int, default=1,
      help="micro-batches accumulated per optimizer step (effective batch = batch-size x this)")
    a("--clip", type=float, default=1.0, help="max global gradient norm (0 disables clipping)")
    a("--eval-every", type=int, default=0,
      help="evaluate on held-out documents every N steps (0: only at the end)")
    a("--save-every", type=int, default=0,
      help="write a resumable checkpoint every N steps (0: only at the end)")
    a("--stop-after", type=int, default=None,
      help="stop this run after N steps in total and save a checkpoint (resume with --resume)")
    a("--max-seconds", type=float, default=None,
      help="stop this run after the step during which this wall-clock budget ran out, and save "
      "a checkpoint (resume with --resume)")
    a("--resume", default=None, help="checkpoint (.pt) to resume from, exactly")
    a("--seed", type=int, default=0, help="seed of the data, masks, initialisation and dropout")
    a("--precision", choices=["fp32", "bf16", "fp16"], default="fp32",
      help="fp32, or mixed precision: bf16 autocast, fp16 autocast with loss scaling (CUDA)")
    a("--device", default=None, help="cpu, cuda, cuda:1 ... (default: cuda if available)")
    a("--short-seq-prob", type=float, default=0.1,
      help="probability of a shorter random target length for an NSP pair")
    a("--dupe-factor", type=int, default=5,
      help="passes over the corpus with different NSP split points and partners")
    a("--whole-word-mask", action="store_true", help="mask whole words instead of WordPieces")
    a("--held-out", type=float, default=0.05,
      help="fraction of documents held out for evaluation, in [0, 1)")
    add_shared_arguments(
        p, out_help="output directory (model, vocab, history.json, checkpoints)",
        overwrite_help="replace the run already in --out (without it, a non-empty --out is "
        "refused)")
    return p


def _split(docs: list, held_out: float, seed: int) -> tuple[list, list]:
    rng = random.Random(seed)
    order = list(range(len(docs)))
    rng.shuffle(order)
    n_eval = int(round(len(docs) * held_out)) if len(docs) >= 4 else 0
    return [docs[i] for i in order[n_eval:]], [docs[i] for i in order[:n_eval]]


def _resume_state(parser, ns, model, args) -> None:
    from ..training.checkpointing import _check_resumable, load_checkpoint

    try:
        state = load_checkpoint(ns.resume)
        _check_resumable(state, model, args, ns.resume)
    except (OSError, ValueError) as err:
        parser.error(f"--resume {ns.resume}: {err}")
    if ns.stop_after is not None and ns.stop_after <= state["step"]:
        parser.error(f"--stop-after {ns.stop_after}: the checkpoint is already at step "
                     f"{state['step']}")


# ----------------------------------------------------------------------- the command
def cli(argv: Sequence[str] | None = None) -> int:
    """``python -m bertedu pretrain ...``: returns the exit code (2 for a bad argument).

    Started by ``torchrun --nproc_per_node N -m bertedu pretrain ...`` the same command trains
    data-parallel; rank 0 alone writes to ``--out``.
    """
    try:
        return _run(argv)
    finally:
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()


def _run(argv: Sequence[str] | None) -> int:
    from .corpus import default_corpus, load_text_corpus
    from .nsp import NspDataset

    parser = build_parser()
    ns = parser.parse_args(argv)
    device, config = check_pretrain_arguments(parser, ns)
    out = Path(ns.out)
    # under torchrun: one process per device, each with its share of every global micro-batch
    ctx, device = init_from_env(device) if _launched_by_torchrun() else (Distributed(), device)
    if ns.batch_size % ctx.world_size:
        parser.error(f"--batch-size {ns.batch_size}: the global micro-batch must split evenly "
                     f"over the {ctx.world_size} processes")
    if ns.data is not None:
        return _run_from_shards(parser, ns, ctx, device, config, out)
    try:
        docs = load_text_corpus(ns.corpus) if ns.corpus else default_corpus()
    except (OSError, ValueError) as err:
        parser.error(f"--corpus: {err}")
    train_docs, eval_docs = _split(docs, ns.held_out, ns.seed)

    vocab_file = ns.vocab
    if vocab_file is None and ns.resume and (out / "vocab.txt").is_file():
        vocab_file = str(out / "vocab.txt")  # resume with the vocabulary of the first run
    # a trained vocabulary stays in memory; it is written to --out only when training starts
    tokenizer, new_vocab = load_or_train_vocabulary(parser, vocab_file, train_docs, ns.vocab_size)
    config = config.copy(vocab_size=len(tokenizer))  # the embeddings match the vocabulary
    try:
        nsp_kwargs = {"max_seq_length": ns.seq_len, "short_seq_prob": ns.short_seq_prob}
        train = NspDataset.from_corpus(train_docs, tokenizer, dupe_factor=ns.dupe_factor,
                                       seed=ns.seed, **nsp_kwargs)
        held = None
        if len(eval_docs) >= 2 and any(len(d) >= 2 for d in eval_docs):
            held = NspDataset.from_corpus(eval_docs, tokenizer, seed=ns.seed + 1, **nsp_kwargs)
    except ValueError as err:
        parser.error(f"--corpus/--held-out {ns.held_out}: {len(train_docs)} training "
                     f"document(s) left: {err}")
    if ns.eval_every and held is None:
        parser.error(f"--eval-every {ns.eval_every}: nothing to evaluate on; --held-out "
                     f"{ns.held_out} keeps {len(eval_docs)} of {len(docs)} documents (2 or more "
                     "are needed, one with 2 sentences)")
    model, args = _model_and_arguments(parser, ns, config, device, out)
    _start_writing(ctx, ns, out, new_vocab)
    history = pretrain(model, tokenizer, train, args, eval_dataset=held, resume_from=ns.resume)
    return _finish(ctx, ns, out, history, model, tokenizer)


def _run_from_shards(parser, ns, ctx, device, config, out) -> int:
    """``--data``: the shards' vocabulary and documents, batches from the background loader."""
    from ..tokenization.fast import BertTokenizerFast
    from .loader import nsp_dataset_from_shards, pretrain_from_shards
    from .shards import ShardError, open_shards

    try:
        tokenizer = BertTokenizerFast(ns.vocab) if ns.vocab else None
        shards = open_shards(ns.data, tokenizer)
        tokenizer = tokenizer or shards.tokenizer()
    except (ShardError, OSError, ValueError, KeyError) as err:
        parser.error(f"--data {ns.data}: {err}")
    config = config.copy(vocab_size=len(tokenizer))
    train_docs, eval_docs = _split(list(range(len(shards))), ns.held_out, ns.seed)
    held = None
    try:
        held = nsp_dataset_from_shards(shards, tokenizer, eval_docs, max_seq_length=ns.seq_len,
                                       short_seq_prob=ns.short_seq_prob, seed=ns.seed + 1)
    except ValueError:
        if ns.eval_every:
            parser.error(f"--eval-every {ns.eval_every}: nothing to evaluate on; --held-out "
                         f"{ns.held_out} keeps {len(eval_docs)} of {len(shards)} documents")
    counts = shards.sentence_counts()
    if len(train_docs) < 2 or sum(counts[d] >= 2 for d in train_docs) < ctx.world_size:
        parser.error(f"--data {ns.data}: {len(train_docs)} training document(s) after "
                     f"--held-out {ns.held_out}, too few with 2+ sentences for "
                     f"{ctx.world_size} process(es)")
    model, args = _model_and_arguments(parser, ns, config, device, out)
    _start_writing(ctx, ns, out, None)
    history = pretrain_from_shards(
        model, tokenizer, shards, args, documents=sorted(train_docs), eval_dataset=held,
        resume_from=ns.resume, max_seq_length=ns.seq_len, short_seq_prob=ns.short_seq_prob,
        num_workers=ns.num_workers, bucket=not ns.no_bucket)
    return _finish(ctx, ns, out, history, model, tokenizer)


def _model_and_arguments(parser, ns, config, device, out):
    from ..model.modeling import BertForPreTraining

    torch.manual_seed(ns.seed)
    model = BertForPreTraining(config)
    args = PretrainingArguments(
        steps=ns.steps, batch_size=ns.batch_size, grad_accum=ns.grad_accum, lr=ns.lr,
        warmup=ns.warmup if ns.warmup is not None else ns.steps // 10,
        weight_decay=ns.weight_decay, clip=ns.clip, eval_every=ns.eval_every,
        save_every=ns.save_every, stop_after=ns.stop_after, max_seconds=ns.max_seconds,
        seed=ns.seed, precision=ns.precision, device=device, whole_word_mask=ns.whole_word_mask,
        output_dir=str(out), progress=not ns.no_progress,
    )
    if ns.resume:
        _resume_state(parser, ns, model, args)
    return model, args


def _start_writing(ctx, ns, out: Path, new_vocab) -> None:
    """Training starts: rank 0 prepares --out (every rank has checked it first)."""
    ctx.barrier()  # every rank has checked --out before rank 0 writes into it
    if ctx.is_main:
        out.mkdir(parents=True, exist_ok=True)
        if ns.overwrite:
            _remove_previous_run(out)
        if new_vocab is not None:
            _write_atomically(out / "vocab.txt", "".join(t + "\n" for t in new_vocab))


def _finish(ctx, ns, out: Path, history, model, tokenizer) -> int:
    if not ctx.is_main:
        return 0
    _write_atomically(out / "history.json", json.dumps(history, indent=1))
    if history and history[-1]["step"] == ns.steps:
        model.save_pretrained(out)
        tokenizer.save_pretrained(out)
        last = history[-1]
        summary = f"step {last['step']}: loss {last['loss']:.4f}"
        if "eval_mlm_accuracy" in last:
            summary += f", held-out MLM accuracy {last['eval_mlm_accuracy']:.3f}"
        print(f"{summary}; model written to {out}")
    else:
        step = history[-1]["step"] if history else 0
        checkpoint = out / "checkpoints" / f"step-{step:06d}.pt"
        hint = f"; resume with --resume {checkpoint}" if checkpoint.is_file() else ""
        print(f"stopped at step {step}{hint}")
    return 0


def _launched_by_torchrun() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def _write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path``, then rename it over ``path``."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _remove_previous_run(out: Path) -> None:
    """--overwrite: remove what an earlier run wrote, so no old file sits beside new ones."""
    for name in RUN_FILES:
        (out / name).unlink(missing_ok=True)
    for checkpoint in (out / "checkpoints").glob("step-*.pt"):
        checkpoint.unlink()
