"""The cohort stage over columns (LANGUAGE.md §6): quotas and ranks by sorting.

Quotas are placed with sorts, top-k selections, window positions and tie blocks instead
of a loop over subjects (see `quota`); the counts come from
perfdsl.cohort's own rounding (`head_count`), the tie problems from its own `cut`, so the
wording and the numbers are those of the Python path. `distribute` runs group by group
through perfdsl.cohort itself (reported once as a fallback).

A tie block is a run of rows equal on every rank key. With k places open among the
free holders of a group (best first at positions 1..m), the row at position p keeps the
tier when p ≤ k; the cut is a problem when 1 ≤ k < m and the block holding position k
also holds position k + 1 — exactly when cohort.Placer.cut finds candidates[k-1] and
candidates[k] tied. Under `ties share` a row keeps the tier when its block starts at or
before k.
"""
from __future__ import annotations

import polars as pl

from .. import cohort as cohort_stage
from ..ir import QuotaDef, RankOrder
from .inputs import ROW
from .scaled import Unsupported

G, POS, TIE, START, END, K, NFREE, PH, N = "~g", "~pos", "~tie", "~start", "~end", "~k", "~nfree", "~ph", "~n"


def _keys(run, order: RankOrder) -> list[tuple[str, pl.Expr, bool]]:
    """(column, expression, descending) of each rank key, as perfdsl.lower.ranking.key_value ranks."""
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
        cols.append(run.group_expr(group).alias(G))
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
    """At most hi of each group keep tier q.tier, the best by rank; the rest move down one.

    Only the free holders (holding the tier, not vetoed) compete. Without groups, the
    first rank key's k-th best value v (a top-k, not a sort) splits them: better than v
    keep the tier, worse move down, and only the rows equal to v are sorted by every key
    to place the cut. With groups, every free holder is sorted by (group, keys)."""
    names = run.tier_names(q.tierset)
    tier = names[q.tier]
    idx = run.cols[q.tierset].expr
    state = run.tier_state.get(q.tierset)
    pinned = pl.col(state["pinned"]) if state else pl.lit(False)
    holder = idx == q.tier
    free = holder & ~pinned

    def hi_of(n: int) -> int:
        return cohort_stage.head_count(q.hi, n, q.rounding) if q.hi is not None else n

    if q.group is None:
        ph = run.frame.select((holder & pinned).sum()).item() if state else 0
        cand, sure, rest_moved = _whole(run, q, free, hi_of(run.n) - ph)
    else:
        cand, sure, rest_moved = _grouped(run, q, free, holder & pinned, hi_of), None, None
    k, pos, start = pl.col(K), pl.col(POS), pl.col(START)
    kept = (start <= k) if q.ties_share else (pos <= k)
    failing: set = set()
    if not q.ties_share and cand.height:
        bad = cand.filter((k >= 1) & (k < pl.col(NFREE)) & (start <= k) & (pl.col(END) > k))
        if bad.height:
            failing = set(bad[G].to_list()) if q.group is not None else {None}
            _tie_problems(run, q, placer, cand, bad, names)
    if failing and q.group is None:
        return  # the whole cohort stays as it was
    stay = ~pl.col(G).is_in(list(failing)) if failing else pl.lit(True)
    cand_moved = cand.filter(~kept & stay).get_column(ROW) if cand.height else None
    run.move_tier(q.tierset, rest_moved, cand_moved, q.tier + 1)
    if state or q.ties_share or q.lo is not None:
        kept_counts = _kept_counts(run, q, cand.filter(kept), sure)
        _quota_warnings(run, q, placer, kept_counts, failing, holder & pinned, tier)


def _finish(lf: pl.LazyFrame) -> pl.DataFrame:
    """Where each tie block ends (END), then the frame."""
    tie_next = pl.col(TIE).shift(-1).fill_null(False)
    return lf.with_columns(pl.when(~tie_next).then(pl.col(POS)).backward_fill().alias(END)).collect()


def _whole(run, q: QuotaDef, free: pl.Expr, k: int):
    """(candidates to rank, rows kept unranked, rows moved unranked) without groups."""
    m = run.frame.select(free.sum()).item()
    empty = pl.DataFrame({ROW: [], K: [], POS: [], START: [], END: [], NFREE: []},
                         schema={c: pl.Int64 for c in (ROW, K, POS, START, END, NFREE)})
    if k <= 0:
        return empty, None, free
    if k >= m:
        return empty, free, None
    first = _keys(run, q.rank)[0]
    p, desc = first[1], first[2]
    top = p.filter(free)
    v = run.frame.select((top.top_k(k).min() if desc else top.bottom_k(k).max()).alias("v")).item()
    lit_v = pl.lit(v, dtype=run.frame.select(p).dtypes[0])
    better, worse = ((p > lit_v), (p < lit_v)) if desc else ((p < lit_v), (p > lit_v))
    b = run.frame.select((free & better).sum()).item()
    cand = _finish(ordered(run, q.rank, None, free & (p == lit_v)).with_columns(
        pl.lit(k - b, dtype=pl.Int64).alias(K), pl.len().cast(pl.Int64).alias(NFREE)))
    # positions are within the boundary rows: the cut falls at k − b of them
    return cand, free & better, free & worse


