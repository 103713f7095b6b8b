"""The cohort stage over columns (LANGUAGE.md §6): quotas and ranks by sorting.

Quotas are placed with one sort of each quota's free holders by (group, rank keys),
window positions and tie blocks instead of a loop over subjects; the counts come from
perfdsl.cohort's own rounding (`_count`), the tie problems from its own `cut`, so the
wording and the numbers are those of the Python path. `distribute` runs group by group
through perfdsl.cohort itself (reported once as a fallback).

A tie block is a run of rows equal on every rank key. With k places open among the
free holders of a group (best first at positions 1..m), the row at position p keeps the
tier when p ≤ k; the cut is a problem when 1 ≤ k < m and the block holding position k
also holds position k + 1 — exactly when cohort._Placer.cut finds candidates[k-1] and
candidates[k] tied. Under `ties share` a row keeps the tier when its block starts at or
before k.
"""
from __future__ import annotations

import polars as pl

from .. import cohort as cohort_stage
from ..ir import QuotaDef, RankOrder
from ..result import Result, TierState
from .inputs import ROW
from .scaled import Unsupported

G, POS, TIE, START, END, K, NFREE, PH, N, HI = "~g", "~pos", "~tie", "~start", "~end", "~k", "~nfree", "~ph", "~n", "~hi"


def _keys(run, order: RankOrder) -> list[tuple[str, pl.Expr, bool]]:
    """(column, expression, descending) of each rank key, as perfdsl.cohort._rank_value ranks."""
    out = []
    for j, key in enumerate(order.keys):
        col = run.rank_key(key.name)
        if col.kind == "list":
            raise Unsupported(f"ranking by the list `{key.name}`", key.span)
        out.append((f"~k{j}", col.expr, key.descending))
    return out


def ordered(run, order: RankOrder, group: str | None, where: pl.Expr | None = None,
            extra: list[str] = (), base: pl.LazyFrame | None = None) -> pl.LazyFrame:
    """Rows (those `where` holds) sorted by `group` and the rank keys, with their 1-based
    position in the group (POS), whether they tie with the row before (TIE) and where
    their tie block starts (START); `extra` columns of `base` come along."""
    keys = _keys(run, order)
    lf = run.frame.lazy() if base is None else base
    if where is not None:
        lf = lf.filter(where)
    cols = [pl.col(ROW)] + [e.alias(name) for name, e, _ in keys] + [pl.col(c) for c in extra]
    if group is not None:
        cols.append(run.cols[group].expr.alias(G))
    by = ([G] if group is not None else []) + [name for name, _, _ in keys]
    desc = ([False] if group is not None else []) + [d for _, _, d in keys]
    lf = lf.select(cols).sort(by, descending=desc, maintain_order=True)
    pos = pl.int_range(1, pl.len() + 1, dtype=pl.Int64)
    same = pl.all_horizontal([pl.col(c) == pl.col(c).shift(1) for c in by]).fill_null(False)
    lf = lf.with_columns((pos.over(G) if group is not None else pos).alias(POS), same.alias(TIE))
    return lf.with_columns(pl.when(~pl.col(TIE)).then(pl.col(POS)).forward_fill().alias(START))


def ranks(run, order: RankOrder) -> tuple[pl.Series, pl.Series]:
    """Competition rank (1, 2, 2, 4) and group size of every row, in input order."""
    size = pl.len().over(G) if order.group is not None else pl.len()
    df = ordered(run, order, order.group).select(ROW, START, size.cast(pl.Int64).alias(N)).collect()
    rows = df[ROW]
    rank = pl.zeros(run.n, dtype=pl.Int64, eager=True).scatter(rows, df[START])
    n = pl.zeros(run.n, dtype=pl.Int64, eager=True).scatter(rows, df[N])
    return rank, n


# ---- quotas -----------------------------------------------------------------------------------
def quota(run, q: QuotaDef, placer) -> None:
    """At most hi of each group keep tier q.tier, the best by rank; the rest move down one."""
    names = run.tier_names(q.tierset)
    tier = names[q.tier]
    idx = run.cols[q.tierset].expr
    state = run.tier_state.get(q.tierset)
    pinned = pl.col(state["pinned"]) if state else pl.lit(False)
    holder = idx == q.tier
    grouped = q.group is not None
    gexpr = run.cols[q.group].expr if grouped else None

    def hi_of(n: int) -> int:
        return cohort_stage._count(q.hi, n, q.rounding) if q.hi is not None else n

    if grouped:
        sizes = run.frame.select(gexpr.alias(G)).group_by(G).len().get_column("len").unique().to_list()
        hi_map = {n: hi_of(n) for n in sizes}
        # k depends on the whole group, so it is computed before the holders are filtered
        k_expr = (pl.len().over(gexpr).replace_strict(hi_map, return_dtype=pl.Int64)
                  - (holder & pinned).sum().over(gexpr).cast(pl.Int64))
        base = run.frame.lazy().with_columns(k_expr.alias(K))
        lf = ordered(run, q.rank, q.group, holder & ~pinned, [K], base).with_columns(pl.len().over(G).alias(NFREE))
    else:
        ph = run.frame.select((holder & pinned).sum()).item() if state else 0
        lf = ordered(run, q.rank, None, holder & ~pinned).with_columns(
            pl.lit(hi_of(run.n) - ph, dtype=pl.Int64).alias(K), pl.len().cast(pl.Int64).alias(NFREE))
    tie_next = pl.col(TIE).shift(-1).fill_null(False)
    lf = lf.with_columns(pl.when(~tie_next).then(pl.col(POS)).backward_fill().alias(END))
    free = lf.collect()
    k, pos, start, end = pl.col(K), pl.col(POS), pl.col(START), pl.col(END)
    kept = (start <= k) if q.ties_share else (pos <= k)
    failing: set = set()
    if not q.ties_share:
        bad = free.filter((k >= 1) & (k < pl.col(NFREE)) & (start <= k) & (end > k))
        if bad.height:
            failing = set(bad[G].to_list()) if grouped else {None}
            _tie_problems(run, q, placer, free, bad, names, grouped)
    stay = ~pl.col(G).is_in(list(failing)) if grouped and failing else pl.lit(not failing)
    moved = free.filter(~kept & stay).get_column(ROW)
    if moved.len():
        run.set_tier_index(q.tierset, moved, q.tier + 1)
    if state or q.ties_share or q.lo is not None:
        _quota_warnings(run, q, placer, free.filter(kept), failing, holder & pinned, tier, hi_of)


