"""The metrics of the four fine-tuning tasks, computed as their official scripts compute them.

Classification (SST-2, CommonsenseQA): accuracy, the F1 of the positive class and Matthews'
correlation coefficient, from the confusion matrix ``C`` (``C[t, p]`` = rows of class ``t``
predicted ``p``), with ``s = sum C``, ``c = trace C``, ``t_k``/``p_k`` the true/predicted counts
of class ``k``:

$$ F_1 = \\frac{2\\,TP}{2\\,TP + FP + FN}, \\qquad
   \\mathrm{MCC} = \\frac{c\\,s - \\sum_k p_k t_k}
   {\\sqrt{(s^2 - \\sum_k p_k^2)(s^2 - \\sum_k t_k^2)}} $$

(0 where a denominator is 0, as scikit-learn does).

Entities (WNUT-17): a prediction counts only if a whole entity, its type and both of its ends, is
right. Tags are read as chunks by the CoNLL-2000 ``conlleval`` rules (seqeval's default mode): a
chunk starts at ``B-`` (or ``S-``), and also at an ``I-`` that follows ``O`` or a tag of another
type; it ends before ``O``, ``B-``, or a change of type. Precision and recall are then taken over
the sets of chunks ``(type, start, end)``, per type and pooled over types (micro average).

SQuAD v1.1: each answer string is normalised (lower case, punctuation removed, the articles
``a``/``an``/``the`` removed, runs of white space collapsed), EM is 1 when the normalised strings
are equal, F1 is the harmonic mean of the token precision and recall of the bag-of-words overlap;
each question takes the best score over its gold answers and the scores are averaged, times 100.
A question without a prediction scores 0.

References:
    Rajpurkar et al., 2016, "SQuAD", section 4 (and the official ``evaluate-v1.1.py``).
    Tjong Kim Sang & Buchholz, 2000, "Introduction to the CoNLL-2000 Shared Task: Chunking"
    (``conlleval``); Nakayama, 2018, seqeval. Matthews, 1975; Chicco & Jurman, 2020, "The
    advantages of the Matthews correlation coefficient".
"""

from __future__ import annotations

import math
import re
import string
import warnings
from collections import Counter
from collections.abc import Mapping, Sequence

__all__ = ["accuracy", "f1", "matthews_corrcoef", "get_entities", "entity_scores",
           "normalize_answer", "squad_scores"]


# --------------------------------------------------------------------- classification
def _check_pair(y_true: Sequence, y_pred: Sequence) -> None:
    if len(y_true) != len(y_pred):
        raise ValueError(f"y_true has {len(y_true)} labels but y_pred has {len(y_pred)}")
    if len(y_true) == 0:
        raise ValueError("no labels to score (empty y_true and y_pred)")


def accuracy(y_true: Sequence[int], y_pred: Sequence[int]) -> float:
    """Fraction of positions where ``y_pred`` equals ``y_true`` (0-1)."""
    _check_pair(y_true, y_pred)
    return sum(int(t == p) for t, p in zip(y_true, y_pred, strict=True)) / len(y_true)


def f1(y_true: Sequence[int], y_pred: Sequence[int], pos_label: int = 1) -> float:
    """Binary F1 of class ``pos_label``: ``2 TP / (2 TP + FP + FN)``."""
    _check_pair(y_true, y_pred)
    pairs = list(zip(y_true, y_pred, strict=True))
    tp = sum(1 for t, p in pairs if t == pos_label and p == pos_label)
    fp = sum(1 for t, p in pairs if t != pos_label and p == pos_label)
    fn = sum(1 for t, p in pairs if t == pos_label and p != pos_label)
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def matthews_corrcoef(y_true: Sequence[int], y_pred: Sequence[int]) -> float:
    """Matthews' correlation for any number of classes (-1 to 1; 0 when undefined)."""
    _check_pair(y_true, y_pred)
    s = len(y_true)
    c = sum(int(t == p) for t, p in zip(y_true, y_pred, strict=True))
    t_k, p_k = Counter(y_true), Counter(y_pred)
    classes = set(t_k) | set(p_k)
    cov_tp = c * s - sum(p_k[k] * t_k[k] for k in classes)
    cov_pp = s * s - sum(v * v for v in p_k.values())
    cov_tt = s * s - sum(v * v for v in t_k.values())
    if cov_pp == 0 or cov_tt == 0:
        return 0.0
    return cov_tp / math.sqrt(cov_pp * cov_tt)


# --------------------------------------------------------------------- entities
def _split_tag(tag: str) -> tuple[str, str]:
    """``"B-person"`` -> ``("B", "person")``; ``"O"`` -> ``("O", "_")``."""
    return tag[:1], tag[1:].split("-", maxsplit=1)[-1] or "_"


def _chunk_ends(prev: str, tag: str, prev_type: str, type_: str) -> bool:
    if prev in {"E", "S"}:
        return True
    if prev in {"B", "I"} and tag in {"B", "S", "O"}:
        return True
    return prev not in {"O", "."} and prev_type != type_


