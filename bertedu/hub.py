"""Where a ``from_pretrained`` name points: a local directory, or a Hugging Face Hub repository.

``from_pretrained(name)`` of configs, models and tokenizers takes either. The rule, for all of
them: an existing directory is local (with an optional ``subfolder`` inside it). Otherwise the
name must be a well-formed Hub id, ``name`` or ``owner/name`` (letters, digits, ``-``, ``_``,
``.``; no ``..`` or ``--``); one that cannot be (``./run``, ``/tmp/run``, ``runs/a/b``) was meant
as a local path, so the error says that no such directory exists, instead of complaining about
a malformed repository id. A well-formed id is downloaded (or read from the Hub cache); when that
fails, offline or for an unknown repository, the error says it is neither.

References:
    Hugging Face Hub documentation, "Download files from the Hub" (``hf_hub_download``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

__all__ = ["HUB_OPTIONS", "local_directory", "hub_file"]

# options of ``huggingface_hub.hf_hub_download`` that every ``from_pretrained`` passes on
HUB_OPTIONS = ("revision", "cache_dir", "force_download", "local_files_only", "token")


def local_directory(name_or_path: str | os.PathLike, subfolder: str = "") -> Path | None:
    """The local directory ``name_or_path/subfolder``, or ``None`` when it names a Hub repository.

    A name that cannot be a Hub id (``./x``, ``/tmp/x``, ``a/b/c``: ids are ``name`` or
    ``owner/name``) and is not an existing directory raises ``FileNotFoundError`` saying so,
    rather than an error about a malformed repository id.
    """
    path = Path(name_or_path, subfolder)
    if path.is_dir():
        return path
    if path.exists():
        raise NotADirectoryError(f"{path} is a file; expected a directory or a Hub model id")
    if Path(name_or_path).is_dir() or not _is_hub_id(os.fspath(name_or_path)):
        raise FileNotFoundError(f"no such directory: {os.fspath(path)!r}")
    return None


def _is_hub_id(name: str) -> bool:
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    try:
        validate_repo_id(name)
    except HFValidationError:
        return False
    return True


def hub_file(repo_id: str, filename: str, subfolder: str = "", **hub_options: Any) -> Path:
    """Download ``filename`` of Hub repository ``repo_id`` (or take it from the cache).

    ``FileNotFoundError`` when the repository has no such file; ``OSError`` saying that
    ``repo_id`` is neither a local directory nor a reachable repository otherwise.
    """
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError, LocalEntryNotFoundError

    try:
        return Path(hf_hub_download(repo_id, filename, subfolder=subfolder or None,
                                    **hub_options))
    except LocalEntryNotFoundError as err:  # offline, or the network is down
        raise OSError(f"{repo_id!r} is not a local directory, and its {filename} is not in the "
                      f"Hub cache and cannot be downloaded: {err}") from err
    except EntryNotFoundError as err:
        raise FileNotFoundError(f"Hub repository {repo_id!r} has no {filename}") from err
    except OSError as err:  # no such repository, no access, network errors
        raise OSError(f"{repo_id!r} is not a local directory, and the Hub repository cannot be "
                      f"read: {err}") from err
