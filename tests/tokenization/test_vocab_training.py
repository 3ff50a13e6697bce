"""WordPiece vocabulary training is a function of the corpus: the same vocabulary, in the same id
order, on every call and in every process."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bertedu.pretraining.corpus import default_corpus
from bertedu.tokenization.fast import BertTokenizerFast, train_wordpiece_vocab

REPO = Path(__file__).resolve().parents[2]

_CHILD = """
import sys
from bertedu.pretraining.corpus import default_corpus
from bertedu.tokenization.fast import train_wordpiece_vocab
docs = default_corpus()[: int(sys.argv[1])]
vocab = train_wordpiece_vocab([s for d in docs for s in d], vocab_size=int(sys.argv[2]))
sys.stdout.write("\\n".join(vocab))
"""


@pytest.fixture(scope="module")
def sentences():
    return [s for d in default_corpus()[:120] for s in d]


@pytest.mark.parametrize("n_sentences, vocab_size", [(40, 300), (None, 2000)])
def test_same_vocabulary_on_every_call(sentences, n_sentences, vocab_size):
    corpus = sentences[:n_sentences]
    first = train_wordpiece_vocab(corpus, vocab_size=vocab_size)
    for _ in range(3):
        assert train_wordpiece_vocab(corpus, vocab_size=vocab_size) == first
    assert len(first) == len(set(first)) and len(first) <= vocab_size
    assert sum(t.startswith("##") for t in first) > 10


def test_same_vocabulary_in_processes_with_different_hash_seeds():
    outputs = []
    for seed in ("1", "2", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(REPO)}
        done = subprocess.run([sys.executable, "-c", _CHILD, "200", "1500"], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout.split("\n"))
    assert outputs[0] == outputs[1] == outputs[2]
    assert 1000 < len(outputs[0]) <= 1500


def test_deterministic_vocabulary_still_covers_the_corpus(sentences, tmp_path):
    vocab = train_wordpiece_vocab(sentences, vocab_size=1500, save_to=tmp_path)
    assert vocab[:5] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tok = BertTokenizerFast(tmp_path / "vocab.txt")
    ids = [i for ids in tok(sentences, add_special_tokens=False)["input_ids"] for i in ids]
    assert ids.count(tok.unk_token_id) == 0
    words = sum(len(s.split()) for s in sentences)
    assert len(ids) < 2.0 * words  # merges were learned: far fewer pieces than characters
    assert not (tmp_path / "vocab.txt.tmp").exists()


def test_non_utf8_training_file_is_named(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes("caf\xe9 au lait\n".encode("latin-1"))
    with pytest.raises(ValueError, match=r"latin1\.txt.*not UTF-8"):
        train_wordpiece_vocab(path, vocab_size=100)


def test_documents_are_not_texts():
    docs = [["A first sentence.", "A second one."], ["Another document."]]
    with pytest.raises(TypeError, match=r"item 0 is a list .*for s in doc"):
        train_wordpiece_vocab(docs, vocab_size=100)
