"""What every checker test asserts: full marks for a right solution, a message for a wrong one,
and a failed library case (with the other cases passing) for one that calls the library."""

from __future__ import annotations

import re


def assert_full_marks(checker, solution, **options):
    result = checker(solution, raise_on_failure=False, **options)
    assert result.failures == [] and result.passed == result.total > 0, str(result)
    assert {o.group for o in result.outcomes} >= {"visible", "hidden", "library"}
    return result


def assert_rejected(checker, wrong, message: str, **options):
    result = checker(wrong, raise_on_failure=False, **options)
    assert not result and result.passed < result.total
    assert any(re.search(message, f) for f in result.failures), str(result)
    return result


def assert_library_call_caught(checker, cheat, label: str, **options):
    """The cheat gets right answers, so only the library case fails, naming what it called."""
    result = checker(cheat, raise_on_failure=False, **options)
    failed = [o for o in result.outcomes if not o.passed]
    assert [o.group for o in failed] == ["library"], str(result)
    assert f"calls the library's {label}" in failed[0].message, str(result)
    assert result.passed == result.total - 1
    return result
