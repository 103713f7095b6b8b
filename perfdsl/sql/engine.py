"""Running the printed query on an engine, and what the engine's rows mean.

`evaluate(policy, records, engine)` is the SQL backends' `evaluate_cohort`: validated
records in, output rows (§11, as Result.as_row gives them) and the cohort's warnings out,
or the DataError the reference gives. The engine computes every value and placement; the
few rows and groups it marks are worded by the reference's own code, so every message is
the reference's, word for word:

* a row whose `#fails` holds (a division by zero, a missing list position …) is run
  through the reference's individual stage, which names its error (or finds none: the
  mark is a may, not a must);
* a group whose cohort step `#says` something is run through that step of the reference
  (perfdsl.lower.steps) on its members as the engine had them before the step.
"""
from __future__ import annotations

import functools
from decimal import Decimal

from sqlglot import exp

from .. import runtime as rt
from ..io import DataError, DataProblem
from ..lower import core as c
from ..lower import scaled as sc
from ..lower.cohort_stage import CohortError
from ..lower.lower import lower_policy
from ..lower.ranking import group_record
from ..lower.steps import Steps
from ..lower.wording import group_label, shown
from ..result import Result, TierState
from . import cohort as sql_cohort
from .dialect import DIALECTS
from .printer import Query
from .query import FAILS, LATE_FAILS, ROW, Input, build, outputs, select

NUMBER = "#number"  # a loaded file's row number as the user sees it (perfdsl.sql.read)


def describe(ir, records: list[dict]) -> list[Input]:
    """Each input as the records hold it: numbers at the fewest decimals that hold all
    their values, with the bounds of their integers; lists with their most items."""
    out = []
    for inp in ir.inputs:
        t, values = inp.type, [r[inp.name] for r in records]
        if t.kind == "list":
            item = "text" if t.elem.kind == "tier" else t.elem.kind
            items = [x for v in values for x in v]
            num = _num(items) if item == "num" else None
            most = max((len(v) for v in values), default=0)
            out.append(Input(inp.name, "list", num, item, 1 << max(0, most - 1).bit_length()))
        elif t.kind == "num":
            out.append(Input(inp.name, "num", _num(values)))
        else:
            out.append(Input(inp.name, "bool" if t.kind == "bool" else "text"))
    return out


def _num(values: list[Decimal]) -> sc.Num:
    """The scale and bounds of the values' integers (exact: a wider bound could make the
    plan refuse a product that the data's values hold in 38 digits)."""
    scale = max((sc.places(v) for v in values), default=0)
    ints = [sc.unscaled(v, scale) for v in values]
    return sc.Num(scale, min(ints, default=0), max(ints, default=0))


class Engine:
    """One engine connection: load a table of subjects, run a query, fetch rows."""
    dialect = "duckdb"

    def load(self, inputs: list[Input], records: list[dict]) -> None:
        raise NotImplementedError

    def load_file(self, ir, path: str, keep: tuple[str, ...] = ()):
        """The file checked into the table of subjects by the engine, or None: this engine
        takes records validated in Python (load)."""
        return None

    def fetch(self, query: exp.Select) -> list[tuple]:
        raise NotImplementedError

    def materialize(self, query: exp.Select) -> None:
        """Run the query once into the table RESULT, which the later reads select from."""
        raise NotImplementedError


RESULT = "perfdsl_result"


