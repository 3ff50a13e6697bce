"""Checkers for chapter 15 (extractive question answering): answer pieces, windows, EM and F1.

* ``check_answer_positions``: the gold answer's characters ``[start_char, end_char)`` become the
  indices of its first and last piece in one window, read from the window's ``offset_mapping``
  and ``sequence_ids``; a window that does not hold the whole answer points both at ``[CLS]``
  (index 0), as in the released ``run_squad.py``.
* ``check_doc_stride_windows``: which context pieces each overflowing window holds. With
  ``L = max_length - len(question) - 3`` context pieces a window and a stride ``s``, window ``k``
  starts at ``k (L - s)``; the last one ends at the context's end.
* ``check_squad_f1``: the official SQuAD v1.1 score of one prediction against its gold answers:
  normalise (lower case, ASCII punctuation removed, the articles a/an/the removed, white space
  collapsed), exact match, and the bag-of-words F1 ``2 P R / (P + R)``; each the best over the
  gold answers.

Cases are built from real text (accents, CJK, punctuation) with a small word-piece splitter, so
the checkers need no checkpoint; a failed case names its input and shows both answers.

References:
    Devlin et al., 2019, "BERT", section 4.2; Rajpurkar et al., 2016, "SQuAD", section 4 and the
    official ``evaluate-v1.1.py``.
"""

from __future__ import annotations

import functools
import random

from .result import Case, case_rng, checker

_WORDS = ("the Normans were people who in 10th and 11th centuries gave their name to Normandy "
          "region France Zürich café naïve 東京 Beyoncé Super Bowl 50 Denver Broncos defeated "
          "Carolina Panthers 24–10 earn third title Levi's Stadium San Francisco Bay Area "
          "Santa Clara California a an photosynthesis chloroplasts well-known U.S. $1.5 billion "
          "«quoted» it's").split()


def _pieces(text: str, rng: random.Random) -> list[tuple[int, int]]:
    """Character spans of word pieces: words split at white space, punctuation alone, long
    words cut into chunks of 2-5 characters (like ``##`` continuations)."""
    spans, i = [], 0
    while i < len(text):
        if text[i].isspace():
            i += 1
            continue
        if not text[i].isalnum():
            spans.append((i, i + 1))
            i += 1
            continue
        j = i
        while j < len(text) and text[j].isalnum():
            j += 1
        while i < j:
            step = min(j - i, rng.randint(2, 5))
            spans.append((i, i + step))
            i += step
    return spans


def _window(question_pieces, context_pieces, first: int, count: int):
    """offsets and sequence_ids of ``[CLS] question [SEP] context[first:first+count] [SEP]``."""
    c = context_pieces[first:first + count]
    offsets = [(0, 0)] + question_pieces + [(0, 0)] + c + [(0, 0)]
    sequence_ids = [None] + [0] * len(question_pieces) + [None] + [1] * len(c) + [None]
    return offsets, sequence_ids, c


def _text(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(n))


@checker("bertedu.finetuning.question_answering.answer_positions",
         "bertedu.finetuning.question_answering.encode")
