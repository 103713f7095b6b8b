"""The core's `Distribute` step printed as polars window expressions (issue 10, item 3).

Forced distribution looks sequential (LANGUAGE.md §6 step 5: each tier takes from those
the better tiers left), but the tiers are static, so it unrolls into one `with_columns`
per tier over a frame sorted by partition and rank: count the free subjects left (rem)
and those individually at this tier or better (q), clamp q to the bounds the later
tiers leave, and take the first k allowed by rank — a cumulative count of the allowed
over the partition. Ties are blocks of equal rank keys (a running count of key
changes); a cut inside a block takes the block (`ties share`) or fails the group.

All counts are whole numbers: head counts are exact integer arithmetic on the group
size (a share 0.15 is 15/100), never a polars Decimal product, which would round half
even silently. Messages are worded by perfdsl.lower.wording, for the few groups that have
one. `place_quota` prints a Quota step the same way (one cut per group).
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import polars as pl

from . import core as c
from .lower import tier_slots
from .ranking import head_count
from .wording import (bound_text, count_warnings, distribute_cut, group_label, infeasible, not_constant, quota_rule,
                      quota_warnings, short_warning, shown, tie_keys, tie_problem, unbounded_text)

_ROW, _GROUP, _N, _BLOCK, _PLACED, _CAP = "#row", "#group", "#n", "#block", "#placed", "#cap"


@dataclass
class Placed:
    """Each subject's tier position after the step (input order), and what it said."""
    index: pl.Series
    warnings: list[str]
    problems: list[str]


class WhenPrinter(c.Visitor):
    """A `when` test as a polars expression over one row per group (its first member's
    values, and `#n` for `size`): comparisons and logic, which cannot fail."""

    def visit_Lit(self, e: c.Lit):
        v = e.value
        if isinstance(v, Decimal):
            return pl.lit(int(v)) if v == v.to_integral_value() else pl.lit(v, dtype=pl.Decimal(38, -v.as_tuple().exponent))
        return pl.lit(v)

    def visit_Var(self, e: c.Var):
        return pl.col(e.name)

    def visit_Size(self, e: c.Size):
        return pl.col(_N)

    def visit_Call(self, e: c.Call):
        args = [self.visit(a) for a in e.args]
        if e.op not in _LOGIC:
            raise NotImplementedError(f"`{e.op.value}` in a `when` of distribute is not printed for polars yet")
        return _LOGIC[e.op](*args)


_LOGIC = {
    c.Op.EQ: lambda a, b: a == b, c.Op.NE: lambda a, b: a != b, c.Op.LT: lambda a, b: a < b,
    c.Op.LE: lambda a, b: a <= b, c.Op.GT: lambda a, b: a > b, c.Op.GE: lambda a, b: a >= b,
    c.Op.AND: lambda a, b: a & b, c.Op.OR: lambda a, b: a | b, c.Op.NOT: lambda a: ~a,
}


def head_count_expr(h: c.HeadCount, n: pl.Expr) -> pl.Expr:
    """round(share · n) as the rule rounds it, in integers: share = a / 10^s exactly."""
    if not h.percent:
        return pl.lit(head_count(h, 0), dtype=pl.Int64)
    sign, digits, exp = h.value.as_tuple()
    a, scale = int("".join(map(str, digits))) * (-1 if sign else 1), 10 ** max(0, -exp)
    a *= 10 ** max(0, exp)
    num = n.cast(pl.Int64) * a
    q, r = num // scale, num % scale
    if h.rounding is c.Rounding.FLOOR:
        return q
    if h.rounding is c.Rounding.CEIL:
        return q + (r > 0).cast(pl.Int64)
    if h.rounding is c.Rounding.HALF_UP:
        return q + (2 * r >= scale).cast(pl.Int64)
    return q + ((2 * r > scale) | ((2 * r == scale) & (q % 2 == 1))).cast(pl.Int64)


