"""``WordEmbedding``: nn.Embedding whose CPU weight gradient is written into a kept buffer.

It must be indistinguishable from ``nn.Embedding`` except in speed: the same gradients bit for
bit, accumulation and double backward as PyTorch has them, and never an overwritten tensor that
a caller kept.
"""

import torch
from torch import nn

from bertedu.config import BertConfig
from bertedu.model.embeddings import WordEmbedding
from bertedu.model.modeling import BertForMaskedLM

TINY = dict(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
            intermediate_size=37, max_position_embeddings=64)


def _pair(padding_idx=0):
    torch.manual_seed(0)
    ours = WordEmbedding(50, 8, padding_idx=padding_idx)
    plain = nn.Embedding(50, 8, padding_idx=padding_idx)
    plain.load_state_dict(ours.state_dict())
    return ours, plain


def _ids(seed, shape=(4, 9)):
    ids = torch.randint(0, 12, shape, generator=torch.Generator().manual_seed(seed))  # repeats
    ids[:, -2:] = 0  # padding
    return ids


def _backward(module, ids, seed):
    weight = torch.randn(*ids.shape, 8, generator=torch.Generator().manual_seed(seed))
    (module(ids) * weight).sum().backward()


def test_same_gradients_bit_for_bit_and_the_buffer_is_reused():
    ours, plain = _pair()
    pointers = []
    for step in range(3):
        for module in (ours, plain):
            module.weight.grad = None
            _backward(module, _ids(step), step)
        assert torch.equal(ours.weight.grad, plain.weight.grad)
        assert not ours.weight.grad[0].any()  # the padding row
        pointers.append(ours.weight.grad.data_ptr())
    assert pointers[0] == pointers[1] == pointers[2]  # one buffer, zeroed in place each time


def test_a_gradient_the_caller_kept_is_never_overwritten():
    ours, plain = _pair()
    _backward(ours, _ids(0), 0)
    kept = ours.weight.grad
    copy = kept.clone()
    ours.weight.grad = None
    _backward(ours, _ids(1), 1)
    assert torch.equal(kept, copy)  # still the first step's gradient
    assert ours.weight.grad.data_ptr() != kept.data_ptr()
    _backward(plain, _ids(1), 1)
    assert torch.equal(ours.weight.grad, plain.weight.grad)


def test_accumulation_two_uses_in_one_pass_and_double_backward():
    ours, plain = _pair()
    for module in (ours, plain):  # gradient accumulation: .grad is kept and added to
        module.weight.grad = None
        _backward(module, _ids(0), 0)
        _backward(module, _ids(1), 1)
    assert torch.equal(ours.weight.grad, plain.weight.grad)
    for module in (ours, plain):  # the table used twice in one graph (a Siamese pair)
        module.weight.grad = None
        (module(_ids(2)).sin().sum() + module(_ids(3)).cos().sum()).backward()
    torch.testing.assert_close(ours.weight.grad, plain.weight.grad, rtol=0, atol=1e-6)
    grads = []
    for module in (ours, plain):  # double backward: the gradient is itself differentiable
        module.weight.grad = None
        out = module(_ids(4)).pow(2).sum()
        (g,) = torch.autograd.grad(out, module.weight, create_graph=True)
        g.pow(2).sum().backward()
        grads.append((g.detach(), module.weight.grad))
    for a, b in zip(grads[0], grads[1], strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-6)


def test_plain_nn_embedding_everywhere_it_does_not_apply():
    ours, plain = _pair(padding_idx=None)
    _backward(ours, _ids(0), 0)
    _backward(plain, _ids(0), 0)
    assert torch.equal(ours.weight.grad, plain.weight.grad)  # no padding row: row 0 learns
    assert ours.weight.grad[0].any()
    with torch.no_grad():
        assert torch.equal(ours(_ids(1)), plain(_ids(1)))
    seen = []
    ours.register_forward_hook(lambda m, args, out: seen.append(out.shape))
    ours(_ids(1))
    assert seen == [(4, 9, 8)]  # a module: hooks run
    assert isinstance(ours, nn.Embedding) and list(ours.state_dict()) == ["weight"]


def test_tied_masked_lm_gradients_equal_plain_embedding():
    """The MLM decoder shares the table: two gradients meet in one parameter."""
    torch.manual_seed(0)
    ours = BertForMaskedLM(BertConfig(**TINY)).train()
    torch.manual_seed(0)
    plain = BertForMaskedLM(BertConfig(**TINY)).train()
    table = nn.Embedding(99, 32, padding_idx=0)
    plain.bert.set_input_embeddings(table)
    plain.tie_weights()
    plain.load_state_dict(ours.state_dict())
    assert plain.cls.predictions.decoder.weight is plain.bert.embeddings.word_embeddings.weight
    ids = torch.randint(1, 99, (3, 8), generator=torch.Generator().manual_seed(1))
    labels = torch.where(torch.rand(3, 8, generator=torch.Generator().manual_seed(2)) < 0.3,
                         ids, -100)
    for step in range(2):
        for model in (ours, plain):
            model.zero_grad(set_to_none=True)
            torch.manual_seed(step)
            model(input_ids=ids, labels=labels).loss.backward()
        for (name, a), b in zip(ours.named_parameters(), plain.parameters(), strict=True):
            torch.testing.assert_close(a.grad, b.grad, rtol=1e-6, atol=1e-7, msg=name)
