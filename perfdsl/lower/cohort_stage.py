"""The cohort stage of the row-at-a-time evaluator: the core's cohort steps (steps.py),
then each subject's values that read a final tier (`post`), its ranks and group values
(`cohort`), and every flag. A value that cannot be computed is its row's problem, a
group value's failure each failing member's; the first problem of a row is kept.

`run_cohort` runs `post` and `cohort` on the core Machine, or on a backend with the
interpreter's protocol (`post`, `cohort`, `group_arg`): the reference's cohort view asks
for ranks by IR rank order and group values by IR aggregate, generated code (`by_index`)
by number into its RANKINGS and GROUPS, which this stage maps back to the core's nodes
(walk.cohort_nodes of the policy's program, as the printer numbered them).
"""
from __future__ import annotations

from decimal import Decimal
from functools import cached_property

from .. import runtime as rt
from ..io import DataError, DataProblem
from ..runtime import Result
from . import core as c
from .evaluate import Machine
from .ranking import competition_ranks, group_record, part_value, partition, ranked
from .steps import Steps
from .walk import cohort_nodes


class CohortError(DataError):
    """The cohort cannot be placed, or a value of its stage cannot be computed for some
    subjects; each problem names the group, subjects and numbers, or the row."""

    def __init__(self, problems: list):
        super().__init__([p if isinstance(p, DataProblem) else DataProblem(None, None, p) for p in problems])


def aggregate_values(fn: str, values: list) -> Decimal:
    """A group aggregate of its members' values (mean: 28 digits, half even)."""
    if fn == "count":
        return Decimal(sum(1 for v in values if v is True))
    if fn == "min":
        return min(values)
    if fn == "max":
        return max(values)
    total = Decimal(0)
    for v in values:
        total = rt.CONTEXT.add(total, v)
    return total if fn == "sum" else rt.CONTEXT.divide(total, Decimal(len(values)))


class _MembersFailed(Exception):
    """Group values that could not be computed: (member, EvalError) pairs."""

    def __init__(self, failures: list):
        super().__init__(failures[0][1])
        self.failures = failures


class CohortView:
    """One subject's view of the settled cohort: `size`, its ranks, its groups' values;
    a traced subject files each under its `fact` key for the explanation."""

    def __init__(self, shared: "_Shared", r: Result):
        self.shared, self.r = shared, r
        self.size = Decimal(len(shared.results))

    def rank(self, e: c.RankOf) -> Decimal:
        rank, n = self.shared.rank(e.ranking, self.r)
        if self.r.trace is not None:
            p = e.ranking.partition
            self.r.trace.cohort[e.fact] = (rank, n, group_record(p, part_value(self.r, p), 0))
        return Decimal(n + 1 - rank if e.from_bottom else rank)

    def aggregate(self, a: c.Aggregate) -> Decimal:
        value = self.shared.aggregate(a, self.r)
        if self.r.trace is not None:
            self.r.trace.cohort[a.fact] = (value, group_record(a.partition, part_value(self.r, a.partition), 0))
        return value


class BackendView(CohortView):
    """The same view as a backend with the interpreter's protocol asks it: ranks by IR rank
    order, group values by IR aggregate node (each lowered once per cohort)."""

    def rank(self, order, from_bottom: bool) -> Decimal:
        return super().rank(self.shared.rank_of(order, from_bottom))

    def aggregate(self, node) -> Decimal:
        return super().aggregate(self.shared.aggregate_of(node))


class IndexView(CohortView):
    """The view generated code asks: ranks and group values by index (its RANKINGS, GROUPS)."""

    def rank(self, i: int, from_bottom: bool) -> Decimal:
        rankings, facts, _ = self.shared.numbered
        return super().rank(c.RankOf(rankings[i], from_bottom, facts[i]))

    def aggregate(self, i: int) -> Decimal:
        return super().aggregate(self.shared.numbered[2][i])


