"""Typed Definitions, in dependency order, each with its stage (the type pass).

Each value is typed once the values it reads are; indicators are checked line by line
(an empty clamp is an error), tier sets get constant, strictly ordered thresholds and
their rules, and flags are typed last. Ranges are the next pass's (value_ranges.py):
a definition leaves this one with an unbounded range, and the checks that need one
recorded on the typer.
"""
from __future__ import annotations

from decimal import Decimal

from ..diagnostics import Note
from ..ir import (BOOL, NUM, Adjustment, BoundStep, Const, DefKind, Definition, FlagDef, Fn, If, IndicatorBody, IndicatorDef,
                  Prim, RuleKind, Stage, Tier, TierRule, TiersBody, TiersDef, ValueDef, children, tier_type)
from ..numbers import decimal_text as _fmt
from ..syntax import ast as A
from . import ranges as R
from .types import Reads, Typer


def build_definitions(program, names, decls, order, cyclic: set[str]) -> tuple[Typer, list[Definition]]:
    """Type each value in dependency order (unbounded: the ranges pass bounds them). A
    definition that fails is left out; its readers stay quiet."""
    typer = Typer(program, names, decls)
    typer.failed |= cyclic
    definitions = []
    for item in order:
        with typer.typing(item.name):
            d = _definition(program, typer, decls, item)
        if d is not None and not _within_limits(program, d):
            d = None
        if d is None:
            typer.failed.add(item.name)
            continue
        definitions.append(d)
        typer.types[d.name] = d.type
        typer.stages[d.name] = Stage.POST if isinstance(d, TiersDef) else d.stage
    return typer, definitions


def build_flags(program, typer: Typer, decls, env: R.RangeEnv) -> list[FlagDef]:
    """Flags, after every value: a flag may read any value, and other flags (`flagged`)."""
    flags = []
    for f in decls.flags:
        cond = typer.expect(f.cond, BOOL, "a flag's condition", reads=Reads.FLAGGED)
        if cond is not None:
            if R.truth(cond, env) is False:  # §10: a rule that can never change anything
                program.warn("PW109", f.span, "this flag can never be raised: its condition is false for every input within the declared ranges",
                             "check the condition against the inputs' ranges, or drop the flag")
            flags.append(FlagDef(f.span, f.label, cond, typer.stage_of(cond)))
    return flags


MAX_IR_DEPTH = 150      # backends recurse (the interpreter) or nest (generated Python)
MAX_IR_NODES = 200_000  # a def using its parameter twice, nested, doubles at every call


def _within_limits(program, d: Definition) -> bool:
    """After defs and tables are inlined an expression can be far deeper or larger than
    its text; bound both before any backend sees it."""
    nodes, stack = 0, [(e, 1) for e in d.expressions()]
    while stack:
        e, depth = stack.pop()
        nodes += 1
        if depth > MAX_IR_DEPTH or nodes > MAX_IR_NODES:
            what = f"nests more than {MAX_IR_DEPTH} levels" if depth > MAX_IR_DEPTH else f"expands to more than {MAX_IR_NODES:,} operations"
            program.error("PD019", d.span, f"`{d.name}` {what} once its functions and tables are expanded",
                          "compute parts as named `let` values instead of nesting calls")
            return False
        if isinstance(e, If):  # an if/else-if chain (a table) is evaluated as a loop, not nested
            stack += [(e.cond, depth + 1), (e.then, depth + 1), (e.else_, depth)]
        else:
            stack.extend((c, depth + 1) for c in children(e))
    return True


def _definition(program, typer: Typer, decls, item) -> Definition | None:
    if isinstance(item, (A.Let, A.Score, A.Outcome)):
        e = typer.expr(item.expr)
        if e is None:
            return None
        kind = {A.Let: DefKind.LET, A.Score: DefKind.SCORE, A.Outcome: DefKind.OUTCOME}[type(item)]
        if typer.reads_inexact(e):
            typer.inexact.add(item.name)
        return ValueDef(item.span, item.name, kind, getattr(item, "label", None), e.type, typer.stage_of(e), R.ANY, expr=e)
    if isinstance(item, A.Indicator):
        return _indicator(program, typer, item)
    if isinstance(item, A.Tiers):
        return _tiers(program, typer, decls, item)
    return None


def _bound(b) -> Decimal | None:
    return None if b is None else b.value


