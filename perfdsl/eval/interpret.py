"""The reference semantics: the policy's core program (perfdsl.lower) run by its evaluator.

This is the oracle every other backend is compared with. What `indicator`, `tiers`,
`veto`, `quota` and `distribute` mean is written once, in perfdsl.lower.lower; the
`Interpreter` here gives that program the protocol the backends share (`individual`,
`post`, `cohort`, `group_arg`) and evaluates single IR expressions (`eval`) for the
explanation, the examples and the properties, each lowered once.
"""
from __future__ import annotations

from functools import cached_property
from types import SimpleNamespace

from .. import runtime as rt
from ..ir import Definition, GroupAgg, Policy, PropertyDef, group_text
from ..lower import core as c
from ..lower.evaluate import Machine
from ..lower.lower import lower_expression, lower_policy
from ..runtime import Result
from ..runtime import Trace


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


class _Asks:
    """A cohort view with the interpreter's protocol (ranks by IR rank order, group values
    by IR aggregate), as the Machine asks it (by the core's RankOf and Aggregate)."""

    def __init__(self, ctx):
        self.ctx = ctx

    @property
    def size(self):
        return self.ctx.size

    def rank(self, e: c.RankOf):
        return self.ctx.rank(e.fact[1], e.from_bottom)

    def aggregate(self, a: c.Aggregate):
        return self.ctx.aggregate(a.fact[1])


class Interpreter:
    """Evaluates one policy; `individual` for one subject, `post` and `cohort` after the
    cohort's tiers are settled (perfdsl.cohort.apply)."""

    def __init__(self, policy: Policy):
        self.policy = policy
        self._exprs: dict[int, tuple[object, c.Expr]] = {}

    @cached_property
    def program(self) -> c.Program:
        return lower_policy(self.policy)

    @cached_property
    def _defines(self) -> dict[str, c.Define]:
        p = self.program
        return {d.name: d for d in (*p.individual, *p.post, *p.cohort)}

    def machine(self, env: dict, ctx, trace: Trace | None) -> Machine:
        """The evaluator of one subject's environment (coverage substitutes its own)."""
        return Machine(env, None if ctx is None else _Asks(ctx), trace)

    # ---- stages --------------------------------------------------------------------
    def individual(self, record: dict, trace: bool = True) -> Result:
        tr = Trace() if trace else None
        result = Result(self.policy, record, {}, [], tr)
        m = self.machine(dict(record), None, tr)
        for d in self.program.individual:
            m.define(d, result)
        result.flags = [f.label for f in self.program.flags if m.holds(f)]
        return result

    def post(self, result: Result) -> None:
        """After the cohort stage: recompute what reads a final tier (stage `post`)."""
        m = self.machine({**result.record, **result.values}, None, result.trace)
        for d in self.program.post:
            m.define(d, result)

    def cohort(self, result: Result, ctx) -> None:
        """Then what reads ranks or group values (stage `cohort`), and every flag."""
        m = self.machine({**result.record, **result.values}, ctx, result.trace)
        for d in self.program.cohort:
            m.define(d, result)
        result.flags = [f.label for f in self.program.cohort_flags if m.holds(f)]

    def group_arg(self, node: GroupAgg, result: Result):
        """The value a group aggregate collects from this subject."""
        return self.group_value(node, {**result.record, **result.values})

    def group_value(self, node: GroupAgg, env: dict):
        """`node`'s argument for one subject; a decimal trap is a data error naming it."""
        try:
            return self.eval(node.arg, env, None)
        except rt.DecimalException as exc:
            raise rt.arithmetic_error(exc, _where(node), owner_text(node)) from None

    def compute(self, d: Definition, env: dict, trace: Trace | None, ctx):
        """(value, TierState or None) of one definition.

        A decimal trap inside it (an overflow, say) is this subject's data error naming
        the definition, as every backend reports it (runtime.arithmetic_error)."""
        out = SimpleNamespace(values={}, tiers={})
        self.machine(dict(env), ctx, trace).define(self._defines[d.name], out)
        return out.values[d.name], out.tiers.get(d.name)

    def condition(self, f, env: dict, ctx) -> bool:
        """Whether flag (or property) `f` holds; a decimal trap is a data error naming it."""
        try:
            return bool(self.eval(f.expr if isinstance(f, PropertyDef) else f.cond, env, ctx))
        except rt.DecimalException as exc:
            raise rt.arithmetic_error(exc, _where(f), owner_text(f)) from None

    # ---- expressions ---------------------------------------------------------------
    def eval(self, e, env: dict, ctx):
        """One IR expression of the policy over `env` (lowered once, then cached)."""
        got = self._exprs.get(id(e))
        if got is None or got[0] is not e:
            got = self._exprs[id(e)] = (e, lower_expression(self.policy, e))
        return self.machine(env, ctx, None).eval(got[1])
