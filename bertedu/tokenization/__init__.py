"""Part I, tokenization: from text to the ids, segments and masks BERT reads (chapter 2).

Modules, in reading order: :mod:`.wordpiece` (``BasicTokenizer`` cleaning and splitting,
``WordpieceTokenizer`` greedy longest-match-first), :mod:`.vocab_files` (``vocab.txt`` and the
transformers tokenizer directory), :mod:`.truncation`, :mod:`.overflow` (windows with a stride),
:mod:`.padding` (right or left), :mod:`.alignment` (word and segment of each token),
:mod:`.batch_encoding` and :mod:`.encoding` (special tokens, pairs, batching), :mod:`.slow`
(``BertTokenizer``, pure Python) and :mod:`.fast` (``BertTokenizerFast`` on the Rust
``tokenizers`` package, with offsets, and WordPiece vocabulary training).
"""

from .batch_encoding import BatchEncoding
from .fast import BertTokenizerFast, train_wordpiece_vocab
from .slow import BertTokenizer
from .wordpiece import BasicTokenizer, WordpieceTokenizer

__all__ = ["BasicTokenizer", "BatchEncoding", "BertTokenizer", "BertTokenizerFast",
           "WordpieceTokenizer", "train_wordpiece_vocab"]
