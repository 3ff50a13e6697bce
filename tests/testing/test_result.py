"""The grading framework: CheckResult, case groups, seeds and the library tripwire."""

from __future__ import annotations

import pytest

from bertedu.testing import GROUPS, CheckResult, LibraryCallError, check_lr_schedule
from bertedu.testing.result import Case, forbid, run_check
from bertedu.tokenization import truncation
from bertedu.tokenization.encoding import EncodingMixin
from bertedu.tokenization.slow import BertTokenizer
from bertedu.training import optimization

from .test_optimization import schedule


def test_a_result_counts_cases_and_is_truthy_only_when_all_pass():
    result = check_lr_schedule(schedule, seed=3)
    assert isinstance(result, CheckResult) and result and result.score == 1.0
    assert result.seed == 3 and result.total == 9 and result.failures == []
    assert [o.group for o in result.outcomes].count("hidden") == 3


def test_a_failure_raises_by_default_with_every_message_and_the_seed_to_replay():
    def wrong(warmup, total):
        return lambda step: 1.0

    with pytest.raises(AssertionError) as err:
        check_lr_schedule(wrong, seed=11)
    text = str(err.value)
    assert "check_lr_schedule: 1/9 cases passed (seed 11)" in text
    assert "[edge] no warmup: warmup=0, total=20: factor(1) is 1.0, expected 0.95" in text
    assert "check_lr_schedule(your_function, seed=11)" in text
    with pytest.raises(AssertionError, match="1/9 cases passed"):
        check_lr_schedule(wrong, seed=11, raise_on_failure=False).raise_for_failures()


def test_groups_select_cases_and_an_unknown_group_is_named():
    result = check_lr_schedule(schedule, groups="edge")
    assert {o.group for o in result.outcomes} == {"edge"} and result.total == 3
    assert check_lr_schedule(schedule, groups=["visible", "library"]).total == 3
    with pytest.raises(ValueError, match=r"unknown case groups \['hiden'\].*'hidden'"):
        check_lr_schedule(schedule, groups="hiden")
    assert GROUPS == ("visible", "edge", "hidden", "library")


def test_hidden_cases_follow_the_seed_and_change_between_runs():
    def names_and_steps(seed):
        seen = []

        def spy(warmup, total):
            seen.append((warmup, total))
            return schedule(warmup, total)

        check_lr_schedule(spy, seed=seed, groups="hidden")
        return seen

    assert names_and_steps(7) == names_and_steps(7)
    assert names_and_steps(7) != names_and_steps(8)
    assert len({check_lr_schedule(schedule).seed for _ in range(4)}) > 1  # fresh per run


def test_a_crash_in_the_student_code_is_a_failed_case():
    result = run_check("demo", lambda: 1 / 0, [Case("divides", "visible", lambda call: call())],
                       seed=0, forbidden=[], raise_on_failure=False)
    assert result.failures == ["[visible] divides: raised ZeroDivisionError: division by zero"]


def test_forbid_patches_and_restores_functions_static_methods_and_the_students_names():
    namespace = {"alias": optimization.linear_warmup_decay}
    original_static = vars(EncodingMixin)["truncate_sequences"]
    targets = ["bertedu.training.optimization.linear_warmup_decay",
               "bertedu.tokenization.encoding.EncodingMixin.truncate_sequences",
               "bertedu.tokenization.slow.BertTokenizer.tokenize"]
    tripped = []
    with forbid(targets, namespace, tripped):
        for call in (lambda: optimization.linear_warmup_decay(1, 2), lambda: namespace["alias"](),
                     lambda: BertTokenizer.truncate_sequences([1], [2], 1, "longest_first")):
            with pytest.raises(LibraryCallError, match="calls the library's"):
                call()
    assert tripped == ["optimization.linear_warmup_decay"] * 2 + [
        "EncodingMixin.truncate_sequences"]
    assert namespace["alias"] is optimization.linear_warmup_decay
    assert vars(EncodingMixin)["truncate_sequences"] is original_static
    assert BertTokenizer.truncate_sequences is truncation.truncate_sequences
    assert "tokenize" in vars(BertTokenizer)  # defined there: restored, not deleted
    assert optimization.linear_warmup_decay(2, 4)(1) == 0.5


def test_a_solution_that_swallows_the_tripwire_is_still_caught():
    def sly(warmup, total):
        try:
            optimization.linear_warmup_decay(warmup, total)
        except Exception:
            pass
        return schedule(warmup, total)

    result = check_lr_schedule(sly, raise_on_failure=False)
    assert result.failures == [
        "[library] builds it by hand: optimization.linear_warmup_decay / "
        "optimization.make_optimizer: calls the library's optimization.linear_warmup_decay "
        "(write it yourself instead)"]
