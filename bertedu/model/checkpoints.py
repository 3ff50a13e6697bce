"""Checkpoints in the Hugging Face directory format: ``config.json`` + ``model.safetensors``.

A checkpoint is a mapping from parameter names to tensors. Because bertedu keeps the reference's
module names, a transformers checkpoint loads with no renaming. Loading still has to settle a few
things:

* prefix: task models keep the encoder under ``bert.``; a bare ``BertModel`` checkpoint has no
  prefix. Keys are matched with or without it, so a ``BertModel`` checkpoint loads into any
  ``BertFor*`` model (the head is then freshly initialised and *reported*) and the reverse (the
  head's weights are reported as unused).
* tied weights: the MLM decoder matrix is the word-embedding matrix and ``decoder.bias`` is
  ``predictions.bias``; a checkpoint stores each shared tensor once.
* legacy names: TensorFlow-era ``LayerNorm.gamma`` / ``LayerNorm.beta`` become ``weight`` /
  ``bias``; the old persistent buffer ``embeddings.position_ids`` is dropped silently.
* safety: safetensors holds raw tensors only; ``pytorch_model.bin`` is read with
  ``torch.load(weights_only=True)``, which refuses to run pickled code.
* precision: like transformers, a model loads in float32 unless ``dtype`` (or its older
  spelling ``torch_dtype``) asks for ``float16``, ``bfloat16``, ... or ``"auto"``: the
  checkpoint's own precision (config.json's ``dtype``, else that of its first float tensor).
  ``save_pretrained`` records the model's precision as config.json's ``dtype``, as transformers
  does.
* keywords: every keyword is a loading option or a config field; anything else (a misspelled
  ``num_lables``) is refused, naming the closest valid name.

References:
    Hugging Face safetensors format (https://huggingface.co/docs/safetensors).
"""

from __future__ import annotations

import logging
import os
import pickle
import warnings
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from ..config import (
    ATTN_IMPLEMENTATIONS,
    CONFIG_NAME,
    BertConfig,
    check_keywords,
    valid_override_names,
)
from ..hub import HUB_OPTIONS, hub_file, local_directory

logger = logging.getLogger(__name__)

SAFE_WEIGHTS_NAME = "model.safetensors"
WEIGHTS_NAME = "pytorch_model.bin"


DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16,
          "float64": torch.float64}
# keywords of from_pretrained that are not config fields
LOADING_OPTIONS = ("attn_implementation", "dtype", "torch_dtype", "subfolder", "config",
                   *HUB_OPTIONS)
# transformers' loading options that bertedu has no use for: refused by name, not guessed at
UNSUPPORTED_OPTIONS = ("device_map", "low_cpu_mem_usage", "trust_remote_code", "use_safetensors",
                       "output_loading_info", "ignore_mismatched_sizes", "state_dict", "proxies",
                       "quantization_config", "from_tf", "from_flax", "variant", "max_memory",
                       "offload_folder", "tp_plan", "key_mapping")


def _resolve(
    name_or_path: str | os.PathLike, subfolder: str = "", **hub_options: Any
) -> tuple[Path, Path]:
    """Return (config.json, weights file) for a local directory or a Hub model id."""
    if Path(name_or_path).is_file():
        raise ValueError(f"{name_or_path} is a file; from_pretrained expects a directory or "
                         "Hub id")
    directory = local_directory(name_or_path, subfolder)
    if directory is not None:
        config_file = directory / CONFIG_NAME
        if not config_file.is_file():
            raise FileNotFoundError(f"no {CONFIG_NAME} in {directory}")
        for name in (SAFE_WEIGHTS_NAME, WEIGHTS_NAME):
            if (directory / name).is_file():
                return config_file, directory / name
        raise FileNotFoundError(
            f"no {SAFE_WEIGHTS_NAME} or {WEIGHTS_NAME} in {directory}"
        )
    repo_id = str(name_or_path)
    config_file = hub_file(repo_id, CONFIG_NAME, subfolder, **hub_options)
    try:
        weights = hub_file(repo_id, SAFE_WEIGHTS_NAME, subfolder, **hub_options)
    except FileNotFoundError:
        weights = hub_file(repo_id, WEIGHTS_NAME, subfolder, **hub_options)
    return config_file, weights


