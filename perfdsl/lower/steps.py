"""The core's cohort steps on Result rows, one subject at a time: partition, rank with
the declared tie rule, head-count bounds, cuts, quota and per-tier placement, then the
values that read final tiers, ranks and group values, then every flag.

What `distribute` does is fixed by the core's Placement steps (LANGUAGE.md §6 step 5);
this module only executes them. Messages are perfdsl.cohort's words (its helpers are
imported), so a problem reads the same whichever evaluator found it.
"""
from __future__ import annotations

from decimal import Decimal
from functools import cmp_to_key

from .. import runtime as rt
from ..cohort import CohortError, aggregate_values, group_label, quota_warnings, share_basis
from ..io import DataProblem
from ..numbers import decimal_text
from ..result import Result
from . import core as c
from .evaluate import Machine


def shown(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return decimal_text(v) if isinstance(v, Decimal) else str(v)


# ---- partitions and rankings -------------------------------------------------------
def part_value(r: Result, p: c.Partition):
    if p.spec is None:
        return None
    return r.record[p.spec] if isinstance(p.spec, str) else tuple(r.record[f] for f in p.spec)


def partition(results: list[Result], p: c.Partition) -> list[tuple[object, list[Result]]]:
    parts: dict[object, list[Result]] = {}
    for r in results:
        parts.setdefault(part_value(r, p), []).append(r)
    return list(parts.items())


def key_value(r: Result, k: c.RankKey):
    return r.tiers[k.name].index if k.by_tier else r.values.get(k.name, r.record.get(k.name))


def compare(ranking: c.Ranking, a: Result, b: Result) -> int:
    for k in ranking.keys:
        x, y = key_value(a, k), key_value(b, k)
        if x != y:
            return -1 if ((x > y) if k.descending else (x < y)) else 1
    return 0


def ranked(ranking: c.Ranking, members: list[Result]) -> list[Result]:
    return sorted(members, key=cmp_to_key(lambda a, b: compare(ranking, a, b)))


def competition_ranks(ranking: c.Ranking, ordered: list[Result]) -> dict[int, int]:
    ranks: dict[int, int] = {}
    for i, r in enumerate(ordered):
        tied = i > 0 and compare(ranking, ordered[i - 1], r) == 0
        ranks[id(r)] = ranks[id(ordered[i - 1])] if tied else i + 1
    return ranks


def head_count(h: c.HeadCount, n: int) -> int:
    return rt.round_count(rt.CONTEXT.multiply(h.value, Decimal(n)) if h.percent else h.value, h.rounding.value)


def bound_text(b: c.TierBounds, lo: int, hi: int, n: int, line: int | None) -> str:
    """A tier's bounds in a group as an infeasibility problem words them."""
    because = f" by `when` on line {line}" if line is not None else ""
    return f"{lo}..{hi}{share_basis([b.lo, b.hi], n, b.lo.rounding.value)}{because}"


def unbounded_text(n: int) -> str:
    return f"0..{n} (unbounded)"


def infeasible(label: str, n: int, lo: list[int], hi: list[int], names, texts: list[str]) -> str:
    each = ", ".join(f"{t} {texts[i]}" for i, t in enumerate(names))
    return (f"{label}: cannot distribute {n} subjects: the tiers' minimums sum to {sum(lo)} and their "
            f"maximums to {sum(hi)}, so no placement fits ({each})")


def not_constant(label: str, field: str, holders: dict) -> str:
    """`holders`: each value of `field` in the group -> who holds it, in order of appearance."""
    return (f"{label}: `{field}` must be the same for the whole group (a `when` of distribute reads it), but it is "
            + "; ".join(f"{shown(v)} for {', '.join(who)}" for v, who in holders.items()))


def tie_problem(label: str, who: list[str], keys: str, what: str, inside: int, outside: int) -> str:
    return (f"{label}: {', '.join(who)} tie ({keys}) at the cut of {what}: {inside} of them would get in and "
            f"{outside} would not; add a rank key that separates them, or write `ties share`")


def short_warning(label: str, tier: str, k: int, allowed: int) -> str:
    return (f"{label}: {tier} should take {k} more, but only {allowed} of the "
            "remaining subjects may receive it (a downgrade or limit caps the others)")


def count_warnings(label: str, names, counts: list[int], lo: list[int], hi: list[int], pins: list[int]) -> list[str]:
    """A tier whose final head count left its bounds (vetoed subjects or ties can push it)."""
    out = []
    for i, t in enumerate(names):
        vetoed = f" ({pins[i]} of them vetoed)" if pins[i] else ""
        if counts[i] > hi[i]:
            out.append(f"{label}: {t} holds {counts[i]}{vetoed}, above its maximum {hi[i]}")
        elif counts[i] < lo[i]:
            out.append(f"{label}: {t} holds {counts[i]}, below its minimum {lo[i]}")
    return out


# ---- placing tiers -------------------------------------------------------------------
class Steps(c.Visitor):
    """Executes the cohort steps group by group, collecting warnings and problems."""

    def __init__(self, program: c.Program, results: list[Result]):
        self.program, self.results = program, results
        self.position = {id(r): i for i, r in enumerate(results, start=1)}
        self.warnings: list[str] = []
        self.problems: list[str] = []

    def who(self, r: Result) -> str:
        return shown(r.record.get(self.program.key)) if self.program.key else f"#{self.position[id(r)]}"

    def cut(self, ranking: c.Ranking, candidates: list[Result], k: int, what: str, label: str) -> int | None:
        """How many of `candidates` (best first) get in for k places; the tie rule decides
        where tied subjects straddle the cut (None: a problem recorded)."""
        if k <= 0 or k >= len(candidates) or compare(ranking, candidates[k - 1], candidates[k]) != 0:
            return min(max(k, 0), len(candidates))
        first, last = k - 1, k
        while first > 0 and compare(ranking, candidates[first - 1], candidates[first]) == 0:
            first -= 1
        while last + 1 < len(candidates) and compare(ranking, candidates[last], candidates[last + 1]) == 0:
            last += 1
        if ranking.tie is c.TieRule.SHARE:
            return last + 1
        tied = candidates[first:last + 1]
        keys = ", ".join(f"{k_.name} = {shown(key_value(tied[0], k_))}" for k_ in ranking.keys)
        self.problems.append(tie_problem(label, [self.who(r) for r in tied], keys, what, k - first, last + 1 - k))
        return None

    def run(self, step) -> None:
        for value, members in partition(self.results, step.ranking.partition):
            self.visit(step, group_label(step.ranking.partition.spec, value), members)

    def visit_Quota(self, q: c.Quota, label: str, members: list[Result]) -> None:
        n, tier = len(members), q.names[q.tier]
        hi = head_count(q.hi, n) if q.hi is not None else n
        lo = head_count(q.lo, n) if q.lo is not None else 0
        shares = [q.lo, q.hi] if q.lo is not None else [q.hi]
        rounding = (q.hi or q.lo).rounding.value  # a quota has one bound at least
        bound = f"{lo}..{hi}" if q.lo is not None else f"at most {hi}"
        rule = f"quota {tier} {bound}{share_basis(shares, n, rounding)}"
        holders = [r for r in ranked(q.ranking, members) if r.tiers[q.tierset].index == q.tier]
        pinned = [r for r in holders if r.tiers[q.tierset].pinned]
        free = [r for r in holders if not r.tiers[q.tierset].pinned]
        keep = self.cut(q.ranking, free, hi - len(pinned), rule, label)
        if keep is None:
            return
        self.warnings += quota_warnings(label, tier, len(pinned) + keep, len(pinned), lo, hi)
        for r in free[keep:]:
            place(r, q.tierset, q.names, q.tier + 1)

    def bounds(self, d: c.Distribute, members: list[Result], label: str):
        """Each tier's (lo, hi) in this group with the `when` replacements, and their text."""
        n = len(members)
        lo, hi, texts = [0] * len(d.names), [n] * len(d.names), [unbounded_text(n)] * len(d.names)

        def set_bounds(b: c.TierBounds, line) -> None:
            lo[b.tier] = head_count(b.lo, n)
            hi[b.tier] = head_count(b.hi, n) if b.hi is not None else n
            texts[b.tier] = bound_text(b, lo[b.tier], hi[b.tier], n, line)

        for b in d.bounds:
            set_bounds(b, None)
        group = Machine({**members[0].record, **members[0].values}, _Size(Decimal(n)))
        for w in d.whens:
            try:
                holds = group.eval(w.test)
            except (rt.EvalError, rt.DecimalException) as err:
                if isinstance(err, rt.DecimalException):
                    err = rt.arithmetic_error(err, w.owner.where, w.owner.what)
                self.problems.append(f"{label}: {err}")
                return None
            if holds:
                for b in w.bounds:
                    set_bounds(b, w.line)
        return lo, hi, texts

    def constant(self, d: c.Distribute, label: str, members: list[Result]) -> bool:
        ok = True
        for field in d.constant_fields:
            holders: dict[object, list[str]] = {}
            for r in members:
                holders.setdefault(r.record[field], []).append(self.who(r))
            if len(holders) > 1:
                ok = False
                self.problems.append(not_constant(label, field, holders))
        return ok

    def visit_Distribute(self, d: c.Distribute, label: str, members: list[Result]) -> None:
        if not self.constant(d, label, members):
            return
        n, tiers = len(members), range(len(d.names))
        bounds = self.bounds(d, members, label)
        if bounds is None:
            return
        lo, hi, texts = bounds
        if sum(lo) > n or sum(hi) < n:
            self.problems.append(infeasible(label, n, lo, hi, d.names, texts))
            return
        state = {id(r): r.tiers[d.tierset] for r in members}
        ordered = ranked(d.ranking, members)
        placed = {id(r): state[id(r)].index for r in ordered if state[id(r)].pinned}
        pins = [sum(1 for t in placed.values() if t == i) for i in tiers]
        lo_free = [max(0, lo[i] - pins[i]) for i in tiers]
        hi_free = [max(0, hi[i] - pins[i]) for i in tiers]
        rest = [r for r in ordered if id(r) not in placed]
        for p in d.placements:
            t = p.tier
            better = sum(1 for r in rest if state[id(r)].index <= t)
            k_lo = max(lo_free[t], len(rest) - sum(hi_free[i] for i in p.later))
            k_hi = min(hi_free[t], len(rest) - sum(lo_free[i] for i in p.later))
            k = min(len(rest), max(k_lo, min(better, k_hi)))  # where lo > hi the lower bound wins
            allowed = [r for r in rest if max(state[id(r)].ceiling, state[id(r)].limit) <= t]
            if len(allowed) < k:
                self.warnings.append(short_warning(label, d.names[t], k, len(allowed)))
            took = self.cut(d.ranking, allowed, k, f"distribute {d.names[t]} (takes {k})", label)
            if took is None:
                return
            placed.update((id(r), t) for r in allowed[:took])
            rest = [r for r in rest if id(r) not in placed]
        placed.update((id(r), len(d.names) - 1) for r in rest)
        counts = [sum(1 for t in placed.values() if t == i) for i in tiers]
        self.warnings += count_warnings(label, d.names, counts, lo, hi, pins)
        for r in ordered:
            place(r, d.tierset, d.names, placed[id(r)])


def place(r: Result, tierset: str, names: tuple[str, ...], index: int) -> None:
    r.tiers[tierset] = r.tiers[tierset]._replace(index=index)
    r.values[tierset] = names[index]


class _Size:
    """What a `when` may ask of its group: its size."""

    def __init__(self, size: Decimal):
        self.size = size


# ---- values of the cohort stage -------------------------------------------------------
class _MembersFailed(Exception):
    def __init__(self, failures: list):
        super().__init__(failures[0][1])
        self.failures = failures


class CohortView:
    """One subject's view of the settled cohort: `size`, its ranks, its groups' values.
    Each ranking and aggregate is computed once for the whole cohort."""

    def __init__(self, shared: "_Shared", r: Result):
        self.shared, self.r = shared, r
        self.size = Decimal(len(shared.results))

    def rank(self, ranking: c.Ranking, from_bottom: bool) -> Decimal:
        rank, n = self.shared.rank(ranking, self.r)
        return Decimal(n + 1 - rank if from_bottom else rank)

    def aggregate(self, a: c.Aggregate) -> Decimal:
        return self.shared.aggregate(a, self.r)


class _Shared:
    def __init__(self, results: list[Result]):
        self.results = results
        self._ranks: dict[c.Ranking, dict[int, tuple[int, int]]] = {}
        self._values: dict[c.Aggregate, dict[object, Decimal]] = {}

    def rank(self, ranking: c.Ranking, r: Result) -> tuple[int, int]:
        if ranking not in self._ranks:
            table = {}
            for _, members in partition(self.results, ranking.partition):
                ranks = competition_ranks(ranking, ranked(ranking, members))
                table.update((id(m), (ranks[id(m)], len(members))) for m in members)
            self._ranks[ranking] = table
        return self._ranks[ranking][id(r)]

    def aggregate(self, a: c.Aggregate, r: Result) -> Decimal:
        if a not in self._values:
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
            self._values[a] = table
        return self._values[a][part_value(r, a.partition)]


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
        m = machines[id(r)] = Machine({**r.record, **r.values})
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
    try:
        step()
    except rt.EvalError as err:
        failed.setdefault(row[id(r)], err)
    except _MembersFailed as group:
        for member, err in group.failures:
            failed.setdefault(row[id(member)], err)
