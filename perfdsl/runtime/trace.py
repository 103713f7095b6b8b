"""The explanation of one subject's result, recorded while it is evaluated.

Plain data: what each indicator started from, each adjustment that applied (with its
reason and amount), each bound that bit, and each step that set or changed a tier.
Rendering lives in `perfdsl.explain`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal


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
    detail: str | None = None


@dataclass
class TierTrace:
    name: str
    label: str | None
    by: Decimal
    changes: list[TierChange] = field(default_factory=list)


@dataclass
class Trace:
    indicators: list[IndicatorTrace] = field(default_factory=list)
    tiers: list[TierTrace] = field(default_factory=list)

    def tier(self, name: str) -> TierTrace | None:
        return next((t for t in self.tiers if t.name == name), None)
