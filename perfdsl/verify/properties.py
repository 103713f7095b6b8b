"""`perfdsl verify`: prove or search for counterexamples to a policy's properties.

A property is first tried statically with the checker's interval analysis: a
comparison chain of a value with constants that its static range already satisfies
is reported as proved, without sampling. Then the SMT solver (perfdsl.solver) proves
it for every valid input or finds a counterexample, which the reference interpreter
must confirm before it is reported. Only where the solver can do neither (a timeout,
a cohort-stage value, 28-digit rounding that may matter) does hypothesis search the
inputs (strategies.py); a failure is shrunk and printed as a `given` line ready to
paste into an example, with the property's operands and the subject's explanation.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from ..eval.interpret import Interpreter
from ..explain import fmt
from ..ir import Const, Fn, Policy, Prim, PropertyDef, Ref
from ..runtime import CONTEXT, EvalError, localcontext
from .search import search
from .strategies import input_strategy, strategies


@dataclass
class Verdict:
    label: str
    status: str  # proved passed failed
    tried: int = 0
    detail: list[str] = field(default_factory=list)
    by: str = "search"  # static solver search: what decided it
    note: str | None = None  # why the solver did not decide it, when it did not
    unit: str = "inputs"  # what `tried` counts: inputs, or cohorts for a cohort property


def given_line(ir: Policy, record: dict) -> str:
    parts = []
    for inp in ir.inputs:
        v = record[inp.name]
        if isinstance(v, str) and inp.type.kind != "tier":
            text = '"' + v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
        elif isinstance(v, tuple):
            text = "[" + ", ".join(('"' + x + '"') if isinstance(x, str) and inp.type.elem.kind != "tier" else fmt(x) for x in v) + "]"
        else:
            text = fmt(v)
        parts.append(f"{inp.name} = {text}")
    return "given " + ", ".join(parts)


def _static(ir: Policy, prop: PropertyDef) -> str | None:
    """'proved' text when the interval analysis already shows the property holds."""
    e = prop.expr
    chain = []
    stack = [e]
    while stack:
        n = stack.pop()
        if isinstance(n, Prim) and n.fn is Fn.AND:
            stack.extend(n.args)
        else:
            chain.append(n)
    ranges = {d.name: d.range for d in ir.definitions}
    ranges.update({i.name: i.range for i in ir.inputs if i.range is not None and i.type.kind == "num"})
    facts = []
    for c in chain:
        if not (isinstance(c, Prim) and c.fn in (Fn.LE, Fn.GE, Fn.LT, Fn.GT)):
            return None
        a, b = c.args
        fn = c.fn
        a, b = _literal(a), _literal(b)
        if isinstance(a, Const) and isinstance(b, Ref):
            a, b = b, a
            fn = {Fn.LE: Fn.GE, Fn.GE: Fn.LE, Fn.LT: Fn.GT, Fn.GT: Fn.LT}[fn]
        if not (isinstance(a, Ref) and isinstance(b, Const) and isinstance(b.value, Decimal)) or a.name not in ranges:
            return None
        rng = ranges[a.name]
        ok = {Fn.LE: rng.hi is not None and rng.hi <= b.value, Fn.LT: rng.hi is not None and rng.hi < b.value,
              Fn.GE: rng.lo is not None and rng.lo >= b.value, Fn.GT: rng.lo is not None and rng.lo > b.value}[fn]
        if not ok:
            return None
        facts.append(f"{a.name} ∈ {rng}")
    return "proved by the static ranges: " + ", ".join(dict.fromkeys(facts))


def _literal(e):
    """`-4` is written as negation of 4: fold it to one constant."""
    if isinstance(e, Prim) and e.fn is Fn.NEG and isinstance(e.args[0], Const) and isinstance(e.args[0].value, Decimal):
        return Const(e.span, e.type, -e.args[0].value)
    return e


def _bound_note(ir: Policy, prop: PropertyDef) -> str | None:
    refs = []
    stack = [prop.expr]
    while stack:
        n = stack.pop()
        if isinstance(n, Ref) and n.kind == "value":
            refs.append(n.name)
        if isinstance(n, Prim):
            stack.extend(n.args)
    ranges = {d.name: d.range for d in ir.definitions}
    shown = [f"{r} ∈ {ranges[r]}" for r in dict.fromkeys(refs) if r in ranges]
    return ("static ranges: " + ", ".join(shown)) if shown else None


def _operands(interp: Interpreter, prop: PropertyDef, env: dict) -> list[str]:
    names = []
    stack = [prop.expr]
    while stack:
        n = stack.pop()
        if isinstance(n, Ref):
            names.append(n.name)
        if isinstance(n, Prim):
            stack.extend(n.args)
    return [f"{n} = {fmt(env[n])}" for n in dict.fromkeys(names) if n in env]


def _search(label: str, strategy, test, examples: int, seed: int | None) -> Verdict:
    tried, problem = search(strategy, test, examples, seed)
    if problem is None:
        return Verdict(label, "passed", tried)
    return Verdict(label, "failed", tried, problem)


def verify_properties(policy, examples: int = 300, seed: int | None = None,
                      timeout: float | None = None) -> list[Verdict]:
    """Every property and monotone claim of a loaded Policy, on the reference semantics.
    `timeout`: seconds the solver may spend per property (0: sampling only)."""
    from ..solver import DEFAULT_TIMEOUT, prove
    timeout = DEFAULT_TIMEOUT if timeout is None else timeout
    ir = policy.ir
    interp = Interpreter(ir)
    verdicts = []
    for prop in ir.properties:
        if prop.cohort:  # after the cohort stage: sampled cohorts, out of the solver's reach
            from .cohort_properties import check
            tried, rejected, problem = check(ir, prop, max(20, examples // 3), seed)
            note = "tie-heavy ones among them" + (f"; {rejected} the policy rejects" if rejected else "")
            verdicts.append(Verdict(prop.label, "passed" if problem is None else "failed", tried, problem or [],
                                    note=note, unit="cohorts"))
            continue
        proof = _static(ir, prop) if prop.expr is not None else None
        if proof:
            verdicts.append(Verdict(prop.label, "proved", 0, [proof], "static"))
            continue
        test = _property_test(ir, interp, prop) if prop.expr is not None else _monotone_test(ir, interp, prop)
        outcome = prove(ir, prop, test, timeout) if timeout > 0 else None
        if outcome is not None and outcome.status != "unknown":
            verdicts.append(Verdict(prop.label, outcome.status, 0, outcome.detail, "solver"))
        elif prop.expr is not None:
            verdicts.append(_search(prop.label, strategies(ir), test, examples, seed))
        else:
            verdicts.append(_search(prop.label, _monotone_strategy(ir, prop), test, examples, seed))
        if outcome is not None and outcome.status == "unknown":
            verdicts[-1].note = outcome.detail[0]
        if verdicts[-1].status == "failed" and prop.expr is not None:
            note = _bound_note(ir, prop)
            if note:
                verdicts[-1].detail.insert(1, note)
    return verdicts


def _evaluate(interp: Interpreter, record: dict):
    with localcontext(CONTEXT):
        return interp.individual(record, True)


def _property_test(ir, interp, prop):
    def test(record):
        try:
            r = _evaluate(interp, record)
            env = {**record, **r.values}
            with localcontext(CONTEXT):
                holds = interp.condition(prop, env, None)
        except EvalError as err:
            return [given_line(ir, record), f"evaluation failed: {err}"]
        if holds:
            return None
        return [given_line(ir, record), "operands: " + ", ".join(_operands(interp, prop, env)), "explanation:",
                *("  " + line for line in r.explain().splitlines())]
    return test


def _monotone_strategy(ir, prop):
    from hypothesis import strategies as st
    target, increasing, name = prop.monotone
    inp = next(i for i in ir.inputs if i.name == name)
    return st.tuples(strategies(ir), input_strategy(ir, inp))


def _monotone_test(ir, interp, prop):
    target, increasing, name = prop.monotone

    def test(case):
        record, other = case
        lo, hi = sorted([record[name], other])
        if lo == hi:
            return None
        a, b = dict(record, **{name: lo}), dict(record, **{name: hi})
        try:
            va, vb = _evaluate(interp, a).values[target], _evaluate(interp, b).values[target]
        except EvalError as err:
            return [given_line(ir, a), f"evaluation failed: {err}"]
        if (vb >= va) if increasing else (vb <= va):
            return None
        word = "fell" if increasing else "rose"
        return [given_line(ir, a), given_line(ir, b),
                f"{name} {fmt(lo)} → {fmt(hi)}: {target} {word} from {fmt(va)} to {fmt(vb)}"]
    return test


__all__ = ["verify_properties", "Verdict", "given_line"]
