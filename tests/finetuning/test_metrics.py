"""bertedu.finetuning.metrics against scikit-learn, seqeval and the official SQuAD v1.1 rules."""

import random
import re
import string
from collections import Counter

import pytest
import seqeval.metrics
import sklearn.metrics

from bertedu.finetuning import metrics


# ------------------------------------------------------------------ classification vs sklearn
@pytest.mark.parametrize("seed", range(40))
def test_classification_metrics_equal_sklearn(seed):
    rng = random.Random(seed)
    n = rng.randint(1, 60)
    classes = rng.choice([2, 2, 3, 5])
    skew = rng.random()
    y_true = [rng.randrange(classes) if rng.random() > skew else 0 for _ in range(n)]
    y_pred = [t if rng.random() < 0.6 else rng.randrange(classes) for t in y_true]
    assert metrics.accuracy(y_true, y_pred) == pytest.approx(
        sklearn.metrics.accuracy_score(y_true, y_pred), abs=1e-12)
    assert metrics.matthews_corrcoef(y_true, y_pred) == pytest.approx(
        sklearn.metrics.matthews_corrcoef(y_true, y_pred), abs=1e-12)
    if classes == 2:
        expected = sklearn.metrics.f1_score(y_true, y_pred, zero_division=0)
        assert metrics.f1(y_true, y_pred) == pytest.approx(expected, abs=1e-12)


def test_classification_degenerate_cases():
    assert metrics.matthews_corrcoef([1, 1, 1], [1, 1, 1]) == 0.0  # sklearn: 0, undefined
    assert metrics.f1([0, 0], [0, 0]) == 0.0
    assert metrics.matthews_corrcoef([0, 1, 0, 1], [1, 0, 1, 0]) == pytest.approx(-1.0)
    with pytest.raises(ValueError, match="3 labels but y_pred has 2"):
        metrics.accuracy([0, 1, 1], [0, 1])
    with pytest.raises(ValueError, match="empty"):
        metrics.f1([], [])


# ------------------------------------------------------------------ entities vs seqeval
TYPES = ["person", "location", "corporation", "product"]


def _random_tags(rng: random.Random, n: int) -> list[str]:
    tags = []
    for _ in range(n):
        r = rng.random()
        if r < 0.45:
            tags.append("O")
        else:  # B- and I- of any type in any order: stray I-, type switches, I- after O
            tags.append(rng.choice("BI") + "-" + rng.choice(TYPES))
    return tags


def _perturb(rng: random.Random, tags: list[str]) -> list[str]:
    out = list(tags)
    for i in range(len(out)):
        if rng.random() < 0.25:
            out[i] = rng.choice(["O", "B-" + rng.choice(TYPES), "I-" + rng.choice(TYPES)])
    return out


@pytest.mark.parametrize("seed", range(60))
def test_entity_scores_equal_seqeval(seed):
    rng = random.Random(seed)
    true = [_random_tags(rng, rng.randint(0, 12)) for _ in range(rng.randint(1, 8))]
    pred = [_perturb(rng, s) for s in true]
    ours = metrics.entity_scores(true, pred)
    report = seqeval.metrics.classification_report(true, pred, output_dict=True,
                                                   zero_division=0)
    assert ours["overall"]["precision"] == pytest.approx(
        seqeval.metrics.precision_score(true, pred, zero_division=0), abs=1e-12)
    assert ours["overall"]["recall"] == pytest.approx(
        seqeval.metrics.recall_score(true, pred, zero_division=0), abs=1e-12)
    assert ours["overall"]["f1"] == pytest.approx(
        seqeval.metrics.f1_score(true, pred, zero_division=0), abs=1e-12)
    types = {k for k in report if k not in {"micro avg", "macro avg", "weighted avg"}}
    assert set(ours) - {"overall"} == types
    for type_ in types:
        for key in ("precision", "recall"):
            assert ours[type_][key] == pytest.approx(report[type_][key], abs=1e-12), type_
        assert ours[type_]["f1"] == pytest.approx(report[type_]["f1-score"], abs=1e-12)
        assert ours[type_]["number"] == report[type_]["support"]


def test_get_entities_follows_conlleval():
    from seqeval.metrics.sequence_labeling import get_entities

    tags = ["I-person", "I-person", "B-person", "I-location", "O", "I-product", "B-x", "I-x"]
    assert metrics.get_entities(tags) == [("person", 0, 1), ("person", 2, 2),
                                          ("location", 3, 3), ("product", 5, 5), ("x", 6, 7)]
    assert metrics.get_entities(tags) == get_entities(tags)
    nested = [["B-a", "I-a"], ["I-a", "O"]]
    assert metrics.get_entities(nested) == get_entities(nested) == [("a", 0, 1), ("a", 3, 3)]


