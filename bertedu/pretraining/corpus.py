"""The embedded default corpus: real English prose that ships with every Python install.

BERT was pretrained on BooksCorpus and English Wikipedia, which need a download of many gigabytes.
To pretrain a small BERT anywhere, offline, we use text that is already on disk wherever Python is:

* the documentation topics of the standard library's ``pydoc_data.topics`` (the language
  reference sections that ``help("assert")`` prints), one document per topic;
* the module docstrings of the standard library's own source files, one document per module.

The docstrings are read by *tokenizing* each source file (the first string literal of the file),
never by importing it, so no module with side effects (``antigravity``, ``this``, GUI code) runs.
Files are visited in sorted order, so the corpus is the same on every run of one Python version.

Cleaning keeps prose and drops what is not prose: indented blocks (code examples, grammar rules,
quoted output), doctest lines (``>>>``), headings and their underlines, reST tables and markup
(``:func:`len``` becomes ``len``). The rest is split into sentences by :func:`split_sentences`.

The format is BERT's original pretraining input format: one sentence per line and a blank line
between documents. A corpus in memory is a ``list[list[str]]``: documents of sentences.

References:
    Devlin et al., 2019, "BERT: Pre-training of Deep Bidirectional Transformers for Language
    Understanding", section 3.1 (pretraining data: document-level corpora, not shuffled sentences).
"""

from __future__ import annotations

import ast
import functools
import inspect
import os
import re
import sysconfig
import tokenize
from collections.abc import Iterable, Sequence
from pathlib import Path

__all__ = [
    "split_sentences",
    "clean_paragraphs",
    "default_corpus",
    "write_corpus",
    "load_text_corpus",
    "load_hub_text_dataset",
    "corpus_stats",
    "check_corpus",
]

# Standard-library folders that are not documentation prose (tests, GUI code, bundled wheels,
# generated codec tables) or that belong to third parties (site-packages).
_SKIP_DIRS = {
    "test", "tests", "idle_test", "idlelib", "tkinter", "turtledemo", "site-packages",
    "dist-packages", "lib2to3", "__pycache__", "encodings", "ensurepip", "lib-dynload",
}

# Words that end with a period without ending a sentence.
_ABBREVIATIONS = {
    "e.g", "i.e", "etc", "vs", "cf", "mr", "mrs", "ms", "dr", "st", "no", "al", "approx", "resp",
    "fig", "sec", "ch", "vol", "ed", "eds", "jr", "sr", "inc", "ltd", "co",
}
# A candidate sentence end: terminal punctuation, optional closing quotes/brackets, whitespace,
# then something that can start a sentence (capital letter, digit, opening quote or bracket).
_BOUNDARY = re.compile(r"""([.!?])(["')\]]*)\s+(?=["'(\[]?[A-Z0-9])""")
_ROLE = re.compile(r":[a-zA-Z:+-]+:`~?!?([^`<]*?)(?:\s*<[^>]*>)?`")  # :func:`len` -> len
_LITERAL = re.compile(r"``([^`]*)``")  # ``x`` -> x
_BACKTICK = re.compile(r"`([^`]*)`_?")  # `x` or `x`_ -> x
_UNDERLINE = re.compile(r"^\s*([*=\-~^\"'#+])\1{2,}\s*$")  # heading underline / table rule
_WS = re.compile(r"\s+")
# A line that is code rather than prose: doctest prompts, grammar rules, comments after code,
# statements, assignments, table rows, reST directives and literal-block markers.
_CODE_LINE = re.compile(
    r">>>|::=|\s#\s|[;{}]\s*$|^\s*(\.\.\s|\||\+-|def |class |import |from \S+ import |return |@\w)"
    r"|^\s*[\w.\[\]]+\s*[-+*/]?= |^\s*\w+\(.*\)\s*$|^\s{8,}"
)


