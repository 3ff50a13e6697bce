"""bertedu.pretraining.cli_arguments: the flags prepare and pretrain share, defined once, and the
vocabulary both commands build (given, or trained on the corpus), with errors that name the flag."""

import argparse

import pytest

from bertedu.pretraining import cli as pretrain_cli
from bertedu.pretraining import prepare_cli
from bertedu.pretraining.cli_arguments import (
    add_shared_arguments,
    check_files_and_out,
    load_or_train_vocabulary,
)

SHARED = ("--corpus", "--vocab", "--vocab-size", "--out", "--overwrite", "--no-progress")
DOCS = [["the cat sat on the mat.", "a dog barked at the cat."],
        ["birds sing in the morning.", "the sun rose over the hills."]]


def _parser():
    parser = argparse.ArgumentParser(prog="cmd")
    add_shared_arguments(parser, out_help="where to write", overwrite_help="replace it")
    return parser


def _options(parser):
    return {a.option_strings[0]: a for a in parser._actions if a.option_strings}


def test_both_commands_take_the_shared_flags_with_the_same_defaults():
    prepare, pretrain = _options(prepare_cli.build_parser()), _options(pretrain_cli.build_parser())
    for flag in SHARED:
        assert prepare[flag].default == pretrain[flag].default, flag
        assert prepare[flag].nargs == pretrain[flag].nargs, flag
        assert prepare[flag].help and pretrain[flag].help, flag
    assert "(required with --hub)" in prepare["--vocab"].help
    assert "(required with --hub)" not in pretrain["--vocab"].help
    ns = _parser().parse_args(["--out", "o"])
    assert (ns.corpus, ns.vocab, ns.vocab_size, ns.overwrite, ns.no_progress) == \
        (None, None, 4000, False, False)


def test_a_given_vocabulary_is_used_and_a_missing_one_is_trained(tmp_path):
    parser = _parser()
    tokenizer, trained = load_or_train_vocabulary(parser, None, DOCS, 60)
    assert trained[:5] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    assert len(tokenizer) == len(trained) <= 60
    assert tokenizer.convert_ids_to_tokens(list(range(len(trained)))) == trained
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("".join(t + "\n" for t in trained), encoding="utf-8")
    given, none = load_or_train_vocabulary(parser, vocab, [], 60)
    assert none is None
    assert given("the cat sat.")["input_ids"] == tokenizer("the cat sat.")["input_ids"]


def test_vocabulary_errors_name_the_flag(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        load_or_train_vocabulary(_parser(), None, DOCS, 7)
    assert exit_info.value.code == 2
    assert "cmd: error: --vocab-size 7: vocab_size=7 is too small" in capsys.readouterr().err
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    with pytest.raises(SystemExit):
        load_or_train_vocabulary(_parser(), empty, DOCS, 60)
    assert f"cmd: error: --vocab {empty}: " in capsys.readouterr().err


def test_files_and_out_are_checked_before_anything_is_written(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # relative names of missing files are looked up here
    parser = _parser()
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("one line.\n")

    def error(argv, **kwargs):
        with pytest.raises(SystemExit):
            check_files_and_out(parser, parser.parse_args(argv), **kwargs)
        return capsys.readouterr().err.strip().splitlines()[-1]

    out = tmp_path / "out"
    assert check_files_and_out(parser, parser.parse_args(["--out", str(out), "--corpus",
                                                          str(corpus)])) == out
    assert not out.exists()
    assert error(["--out", str(out), "--corpus", str(corpus), "nope.txt"]) == \
        "cmd: error: --corpus nope.txt: no such file"
    assert error(["--out", str(out)], more_files=[("--resume", ["x.pt"])]) == \
        "cmd: error: --resume x.pt: no such file"
    assert error(["--out", str(corpus)]) == \
        f"cmd: error: --out {corpus}: is a file, not a directory"
    out.mkdir()
    (out / "old.txt").write_text("x")
    assert error(["--out", str(out)]) == \
        f"cmd: error: --out {out}: already holds files; pass --overwrite to replace them"
    assert error(["--out", str(out)], hint="; resume it") == \
        f"cmd: error: --out {out}: already holds files; resume it"
    for argv, kwargs in ((["--out", str(out), "--overwrite"], {}),
                         (["--out", str(out)], {"may_reuse": True})):
        assert check_files_and_out(parser, parser.parse_args(argv), **kwargs) == out
