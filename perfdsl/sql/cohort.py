"""The core's cohort steps as SQL window steps (issue 11 item 3), as
perfdsl.lower.polars_cohort prints them for polars.

`quota`: within each group, the free holders of the tier ranked (ROW_NUMBER-like running
count over PARTITION BY group ORDER BY the rank keys, then input order); the first
hi − vetoed keep it, the rest move down one. `distribute` (LANGUAGE.md §6 step 5): one
step per tier from the best, each counting the subjects still free (rem), those
individually at this tier or better (q), clamping q to the bounds the later tiers leave
(k), and taking the first k allowed by rank. Ties are blocks of equal keys (DENSE_RANK);
a cut inside a block takes the whole block (`ties share`) or fails the group, which then
keeps its tiers as they were, as the reference does.

Each step ends with a `?says` column (`Query.says`): the group has a warning or a problem
to report. It is a row's test of values constant in its group, decided as the step goes
(a short or tied cut, a count outside its bounds as k makes it), so no group value is
carried to the result. Only those groups are read back and worded by the reference's own
step (engine.py).
Where a group fails (a tie at a cut the policy makes an error, a field that must be
constant varies, a `when` line fails, bounds no count meets) the test is kept in `Query.group_fails`: the
reference refuses such a cohort, so a compiled query gives no row values then.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp

from ..lower import core as c
from ..lower import scaled as sc
from ..lower.lower import tier_slots
from ..lower.ranking import head_count
from .dialect import fn
from .printer import order_by, window
from .values import case, col, lit_int

ROW = "#row"


def _sum(e: exp.Expression) -> exp.Expression:
    return exp.Sum(this=case(e, exp.Literal.number(1), exp.Literal.number(0)))


def _over(q, agg: exp.Expression, p: c.Partition, order=None, running: bool = False) -> exp.Window:
    return window(q, agg, p.fields, order, running)


def _col(q, name: str) -> exp.Expression:
    return q.sql(q.columns[name].node)


def head_count_sql(h: c.HeadCount, n: exp.Expression) -> exp.Expression:
    """round(share · n) as the rule rounds it, in integers (share = a / 10^s exactly), each
    operand printed once: floor (n·a) DIV u, ceil (n·a + u − 1) DIV u, half up
    (2·n·a + u) DIV 2u; half even from the quotient and remainder."""
    if not h.percent:
        return lit_int(head_count(h, 0))
    sign, digits, e = h.value.as_tuple()
    a, unit = int("".join(map(str, digits))) * 10 ** max(0, e), 10 ** max(0, -e)
    num = exp.Paren(this=exp.Mul(this=n, expression=lit_int(a)))
    if h.rounding is c.Rounding.FLOOR:
        return exp.IntDiv(this=num, expression=lit_int(unit))
    if h.rounding is c.Rounding.CEIL:
        return exp.IntDiv(this=exp.Paren(this=exp.Add(this=num, expression=lit_int(unit - 1))), expression=lit_int(unit))
    if h.rounding is c.Rounding.HALF_UP:
        return exp.IntDiv(this=exp.Paren(this=exp.Add(this=exp.Mul(this=n, expression=lit_int(2 * a)), expression=lit_int(unit))),
                          expression=lit_int(2 * unit))
    quotient = exp.IntDiv(this=num, expression=lit_int(unit))
    twice = exp.Mul(this=lit_int(2), expression=exp.Paren(this=exp.Mod(this=num, expression=lit_int(unit))))
    up = exp.Or(this=exp.GT(this=twice, expression=lit_int(unit)),
                expression=exp.And(this=exp.EQ(this=twice, expression=lit_int(unit)),
                                   expression=exp.EQ(this=exp.Mod(this=quotient, expression=lit_int(2)),
                                                     expression=exp.Literal.number(1))))
    return exp.Add(this=quotient, expression=case(up, exp.Literal.number(1), exp.Literal.number(0)))


class _Cols:
    """The step's working columns by short name (`#k`, `#pos` …) in the query."""

    def __init__(self, b, prefix: str):
        self.b, self.prefix = b, prefix

    def add(self, label: str, **values) -> None:
        q, cols = self.b.q, []
        for k, e in values.items():
            name = q.fresh(f"{self.prefix}{k}")
            cols.append((name, e))
            q.columns[f"{self.prefix}{k}"] = sc.Value(sc.Column(name), "bool" if k.startswith("?") else "int")
        q.push(f"{self.prefix}: {label}", cols)

    def __getitem__(self, name: str) -> exp.Expression:
        return _col(self.b.q, f"{self.prefix}{name}")


