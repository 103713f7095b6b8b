"""The cohort stage (LANGUAGE.md §6): quotas, forced distribution, ranks, group aggregates.

One implementation for every backend. `apply` takes the results of the individual
stage, settles every tier a quota or `distribute` governs, then has the backend
recompute what reads a final tier (`post`) and what reads the cohort (`cohort`: ranks,
group aggregates, and every flag). All counts are whole numbers from exact decimals.

Where §6 leaves a choice open, this module decides:
- A vetoed subject holding a quota's tier keeps it and counts toward the quota: only the
  other holders compete, best by rank, for the places left (as `distribute` step 3 does).
- A tier that `distribute` does not bound may take any number (0..n).
- In `distribute` step 5, when the lower end of the clamp exceeds the upper end (only
  possible once vetoes or ceilings have upset the bounds), the lower end wins: a tier
  takes everyone the later tiers' maximums cannot hold, rather than pushing subjects
  further down than those maximums allow. It never takes more than remain. Every tier
  whose final count leaves its bounds is reported as a warning.
- Rank keys that name a tier set rank by tier, best first under `asc`.
- A tie that makes a group fail leaves that group as it was; the error is raised after
  every rule and group has been tried, so it lists all problems at once.
"""
from __future__ import annotations

from decimal import Decimal
from functools import cmp_to_key
from types import SimpleNamespace

from .eval.interpret import Interpreter, owner_text
from .io import DataError, DataProblem
from .numbers import decimal_text
from .ir import DistributeDef, GroupAgg, Policy, QuotaDef, RankOrder, Share
from .result import Result
from .runtime import CONTEXT, DecimalException, EvalError, TierChange, arithmetic_error, round_count
from .runtime.trace import (Bound, DistributeDecision, DistributeGroup, DistributeStep, Group, QuotaDecision,
                            QuotaGroup)

_ROUNDED = {"half_up": "rounded half up", "half_even": "rounded half even", "floor": "rounded down", "ceil": "rounded up"}


class CohortError(DataError):
    """The cohort cannot be placed, or a value of its stage cannot be computed for some
    subjects; each problem names the group, subjects and numbers, or the row."""

    def __init__(self, problems: list):
        super().__init__([p if isinstance(p, DataProblem) else DataProblem(None, None, p) for p in problems])


class _MembersFailed(Exception):
    """Group values that could not be computed: (member, EvalError) pairs."""

    def __init__(self, failures: list):
        super().__init__(failures[0][1])
        self.failures = failures


def apply(policy: Policy, backend, results: list[Result], numbers: list[int] | None = None) -> list[str]:
    """Run the cohort stage over `results` in place; return the warnings, raise CohortError.

    A value of the `post` or `cohort` stage that cannot be computed (an EvalError) is a
    problem of its subject's row, numbered as in `numbers` (else from 1), like an error
    of the individual stage; a group value that fails is its member's problem."""
    numbers = numbers or list(range(1, len(results) + 1))
    placer = Placer(policy, results)
    for q in sorted(policy.quotas, key=lambda q: q.tier):  # best tier first: the excess cascades down
        for value, members in group_members(results, q.group):
            placer.quota(q, group_label(q.group, value), members, value)
    for d in policy.distributes:
        for value, members in group_members(results, d.group):
            placer.distribute(d, group_label(d.group, value), members, value)
    if placer.problems:
        raise CohortError(placer.problems)
    row = {id(r): n for r, n in zip(results, numbers)}
    failed: dict[int, EvalError] = {}
    for r in results:
        r.through_cohort = True
        _each_row(lambda: backend.post(r), r, row, failed)
    cohort = _Cohort(backend, results)
    for r in results:
        if row[id(r)] not in failed:
            _each_row(lambda: backend.cohort(r, SubjectContext(cohort, r)), r, row, failed)
    if failed:
        raise CohortError([DataProblem(n, None, str(failed[n])) for n in sorted(failed)])
    return placer.warnings


def _each_row(step, r: Result, row: dict, failed: dict) -> None:
    """Run one subject's stage, keeping each row's first error."""
    try:
        step()
    except EvalError as err:
        failed.setdefault(row[id(r)], err)
    except _MembersFailed as group:
        for member, err in group.failures:
            failed.setdefault(row[id(member)], err)


