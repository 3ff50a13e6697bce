"""The fine-tuning models: BertModel plus one small task head, trained end to end.

Fine-tuning (Devlin et al., 2018, section 4 and figure 4) keeps the pretrained encoder and adds
only a dropout and a linear layer; every weight is then trained on the task. With ``h_CLS`` the
pooled [CLS] vector (B, H) and ``h_t`` the final hidden state of token t (B, T, H):

=================================  ==================================  =========================
model                              head                                loss
=================================  ==================================  =========================
BertForSequenceClassification      ``W h_CLS + b`` (B, num_labels)     MSE / CE / BCE
BertForMultipleChoice              ``w . h_CLS`` per choice (B, C)     CE over choices
BertForTokenClassification         ``W h_t + b`` (B, T, num_labels)    CE per token
BertForQuestionAnswering           ``S . h_t``, ``E . h_t`` (B, T)     CE on start + end, / 2
=================================  ==================================  =========================

* Sentence (pair) classification, figure 4 (a) and (b): ``p = softmax(W h_CLS + b)``; the loss
  is cross-entropy (single label), binary cross-entropy per label (multi-label) or mean squared
  error (regression, ``num_labels == 1``), chosen by ``config.problem_type``.
* Multiple choice (SWAG, section 4.4): each (context, choice) pair is encoded separately and
  ``P(choice i) = softmax_i(w . h_CLS^(i))``.
* Token tagging (NER, section 5.3 and figure 4 (d)): ``p_t = softmax(W h_t + b)`` for every token;
  sub-word continuation and padding tokens carry label -100 and are ignored.
* Extractive question answering (SQuAD, section 4.2 and figure 4 (c)): a start vector ``S``
  and an end vector ``E`` give ``P_start(t) = softmax_t(S . h_t)`` and
  ``P_end(t) = softmax_t(E . h_t)``; the loss is the mean of the two cross-entropies at the true
  start and end positions (the paper sums the log-likelihoods; halving follows the reference).

Labels equal to -100 are ignored by every cross-entropy. Names (classes, arguments, output
fields, state-dict keys) are those of Hugging Face ``transformers``.

References:
    Devlin et al. (2018), BERT, section 4 and figure 4 (fine-tuning: GLUE, SQuAD, SWAG), section
    5.3 (NER).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..config import BertConfig
from .modeling import BertModel, BertPreTrainedModel, _base_inputs, _classifier_dropout, _finish
from .outputs import (
    MultipleChoiceModelOutput,
    QuestionAnsweringModelOutput,
    SequenceClassifierOutput,
    TokenClassifierOutput,
)

OptTensor = torch.Tensor | None


class BertForSequenceClassification(BertPreTrainedModel):
    """Pooled [CLS] -> dropout -> linear: classification or regression of a text (pair)."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__(config)
        self.num_labels = config.num_labels
        self.bert = BertModel(config)
        self.dropout = _classifier_dropout(config)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()

    def forward(
        self,
        input_ids: OptTensor = None,
        attention_mask: OptTensor = None,
        token_type_ids: OptTensor = None,
        position_ids: OptTensor = None,
        head_mask: OptTensor = None,
        inputs_embeds: OptTensor = None,
        labels: OptTensor = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
    ) -> SequenceClassifierOutput | tuple:
        """``labels``: (B,) class ids, (B,) or (B, 1) floats for regression, or (B, num_labels)
        0/1 floats for multi-label. Without ``config.problem_type`` the kind is inferred as the
        reference does: one label -> regression, integer labels -> single-label, else
        multi-label (inferred per call; the reference also stores it in the config)."""
        out = self.bert(**_base_inputs(input_ids, attention_mask, token_type_ids, position_ids,
                                       head_mask, inputs_embeds, output_attentions,
                                       output_hidden_states), pooled_only=True)
        logits = self.classifier(self.dropout(out.pooler_output))  # (B, num_labels)
        loss = None
        if labels is not None:
            problem = self.config.problem_type
            if problem is None:
                if self.num_labels == 1:
                    problem = "regression"
                elif labels.dtype in (torch.long, torch.int):
                    problem = "single_label_classification"
                else:
                    problem = "multi_label_classification"
            if problem == "regression":
                labels = labels.to(logits.dtype)
                if self.num_labels == 1:
                    loss = F.mse_loss(logits.squeeze(), labels.squeeze())
                else:
                    loss = F.mse_loss(logits, labels)
            elif problem == "single_label_classification":
                loss = F.cross_entropy(logits.view(-1, self.num_labels), labels.view(-1))
            else:
                loss = F.binary_cross_entropy_with_logits(logits, labels.to(logits.dtype))
        return _finish(SequenceClassifierOutput(loss, logits, out.hidden_states,
                                                out.attentions), return_dict, self.config)


