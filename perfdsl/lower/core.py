"""The core language below the typed IR: what every backend runs, and nothing else.

A core Program says, with no policy vocabulary left, how one subject's values are
computed (named assignments, guarded assignments, explicit division and rounding with
their exactness decided once, trace events as data) and how the cohort stage settles
tiers (partition, rank with a declared tie rule, head-count bounds, cuts, per-tier
placement, group aggregates). `lower_policy` (perfdsl.lower.lower) builds it; an
evaluator runs it and printers translate it, each by one `Visitor`. Why a core: the
meaning of `indicator`, `tiers`, `veto`, `quota` and `distribute` is then written once.
"""
from __future__ import annotations

import enum
from dataclasses import field
from decimal import Decimal

from ..ir import AggFn, Rounding, RuleKind  # noqa: F401 (the IR's kinds, named here for every backend)
from ..runtime.frozen import Frozen
from ..operations import CORE_ONLY, operations


# ---- kinds -------------------------------------------------------------------------
# Pure operations of Call; every argument is evaluated, left to right, except the second
# of AND and OR (short circuit). Named once with the IR's (perfdsl.operations).
Op = operations("Op", __name__, CORE_ONLY)


class Exactness(enum.Enum):
    """How a division's digits come about, decided once when lowering."""
    TERMINATING = "terminating"  # divisor a constant 2^a·5^b: exact while 28 digits hold it
    ROUNDED = "rounded"  # 28 significant digits, half even (LANGUAGE.md §1)


class TieRule(enum.Enum):
    """What a cut between tied subjects does: an error naming them, or all get in."""
    ERROR = "error"
    SHARE = "share"


class Owner(Frozen):
    """What an arithmetic trap inside a block is reported against: `where` is file:line:col,
    `what` the words naming it (a definition, a flag, a group value, a `when`)."""
    where: str
    what: str


# ---- the cohort's shapes (used by expressions and steps) ---------------------------
class Partition(Frozen):
    """Subjects grouped by equal values of `spec` (a field, a tuple of fields, or None:
    the whole cohort); groups in order of first appearance."""
    spec: str | tuple[str, ...] | None

    @property
    def fields(self) -> tuple[str, ...]:
        return () if self.spec is None else (self.spec,) if isinstance(self.spec, str) else tuple(self.spec)


class RankKey(Frozen):
    name: str
    descending: bool
    by_tier: bool  # the key is a tier set: ranked by tier position (0 = best)


class Ranking(Frozen):
    """A total preorder within each part: keys compared in turn; equal on all = tied."""
    keys: tuple[RankKey, ...]
    partition: Partition
    tie: TieRule


class HeadCount(Frozen):
    """A count (`percent` False) or a share of the group size rounded as `rounding` says."""
    value: Decimal
    percent: bool
    rounding: Rounding


# ---- expressions -------------------------------------------------------------------
class Lit(Frozen):
    value: object


class Var(Frozen):
    name: str


class Size(Frozen):
    """The size of the group a value is computed for (`size` in `when`; the cohort else)."""


class Call(Frozen):
    op: Op
    args: tuple["Expr", ...]
    where: str = ""  # file:line:col, for the errors an operation can raise
    what: str = ""  # INDEX: how its list is named in an error


class Div(Frozen):
    num: "Expr"
    den: "Expr"
    exactness: Exactness
    where: str


class Round(Frozen):
    value: "Expr"
    places: "Expr"
    mode: Rounding


class Cond(Frozen):
    test: "Expr"
    then: "Expr"
    else_: "Expr"
    source: object = field(default=None, compare=False, repr=False)  # the IR `if` it came from (coverage)


class RankOf(Frozen):
    """1-based competition rank in `ranking` (n + 1 − rank from the bottom). `fact` is the
    key a traced run files the rank under, for the explanation to find (opaque data)."""
    ranking: Ranking
    from_bottom: bool = False
    fact: object = None


class Aggregate(Frozen):
    """`fn` of `arg` over the subject's part: one value per part."""
    fn: AggFn
    arg: "Expr"
    partition: Partition
    owner: Owner
    fact: object = None  # as RankOf.fact


class GroupValue(Frozen):
    """The subject's part's value of `aggregate` (computed once per part, not per subject)."""
    aggregate: Aggregate


Expr = Lit | Var | Size | Call | Div | Round | Cond | RankOf | GroupValue


# ---- statements --------------------------------------------------------------------
class Let(Frozen):
    """`name` = `expr`. A later Let of the same name replaces it: an indicator's value
    steps through its adjustments as one name assigned again."""
    name: str
    expr: Expr


class Guard(Frozen):
    """If `test` holds run `then`, else `else_`."""
    test: Expr
    then: tuple["Stmt", ...]
    else_: tuple["Stmt", ...] = ()


# trace events: data a traced run records, ignored otherwise
class OpenIndicator(Frozen):
    name: str
    label: str | None
    base: Expr | None  # None: a computed indicator
    weight: Decimal | None


class Adjusted(Frozen):
    sign: int
    reason: str | None
    amount: Expr
    uncapped: Expr  # None (a Lit) unless `up to` bit
    line: int


class BoundBit(Frozen):
    kind: str  # clamp cap floor
    before: Expr
    after: Expr
    line: int


