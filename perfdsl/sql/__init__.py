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

from ..lower import core as c
from ..lower import scaled as sc
from ..lower.lower import lower_policy
from .dialect import DIALECTS
from .query import FAILS, LATE_FAILS, ROW, Input, build, decimal, outputs, select
from .values import col, lit_int, lit_str

COHORT = 10 ** 9  # subjects a compiled query is made for (the bounds of ranks, counts, group sums)
LIST_ITEMS = 64  # items a list input holds at most when its length is not declared
UNBOUNDED = 10 ** 9  # a number input without a declared bound: |value| at most this (see declared)
ERROR = "#error"  # a compiled query's column: why a row has no values (NULL: it has them)
WARNING = "#warning"  # a compiled query's column: the cohort steps with a warning for the row's group
INPUT = "#input"  # the first step's column: the row's inputs the query cannot hold, worded


def declared(ir, scale: int) -> list[Input]:
    """Each input as a table of validated subjects holds it: numbers within their
    declared range with at most `scale` decimals (whole numbers none).

    An open side of a range is assumed at most 10^9 in magnitude (UNBOUNDED): a count, a
    score, a percentage or a sum of money of an appraisal stays far below it, and it
    decides how far down a quotient's 28 significant digits reach at one scale. A
    quotient is one column at one scale, and 28 digits of a value anywhere in
    [10^-6, 10^15] would need 49 digits, more than any 38-digit integer holds however
    the division is carried out (the plan already divides in two steps of long division
    where n · 10^p passes 10^38: it is the result, not the division, that does not fit).
    Assumed below 10^9, budget_manager's mean(team_scores) is held from 0.1 up (a mean
    lies within its items), so ordinary means (88, 33.33…) are the reference's digits; a
    row whose quotient lies below the span, or whose input lies beyond the assumption,
    is named in `#error` (never a wrong digit), and a policy that declares its ranges
    gets spans from them."""
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
    cannot compute exactly.

    Its last column `#error` is NULL on every row whose values are the reference's; else
    it names each field with no value and why, and the row's outputs are NULL (never a
    partial row): an input the query cannot hold (missing, outside its declared or
    assumed range, more decimals than `scale`, not one of its choices, too many items),
    or a definition the reference fails (division by zero, an empty list …) or this
    query cannot hold (a quotient outside the span one scale holds). Where the policy
    has a cohort stage, every row reads every other, so one such row leaves every row
    without values, each saying so."""
    program = lower_policy(ir)
    inputs = declared(ir, scale)
    d = DIALECTS[dialect]
    try:
        q = sc.planned(build, program, inputs, d, COHORT, table)
    except sc.Unsupported as err:
        raise ValueError(f"cannot be computed exactly in SQL: {err}") from None
    first = q.steps[0]  # the table's natural numbers become the plan's integers; rows are numbered
    key = [exp.Ordered(this=col(ir.key))] if ir.key else None
    number = exp.Sub(this=exp.Window(this=exp.RowNumber(), order=exp.Order(expressions=key) if key else None),
                     expression=exp.Literal.number(1))
    tiers = _tier_names(ir)
    read = [_read_input(inp, i, d, tiers) for inp, i in zip(ir.inputs, inputs)]
    first.columns = [(ROW, number)] + [(i.name, value) for i, (value, _) in zip(inputs, read)] + [
        (q.fresh(INPUT), _joined([m for _, m in read]))]
    q.push(ERROR, [(q.fresh(ERROR), _why(q, program, col(first.columns[-1][0])))])
    error = col(q.steps[-1].columns[0][0])
    given = exp.Is(this=error, expression=exp.Null())
    shown = [(n, _given(given, q.sql(v.node) if decimal(q, v) is None else decimal(q, v), n == ir.key))
             for n, v in outputs(program, q)]
    warned = [(WARNING, _given(given, _warnings(q, program), False))] if program.steps else []
    query = select(q, [(ROW, q.columns[ROW])] + shown + [(ERROR, error)] + warned).sql(d.name, pretty=True)
    head = [f"-- {ir.name}: the policy as one {dialect} query over the table {table} (perfdsl compile --sql)",
            "-- Numbers are carried as scaled integers (value × 10^scale); every division and rounding is",
            f"-- integer arithmetic. The table's numbers are expected with at most {scale} decimals, within",
            f"-- their declared ranges (an open side: at most {UNBOUNDED:,} in magnitude); a row that is not,",
            "-- or whose value the reference fails or this query cannot hold, says why in #error, no values.",
            *(["-- #warning names each cohort step with a warning (or a shared tie) for the row's group."]
              if program.steps else []),
            "-- Each named step adds columns to the one before; read them top to bottom."]
    return "\n".join(head) + "\n" + query + ";\n"


def _why(q, program, bad_input: exp.Expression) -> exp.Expression:
    """The row's #error: its bad inputs, else each definition that fails on it and each
    cohort group the reference refuses; with a cohort stage, any row's failure is every
    row's (each #fails step of the query becomes one worded column per definition)."""
    errors = []
    said: set[str] = set()
    for mark in (FAILS, LATE_FAILS):
        if mark in q.failing:
            step = next(st for st in q.steps if st.name == mark)
            step.columns = _worded(q, q.failing[mark], said)
            errors += [col(name) for name, _ in step.columns]
    errors += [exp.Case(ifs=[exp.If(this=test, true=lit_str(
        f"{tierset}: the cohort step {at.strip()} fails in this row's group (a tie at a cut the policy makes an "
        "error, a field that must be constant varies, a `when` line fails, or bounds no count meets); perfdsl run "
        "gives the reference's "
        "message"))]) for tierset, at, test in q.group_fails]
    whole = exp.Coalesce(this=bad_input, expressions=[_joined(errors)]) if errors else bad_input
    if not (program.steps or program.post or program.cohort):
        return whole
    some = exp.Window(this=exp.Max(this=exp.Case(ifs=[exp.If(this=exp.Not(this=exp.Is(this=whole, expression=exp.Null())),
                                                               true=exp.Literal.number(1))], default=exp.Literal.number(0))))
    return exp.Coalesce(this=whole, expressions=[exp.Case(ifs=[exp.If(
        this=exp.EQ(this=some, expression=exp.Literal.number(1)),
        true=lit_str("no value: the cohort stage reads every row, and another row has none (see its #error)"))])])


