"""Token-classification parity for every aggregation strategy (8 BIO labels, random head)."""

import pytest

from tests.pipelines.parity import assert_same, both

TEXTS = [
    "Hugging Face Inc. is a company based in New York City; Wolfgang lives in Berlin.",
    "Mr. Zyxwvut met Ms. Qwertyuiop at the Übermensch café ☃ in São Paulo!!",
    "unbelievably longwinded tokenisation of antidisestablishmentarianism",
]
STRATEGIES = ["none", "simple", "first", "average", "max"]


@pytest.fixture(scope="module")
def pipes(ner_dir):
    return both("token-classification", ner_dir)


@pytest.mark.parametrize("text", TEXTS)
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_entities_match_transformers(pipes, text, strategy):
    ours, theirs = pipes
    mine = ours(text, aggregation_strategy=strategy)
    assert mine, "the random head should predict some entities"
    assert_same(mine, theirs(text, aggregation_strategy=strategy))


@pytest.mark.parametrize("strategy", ["none", "first"])
def test_ignore_labels_and_batches_match_transformers(pipes, strategy):
    ours, theirs = pipes
    ours.batch_size = 2
    try:
        kwargs = {"aggregation_strategy": strategy, "ignore_labels": []}
        assert_same(ours(TEXTS, **kwargs), theirs(TEXTS, batch_size=2, **kwargs))
    finally:
        ours.batch_size = 1


def test_spans_point_into_the_text(pipes):
    # the word is decoded from the pieces (lower case, spacing normalised); the span is exact
    entities = pipes[0](TEXTS[0], aggregation_strategy="first", ignore_labels=[])
    joined = "".join(TEXTS[0][e["start"]:e["end"]] for e in entities)
    assert joined.replace(" ", "") == TEXTS[0].replace(" ", "")
    for entity in entities:
        span = TEXTS[0][entity["start"]:entity["end"]]
        assert span.lower().replace(" ", "") == entity["word"].replace(" ", "")


def test_unknown_strategy_is_a_clear_error(pipes):
    with pytest.raises(ValueError, match="aggregation_strategy must be one of"):
        pipes[0](TEXTS[0], aggregation_strategy="mean")