def _bounds(d: c.Distribute, groups: pl.LazyFrame, tests: list[str] | None) -> pl.LazyFrame:
    """Per group: lo_t, hi_t and which line set them (-1: the rule itself, 0: unbounded),
    the `when` lines replacing in order (`tests`: columns holding each `when` test)."""
    n, cols = pl.col(_N), []
    lo = {t: pl.lit(0, dtype=pl.Int64) for t in range(len(d.names))}
    hi = {t: n.cast(pl.Int64) for t in range(len(d.names))}
    src = {t: pl.lit(0) for t in range(len(d.names))}
    printer = WhenPrinter()
    whens = [pl.col(tests[j]) if tests else printer.visit(w.test) for j, w in enumerate(d.whens)]
    for test, bounds, line in [(None, d.bounds, -1)] + [(t, w.bounds, w.line) for t, w in zip(whens, d.whens)]:
        for b in bounds:
            new_lo, new_hi = head_count_expr(b.lo, n), head_count_expr(b.hi, n) if b.hi is not None else n.cast(pl.Int64)
            if test is None:
                lo[b.tier], hi[b.tier], src[b.tier] = new_lo, new_hi, pl.lit(line)
            else:
                lo[b.tier] = pl.when(test).then(new_lo).otherwise(lo[b.tier])
                hi[b.tier] = pl.when(test).then(new_hi).otherwise(hi[b.tier])
                src[b.tier] = pl.when(test).then(pl.lit(line)).otherwise(src[b.tier])
    for t in range(len(d.names)):
        cols += [lo[t].alias(f"#lo{t}"), hi[t].alias(f"#hi{t}"), src[t].alias(f"#src{t}")]
    return groups.with_columns(cols)


def _sorted(slots: c.TierSlots, ranking: c.Ranking, frame: pl.DataFrame) -> pl.LazyFrame:
    """Rows by group (in order of first appearance), then rank; equal keys keep input order."""
    fields, keys = ranking.partition.fields, ranking.keys
    key_cols = [slots.index if k.by_tier else k.name for k in keys]
    lf = frame.lazy().with_row_index(_ROW)
    group = pl.col(_ROW).min().over(list(fields)) if fields else pl.lit(0, dtype=pl.UInt32)
    lf = lf.with_columns(group.alias(_GROUP)).sort([_GROUP, *key_cols], descending=[False] + [k.descending for k in keys],
                                                   maintain_order=True)
    changed = pl.col(_GROUP) != pl.col(_GROUP).shift(1)
    for col in key_cols:
        changed = changed | (pl.col(col) != pl.col(col).shift(1))
    return lf.with_columns(changed.fill_null(True).cum_sum().alias(_BLOCK), pl.len().over(_GROUP).alias(_N))


