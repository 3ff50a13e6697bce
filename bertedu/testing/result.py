"""Checker results worth a grade: named cases in groups, passed out of total, a message per failure.

A checker is a list of cases, each a small experiment that calls the student's function once and
compares what comes back with the library. The cases come in four groups:

* ``visible``: the fixed inputs the exercise describes, the same on every run;
* ``edge``: the corners a first attempt misses (padding rows, length 1, cache offsets, empty
  inputs);
* ``hidden``: randomised inputs drawn from the run's ``seed``. The seed is fresh on every call
  unless given, and reported in the result, so ``check_x(fn, seed=...)`` replays a failure;
* ``library``: the visible cases again while the library's own implementation of the exercise is
  patched to raise. A solution that calls the module it was asked to build fails this case with
  "calls the library's X" (its answer is right, but it was not built by hand).

The score is ``passed / total``; ``bool(result)`` is true only when every case passed. In a chapter
``check_x(fn)`` raises ``AssertionError`` listing the failures (``raise_on_failure=True``), so a
wrong answer stops the notebook; an autograder asks for one group at a time and grades each.

References:
    Otter-Grader documentation, "Creating assignments" (one test case per point-bearing check).
"""

from __future__ import annotations

import functools
import importlib
import random
from collections.abc import Callable, Iterable, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field

GROUPS = ("visible", "edge", "hidden", "library")


class LibraryCallError(Exception):
    """Raised inside a student's function when it calls the library module it should replace."""


@dataclass(frozen=True)
class Case:
    """One experiment: ``body(call)`` calls the student's function through ``call`` and raises
    ``AssertionError`` with a message when the answer differs from the library's."""

    name: str
    group: str
    body: Callable[[Callable], None]


@dataclass(frozen=True)
class CaseOutcome:
    """How one case went: its name, group, whether it passed and, if not, why."""

    name: str
    group: str
    passed: bool
    message: str = ""


@dataclass(repr=False)
class CheckResult:
    """The outcome of one checker run: ``passed`` cases out of ``total``, and why the others failed.

    ``failures`` holds one message per failed case, naming the case and what was expected versus
    what came back. ``seed`` draws the hidden cases. Truthy only when every case passed.
    """

    name: str
    seed: int
    outcomes: list[CaseOutcome] = field(default_factory=list)

    @property
    def passed(self) -> int:
        return sum(o.passed for o in self.outcomes)

    @property
    def total(self) -> int:
        return len(self.outcomes)

    @property
    def score(self) -> float:
        """The fraction of cases passed (1.0 for a checker with no cases in the chosen groups)."""
        return self.passed / self.total if self.total else 1.0

    @property
    def failures(self) -> list[str]:
        return [f"[{o.group}] {o.name}: {o.message}" for o in self.outcomes if not o.passed]

    def __bool__(self) -> bool:
        return self.passed == self.total

    def __str__(self) -> str:
        lines = [f"{self.name}: {self.passed}/{self.total} cases passed (seed {self.seed})"]
        lines += [f"  - {failure}" for failure in self.failures]
        return "\n".join(lines)

    __repr__ = __str__  # a notebook cell ending in a check shows the score, case by case

    def raise_for_failures(self) -> CheckResult:
        """Raise ``AssertionError`` listing every failed case; return ``self`` when all passed."""
        if not self:
            raise AssertionError(
                f"{self}\n  (replay these cases with {self.name}(your_function, seed={self.seed}))")
        return self


def fresh_seed() -> int:
    """A seed for the hidden cases, different on every call (reported in the result)."""
    return random.SystemRandom().randrange(2**31)


def _resolve(target: str):
    """``"package.module.Class.attribute"`` -> (owner object, attribute name)."""
    parts = target.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            owner = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for name in parts[cut:-1]:
            owner = getattr(owner, name)
        return owner, parts[-1]
    raise ValueError(f"cannot resolve {target!r}")


