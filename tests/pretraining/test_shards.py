"""Shards: prepare writes what the in-memory path tokenizes; bad folders fail early and clearly."""

import json

import numpy as np
import pytest

from bertedu import BertTokenizerFast, train_wordpiece_vocab
from bertedu.__main__ import main
from bertedu.pretraining.corpus import default_corpus, load_text_corpus, write_corpus
from bertedu.pretraining.nsp import _tokenize_corpus
from bertedu.pretraining.prepare_cli import cli
from bertedu.pretraining.shards import (
    ShardError,
    _dtype_for,
    hub_documents,
    open_shards,
    prepare_shards,
    text_file_documents,
    vocab_hash,
)


@pytest.fixture(scope="module")
def docs():
    return default_corpus()[:40]


@pytest.fixture(scope="module")
def tok(docs, tmp_path_factory):
    path = tmp_path_factory.mktemp("vocab") / "vocab.txt"
    train_wordpiece_vocab([s for d in docs for s in d], vocab_size=400, save_to=str(path))
    return BertTokenizerFast(path)


def test_shards_hold_the_in_memory_tokenization(docs, tok, tmp_path):
    index = prepare_shards(docs, tok, tmp_path / "s", shard_tokens=2000, chunk_documents=7)
    expected = _tokenize_corpus(docs, tok)
    shards = open_shards(tmp_path / "s", tok)
    assert len(shards) == len(expected) == index["documents"]
    assert [shards[i] for i in range(len(shards))] == expected
    assert shards[-1] == expected[-1]
    assert index["tokens"] == sum(len(s) for d in expected for s in d)
    assert index["sentences"] == sum(len(d) for d in expected)
    # several shards, closed at document boundaries, their counts adding up
    assert len(index["shards"]) > 3
    assert sum(s["documents"] for s in index["shards"]) == index["documents"]
    assert index["dtype"] == "uint16" and index["vocab_hash"] == vocab_hash(tok)
    ids = np.memmap(tmp_path / "s" / "shard-00000.ids", dtype=np.uint16, mode="r")
    assert ids.shape[0] == index["shards"][0]["tokens"]
    # the folder carries its vocabulary
    assert vocab_hash(shards.tokenizer()) == vocab_hash(tok)
    assert shards.sentence_counts().tolist() == [len(d) for d in expected]


def test_id_width_follows_the_vocabulary_size():
    assert _dtype_for(65535) == np.uint16
    assert _dtype_for(65536) == np.uint32


def test_text_files_and_a_streamed_dataset_give_the_same_shards(docs, tok, tmp_path):
    corpus = write_corpus(tmp_path / "corpus.txt", docs)
    assert list(text_file_documents(corpus)) == load_text_corpus(corpus)
    streamed = list(hub_documents("text", data_files=str(corpus)))
    assert streamed == load_text_corpus(corpus)
    assert list(hub_documents("text", data_files=str(corpus), max_documents=3)) == streamed[:3]
    a = prepare_shards(text_file_documents(corpus), tok, tmp_path / "a")
    b = prepare_shards(hub_documents("text", data_files=str(corpus)), tok, tmp_path / "b")
    assert a == b
    a_docs, b_docs = open_shards(tmp_path / "a"), open_shards(tmp_path / "b")
    assert [a_docs[i] for i in range(len(a_docs))] == [b_docs[i] for i in range(len(b_docs))]


def test_a_row_can_be_a_document(tmp_path):
    path = tmp_path / "rows.txt"
    path.write_text("One sentence here. Another one there.\nA second row.\n", encoding="utf-8")
    got = list(hub_documents("text", data_files=str(path), doc_per_row=True))
    assert got == [["One sentence here.", "Another one there."], ["A second row."]]
    with pytest.raises(ValueError, match="no field 'body'"):
        list(hub_documents("text", data_files=str(path), text_field="body"))


def test_another_vocabulary_is_refused(docs, tok, tmp_path):
    prepare_shards(docs, tok, tmp_path / "s")
    other = tmp_path / "other.txt"
    train_wordpiece_vocab([s for d in docs[:10] for s in d], vocab_size=200, save_to=str(other))
    with pytest.raises(ShardError, match="another vocabulary"):
        open_shards(tmp_path / "s", BertTokenizerFast(other))


def test_truncated_missing_and_unfinished_shards_are_refused(docs, tok, tmp_path):
    folder = tmp_path / "s"
    prepare_shards(docs, tok, folder)
    ids = folder / "shard-00000.ids"
    data = ids.read_bytes()
    ids.write_bytes(data[:-10])
    with pytest.raises(ShardError, match="truncated"):
        open_shards(folder)
    ids.unlink()
    with pytest.raises(ShardError, match="missing"):
        open_shards(folder)
    ids.write_bytes(data)
    index = json.loads((folder / "index.json").read_text())
    (folder / "index.json").write_text(json.dumps({**index, "version": 99}))
    with pytest.raises(ShardError, match="version 99"):
        open_shards(folder)
    (folder / "index.json").unlink()
    with pytest.raises(ShardError, match="no index.json"):
        open_shards(folder)


def test_prepare_refuses_a_used_folder_and_bad_documents(docs, tok, tmp_path):
    prepare_shards(docs, tok, tmp_path / "s")
    with pytest.raises(ShardError, match="already holds files"):
        prepare_shards(docs, tok, tmp_path / "s")
    index = prepare_shards(docs[:5], tok, tmp_path / "s", overwrite=True)
    assert open_shards(tmp_path / "s").index == index and index["documents"] == 5
    with pytest.raises(TypeError, match="document 0 is not a list of sentence strings"):
        prepare_shards(["a flat string"], tok, tmp_path / "t")
    with pytest.raises(ShardError, match="empty corpus"):
        prepare_shards([[""]], tok, tmp_path / "u")


def test_prepare_command(docs, tok, tmp_path, capsys):
    corpus = write_corpus(tmp_path / "corpus.txt", docs)
    assert main(["prepare", "--out", str(tmp_path / "s"), "--corpus", str(corpus),
                 "--vocab-size", "300", "--no-progress"]) == 0  # python -m bertedu prepare
    shards = open_shards(tmp_path / "s")
    assert len(shards) == len(docs) and shards.index["vocab_size"] <= 300
    assert f"{shards.num_tokens} tokens" in capsys.readouterr().out
    vocab = tmp_path / "vocab.txt"
    tok.save_vocabulary(str(tmp_path))
    assert cli(["--out", str(tmp_path / "h"), "--hub", "text", "--data-files", str(corpus),
                "--vocab", str(vocab), "--no-progress"]) == 0
    assert open_shards(tmp_path / "h", tok).num_tokens == prepare_shards(
        docs, tok, tmp_path / "m")["tokens"]


@pytest.mark.parametrize("argv, message", [
    (["--hub", "wikitext"], "--hub needs --vocab"),
    (["--hub", "text", "--corpus", "x.txt", "--vocab", "v.txt"], "exclude each other"),
    (["--data-files", "x.txt"], "--data-files goes with --hub"),
    (["--corpus", "missing.txt"], "--corpus missing.txt: no such file"),
    (["--shard-tokens", "0"], "--shard-tokens 0"),
])
def test_prepare_command_rejects_bad_arguments(tmp_path, capsys, argv, message):
    with pytest.raises(SystemExit) as exit_:
        cli(["--out", str(tmp_path / "s"), *argv])
    assert exit_.value.code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "s").exists()
