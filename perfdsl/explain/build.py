"""One subject's explanation as language-neutral steps.

Walks the policy's definitions in evaluation order and pairs each with what the trace
recorded (indicator lines, bounds, tier rules, cohort decisions) and with its
sub-expressions shown with their values (terms.Shower). Each Step carries facts — plain
data — that perfdsl.explain.sentences puts into words; nothing here is worded.
"""
from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from decimal import Decimal

from ..eval.interpret import Interpreter
from ..ir import Ref, children
from ..runtime import CONTEXT, localcontext
from .terms import Shower, Term, summands


@dataclass(frozen=True)
class Step:
    """One line of an explanation: what it is about, where in the policy, what it read,
    what it gave, and its text in the policy's language. `depth` 0 opens a value; 1 is a
    line under it. `facts` hold the kind's details (see perfdsl.explain.__init__)."""
    kind: str
    name: str | None
    label: str | None
    line: int | None
    inputs: dict
    value: object
    depth: int = 0
    facts: dict = field(default_factory=dict, compare=False)
    text: str = ""


class _Replay:
    """The cohort context as the subject saw it: the ranks and group values it read."""

    def __init__(self, facts: dict, size=None):
        self.facts, self.size = facts, size

    def rank(self, order, from_bottom: bool) -> Decimal:
        rank, n, _ = self.facts[("rank", order)]
        return Decimal(n + 1 - rank if from_bottom else rank)

    def aggregate(self, node) -> Decimal:
        return self.facts[("group", node)][0]


def build(result) -> list[Step]:
    with localcontext(CONTEXT):
        return _Builder(result).steps()


