"""Int8 on CPU, measured: a fine-tuned classifier in seven runtimes, bertedu and transformers.

One run loads a fine-tuned ``BertForSequenceClassification`` folder twice, once with bertedu
and once with transformers (the same weights), and measures on labelled sentences (SST-2
validation from the command line) the accuracy and the throughput of

* bertedu: float32 with eager attention, float32 with SDPA, PyTorch dynamic int8
  (:func:`bertedu.pipelines.export.quantize_int8` of the SDPA model; and the same with the
  feed-forward output layers left in float32, :func:`ffn_outputs`), the ``torch.export``
  program, ONNX Runtime float32 and ONNX Runtime int8 (the dynamo exporter's file, quantized by
  ONNX Runtime's ``quantize_dynamic``);
* transformers: float32 (its default SDPA attention), PyTorch dynamic int8 (both kinds), ONNX
  Runtime float32 and int8, through the very same export and quantization functions.

Method. The sentences are tokenized once, outside the timing, and cut into batches; with
``sort_by_length`` the batches hold sentences of similar length (sorted by token count, so a
batch pads to its own longest row and little is wasted), and predictions are put back in the
original order before scoring. Every runtime makes one untimed pass (warm-up; its predictions
give the accuracy), then ``reps`` timed passes over all the sentences in alternating order
(A B C, C B A, ...: :func:`bertedu.bench.measure.time_alternating`), so a background load hits
all alike. Throughput is sentences per second of the median pass; ``speedup`` divides it by the
same library's float32 SDPA throughput (for transformers, its default float32 model), and
``accuracy_change`` is in points against that same baseline. Not a test: wall times depend on
the machine; compare only rows of one file.

References:
    Jacob et al., 2018, "Quantization and Training of Neural Networks for Efficient
    Integer-Arithmetic-Only Inference", Section 2. Zafrir et al., 2019, "Q8BERT".
    PyTorch documentation, "Dynamic quantization"; ONNX Runtime documentation, "Quantize ONNX
    models".
"""

from __future__ import annotations

import datetime
import os
import platform
import statistics
import tempfile
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..model import BertForSequenceClassification
from ..pipelines import export
from ..tokenization import BertTokenizerFast
from .measure import spread, time_alternating

COLUMNS = (
    "date", "device_name", "threads", "torch_version", "onnxruntime_version",
    "transformers_version", "quantized_engine", "per_channel", "model", "rows", "batch_size",
    "sort_by_length", "reps", "library", "runtime", "dtype", "accuracy", "accuracy_change",
    "max_abs_logit_diff", "sentences_per_s", "speedup", "time_median_s", "time_q1_s",
    "time_q3_s",
)
Batch = tuple[torch.Tensor, torch.Tensor, torch.Tensor]


