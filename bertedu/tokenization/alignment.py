"""Alignment: which word and which segment each token of an encoding comes from.

Word pieces split words, so a label given per word (a named entity, a part of speech) has to be
moved onto the pieces, and a prediction per piece back onto the words. For every token ``t`` of
an encoding two maps answer that::

    tokens         [CLS]  new   york  ##er   lives  [SEP]  [PAD]
    word_ids        None   0     1      1      2     None   None     word(t)
    sequence_ids    None   0     0      0      0     None   None     segment(t): 0 = A, 1 = B

``word_ids`` counts words within each segment (the second text of a pair starts again at 0);
special tokens and padding have no word and no segment. The inverse maps follow:
``word_to_tokens(w, s)`` is the span ``[start, end)`` of the tokens of word ``w`` in segment
``s`` (``None`` when truncation removed it), ``token_to_word(t)`` and ``token_to_sequence(t)``
read one entry.

What a "word" is depends on the input. For a list of words (``is_split_into_words=True``) it is
the position in that list. For raw text it is a unit of the pre-tokenizer (a run of letters or
digits, or one punctuation mark, or one CJK character); WordPiece marks every piece but the first
of such a unit with ``##``, so a new word starts at each piece without that prefix.

The fast tokenizer gets these maps from Rust (``tokenizers.Encoding``); ``Alignment`` computes
the same for the pure-Python ``BertTokenizer``, with the same methods, so ``BatchEncoding`` can
ask either.

References:
    Devlin et al., 2019, "BERT", Section 5.3 (NER: the first sub-token of each word is labelled).
    Hugging Face tokenizers documentation, "Encoding" (``word_ids``, ``sequence_ids``).
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import accumulate


def word_ids_of_pieces(pieces: list[str], prefix: str = "##") -> list[int]:
    """The word index of each piece of one text: a new word at each piece without ``prefix``."""
    starts = [not piece.startswith(prefix) for piece in pieces]
    if starts:
        starts[0] = True  # the first piece always opens a word
    return [word - 1 for word in accumulate(starts)]


class Alignment:
    """Per-token word and segment indices of one encoded example (``None`` for specials/padding).

    The pure-Python twin of ``tokenizers.Encoding``'s alignment part; all lists have length T.
    The token strings are looked up from ``ids`` only when asked for (``to_tokens(ids)``).
    """

    def __init__(
        self,
        ids: list[int],
        to_tokens: Callable[[list[int]], list[str]],
        word_ids: list[int | None],
        sequence_ids: list[int | None],
        pair: bool = False,
    ):
        self._ids, self._to_tokens, self._tokens = ids, to_tokens, None
        self.word_ids, self.sequence_ids, self.pair = word_ids, sequence_ids, pair

    @property
    def tokens(self) -> list[str]:
        if self._tokens is None:
            self._tokens = self._to_tokens(self._ids)
        return self._tokens

    def __getstate__(self) -> dict:
        """Pickle the token strings, not the tokenizer that looks them up."""
        state = dict(self.__dict__, _tokens=self.tokens)
        state["_to_tokens"] = None
        return state

    def token_to_word(self, token_index: int) -> int | None:
        return self.word_ids[token_index]

    def token_to_sequence(self, token_index: int) -> int | None:
        return self.sequence_ids[token_index]

    def word_to_tokens(self, word_index: int, sequence_index: int = 0) -> tuple[int, int] | None:
        """Span ``(start, end)`` of the tokens of word ``word_index`` in segment ``sequence_index``.

        A single text has one segment, whatever ``sequence_index`` says (as in ``tokenizers``).
        """
        hits = [
            t
            for t, (w, s) in enumerate(zip(self.word_ids, self.sequence_ids, strict=True))
            if w == word_index and (s == sequence_index or not self.pair)
        ]
        return (hits[0], hits[-1] + 1) if hits else None

    def _no_offsets(self, *args: int) -> None:
        raise ValueError(
            "character positions (token_to_chars, char_to_token, word_to_chars) need the "
            "offsets of BertTokenizerFast; the pure-Python BertTokenizer has none"
        )

    token_to_chars = char_to_token = word_to_chars = _no_offsets
