"""bertedu.finetuning.token_classification: word-to-piece label alignment on real WNUT-17 tweets,
predictions mapped back to one tag per word."""

import datasets
import pytest
import torch

from bertedu import BertForTokenClassification
from bertedu.finetuning import token_classification as tc
from bertedu.finetuning.batching import pad_batch
from bertedu.finetuning.data import label_names, load_split


@pytest.fixture(scope="module")
def rows():
    return load_split("wnut_17", "test").select(range(60))


@pytest.fixture(scope="module")
def names():
    return label_names("wnut_17")


def test_alignment_matches_the_reference_word_ids(tokenizer, hf_tokenizer, rows, names):
    features, word_ids = tc.encode(tokenizer, rows, len(names), names)
    for i, row in enumerate(rows):
        ref = hf_tokenizer(row["tokens"], is_split_into_words=True, truncation=True,
                           max_length=128)
        assert features[i]["input_ids"] == ref["input_ids"]
        ref_words = ref.word_ids()
        assert word_ids[i] == ref_words
        labelled = [(p, lab) for p, lab in enumerate(features[i]["labels"]) if lab != -100]
        # one label per word, on the first piece whose reference word id is that word
        firsts = [p for p, w in enumerate(ref_words)
                  if w is not None and (p == 0 or ref_words[p - 1] != w)]
        assert [p for p, _ in labelled] == firsts
        assert [lab for _, lab in labelled] == [row["ner_tags"][ref_words[p]] for p in firsts]


def test_label_all_pieces_turns_b_into_i(tokenizer, names):
    rows = datasets.Dataset.from_dict({"tokens": [["visit", "Blorpwaxtown", "now"]],
                                       "ner_tags": [[0, names.index("B-location"), 0]]})
    (feature,), (word_ids,) = tc.encode(tokenizer, rows, len(names), names,
                                        label_all_pieces=True)
    pieces = [p for p, w in enumerate(word_ids) if w == 1]
    assert len(pieces) > 1  # the city is split into several pieces
    labels = feature["labels"]
    assert labels[pieces[0]] == names.index("B-location")
    assert all(labels[p] == names.index("I-location") for p in pieces[1:])
    assert labels[0] == labels[-1] == -100  # [CLS], [SEP]
    (first_only,), _ = tc.encode(tokenizer, rows, len(names), names)
    assert [first_only["labels"][p] for p in pieces[1:]] == [-100] * (len(pieces) - 1)


def test_predictions_map_back_to_words(tiny_model_dir, tokenizer, rows, names):
    model = BertForTokenClassification.from_pretrained(tiny_model_dir, num_labels=len(names))
    features, word_ids = tc.encode(tokenizer, rows, len(names), names, max_length=12)
    n_words = [len(t) for t in rows["tokens"]]
    pred = tc.predict_words(model, features, word_ids, n_words, batch_size=8)
    assert [len(p) for p in pred] == n_words
    i = max(range(len(rows)), key=lambda j: n_words[j])  # a sentence truncation cut short
    one = pad_batch([{k: v for k, v in features[i].items() if k != "labels"}])
    with torch.no_grad():
        best = model(**one).logits.argmax(-1)[0].tolist()  # (T,)
    expected = [0] * n_words[i]
    for p in reversed(range(len(word_ids[i]))):  # the first piece of each word wins
        if word_ids[i][p] is not None:
            expected[word_ids[i][p]] = best[p]
    assert pred[i] == expected
    assert max(w for w in word_ids[i] if w is not None) < n_words[i] - 1  # words were cut
    scores = tc.evaluate(model, (features, word_ids, list(rows["ner_tags"]), names))
    assert 0 <= scores["f1"] <= 100 and "location_f1" in scores


def test_bad_tags_and_columns(tokenizer, names):
    rows = datasets.Dataset.from_dict({"tokens": [["a", "b"]], "ner_tags": [[0, 13]]})
    with pytest.raises(ValueError, match=r"wnut_17: row 0 has tag 13, outside 0..12"):
        tc.encode(tokenizer, rows, len(names), names)
    with pytest.raises(ValueError, match="wnut_17: the dataset has no column 'ner_tags'"):
        tc.encode(tokenizer, rows.remove_columns("ner_tags"), len(names), names)


def test_tag_words_tags_raw_text_one_tag_per_word(tiny_model_dir, tokenizer, rows, names):
    model = BertForTokenClassification.from_pretrained(
        tiny_model_dir, id2label=dict(enumerate(names)),
        label2id={n: i for i, n in enumerate(names)})
    sentences = [" ".join(rows[0]["tokens"]), rows[1]["tokens"], ["Blorpwaxtown", "\u200b", "x"]]
    tagged = tc.tag_words(model, tokenizer, sentences, max_length=16)
    words = [sentences[0].split(), rows[1]["tokens"], sentences[2]]
    assert [[w for w, _ in s] for s in tagged] == words
    features, word_ids = tc.encode(tokenizer, datasets.Dataset.from_dict(
        {"tokens": words, "ner_tags": [[0] * len(w) for w in words]}), len(names), names,
        max_length=16)
    ids = tc.predict_words(model, features, word_ids, [len(w) for w in words])
    assert [[t for _, t in s] for s in tagged] == [[names[i] for i in s] for s in ids]
    assert tagged[2][1][1] == "O"  # a word with no piece cannot be tagged: id 0
    with pytest.raises(TypeError, match="wrap a single text in a list"):
        tc.tag_words(model, tokenizer, "one tweet")
    with pytest.raises(ValueError, match="sentence 1 has no words"):
        tc.tag_words(model, tokenizer, ["a b", "  "])