def _chunk_starts(prev: str, tag: str, prev_type: str, type_: str) -> bool:
    if tag in {"B", "S"}:
        return True
    if tag in {"E", "I"} and prev in {"E", "S", "O"}:
        return True
    return tag not in {"O", "."} and prev_type != type_


def get_entities(tags: Sequence[str] | Sequence[Sequence[str]]) -> list[tuple[str, int, int]]:
    """The chunks ``(type, first, last)`` (inclusive positions) of a tag sequence.

    A list of sentences is read as one sequence with an ``O`` after each sentence, so no chunk
    crosses a sentence boundary and positions count the separators, as ``conlleval`` does.
    """
    if tags and not isinstance(tags[0], str):
        tags = [t for sentence in tags for t in [*sentence, "O"]]
    chunks = []
    prev, prev_type, begin = "O", "", 0
    for i, label in enumerate([*tags, "O"]):
        tag, type_ = _split_tag(label)
        if _chunk_ends(prev, tag, prev_type, type_):
            chunks.append((prev_type, begin, i - 1))
        if _chunk_starts(prev, tag, prev_type, type_):
            begin = i
        prev, prev_type = tag, type_
    return chunks


def _prf(tp: int, n_pred: int, n_true: int) -> dict[str, float]:
    precision = tp / n_pred if n_pred else 0.0
    recall = tp / n_true if n_true else 0.0
    score = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": score, "number": n_true}


def entity_scores(
    true_tags: Sequence[Sequence[str]], pred_tags: Sequence[Sequence[str]]
) -> dict[str, dict[str, float]]:
    """Entity-level precision, recall and F1 (0-1), per type and overall (micro average).

    ``true_tags``/``pred_tags``: one list of IOB2 tags per sentence, of equal lengths. Returns
    ``{"overall": {...}, "<type>": {...}}``, each with ``precision, recall, f1`` and ``number``
    (the gold entities of that type), equal to seqeval's default (conlleval) mode.
    """
    if len(true_tags) != len(pred_tags):
        raise ValueError(f"{len(true_tags)} true sentences but {len(pred_tags)} predicted")
    for i, (t, p) in enumerate(zip(true_tags, pred_tags, strict=True)):
        if len(t) != len(p):
            raise ValueError(f"sentence {i}: {len(t)} true tags but {len(p)} predicted tags")
    gold: dict[str, set] = {}
    pred: dict[str, set] = {}
    for found, tags in ((gold, true_tags), (pred, pred_tags)):
        for type_, first, last in get_entities(list(tags)):
            found.setdefault(type_, set()).add((first, last))
    scores: dict[str, dict[str, float]] = {}
    total_tp = 0
    for type_ in sorted(set(gold) | set(pred)):
        g, p = gold.get(type_, set()), pred.get(type_, set())
        tp = len(g & p)
        total_tp += tp
        scores[type_] = _prf(tp, len(p), len(g))
    n_pred = sum(len(v) for v in pred.values())
    n_true = sum(len(v) for v in gold.values())
    return {"overall": _prf(total_tp, n_pred, n_true), **scores}


# --------------------------------------------------------------------- SQuAD
_PUNCTUATION = str.maketrans("", "", string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b")


def normalize_answer(text: str) -> str:
    """SQuAD's answer normalisation: lower case, no punctuation, no articles, single spaces."""
    text = text.lower().translate(_PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def _em_f1(prediction: str, gold: str) -> tuple[float, float]:
    pred_tokens, gold_tokens = prediction.split(), gold.split()
    em = float(prediction == gold)
    overlap = sum((Counter(pred_tokens) & Counter(gold_tokens)).values())
    if overlap == 0:
        return em, 0.0
    precision, recall = overlap / len(pred_tokens), overlap / len(gold_tokens)
    return em, 2 * precision * recall / (precision + recall)


def squad_scores(
    predictions: Mapping[str, str], references: Mapping[str, Sequence[str]]
) -> dict[str, float]:
    """SQuAD v1.1 exact match and F1 (0-100) of ``predictions`` (id -> answer text) against
    ``references`` (id -> gold answer texts).

    Every reference question counts; one without a prediction scores 0 (a warning says how many).
    Predictions for ids absent from ``references`` are ignored, as in the official script.
    """
    if not references:
        raise ValueError("no reference questions to score")
    em_sum = f1_sum = 0.0
    missing = 0
    for qid, golds in references.items():
        if isinstance(golds, str):
            raise TypeError(f"references[{qid!r}] must be a list of answer strings, not a str")
        if qid not in predictions:
            missing += 1
            continue
        prediction = normalize_answer(predictions[qid])
        pairs = [_em_f1(prediction, normalize_answer(g)) for g in golds]
        em_sum += max((em for em, _ in pairs), default=0.0)
        f1_sum += max((f for _, f in pairs), default=0.0)
    if missing:
        warnings.warn(f"{missing} of {len(references)} questions have no prediction; they score 0",
                      stacklevel=2)
    return {"exact_match": 100.0 * em_sum / len(references),
            "f1": 100.0 * f1_sum / len(references)}
