"""Parity with transformers through checkpoints: every head x position type x attention kind.

Each test builds a transformers model with random weights, saves it, loads it into bertedu with
``from_pretrained`` and compares every output (logits, loss, hidden states, attentions) in float32
to 1e-5. Then bertedu saves it back and transformers must load that with no missing or unexpected
keys and give the same outputs again.

The tests run on the CPU; ``BERTEDU_TEST_DEVICE=cuda`` runs the same comparisons on a GPU (float32
with TF32 off, so the tolerance stays 1e-5).
"""

import os
import warnings

import pytest
import torch
import transformers

import bertedu as bm
from tests.model.test_outputs import assert_same_tuple

ATOL = 1e-5
KINDS = ["absolute", "relative_key", "relative_key_query"]
IMPLS = ["eager", "sdpa"]
HEADS = ["BertModel", "BertForPreTraining", "BertLMHeadModel", "BertForMaskedLM",
         "BertForNextSentencePrediction", "BertForSequenceClassification",
         "BertForMultipleChoice", "BertForTokenClassification", "BertForQuestionAnswering"]
TINY = dict(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
            intermediate_size=37, max_position_embeddings=64, type_vocab_size=2, num_labels=3)
B, T = 3, 7
DEVICE = torch.device(os.environ.get("BERTEDU_TEST_DEVICE", "cpu"))
if DEVICE.type == "cuda":
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False


def _dev(obj):
    """Tensors, and the tensors inside dicts and tuples, moved to DEVICE."""
    if isinstance(obj, dict):
        return {k: _dev(v) for k, v in obj.items()}
    if isinstance(obj, tuple):
        return tuple(_dev(v) for v in obj)
    return obj.to(DEVICE)


def _ref_model(name, **overrides):
    torch.manual_seed(0)
    config = transformers.BertConfig(**{**TINY, **overrides}, attn_implementation="eager")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = getattr(transformers, name)(config)
    with torch.no_grad():  # random everything (LayerNorms and biases too)
        for p in model.parameters():
            p.normal_(0, 0.2)
    return model.to(DEVICE).eval()


def _load_ours(name, path, impl):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a full checkpoint loads without any report
        return getattr(bm, name).from_pretrained(path, attn_implementation=impl).to(DEVICE)


def _inputs(name):
    g = torch.Generator().manual_seed(1)
    shape = (B, 2, T) if name == "BertForMultipleChoice" else (B, T)
    mask = torch.ones(shape, dtype=torch.long)
    mask[1, ..., 5:] = 0  # right padding
    mask[2, ..., 3:] = 0
    inputs = dict(input_ids=torch.randint(1, 99, shape, generator=g), attention_mask=mask,
                  token_type_ids=torch.randint(0, 2, shape, generator=g))
    labels = {
        "BertForPreTraining": dict(labels=torch.where(torch.rand(B, T, generator=g) < 0.4,
                                                      torch.randint(0, 99, (B, T), generator=g),
                                                      -100),
                                   next_sentence_label=torch.tensor([0, 1, 1])),
        "BertLMHeadModel": dict(labels=inputs["input_ids"].masked_fill(mask == 0, -100)),
        "BertForMaskedLM": dict(labels=torch.tensor([[-100, 5, -100, 7, -100, -100, 9]] * B)),
        "BertForNextSentencePrediction": dict(labels=torch.tensor([1, 0, 1])),
        "BertForSequenceClassification": dict(labels=torch.tensor([2, 0, 1])),
        "BertForMultipleChoice": dict(labels=torch.tensor([1, 0, 1])),
        "BertForTokenClassification": dict(labels=torch.randint(0, 3, (B, T), generator=g)
                                           .index_fill(1, torch.tensor([0, 6]), -100)),
        "BertForQuestionAnswering": dict(start_positions=torch.tensor([1, 9, 0]),
                                         end_positions=torch.tensor([3, 4, 20])),
    }
    return _dev(inputs), _dev(labels.get(name, {}))


# transformers 4.57 gives every query the last position in the relative term whenever its cache
# is active (`position_ids_l = key_length - 1`), which is wrong for a multi-token input; its
# decoders are therefore run without a cache when they serve as the full-forward reference.
_NO_REF_CACHE = {"BertLMHeadModel": {"use_cache": False}}


def _assert_same(ours, ref, names):
    for key in names:
        a, b = getattr(ours, key), getattr(ref, key)
        if isinstance(b, tuple):
            assert len(a) == len(b), key
            for x, y in zip(a, b, strict=True):
                torch.testing.assert_close(x, y, rtol=0, atol=ATOL, msg=key)
        else:
            torch.testing.assert_close(a, b, rtol=0, atol=ATOL, msg=key)


