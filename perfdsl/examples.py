"""Run a policy's own `example` blocks on every backend and report what differs.

A single-subject example runs the individual stage; a cohort example runs the whole
pipeline. Both backends must meet every expectation; where they disagree with each
other that is reported too.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from . import cohort
from .eval.interpret import Interpreter
from .explain import fmt
from .ir import ExampleDef, Expect
from .runtime import CONTEXT, EvalError, localcontext


@dataclass
class Outcome:
    file: str
    line: int
    label: str
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures


def run_examples(policy) -> list[Outcome]:
    """Every example of a loaded Policy, on its compiled backend and the reference."""
    return [run_example(policy, ex) for ex in policy.ir.examples]


def run_example(policy, ex: ExampleDef) -> Outcome:
    """One example on every backend; failures name the line, the value and both numbers."""
    backends = [("generated", policy.backend), ("reference", policy.reference)]
    if policy.backend is policy.reference:
        backends = backends[1:]
    out = Outcome(policy.ir.file, ex.span.line, ex.label)
    seen = {}
    for name, backend in backends:
        try:
            with localcontext(CONTEXT):
                actual = _run(policy.ir, backend, ex)
        except (EvalError, cohort.CohortError) as err:
            out.failures.append(f"[{name}] {err}")
            continue
        seen[name] = actual
        for exp in ex.expects:
            problem = _compare(policy.ir, exp, actual)
            if problem and problem not in out.failures:
                out.failures.append(problem)
    if len(seen) == 2 and seen["generated"] != seen["reference"]:
        out.failures.append("the generated code and the reference interpreter disagree")
    return out


def _run(ir, backend, ex: ExampleDef):
    results = [backend.individual(rec, True) for _, rec in ex.records]
    if ex.cohort:
        cohort.apply(ir, backend, results)
    return [(r.record, r.values, r.flags) for r in results]


def _subject(ir, exp: Expect, actual):
    if exp.subject is None:
        return actual[0]
    for rec, values, flags in actual:
        if ir.key and str(rec.get(ir.key)) == exp.subject:
            return rec, values, flags
    return None


def _same(a, b) -> bool:
    if isinstance(a, Decimal) and isinstance(b, Decimal):
        return a == b
    return type(a) is type(b) and a == b


def _compare(ir, exp: Expect, actual) -> str | None:
    where = f"line {exp.span.line}"
    if exp.cond is not None:
        interp = Interpreter(ir)
        got = sum(1 for rec, values, _ in actual if interp.eval(exp.cond, {**rec, **values}, None))
        if Decimal(got) != exp.value:
            return f"{where}: count: expected {fmt(exp.value)}, got {got}"
        return None
    found = _subject(ir, exp, actual)
    label = exp.name if exp.subject is None else f"{exp.name} of {exp.subject}"
    if found is None:
        return f"{where}: no subject with {ir.key} = {exp.subject}"
    rec, values, flags = found
    got = tuple(flags) if exp.name == "flags" else values.get(exp.name, rec.get(exp.name))
    if not _same(got, exp.value):
        return f"{where}: {label}: expected {fmt(exp.value)}, got {fmt(got)}"
    return None