def split_sentences(text: str) -> list[str]:
    """Split running text into sentences with a simple, predictable rule.

    A sentence ends at ``.``, ``!`` or ``?`` (plus any closing quotes or brackets) followed by
    whitespace and a capital letter, a digit, or an opening quote/bracket, unless the word before
    the period is a known abbreviation (``e.g.``, ``i.e.``, ``etc.``, ...) or a single letter (an
    initial such as ``J.``). Whitespace inside a sentence is collapsed to single spaces.

    This is cruder than a trained splitter (it splits "Section 3. Results" and keeps "... end. the"
    together), but it is deterministic, documented, and good enough for pretraining data.
    """
    text = _WS.sub(" ", text).strip()
    if not text:
        return []
    sentences: list[str] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        if match.group(1) == ".":
            words = text[start : match.start()].split()
            last = words[-1].lower().lstrip("(\"'") if words else ""
            if last in _ABBREVIATIONS or (len(last) == 1 and last.isalpha()):
                continue
        end = match.end(2)
        sentences.append(text[start:end].strip())
        start = match.end()
    tail = text[start:].strip()
    if tail:
        sentences.append(tail)
    return [s for s in sentences if s]


def _strip_markup(line: str) -> str:
    line = _ROLE.sub(r"\1", line)
    line = _LITERAL.sub(r"\1", line)
    line = _BACKTICK.sub(r"\1", line)
    return line.replace("**", "").replace("\\", "")


def clean_paragraphs(text: str) -> list[str]:
    """Return the prose paragraphs of a documentation text, each joined into one line.

    The text is dedented first; then a paragraph (lines between blank lines) is dropped when one of
    its lines looks like code (a doctest prompt ``>>>``, a grammar rule ``::=``, an assignment, a
    call, a statement keyword, a comment after code, a block opener ``if x:`` followed by a deeper
    line, an indentation of 8 or more), a table row (``|``, ``+---``), a reST directive (``..``),
    or when it is a heading (a line underlined by ``***``, ``===``, ``---``). Indented prose (the
    description under a definition) is kept. reST roles and literals are reduced to their text,
    and a trailing ``::`` (reST "code follows") becomes ``:``.
    """
    text = inspect.cleandoc(text.expandtabs(8))
    paragraphs: list[str] = []
    for block in re.split(r"\n\s*\n", text):
        lines = [ln for ln in block.split("\n") if ln.strip()]
        if not lines or any(_UNDERLINE.match(ln) for ln in lines):
            continue  # a heading, a table rule or a decorative line
        if any(_CODE_LINE.search(ln) for ln in lines):
            continue  # code, doctest, grammar rule, table row or reST directive
        indents = [len(ln) - len(ln.lstrip()) for ln in lines]
        steps = zip(lines, indents, indents[1:], strict=False)
        if any(a.rstrip().endswith(":") and j > i for a, i, j in steps):
            continue  # a block statement (``if x:`` then a deeper line): code
        paragraph = _strip_markup(" ".join(ln.strip() for ln in lines))
        if paragraph.endswith("::"):
            paragraph = paragraph[:-1]
        paragraph = _WS.sub(" ", paragraph).strip()
        if paragraph:
            paragraphs.append(paragraph)
    return paragraphs


def _is_prose(sentence: str) -> bool:
    """A sentence worth keeping: at least 3 words, mostly letters, and some lowercase words."""
    words = sentence.split()
    if len(words) < 3:
        return False
    visible = sentence.replace(" ", "")
    letters = sum(ch.isalpha() for ch in visible)
    return letters >= 0.6 * len(visible) and any(w.isalpha() and w.islower() for w in words)


def _document(text: str) -> list[str]:
    sentences: list[str] = []
    for paragraph in clean_paragraphs(text):
        sentences.extend(s for s in split_sentences(paragraph) if _is_prose(s))
    return sentences


def _module_docstring(path: Path) -> str | None:
    """The first string literal of a source file, found by tokenizing (never importing) it."""
    try:
        with open(path, "rb") as fh:
            for tok in tokenize.tokenize(fh.readline):
                if tok.type in (tokenize.ENCODING, tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE):
                    continue
                if tok.type != tokenize.STRING:
                    return None
                value = ast.literal_eval(tok.string)
                return value if isinstance(value, str) else None
    except (SyntaxError, ValueError, UnicodeDecodeError, tokenize.TokenError, OSError):
        return None
    return None


