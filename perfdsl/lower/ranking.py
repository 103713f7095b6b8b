"""Partitions, rank orders and head counts of the core, on Result rows: what every
cohort step and cohort value of the row-at-a-time evaluator is built from."""
from __future__ import annotations

from decimal import Decimal

from .. import runtime as rt
from ..runtime import Result
from ..runtime.trace import Group
from . import core as c


def part_value(r: Result, p: c.Partition):
    """The value a subject is grouped by: one field's, a tuple for several, None for none."""
    if p.spec is None:
        return None
    return r.record[p.spec] if isinstance(p.spec, str) else tuple(r.record[f] for f in p.spec)


def partition(results: list[Result], p: c.Partition) -> list[tuple[object, list[Result]]]:
    """The parts in order of first appearance, members in input order."""
    parts: dict[object, list[Result]] = {}
    for r in results:
        parts.setdefault(part_value(r, p), []).append(r)
    return list(parts.items())


def group_record(p: c.Partition, value, n: int) -> Group:
    """The part as the explanation records it."""
    if p.spec is None:
        return Group((), (), n)
    return Group(p.fields, (value,) if isinstance(p.spec, str) else tuple(value), n)


def key_value(r: Result, k: c.RankKey):
    return r.tiers[k.name].index if k.by_tier else r.values.get(k.name, r.record.get(k.name))


def compare(ranking: c.Ranking, a: Result, b: Result) -> int:
    """Negative when a ranks before b; 0 when they tie on every key."""
    for k in ranking.keys:
        x, y = key_value(a, k), key_value(b, k)
        if x != y:
            return -1 if ((x > y) if k.descending else (x < y)) else 1
    return 0


def ranked(ranking: c.Ranking, members: list[Result]) -> list[Result]:
    """Best first; tied subjects keep their input order. One key sort per rank key, the last
    key first: Python's sort is stable, `reverse` included, so this orders as `compare` does
    at a fraction of a comparison function's cost."""
    out = list(members)
    for k in reversed(ranking.keys):
        out.sort(key=lambda r, k=k: key_value(r, k), reverse=k.descending)
    return out


def competition_ranks(ranking: c.Ranking, ordered: list[Result]) -> dict[int, int]:
    """1-based ranks by id(result); tied subjects share the smaller rank (1, 2, 2, 4)."""
    ranks: dict[int, int] = {}
    for i, r in enumerate(ordered):
        tied = i > 0 and compare(ranking, ordered[i - 1], r) == 0
        ranks[id(r)] = ranks[id(ordered[i - 1])] if tied else i + 1
    return ranks


def head_count(h: c.HeadCount, n: int) -> int:
    return rt.round_count(rt.CONTEXT.multiply(h.value, Decimal(n)) if h.percent else h.value, h.rounding.value)


def percent(h: c.HeadCount | None) -> Decimal | None:
    """The share written (0.25 for 25%), None for a count: what the explanation shows."""
    return h.value if h is not None and h.percent else None


def rank_keys(ranking: c.Ranking) -> tuple[tuple[str, bool], ...]:
    return tuple((k.name, k.descending) for k in ranking.keys)
