"""Fill-mask parity on MiniLM's encoder with a seeded MLM head, and its bad inputs."""

import pytest

import bertedu
from tests.pipelines.conftest import MINILM
from tests.pipelines.parity import assert_same, both

TEXTS = ["Paris is the [MASK] of France.", "I drank a cup of [MASK] this morning!",
         "The [MASK] sat on the [MASK]."]


@pytest.fixture(scope="module")
def pipes(mlm_dir):
    return both("fill-mask", mlm_dir)


@pytest.mark.parametrize("text", TEXTS)
@pytest.mark.parametrize("top_k", [1, 5])
def test_fill_mask_matches_transformers(pipes, text, top_k):
    ours, theirs = pipes
    assert_same(ours(text, top_k=top_k), theirs(text, top_k=top_k))


def test_targets_restrict_the_choice(pipes):
    ours, theirs = pipes
    targets = ["capital", "city", "heart", "zzqx"]  # the last is not one vocabulary entry
    mine = ours(TEXTS[0], targets=targets)
    assert_same(mine, theirs(TEXTS[0], targets=targets))
    assert len(mine) == 4


def test_batched_list_matches_transformers(pipes):
    ours, theirs = pipes
    ours.batch_size = 2
    try:
        assert_same(ours(TEXTS, top_k=3), theirs(TEXTS, top_k=3, batch_size=2))
        assert_same(ours(TEXTS[:1]), theirs(TEXTS[:1]))  # a list of one: its bare result
    finally:
        ours.batch_size = 1


def test_no_mask_is_a_clear_error(pipes):
    with pytest.raises(ValueError, match=r"\[MASK\].*found none"):
        pipes[0]("There is nothing to fill here.")


def test_two_masks_give_one_list_per_mask(pipes):
    result = pipes[0](TEXTS[2], top_k=2)
    assert len(result) == 2 and all(len(row) == 2 for row in result)
    assert "[MASK]" in result[0][0]["sequence"]  # the other mask stays visible


def test_minilm_has_no_mlm_head_and_is_refused():
    # transformers only logs a warning and fills masks with a random head
    with pytest.raises(ValueError, match=r"no trained 'fill-mask' head.*cls\.predictions"):
        bertedu.pipeline("fill-mask", model=MINILM)


def test_empty_list_is_a_clear_error(pipes):
    with pytest.raises(ValueError, match="empty list"):
        pipes[0]([])