def _rule_text(q: QuotaDef, tier: str, n: int) -> tuple[str, int, int]:
    """The quota as perfdsl.cohort words it for a group of n, with its (lo, hi) counts."""
    hi = cohort_stage._count(q.hi, n, q.rounding) if q.hi is not None else n
    lo = cohort_stage._count(q.lo, n, q.rounding) if q.lo is not None else 0
    bound = f"{lo}..{hi}" if q.lo is not None else f"at most {hi}"
    shares = [q.lo, q.hi] if q.lo is not None else [q.hi]
    return f"quota {tier} {bound}{cohort_stage._basis(shares, n, q.rounding)}", lo, hi


def _first_rows(run, field: str | None, values: set) -> dict:
    """Group value → its first row in the input (groups are reported in that order)."""
    if field is None:
        return {None: 0}
    df = (run.frame.lazy().select(run.cols[field].expr.alias(G), pl.col(ROW))
          .filter(pl.col(G).is_in(list(values))).group_by(G).agg(pl.col(ROW).min()).collect())
    return dict(zip(df[G].to_list(), df[ROW].to_list()))


def _label(run, field: str | None, row: int) -> str:
    return cohort_stage._label(field, run.python_value(field, row) if field is not None else None)


def _tie_problems(run, q: QuotaDef, placer, free: pl.DataFrame, bad: pl.DataFrame, names, grouped: bool) -> None:
    """Record each failing group's tie through cohort._Placer.cut, for its exact wording."""
    tier = names[q.tier]
    gvals = bad[G].to_list() if grouped else [None] * bad.height
    first = _first_rows(run, q.group, set(gvals))
    seen = set()
    for gv, row in sorted(zip(gvals, bad.iter_rows(named=True)), key=lambda t: first[t[0]]):
        if gv in seen:
            continue
        seen.add(gv)
        block = free.filter((pl.col(START) == row[START]) & ((pl.col(G) == gv) if grouped else pl.lit(True)))
        block = block.sort(POS)
        n = run.group_size(q.group, first[gv])
        rule, _, _ = _rule_text(q, tier, n)
        members = run.results_for(block[ROW].to_list(), [k.name for k in q.rank.keys])
        placer.position.update((id(r), i + 1) for r, i in zip(members, block[ROW].to_list()))
        placer.cut(q.rank, members, row[K] - row[START] + 1, False, rule, _label(run, q.group, first[gv]))


def _quota_warnings(run, q: QuotaDef, placer, kept_free: pl.DataFrame, failing: set, pinned_holder: pl.Expr,
                    tier: str, hi_of) -> None:
    """kept > hi (vetoed keep, or ties share) and kept < lo, per group, as perfdsl.cohort warns."""
    grouped = q.group is not None
    g = run.cols[q.group].expr if grouped else pl.lit(0)
    summary = (run.frame.lazy().group_by(g.alias(G))
               .agg(pl.len().alias(N), pinned_holder.sum().alias(PH), pl.col(ROW).min().alias(ROW)).collect())
    keep = kept_free.group_by(G).len() if grouped else pl.DataFrame({G: [0], "len": [kept_free.height]})
    summary = summary.join(keep.with_columns(pl.col(G).cast(summary.schema[G])), on=G, how="left").sort(ROW)
    for gv, n, ph, first, kept_free_n in summary.select(G, N, PH, ROW, "len").iter_rows():
        if (gv if grouped else None) in failing:
            continue
        _, lo, hi = _rule_text(q, tier, n)
        kept = ph + (kept_free_n or 0)
        label = _label(run, q.group, first)
        if kept > hi:
            why = "vetoed subjects keep their tier" if ph > hi else "tied subjects share the last place"
            placer.warnings.append(f"{label}: {kept} keep {tier}, above the quota's {hi} ({why})")
        if kept < lo:
            placer.warnings.append(f"{label}: only {kept} hold {tier}, short of the quota's minimum {lo} "
                                   "(a quota never promotes)")


# ---- distribute -------------------------------------------------------------------------------
def distribute(run, placer) -> None:
    """Every `distribute` rule, group by group, through perfdsl.cohort (Python per group)."""
    results = run.results_for(list(range(run.n)), None)
    placer.position = {id(r): i for i, r in enumerate(results, start=1)}
    for d in run.ir.distributes:
        for value, members in cohort_stage._groups(results, d.group):
            placer.distribute(d, cohort_stage._label(d.group, value), members)
    for tierset in {d.tierset for d in run.ir.distributes}:
        run.set_tier_column(tierset, [r.tiers[tierset].index for r in results])


def results_of(ir, records: list[dict], values: list[dict], tiers: list[dict]) -> list[Result]:
    return [Result(ir, rec, val, [], None, {k: TierState(*s) for k, s in ts.items()})
            for rec, val, ts in zip(records, values, tiers)]
