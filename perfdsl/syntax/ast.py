"""The surface syntax tree: frozen dataclasses, one per construct, each a Node with a Span.

The parser produces these and nothing downstream mutates them. Names are kept as the
policy spelled them; resolution and typing happen in `perfdsl.check`.
"""
from __future__ import annotations

from decimal import Decimal

from ..diagnostics import Span
from ..runtime.frozen import Frozen


class Node(Frozen):
    """What every node has: the span it was parsed from. A subclass is a frozen dataclass
    (Frozen) whose fields follow `span`."""
    span: Span


# ---- expressions -------------------------------------------------------------------
class Num(Node):
    value: Decimal
    text: str


class Str(Node):
    value: str


class Bool(Node):
    value: bool


class Name(Node):
    name: str


class Call(Node):
    func: str
    func_span: Span
    args: tuple["Expr", ...]


class ListLit(Node):
    items: tuple["Expr", ...]


class Unary(Node):
    op: str  # "-" or "not"
    operand: "Expr"


class Binary(Node):
    op: str  # + - * / per and or
    left: "Expr"
    right: "Expr"


class Compare(Node):
    """A comparison chain: `a <= b < c` holds when every adjacent pair does."""
    operands: tuple["Expr", ...]
    ops: tuple[str, ...]


class IfExpr(Node):
    cond: "Expr"
    then: "Expr"
    else_: "Expr"


class Index(Node):
    """`xs[i]`: the item at 0-based position i (negative counts from the end)."""
    list: "Expr"
    index: "Expr"


class Fields(Node):
    """`(F1, F2)` after `per` in a group aggregate: group by several fields."""
    names: tuple[str, ...]


Expr = Num | Str | Bool | Name | Call | ListLit | Unary | Binary | Compare | IfExpr | Index | Fields


# ---- small pieces ------------------------------------------------------------------
class Bound(Node):
    """One end of a range: a number, or a share of a group (`20%` in distribute)."""
    value: Decimal
    percent: bool


class Range(Node):
    lo: Bound
    hi: Bound | None  # None: open above (`0..`)


class RankKey(Node):
    name: str
    descending: bool


class RankSpec(Node):
    keys: tuple[RankKey, ...]
    group: str | tuple[str, ...] | None  # `per F`, or `per (F1, F2)`


# ---- types -------------------------------------------------------------------------
class SimpleType(Node):
    name: str
    range: Range | None
    length: Range | None


class EnumType(Node):
    values: tuple[str, ...]


class ListType(Node):
    elem: "TypeExpr"


TypeExpr = SimpleType | EnumType | ListType


# ---- declarations ------------------------------------------------------------------
class Import(Node):
    path: str


class FieldSetting(Node):
    """A setting that names one input field: `key F` (KeySetting), `period F` (PeriodSetting)."""
    name: str


class KeySetting(FieldSetting):
    pass


class PeriodSetting(FieldSetting):
    pass


class ScaleSetting(Node):
    range: Range


class RankSetting(Node):
    rank: RankSpec


class Input(Node):
    name: str
    type: TypeExpr
    label: str | None


class Value(Node):
    """A named value, `let|score|outcome NAME "label" = EXPR`: the keyword (the node's
    class) says only what the value is for (an intermediate, a score, an output)."""
    name: str
    expr: Expr
    label: str | None = None


class Let(Value):
    pass


class Score(Value):
    pass


class Outcome(Value):
    pass


class Def(Node):
    name: str
    params: tuple[str, ...]
    body: Expr


class ValueLine(Node):
    """Where an indicator's value comes from: `base EXPR` (BaseLine, moved by the lines
    after it) or `= EXPR` (ComputedLine, the value itself; also `indicator NAME = EXPR`)."""
    expr: Expr


class BaseLine(ValueLine):
    pass


class ComputedLine(ValueLine):
    pass