def encode_batches(tokenizer: BertTokenizerFast, texts: Sequence[str], batch_size: int,
                   sort_by_length: bool) -> tuple[list[Batch], list[int]]:
    """Tokenized ``(input_ids, attention_mask, token_type_ids)`` batches, each ``(B, T)``, and
    the order of the texts they hold (``order[k]`` is the text at position ``k``)."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if not texts:
        raise ValueError("no texts to measure on")
    order = list(range(len(texts)))
    if sort_by_length:
        lengths = [len(ids) for ids in tokenizer(list(texts), truncation=True)["input_ids"]]
        order.sort(key=lambda i: lengths[i])
    batches = []
    for start in range(0, len(order), batch_size):
        chunk = [texts[i] for i in order[start:start + batch_size]]
        enc = tokenizer(chunk, padding=True, truncation=True, return_tensors="pt")
        batches.append((enc["input_ids"], enc["attention_mask"], enc["token_type_ids"]))
    return batches, order


def _keyword_logits(model: nn.Module) -> Callable[..., torch.Tensor]:
    """The model called the ordinary way, with its 2-D padding mask."""
    def run(input_ids, attention_mask, token_type_ids):
        return model(input_ids=input_ids, attention_mask=attention_mask,
                     token_type_ids=token_type_ids).logits  # (B, C)
    return run


def _onnx_pair(module: nn.Module, workdir: Path, name: str,
               threads: int | None) -> dict[str, Callable[..., torch.Tensor]]:
    """ONNX Runtime float32 and int8 sessions of ``module``, as callables."""
    fp32_file = export.export_onnx(module, workdir / f"{name}.onnx")
    int8_file = export.quantize_onnx_int8(fp32_file, workdir / f"{name}.int8.onnx")
    fp32, int8 = export.onnx_session(fp32_file, threads), export.onnx_session(int8_file, threads)
    return {"onnxruntime float32": lambda *a: export.run_onnx(fp32, *a),
            "onnxruntime int8": lambda *a: export.run_onnx(int8, *a)}


BERTEDU_RUNTIMES = ("pytorch float32 eager", "pytorch float32 sdpa", "pytorch int8",
                    "pytorch int8 ffn-out float32", "torch.export float32",
                    "onnxruntime float32", "onnxruntime int8")
TRANSFORMERS_RUNTIMES = ("pytorch float32 sdpa", "pytorch int8", "pytorch int8 ffn-out float32",
                         "onnxruntime float32", "onnxruntime int8")


def ffn_outputs(config: Any) -> list[str]:
    """The names of the feed-forward output layers ``W_2`` (``bert.encoder.layer.i.output.dense``,
    the same in both libraries). Their input is the GELU of the 4H-wide hidden layer, whose
    long positive tail makes one activation scale per matrix coarse for the many small values:
    the layers int8 hurts most, kept in float32 by the ``ffn-out float32`` runtime."""
    return [f"bert.encoder.layer.{i}.output.dense" for i in range(config.num_hidden_layers)]


def _int8_pair(model: nn.Module, engine: str | None, per_channel: bool,
               wanted: Collection[str]) -> dict[str, Callable[..., torch.Tensor]]:
    out = {}
    if "pytorch int8" in wanted:
        out["pytorch int8"] = _keyword_logits(
            export.quantize_int8(model, engine=engine, per_channel=per_channel))
    if "pytorch int8 ffn-out float32" in wanted:
        out["pytorch int8 ffn-out float32"] = _keyword_logits(export.quantize_int8(
            model, engine=engine, per_channel=per_channel, skip=ffn_outputs(model.config)))
    return out


def bertedu_runtimes(model_dir: str | os.PathLike, workdir: Path, threads: int | None,
                     engine: str | None, per_channel: bool, wanted: Collection[str]
                     ) -> dict[str, Callable[..., torch.Tensor]]:
    """bertedu's runtimes (those of :data:`BERTEDU_RUNTIMES` in ``wanted``) of ``model_dir``."""
    sdpa = BertForSequenceClassification.from_pretrained(
        model_dir, attn_implementation="sdpa").eval()
    out: dict[str, Callable[..., torch.Tensor]] = {}
    if "pytorch float32 eager" in wanted:
        eager = BertForSequenceClassification.from_pretrained(
            model_dir, attn_implementation="eager").eval()
        out["pytorch float32 eager"] = _keyword_logits(eager)
    out["pytorch float32 sdpa"] = _keyword_logits(sdpa)
    out.update(_int8_pair(sdpa, engine, per_channel, wanted))
    if "torch.export float32" in wanted:
        out["torch.export float32"] = export.export_program(sdpa).module()
    if {"onnxruntime float32", "onnxruntime int8"} & set(wanted):
        out.update(_onnx_pair(sdpa, workdir, "bertedu", threads))
    return {name: fn for name, fn in out.items() if name in wanted}


