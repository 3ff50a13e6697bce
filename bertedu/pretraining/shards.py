"""Pre-tokenized shards: tokenize a corpus once, then read token ids from memory-mapped files.

Tokenizing text in Python is the slowest part of feeding a small BERT, and it is the same work
on every run. ``prepare`` does it once and writes the ids to disk in a layout that a training
process can read without loading it, with :func:`numpy.memmap`:

* ``shard-NNNNN.ids``: the token ids of every sentence, back to back, ``uint16`` when the
  vocabulary has fewer than ``2**16`` entries (half the bytes of ``uint32``), else ``uint32``;
* ``shard-NNNNN.sentences``: ``int64`` offsets, sentence ``j`` is ``ids[s[j]:s[j+1]]``;
* ``shard-NNNNN.documents``: ``int64`` offsets into the sentences, document ``i`` is sentences
  ``d[i]`` to ``d[i+1]`` (document boundaries are what next-sentence prediction needs);
* ``index.json``: format name and version, dtype, vocabulary size and hash, the tokenizer's
  lower-casing, the counts, and every shard's files with their sizes, written last, so a folder
  without it is an unfinished ``prepare``;
* ``vocab.txt``: the vocabulary the ids refer to.

Sentences are tokenized exactly as the in-memory path does it
(:func:`bertedu.pretraining.nsp.create_nsp_instances`: no special tokens, empty sentences and
documents dropped), so ``SHARDS.documents[i]`` is the ``i``-th tokenized document of that path.
Opening checks the format, each file's size against the index, and (given a tokenizer) the
vocabulary hash, so ids never meet the wrong vocabulary and a truncated copy fails at once.

Corpora come from memory (the embedded corpus), from text files in BERT's format (one sentence
per line, a blank line between documents) read line by line, or from a dataset streamed by the
``datasets`` package (``load_dataset(..., streaming=True)``), so a corpus larger than memory
never has to fit in it.

References:
    Devlin et al., 2019, "BERT", section 3.1 and appendix A.2 (document-level corpus, the input
    format); the original ``create_pretraining_data.py`` writes TFRecord shards the same way.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np

from .nsp import _tokenize_corpus

__all__ = ["FORMAT", "VERSION", "ShardError", "Shards", "vocab_hash", "prepare_shards",
           "open_shards", "text_file_documents", "hub_documents"]

FORMAT, VERSION = "bertedu-shards", 1
PARTS = ("ids", "sentences", "documents")  # the files of one shard, by suffix


class ShardError(ValueError):
    """A shard folder that cannot be used: missing, unfinished, truncated or mismatched."""


def vocab_hash(tokenizer) -> str:
    """SHA-256 of the vocabulary in id order and the lower-casing flag: equal hashes, equal ids."""
    tokens = tokenizer.convert_ids_to_tokens(list(range(len(tokenizer))))
    text = "\n".join(tokens) + f"\nlower={bool(getattr(tokenizer, 'do_lower_case', True))}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# ----------------------------------------------------------------------- document sources
def text_file_documents(paths: str | os.PathLike | Iterable[str | os.PathLike]
                        ) -> Iterator[list[str]]:
    """Documents of a BERT-format corpus, read line by line (a file's end also ends a document).

    The same documents as :func:`bertedu.pretraining.corpus.load_text_corpus`, without holding
    the corpus in memory.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    for path in paths:
        current: list[str] = []
        with open(path, encoding="utf-8") as fh:
            try:
                for line in fh:
                    line = line.strip()
                    if line:
                        current.append(line)
                    elif current:
                        yield current
                        current = []
            except UnicodeDecodeError as err:
                raise ValueError(f"corpus file {os.fspath(path)!r} is not UTF-8 text: {err}; "
                                 "convert it, e.g. with iconv -t utf-8") from err
        if current:
            yield current


def hub_documents(path: str, name: str | None = None, split: str = "train",
                  text_field: str = "text", data_files=None, doc_per_row: bool = False,
                  max_documents: int | None = None) -> Iterator[list[str]]:
    """Documents of a dataset streamed by ``datasets.load_dataset(..., streaming=True)``.

    By default a row is a line of BERT's format (a sentence; an empty row ends a document),
    which is how the ``text`` builder reads a local file: ``hub_documents("text",
    data_files="corpus.txt")`` gives the documents of :func:`text_file_documents`. With
    ``doc_per_row`` every row is a document, split into sentences by
    :func:`bertedu.pretraining.corpus.split_sentences`. Nothing is downloaded for local files.
    """
    try:
        import datasets
    except ImportError as err:
        raise ImportError("streaming a dataset needs the `datasets` package "
                          "(pip install datasets)") from err
    from .corpus import split_sentences

    rows = datasets.load_dataset(path, name, split=split, data_files=data_files, streaming=True)
    count = 0
    current: list[str] = []
    for row in rows:
        if text_field not in row:
            raise ValueError(f"the dataset has no field {text_field!r} (fields: {sorted(row)}); "
                             "pass the name of its text column")
        text = row[text_field] or ""
        if doc_per_row:
            current = split_sentences(text)
        elif text.strip():
            current.append(text.strip())
            continue
        if current:
            yield current
            count += 1
            if max_documents is not None and count >= max_documents:
                return
        current = []
    if current and (max_documents is None or count < max_documents):
        yield current


# ----------------------------------------------------------------------- writing
def _dtype_for(vocab_size: int) -> np.dtype:
    return np.dtype(np.uint16 if vocab_size < 2**16 else np.uint32)


def prepare_shards(documents: Iterable[Sequence[str]], tokenizer, out_dir: str | os.PathLike,
                   shard_tokens: int = 2**26, chunk_documents: int = 512,
                   overwrite: bool = False, progress: bool = False) -> dict:
    """Tokenize ``documents`` (an iterable of documents of sentences) into shards in ``out_dir``.

    A shard is closed once it holds ``shard_tokens`` tokens (at a document boundary, so no
    document spans two shards). Documents are tokenized ``chunk_documents`` at a time, so memory
    stays bounded whatever the size of the corpus. Returns the index (also ``index.json``).
    """
    if shard_tokens < 1 or chunk_documents < 1:
        raise ValueError("shard_tokens and chunk_documents must be >= 1")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ShardError(f"{out} is a file, not a directory")
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            raise ShardError(f"{out} already holds files; pass overwrite=True (--overwrite) "
                             "to replace them")
        for old in [*out.glob("shard-*"), out / "index.json", out / "vocab.txt"]:
            old.unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    dtype = _dtype_for(len(tokenizer))
    shards: list[dict] = []
    pending: list[list[list[int]]] = []  # tokenized documents of the open shard
    pending_tokens = 0

    def close_shard() -> None:
        if not pending:
            return
        name = f"shard-{len(shards):05d}"
        sentences = [s for d in pending for s in d]
        sent_off = np.zeros(len(sentences) + 1, dtype=np.int64)
        np.cumsum([len(s) for s in sentences], out=sent_off[1:])
        doc_off = np.zeros(len(pending) + 1, dtype=np.int64)
        np.cumsum([len(d) for d in pending], out=doc_off[1:])
        ids = np.fromiter((t for s in sentences for t in s), dtype=dtype, count=int(sent_off[-1]))
        files = {}
        for part, array in zip(PARTS, (ids, sent_off, doc_off), strict=True):
            path = out / f"{name}.{part}"
            array.tofile(path)
            files[part] = {"path": path.name, "bytes": path.stat().st_size}
        shards.append({"name": name, "documents": len(pending), "sentences": len(sentences),
                       "tokens": int(sent_off[-1]), "files": files})
        pending.clear()

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(desc="prepare", unit=" docs", mininterval=0.5)
    chunk: list[Sequence[str]] = []
    for doc in _checked(documents):
        chunk.append(doc)
        if len(chunk) == chunk_documents:
            pending_tokens = _add(chunk, tokenizer, pending, pending_tokens, shard_tokens,
                                  close_shard)
            chunk = []
            if bar is not None:
                bar.update(chunk_documents)
    if chunk:
        pending_tokens = _add(chunk, tokenizer, pending, pending_tokens, shard_tokens,
                              close_shard)
        if bar is not None:
            bar.update(len(chunk))
    close_shard()
    if bar is not None:
        bar.close()
    if not shards:
        raise ShardError("empty corpus: no document has a sentence with a token in it")
    tokenizer.save_vocabulary(str(out))
    index = {
        "format": FORMAT, "version": VERSION, "dtype": dtype.name,
        "vocab_size": len(tokenizer), "vocab_hash": vocab_hash(tokenizer),
        "do_lower_case": bool(getattr(tokenizer, "do_lower_case", True)),
        "documents": sum(s["documents"] for s in shards),
        "sentences": sum(s["sentences"] for s in shards),
        "tokens": sum(s["tokens"] for s in shards), "shards": shards,
    }
    tmp = out / "index.json.tmp"
    tmp.write_text(json.dumps(index, indent=1), encoding="utf-8")
    os.replace(tmp, out / "index.json")  # last: a folder with an index is a finished prepare
    return index


def _checked(documents: Iterable[Sequence[str]]) -> Iterator[Sequence[str]]:
    for i, doc in enumerate(documents):
        if isinstance(doc, str) or not all(isinstance(s, str) for s in doc):
            raise TypeError(f"document {i} is not a list of sentence strings; a corpus is an "
                            "iterable of documents, each a list of sentences")
        yield doc


def _add(chunk, tokenizer, pending, pending_tokens, shard_tokens, close_shard) -> int:
    for doc in _tokenize_corpus(chunk, tokenizer):  # the in-memory path's tokenization
        pending.append(doc)
        pending_tokens += sum(len(s) for s in doc)
        if pending_tokens >= shard_tokens:
            close_shard()
            pending_tokens = 0
    return pending_tokens


# ----------------------------------------------------------------------- reading
class Shards(Sequence):
    """The documents of a shard folder: ``shards[i]`` is document ``i`` as a list of sentences,
    each a list of token ids (read from the memory maps on demand); ``len(shards)`` documents."""

    def __init__(self, folder: Path, index: dict, arrays: list[tuple[np.ndarray, ...]]):
        self.folder, self.index, self._arrays = folder, index, arrays
        counts = [int(a[2].shape[0]) - 1 for a in arrays]
        self._first = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)  # (S+1,)

    def __len__(self) -> int:
        return int(self._first[-1])

    def __getitem__(self, i: int) -> list[list[int]]:
        if not -len(self) <= i < len(self):
            raise IndexError(f"document {i} of {len(self)}")
        i %= len(self)
        shard = int(np.searchsorted(self._first, i, side="right")) - 1
        ids, sent, docs = self._arrays[shard]
        j = i - int(self._first[shard])
        lo, hi = int(docs[j]), int(docs[j + 1])
        bounds = sent[lo : hi + 1].tolist()
        flat = ids[bounds[0] : bounds[-1]].tolist()
        base = bounds[0]
        return [flat[a - base : b - base] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]

    def sentence_counts(self) -> np.ndarray:
        """``(D,)`` number of sentences of every document."""
        return np.concatenate([np.diff(a[2]) for a in self._arrays])

    @property
    def num_tokens(self) -> int:
        return int(self.index["tokens"])

    def tokenizer(self):
        """The fast tokenizer of the ``vocab.txt`` the ids were made with."""
        from ..tokenization.fast import BertTokenizerFast

        return BertTokenizerFast(self.folder / "vocab.txt",
                                 do_lower_case=self.index["do_lower_case"])