def _field_names(name):
    return {"BertModel": ["last_hidden_state", "pooler_output"],
            "BertForPreTraining": ["loss", "prediction_logits", "seq_relationship_logits"],
            "BertForQuestionAnswering": ["loss", "start_logits", "end_logits"]}.get(
                name, ["loss", "logits"])


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", HEADS)
def test_head_parity_both_ways(name, kind, impl, tmp_path):
    overrides = {"position_embedding_type": kind}
    if name == "BertLMHeadModel":
        overrides["is_decoder"] = True
    if name == "BertForQuestionAnswering":
        overrides["num_labels"] = 2  # start and end
    ref = _ref_model(name, **overrides)
    ref.save_pretrained(tmp_path / "ref")
    ours = _load_ours(name, tmp_path / "ref", impl)
    assert ours.config.attn_implementation == impl and not ours.training
    inputs, labels = _inputs(name)
    fields = [f for f in _field_names(name) if f != "loss" or labels]
    with torch.no_grad():
        # fast path (no probabilities requested), hidden states of every layer, losses
        expected = ref(**inputs, **labels, output_hidden_states=True)
        got = ours(**inputs, **labels, output_hidden_states=True)
        _assert_same(got, expected, fields + ["hidden_states"])
        # attention probabilities
        expected = ref(**inputs, output_attentions=True, **_NO_REF_CACHE.get(name, {}))
        got = ours(**inputs, output_attentions=True)
        _assert_same(got, expected, ["attentions"])
        # tuple outputs: the reference's tuple, entry by entry in its order, with and without
        # labels and with every optional output requested
        every = dict(output_hidden_states=True, output_attentions=True, return_dict=False,
                     **_NO_REF_CACHE.get(name, {}))
        for extra in ({}, labels):
            assert_same_tuple(ours(**inputs, **extra, **every), ref(**inputs, **extra, **every),
                              atol=ATOL, where=f"{name} tuple")

    # and back: bertedu's checkpoint loads into transformers unchanged
    ours.save_pretrained(tmp_path / "ours")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        back, info = getattr(transformers, name).from_pretrained(
            tmp_path / "ours", output_loading_info=True, attn_implementation="eager")
    back = back.to(DEVICE)
    assert info["missing_keys"] == [] and info["unexpected_keys"] == []
    assert info["mismatched_keys"] == []
    with torch.no_grad():
        _assert_same(back.eval()(**inputs, **labels, **_NO_REF_CACHE.get(name, {})),
                     ref(**inputs, **labels, **_NO_REF_CACHE.get(name, {})), fields)


def _decoder_inputs():
    g = torch.Generator().manual_seed(2)
    ids = torch.randint(1, 99, (2, 9), generator=g)
    mask = torch.ones(2, 9, dtype=torch.long)
    mask[1, 7:] = 0
    enc = torch.randn(2, 5, 32, generator=g)
    enc_mask = torch.ones(2, 5, dtype=torch.long)
    enc_mask[0, 3:] = 0
    return _dev((ids, mask, enc, enc_mask))


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("kind", KINDS)
def test_decoder_with_cross_attention_and_cache(kind, impl, tmp_path):
    ref = _ref_model("BertLMHeadModel", position_embedding_type=kind, is_decoder=True,
                     add_cross_attention=True)
    ref.save_pretrained(tmp_path)
    ours = _load_ours("BertLMHeadModel", tmp_path, impl)
    ids, mask, enc, enc_mask = _decoder_inputs()
    kwargs = dict(attention_mask=mask, encoder_hidden_states=enc, encoder_attention_mask=enc_mask)
    with torch.no_grad():
        expected = ref(ids, **kwargs, labels=ids, output_attentions=True,
                       output_hidden_states=True)
        got = ours(ids, **kwargs, labels=ids, output_attentions=True, output_hidden_states=True)
        _assert_same(got, expected, ["loss", "logits", "hidden_states", "attentions",
                                     "cross_attentions"])
        full = ours(ids, **kwargs).logits
        torch.testing.assert_close(full, expected.logits, rtol=0, atol=ATOL)
        # prompt of 4 tokens, then one token at a time through the cache
        out = ours(ids[:, :4], attention_mask=mask[:, :4], encoder_hidden_states=enc,
                   encoder_attention_mask=enc_mask, use_cache=True)
        steps, cache = [out.logits], out.past_key_values
        assert len(cache) == 2 and len(cache[0]) == 4  # self k, v and cross k, v per layer
        for t in range(4, 9):
            out = ours(ids[:, t:t + 1], attention_mask=mask[:, :t + 1], past_key_values=cache,
                       encoder_hidden_states=enc, encoder_attention_mask=enc_mask,
                       use_cache=True)
            assert out.past_key_values[0][2] is cache[0][2]  # cross k/v computed once
            cache = out.past_key_values
            steps.append(out.logits)
        torch.testing.assert_close(torch.cat(steps, 1), expected.logits, rtol=0, atol=ATOL)