def check_answer_positions(seed: int) -> list[Case]:
    """Check ``student_fn(offsets, sequence_ids, start_char, end_char) -> (start, end)``.

    ``offsets`` is one window's ``offset_mapping`` (a ``(start, end)`` character span of the
    context per piece; question pieces point into the question and special pieces are
    ``(0, 0)``), ``sequence_ids`` its ``sequence_ids()`` (``None`` for special pieces, 0 for the
    question, 1 for the context) and ``[start_char, end_char)`` the gold answer's characters in
    the context. The answer is the first and last piece holding those characters; ``(0, 0)``
    (``[CLS]``) when the window does not hold all of them.
    """
    from bertedu.finetuning.question_answering import answer_positions

    def case(name, group, index, words, first, count, pick):
        def body(call):
            rng = random.Random(index)
            context = _text(rng, words)
            all_pieces = _pieces(context, rng)
            offsets, sequence_ids, ctx = _window(_pieces(_text(rng, 4) + "?", rng), all_pieces,
                                                 first, count)
            start_char, end_char = pick(all_pieces, ctx, rng)
            expected = answer_positions(offsets, sequence_ids, start_char, end_char)
            got = call(list(offsets), list(sequence_ids), start_char, end_char)
            got = tuple(int(x) for x in got) if isinstance(got, (tuple, list)) else got
            answer = context[start_char:end_char]
            if got != expected:
                raise AssertionError(
                    f"answer {answer!r} (characters {start_char}-{end_char}) in a window of "
                    f"context characters {ctx[0][0]}-{ctx[-1][1]}: expected {expected}, got {got}")
        return Case(name, group, body)

    def inside(all_pieces, ctx, rng, a=2, b=3):  # pieces a .. a+b of the window
        return ctx[a][0], ctx[a + b][1]

    def mid_piece(all_pieces, ctx, rng):  # starts and ends inside a piece
        s, e = ctx[3], ctx[5]
        return (s[0] + 1 if s[1] - s[0] > 1 else s[0]), (e[1] - 1 if e[1] - e[0] > 1 else e[1])

    def first_piece(all_pieces, ctx, rng):
        return ctx[0][0], ctx[1][1]

    def last_piece(all_pieces, ctx, rng):
        return ctx[-2][0], ctx[-1][1]

    def one_piece(all_pieces, ctx, rng):
        return ctx[4][0], ctx[4][1]

    def before_window(all_pieces, ctx, rng):  # begins one piece before the window
        k = all_pieces.index(ctx[0])
        return all_pieces[k - 1][0], ctx[1][1]

    def after_window(all_pieces, ctx, rng):  # ends one piece after the window
        k = all_pieces.index(ctx[-1])
        return ctx[-2][0], all_pieces[k + 1][1]

    def elsewhere(all_pieces, ctx, rng):  # wholly in another window
        return all_pieces[1][0], all_pieces[2][1]

    def random_span(all_pieces, ctx, rng):
        a = rng.randrange(len(all_pieces))
        b = min(len(all_pieces) - 1, a + rng.randint(0, 6))
        return all_pieces[a][0], all_pieces[b][1]

    cases = [case("an answer in the middle of the window", "visible", 0, 40, 0, 30, inside),
             case("an answer in a later window", "visible", 1, 60, 20, 30, inside),
             case("an answer elsewhere in the context", "visible", 2, 60, 20, 30, elsewhere),
             case("an answer on the window's first pieces", "edge", 3, 60, 20, 30, first_piece),
             case("an answer on the window's last pieces", "edge", 4, 60, 20, 30, last_piece),
             case("an answer one piece before the window", "edge", 5, 60, 20, 30,
                  before_window),
             case("an answer one piece past the window", "edge", 6, 60, 20, 30, after_window),
             case("an answer of one piece", "edge", 7, 30, 0, 40, one_piece),
             case("an answer that starts and ends inside pieces", "edge", 8, 40, 5, 25,
                  mid_piece)]
    for i in range(6):
        rng = case_rng(seed, i)
        words = rng.randint(15, 80)
        cases.append(case(f"random window {i}", "hidden", seed + i, words, rng.randint(0, 10),
                          rng.randint(8, 40), random_span))
    return cases


@functools.cache
def _tiny_tokenizer():
    """A fast tokenizer whose words w0 .. w999 are one piece each (the checker's windows)."""
    import tempfile
    from pathlib import Path

    from bertedu.tokenization import BertTokenizerFast

    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + [f"w{i}" for i in range(1000)]
    folder = Path(tempfile.mkdtemp(prefix="bertedu_qa_checker_"))
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n")
    return BertTokenizerFast(str(folder / "vocab.txt"))


def _stride_windows(n_question: int, n_context: int, max_length: int, stride: int):
    """The tokenizer's windows: per window, the (first, last + 1) context piece it holds."""
    tokenizer = _tiny_tokenizer()
    question = " ".join(f"w{i}" for i in range(n_question))
    context = " ".join(f"w{i}" for i in range(n_context))
    enc = tokenizer(question, context, truncation="only_second", max_length=max_length,
                    stride=stride, return_overflowing_tokens=True)
    windows = []
    for w in range(len(enc["input_ids"])):
        ids = [tid for tid, s in zip(enc["input_ids"][w], enc.sequence_ids(w), strict=True)
               if s == 1]
        first = int(tokenizer.convert_ids_to_tokens(ids[0])[1:])
        windows.append((first, first + len(ids)))
    return windows


@checker("bertedu.tokenization.fast.BertTokenizerFast.__call__",
         "bertedu.finetuning.question_answering.encode_windows")
