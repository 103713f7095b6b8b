"""Each quota's and `distribute` rule's numbers, group by group: the count per tier
before the cohort stage and after it, and the bounds the stage held each tier to.

Computed once, here, for the run summary and the `汇总` sheet (perfdsl.summary) and for
the report (perfdsl.report.model): two readings of the same cohort would drift apart,
and a clerk comparing the printout with the report would find two numbers for one quota.
The bounds come from the cohort stage's own functions (cohort.head_count, Placer.bounds),
so both state the numbers the run applied rather than a second reading of LANGUAGE.md §6.

Every backend's results are counted one way: as `Columns`, polars columns of the final
tiers and group fields, grouped in order of first appearance as the cohort stage groups.
A columnar run has them as columns already; the others' results are made columns
(`Columns.of_results`), which costs little beside evaluating them one by one.

Where a subject stood before the cohort stage is the caller's to say (`before`): the
summary records it while the backend runs (a trace would make a run three times as
long), the report reads it from the trace it keeps anyway.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Callable

from . import cohort
from .ir import DistributeDef, QuotaDef, Share, group_fields
from .numbers import decimal_text
from .runtime import CONTEXT, localcontext

Before = Callable[[object, str], str]
"""(result, tier set) → the tier the subject held before the cohort stage."""


@dataclass(frozen=True)
class TierCounts:
    """One tier of one group under one rule."""
    tier: str
    before: int | None  # None: nobody said where subjects stood (the columnar backend keeps no tiers)
    final: int
    # The head counts the stage held the tier to here; 0..size where a distribution does
    # not bound it in this group (cohort §6), None where the stage computed none (a
    # quota's other tiers, a group whose `when` could not be computed).
    lo: int | None = None
    hi: int | None = None
    bounded: bool = False  # bounded in this group: by the rule's own line or a `when` that held
    shares: tuple[Share | None, Share | None] = (None, None)  # the bound as written (lo, hi)
    when: int | None = None  # the line of the `when` that set the bound


@dataclass(frozen=True)
class GroupCounts:
    value: object  # as cohort.group_members gives it: None for the whole cohort, a tuple for `per (F1, F2)`
    size: int
    tiers: tuple[TierCounts, ...]


@dataclass(frozen=True)
class RuleCounts:
    rule: QuotaDef | DistributeDef
    names: tuple[str, ...]  # the tier set's tiers, best first
    bounds: frozenset[int]  # the tiers some line of the rule bounds (a `when`'s, whether or not it holds)
    groups: tuple[GroupCounts, ...]  # empty where the rule has more groups than were asked for (`rules`)
    count: int  # how many groups the rule has


def share_text(share: Share | None) -> str:
    """A share as the policy writes it: `25%`, or a plain count; empty for none."""
    if share is None:
        return ""
    return decimal_text(share.value * 100) + "%" if share.percent else decimal_text(share.value)


class Columns:
    """A cohort's results as polars columns, the one form every count here reads: each tier
    set's final tier, the fields groups are made by, and, where known, each tier set's tier
    index before the cohort stage (column `NAME~before`). Counted in polars; `row(i)` gives
    subject i as a result for what reads one subject (a group's value and a `when` read its
    first member). As a sequence it holds len() subjects. A columnar run builds it from its
    frames (perfdsl.run_tally.cohort_columns), every other run from its results (`of_results`).

    Column `~row` is each subject's position. A SQL run hands over its subjects already
    counted (100M rows would not fit): a row per distinct combination of the columns, `~w`
    the subjects it stands for and `~row` the first of them; and `group_counts`, the
    number of groups of each rule's `group`, where its fields are left out of the frame."""

    def __init__(self, frame, row: Callable[[int], object], first: int = 0, counts: dict | None = None,
                 size: int | None = None, rows: Callable[[list[int]], list] | None = None,
                 group_counts: dict | None = None):
        self.frame, self.row, self.first = frame, row, first
        self._counts, self._size, self._group_counts = counts, size, group_counts or {}
        # many rows at once (positions ascending), where one read is cheaper than many
        self.rows = rows or (lambda positions: [row(i) for i in positions])

    @classmethod
    def of_results(cls, ir, results, before: Before | None = None) -> Columns:
        """Results with `values` and `record` (a Result, or an output row with its record) as
        columns; a group field as the order of first appearance of its value, so that values
        group as cohort.group_members groups them (by Python equality)."""
        import polars as pl
        data = {"~row": pl.Series(range(len(results)), dtype=pl.Int64)}  # the height without tier sets
        for d in ir.definitions:
            if d.tiers is not None:
                data[d.name] = pl.Series([r.values[d.name] for r in results], dtype=pl.String)
                if before is not None:
                    index = {t: i for i, t in enumerate(d.tiers.names())}
                    data[f"{d.name}~before"] = pl.Series([index[before(r, d.name)] for r in results], dtype=pl.Int64)
        for field in grouped_by(ir):
            seen: dict = {}
            data[field] = pl.Series([seen.setdefault(r.record[field], len(seen)) for r in results], dtype=pl.Int64)
        return cls(pl.DataFrame(data), results.__getitem__)

    def __len__(self) -> int:
        if self._size is not None:
            return self._size
        return self.frame.get_column("~w").sum() if self._weighted else self.frame.height

    @property
    def _weighted(self) -> bool:
        return "~w" in self.frame.columns

    def _how_many(self, test=None):
        """The subjects for which `test` holds (None: all), as a polars aggregate."""
        import polars as pl
        if not self._weighted:
            return pl.len() if test is None else test.sum()
        return pl.col("~w").sum() if test is None else pl.when(test).then(pl.col("~w")).otherwise(0).sum()

    def __getitem__(self, i: int):
        if i != 0:
            raise IndexError("only a group's first member is read")
        return self.row(self.first)

    def _tallies(self, tierset: str, names) -> dict:
        import polars as pl
        before = f"{tierset}~before"
        exprs = [self._how_many(pl.col(tierset) == t).alias(f"f{i}") for i, t in enumerate(names)]
        if before in self.frame.columns:
            exprs += [self._how_many(pl.col(before) == i).alias(f"b{i}") for i in range(len(names))]
        return self.frame.select(exprs).row(0, named=True)

    def count(self, tierset: str, names) -> tuple[tuple[int | None, ...], tuple[int, ...]]:
        """(before the cohort stage, final): how many of these subjects hold each tier of
        `names`; the first is all None where the tiers before it are not known."""
        got = self._counts[tierset] if self._counts is not None else self._tallies(tierset, names)
        final = tuple(got[f"f{i}"] for i in range(len(names)))
        return tuple(got.get(f"b{i}") for i in range(len(names))), final

    def knows_before(self, tierset: str) -> bool:
        """Whether the tiers before the cohort stage are known for `tierset`."""
        return f"{tierset}~before" in self.frame.columns

    def group_count(self, field) -> int:
        """How many groups the subjects make by their value of `field` (None: one group)."""
        if field is None:
            return 1
        if field in self._group_counts:
            return self._group_counts[field]
        return self.frame.select(*([field] if isinstance(field, str) else field)).n_unique()

    def groups(self, field, tiersets: dict[str, tuple[str, ...]]) -> list[tuple[object, Columns]]:
        """The subjects by their value of `field` (None: one group), in order of first
        appearance, as cohort.group_members gives them, each with its counts; a group's
        value is its first member's."""
        import polars as pl
        if field is None:
            return [(None, self)]
        fields = [field] if isinstance(field, str) else list(field)
        exprs = [self._how_many().alias("~n"), pl.col("~row").min().alias("~first")]
        for name, names in tiersets.items():
            exprs += [self._how_many(pl.col(name) == t).alias(f"{name}~f{i}") for i, t in enumerate(names)]
            if f"{name}~before" in self.frame.columns:
                exprs += [self._how_many(pl.col(f"{name}~before") == i).alias(f"{name}~b{i}")
                          for i in range(len(names))]
        agg = self.frame.group_by(fields).agg(exprs).sort("~first")
        firsts = agg.get_column("~first").to_list()
        read = dict(zip(firsts, self.rows(firsts)))  # each group's first member, read once

        def row(i: int):
            return read[i] if i in read else self.row(i)
        out = []
        for g in agg.iter_rows(named=True):
            record = read[g["~first"]].record
            value = record[field] if isinstance(field, str) else tuple(record[f] for f in fields)
            counts = {name: {k[len(name) + 1:]: v for k, v in g.items() if k.startswith(name + "~")}
                      for name in tiersets}
            out.append((value, Columns(self.frame, row, g["~first"], counts, g["~n"], self.rows)))
        return out

    def moves(self, tierset: str, names) -> Counter:
        """(tier before the cohort stage, final tier) → how many subjects it moved so."""
        import polars as pl
        before = pl.col(f"{tierset}~before")
        was = pl.lit(pl.Series(list(names))).gather(before)
        moved = (self.frame.filter(was != pl.col(tierset))
                 .group_by([was.alias("was"), pl.col(tierset)]).agg(self._how_many(), pl.col("~row").min())
                 .sort("~row").drop("~row"))  # as the rows come
        return Counter({(w, t): n for w, t, n in moved.iter_rows()})