# ---- what cohort-stage expressions ask -------------------------------------------------
class SubjectContext:
    """One subject's view of the finished cohort: its ranks and its groups' aggregates."""

    def __init__(self, cohort: "_Cohort", result: Result):
        self._cohort, self._result = cohort, result
        self.size = Decimal(len(cohort.results))  # `size` is for `when` lines, which get their group's

    def rank(self, order: RankOrder, from_bottom: bool) -> Decimal:
        rank, n = self._cohort.rank(order, self._result)
        trace = self._result.trace
        if trace is not None:  # the explanation says "第 5 名（共 12 名）" and in which group
            trace.cohort[("rank", order)] = (rank, n, _group_of(order.group, self._result))
        return Decimal(n + 1 - rank if from_bottom else rank)

    def aggregate(self, node: GroupAgg) -> Decimal:
        value = self._cohort.aggregate(node, self._result)
        trace = self._result.trace
        if trace is not None:
            trace.cohort[("group", node)] = (value, _group_of(node.group, self._result))
        return value


class _Cohort:
    """The cohort after its tiers are final; each rank order and aggregate is computed once."""

    def __init__(self, backend, results: list[Result]):
        self.backend, self.results = backend, results
        self._ranks: dict[int, dict[int, tuple[int, int]]] = {}
        self._aggregates: dict[int, dict[object, Decimal]] = {}

    def rank(self, order: RankOrder, r: Result) -> tuple[int, int]:
        """(competition rank, group size) of r in `order`."""
        if id(order) not in self._ranks:
            table = {}
            for _, members in group_members(self.results, order.group):
                ranks = _competition_ranks(order, _ranked(order, members))
                table.update((id(m), (ranks[id(m)], len(members))) for m in members)
            self._ranks[id(order)] = table
        return self._ranks[id(order)][id(r)]

    def aggregate(self, node: GroupAgg, r: Result) -> Decimal:
        if id(node) not in self._aggregates:
            table, failures = {}, []
            for value, members in group_members(self.results, node.group):
                args = []
                for m in members:
                    try:
                        args.append(self.backend.group_arg(node, m))
                    except EvalError as err:
                        failures.append((m, err))
                if not failures:
                    table[value] = aggregate_of(node, args)
            if failures:
                raise _MembersFailed(failures)
            self._aggregates[id(node)] = table
        return self._aggregates[id(node)][_group_value(r, node.group)]


def aggregate_of(node: GroupAgg, values: list) -> Decimal:
    """`node`'s aggregate of its group's values; a decimal trap names the aggregate."""
    try:
        return aggregate_values(node.fn, values)
    except DecimalException as exc:
        raise arithmetic_error(exc, f"{node.span.file}:{node.span.line}:{node.span.col}", owner_text(node)) from None


def aggregate_values(fn: str, values: list) -> Decimal:
    if fn == "count":
        return Decimal(sum(1 for v in values if v is True))
    if fn == "min":
        return min(values)
    if fn == "max":
        return max(values)
    total = Decimal(0)
    for v in values:
        total = CONTEXT.add(total, v)
    return total if fn == "sum" else CONTEXT.divide(total, Decimal(len(values)))


# ---- groups and rank orders ------------------------------------------------------------
def _group_value(r: Result, field):
    """The value a subject is grouped by: one field's value, or a tuple for `per (F1, F2)`."""
    if field is None or isinstance(field, str):
        return r.record[field] if field is not None else None
    return tuple(r.record[f] for f in field)


def group_members(results: list[Result], field: str | None) -> list[tuple[object, list[Result]]]:
    """The subjects by their value of `field`, in order of first appearance (one group without)."""
    groups: dict[object, list[Result]] = {}
    for r in results:
        groups.setdefault(_group_value(r, field), []).append(r)
    return list(groups.items())


def _group_of(field: str | None, r: Result, size: int = 0) -> Group:
    """The group record of r under `field` (the whole cohort without one)."""
    if field is None:
        return Group((), (), size)
    fields = (field,) if isinstance(field, str) else tuple(field)  # `per F` or `per (F1, F2)`
    return Group(fields, tuple(r.record[f] for f in fields), size)


def group_label(field, value) -> str:
    if field is None:
        return "the whole cohort"
    if isinstance(field, str):
        return f"group {field}={_fmt(value)}"
    return "group " + ", ".join(f"{f}={_fmt(v)}" for f, v in zip(field, value))


def _rank_value(r: Result, name: str):
    """A rank key's value; a tier set ranks by tier position, so `asc` puts the best first."""
    if name in r.tiers:
        return r.tiers[name].index
    return r.values.get(name, r.record.get(name))


def _compare(order: RankOrder, a: Result, b: Result) -> int:
    """Negative when a ranks before b; 0 when they tie on every key."""
    for k in order.keys:
        x, y = _rank_value(a, k.name), _rank_value(b, k.name)
        if x != y:
            return -1 if ((x > y) if k.descending else (x < y)) else 1
    return 0


