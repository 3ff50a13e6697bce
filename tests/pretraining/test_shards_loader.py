"""The shard loader: in-memory examples from shards, disjoint ranks, worker-count determinism,
exact resume, little padding, and 2 gloo ranks equal to 1 process fed their union."""

import json
import os
from collections import Counter

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from bertedu import BertConfig, BertForPreTraining, BertTokenizerFast, train_wordpiece_vocab
from bertedu.pretraining import NspDataset, PretrainingArguments
from bertedu.pretraining.cli import cli as pretrain_cli
from bertedu.pretraining.corpus import default_corpus
from bertedu.pretraining.loader import (
    ShardNspStream,
    _Documents,
    make_loader,
    nsp_dataset_from_shards,
    padding_fraction,
    pretrain_from_shards,
)
from bertedu.pretraining.objective import pretraining_losses
from bertedu.pretraining.shards import open_shards, prepare_shards
from bertedu.training import train

CONFIG = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
              max_position_embeddings=64, hidden_dropout_prob=0.0,
              attention_probs_dropout_prob=0.0)


def _make(folder):
    docs = default_corpus()[:60]
    vocab = os.path.join(folder, "vocab.txt")
    if not os.path.exists(vocab):
        train_wordpiece_vocab([s for d in docs for s in d], vocab_size=400, save_to=vocab)
    tok = BertTokenizerFast(vocab)
    if not os.path.exists(os.path.join(folder, "shards", "index.json")):
        prepare_shards(docs, tok, os.path.join(folder, "shards"), shard_tokens=3000)
    return docs, tok, open_shards(os.path.join(folder, "shards"), tok)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return _make(str(tmp_path_factory.mktemp("loader")))


def _same(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_shards_rebuild_the_in_memory_dataset_exactly(data):
    docs, tok, shards = data
    expected = NspDataset.from_corpus(docs, tok, max_seq_length=48, dupe_factor=2, seed=3)
    got = nsp_dataset_from_shards(shards, tok, max_seq_length=48, dupe_factor=2, seed=3)
    assert len(got) == len(expected)
    assert [i.input_ids for i in got.instances] == [i.input_ids for i in expected.instances]
    assert [i.next_sentence_label for i in got.instances] == [
        i.next_sentence_label for i in expected.instances]
    subset = nsp_dataset_from_shards(shards, tok, [1, 5, 9], max_seq_length=48, seed=1)
    direct = NspDataset.from_corpus([docs[1], docs[5], docs[9]], tok, max_seq_length=48, seed=1)
    assert [i.input_ids for i in subset.instances] == [i.input_ids for i in direct.instances]


def test_ranks_read_disjoint_units_that_together_are_one_process(data):
    _, tok, shards = data
    one = ShardNspStream(shards, tok, 4, max_seq_length=48, seed=1)
    ranks = [ShardNspStream(shards, tok, 4, max_seq_length=48, seed=1, rank=r, world_size=3)
             for r in range(3)]
    for p in range(2):
        parts = [set(r.units(p)) for r in ranks]
        assert not parts[0] & parts[1] and not parts[0] & parts[2] and not parts[1] & parts[2]
        assert sorted(parts[0] | parts[1] | parts[2]) == sorted(one.units(p))
    assert one.units(0) != one.units(1)  # every pass visits the documents in a new order
    # a unit's pairs do not depend on the rank that builds them
    docs = _Documents(shards)
    d = ranks[2].units(0)[0]

    def pairs(s):
        return [(i.input_ids, i.next_sentence_label) for i in s.unit_pairs(docs, 0, d)]

    assert pairs(ranks[2]) == pairs(one)
    # and pass 0 of the three ranks is pass 0 of one process, as a multiset of pairs
    def flat(s):
        return Counter(tuple(i.input_ids) for u in s.units(0) for i in s.unit_pairs(docs, 0, u))

    assert flat(ranks[0]) + flat(ranks[1]) + flat(ranks[2]) == flat(one)


def test_pairs_are_valid_and_balanced(data):
    _, tok, shards = data
    stream = iter(ShardNspStream(shards, tok, 16, max_seq_length=48, seed=0))
    batches = [next(stream) for _ in range(40)]
    labels = torch.cat([b["next_sentence_label"] for b in batches])
    assert 0.4 < labels.float().mean() < 0.6  # IsNext / NotNext is a fair coin
    for b in batches:
        assert b["input_ids"].shape[1] <= 48 and b["input_ids"].shape[0] == 16
        assert (b["labels"][b["attention_mask"] == 0] == -100).all()
        assert (b["input_ids"][:, 0] == tok.cls_token_id).all()
    picked = sum(int((b["labels"] != -100).sum()) for b in batches)
    real = sum(int(b["attention_mask"].sum()) for b in batches)
    assert 0.10 < picked / real < 0.16  # 15% of the non-special tokens


def test_buckets_cut_the_padding(data):
    _, tok, shards = data

    def padding(bucket):
        it = iter(ShardNspStream(shards, tok, 8, max_seq_length=256, bucket=bucket, window=16))
        return sum(padding_fraction(next(it)) for _ in range(32)) / 32

    plain, bucketed = padding(False), padding(True)
    assert bucketed < plain / 2, (plain, bucketed)


def test_batches_do_not_depend_on_the_number_of_workers_and_resume_exactly(data):
    _, tok, shards = data

    def batches(workers, start=0, n=6):
        stream = ShardNspStream(shards.folder, tok, 4, max_seq_length=48, seed=2, window=3,
                                start_batch=start)
        it = iter(make_loader(stream, num_workers=workers, prefetch_factor=2))
        return [next(it) for _ in range(n)]

    reference = batches(0, n=8)
    assert all(_same(a, b) for a, b in zip(batches(2), reference[:6], strict=True))
    assert all(_same(a, b) for a, b in zip(batches(0, start=5, n=3), reference[5:], strict=True))
    assert not _same(reference[0], reference[1])


def test_bad_stream_arguments_are_refused(data):
    _, tok, shards = data
    with pytest.raises(ValueError, match="rank 2 is not in"):
        ShardNspStream(shards, tok, 4, rank=2, world_size=2)
    with pytest.raises(ValueError, match="too few for next-sentence prediction"):
        ShardNspStream(shards, tok, 4, documents=[0])


def _args(out=None, **kw):
    return PretrainingArguments(steps=4, batch_size=8, grad_accum=2, lr=1e-3, warmup=1, seed=0,
                                progress=False, output_dir=out, **kw)


def _model(tok):
    torch.manual_seed(0)
    return BertForPreTraining(BertConfig(vocab_size=len(tok), **CONFIG))


def _losses(history):
    return torch.tensor([[r["loss"], r["mlm_loss"], r["nsp_loss"]] for r in history])


def test_pretraining_from_shards_resumes_exactly(data, tmp_path):
    _, tok, shards = data
    whole = pretrain_from_shards(_model(tok), tok, shards, _args(), max_seq_length=48)
    assert whole[-1]["loss"] < whole[0]["loss"]
    first = pretrain_from_shards(_model(tok), tok, shards, _args(str(tmp_path), stop_after=2),
                                 max_seq_length=48)
    resumed = pretrain_from_shards(_model(tok), tok, shards, _args(), max_seq_length=48,
                                   resume_from=tmp_path / "checkpoints" / "step-000002.pt")
    assert len(first) == 2
    torch.testing.assert_close(_losses(resumed), _losses(whole), rtol=0, atol=0)


def _worker(rank, world, init_file, folder, result_file):
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank,
                            world_size=world)
    torch.set_num_threads(1)
    try:
        _, tok, shards = _make(folder)
        history = pretrain_from_shards(_model(tok), tok, shards, _args(), max_seq_length=48)
        if rank == 0:
            with open(result_file, "w") as f:
                json.dump(history, f)
    finally:
        dist.destroy_process_group()