def grouped_by(ir) -> list[str]:
    """The fields some quota or `distribute` rule groups by, each once."""
    return list(dict.fromkeys(f for rule in (*ir.quotas, *ir.distributes) for f in group_fields(rule.group)))


def rules(ir, results: Columns, listed: int | None = None) -> list[RuleCounts]:
    """Every quota and `distribute` rule in the order the cohort stage applies them
    (cohort.apply: quotas best tier first, then each distribution), group by group; a rule
    with more groups than `listed` (None: no limit) only says how many it has, for a
    summary that would not list them (40,000 groups cost seconds to count one by one)."""
    tiersets = {d.name: d.tiers.names() for d in ir.definitions
                if d.tiers is not None and d.name in results.frame.columns}
    with localcontext(CONTEXT):
        placer = cohort.Placer(ir, [])
        out = []
        for rule in (*sorted(ir.quotas, key=lambda q: q.tier), *ir.distributes):
            count = results.group_count(rule.group)
            if listed is not None and count > listed:
                out.append(RuleCounts(rule, ir.definition(rule.tierset).tiers.names(), _bounded(rule), (), count))
            elif isinstance(rule, QuotaDef):
                out.append(_quota(ir, rule, results, tiersets))
            else:
                out.append(_distribute(ir, rule, results, tiersets, placer))
        return out