class _Builder:
    def __init__(self, result):
        self.r = result
        self.ir = result.policy.ir if hasattr(result.policy, "ir") else result.policy
        env = dict(result.record)
        env.update(result.values)
        self.env = env
        self.interp = Interpreter(self.ir)
        self.ctx = _Replay(result.trace.cohort if result.trace is not None else {})
        self.show = Shower(self.interp, self.ir, env, self.ctx)
        self.out: list[Step] = []
        trace = result.trace
        self.indicators = {it.name: it for it in trace.indicators} if trace else {}
        self.tiers = {t.name: t for t in trace.tiers} if trace else {}

    def add(self, kind, name, label, line, value, depth=0, inputs=None, **facts) -> None:
        self.out.append(Step(kind, name, label, line, dict(inputs or {}), value, depth, facts))

    def steps(self) -> list[Step]:
        ir, r = self.ir, self.r
        key = r.record.get(ir.key) if ir.key else None
        key_label = next((i.label for i in ir.inputs if i.name == ir.key), None)
        self.add("subject", ir.key, key_label, None, key, policy=ir.name, policy_label=ir.label)
        for d in _reading_order(ir):
            if d.name not in r.values:
                continue  # a value of the cohort stage, in a result of the individual stage
            self.guarded(d, self.indicator if d.indicator is not None else self.tierset if d.tiers is not None
                         else self.value)
        for f in ir.flags:
            self.guarded(f, self.flag)
        self.add("flags", None, None, None, list(r.flags))
        return self.out

    def guarded(self, item, explain) -> None:
        """Explain one value or flag; should that fail, say at least what it came to: an
        explanation never stops a run (the value itself was computed without error)."""
        mark = len(self.out)
        try:
            explain(item)
        except Exception:  # noqa: BLE001
            del self.out[mark:]
            if hasattr(item, "kind"):
                self.add(item.kind if item.kind in ("let", "score", "outcome") else "let", item.name, item.label,
                         item.span.line, self.r.values.get(item.name))
            else:
                self.add("flag", None, item.label, item.span.line, item.label in self.r.flags)

    # ---- values -----------------------------------------------------------------------------
    def value(self, d) -> None:
        term = self.show.show(d.expr)
        self.add(d.kind, d.name, d.label, d.span.line, self.r.values[d.name], 0, self.show.reads(d.expr))
        self.formula(d, term)

    def formula(self, d, term: Term) -> None:
        """The lines under a value: each term of a sum that has compound terms, then the
        sum; or the whole expression with its values; nothing for a constant."""
        if term.kind in ("num", "text", "tier", "bool", "list"):
            return
        parts = summands(term)
        if len(parts) > 1 and not all(t.simple for _, t in parts):
            for sign, t in parts:
                self.add("term", d.name, d.label, d.span.line, t.value, 1, sign=sign, term=t)
            self.add("sum", d.name, d.label, d.span.line, term.value, 1, parts=[(s, t.value) for s, t in parts])
        else:
            self.add("formula", d.name, d.label, d.span.line, term.value, 1, term=term)

    def indicator(self, d) -> None:
        body, it = d.indicator, self.indicators.get(d.name)
        value = self.r.values[d.name]
        exprs = [x for x in [body.base, body.computed] + [a.amount for a in body.adjustments]
                 + [a.per if a.per is not None else a.cond for a in body.adjustments] if x is not None]
        reads = {}
        for x in exprs:
            reads.update(self.show.reads(x))
        self.add("indicator", d.name, d.label, d.span.line, value, 0, reads, weight=d.weight, max=d.max)
        if body.computed is not None:
            self.formula(d, self.show.show(body.computed))
            return
        base = it.base if it is not None else value
        base_term = self.show.show(body.base) if body.base is not None else Term("num", Decimal(0))
        self.add("base", d.name, d.label, body.base.span.line if body.base is not None else d.span.line, base, 1,
                 self.show.reads(body.base) if body.base is not None else {}, term=base_term)
        running = base
        steps = list(it.steps) if it is not None else []
        for adj in body.adjustments:
            if not steps or (steps[0].line, steps[0].sign, steps[0].reason) != (adj.span.line, adj.sign, adj.reason):
                continue
            s = steps.pop(0)
            before = running
            running = CONTEXT.add(running, s.amount) if s.sign > 0 else CONTEXT.subtract(running, s.amount)
            amount = self.show.show(adj.amount)
            per = self.show.show(adj.per) if adj.per is not None else None
            cond = self.show.show(adj.cond) if adj.cond is not None else None
            reads = self.show.reads(adj.per if adj.per is not None else adj.cond)
            self.add("adjust", d.name, s.reason, s.line, running, 1, reads, sign=s.sign, reason=s.reason,
                     amount=amount, per=per, cond=cond, unit=amount.value, count=per.value if per else None,
                     moved=s.amount, uncapped=s.uncapped, cap=adj.up_to, before=before)
        for b in (it.bounds if it is not None else []):
            bound = next((x for x in body.bounds if x.span.line == b.line and x.kind == b.kind), None)
            self.add("bound", d.name, d.label, b.line, b.after, 1, bound=b.kind, before=b.before,
                     lo=bound.lo if bound else None, hi=bound.hi if bound else None)

    # ---- tiers ------------------------------------------------------------------------------
    def tierset(self, d) -> None:
        body, tt = d.tiers, self.tiers.get(d.name)
        names = body.names()
        final = self.r.values[d.name]
        changes = list(tt.changes) if tt is not None else []
        band = next((c for c in changes if c.kind == "band"), None)
        individual = band.after if band else final
        for c in changes:
            if c.kind in ("downgrade", "limit", "veto"):
                individual = c.after
        self.add("tiers", d.name, d.label, d.span.line, final, 0, self.show.reads(body.by), individual=individual)
        if band is not None:
            i = names.index(band.after)
            threshold = body.tiers[i].threshold
            below = body.tiers[i - 1].threshold if i > 0 else None
            if threshold is None:  # `otherwise`: below the last threshold
                below = body.tiers[i - 1].threshold if i > 0 else None
            self.add("band", d.name, d.label, band.line, band.after, 1, self.show.reads(body.by),
                     by=self.show.show(body.by), threshold=threshold, previous=below, ascending=body.ascending,
                     tier=band.after)
        held = list(tt.held) if tt is not None else []
        rule_order = {(r.kind, r.span.line): i for i, r in enumerate(body.rules)}
        rules = sorted([(c, True) for c in changes if c.kind in ("downgrade", "limit", "veto")] + [(c, False) for c in held],
                       key=lambda x: rule_order.get((x[0].kind, x[0].line), 0))
        for c, changed in rules:
            rule = next((r for r in body.rules if r.kind == c.kind and r.span.line == c.line), None)
            cond = self.show.show(rule.cond) if rule is not None else None
            self.add(c.kind, d.name, c.reason, c.line, c.after, 1, self.show.reads(rule.cond) if rule else {},
                     before=c.before, after=c.after, changed=changed, reason=c.reason, cond=cond,
                     steps=rule.steps if rule else None, limit=names[rule.tier] if rule else None)
        for c in changes:
            if c.kind == "quota" and c.detail is not None:
                self.add("quota", d.name, d.label, c.line, c.after, 1, before=c.before, after=c.after, decision=c.detail)
            elif c.kind == "distribute" and c.detail is not None:
                self.distribute(d, c)

    def distribute(self, d, c) -> None:
        """A forced-distribution decision as the clerk would retrace it: the group and the
        subject's rank, the `when` lines that held, the bounds, the vetoed placed first,
        each better tier's cut that passed the subject over, and where it was placed."""
        dec, g = c.detail, c.detail.group
        names = g.names
        self.add("distribute", d.name, d.label, c.line, c.after, 1, before=c.before, after=c.after, decision=dec)
        for line, term in self.whens(dec).items():
            tiers = [(names[i], b) for i, b in enumerate(g.bounds) if b.when_line == line]
            self.add("when", d.name, d.label, line, True, 2, term=term, tiers=tiers, size=g.group.size)
        self.add("bounds", d.name, d.label, g.line, None, 2, group=g)
        if any(g.pins):
            self.add("pinned", d.name, d.label, g.line, None, 2, group=g, pinned=dec.pinned, tier=names[dec.placed])
        if dec.pinned:
            return
        steps = {s.tier: s for s in g.steps}
        for tier, position in dec.tried:
            self.add("cut", d.name, d.label, g.line, names[tier], 2, group=g, step=steps[tier], tier=names[tier],
                     position=position, placed=tier == dec.placed, ceiling=names[dec.ceiling])
        self.add("placed", d.name, d.label, c.line, names[dec.placed], 2, individual=names[dec.individual],
                 placed=names[dec.placed], rest=dec.placed not in steps)

    def whens(self, decision) -> dict:
        """The `when` conditions that held for the group, shown with the group's values."""
        g = decision.group
        dist = next((x for x in self.ir.distributes if x.span.line == g.line and x.tierset == g.tierset), None)
        if dist is None:
            return {}
        shower = Shower(self.interp, self.ir, self.env, _Replay({}, Decimal(g.group.size)))
        return {w.span.line: shower.show(w.cond) for w in dist.whens if w.span.line in g.whens}

    # ---- flags ------------------------------------------------------------------------------
    def flag(self, f) -> None:
        if f.stage == "cohort" and not self.r.through_cohort:
            self.add("flag", None, f.label, f.span.line, None, 0, cohort=True)
            return
        term = self.show.show(f.cond)
        self.add("flag", None, f.label, f.span.line, f.label in self.r.flags, 0, self.show.reads(f.cond), term=term)


