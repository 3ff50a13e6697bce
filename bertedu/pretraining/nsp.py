"""Next-sentence prediction (NSP): sentence-pair examples for BERT's second pretraining task.

BERT reads two segments, ``[CLS] A [SEP] B [SEP]``, with token type 0 on ``[CLS] A [SEP]`` and 1 on
``B [SEP]``. Half of the time B is the text that really follows A in the same document (label 0,
"IsNext"); otherwise B is taken from another document (label 1, "NotNext"). The classifier on the
``[CLS]`` vector learns which, and the loss is a binary cross-entropy:

$$ \\mathcal{L}_{NSP} = -\\log p(y \\mid h_{[CLS]}), \\quad y \\in \\{\\text{IsNext},
   \\text{NotNext}\\} $$

The examples are built the way the original ``create_pretraining_data`` does, document by document:

1. A *target length* is drawn once per document (as in the original): usually
   ``max_seq_length - 3`` (room for the three special tokens), but with probability
   ``short_seq_prob`` a random length in ``[2, max_seq_length - 3]``, so the model also sees short
   inputs like the ones it meets when fine-tuned. Chunks overshoot the target by up to a sentence.
2. Whole sentences are gathered into a *chunk* until it reaches the target length (or the document
   ends). A random split point inside the chunk makes A = the first sentences, B = the rest.
3. With probability ``nsp_probability`` B is replaced by sentences from a random other document,
   starting at a random sentence, until B fills the target length; the chunk's sentences that B
   did not use are put back and start the next chunk, so no text of the document is wasted.
4. :func:`truncate_seq_pair` trims the longer of A and B, one token at a time, from the front or
   the back at random, until both fit (trimming both ends avoids always cutting the same side).

Two departures from the original, both to keep the label an unbiased coin flip: the original
forces "NotNext" whenever a chunk has a single sentence, so label balance drifts with the corpus;
here the coin comes first, and an "IsNext" chunk of one sentence borrows the document's next (or,
at the end, previous) sentence. Documents of a single sentence cannot make an "IsNext" pair, so
they only serve as sources of random B segments. Masking is not done here: the collator
(:mod:`bertedu.pretraining.masking`) masks each batch afresh ("dynamic masking", Liu et al.
2019, section 4.1).

References:
    Devlin et al., 2019, "BERT: Pre-training of Deep Bidirectional Transformers for Language
    Understanding", section 3.1 (Task #2: NSP) and appendix A.2 (pretraining procedure).
    Liu et al., 2019, "RoBERTa: A Robustly Optimized BERT Pretraining Approach", section 4.2
    (the value of NSP questioned).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from .corpus import check_corpus

__all__ = ["NspInstance", "truncate_seq_pair", "create_nsp_instances", "NspDataset"]

IS_NEXT, NOT_NEXT = 0, 1  # labels of ``next_sentence_label`` (the transformers convention)


@dataclass
class NspInstance:
    """One sentence pair, ready for the model, with where it came from (for checks and teaching).

    ``input_ids``/``token_type_ids`` hold ``[CLS] A [SEP] B [SEP]`` and its segment ids;
    ``next_sentence_label`` is 0 (B follows A) or 1 (B is random). ``a_source``/``b_source`` are
    ``(document, first_sentence, end_sentence)`` spans (end exclusive) before truncation.
    """

    input_ids: list[int]
    token_type_ids: list[int]
    next_sentence_label: int
    a_source: tuple[int, int, int]
    b_source: tuple[int, int, int]

    def to_features(self) -> dict[str, list[int] | int]:
        return {
            "input_ids": list(self.input_ids),
            "token_type_ids": list(self.token_type_ids),
            "next_sentence_label": self.next_sentence_label,
        }


def truncate_seq_pair(
    tokens_a: list, tokens_b: list, max_num_tokens: int, rng: random.Random
) -> None:
    """Trim ``tokens_a`` and ``tokens_b`` in place until ``len(a) + len(b) <= max_num_tokens``.

    Each step removes one token from the longer list (``a`` on a tie), from its front or its back
    with equal probability.
    """
    while len(tokens_a) + len(tokens_b) > max_num_tokens:
        longer = tokens_a if len(tokens_a) >= len(tokens_b) else tokens_b
        if rng.random() < 0.5:
            del longer[0]
        else:
            longer.pop()


def _tokenize_corpus(docs: Sequence[Sequence[str]], tokenizer) -> list[list[list[int]]]:
    """Token ids of every sentence (no special tokens); empty sentences and documents dropped."""
    flat = [s for doc in docs for s in doc]
    ids: list[list[int]] = []
    for i in range(0, len(flat), 1024):
        ids.extend(tokenizer(flat[i : i + 1024], add_special_tokens=False)["input_ids"])
    out: list[list[list[int]]] = []
    k = 0
    for doc in docs:
        sentences = [list(x) for x in ids[k : k + len(doc)] if len(x) > 0]
        k += len(doc)
        if sentences:
            out.append(sentences)
    return out


def _instances_from_document(
    documents: list[list[list[int]]],
    index: int,
    max_seq_length: int,
    short_seq_prob: float,
    nsp_probability: float,
    cls_id: int,
    sep_id: int,
    rng: random.Random,
) -> list[NspInstance]:
    document = documents[index]
    max_num_tokens = max_seq_length - 3  # room for [CLS], [SEP], [SEP]
    target = max_num_tokens
    if rng.random() < short_seq_prob:
        target = rng.randint(2, max_num_tokens)
    instances: list[NspInstance] = []
    chunk: list[int] = []  # sentence indices of the current chunk
    length = 0
    i = 0
    while i < len(document):
        chunk.append(i)
        length += len(document[i])
        if i == len(document) - 1 or length >= target:
            is_random_next = rng.random() < nsp_probability
            if not is_random_next and len(chunk) == 1:
                if i + 1 < len(document):  # borrow the next sentence as B
                    i += 1
                    chunk.append(i)
                else:  # last sentence of the document: pair it with the previous one
                    chunk.insert(0, i - 1)
            a_end = rng.randint(1, len(chunk) - 1) if len(chunk) >= 2 else 1
            tokens_a = [t for j in chunk[:a_end] for t in document[j]]
            a_source = (index, chunk[0], chunk[a_end - 1] + 1)
            tokens_b: list[int] = []
            if is_random_next:
                target_b = target - len(tokens_a)
                other = rng.randrange(len(documents) - 1)
                other += other >= index  # any document but this one
                start = rng.randrange(len(documents[other]))
                end = start
                while end < len(documents[other]):
                    tokens_b.extend(documents[other][end])
                    end += 1
                    if len(tokens_b) >= target_b:
                        break
                b_source = (other, start, end)
                i -= len(chunk) - a_end  # put the unused sentences back
            else:
                tokens_b = [t for j in chunk[a_end:] for t in document[j]]
                b_source = (index, chunk[a_end], chunk[-1] + 1)
            truncate_seq_pair(tokens_a, tokens_b, max_num_tokens, rng)
            input_ids = [cls_id, *tokens_a, sep_id, *tokens_b, sep_id]
            token_type_ids = [0] * (len(tokens_a) + 2) + [1] * (len(tokens_b) + 1)
            label = NOT_NEXT if is_random_next else IS_NEXT
            instances.append(NspInstance(input_ids, token_type_ids, label, a_source, b_source))
            chunk, length = [], 0
        i += 1
    return instances


def create_nsp_instances(
    docs: Sequence[Sequence[str]],
    tokenizer,
    max_seq_length: int = 128,
    short_seq_prob: float = 0.1,
    nsp_probability: float = 0.5,
    dupe_factor: int = 1,
    seed: int = 0,
) -> list[NspInstance]:
    """Build shuffled NSP sentence pairs from documents of sentences (see the module docstring).

    ``tokenizer`` is a BERT tokenizer with the ``transformers`` call convention (``cls_token_id``,
    ``sep_token_id``). ``dupe_factor`` passes over the corpus, each with new split points and
    random partners. The result depends only on the arguments (``random.Random(seed)``).
    Every instance has ``len(input_ids) <= max_seq_length``.
    """
    check_corpus(docs)
    if max_seq_length < 5:
        raise ValueError(
            f"max_seq_length={max_seq_length} is too small: [CLS] A [SEP] B [SEP] needs at least 5"
        )
    if not 0.0 <= short_seq_prob <= 1.0 or not 0.0 <= nsp_probability <= 1.0:
        raise ValueError("short_seq_prob and nsp_probability must be probabilities in [0, 1]")
    if dupe_factor < 1:
        raise ValueError(f"dupe_factor must be >= 1, got {dupe_factor}")
    documents = _tokenize_corpus(docs, tokenizer)
    if not any(len(d) >= 2 for d in documents):
        raise ValueError(
            "no multi-sentence document: next-sentence prediction needs at least one document "
            "with 2 or more sentences"
        )
    if len(documents) < 2:
        raise ValueError("next-sentence prediction needs at least 2 documents (for random B)")
    rng = random.Random(seed)
    instances: list[NspInstance] = []
    for _ in range(dupe_factor):
        for index in range(len(documents)):
            if len(documents[index]) < 2:
                continue  # a one-sentence document cannot give an IsNext pair
            instances.extend(
                _instances_from_document(
                    documents, index, max_seq_length, short_seq_prob, nsp_probability,
                    tokenizer.cls_token_id, tokenizer.sep_token_id, rng,
                )
            )
    rng.shuffle(instances)
    return instances


class NspDataset(torch.utils.data.Dataset):
    """A map-style dataset over NSP instances; item ``i`` is a dict of LongTensors.

    ``input_ids`` and ``token_type_ids`` have shape ``(T_i,)`` (unpadded; the collator pads),
    ``next_sentence_label`` has shape ``()``.
    """

    def __init__(self, instances: Sequence[NspInstance]):
        if len(instances) == 0:
            raise ValueError("NspDataset needs at least one instance")
        self.instances = list(instances)

    @classmethod
    def from_corpus(cls, docs: Sequence[Sequence[str]], tokenizer, **kwargs) -> NspDataset:
        """``NspDataset(create_nsp_instances(docs, tokenizer, **kwargs))``."""
        return cls(create_nsp_instances(docs, tokenizer, **kwargs))

    def __len__(self) -> int:
        return len(self.instances)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        inst = self.instances[i]
        return {
            "input_ids": torch.tensor(inst.input_ids, dtype=torch.long),  # (T_i,)
            "token_type_ids": torch.tensor(inst.token_type_ids, dtype=torch.long),  # (T_i,)
            "next_sentence_label": torch.tensor(inst.next_sentence_label, dtype=torch.long),
        }
