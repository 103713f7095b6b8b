"""Policy-wide rule checks: quotas and forced distribution, properties, and the
warnings of LANGUAGE.md §10 that need every definition typed (scale, unreachable
tiers, inexact division feeding a threshold).
"""
from __future__ import annotations

from ..diagnostics import did_you_mean
from ..ir import (BOOL, NUM, BoundsIR, DefKind, DistributeDef, Interval, PropertyDef, QuotaDef, Ref, RefKind, Rounding, RuleKind,
                  Share, Stage, TiersDef, WhenIR, children, group_fields)
from ..numbers import decimal_text as _fmt
from ..syntax import ast as A
from . import ranges as R
from .types import Reads


def _rank_for(program, decls, typer, options: A.CohortOptions, span, what: str):
    order = decls.rank_order(options.rank) if options.rank is not None else decls.rank
    if order is None:
        program.error("PD022", span, f"{what} needs a rank order", "add `rank by total desc then ID asc`")
        return None
    for k in order.keys:
        if k.name not in typer.types and k.name not in decls.inputs:
            program.error("PD002", k.span, f"unknown rank key `{k.name}`", did_you_mean(k.name, list(typer.types) + list(decls.inputs)))
            return None
        if k.name in typer.types and typer.stages.get(k.name) is Stage.COHORT:
            program.error("PD021", k.span, f"rank key `{k.name}` itself depends on the cohort")
            return None
    return order


def _rounding(program, options: A.CohortOptions) -> Rounding:
    if options.rounding is None:
        return Rounding.HALF_UP
    if options.rounding not in set(Rounding):
        program.error("PD028", options.rounding_span, f"unknown rounding `{options.rounding}`", "use half_up, half_even, floor or ceil")
        return Rounding.HALF_UP
    return Rounding(options.rounding)


def _group(program, decls, group, span):
    for field in group_fields(group):
        if field not in decls.inputs:
            program.error("PD002", span, f"group field `{field}` is not an input", did_you_mean(field, decls.inputs))
    return group


def _share(b: A.Bound) -> Share:
    return Share(b.value, b.percent)


def _share_text(s: Share) -> str:
    """A bound as the policy writes it: `20%` (stored as 0.2) or a count."""
    return f"{_fmt(s.value * 100)}%" if s.percent else _fmt(s.value)


def cohort_rules(program, decls, typer):
    quotas = []
    for q in decls.quotas:
        found = decls.owner(q.tier, q.tier_span)
        order = _rank_for(program, decls, typer, q.options, q.span, "a quota")
        if found is None or order is None:
            continue
        tierset, idx = found
        if idx == len(decls.tier_sets[tierset]) - 1:
            program.error("PD015", q.tier_span, f"`{q.tier}` is the last tier: a quota on it has nowhere to move the excess")
            continue
        if q.share is not None:
            if not q.share.percent:
                program.error("PD016", q.share.span, "`at most` takes a percentage; use `count A..B` for a number of people")
            lo, hi = None, _share(q.share)
        else:
            lo = _share(q.count.lo)
            hi = _share(q.count.hi) if q.count.hi is not None else None
            if hi is not None and lo.value > hi.value:
                program.error("PD016", q.count.span, f"quota count {_fmt(lo.value)}..{_fmt(hi.value)} is empty")
        quotas.append(QuotaDef(q.span, tierset, idx, lo, hi, _group(program, decls, q.group, q.span), order,
                               _rounding(program, q.options), q.options.ties_share))
    distributes = [d for d in (_distribute(program, decls, typer, x) for x in decls.distributes) if d is not None]
    if len(distributes) > 1 or (distributes and any(q.tierset == distributes[0].tierset for q in quotas)):
        program.error("PD016", decls.distributes[-1].span, "a tier set takes one `distribute` and no quotas beside it")
    return quotas, distributes


def _bounds(program, decls, tierset, bounds: tuple[A.TierBound, ...]) -> list[BoundsIR]:
    out, seen = [], set()
    for b in bounds:
        found = decls.owner(b.tier, b.span)
        if found is None:
            continue
        if tierset is not None and found[0] != tierset:
            program.error("PD015", b.span, f"`{b.tier}` is a tier of `{found[0]}`, not of `{tierset}`")
            continue
        if b.tier in seen:
            program.error("PD004", b.span, f"tier `{b.tier}` is bounded twice in one line")
        seen.add(b.tier)
        lo, hi = _share(b.range.lo), _share(b.range.hi) if b.range.hi is not None else None
        if hi is not None and lo.percent == hi.percent and lo.value > hi.value:
            program.error("PD016", b.range.span, f"the range {_share_text(lo)}..{_share_text(hi)} is empty")
        out.append(BoundsIR(found[1], lo, hi, b.span))
    return out


