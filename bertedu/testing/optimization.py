"""Checkers for chapter 11: the learning-rate schedule and the weight-decay parameter groups.

The schedule multiplies the peak learning rate by ``t / w`` during ``w`` warmup steps, then by
``(T - t) / (T - w)`` down to 0 at the last step ``T`` (and 0 after it). AdamW decays every weight
except biases and LayerNorm parameters, each parameter in exactly one group (tied weights once,
frozen ones left out). Edge cases: no warmup, warmup as long as training, steps past the end; a
frozen embedding table, a weight decay of 0.

References:
    Devlin et al. (2018), BERT, appendix A.2; Loshchilov and Hutter (2019), decoupled weight
    decay regularization.
"""

from __future__ import annotations

from .heads import heads_config
from .result import Case, case_rng, checker


@checker("bertedu.training.optimization.linear_warmup_decay",
         "bertedu.training.optimization.make_optimizer")
def check_lr_schedule(seed: int) -> list[Case]:
    """Check ``student_fn(warmup, total) -> factor``, where ``factor(step) -> float`` is the
    multiplier of the peak learning rate at ``step`` (0, 1, ..., past ``total``), as
    ``torch.optim.lr_scheduler.LambdaLR`` expects it.
    """
    from bertedu.training.optimization import linear_warmup_decay

    def case(name, group, warmup, total):
        def body(call):
            factor, expected = call(warmup, total), linear_warmup_decay(warmup, total)
            for step in range(total + 3):
                got = factor(step)
                if abs(got - expected(step)) > 1e-9:
                    raise AssertionError(f"warmup={warmup}, total={total}: factor({step}) is "
                                         f"{got}, expected {expected(step)}")
        return Case(name, group, body)

    cases = [case("10 warmup steps of 100", "visible", 10, 100),
             case("3 warmup steps of 10", "visible", 3, 10),
             case("no warmup", "edge", 0, 20),
             case("warmup as long as training", "edge", 8, 8),
             case("a single step", "edge", 0, 1)]
    for i in range(3):
        rng = case_rng(seed, i)
        total = rng.randint(1, 500)
        cases.append(case(f"random schedule {i}", "hidden", rng.randint(0, total), total))
    return cases


def _model(kind: str, frozen: str | None, index: int):
    import torch

    from bertedu.model.modeling import BertForPreTraining, BertModel
    from bertedu.model.task_models import BertForSequenceClassification

    torch.manual_seed(index)
    classes = {"BertForPreTraining": BertForPreTraining, "BertModel": BertModel,
               "BertForSequenceClassification": BertForSequenceClassification}
    model = classes[kind](heads_config(hidden_size=16, num_attention_heads=2,
                                       intermediate_size=20, num_hidden_layers=2))
    for name, param in model.named_parameters():
        if frozen and frozen in name:
            param.requires_grad_(False)
    return model


@checker("bertedu.training.optimization.param_groups",
         "bertedu.training.optimization.make_optimizer")
def check_param_groups(seed: int) -> list[Case]:
    """Check ``student_fn(model, weight_decay) -> groups`` for AdamW.

    ``groups`` is a list of dicts with ``"params"`` and ``"weight_decay"``: every trainable
    parameter appears exactly once (tied ones once), frozen ones not at all; biases and LayerNorm
    parameters get weight decay 0, all other weights ``weight_decay``, as in
    ``bertedu.training.optimization.param_groups``.
    """
    import torch

    from bertedu.training.optimization import param_groups

    def case(name, group, kind, weight_decay, frozen, index):
        def body(call):
            model = _model(kind, frozen, index)
            names = {id(p): n for n, p in model.named_parameters()}
            expected = {id(p): g["weight_decay"] for g in param_groups(model, weight_decay)
                        for p in g["params"]}
            got = call(model, weight_decay)
            seen: dict[int, float] = {}
            for g in got:
                for p in g["params"]:
                    if id(p) in seen:
                        raise AssertionError(f"{names.get(id(p), 'a parameter')} appears twice "
                                             "(tied or repeated parameters must appear once)")
                    seen[id(p)] = g.get("weight_decay", 0.0)
            for pid, decay in expected.items():
                if pid not in seen:
                    raise AssertionError(f"{names[pid]} is in no group")
                if seen[pid] != decay:
                    raise AssertionError(
                        f"{names[pid]}: weight decay {seen[pid]}, expected {decay}")
            extra = [names.get(pid, "an unknown tensor") for pid in seen if pid not in expected]
            if extra:
                raise AssertionError(f"{extra[0]} should not be optimised (it is frozen)")
            torch.optim.AdamW(got, lr=1e-3)  # the groups must be usable as they are
        return Case(name, group, body)

    rng = case_rng(seed, 0)
    return [case("BertForPreTraining (tied decoder), decay 0.01", "visible",
                 "BertForPreTraining", 0.01, None, 0),
            case("BertForSequenceClassification, decay 0.1", "visible",
                 "BertForSequenceClassification", 0.1, None, 1),
            case("frozen word embeddings", "edge", "BertForPreTraining", 0.01,
                 "word_embeddings", 2),
            case("a frozen first layer", "edge", "BertModel", 0.05, "layer.0.", 3),
            case("a random model", "hidden", rng.choice(["BertForPreTraining", "BertModel"]),
                 round(rng.uniform(0.001, 0.3), 4), rng.choice([None, "pooler", "layer.1."]),
                 seed)]
