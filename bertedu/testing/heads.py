"""Checkers for chapters 7-9: the MLM head, the QA loss, mean pooling, the causal mask.

Each checker compares a student's function with the heads and models of bertedu on a tiny
config with eager attention and no dropout; floating outputs must agree to ``atol=1e-5``,
boolean and integer ones exactly.

References:
    Devlin et al. (2018), BERT, sections 3.1 and 4 (pretraining and fine-tuning heads);
    Reimers and Gurevych (2019), Sentence-BERT (mean pooling).
"""

from __future__ import annotations

from .compare import assert_matches


def _heads_config(**overrides):
    """A tiny config for the chapters 7-9 checkers: no dropout, eager attention."""
    from bertedu.config import BertConfig

    settings = dict(vocab_size=97, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                    intermediate_size=37, max_position_embeddings=64, type_vocab_size=2,
                    hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
                    attn_implementation="eager")
    settings.update(overrides)
    return BertConfig(**settings)


def check_mlm_head(student_fn) -> bool:
    """Check ``student_fn(sequence_output, cls) -> prediction logits`` against the library.

    ``sequence_output`` is ``(B, T, H)``, ``cls`` is the ``BertOnlyMLMHead`` of a seeded tiny
    ``BertForMaskedLM``; the student computes ``(B, T, V)`` logits from its parameters
    (dense -> activation -> LayerNorm -> tied decoder + bias) and must match
    ``cls(sequence_output)``.
    """
    import torch

    from bertedu.model.modeling import BertForMaskedLM

    torch.manual_seed(0)
    model = BertForMaskedLM(_heads_config()).eval()
    ids = torch.randint(0, model.config.vocab_size, (2, 7))  # (B, T)
    with torch.no_grad():
        sequence_output = model.bert(ids).last_hidden_state  # (B, T, H)
        expected = model.cls(sequence_output)  # (B, T, V)
        got = student_fn(sequence_output, model.cls)
    assert_matches("MLM logits", got, expected)
    return True


def check_qa_loss(student_fn) -> bool:
    """Check ``student_fn(start_logits, end_logits, start_positions, end_positions) -> loss``.

    Logits are ``(B, T)``, positions ``(B,)``; positions outside ``[0, T)`` are ignored (the
    reference clamps them to ``T`` and uses that as the ignore index). The library's
    ``BertForQuestionAnswering`` gives the expected loss.
    """
    import torch

    from bertedu.model.task_models import BertForQuestionAnswering

    torch.manual_seed(0)
    model = BertForQuestionAnswering(_heads_config()).eval()
    ids = torch.randint(0, model.config.vocab_size, (3, 9))  # (B, T)
    cases = {"in-range spans": (torch.tensor([1, 4, 0]), torch.tensor([2, 6, 0])),
             "a span past the end": (torch.tensor([1, 40, 3]), torch.tensor([2, 41, 5]))}
    for case, (start, end) in cases.items():
        with torch.no_grad():
            out = model(ids, start_positions=start, end_positions=end)
            got = student_fn(out.start_logits, out.end_logits, start.clone(), end.clone())
        assert_matches(f"QA loss ({case})", got, out.loss)
    return True


def check_mean_pooling(student_fn) -> bool:
    """Check ``student_fn(last_hidden_state, attention_mask) -> sentence embeddings``.

    ``last_hidden_state`` is ``(B, T, H)`` and ``attention_mask`` ``(B, T)`` with 1 for real tokens;
    the result ``(B, H)`` is the mean over real tokens only, so a padded sentence must get exactly
    the embedding the library gives the same sentence alone without padding.
    """
    import torch

    from bertedu.model.modeling import BertModel

    torch.manual_seed(0)
    model = BertModel(_heads_config()).eval()
    lengths = [7, 3, 5]
    ids = torch.randint(1, model.config.vocab_size, (len(lengths), max(lengths)))  # (B, T)
    mask = (torch.arange(max(lengths)) < torch.tensor(lengths)[:, None]).long()  # (B, T)
    ids = ids * mask
    with torch.no_grad():
        hidden = model(ids, attention_mask=mask).last_hidden_state  # (B, T, H)
        got = student_fn(hidden, mask)
        alone = torch.stack([model(ids[i:i + 1, :n]).last_hidden_state[0].mean(0)
                             for i, n in enumerate(lengths)])  # (B, H)
    assert_matches("sentence embeddings (padded batch vs each sentence alone)", got, alone)
    return True


def check_causal_mask(student_fn) -> bool:
    """Check ``student_fn(attention_mask, query_length) -> allowed`` for a decoder.

    ``attention_mask`` is ``(B, S)`` (1 = real token, 0 = padding) over all key positions, of which
    the last ``query_length`` are the queries (the first ``S - query_length`` are cached). The
    result is a boolean ``(B, 1, query_length, S)``, True where a query may attend to a key: the key
    is real and not in the future. It is compared with where the library's decoder puts nonzero
    attention probability.
    """
    import torch

    from bertedu.model.modeling import BertModel

    torch.manual_seed(0)
    model = BertModel(_heads_config(is_decoder=True), add_pooling_layer=False).eval()
    lengths = [8, 5]
    S = max(lengths)
    ids = torch.randint(1, model.config.vocab_size, (len(lengths), S))  # (B, S)
    mask = (torch.arange(S) < torch.tensor(lengths)[:, None]).long()  # (B, S), right padding
    with torch.no_grad():
        for past in (0, 3):
            if past:
                cache = model(ids[:, :past], attention_mask=mask[:, :past],
                              use_cache=True).past_key_values
                out = model(ids[:, past:], attention_mask=mask, past_key_values=cache,
                            output_attentions=True)
            else:
                out = model(ids, attention_mask=mask, output_attentions=True)
            expected = out.attentions[0].amax(dim=1, keepdim=True) > 0  # (B, 1, T, S)
            got = student_fn(mask.clone(), S - past)
            label = f"allowed positions ({past} cached keys)" if past else "allowed positions"
            assert_matches(label, got, expected)
    return True
