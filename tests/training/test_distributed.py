"""Data-parallel pretraining on ``gloo``: 2 processes equal 1 process with the same global batch.

Dropout is 0 in these runs: each rank draws its own dropout masks, so with dropout on a 2-process
run is a different (equally valid) sample of the noise, not the same numbers.
"""

import json
import os
import subprocess
import sys

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from bertedu import BertConfig, BertForPreTraining, BertTokenizerFast, train_wordpiece_vocab
from bertedu.pretraining import NspDataset, PretrainingArguments, pretrain
from bertedu.pretraining.corpus import default_corpus, write_corpus
from bertedu.training import Distributed, load_checkpoint

STEPS = 5
CONFIG = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
              max_position_embeddings=64, hidden_dropout_prob=0.0,
              attention_probs_dropout_prob=0.0)


def _setup(vocab_dir):
    docs = default_corpus()[:40]
    vocab = os.path.join(vocab_dir, "vocab.txt")
    if not os.path.exists(vocab):
        train_wordpiece_vocab([s for d in docs for s in d], vocab_size=400, save_to=vocab)
    tok = BertTokenizerFast(vocab)
    data = NspDataset.from_corpus(docs, tok, max_seq_length=48, dupe_factor=1, seed=0)
    torch.manual_seed(0)
    model = BertForPreTraining(BertConfig(vocab_size=len(tok), **CONFIG))
    return model, tok, data


def _args(out=None, **kw):
    return PretrainingArguments(steps=STEPS, batch_size=8, grad_accum=2, lr=1e-3, warmup=1,
                                seed=0, progress=False, output_dir=out, **kw)


def _worker(rank, world, init_file, vocab_dir, out, kw, result_file):
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank,
                            world_size=world)
    torch.set_num_threads(1)
    try:
        model, tok, data = _setup(vocab_dir)
        history = pretrain(model, tok, data, _args(out, **kw))
        if rank == 0:
            with open(result_file, "w") as f:
                json.dump(history, f)
    finally:
        dist.destroy_process_group()


def _run_two(tmp_path, name, out=None, **kw):
    result = tmp_path / f"{name}.json"
    mp.spawn(_worker, args=(2, str(tmp_path / f"{name}.init"), str(tmp_path), out, kw,
                            str(result)), nprocs=2, join=True)
    return json.loads(result.read_text())


def _losses(history):
    return torch.tensor([[r["loss"], r["mlm_loss"], r["nsp_loss"]] for r in history])


def test_two_processes_equal_one_with_the_same_global_batch(tmp_path):
    model, tok, data = _setup(str(tmp_path))
    single = pretrain(model, tok, data, _args())
    double = _run_two(tmp_path, "ddp")
    assert [r["step"] for r in double] == list(range(1, STEPS + 1))
    torch.testing.assert_close(_losses(double), _losses(single), rtol=0, atol=1e-5)
    # the losses move, so equality is not two flat lines
    assert single[-1]["loss"] < single[0]["loss"]
    # the logged token count is the whole global batch, summed over the ranks
    assert [r["tokens_per_s"] > 0 for r in double] == [True] * STEPS


def test_checkpoint_of_two_ranks_resumes_on_one(tmp_path):
    model, tok, data = _setup(str(tmp_path))
    uninterrupted = pretrain(model, tok, data, _args())
    out = tmp_path / "run"
    first = _run_two(tmp_path, "first", out=str(out), stop_after=3)
    assert len(first) == 3 and first[-1]["stop_reason"] == "stop_after"
    checkpoint = out / "checkpoints" / "step-000003.pt"
    state = load_checkpoint(checkpoint)
    assert state["step"] == 3 and not any(k.startswith("model.") for k in state["model"])
    model, tok, data = _setup(str(tmp_path))
    resumed = pretrain(model, tok, data, _args(), resume_from=checkpoint)
    torch.testing.assert_close(_losses(resumed), _losses(uninterrupted), rtol=0, atol=1e-5)


def test_batch_that_does_not_split_evenly_is_refused():
    with pytest.raises(ValueError, match="cannot be split evenly over 3 processes"):
        Distributed(rank=0, world_size=3).shard(8)
    assert Distributed(rank=1, world_size=2).shard(8) == slice(4, 8)


def test_torchrun_runs_the_pretrain_command_unchanged(tmp_path):
    corpus = tmp_path / "corpus.txt"
    write_corpus(corpus, default_corpus()[:40])
    config = tmp_path / "config.json"
    config.write_text(json.dumps(CONFIG))
    common = ["--corpus", str(corpus), "--config", str(config), "--vocab-size", "400",
              "--steps", "3", "--batch-size", "8", "--seq-len", "48", "--dupe-factor", "1",
              "--held-out", "0", "--no-progress"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run([sys.executable, "-m", "bertedu", "pretrain", "--out", str(tmp_path / "one"),
                    *common], check=True, env=env, capture_output=True)
    subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                    "--nproc_per_node", "2", "-m", "bertedu", "pretrain",
                    "--out", str(tmp_path / "two"), *common],
                   check=True, env=env, capture_output=True)
    one = json.loads((tmp_path / "one" / "history.json").read_text())
    two = json.loads((tmp_path / "two" / "history.json").read_text())
    torch.testing.assert_close(_losses(two), _losses(one), rtol=0, atol=1e-5)
    assert (tmp_path / "two" / "model.safetensors").is_file()
