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


class _FakeClock:
    """Stands in for the ``time`` module of the loop: one second passes per micro-batch."""

    def __init__(self):
        self.now = 0.0

    def perf_counter(self):
        return self.now


def _timed_run(monkeypatch, tmp_path, max_seconds, steps=6, stop_after=None, resume_from=None,
               evaluate=None):
    import bertedu.training.loop as loop

    clock = _FakeClock()
    monkeypatch.setattr(loop, "time", clock)
    ids, labels = _data()

    def micro_batch(k):
        clock.now += 1.0
        idx = micro_batch_indices(k, 8, N, seed=3)
        return {"input_ids": ids[idx], "attention_mask": torch.ones_like(ids[idx]),
                "labels": labels[idx]}

    def loss_fn(model, batch):
        out = model(**batch)
        return out.loss, {}

    args = TrainingArguments(steps=steps, batch_size=8, lr=1e-3, warmup=1, seed=3,
                             progress=False, max_seconds=max_seconds, stop_after=stop_after,
                             output_dir=str(tmp_path))
    model = _model()
    return model, train(model, args, micro_batch, loss_fn, resume_from=resume_from,
                        evaluate=evaluate)


def test_max_seconds_stops_after_the_step_that_ran_out_and_saves_it(monkeypatch, tmp_path):
    _, history = _timed_run(monkeypatch, tmp_path, max_seconds=2.5)
    # steps end at t = 1, 2, 3 s: the budget runs out during step 3, which is finished and kept
    assert [r["step"] for r in history] == [1, 2, 3]
    assert history[-1]["stop_reason"] == "max_seconds"
    assert all("stop_reason" not in r for r in history[:-1])
    saved = sorted(p.name for p in (tmp_path / "checkpoints").iterdir())
    assert saved == ["step-000003.pt"]


def test_the_step_that_ends_a_run_is_evaluated(monkeypatch, tmp_path):
    def evaluate(model):
        return {"score": 1.0}

    _, history = _timed_run(monkeypatch, tmp_path / "a", max_seconds=2.5, evaluate=evaluate)
    assert [r["step"] for r in history if "eval_score" in r] == [3]
    _, history = _timed_run(monkeypatch, tmp_path / "b", max_seconds=None, stop_after=4,
                            evaluate=evaluate)
    assert [r["step"] for r in history if "eval_score" in r] == [4]


def test_the_limit_that_comes_first_is_named(monkeypatch, tmp_path):
    _, history = _timed_run(monkeypatch, tmp_path / "a", max_seconds=100.0)
    assert len(history) == 6 and history[-1]["stop_reason"] == "steps"
    _, history = _timed_run(monkeypatch, tmp_path / "b", max_seconds=100.0, stop_after=4)
    assert len(history) == 4 and history[-1]["stop_reason"] == "stop_after"
    _, history = _timed_run(monkeypatch, tmp_path / "c", max_seconds=3.5, stop_after=4)
    assert len(history) == 4 and history[-1]["stop_reason"] == "stop_after"
    _, history = _timed_run(monkeypatch, tmp_path / "d", max_seconds=2.0, stop_after=4)
    assert len(history) == 2 and history[-1]["stop_reason"] == "max_seconds"


def test_a_time_boxed_run_resumes_to_the_unbroken_result(monkeypatch, tmp_path):
    whole, whole_history = _timed_run(monkeypatch, tmp_path / "whole", max_seconds=None)
    _, first = _timed_run(monkeypatch, tmp_path / "boxed", max_seconds=1.5)
    assert first[-1]["step"] == 2
    checkpoint = tmp_path / "boxed" / "checkpoints" / "step-000002.pt"
    resumed, history = _timed_run(monkeypatch, tmp_path / "boxed", max_seconds=None,
                                  resume_from=checkpoint)
    assert [r["step"] for r in history] == list(range(1, 7))
    assert [r["loss"] for r in history] == [r["loss"] for r in whole_history]
    for (name, a), b in zip(whole.state_dict().items(), resumed.state_dict().values(),
                            strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0, msg=name)


@pytest.mark.parametrize("bad", [{"max_seconds": 0.0}, {"max_seconds": -1.0},
                                 {"stop_after": 0}])
