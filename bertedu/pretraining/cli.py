"""``python -m bertedu pretrain``: from text files (or the embedded corpus) to a checkpoint.

The command trains a WordPiece vocabulary on the training documents (or takes ``--vocab``),
builds a ``BertForPreTraining`` from a preset or a ``config.json``, holds out a fraction of the
documents for evaluation, makes NSP sentence pairs, runs :func:`bertedu.pretraining.pretrain`, and
writes ``history.json`` plus, once the last step is done, a transformers-compatible directory
(``config.json``, ``model.safetensors``, ``vocab.txt``). ``--stop-after`` and ``--resume`` split
one run over several processes with the same result.
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Sequence
from pathlib import Path

import torch

from .objective import PretrainingArguments, pretrain

__all__ = ["build_parser", "cli"]


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
    a("--vocab-size", type=int, default=4000,
      help="size of the WordPiece vocabulary trained on the corpus (ignored with --vocab)")
    a("--vocab", default=None, help="use this existing vocab.txt instead of training one")
    a("--corpus", nargs="+", default=None,
      help="text files, one sentence per line, blank line between documents "
      "(default: the embedded standard-library corpus)")
    a("--out", required=True, help="output directory (model, vocab, history.json, checkpoints)")
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
      help="fraction of documents held out for evaluation")
    a("--no-progress", action="store_true", help="hide the tqdm progress bar")
    return p


def cli(argv: Sequence[str] | None = None) -> int:
    """``python -m bertedu pretrain ...``: returns the exit code."""
    from ..config import PRESETS, BertConfig
    from ..model.modeling import BertForPreTraining
    from ..tokenization.fast import BertTokenizerFast, train_wordpiece_vocab
    from .corpus import default_corpus, load_text_corpus
    from .nsp import NspDataset

    ns = build_parser().parse_args(argv)
    out = Path(ns.out)
    out.mkdir(parents=True, exist_ok=True)
    device = ns.device or ("cuda" if torch.cuda.is_available() else "cpu")
    docs = load_text_corpus(ns.corpus) if ns.corpus else default_corpus()
    rng = random.Random(ns.seed)
    order = list(range(len(docs)))
    rng.shuffle(order)
    n_eval = int(round(len(docs) * ns.held_out)) if len(docs) >= 4 else 0
    eval_docs = [docs[i] for i in order[:n_eval]]
    train_docs = [docs[i] for i in order[n_eval:]]

    vocab_file = ns.vocab
    if vocab_file is None and ns.resume and (out / "vocab.txt").exists():
        vocab_file = str(out / "vocab.txt")  # resume with the vocabulary of the first run
    if vocab_file is None:
        train_wordpiece_vocab([s for d in train_docs for s in d], vocab_size=ns.vocab_size,
                              save_to=out / "vocab.txt")
        vocab_file = str(out / "vocab.txt")
    tokenizer = BertTokenizerFast(vocab_file)

    if ns.config in PRESETS:
        config = BertConfig.preset(ns.config, vocab_size=len(tokenizer))
    else:
        # the embedding table must match the vocabulary actually used
        config = BertConfig.from_json_file(ns.config, vocab_size=len(tokenizer))
    if ns.seq_len > config.max_position_embeddings:
        raise ValueError(f"--seq-len {ns.seq_len} > max_position_embeddings "
                         f"{config.max_position_embeddings}")
    torch.manual_seed(ns.seed)
    model = BertForPreTraining(config)
    nsp_kwargs = {"max_seq_length": ns.seq_len, "short_seq_prob": ns.short_seq_prob}
    train = NspDataset.from_corpus(train_docs, tokenizer, dupe_factor=ns.dupe_factor,
                                   seed=ns.seed, **nsp_kwargs)
    held = None
    if len(eval_docs) >= 2 and any(len(d) >= 2 for d in eval_docs):
        held = NspDataset.from_corpus(eval_docs, tokenizer, seed=ns.seed + 1, **nsp_kwargs)
    args = PretrainingArguments(
        steps=ns.steps, batch_size=ns.batch_size, grad_accum=ns.grad_accum, lr=ns.lr,
        warmup=ns.warmup if ns.warmup is not None else ns.steps // 10,
        weight_decay=ns.weight_decay, clip=ns.clip, eval_every=ns.eval_every,
        save_every=ns.save_every, stop_after=ns.stop_after, seed=ns.seed,
        precision=ns.precision, device=device, whole_word_mask=ns.whole_word_mask,
        output_dir=str(out), progress=not ns.no_progress,
    )
    history = pretrain(model, tokenizer, train, args, eval_dataset=held, resume_from=ns.resume)
    (out / "history.json").write_text(json.dumps(history, indent=1))
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
        print(f"stopped at step {step}; resume with --resume "
              f"{out / 'checkpoints' / f'step-{step:06d}.pt'}")
    return 0
