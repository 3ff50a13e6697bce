"""Comparing a bertedu pipeline result with transformers': same structure, same labels, spans
and strings, scores within 1e-4."""

import numbers

import transformers

import bertedu

ATOL = 1e-4


def assert_same(ours, theirs, where="result"):
    """Recursive equality of pipeline outputs; numbers (scores, features) to ``ATOL``."""
    if isinstance(theirs, dict):
        assert isinstance(ours, dict), f"{where}: {ours!r} is not a dict"
        assert sorted(ours) == sorted(theirs), f"{where}: keys {sorted(ours)} != {sorted(theirs)}"
        for key in theirs:
            assert_same(ours[key], theirs[key], f"{where}[{key!r}]")
    elif isinstance(theirs, (list, tuple)):
        assert isinstance(ours, (list, tuple)), f"{where}: {ours!r} is not a list"
        assert len(ours) == len(theirs), f"{where}: {len(ours)} items != {len(theirs)}"
        for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
            assert_same(a, b, f"{where}[{i}]")
    elif isinstance(theirs, str) or isinstance(theirs, numbers.Integral):
        assert ours == theirs, f"{where}: {ours!r} != {theirs!r}"
    else:
        assert abs(float(ours) - float(theirs)) <= ATOL, f"{where}: {ours} != {theirs}"


def both(task, directory, **kwargs):
    """The bertedu and the transformers pipeline of ``task`` on one checkpoint directory."""
    ours = bertedu.pipeline(task, model=directory, **kwargs)
    theirs = transformers.pipeline(task, model=directory, device="cpu", **kwargs)
    return ours, theirs
