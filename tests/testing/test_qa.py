"""Chapter 15 checkers (answer pieces, doc-stride windows, SQuAD EM/F1): right, wrong, cheating."""

from __future__ import annotations

import re
import string
from collections import Counter

from bertedu.finetuning import metrics
from bertedu.finetuning import question_answering as qa
from bertedu.testing import check_answer_positions, check_doc_stride_windows, check_squad_f1
from bertedu.testing.qa import _stride_windows

from .marks import assert_full_marks, assert_library_call_caught, assert_rejected


# ------------------------------------------------------------------ answer positions
def answer_positions(offsets, sequence_ids, start_char, end_char, check_edges=True, shift=0):
    context = [t for t, s in enumerate(sequence_ids) if s == 1]
    if check_edges and (offsets[context[0]][0] > start_char
                        or offsets[context[-1]][1] < end_char):
        return 0, 0
    start = max((t for t in context if offsets[t][0] <= start_char), default=context[0])
    end = min((t for t in context if offsets[t][1] >= end_char), default=context[-1])
    return start, end + shift


def test_check_answer_positions_grades_right_wrong_and_library_call():
    result = assert_full_marks(check_answer_positions, answer_positions)
    assert {o.group for o in result.outcomes} == {"visible", "edge", "hidden", "library"}
    assert_rejected(check_answer_positions,
                    lambda *a: answer_positions(*a, check_edges=False),
                    r"\[edge\] an answer one piece past the window: .*expected \(0, 0\)")
    assert_rejected(check_answer_positions, lambda *a: answer_positions(*a, shift=1),
                    r"\[visible\] an answer in the middle of the window: answer '.*' "
                    r"\(characters \d+-\d+\) .*expected \(\d+, \d+\), got")
    assert_rejected(check_answer_positions, lambda *a: None, r"expected \(\d+, \d+\), got None")
    assert_library_call_caught(check_answer_positions, lambda *a: qa.answer_positions(*a),
                               "question_answering.answer_positions")


def test_answer_positions_hidden_cases_replay_with_the_seed_and_change_without():
    first = check_answer_positions(answer_positions, seed=5, groups="hidden")
    again = check_answer_positions(answer_positions, seed=5, groups="hidden")
    assert [o.name for o in first.outcomes] == [o.name for o in again.outcomes]
    wrong = check_answer_positions(lambda *a: answer_positions(*a, shift=1), seed=5,
                                   groups="hidden", raise_on_failure=False)
    other = check_answer_positions(lambda *a: answer_positions(*a, shift=1), seed=6,
                                   groups="hidden", raise_on_failure=False)
    assert wrong.failures and wrong.failures != other.failures


# ------------------------------------------------------------------ doc-stride windows
def stride_windows(n_question, n_context, max_length, doc_stride, overlap=True, specials=3):
    room = max_length - n_question - specials
    windows, first = [], 0
    while True:
        windows.append((first, min(first + room, n_context)))
        if first + room >= n_context:
            return windows
        first += room - (doc_stride if overlap else 0)


def test_check_doc_stride_windows_grades_right_wrong_and_library_call():
    assert_full_marks(check_doc_stride_windows, stride_windows)
    assert_rejected(check_doc_stride_windows,
                    lambda *a: stride_windows(*a, overlap=False),
                    r"\[visible\] the figure's windows: .*doc_stride 2: expected windows "
                    r"\[\(0, 4\), \(2, 6\), \(4, 8\), \(6, 10\)\]")
    assert_rejected(check_doc_stride_windows, lambda *a: stride_windows(*a, specials=2),
                    r"expected windows")

    def cheat(n_question, n_context, max_length, doc_stride):
        return _stride_windows(n_question, n_context, max_length, doc_stride)

    assert_library_call_caught(check_doc_stride_windows, cheat, "BertTokenizerFast.__call__")


def test_the_checker_windows_are_the_tokenizers_windows():
    # the overflow module's own picture: 10 context pieces, room for 4, stride 2
    assert _stride_windows(3, 10, 10, 2) == [(0, 4), (2, 6), (4, 8), (6, 10)]
    assert _stride_windows(2, 5, 20, 3) == [(0, 5)]


# ------------------------------------------------------------------ SQuAD EM / F1
def squad_f1(prediction, golds, articles=True, multiset=True, best=max):
    def norm(text):
        text = "".join(c for c in text.lower() if c not in set(string.punctuation))
        if articles:
            text = re.sub(r"\b(a|an|the)\b", " ", text)
        return " ".join(text.split())

    def f1(p, g):
        if multiset:
            common = sum((Counter(p) & Counter(g)).values())
        else:
            common = len(set(p) & set(g))
        if common == 0:
            return 0.0
        precision, recall = common / len(p), common / len(g)
        return 2 * precision * recall / (precision + recall)

    p = norm(prediction)
    return (best(float(p == norm(g)) for g in golds),
            best(f1(p.split(), norm(g).split()) for g in golds))


def test_check_squad_f1_grades_right_wrong_and_library_call():
    assert_full_marks(check_squad_f1, squad_f1)
    assert_rejected(check_squad_f1, lambda p, g: squad_f1(p, g, articles=False),
                    r"\[visible\] articles: prediction 'the Normans' .*expected \(EM, F1\) = "
                    r"\(1.0000, 1.0000\)")
    assert_rejected(check_squad_f1, lambda p, g: squad_f1(p, g, multiset=False),
                    r"\[edge\] repeated words count as often as they occur")
    assert_rejected(check_squad_f1, lambda p, g: squad_f1(p, g, best=min),
                    r"\[visible\] max over gold answers")
    assert_rejected(check_squad_f1, lambda p, g: squad_f1(p, g)[1], r"expected a pair")

    def cheat(prediction, golds):
        s = metrics.squad_scores({"q": prediction}, {"q": golds})
        return s["exact_match"] / 100, s["f1"] / 100

    assert_library_call_caught(check_squad_f1, cheat, "metrics.squad_scores")

    def half_cheat(prediction, golds):  # normalises with the library, scores by hand
        return squad_f1(metrics.normalize_answer(prediction),
                        [metrics.normalize_answer(g) for g in golds])

    assert_library_call_caught(check_squad_f1, half_cheat, "metrics.normalize_answer")