class TransformersLogits(nn.Module):
    """transformers' classifier with the exported signature ``(ids, mask, segments) -> logits``
    (the 2-D mask goes in as it is; transformers builds its own 4-D mask)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model, self.config = model, model.config

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                token_type_ids: torch.Tensor) -> torch.Tensor:
        """Three ``(B, T)`` integer tensors -> ``(B, C)`` logits."""
        return self.model(input_ids=input_ids, attention_mask=attention_mask,
                          token_type_ids=token_type_ids).logits


def transformers_runtimes(model_dir: str | os.PathLike, workdir: Path, threads: int | None,
                          engine: str | None, per_channel: bool, wanted: Collection[str]
                          ) -> dict[str, Callable[..., torch.Tensor]]:
    """transformers' ``BertForSequenceClassification`` from ``model_dir``, by runtime (those
    of :data:`TRANSFORMERS_RUNTIMES` in ``wanted``)."""
    import transformers

    model = transformers.BertForSequenceClassification.from_pretrained(model_dir).eval()
    out = {"pytorch float32 sdpa": _keyword_logits(model), **_int8_pair(model, engine,
                                                                        per_channel, wanted)}
    if {"onnxruntime float32", "onnxruntime int8"} & set(wanted):
        out.update(_onnx_pair(TransformersLogits(model), workdir, "transformers", threads))
    return {name: fn for name, fn in out.items() if name in wanted}


def _environment(threads: int, engine: str, compare_transformers: bool) -> dict[str, Any]:
    import onnxruntime

    versions = {"onnxruntime_version": onnxruntime.__version__, "transformers_version": ""}
    if compare_transformers:
        import transformers

        versions["transformers_version"] = transformers.__version__
    cpu = platform.processor() or platform.machine()
    if Path("/proc/cpuinfo").exists():
        names = [line.split(":", 1)[1].strip() for line in
                 Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")]
        cpu = names[0] if names else cpu
    return {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "device_name": cpu, "threads": threads, "torch_version": torch.__version__,
            "quantized_engine": engine, **versions}


def run_int8_bench(
    model_dir: str | os.PathLike, texts: Sequence[str], labels: Sequence[int],
    threads: int | None = None, batch_size: int = 32, reps: int = 5,
    sort_by_length: bool = True, engine: str | None = None, per_channel: bool = False,
    compare_transformers: bool = True, runtimes: Collection[str] | None = None,
    workdir: str | os.PathLike | None = None, log: Callable[[str], Any] | None = print,
) -> list[dict[str, Any]]:
    """Accuracy and throughput of every runtime of both libraries, one row each (:data:`COLUMNS`).

    ``threads`` sets ``torch.set_num_threads`` and ONNX Runtime's intra-op threads (default:
    torch's current setting); ``engine`` the quantized backend (``x86``, ``fbgemm``,
    ``onednn``; default torch's); ``per_channel`` one int8 scale per output row of each weight
    instead of one per matrix. ``runtimes``: the names to measure (default all of
    :data:`BERTEDU_RUNTIMES`; the float32 SDPA baseline is always measured).
    """
    if len(texts) != len(labels):
        raise ValueError(f"{len(texts)} texts but {len(labels)} labels")
    if reps < 1:
        raise ValueError(f"reps must be >= 1, got {reps}")
    wanted = set(BERTEDU_RUNTIMES if runtimes is None else runtimes) | {"pytorch float32 sdpa"}
    unknown = sorted(wanted - set(BERTEDU_RUNTIMES))
    if unknown:
        raise ValueError(f"unknown runtimes {unknown}; choose among {list(BERTEDU_RUNTIMES)}")
    if threads is not None:
        torch.set_num_threads(threads)
    threads = torch.get_num_threads()
    if engine is not None:
        if engine not in torch.backends.quantized.supported_engines:
            raise ValueError(f"unknown quantized engine {engine!r}; this torch supports "
                             f"{torch.backends.quantized.supported_engines}")
        torch.backends.quantized.engine = engine
    engine = torch.backends.quantized.engine
    say = log or (lambda _msg: None)
    tokenizer = BertTokenizerFast.from_pretrained(model_dir)
    batches, order = encode_batches(tokenizer, texts, batch_size, sort_by_length)
    with tempfile.TemporaryDirectory() if workdir is None else _keep(workdir) as tmp:
        fns = {("bertedu", name): fn for name, fn in bertedu_runtimes(
            model_dir, Path(tmp), threads, engine, per_channel, wanted).items()}
        if compare_transformers:
            fns.update({("transformers", name): fn for name, fn in transformers_runtimes(
                model_dir, Path(tmp), threads, engine, per_channel, wanted).items()})
        say(f"{len(fns)} runtimes, {len(texts)} sentences in {len(batches)} batches, "
            f"{threads} threads, engine {engine}")
        logits: dict[tuple[str, str], torch.Tensor] = {}

        def one_pass(key):
            def run():
                with torch.inference_mode():
                    logits[key] = torch.cat([fns[key](*batch) for batch in batches])
            return run

        passes = {key: one_pass(key) for key in fns}
        times = time_alternating(passes, reps=reps, warmup=1, device=torch.device("cpu"))
    gold = torch.tensor([labels[i] for i in order])  # (N,) in batch order
    env = _environment(threads, engine, compare_transformers)
    rows = []
    for (library, name), seconds in times.items():
        base_key = (library, "pytorch float32 sdpa")
        accuracy = 100 * (logits[(library, name)].argmax(-1) == gold).float().mean().item()
        base_accuracy = 100 * (logits[base_key].argmax(-1) == gold).float().mean().item()
        median = statistics.median(seconds)
        rows.append({
            **env, "per_channel": per_channel, "model": os.fspath(model_dir), "rows": len(texts),
            "batch_size": batch_size, "sort_by_length": sort_by_length, "reps": reps,
            "library": library, "runtime": name, "dtype": "int8" if "int8" in name else "float32",
            "accuracy": round(accuracy, 4), "accuracy_change": round(accuracy - base_accuracy, 4),
            "max_abs_logit_diff": (logits[(library, name)] - logits[base_key]).abs().max().item(),
            "sentences_per_s": len(texts) / median,
            "speedup": statistics.median(times[base_key]) / median,
            **{k: v for k, v in spread(seconds).items() if k in COLUMNS},
        })
        say(f"{library:>12} {name:<28} accuracy {accuracy:6.2f}%  "
            f"{len(texts) / median:8.1f} sentences/s  x{rows[-1]['speedup']:.2f}")
    return rows


class _keep:
    """A context manager yielding an existing folder (created if missing), kept afterwards."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    def __enter__(self) -> str:
        self.path.mkdir(parents=True, exist_ok=True)
        return os.fspath(self.path)

    def __exit__(self, *exc: object) -> None:
        return None
