"""The generic loop of bertedu.training.loop, driven by a plain classification loss."""

import pytest
import torch

from bertedu import BertConfig, BertForSequenceClassification
from bertedu.training import TrainingArguments, micro_batch_indices, train

N = 24


def _data(seed=0):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, 60, (N, 10), generator=g)  # (N, T)
    labels = (ids[:, 0] > 32).long()  # learnable from the first token
    return ids, labels


def _model():
    torch.manual_seed(0)
    config = BertConfig(vocab_size=64, hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=4, intermediate_size=64,
                        max_position_embeddings=16, hidden_dropout_prob=0.0,
                        attention_probs_dropout_prob=0.0)
    return BertForSequenceClassification(config)


def _run(batch_size, grad_accum, steps=6, evaluate=None, lr=1e-3, **kw):
    ids, labels = _data()

    def micro_batch(k):
        idx = micro_batch_indices(k, batch_size, N, seed=3)
        return {"input_ids": ids[idx], "attention_mask": torch.ones_like(ids[idx]),
                "labels": labels[idx]}

    def loss_fn(model, batch):
        out = model(**batch)
        return out.loss, {"ce": out.loss}

    args = TrainingArguments(steps=steps, batch_size=batch_size, grad_accum=grad_accum, lr=lr,
                             warmup=1, seed=3, progress=False, **kw)
    return train(_model(), args, micro_batch, loss_fn, evaluate=evaluate)


def test_loss_falls_and_parts_are_logged():
    history = _run(8, 1, steps=40, lr=3e-3)
    assert [r["step"] for r in history] == list(range(1, 41))
    assert all(r["ce"] == pytest.approx(r["loss"]) for r in history)
    first, last = sum(r["loss"] for r in history[:5]), sum(r["loss"] for r in history[-5:])
    assert last < 0.5 * first


def test_accumulation_equals_the_large_batch():
    big = _run(8, 1)
    accumulated = _run(4, 2)
    for a, b in zip(big, accumulated, strict=True):
        assert a["loss"] == pytest.approx(b["loss"], abs=1e-5)
        assert a["lr"] == b["lr"]


def test_evaluation_hook_runs_at_its_steps_and_the_last():
    calls = []

    def evaluate(model):
        assert not model.training
        calls.append(1)
        return {"score": float(len(calls))}

    def wrapped(model):
        model.eval()
        try:
            return evaluate(model)
        finally:
            model.train()

    history = _run(8, 1, steps=5, evaluate=wrapped, eval_every=2)
    assert [r["step"] for r in history if "eval_score" in r] == [2, 4, 5]


def test_micro_batch_indices_cover_each_epoch_once():
    seen = [i for k in range(6) for i in micro_batch_indices(k, 4, N, seed=1)]
    assert sorted(seen) == list(range(N))
    assert seen != list(range(N))  # shuffled