def _indicator(program, typer: Typer, item: A.Indicator) -> Definition | None:
    computed = [ln for ln in item.lines if isinstance(ln, A.ComputedLine)]
    bases = [ln for ln in item.lines if isinstance(ln, A.BaseLine)]
    adjusts = [ln for ln in item.lines if isinstance(ln, A.Adjust)]
    limits = [ln for ln in item.lines if isinstance(ln, A.Limit_)]
    if computed and (bases or adjusts) or len(computed) > 1 or len(bases) > 1:
        extra = (computed[1:] or bases[1:] or (bases + adjusts))[0]
        program.error("PD036", extra.span, "an indicator is either `= EXPR` or a `base` with adjustments",
                      "keep one `base` line and the add/deduct lines, or one `= EXPR`")
        return None
    ok = True
    base = comp = None
    if computed:
        comp = typer.expect(computed[0].expr, NUM, "an indicator's value")
        ok = comp is not None
        if comp is not None and typer.reads_inexact(comp):
            typer.inexact.add(item.name)
    elif bases:
        base = typer.expect(bases[0].expr, NUM, "`base`")
        ok = base is not None
    steps = []
    for ln in adjusts:
        amount = typer.expect(ln.amount, NUM, "the amount")
        per = typer.expect(ln.per, NUM, "what `per` multiplies") if ln.per is not None else None
        cond = typer.expect(ln.cond, BOOL, "the condition") if ln.cond is not None else None
        if amount is None or (ln.per is not None and per is None) or (ln.cond is not None and cond is None):
            ok = False
            continue
        steps.append(Adjustment(ln.span, ln.sign, amount, per, cond, ln.reason, _bound(ln.up_to)))
    bounds = []
    for ln in limits:
        lo, hi = _bound(ln.lo), _bound(ln.hi)
        if lo is not None and hi is not None and lo > hi:
            program.error("PD037", ln.span, f"`clamp {_fmt(lo)}..{_fmt(hi)}` is empty: the lower end is above the upper")
            ok = False
        bounds.append(BoundStep(ln.span, ln.kind, lo, hi))
    if not ok:
        return None
    if item.weight is not None and item.weight.value <= 0:
        program.error("PD012", item.weight.span, "a weight must be above 0%")
    body = IndicatorBody(base, tuple(steps), tuple(bounds), comp)
    parts = [x for x in [base, comp] + [s.amount for s in steps] + [s.per for s in steps if s.per] + [s.cond for s in steps if s.cond] if x is not None]
    stage = Stage.latest(typer.stage_of(x) for x in parts)
    return IndicatorDef(item.span, item.name, DefKind.INDICATOR, item.label, NUM, stage, R.ANY, indicator=body,
                        weight=_bound(item.weight), max=item.max.value if item.max is not None else None)


def _const_threshold(program, e, line) -> Decimal | None:
    if isinstance(e, Const) and isinstance(e.value, Decimal):
        return e.value
    if isinstance(e, Prim) and e.fn is Fn.NEG and isinstance(e.args[0], Const):
        return -e.args[0].value
    program.error("PD013", line.threshold.span, "a tier threshold must be a number written out", "e.g. `优秀 >= 90`")
    return None


def _tiers(program, typer: Typer, decls, item: A.Tiers) -> Definition | None:
    by = typer.expect(item.by, NUM, "the score a tier set is banded by")
    ok = by is not None
    if by is not None and typer.stage_of(by) is not Stage.INDIVIDUAL:
        program.error("PD021", item.by.span, "tiers are banded by a subject's own score; this depends on a tier or on the cohort")
        ok = False
    tiers, want_op = [], "<" if item.ascending else ">="
    if not item.lines or item.lines[-1].op is not None:
        program.error("PD013", item.span, f"tier set `{item.name}` lacks a last `otherwise` tier",
                      "end the list with e.g. `不合格 otherwise`")
        ok = False
    prev = None
    for line in item.lines:
        if line.op is None:
            if line is not item.lines[-1]:
                program.error("PD013", line.span, "`otherwise` must be the last tier")
                ok = False
            tiers.append(Tier(line.tier, None, line.span))
            continue
        if line.op != want_op:
            program.error("PD013", line.span, f"tiers {'ascending ' if item.ascending else ''}are written `TIER {want_op} N`",
                          "lower-is-better tier sets say `ascending` and use `<`" if line.op == "<" else "higher-is-better tier sets use `>=`")
            ok = False
            continue
        e = typer.expect(line.threshold, NUM, "a threshold")
        t = _const_threshold(program, e, line) if e is not None else None
        if t is None:
            ok = False
            continue
        if prev is not None and ((not item.ascending and t >= prev[0]) or (item.ascending and t <= prev[0])):
            program.error("PD013", line.threshold.span,
                          f"thresholds must strictly {'increase' if item.ascending else 'decrease'}: {_fmt(t)} comes after {_fmt(prev[0])}",
                          "list tiers best first", [Note(prev[1], "the previous threshold")])
            ok = False
        prev = (t, line.threshold.span)
        tiers.append(Tier(line.tier, t, line.span))
    rules = []
    own = tier_type(item.name)
    for kind in (A.Downgrade, A.LimitRule, A.Veto):
        for rule in decls.rules_of.get(item.name, []):
            if not isinstance(rule, kind):
                continue
            cond = typer.expect(rule.cond, BOOL, "a rule's condition")
            if cond is None:
                ok = False
                continue
            if typer.stage_of(cond) is not Stage.INDIVIDUAL:
                program.error("PD021", rule.cond.span, "a rule's condition must be known from the subject alone (no tiers, ranks or group values)")
                ok = False
            name = {A.Downgrade: RuleKind.DOWNGRADE, A.LimitRule: RuleKind.LIMIT, A.Veto: RuleKind.VETO}[kind]
            steps = int(rule.steps.value) if isinstance(rule, A.Downgrade) else 0
            rules.append(TierRule(rule.span, name, cond, steps, decls.rule_tier.get(id(rule), 0), rule.reason))
    if not ok:
        return None
    return TiersDef(item.span, item.name, DefKind.TIERS, item.label, own, Stage.INDIVIDUAL, R.ANY,
                    tiers=TiersBody(by, item.ascending, tuple(tiers), tuple(rules)))
