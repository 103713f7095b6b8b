"""IR → core: `lower_policy(ir) -> core.Program`.

The only place that knows what `indicator`, `tiers`, `downgrade`, `limit`, `veto`,
`quota` and `distribute` mean (LANGUAGE.md §3, §5, §6): each becomes assignments, guarded
steps, trace events and cohort steps that any backend can run or print without knowing
the policy language. Names this module invents contain `#`, which no policy name can.
"""
from __future__ import annotations

from decimal import Decimal

from .. import ir
from ..ir import Fn, RefKind, Stage, group_text, list_text
from ..language import policy_language
from . import core as c

_ZERO = c.Lit(Decimal(0))
_NONE = c.Lit(None)

_OPS = {fn: c.Op[fn.name] for fn in Fn if fn.name in c.Op.__members__}  # the pure ones: one table
_ROUNDS = {Fn.ROUND_HALF_UP: c.Rounding.HALF_UP, Fn.ROUND_HALF_EVEN: c.Rounding.HALF_EVEN,
           Fn.ROUND_FLOOR: c.Rounding.FLOOR, Fn.ROUND_CEIL: c.Rounding.CEIL}


def where(span) -> str:
    return f"{span.file}:{span.line}:{span.col}"


def _call(op: c.Op, *args) -> c.Call:
    return c.Call(op, tuple(args))


def exactness(den: c.Expr) -> c.Exactness:
    """A constant divisor made of 2s and 5s divides exactly (while 28 digits hold the
    quotient); any other divisor rounds to 28 significant digits."""
    if isinstance(den, c.Lit) and isinstance(den.value, Decimal) and den.value != 0:
        sign, digits, exp = den.value.normalize().as_tuple()
        n = int("".join(map(str, digits)))
        for p in (2, 5):
            while n % p == 0:
                n //= p
        if n == 1:
            return c.Exactness.TERMINATING
    return c.Exactness.ROUNDED


