"""The core's cohort steps on Result rows, one group at a time: quotas and forced
distribution, with the cuts their tie rule allows, recording each subject's decision in
its trace when it has one (what the explanation of a placement reads).

What `distribute` does is fixed by the core's Placement steps (LANGUAGE.md §6 step 5);
this module only executes them, in the reference's order, so warnings and problems come
out in the same order too.
"""
from __future__ import annotations

from decimal import Decimal

from .. import runtime as rt
from ..runtime import Result
from ..runtime import TierChange
from ..runtime.trace import Bound, DistributeDecision, DistributeGroup, DistributeStep, QuotaDecision, QuotaGroup
from . import core as c
from .evaluate import Machine
from .ranking import competition_ranks, compare, group_record, head_count, key_value, partition, percent, rank_keys, ranked
from .wording import (bound_text, count_warnings, distribute_cut, group_label, group_problem, infeasible, not_constant,
                      quota_rule, quota_warnings, shown, short_warning, tie_keys, tie_problem, unbounded_text)


class _Size:
    """What a `when` may ask of its group besides its first member's values: its size."""

    def __init__(self, size: Decimal):
        self.size = size


class Steps(c.Visitor):
    """Executes the cohort steps group by group, collecting warnings and problems."""

    def __init__(self, program: c.Program, results: list[Result]):
        self.program, self.results = program, results
        self.lang = program.language  # what every message speaks (wording.py)
        self.position = {id(r): i for i, r in enumerate(results, start=1)}
        self.warnings: list[str] = []
        self.problems: list[str] = []

    def run(self, step) -> None:
        p = step.ranking.partition
        for value, members in partition(self.results, p):
            self.visit(step, group_label(p.spec, value, self.lang), members, group_record(p, value, len(members)))

    def who(self, r: Result) -> str:
        """A subject by its key, or by its position in the input when the policy has none."""
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
        keys = tie_keys([(key.name, key_value(tied[0], key)) for key in ranking.keys], self.lang)
        self.problems.append(tie_problem(label, [self.who(r) for r in tied], keys, what, k - first, last + 1 - k,
                                         self.lang))
        return None

    # ---- quota ---------------------------------------------------------------------
    def visit_Quota(self, q: c.Quota, label: str, members: list[Result], group) -> None:
        """At most hi free holders keep the tier, the best by rank; the rest move down one."""
        n, tier = len(members), q.names[q.tier]
        hi = head_count(q.hi, n) if q.hi is not None else n
        lo = head_count(q.lo, n) if q.lo is not None else 0
        ordered = ranked(q.ranking, members)
        holders = [r for r in ordered if r.tiers[q.tierset].index == q.tier]
        pinned = [r for r in holders if r.tiers[q.tierset].pinned]
        free = [r for r in holders if not r.tiers[q.tierset].pinned]
        keep = self.cut(q.ranking, free, hi - len(pinned), quota_rule(q, tier, lo, hi, n, self.lang), label)
        if keep is None:
            return
        kept, moved = len(pinned) + keep, {id(r) for r in free[keep:]}
        self.warnings += quota_warnings(label, tier, kept, len(pinned), lo, hi, self.lang)
        record = QuotaGroup(q.tierset, tier, q.names[q.tier + 1], q.line, group,
                            Bound(lo, hi, percent(q.lo), percent(q.hi), True, None, q.lo is not None), q.rounding.value,
                            rank_keys(q.ranking), len(holders), len(pinned), kept, len(moved))
        ranks = competition_ranks(q.ranking, ordered)
        place = {id(r): i for i, r in enumerate(free, start=1)}
        for r in ordered:
            state = r.tiers[q.tierset]
            if id(r) in moved:
                index, outcome = q.tier + 1, "moved"
            else:
                index = state.index
                outcome = "other" if index != q.tier else "vetoed" if state.pinned else "kept"
            _place(r, q.tierset, q.names, index, "quota", q.line, record,
                   lambda: QuotaDecision(record, ranks[id(r)], outcome, place.get(id(r))))

    # ---- distribute ----------------------------------------------------------------
    def bounds(self, d: c.Distribute, members: list[Result], label: str):
        """Each tier's (lo, hi) in this group with the `when` replacements: the counts,
        their text (for problems), their Bound records and the `when` lines that held."""
        n, tiers = len(members), len(d.names)
        lo, hi, texts = [0] * tiers, [n] * tiers, [unbounded_text(n, self.lang)] * tiers
        records = [Bound(0, n, None, None, False, None) for _ in d.names]
        held = []

        def set_bounds(b: c.TierBounds, line) -> None:
            lo[b.tier] = head_count(b.lo, n)
            hi[b.tier] = head_count(b.hi, n) if b.hi is not None else n
            texts[b.tier] = bound_text(b, lo[b.tier], hi[b.tier], n, line, self.lang)
            records[b.tier] = Bound(lo[b.tier], hi[b.tier], percent(b.lo), percent(b.hi), True, line)

        for b in d.bounds:
            set_bounds(b, None)
        group = Machine({**members[0].record, **members[0].values}, _Size(Decimal(n)))
        for w in d.whens:
            try:
                holds = group.eval(w.test)
            except (rt.EvalError, rt.DecimalException) as err:
                if isinstance(err, rt.DecimalException):
                    err = rt.arithmetic_error(err, w.owner.where, w.owner.what)
                self.problems.append(group_problem(label, str(err), self.lang))
                return None
            if holds:
                held.append(w.line)
                for b in w.bounds:
                    set_bounds(b, w.line)
        return lo, hi, texts, records, tuple(held)

    def constant(self, d: c.Distribute, label: str, members: list[Result]) -> bool:
        """A `when` reads group facts: each field it reads must be one value in the group."""
        ok = True
        for field in d.constant_fields:
            holders: dict[object, list[str]] = {}
            for r in members:
                holders.setdefault(r.record[field], []).append(self.who(r))
            if len(holders) > 1:
                ok = False
                self.problems.append(not_constant(label, field, holders, self.lang))
        return ok

    def visit_Distribute(self, d: c.Distribute, label: str, members: list[Result], group) -> None:
        """Bounds, feasibility, the vetoed pinned, then each Placement from the best tier."""
        if not self.constant(d, label, members):
            return
        n, tiers = len(members), range(len(d.names))
        bounds = self.bounds(d, members, label)
        if bounds is None:
            return
        lo, hi, texts, records, held = bounds
        if sum(lo) > n or sum(hi) < n:
            self.problems.append(infeasible(label, n, lo, hi, d.names, texts, self.lang))
            return
        state = {id(r): r.tiers[d.tierset] for r in members}
        ordered = ranked(d.ranking, members)
        placed = {id(r): state[id(r)].index for r in ordered if state[id(r)].pinned}
        pins = [sum(1 for t in placed.values() if t == i) for i in tiers]
        lo_free = [max(0, lo[i] - pins[i]) for i in tiers]
        hi_free = [max(0, hi[i] - pins[i]) for i in tiers]
        rest = [r for r in ordered if id(r) not in placed]
        steps, tried = [], {id(r): [] for r in rest}
        for p in d.placements:
            t = p.tier
            better = sum(1 for r in rest if state[id(r)].index <= t)
            k_lo = max(lo_free[t], len(rest) - sum(hi_free[i] for i in p.later))
            k_hi = min(hi_free[t], len(rest) - sum(lo_free[i] for i in p.later))
            k = min(len(rest), max(k_lo, min(better, k_hi)))  # where lo > hi the lower bound wins
            allowed = [r for r in rest if max(state[id(r)].ceiling, state[id(r)].limit) <= t]
            if len(allowed) < k:
                self.warnings.append(short_warning(label, d.names[t], k, len(allowed), self.lang))
            took = self.cut(d.ranking, allowed, k, distribute_cut(d.names[t], k, self.lang), label)
            if took is None:
                return
            position = {id(r): i for i, r in enumerate(allowed, start=1)}
            for r in rest:
                tried[id(r)].append((t, position.get(id(r))))
            steps.append(DistributeStep(t, len(rest), better, k_lo, k_hi, k, len(allowed), took))
            placed.update((id(r), t) for r in allowed[:took])
            rest = [r for r in rest if id(r) not in placed]
        placed.update((id(r), len(d.names) - 1) for r in rest)
        counts = [sum(1 for t in placed.values() if t == i) for i in tiers]
        self.warnings += count_warnings(label, d.names, counts, lo, hi, pins, self.lang)
        record = DistributeGroup(d.tierset, d.names, d.line, group, tuple(records), d.rounding.value,
                                 rank_keys(d.ranking), held, tuple(pins), tuple(steps), tuple(counts))
        ranks = competition_ranks(d.ranking, ordered)
        for r in ordered:
            s, at = state[id(r)], placed[id(r)]
            _place(r, d.tierset, d.names, at, "distribute", d.line, record, lambda: DistributeDecision(
                record, ranks[id(r)], s.index, max(s.ceiling, s.limit), s.pinned, at,
                tuple(x for x in tried.get(id(r), ()) if x[0] <= at)))  # the cuts it went through


def _place(r: Result, tierset: str, names: tuple[str, ...], index: int, kind: str, line: int, record, decision) -> None:
    """Give r tier `index`; a traced r records the decision behind it and the group's facts."""
    state = r.tiers[tierset]
    before = names[state.index]
    r.tiers[tierset] = state._replace(index=index)
    r.values[tierset] = names[index]
    if r.trace is not None:
        r.trace.tier(tierset).changes.append(TierChange(kind, before, names[index], None, line, decision()))
        r.cohort_notes += (record,)