def _reading_order(ir) -> list:
    """Definitions in the order the policy writes them, which is how a clerk reads the
    scheme, except that a value never comes before those it reads (an imported tier set
    written at the top waits for the score it bands)."""
    rank = {n: i for i, n in enumerate(ir.declared)}
    defs = {d.name: d for d in ir.definitions}
    waiting = {d.name: {n for n in _reads(d) if n in defs and n != d.name} for d in ir.definitions}
    readers: dict[str, list[str]] = {}
    for name, needs in waiting.items():
        for n in needs:
            readers.setdefault(n, []).append(name)
    order = {d.name: (rank.get(d.name, len(rank)), i) for i, d in enumerate(ir.definitions)}
    ready = [order[n] + (n,) for n, needs in waiting.items() if not needs]
    heapq.heapify(ready)
    out = []
    while ready:
        name = heapq.heappop(ready)[-1]
        out.append(defs[name])
        for r in readers.get(name, ()):
            waiting[r].discard(name)
            if not waiting[r]:
                heapq.heappush(ready, order[r] + (r,))
    return out if len(out) == len(defs) else list(ir.definitions)


def _reads(d) -> set:
    names, stack = set(), list(d.expressions())
    while stack:
        e = stack.pop()
        if isinstance(e, Ref) and e.kind == "value":
            names.add(e.name)
        stack.extend(children(e))
    return names