def _cut(b, x: _Cols, p: c.Partition, ranking: c.Ranking, label: str, candidate: str, k: str, n: str, t: str = "") -> None:
    """Where the k-th candidate's block ends: `?tie{t}` (a block straddles the cut) and
    `?took{t}` (the candidate gets in: by position, or its whole block when shared).
    Ranked by the policy's key (unique in validated data) no two subjects tie: no blocks."""
    q = b.q
    if _unique(b, ranking):
        took = exp.And(this=x[candidate], expression=exp.And(this=exp.GT(this=x[k], expression=exp.Literal.number(0)),
                                                             expression=exp.LTE(this=x[f"#pos{t}"], expression=x[k])))
        x.add(f"take {t}".strip(), **{f"?tie{t}": exp.Boolean(this=False), f"?took{t}": took})
        return
    x.add(f"cut {t}".strip(), **{
        f"#cut{t}": _over(q, exp.Max(this=case(exp.And(this=x[candidate], expression=exp.EQ(this=x[f"#pos{t}"], expression=x[k])),
                                               x["#block"], exp.Null())), p),
        f"#past{t}": _over(q, exp.Max(this=case(exp.And(this=x[candidate], expression=exp.EQ(
            this=x[f"#pos{t}"], expression=exp.Add(this=x[k], expression=exp.Literal.number(1)))), x["#block"], exp.Null())), p)})
    tie = exp.And(this=exp.And(this=exp.GT(this=x[k], expression=exp.Literal.number(0)),
                               expression=exp.LT(this=x[k], expression=x[n])),
                  expression=exp.Coalesce(this=exp.EQ(this=x[f"#cut{t}"], expression=x[f"#past{t}"]),
                                          expressions=[exp.Boolean(this=False)]))
    by_place = exp.LTE(this=x[f"#pos{t}"], expression=x[k])
    if ranking.tie is c.TieRule.SHARE:
        by_place = exp.Or(this=by_place, expression=exp.And(this=tie, expression=exp.EQ(this=x["#block"], expression=x[f"#cut{t}"])))
    took = exp.And(this=x[candidate], expression=exp.And(this=exp.GT(this=x[k], expression=exp.Literal.number(0)),
                                                         expression=exp.Paren(this=by_place)))
    x.add(f"take {t}".strip(), **{f"?tie{t}": tie, f"?took{t}": took})


def _unique(b, ranking: c.Ranking) -> bool:
    """Whether the ranking orders by the policy's key, so no two subjects ever tie."""
    return bool(b.program.key) and any(not k.by_tier and k.name == b.program.key for k in ranking.keys)


def _place(b, candidate: exp.Expression, p: c.Partition, ranking: c.Ranking, order: list) -> exp.Window:
    """A candidate's place among the group's candidates by rank (then input order; only a
    candidate's place is ever read). In groups: the running count of candidates, sorted
    with the step's group counts in one pass. Over the whole cohort: the candidates'
    ROW_NUMBER as a partition of their own, which the engine sorts apart from the rest
    and numbers without a running frame (budget_engineer's quota: 25% less time)."""
    order = order + ([] if _unique(b, ranking) else [exp.Ordered(this=col(ROW))])
    if p.fields:
        return _over(b.q, _sum(candidate), p, order, running=True)
    return exp.Window(this=exp.Anonymous(this="row_number", expressions=[]), partition_by=[candidate],
                      order=exp.Order(expressions=order))


