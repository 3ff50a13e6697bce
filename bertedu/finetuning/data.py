"""The fine-tuning datasets: one loader for local JSON Lines files and the Hugging Face hub.

Four tasks cover the four fine-tuning heads of the paper's section 4: SST-2 (sentence
classification, GLUE), WNUT-17 (token classification: emerging entities in tweets), SQuAD v1.1
(extractive question answering) and CommonsenseQA (five-way multiple choice).

Where the rows come from:

- ``BERTEDU_DATA`` (or ``data_dir=``) names a folder with one sub-folder per task holding
  ``<split>.jsonl`` files in the hub's schema: these are read with
  ``datasets.load_dataset("json", ...)``, offline.
- Otherwise the same dataset is downloaded from the hub with ``datasets.load_dataset`` (the ids in
  :data:`HUB_IDS`), which is what a reader on Colab gets.

Either way the result is a ``datasets.Dataset`` with the same columns, so everything after loading
is one code path. :func:`describe_source` says in words which source was used, for chapters to
print and to put in figure titles.

References:
    Socher et al., 2013 (SST); Wang et al., 2019, GLUE; Derczynski et al., 2017, WNUT-17;
    Rajpurkar et al., 2016, SQuAD; Talmor et al., 2019, CommonsenseQA. Lhoest et al., 2021,
    "Datasets: A Community Library for Natural Language Processing".
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["HUB_IDS", "TASK_NAMES", "resolve_data_dir", "load_split", "label_names",
           "describe_source"]


@dataclass(frozen=True)
class HubDataset:
    """A dataset on the hub: repository id, configuration, the splits it has."""

    repo: str
    config: str | None
    splits: tuple[str, ...]
    title: str


HUB_IDS: dict[str, HubDataset] = {
    "sst2": HubDataset("nyu-mll/glue", "sst2", ("train", "validation", "test"), "SST-2"),
    "wnut_17": HubDataset("leondz/wnut_17", None, ("train", "validation", "test"), "WNUT-17"),
    "squad": HubDataset("rajpurkar/squad", None, ("train", "validation"), "SQuAD v1.1"),
    "commonsense_qa": HubDataset("tau/commonsense_qa", None, ("train", "validation", "test"),
                                 "CommonsenseQA"),
}
TASK_NAMES = tuple(HUB_IDS)


def _check_task(task: str) -> HubDataset:
    if task not in HUB_IDS:
        raise ValueError(f"unknown task {task!r}: choose one of {', '.join(TASK_NAMES)}")
    return HUB_IDS[task]


def resolve_data_dir(explicit: str | os.PathLike | None = None) -> Path | None:
    """The local data folder: ``explicit``, else ``$BERTEDU_DATA``, else ``None`` (use the hub).

    A folder that is named but does not exist is an error, never a silent switch to the hub.
    """
    chosen = explicit if explicit is not None else os.environ.get("BERTEDU_DATA") or None
    if chosen is None:
        return None
    path = Path(chosen)
    if not path.is_dir():
        source = "data_dir" if explicit is not None else "BERTEDU_DATA"
        raise FileNotFoundError(f"{source}={os.fspath(chosen)!r} is not a directory")
    return path


def _local_file(root: Path, task: str, split: str) -> Path:
    path = root / task / f"{split}.jsonl"
    if not path.is_file():
        folder = root / task
        have = sorted(p.stem for p in folder.glob("*.jsonl")) if folder.is_dir() else []
        raise FileNotFoundError(
            f"no {split!r} split of {task!r} in {root}: expected {path}"
            + (f" (this folder has: {', '.join(have)})" if have else "")
        )
    return path


def load_split(task: str, split: str, data_dir: str | os.PathLike | None = None):
    """One split of ``task`` as a ``datasets.Dataset`` (local JSON Lines, or the hub).

    ``task`` is one of :data:`TASK_NAMES`; ``split`` one of the task's splits. Local files are
    used when ``data_dir`` or ``$BERTEDU_DATA`` is set; otherwise the hub dataset is downloaded.
    """
    hub = _check_task(task)
    if split not in hub.splits:
        raise ValueError(f"{task} has no split {split!r}: choose one of {', '.join(hub.splits)}")
    try:
        import datasets
    except ImportError as err:  # pragma: no cover - exercised only without the extra
        raise ImportError(
            "loading fine-tuning data needs the `datasets` package: pip install 'bertedu[data]'"
        ) from err
    root = resolve_data_dir(data_dir)
    if root is not None:
        path = _local_file(root, task, split)
        if path.stat().st_size == 0:  # `datasets` cannot even infer a schema from no rows
            raise ValueError(f"the {split!r} split of {task!r} is empty ({path})")
        ds = datasets.load_dataset("json", data_files={split: str(path)}, split=split)
    else:
        ds = _load_hub(datasets, hub, split)
    if len(ds) == 0:
        raise ValueError(f"the {split!r} split of {task!r} is empty")
    return ds


def _load_hub(datasets: Any, hub: HubDataset, split: str):
    """``datasets.load_dataset`` of the hub copy; datasets that ship only a loading script are
    read from the hub's automatic Parquet conversion instead."""
    try:
        return datasets.load_dataset(hub.repo, hub.config, split=split)
    except Exception as err:  # newer `datasets` refuse loading scripts
        if "script" not in str(err).lower():
            raise
        return datasets.load_dataset(hub.repo, hub.config, split=split,
                                     revision="refs/convert/parquet")


def label_names(task: str, data_dir: str | os.PathLike | None = None) -> list[str]:
    """The class names of ``task``, in label-id order.

    SST-2: ``negative, positive``; WNUT-17: the 13 BIO tags (``labels.json`` beside the local
    files, or the hub dataset's ``ner_tags`` feature); CommonsenseQA: the choice letters A-E.
    SQuAD has no classes (an empty list).
    """
    _check_task(task)
    if task == "sst2":
        return ["negative", "positive"]
    if task == "commonsense_qa":
        return ["A", "B", "C", "D", "E"]
    if task == "squad":
        return []
    root = resolve_data_dir(data_dir)
    if root is not None:
        path = root / task / "labels.json"
        if not path.is_file():
            raise FileNotFoundError(f"{task}: label names expected in {path}")
        return list(json.loads(path.read_text(encoding="utf-8")))
    ds = load_split(task, "train")
    return list(ds.features["ner_tags"].feature.names)


def describe_source(task: str, split: str, data_dir: str | os.PathLike | None = None) -> str:
    """Which rows a chapter used, in words: ``"SST-2 validation (local files in /x/sst2)"`` or
    ``"SST-2 validation (hub: nyu-mll/glue, sst2)"``."""
    hub = _check_task(task)
    root = resolve_data_dir(data_dir)
    if root is not None:
        return f"{hub.title} {split} (local files in {root / task})"
    config = f", {hub.config}" if hub.config else ""
    return f"{hub.title} {split} (hub: {hub.repo}{config})"