class _Lowerer:
    """Lowers one policy; keeps the rank orders and aggregates it made, one object each."""

    def __init__(self, policy: ir.Policy):
        self.policy = policy
        self.tiersets = {d.name for d in policy.definitions if isinstance(d, ir.TiersDef)}
        self._rankings: dict[tuple, c.Ranking] = {}

    # ---- expressions ---------------------------------------------------------------
    def expr(self, e) -> c.Expr:
        return _EXPR[type(e)](self, e)

    def _const(self, e: ir.Const) -> c.Expr:
        return c.Lit(e.value)

    def _ref(self, e: ir.Ref) -> c.Expr:
        return c.Size() if e.kind == RefKind.SIZE else c.Var(e.name)

    def _if(self, e: ir.If) -> c.Expr:
        return c.Cond(self.expr(e.cond), self.expr(e.then), self.expr(e.else_), e)

    def _rank(self, e: ir.Rank) -> c.Expr:
        return c.RankOf(self.ranking(e.order, False), e.from_bottom, ("rank", e.order))

    def _group(self, e: ir.GroupAgg) -> c.Expr:
        owner = c.Owner(where(e.span), f"`{e.fn}(…)" + (f" per {group_text(e.group)}`" if e.group else "`"))
        return c.GroupValue(c.Aggregate(e.fn, self.expr(e.arg), c.Partition(_spec(e.group)), owner, ("group", e)))

    def _prim(self, e: ir.Prim) -> c.Expr:
        args = tuple(self.expr(a) for a in e.args)
        if e.fn is Fn.DIV:
            return c.Div(args[0], args[1], exactness(args[1]), where(e.span))
        if e.fn in _ROUNDS:
            return c.Round(args[0], args[1], _ROUNDS[e.fn])
        what = list_text(e.args[0]) if e.fn is Fn.INDEX else ""
        return c.Call(_OPS[e.fn], args, where(e.span), what)

    def ranking(self, order: ir.RankOrder, ties_share: bool) -> c.Ranking:
        keys = tuple(c.RankKey(k.name, k.descending, k.name in self.tiersets) for k in order.keys)
        r = c.Ranking(keys, c.Partition(_spec(order.group)), c.TieRule.SHARE if ties_share else c.TieRule.ERROR)
        return self._rankings.setdefault((keys, r.partition, r.tie), r)

    # ---- definitions ---------------------------------------------------------------
    def define(self, d: ir.Definition) -> c.Define:
        owner = c.Owner(where(d.span), f"`{d.name}`")
        match d:
            case ir.IndicatorDef():
                body, result = self.indicator(d)
                return c.Define(d.name, owner, body, result)
            case ir.TiersDef():
                return self.tiers(d, owner)
            case ir.ValueDef():
                return c.Define(d.name, owner, (), self.expr(d.expr))
        raise TypeError(f"not a definition: {d!r}")

    def indicator(self, d: ir.IndicatorDef):
        """base, then each adjustment in order (moving by at most `up to`), then the bounds."""
        b, v = d.indicator, f"{d.name}#value"
        if b.computed is not None:
            return (c.Let(v, self.expr(b.computed)), c.OpenIndicator(d.name, d.label, None, d.weight),
                    c.CloseIndicator(d.name, c.Var(v))), c.Var(v)
        out = [c.Let(v, self.expr(b.base) if b.base is not None else _ZERO),
               c.OpenIndicator(d.name, d.label, c.Var(v), d.weight)]
        for i, a in enumerate(b.adjustments):
            moved, uncapped, amount = f"{d.name}#moved{i}", f"{d.name}#uncapped{i}", f"{d.name}#amount{i}"
            if a.per is not None:
                out.append(c.Let(moved, _call(c.Op.MUL, self.expr(a.amount), self.expr(a.per))))
            else:  # the amount is computed before the condition, as written
                out += [c.Let(amount, self.expr(a.amount)),
                        c.Let(moved, c.Cond(self.expr(a.cond), c.Var(amount), _ZERO))]
            out.append(c.Let(uncapped, _NONE))
            capped = _call(c.Op.NE, c.Var(uncapped), _NONE)
            if a.up_to is not None:
                out.append(c.Guard(_call(c.Op.GT, c.Var(moved), c.Lit(a.up_to)),
                                   (c.Let(uncapped, c.Var(moved)), c.Let(moved, c.Lit(a.up_to)))))
            out.append(c.Let(v, _call(c.Op.ADD if a.sign > 0 else c.Op.SUB, c.Var(v), c.Var(moved))))
            noted = _call(c.Op.OR, _call(c.Op.NE, c.Var(moved), _ZERO), capped)
            out.append(c.Guard(noted, (c.Adjusted(a.sign, a.reason, c.Var(moved), c.Var(uncapped), a.span.line),)))
        for i, bound in enumerate(b.bounds):
            before = f"{d.name}#before{i}"
            out.append(c.Let(before, c.Var(v)))
            if bound.lo is not None:
                out.append(c.Guard(_call(c.Op.LT, c.Var(v), c.Lit(bound.lo)), (c.Let(v, c.Lit(bound.lo)),)))
            if bound.hi is not None:
                out.append(c.Guard(_call(c.Op.GT, c.Var(v), c.Lit(bound.hi)), (c.Let(v, c.Lit(bound.hi)),)))
            out.append(c.Guard(_call(c.Op.NE, c.Var(v), c.Var(before)),
                               (c.BoundBit(bound.kind, c.Var(before), c.Var(v), bound.span.line),)))
        out.append(c.CloseIndicator(d.name, c.Var(v)))
        return tuple(out), c.Var(v)

    def tiers(self, d: ir.TiersDef, owner: c.Owner) -> c.Define:
        """Band by the score, then each rule in order (§5): downgrades sum and stop at the
        last tier, a limit caps, the first veto that holds forces its tier and ends."""
        body, names = d.tiers, d.tiers.names()
        last, n = len(names) - 1, d.name
        slots = tier_slots(n)
        idx, by, new, changed = c.Var(slots.index), f"{n}#by", f"{n}#new", f"{n}#changed"
        cmp = c.Op.LT if body.ascending else c.Op.GE
        band: c.Expr = c.Lit(last)
        for i in reversed(range(len(names))):
            t = body.tiers[i]
            if t.threshold is not None:
                band = c.Cond(_call(cmp, c.Var(by), c.Lit(t.threshold)), c.Lit(i), band)
        lines = c.Lit(tuple(t.span.line for t in body.tiers))
        out = [c.Let(by, self.expr(body.by)), c.Let(slots.index, band),
               c.TierMoved(n, d.label, c.RuleKind.BAND, names, None, idx, None, _call(c.Op.PICK, lines, idx),
                           by=c.Var(by)),
               c.Let(changed, c.Lit(False)), c.Let(slots.pinned, c.Lit(False)), c.Let(slots.limit, c.Lit(0))]
        for rule in body.rules:
            kind = rule.kind
            test = _call(c.Op.AND, _call(c.Op.NOT, c.Var(slots.pinned)), self.expr(rule.cond))
            line = c.Lit(rule.span.line)
            if kind is c.RuleKind.VETO:
                then = (c.TierMoved(n, d.label, kind, names, idx, c.Lit(rule.tier), rule.reason, line),
                        c.Let(slots.index, c.Lit(rule.tier)), c.Let(slots.pinned, c.Lit(True)))
            else:
                if kind is c.RuleKind.DOWNGRADE:
                    step = (c.Let(new, _call(c.Op.MIN, _call(c.Op.STEP, idx, c.Lit(rule.steps)), c.Lit(last))),)
                else:
                    step = (c.Let(new, _call(c.Op.MAX, idx, c.Lit(rule.tier))),
                            c.Let(slots.limit, _call(c.Op.MAX, c.Var(slots.limit), c.Lit(rule.tier))))
                moved = c.TierMoved(n, d.label, kind, names, idx, c.Var(new), rule.reason, line)
                held = c.TierMoved(n, d.label, kind, names, idx, c.Var(new), rule.reason, line, held=True)
                then = step + (c.Guard(_call(c.Op.NE, c.Var(new), idx), (moved, c.Let(changed, c.Lit(True))), (held,)),
                               c.Let(slots.index, c.Var(new)))
            out.append(c.Guard(test, then))
        # distribute places a subject no better than a tier a rule gave it, nor above a limit
        ceiling = _call(c.Op.MAX, c.Cond(c.Var(changed), idx, c.Lit(0)), c.Var(slots.limit))
        out.append(c.Let(slots.ceiling, ceiling))
        return c.Define(n, owner, tuple(out), _call(c.Op.PICK, c.Lit(names), idx), slots)

    def flag(self, f: ir.FlagDef) -> c.Flag:
        return c.Flag(f.label, self.expr(f.cond), c.Owner(where(f.span), f'flag "{f.label}"'))

    # ---- cohort rules --------------------------------------------------------------
    def quota(self, q: ir.QuotaDef) -> c.Quota:
        names = self.policy.definition(q.tierset).tiers.names()
        rounding = q.rounding
        return c.Quota(q.tierset, names, q.tier, _count(q.lo, rounding), _count(q.hi, rounding),
                       self.ranking(ir.RankOrder(q.rank.keys, q.group, q.rank.span), q.ties_share), rounding, q.span.line)

    def distribute(self, d: ir.DistributeDef) -> c.Distribute:
        names = self.policy.definition(d.tierset).tiers.names()
        rounding, last = d.rounding, len(names) - 1

        def bounds(bs):
            return tuple(c.TierBounds(b.tier, _count(b.lo, rounding), _count(b.hi, rounding)) for b in bs)

        whens = tuple(c.WhenBounds(self.expr(w.cond), bounds(w.bounds), w.span.line, c.Owner(where(w.span), "`when`"))
                      for w in d.whens)
        placements = tuple(c.Placement(t, tuple(range(t + 1, last + 1))) for t in range(last))
        ranking = self.ranking(ir.RankOrder(d.rank.keys, d.group, d.rank.span), d.ties_share)
        return c.Distribute(d.tierset, tier_slots(d.tierset), names, ranking, bounds(d.bounds), whens, d.when_fields,
                            placements, rounding, d.span.line)