def place_frame(d: c.Distribute, frame: pl.DataFrame, key: str | None = None, language: str = "en",
                tests: list[str] | None = None) -> Placed:
    """Run `d` on a frame with one row per subject: the partition fields, the rank keys,
    the fields its `when` lines read, the key, and the tier state (d.slots) of the
    individual stage; `key` names subjects in messages (else their position), which speak
    `language` (the Program's, perfdsl.language.policy_language). Gives the
    placed tier positions in input order, with the warnings and problems the reference
    gives for the same subjects. `tests`: columns of the frame holding each `when` test
    (read on a group's first member) instead of printing the tests here."""
    last = len(d.names) - 1
    lf = _sorted(d.slots, d.ranking, frame.with_columns(pl.col(key).alias(_KEY)) if key else frame)
    reads = set(tests) if tests else {f for w in d.whens for f in c.reads(w.test)}
    when_vars = sorted(reads | set(d.constant_fields))
    groups = lf.group_by(_GROUP).agg(pl.col(_N).first(), *[pl.col(v).first() for v in when_vars],
                                     *[(pl.col(f).n_unique() > 1).alias(f"#varies:{f}") for f in d.constant_fields])
    groups = _bounds(d, groups, tests)
    lf = lf.join(groups.select(_GROUP, *[f"#{x}{t}" for t in range(last + 1) for x in ("lo", "hi", "src")],
                               *[f"#varies:{f}" for f in d.constant_fields]), on=_GROUP, how="left")
    ind, pinned = pl.col(d.slots.index), pl.col(d.slots.pinned)
    pins = [(pinned & (ind == t)).sum().over(_GROUP) for t in range(last + 1)]
    lo_free = [pl.max_horizontal(pl.col(f"#lo{t}") - pins[t], 0) for t in range(last + 1)]
    hi_free = [pl.max_horizontal(pl.col(f"#hi{t}") - pins[t], 0) for t in range(last + 1)]
    lo_sum = pl.sum_horizontal(*[pl.col(f"#lo{t}") for t in range(last + 1)])
    hi_sum = pl.sum_horizontal(*[pl.col(f"#hi{t}") for t in range(last + 1)])
    varies = pl.any_horizontal(*[pl.col(f"#varies:{f}") for f in d.constant_fields]) if d.constant_fields else pl.lit(False)
    lf = lf.with_columns(*[x.alias(f"#lof{t}") for t, x in enumerate(lo_free)], *[x.alias(f"#hif{t}") for t, x in enumerate(hi_free)],
                         *[p.alias(f"#pins{t}") for t, p in enumerate(pins)],
                         varies.alias("#varies"), ((lo_sum > pl.col(_N)) | (hi_sum < pl.col(_N))).alias("#infeasible"),
                         pl.max_horizontal(pl.col(d.slots.ceiling), pl.col(d.slots.limit)).alias(_CAP),
                         pl.when(pinned).then(ind).otherwise(None).alias(_PLACED))
    lf = lf.with_columns((pl.col("#varies") | pl.col("#infeasible")).alias("#failed"))
    share = d.ranking.tie is c.TieRule.SHARE
    for p in d.placements:
        t, later = p.tier, p.later
        free = pl.col(_PLACED).is_null() & ~pl.col("#failed")
        rem = free.sum().over(_GROUP)
        q = (free & (ind <= t)).sum().over(_GROUP)
        k_lo = pl.max_horizontal(pl.col(f"#lof{t}"), rem - pl.sum_horizontal(*[pl.col(f"#hif{i}") for i in later]))
        k_hi = pl.min_horizontal(pl.col(f"#hif{t}"), rem - pl.sum_horizontal(*[pl.col(f"#lof{i}") for i in later]))
        allowed = free & (pl.col(_CAP) <= t)
        lf = lf.with_columns(pl.min_horizontal(rem, pl.max_horizontal(k_lo, pl.min_horizontal(q, k_hi))).alias(f"#k{t}"),
                             allowed.alias(f"#allowed{t}"), allowed.cast(pl.Int64).cum_sum().over(_GROUP).alias(f"#pos{t}"),
                             allowed.sum().over(_GROUP).alias(f"#na{t}"))
        k, pos, ok = pl.col(f"#k{t}"), pl.col(f"#pos{t}"), pl.col(f"#allowed{t}")
        at_cut = pl.col(_BLOCK).filter(ok & (pos == k)).first().over(_GROUP)
        past_cut = pl.col(_BLOCK).filter(ok & (pos == k + 1)).first().over(_GROUP)
        straddle = (k > 0) & (k < pl.col(f"#na{t}")) & (at_cut == past_cut).fill_null(False)
        lf = lf.with_columns(straddle.alias(f"#tie{t}"), at_cut.alias(f"#cut{t}"), pl.col("#failed").alias(f"#before{t}"))
        tie = pl.col(f"#tie{t}")
        took = ok & (k > 0) & ((pos <= k) | (tie & (pl.col(_BLOCK) == pl.col(f"#cut{t}")) if share else pl.lit(False)))
        failed = pl.col("#failed") | (tie if not share else pl.lit(False))
        lf = lf.with_columns(pl.when(took & ~failed).then(pl.lit(t)).otherwise(pl.col(_PLACED)).alias(_PLACED),
                             failed.alias("#failed"))
    placed = pl.when(pl.col("#varies") | pl.col("#infeasible") | pl.col("#failed")).then(ind) \
        .otherwise(pl.col(_PLACED).fill_null(last))
    lf = lf.with_columns(placed.alias(_PLACED))
    lf = lf.with_columns(*[(pl.col(_PLACED) == t).sum().over(_GROUP).alias(f"#count{t}") for t in range(last + 1)])
    out = lf.collect()
    warnings, problems = _messages(d, out, language)
    return Placed(out.select(pl.col(_PLACED).sort_by(_ROW))[_PLACED].alias(d.slots.index), warnings, problems)


