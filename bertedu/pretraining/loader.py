"""A loader over pre-tokenized shards: MLM/NSP batches built in background workers, bucketed.

The in-memory path of chapter 11 builds every NSP pair of the corpus up front (one random stream
over all documents, then one global shuffle) and masks each micro-batch in the training process.
That needs the whole corpus tokenized in memory and leaves the device waiting while Python makes
batches. :class:`ShardNspStream` makes the same kind of batches from the memory-mapped shards of
:mod:`bertedu.pretraining.shards`, lazily and in ``DataLoader`` worker processes:

1. **Units.** Pass ``p`` over the data visits the documents (those with 2 or more sentences, as
   in the in-memory path) in a seeded order. Unit ``(p, d)`` makes its NSP pairs with the
   in-memory path's own function (:mod:`bertedu.pretraining.nsp`) and a generator seeded with
   ``(seed, p, d)``: a unit's pairs do not depend on who builds them. Every pass draws new split
   points and partners (the role of ``dupe_factor``), and new masks.
2. **Ranks.** Rank ``r`` of ``W`` takes the units at positions ``r, r + W, r + 2W, ...`` of each
   pass: the ranks read disjoint data, and together exactly what one process would read.
3. **Batches.** A window of ``window`` batches of pairs is shuffled, then (``bucket=True``)
   sorted by length and cut into batches, whose order is shuffled again: pairs of similar length
   share a batch, so little of it is padding. Batch ``i`` is masked by the in-memory path's
   collator (:mod:`bertedu.pretraining.masking`) with a generator seeded with ``(seed, r, W, i)``.
4. **Workers.** With ``n`` workers, worker ``w`` builds batches ``i = w, w + n, ...`` and the
   ``DataLoader`` returns them in order, so the batches do not depend on ``n``; starting at batch
   ``k`` (a resumed run) gives batches ``k, k+1, ...`` of the run that started at 0. The price:
   every worker walks the whole stream of pairs (it masks and collates only its own batches), so
   pair-making is repeated in each worker, which limits what more workers gain.

The difference from the in-memory path, exactly: the same pairing function on the same token ids,
but one seeded generator per unit instead of one for the whole corpus, a new draw per pass instead
of ``dupe_factor`` fixed draws repeated each epoch, and rank-local batches, so that a run on ``W``
processes sees other (equally distributed) batches than a run on one.
:func:`nsp_dataset_from_shards` gives the in-memory path's examples exactly, from the shards.

References:
    Devlin et al., 2019, "BERT", appendix A.2 (sequence-length schedule: padding is waste).
    Krell et al., 2021, "Efficient Sequence Packing without Cross-contamination", section 2
    (the padding fraction of BERT pretraining data).
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator, Sequence
from pathlib import Path

import torch
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from ..training.distributed import Distributed
from ..training.loop import MIX, train
from .masking import DataCollatorForLanguageModeling
from .nsp import NspDataset, NspInstance, _instances_from_document
from .objective import PretrainingArguments, evaluate, pretraining_losses
from .shards import Shards, open_shards

__all__ = ["ShardNspStream", "make_loader", "nsp_dataset_from_shards", "padding_fraction",
           "pretrain_from_shards"]


def _mix(*parts: int) -> int:
    """Distinct 63-bit generator seeds for distinct tuples of small integers."""
    out = 0
    for p in parts:
        out = (out * MIX + int(p) + 1) % (2**63 - 1)
    return out


class _Documents(Sequence):
    """Documents ``indices`` of the shards (all by default), the last ones read kept in memory
    (a document's pairs read it, and their random partners, many times)."""

    def __init__(self, shards: Shards, indices: Sequence[int] | None = None):
        self.shards = shards
        self.indices = list(range(len(shards))) if indices is None else list(indices)
        self._cache: dict[int, list[list[int]]] = {}

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> list[list[int]]:
        doc = self._cache.get(i)
        if doc is None:
            if len(self._cache) >= 128:
                self._cache.clear()
            doc = self._cache[i] = self.shards[self.indices[i]]
        return doc


def nsp_dataset_from_shards(shards: Shards, tokenizer, documents: Sequence[int] | None = None,
                            max_seq_length: int = 128, short_seq_prob: float = 0.1,
                            nsp_probability: float = 0.5, dupe_factor: int = 1,
                            seed: int = 0) -> NspDataset:
    """The in-memory path's dataset, built from shards (the documents are read into memory).

    Equal to ``NspDataset.from_corpus(docs, tokenizer, ...)`` when the shards were prepared from
    ``docs`` (``documents`` picks a subset, e.g. the held-out documents); it repeats that
    function's loop over the documents with the ids read from disk instead of tokenized.
    """
    docs = list(_Documents(shards, documents))
    if len(docs) < 2 or not any(len(d) >= 2 for d in docs):
        raise ValueError("next-sentence prediction needs 2 or more documents, one of them with "
                         "2 or more sentences")
    rng = random.Random(seed)
    instances: list[NspInstance] = []
    for _ in range(dupe_factor):
        for index in range(len(docs)):
            if len(docs[index]) >= 2:
                instances.extend(_instances_from_document(
                    docs, index, max_seq_length, short_seq_prob, nsp_probability,
                    tokenizer.cls_token_id, tokenizer.sep_token_id, rng))
    rng.shuffle(instances)
    return NspDataset(instances)


class ShardNspStream(IterableDataset):
    """An endless stream of masked NSP batches of ``batch_size`` rows from a shard folder.

    Each item is the collator's dict: ``input_ids``, ``attention_mask``, ``token_type_ids``,
    ``labels`` ``(b, T)`` and ``next_sentence_label`` ``(b,)``, ``T`` the batch's longest pair.
    ``documents`` restricts the stream to those document indices (e.g. the training split).
    See the module docstring for the order, the ranks, the buckets and the workers.
    """

    def __init__(self, shards: str | os.PathLike | Shards, tokenizer, batch_size: int,
                 max_seq_length: int = 128, short_seq_prob: float = 0.1,
                 nsp_probability: float = 0.5, mlm_probability: float = 0.15,
                 whole_word_mask: bool = False, seed: int = 0, rank: int = 0,
                 world_size: int = 1, documents: Sequence[int] | None = None,
                 window: int = 32, bucket: bool = True, start_batch: int = 0):
        if batch_size < 1 or window < 1 or start_batch < 0:
            raise ValueError("batch_size and window must be >= 1, start_batch >= 0")
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} is not in [0, world_size={world_size})")
        if max_seq_length < 5:
            raise ValueError(f"max_seq_length={max_seq_length}: [CLS] A [SEP] B [SEP] needs 5")
        self.folder = Path(shards.folder if isinstance(shards, Shards) else shards)
        self._shards = shards if isinstance(shards, Shards) else open_shards(shards, tokenizer)
        self.tokenizer, self.batch_size = tokenizer, batch_size
        self.max_seq_length, self.short_seq_prob = max_seq_length, short_seq_prob
        self.nsp_probability, self.mlm_probability = nsp_probability, mlm_probability
        self.whole_word_mask, self.seed = whole_word_mask, seed
        self.rank, self.world_size = rank, world_size
        self.window, self.bucket, self.start_batch = window, bucket, start_batch
        docs = _Documents(self._shards, documents)
        counts = self._shards.sentence_counts()
        self.eligible = [i for i, d in enumerate(docs.indices) if counts[d] >= 2]
        if len(docs) < 2 or len(self.eligible) < world_size:
            raise ValueError(f"{len(docs)} document(s), {len(self.eligible)} with 2+ sentences: "
                             f"too few for next-sentence prediction on {world_size} rank(s)")
        self.documents = docs.indices

    def __getstate__(self):  # a worker re-opens the memory maps instead of copying them
        state = dict(self.__dict__)
        state["_shards"] = None
        return state

    def units(self, p: int) -> list[int]:
        """This rank's documents in pass ``p``, in order (positions in ``self.documents``)."""
        g = torch.Generator().manual_seed(_mix(self.seed, p))
        order = torch.randperm(len(self.eligible), generator=g).tolist()  # the same on every rank
        return [self.eligible[order[pos]] for pos in range(self.rank, len(order), self.world_size)]

    def unit_pairs(self, docs: Sequence, p: int, d: int) -> list[NspInstance]:
        """The NSP pairs of unit ``(p, d)``: a function of the seed, ``p`` and ``d`` alone."""
        return _instances_from_document(
            docs, d, self.max_seq_length, self.short_seq_prob, self.nsp_probability,
            self.tokenizer.cls_token_id, self.tokenizer.sep_token_id,
            random.Random(_mix(self.seed, p, d)))

    def _unit_stream(self, docs: _Documents) -> Iterator[NspInstance]:
        """The pairs of this rank's units, pass after pass."""
        p = 0
        while True:
            for d in self.units(p):
                yield from self.unit_pairs(docs, p, d)
            p += 1

    def _windows(self, docs: _Documents) -> Iterator[list[list[NspInstance]]]:
        """Windows of ``window`` batches of pairs (shuffled, bucketed by length)."""
        stream = self._unit_stream(docs)
        w = 0
        while True:
            pairs = [next(stream) for _ in range(self.window * self.batch_size)]
            rng = random.Random(_mix(self.seed, self.rank, self.world_size, w))
            rng.shuffle(pairs)
            if self.bucket:
                pairs.sort(key=lambda inst: len(inst.input_ids))
            batches = [pairs[i : i + self.batch_size]
                       for i in range(0, len(pairs), self.batch_size)]
            rng.shuffle(batches)
            yield batches
            w += 1

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        if self._shards is None:
            self._shards = open_shards(self.folder)
        info = get_worker_info()
        workers, me = (1, 0) if info is None else (info.num_workers, info.id)
        docs = _Documents(self._shards, self.documents)
        collator = DataCollatorForLanguageModeling(
            self.tokenizer, mlm_probability=self.mlm_probability,
            whole_word_mask=self.whole_word_mask)
        i = 0
        for batches in self._windows(docs):
            for batch in batches:
                if i >= self.start_batch and (i - self.start_batch) % workers == me:
                    seed = _mix(self.seed + 1, self.rank, self.world_size, i)
                    collator.generator = torch.Generator().manual_seed(seed)
                    yield collator([inst.to_features() for inst in batch])
                i += 1


