"""Chapter 14 checker: word labels aligned to word pieces, right, wrong and cheating."""

from __future__ import annotations

from bertedu.testing import check_label_alignment
from bertedu.testing.alignment import WNUT_LABELS, toy_tokenizer

from .marks import assert_full_marks, assert_library_call_caught, assert_rejected


def align(word_ids, word_labels, label_all_pieces=False, b_to_i=None, b_to_i_on=True,
          specials=-100, first=True):
    """A hand-written alignment; the keywords after ``b_to_i`` plant the usual mistakes."""
    labels = []
    for t, word in enumerate(word_ids):
        previous = word_ids[t - 1] if t else None
        following = word_ids[t + 1] if t + 1 < len(word_ids) else None
        if word is None:
            labels.append(specials)
        elif (word != previous) if first else (word != following):
            labels.append(word_labels[word])
        elif label_all_pieces:
            label = word_labels[word]
            labels.append(b_to_i.get(label, label) if b_to_i_on and b_to_i else label)
        else:
            labels.append(-100)
    return labels


def by_word_index(word_ids, word_labels, label_all_pieces=False, b_to_i=None):
    """Reads the word list instead of word_ids: wrong once a word has no piece or is cut."""
    labels, w = [], -1
    for t, word in enumerate(word_ids):
        if word is None:
            labels.append(-100)
        elif t and word == word_ids[t - 1]:
            labels.append((b_to_i or {}).get(word_labels[w], word_labels[w])
                          if label_all_pieces else -100)
        else:
            w += 1
            labels.append(word_labels[w])
    return labels


def test_toy_tokenizer_splits_words_into_many_pieces_unk_and_none():
    tok = toy_tokenizer()
    enc = tok(["zqxj", "😀", "\u200b", "paul"], is_split_into_words=True)
    pieces = tok.convert_ids_to_tokens(enc["input_ids"])
    assert pieces == ["[CLS]", "z", "##q", "##x", "##j", "[UNK]", "paul", "[SEP]"]
    assert enc.word_ids() == [None, 0, 0, 0, 0, 1, 3, None]  # word 2 has no piece
    assert len(WNUT_LABELS) == 13


def test_check_label_alignment_grades_right_wrong_and_library_call():
    result = assert_full_marks(check_label_alignment, align)
    assert result.total == 11  # 2 visible, 5 edge, 3 hidden, 1 library
    assert_rejected(check_label_alignment,
                    lambda w, y, a, b: align(w, y, a, b, first=False),
                    r"(?s)\[visible\] a tweet: first piece labelled.*first difference at piece")
    assert_rejected(check_label_alignment,
                    lambda w, y, a, b: align(w, y, a, b, b_to_i_on=False),
                    r"(?s)\[visible\] the same tweet, every piece labelled.*label_all_pieces=True")
    assert_rejected(check_label_alignment, lambda w, y, a, b: align(w, y, a, b, specials=0),
                    r"\[visible\] a tweet")
    assert_rejected(check_label_alignment, lambda w, y, a, b: align(w, y, True, b),
                    r"label_all_pieces=False")
    wrong = check_label_alignment(by_word_index, raise_on_failure=False, seed=3)
    failed = {o.name for o in wrong.outcomes if not o.passed}
    assert "words with no pieces at all (zero-width space, NUL)" in failed
    assert "a tweet: first piece labelled, the rest -100" not in failed
    assert_rejected(check_label_alignment, lambda w, y, a, b: [lab for lab in y],
                    r"expected one label per piece")
    assert_rejected(check_label_alignment, lambda w, y, a, b: None, r"got no \(None\)")


def test_check_label_alignment_catches_the_library_call():
    from bertedu.finetuning import token_classification as tc

    assert_library_call_caught(check_label_alignment, lambda w, y, a, b: tc.align_labels(
        w, y, a, b), "token_classification.align_labels")
    assert_library_call_caught(check_label_alignment, tc.align_labels,
                               "token_classification.align_labels")


def test_hidden_cases_change_with_the_seed_and_replay_with_it():
    def inputs(seed):
        seen = []

        def spy(word_ids, word_labels, label_all_pieces, b_to_i):
            seen.append((tuple(word_ids), tuple(word_labels), label_all_pieces))
            return align(word_ids, word_labels, label_all_pieces, b_to_i)

        check_label_alignment(spy, seed=seed, groups="hidden")
        return seen

    first = inputs(1)
    assert len(first) == 24 and inputs(1) == first and inputs(2) != first
    assert {mode for _, _, mode in first} == {False, True}
