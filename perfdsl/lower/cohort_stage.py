"""The cohort stage of the row-at-a-time evaluator: the core's cohort steps (steps.py),
then each subject's values that read a final tier (`post`), its ranks and group values
(`cohort`), and every flag. A value that cannot be computed is its row's problem, a
group value's failure each failing member's; the first problem of a row is kept."""
from __future__ import annotations

from decimal import Decimal

from .. import runtime as rt
from ..cohort import CohortError, aggregate_values
from ..io import DataProblem
from ..result import Result
from . import core as c
from .evaluate import Machine
from .ranking import competition_ranks, group_record, part_value, partition, ranked
from .steps import Steps


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


class _Shared:
    """Each ranking and aggregate computed once for the whole cohort (by identity)."""

    def __init__(self, results: list[Result]):
        self.results = results
        self._ranks: dict[int, dict[int, tuple[int, int]]] = {}
        self._values: dict[int, dict[object, Decimal]] = {}

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
                        args.append(_guarded(a.owner, lambda: Machine({**m.record, **m.values}).eval(a.arg)))
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


def run_cohort(program: c.Program, results: list[Result], numbers: list[int]) -> list[str]:
    """The cohort stage over `results` in place: the warnings, or CohortError."""
    steps = Steps(program, results)
    for step in program.steps:
        steps.run(step)
    if steps.problems:
        raise CohortError(steps.problems)
    row = {id(r): n for r, n in zip(results, numbers)}
    failed: dict[int, rt.EvalError] = {}
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


def _each_row(step, r: Result, row: dict, failed: dict) -> None:
    """Run one subject's stage, keeping each row's first error."""
    try:
        step()
    except rt.EvalError as err:
        failed.setdefault(row[id(r)], err)
    except _MembersFailed as group:
        for member, err in group.failures:
            failed.setdefault(row[id(member)], err)
