"""Checkpoints for exact resume: the full training state, saved atomically, read back safely.

A checkpoint holds everything a resumed run needs to continue as if it had never stopped: the
step, the model, optimizer, scheduler and loss-scaler states, the Python, NumPy and torch (CPU and
CUDA) RNG states (torch's global RNG drives dropout), the model config, the run's arguments and
the history so far. It holds only tensors and plain Python values, so
``torch.load(..., weights_only=True)`` reads it. A resume is refused when the model config or an
argument that fixes the data order (``seed``, ``batch_size``, ``grad_accum``, ``steps``) differs
from the checkpoint's, since the run could then not end where an unbroken run ends.
"""

from __future__ import annotations

import json
import os
import pickle
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

__all__ = ["save_checkpoint", "load_checkpoint"]


def _rng_state() -> dict[str, Any]:
    """Python, NumPy and torch RNG states as tensors and plain values (weights_only-safe)."""
    version, internal, gauss = random.getstate()
    name, keys, pos, has_gauss, cached = np.random.get_state()
    return {
        "python": {"version": version, "internal": list(internal), "gauss_next": gauss},
        "numpy": {"name": name, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "cached_gaussian": float(cached)},
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }


def _set_rng_state(state: dict[str, Any]) -> None:
    py = state["python"]
    random.setstate((py["version"], tuple(py["internal"]), py["gauss_next"]))
    npy = state["numpy"]
    np.random.set_state((npy["name"], npy["keys"].numpy().astype(np.uint32), npy["pos"],
                         npy["has_gauss"], npy["cached_gaussian"]))
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(path: str | os.PathLike, state: dict[str, Any]) -> Path:
    """``torch.save`` a training state, atomically (written to a temporary file, then renamed)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)
    return path


# what every checkpoint written by the training loop holds
CHECKPOINT_KEYS = ("step", "model", "optimizer", "scheduler", "scaler", "rng", "config", "args",
                   "history")


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict:
    """Read a checkpoint written by :func:`pretrain` with ``torch.load(weights_only=True)``.

    Raises ``FileNotFoundError`` for a missing file and ``ValueError`` naming the file for one
    that is empty, truncated, corrupt, or not a training checkpoint (a bare state dict).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such checkpoint file: {os.fspath(path)!r}")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except (EOFError, pickle.UnpicklingError, RuntimeError, OSError, ValueError,
            AttributeError, KeyError, IndexError) as err:
        raise ValueError(f"cannot read checkpoint {os.fspath(path)!r}: empty or corrupt "
                         f"({type(err).__name__}: {err})") from err
    missing = [k for k in CHECKPOINT_KEYS if not isinstance(state, dict) or k not in state]
    if missing:
        raise ValueError(f"{os.fspath(path)!r} is not a training checkpoint (no "
                         f"{', '.join(missing)}): --resume takes a checkpoints/step-*.pt file")
    return state


def _config_dict(model: nn.Module) -> dict[str, Any]:
    config = getattr(model, "config", None)
    return json.loads(json.dumps(config.to_dict())) if config is not None else {}


def _check_resumable(state: dict[str, Any], model: nn.Module, args: Any,
                     path: str | os.PathLike) -> None:
    """Raise ``ValueError`` unless ``state`` (from ``path``) can resume ``model`` with ``args``
    exactly: the same model config, and the same arguments that fix the data order."""
    saved, current = state["config"], _config_dict(model)
    if saved != current:
        diff = sorted(k for k in set(saved) | set(current) if saved.get(k) != current.get(k))
        details = ", ".join(f"{k}: {saved.get(k)!r} != {current.get(k)!r}" for k in diff)
        raise ValueError(
            f"checkpoint {os.fspath(path)!r} was saved for a different model config "
            f"(checkpoint vs model: {details})"
        )
    for key in ("seed", "batch_size", "grad_accum", "steps"):
        if state["args"][key] != getattr(args, key):
            raise ValueError(
                f"cannot resume exactly: checkpoint has {key}={state['args'][key]!r}, "
                f"this run has {key}={getattr(args, key)!r}"
            )