def _stdlib_sources() -> list[Path]:
    """The standard library's ``.py`` files in a deterministic (sorted, depth-first) order."""
    root = Path(sysconfig.get_paths()["stdlib"])
    paths: list[Path] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS and not d.startswith("config-"))
        paths.extend(Path(folder) / f for f in sorted(files) if f.endswith(".py"))
    return paths


@functools.lru_cache(maxsize=1)
def _default_corpus() -> tuple[tuple[str, ...], ...]:
    texts: list[str] = []
    try:
        from pydoc_data.topics import topics
    except ImportError:  # some distributions split pydoc_data out; docstrings still work
        topics = {}
    texts.extend(topics[key] for key in sorted(topics))
    for path in _stdlib_sources():
        doc = _module_docstring(path)
        if doc:
            texts.append(doc)
    docs = tuple(tuple(d) for d in map(_document, texts) if d)
    return check_corpus(docs)


def default_corpus() -> list[list[str]]:
    """The embedded corpus: ``docs[i][j]`` is sentence ``j`` of document ``i``.

    Built once per process (cached, well under a second) and identical on every run of the same
    Python version. A fresh list is returned, so callers may modify it.
    """
    return [list(doc) for doc in _default_corpus()]


_SHAPE = ("a corpus is a list of documents, each a list of sentence strings, e.g. "
          "[['The cat sat.', 'It purred.'], ['Another document.']]")


def check_corpus(docs: Sequence[Sequence[str]]):
    """Return ``docs`` unchanged, or raise: ``TypeError`` if it is not a list of documents of
    sentence strings (a flat list of sentences would read every character as a sentence),
    ``ValueError`` if it holds no sentence at all."""
    if isinstance(docs, (str, bytes)) or not isinstance(docs, Iterable):
        raise TypeError(f"{_SHAPE}; got {type(docs).__name__} {str(docs)[:40]!r}")
    for i, doc in enumerate(docs):
        if isinstance(doc, str):
            raise TypeError(f"{_SHAPE}; got a list of strings (document {i} is the string "
                            f"{doc[:40]!r}): for one document of these sentences pass "
                            "[sentences]")
        if not isinstance(doc, Iterable):
            raise TypeError(f"{_SHAPE}; document {i} is a {type(doc).__name__}")
        for j, sentence in enumerate(doc):
            if not isinstance(sentence, str):
                raise TypeError(f"{_SHAPE}; sentence {j} of document {i} is a "
                                f"{type(sentence).__name__}, not a str")
    if not any(any(s.strip() for s in doc) for doc in docs):
        raise ValueError("empty corpus: no document contains a non-empty sentence")
    return docs


def write_corpus(path: str | os.PathLike, docs: Sequence[Sequence[str]] | None = None) -> Path:
    """Write ``docs`` (default: the embedded corpus) in BERT's format; return the path.

    One sentence per line, one blank line between documents, UTF-8.
    """
    docs = default_corpus() if docs is None else check_corpus(docs)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("\n\n".join("\n".join(s.strip() for s in doc if s.strip()) for doc in docs))
        fh.write("\n")
    return path


