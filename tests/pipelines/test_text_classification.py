"""Text-classification parity (2 and 3 labels, every score function and top_k form)."""

import pytest

import bertedu
from tests.pipelines.conftest import MINILM
from tests.pipelines.parity import assert_same, both

TEXTS = ["A wonderful, heartfelt film.", "Dull and far too long.", "It was fine, I guess?"]
PAIR = {"text": "A man plays a guitar.", "text_pair": "Someone makes music."}


@pytest.fixture(scope="module")
def pipes(cls_dir):
    return both("text-classification", cls_dir)


@pytest.mark.parametrize("kwargs", [{}, {"top_k": 1}, {"top_k": 2}, {"top_k": None},
                                    {"function_to_apply": "sigmoid"},
                                    {"function_to_apply": "none", "top_k": None}])
def test_single_text_matches_transformers(pipes, kwargs):
    ours, theirs = pipes
    assert_same(ours(TEXTS[0], **kwargs), theirs(TEXTS[0], **kwargs))


@pytest.mark.parametrize("kwargs", [{}, {"top_k": None}])
def test_batch_and_pair_match_transformers(pipes, kwargs):
    ours, theirs = pipes
    assert_same(ours(TEXTS, **kwargs), theirs(TEXTS, **kwargs))
    assert_same(ours(PAIR, **kwargs), theirs(PAIR, **kwargs))
    assert_same(ours([PAIR, PAIR], **kwargs), theirs([PAIR, PAIR], **kwargs))


def test_batch_size_does_not_change_results(cls_dir):
    one = bertedu.pipeline("text-classification", model=cls_dir)
    three = bertedu.pipeline("text-classification", model=cls_dir, batch_size=3)
    assert_same(three(TEXTS, top_k=None), one(TEXTS, top_k=None))


@pytest.mark.parametrize("problem_type, labels, expected", [
    ("multi_label_classification", 3, "sigmoid"), (None, 1, "sigmoid"),
    ("regression", 1, "none"), (None, 3, "softmax")])
def test_default_score_function_follows_the_problem(tmp_path, problem_type, labels, expected):
    config = bertedu.BertConfig(vocab_size=30522, hidden_size=8, num_hidden_layers=1,
                                num_attention_heads=2, intermediate_size=8,
                                num_labels=labels, problem_type=problem_type)
    model = bertedu.BertForSequenceClassification(config)
    pipe = bertedu.pipeline("text-classification", model=model, tokenizer=MINILM)
    assert pipe.default_function() == expected


def test_bad_arguments_are_clear_errors(pipes):
    ours = pipes[0]
    with pytest.raises(ValueError, match="function_to_apply must be one of"):
        ours(TEXTS[0], function_to_apply="relu")
    with pytest.raises(ValueError, match="text_pair"):
        ours({"text": "a", "pair": "b"})
    with pytest.raises(ValueError, match="empty list"):
        ours([])
