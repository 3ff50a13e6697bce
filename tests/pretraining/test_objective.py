"""The pretraining loop: parameter groups, schedule, exact resume in a fresh process, the CLI."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from bertedu.config import BertConfig
from bertedu.model.modeling import BertForMaskedLM, BertForPreTraining
from bertedu.pretraining.cli import build_parser, cli
from bertedu.pretraining.corpus import default_corpus, write_corpus
from bertedu.pretraining.masking import DataCollatorForLanguageModeling
from bertedu.pretraining.nsp import NspDataset
from bertedu.pretraining.objective import PretrainingArguments, evaluate, pretrain
from bertedu.tokenization.fast import BertTokenizerFast, train_wordpiece_vocab
from bertedu.training import linear_warmup_decay, load_checkpoint, make_optimizer, param_groups

REPO = Path(__file__).resolve().parents[2]
TINY = {"hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2,
        "intermediate_size": 64, "max_position_embeddings": 64}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A small corpus file, a small vocabulary and a tiny config.json."""
    root = tmp_path_factory.mktemp("pretrain")
    docs = default_corpus()[:80]
    corpus = write_corpus(root / "corpus.txt", docs)
    train_wordpiece_vocab([s for d in docs for s in d], vocab_size=400, save_to=root / "vocab.txt")
    tok = BertTokenizerFast(root / "vocab.txt")
    BertConfig(vocab_size=len(tok), **TINY).to_json_file(root / "config.json")
    return {"root": root, "docs": docs, "corpus": corpus, "tok": tok}


def _model(tok, cls=BertForPreTraining, **overrides):
    torch.manual_seed(0)
    return cls(BertConfig(vocab_size=len(tok), **{**TINY, **overrides}))


def test_no_weight_decay_on_bias_and_layernorm(files):
    model = _model(files["tok"])
    decay, no_decay = param_groups(model, 0.01)
    names = {id(p): n for n, p in model.named_parameters()}
    assert decay["weight_decay"] == 0.01 and no_decay["weight_decay"] == 0.0
    assert all(names[id(p)].endswith("bias") or "LayerNorm" in names[id(p)]
               for p in no_decay["params"])
    assert all(not names[id(p)].endswith("bias") and "LayerNorm" not in names[id(p)]
               for p in decay["params"])
    assert any("LayerNorm.weight" in names[id(p)] for p in no_decay["params"])
    # every parameter exactly once (the tied decoder weight is the word embeddings)
    ids = [id(p) for g in (decay, no_decay) for p in g["params"]]
    assert len(ids) == len(set(ids)) == len(list(model.parameters()))


def test_lr_schedule_warmup_then_linear_decay(files):
    model = _model(files["tok"])
    optimizer, scheduler = make_optimizer(model, lr=1e-3, weight_decay=0.01, warmup=10, total=50)
    lrs = []
    for _ in range(50):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert lrs[0] == 0.0 and lrs[10] == pytest.approx(1e-3)
    assert lrs[5] == pytest.approx(5e-4) and lrs[30] == pytest.approx(5e-4)
    assert all(a < b for a, b in zip(lrs[:10], lrs[1:11], strict=True))  # rising
    assert all(a > b for a, b in zip(lrs[10:49], lrs[11:50], strict=True))  # falling
    assert optimizer.param_groups[0]["lr"] == 0.0  # zero after the last step
    assert [linear_warmup_decay(0, 4)(t) for t in range(5)] == [1.0, 0.75, 0.5, 0.25, 0.0]
    assert all(g["eps"] == 1e-6 for g in optimizer.param_groups)


@pytest.mark.parametrize("cls", [BertForPreTraining, BertForMaskedLM])
def test_sparse_mlm_loss_equals_the_full_model_loss(files, cls):
    """The loop runs the MLM head on picked positions only; the loss is the model's own."""
    from bertedu.pretraining.objective import pretraining_losses as _losses

    model = _model(files["tok"], cls=cls).eval()
    ds = _dataset(files)
    batch = DataCollatorForLanguageModeling(files["tok"], seed=0)([ds[i] for i in range(8)])
    total, mlm, nsp, logits, _ = _losses(model, batch)
    if cls is BertForMaskedLM:
        batch.pop("next_sentence_label")
    reference = model(**batch).loss
    torch.testing.assert_close(total, reference, rtol=1e-5, atol=1e-6)
    assert logits.shape == ((batch["labels"] != -100).sum().item(), len(files["tok"]))