def check_doc_stride_windows(seed: int) -> list[Case]:
    """Check ``student_fn(n_question, n_context, max_length, doc_stride) -> [(first, end), ...]``.

    A question of ``n_question`` pieces and a context of ``n_context`` pieces are encoded as
    ``[CLS] question [SEP] window [SEP]`` rows of at most ``max_length`` pieces whose windows
    overlap by ``doc_stride`` pieces. The student lists, per row, the context pieces it holds as
    ``(first, end)`` (``end`` excluded), as the fast tokenizer's ``return_overflowing_tokens``
    with ``stride`` makes them.
    """

    def case(name, group, n_question, n_context, max_length, stride):
        def body(call):
            expected = _stride_windows(n_question, n_context, max_length, stride)
            got = call(n_question, n_context, max_length, stride)
            got = [tuple(int(x) for x in w) for w in got] if isinstance(got, (list, tuple)) \
                else got
            if got != expected:
                raise AssertionError(
                    f"question {n_question} pieces, context {n_context}, max_length "
                    f"{max_length}, doc_stride {stride}: expected windows {expected}, got {got}")
        return Case(name, group, body)

    cases = [case("the figure's windows", "visible", 3, 10, 10, 2),
             case("BERT's 384 / 128 on a 600-piece context", "visible", 12, 600, 384, 128),
             case("a context that fits in one window", "edge", 5, 20, 64, 16),
             case("a context that exactly fills one window", "edge", 5, 56, 64, 16),
             case("one piece more than a window", "edge", 5, 57, 64, 16),
             case("stride 0: windows that do not overlap", "edge", 2, 23, 12, 0),
             case("a context of one piece", "edge", 4, 1, 16, 4)]
    for i in range(4):
        rng = case_rng(seed, i)
        max_length = rng.randint(12, 60)
        n_question = rng.randint(1, max_length - 6)
        budget = max_length - n_question - 3
        cases.append(case(f"random lengths {i}", "hidden", n_question, rng.randint(1, 150),
                          max_length, rng.randint(0, budget - 1)))
    return cases


_GOLD = {
    "lower case and punctuation": ("Denver Broncos!", ["denver broncos", "The Broncos"]),
    "articles": ("the Normans", ["Normans", "a Norman"]),
    "partial overlap": ("Santa Clara, California", ["Levi's Stadium in Santa Clara"]),
    "max over gold answers": ("third title", ["their third Super Bowl title", "third"]),
}
_EDGE = {
    "an empty prediction": ("", ["Carolina Panthers"]),
    "unicode letters": ("Zürich CAFÉ", ["zürich café", "Zurich"]),
    "non-ASCII punctuation stays": ("«quoted» 24–10", ["quoted 24-10"]),
    "a gold answer that is only an article": ("The", ["the", "an apple"]),
    "articles inside words stay": ("theory and another", ["theory another"]),
    "repeated words count as often as they occur": ("the the U.S. U.S. U.S.", ["U.S. army U.S."]),
    "tabs, newlines and runs of spaces": ("  Super\tBowl\n\n50 ", ["Super Bowl 50"]),
}


def _perturb(rng: random.Random, words: list[str]) -> str:
    """A prediction near a gold answer: shifted ends, case, punctuation, articles."""
    a = rng.randint(0, max(0, len(words) - 1))
    b = rng.randint(a, len(words))
    out = words[max(0, a - rng.randint(0, 2)):b] + [rng.choice(_WORDS)] * rng.randint(0, 2)
    out = [w.upper() if rng.random() < 0.2 else w for w in out]
    text = " ".join(out)
    if rng.random() < 0.3:
        text = rng.choice(["The ", "a ", "", "  "]) + text + rng.choice([".", "!", ",", "  "])
    return text


@checker("bertedu.finetuning.metrics.squad_scores", "bertedu.finetuning.metrics.normalize_answer",
         "bertedu.finetuning.metrics._em_f1")
def check_squad_f1(seed: int) -> list[Case]:
    """Check ``student_fn(prediction, gold_answers) -> (exact_match, f1)``, each in [0, 1].

    ``prediction`` is one answer string and ``gold_answers`` the list of its gold answers; both are
    normalised as the official SQuAD v1.1 script does, exact match is 1 when the normalised
    strings are equal, F1 is the harmonic mean of the precision and recall of the shared tokens
    (counted with multiplicity; 0 when none is shared), and each is the maximum over the golds.
    """
    from bertedu.finetuning.metrics import squad_scores

    def case(name, group, prediction, golds):
        def body(call):
            scores = squad_scores({"q": prediction}, {"q": list(golds)})
            expected = (scores["exact_match"] / 100, scores["f1"] / 100)
            got = call(prediction, list(golds))
            if not (isinstance(got, (tuple, list)) and len(got) == 2):
                raise AssertionError(f"expected a pair (exact_match, f1), got {got!r}")
            if any(abs(float(g) - e) > 1e-9 for g, e in zip(got, expected, strict=True)):
                raise AssertionError(
                    f"prediction {prediction!r} against {list(golds)!r}: expected "
                    f"(EM, F1) = ({expected[0]:.4f}, {expected[1]:.4f}), got "
                    f"({float(got[0]):.4f}, {float(got[1]):.4f})")
        return Case(name, group, body)

    cases = [case(name, "visible", p, g) for name, (p, g) in _GOLD.items()]
    cases += [case(name, "edge", p, g) for name, (p, g) in _EDGE.items()]
    for i in range(6):
        rng = case_rng(seed, i)
        golds = [_text(rng, rng.randint(1, 6)) for _ in range(rng.randint(1, 3))]
        prediction = _perturb(rng, rng.choice(golds).split())
        cases.append(case(f"random answers {i}", "hidden", prediction, golds))
    return cases