def test_entity_scores_rejects_ragged_input():
    with pytest.raises(ValueError, match="sentence 1: 2 true tags but 1 predicted"):
        metrics.entity_scores([["O"], ["O", "O"]], [["O"], ["O"]])


# ------------------------------------------------------------------ SQuAD vs the official rules
# The oracle below restates the published rules of evaluate-v1.1.py step by step: lower-case the
# answer, delete every character of string.punctuation, replace the words a/an/the (regex
# \b(a|an|the)\b) by a space, then join the white-space separated pieces with single spaces.
# Exact match compares two normalised strings; F1 counts the tokens the two normalised strings
# share (multiset intersection), F1 = 2PR/(P+R) with P = shared/len(pred), R = shared/len(gold),
# and 0 when nothing is shared. Each question keeps its best score over the gold answers; an
# unanswered question scores 0; the means are multiplied by 100.
def _oracle_normalise(s):
    s = s.lower()
    s = "".join(ch for ch in s if ch not in set(string.punctuation))
    s = re.sub(r"\b(a|an|the)\b", " ", s)
    return " ".join(s.split())


def _oracle_f1(pred, gold):
    p, g = _oracle_normalise(pred).split(), _oracle_normalise(gold).split()
    shared = Counter(p) & Counter(g)
    n = sum(shared.values())
    if n == 0:
        return 0.0
    precision, recall = n / len(p), n / len(g)
    return 2 * precision * recall / (precision + recall)


def _oracle(predictions, references):
    em = f1 = 0.0
    for qid, golds in references.items():
        if qid not in predictions:
            continue
        em += max(float(_oracle_normalise(predictions[qid]) == _oracle_normalise(g))
                  for g in golds)
        f1 += max(_oracle_f1(predictions[qid], g) for g in golds)
    return {"exact_match": 100 * em / len(references), "f1": 100 * f1 / len(references)}


WORDS = ["the", "The", "a", "An", "an", "theory", "Paris", "paris", "1,000", "café", "Ünïcode",
         "naïve", "a.m.", "U.S.", "—", "«quoted»", "(x)", "don't", "", " ", "  ", "\t", "ann",
         "θ", "日本", "a€b", "thé", "'s", "-", "!!!", "Super Bowl 50", "the the", "anthem"]


def _random_answer(rng: random.Random) -> str:
    return rng.choice(["", " ", "-"]) if rng.random() < 0.1 else " ".join(
        rng.choice(WORDS) for _ in range(rng.randint(1, 6)))


@pytest.mark.parametrize("seed", range(40))
def test_squad_scores_equal_the_official_rules(seed):
    rng = random.Random(seed)
    references, predictions = {}, {}
    for i in range(rng.randint(1, 25)):
        golds = [_random_answer(rng) for _ in range(rng.randint(1, 4))]
        references[f"q{i}"] = golds
        r = rng.random()
        if r < 0.3:
            predictions[f"q{i}"] = rng.choice(golds)  # exact, up to normalisation
        elif r < 0.4:
            predictions[f"q{i}"] = rng.choice(golds).upper() + rng.choice(["", ".", " the"])
        elif r < 0.93:
            predictions[f"q{i}"] = _random_answer(rng)
    predictions["not-a-question"] = "ignored"
    expected = _oracle(predictions, references)
    with_missing = len(predictions) - 1 < len(references)
    with pytest.warns(UserWarning, match="no prediction") if with_missing else _no_warning():
        ours = metrics.squad_scores(predictions, references)
    assert ours["exact_match"] == pytest.approx(expected["exact_match"], abs=1e-9)
    assert ours["f1"] == pytest.approx(expected["f1"], abs=1e-9)


def _no_warning():
    import contextlib

    return contextlib.nullcontext()


def test_squad_known_values():
    refs = {"1": ["Denver Broncos"], "2": ["the Eiffel Tower", "Eiffel"], "3": [""]}
    preds = {"1": "denver broncos!", "2": "Eiffel tower in Paris", "3": ""}
    scores = metrics.squad_scores(preds, refs)
    # q1 EM, q2 best F1 = 2*(2/4)*(2/2)/(1/2+1) = 2/3 vs "Eiffel": 2*(1/4)*1/(5/4) = 0.4,
    # q3 empty == empty: EM 1 but F1 0 (no shared token), as in the official script
    assert scores["exact_match"] == pytest.approx(100 * 2 / 3)
    assert scores["f1"] == pytest.approx(100 * (1 + 2 / 3 + 0) / 3)
    assert metrics.normalize_answer("The  Cat, an apple!") == "cat apple"
    with pytest.raises(TypeError, match="list of answer strings"):
        metrics.squad_scores({"1": "x"}, {"1": "x"})
    with pytest.raises(ValueError, match="no reference"):
        metrics.squad_scores({}, {})
