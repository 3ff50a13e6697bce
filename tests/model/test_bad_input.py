"""Inputs that are not tensors (a tokenizer's lists, its whole output) fail at the door of every
model with what to do, not with an AttributeError deep inside."""

import pytest
import torch

import bertedu
from bertedu import BertConfig, BertTokenizerFast

TINY = dict(vocab_size=99, hidden_size=32, num_hidden_layers=1, num_attention_heads=4,
            intermediate_size=37, max_position_embeddings=64)
MODELS = ["BertModel", "BertForPreTraining", "BertForMaskedLM", "BertLMHeadModel",
          "BertForNextSentencePrediction", "BertForSequenceClassification",
          "BertForMultipleChoice", "BertForTokenClassification", "BertForQuestionAnswering"]


@pytest.fixture(scope="module")
def tok(tmp_path_factory):
    path = tmp_path_factory.mktemp("vocab") / "vocab.txt"
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "sat", "a", "dog"]
    path.write_text("\n".join(words) + "\n", encoding="utf-8")
    return BertTokenizerFast(path)


def _model(name):
    torch.manual_seed(0)
    return getattr(bertedu, name)(BertConfig(**TINY, is_decoder=name == "BertLMHeadModel")).eval()


@pytest.mark.parametrize("name", MODELS)
def test_lists_and_batch_encodings_name_the_fix(name, tok):
    model = _model(name)
    batch = tok(["the cat sat", "a dog"], padding=True)  # lists: no return_tensors
    with pytest.raises(TypeError, match=r"input_ids must be a torch.Tensor, got a list; pass "
                                        r"return_tensors='pt'"):
        model(**batch)
    with pytest.raises(TypeError, match=r"input_ids must be a torch.Tensor, got a list"):
        model([5, 6, 7])
    with pytest.raises(TypeError, match=r"got a BatchEncoding; unpack it: model\(\*\*batch\)"):
        model(tok(["the cat sat"], return_tensors="pt"))
    ids = tok(["the cat sat"], return_tensors="pt")["input_ids"]
    if name == "BertForMultipleChoice":
        ids = ids[:, None]  # (B, C, T)
    with pytest.raises(TypeError, match="attention_mask must be a torch.Tensor, got a list"):
        model(ids, attention_mask=[[1] * ids.shape[-1]])
    with pytest.raises(TypeError, match="labels must be a torch.Tensor, got a list"):
        model(input_ids=ids, labels=[0])
    with torch.no_grad():
        out = model(input_ids=ids)  # tensors still work
    assert out is not None


def test_generate_refuses_a_list_of_ids():
    from bertedu import BertLMHeadModel

    model = BertLMHeadModel(BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1,
                                       num_attention_heads=2, intermediate_size=32,
                                       is_decoder=True))
    with pytest.raises(TypeError, match="generate: input_ids must be a .* got a list; pass "
                                        "return_tensors='pt'"):
        model.generate([[1, 2, 3]], max_new_tokens=2)