class Adjust(Node):
    """`add|deduct AMOUNT per X` or `... if COND`, with an optional `up to N` line cap."""
    sign: int  # +1 add, -1 deduct
    amount: Expr
    per: Expr | None
    cond: Expr | None
    reason: str | None
    up_to: Bound | None


class Limit_(Node):
    """`clamp LO..HI`, `cap N` or `floor N` inside an indicator."""
    kind: str  # clamp cap floor
    lo: Bound | None
    hi: Bound | None


IndLine = BaseLine | ComputedLine | Adjust | Limit_


class Indicator(Node):
    name: str
    label: str | None
    weight: Bound | None
    max: Bound | None
    lines: tuple[IndLine, ...]


class TableRow(Node):
    cond: Expr | None  # None: otherwise
    value: Expr


class Table(Node):
    name: str
    param: str
    label: str | None
    rows: tuple[TableRow, ...]


class TierLine(Node):
    tier: str
    op: str | None  # ">=", "<" ... as written; None for otherwise
    threshold: Expr | None


class Tiers(Node):
    name: str
    label: str | None
    by: Expr
    ascending: bool
    lines: tuple[TierLine, ...]


class TierRule(Node):
    """A rule that names a tier: `veto COND -> TIER` (Veto: the subject gets TIER) and
    `limit COND -> at most TIER` (LimitRule: no better than TIER)."""
    cond: Expr
    tier: str
    tier_span: Span
    reason: str | None


class Veto(TierRule):
    pass


class Downgrade(Node):
    cond: Expr
    steps: Bound
    reason: str | None


class LimitRule(TierRule):
    pass


class CohortOptions(Frozen):
    rank: RankSpec | None
    rounding: str | None
    rounding_span: Span | None
    ties_share: bool


class Quota(Node):
    tier: str
    tier_span: Span
    share: Bound | None  # `at most P%`
    count: Range | None  # `count A..B`
    group: str | tuple[str, ...] | None
    options: CohortOptions


class TierBound(Node):
    tier: str
    range: Range


class When(Node):
    cond: Expr
    bounds: tuple[TierBound, ...]


class Distribute(Node):
    group: str | tuple[str, ...] | None
    options: CohortOptions
    bounds: tuple[TierBound, ...]
    whens: tuple[When, ...]


class Flag(Node):
    label: str
    cond: Expr


class Property(Node):
    label: str
    expr: Expr
    cohort: bool = False  # `property cohort`: for every subject of a generated cohort, final tiers


class Monotone(Node):
    label: str | None
    target: str
    target_span: Span
    increasing: bool
    input: str
    input_span: Span


class Assignment(Node):
    name: str
    value: Expr


class Expectation(Node):
    """`name = v`, `name of KEY = v`, or `count(COND) = v` (func holds `count`)."""
    name: str
    subject: str | None
    cond: Expr | None
    value: Expr


class TableCells(Node):
    cells: tuple[str, ...]
    cell_spans: tuple[Span, ...]


class Example(Node):
    label: str
    cohort: bool
    rows: tuple[TableCells, ...]
    given: tuple[Assignment, ...]
    expect: tuple[Expectation, ...]


class ExampleDefaults(Node):
    """`example defaults { given ... }`: what a single-subject example takes for a field
    it does not give (LANGUAGE.md §12.1). `expect` is kept only to be rejected."""
    given: tuple[Assignment, ...]
    expect: tuple[Expectation, ...]


class Policy(Node):
    name: str
    label: str | None
    items: tuple["Item", ...]


Item = (KeySetting | PeriodSetting | ScaleSetting | RankSetting | Input | Let | Score
        | Outcome | Def | Indicator | Table | Tiers | Veto | Downgrade | LimitRule | Quota
        | Distribute | Flag | Property | Monotone | Example | ExampleDefaults)


class Module(Frozen):
    """One parsed file: its imports, at most one policy, and top-level items."""
    path: str
    imports: tuple[Import, ...]
    policy: Policy | None
    items: tuple[Item, ...]
