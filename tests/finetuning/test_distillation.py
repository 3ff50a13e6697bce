"""bertedu.finetuning.distillation: the loss against a hand computation, the T^2 factor, the
student's initialisation from chosen teacher layers, a whole distillation run on a tiny teacher
(saved student loaded by transformers), the command line, and clear errors for bad input."""

import json
import warnings

import pytest
import torch

from bertedu import BertConfig, BertForSequenceClassification, BertModel
from bertedu.__main__ import main
from bertedu.finetuning import distill, student_from_teacher
from bertedu.finetuning.distillation import (
    default_student_layers,
    distillation_loss,
    hidden_state_loss,
    soft_targets,
    uniform_layer_map,
)

LABELS = {0: "negative", 1: "positive"}


def tiny_classifier(tokenizer, layers=6, dropout=0.1, hidden=32, num_labels=2, seed=0):
    torch.manual_seed(seed)
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=hidden,
                        num_hidden_layers=layers, num_attention_heads=2, intermediate_size=64,
                        hidden_dropout_prob=dropout, attention_probs_dropout_prob=dropout,
                        id2label=LABELS if num_labels == 2 else None, num_labels=num_labels)
    return BertForSequenceClassification(config).eval()


@pytest.fixture(scope="module")
def teacher_dir(tokenizer, tmp_path_factory):
    """A 6-layer, 32-wide random classifier with MiniLM's vocabulary, saved with its tokenizer."""
    path = tmp_path_factory.mktemp("tiny_teacher")
    tiny_classifier(tokenizer).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


# ----------------------------------------------------------------------- the loss
def test_loss_equals_a_hand_computation():
    g = torch.Generator().manual_seed(0)
    z_s, z_t = torch.randn(5, 3, generator=g), 3 * torch.randn(5, 3, generator=g)
    y = torch.tensor([0, 2, 1, 1, 0])
    T, alpha = 3.0, 0.3
    p_t = torch.exp(z_t / T) / torch.exp(z_t / T).sum(-1, keepdim=True)
    p_s = torch.exp(z_s / T) / torch.exp(z_s / T).sum(-1, keepdim=True)
    kl = (p_t * (p_t.log() - p_s.log())).sum(-1).mean()
    ce = -(z_s.softmax(-1)[torch.arange(5), y]).log().mean()
    loss, parts = distillation_loss(z_s, z_t, y, temperature=T, alpha=alpha)
    torch.testing.assert_close(parts["kl"], kl)
    torch.testing.assert_close(parts["ce"], ce)
    torch.testing.assert_close(loss, alpha * T ** 2 * kl + (1 - alpha) * ce)
    torch.testing.assert_close(soft_targets(z_t, T), p_t)


def test_t_squared_keeps_the_soft_gradient_on_the_scale_of_the_logits():
    """Hinton et al. (2015), section 2.1: for large T and zero-mean logits, the gradient of
    T^2 KL with respect to z_s tends to (z_s - z_t) / (C B), whatever T is."""
    g = torch.Generator().manual_seed(1)
    z_t = torch.randn(4, 5, generator=g)
    z_t -= z_t.mean(-1, keepdim=True)
    base = torch.randn(4, 5, generator=g)
    base -= base.mean(-1, keepdim=True)
    limit = (base - z_t) / (5 * 4)
    grads = {}
    for T in (1.0, 100.0, 1000.0):
        z_s = base.clone().requires_grad_()
        loss, parts = distillation_loss(z_s, z_t, None, temperature=T, alpha=1.0)
        torch.testing.assert_close(loss, T ** 2 * parts["kl"])
        loss.backward()
        grads[T] = z_s.grad
    # the gap to the limit is O(1/T) of the gradient's size (~0.1 here)
    torch.testing.assert_close(grads[100.0], limit, atol=1e-3, rtol=0)
    torch.testing.assert_close(grads[1000.0], limit, atol=1e-4, rtol=0)
    assert not torch.allclose(grads[1.0], limit, atol=1e-2, rtol=0)  # the limit is not trivial
    # without the T^2 factor the soft gradient would fall as 1 / T^2
    assert float((grads[1000.0] / 1000 ** 2).abs().max()) < 1e-6


