"""torch.export and ONNX (dynamo exporter, run with ONNX Runtime) give PyTorch's logits for
batch and sequence sizes other than the traced ones; int8 dynamic quantization stays close."""

import onnx
import onnxruntime  # noqa: F401  (the runtime must be installed: no silent skip)
import pytest
import torch

import bertedu
from bertedu.pipelines import export

SIZES = [(1, 5), (2, 16), (3, 41), (8, 128)]  # (B, T); traced at (2, 16)
ATOL = 1e-4


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    config = bertedu.BertConfig(vocab_size=120, hidden_size=32, num_hidden_layers=2,
                                num_attention_heads=4, intermediate_size=64, num_labels=3,
                                max_position_embeddings=256)
    return bertedu.BertForSequenceClassification(config).eval()


def reference(model, inputs):
    """The model called the ordinary way, with its 2-D padding mask."""
    input_ids, attention_mask, token_type_ids = inputs
    with torch.no_grad():
        return model(input_ids=input_ids, attention_mask=attention_mask,
                     token_type_ids=token_type_ids).logits


@pytest.fixture(scope="module")
def onnx_file(model, tmp_path_factory):
    return export.export_onnx(model, tmp_path_factory.mktemp("onnx") / "model.onnx")


@pytest.fixture(scope="module")
def program(model):
    return export.export_program(model)


@pytest.mark.parametrize("batch, seq_len", SIZES)
def test_torch_export_matches_eager(model, program, batch, seq_len):
    inputs = export.example_inputs(batch, seq_len, model.config.vocab_size, seed=batch)
    assert inputs[1].sum() < batch * seq_len or batch == 1  # some rows are padded
    with torch.no_grad():
        got = program.module()(*inputs)
    torch.testing.assert_close(got, reference(model, inputs), atol=ATOL, rtol=0)


def test_exported_graph_rejects_a_sequence_past_the_positions(model, program):
    inputs = export.example_inputs(1, 300, model.config.vocab_size)
    with pytest.raises(Exception, match="seq|300|256"):
        program.module()(*inputs)


@pytest.mark.parametrize("batch, seq_len", SIZES)
def test_onnx_runtime_matches_pytorch(model, onnx_file, batch, seq_len):
    session = export.onnx_session(onnx_file, threads=1)
    inputs = export.example_inputs(batch, seq_len, model.config.vocab_size, seed=batch)
    got = export.run_onnx(session, *inputs)
    torch.testing.assert_close(got, reference(model, inputs), atol=ATOL, rtol=0)


def test_int8_pytorch_quantizes_every_linear_and_stays_close(model):
    quantized = export.quantize_int8(model)
    linears = [m for m in quantized.modules() if type(m).__name__ == "Linear"]
    assert len(linears) == 14  # 6 per layer x 2, the pooler and the classifier
    assert all(type(m).__module__.startswith("torch.ao.nn.quantized.dynamic") for m in linears)
    assert all(type(m) is torch.nn.Linear for m in model.modules()
               if type(m).__name__ == "Linear")  # the original model is left as it was
    inputs = export.example_inputs(8, 32, model.config.vocab_size)
    want = reference(model, inputs)
    with torch.no_grad():
        got = quantized(input_ids=inputs[0], attention_mask=inputs[1],
                        token_type_ids=inputs[2]).logits
    assert (got - want).abs().max() < 0.05 * want.abs().max()
    assert not torch.equal(got, want)  # int8 arithmetic really ran


def test_int8_onnx_runtime_stays_close(model, onnx_file):
    int8_file = export.quantize_onnx_int8(onnx_file, onnx_file.with_suffix(".int8.onnx"))
    ops = [node.op_type for node in onnx.load(int8_file).graph.node]
    assert ops.count("MatMulInteger") == 14  # every weight product in int8
    assert ops.count("MatMul") == 4  # left in float: Q K^T and A V of the two layers
    inputs = export.example_inputs(8, 32, model.config.vocab_size)
    want = reference(model, inputs)
    got = export.run_onnx(export.onnx_session(int8_file, threads=1), *inputs)
    assert (got - want).abs().max() < 0.05 * want.abs().max()


def test_int8_skips_named_layers_and_quantizes_per_channel(model):
    kept = export.quantize_int8(model, skip=["classifier", "bert.pooler"])
    linears = {n: type(m).__module__ for n, m in kept.named_modules()
               if type(m).__name__ == "Linear"}
    assert linears["classifier"] == linears["bert.pooler.dense"] == "torch.nn.modules.linear"
    assert sum(v.startswith("torch.ao.nn.quantized.dynamic") for v in linears.values()) == 12
    per_channel = export.quantize_int8(model, per_channel=True)
    weight = per_channel.bert.encoder.layer[0].intermediate.dense.weight()
    assert weight.qscheme() == torch.per_channel_affine
    assert weight.q_per_channel_scales().shape == (64,)  # one scale per output row


@pytest.mark.parametrize("kwargs, message", [
    (dict(skip=["bert.nonsense"]), "no such submodules"),
    (dict(engine="tpu"), "quantized engine 'tpu'"),
])
def test_int8_bad_arguments_are_named(model, kwargs, message):
    with pytest.raises(ValueError, match=message):
        export.quantize_int8(model, **kwargs)


def test_only_a_classifier_or_a_logits_module_is_exported():
    with pytest.raises(TypeError, match="cannot export a Linear"):
        export.export_program(torch.nn.Linear(2, 2))