_EXPR = {ir.Const: _Lowerer._const, ir.Ref: _Lowerer._ref, ir.If: _Lowerer._if, ir.Rank: _Lowerer._rank,
         ir.GroupAgg: _Lowerer._group, ir.Prim: _Lowerer._prim}


def tier_slots(tierset: str) -> c.TierSlots:
    return c.TierSlots(f"{tierset}#index", f"{tierset}#ceiling", f"{tierset}#pinned", f"{tierset}#limit")


def _spec(group):
    return group if group is None or isinstance(group, str) else tuple(group)


def _count(share: ir.Share | None, rounding: c.Rounding) -> c.HeadCount | None:
    return None if share is None else c.HeadCount(share.value, share.percent, rounding)


def lower_policy(policy: ir.Policy) -> c.Program:
    """The core program of a checked policy (its IR)."""
    lo = _Lowerer(policy)
    defs = {d.name: lo.define(d) for d in policy.definitions}
    by_stage = lambda *stages: tuple(defs[d.name] for d in policy.definitions if d.stage in stages)  # noqa: E731
    post = tuple(defs[d.name] for d in policy.definitions if d.stage == Stage.POST and not isinstance(d, ir.TiersDef))
    flags = tuple(lo.flag(f) for f in policy.flags)
    steps = tuple(lo.quota(q) for q in sorted(policy.quotas, key=lambda q: q.tier)) + tuple(
        lo.distribute(d) for d in policy.distributes)
    return c.Program(policy.name, policy.key, tuple(policy.output_names()), by_stage(Stage.INDIVIDUAL, Stage.POST),
                     tuple(f for f, d in zip(flags, policy.flags) if d.stage != Stage.COHORT), steps, post,
                     by_stage(Stage.COHORT), flags, policy_language(policy))


def lower_steps(policy: ir.Policy) -> c.Program:
    """A program holding only `policy`'s cohort steps (what placing a cohort needs)."""
    lo = _Lowerer(policy)
    steps = tuple(lo.quota(q) for q in sorted(policy.quotas, key=lambda q: q.tier)) + tuple(
        lo.distribute(d) for d in policy.distributes)
    return c.Program(policy.name, policy.key, (), (), (), steps, (), (), (), policy_language(policy))


def lower_expression(policy: ir.Policy, e) -> c.Expr:
    """One IR expression of `policy` as a core expression (a cohort example's `count(...)`)."""
    return _Lowerer(policy).expr(e)