def test_hidden_state_loss_by_hand_ignores_padding():
    g = torch.Generator().manual_seed(2)
    s, t = torch.randn(2, 4, 8, generator=g), torch.randn(2, 4, 8, generator=g)
    mask = torch.tensor([[1, 1, 1, 0], [1, 1, 0, 0]])
    real = [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1)]
    mse = torch.stack([((s[b, i] - t[b, i]) ** 2).mean() for b, i in real]).mean()
    cos = torch.stack([1 - s[b, i] @ t[b, i] / (s[b, i].norm() * t[b, i].norm())
                       for b, i in real]).mean()
    torch.testing.assert_close(hidden_state_loss(s, t, mask, "mse"), mse)
    torch.testing.assert_close(hidden_state_loss(s, t, mask, "cosine"), cos)
    s2 = s.clone()
    s2[mask == 0] = 100.0  # padded positions do not count
    torch.testing.assert_close(hidden_state_loss(s2, t, mask, "mse"), mse)


def test_layer_choices():
    assert default_student_layers(12, 6) == (0, 2, 4, 7, 9, 11)  # DistilBERT's own choice
    assert default_student_layers(6, 2) == (0, 5)
    assert default_student_layers(6, 3) == (0, 3, 5)
    assert default_student_layers(6, 1) == (5,)
    assert default_student_layers(6, 6) == tuple(range(6))
    assert uniform_layer_map(2, 6) == (3, 6)
    assert uniform_layer_map(3, 6) == (2, 4, 6)


# ----------------------------------------------------------------------- the student
def test_student_copies_the_chosen_layers_exactly(tokenizer):
    teacher = tiny_classifier(tokenizer)
    student = student_from_teacher(teacher, layers=(0, 3, 5))
    assert student.config.num_hidden_layers == 3 and not student.training
    assert student.config.num_labels == 2 and student.config.hidden_size == 32
    t_state, s_state = teacher.state_dict(), student.state_dict()
    for key, value in s_state.items():
        if key.startswith("bert.encoder.layer."):
            i, rest = key[len("bert.encoder.layer."):].split(".", 1)
            source = f"bert.encoder.layer.{(0, 3, 5)[int(i)]}.{rest}"
        else:
            source = key
        assert torch.equal(value, t_state[source]), key
    # the student owns its weights: training it leaves the teacher alone
    with torch.no_grad():
        student.bert.encoder.layer[1].output.dense.weight.add_(1.0)
    assert not torch.equal(student.bert.encoder.layer[1].output.dense.weight,
                           teacher.bert.encoder.layer[3].output.dense.weight)
    # default: a third of the layers, the first and the last
    default = student_from_teacher(teacher)
    assert default.config.num_hidden_layers == 2
    assert torch.equal(default.bert.encoder.layer[1].attention.self.query.weight,
                       teacher.bert.encoder.layer[5].attention.self.query.weight)


def test_student_with_every_layer_computes_the_teacher(tokenizer):
    teacher = tiny_classifier(tokenizer)
    student = student_from_teacher(teacher, layers=range(6))
    enc = tokenizer(["a gorgeous , witty movie .", "dull"], padding=True, return_tensors="pt")
    with torch.no_grad():
        torch.testing.assert_close(student(**enc).logits, teacher(**enc).logits)


def test_every_teacher_layer_and_alpha_1_gives_kl_0_at_step_0(tokenizer):
    teacher = tiny_classifier(tokenizer, dropout=0.0)
    student = student_from_teacher(teacher, layers=range(6))
    result = distill(teacher, student, tokenizer=tokenizer, alpha=1.0, temperature=2.0,
                     max_steps=1, batch_size=8, max_train_samples=16, max_eval_samples=8,
                     evaluate_teacher=False, progress=False)
    first = result.history[0]
    assert first["kl"] == pytest.approx(0.0, abs=1e-10)
    assert first["loss"] == pytest.approx(0.0, abs=1e-9)
    assert first["ce"] > 0.1  # the hard loss is computed, with weight 1 - alpha = 0


