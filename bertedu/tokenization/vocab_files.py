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

VOCAB_FILE = "vocab.txt"
TOKENIZER_CONFIG_FILE = "tokenizer_config.json"
SPECIAL_TOKENS_MAP_FILE = "special_tokens_map.json"

# The order of transformers' ``all_special_tokens`` (bos/eos are absent in BERT).
SPECIAL_TOKEN_NAMES = ("unk_token", "sep_token", "pad_token", "cls_token", "mask_token")


def load_vocab(vocab_file: str | os.PathLike) -> dict[str, int]:
    """Read a ``vocab.txt`` (one token a line; the line number is the id)."""
    if not os.path.isfile(vocab_file):
        raise FileNotFoundError(f"vocabulary file not found: {os.fspath(vocab_file)!r}")
    with open(vocab_file, encoding="utf-8") as f:
        tokens = [line.rstrip("\n") for line in f]
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
    """A local directory as is; otherwise download ``filenames`` of a hub id (missing ones ok)."""
    if os.path.isdir(name_or_path):
        return os.fspath(name_or_path)
    from huggingface_hub import hf_hub_download

    directory = None
    for filename in filenames:
        try:
            path = hf_hub_download(str(name_or_path), filename)
        except Exception as err:  # a missing optional file, or no such repository
            if filename == VOCAB_FILE:
                raise OSError(
                    f"{name_or_path!r} is neither a local directory nor a hub repository with a "
                    f"{VOCAB_FILE}: {err}"
                ) from err
            continue
        directory = os.path.dirname(path)
    return directory
