"""Question-answering parity: short and long contexts (doc-stride windows), top_k,
max_answer_len, handle_impossible_answer, align_to_words, batches."""

import pytest

from tests.pipelines.parity import assert_same, both

CONTEXT = ("The Amazon rainforest covers much of the Amazon basin of South America. This basin "
           "encompasses seven million square kilometres, of which five and a half million are "
           "covered by the rainforest. The majority of the forest is contained within Brazil.")
LONG = " ".join(f"Paragraph {i}: {CONTEXT} Researchers counted {i * 37} species in plot {i}."
                for i in range(12))  # about 700 tokens: several windows of 384
QUESTION = "Which country contains most of the forest?"


@pytest.fixture(scope="module")
def pipes(qa_dir):
    return both("question-answering", qa_dir)


@pytest.mark.parametrize("context", [CONTEXT, LONG], ids=["short", "long"])
@pytest.mark.parametrize("kwargs", [
    {}, {"top_k": 3}, {"max_answer_len": 4, "top_k": 2}, {"handle_impossible_answer": True},
    {"align_to_words": False, "top_k": 2}, {"max_seq_len": 64, "doc_stride": 20, "top_k": 3},
])
def test_answers_match_transformers(pipes, context, kwargs):
    ours, theirs = pipes
    mine = ours(question=QUESTION, context=context, **kwargs)
    assert_same(mine, theirs(question=QUESTION, context=context, **kwargs))
    for answer in mine if isinstance(mine, list) else [mine]:
        assert context[answer["start"]:answer["end"]] == answer["answer"]


def test_long_context_is_cut_into_overlapping_windows(pipes):
    ours = pipes[0]
    features = ours.preprocess({"question": QUESTION, "context": LONG}, max_seq_len=64,
                               doc_stride=20)
    assert len(features) > 10
    assert all(len(f["input_ids"]) <= 64 for f in features)
    first, second = features[0], features[1]
    assert first["offsets"][-20:] == second["offsets"][:20]  # doc_stride tokens shared


def test_batches_and_dict_inputs_match_transformers(pipes):
    ours, theirs = pipes
    questions = [QUESTION, "How large is the basin?", "What covers the basin?"]
    contexts = [CONTEXT, LONG, CONTEXT]
    ours.batch_size = 4
    try:
        assert_same(ours(question=questions, context=contexts, top_k=2),
                    theirs(question=questions, context=contexts, top_k=2, batch_size=4))
    finally:
        ours.batch_size = 1
    item = {"question": QUESTION, "context": CONTEXT}
    assert_same(ours(item), theirs(item))
    assert_same(ours([item, item]), theirs([item, item]))


def test_bad_inputs_are_clear_errors(pipes):
    ours = pipes[0]
    with pytest.raises(ValueError, match="both question= and context="):
        ours(question=QUESTION)
    with pytest.raises(ValueError, match="non-empty context"):
        ours(question=QUESTION, context="  ")
    with pytest.raises(ValueError, match="2 questions for 3 contexts"):
        ours(question=[QUESTION] * 2, context=[CONTEXT] * 3)
    with pytest.raises(ValueError, match="doc_stride.*larger than max_seq_len"):
        ours(question=QUESTION, context=CONTEXT, max_seq_len=32, doc_stride=40)
    with pytest.raises(ValueError, match="no room for the context"):
        ours(question=QUESTION * 10, context=CONTEXT, max_seq_len=32, doc_stride=8)
    with pytest.raises(ValueError, match="empty list"):
        ours([])