def _warnings(q, program) -> exp.Expression:
    """The cohort steps whose `?says` holds for the row's group (perfdsl.sql.cohort): in a
    group that does not fail (a row with values is in none), exactly where the reference
    warns (a count outside its bounds, fewer allowed than a cut takes) or shares a tie at
    a cut (a quota's always passes its bound; a distribution's may not). NULL: none."""
    said = []
    for i, s in enumerate(program.steps, start=1):
        what = f"quota {s.names[s.tier]}" if isinstance(s, c.Quota) else "distribute"
        said.append(exp.Case(ifs=[exp.If(this=q.sql(q.columns[q.says[i]].node), true=lit_str(
            f"{s.tierset}: the cohort step {what} (line {s.line}) has a warning for this row's group, or a tie "
            "it shares at a cut; perfdsl run words it"))]))
    return _joined(said)


def _given(given: exp.Expression, value: exp.Expression, key: bool) -> exp.Expression:
    """An output where the row has its values (the key always: it names the row)."""
    return value if key else exp.Case(ifs=[exp.If(this=given, true=value)])


def _joined(messages: list[exp.Expression]) -> exp.Expression:
    """The messages that are not NULL joined by '; ', NULL when there are none."""
    if not messages:
        return exp.Null()
    joined = exp.Anonymous(this="concat_ws", expressions=[lit_str("; ")] + messages)
    return exp.Nullif(this=joined, expression=lit_str(""))


def _worded(q, tests: list[tuple[str, object]], said: set[str]) -> list[tuple[str, exp.Expression]]:
    """One column per definition that can fail: '<definition>: <reason>' for the first of
    its reasons that holds on the row, else NULL. A reason names the place in the policy
    that fails, so a later definition reading an earlier one's value (and so its failure)
    does not say it again: the reference fails at the first (`said`: reasons given)."""
    by_field: dict[str, list] = {}
    for field, test in tests:
        by_field.setdefault(field, []).append(test)
    out = []
    for field, found in by_field.items():
        test = sc.either(*found)
        new = [r for r in sc.reasons(test) if r not in said]
        said.update(new)
        arms = [exp.If(this=exp.Coalesce(this=q.sql(sc.only(test, r)), expressions=[exp.Boolean(this=False)]),
                       true=lit_str(f"{field}: {r}")) for r in new]
        if arms:
            out.append((q.fresh(f"#error: {field}"), exp.Case(ifs=arms)))
    return out


def _tier_names(ir) -> dict[str, tuple[str, ...]]:
    return {d.name: d.tiers.names() for d in ir.definitions if d.tiers is not None}


