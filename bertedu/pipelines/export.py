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
exported file.

References:
    PyTorch documentation, "torch.export" and "torch.onnx (dynamo exporter)".
    Jacob et al., 2018, "Quantization and Training of Neural Networks for Efficient
    Integer-Arithmetic-Only Inference", Section 2 (affine quantization).
    Zafrir et al., 2019, "Q8BERT: Quantized 8Bit BERT".
"""

from __future__ import annotations

import copy
import os
import statistics
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..model import BertForSequenceClassification
from ..tokenization import BertTokenizer

INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")


class ClassifierLogits(nn.Module):
    """``(input_ids, attention_mask, token_type_ids) -> logits``: the signature to export."""

    def __init__(self, model: BertForSequenceClassification):
        super().__init__()
        self.model = model
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


def export_program(model: BertForSequenceClassification) -> torch.export.ExportedProgram:
    """``torch.export`` of the classifier with dynamic batch and sequence sizes."""
    wrapper = ClassifierLogits(model.eval())
    args = example_inputs(2, 16, model.config.vocab_size)
    return torch.export.export(
        wrapper, args, dynamic_shapes=dynamic_shapes(model.config.max_position_embeddings)
    )


def export_onnx(model: BertForSequenceClassification, path: str | os.PathLike) -> Path:
    """Write the classifier as an ONNX file (dynamo exporter, dynamic ``B`` and ``T``)."""
    path = Path(path)
    wrapper = ClassifierLogits(model.eval())
    args = example_inputs(2, 16, model.config.vocab_size)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*axis name.*will not be used.*")
        torch.onnx.export(
            wrapper, args, path, dynamo=True, input_names=list(INPUT_NAMES),
            output_names=["logits"],
            dynamic_shapes=dynamic_shapes(model.config.max_position_embeddings),
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


def quantize_int8(model: nn.Module) -> nn.Module:
    """A copy of ``model`` with every ``nn.Linear`` dynamically quantized to int8 (CPU)."""
    with warnings.catch_warnings():
        # torch.ao.quantization announces its move to torchao; the eager API still works
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", message=".*quantized tensor creation functions.*")
        from torch.ao.quantization import quantize_dynamic

        return quantize_dynamic(copy.deepcopy(model).eval(), {nn.Linear}, dtype=torch.qint8)


def quantize_onnx_int8(path: str | os.PathLike, out_path: str | os.PathLike) -> Path:
    """ONNX Runtime's dynamic int8 quantization of the file ``path`` into ``out_path``."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(os.fspath(path), os.fspath(out_path), weight_type=QuantType.QInt8)
    return Path(out_path)


def bench_inference(
    model: BertForSequenceClassification, tokenizer: BertTokenizer, texts: Sequence[str],
    labels: Sequence[int], workdir: str | os.PathLike, batch_size: int = 32, repeats: int = 3,
) -> list[dict[str, Any]]:
    """Accuracy and CPU throughput of four runtimes on the same labelled texts, side by side.

    The runtimes are PyTorch float32, PyTorch int8 (``quantize_int8``), ONNX Runtime float32
    and ONNX Runtime int8. Each repeat runs all four over the whole set in turn (alternating, so
    that a background load hits all alike); the median time per runtime is kept. Returns one row
    per runtime: ``accuracy``, ``sentences_per_s`` and the ratio ``speedup`` over PyTorch
    float32. Not a test: wall times depend on the machine.
    """
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    fp32_file = export_onnx(model, workdir / "model.onnx")
    int8_file = quantize_onnx_int8(fp32_file, workdir / "model.int8.onnx")
    batches = []
    for i in range(0, len(texts), batch_size):
        enc = tokenizer(list(texts[i:i + batch_size]), padding=True, truncation=True,
                        return_tensors="pt")
        batches.append((enc["input_ids"], enc["attention_mask"], enc["token_type_ids"]))
    wrapped, int8_model = ClassifierLogits(model.eval()), ClassifierLogits(quantize_int8(model))
    fp32_session, int8_session = onnx_session(fp32_file), onnx_session(int8_file)
    runtimes: dict[str, Callable[..., torch.Tensor]] = {
        "pytorch float32": wrapped, "pytorch int8": int8_model,
        "onnxruntime float32": lambda *a: run_onnx(fp32_session, *a),
        "onnxruntime int8": lambda *a: run_onnx(int8_session, *a),
    }
    times: dict[str, list[float]] = {name: [] for name in runtimes}
    predictions: dict[str, torch.Tensor] = {}
    for _ in range(repeats):
        for name, run in runtimes.items():
            start = time.perf_counter()
            with torch.inference_mode():
                logits = torch.cat([run(*batch) for batch in batches])  # (N, C)
            times[name].append(time.perf_counter() - start)
            predictions[name] = logits.argmax(dim=-1)  # (N,)
    gold = torch.tensor(list(labels))
    base = statistics.median(times["pytorch float32"])
    return [{
        "runtime": name,
        "accuracy": (predictions[name] == gold).float().mean().item(),
        "sentences_per_s": len(texts) / statistics.median(times[name]),
        "speedup": base / statistics.median(times[name]),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
    } for name in runtimes]