def make_loader(stream: ShardNspStream, num_workers: int = 0, pin_memory: bool = False,
                prefetch_factor: int = 4) -> DataLoader:
    """A ``DataLoader`` over the stream's batches: ``num_workers`` processes build them ahead,
    ``prefetch_factor`` each, into pinned memory (``pin_memory``, for fast copies to a GPU)."""
    return DataLoader(stream, batch_size=None, num_workers=num_workers, pin_memory=pin_memory,
                      prefetch_factor=prefetch_factor if num_workers else None)


def padding_fraction(batch: dict[str, torch.Tensor]) -> float:
    """The share of the batch's ``(b, T)`` positions that are padding: ``1 - real / (b T)``."""
    mask = batch["attention_mask"]
    return 1.0 - float(mask.sum()) / mask.numel()


def pretrain_from_shards(model, tokenizer, shards: str | os.PathLike | Shards,
                         args: PretrainingArguments, documents: Sequence[int] | None = None,
                         eval_dataset=None, resume_from=None, max_seq_length: int = 128,
                         short_seq_prob: float = 0.1, num_workers: int = 0,
                         bucket: bool = True, window: int = 32) -> list[dict]:
    """:func:`bertedu.pretraining.pretrain` with micro-batches from a :class:`ShardNspStream`.

    ``args.batch_size`` is the global micro-batch; under ``torchrun`` each rank streams its own
    ``batch_size / W`` rows and the losses are normalised by the counts of the whole micro-batch
    (summed over ranks), so the update is that of the global batch. Resume is exact: the loader
    restarts at the checkpoint's micro-batch.
    """
    dist = Distributed.current()
    local = dist.shard(args.batch_size)
    shards = shards if isinstance(shards, Shards) else open_shards(shards, tokenizer)
    state: dict = {"next": None, "iterator": None}

    def micro_batch(k: int) -> dict[str, torch.Tensor]:
        if state["next"] != k:  # first call, or a resumed run: (re)start the stream at k
            stream = ShardNspStream(
                shards, tokenizer, local.stop - local.start, max_seq_length=max_seq_length,
                short_seq_prob=short_seq_prob, mlm_probability=args.mlm_probability,
                whole_word_mask=args.whole_word_mask, seed=args.seed, rank=dist.rank,
                world_size=dist.world_size, documents=documents, window=window,
                bucket=bucket, start_batch=k)
            loader = make_loader(stream, num_workers,
                                 pin_memory=torch.device(args.device).type == "cuda")
            state["iterator"] = iter(loader)
        batch = next(state["iterator"])
        state["next"] = k + 1
        if dist.active:  # this rank's share of the global means
            counts = dist.sum(torch.tensor([float((batch["labels"] != -100).sum()),
                                            float(len(batch["labels"]))]))
            batch["mlm_normalizer"], batch["nsp_normalizer"] = counts[0], counts[1]
        return batch

    def loss_fn(model, batch):
        loss, mlm, nsp, _, _ = pretraining_losses(model, batch)
        return loss, {"mlm_loss": mlm, "nsp_loss": nsp}

    eval_collator = DataCollatorForLanguageModeling(
        tokenizer, mlm_probability=args.mlm_probability, whole_word_mask=args.whole_word_mask)

    def evaluate_hook(model) -> dict[str, float]:
        return evaluate(model, eval_dataset, eval_collator, args.batch_size, args.eval_batches,
                        seed=args.seed, device=args.device)

    try:
        return train(model, args, micro_batch, loss_fn,
                     evaluate=evaluate_hook if eval_dataset is not None else None,
                     resume_from=resume_from, desc="pretrain", dist=dist)
    finally:
        state["iterator"] = None  # stops the worker processes
