"""The explanation of one subject's result, recorded while it is evaluated.

Plain data, never text: what each indicator started from, each adjustment that applied
(with its reason and amount), each bound that bit, each step that set or changed a tier
(and each rule that held without changing it), and each quota or distribution decision
with the group facts behind it. Every backend records the same objects, so the traces
compare equal; `perfdsl.explain` turns them into words, once per language.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from .frozen import Frozen


@dataclass
class AdjustStep:
    sign: int
    reason: str | None
    amount: Decimal          # what the line moved the value by (after its `up to`)
    uncapped: Decimal | None  # the amount before `up to` bit, when it did
    line: int


@dataclass
class BoundHit:
    kind: str  # clamp cap floor
    before: Decimal
    after: Decimal
    line: int


@dataclass
class IndicatorTrace:
    name: str
    label: str | None
    base: Decimal | None
    steps: list[AdjustStep] = field(default_factory=list)
    bounds: list[BoundHit] = field(default_factory=list)
    value: Decimal | None = None
    weight: Decimal | None = None


@dataclass
class TierChange:
    kind: str  # band downgrade limit veto quota distribute
    before: str | None
    after: str
    reason: str | None
    line: int
    detail: "QuotaDecision | DistributeDecision | None" = None


@dataclass
class TierTrace:
    name: str
    label: str | None
    by: Decimal
    changes: list[TierChange] = field(default_factory=list)
    # downgrades and limits whose condition held but that left the tier as it was (a
    # downgrade at the last tier, a limit above the tier): they still bound `distribute`.
    held: list[TierChange] = field(default_factory=list)


# ---- the cohort stage's decisions ----------------------------------------------------------
class Group(Frozen):
    """Which subjects a cohort rule compared: `fields` = `values` (none: the whole cohort)."""
    fields: tuple[str, ...]
    values: tuple
    size: int


class Bound(Frozen):
    """A tier's head-count bounds in one group and where they came from."""
    lo: int
    hi: int
    lo_share: Decimal | None   # the percentage written (0.25 for 25%), None for a count
    hi_share: Decimal | None
    bounded: bool              # False: the rule puts no bound on this tier (0..n)
    when_line: int | None      # the `when` line that set them, if one did
    has_lo: bool = True        # a quota `at most P%` has no lower bound


class QuotaGroup(Frozen):
    """One quota applied to one group: what every member's decision shares."""
    tierset: str
    tier: str
    next_tier: str
    line: int
    group: Group
    bound: Bound
    rounding: str
    rank_keys: tuple[tuple[str, bool], ...]  # (name, descending)
    holders: int   # held the tier before the cut
    pinned: int    # of them vetoed: they keep it and count
    kept: int
    moved: int


class QuotaDecision(Frozen):
    group: QuotaGroup
    rank: int           # in the group, by the quota's rank order
    outcome: str        # kept moved vetoed other
    place: int | None   # position among the free holders competing for the places


class DistributeStep(Frozen):
    """Step 5 for one tier: rem free subjects left, q of them at this tier or better by
    their own tier; k = clamp(q, lo, hi) is taken, `took` in the end (ties share)."""
    tier: int
    rem: int
    q: int
    lo: int
    hi: int
    k: int
    allowed: int
    took: int


class DistributeGroup(Frozen):
    tierset: str
    names: tuple[str, ...]
    line: int
    group: Group
    bounds: tuple[Bound, ...]
    rounding: str
    rank_keys: tuple[tuple[str, bool], ...]
    whens: tuple[int, ...]       # lines of the `when`s that held
    pins: tuple[int, ...]        # vetoed subjects placed first, per tier
    steps: tuple[DistributeStep, ...]
    counts: tuple[int, ...]      # final head count per tier


class DistributeDecision(Frozen):
    group: DistributeGroup
    rank: int
    individual: int     # tier index after band, downgrade, limit and veto
    ceiling: int        # best tier it may receive
    pinned: bool
    placed: int
    # each cut it went through, best tier first, down to the one that placed it: (tier,
    # its position among those allowed that tier, or None when its ceiling forbade it)
    tried: tuple[tuple[int, int | None], ...]


@dataclass
class Trace:
    indicators: list[IndicatorTrace] = field(default_factory=list)
    tiers: list[TierTrace] = field(default_factory=list)
    # ranks and group values read by the cohort stage: (kind, node) -> facts
    cohort: dict = field(default_factory=dict)

    def tier(self, name: str) -> TierTrace | None:
        return next((t for t in self.tiers if t.name == name), None)
