"""The typed, resolved IR: the only input of every backend.

Built by `perfdsl.check` from the AST once names are resolved, types checked and the
static rules of LANGUAGE.md §10 have passed. Definitions are stored in dependency order;
def and table calls are already inlined, so a backend evaluates expressions over
inputs and earlier definitions only. Every node keeps the Span it came from.
"""
from __future__ import annotations

import enum
from dataclasses import field
from decimal import Decimal

from .diagnostics import Span
from .runtime.frozen import Frozen
from .numbers import decimal_text
from .operations import IR_ONLY, operations


# ---- types -------------------------------------------------------------------------
class Type(Frozen):
    kind: str  # num bool text tier list
    tierset: str | None = None  # for kind == "tier"
    elem: "Type | None" = None  # for kind == "list"

    def __str__(self) -> str:
        if self.kind == "tier":
            return f"tier of {self.tierset}"
        if self.kind == "list":
            return f"list of {self.elem}"
        return {"num": "number", "bool": "bool", "text": "text", "any": "a value of any type"}[self.kind]


NUM, BOOL, TEXT = Type("num"), Type("bool"), Type("text")


def tier_type(tierset: str) -> Type:
    return Type("tier", tierset=tierset)


def list_type(elem: Type) -> Type:
    return Type("list", elem=elem)


class Interval(Frozen):
    """A closed range of numbers; None is unbounded on that side."""
    lo: Decimal | None
    hi: Decimal | None

    def __str__(self) -> str:
        lo = "-∞" if self.lo is None else _fmt(self.lo)
        hi = "∞" if self.hi is None else _fmt(self.hi)
        return f"{lo}..{hi}"


def _fmt(d: Decimal) -> str:
    """Compact for the very large or small bounds interval arithmetic can produce."""
    return decimal_text(d) if d == d.to_integral_value() or abs(d.adjusted()) < 20 else str(d)


ANY = Interval(None, None)


# ---- expressions -------------------------------------------------------------------
Fn = operations("Fn", __name__, IR_ONLY)  # the IR's operations: perfdsl.operations


class Word(enum.StrEnum):
    """A discriminator of the IR. Str-valued, so `ref.kind == "input"` keeps working, and
    written (repr) as its plain string, so code printed from the IR spells it as before."""

    def __repr__(self) -> str:
        return repr(self.value)


class RefKind(Word):
    """What a Ref reads."""
    INPUT = "input"
    VALUE = "value"  # an earlier definition
    SIZE = "size"  # the group size (`when` of distribute, cohort properties)
    PARAM = "param"  # a parameter of a def or table typed uncalled: nothing is known of it


class Stage(Word):
    """When a value can be computed, in order: from one subject, once its final tiers are
    known, from the whole cohort (ranks, group aggregates)."""
    INDIVIDUAL = "individual"
    POST = "post"
    COHORT = "cohort"

    @staticmethod
    def latest(stages) -> "Stage":
        """The last of `stages` (individual when there are none)."""
        order = list(Stage)
        return max(stages, key=order.index, default=Stage.INDIVIDUAL)


class AggFn(Word):
    """A group aggregate: `mean(x) per dept`, `count(c) per dept`, ..."""
    MEAN = "mean"
    SUM = "sum"
    COUNT = "count"
    MIN = "min"
    MAX = "max"


class Rounding(Word):
    """A rounding mode: how a cohort rule rounds a share of the group size to a head
    count, and (in the core) how `round` rounds."""
    HALF_UP = "half_up"
    HALF_EVEN = "half_even"
    FLOOR = "floor"
    CEIL = "ceil"


class RuleKind(Word):
    """A rule acting on a tier set, in application order. BAND is never a rule's kind:
    it is the first tier step a trace records (the band the score falls in), before the
    rules that held."""
    BAND = "band"
    DOWNGRADE = "downgrade"
    LIMIT = "limit"
    VETO = "veto"


class DefKind(Word):
    LET = "let"
    INDICATOR = "indicator"
    SCORE = "score"
    OUTCOME = "outcome"
    TIERS = "tiers"


class Const(Frozen):
    span: Span
    type: Type
    value: object  # Decimal, bool, str (text or tier name), tuple for lists


