"""Output dataclasses and the model surface around them, against transformers' behaviour.

Field order matters: ``out[1]``, ``out.to_tuple()`` and ``return_dict=False`` read the fields by
position, so code that unpacks a transformers output unpacks a bertedu one only when every class
lists its fields in the reference's order. The helpers here also compare whole tuple outputs,
nested tuples and caches included, element by element (used by the parity suites).
"""

import dataclasses
import warnings

import pytest
import torch
import transformers
import transformers.modeling_outputs as ref_outputs
from transformers.models.bert import modeling_bert as ref_bert

import bertedu
from bertedu.model import outputs

TINY = dict(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
            intermediate_size=37, max_position_embeddings=64, hidden_dropout_prob=0.0,
            attention_probs_dropout_prob=0.0)
HEADS = ["BertModel", "BertForPreTraining", "BertLMHeadModel", "BertForMaskedLM",
         "BertForNextSentencePrediction", "BertForSequenceClassification",
         "BertForMultipleChoice", "BertForTokenClassification", "BertForQuestionAnswering"]
OUTPUT_CLASSES = sorted(outputs.ModelOutput.__subclasses__(), key=lambda c: c.__name__)


def plain(value):
    """A tuple output with transformers' cache objects turned into nested tuples of tensors."""
    if hasattr(value, "to_legacy_cache"):  # transformers' Cache -> L x (k, v[, ck, cv])
        value = value.to_legacy_cache()
        return tuple(tuple(t for t in layer if t is not None) for layer in value)
    if isinstance(value, tuple | list):
        return tuple(plain(v) for v in value)
    return value


def assert_same_tuple(ours, ref, atol=1e-5, where="output"):
    """Two (nested) tuples of tensors with the same structure and values, position by position."""
    ours, ref = plain(ours), plain(ref)
    if isinstance(ref, tuple):
        assert isinstance(ours, tuple), f"{where}: expected a tuple, got {type(ours).__name__}"
        assert len(ours) == len(ref), f"{where}: {len(ours)} entries, the reference has {len(ref)}"
        for i, (a, b) in enumerate(zip(ours, ref, strict=True)):
            assert_same_tuple(a, b, atol, f"{where}[{i}]")
    else:
        assert isinstance(ours, torch.Tensor), f"{where}: expected a tensor, got {type(ours)}"
        assert ours.shape == ref.shape, f"{where}: shape {tuple(ours.shape)} != {tuple(ref.shape)}"
        torch.testing.assert_close(ours, ref, rtol=0, atol=atol, msg=where)


def _reference_class(cls):
    return getattr(ref_outputs, cls.__name__, None) or getattr(ref_bert, cls.__name__)


def _pair(name, **overrides):
    """A bertedu model and a transformers model of the same class with the same weights."""
    torch.manual_seed(0)
    config = {**TINY, **overrides}
    ours = getattr(bertedu, name)(bertedu.BertConfig(**config)).eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = getattr(transformers, name)(
            transformers.BertConfig(**config, attn_implementation="eager")).eval()
    ref.load_state_dict(ours.state_dict())
    return ours, ref


def test_every_output_class_is_public_and_covered():
    names = {c.__name__ for c in OUTPUT_CLASSES}
    assert names <= set(bertedu.__all__)
    assert {n for n in bertedu.__all__ if "Output" in n} == names
    assert len(names) == 9


@pytest.mark.parametrize("cls", OUTPUT_CLASSES, ids=lambda c: c.__name__)
def test_field_order_is_the_references(cls):
    ref = _reference_class(cls)
    assert [f.name for f in dataclasses.fields(cls)] == [f.name for f in dataclasses.fields(ref)]


