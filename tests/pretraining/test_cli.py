"""``python -m bertedu pretrain``: every bad argument is refused up front (exit 2, one line naming
the flag) with nothing written; a finished run is never overwritten; one seed, one run."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from bertedu.config import BertConfig
from bertedu.pretraining.cli import cli
from bertedu.pretraining.corpus import default_corpus, write_corpus
from bertedu.tokenization.fast import BertTokenizerFast

REPO = Path(__file__).resolve().parents[2]
TINY = {"hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2,
        "intermediate_size": 64, "max_position_embeddings": 64}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    corpus = write_corpus(root / "corpus.txt", default_corpus()[:60])
    BertConfig(vocab_size=100, **TINY).to_json_file(root / "config.json")
    (root / "empty.pt").write_bytes(b"")
    (root / "latin1.txt").write_bytes("Un caf\xe9.\nDeux.\n\nTrois.\nQuatre.\n".encode("latin-1"))
    return {"root": root, "corpus": str(corpus), "config": str(root / "config.json")}


def _argv(files, out, *extra):
    return ["--config", files["config"], "--corpus", files["corpus"], "--out", str(out),
            "--steps", "3", "--batch-size", "4", "--seq-len", "32", "--warmup", "1",
            "--vocab-size", "300", "--dupe-factor", "1", "--seed", "3", "--device", "cpu",
            "--no-progress", *extra]


def _with(argv, flag, *values):
    """``argv`` with ``flag`` set to ``values`` (replaced if present, appended otherwise)."""
    argv = list(argv)
    if flag in argv:
        i = argv.index(flag)
        end = i + 1
        while end < len(argv) and not argv[end].startswith("--"):
            end += 1
        argv[i:end] = [flag, *values]
    else:
        argv += [flag, *values]
    return argv


NO_CUDA = not torch.cuda.is_available()
# (flag, values, what the one-line error says)
BAD = [
    ("--steps", ["0"], "--steps 0: must be >= 1"),
    ("--steps", ["-1"], "--steps -1: must be >= 1"),
    ("--batch-size", ["0"], "--batch-size 0: must be >= 1"),
    ("--grad-accum", ["0"], "--grad-accum 0: must be >= 1"),
    ("--warmup", ["4"], "--warmup 4: must be in [0, --steps=3]"),
    ("--warmup", ["-1"], "--warmup -1: must be in [0, --steps=3]"),
    ("--corpus", ["missing.txt"], "--corpus missing.txt: no such file"),
    ("--config", ["missing.json"], "--config missing.json: unknown preset and no such file"),
    ("--config", ["huge"], "--config huge: unknown preset and no such file; expected a preset "
                           "(tiny, mini, small, medium, base, large)"),
    ("--resume", ["missing.pt"], "--resume missing.pt: no such file"),
    ("--vocab", ["missing.txt"], "--vocab missing.txt: no such file"),
    ("--seq-len", ["2"], "--seq-len 2: must be >= 5"),
    ("--seq-len", ["65"], "--seq-len 65: longer than max_position_embeddings=64"),
    ("--dupe-factor", ["0"], "--dupe-factor 0: must be >= 1"),
    ("--lr", ["-1"], "--lr -1.0: must be a positive number"),
    ("--lr", ["nan"], "--lr nan: must be a positive number"),
    ("--max-seconds", ["0"], "--max-seconds 0.0: must be a positive number of seconds"),
    ("--max-seconds", ["-5"], "--max-seconds -5.0: must be a positive number of seconds"),
    ("--weight-decay", ["-0.1"], "--weight-decay -0.1: must be in [0.0, inf]"),
    ("--clip", ["-1"], "--clip -1.0: must be in [0.0, inf]"),
    ("--precision", ["fp16"], "--precision fp16: needs a CUDA device, not cpu"),
    ("--device", ["tpu9"], "--device tpu9: not a device"),
    ("--held-out", ["1.5"], "--held-out 1.5: must be in [0.0, 1.0)"),
    ("--held-out", ["-1"], "--held-out -1.0: must be in [0.0, 1.0)"),
    ("--held-out", ["0.99"], "--corpus/--held-out 0.99: 1 training document(s) left: next-sentence "
                             "prediction needs at least 2 documents"),
    ("--stop-after", ["0"], "--stop-after 0: must be >= 1"),
    ("--save-every", ["-1"], "--save-every -1: must be >= 0"),
    ("--eval-every", ["-1"], "--eval-every -1: must be >= 0"),
    ("--eval-every", ["2", "--held-out", "0"], "--eval-every 2: nothing to evaluate on; "
                                               "--held-out 0.0 keeps 0 of 60 documents"),
    ("--short-seq-prob", ["1.5"], "--short-seq-prob 1.5: must be in [0.0, 1.0]"),
    ("--vocab-size", ["3"], "--vocab-size 3: must be >= 6"),
    ("--vocab-size", ["40"], "--vocab-size 40: vocab_size=40 is too small"),
    ("--seed", ["-1"], "--seed -1: must be in [0, 2**32)"),
    ("--resume", ["{root}/empty.pt", "--overwrite"], "--overwrite and --resume exclude each other"),
]
if NO_CUDA:
    BAD.append(("--device", ["cuda"], "--device cuda: CUDA is not available"))


def _run_bad(files, tmp_path, capsys, argv):
    with pytest.raises(SystemExit) as exit_info:
        cli(argv)
    assert exit_info.value.code == 2
    lines = capsys.readouterr().err.strip().split("\n")
    return lines[-1]


@pytest.mark.parametrize("flag, values, message", BAD,
                         ids=[f"{f} {' '.join(v)}" for f, v, _ in BAD])
def test_bad_argument_exits_2_naming_it_before_any_work(files, tmp_path, capsys, monkeypatch,
                                                         flag, values, message):
    monkeypatch.chdir(tmp_path)  # relative names of missing files are looked up here
    trained = []
    import bertedu.tokenization.fast as fast

    real_train = fast.train_wordpiece_vocab
    monkeypatch.setattr(fast, "train_wordpiece_vocab",
                        lambda *a, **k: trained.append(1) or real_train(*a, **k))
    values = [v.format(root=files["root"]) for v in values]
    out = tmp_path / "run"
    line = _run_bad(files, tmp_path, capsys, _with(_argv(files, out), flag, *values))
    assert line.startswith(f"python -m bertedu pretrain: error: {message}"), line
    assert not out.exists()  # nothing written, not even the directory
    late = ("--held-out 0.99", "--vocab-size 40", "--eval-every 2 --held-out 0")
    if f"{flag} {' '.join(values)}" not in late:  # these need the corpus or the vocabulary
        assert not trained, "a vocabulary was trained before the argument was checked"


def test_unreadable_resume_checkpoint_and_corpus_are_named(files, tmp_path, capsys):
    empty = str(files["root"] / "empty.pt")
    line = _run_bad(files, tmp_path, capsys, _argv(files, tmp_path / "a", "--resume", empty))
    assert f"--resume {empty}: cannot read checkpoint" in line and "empty or corrupt" in line
    latin = str(files["root"] / "latin1.txt")
    line = _run_bad(files, tmp_path, capsys, _with(_argv(files, tmp_path / "b"), "--corpus",
                                                   latin))
    assert "--corpus: corpus file" in line and "latin1.txt" in line and "not UTF-8" in line
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_module_entry_point_exits_2(files, tmp_path):
    done = subprocess.run([sys.executable, "-m", "bertedu", "pretrain", "--out",
                           str(tmp_path / "x"), "--config", "huge"], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip().split("\n")[-1].endswith(
        "--config huge: unknown preset and no such file; expected a preset (tiny, mini, small, "
        "medium, base, large) or a config.json")
    assert "Traceback" not in done.stderr and not (tmp_path / "x").exists()


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes()
            for p in sorted(directory.rglob("*")) if p.is_file()}


def test_a_finished_run_is_never_overwritten(files, tmp_path, capsys):
    out = tmp_path / "run"
    assert cli(_argv(files, out)) == 0
    before = _snapshot(out)
    assert {"vocab.txt", "model.safetensors", "config.json", "history.json"} <= set(before)
    reruns = [
        _argv(files, out),  # valid, but --out is taken
        _with(_argv(files, out), "--steps", "0"),
        _with(_with(_argv(files, out), "--vocab-size", "250"), "--seq-len", "65"),
        _with(_argv(files, out, "--overwrite"), "--held-out", "0.99"),  # fails after the vocab
        _with(_argv(files, out, "--overwrite"), "--vocab-size", "40"),
    ]
    for argv in reruns:
        with pytest.raises(SystemExit) as exit_info:
            cli(argv)
        assert exit_info.value.code == 2
        assert _snapshot(out) == before, argv  # every file byte-identical, no file added
    assert "already holds files" in capsys.readouterr().err
    # --overwrite replaces the whole run: the new vocabulary and the new model agree
    assert cli(_with(_argv(files, out, "--overwrite"), "--vocab-size", "250")) == 0
    tok = BertTokenizerFast(out / "vocab.txt")
    config = json.loads((out / "config.json").read_text())
    assert config["vocab_size"] == len(tok) <= 250 < len(before["vocab.txt"].split(b"\n"))
    assert not list(out.glob("*.tmp"))


def test_overwrite_removes_the_old_checkpoints(files, tmp_path, capsys):
    out = tmp_path / "run"
    assert cli(_argv(files, out, "--save-every", "1")) == 0
    assert len(list((out / "checkpoints").glob("step-*.pt"))) == 3
    (out / "notes.txt").write_text("mine")
    assert cli(_with(_argv(files, out, "--overwrite"), "--steps", "2")) == 0
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["step-000002.pt"]
    assert (out / "notes.txt").read_text() == "mine"  # not a file of the run: kept


def test_stop_after_names_a_checkpoint_that_exists(files, tmp_path, capsys):
    out = tmp_path / "run"
    assert cli(_argv(files, out, "--stop-after", "2")) == 0
    printed = capsys.readouterr().out.strip()
    checkpoint = printed.split("--resume ")[-1]
    assert printed.startswith("stopped at step 2") and Path(checkpoint).is_file()
    line = _run_bad(files, tmp_path, capsys,
                    _argv(files, out, "--resume", checkpoint, "--stop-after", "2"))
    assert "--stop-after 2: the checkpoint is already at step 2" in line
    line = _run_bad(files, tmp_path, capsys,
                    _with(_argv(files, out, "--resume", checkpoint), "--seed", "4"))
    assert "cannot resume exactly: checkpoint has seed=3" in line
    assert cli(_argv(files, out, "--resume", checkpoint)) == 0
    assert (out / "model.safetensors").is_file()


def test_max_seconds_stops_the_run_with_a_checkpoint(files, tmp_path, capsys):
    out = tmp_path / "run"
    assert cli(_argv(files, out, "--max-seconds", "1e-9")) == 0  # out of time after step 1
    printed = capsys.readouterr().out.strip()
    assert printed.startswith("stopped at step 1"), printed
    history = json.loads((out / "history.json").read_text())
    assert history[-1]["stop_reason"] == "max_seconds"
    assert Path(printed.split("--resume ")[-1]).is_file()


def test_one_seed_one_run(files, tmp_path):
    """Two runs with the same --seed (vocabulary trained by each) give the same losses."""
    histories = []
    for name in ("a", "b"):
        assert cli(_argv(files, tmp_path / name, "--held-out", "0.2", "--eval-every", "2")) == 0
        histories.append(json.loads((tmp_path / name / "history.json").read_text()))
    vocabs = [(tmp_path / name / "vocab.txt").read_bytes() for name in ("a", "b")]
    assert vocabs[0] == vocabs[1]
    for record in (*histories[0], *histories[1]):
        del record["tokens_per_s"]
    assert histories[0] == histories[1] and len(histories[0]) == 3
    assert "eval_mlm_loss" in histories[0][-1]
