"""The tokenizer directory format of ``transformers``: reading ``vocab.txt`` and the configs.

A saved BERT tokenizer is a directory (local, or a hub repository) with

- ``vocab.txt``: one token a line; the line number is the id;
- ``tokenizer_config.json``: the constructor arguments (``do_lower_case``, ``strip_accents``,
  ``model_max_length``, ...);
- ``special_tokens_map.json``: ``unk_token``, ``sep_token``, ``pad_token``, ``cls_token``,
  ``mask_token`` (a string, or an ``AddedToken`` dict with a ``"content"`` field).

These functions read that format for ``bertedu.tokenization.slow.BertTokenizer`` (which also writes
it) and ``bertedu.tokenization.fast.BertTokenizerFast``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import Any

from ..hub import hub_file, local_directory

VOCAB_FILE = "vocab.txt"
TOKENIZER_CONFIG_FILE = "tokenizer_config.json"
SPECIAL_TOKENS_MAP_FILE = "special_tokens_map.json"

# The order of transformers' ``all_special_tokens`` (bos/eos are absent in BERT).
SPECIAL_TOKEN_NAMES = ("unk_token", "sep_token", "pad_token", "cls_token", "mask_token")


def load_vocab(vocab_file: str | os.PathLike) -> dict[str, int]:
    """Read a ``vocab.txt`` (one token a line; the line number is the id)."""
    if not os.path.isfile(vocab_file):
        raise FileNotFoundError(f"vocabulary file not found: {os.fspath(vocab_file)!r}")
    try:
        with open(vocab_file, encoding="utf-8") as f:
            tokens = [line.rstrip("\n") for line in f]
    except UnicodeDecodeError as err:
        raise ValueError(
            f"vocabulary file {os.fspath(vocab_file)!r} is not UTF-8 text: {err}") from err
    if not tokens:
        raise ValueError(f"vocabulary file {os.fspath(vocab_file)!r} is empty")
    return {token: i for i, token in enumerate(tokens)}


def _token_content(value: Any) -> Any:
    """A special token in a config file is a string or an AddedToken dict {"content": ...}."""
    return value["content"] if isinstance(value, dict) else value


def read_tokenizer_config(directory: str) -> dict[str, Any]:
    """Constructor arguments from ``tokenizer_config.json`` and ``special_tokens_map.json``."""
    kwargs: dict[str, Any] = {}
    for name in (SPECIAL_TOKENS_MAP_FILE, TOKENIZER_CONFIG_FILE):
        path = os.path.join(directory, name)
        if os.path.isfile(path):
            with open(path, encoding="utf-8") as f:
                kwargs.update(json.load(f))
    keys = (
        "do_lower_case", "do_basic_tokenize", "never_split", "tokenize_chinese_chars",
        "strip_accents", "model_max_length", "clean_up_tokenization_spaces", "padding_side",
        "truncation_side", *SPECIAL_TOKEN_NAMES,
    )
    out = {k: _token_content(kwargs[k]) for k in keys if k in kwargs}
    if out.get("model_max_length", 0) > 1e29:  # transformers' "no limit" placeholder
        del out["model_max_length"]
    return out


def resolve_pretrained_dir(name_or_path: str | os.PathLike, filenames: Sequence[str]) -> str:
    """A local directory as is; otherwise download ``filenames`` of a hub id (missing ones ok).

    A name that can only be a local path (``./x``, ``/tmp/x``) and does not exist raises
    ``FileNotFoundError`` ("no such directory"), not a complaint about a malformed hub id.
    """
    local = local_directory(name_or_path)
    if local is not None:
        return os.fspath(local)
    directory = None
    for filename in filenames:
        try:
            path = hub_file(str(name_or_path), filename)
        except FileNotFoundError:  # an optional file the repository does not have
            if filename == VOCAB_FILE:
                raise
            continue
        except OSError as err:  # no such repository, or offline without a cached copy
            if filename == VOCAB_FILE:
                raise OSError(f"{name_or_path!r} is neither a local directory nor a hub "
                              f"repository with a {VOCAB_FILE}: {err}") from err
            continue
        directory = os.fspath(path.parent)
    return directory