def _blocks(b, p: c.Partition, ranking: c.Ranking, order: list) -> dict:
    """`#block`: each subject's block of equal keys (none where none can tie)."""
    if _unique(b, ranking):
        return {}
    return {"#block": _over(b.q, exp.Anonymous(this="dense_rank", expressions=[]), p, order)}


def _ranked(b, x: _Cols, ranking: c.Ranking) -> list:
    return order_by(b.q, ranking)


def quota(b, s: c.Quota, i: int) -> None:
    q, p = b.q, s.ranking.partition
    x = _Cols(b, f"quota {s.names[s.tier]} ({i})")
    index, pinned = _col(q, q.tier_index[s.tierset]), _col(q, tier_slots(s.tierset).pinned)
    order = _ranked(b, x, s.ranking)
    holder = exp.EQ(this=index, expression=lit_int(s.tier))
    free = exp.And(this=holder, expression=exp.Not(this=pinned))
    n = _over(q, exp.Count(this=exp.Star()), p)
    x.add("rank", **{"#n": n, "?free": free,
                     "#pins": _over(q, _sum(exp.And(this=holder, expression=pinned)), p),
                     **_blocks(b, p, s.ranking, order),
                     "#pos": _place(b, free.copy(), p, s.ranking, order),
                     "#free": _over(q, _sum(free), p)})
    hi = head_count_sql(s.hi, x["#n"]) if s.hi is not None else x["#n"]
    lo = head_count_sql(s.lo, x["#n"]) if s.lo is not None else exp.Literal.number(0)
    x.add("bounds", **{"#hi": hi, "#lo": lo, "#k": exp.Sub(this=hi, expression=x["#pins"])})
    _cut(b, x, p, s.ranking, "cut", "?free", "#k", "#free")
    failed = x["?tie"] if s.ranking.tie is c.TieRule.ERROR else exp.Boolean(this=False)
    if s.ranking.tie is c.TieRule.ERROR:
        q.group_fails.append((s.tierset, x.prefix, failed.copy()))
    moved = exp.And(this=x["?free"], expression=exp.Not(this=x["?took"]))
    new = exp.Case(ifs=[exp.If(this=failed, true=index), exp.If(this=moved, true=lit_int(s.tier + 1))], default=index)
    # Without a tie at the cut the free holders kept are min(k, free) (none when k ≤ 0).
    kept = exp.Add(this=x["#pins"], expression=greatest(exp.Literal.number(0), expressions=[least(x["#k"], expressions=[x["#free"]])]))
    x.add("placed", **{"#index": new, "?says": _any([x["?tie"], exp.GT(this=kept, expression=x["#hi"]),
                                                   exp.LT(this=kept.copy(), expression=x["#lo"])])})
    _settle(b, s.tierset, s.names, f"{x.prefix}#index")
    q.says[i] = f"{x.prefix}?says"


def _settle(b, tierset: str, names, index: str) -> None:
    """The tier set's position (the step's column `index`) and name after a step."""
    q = b.q
    position = q.columns[index]
    q.columns[q.tier_index[tierset]] = position
    q.columns[tierset] = sc.Value(sc.Pick(tuple(names), position.node), "text")