def place_quota(q: c.Quota, frame: pl.DataFrame, key: str | None = None, language: str = "en") -> Placed:
    """Run quota `q` on a frame with one row per subject (the partition fields, rank keys,
    key, and the tier set's index and pinned slots): within each group the best
    hi − (vetoed holders) free holders keep the tier, the rest move down one; a cut inside
    a tie block takes the block (`ties share`) or leaves the group as it was, a problem.
    Gives the tier positions in input order and the reference's warnings and problems."""
    slots = tier_slots(q.tierset)
    lf = _sorted(slots, q.ranking, frame.with_columns(pl.col(key).alias(_KEY)) if key else frame)
    ind, pinned = pl.col(slots.index), pl.col(slots.pinned)
    holder = ind == q.tier
    free = holder & ~pinned
    n = pl.col(_N)
    hi = head_count_expr(q.hi, n) if q.hi is not None else n.cast(pl.Int64)
    lo = head_count_expr(q.lo, n) if q.lo is not None else pl.lit(0, dtype=pl.Int64)
    lf = lf.with_columns(hi.alias("#hi"), lo.alias("#lo"), (holder & pinned).sum().over(_GROUP).cast(pl.Int64).alias("#ph"),
                         free.alias("#free"), free.cast(pl.Int64).cum_sum().over(_GROUP).alias("#pos"),
                         free.sum().over(_GROUP).cast(pl.Int64).alias("#m"))
    k, pos, ok = pl.col("#hi") - pl.col("#ph"), pl.col("#pos"), pl.col("#free")
    at_cut = pl.col(_BLOCK).filter(ok & (pos == k)).first().over(_GROUP)
    past_cut = pl.col(_BLOCK).filter(ok & (pos == k + 1)).first().over(_GROUP)
    lf = lf.with_columns(k.alias("#k"), ((k > 0) & (k < pl.col("#m")) & (at_cut == past_cut).fill_null(False)).alias("#tie"),
                         at_cut.alias("#cut"))
    share = q.ranking.tie is c.TieRule.SHARE
    tie = pl.col("#tie")
    kept = ok & ((pos <= pl.col("#k")) | ((tie & (pl.col(_BLOCK) == pl.col("#cut"))) if share else pl.lit(False)))
    failed = tie if not share else pl.lit(False)
    lf = lf.with_columns(pl.when(ok & ~kept & ~failed).then(pl.lit(q.tier + 1)).otherwise(ind).alias(_PLACED),
                         (pl.col("#ph") + kept.sum().over(_GROUP)).alias("#kept"), failed.alias("#failed"))
    out = lf.collect()
    says = pl.col("#failed") | (pl.col("#kept") > pl.col("#hi")) | (pl.col("#kept") < pl.col("#lo"))
    facts = out.filter(says).group_by(_GROUP).agg(pl.all().first()).sort(_GROUP)
    warnings, problems, tier = [], [], q.names[q.tier]
    spec = q.ranking.partition.spec
    for row in facts.iter_rows(named=True):
        value = None if spec is None else row[spec] if isinstance(spec, str) else tuple(row[f] for f in spec)
        label = group_label(spec, value, language)
        if row["#failed"]:
            k = row["#k"]
            tied = list(out.filter((pl.col(_GROUP) == row[_GROUP]) & pl.col("#free") & (pl.col(_BLOCK) == row["#cut"]))
                        .sort("#pos").iter_rows(named=True))
            inside = sum(1 for m in tied if m["#pos"] <= k)
            keys = tie_keys([(key_.name, tied[0][slots.index if key_.by_tier else key_.name]) for key_ in q.ranking.keys],
                            language)
            rule = quota_rule(q, tier, row["#lo"], row["#hi"], row[_N], language)
            problems.append(tie_problem(label, [_who(m) for m in tied], keys, rule, inside, len(tied) - inside, language))
            continue
        warnings += quota_warnings(label, tier, row["#kept"], row["#ph"], row["#lo"], row["#hi"], language)
    return Placed(out.select(pl.col(_PLACED).sort_by(_ROW))[_PLACED].alias(slots.index), warnings, problems)


def subjects_frame(d: c.Distribute, results, key: str | None = None) -> pl.DataFrame:
    """What `place_frame` reads of Result rows (after the individual stage), exactly:
    a decimal column keeps every digit (a value polars cannot hold exactly is an error)."""
    names = set(d.ranking.partition.fields) | {k.name for k in d.ranking.keys if not k.by_tier} | set(d.constant_fields)
    names |= {f for w in d.whens for f in c.reads(w.test)}
    if key:
        names.add(key)
    columns = {n: [r.values.get(n, r.record.get(n)) for r in results] for n in sorted(names)}
    states = [r.tiers[d.tierset] for r in results]
    columns.update({d.slots.index: [s.index for s in states], d.slots.ceiling: [s.ceiling for s in states],
                    d.slots.pinned: [s.pinned for s in states], d.slots.limit: [s.limit for s in states]})
    return pl.DataFrame({n: exact_series(n, v) for n, v in columns.items()})


