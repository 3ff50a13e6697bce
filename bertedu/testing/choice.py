"""Checker for chapter 16 (multiple choice): one score per (question, choice) pair.

``BertForMultipleChoice`` receives ``(B, C, T)`` tensors, one row of pieces per choice. It folds
them to ``(B*C, T)``, runs the shared encoder, pools each row's ``[CLS]`` state,
``p = tanh(W_p h_[CLS] + b_p)``, maps it to one number with a 1-unit linear layer,
``s = w . p + b``, and unfolds the scores to ``(B, C)``; a softmax over the ``C`` scores gives the
probability of each choice (Devlin et al., 2019, section 4.4; dropout is off at evaluation). The
checker compares a student's scores with the library's on tiny seeded models: choices of
different lengths (padding inside a question), one choice, a choice that is only
``[CLS] [SEP]``, segment ids that matter, and random sizes drawn from the run's seed.

References:
    Devlin et al. (2019), BERT, section 4.4 (SWAG); Talmor et al. (2019), CommonsenseQA (the
    BERT baseline scores each question-choice pair this way).
"""

from __future__ import annotations

from .compare import assert_matches
from .heads import heads_config
from .model import randomize
from .result import Case, case_rng, checker


def _choice_inputs(lengths: list[list[int]], vocab_size: int, seed: int):
    """``(B, C, T)`` input_ids, attention_mask, token_type_ids for rows of ``lengths[b][c]``
    pieces: [CLS] question [SEP] choice [SEP], the question taking about half of each row."""
    import torch

    g = torch.Generator().manual_seed(seed)
    batch, count, seq = len(lengths), len(lengths[0]), max(max(row) for row in lengths)
    ids = torch.zeros(batch, count, seq, dtype=torch.long)  # (B, C, T), 0 = [PAD]
    mask = torch.zeros_like(ids)
    types = torch.zeros_like(ids)
    for b, row in enumerate(lengths):
        for c, n in enumerate(row):
            ids[b, c, :n] = torch.randint(4, vocab_size, (n,), generator=g)
            ids[b, c, 0] = 1  # [CLS]
            mask[b, c, :n] = 1
            types[b, c, max(1, n // 2):n] = 1  # the choice's segment (ids 1 after the question)
    return ids, mask, types


@checker("bertedu.model.task_models.BertForMultipleChoice.forward")
def check_choice_logits(seed: int) -> list[Case]:
    """Check ``student_fn(input_ids, attention_mask, token_type_ids, model) -> (B, C)`` scores.

    The three inputs are ``(B, C, T)`` and ``model`` a seeded tiny ``BertForMultipleChoice`` in
    eval mode. The student folds the choices into the batch, runs the shared encoder
    ``model.bert``, scores each pooled vector with ``model.classifier`` and unfolds the scores to
    ``(B, C)``, without calling ``model`` itself.
    """
    import torch

    from bertedu.model.task_models import BertForMultipleChoice

    def case(name, group, lengths, index, overrides=None):
        def body(call):
            torch.manual_seed(index)
            model = BertForMultipleChoice(heads_config(**(overrides or {}))).eval()
            randomize(model.bert.pooler, index)
            randomize(model.bert.embeddings.token_type_embeddings, index + 2)
            randomize(model.classifier, index + 1)
            ids, mask, types = _choice_inputs(lengths, model.config.vocab_size, index)
            with torch.no_grad():
                expected = model(ids, attention_mask=mask, token_type_ids=types).logits  # (B, C)
                got = call(ids.clone(), mask.clone(), types.clone(), model)
            shape = f"{len(lengths)} questions x {len(lengths[0])} choices"
            assert_matches(f"choice scores ({shape}, lengths {lengths})", got, expected)
        return Case(name, group, body)

    cases = [case("two questions, three choices, equal lengths", "visible", [[6, 6, 6]] * 2, 0),
             case("one question, five choices of different lengths", "visible",
                  [[9, 5, 7, 4, 8]], 1),
             case("more questions than choices", "visible", [[5, 8], [7, 3], [4, 6], [9, 9]], 5),
             case("one choice", "edge", [[7], [4]], 2),
             case("a choice of only [CLS] [SEP]", "edge", [[8, 2, 6]], 3),
             case("a length-1 choice row beside a long one", "edge", [[1, 10]], 4)]
    for i in range(3):
        rng = case_rng(seed, i)
        batch, count = rng.randint(1, 4), rng.randint(1, 5)
        lengths = [[rng.randint(2, 12) for _ in range(count)] for _ in range(batch)]
        heads = rng.choice([1, 2, 4])
        overrides = dict(num_attention_heads=heads, hidden_size=heads * rng.choice([4, 8]),
                         intermediate_size=rng.randint(8, 40))
        cases.append(case(f"random batch {i}", "hidden", lengths, seed + i, overrides))
    return cases