class Ref(Frozen):
    """A reference to an input, an earlier definition, or the group `size`."""
    span: Span
    type: Type
    name: str
    kind: RefKind


class Prim(Frozen):
    span: Span
    type: Type
    fn: Fn
    args: tuple["Expr", ...]


class If(Frozen):
    span: Span
    type: Type
    cond: "Expr"
    then: "Expr"
    else_: "Expr"


class Rank(Frozen):
    """The subject's 1-based position in a rank order within its group (cohort stage)."""
    span: Span
    type: Type
    from_bottom: bool
    order: "RankOrder"


class GroupAgg(Frozen):
    """`mean(x) per FIELD`: an aggregate of x over the subject's group (cohort stage)."""
    span: Span
    type: Type
    fn: AggFn
    arg: "Expr"
    group: str | None


Expr = Const | Ref | Prim | If | Rank | GroupAgg


def children(e) -> list:
    """The sub-expressions of an IR expression, for passes that walk it without recursion."""
    if isinstance(e, Prim):
        return list(e.args)
    if isinstance(e, If):
        return [e.cond, e.then, e.else_]
    if isinstance(e, GroupAgg):
        return [e.arg]
    return []


def group_fields(group) -> tuple[str, ...]:
    """The fields a `per` group is made of: `per F` keeps its one name (a str), `per (F1, F2)`
    a tuple of several; no group is the whole cohort (no fields)."""
    return () if group is None else (group,) if isinstance(group, str) else tuple(group)


def group_text(group) -> str:
    """A group as the policy writes it after `per`: `dept`, or `(dept, kind)`."""
    return group if isinstance(group, str) else "(" + ", ".join(group) + ")"


def list_text(e) -> str:
    """How an out-of-range `xs[i]` names its list: the input field it reads, else `the list`."""
    return f"field `{e.name}`" if isinstance(e, Ref) and e.kind is RefKind.INPUT else "the list"


# ---- declarations ------------------------------------------------------------------
class InputDef(Frozen):
    span: Span
    name: str
    label: str | None
    type: Type
    is_int: bool  # numbers only: must be whole
    range: Interval | None  # numbers, or list elements
    length: Interval | None  # lists
    choices: tuple[str, ...] | None  # `one of (...)`


class Adjustment(Frozen):
    span: Span
    sign: int
    amount: Expr
    per: Expr | None
    cond: Expr | None
    reason: str | None
    up_to: Decimal | None


class BoundStep(Frozen):
    span: Span
    kind: str  # clamp cap floor
    lo: Decimal | None
    hi: Decimal | None


class IndicatorBody(Frozen):
    base: Expr | None  # None when computed
    adjustments: tuple[Adjustment, ...]
    bounds: tuple[BoundStep, ...]
    computed: Expr | None


class Tier(Frozen):
    name: str
    threshold: Decimal | None  # None for `otherwise`
    span: Span


class TierRule(Frozen):
    span: Span
    kind: RuleKind
    cond: Expr
    steps: int  # downgrade
    tier: int  # limit / veto: index into the tier list
    reason: str | None


class TiersBody(Frozen):
    by: Expr
    ascending: bool
    tiers: tuple[Tier, ...]
    rules: tuple[TierRule, ...]  # in application order: downgrades, limits, vetoes

    def names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.tiers)


class Definition(Frozen):
    """One named value: a ValueDef (let, score, outcome: one expression), an IndicatorDef
    or a TiersDef. `stage` says when it can be computed.

    Readers match on the variant. During the move from one class with three optional
    bodies, every variant still answers `expr`, `indicator`, `tiers`, `weight` and `max`
    (None where it has none), so a reader not yet migrated keeps working."""
    span: Span
    name: str
    kind: DefKind
    label: str | None
    type: Type
    stage: Stage
    range: Interval = ANY

    expr = None
    indicator = None
    tiers = None
    weight = None
    max = None

    def expressions(self) -> list:
        """Every expression this definition evaluates, in evaluation order."""
        raise NotImplementedError


class ValueDef(Definition):
    """`let`, `score` or `outcome`: the value of one expression."""
    expr: Expr = field(kw_only=True)

    def expressions(self) -> list:
        return [self.expr]


