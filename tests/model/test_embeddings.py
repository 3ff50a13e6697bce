"""BertEmbeddings against the reference, and its input checks."""

import pytest
import torch
import transformers
from transformers.models.bert import modeling_bert as ref

from bertedu.config import BertConfig
from bertedu.model.embeddings import BertEmbeddings

TINY = dict(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
            intermediate_size=37, max_position_embeddings=64, type_vocab_size=2)


def _pair(position_embedding_type="absolute"):
    torch.manual_seed(0)
    ours = BertEmbeddings(BertConfig(**TINY, position_embedding_type=position_embedding_type))
    theirs = ref.BertEmbeddings(
        transformers.BertConfig(**TINY, position_embedding_type=position_embedding_type)
    )
    with torch.no_grad():  # random LayerNorm too, so a swapped parameter would show
        for p in ours.parameters():
            p.normal_()
    theirs.load_state_dict(ours.state_dict())
    return ours.eval(), theirs.eval()


@pytest.mark.parametrize("kind", ["absolute", "relative_key", "relative_key_query"])
def test_matches_reference(kind):
    ours, theirs = _pair(kind)
    ids = torch.randint(0, 99, (3, 7))
    types = torch.randint(0, 2, (3, 7))
    torch.testing.assert_close(ours(ids, types), theirs(ids, types), rtol=0, atol=1e-5)
    torch.testing.assert_close(ours(ids), theirs(ids), rtol=0, atol=1e-5)
    pos = torch.randint(0, 64, (3, 7))
    torch.testing.assert_close(ours(ids, types, pos), theirs(ids, types, pos), rtol=0, atol=1e-5)
    embeds = torch.randn(3, 7, 32)
    torch.testing.assert_close(ours(inputs_embeds=embeds), theirs(inputs_embeds=embeds),
                               rtol=0, atol=1e-5)
    torch.testing.assert_close(ours(ids, past_key_values_length=5),
                               theirs(ids, past_key_values_length=5), rtol=0, atol=1e-5)


def test_position_table_only_for_absolute():
    ours, _ = _pair("relative_key")
    ids = torch.randint(0, 99, (1, 5))
    before = ours(ids)
    with torch.no_grad():
        ours.position_embeddings.weight.add_(torch.randn(64, 32))
    torch.testing.assert_close(ours(ids), before)  # relative: table unused
    ours, _ = _pair("absolute")
    before = ours(ids)
    with torch.no_grad():
        ours.position_embeddings.weight[1].add_(torch.randn(32))
    assert not torch.allclose(ours(ids)[0, 1], before[0, 1])


def test_buffers_not_saved():
    ours, _ = _pair()
    assert "position_ids" not in ours.state_dict() and "token_type_ids" not in ours.state_dict()


@pytest.mark.parametrize("kwargs, message", [
    ({"input_ids": torch.zeros(1, 65, dtype=torch.long)}, "max_position_embeddings is 64"),
    ({"input_ids": torch.zeros(1, 10, dtype=torch.long), "past_key_values_length": 60},
     "after 60 cached"),
    ({"input_ids": torch.tensor([[1, 99]])}, r"input_ids must be in \[0, vocab_size=99\)"),
    ({"input_ids": torch.tensor([[-1, 2]])}, "input_ids must be in"),
    ({"input_ids": torch.tensor([[1, 2]]), "token_type_ids": torch.tensor([[0, 2]])},
     "token_type_ids must be in"),
    ({"input_ids": torch.tensor([[1, 2]]), "position_ids": torch.tensor([[0, 64]])},
     "position_ids must be in"),
    ({}, "exactly one of input_ids and inputs_embeds"),
    ({"input_ids": torch.tensor([[1]]), "inputs_embeds": torch.zeros(1, 1, 32)}, "exactly one"),
    ({"input_ids": torch.tensor([1, 2])}, r"shape \(batch, seq_len\)"),
    ({"inputs_embeds": torch.zeros(1, 2, 16)}, "inputs_embeds must have shape"),
])
def test_bad_inputs(kwargs, message):
    ours, _ = _pair()
    with pytest.raises(ValueError, match=message):
        ours(**kwargs)