class BertForMultipleChoice(BertPreTrainedModel):
    """Each (context, choice) pair is encoded; a linear layer scores its pooled [CLS]."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__(config)
        self.bert = BertModel(config)
        self.dropout = _classifier_dropout(config)
        self.classifier = nn.Linear(config.hidden_size, 1)
        self.post_init()

    def forward(
        self,
        input_ids: OptTensor = None,
        attention_mask: OptTensor = None,
        token_type_ids: OptTensor = None,
        position_ids: OptTensor = None,
        head_mask: OptTensor = None,
        inputs_embeds: OptTensor = None,
        labels: OptTensor = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
    ) -> MultipleChoiceModelOutput | tuple:
        """Inputs are (B, C, T) (``inputs_embeds`` (B, C, T, H)); ``labels`` (B,) in [0, C)."""
        first = input_ids if input_ids is not None else inputs_embeds
        if first is None:
            raise ValueError("pass exactly one of input_ids and inputs_embeds")
        num_choices = first.shape[1]

        def flat(x: OptTensor) -> OptTensor:  # (B, C, T, ...) -> (B * C, T, ...)
            return x.reshape(-1, *x.shape[2:]) if x is not None else None

        out = self.bert(**_base_inputs(flat(input_ids), flat(attention_mask),
                                       flat(token_type_ids), flat(position_ids), head_mask,
                                       flat(inputs_embeds), output_attentions,
                                       output_hidden_states), pooled_only=True)
        scores = self.classifier(self.dropout(out.pooler_output))  # (B * C, 1)
        logits = scores.view(-1, num_choices)  # (B, C)
        loss = F.cross_entropy(logits, labels.view(-1)) if labels is not None else None
        return _finish(MultipleChoiceModelOutput(loss, logits, out.hidden_states,
                                                 out.attentions), return_dict, self.config)


class BertForTokenClassification(BertPreTrainedModel):
    """Every token's hidden state -> dropout -> linear: tagging such as NER."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__(config)
        self.num_labels = config.num_labels
        self.bert = BertModel(config, add_pooling_layer=False)
        self.dropout = _classifier_dropout(config)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()

    def forward(
        self,
        input_ids: OptTensor = None,
        attention_mask: OptTensor = None,
        token_type_ids: OptTensor = None,
        position_ids: OptTensor = None,
        head_mask: OptTensor = None,
        inputs_embeds: OptTensor = None,
        labels: OptTensor = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
    ) -> TokenClassifierOutput | tuple:
        """``labels`` (B, T): a class id per token, -100 for tokens to ignore (sub-words, pad)."""
        out = self.bert(**_base_inputs(input_ids, attention_mask, token_type_ids, position_ids,
                                       head_mask, inputs_embeds, output_attentions,
                                       output_hidden_states))
        logits = self.classifier(self.dropout(out.last_hidden_state))  # (B, T, num_labels)
        loss = None
        if labels is not None:
            loss = F.cross_entropy(logits.view(-1, self.num_labels), labels.view(-1))
        return _finish(TokenClassifierOutput(loss, logits, out.hidden_states, out.attentions),
                       return_dict, self.config)


class BertForQuestionAnswering(BertPreTrainedModel):
    """Extractive QA: a start score and an end score for every token (``qa_outputs``)."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__(config)
        if config.num_labels != 2:
            raise ValueError(
                f"BertForQuestionAnswering needs num_labels=2 (start and end scores), got "
                f"{config.num_labels}"
            )
        self.num_labels = config.num_labels
        self.bert = BertModel(config, add_pooling_layer=False)
        self.qa_outputs = nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()

    def forward(
        self,
        input_ids: OptTensor = None,
        attention_mask: OptTensor = None,
        token_type_ids: OptTensor = None,
        position_ids: OptTensor = None,
        head_mask: OptTensor = None,
        inputs_embeds: OptTensor = None,
        start_positions: OptTensor = None,
        end_positions: OptTensor = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
    ) -> QuestionAnsweringModelOutput | tuple:
        """``start_positions`` / ``end_positions`` (B,): token indices of the answer span.

        Positions outside the sequence are clamped to ``T`` and then ignored by the loss, as in
        the reference (an answer truncated away contributes nothing).
        """
        out = self.bert(**_base_inputs(input_ids, attention_mask, token_type_ids, position_ids,
                                       head_mask, inputs_embeds, output_attentions,
                                       output_hidden_states))
        logits = self.qa_outputs(out.last_hidden_state)  # (B, T, 2)
        start_logits, end_logits = logits.split(1, dim=-1)
        start_logits = start_logits.squeeze(-1).contiguous()  # (B, T)
        end_logits = end_logits.squeeze(-1).contiguous()  # (B, T)
        loss = None
        if start_positions is not None and end_positions is not None:
            ignored = start_logits.shape[1]
            start = start_positions.reshape(-1).clamp(0, ignored)
            end = end_positions.reshape(-1).clamp(0, ignored)
            loss = (F.cross_entropy(start_logits, start, ignore_index=ignored)
                    + F.cross_entropy(end_logits, end, ignore_index=ignored)) / 2
        return _finish(QuestionAnsweringModelOutput(loss, start_logits, end_logits,
                                                    out.hidden_states, out.attentions),
                       return_dict, self.config)
