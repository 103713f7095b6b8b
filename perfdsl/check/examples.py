"""`example` blocks → ExampleDef: givens validated like data, expectations typed.

An example is checked as strictly as a data file: unknown or missing fields, values
outside the declared ranges and expectations on unknown names are errors at the line
that says them.
"""
from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from ..diagnostics import did_you_mean
from ..ir import BOOL, NUM, ExampleDef, Expect, Policy, Stage, TiersDef
from ..syntax import ast as A

if TYPE_CHECKING:
    from ..validate import Validator


def _const(node):
    """The value of a literal written in an example, or raise ValueError."""
    if isinstance(node, A.Num):
        return node.value
    if isinstance(node, A.Unary) and node.op == "-" and isinstance(node.operand, A.Num):
        return -node.operand.value
    if isinstance(node, (A.Str, A.Bool)):
        return node.value
    if isinstance(node, A.Name):
        return node.name
    if isinstance(node, A.ListLit):
        return [_const(x) for x in node.items]
    raise ValueError


def _cell(text: str):
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        return text[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return text


def build_examples(program, examples: list[A.Example], policy: Policy, typer,
                   defaults: A.ExampleDefaults | None = None) -> list[ExampleDef]:
    # the plain check of runtime.checks; pydantic only for a value it is not sure of
    from ..runtime.checks import QuickValidator
    validator = QuickValidator(policy)
    inputs = {i.name for i in policy.inputs}
    defs = {d.name: d for d in policy.definitions}
    base = _defaults(program, defaults, inputs)
    out = []
    for ex in examples:
        records = _single_record(program, ex, validator, inputs, base) if not ex.cohort else _table(program, ex, validator, inputs)
        expects = [e for e in (_expect(program, ex, x, policy, defs, inputs, typer) for x in ex.expect) if e is not None]
        if records is not None:
            out.append(ExampleDef(ex.span, ex.label, ex.cohort, tuple(records), tuple(expects)))
    return out


def _defaults(program, defaults: A.ExampleDefaults | None, inputs: set[str]) -> dict:
    """`example defaults`: field -> (value, the assignment that gives it)."""
    out = {}
    for a in defaults.given if defaults is not None else ():
        if a.name not in inputs:
            program.error("PD017", a.span, f"example defaults give `{a.name}`, which is not an input", did_you_mean(a.name, inputs))
            continue
        if a.name in out:
            program.error("PD017", a.span, f"example defaults give `{a.name}` twice")
            continue
        try:
            out[a.name] = (_const(a.value), a)
        except ValueError:
            program.error("PD017", a.value.span, "example defaults give literal values only",
                          "write a number, a string, true/false, a tier name or a list")
    return out


def _single_record(program, ex: A.Example, validator: Validator, inputs: set[str], base: dict | None = None):
    if ex.rows:
        program.error("PD017", ex.rows[0].span, "a table belongs in a `cohort` example", f'write `example "{ex.label}" cohort {{ ... }}`')
        return None
    base = base or {}
    raw, ok = {}, True
    for a in ex.given:
        if a.name not in inputs:
            program.error("PD017", a.span, f"example gives `{a.name}`, which is not an input", did_you_mean(a.name, inputs))
            ok = False
            continue
        try:
            raw[a.name] = _const(a.value)
        except ValueError:
            program.error("PD017", a.value.span, "an example gives literal values only", "write a number, a string, true/false, a tier name or a list")
            ok = False
    spans = {name: a.span for name, (_, a) in base.items()}
    spans.update({a.name: a.span for a in ex.given})
    for name, (value, _) in base.items():  # a field the example does not give takes its default
        raw.setdefault(name, value)
    missing = [n for n in inputs if n not in raw and ok]
    if missing:
        program.error("PD017", ex.span, f"example \"{ex.label}\" does not give " + ", ".join(f"`{m}`" for m in missing),
                      "every input needs a value in a `given` line or in `example defaults`")
        return None
    if not ok:
        return None
    rec, problems = validator.one(raw, None)
    for p in problems:
        program.error("PD017", spans.get(p.field, ex.span), f"example value for `{p.field}`: {p.message}")
    return None if rec is None else [(ex.span.line, rec)]


def _table(program, ex: A.Example, validator: Validator, inputs: set[str]):
    if not ex.rows:
        program.error("PD017", ex.span, "a cohort example needs a table: a header row of input names, then one row per subject")
        return None
    header = ex.rows[0]
    ok = True
    for name, sp in zip(header.cells, header.cell_spans):
        if name not in inputs:
            program.error("PD017", sp, f"column `{name}` is not an input", did_you_mean(name, inputs))
            ok = False
    missing = [n for n in inputs if n not in header.cells]
    if missing:
        program.error("PD017", header.span, "the table lacks column(s) " + ", ".join(f"`{m}`" for m in missing))
        ok = False
    for extra in ex.given:
        program.error("PD017", extra.span, "a cohort example gives its subjects in the table", "add a column instead")
        ok = False
    records = []
    for row in ex.rows[1:]:
        if len(row.cells) != len(header.cells):
            program.error("PD017", row.span, f"this row has {len(row.cells)} cells, the header has {len(header.cells)}")
            ok = False
            continue
        raw = {h: _cell(c) for h, c in zip(header.cells, row.cells)}
        rec, problems = validator.one(raw, row.span.line)
        for p in problems:
            idx = header.cells.index(p.field) if p.field in header.cells else None
            program.error("PD017", row.cell_spans[idx] if idx is not None else row.span, f"`{p.field}`: {p.message}")
        if rec is not None:
            records.append((row.span.line, rec))
    key = validator.policy.key
    if key is None and ok:
        program.error("PD017", ex.span, "a cohort example needs the policy's `key`", "declare `key FIELD` in the policy")
        return None
    return records if ok and len(records) == len(ex.rows) - 1 else None


def _expect(program, ex: A.Example, x: A.Expectation, policy: Policy, defs, inputs, typer):
    if x.cond is not None:
        if x.name != "count" or not ex.cohort:
            program.error("PD017", x.span, f"`{x.name}(...)` expectations are for cohort examples: `expect count(COND) = N`")
            return None
        cond = typer.expect(x.cond, BOOL, "the condition of `count`")
        value = _value(program, x, NUM)
        return None if cond is None or value is None else Expect(x.span, "count", None, cond, value)
    if x.subject is not None and not ex.cohort:
        program.error("PD017", x.span, "`NAME of KEY` expectations are for cohort examples")
        return None
    if x.name == "flags":
        try:
            value = _const(x.value)
        except ValueError:
            value = None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            program.error("PD017", x.value.span, "expect flags as a list of labels, e.g. `flags = [\"通报批评\"]`")
            return None
        known = {f.label for f in policy.flags}
        cohort_flags = {f.label for f in policy.flags if f.stage is Stage.COHORT}
        for v, item in zip(value, x.value.items):
            if v not in known:
                program.error("PD017", item.span, f"no flag is labelled {v!r}", did_you_mean(v, known))
                return None
            if v in cohort_flags and not ex.cohort:  # one subject has no ranks or group values (§12.1)
                program.error("PD020", item.span, f"flag {v!r} reads ranks or group values and cannot be expected of one subject",
                              "expect it in a `cohort` example")
                return None
        return Expect(x.span, "flags", x.subject, None, tuple(value))
    if x.name in defs:
        d = defs[x.name]
        if not ex.cohort and d.stage is Stage.COHORT:
            program.error("PD020", x.span, f"`{x.name}` depends on the whole cohort and cannot be expected of one subject",
                          "write a cohort example")
            return None
        value = _value(program, x, d.type, d.tiers.names() if isinstance(d, TiersDef) else None)
        return None if value is None else Expect(x.span, x.name, x.subject, None, value)
    if x.name in inputs:
        inp = next(i for i in policy.inputs if i.name == x.name)
        value = _value(program, x, inp.type)
        return None if value is None else Expect(x.span, x.name, x.subject, None, value)
    program.error("PD017", x.span, f"example expects `{x.name}`, which the policy does not define",
                  did_you_mean(x.name, list(defs) + list(inputs) + ["flags"]))
    return None


def _value(program, x: A.Expectation, want, tiers=None):
    try:
        value = _const(x.value)
    except ValueError:
        program.error("PD017", x.value.span, "an expectation gives a literal value")
        return None
    ok = {"num": isinstance(value, Decimal), "bool": isinstance(value, bool), "text": isinstance(value, str),
          "tier": isinstance(value, str), "list": isinstance(value, list)}.get(want.kind, False)
    if want.kind == "tier" and ok and value not in tiers:
        from ..diagnostics import did_you_mean as dym
        program.error("PD015", x.value.span, f"`{value}` is not a tier of `{x.name}`", dym(value, tiers))
        return None
    if not ok:
        program.error("PD003", x.value.span, f"`{x.name}` is {want}, but the expectation is {_kind(value)}")
        return None
    if isinstance(value, list):
        value = tuple(value)
    return value


def _kind(v) -> str:
    return {bool: "true/false", Decimal: "a number", str: "text", list: "a list"}.get(type(v), "a value")