def _distribute(program, decls, typer, d: A.Distribute):
    if not d.bounds:
        program.error("PD016", d.span, "`distribute` lists each tier with its share, e.g. `优秀 10%..20%`")
        return None
    first = decls.owner(d.bounds[0].tier, d.bounds[0].span)
    if first is None:
        return None
    tierset = first[0]
    order = _rank_for(program, decls, typer, d.options, d.span, "`distribute`")
    base = _bounds(program, decls, tierset, d.bounds)
    if all(b.lo.percent for b in base) and all(b.hi is None or b.hi.percent for b in base):
        lo_sum = sum(b.lo.value for b in base)
        if lo_sum > 1:
            program.error("PD016", d.span, f"the tiers' minimum shares sum to {_fmt(lo_sum * 100)}%, above 100%",
                          "lower some minimums so every group can be filled")
        if len(base) == len(decls.tier_sets[tierset]) and all(b.hi is not None for b in base):
            hi_sum = sum(b.hi.value for b in base)
            if hi_sum < 1:
                program.error("PD016", d.span, f"the tiers' maximum shares sum to {_fmt(hi_sum * 100)}%, below 100%",
                              "raise some maximums so every subject can be placed")
    whens, fields = [], set()
    for w in d.whens:
        cond = typer.expect(w.cond, BOOL, "a `when` condition", reads=Reads.SIZE)
        if cond is None:
            continue
        for ref in _refs(cond):
            if ref.kind is RefKind.VALUE:
                program.error("PD021", ref.span, f"`when` reads group facts: inputs constant in a group, or `size`; `{ref.name}` is computed per subject")
            elif ref.kind is RefKind.INPUT:
                fields.add(ref.name)
        whens.append(WhenIR(cond, tuple(_bounds(program, decls, tierset, w.bounds)), w.span))
    if order is None:
        return None
    return DistributeDef(d.span, tierset, _group(program, decls, d.group, d.span), order, _rounding(program, d.options),
                         d.options.ties_share, tuple(base), tuple(whens), tuple(sorted(fields)))


def _refs(e):
    stack, out = [e], []
    while stack:
        n = stack.pop()
        if isinstance(n, Ref):
            out.append(n)
        stack.extend(children(n))
    return out


def properties(program, decls, typer, policy) -> list[PropertyDef]:
    out = []
    defs = {d.name: d for d in policy.definitions}
    for p in decls.props:
        if isinstance(p, A.Property) and p.cohort:  # whole-cohort counts and `size` allowed
            e = typer.expect(p.expr, BOOL, "a cohort property", reads=Reads.FLAGGED | Reads.SIZE | Reads.TOTALS)
            if e is not None:
                out.append(PropertyDef(p.span, p.label, e, None, cohort=True))
            continue
        if isinstance(p, A.Property):
            e = typer.expect(p.expr, BOOL, "a property", reads=Reads.FLAGGED)  # `flagged("label")` (§12.1)
            if e is None:
                continue
            if typer.stage_of(e) is Stage.COHORT:
                program.error("PD020", p.expr.span, "a property is checked on one subject; this depends on the cohort")
                continue
            out.append(PropertyDef(p.span, p.label, e, None))
            continue
        target, inp = defs.get(p.target), decls.inputs.get(p.input)
        if target is None or target.type != NUM:
            program.error("PD002", p.target_span, f"`monotone` needs a numeric value; `{p.target}` is not one",
                          did_you_mean(p.target, [d.name for d in policy.definitions if d.type == NUM]))
            continue
        if inp is None or inp.type != NUM:
            program.error("PD002", p.input_span, f"`monotone ... in` needs a numeric input; `{p.input}` is not one",
                          did_you_mean(p.input, [i.name for i in policy.inputs if i.type == NUM]))
            continue
        label = p.label or f"{p.target} {'increasing' if p.increasing else 'decreasing'} in {p.input}"
        out.append(PropertyDef(p.span, label, None, (p.target, p.increasing, p.input)))
    return out


def policy_warnings(program, policy, typer, env: R.RangeEnv) -> None:
    scale = policy.scale
    for d in policy.definitions:
        if d.kind is DefKind.SCORE and not R.contains(scale, d.range):
            program.warn("PW104", d.span, f"score `{d.name}` can range over {d.range}, outside the policy's scale {scale}",
                         "set `scale` to the real range, or clamp the score")
        if isinstance(d, TiersDef):
            _tier_warnings(program, typer, env, d)


def _tier_warnings(program, typer, env: R.RangeEnv, d) -> None:
    body = d.tiers
    rng = R.range_of(body.by, env)
    if typer.reads_inexact(body.by):
        program.warn("PW106", body.by.span, f"an inexact division feeds the thresholds of `{d.name}` without `round`",
                     "round the score first, e.g. `round(total, 2)`, so a boundary value lands where it should")
    live = []
    for r in body.rules:  # §10: a rule that can never change anything
        if R.truth(r.cond, env) is False:
            program.warn("PW109", r.span, f"this {r.kind} can never fire: its condition is false for every input within the declared ranges",
                         "check the condition against the inputs' ranges, or drop the rule")
        else:
            live.append(r)
    targets = {r.tier for r in live if r.kind in (RuleKind.VETO, RuleKind.LIMIT)}
    demote = any(r.kind is RuleKind.DOWNGRADE for r in live)
    best_reached = None
    for i, t in enumerate(body.tiers):
        band = _band_reachable(body, i, rng)
        if band and best_reached is None:
            best_reached = i
        by_rule = i in targets or (demote and best_reached is not None and i > best_reached)
        if not band and not by_rule:
            program.warn("PW102", t.span, f"tier `{t.name}` can never be reached: `{d.name}` is banded by a value in {rng}",
                         "check the thresholds against the score's range")


def _band_reachable(body, i: int, rng: Interval) -> bool:
    tiers = body.tiers
    t = tiers[i].threshold
    prev = tiers[i - 1].threshold if i > 0 else None
    if body.ascending:  # value < t and not < prev, i.e. prev <= value < t
        lo_ok = t is None or rng.lo is None or rng.lo < t
        hi_ok = prev is None or rng.hi is None or rng.hi >= prev
    else:  # t <= value < prev
        lo_ok = t is None or rng.hi is None or rng.hi >= t
        hi_ok = prev is None or rng.lo is None or rng.lo < prev
    return lo_ok and hi_ok