class _Shared:
    """Each ranking and aggregate computed once for the whole cohort (by identity)."""

    def __init__(self, results: list[Result], policy=None, backend=None):
        self.results, self.backend = results, backend
        self._ranks: dict[int, dict[int, tuple[int, int]]] = {}
        self._values: dict[int, dict[object, Decimal]] = {}
        self._lowered: dict[tuple, tuple] = {}
        self.policy = policy
        if policy is not None:
            from .lower import _Lowerer
            self._lowerer = _Lowerer(policy)

    @cached_property
    def numbered(self) -> tuple:
        """(rankings, their trace keys, aggregates) of the policy's program, by the numbers a
        backend `by_index` asks with (lowered once per cohort, when first asked)."""
        from .lower import lower_policy
        return cohort_nodes(lower_policy(self.policy))

    def rank_of(self, order, from_bottom: bool) -> c.RankOf:
        key = ("rank", id(order), from_bottom)
        if key not in self._lowered:
            self._lowered[key] = (order, c.RankOf(self._lowerer.ranking(order, False), from_bottom, ("rank", order)))
        return self._lowered[key][1]

    def aggregate_of(self, node) -> c.Aggregate:
        key = ("group", id(node))
        if key not in self._lowered:
            self._lowered[key] = (node, self._lowerer.expr(node).aggregate)
        return self._lowered[key][1]

    def _arg(self, a: c.Aggregate, m: Result):
        if self.backend is not None:
            by_index = getattr(self.backend, "by_index", False)
            return self.backend.group_arg(self.numbered[2].index(a) if by_index else a.fact[1], m)
        return _guarded(a.owner, lambda: Machine({**m.record, **m.values}).eval(a.arg))

    def rank(self, ranking: c.Ranking, r: Result) -> tuple[int, int]:
        """(competition rank, part size) of r."""
        if id(ranking) not in self._ranks:
            table = {}
            for _, members in partition(self.results, ranking.partition):
                ranks = competition_ranks(ranking, ranked(ranking, members))
                table.update((id(m), (ranks[id(m)], len(members))) for m in members)
            self._ranks[id(ranking)] = table
        return self._ranks[id(ranking)][id(r)]

    def aggregate(self, a: c.Aggregate, r: Result) -> Decimal:
        if id(a) not in self._values:
            table, failures = {}, []
            for value, members in partition(self.results, a.partition):
                args = []
                for m in members:
                    try:
                        args.append(self._arg(a, m))
                    except rt.EvalError as err:
                        failures.append((m, err))
                if not failures:
                    table[value] = _guarded(a.owner, lambda: aggregate_values(a.fn.value, args))
            if failures:
                raise _MembersFailed(failures)
            self._values[id(a)] = table
        return self._values[id(a)][part_value(r, a.partition)]


def _guarded(owner: c.Owner, compute):
    try:
        return compute()
    except rt.DecimalException as exc:
        raise rt.arithmetic_error(exc, owner.where, owner.what) from None


def run_cohort(program: c.Program, results: list[Result], numbers: list[int], backend=None, policy=None) -> list[str]:
    """The cohort stage over `results` in place: the warnings, or CohortError. With a
    `backend` (and the IR `policy` it runs), `post` and `cohort` are the backend's."""
    steps = Steps(program, results)
    for step in program.steps:
        steps.run(step)
    if steps.problems:
        raise CohortError(steps.problems)
    row = {id(r): n for r, n in zip(results, numbers)}
    failed: dict[int, rt.EvalError] = {}
    if backend is not None:
        _through(backend, policy, results, row, failed)
        return steps.warnings
    machines = {}
    for r in results:
        r.through_cohort = True
        m = machines[id(r)] = Machine({**r.record, **r.values}, None, r.trace)
        _each_row(lambda: [m.define(d, r) for d in program.post], r, row, failed)
    shared = _Shared(results)
    for r in results:
        if row[id(r)] not in failed:
            m = machines[id(r)]
            m.ctx = CohortView(shared, r)

            def later(m=m, r=r):
                for d in program.cohort:
                    m.define(d, r)
                r.flags = [f.label for f in program.cohort_flags if m.holds(f)]
            _each_row(later, r, row, failed)
    if failed:
        raise CohortError([DataProblem(n, None, str(failed[n])) for n in sorted(failed)])
    return steps.warnings


def _through(backend, policy, results: list[Result], row: dict, failed: dict) -> None:
    """`post` then `cohort` of every subject by the backend, as run_cohort runs them."""
    for r in results:
        r.through_cohort = True
        _each_row(lambda: backend.post(r), r, row, failed)
    shared = _Shared(results, policy, backend)
    view = IndexView if getattr(backend, "by_index", False) else BackendView
    for r in results:
        if row[id(r)] not in failed:
            _each_row(lambda: backend.cohort(r, view(shared, r)), r, row, failed)
    if failed:
        raise CohortError([DataProblem(n, None, str(failed[n])) for n in sorted(failed)])


def _each_row(step, r: Result, row: dict, failed: dict) -> None:
    """Run one subject's stage, keeping each row's first error."""
    try:
        step()
    except rt.EvalError as err:
        failed.setdefault(row[id(r)], err)
    except _MembersFailed as group:
        for member, err in group.failures:
            failed.setdefault(row[id(member)], err)