class IndicatorDef(Definition):
    indicator: IndicatorBody = field(kw_only=True)
    weight: Decimal | None = field(default=None, kw_only=True)  # as a fraction: 40% is 0.4
    max: Decimal | None = field(default=None, kw_only=True)  # `max N`: the value stays within 0..N

    def expressions(self) -> list:
        b = self.indicator
        return [x for x in (b.base, b.computed) if x is not None] + [
            x for a in b.adjustments for x in (a.amount, a.per, a.cond) if x is not None]


class TiersDef(Definition):
    tiers: TiersBody = field(kw_only=True)

    def expressions(self) -> list:
        return [self.tiers.by] + [r.cond for r in self.tiers.rules]


class FlagDef(Frozen):
    span: Span
    label: str
    cond: Expr
    stage: Stage


class RankKeyIR(Frozen):
    name: str
    descending: bool
    span: Span


class RankOrder(Frozen):
    keys: tuple[RankKeyIR, ...]
    group: str | None
    span: Span


class Share(Frozen):
    """A bound of a cohort rule: a count, or a share of the group size."""
    value: Decimal
    percent: bool


class QuotaDef(Frozen):
    span: Span
    tierset: str
    tier: int
    lo: Share | None
    hi: Share | None  # None: no upper bound (`count 3..`)
    group: str | None
    rank: RankOrder
    rounding: Rounding
    ties_share: bool


class BoundsIR(Frozen):
    tier: int
    lo: Share
    hi: Share | None  # None: up to the group size
    span: Span


class WhenIR(Frozen):
    cond: Expr
    bounds: tuple[BoundsIR, ...]
    span: Span


class DistributeDef(Frozen):
    span: Span
    tierset: str
    group: str | None
    rank: RankOrder
    rounding: Rounding
    ties_share: bool
    bounds: tuple[BoundsIR, ...]
    whens: tuple[WhenIR, ...]
    when_fields: tuple[str, ...]  # inputs a `when` reads: must be constant in a group


class ExampleDef(Frozen):
    span: Span
    label: str
    cohort: bool
    records: tuple[tuple[int, dict], ...]  # (source line, input record)
    expects: tuple["Expect", ...]


class Expect(Frozen):
    span: Span
    name: str  # a definition, an input, `flags`, or `count`
    subject: str | None  # `name of KEY`
    cond: Expr | None  # count(COND)
    value: object


class PropertyDef(Frozen):
    span: Span
    label: str
    expr: Expr | None
    monotone: tuple[str, bool, str] | None  # (target, increasing, input)
    cohort: bool = False  # `property cohort`: evaluated for every subject after the cohort stage


class Policy(Frozen):
    name: str
    label: str | None
    file: str
    period: str | None
    key: str | None
    scale: Interval
    rank: RankOrder | None
    inputs: tuple[InputDef, ...]
    definitions: tuple[Definition, ...]  # dependency order
    flags: tuple[FlagDef, ...]
    quotas: tuple[QuotaDef, ...]
    distributes: tuple[DistributeDef, ...]
    examples: tuple[ExampleDef, ...]
    properties: tuple[PropertyDef, ...]
    source_hash: str
    declared: tuple[str, ...] = ()  # definition names in the order the policy writes them

    def output_names(self) -> list[str]:
        """Named values in output order (§11): indicators, lets, scores, tiers, outcomes,
        each kind in declaration order."""
        rank = {n: i for i, n in enumerate(self.declared)}
        kinds = (DefKind.INDICATOR, DefKind.LET, DefKind.SCORE, DefKind.TIERS, DefKind.OUTCOME)
        defs = sorted(self.definitions, key=lambda d: (kinds.index(d.kind), rank.get(d.name, len(rank))))
        return [d.name for d in defs]

    def expressions(self) -> list:
        """Every expression of every definition, then every flag condition, in order."""
        return [e for d in self.definitions for e in d.expressions()] + [f.cond for f in self.flags]

    def definition(self, name: str) -> Definition:
        return next(d for d in self.definitions if d.name == name)

    @property
    def has_cohort_stage(self) -> bool:
        return bool(self.quotas or self.distributes) or any(
            d.stage == Stage.COHORT for d in self.definitions) or any(f.stage == Stage.COHORT for f in self.flags)