@pytest.mark.parametrize("kind", KINDS)
def test_eager_equals_sdpa_with_cache(kind, tmp_path):
    ref = _ref_model("BertLMHeadModel", position_embedding_type=kind, is_decoder=True)
    ref.save_pretrained(tmp_path)
    eager = _load_ours("BertLMHeadModel", tmp_path, "eager")
    sdpa = _load_ours("BertLMHeadModel", tmp_path, "sdpa")
    ids = _decoder_inputs()[0]
    with torch.no_grad():
        for chunks in ([9], [5, 3, 1], [1] * 9):
            results = []
            for model in (eager, sdpa):
                cache, logits, start = None, [], 0
                for n in chunks:
                    out = model(ids[:, start:start + n], past_key_values=cache, use_cache=True)
                    cache, start = out.past_key_values, start + n
                    logits.append(out.logits)
                results.append(torch.cat(logits, 1))
            torch.testing.assert_close(results[0], results[1], rtol=0, atol=ATOL)
            torch.testing.assert_close(results[0], ref(ids, use_cache=False).logits, rtol=0,
                                       atol=ATOL)


@pytest.mark.parametrize("kind", ["absolute", "relative_key_query"])
def test_generate_matches_transformers_greedy(kind, tmp_path):
    ref = _ref_model("BertLMHeadModel", position_embedding_type=kind, is_decoder=True)
    ref.save_pretrained(tmp_path)
    ours = _load_ours("BertLMHeadModel", tmp_path, "sdpa")
    prompt = _decoder_inputs()[0][:, :3]
    expected = prompt
    with torch.no_grad():  # greedy decoding by hand, full forward each step
        for _ in range(6):
            nxt = ref(expected, use_cache=False).logits[:, -1].argmax(-1, keepdim=True)
            expected = torch.cat([expected, nxt], 1)
    torch.testing.assert_close(ours.generate(prompt, max_new_tokens=6), expected)
    sampled = ours.generate(prompt, max_new_tokens=6, do_sample=True, top_k=1)
    torch.testing.assert_close(sampled, expected)  # top_k=1 sampling is greedy
    eos = int(expected[0, 3])
    stopped = ours.generate(prompt[:1], max_new_tokens=6, eos_token_id=eos)
    assert stopped.shape == (1, 4) and int(stopped[0, -1]) == eos


def test_base_checkpoint_into_every_head_and_back(tmp_path):
    ref = _ref_model("BertModel")
    ref.save_pretrained(tmp_path / "base")
    ids = torch.randint(1, 99, (2, 6)).to(DEVICE)
    for name in HEADS[1:]:
        extra = {"BertLMHeadModel": {"is_decoder": True},
                 "BertForQuestionAnswering": {"num_labels": 2}}.get(name, {})
        with pytest.warns(UserWarning, match="newly initialized") as record:
            model = getattr(bm, name).from_pretrained(tmp_path / "base", **extra).to(DEVICE)
        # the reported keys are exactly the head's
        message = str(record[0].message)
        assert "bert.encoder" not in message and ("cls." in message or "classifier" in message
                                                  or "qa_outputs" in message)
        if name != "BertLMHeadModel":  # a decoder sees only the past: different states
            with torch.no_grad():
                torch.testing.assert_close(model.bert(ids).last_hidden_state,
                                           ref(ids).last_hidden_state, rtol=0, atol=ATOL)
    # a task checkpoint into the bare model: the head is reported as unused
    task = _ref_model("BertForPreTraining")
    task.save_pretrained(tmp_path / "task")
    with pytest.warns(UserWarning, match="were not used") as record:
        base = bm.BertModel.from_pretrained(tmp_path / "task").to(DEVICE)
    assert "cls.predictions.bias" in str(record[0].message)
    with torch.no_grad():
        torch.testing.assert_close(base(ids).last_hidden_state,
                                   task.bert(ids).last_hidden_state, rtol=0, atol=ATOL)


def test_reference_relative_positions_with_cache_differ(tmp_path):
    """Documents why the reference decoder runs with use_cache=False above (see _NO_REF_CACHE)."""
    ref = _ref_model("BertLMHeadModel", position_embedding_type="relative_key", is_decoder=True)
    ids = _decoder_inputs()[0]
    with torch.no_grad():
        assert not torch.allclose(ref(ids, use_cache=True).logits,
                                  ref(ids, use_cache=False).logits, atol=1e-3)
        ref.save_pretrained(tmp_path)
        ours = _load_ours("BertLMHeadModel", tmp_path, "sdpa")
        torch.testing.assert_close(ours(ids, use_cache=True).logits,
                                   ref(ids, use_cache=False).logits, rtol=0, atol=ATOL)
