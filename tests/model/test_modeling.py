"""Models: outputs, losses, initialisation, options and bad inputs."""

import pytest
import torch
import transformers

import bertedu
from bertedu.config import BertConfig
from bertedu.model.modeling import BertForMaskedLM, BertForPreTraining, BertLMHeadModel, BertModel
from bertedu.model.outputs import MaskedLMOutput
from bertedu.model.task_models import (
    BertForMultipleChoice,
    BertForQuestionAnswering,
    BertForSequenceClassification,
    BertForTokenClassification,
)
from tests.model.test_outputs import assert_same_tuple

TINY = dict(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
            intermediate_size=37, max_position_embeddings=64)


def _model(cls, **overrides):
    torch.manual_seed(0)
    return cls(BertConfig(**{**TINY, **overrides})).eval()


def test_output_reads_like_the_reference():
    logits = torch.randn(1, 2, 3)
    out = MaskedLMOutput(logits=logits)
    assert out[0] is logits and out["logits"] is logits and out.logits is logits
    assert out.keys() == ["logits"] and len(out) == 1 and "loss" not in out
    assert out.to_tuple() == (logits,) and list(out) == ["logits"]
    with pytest.raises(KeyError):
        out["loss"]
    loss = torch.tensor(1.0)
    out = MaskedLMOutput(loss=loss, logits=logits)
    assert out[0] is loss and out[1] is logits and out[:2] == (loss, logits)


@pytest.mark.parametrize("cross", [False, True])
def test_return_dict_false_matches_reference_order(cross):
    """BertModel's tuple is (last, pooled, past_key_values, hidden_states, attentions,
    cross_attentions), not its dataclass's field order: compared with transformers' tuple."""
    extra = dict(is_decoder=True, add_cross_attention=cross)
    model = _model(BertModel, **extra)
    ref = transformers.BertModel(transformers.BertConfig(**TINY, **extra,
                                                         attn_implementation="eager")).eval()
    ref.load_state_dict(model.state_dict())
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(0, 99, (2, 5), generator=g)
    kwargs = dict(use_cache=True, output_hidden_states=True, output_attentions=True,
                  return_dict=False)
    if cross:
        kwargs["encoder_hidden_states"] = torch.randn(2, 3, 32, generator=g)
    with torch.no_grad():
        plain, expected = model(ids, **kwargs), ref(ids, **kwargs)
    assert len(plain) == (6 if cross else 5)
    assert_same_tuple(plain, expected)
    out = model(ids, **{**kwargs, "return_dict": True})
    torch.testing.assert_close(plain[0], out.last_hidden_state)


def test_init_like_the_reference():
    model = _model(BertForPreTraining, initializer_range=0.05)
    emb = model.bert.embeddings.word_embeddings.weight
    assert torch.all(emb[0] == 0)  # padding row
    assert abs(emb[1:].std().item() - 0.05) < 0.005
    dense = model.bert.encoder.layer[0].intermediate.dense
    assert abs(dense.weight.std().item() - 0.05) < 0.005 and torch.all(dense.bias == 0)
    ln = model.bert.encoder.layer[1].output.LayerNorm
    assert torch.all(ln.weight == 1) and torch.all(ln.bias == 0)
    assert torch.all(model.cls.predictions.bias == 0)


def test_state_dict_keys_match_reference():
    for kind in ("absolute", "relative_key_query"):
        for name in ("BertForPreTraining", "BertForQuestionAnswering", "BertLMHeadModel"):
            extra = dict(position_embedding_type=kind)
            if name == "BertLMHeadModel":
                extra.update(is_decoder=True, add_cross_attention=True)
            if name == "BertForQuestionAnswering":
                extra["num_labels"] = 2
            ours = _model(getattr(bertedu, name), **extra)
            ref = getattr(transformers, name)(transformers.BertConfig(**TINY, **extra))
            assert set(ours.state_dict()) == set(ref.state_dict()), name


def test_sequence_classification_problem_types():
    model = _model(BertForSequenceClassification, num_labels=3)
    ids = torch.randint(0, 99, (4, 6))
    logits = model(ids).logits
    out = model(ids, labels=torch.tensor([0, 2, 1, 2]))
    torch.testing.assert_close(out.loss, torch.nn.functional.cross_entropy(
        logits, torch.tensor([0, 2, 1, 2])))
    multi = torch.tensor([[1.0, 0, 1], [0, 0, 0], [1, 1, 1], [0, 1, 0]])
    torch.testing.assert_close(model(ids, labels=multi).loss,
                               torch.nn.functional.binary_cross_entropy_with_logits(logits, multi))
    assert model.config.problem_type is None  # inferred per call, config untouched
    regression = _model(BertForSequenceClassification, num_labels=1)
    target = torch.tensor([0.5, -1.0, 2.0, 0.0])
    r_logits = regression(ids).logits
    torch.testing.assert_close(regression(ids, labels=target).loss,
                               torch.nn.functional.mse_loss(r_logits.squeeze(), target))
    forced = _model(BertForSequenceClassification, num_labels=3, problem_type="regression")
    assert forced(ids, labels=torch.randn(4, 3)).loss.ndim == 0


def test_losses_ignore_minus_100():
    model = _model(BertForMaskedLM)
    ids = torch.randint(0, 99, (2, 6))
    labels = torch.full((2, 6), -100)
    labels[0, 2], labels[1, 4] = 7, 8
    out = model(ids, labels=labels)
    picked = torch.stack([out.logits[0, 2], out.logits[1, 4]])
    torch.testing.assert_close(out.loss, torch.nn.functional.cross_entropy(
        picked, torch.tensor([7, 8])))
    tokens = _model(BertForTokenClassification, num_labels=4)
    labels = torch.tensor([[1, -100, 2, 3, -100, 0]])
    out = tokens(ids[:1], labels=labels)
    keep = labels[0] != -100
    torch.testing.assert_close(out.loss, torch.nn.functional.cross_entropy(
        out.logits[0][keep], labels[0][keep]))


