"""Export and int8: a fine-tuned classifier as a graph (torch.export, ONNX) and in 8-bit integers.

**Export.** ``torch.export`` runs the model once on example inputs and records every tensor
operation into a graph (an ``ExportedProgram``) with no Python left in it. The batch size ``B``
and the sequence length ``T`` are declared *dynamic* (``torch.export.Dim``), so the graph holds
for any ``1 <= B`` and ``2 <= T <= max_position_embeddings``. The ONNX exporter
(``torch.onnx.export(..., dynamo=True)``) translates that same graph into ONNX operators, which
ONNX Runtime runs without PyTorch. Two things are adjusted for the trace: the padding mask goes
in as a boolean ``(B, 1, 1, T)`` mask, because the 2-D path looks at the mask's *values* ("is
anything padded?") to pick a faster kernel, and the model's CPU-side range checks on the ids
(also value reads) are skipped while tracing: a graph cannot branch on data.

**Dynamic int8 quantization.** Each ``nn.Linear`` weight matrix (the bulk of BERT's compute) is
stored as 8-bit integers with one scale ``s_W = max|W| / 127``, ``W_q = round(W / s_W)``. At run
time each input ``X`` gets its own scale and zero point from its range, ``X_q = round(X / s_X) +
z_X``, the product is computed in integer arithmetic and rescaled,

    Y ~= s_X s_W (X_q - z_X) W_q^T + b

which is where the speed comes from (int8 matrix kernels, 4x less weight memory traffic).
PyTorch does it with ``quantize_dynamic``; ONNX Runtime with its own ``quantize_dynamic`` on the
exported file. The measurement of both on SST-2, next to transformers' model, is
:mod:`bertedu.bench.int8`.

References:
    PyTorch documentation, "torch.export" and "torch.onnx (dynamo exporter)".
    Jacob et al., 2018, "Quantization and Training of Neural Networks for Efficient
    Integer-Arithmetic-Only Inference", Section 2 (affine quantization).
    Zafrir et al., 2019, "Q8BERT: Quantized 8Bit BERT".
"""

from __future__ import annotations

import copy
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..model import BertForSequenceClassification

INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")


class ClassifierLogits(nn.Module):
    """``(input_ids, attention_mask, token_type_ids) -> logits``: the signature to export."""

    def __init__(self, model: BertForSequenceClassification):
        super().__init__()
        self.model, self.config = model, model.config
        self.train(model.training)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                token_type_ids: torch.Tensor) -> torch.Tensor:
        """Three ``(B, T)`` integer tensors -> ``(B, C)`` logits."""
        keep = attention_mask[:, None, None, :].bool()  # (B, 1, 1, T): True = attend
        output = self.model(input_ids=input_ids, attention_mask=keep,
                            token_type_ids=token_type_ids)
        return output.logits  # (B, C)