def _grouped(run, q: QuotaDef, free: pl.Expr, pinned_holder: pl.Expr, hi_of) -> pl.DataFrame:
    """Every free holder ranked within its group, with the places open in its group (K)."""
    gexpr = run.group_expr(q.group)
    sizes = run.frame.select(gexpr.alias(G)).group_by(G).len().get_column("len").unique().to_list()
    hi_map = {n: hi_of(n) for n in sizes}
    # k depends on the whole group, so it is computed before the holders are filtered
    k_expr = (pl.len().over(gexpr).replace_strict(hi_map, return_dtype=pl.Int64)
              - pinned_holder.sum().over(gexpr).cast(pl.Int64))
    base = run.frame.lazy().with_columns(k_expr.alias(K))
    return _finish(ordered(run, q.rank, q.group, free, [K], base).with_columns(pl.len().over(G).alias(NFREE)))


def _kept_counts(run, q: QuotaDef, kept_cand: pl.DataFrame, sure: pl.Expr | None) -> dict:
    """Free holders keeping the tier, per group value (None without groups)."""
    if q.group is None:
        n = kept_cand.height + (run.frame.select(sure.sum()).item() if sure is not None else 0)
        return {None: n}
    counts = kept_cand.group_by(G).len()
    return dict(zip(counts[G].to_list(), counts["len"].to_list()))


def _rule_text(q: QuotaDef, tier: str, n: int, lang: str) -> tuple[str, int, int]:
    """The quota as perfdsl.cohort words it for a group of n, with its (lo, hi) counts."""
    hi = cohort_stage.head_count(q.hi, n, q.rounding) if q.hi is not None else n
    lo = cohort_stage.head_count(q.lo, n, q.rounding) if q.lo is not None else 0
    shares = [q.lo, q.hi] if q.lo is not None else [q.hi]
    return cohort_stage.quota_text(tier, lo, hi, q.lo is not None, shares, n, q.rounding, lang), lo, hi


def _first_rows(run, field: str | None, values: set) -> dict:
    """Group value → its first row in the input (groups are reported in that order)."""
    if field is None:
        return {None: 0}
    df = (run.frame.lazy().select(run.group_expr(field).alias(G), pl.col(ROW))
          .filter(pl.col(G).is_in(list(values))).group_by(G).agg(pl.col(ROW).min()).collect())
    return dict(zip(df[G].to_list(), df[ROW].to_list()))


def _row_label(run, field: str | None, row: int, lang: str) -> str:
    return cohort_stage.group_label(field, run.python_value(field, row) if field is not None else None, lang)


def _tie_problems(run, q: QuotaDef, placer, free: pl.DataFrame, bad: pl.DataFrame, names) -> None:
    """Record each failing group's tie through cohort.Placer.cut, for its exact wording."""
    tier = names[q.tier]
    grouped = q.group is not None
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
        rule, _, _ = _rule_text(q, tier, n, placer.language)
        members = run.results_for(block[ROW].to_list(), [k.name for k in q.rank.keys])
        placer.position.update((id(r), i + 1) for r, i in zip(members, block[ROW].to_list()))
        placer.cut(q.rank, members, row[K] - row[START] + 1, False, rule,
                   _row_label(run, q.group, first[gv], placer.language))


def _quota_warnings(run, q: QuotaDef, placer, kept_counts: dict, failing: set, pinned_holder: pl.Expr,
                    tier: str) -> None:
    """kept > hi (vetoed keep, or ties share) and kept < lo, per group, as perfdsl.cohort warns."""
    grouped = q.group is not None
    g = run.group_expr(q.group) if grouped else pl.lit(None)
    summary = (run.frame.lazy().group_by(g.alias(G))
               .agg(pl.len().alias(N), pinned_holder.sum().alias(PH), pl.col(ROW).min().alias(ROW))
               .sort(ROW).collect())
    for gv, n, ph, first in summary.select(G, N, PH, ROW).iter_rows():
        if gv in failing:
            continue
        _, lo, hi = _rule_text(q, tier, n, placer.language)
        kept = ph + kept_counts.get(gv, 0)
        placer.warnings += cohort_stage.quota_warnings(_row_label(run, q.group, first, placer.language), tier, kept, ph,
                                                       lo, hi, placer.language)


# ---- distribute -------------------------------------------------------------------------------
def distribute(run, placer) -> None:
    """Every `distribute` rule, group by group, through perfdsl.cohort (Python per group)."""
    results = run.results_for(list(range(run.n)), None)
    placer.position = {id(r): i for i, r in enumerate(results, start=1)}
    for d in run.ir.distributes:
        for value, members in cohort_stage.group_members(results, d.group):
            placer.distribute(d, cohort_stage.group_label(d.group, value, placer.language), members, value)
    for tierset in {d.tierset for d in run.ir.distributes}:
        run.set_tier_column(tierset, [r.tiers[tierset].index for r in results])

