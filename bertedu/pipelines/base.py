"""The pipeline pattern: preprocess, forward in batches, postprocess.

A pipeline turns raw inputs (texts, question/context pairs) into readable predictions in three
steps, the split of transformers' ``Pipeline``:

1. ``preprocess(item) -> [feature, ...]``: tokenize one input into one or more *features*
   (a long question-answering context gives several windows). A feature is a dict whose
   ``input_ids``, ``token_type_ids`` and ``attention_mask`` (1-D lists) go to the model; its
   other fields (offsets, the original text) travel along to postprocessing.
2. ``forward``: features are grouped into batches of ``batch_size`` (sorted by length, so a
   batch pads little), padded to a ``(B, T)`` rectangle, run through the model under
   ``torch.inference_mode()`` on ``device`` and split back into one row per feature.
3. ``postprocess(features, rows) -> result``: turn the rows of one input into its answer.

Padding does not change a row: the attention mask gives padded keys the weight
``exp(-inf) = 0``, so each token's output is the one of the unpadded input (up to float
rounding), and postprocessing reads only the first ``len(input_ids)`` positions.

References:
    Hugging Face transformers documentation, "Pipelines" (the preprocess / _forward /
    postprocess split and the ``batch_size`` and ``device`` arguments).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from tqdm.auto import tqdm

from ..model import BertPreTrainedModel
from ..tokenization import BertTokenizer

MODEL_INPUTS = ("input_ids", "token_type_ids", "attention_mask")
PROGRESS_THRESHOLD = 64  # features (QA windows count one each) from which the bar shows


def resolve_device(device: int | str | torch.device | None) -> torch.device:
    """transformers' convention: ``None`` or ``-1`` is the CPU, ``k >= 0`` is ``cuda:k``."""
    if device is None or device == -1:
        return torch.device("cpu")
    if isinstance(device, int):
        if device < -1:
            raise ValueError(f"device must be -1 (CPU), a GPU index >= 0 or a name, got {device}")
        return torch.device("cuda", device)
    return torch.device(device)


class Pipeline:
    """Base class: a model with the head a task needs, its tokenizer, a device and a batch size.

    Subclasses set ``task`` and ``model_class`` and write ``preprocess``, ``forward_outputs``
    (the names of the model outputs they read) and ``postprocess``; ``__call__`` does the rest.
    """

    task: str = ""
    model_class: type[BertPreTrainedModel] = BertPreTrainedModel
    forward_outputs: tuple[str, ...] = ("logits",)
    needs_offsets = False  # True: the fast tokenizer's character offsets are required

    def __init__(
        self,
        model: BertPreTrainedModel,
        tokenizer: BertTokenizer,
        device: int | str | torch.device | None = None,
        batch_size: int = 1,
        progress_bar: bool | None = None,
    ):
        if not isinstance(model, self.model_class):
            raise TypeError(
                f"the {self.task!r} pipeline needs a {self.model_class.__name__} (its head), got "
                f"a {type(model).__name__}; load the model with "
                f"{self.model_class.__name__}.from_pretrained(...)"
            )
        if not isinstance(tokenizer, BertTokenizer):
            raise TypeError(f"tokenizer must be a BertTokenizer(Fast), got {type(tokenizer)}")
        if self.needs_offsets and not hasattr(tokenizer, "backend_tokenizer"):
            raise TypeError(
                f"the {self.task!r} pipeline needs character offsets: pass a BertTokenizerFast"
            )
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.device = resolve_device(device)
        self.model = model.to(self.device).eval()
        self.tokenizer = tokenizer
        self.batch_size = batch_size
        self.progress_bar = progress_bar

    # -- the three steps ---------------------------------------------------------------------
    def preprocess(self, item: Any, **params: Any) -> list[dict[str, Any]]:
        raise NotImplementedError

    def postprocess(
        self, features: list[dict[str, Any]], rows: list[dict[str, torch.Tensor]], **params: Any
    ) -> Any:
        raise NotImplementedError

    def split_parameters(self, **kwargs: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        """Call keywords -> (preprocess parameters, postprocess parameters)."""
        if kwargs:
            raise TypeError(f"the {self.task!r} pipeline got unexpected arguments {sorted(kwargs)}")
        return {}, {}

    # -- driving them ------------------------------------------------------------------------
    def run(self, items: Sequence[Any], **kwargs: Any) -> list[Any]:
        """Predict for every item of ``items``; one result per item, in order."""
        if len(items) == 0:
            raise ValueError(f"the {self.task!r} pipeline got an empty list of inputs")
        pre, post = self.split_parameters(**kwargs)
        features = [self.preprocess(item, **pre) for item in items]
        flat = [f for item_features in features for f in item_features]
        rows = self._forward_all(flat)
        results, at = [], 0
        for item_features in features:
            n = len(item_features)
            results.append(self.postprocess(item_features, rows[at:at + n], **post))
            at += n
        return results

    def __call__(self, inputs: Any, **kwargs: Any) -> Any:
        """One input gives one result; a list of inputs gives a list of results."""
        if isinstance(inputs, (list, tuple)):
            return self.run(list(inputs), **kwargs)
        return self.run([inputs], **kwargs)[0]

    def _check_length(self, input_ids: list[int]) -> None:
        limit = self.model.config.max_position_embeddings
        if len(input_ids) > limit:
            raise ValueError(
                f"an input of {len(input_ids)} tokens is longer than the model's "
                f"{limit} positions; pass truncation=True (or shorten the text)"
            )

    def _forward_all(self, features: list[dict[str, Any]]) -> list[dict[str, torch.Tensor]]:
        """Run every feature through the model in padded batches; one row of outputs each."""
        for feature in features:
            self._check_length(feature["input_ids"])
        order = sorted(range(len(features)), key=lambda i: len(features[i]["input_ids"]))
        batches = [order[i:i + self.batch_size] for i in range(0, len(order), self.batch_size)]
        show = self.progress_bar
        if show is None:
            show = len(features) >= PROGRESS_THRESHOLD
        rows: list[dict[str, torch.Tensor] | None] = [None] * len(features)
        for batch in tqdm(batches, desc=self.task, disable=not show):
            outputs = self._forward_batch([features[i] for i in batch])
            for j, i in enumerate(batch):
                rows[i] = {name: value[j] for name, value in outputs.items()}
        return rows  # type: ignore[return-value]

    def _forward_batch(self, features: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        """Pad ``features`` to ``(B, T)``, run the model, return its outputs on the CPU."""
        longest = max(len(f["input_ids"]) for f in features)
        pad_id = self.tokenizer.pad_token_id
        inputs = {}
        for name in MODEL_INPUTS:
            fill = pad_id if name == "input_ids" else 0
            inputs[name] = torch.tensor(
                [f[name] + [fill] * (longest - len(f[name])) for f in features],
                dtype=torch.long, device=self.device,
            )  # (B, T)
        with torch.inference_mode():
            output = self.model(**inputs)
        return {name: getattr(output, name).float().cpu() for name in self.forward_outputs}

    def encode(self, text: Any, text_pair: Any = None, **kwargs: Any) -> dict[str, Any]:
        """Tokenize one text (or pair) into a feature dict of 1-D lists."""
        encoding = self.tokenizer(text, text_pair, **kwargs)
        return dict(encoding)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(task={self.task!r}, model={type(self.model).__name__}, "
                f"device={self.device}, batch_size={self.batch_size})")
