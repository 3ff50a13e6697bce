"""The data-loading benchmark: rows for prepare and every path, measured and consistent."""

import torch

from bertedu.bench.data_loading import LOADER_COLUMNS, bench_data_loading
from bertedu.bench.report import read_csv, write_csv
from bertedu.pretraining.corpus import default_corpus


def test_rows_cover_prepare_and_both_paths(tmp_path):
    torch.set_num_threads(1)
    rows = bench_data_loading(default_corpus()[:60], vocab_size=400, batch_size=8, seq_len=128,
                              batches=4, reps=1, workers=(0,), dupe_factor=1)
    paths = [(r["path"], r.get("num_workers"), r.get("bucket")) for r in rows]
    assert paths == [("prepare", None, None), ("in-memory", 0, False), ("shards", 0, True),
                     ("shards", 0, False)]
    prepare, memory, bucketed, plain = rows
    assert prepare["tokens"] > 0 and prepare["shard_files"] == 3 and prepare["setup_s"] > 0
    for r in rows[1:]:
        assert r["batches_per_s"] > 0 and r["batches_per_s_cold"] < r["batches_per_s"]
        assert 0 <= r["padding_fraction"] < 1
    assert bucketed["padding_fraction"] < plain["padding_fraction"]
    write_csv(rows, tmp_path / "loader.csv", columns=LOADER_COLUMNS)
    assert [r["path"] for r in read_csv(tmp_path / "loader.csv")] == [r["path"] for r in rows]