def test_budgets_must_be_positive(bad):
    name = next(iter(bad))
    with pytest.raises(ValueError, match=name):
        TrainingArguments(**bad)


def test_pretrain_passes_the_budget_to_the_loop(monkeypatch, tmp_path):
    """PretrainingArguments(max_seconds=...) ends pretrain() like the plain loop: after the step
    that ran out of time, evaluated on the held-out pairs and checkpointed."""
    import bertedu.training.loop as loop
    from bertedu import BertForPreTraining
    from bertedu.pretraining import PretrainingArguments, pretrain
    from bertedu.pretraining.corpus import default_corpus
    from bertedu.pretraining.nsp import NspDataset
    from bertedu.tokenization.fast import BertTokenizerFast, train_wordpiece_vocab

    docs = default_corpus()[:30]
    train_wordpiece_vocab([s for d in docs for s in d], vocab_size=300, save_to=tmp_path)
    tok = BertTokenizerFast(tmp_path / "vocab.txt")
    pairs = NspDataset.from_corpus(docs, tok, max_seq_length=32, seed=0)
    clock = _FakeClock()

    class Ticking:  # the training pairs, one second per pair read
        def __len__(self):
            return len(pairs)

        def __getitem__(self, i):
            clock.now += 1.0
            return pairs[i]

    monkeypatch.setattr(loop, "time", clock)
    torch.manual_seed(0)
    model = BertForPreTraining(BertConfig(vocab_size=len(tok), hidden_size=32,
                                          num_hidden_layers=1, num_attention_heads=2,
                                          intermediate_size=64, max_position_embeddings=32))
    args = PretrainingArguments(steps=10, batch_size=4, warmup=1, max_seconds=10.0,
                                eval_batches=1, progress=False, output_dir=str(tmp_path))
    history = pretrain(model, tok, Ticking(), args, eval_dataset=pairs)
    # 4 pairs (4 s) per step: the budget of 10 s runs out during step 3
    assert [r["step"] for r in history] == [1, 2, 3]
    assert history[-1]["stop_reason"] == "max_seconds" and "eval_mlm_accuracy" in history[-1]
    assert (tmp_path / "checkpoints" / "step-000003.pt").is_file()


def test_fused_adamw_is_the_default_on_the_cpu_and_updates_as_the_reference_does(tmp_path):
    from bertedu.training import make_optimizer

    models = [_model(), _model()]
    fused, _ = make_optimizer(models[0], 1e-2, 0.01, 1, 5)
    plain, _ = make_optimizer(models[1], 1e-2, 0.01, 1, 5, fused=False)
    assert [g["fused"] for g in fused.param_groups] == [True, True]
    assert [g["fused"] for g in plain.param_groups] == [None, None]
    ids, labels = _data()
    for _ in range(5):
        for model, opt in zip(models, (fused, plain), strict=True):
            model(input_ids=ids, labels=labels).loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
    for a, b in zip(models[0].parameters(), models[1].parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    # a state saved by the loop-based optimizer (an earlier bertedu's checkpoint) resumes fused
    torch.save(plain.state_dict(), tmp_path / "opt.pt")
    resumed, _ = make_optimizer(models[1], 1e-2, 0.01, 1, 5)
    resumed.load_state_dict(torch.load(tmp_path / "opt.pt", weights_only=True))
    models[1](input_ids=ids, labels=labels).loss.backward()
    resumed.step()
    assert all(torch.isfinite(p).all() for p in models[1].parameters())
    assert resumed.state[next(models[1].parameters())]["step"].item() == 6


def test_fused_adamw_is_asked_for_only_where_pytorch_has_the_kernel():
    from bertedu.training import make_optimizer

    model = _model()
    model.register_buffer("counter", torch.zeros(2, dtype=torch.long))  # buffers are not optimised
    opt, _ = make_optimizer(model, 1e-3, 0.0, 1, 2)
    assert opt.param_groups[0]["fused"] is True
    elsewhere = _model().to("meta")  # a device without the fused kernel: the default AdamW
    opt, _ = make_optimizer(elsewhere, 1e-3, 0.0, 1, 2)
    assert opt.param_groups[0]["fused"] is None
