"""The surface syntax tree: frozen dataclasses, one per construct, each with a Span.

The parser produces these and nothing downstream mutates them. Names are kept as the
policy spelled them; resolution and typing happen in `perfdsl.check`.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from ..diagnostics import Span


# ---- expressions -------------------------------------------------------------------
@dataclass(frozen=True)
class Num:
    span: Span
    value: Decimal
    text: str


@dataclass(frozen=True)
class Str:
    span: Span
    value: str


@dataclass(frozen=True)
class Bool:
    span: Span
    value: bool


@dataclass(frozen=True)
class Name:
    span: Span
    name: str


@dataclass(frozen=True)
class Call:
    span: Span
    func: str
    func_span: Span
    args: tuple["Expr", ...]


@dataclass(frozen=True)
class ListLit:
    span: Span
    items: tuple["Expr", ...]


@dataclass(frozen=True)
class Unary:
    span: Span
    op: str  # "-" or "not"
    operand: "Expr"


@dataclass(frozen=True)
class Binary:
    span: Span
    op: str  # + - * / per and or
    left: "Expr"
    right: "Expr"


@dataclass(frozen=True)
class Compare:
    """A comparison chain: `a <= b < c` holds when every adjacent pair does."""
    span: Span
    operands: tuple["Expr", ...]
    ops: tuple[str, ...]


@dataclass(frozen=True)
class IfExpr:
    span: Span
    cond: "Expr"
    then: "Expr"
    else_: "Expr"


@dataclass(frozen=True)
class Index:
    """`xs[i]`: the item at 0-based position i (negative counts from the end)."""
    span: Span
    list: "Expr"
    index: "Expr"


@dataclass(frozen=True)
class Fields:
    """`(F1, F2)` after `per` in a group aggregate: group by several fields."""
    span: Span
    names: tuple[str, ...]


Expr = Num | Str | Bool | Name | Call | ListLit | Unary | Binary | Compare | IfExpr | Index | Fields


# ---- small pieces ------------------------------------------------------------------
@dataclass(frozen=True)
class Bound:
    """One end of a range: a number, or a share of a group (`20%` in distribute)."""
    span: Span
    value: Decimal
    percent: bool


@dataclass(frozen=True)
class Range:
    span: Span
    lo: Bound
    hi: Bound | None  # None: open above (`0..`)


@dataclass(frozen=True)
class RankKey:
    span: Span
    name: str
    descending: bool


@dataclass(frozen=True)
class RankSpec:
    span: Span
    keys: tuple[RankKey, ...]
    group: str | tuple[str, ...] | None  # `per F`, or `per (F1, F2)`


# ---- types -------------------------------------------------------------------------
@dataclass(frozen=True)
class SimpleType:
    span: Span
    name: str
    range: Range | None
    length: Range | None


@dataclass(frozen=True)
class EnumType:
    span: Span
    values: tuple[str, ...]


@dataclass(frozen=True)
class ListType:
    span: Span
    elem: "TypeExpr"


TypeExpr = SimpleType | EnumType | ListType


# ---- declarations ------------------------------------------------------------------
@dataclass(frozen=True)
class Import:
    span: Span
    path: str


@dataclass(frozen=True)
class KeySetting:
    span: Span
    name: str


@dataclass(frozen=True)
class PeriodSetting:
    span: Span
    name: str


@dataclass(frozen=True)
class ScaleSetting:
    span: Span
    range: Range


@dataclass(frozen=True)
class RankSetting:
    span: Span
    rank: RankSpec


@dataclass(frozen=True)
class Input:
    span: Span
    name: str
    type: TypeExpr
    label: str | None


@dataclass(frozen=True)
class Let:
    span: Span
    name: str
    expr: Expr
    label: str | None = None


@dataclass(frozen=True)
class Score:
    span: Span
    name: str
    label: str | None
    expr: Expr


@dataclass(frozen=True)
class Outcome:
    span: Span
    name: str
    label: str | None
    expr: Expr


@dataclass(frozen=True)
class Def:
    span: Span
    name: str
    params: tuple[str, ...]
    body: Expr


@dataclass(frozen=True)
class BaseLine:
    span: Span
    expr: Expr


@dataclass(frozen=True)
class ComputedLine:
    span: Span
    expr: Expr


@dataclass(frozen=True)
class Adjust:
    """`add|deduct AMOUNT per X` or `... if COND`, with an optional `up to N` line cap."""
    span: Span
    sign: int  # +1 add, -1 deduct
    amount: Expr
    per: Expr | None
    cond: Expr | None
    reason: str | None
    up_to: Bound | None


@dataclass(frozen=True)
class Limit_:
    """`clamp LO..HI`, `cap N` or `floor N` inside an indicator."""
    span: Span
    kind: str  # clamp cap floor
    lo: Bound | None
    hi: Bound | None


IndLine = BaseLine | ComputedLine | Adjust | Limit_


@dataclass(frozen=True)
class Indicator:
    span: Span
    name: str
    label: str | None
    weight: Bound | None
    max: Bound | None
    lines: tuple[IndLine, ...]


@dataclass(frozen=True)
class TableRow:
    span: Span
    cond: Expr | None  # None: otherwise
    value: Expr


@dataclass(frozen=True)
class Table:
    span: Span
    name: str
    param: str
    label: str | None
    rows: tuple[TableRow, ...]


@dataclass(frozen=True)
class TierLine:
    span: Span
    tier: str
    op: str | None  # ">=", "<" ... as written; None for otherwise
    threshold: Expr | None


@dataclass(frozen=True)
class Tiers:
    span: Span
    name: str
    label: str | None
    by: Expr
    ascending: bool
    lines: tuple[TierLine, ...]


@dataclass(frozen=True)
class Veto:
    span: Span
    cond: Expr
    tier: str
    tier_span: Span
    reason: str | None


@dataclass(frozen=True)
class Downgrade:
    span: Span
    cond: Expr
    steps: Bound
    reason: str | None


@dataclass(frozen=True)
class LimitRule:
    span: Span
    cond: Expr
    tier: str
    tier_span: Span
    reason: str | None


@dataclass(frozen=True)
class CohortOptions:
    rank: RankSpec | None
    rounding: str | None
    rounding_span: Span | None
    ties_share: bool


@dataclass(frozen=True)
class Quota:
    span: Span
    tier: str
    tier_span: Span
    share: Bound | None  # `at most P%`
    count: Range | None  # `count A..B`
    group: str | tuple[str, ...] | None
    options: CohortOptions


@dataclass(frozen=True)
class TierBound:
    span: Span
    tier: str
    range: Range


@dataclass(frozen=True)
class When:
    span: Span
    cond: Expr
    bounds: tuple[TierBound, ...]


@dataclass(frozen=True)
class Distribute:
    span: Span
    group: str | tuple[str, ...] | None
    options: CohortOptions
    bounds: tuple[TierBound, ...]
    whens: tuple[When, ...]


@dataclass(frozen=True)
class Flag:
    span: Span
    label: str
    cond: Expr


@dataclass(frozen=True)
class Property:
    span: Span
    label: str
    expr: Expr
    cohort: bool = False  # `property cohort`: for every subject of a generated cohort, final tiers


@dataclass(frozen=True)
class Monotone:
    span: Span
    label: str | None
    target: str
    target_span: Span
    increasing: bool
    input: str
    input_span: Span


@dataclass(frozen=True)
class Assignment:
    span: Span
    name: str
    value: Expr


@dataclass(frozen=True)
class Expectation:
    """`name = v`, `name of KEY = v`, or `count(COND) = v` (func holds `count`)."""
    span: Span
    name: str
    subject: str | None
    cond: Expr | None
    value: Expr


@dataclass(frozen=True)
class TableCells:
    span: Span
    cells: tuple[str, ...]
    cell_spans: tuple[Span, ...]


@dataclass(frozen=True)
class Example:
    span: Span
    label: str
    cohort: bool
    rows: tuple[TableCells, ...]
    given: tuple[Assignment, ...]
    expect: tuple[Expectation, ...]


@dataclass(frozen=True)
class ExampleDefaults:
    """`example defaults { given ... }`: what a single-subject example takes for a field
    it does not give (LANGUAGE.md §12.1). `expect` is kept only to be rejected."""
    span: Span
    given: tuple[Assignment, ...]
    expect: tuple[Expectation, ...]


@dataclass(frozen=True)
class Policy:
    span: Span
    name: str
    label: str | None
    items: tuple["Item", ...]


Item = (KeySetting | PeriodSetting | ScaleSetting | RankSetting | Input | Let | Score
        | Outcome | Def | Indicator | Table | Tiers | Veto | Downgrade | LimitRule | Quota
        | Distribute | Flag | Property | Monotone | Example | ExampleDefaults)


@dataclass(frozen=True)
class Module:
    """One parsed file: its imports, at most one policy, and top-level items."""
    path: str
    imports: tuple[Import, ...]
    policy: Policy | None
    items: tuple[Item, ...]
