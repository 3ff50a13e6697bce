"""bertedu.finetuning.data: local JSON Lines and the hub path, one loader."""

import json
import os

import pytest

from bertedu.finetuning import data

DATA = os.environ.get("BERTEDU_DATA")

EXPECTED = {("sst2", "train"): 67_349, ("sst2", "validation"): 872,
            ("wnut_17", "train"): 3_394, ("wnut_17", "validation"): 1_009,
            ("wnut_17", "test"): 1_287, ("squad", "validation"): 10_570,
            ("commonsense_qa", "train"): 9_741, ("commonsense_qa", "validation"): 1_221}


def test_make_test_provides_the_data():
    # make test points BERTEDU_DATA at ../shared/data; the suite must not shrink without it
    assert DATA and os.path.isdir(DATA), "BERTEDU_DATA must name the shared data folder"


@pytest.mark.parametrize("task, split", sorted(EXPECTED))
def test_local_splits_are_whole(task, split):
    ds = data.load_split(task, split)
    assert len(ds) == EXPECTED[task, split]


def test_columns_follow_the_hub_schema():
    assert set(data.load_split("sst2", "validation").column_names) == {"idx", "sentence", "label"}
    assert {"tokens", "ner_tags"} <= set(data.load_split("wnut_17", "test").column_names)
    squad = data.load_split("squad", "validation")
    assert {"id", "context", "question", "answers"} <= set(squad.column_names)
    assert {"question", "choices", "answerKey"} <= set(
        data.load_split("commonsense_qa", "validation").column_names)


def test_label_names():
    names = data.label_names("wnut_17")
    assert len(names) == 13 and names[0] == "O" and names[1] == "B-corporation"
    assert data.label_names("sst2") == ["negative", "positive"]


def test_describe_source_names_the_files():
    text = data.describe_source("sst2", "validation")
    assert text.startswith("SST-2 validation (local files in") and "sst2" in text


def test_tmp_folder_and_errors(tmp_path):
    (tmp_path / "sst2").mkdir()
    rows = [{"idx": i, "sentence": f"s{i}", "label": i % 2} for i in range(5)]
    (tmp_path / "sst2" / "train.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    (tmp_path / "sst2" / "validation.jsonl").write_text("")
    ds = data.load_split("sst2", "train", data_dir=tmp_path)
    assert ds["sentence"] == [f"s{i}" for i in range(5)]
    with pytest.raises(ValueError, match="unknown task 'sst3'.*sst2"):
        data.load_split("sst3", "train", data_dir=tmp_path)
    with pytest.raises(ValueError, match="no split 'dev'"):
        data.load_split("sst2", "dev", data_dir=tmp_path)
    with pytest.raises(FileNotFoundError, match="no 'test' split of 'sst2'.*train, validation"):
        data.load_split("sst2", "test", data_dir=tmp_path)
    with pytest.raises(ValueError, match="split of 'sst2' is empty"):
        data.load_split("sst2", "validation", data_dir=tmp_path)
    with pytest.raises(FileNotFoundError, match="is not a directory"):
        data.load_split("sst2", "train", data_dir=tmp_path / "absent")


def test_hub_path_is_called_with_the_hub_ids(monkeypatch):
    """Without a local folder the loader asks `datasets` for the hub copy (no network here: the
    call is recorded and answered from a local file)."""
    import datasets

    calls = []
    real = datasets.load_dataset
    local = os.path.join(DATA, "sst2", "validation.jsonl")

    def fake(path, name=None, split=None, **kw):
        calls.append((path, name, split, kw.get("revision")))
        if path == "json":
            return real(path, name, split=split, **kw)
        if kw.get("revision") is None and path == "leondz/wnut_17":
            raise RuntimeError("Dataset scripts are no longer supported")
        return real("json", data_files={split: local}, split=split)

    monkeypatch.delenv("BERTEDU_DATA")
    monkeypatch.setattr(datasets, "load_dataset", fake)
    assert len(data.load_split("sst2", "validation")) == 872
    assert calls[-1] == ("nyu-mll/glue", "sst2", "validation", None)
    data.load_split("wnut_17", "validation")
    assert calls[-2:] == [("leondz/wnut_17", None, "validation", None),
                          ("leondz/wnut_17", None, "validation", "refs/convert/parquet")]
    source = data.describe_source("sst2", "validation")
    assert source == "SST-2 validation (hub: nyu-mll/glue, sst2)"