@contextmanager
def forbid(targets: Sequence[str], namespace: dict | None = None, tripped: list | None = None):
    """Make every ``targets`` entry raise ``LibraryCallError`` while the block runs.

    Each target is a dotted path to a function, method or class attribute. Names in
    ``namespace`` (the student's globals) bound to the same object are patched too, so
    ``from bertedu... import f`` in a notebook does not slip past. Labels of the targets that were
    called are appended to ``tripped``.
    """
    tripped = [] if tripped is None else tripped
    with ExitStack() as stack:
        for target in targets:
            owner, attr = _resolve(target)
            inherited = isinstance(owner, type) and attr not in vars(owner)
            original = vars(owner)[attr] if isinstance(owner, type) and not inherited else getattr(
                owner, attr)
            label = ".".join(target.split(".")[-2:])

            def tripwire(*args, _label=label, **kwargs):
                tripped.append(_label)
                raise LibraryCallError(f"calls the library's {_label}")

            replacement = staticmethod(tripwire) if isinstance(original, staticmethod) else tripwire
            setattr(owner, attr, replacement)
            if inherited:
                stack.callback(delattr, owner, attr)
            else:
                stack.callback(setattr, owner, attr, original)
            plain = getattr(original, "__func__", original)
            for name, value in list((namespace or {}).items()):
                if value is plain or value is original:
                    namespace[name] = tripwire
                    stack.callback(namespace.__setitem__, name, value)
        yield tripped


def _outcome(case: Case, call: Callable) -> CaseOutcome:
    try:
        case.body(call)
    except AssertionError as err:
        return CaseOutcome(case.name, case.group, False, str(err) or "assertion failed")
    except LibraryCallError as err:
        return CaseOutcome(case.name, case.group, False, str(err))
    except Exception as err:  # a crash in the student's code is a failed case, not a crash here
        return CaseOutcome(case.name, case.group, False, f"raised {type(err).__name__}: {err}")
    return CaseOutcome(case.name, case.group, True)


def _library_outcome(cases: list[Case], student_fn: Callable, forbidden: Sequence[str]):
    """Run the visible cases with the library patched; fail only if the library was called."""
    tripped: list[str] = []
    namespace = getattr(student_fn, "__globals__", None)
    for target in forbidden:  # the library's own function handed in as the solution
        owner, attr = _resolve(target)
        if getattr(getattr(owner, attr), "__func__", getattr(owner, attr)) is student_fn:
            tripped.append(".".join(target.split(".")[-2:]))

    def call(*args, **kwargs):
        with forbid(forbidden, namespace, tripped):
            return student_fn(*args, **kwargs)

    for case in cases:
        try:
            case.body(call)
        except Exception:  # wrong answers are graded by the other groups
            pass
    name = "builds it by hand: " + " / ".join(".".join(t.split(".")[-2:]) for t in forbidden)
    if tripped:
        return CaseOutcome(name, "library", False,
                           f"calls the library's {tripped[0]} (write it yourself instead)")
    return CaseOutcome(name, "library", True)


def run_check(
    name: str,
    student_fn: Callable,
    cases: Iterable[Case],
    *,
    seed: int,
    forbidden: Sequence[str],
    groups: str | Iterable[str] | None = None,
    raise_on_failure: bool = True,
) -> CheckResult:
    """Run ``cases`` (and the library case) on ``student_fn`` and collect a ``CheckResult``.

    ``groups`` picks some of ``visible``, ``edge``, ``hidden``, ``library`` (default: all).
    """
    wanted = set(GROUPS if groups is None else [groups] if isinstance(groups, str) else groups)
    unknown = wanted - set(GROUPS)
    if unknown:
        raise ValueError(f"unknown case groups {sorted(unknown)}; choose from {list(GROUPS)}")
    cases = list(cases)
    result = CheckResult(name, seed)
    result.outcomes = [_outcome(c, student_fn) for c in cases if c.group in wanted]
    if "library" in wanted and forbidden:
        visible = [c for c in cases if c.group == "visible"]
        result.outcomes.append(_library_outcome(visible, student_fn, forbidden))
    return result.raise_for_failures() if raise_on_failure else result


def checker(*forbidden: str):
    """Turn ``build(seed, **options) -> list[Case]`` into a public ``check_*`` function.

    The checker takes ``student_fn`` and the keywords ``seed`` (default: a fresh one), ``groups``
    and ``raise_on_failure`` (default True), plus the builder's own options, and returns a
    ``CheckResult``. ``forbidden`` lists the library functions the student must not call.
    """

    def decorate(build: Callable[..., list[Case]]):
        @functools.wraps(build)
        def check(student_fn: Callable, *, seed: int | None = None,
                  groups: str | Iterable[str] | None = None, raise_on_failure: bool = True,
                  **options) -> CheckResult:
            seed = fresh_seed() if seed is None else seed
            return run_check(build.__name__, student_fn, build(seed, **options), seed=seed,
                             forbidden=forbidden, groups=groups,
                             raise_on_failure=raise_on_failure)

        del check.__wrapped__  # the public signature is check's, not the builder's
        return check

    return decorate


def case_rng(seed: int, index: int) -> random.Random:
    """The random source of hidden case ``index`` for a run with ``seed``."""
    return random.Random(seed * 7919 + index)
