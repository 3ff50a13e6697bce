"""BertModel and the pretraining-family models built on it.

``BertModel`` = embeddings -> encoder stack -> pooler. It builds the additive attention mask once
(padding, plus the causal part for a decoder) and every layer reuses it. The models here put the
pretraining heads on top and compute the loss when labels are given:

=================================  ==================================  =========================
model                              head input                          loss
=================================  ==================================  =========================
BertForPreTraining                 every token + pooled [CLS]          MLM CE + NSP CE
BertForMaskedLM                    every token                         CE over masked tokens
BertLMHeadModel                    every token (causal)                CE on the next token
BertForNextSentencePrediction      pooled [CLS]                        CE over 2 classes
=================================  ==================================  =========================

The fine-tuning models (sequence and token classification, multiple choice, question answering)
live in :mod:`bertedu.model.task_models`, the output dataclasses in :mod:`bertedu.model.outputs`,
the shared base class ``BertPreTrainedModel`` (initialisation, weight tying, checkpoint I/O) in
:mod:`bertedu.model.base` and the decoding loop behind ``BertLMHeadModel.generate`` in
:mod:`bertedu.model.generation`. Labels equal to -100 are ignored by every cross-entropy. Names
(classes, arguments, output fields, state-dict keys) are those of Hugging Face ``transformers``.

References:
    Devlin et al. (2018), BERT, section 3 (pretraining: masked LM and next sentence prediction).
"""

from __future__ import annotations

import warnings

import torch
import torch.nn.functional as F
from torch import nn

from ..config import BertConfig
from .attention import extended_attention_mask
from .base import (
    BertPreTrainedModel,
    _base_inputs,
    _classifier_dropout,  # noqa: F401  (re-exported: task_models imports it from here)
    _finish,
    _flag,
)
from .embeddings import BertEmbeddings
from .encoder import BertEncoder, BertPooler
from .generation import GenerationMixin
from .heads import BertOnlyMLMHead, BertOnlyNSPHead, BertPreTrainingHeads
from .outputs import (
    BaseModelOutputWithPoolingAndCrossAttentions,
    BertForPreTrainingOutput,
    CausalLMOutputWithCrossAttentions,
    MaskedLMOutput,
    NextSentencePredictorOutput,
)

Tensor = torch.Tensor
OptTensor = torch.Tensor | None