def example_inputs(batch: int, seq_len: int, vocab_size: int,
                   seed: int = 0) -> tuple[torch.Tensor, ...]:
    """Random ``(B, T)`` ids, a padding mask (the last rows shorter) and segments."""
    generator = torch.Generator().manual_seed(seed)
    input_ids = torch.randint(0, vocab_size, (batch, seq_len), generator=generator)  # (B, T)
    lengths = torch.linspace(seq_len, max(2, seq_len // 2), batch).long()  # (B,)
    attention_mask = (torch.arange(seq_len)[None, :] < lengths[:, None]).long()  # (B, T)
    token_type_ids = (torch.arange(seq_len)[None, :] >= seq_len // 2).long().expand(batch, -1)
    return input_ids, attention_mask, token_type_ids.contiguous()


def dynamic_shapes(max_len: int) -> dict[str, dict[int, torch.export.Dim]]:
    """Batch and sequence dimensions declared dynamic for every input."""
    batch = torch.export.Dim("batch", min=1, max=4096)
    seq = torch.export.Dim("seq", min=2, max=max_len)
    return {name: {0: batch, 1: seq} for name in INPUT_NAMES}


def logits_module(model: nn.Module) -> nn.Module:
    """The module to trace: a bertedu classifier wrapped in :class:`ClassifierLogits`; any other
    module (one that already maps ``(input_ids, attention_mask, token_type_ids)`` to logits and
    has a ``config``, such as transformers' classifier behind a thin wrapper) as it is."""
    if isinstance(model, BertForSequenceClassification):
        return ClassifierLogits(model.eval())
    if not hasattr(model, "config"):
        raise TypeError(f"cannot export a {type(model).__name__}: expected a "
                        "BertForSequenceClassification or a logits module with a .config")
    return model.eval()


def export_program(model: nn.Module) -> torch.export.ExportedProgram:
    """``torch.export`` of the classifier with dynamic batch and sequence sizes."""
    wrapper = logits_module(model)
    config = wrapper.config
    args = example_inputs(2, 16, config.vocab_size)
    return torch.export.export(
        wrapper, args, dynamic_shapes=dynamic_shapes(config.max_position_embeddings)
    )


def export_onnx(model: nn.Module, path: str | os.PathLike) -> Path:
    """Write the classifier as an ONNX file (dynamo exporter, dynamic ``B`` and ``T``)."""
    path = Path(path)
    wrapper = logits_module(model)
    config = wrapper.config
    args = example_inputs(2, 16, config.vocab_size)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*axis name.*will not be used.*")
        torch.onnx.export(
            wrapper, args, path, dynamo=True, input_names=list(INPUT_NAMES),
            output_names=["logits"],
            dynamic_shapes=dynamic_shapes(config.max_position_embeddings),
            verbose=False,
        )
    return path


def onnx_session(path: str | os.PathLike, threads: int | None = None) -> Any:
    """An ONNX Runtime CPU session on ``path`` (``threads``: intra-op threads, default all)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    if threads is not None:
        options.intra_op_num_threads = threads
    return onnxruntime.InferenceSession(os.fspath(path), options,
                                        providers=["CPUExecutionProvider"])


def run_onnx(session: Any, input_ids: torch.Tensor, attention_mask: torch.Tensor,
             token_type_ids: torch.Tensor) -> torch.Tensor:
    """Run an exported classifier: three ``(B, T)`` tensors -> ``(B, C)`` logits."""
    feed = {name: t.cpu().numpy() for name, t in
            zip(INPUT_NAMES, (input_ids, attention_mask, token_type_ids), strict=True)}
    return torch.from_numpy(session.run(["logits"], feed)[0])


def quantize_int8(model: nn.Module, engine: str | None = None, per_channel: bool = False,
                  skip: Sequence[str] = ()) -> nn.Module:
    """A copy of ``model`` with its ``nn.Linear`` layers dynamically quantized to int8 (CPU).

    ``engine``: the quantized backend whose kernels pack the weights (``x86``, ``fbgemm``,
    ``onednn``; default torch's current one, which is then also the one to run with).
    ``per_channel``: one scale per output row of each weight instead of one per matrix.
    ``skip``: names of submodules (``"classifier"``, ``"bert.pooler"``) left in float32.
    """
    with warnings.catch_warnings():
        # torch.ao.quantization announces its move to torchao; the eager API still works
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", message=".*quantized tensor creation functions.*")
        from torch.ao.quantization import (
            default_dynamic_qconfig,
            per_channel_dynamic_qconfig,
            quantize_dynamic,
        )

        if engine is not None:
            if engine not in torch.backends.quantized.supported_engines:
                raise ValueError(f"unknown quantized engine {engine!r}; this torch supports "
                                 f"{torch.backends.quantized.supported_engines}")
            torch.backends.quantized.engine = engine
        names = {name for name, _ in model.named_modules()}
        missing = [name for name in skip if name not in names]
        if missing:
            raise ValueError(f"cannot skip {missing}: the model has no such submodules")
        qconfig = per_channel_dynamic_qconfig if per_channel else default_dynamic_qconfig
        spec = {name: qconfig for name, module in model.named_modules()
                if isinstance(module, nn.Linear)
                and not any(name == s or name.startswith(s + ".") for s in skip)}
        return quantize_dynamic(copy.deepcopy(model).eval(), spec, dtype=torch.qint8)


def quantize_onnx_int8(path: str | os.PathLike, out_path: str | os.PathLike) -> Path:
    """ONNX Runtime's dynamic int8 quantization of the file ``path`` into ``out_path``."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(os.fspath(path), os.fspath(out_path), weight_type=QuantType.QInt8)
    return Path(out_path)