# ----------------------------------------------------------------------- a whole run
@pytest.fixture(scope="module")
def distill_run(teacher_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("distilled")
    teacher = BertForSequenceClassification.from_pretrained(teacher_dir)
    student = student_from_teacher(teacher, num_layers=2)
    result = distill(teacher_dir, student, temperature=2.0, alpha=0.7, hidden_weight=0.5,
                     hidden_loss="cosine", output_dir=out, epochs=2, batch_size=16,
                     max_train_samples=64, max_eval_samples=32, learning_rate=1e-3,
                     progress=False)
    return result, out


def test_distill_evaluates_each_epoch_and_saves_the_best_student(distill_run, teacher_dir):
    result, out = distill_run
    assert len(result.history) == 8  # 2 epochs of 64 rows / 16
    assert all({"kl", "ce", "hidden"} <= set(h) for h in result.history)
    for h in result.history:
        assert h["loss"] == pytest.approx(0.7 * 4 * h["kl"] + 0.3 * h["ce"] + 0.5 * h["hidden"],
                                          rel=1e-5)
    assert [e["epoch"] for e in result.evaluations] == [1.0, 2.0]
    record = json.loads((out / "eval_results.json").read_text())
    assert record["best"]["accuracy"] == max(e["accuracy"] for e in result.evaluations)
    assert record["teacher_layers"] == 6 and record["student_layers"] == 2
    assert record["teacher_model"] == str(teacher_dir)
    assert record["distillation"] == {"temperature": 2.0, "alpha": 0.7, "hidden_weight": 0.5,
                                      "hidden_loss": "cosine", "layer_map": [3, 6]}
    assert record["teacher"]["accuracy"] == result.teacher["accuracy"] and record["finished"]
    saved = BertForSequenceClassification.from_pretrained(out)
    assert saved.config.num_hidden_layers == 2


def test_transformers_loads_the_student_unchanged(distill_run):
    import transformers

    result, out = distill_run
    ref, info = transformers.BertForSequenceClassification.from_pretrained(
        out, output_loading_info=True, attn_implementation="eager")
    assert info["missing_keys"] == [] and info["unexpected_keys"] == []
    ours = BertForSequenceClassification.from_pretrained(out)
    enc = result.tokenizer(["a gorgeous , witty movie .", "dull"], padding=True,
                           return_tensors="pt")
    with torch.no_grad():
        torch.testing.assert_close(ours(**enc).logits, ref.eval()(**enc).logits,
                                   atol=1e-5, rtol=1e-5)


def test_hard_labels_only_never_runs_the_teacher(tokenizer):
    teacher = tiny_classifier(tokenizer)
    student = student_from_teacher(teacher, num_layers=2)

    def refuse(*args, **kwargs):
        raise AssertionError("the teacher ran")

    teacher.forward = refuse
    result = distill(teacher, student, tokenizer=tokenizer, alpha=0.0, max_steps=2, batch_size=8,
                     max_train_samples=16, max_eval_samples=8, evaluate_teacher=False,
                     progress=False)
    assert len(result.history) == 2 and set(result.history[0]) >= {"ce"}
    assert "kl" not in result.history[0]


def test_cli_distill(teacher_dir, tmp_path, capsys):
    out = tmp_path / "student"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = main(["distill", "--teacher", str(teacher_dir), "--output-dir", str(out),
                     "--layers", "1,4", "--max-steps", "2", "--batch-size", "8",
                     "--max-train-samples", "16", "--max-eval-samples", "8", "--no-progress"])
    assert code == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["output_dir"] == str(out) and "accuracy" in printed["best"]
    assert BertForSequenceClassification.from_pretrained(out).config.num_hidden_layers == 2
    with pytest.raises(SystemExit):
        main(["distill", "--teacher", str(teacher_dir), "--output-dir", str(out),
              "--layers", "0,9"])
    assert "out of range" in capsys.readouterr().err


# ----------------------------------------------------------------------- bad input
def test_bad_input_is_refused_with_a_clear_message(tokenizer):
    teacher = tiny_classifier(tokenizer)
    student = student_from_teacher(teacher, num_layers=2)
    with pytest.raises(ValueError, match=r"out of range.*0\.\.5"):
        student_from_teacher(teacher, layers=(0, 6))
    with pytest.raises(ValueError, match="strictly increasing"):
        student_from_teacher(teacher, layers=(3, 1))
    with pytest.raises(ValueError, match="empty"):
        student_from_teacher(teacher, layers=())
    with pytest.raises(ValueError, match="num_layers=7"):
        student_from_teacher(teacher, num_layers=7)
    with pytest.raises(ValueError, match="num_layers=3 but 2 layers"):
        student_from_teacher(teacher, layers=(0, 5), num_layers=3)
    with pytest.raises(TypeError, match="BertForSequenceClassification.*BertModel"):
        student_from_teacher(BertModel(teacher.config))
    kw = dict(tokenizer=tokenizer, max_steps=1, max_train_samples=8, progress=False)
    with pytest.raises(TypeError, match="teacher must be a BertForSequenceClassification"):
        distill(BertModel(teacher.config), student, **kw)
    three = tiny_classifier(tokenizer, layers=2, num_labels=3)
    with pytest.raises(ValueError, match="student has num_labels=3 but sst2 has 2"):
        distill(teacher, three, **kw)
    with pytest.raises(ValueError, match="same hidden_size"):
        distill(teacher, tiny_classifier(tokenizer, layers=2, hidden=16), hidden_weight=1.0,
                **kw)
    with pytest.raises(ValueError, match="layer_map"):
        distill(teacher, student, hidden_weight=1.0, layer_map=(3,), **kw)
    with pytest.raises(ValueError, match="temperature must be > 0"):
        distill(teacher, student, temperature=0, **kw)
    with pytest.raises(ValueError, match=r"alpha must be in \[0, 1\]"):
        distill(teacher, student, alpha=1.5, **kw)
    with pytest.raises(ValueError, match="hidden_loss"):
        distill(teacher, student, hidden_loss="l1", **kw)
    with pytest.raises(ValueError, match="classification tasks.*BertForQuestionAnswering"):
        distill(teacher, student, task="squad", **kw)
    with pytest.raises(ValueError, match="pass tokenizer="):
        distill(teacher, student, max_steps=1)
    with pytest.raises(ValueError, match="differ"):
        distillation_loss(torch.zeros(2, 2), torch.zeros(2, 3), torch.zeros(2).long())
    with pytest.raises(ValueError, match="labels are needed"):
        distillation_loss(torch.zeros(2, 2), torch.zeros(2, 2), None, alpha=0.5)


def test_distillation_pulls_the_student_towards_the_teacher(tokenizer):
    teacher = tiny_classifier(tokenizer, dropout=0.0, seed=3)
    with torch.no_grad():
        teacher.classifier.bias.copy_(torch.tensor([2.0, -2.0]))  # a confident teacher
    student = tiny_classifier(tokenizer, layers=1, dropout=0.0, seed=4)  # a random student
    result = distill(teacher, student, tokenizer=tokenizer, alpha=1.0, temperature=1.0,
                     epochs=8, batch_size=8, max_train_samples=16, max_eval_samples=8,
                     learning_rate=3e-2, warmup_ratio=0.0, evaluate_teacher=False,
                     progress=False)
    kl = [h["kl"] for h in result.history]
    assert len(kl) == 16 and kl[0] > 0.3
    assert sum(kl[-4:]) < 0.2 * sum(kl[:4]), kl