@pytest.mark.parametrize("cls", OUTPUT_CLASSES, ids=lambda c: c.__name__)
def test_tuple_and_index_views_skip_unset_fields_like_the_reference(cls):
    ref_cls = _reference_class(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    g = torch.Generator().manual_seed(len(names))
    for keep in range(1, 1 << len(names)):
        # every subset of fields set, each to its own tensor (the first field must be set in
        # the reference for its index view to be defined, so those subsets only)
        if not keep & 1:
            continue
        values = {n: torch.randn(2, generator=g) for i, n in enumerate(names) if keep >> i & 1}
        ours, ref = cls(**values), ref_cls(**values)
        assert ours.keys() == list(ref.keys())
        assert ours.to_tuple() == ref.to_tuple()
        assert all(ours[i] is ref[i] for i in range(len(values)))
        assert all(ours[n] is ref[n] for n in values)


@pytest.mark.parametrize("name", HEADS)
def test_each_model_returns_the_references_output_class(name):
    extra = {"is_decoder": True} if name == "BertLMHeadModel" else {}
    ours, ref = _pair(name, **extra)
    shape = (2, 2, 5) if name == "BertForMultipleChoice" else (2, 5)
    ids = torch.randint(1, 99, shape, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        got, expected = ours(ids), ref(ids)
    assert type(got).__name__ == type(expected).__name__
    assert got.keys() == list(expected.keys())


# ------------------------------------------------------------- embeddings: tying and replacing
@pytest.mark.parametrize("tie", [True, False])
@pytest.mark.parametrize("name", ["BertForPreTraining", "BertForMaskedLM", "BertLMHeadModel"])
def test_tie_weights_after_a_new_input_embedding(name, tie):
    extra = {"is_decoder": True} if name == "BertLMHeadModel" else {}
    for model in _pair(name, tie_word_embeddings=tie, **extra):
        assert (model.get_output_embeddings().weight is model.get_input_embeddings().weight) == tie
        new = torch.nn.Embedding(99, 32, padding_idx=0)
        model.bert.set_input_embeddings(new)
        assert model.get_input_embeddings() is new
        model.tie_weights()
        decoder = model.get_output_embeddings()
        assert (decoder.weight is new.weight) == tie, type(model).__module__
        assert decoder.bias is model.cls.predictions.bias  # the bias is shared in both libraries


@pytest.mark.parametrize("name", ["BertModel", "BertForMaskedLM", "BertForSequenceClassification"])
def test_set_input_embeddings_is_used_by_the_forward(name):
    results = []
    for model in _pair(name):
        new = torch.nn.Embedding(99, 32, padding_idx=0)
        torch.nn.init.normal_(new.weight, generator=torch.Generator().manual_seed(3))
        model.set_input_embeddings(new)
        assert model.get_input_embeddings() is new
        ids = torch.randint(1, 99, (2, 5), generator=torch.Generator().manual_seed(1))
        with torch.no_grad():
            results.append(model(ids, return_dict=False))
    assert_same_tuple(*results)


def test_gradient_checkpointing_enable_then_disable():
    """Enabled, each layer runs again in the backward pass; disabled, once; gradients agree."""
    counts, grads = {}, {}
    ids = torch.randint(1, 99, (2, 6), generator=torch.Generator().manual_seed(1))
    for model in _pair("BertForMaskedLM"):
        lib = type(model).__module__.split(".")[0]
        model.train()
        calls = []
        model.bert.encoder.layer[0].register_forward_pre_hook(
            lambda *a, calls=calls: calls.append(1))
        for mode in ("enable", "disable"):
            getattr(model, f"gradient_checkpointing_{mode}")()
            calls.clear()
            model.zero_grad()
            model(ids, labels=ids).loss.backward()
            counts[lib, mode] = len(calls)
            grads[lib, mode] = [p.grad.clone() for p in model.parameters()]
    assert counts == {("transformers", "enable"): 2, ("transformers", "disable"): 1,
                      ("bertedu", "enable"): 2, ("bertedu", "disable"): 1}
    for key in grads:
        assert_same_tuple(tuple(grads[key]), tuple(grads["transformers", "disable"]),
                          where=str(key))
