"""What the cohort steps say, worded once for every evaluator and printer of the core:
the problems that stop a group (ties at a cut, infeasible bounds, a `when` field that
varies) and the warnings of a placement, so a message reads the same whichever backend
found it (perfdsl.cohort re-exports the helpers other backends use)."""
from __future__ import annotations

from decimal import Decimal

from .. import runtime as rt
from ..numbers import decimal_text
from . import core as c

__all__ = ["shown", "group_label", "share_basis", "quota_warnings", "quota_rule", "bound_text", "unbounded_text", "infeasible",
           "not_constant", "tie_problem", "short_warning", "count_warnings"]


def shown(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return decimal_text(v) if isinstance(v, Decimal) else str(v)


_ROUNDED = {"half_up": "rounded half up", "half_even": "rounded half even", "floor": "rounded down", "ceil": "rounded up"}


def group_label(field, value) -> str:
    """How a group is named in warnings and problems: `group dept=A`, `the whole cohort`."""
    if field is None:
        return "the whole cohort"
    if isinstance(field, str):
        return f"group {field}={shown(value)}"
    return "group " + ", ".join(f"{f}={shown(v)}" for f, v in zip(field, value))


def _share_text(share) -> str:
    return f"{shown(rt.CONTEXT.multiply(share.value, Decimal(100)))}%" if share.percent else shown(share.value)


def share_basis(shares: list, n: int, rounding: str) -> str:
    """Where counts came from, e.g. ` (10%..20% of 10, rounded half up)`; empty for plain counts.
    `shares`: HeadCounts or IR Shares (value, percent), None where a bound is not written."""
    if not any(s is not None and s.percent for s in shares):
        return ""
    return f" ({'..'.join(_share_text(s) if s else '' for s in shares)} of {n}, {_ROUNDED[rounding]})"


def quota_warnings(label: str, tier: str, kept: int, pinned: int, lo: int, hi: int) -> list[str]:
    """What a group's final count under a quota is worth a warning (every backend says it so)."""
    out = []
    if kept > hi:
        why = "vetoed subjects keep their tier" if pinned > hi else "tied subjects share the last place"
        out.append(f"{label}: {kept} keep {tier}, above the quota's {hi} ({why})")
    if kept < lo:
        out.append(f"{label}: only {kept} hold {tier}, short of the quota's minimum {lo} (a quota never promotes)")
    return out


def quota_rule(q: c.Quota, tier: str, lo: int, hi: int, n: int) -> str:
    """How a quota names itself at a tie: `quota 先进 at most 2 (25% of 7, rounded half up)`."""
    shares = [q.lo, q.hi] if q.lo is not None else [q.hi]
    bound = f"{lo}..{hi}" if q.lo is not None else f"at most {hi}"
    return f"quota {tier} {bound}{share_basis(shares, n, q.rounding.value)}"


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