# ---------------------------------------------------------------------------------- BertModel
class BertModel(BertPreTrainedModel):
    """Embeddings, encoder and (optionally) the pooler. Works as encoder or as decoder."""

    def __init__(self, config: BertConfig, add_pooling_layer: bool = True) -> None:
        super().__init__(config)
        self.embeddings = BertEmbeddings(config)
        self.encoder = BertEncoder(config)
        self.pooler = BertPooler(config) if add_pooling_layer else None
        self.post_init()

    def get_input_embeddings(self) -> nn.Embedding:
        return self.embeddings.word_embeddings

    def set_input_embeddings(self, value: nn.Embedding) -> None:
        self.embeddings.word_embeddings = value

    def _head_mask(self, head_mask: OptTensor) -> OptTensor:
        """(A,) or (L, A) keep-multipliers -> (L, 1, A, 1, 1), broadcast over batch and tokens."""
        if head_mask is None:
            return None
        layers, heads = self.config.num_hidden_layers, self.config.num_attention_heads
        if head_mask.dim() == 1 and head_mask.shape[0] == heads:
            head_mask = head_mask.expand(layers, heads)
        if tuple(head_mask.shape) != (layers, heads):
            raise ValueError(
                f"head_mask has shape {tuple(head_mask.shape)}; expected ({heads},) or "
                f"({layers}, {heads})"
            )
        return head_mask[:, None, :, None, None].to(self.dtype)

    def forward(
        self,
        input_ids: OptTensor = None,
        attention_mask: OptTensor = None,
        token_type_ids: OptTensor = None,
        position_ids: OptTensor = None,
        head_mask: OptTensor = None,
        inputs_embeds: OptTensor = None,
        encoder_hidden_states: OptTensor = None,
        encoder_attention_mask: OptTensor = None,
        past_key_values: tuple[tuple[Tensor, ...], ...] | None = None,
        use_cache: bool | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        pooled_only: bool = False,
    ) -> BaseModelOutputWithPoolingAndCrossAttentions | tuple:
        """Encode ``input_ids`` (B, T) (or ``inputs_embeds`` (B, T, H)).

        ``attention_mask``: (B, T_past + T) with 1 = token, 0 = padding, or (B, T, T_past + T), or
        an already additive 4D mask. ``past_key_values``: the per-layer cache returned by a previous
        call with ``use_cache=True`` (decoders only), a tuple per layer of
        ``(self_k, self_v[, cross_k, cross_v])``, each (B, A, T_past, d).

        ``pooled_only`` (not in the reference): the caller reads ``pooler_output`` and nothing
        else, as the sequence-classification, multiple-choice and next-sentence heads do. The
        pooler reads the last layer at [CLS] only, and no other output of the last layer reaches
        it, so that layer computes the [CLS] row alone: its keys and values still come from every
        token, but its queries, attention output and feed-forward run for one position instead
        of T (about 10/12 of one layer's work saved). ``pooler_output`` is the same, and in
        training the dropout masks are those of the full layer, drawn for all T positions (with
        eager attention, and with SDPA on the CPU in float32; a fused accelerator kernel draws
        the attention dropout for the one row itself). ``last_hidden_state`` is then (B, 1, H).
        Ignored (everything is computed) when hidden states, attentions or a cache are asked
        for, or for a decoder over ``encoder_hidden_states``.
        """
        config = self.config
        output_attentions = _flag(output_attentions, config.output_attentions)
        output_hidden_states = _flag(output_hidden_states, config.output_hidden_states)
        return_dict = _flag(return_dict, config.return_dict)
        use_cache = _flag(use_cache, config.use_cache) if config.is_decoder else False
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("pass exactly one of input_ids and inputs_embeds")
        shape = input_ids.shape if input_ids is not None else inputs_embeds.shape[:-1]
        if len(shape) != 2:
            raise ValueError(f"expected inputs of shape (batch, seq_len), got {tuple(shape)}")
        batch, seq_len = shape
        past_len = past_key_values[0][0].shape[2] if past_key_values is not None else 0

        embedding_output = self.embeddings(
            input_ids, token_type_ids, position_ids, inputs_embeds, past_len
        )  # (B, T, H)
        dtype = embedding_output.dtype
        # the additive masks are built once here and shared by every layer
        mask = extended_attention_mask(
            attention_mask, batch, seq_len, past_len + seq_len, dtype, causal=config.is_decoder,
            device=embedding_output.device,
        )  # (B|1, 1, T|1, T_k) or None
        encoder_mask = None
        if encoder_hidden_states is not None and encoder_attention_mask is not None:
            encoder_mask = extended_attention_mask(
                encoder_attention_mask, batch, seq_len, encoder_hidden_states.shape[1], dtype,
                name="encoder_attention_mask",
            )  # (B, 1, 1|T, S)
        rows = None
        if (pooled_only and self.pooler is not None and not output_hidden_states
                and not output_attentions and not use_cache and past_len == 0
                and encoder_hidden_states is None):
            rows = 1  # only [CLS] reaches the pooler
        last, presents, hidden, attentions, cross = self.encoder(
            embedding_output, mask, self._head_mask(head_mask), encoder_hidden_states,
            encoder_mask, past_key_values, use_cache, output_attentions, output_hidden_states,
            rows,
        )
        pooled = self.pooler(last) if self.pooler is not None else None  # (B, H)
        if not return_dict:  # the reference's tuple order
            return tuple(v for v in (last, pooled, presents, hidden, attentions, cross)
                         if v is not None)
        return BaseModelOutputWithPoolingAndCrossAttentions(
            last_hidden_state=last, pooler_output=pooled, hidden_states=hidden,
            past_key_values=presents, attentions=attentions, cross_attentions=cross,
        )


# ---------------------------------------------------------------------------------- pretraining
class BertForPreTraining(BertPreTrainedModel):
    """BertModel + MLM and NSP heads (``cls.predictions``, ``cls.seq_relationship``)."""

    _tied_weights_keys = ["cls.predictions.decoder.weight", "cls.predictions.decoder.bias"]

    def __init__(self, config: BertConfig) -> None:
        super().__init__(config)
        self.bert = BertModel(config)
        self.cls = BertPreTrainingHeads(config)
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
        next_sentence_label: OptTensor = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
    ) -> BertForPreTrainingOutput | tuple:
        """``labels`` (B, T): token ids at masked positions, -100 elsewhere;
        ``next_sentence_label`` (B,): 0 = B follows A, 1 = B is random.

        The loss is the sum of the losses whose labels are given (the reference computes it only
        when both are given; with both, the two agree).
        """
        out = self.bert(**_base_inputs(input_ids, attention_mask, token_type_ids, position_ids,
                                       head_mask, inputs_embeds, output_attentions,
                                       output_hidden_states))
        scores, nsp = self.cls(out.last_hidden_state, out.pooler_output)  # (B, T, V), (B, 2)
        loss = None
        if labels is not None:
            loss = F.cross_entropy(scores.view(-1, scores.shape[-1]), labels.view(-1))
        if next_sentence_label is not None:
            nsp_loss = F.cross_entropy(nsp.view(-1, 2), next_sentence_label.view(-1))
            loss = nsp_loss if loss is None else loss + nsp_loss
        return _finish(BertForPreTrainingOutput(loss, scores, nsp, out.hidden_states,
                                                out.attentions), return_dict, self.config)