def _ranked(order: RankOrder, members: list[Result]) -> list[Result]:
    return sorted(members, key=cmp_to_key(lambda a, b: _compare(order, a, b)))


def _competition_ranks(order: RankOrder, ordered: list[Result]) -> dict[int, int]:
    """1-based ranks by id(result); tied subjects share the smaller rank (1, 2, 2, 4)."""
    ranks: dict[int, int] = {}
    for i, r in enumerate(ordered):
        tied = i > 0 and _compare(order, ordered[i - 1], r) == 0
        ranks[id(r)] = ranks[id(ordered[i - 1])] if tied else i + 1
    return ranks


# ---- counts and wording ------------------------------------------------------------------
def head_count(share: Share, n: int, rounding: str) -> int:
    """A head count: a percentage of the group size rounded as the rule says, or a plain count."""
    return round_count(CONTEXT.multiply(share.value, Decimal(n)) if share.percent else share.value, rounding)


def _fmt(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, Decimal):
        return decimal_text(v)
    return str(v)


def _share_text(share: Share) -> str:
    return f"{_fmt(CONTEXT.multiply(share.value, Decimal(100)))}%" if share.percent else _fmt(share.value)


def share_basis(shares: list[Share | None], n: int, rounding: str) -> str:
    """Where counts came from, e.g. ` (10%..20% of 10, rounded half up)`; empty for plain counts."""
    if not any(s is not None and s.percent for s in shares):
        return ""
    return f" ({'..'.join(_share_text(s) if s else '' for s in shares)} of {n}, {_ROUNDED[rounding]})"