class DuckDB(Engine):
    dialect = "duckdb"

    def __init__(self, con=None):
        import duckdb
        self.con = con if con is not None else duckdb.connect()

    def load(self, inputs: list[Input], records: list[dict], table: str = "subjects",
             rows: list[int] | None = None, numbers: list[int] | None = None) -> None:
        """The records as a table, through a Parquet file polars writes (numbers as the
        text of their integers, cast to HUGEINT by DuckDB: no value passes a float); their
        positions are `rows` (else 0, 1, …), with the row numbers `numbers` if given."""
        import tempfile

        import polars as pl
        types = {"num": pl.String, "bool": pl.Boolean, "text": pl.String}
        columns = {ROW: pl.Series(ROW, range(len(records)) if rows is None else rows, dtype=pl.Int64)}
        if numbers is not None:
            columns[NUMBER] = pl.Series(NUMBER, numbers, dtype=pl.Int64)
        for i in inputs:
            cells = [_text(i, _cell(i, r[i.name])) for r in records]
            dtype = pl.List(types[i.item]) if i.kind == "list" else types[i.kind]
            columns[i.name] = pl.Series(i.name, cells, dtype=dtype)
        casts = [_ident(c) for c in columns if c in (ROW, NUMBER)] + [
            f"CAST({_ident(i.name)} AS HUGEINT) AS {_ident(i.name)}" if i.kind == "num" else
            f"CAST({_ident(i.name)} AS HUGEINT[]) AS {_ident(i.name)}" if i.kind == "list" and i.item == "num" else
            _ident(i.name) for i in inputs]
        with tempfile.TemporaryDirectory() as tmp:
            path = f"{tmp}/subjects.parquet"
            pl.DataFrame(list(columns.values())).write_parquet(path)
            self.con.execute(f"CREATE OR REPLACE TEMP TABLE {_ident(table)} AS SELECT " + ", ".join(casts)
                             + " FROM read_parquet(?)", [path])

    def load_file(self, ir, path: str, keep: tuple[str, ...] = ()):
        """A CSV or Parquet file checked into the table of subjects in the engine
        (perfdsl.sql.read): its read.Loaded, or None when the row reader must read it."""
        from .read import load_file
        return load_file(ir, path, self.con, keep)

    def stored(self, inputs: list[Input]):
        """The records of the loaded subjects, fetched where the reference words something."""
        from .read import Stored
        return Stored(self.con, inputs)

    def fetch(self, query: exp.Select) -> list[tuple]:
        return self.con.execute(query.sql("duckdb")).fetchall()

    def materialize(self, query: exp.Select) -> None:
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {_ident(RESULT)} AS " + query.sql("duckdb"))


def _ident(name: str) -> str:
    return exp.to_identifier(name, quoted=True).sql("duckdb")


def _cell(i: Input, v):
    if i.kind == "num":
        return sc.unscaled(v, i.num.scale)
    if i.kind == "list":
        return [sc.unscaled(x, i.num.scale) if i.item == "num" else x for x in v]
    return v


def _text(i: Input, v):
    """A cell for a table loaded as text: a number's integer as its digits."""
    if i.kind == "num":
        return str(v)
    if i.kind == "list" and i.item == "num":
        return [str(x) for x in v]
    return v


def value(v: sc.Value, raw):
    """A cell as the reference has it: numbers as Decimals, lists as lists."""
    if raw is None:
        return None
    if v.kind == "num":
        return sc.to_decimal(int(raw), v.num.scale)
    if v.kind == "list":
        return [sc.to_decimal(int(x), v.num.scale) if v.item == "num" else x for x in raw]
    return raw


class _Steps(Steps):
    """The reference's cohort step, naming subjects by their input position."""

    def who(self, r: Result) -> str:
        return shown(r.record.get(self.program.key)) if self.program.key else f"#{r.record[ROW] + 1}"


def evaluate(ir, records: list[dict], engine: Engine, program: c.Program | None = None,
             numbers: list[int] | None = None):
    """(output rows, warnings) of validated records, or the reference's DataError (rows
    numbered as `numbers` says, else from 1). What the plan cannot hold exactly in 38
    digits is a DataError saying so (scaled.Unsupported names it)."""
    numbers = numbers or list(range(1, len(records) + 1))
    inputs = describe(ir, records)
    return evaluate_loaded(ir, inputs, len(records), Given(records, numbers), engine, program,
                           lambda: engine.load(inputs, records))