class BertForMaskedLM(BertPreTrainedModel):
    """BertModel (no pooler) + MLM head: predicts the tokens hidden behind [MASK]."""

    _tied_weights_keys = ["cls.predictions.decoder.weight", "cls.predictions.decoder.bias"]

    def __init__(self, config: BertConfig) -> None:
        super().__init__(config)
        self.bert = BertModel(config, add_pooling_layer=False)
        self.cls = BertOnlyMLMHead(config)
        self.post_init()

    def forward(
        self,
        input_ids: OptTensor = None,
        attention_mask: OptTensor = None,
        token_type_ids: OptTensor = None,
        position_ids: OptTensor = None,
        head_mask: OptTensor = None,
        inputs_embeds: OptTensor = None,
        encoder_hidden_states: OptTensor = None,
        encoder_attention_mask: OptTensor = None,
        labels: OptTensor = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
    ) -> MaskedLMOutput | tuple:
        """``labels`` (B, T): original ids at masked positions, -100 elsewhere."""
        out = self.bert(
            **_base_inputs(input_ids, attention_mask, token_type_ids, position_ids, head_mask,
                           inputs_embeds, output_attentions, output_hidden_states),
            encoder_hidden_states=encoder_hidden_states,
            encoder_attention_mask=encoder_attention_mask,
        )
        scores = self.cls(out.last_hidden_state)  # (B, T, V)
        loss = None
        if labels is not None:
            loss = F.cross_entropy(scores.view(-1, scores.shape[-1]), labels.view(-1))
        return _finish(MaskedLMOutput(loss, scores, out.hidden_states, out.attentions),
                       return_dict, self.config)


class BertLMHeadModel(BertPreTrainedModel, GenerationMixin):
    """A left-to-right language model: BertModel with ``is_decoder=True`` + the MLM head."""

    _tied_weights_keys = ["cls.predictions.decoder.weight", "cls.predictions.decoder.bias"]

    def __init__(self, config: BertConfig) -> None:
        super().__init__(config)
        if not config.is_decoder:  # the reference warns too: without it the model sees ahead
            warnings.warn("BertLMHeadModel is meant as a decoder: pass is_decoder=True",
                          stacklevel=2)
        self.bert = BertModel(config, add_pooling_layer=False)
        self.cls = BertOnlyMLMHead(config)
        self.post_init()

    def forward(
        self,
        input_ids: OptTensor = None,
        attention_mask: OptTensor = None,
        token_type_ids: OptTensor = None,
        position_ids: OptTensor = None,
        head_mask: OptTensor = None,
        inputs_embeds: OptTensor = None,
        encoder_hidden_states: OptTensor = None,
        encoder_attention_mask: OptTensor = None,
        labels: OptTensor = None,
        past_key_values: tuple[tuple[Tensor, ...], ...] | None = None,
        use_cache: bool | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
    ) -> CausalLMOutputWithCrossAttentions | tuple:
        """``labels`` (B, T) are the input ids themselves: position t is scored on token t + 1
        (the shift happens here); -100 is ignored."""
        if labels is not None:
            use_cache = False
        out = self.bert(
            **_base_inputs(input_ids, attention_mask, token_type_ids, position_ids, head_mask,
                           inputs_embeds, output_attentions, output_hidden_states),
            encoder_hidden_states=encoder_hidden_states,
            encoder_attention_mask=encoder_attention_mask,
            past_key_values=past_key_values, use_cache=use_cache,
        )
        logits = self.cls(out.last_hidden_state)  # (B, T, V)
        loss = None
        if labels is not None:
            shifted = F.pad(labels, (0, 1), value=-100)[:, 1:]  # (B, T): next token or -100
            loss = F.cross_entropy(logits.float().view(-1, logits.shape[-1]), shifted.reshape(-1))
        return _finish(CausalLMOutputWithCrossAttentions(
            loss, logits, out.past_key_values, out.hidden_states, out.attentions,
            out.cross_attentions), return_dict, self.config)


# ---------------------------------------------------------------------------------- NSP
class BertForNextSentencePrediction(BertPreTrainedModel):
    """BertModel + NSP head: does sentence B follow sentence A?"""

    def __init__(self, config: BertConfig) -> None:
        super().__init__(config)
        self.bert = BertModel(config)
        self.cls = BertOnlyNSPHead(config)
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
        next_sentence_label: OptTensor = None,
    ) -> NextSentencePredictorOutput | tuple:
        """``labels`` (B,): 0 = IsNext, 1 = NotNext (``next_sentence_label`` is an alias)."""
        if labels is None:
            labels = next_sentence_label
        out = self.bert(**_base_inputs(input_ids, attention_mask, token_type_ids, position_ids,
                                       head_mask, inputs_embeds, output_attentions,
                                       output_hidden_states), pooled_only=True)
        logits = self.cls(out.pooler_output)  # (B, 2)
        loss = F.cross_entropy(logits, labels.view(-1)) if labels is not None else None
        return _finish(NextSentencePredictorOutput(loss, logits, out.hidden_states,
                                                   out.attentions), return_dict, self.config)