def exact_series(name: str, values: list) -> pl.Series:
    if not values or not all(isinstance(v, Decimal) for v in values):
        return pl.Series(name, values)
    scale = max(0, *(-v.as_tuple().exponent for v in values))
    series = pl.Series(name, values, dtype=pl.Decimal(38, scale)) if scale <= 38 else None
    if series is None or series.to_list() != values:
        raise ValueError(f"`{name}` holds a number polars cannot hold exactly (38 digits)")
    return series


def _messages(d: c.Distribute, out: pl.DataFrame, lang: str = "en") -> tuple[list[str], list[str]]:
    """Warnings and problems of every group in order of first appearance, in the
    reference's words; only groups with something to say are read row by row."""
    last = len(d.names) - 1
    tiers = range(last + 1)
    says = pl.col("#varies") | pl.col("#infeasible") | pl.any_horizontal(
        *[pl.col(f"#na{p.tier}") < pl.col(f"#k{p.tier}") for p in d.placements], *[pl.col(f"#tie{p.tier}") for p in d.placements],
        *[(pl.col(f"#count{t}") > pl.col(f"#hi{t}")) | (pl.col(f"#count{t}") < pl.col(f"#lo{t}")) for t in tiers])
    facts = out.filter(says).group_by(_GROUP).agg(pl.all().first()).sort(_GROUP)
    warnings, problems = [], []
    for row in facts.iter_rows(named=True):
        n, spec = row[_N], d.ranking.partition.spec
        value = None if spec is None else row[spec] if isinstance(spec, str) else tuple(row[f] for f in spec)
        label = group_label(spec, value, lang)
        members = None
        if row["#varies"]:
            members = out.filter(pl.col(_GROUP) == row[_GROUP]).sort(_ROW)
            for f in d.constant_fields:
                holders: dict = {}
                for m in members.iter_rows(named=True):
                    holders.setdefault(m[f], []).append(_who(m))
                if len(holders) > 1:
                    problems.append(not_constant(label, f, holders, lang))
            continue
        lo, hi = [row[f"#lo{t}"] for t in range(last + 1)], [row[f"#hi{t}"] for t in range(last + 1)]
        if row["#infeasible"]:
            problems.append(infeasible(label, n, lo, hi, d.names, [_text(d, row, t, n, lang) for t in range(last + 1)],
                                       lang))
            continue
        stopped = False
        for p in d.placements:
            t = p.tier
            if row[f"#before{t}"]:
                stopped = True
                break
            if row[f"#na{t}"] < row[f"#k{t}"]:
                warnings.append(short_warning(label, d.names[t], row[f"#k{t}"], row[f"#na{t}"], lang))
            if row[f"#tie{t}"] and d.ranking.tie is c.TieRule.ERROR:
                problems.append(_tie(d, out, row, t, label, lang))
                stopped = True
                break
        if not stopped:
            warnings += count_warnings(label, d.names, [row[f"#count{t}"] for t in range(last + 1)], lo, hi,
                                       [row[f"#pins{t}"] for t in range(last + 1)], lang)
    return warnings, problems


def _text(d: c.Distribute, row: dict, t: int, n: int, lang: str) -> str:
    src = row[f"#src{t}"]
    if src == 0:
        return unbounded_text(n, lang)
    source = d.bounds if src == -1 else next(w.bounds for w in d.whens if w.line == src)
    b = next(b for b in source if b.tier == t)
    return bound_text(b, row[f"#lo{t}"], row[f"#hi{t}"], n, None if src == -1 else src, lang)


def _tie(d: c.Distribute, out: pl.DataFrame, row: dict, t: int, label: str, lang: str) -> str:
    """The problem of a tie at tier t's cut: the tied subjects allowed there, in rank order."""
    k = row[f"#k{t}"]
    tied = list(out.filter((pl.col(_GROUP) == row[_GROUP]) & pl.col(f"#allowed{t}")
                           & (pl.col(_BLOCK) == row[f"#cut{t}"])).iter_rows(named=True))
    inside = sum(1 for m in tied if m[f"#pos{t}"] <= k)
    keys = tie_keys([(key.name, tied[0][d.slots.index if key.by_tier else key.name]) for key in d.ranking.keys], lang)
    return tie_problem(label, [_who(m) for m in tied], keys, distribute_cut(d.names[t], k, lang), inside, len(tied) - inside,
                       lang)


def _who(m: dict) -> str:
    """A subject by its key, or by its position in the input (as the reference names it)."""
    return shown(m[_KEY]) if _KEY in m else f"#{m[_ROW] + 1}"


_KEY = "#key"