def _parse_dtype(dtype: Any) -> torch.dtype | str:
    """A floating torch dtype, its name (``"float16"``, ``"torch.float16"``) or ``"auto"``."""
    if dtype is None:
        return torch.float32  # transformers' default too, whatever the checkpoint holds
    if dtype == "auto":
        return "auto"
    if isinstance(dtype, str) and dtype.removeprefix("torch.") in DTYPES:
        return DTYPES[dtype.removeprefix("torch.")]
    if isinstance(dtype, torch.dtype) and dtype.is_floating_point:
        return dtype
    raise ValueError(f"unknown dtype {dtype!r}; expected 'auto', a floating-point torch dtype "
                     f"or one of {tuple(DTYPES)}")


def _checkpoint_dtype(config: BertConfig, state: dict[str, torch.Tensor]) -> torch.dtype:
    """``dtype="auto"``: config.json's ``dtype`` (or ``torch_dtype``), else the first float
    tensor's."""
    saved = config.extra.get("dtype") or config.extra.get("torch_dtype")
    if saved in DTYPES:
        return DTYPES[saved]
    floats = [t.dtype for t in state.values() if t.is_floating_point()]
    return floats[0] if floats else torch.float32


def load_state_dict(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Read a ``.safetensors`` or ``.bin`` weights file onto the CPU; never runs pickled code."""
    path = Path(path)
    try:
        if path.suffix == ".safetensors":
            return load_file(path, device="cpu")
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (SafetensorError, pickle.UnpicklingError, OSError, RuntimeError, EOFError,
            ValueError) as err:
        raise ValueError(f"cannot read weights file {path}: it is corrupt or not a checkpoint "
                         f"({type(err).__name__}: {err})") from err
    if not isinstance(state, dict):
        raise ValueError(f"weights file {path} does not hold a state dict")
    return state


def _rename_legacy(key: str) -> str:
    if key.endswith("LayerNorm.gamma"):
        return key[: -len("gamma")] + "weight"
    if key.endswith("LayerNorm.beta"):
        return key[: -len("beta")] + "bias"
    return key


def _match_keys(
    state: dict[str, torch.Tensor], model_keys: set[str], prefix: str
) -> dict[str, torch.Tensor]:
    """Rename checkpoint keys to the model's: legacy names, and add/strip the base prefix."""
    state = {_rename_legacy(k): v for k, v in state.items()
             if not k.endswith("embeddings.position_ids")}
    model_prefixed = any(k.startswith(prefix) for k in model_keys)
    ckpt_prefixed = any(k.startswith(prefix) for k in state)
    if model_prefixed and not ckpt_prefixed:  # base checkpoint -> task model
        return {prefix + k: v for k, v in state.items()}
    if ckpt_prefixed and not model_prefixed:  # task checkpoint -> base model
        return {(k[len(prefix):] if k.startswith(prefix) else k): v for k, v in state.items()}
    return state


def _tied_keys(model: torch.nn.Module) -> set[str]:
    """Names that share their tensor with an earlier, untied name (stored once in a file)."""
    tied = set(getattr(model, "_tied_weights_keys", []))
    seen: dict[int, str] = {}
    duplicates = set()
    items = list(model.state_dict(keep_vars=True).items())
    # untied names first, so the shared tensor is kept under its primary name
    for name, tensor in sorted(items, key=lambda kv: kv[0] in tied):
        ptr = id(tensor)
        if ptr in seen:
            duplicates.add(name)
        else:
            seen[ptr] = name
    return duplicates


def from_pretrained(
    cls: type,
    name_or_path: str | os.PathLike,
    attn_implementation: str | None = None,
    dtype: torch.dtype | str | None = None,
    torch_dtype: torch.dtype | str | None = None,
    subfolder: str = "",
    config: BertConfig | None = None,
    **config_overrides: Any,
):
    """Build ``cls`` from a transformers checkpoint directory or Hub id, in eval mode.

    ``dtype`` (or ``torch_dtype``): the parameters' precision, float32 by default, ``"auto"``
    for the checkpoint's. ``subfolder``: the checkpoint lies in that folder of the directory or
    repository; ``revision``, ``cache_dir``, ``token``, ... go to the Hub download. ``config``:
    a ``BertConfig`` to use instead of the checkpoint's config.json.
    ``config_overrides`` replace config.json values (e.g. ``num_labels=3``,
    ``hidden_dropout_prob=0.0``); any other keyword is a ``TypeError``. Newly initialised
    weights (a head the checkpoint lacks) and unused checkpoint weights are reported with
    ``warnings.warn``. Raises ``ValueError`` for a shape that does not match the model, a
    corrupt file or a config.json that is not BERT's.
    """
    for name in config_overrides:
        if name in UNSUPPORTED_OPTIONS:
            raise TypeError(f"{name!r} is a transformers loading option that bertedu does not "
                            "support")
    if config is not None and not isinstance(config, BertConfig):
        raise TypeError(f"config must be a bertedu BertConfig, got {type(config).__name__}")
    if dtype is not None and torch_dtype is not None:
        raise ValueError("pass dtype or torch_dtype, not both (torch_dtype is the older name)")
    dtype = _parse_dtype(torch_dtype if dtype is None else dtype)
    hub_options = {k: config_overrides.pop(k) for k in HUB_OPTIONS if k in config_overrides}
    config_file, weights_file = _resolve(name_or_path, subfolder, **hub_options)
    base = BertConfig.from_json_file(config_file) if config is None else config
    check_keywords(config_overrides, valid_override_names(base.to_dict()) | set(LOADING_OPTIONS),
                   what="BertConfig field or from_pretrained option")
    if attn_implementation is not None:
        if attn_implementation not in ATTN_IMPLEMENTATIONS:
            raise ValueError(
                f"unknown attn_implementation {attn_implementation!r}; expected one of "
                f"{ATTN_IMPLEMENTATIONS}"
            )
        config_overrides["attn_implementation"] = attn_implementation
    config = base.copy(**config_overrides)
    model = cls(config)
    state = load_state_dict(weights_file)
    own = model.state_dict()
    state = _match_keys(state, set(own), model.base_model_prefix + ".")
    for key, tensor in state.items():
        if key in own and tuple(own[key].shape) != tuple(tensor.shape):
            raise ValueError(
                f"shape mismatch for {key}: checkpoint has {tuple(tensor.shape)}, the model "
                f"(from {config_file}) expects {tuple(own[key].shape)}"
            )
    tied = _tied_keys(model)
    missing = sorted(k for k in own if k not in state and k not in tied)
    unexpected = sorted(k for k in state if k not in own)
    model.load_state_dict({k: v for k, v in state.items() if k in own}, strict=False)
    model.tie_weights()
    model.to(_checkpoint_dtype(config, state) if dtype == "auto" else dtype)
    if missing:
        warnings.warn(
            f"Some weights of {cls.__name__} were not initialized from the checkpoint at "
            f"{name_or_path} and are newly initialized: {missing}. Train the model on a "
            f"downstream task before using it for predictions.",
            stacklevel=3,
        )
    if unexpected:
        warnings.warn(
            f"Some weights of the checkpoint at {name_or_path} were not used when initializing "
            f"{cls.__name__}: {unexpected}",
            stacklevel=3,
        )
    logger.info("loaded %s from %s", cls.__name__, weights_file)
    return model.eval()


def save_pretrained(model: torch.nn.Module, save_directory: str | os.PathLike) -> None:
    """Write ``config.json`` and ``model.safetensors`` into ``save_directory``, atomically.

    config.json's ``dtype`` is the parameters' precision (the older ``torch_dtype`` key is
    dropped), as transformers writes it.

    Tied duplicates (``cls.predictions.decoder.weight`` / ``.bias``) are left out, as the reference
    does; safetensors refuses shared tensors, and transformers re-ties them on load.
    """
    directory = Path(save_directory)
    if directory.is_file():
        raise ValueError(f"{directory} is a file; save_pretrained expects a directory")
    directory.mkdir(parents=True, exist_ok=True)
    dtype = str(next(model.parameters()).dtype).removeprefix("torch.")
    config: BertConfig = model.config.copy(architectures=[type(model).__name__], dtype=dtype)
    config.extra.pop("torch_dtype", None)
    tied = _tied_keys(model)
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items() if k not in tied}
    # both files are written in full beside the old ones, then renamed over them: an error or a
    # kill while writing leaves the previous checkpoint as it was
    weights_tmp = directory / (SAFE_WEIGHTS_NAME + ".tmp")
    config_tmp = directory / (CONFIG_NAME + ".tmp")
    try:
        save_file(state, weights_tmp, metadata={"format": "pt"})
        config.to_json_file(config_tmp)
        os.replace(weights_tmp, directory / SAFE_WEIGHTS_NAME)
        os.replace(config_tmp, directory / CONFIG_NAME)
    finally:
        weights_tmp.unlink(missing_ok=True)
        config_tmp.unlink(missing_ok=True)
