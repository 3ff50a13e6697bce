"""Checkers for chapters 7-8: the MLM head, the question-answering loss, mean pooling.

Each checker compares a student's function with the heads and models of bertedu on a tiny
config with eager attention and no dropout; floating outputs must agree to ``atol=1e-5``.
Edge cases cover length 1, spans at the last token or outside the sequence, and sentences without
padding; hidden cases draw sizes and lengths from the run's seed.

References:
    Devlin et al. (2018), BERT, sections 3.1 and 4 (pretraining and fine-tuning heads);
    Reimers and Gurevych (2019), Sentence-BERT (mean pooling).
"""

from __future__ import annotations

from .compare import assert_matches
from .model import padding_mask, randomize
from .result import Case, case_rng, checker


def heads_config(**overrides):
    """A tiny config for the heads and decoder checkers: no dropout, eager attention."""
    from bertedu.config import BertConfig

    settings = dict(vocab_size=97, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                    intermediate_size=37, max_position_embeddings=64, type_vocab_size=2,
                    hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
                    attn_implementation="eager")
    settings.update(overrides)
    return BertConfig(**settings)


def _small_config():
    """One narrow layer: enough for the checkers that only need a model's outputs."""
    return heads_config(num_hidden_layers=1, hidden_size=8, num_attention_heads=2,
                        intermediate_size=8)


@checker("bertedu.model.heads.BertOnlyMLMHead.forward",
         "bertedu.model.heads.BertLMPredictionHead.forward",
         "bertedu.model.heads.BertPredictionHeadTransform.forward")
def check_mlm_head(seed: int) -> list[Case]:
    """Check ``student_fn(sequence_output, cls) -> prediction logits`` against the library.

    ``sequence_output`` is ``(B, T, H)``, ``cls`` is the ``BertOnlyMLMHead`` of a seeded tiny
    ``BertForMaskedLM`` with random weights; the student computes ``(B, T, V)`` logits from its
    parameters (dense -> activation -> LayerNorm -> tied decoder + bias) without calling the head.
    """
    import torch

    from bertedu.model.modeling import BertForMaskedLM

    def case(name, group, overrides, batch, seq_len, index):
        def body(call):
            torch.manual_seed(index)
            model = BertForMaskedLM(heads_config(**overrides)).eval()
            randomize(model.cls, index)
            g = torch.Generator().manual_seed(index)
            hidden = torch.randn(batch, seq_len, model.config.hidden_size, generator=g)
            with torch.no_grad():
                expected = model.cls(hidden)  # (B, T, V)
                got = call(hidden, model.cls)
            assert_matches(f"MLM logits (B={batch}, T={seq_len})", got, expected)
        return Case(name, group, body)

    cases = [case("a batch of 2 x 7", "visible", {}, 2, 7, 0),
             case("hidden 24, vocabulary 50", "visible",
                  dict(hidden_size=24, num_attention_heads=2, vocab_size=50,
                       layer_norm_eps=1e-3), 3, 5, 1),
             case("length 1", "edge", {}, 1, 1, 2)]
    for i in range(2):
        rng = case_rng(seed, i)
        overrides = dict(vocab_size=rng.randint(10, 200), hidden_size=rng.choice([8, 16, 24]),
                         num_attention_heads=2)
        cases.append(case(f"random config {i}", "hidden", overrides, rng.randint(1, 3),
                          rng.randint(1, 9), seed + i))
    return cases


