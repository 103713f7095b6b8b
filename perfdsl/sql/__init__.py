"""The SQL backends: a policy's core program as one SQL query (sqlglot trees printed per
dialect: DuckDB embedded, Spark SQL on a cluster), numbers as scaled integers from the
shared integer plan (perfdsl.lower.scaled), the cohort stage as window functions.

`compile_sql(ir, dialect, table, scale)` is `perfdsl compile --sql`: the query over a table
of validated subjects whose numbers have at most `scale` decimals, its output numbers as
exact DECIMALs. `perfdsl run --backend duckdb|spark` runs it on a data file (run.py).
"""
from __future__ import annotations

from decimal import Decimal

from sqlglot import exp

from ..lower import scaled as sc
from ..lower.lower import lower_policy
from .dialect import DIALECTS
from .query import FAILS, LATE_FAILS, ROW, Input, build, decimal, outputs, select
from .values import col, lit_str

COHORT = 10 ** 9  # subjects a compiled query is made for (the bounds of ranks, counts, group sums)
LIST_ITEMS = 64  # items a list input holds at most when its length is not declared
UNBOUNDED = 10 ** 15  # a number input without a declared bound: |value| below this
ERROR = "#error"  # a compiled query's column: set on a row whose values it cannot give
ROW_ERROR = ("this row has no value here: the reference reports an error for it (e.g. a division by zero), "
             "or a value lies outside what this query holds at one scale; run perfdsl run on it for the message, "
             "or recompile with narrower declared ranges")


def declared(ir, scale: int) -> list[Input]:
    """Each input as a table of validated subjects holds it: numbers within their
    declared range with at most `scale` decimals (whole numbers none)."""
    out = []
    for inp in ir.inputs:
        t, rng = inp.type, inp.range
        kind = t.elem.kind if t.kind == "list" else t.kind
        num = None
        if kind == "num":
            s = 0 if inp.is_int else scale
            lo = rng.lo if rng is not None and rng.lo is not None else Decimal(-UNBOUNDED)
            hi = rng.hi if rng is not None and rng.hi is not None else Decimal(UNBOUNDED)
            num = sc.Num(s, int(lo.scaleb(s).to_integral_value("ROUND_FLOOR")), int(hi.scaleb(s).to_integral_value("ROUND_CEILING")))
        if t.kind == "list":
            most = int(inp.length.hi) if inp.length is not None and inp.length.hi is not None else LIST_ITEMS
            out.append(Input(inp.name, "list", num, "text" if kind == "tier" else kind, most))
        else:
            out.append(Input(inp.name, "num" if kind == "num" else "bool" if kind == "bool" else "text", num))
    return out


def compile_sql(ir, dialect: str, table: str = "subjects", scale: int = 4) -> str:
    """The policy as one query of `dialect` over `table`; ValueError says what the query
    cannot compute exactly."""
    program = lower_policy(ir)
    inputs = declared(ir, scale)
    d = DIALECTS[dialect]
    try:
        q = build(program, inputs, d, COHORT, table)
    except sc.Unsupported as err:
        raise ValueError(f"cannot be computed exactly in SQL: {err}") from None
    first = q.steps[0]  # the table's natural numbers become the plan's integers; rows are numbered
    key = [exp.Ordered(this=col(ir.key))] if ir.key else None
    number = exp.Sub(this=exp.Window(this=exp.RowNumber(), order=exp.Order(expressions=key) if key else None),
                     expression=exp.Literal.number(1))
    first.columns = [(ROW, number)] + [(i.name, _scaled_input(i, d)) for i in inputs]
    shown = [(n, q.sql(v.node) if decimal(q, v) is None else decimal(q, v)) for n, v in outputs(program, q)]
    marks = [q.columns[m].node for m in (FAILS, LATE_FAILS) if m in q.columns]
    if marks:  # never a silent value: a row the plan marks says so in its own column
        shown.append((ERROR, exp.Case(ifs=[exp.If(this=q.sql(sc.either(*marks)), true=lit_str(ROW_ERROR))])))
    query = select(q, [(ROW, q.columns[ROW])] + shown).sql(d.name, pretty=True)
    head = [f"-- {ir.name}: the policy as one {dialect} query over the table {table} (perfdsl compile --sql)",
            "-- Numbers are carried as scaled integers (value × 10^scale); every division and rounding is",
            f"-- integer arithmetic. The table's numbers are validated subjects with at most {scale} decimals.",
            "-- Each named step adds columns to the one before; read them top to bottom."]
    return "\n".join(head) + "\n" + query + ";\n"


def _scaled_input(i: Input, d) -> exp.Expression:
    if i.num is None:
        return col(i.name)
    factor = exp.Literal.number(10 ** i.num.scale)
    if i.kind == "list":
        return d.transform(col(i.name), "x", d.cast_int(exp.Mul(this=exp.column("x"), expression=factor), i.num.wide))
    return d.cast_int(exp.Mul(this=col(i.name), expression=factor), i.num.wide)