def distribute(b, d: c.Distribute, i: int) -> None:
    q, p, last = b.q, d.ranking.partition, len(d.names) - 1
    x = _Cols(b, f"distribute {d.tierset} ({i})")
    index, pinned = _col(q, q.tier_index[d.tierset]), _col(q, d.slots.pinned)
    order = _ranked(b, x, d.ranking)
    varies = [exp.NEQ(this=_over(q, exp.Min(this=_col(q, f)), p), expression=_over(q, exp.Max(this=_col(q, f)), p))
              for f in d.constant_fields]
    x.add("group", **{"#n": _over(q, exp.Count(this=exp.Star()), p),
                      **_blocks(b, p, d.ranking, order),
                      "?varies": _any(varies),
                      "#cap": greatest(_col(q, d.slots.ceiling), expressions=[_col(q, d.slots.limit)]),
                      **{f"#pins{t}": _over(q, _sum(exp.And(this=pinned, expression=exp.EQ(this=index, expression=lit_int(t)))), p)
                         for t in range(last + 1)}})
    n = x["#n"]
    lo = {t: exp.Literal.number(0) for t in range(last + 1)}
    hi = {t: n for t in range(last + 1)}
    size = sc.Value(q.columns[f"{x.prefix}#n"].node, "num", sc.Num(0, 1, max(q.cohort_size, 1)))
    when = b.scaler(size=size)
    tests = [when.visit(w.test) for w in d.whens]
    fails = [q.sql(v.fails) for v in tests if v.fails is not None]  # a `when` the reference fails on
    for test, bounds in [(None, d.bounds)] + [(q.sql(v.node), w.bounds) for v, w in zip(tests, d.whens)]:
        for bd in bounds:
            new_lo = head_count_sql(bd.lo, n)
            new_hi = head_count_sql(bd.hi, n) if bd.hi is not None else n
            lo[bd.tier] = new_lo if test is None else case(test, new_lo, lo[bd.tier])
            hi[bd.tier] = new_hi if test is None else case(test, new_hi, hi[bd.tier])
    x.add("bounds", **{f"#lo{t}": lo[t] for t in lo}, **{f"#hi{t}": hi[t] for t in hi},
          **({"?unwhen": _any(fails)} if fails else {}))
    unwhen = [x["?unwhen"]] if fails else []
    zero = exp.Literal.number(0)
    total = lambda name: _plus([x[f"{name}{t}"] for t in range(last + 1)])  # noqa: E731
    infeasible = exp.Or(this=exp.GT(this=total("#lo"), expression=n), expression=exp.LT(this=total("#hi"), expression=n))
    x.add("feasible", **{"?infeasible": infeasible,
                         "?said": _any([x["?varies"], *unwhen, infeasible.copy(),
                                        *[exp.GT(this=x[f"#pins{t}"], expression=x[f"#hi{t}"]) for t in range(last + 1)]]),
                         **{f"#lof{t}": greatest(exp.Sub(this=x[f"#lo{t}"], expression=x[f"#pins{t}"]), expressions=[zero])
                            for t in range(last + 1)},
                         **{f"#hif{t}": greatest(exp.Sub(this=x[f"#hi{t}"], expression=x[f"#pins{t}"]), expressions=[zero])
                            for t in range(last + 1)},
                         "#placed": case(pinned, index, exp.Null()),
                         "?failed": _any([x["?varies"], *[u.copy() for u in unwhen], infeasible])})
    placed, failed, said = "#placed", "?failed", "?said"
    for pl in d.placements:
        t = pl.tier
        free = exp.And(this=exp.Is(this=x[placed], expression=exp.Null()), expression=exp.Not(this=x[failed]))
        rem = _over(q, _sum(free), p)
        better = _over(q, _sum(exp.And(this=free, expression=exp.LTE(this=index, expression=lit_int(t)))), p)
        k_lo = greatest(x[f"#lof{t}"], expressions=[exp.Sub(this=rem, expression=_plus([x[f"#hif{j}"] for j in pl.later]))])
        k_hi = least(x[f"#hif{t}"], expressions=[exp.Sub(this=rem, expression=_plus([x[f"#lof{j}"] for j in pl.later]))])
        allowed = exp.And(this=free, expression=exp.LTE(this=x["#cap"], expression=lit_int(t)))
        k = least(rem, expressions=[greatest(k_lo, expressions=[least(better, expressions=[k_hi])])])
        x.add(f"{d.names[t]} ranks", **{f"#k{t}": k, f"?allowed{t}": allowed,
                                       **({f"#rem{t}": rem.copy()} if t == d.placements[-1].tier else {}),
                                       f"#pos{t}": _place(b, allowed.copy(), p, d.ranking, order),
                                       f"#na{t}": _over(q, _sum(allowed), p)})
        _cut(b, x, p, d.ranking, "", f"?allowed{t}", f"#k{t}", f"#na{t}", str(t))
        now_failed = x[failed] if d.ranking.tie is c.TieRule.SHARE else exp.Or(this=x[failed], expression=x[f"?tie{t}"])
        # Without a short or tied cut the tier gets its pinned and k more: in bounds unless
        # k is outside [lo', hi']; the last tier gets its pinned and what the last cut leaves.
        k_t = x[f"#k{t}"]
        out = [exp.LT(this=x[f"#na{t}"], expression=k_t), x[f"?tie{t}"],
               exp.LT(this=k_t.copy(), expression=x[f"#lof{t}"]), exp.GT(this=k_t.copy(), expression=x[f"#hif{t}"])]
        if t == d.placements[-1].tier:
            rest = exp.Sub(this=x[f"#rem{t}"], expression=k_t.copy())
            out += [exp.LT(this=rest, expression=x[f"#lof{last}"]), exp.GT(this=rest.copy(), expression=x[f"#hif{last}"])]
        x.add(f"{d.names[t]} placed", **{
            f"#placed{t}": case(exp.And(this=x[f"?took{t}"], expression=exp.Not(this=now_failed)), lit_int(t), x[placed]),
            f"?failed{t}": now_failed, f"?said{t}": _any([x[said], *out])})
        placed, failed, said = f"#placed{t}", f"?failed{t}", f"?said{t}"
    final = case(x[failed], index, exp.Coalesce(this=x[placed], expressions=[lit_int(last)]))
    q.group_fails.append((d.tierset, x.prefix, x[failed]))
    x.add("placed", **{"#index": final})
    _settle(b, d.tierset, d.names, f"{x.prefix}#index")
    q.says[i] = f"{x.prefix}{said}"