def _bounded(rule: QuotaDef | DistributeDef) -> frozenset[int]:
    """The tiers some line of the rule bounds (a `when`'s, whether or not it holds)."""
    if isinstance(rule, QuotaDef):
        return frozenset({rule.tier})
    return frozenset({b.tier for b in rule.bounds} | {b.tier for w in rule.whens for b in w.bounds})


def _quota(ir, q: QuotaDef, results: Columns, tiersets: dict) -> RuleCounts:
    names = ir.definition(q.tierset).tiers.names()
    groups = []
    for value, members in results.groups(q.group, tiersets):
        n = len(members)
        ahead, final = members.count(q.tierset, names)
        tiers = [TierCounts(t, ahead[i], final[i]) for i, t in enumerate(names)]
        tiers[q.tier] = TierCounts(names[q.tier], ahead[q.tier], final[q.tier],
                                   cohort.head_count(q.lo, n, q.rounding) if q.lo is not None else 0,
                                   cohort.head_count(q.hi, n, q.rounding) if q.hi is not None else n,
                                   True, (q.lo, q.hi))
        groups.append(GroupCounts(value, n, tuple(tiers)))
    return RuleCounts(q, names, _bounded(q), tuple(groups), len(groups))


def _distribute(ir, d: DistributeDef, results: Columns, tiersets: dict, placer: cohort.Placer) -> RuleCounts:
    names = ir.definition(d.tierset).tiers.names()
    groups = []
    for value, members in results.groups(d.group, tiersets):
        ahead, final = members.count(d.tierset, names)
        got = placer.bounds(d, names, members, "")  # None: a `when` failed (the run said so)
        if got is None:
            tiers = [TierCounts(t, ahead[i], final[i]) for i, t in enumerate(names)]
        else:
            lo, hi, _, records, _ = got
            tiers = [TierCounts(t, ahead[i], final[i], lo[i], hi[i], records[i].bounded,
                                _written(d, i, records[i].when_line) if records[i].bounded else (None, None),
                                records[i].when_line)
                     for i, t in enumerate(names)]
        groups.append(GroupCounts(value, len(members), tuple(tiers)))
    return RuleCounts(d, names, _bounded(d), tuple(groups), len(groups))


def _written(d: DistributeDef, tier: int, when: int | None) -> tuple[Share | None, Share | None]:
    """The shares of the line that bounded `tier`, which Placer.bounds names (the rule's
    own line, or the `when` on line `when`): which line wins is decided there alone."""
    lines = d.bounds if when is None else [b for w in d.whens if w.span.line == when for b in w.bounds]
    b = [b for b in lines if b.tier == tier][-1]
    return b.lo, b.hi