@checker("bertedu.model.task_models.BertForQuestionAnswering.forward")
def check_qa_loss(seed: int) -> list[Case]:
    """Check ``student_fn(start_logits, end_logits, start_positions, end_positions) -> loss``.

    Logits are ``(B, T)``, positions ``(B,)``; positions outside ``[0, T)`` are ignored (the
    reference clamps them to ``[0, T]`` and uses ``T`` as the ignore index). The loss is the mean
    of the start and end cross-entropies, as ``BertForQuestionAnswering`` computes it.
    """
    import torch

    from bertedu.model.task_models import BertForQuestionAnswering

    def case(name, group, starts, ends, seq_len, index):
        def body(call):
            torch.manual_seed(index)
            model = BertForQuestionAnswering(_small_config()).eval()
            randomize(model.qa_outputs, index)
            g = torch.Generator().manual_seed(index)
            ids = torch.randint(0, model.config.vocab_size, (len(starts), seq_len), generator=g)
            start, end = torch.tensor(starts), torch.tensor(ends)  # (B,), (B,)
            with torch.no_grad():
                out = model(ids, start_positions=start, end_positions=end)
                got = call(out.start_logits, out.end_logits, start.clone(), end.clone())
            assert_matches(f"QA loss (T={seq_len}, starts {starts}, ends {ends})", got, out.loss)
        return Case(name, group, body)

    cases = [case("spans inside the sequence", "visible", [1, 4, 0], [2, 6, 0], 9, 0),
             case("a span past the end", "visible", [1, 40, 3], [2, 41, 5], 9, 1),
             case("a span at the last token", "edge", [8, 2], [8, 8], 9, 2),
             case("one example, length 1", "edge", [0], [0], 1, 3),
             case("a start past the end with an end inside", "edge", [12, 1], [3, 2], 9, 4)]
    for i in range(3):
        rng = case_rng(seed, i)
        seq_len, batch = rng.randint(2, 16), rng.randint(1, 5)
        starts = [rng.randint(0, seq_len - 1) for _ in range(batch)]
        ends = [rng.randint(s, seq_len - 1) for s in starts]
        if batch > 1:  # sometimes a span outside the window (not all: the loss would be NaN)
            starts[0] += seq_len * rng.randint(0, 1)
        cases.append(case(f"random spans {i}", "hidden", starts, ends, seq_len, seed + i))
    return cases


@checker("bertedu.pipelines.feature_extraction.mean_pooling",
         "bertedu.model.modeling.BertModel.forward")
def check_mean_pooling(seed: int) -> list[Case]:
    """Check ``student_fn(last_hidden_state, attention_mask) -> sentence embeddings``.

    ``last_hidden_state`` is ``(B, T, H)`` and ``attention_mask`` ``(B, T)`` with 1 for real tokens;
    the result ``(B, H)`` is the mean over real tokens only, so a padded sentence must get exactly
    the embedding the library gives the same sentence alone without padding.
    """
    import torch

    from bertedu.model.modeling import BertModel

    def case(name, group, lengths, index):
        def body(call):
            torch.manual_seed(index)
            model = BertModel(_small_config()).eval()
            g = torch.Generator().manual_seed(index)
            seq_len = max(lengths)
            mask = padding_mask(lengths, seq_len)  # (B, T)
            ids = torch.randint(1, model.config.vocab_size, mask.shape, generator=g) * mask
            with torch.no_grad():
                hidden = model(ids, attention_mask=mask).last_hidden_state  # (B, T, H)
                alone = torch.stack([model(ids[i:i + 1, :n]).last_hidden_state[0].mean(0)
                                     for i, n in enumerate(lengths)])  # (B, H)
                got = call(hidden, mask.clone())
            assert_matches(f"sentence embeddings, lengths {lengths} (padded batch vs each "
                           "sentence alone)", got, alone)
        return Case(name, group, body)

    cases = [case("three padded sentences", "visible", [7, 3, 5], 0),
             case("one sentence of one token", "edge", [1], 1),
             case("no padding", "edge", [4, 4], 2),
             case("a one-token sentence next to a long one", "edge", [1, 9], 3)]
    for i in range(2):
        rng = case_rng(seed, i)
        lengths = [rng.randint(1, 12) for _ in range(rng.randint(1, 4))]
        cases.append(case(f"random lengths {i}", "hidden", lengths, seed + i))
    return cases
