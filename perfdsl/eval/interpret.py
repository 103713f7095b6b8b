"""The reference semantics: evaluate the IR directly, recording the explanation.

This is the oracle every other backend is compared with, so it is written for
clarity: one function per IR construct, all arithmetic through runtime.CONTEXT.
"""
from __future__ import annotations

from decimal import Decimal

from .. import runtime as rt
from ..ir import Const, Definition, Fn, GroupAgg, If, Policy, Prim, PropertyDef, Rank, Ref, group_text, list_text
from ..result import Result, TierState
from ..runtime import AdjustStep, BoundHit, IndicatorTrace, TierChange, TierTrace, Trace

C = rt.CONTEXT


def _where(e) -> str:
    return f"{e.span.file}:{e.span.line}:{e.span.col}"


def owner_text(owner) -> str:
    """How an arithmetic error names what it was computing: a definition, a group value,
    a flag or a property."""
    if isinstance(owner, Definition):
        return f"`{owner.name}`"
    if isinstance(owner, GroupAgg):
        return f"`{owner.fn}(…)" + (f" per {group_text(owner.group)}`" if owner.group else "`")
    return f'{"property" if isinstance(owner, PropertyDef) else "flag"} "{owner.label}"'


class Interpreter:
    """Evaluates one policy; `individual` for one subject, `finish` after the cohort."""

    def __init__(self, policy: Policy):
        self.policy = policy

    # ---- stages --------------------------------------------------------------------
    def individual(self, record: dict, trace: bool = True) -> Result:
        env = dict(record)
        tr = Trace() if trace else None
        result = Result(self.policy, record, {}, [], tr)
        for d in self.policy.definitions:
            if d.stage == "cohort":
                continue
            self._define(d, env, result, None)
        result.flags = [f.label for f in self.policy.flags if f.stage != "cohort" and self.condition(f, env, None)]
        return result

    def post(self, result: Result) -> None:
        """After the cohort stage: recompute what reads a final tier (stage `post`)."""
        env = dict(result.record)
        env.update(result.values)
        for d in self.policy.definitions:
            if d.stage == "post" and d.tiers is None:
                self._define(d, env, result, None)

    def cohort(self, result: Result, ctx) -> None:
        """Then what reads ranks or group values (stage `cohort`), and every flag."""
        env = dict(result.record)
        env.update(result.values)
        for d in self.policy.definitions:
            if d.stage == "cohort":
                self._define(d, env, result, ctx)
        result.flags = [f.label for f in self.policy.flags if self.condition(f, env, ctx)]

    def group_arg(self, node: GroupAgg, result: Result):
        """The value a group aggregate collects from this subject."""
        env = dict(result.record)
        env.update(result.values)
        return self.group_value(node, env)

    def group_value(self, node: GroupAgg, env: dict):
        """`node`'s argument for one subject; a decimal trap is a data error naming it."""
        try:
            return self.eval(node.arg, env, None)
        except rt.DecimalException as exc:
            raise rt.arithmetic_error(exc, _where(node), owner_text(node)) from None

    def _define(self, d: Definition, env: dict, result: Result, ctx) -> None:
        value, state = self.compute(d, env, result.trace, ctx)
        if state is not None:
            result.tiers[d.name] = state
        env[d.name] = value
        result.values[d.name] = value

    def compute(self, d: Definition, env: dict, trace: Trace | None, ctx):
        """(value, TierState or None) of one definition.

        A decimal trap inside it (an overflow, say) is this subject's data error naming
        the definition, as every backend reports it (runtime.arithmetic_error)."""
        try:
            if d.indicator is not None:
                return self._indicator(d, env, trace, ctx), None
            if d.tiers is not None:
                return self._tiers(d, env, trace)
            return self.eval(d.expr, env, ctx), None
        except rt.DecimalException as exc:
            raise rt.arithmetic_error(exc, _where(d), owner_text(d)) from None

    def condition(self, f, env: dict, ctx) -> bool:
        """Whether flag (or property) `f` holds; a decimal trap is a data error naming it."""
        try:
            return bool(self.eval(f.expr if isinstance(f, PropertyDef) else f.cond, env, ctx))
        except rt.DecimalException as exc:
            raise rt.arithmetic_error(exc, _where(f), owner_text(f)) from None

    # ---- indicators ----------------------------------------------------------------
    def _indicator(self, d: Definition, env: dict, trace: Trace | None, ctx) -> Decimal:
        body = d.indicator
        if body.computed is not None:
            value = self.eval(body.computed, env, ctx)
            if trace is not None:
                _record(trace, IndicatorTrace(d.name, d.label, None, value=value, weight=d.weight))
            return value
        value = self.eval(body.base, env, ctx) if body.base is not None else rt.ZERO
        it = IndicatorTrace(d.name, d.label, value, weight=d.weight)
        for adj in body.adjustments:
            amount = self.eval(adj.amount, env, ctx)
            if adj.per is not None:
                moved = C.multiply(amount, self.eval(adj.per, env, ctx))
            else:
                moved = amount if self.eval(adj.cond, env, ctx) else rt.ZERO
            uncapped = None
            if adj.up_to is not None and moved > adj.up_to:
                uncapped, moved = moved, adj.up_to
            value = C.add(value, moved) if adj.sign > 0 else C.subtract(value, moved)
            if moved != 0 or uncapped is not None:
                it.steps.append(AdjustStep(adj.sign, adj.reason, moved, uncapped, adj.span.line))
        for b in body.bounds:
            before = value
            if b.lo is not None and value < b.lo:
                value = b.lo
            if b.hi is not None and value > b.hi:
                value = b.hi
            if value != before:
                it.bounds.append(BoundHit(b.kind, before, value, b.span.line))
        it.value = value
        if trace is not None:
            _record(trace, it)
        return value

    # ---- tiers ---------------------------------------------------------------------
    def _tiers(self, d: Definition, env: dict, trace: Trace | None):
        body = d.tiers
        by = self.eval(body.by, env, None)
        names = body.names()
        last = len(names) - 1
        band = last
        for i, t in enumerate(body.tiers):
            if t.threshold is not None and ((by < t.threshold) if body.ascending else (by >= t.threshold)):
                band = i
                break
        tt = TierTrace(d.name, d.label, by, [TierChange("band", None, names[band], None, body.tiers[band].span.line)])
        idx, changed, pinned, limit = band, False, False, 0
        for rule in body.rules:
            if not self.eval(rule.cond, env, None):
                continue
            if rule.kind == "veto":
                tt.changes.append(TierChange("veto", names[idx], names[rule.tier], rule.reason, rule.span.line))
                idx, pinned = rule.tier, True
                break
            new = min(idx + rule.steps, last) if rule.kind == "downgrade" else max(idx, rule.tier)
            if rule.kind == "limit":
                limit = max(limit, rule.tier)
            if new != idx:
                tt.changes.append(TierChange(rule.kind, names[idx], names[new], rule.reason, rule.span.line))
                changed = True
            else:
                tt.held.append(TierChange(rule.kind, names[idx], names[new], rule.reason, rule.span.line))
            idx = new
        if trace is not None:
            trace.tiers.append(tt)
        # distribute may place a subject no better than a tier a rule gave it (§6 step 4),
        # nor above any limit that holds.
        ceiling = max(idx if changed else 0, limit)
        return names[idx], TierState(idx, ceiling, pinned, limit)

    # ---- expressions ---------------------------------------------------------------
    def eval(self, e, env: dict, ctx):
        while isinstance(e, If):  # else-if chains (tables) loop instead of recursing
            e = e.then if self.eval(e.cond, env, ctx) else e.else_
        if isinstance(e, Const):
            return e.value
        if isinstance(e, Ref):
            if e.kind == "size":
                return ctx.size
            return env[e.name]
        if isinstance(e, Rank):
            return ctx.rank(e.order, e.from_bottom)
        if isinstance(e, GroupAgg):
            return ctx.aggregate(e)
        return self._prim(e, env, ctx)

    def _prim(self, e: Prim, env: dict, ctx):
        f = e.fn
        if f is Fn.AND:
            return bool(self.eval(e.args[0], env, ctx)) and bool(self.eval(e.args[1], env, ctx))
        if f is Fn.OR:
            return bool(self.eval(e.args[0], env, ctx)) or bool(self.eval(e.args[1], env, ctx))
        a = [self.eval(x, env, ctx) for x in e.args]
        if f is Fn.ADD:
            return C.add(a[0], a[1])
        if f is Fn.TOTAL:
            return rt.total(a)
        if f is Fn.SUB:
            return C.subtract(a[0], a[1])
        if f is Fn.MUL:
            return C.multiply(a[0], a[1])
        if f is Fn.DIV:
            return rt.divide(a[0], a[1], _where(e))
        if f is Fn.NEG:
            return C.minus(a[0])
        if f is Fn.NOT:
            return not a[0]
        if f in _COMPARE:
            return _COMPARE[f](a[0], a[1])
        if f is Fn.LIST:
            return tuple(a)
        if f is Fn.CONCAT:
            return tuple(a[0]) + tuple(a[1])
        if f is Fn.MIN:
            return min(a)
        if f is Fn.MAX:
            return max(a)
        if f is Fn.ABS:
            return C.abs(a[0])
        if f is Fn.CLAMP:
            return rt.clamp(a[0], a[1], a[2])
        if f in _ROUND:
            return rt.quantize(a[0], int(a[1]), _ROUND[f])
        if f is Fn.SUM:
            total = rt.ZERO
            for x in a[0]:
                total = C.add(total, x)
            return total
        if f is Fn.MEAN:
            return rt.mean(a[0], _where(e))
        if f is Fn.LEN:
            return Decimal(len(a[0]))
        if f is Fn.COUNT:
            return rt.count(a[0], a[1])
        if f is Fn.STREAK:
            return rt.streak(a[0], a[1])
        if f is Fn.TRIMMED_MEAN:
            return rt.trimmed_mean(a[0], int(a[1]), _where(e))
        if f is Fn.RATIO:
            return rt.ratio(a[0], a[1], _where(e))
        if f is Fn.LIST_MIN:
            return rt.list_min(a[0], _where(e))
        if f is Fn.LIST_MAX:
            return rt.list_max(a[0], _where(e))
        if f is Fn.INDEX:
            return rt.index(a[0], a[1], list_text(e.args[0]), _where(e))
        raise AssertionError(f"unknown primitive {f}")


def _record(trace: Trace, it: IndicatorTrace) -> None:
    """A value recomputed after the cohort stage replaces its earlier explanation."""
    trace.indicators = [x for x in trace.indicators if x.name != it.name]
    trace.indicators.append(it)


_COMPARE = {
    Fn.EQ: lambda x, y: x == y, Fn.NE: lambda x, y: x != y, Fn.LT: lambda x, y: x < y,
    Fn.LE: lambda x, y: x <= y, Fn.GT: lambda x, y: x > y, Fn.GE: lambda x, y: x >= y,
}
_ROUND = {Fn.ROUND_HALF_UP: "half_up", Fn.ROUND_HALF_EVEN: "half_even", Fn.ROUND_FLOOR: "floor", Fn.ROUND_CEIL: "ceil"}