# ---- quotas and distribution -------------------------------------------------------------
class Placer:
    """Applies quota and `distribute` rules group by group, collecting warnings and problems."""

    def __init__(self, policy: Policy, results: list[Result]):
        self.policy = policy
        self.interpreter = Interpreter(policy)  # `when` conditions: group facts, no backend needed
        self.position = {id(r): i for i, r in enumerate(results, start=1)}
        self.warnings: list[str] = []
        self.problems: list[str] = []

    def who(self, r: Result) -> str:
        """A subject by its key, or by its position in the input when the policy has none."""
        return _fmt(r.key) if self.policy.key else f"#{self.position[id(r)]}"

    def cut(self, order: RankOrder, candidates: list[Result], k: int, ties_share: bool, what: str, label: str) -> int | None:
        """How many of `candidates` (best first) get in when `k` places are open.

        More than k when tied subjects straddle the cut and the rule says `ties share`;
        None, with a problem recorded, when they straddle it and it does not."""
        if k <= 0 or k >= len(candidates) or _compare(order, candidates[k - 1], candidates[k]) != 0:
            return min(max(k, 0), len(candidates))
        first, last = k - 1, k
        while first > 0 and _compare(order, candidates[first - 1], candidates[first]) == 0:
            first -= 1
        while last + 1 < len(candidates) and _compare(order, candidates[last], candidates[last + 1]) == 0:
            last += 1
        if ties_share:
            return last + 1
        tied = candidates[first:last + 1]
        keys = ", ".join(f"{key.name} = {_fmt(_rank_value(tied[0], key.name))}" for key in order.keys)
        self.problems.append(
            f"{label}: {', '.join(self.who(r) for r in tied)} tie ({keys}) at the cut of {what}: "
            f"{k - first} of them would get in and {last + 1 - k} would not; "
            "add a rank key that separates them, or write `ties share`")
        return None

    def quota(self, q: QuotaDef, label: str, members: list[Result], value=None) -> None:
        """At most hi of the group keep tier q.tier, the best by rank; the rest move down one."""
        names = self.policy.definition(q.tierset).tiers.names()
        tier, n = names[q.tier], len(members)
        hi = head_count(q.hi, n, q.rounding) if q.hi is not None else n
        lo = head_count(q.lo, n, q.rounding) if q.lo is not None else 0
        bound = f"{lo}..{hi}" if q.lo is not None else f"at most {hi}"
        rule = f"quota {tier} {bound}{share_basis([q.lo, q.hi] if q.lo is not None else [q.hi], n, q.rounding)}"
        ordered = _ranked(q.rank, members)
        holders = [r for r in ordered if r.tiers[q.tierset].index == q.tier]
        pinned = [r for r in holders if r.tiers[q.tierset].pinned]
        free = [r for r in holders if not r.tiers[q.tierset].pinned]
        keep = self.cut(q.rank, free, hi - len(pinned), q.ties_share, rule, label)
        if keep is None:
            return
        kept, moved = len(pinned) + keep, {id(r) for r in free[keep:]}
        self.warnings += quota_warnings(label, tier, kept, len(pinned), lo, hi)
        record = QuotaGroup(
            q.tierset, tier, names[q.tier + 1], q.span.line, _group(q.group, value, n),
            Bound(lo, hi, _percent(q.lo), _percent(q.hi), True, None, q.lo is not None), q.rounding,
            _keys(q.rank), len(holders), len(pinned), kept, len(moved))
        ranks = _competition_ranks(q.rank, ordered)
        place = {id(r): i for i, r in enumerate(free, start=1)}
        for r in ordered:
            index = r.tiers[q.tierset].index
            if id(r) in moved:
                index, outcome = q.tier + 1, "moved"
            elif index != q.tier:
                outcome = "other"
            else:
                outcome = "vetoed" if r.tiers[q.tierset].pinned else "kept"
            _place(r, q.tierset, names, index, "quota", q.span.line,
                   QuotaDecision(record, ranks[id(r)], outcome, place.get(id(r))))
            if r.trace is not None:
                r.cohort_notes += (record,)

    def distribute(self, d: DistributeDef, label: str, members: list[Result], value=None) -> None:
        """Forced distribution of one group: §6 steps 1–5."""
        if not self.same_when_fields(d, label, members):
            return
        names = self.policy.definition(d.tierset).tiers.names()
        last, n = len(names) - 1, len(members)
        bounds = self.bounds(d, names, members, label)
        if bounds is None:
            return
        lo, hi, texts, records, whens = bounds
        if sum(lo) > n or sum(hi) < n:
            each = ", ".join(f"{t} {texts[i]}" for i, t in enumerate(names))
            self.problems.append(
                f"{label}: cannot distribute {n} subjects: the tiers' minimums sum to {sum(lo)} and their "
                f"maximums to {sum(hi)}, so no placement fits ({each})")
            return
        state = {id(r): r.tiers[d.tierset] for r in members}
        ordered = _ranked(d.rank, members)
        placed = {id(r): state[id(r)].index for r in ordered if state[id(r)].pinned}
        pins = [sum(1 for t in placed.values() if t == i) for i in range(len(names))]
        lo_free = [max(0, lo[i] - pins[i]) for i in range(len(names))]
        hi_free = [max(0, hi[i] - pins[i]) for i in range(len(names))]
        rest = [r for r in ordered if id(r) not in placed]
        steps, tried = [], {id(r): [] for r in rest}
        for t in range(last):
            better = sum(1 for r in rest if state[id(r)].index <= t)
            k_lo, k_hi = max(lo_free[t], len(rest) - sum(hi_free[t + 1:])), min(hi_free[t], len(rest) - sum(lo_free[t + 1:]))
            k = _take(better, k_lo, k_hi, len(rest))
            allowed = [r for r in rest if max(state[id(r)].ceiling, state[id(r)].limit) <= t]
            if len(allowed) < k:
                self.warnings.append(f"{label}: {names[t]} should take {k} more, but only {len(allowed)} of the "
                                     "remaining subjects may receive it (a downgrade or limit caps the others)")
            took = self.cut(d.rank, allowed, k, d.ties_share, f"distribute {names[t]} (takes {k})", label)
            if took is None:
                return
            position = {id(r): i for i, r in enumerate(allowed, start=1)}
            for r in rest:
                tried[id(r)].append((t, position.get(id(r))))
            steps.append(DistributeStep(t, len(rest), better, k_lo, k_hi, k, len(allowed), took))
            placed.update((id(r), t) for r in allowed[:took])
            rest = [r for r in rest if id(r) not in placed]
        placed.update((id(r), last) for r in rest)
        counts = [sum(1 for t in placed.values() if t == i) for i in range(len(names))]
        for i, t in enumerate(names):
            vetoed = f" ({pins[i]} of them vetoed)" if pins[i] else ""
            if counts[i] > hi[i]:
                self.warnings.append(f"{label}: {t} holds {counts[i]}{vetoed}, above its maximum {hi[i]}")
            elif counts[i] < lo[i]:
                self.warnings.append(f"{label}: {t} holds {counts[i]}, below its minimum {lo[i]}")
        record = DistributeGroup(d.tierset, names, d.span.line, _group(d.group, value, n), tuple(records), d.rounding,
                                 _keys(d.rank), whens, tuple(pins), tuple(steps), tuple(counts))
        ranks = _competition_ranks(d.rank, ordered)
        for r in ordered:
            s = state[id(r)]
            # the cuts it went through, down to the one that placed it
            so_far = tuple(x for x in tried.get(id(r), ()) if x[0] <= placed[id(r)])
            _place(r, d.tierset, names, placed[id(r)], "distribute", d.span.line,
                   DistributeDecision(record, ranks[id(r)], s.index, max(s.ceiling, s.limit), s.pinned,
                                      placed[id(r)], so_far))
            if r.trace is not None:
                r.cohort_notes += (record,)

    def bounds(self, d: DistributeDef, names: tuple[str, ...], members: list[Result], label: str):
        """Step 1: each tier's (lo, hi) counts for this group, how they came about (as text
        for problems, as Bound records for the explanation) and the `when` lines that held;
        None, with a problem recorded, when a `when` condition cannot be computed."""
        n = len(members)
        lo, hi, texts = [0] * len(names), [n] * len(names), [f"0..{n} (unbounded)"] * len(names)
        records = [Bound(0, n, None, None, False, None) for _ in names]
        held = []

        def set_bounds(b, when) -> None:
            lo[b.tier] = head_count(b.lo, n, d.rounding)
            hi[b.tier] = head_count(b.hi, n, d.rounding) if b.hi is not None else n
            because = f" by `when` on line {when}" if when is not None else ""
            texts[b.tier] = f"{lo[b.tier]}..{hi[b.tier]}{share_basis([b.lo, b.hi], n, d.rounding)}{because}"
            records[b.tier] = Bound(lo[b.tier], hi[b.tier], _percent(b.lo), _percent(b.hi), True, when)

        for b in d.bounds:
            set_bounds(b, None)
        env = {**members[0].record, **members[0].values}
        group = SimpleNamespace(size=Decimal(n))
        for w in d.whens:
            try:
                holds = self.interpreter.eval(w.cond, env, group)
            except (EvalError, DecimalException) as err:
                if isinstance(err, DecimalException):
                    err = arithmetic_error(err, f"{w.span.file}:{w.span.line}:{w.span.col}", "`when`")
                self.problems.append(f"{label}: {err}")
                return None
            if holds:
                held.append(w.span.line)
                for b in w.bounds:
                    set_bounds(b, w.span.line)
        return lo, hi, texts, records, tuple(held)

    def same_when_fields(self, d: DistributeDef, label: str, members: list[Result]) -> bool:
        """A `when` reads group facts: each field it reads must be one value across the group."""
        ok = True
        for field in d.when_fields:
            holders: dict[object, list[str]] = {}
            for r in members:
                holders.setdefault(r.record[field], []).append(self.who(r))
            if len(holders) > 1:
                ok = False
                self.problems.append(
                    f"{label}: `{field}` must be the same for the whole group (a `when` of distribute reads it), but it is "
                    + "; ".join(f"{_fmt(v)} for {', '.join(who)}" for v, who in holders.items()))
        return ok