def _read_input(inp, i: Input, d, tiers: dict) -> tuple[exp.Expression, exp.Expression]:
    """(the input's column as the plan reads it, the message of a row whose cell the query
    cannot hold, else NULL). A number is scaled only where it lies within the bounds the
    plan assumed and has no more decimals than its scale: elsewhere it is read as a value
    within them (so no later integer can overflow: no engine error) and the row is named;
    a cast of such a cell is never evaluated (CASE)."""
    x, name = col(i.name), inp.name
    if i.kind == "list":
        problems = _list_problems(inp, i, x, d, tiers)
        if i.num is None:
            return x, _first(problems)
        safe = _safe(i.num)
        fill = d.array([d.cast_int(lit_int(safe), i.num.wide)] * max(1, _least_items(inp)))
        scaled = d.transform(x, "x", d.cast_int(exp.Mul(this=exp.column("x"), expression=exp.Literal.number(10 ** i.num.scale)),
                                                i.num.wide))
        return exp.Case(ifs=[exp.If(this=t, true=fill) for t, _ in problems], default=scaled), _first(problems)
    problems = [(exp.Is(this=x, expression=exp.Null()), f"{name}: missing")]
    if i.kind == "num":
        problems += _number_problems(inp, i.num, x, d)
        safe = d.cast_int(lit_int(_safe(i.num)), i.num.wide)
        scaled = d.cast_int(exp.Mul(this=x, expression=exp.Literal.number(10 ** i.num.scale)), i.num.wide)
        return exp.Case(ifs=[exp.If(this=t, true=safe) for t, _ in problems], default=scaled), _first(problems)
    names = inp.choices if inp.choices is not None else tiers.get(inp.type.tierset) if inp.type.kind == "tier" else None
    if names is not None:
        problems.append((exp.Not(this=exp.In(this=x, expressions=[lit_str(n) for n in names])),
                         f"{name}: not one of {', '.join(names)}"))
    return x, _first(problems)


def _first(problems: list[tuple[exp.Expression, str]]) -> exp.Expression:
    """The message of the first problem that holds (in order: each test may assume the
    ones before it do not hold), else NULL."""
    return exp.Case(ifs=[exp.If(this=t, true=lit_str(m)) for t, m in problems]) if problems else exp.Null()


def _bounds(inp, num: sc.Num) -> tuple[str, str, str]:
    lo, hi = (f"{sc.exact_normal(sc.to_decimal(n, num.scale)):f}" for n in (num.lo, num.hi))
    rng = inp.range
    if rng is not None and rng.lo is not None and rng.hi is not None:
        return lo, hi, "its declared range"
    return lo, hi, f"the range this query holds (an open side is taken as at most {UNBOUNDED:,}: declare the range)"


def _number_problems(inp, num: sc.Num, x: exp.Expression, d, item: bool = False) -> list[tuple[exp.Expression, str]]:
    """A number (a list's item) outside its bounds, or with more decimals than its scale
    (Dialect.finer_than), each worded."""
    lo, hi, which = _bounds(inp, num)
    a = "an item " if item else ""
    outside = exp.Or(this=exp.LT(this=x, expression=exp.Literal.number(lo)),
                     expression=exp.GT(this=x, expression=exp.Literal.number(hi)))
    finer = d.finer_than(x, num.scale)
    decimals = f"{a}not a whole number" if inp.is_int else \
        f"{'an item with ' if item else ''}more than {num.scale} decimals (compile with a larger --scale to hold them)"
    return [(outside, f"{inp.name}: {a}outside {lo}..{hi}, {which}"), (finer, f"{inp.name}: {decimals}")]


def _least_items(inp) -> int:
    return int(inp.length.lo) if inp.length is not None and inp.length.lo is not None else 0


def _list_problems(inp, i: Input, x: exp.Expression, d, tiers: dict) -> list[tuple[exp.Expression, str]]:
    name, item = inp.name, exp.column("x")
    problems = [(exp.Is(this=x, expression=exp.Null()), f"{name}: missing")]
    if _least_items(inp):
        problems.append((exp.LT(this=d.length(x), expression=lit_int(_least_items(inp))),
                         f"{name}: fewer than {_least_items(inp)} items, its declared length"))
    problems.append((exp.GT(this=d.length(x), expression=lit_int(i.length)),
                     f"{name}: more than {i.length} items, the most this query holds"
                     + ("" if inp.length is not None and inp.length.hi is not None else " (declare a length)")))

    def some(test: exp.Expression) -> exp.Expression:
        return exp.GT(this=d.length(d.filter(x, "x", test)), expression=lit_int(0))
    missing = exp.Is(this=item, expression=exp.Null())
    problems.append((some(missing), f"{name}: an item is missing"))
    if i.num is not None:
        problems += [(some(test), message) for test, message in _number_problems(inp, i.num, item, d, True)]
    else:
        names = tiers.get(inp.type.elem.tierset) if inp.type.elem.kind == "tier" else inp.choices
        if names is not None:
            problems.append((some(exp.Not(this=exp.In(this=item, expressions=[lit_str(n) for n in names]))),
                             f"{name}: an item not one of {', '.join(names)}"))
    return problems


def _safe(num: sc.Num) -> int:
    """A value within the bounds (0 where they allow it): what a cell the query cannot hold
    is read as, its row named in #error."""
    return min(max(0, num.lo), num.hi)
