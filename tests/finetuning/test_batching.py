"""bertedu.finetuning.batching: dynamic padding, length-grouped batches, a pure data order."""

import random

import torch

from bertedu.finetuning.batching import EpochBatches, length_grouped_batches, pad_batch


def _features(n, seed=0):
    rng = random.Random(seed)
    out = []
    for i in range(n):
        length = rng.randint(3, 60)
        out.append({"input_ids": [i + 1] * length, "attention_mask": [1] * length,
                    "token_type_ids": [0] * length, "labels": i % 2})
    return out


def test_pad_batch_pads_to_the_longest_example():
    features = [{"input_ids": [5, 6, 7], "attention_mask": [1, 1, 1], "labels": [1, -100, 2]},
                {"input_ids": [8], "attention_mask": [1], "labels": [0]}]
    batch = pad_batch(features, pad_token_id=9)
    assert batch["input_ids"].tolist() == [[5, 6, 7], [8, 9, 9]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]
    assert batch["labels"].tolist() == [[1, -100, 2], [0, -100, -100]]
    assert pad_batch(features, 0, pad_to_multiple_of=8)["input_ids"].shape == (2, 8)


def test_pad_batch_multiple_choice_is_batch_choices_seq():
    features = [{"input_ids": [[1, 2], [3, 4, 5]], "labels": 1},
                {"input_ids": [[6], [7, 8]], "labels": 0}]
    batch = pad_batch(features)
    assert batch["input_ids"].shape == (2, 2, 3)
    assert batch["input_ids"][1].tolist() == [[6, 0, 0], [7, 8, 0]]
    assert batch["labels"].tolist() == [1, 0]


def test_length_grouped_batches_cover_each_example_once_and_cut_padding():
    features = _features(1000)
    lengths = [len(f["input_ids"]) for f in features]
    batches = length_grouped_batches(lengths, 16, torch.Generator().manual_seed(3))
    flat = sorted(i for b in batches for i in b)
    assert flat == list(range(1000))
    grouped_pad = sum(max(lengths[i] for i in b) * len(b) - sum(lengths[i] for i in b)
                      for b in batches)
    plain = EpochBatches(features, 16, seed=3, group_by_length=False)
    plain_pad = 0
    for k in range(plain.per_epoch):
        idx = plain.indices(k)
        plain_pad += max(lengths[i] for i in idx) * len(idx) - sum(lengths[i] for i in idx)
    assert grouped_pad < plain_pad / 5  # most of the padding is gone


def test_epoch_batches_are_a_function_of_the_step():
    features = _features(100)
    a, b = EpochBatches(features, 8, seed=1), EpochBatches(features, 8, seed=1)
    order = [a.indices(k) for k in range(3 * a.per_epoch)]
    assert [b.indices(k) for k in reversed(range(3 * a.per_epoch))] == order[::-1]
    first, second = order[:a.per_epoch], order[a.per_epoch:2 * a.per_epoch]
    assert sorted(i for x in first for i in x) == sorted(i for x in second for i in x)
    assert first != second  # a fresh order each epoch
    assert EpochBatches(features, 8, seed=2).indices(0) != order[0] or \
        EpochBatches(features, 8, seed=2).indices(1) != order[1]
    torch.testing.assert_close(a(5)["input_ids"], pad_batch([features[i] for i in order[5]])[
        "input_ids"])