def quota_warnings(label: str, tier: str, kept: int, pinned: int, lo: int, hi: int) -> list[str]:
    """What a group's final count under a quota is worth a warning (every backend says it so)."""
    out = []
    if kept > hi:
        why = "vetoed subjects keep their tier" if pinned > hi else "tied subjects share the last place"
        out.append(f"{label}: {kept} keep {tier}, above the quota's {hi} ({why})")
    if kept < lo:
        out.append(f"{label}: only {kept} hold {tier}, short of the quota's minimum {lo} (a quota never promotes)")
    return out


def _take(q: int, lo: int, hi: int, rem: int) -> int:
    """Step 5's k = clamp(q, lo, hi), at most rem; where lo > hi the lower bound wins."""
    return min(rem, max(lo, min(q, hi)))


def _group(field: str | None, value, n: int) -> Group:
    if field is None:
        return Group((), (), n)
    return Group((field,), (value,), n) if isinstance(field, str) else Group(tuple(field), tuple(value), n)


def _percent(share: Share | None) -> Decimal | None:
    return share.value if share is not None and share.percent else None


def _keys(order: RankOrder) -> tuple[tuple[str, bool], ...]:
    return tuple((k.name, k.descending) for k in order.keys)


def _place(r: Result, tierset: str, names: tuple[str, ...], index: int, kind: str, line: int, decision) -> None:
    """Give r tier `index`, recording in its trace the decision (rank, bound, cut) behind it."""
    state = r.tiers[tierset]
    before = names[state.index]
    r.tiers[tierset] = state._replace(index=index)
    r.values[tierset] = names[index]
    if r.trace is not None:
        r.trace.tier(tierset).changes.append(TierChange(kind, before, names[index], None, line, decision))
