"""``python -m bertedu prepare``: tokenize a corpus once into memory-mapped shards.

The corpus is the embedded one (default), text files in BERT's format (``--corpus``), or a
dataset streamed by ``datasets`` (``--hub NAME``, with ``--hub-config``, ``--split``,
``--data-files``, ``--text-field``; ``--hub text --data-files corpus.txt`` streams a local file).
The vocabulary is ``--vocab`` or, for a corpus read into memory, trained on it
(``--vocab-size``). ``python -m bertedu pretrain --data OUT`` then trains from the shards.
Every argument is checked before anything is read or written (a bad one exits with status 2).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence

from .cli_arguments import add_shared_arguments, check_files_and_out, load_or_train_vocabulary

__all__ = ["build_parser", "cli"]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bertedu prepare",
        description="Tokenize a corpus once into shards of token ids (memory-mapped numpy "
        "arrays with sentence and document boundaries, plus index.json and vocab.txt) for "
        "`python -m bertedu pretrain --data OUT`.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    a = p.add_argument
    a("--hub", default=None,
      help="a dataset for datasets.load_dataset(..., streaming=True), e.g. wikitext, or text "
      "with --data-files")
    a("--hub-config", default=None, help="the dataset's configuration name")
    a("--split", default="train", help="the dataset split")
    a("--data-files", nargs="+", default=None, help="data files for --hub (e.g. with text)")
    a("--text-field", default="text", help="the dataset column holding the text")
    a("--doc-per-row", action="store_true",
      help="each dataset row is a document (split into sentences); default: a row is a line, "
      "an empty row ends a document")
    a("--max-documents", type=int, default=None, help="stop after this many documents (--hub)")
    a("--shard-tokens", type=int, default=2**26, help="tokens per shard (about)")
    add_shared_arguments(p, out_help="the shard folder to write",
                         overwrite_help="replace the shards already in --out",
                         vocab_note=" (required with --hub)")
    return p


def cli(argv: Sequence[str] | None = None) -> int:
    """``python -m bertedu prepare ...``: returns the exit code (2 for a bad argument)."""
    from .corpus import default_corpus
    from .shards import ShardError, hub_documents, prepare_shards, text_file_documents

    parser = build_parser()
    ns = parser.parse_args(argv)
    if ns.corpus and ns.hub:
        parser.error("--corpus and --hub exclude each other: pick one source")
    if ns.hub and ns.vocab is None:
        parser.error("--hub needs --vocab: a streamed corpus is read once, so no vocabulary "
                     "can be trained on it first")
    if ns.data_files and not ns.hub:
        parser.error("--data-files goes with --hub (e.g. --hub text --data-files corpus.txt)")
    if ns.shard_tokens < 1:
        parser.error(f"--shard-tokens {ns.shard_tokens}: must be >= 1")
    if ns.max_documents is not None and ns.max_documents < 1:
        parser.error(f"--max-documents {ns.max_documents}: must be >= 1")
    out = check_files_and_out(parser, ns, [("--data-files", ns.data_files or [])])

    start = time.perf_counter()
    if ns.hub:
        documents = hub_documents(ns.hub, ns.hub_config, split=ns.split,
                                  text_field=ns.text_field, data_files=ns.data_files,
                                  doc_per_row=ns.doc_per_row, max_documents=ns.max_documents)
    elif ns.corpus:
        documents = text_file_documents(ns.corpus)
    else:
        documents = default_corpus()
    if not ns.vocab:
        documents = list(documents)  # the vocabulary is trained on the corpus first
    tokenizer, _ = load_or_train_vocabulary(parser, ns.vocab, documents, ns.vocab_size)
    try:
        index = prepare_shards(documents, tokenizer, out, shard_tokens=ns.shard_tokens,
                               overwrite=ns.overwrite, progress=not ns.no_progress)
    except (ShardError, ValueError, TypeError, OSError) as err:
        parser.error(f"prepare: {err}")
    seconds = time.perf_counter() - start
    print(f"{index['tokens']} tokens, {index['sentences']} sentences, {index['documents']} "
          f"documents in {len(index['shards'])} shard(s) ({index['dtype']}) written to {out} "
          f"in {seconds:.1f} s")
    return 0