def open_shards(folder: str | os.PathLike, tokenizer=None) -> Shards:
    """Open a shard folder written by :func:`prepare_shards`, memory-mapped, after checking it.

    Raises :class:`ShardError` naming the problem: no ``index.json`` (not a shard folder, or an
    unfinished prepare), another format or version, a file missing or of the wrong size
    (truncated), offsets out of range, or (with ``tokenizer``) a different vocabulary.
    """
    folder = Path(folder)
    path = folder / "index.json"
    if not path.is_file():
        raise ShardError(f"{folder}: no index.json; not a shard folder, or `prepare` did not "
                         "finish (run python -m bertedu prepare --out DIR)")
    try:
        index = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ShardError(f"{path}: not valid JSON ({err})") from err
    if index.get("format") != FORMAT or index.get("version") != VERSION:
        raise ShardError(f"{path}: format {index.get('format')!r} version "
                         f"{index.get('version')!r}; this bertedu reads {FORMAT!r} version "
                         f"{VERSION}: prepare the corpus again")
    if tokenizer is not None and vocab_hash(tokenizer) != index["vocab_hash"]:
        raise ShardError(f"{folder}: the shards were tokenized with another vocabulary "
                         f"(hash {index['vocab_hash'][:12]}, {index['vocab_size']} tokens) than "
                         f"the tokenizer given ({vocab_hash(tokenizer)[:12]}, {len(tokenizer)} "
                         "tokens); use the shard folder's vocab.txt or prepare again")
    dtype = np.dtype(index["dtype"])
    arrays = []
    for shard in index["shards"]:
        loaded = []
        for part, kind in zip(PARTS, (dtype, np.dtype(np.int64), np.dtype(np.int64)),
                              strict=True):
            entry = shard["files"][part]
            file = folder / entry["path"]
            if not file.is_file():
                raise ShardError(f"{file}: missing (listed in {path})")
            size = file.stat().st_size
            if size != entry["bytes"]:
                raise ShardError(f"{file}: {size} bytes, the index says {entry['bytes']}: the "
                                 "file is truncated or was changed; prepare the corpus again")
            loaded.append(np.memmap(file, dtype=kind, mode="r") if size else
                          np.zeros(0, dtype=kind))
        ids, sent, docs = loaded
        if (len(docs) != shard["documents"] + 1 or len(sent) != shard["sentences"] + 1
                or int(docs[-1]) != shard["sentences"] or int(sent[-1]) != len(ids)):
            raise ShardError(f"{folder / shard['name']}: offsets do not match the counts of "
                             "the index; prepare the corpus again")
        arrays.append((ids, sent, docs))
    return Shards(folder, index, arrays)