def test_causal_lm_loss_is_shifted():
    model = _model(BertLMHeadModel, is_decoder=True)
    ids = torch.randint(0, 99, (2, 6))
    out = model(ids, labels=ids)
    expected = torch.nn.functional.cross_entropy(out.logits[:, :-1].reshape(-1, 99),
                                                 ids[:, 1:].reshape(-1))
    torch.testing.assert_close(out.loss, expected)
    assert out.past_key_values is None  # no cache when training with labels


def test_question_answering_clamps_out_of_range_positions():
    model = _model(BertForQuestionAnswering)
    ids = torch.randint(0, 99, (2, 5))
    out = model(ids, start_positions=torch.tensor([1, 50]), end_positions=torch.tensor([3, 50]))
    ce = torch.nn.functional.cross_entropy
    expected = (ce(out.start_logits[:1], torch.tensor([1]))
                + ce(out.end_logits[:1], torch.tensor([3]))) / 2  # the second is ignored
    torch.testing.assert_close(out.loss, expected)
    with pytest.raises(ValueError, match="num_labels=2"):
        _model(BertForQuestionAnswering, num_labels=3)


def test_multiple_choice_shapes():
    model = _model(BertForMultipleChoice)
    ids = torch.randint(0, 99, (2, 4, 6))
    out = model(ids, attention_mask=torch.ones(2, 4, 6), labels=torch.tensor([3, 0]))
    assert out.logits.shape == (2, 4) and out.loss.ndim == 0


def test_inputs_embeds_path_equals_ids():
    model = _model(BertModel)
    ids = torch.randint(0, 99, (2, 5))
    embeds = model.embeddings.word_embeddings(ids)
    torch.testing.assert_close(model(inputs_embeds=embeds).last_hidden_state,
                               model(ids).last_hidden_state)


def test_head_mask_matches_reference(tmp_path):
    for impl in ("eager", "sdpa"):
        ours = _model(BertModel, attn_implementation=impl)
        ours.save_pretrained(tmp_path)
        ref = transformers.BertModel.from_pretrained(tmp_path, attn_implementation="eager")
        ids = torch.randint(0, 99, (2, 5))
        head_mask = torch.tensor([[1.0, 0.0, 1.0, 1.0], [0.0, 1.0, 1.0, 0.0]])
        with torch.no_grad():
            torch.testing.assert_close(ours(ids, head_mask=head_mask).last_hidden_state,
                                       ref(ids, head_mask=head_mask).last_hidden_state,
                                       rtol=0, atol=1e-5)
    with pytest.raises(ValueError, match="head_mask has shape"):
        ours(ids, head_mask=torch.ones(3))


def test_gradient_checkpointing_training_step():
    model = _model(BertForMaskedLM, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    ids = torch.randint(0, 99, (2, 6))
    model.train()
    model(ids, labels=ids).loss.backward()
    plain = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    model.gradient_checkpointing_enable()
    model(ids, labels=ids).loss.backward()
    for a, p in zip(plain, model.parameters(), strict=True):
        torch.testing.assert_close(a, p.grad)


@pytest.mark.parametrize("kwargs, message", [
    ({"input_ids": torch.zeros(1, 65, dtype=torch.long)}, "max_position_embeddings"),
    ({"input_ids": torch.tensor([[5, 99]])}, "vocab_size=99"),
    ({"input_ids": torch.ones(2, 4, dtype=torch.long), "attention_mask": torch.ones(2, 5)},
     r"attention_mask has shape \(2, 5\); expected \(batch, 4\)"),
    ({"input_ids": torch.ones(2, 4, dtype=torch.long), "attention_mask": torch.ones(2, 4, 3)},
     r"expected \(batch, 4, 4\)"),
    ({"input_ids": torch.ones(2, 4, dtype=torch.long), "token_type_ids": torch.full((2, 4), 2)},
     "token_type_ids must be in"),
    ({}, "exactly one of input_ids and inputs_embeds"),
])
def test_bad_inputs(kwargs, message):
    with pytest.raises(ValueError, match=message):
        _model(BertModel)(**kwargs)


def test_cross_attention_errors():
    with pytest.raises(ValueError, match="no cross-attention"):
        _model(BertModel)(torch.ones(1, 3, dtype=torch.long),
                          encoder_hidden_states=torch.randn(1, 4, 32))
    decoder = _model(BertModel, is_decoder=True, add_cross_attention=True)
    with pytest.raises(ValueError, match="encoder_attention_mask has shape"):
        decoder(torch.ones(1, 3, dtype=torch.long), encoder_hidden_states=torch.randn(1, 4, 32),
                encoder_attention_mask=torch.ones(1, 5))
    with pytest.raises(TypeError, match="bertedu BertConfig"):
        BertModel(transformers.BertConfig(**TINY))


def test_generate_cache_and_limits():
    model = _model(BertLMHeadModel, is_decoder=True)
    prompt = torch.randint(1, 99, (2, 3))
    out = model.generate(prompt, max_new_tokens=5)
    assert out.shape == (2, 8) and torch.equal(out[:, :3], prompt)
    g = torch.Generator().manual_seed(0)
    sampled = model.generate(prompt, max_new_tokens=5, do_sample=True, temperature=0.7,
                             top_k=5, generator=g)
    assert sampled.shape == (2, 8)
    with pytest.raises(ValueError, match="exceed max_position_embeddings"):
        model.generate(prompt, max_new_tokens=62)
    with pytest.raises(ValueError, match="temperature"):
        model.generate(prompt, do_sample=True, temperature=0)