class CloseIndicator(Frozen):
    """The indicator's value; a recomputation (post stage) replaces the earlier record."""
    name: str
    value: Expr


class TierMoved(Frozen):
    """A tier step: the band, or a rule that held (`held`: it left the tier as it was)."""
    tierset: str
    label: str | None
    kind: RuleKind
    names: tuple[str, ...]
    before: Expr | None  # a tier position; None for the band
    after: Expr
    reason: str | None
    line: Expr  # the band's line depends on the band: a PICK
    held: bool = False
    by: Expr | None = None  # the band only: the value banded


Event = OpenIndicator | Adjusted | BoundBit | CloseIndicator | TierMoved


class TierSlots(Frozen):
    """Variables holding a tier set's state after the individual stage."""
    index: str
    ceiling: str
    pinned: str
    limit: str


class Define(Frozen):
    """Run `body`, then `name` = `result`; a decimal trap inside is `owner`'s error.
    `tier`: the tier set's state variables when the value is a tier."""
    name: str
    owner: Owner
    body: tuple["Stmt", ...]
    result: Expr
    tier: TierSlots | None = None


class Flag(Frozen):
    label: str
    test: Expr
    owner: Owner


Stmt = Let | Guard | Define | Event


# ---- cohort steps ------------------------------------------------------------------
class Quota(Frozen):
    """Within each part, at most `hi` free holders of `tier` keep it, the best by rank; the
    rest move down one. Vetoed holders keep it and count. `lo` only warns."""
    tierset: str
    names: tuple[str, ...]
    tier: int
    lo: HeadCount | None
    hi: HeadCount | None  # None: the group size
    ranking: Ranking
    rounding: Rounding
    line: int


class TierBounds(Frozen):
    tier: int
    lo: HeadCount
    hi: HeadCount | None  # None: the group size


class WhenBounds(Frozen):
    """Bounds that replace a tier's when `test` holds for the group (read on its first member)."""
    test: Expr
    bounds: tuple[TierBounds, ...]
    line: int
    owner: Owner


class Placement(Frozen):
    """One tier's cut in forced distribution: k = clamp(q, max(lo', rem − Σhi' of `later`),
    min(hi', rem − Σlo' of `later`)), at most rem; the k best allowed (ceiling ≤ tier) by rank."""
    tier: int
    later: tuple[int, ...]


class Distribute(Frozen):
    """Forced distribution per part: bounds, `when` replacements, feasibility, vetoed
    subjects pinned, then `placements` from the best tier; the last tier takes the rest."""
    tierset: str
    slots: TierSlots  # where each subject's individual tier state is
    names: tuple[str, ...]
    ranking: Ranking
    bounds: tuple[TierBounds, ...]
    whens: tuple[WhenBounds, ...]
    constant_fields: tuple[str, ...]  # must be one value per part (a `when` reads them)
    placements: tuple[Placement, ...]
    rounding: Rounding
    line: int


CohortStep = Quota | Distribute


class Program(Frozen):
    """A policy as the core: run `individual` then `flags` on each subject; with a cohort,
    `steps` in order, then `post` (values reading a final tier), `cohort` (ranks, group
    values), and every flag again (`cohort_flags`)."""
    name: str
    key: str | None
    outputs: tuple[str, ...]
    individual: tuple[Define, ...]
    flags: tuple[Flag, ...]
    steps: tuple[CohortStep, ...]
    post: tuple[Define, ...]
    cohort: tuple[Define, ...]
    cohort_flags: tuple[Flag, ...]
    language: str = "en"  # the policy's (perfdsl.language.policy_language): what its messages speak


# ---- one visitor -------------------------------------------------------------------
class Visitor:
    """Dispatch on the node's class: `visit(node)` calls `visit_<ClassName>(node, *args)`.

    The method table is built once per visitor class, so backends walk the core with no
    isinstance chains of their own."""

    def visit(self, node, *args):
        table = type(self).__dict__.get("_table_of_class")
        if table is None:
            table = {}
            type(self)._table_of_class = table
        method = table.get(type(node))
        if method is None:
            method = table[type(node)] = getattr(type(self), "visit_" + type(node).__name__)
        return method(self, node, *args)



class _Reads(Visitor):
    def visit_Lit(self, e: Lit) -> set[str]:
        return set()

    visit_Size = visit_Lit

    def visit_Var(self, e: Var) -> set[str]:
        return {e.name}

    def visit_Call(self, e: Call) -> set[str]:
        return set().union(*[self.visit(a) for a in e.args])

    def visit_Div(self, e: Div) -> set[str]:
        return self.visit(e.num) | self.visit(e.den)

    def visit_Round(self, e: Round) -> set[str]:
        return self.visit(e.value) | self.visit(e.places)

    def visit_Cond(self, e: Cond) -> set[str]:
        return self.visit(e.test) | self.visit(e.then) | self.visit(e.else_)

    def visit_RankOf(self, e: RankOf) -> set[str]:
        return {k.name for k in e.ranking.keys} | set(e.ranking.partition.fields)

    def visit_GroupValue(self, e: GroupValue) -> set[str]:
        return self.visit(e.aggregate.arg) | set(e.aggregate.partition.fields)


def reads(e: Expr) -> set[str]:
    """The variables and fields an expression reads: what a printer must have in columns."""
    return _Reads().visit(e)
