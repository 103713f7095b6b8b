"""Backend agreement: every backend must give exactly what the reference interpreter gives.

Two comparisons on hypothesis-drawn subjects and cohorts:

* every backend in BACKENDS (the generated Python, the columnar one, and any added
  later: one entry each) runs the whole pipeline on a drawn cohort; its §11 output rows
  (numbers compared by value, so 96.00 equals 96 as they print alike) with the cohort
  warnings, or the text of its data error, must equal the reference's (`outcome`);
* the generated code, which has the interpreter's protocol, is also compared step by
  step: every value, flag, tier state and explanation trace, of one subject and of a
  cohort (`_snapshot`).
"""
from __future__ import annotations

from decimal import Decimal

from ..runtime import CONTEXT, EvalError, localcontext
from .properties import given_line
from .search import search
from .strategies import cohorts, strategies


def _normal(v):
    if isinstance(v, Decimal):
        from ..lower.scaled import exact_normal  # never rounded: inputs may have 40 digits
        return exact_normal(v)
    if isinstance(v, (list, tuple)):
        return tuple(_normal(x) for x in v)
    return v


def outcome(rows, warnings) -> tuple:
    """What two backends must agree on: output rows with numbers by value, and warnings."""
    return [{k: _normal(v) for k, v in row.items()} for row in rows], list(warnings)


def outcome_of(policy, records: list[dict]):
    """`Policy.evaluate_cohort` of validated records as an outcome, or ("error", text)."""
    from ..io import DataError
    try:
        results = policy.evaluate_cohort(records, trace=False, validate=False)
    except DataError as err:
        return ("error", str(err))
    return outcome([r.as_row() for r in results], policy.last_warnings)


def _pipeline(backend: str):
    def prepare(ir):
        from ..policy import Policy
        policy = Policy(ir, backend=backend)
        return lambda records: outcome_of(policy, records)
    return prepare


def _columnar(ir):
    from ..columnar.agreement import outcome_columnar
    return lambda records: outcome_columnar(ir, records)


# name -> prepare(ir) -> run(records) -> outcome. A new backend adds one line here, and
# `perfdsl verify --backends` and tests/test_agreement.py compare it with the reference.
REFERENCE = _pipeline("reference")
# (The reference interpreter runs the core program of perfdsl/lower: that is the meaning
# every other backend is compared with.)
BACKENDS = {"python": _pipeline("python"), "columnar": _columnar}


def _duckdb(ir):
    from ..sql.agreement import duckdb  # the SQL backend on DuckDB (perfdsl/sql)
    return duckdb(ir)


BACKENDS["duckdb"] = _duckdb


def _snapshot(results):
    return [(r.values, r.flags, r.tiers, r.trace) for r in results]


def _run(ir, backend, records, cohort: bool):
    from ..cohort import CohortError, apply
    with localcontext(CONTEXT):
        try:
            results = [backend.individual(r, True) for r in records]
            if cohort:
                apply(ir, backend, results)
        except (EvalError, CohortError) as err:
            return ("error", str(err))
    return _snapshot(results)


def _step_by_step(ir):
    """The generated code against the interpreter on the same records: None, or where they differ."""
    from ..codegen import load_module
    from ..eval.interpret import Interpreter
    generated, reference = load_module(ir), Interpreter(ir)

    def compare(records, is_cohort):
        if _run(ir, generated, records, is_cohort) != _run(ir, reference, records, is_cohort):
            where = given_line(ir, records[0]) if len(records) == 1 else f"a cohort of {len(records)}"
            return f"{ir.name}: the generated code and the reference disagree on {where}"
        return None
    return compare


def disagreements(policy, examples: int = 100, seed: int | None = None, backends=None,
                  max_size: int = 12, wide: bool = False) -> list[str]:
    """Where `backends` (names in BACKENDS; all of them by default) differ from the
    reference on drawn subjects and cohorts: at most one readable line. `wide` draws
    the extremes valid data may hold too (strategies.WIDE_VALUES)."""
    from hypothesis import strategies as st
    ir = getattr(policy, "ir", policy)
    names = list(BACKENDS) if backends is None else list(backends)
    runs = {name: BACKENDS[name](ir) for name in names}
    reference = REFERENCE(ir)
    step_by_step = _step_by_step(ir) if "python" in names else None

    def test(case):
        record, group = case
        if step_by_step is not None:
            problem = step_by_step([record], False) or step_by_step(group, True)
            if problem:
                return problem
        want = reference(group)
        for name, run in runs.items():
            try:
                got = run(group)
            except Exception as exc:  # a backend that crashes where the reference does not disagrees
                got = ("crash", f"{type(exc).__name__}: {exc}")
            if got != want:
                return (f"{ir.name}: {name} and reference disagree on a cohort of {len(group)}: "
                        f"{group!r}\n  {name}: {got!r}\n  reference: {want!r}")
        return None

    _, problem = search(st.tuples(strategies(ir, wide), cohorts(ir, 1, max_size, wide)), test, examples, seed)
    return [problem] if problem else []