def load_text_corpus(paths: str | os.PathLike | Iterable[str | os.PathLike]) -> list[list[str]]:
    """Read text files in BERT's format (one sentence per line, blank line between documents).

    Several files are concatenated in the given order; a file boundary also ends a document.
    Raises ``FileNotFoundError`` for a missing file, and ``ValueError`` naming the file for one
    that is not UTF-8 text, or if no sentence is found.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    paths = list(paths)
    docs: list[list[str]] = []
    for path in paths:
        current: list[str] = []
        with open(path, encoding="utf-8") as fh:
            try:
                lines = list(fh)
            except UnicodeDecodeError as err:
                raise ValueError(f"corpus file {os.fspath(path)!r} is not UTF-8 text: {err}; "
                                 "convert it, e.g. with iconv -t utf-8") from err
        for line in lines:
            line = line.strip()
            if line:
                current.append(line)
            elif current:
                docs.append(current)
                current = []
        if current:
            docs.append(current)
    if not docs:
        raise ValueError(f"empty corpus: no sentence found in {[str(p) for p in paths]}")
    return docs


# WikiText marks article titles as " = Title = " and sections as " = = Section = = ".
_WIKITEXT_TITLE = re.compile(r"^ = [^=].* = $")
_HUB_REPOS = {"wikitext": "Salesforce/wikitext"}


def _hub_rows(name: str, config: str | None, split: str, text_field: str) -> Iterable[str]:
    try:
        import datasets
    except ImportError:
        datasets = None
    if datasets is not None:
        repo = _HUB_REPOS.get(name, name)
        for row in datasets.load_dataset(repo, config, split=split, streaming=True):
            yield row[text_field]
        return
    try:
        import huggingface_hub
        import pyarrow.parquet as pq
    except ImportError as err:
        raise ImportError(
            "load_hub_text_dataset needs the `datasets` package (pip install datasets), or "
            "`huggingface_hub` and `pyarrow` to read the dataset's parquet files"
        ) from err
    repo = _HUB_REPOS.get(name, name)
    files = huggingface_hub.list_repo_files(repo, repo_type="dataset")
    prefix = f"{config}/" if config else ""
    wanted = sorted(f for f in files if f.startswith(prefix) and f.endswith(".parquet")
                    and Path(f).name.startswith(f"{split}-"))
    if not wanted:
        raise ValueError(f"no parquet file for config={config!r} split={split!r} in {repo}")
    for file in wanted:
        local = huggingface_hub.hf_hub_download(repo, file, repo_type="dataset")
        for batch in pq.ParquetFile(local).iter_batches(columns=[text_field]):
            yield from batch.column(0).to_pylist()


def load_hub_text_dataset(
    name: str = "wikitext",
    config: str | None = "wikitext-103-raw-v1",
    split: str = "train",
    text_field: str = "text",
    max_documents: int | None = None,
) -> list[list[str]]:
    """Download a text dataset from the Hugging Face Hub and return it as documents of sentences.

    Uses the ``datasets`` package when installed (streaming, so ``max_documents`` stops early),
    otherwise ``huggingface_hub`` + ``pyarrow`` on the dataset's parquet files. For WikiText, an
    article title line (`` = Title = ``) starts a new document; for other datasets every row is a
    document. Needs the internet; not used by the book or the tests.
    """
    docs: list[list[str]] = []
    current: list[str] = []
    wikitext = name.endswith("wikitext")
    for text in _hub_rows(name, config, split, text_field):
        if wikitext and _WIKITEXT_TITLE.match(text.rstrip("\n")):
            if current:
                docs.append(current)
            current = []
            if max_documents is not None and len(docs) >= max_documents:
                break
            continue
        if wikitext and text.strip().startswith("="):
            continue  # a section heading
        current.extend(s for s in split_sentences(text) if s)
        if not wikitext and current:
            docs.append(current)
            current = []
            if max_documents is not None and len(docs) >= max_documents:
                break
    if current and (max_documents is None or len(docs) < max_documents):
        docs.append(current)
    return check_corpus(docs)


def corpus_stats(docs: Sequence[Sequence[str]], tokenizer=None) -> dict[str, int]:
    """Count documents, sentences, whitespace words and (given a tokenizer) WordPiece tokens.

    ``tokenizer`` is any BERT tokenizer with the ``transformers`` call convention; sentences are
    tokenized in batches without special tokens.
    """
    check_corpus(docs)
    sentences = [s for doc in docs for s in doc]
    stats = {
        "documents": len(docs),
        "sentences": len(sentences),
        "words": sum(len(s.split()) for s in sentences),
    }
    if tokenizer is not None:
        total = 0
        for i in range(0, len(sentences), 1024):
            batch = tokenizer(sentences[i : i + 1024], add_special_tokens=False)["input_ids"]
            total += sum(len(ids) for ids in batch)
        stats["wordpiece_tokens"] = total
    return stats