def _union_run(tok, shards):
    """One process fed, at micro-batch k, the rows that ranks 0 and 1 stream at k."""
    streams = [iter(ShardNspStream(shards, tok, 4, max_seq_length=48, seed=0, rank=r,
                                   world_size=2)) for r in range(2)]

    def micro_batch(k):
        parts = [next(s) for s in streams]
        T = max(p["input_ids"].shape[1] for p in parts)
        pad = {"input_ids": tok.pad_token_id, "labels": -100}
        return {key: torch.cat([torch.nn.functional.pad(p[key], (0, T - p[key].shape[1]),
                                                        value=pad.get(key, 0))
                                if p[key].dim() == 2 else p[key] for p in parts])
                for key in parts[0]}

    def loss_fn(model, batch):
        loss, mlm, nsp, _, _ = pretraining_losses(model, batch)
        return loss, {"mlm_loss": mlm, "nsp_loss": nsp}

    return train(_model(tok), _args(), micro_batch, loss_fn)


def test_two_ranks_on_shards_train_on_the_union_of_their_batches(data, tmp_path):
    _, tok, shards = data
    folder = str(shards.folder.parent)
    result = tmp_path / "two.json"
    mp.spawn(_worker, args=(2, str(tmp_path / "init"), folder, str(result)), nprocs=2,
             join=True)
    two = json.loads(result.read_text())
    torch.testing.assert_close(_losses(two), _losses(_union_run(tok, shards)), rtol=0,
                               atol=1e-5)


def test_pretrain_command_with_data(data, tmp_path, capsys):
    _, _, shards = data
    config = tmp_path / "config.json"
    config.write_text(json.dumps(CONFIG))
    common = ["--config", str(config), "--steps", "2", "--batch-size", "4", "--seq-len", "48",
              "--no-progress", "--num-workers", "0"]
    assert pretrain_cli(["--data", str(shards.folder), "--out", str(tmp_path / "run"),
                         *common]) == 0
    history = json.loads((tmp_path / "run" / "history.json").read_text())
    assert len(history) == 2 and "eval_mlm_accuracy" in history[-1]
    assert (tmp_path / "run" / "vocab.txt").read_text() == (
        shards.folder / "vocab.txt").read_text()
    for argv, message in ((["--data", str(tmp_path)], "not a shard folder"),
                          (["--data", str(shards.folder), "--corpus", str(config)],
                           "--data and --corpus exclude each other")):
        with pytest.raises(SystemExit):
            pretrain_cli([*argv, "--out", str(tmp_path / "x"), *common])
        assert message in capsys.readouterr().err
