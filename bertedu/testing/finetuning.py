"""Checkers for Part IV (fine-tuning): the classification head over ``[CLS]``.

``BertForSequenceClassification`` scores a sequence from its first token only: the pooler
``p = tanh(W_p h_[CLS] + b_p)`` followed by one linear layer ``z = W_c p + b_c`` (Devlin et al.,
2018, section 4.1; dropout is off at evaluation). The checker compares a student's scores with
the library's on tiny seeded models; padding must not matter, since only position 0 is read.

References:
    Devlin et al. (2018), BERT, section 4.1 and figure 4 (a), sentence-level classification.
"""

from __future__ import annotations

from .compare import assert_matches
from .heads import heads_config
from .model import padding_mask, randomize
from .result import Case, case_rng, checker


@checker("bertedu.model.encoder.BertPooler.forward",
         "bertedu.model.task_models.BertForSequenceClassification.forward")
def check_classifier_logits(seed: int) -> list[Case]:
    """Check ``student_fn(last_hidden_state, model) -> logits`` against the library.

    ``last_hidden_state`` is the ``(B, T, H)`` output of ``model.bert``'s encoder and ``model`` a
    seeded tiny ``BertForSequenceClassification`` in eval mode; the student computes the
    ``(B, num_labels)`` scores from ``model.bert.pooler.dense`` and ``model.classifier`` without
    calling the pooler or the model.
    """
    import torch

    from bertedu.model.task_models import BertForSequenceClassification

    def case(name, group, num_labels, lengths, index):
        def body(call):
            torch.manual_seed(index)
            model = BertForSequenceClassification(heads_config(num_labels=num_labels)).eval()
            randomize(model.bert.pooler, index)
            randomize(model.classifier, index + 1)
            g = torch.Generator().manual_seed(index)
            ids = torch.randint(4, model.config.vocab_size, (len(lengths), max(lengths)),
                                generator=g)  # (B, T)
            mask = padding_mask(lengths, max(lengths))  # (B, T)
            with torch.no_grad():
                out = model(ids, attention_mask=mask, output_hidden_states=True)
                got = call(out.hidden_states[-1], model)
            assert_matches(f"scores ({num_labels} labels, lengths {lengths})", got, out.logits)
        return Case(name, group, body)

    cases = [case("two labels, two sentences", "visible", 2, [7, 7], 0),
             case("three labels, padded batch", "visible", 3, [9, 4, 6], 1),
             case("one label (regression), length 1", "edge", 1, [1], 2),
             case("a row of padding after [CLS]", "edge", 2, [8, 1], 3)]
    for i in range(2):
        rng = case_rng(seed, i)
        batch = rng.randint(1, 4)
        lengths = [rng.randint(1, 12) for _ in range(batch)]
        cases.append(case(f"random batch {i}", "hidden", rng.randint(2, 6), lengths, seed + i))
    return cases