def greatest(this, expressions):
    """GREATEST as both engines have it (no NULL here)."""
    return fn("greatest", this, *expressions)


def least(this, expressions):
    return fn("least", this, *expressions)


def _plus(xs: list) -> exp.Expression:
    if not xs:
        return exp.Literal.number(0)
    out = xs[0]
    for e in xs[1:]:
        out = exp.Add(this=out, expression=e)
    return exp.Paren(this=out)


def _any(xs: list) -> exp.Expression:
    if not xs:
        return exp.Boolean(this=False)
    out = xs[0]
    for e in xs[1:]:
        out = exp.Or(this=out, expression=e)
    return exp.Paren(this=out)


def step(b, s, i: int) -> None:
    b.q.snapshots[i] = snapshot(b, s)
    (quota if isinstance(s, c.Quota) else distribute)(b, s, i)


@dataclass(frozen=True)
class Snapshot:
    """What the reference's step reads of a subject (`values`), as the first `steps` steps
    of the query hold it: engine.py computes it again, for the groups that say something
    only, rather than carry it through the cohort stage to the result; `parts`: the
    values the step groups by, which the result does keep."""
    values: dict[str, sc.Value]
    steps: int
    parts: tuple[sc.Value, ...]


def snapshot(b, s) -> Snapshot:
    q, names = b.q, {ROW} | set(s.ranking.partition.fields)
    if b.program.key:
        names.add(b.program.key)
    names |= {k.name for k in s.ranking.keys if not k.by_tier}
    if isinstance(s, c.Distribute):
        names |= set(s.constant_fields) | {f for w in s.whens for f in c.reads(w.test)}
    state = {n: q.columns[n] for n in sorted(names)}
    slots = tier_slots(s.tierset)
    for short, name in (("#index", slots.index), ("#ceiling", slots.ceiling), ("#pinned", slots.pinned),
                        ("#limit", slots.limit)):
        state[short] = q.columns[name]
    return Snapshot(state, len(q.steps), tuple(state[f] for f in s.ranking.partition.fields))
