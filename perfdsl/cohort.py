"""The cohort stage (LANGUAGE.md §6): quotas, forced distribution, ranks, group aggregates.

One implementation for every backend: the core program's cohort steps
(perfdsl.lower: lower.py says what a quota and `distribute` mean, steps.py executes them,
cohort_stage.py runs the stage). `apply` takes the results of the individual stage of
any backend with the interpreter's protocol, settles every tier a quota or `distribute`
governs, then has the backend recompute what reads a final tier (`post`) and what reads
the cohort (`cohort`: ranks, group aggregates, and every flag).

The names below are kept for the other backends and reports (the columnar placement,
cohort_counts): thin wrappers over perfdsl.lower.
"""
from __future__ import annotations

from decimal import Decimal

from .eval.interpret import owner_text
from .ir import DistributeDef, GroupAgg, Policy, QuotaDef, RankOrder, Share
from .lower.cohort_stage import CohortError, aggregate_values, run_cohort
from .lower import ranking
from .lower.core import HeadCount, Partition, Rounding, reads
from .lower.lower import _Lowerer, lower_steps
from .lower.ranking import group_record, partition
from .lower.steps import Steps
from .lower.wording import group_label, quota_text, quota_warnings, share_basis
from .result import Result
from .runtime import DecimalException, arithmetic_error

__all__ = ["CohortError", "Placer", "aggregate_of", "aggregate_values", "apply", "group_label", "group_members",
           "head_count", "quota_text", "quota_warnings", "share_basis"]


def apply(policy: Policy, backend, results: list[Result], numbers: list[int] | None = None) -> list[str]:
    """Run the cohort stage over `results` in place; return the warnings, raise CohortError.

    A value of the `post` or `cohort` stage that cannot be computed (an EvalError) is a
    problem of its subject's row, numbered as in `numbers` (else from 1), like an error
    of the individual stage; a group value that fails is its member's problem."""
    numbers = numbers or list(range(1, len(results) + 1))
    return run_cohort(lower_steps(policy), results, numbers, backend, policy)


def aggregate_of(node: GroupAgg, values: list) -> Decimal:
    """`node`'s aggregate of its group's values; a decimal trap names the aggregate."""
    try:
        return aggregate_values(node.fn, values)
    except DecimalException as exc:
        raise arithmetic_error(exc, f"{node.span.file}:{node.span.line}:{node.span.col}", owner_text(node)) from None


def group_members(results: list[Result], field: str | None) -> list[tuple[object, list[Result]]]:
    """The subjects by their value of `field`, in order of first appearance (one group without)."""
    return partition(results, Partition(field if field is None or isinstance(field, str) else tuple(field)))


def head_count(share: Share, n: int, rounding: str) -> int:
    """A head count: a percentage of the group size rounded as the rule says, or a plain count."""
    return ranking.head_count(HeadCount(share.value, share.percent, Rounding(rounding)), n)


def _hashable(value):
    return tuple(value) if isinstance(value, list) else value


class Placer:
    """The core's cohort steps for IR rules, one group at a time (the columnar backend places
    groups so; cohort_counts reads the bounds), collecting warnings and problems."""

    def __init__(self, policy: Policy, results: list[Result]):
        self.policy = policy
        self.steps = Steps(lower_steps(policy), results)
        self._lower = _Lowerer(policy)
        self._distributes: dict[int, tuple] = {}  # id(rule) → (its core rule, what its `when`s read)
        self._bounds: dict[tuple, tuple] = {}  # (id(rule), size, what the `when`s read) → Steps.bounds

    language = property(lambda self: self.steps.lang)  # what its messages speak (policy_language)
    position = property(lambda self: self.steps.position, lambda self, v: setattr(self.steps, "position", v))
    warnings = property(lambda self: self.steps.warnings, lambda self, v: setattr(self.steps, "warnings", v))
    problems = property(lambda self: self.steps.problems, lambda self, v: setattr(self.steps, "problems", v))

    def who(self, r: Result) -> str:
        return self.steps.who(r)

    def cut(self, order: RankOrder, candidates: list[Result], k: int, ties_share: bool, what: str, label: str) -> int | None:
        """How many of `candidates` (best first) get in for k places (None: a tie problem)."""
        return self.steps.cut(self._lower.ranking(order, ties_share), candidates, k, what, label)

    def quota(self, q: QuotaDef, label: str, members: list[Result], value=None) -> None:
        core = self._lower.quota(q)
        self.steps.visit(core, label, members, group_record(core.ranking.partition, value, len(members)))

    def distribute(self, d: DistributeDef, label: str, members: list[Result], value=None) -> None:
        core = self._lower.distribute(d)
        self.steps.visit(core, label, members, group_record(core.ranking.partition, value, len(members)))

    def bounds(self, d: DistributeDef, names: tuple[str, ...], members: list[Result], label: str):
        """Each tier's (lo, hi) counts for this group, their text, Bound records and the
        `when` lines that held; None, with a problem recorded, when a `when` fails.

        They depend only on the group's size and on what its `when`s read of its first
        member, so groups alike share one answer: a summary of 40,000 groups of some 25
        subjects works out a handful (a failing `when` is tried again, to name each group)."""
        if id(d) not in self._distributes:
            core = self._lower.distribute(d)
            self._distributes[id(d)] = core, sorted({f for w in core.whens for f in reads(w.test)})
        core, read = self._distributes[id(d)]
        first = {**members[0].record, **members[0].values} if read else {}
        key = (id(d), len(members), *(_hashable(first.get(f)) for f in read))
        if key not in self._bounds:
            got = self.steps.bounds(core, members, label)
            if got is None:
                return None
            self._bounds[key] = got
        return self._bounds[key]