def _args(tmp_path, **kw):
    base = dict(steps=6, batch_size=4, grad_accum=2, lr=1e-3, warmup=2, seed=0, progress=False,
                output_dir=str(tmp_path))
    return PretrainingArguments(**{**base, **kw})


def _dataset(files):
    return NspDataset.from_corpus(files["docs"], files["tok"], max_seq_length=32, seed=0)


def test_history_and_checkpoint_are_weights_only(files, tmp_path):
    model = _model(files["tok"])
    ds = _dataset(files)
    history = pretrain(model, files["tok"], ds, _args(tmp_path, eval_every=3), eval_dataset=ds)
    assert [h["step"] for h in history] == [1, 2, 3, 4, 5, 6]
    for h in history:
        assert {"step", "loss", "mlm_loss", "nsp_loss", "lr", "tokens_per_s"} <= set(h)
        assert h["loss"] == pytest.approx(h["mlm_loss"] + h["nsp_loss"], rel=1e-5)
    assert "eval_mlm_accuracy" in history[2] and "eval_nsp_accuracy" in history[5]
    assert "eval_mlm_loss" not in history[3]
    state = load_checkpoint(tmp_path / "checkpoints" / "step-000006.pt")  # weights_only=True
    assert state["step"] == 6 and state["config"]["hidden_size"] == 32
    assert set(state) >= {"model", "optimizer", "scheduler", "scaler", "rng", "history"}


def test_evaluate_is_deterministic_and_restores_mode(files):
    model = _model(files["tok"]).train()
    ds = _dataset(files)
    collator = DataCollatorForLanguageModeling(files["tok"])
    a = evaluate(model, ds, collator, batch_size=8, max_batches=2)
    b = evaluate(model, ds, collator, batch_size=8, max_batches=2)
    assert a == b and model.training and set(a) == {"mlm_loss", "mlm_accuracy", "nsp_accuracy"}
    assert 0.0 <= a["mlm_accuracy"] <= 1.0


def test_masked_lm_model_trains_without_nsp(files, tmp_path):
    model = _model(files["tok"], cls=BertForMaskedLM)
    history = pretrain(model, files["tok"], _dataset(files), _args(tmp_path, steps=2, warmup=0))
    assert all(h["nsp_loss"] == 0.0 for h in history)


def _cli_args(files, out, steps, *extra):
    return ["--config", str(files["root"] / "config.json"), "--vocab",
            str(files["root"] / "vocab.txt"), "--corpus", str(files["corpus"]), "--out", str(out),
            "--steps", str(steps), "--batch-size", "4", "--seq-len", "32", "--grad-accum", "2",
            "--warmup", "2", "--lr", "1e-3", "--dupe-factor", "1", "--seed", "3",
            "--device", "cpu", "--no-progress", *extra]


def test_exact_resume_in_a_fresh_process(files, tmp_path):
    """N steps straight == k steps, checkpoint, then N-k steps in a new Python process."""
    n, k = 6, 3
    assert cli(_cli_args(files, tmp_path / "straight", n)) == 0
    assert cli(_cli_args(files, tmp_path / "resumed", n, "--stop-after", str(k))) == 0
    ckpt = tmp_path / "resumed" / "checkpoints" / f"step-{k:06d}.pt"
    assert load_checkpoint(ckpt)["step"] == k
    assert not (tmp_path / "resumed" / "model.safetensors").exists()  # stopped early
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    argv = _cli_args(files, tmp_path / "resumed", n, "--resume", str(ckpt))
    code = f"import sys; from bertedu.pretraining.cli import cli; sys.exit(cli({argv!r}))"
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    straight = load_file(tmp_path / "straight" / "model.safetensors")
    resumed = load_file(tmp_path / "resumed" / "model.safetensors")
    assert straight.keys() == resumed.keys()
    assert all(torch.equal(straight[key], resumed[key]) for key in straight)
    # and training did change the weights (the comparison is not between two untouched inits)
    init = _model(files["tok"]).state_dict()
    assert not torch.equal(init["bert.embeddings.word_embeddings.weight"],
                           resumed["bert.embeddings.word_embeddings.weight"])


