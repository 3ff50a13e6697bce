"""Both tokenizers pickle (DataLoader workers under spawn, ``datasets.map(num_proc=...)``).

The word cache of ``BertTokenizer`` (an ``lru_cache`` around a bound method, which cannot be
pickled) is left out and rebuilt empty; everything else comes back and encodes the same.
"""

import copy
import multiprocessing
import pickle

import pytest
import torch
from torch.utils.data import DataLoader

from bertedu import BertTokenizer, BertTokenizerFast
from tests.tokenization.test_slow import TEXTS, UNCASED_VOCAB, as_lists
from tests.tokenization.workers import Encoded

KINDS = {"fast": BertTokenizerFast, "slow": BertTokenizer}


@pytest.mark.parametrize("kind", list(KINDS))
def test_pickle_round_trip_rebuilds_an_empty_cache(kind):
    tok = KINDS[kind](UNCASED_VOCAB, padding_side="left", word_cache_size=64) if kind == "slow" \
        else KINDS[kind](UNCASED_VOCAB, padding_side="left")
    kwargs = dict(padding=True, truncation=True, max_length=24)
    expected = as_lists(tok(TEXTS[:20], **kwargs))
    assert tok._word_pieces.cache_info().currsize > 0 or kind == "fast"
    for back in (pickle.loads(pickle.dumps(tok)), copy.deepcopy(tok)):
        assert type(back) is type(tok) and back.padding_side == "left"
        assert back._word_pieces.cache_info().currsize == 0
        assert back._word_pieces.cache_info().maxsize == tok._word_pieces.cache_info().maxsize
        assert as_lists(back(TEXTS[:20], **kwargs)) == expected
        assert back.tokenize(TEXTS[3]) == tok.tokenize(TEXTS[3])
        assert back.decode(expected["input_ids"][0]) == tok.decode(expected["input_ids"][0])
        if kind == "slow":
            assert back._word_pieces.cache_info().currsize > 0  # the new cache is used


def test_dataloader_workers_under_spawn():
    """Two spawned workers each unpickle both tokenizers and encode like the originals."""
    toks = [BertTokenizerFast(UNCASED_VOCAB), BertTokenizer(UNCASED_VOCAB)]
    texts = TEXTS[:8]
    loader = DataLoader(Encoded(toks, texts), batch_size=4, num_workers=2,
                        multiprocessing_context=multiprocessing.get_context("spawn"))
    batches = list(loader)
    for k, tok in enumerate(toks):
        got = torch.cat([batch[k] for batch in batches])
        expected = tok(texts, padding="max_length", truncation=True, max_length=16,
                       return_tensors="pt")["input_ids"]
        assert torch.equal(got, expected)


@pytest.mark.parametrize("kind", list(KINDS))
def test_encodings_pickle_with_their_alignment(kind):
    """An output sent between processes keeps tokens and word ids, not the whole vocabulary."""
    tok = KINDS[kind](UNCASED_VOCAB)
    enc = tok(TEXTS[:4], TEXTS[4:8], padding=True)
    blob = pickle.dumps(enc)
    back = pickle.loads(blob)
    assert as_lists(back) == as_lists(enc)
    for r in range(4):
        assert back.tokens(r) == enc.tokens(r) and back.word_ids(r) == enc.word_ids(r)
        assert back.sequence_ids(r) == enc.sequence_ids(r)
    assert len(blob) < 20_000  # the 30,522-token vocabulary alone pickles to 384 kB