class Given:
    """Records held in Python (with their row numbers), as evaluate_loaded reads the
    marked ones; engine.stored gives the same for subjects loaded from a file."""

    def __init__(self, records: list[dict], numbers: list[int]):
        self.records, self.numbers = records, numbers

    def rows(self, positions: list[int] | None, names: set[str] | None = None) -> list[tuple[int, dict]]:
        if positions is None:
            return list(zip(self.numbers, self.records))
        return [(self.numbers[n], self.records[n]) for n in positions]

    def everything(self) -> tuple[list[dict], list[int]]:
        return self.records, self.numbers


def evaluate_loaded(ir, inputs: list[Input], count: int, source, engine: Engine, program: c.Program | None = None,
                    load=None):
    """(output rows, warnings) of `count` subjects described by `inputs`, in the engine's
    table of subjects (or put there by `load` once the query is known to compute them);
    `source` gives the records of the rows the reference must word (Given or stored)."""
    program = program or lower_policy(ir)
    try:
        q = query(program, tuple(inputs), engine.dialect, 1 << max(0, count - 1).bit_length())
    except sc.Unsupported as err:
        raise DataError([DataProblem(None, None, f"the SQL backends cannot compute this exactly: {err}; "
                                                 "run it with --backend python")]) from None
    if load is not None:
        load()
    engine.materialize(select(q, None))
    _row_errors(ir, program, q, source, engine, FAILS)
    warnings, problems = _cohort_messages(program, q, engine)
    if problems:
        raise CohortError(problems)
    _row_errors(ir, program, q, source, engine, LATE_FAILS)
    out = outputs(program, q)
    rows = engine.fetch(select(q, out, table=RESULT))
    return [{n: value(v, x) for (n, v), x in zip(out, row)} for row in rows], warnings


@functools.lru_cache(maxsize=64)
def query(program: c.Program, inputs: tuple[Input, ...], dialect: str, cohort_size: int):
    """The query of a program over inputs like these (cohorts up to `cohort_size`)."""
    return build(program, list(inputs), DIALECTS[dialect], cohort_size)


def _row_errors(ir, program, q: Query, source, engine: Engine, column: str) -> None:
    """The reference's errors for the rows the engine marks as possibly failing."""
    if column not in q.columns:
        return
    marked = [r[0] for r in engine.fetch(select(q, [(ROW, q.columns[ROW])], q.columns[column].node, RESULT))]
    if not marked:
        return
    from ..lower.evaluate import evaluate_cohort, individual
    if column == LATE_FAILS:  # a value after the cohort stage: the reference runs it all
        evaluate_cohort(program, ir, *source.everything())
        return
    problems = []
    with rt.localcontext(rt.CONTEXT):
        for number, record in source.rows(marked):
            try:
                individual(program, ir, record)
            except rt.EvalError as err:
                problems.append(DataProblem(number, None, str(err)))
    if problems:
        raise DataError(problems)


def _cohort_messages(program: c.Program, q: Query, engine: Engine):
    """Warnings and problems of the groups whose step says something, by the reference."""
    warnings, problems = [], []
    for i, s in enumerate(program.steps, start=1):
        says = q.columns.get(sql_cohort.says_column(s, i))
        if says is None:
            continue
        state = q.snapshots[i]
        names = list(state)
        rows = engine.fetch(select(q, [(n, state[n]) for n in names], sc.Compare("==", says.node, sc.Const(1)), RESULT))
        if not rows:
            continue
        steps = _Steps(program, [])
        p = s.ranking.partition
        groups: dict = {}
        for row in rows:
            cells = {n: value(state[n], x) for n, x in zip(names, row)}
            r = Result(None, cells, cells, [])
            r.tiers[s.tierset] = TierState(cells.pop("#index"), cells.pop("#ceiling"), cells.pop("#pinned"),
                                           cells.pop("#limit"))
            part = None if p.spec is None else cells[p.spec] if isinstance(p.spec, str) else tuple(cells[f] for f in p.spec)
            groups.setdefault(part, []).append(r)
        for part, members in groups.items():
            steps.visit(s, group_label(p.spec, part, program.language), members, group_record(p, part, len(members)))
        warnings += steps.warnings
        problems += steps.problems
    return warnings, problems