def test_resume_with_a_different_config_is_refused(files, tmp_path):
    ds = _dataset(files)
    pretrain(_model(files["tok"]), files["tok"], ds, _args(tmp_path, steps=2, warmup=0))
    ckpt = tmp_path / "checkpoints" / "step-000002.pt"
    other = _model(files["tok"], hidden_size=48)
    with pytest.raises(ValueError, match=r"different model config \(.*hidden_size: 32 != 48"):
        pretrain(other, files["tok"], ds, _args(tmp_path, steps=2, warmup=0), resume_from=ckpt)
    with pytest.raises(ValueError, match="cannot resume exactly: checkpoint has seed=0"):
        pretrain(_model(files["tok"]), files["tok"], ds, _args(tmp_path, steps=2, warmup=0, seed=1),
                 resume_from=ckpt)


def test_bad_arguments():
    with pytest.raises(ValueError, match="precision"):
        PretrainingArguments(precision="fp8")
    with pytest.raises(ValueError, match="fp16.*CUDA"):
        PretrainingArguments(precision="fp16", device="cpu")
    with pytest.raises(ValueError, match="warmup"):
        PretrainingArguments(steps=10, warmup=11)


def test_cli_smoke_writes_a_transformers_checkpoint(files, tmp_path, capsys):
    out = tmp_path / "run"
    argv = _cli_args(files, out, 3)
    argv[argv.index("--vocab") : argv.index("--vocab") + 2] = ["--vocab-size", "300"]
    assert cli(argv) == 0
    assert "model written to" in capsys.readouterr().out
    for name in ("config.json", "model.safetensors", "vocab.txt", "history.json"):
        assert (out / name).exists(), name
    import transformers

    model, info = transformers.BertForPreTraining.from_pretrained(out, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"]
    tok = transformers.BertTokenizerFast.from_pretrained(out)
    assert len(tok) == model.config.vocab_size <= 300  # the config follows the trained vocab


def test_cli_help_explains_every_flag():
    text = build_parser().format_help()
    for flag in ("--config", "--vocab-size", "--vocab", "--corpus", "--steps", "--batch-size",
                 "--seq-len", "--lr", "--warmup", "--weight-decay", "--grad-accum", "--clip",
                 "--eval-every", "--save-every", "--resume", "--seed", "--precision", "--device",
                 "--out", "--stop-after"):
        assert flag in text
    for action in build_parser()._actions:
        assert action.help, action.dest


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04 truncated zip", b"\x80\x02}q\x00."])
def test_unreadable_checkpoint_is_named(files, tmp_path, content):
    bad = tmp_path / "step-000002.pt"
    bad.write_bytes(content)
    with pytest.raises(ValueError, match=r"cannot read checkpoint .*step-000002\.pt.*: empty or "
                                         r"corrupt"):
        load_checkpoint(bad)
    with pytest.raises(ValueError, match="cannot read checkpoint"):
        pretrain(_model(files["tok"]), files["tok"], _dataset(files),
                 _args(tmp_path, steps=2, warmup=0), resume_from=bad)


def test_a_weights_file_is_not_a_training_checkpoint(files, tmp_path):
    torch.save(_model(files["tok"]).state_dict(), tmp_path / "weights.pt")
    with pytest.raises(ValueError, match=r"weights\.pt.* is not a training checkpoint"):
        load_checkpoint(tmp_path / "weights.pt")
    with pytest.raises(FileNotFoundError, match="no such checkpoint file"):
        load_checkpoint(tmp_path / "missing.pt")
