"""What the cohort steps say, worded once for every evaluator and printer of the core:
the problems that stop a group (ties at a cut, infeasible bounds, a `when` field that
varies) and the warnings of a placement. The words are perfdsl.cohort's (its label and
share helpers are imported), so a message reads the same whichever backend found it."""
from __future__ import annotations

from decimal import Decimal

from ..cohort import group_label, quota_warnings, share_basis
from ..numbers import decimal_text
from . import core as c

__all__ = ["shown", "group_label", "quota_warnings", "quota_rule", "bound_text", "unbounded_text", "infeasible",
           "not_constant", "tie_problem", "short_warning", "count_warnings"]


def shown(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return decimal_text(v) if isinstance(v, Decimal) else str(v)


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
