"""Running the printed query on an engine, and what the engine's rows mean.

`evaluate(policy, records, engine)` is the SQL backends' `evaluate_cohort`: validated
records in, output rows (§11, as Result.as_row gives them) and the cohort's warnings out,
or the DataError the reference gives. The engine computes every value and placement; the
few rows and groups it marks are worded by the reference's own code, so every message is
the reference's, word for word:

* a row whose `#fails` holds (a division by zero, a missing list position …) is run
  through the reference's individual stage, which names its error (or finds none: the
  mark is a may, not a must);
* a group whose cohort step `?says` something is run through that step of the reference
  (perfdsl.lower.steps) on its members as the engine had them before the step.
"""
from __future__ import annotations

import functools
import os
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
from .dialect import DIALECTS
from .printer import Query
from .query import FAILS, LATE_FAILS, ROW, Input, build, decimal, outputs, select
from .values import col

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
    """One engine connection: load a table of subjects, run a query, fetch rows; and for
    perfdsl.sql.read, which checks a file in the engine: SQL text run as rows, tables and
    views, and the file as a relation (file_rows, types)."""
    dialect = "duckdb"
    shown_in_sql = False  # output numbers come as exact DECIMALs (else as integers, engine.value reads them)
    # a sure Parquet file's subjects are a view over it (perfdsl.sql.read._sure), re-read by
    # each query, rather than a table made once: what suits the engine
    reads_in_place = False
    errors: tuple = ()  # what the engine raises for a file or cell it cannot read

    def load(self, inputs: list[Input], records: list[dict], table: str = "subjects",
             rows: list[int] | None = None, numbers: list[int] | None = None) -> None:
        raise NotImplementedError

    def load_file(self, ir, path: str, keep: tuple[str, ...] = ()):
        """A CSV or Parquet file checked into the table of subjects in the engine
        (perfdsl.sql.read): its read.Loaded, or None when the row reader must read it."""
        from .read import load_file
        return load_file(ir, path, self, keep)

    def stored(self, inputs: list[Input]):
        """The records of the loaded subjects, fetched where the reference words something."""
        from .read import Stored
        return Stored(self, inputs)

    def fetch(self, query: exp.Select) -> list[tuple]:
        return self.rows(query.sql(self.dialect))

    def fetch_at(self, query: exp.Select, positions: list[int]) -> list[tuple]:
        """The query's rows, where it reads the table positions_table() as the positions."""
        self.register_positions(positions)
        return self.fetch(query)

    def materialize(self, query: exp.Select) -> None:
        """Run the query once into the table RESULT, which the later reads select from."""
        raise NotImplementedError

    def rows(self, sql: str) -> list[tuple]:
        raise NotImplementedError

    def register_positions(self, positions: list[int]) -> None:
        """The positions as the one-column table POSITIONS (`pos`)."""
        raise NotImplementedError

    def file_rows(self, path: str, header: list[str] | None) -> str | None:
        """The file (a CSV file, every cell as text, with this header; else Parquet) as a
        relation for FROM: `#at`, each record's 0-based position in the file, then the
        file's columns; None where the engine does not read it as perfdsl.io does."""
        raise NotImplementedError

    def types(self, relation: str) -> dict[str, str]:
        """The file's columns (after `#at`) and their types: text, int, decimal(p,s), bool,
        text[], else the engine's own name (which no check takes as sure)."""
        raise NotImplementedError

    def table(self, name: str, sql: str) -> None:
        """The query's rows, computed now, as the temporary table `name`."""
        raise NotImplementedError

    def view(self, name: str, sql: str) -> None:
        raise NotImplementedError

    def drop(self, name: str) -> None:
        raise NotImplementedError

    def rename(self, old: str, new: str) -> None:
        raise NotImplementedError


RESULT = "perfdsl_result"
MEMORY_LIMIT = "PERFDSL_DUCKDB_MEMORY"  # the environment variable bounding DuckDB's memory


class DuckDB(Engine):
    dialect = "duckdb"
    shown_in_sql = True
    reads_in_place = True  # re-reading Parquet beats a copy spilled to disk (read._sure measures it)

    def __init__(self, con=None):
        import duckdb
        self.con = con if con is not None else duckdb.connect()
        self.errors = (duckdb.Error,)
        if con is None:  # spill beside the system's temporary files (TMPDIR), not into the working
            # directory (DuckDB's `.tmp`); DuckDB makes the directory when it first spills and removes it on close
            import tempfile
            import uuid
            spill = os.path.join(tempfile.gettempdir(), f"perfdsl-duckdb-{uuid.uuid4().hex}")
            self.con.execute("SET temp_directory = ?", [spill])
        if con is None and os.environ.get(MEMORY_LIMIT):  # e.g. 5GB: DuckDB spills past it to disk
            try:
                self.con.execute("SET memory_limit = ?", [os.environ[MEMORY_LIMIT]])
            except duckdb.Error:
                raise DataError([DataProblem(None, None, f"{MEMORY_LIMIT}={os.environ[MEMORY_LIMIT]!r}: "
                                                         "not an amount of memory DuckDB reads (e.g. 5GB)")]) from None

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

    def rows(self, sql: str) -> list[tuple]:
        return self.con.execute(sql).fetchall()

    def register_positions(self, positions: list[int]) -> None:
        register_positions(self.con, positions)

    def file_rows(self, path: str, header: list[str] | None) -> str | None:
        import csv
        lit = _lit
        if header is None:
            return (f"(SELECT file_row_number AS {_ident('#at')}, * EXCLUDE (file_row_number) "
                    f"FROM read_parquet({lit(path)}, file_row_number = true))")
        reader = (f"read_csv({lit(path)}, all_varchar = true, header = true, delim = ',', quote = '\"', "
                  "escape = '\"', strict_mode = true, null_padding = false, auto_detect = false, "
                  f"max_line_size = {csv.field_size_limit()}, "
                  "columns = {" + ", ".join(f"{lit(c)}: 'VARCHAR'" for c in header) + "})")
        return f"(SELECT row_number() OVER () - 1 AS {_ident('#at')}, * FROM {reader})"

    def types(self, relation: str) -> dict[str, str]:
        described = self.con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()[1:]
        return {name: _neutral(kind) for name, kind, *_ in described}

    def table(self, name: str, sql: str) -> None:
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {_ident(name)} AS {sql}")

    def view(self, name: str, sql: str) -> None:
        self.con.execute(f"CREATE OR REPLACE TEMP VIEW {_ident(name)} AS {sql}")

    def drop(self, name: str) -> None:
        self.con.execute(f"DROP TABLE IF EXISTS {_ident(name)}")

    def rename(self, old: str, new: str) -> None:
        self.con.execute(f"ALTER TABLE {_ident(old)} RENAME TO {_ident(new)}")

    def materialize(self, query: exp.Select) -> None:
        """The result in input order (the query's ORDER BY): row i is at rowid i."""
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {_ident(RESULT)} AS " + query.sql("duckdb"))

    def frame(self, query: exp.Select):
        """The query's rows as one polars frame (through Arrow, no Python values)."""
        import polars as pl
        return pl.DataFrame(self.con.sql(query.sql("duckdb")))

    def frames(self, query: exp.Select, n: int, size: int):
        """The result's rows as polars frames of `size` rows (through Arrow, no Python values):
        a range of rowids each, which DuckDB reads without scanning the rest."""
        import polars as pl
        query = query.copy()
        query.set("order", None)
        for start in range(0, max(n, 1), size):
            where = f"rowid >= {start} AND rowid < {start + size}" if n else "FALSE"
            yield pl.DataFrame(self.con.sql(query.sql("duckdb") + " WHERE " + where))


POSITIONS = "perfdsl_positions"


def register_positions(con, positions: list[int]) -> None:
    """The positions as the one-column table POSITIONS of the connection (a semi-join on it
    stays one hash join however many positions are asked, where an IN list would not)."""
    import tempfile

    import polars as pl
    with tempfile.TemporaryDirectory() as tmp:  # through a file: a Python list parameter costs µs an item
        path = f"{tmp}/positions.parquet"
        pl.DataFrame({"pos": positions}, schema={"pos": pl.Int64}).write_parquet(path)
        con.execute(f"CREATE OR REPLACE TEMP TABLE {_ident(POSITIONS)} AS SELECT pos FROM read_parquet(?)", [path])


def positions_table() -> exp.Subquery:
    return exp.select("pos").from_(exp.to_identifier(POSITIONS, quoted=True)).subquery()


def _ident(name: str) -> str:
    return exp.to_identifier(name, quoted=True).sql("duckdb")


def _lit(text: str) -> str:
    return exp.Literal.string(text).sql("duckdb")


_INTEGERS = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT")


def _neutral(kind: str) -> str:
    """A DuckDB type as Engine.types names it."""
    if kind in _INTEGERS:
        return "int"
    if kind.startswith("DECIMAL("):
        return kind.lower().replace(" ", "")
    return {"VARCHAR": "text", "BOOLEAN": "bool", "VARCHAR[]": "text[]"}.get(kind, kind)


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
    ran = run(ir, records, engine, program, numbers)
    return ran.rows(), ran.warnings


def run(ir, records: list[dict], engine: Engine, program: c.Program | None = None,
        numbers: list[int] | None = None) -> Ran:
    """The validated records loaded into the engine and the policy's query run on them
    (rows numbered as `numbers` says, else from 1)."""
    numbers = numbers or list(range(1, len(records) + 1))
    inputs = describe(ir, records)
    return run_loaded(ir, inputs, len(records), Given(records, numbers), engine, program,
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


def run_loaded(ir, inputs: list[Input], n: int, source, engine: Engine, program: c.Program | None = None,
               load=None, kept: dict[str, str] | None = None) -> Ran:
    """The policy's query on the n subjects described by `inputs`, in the engine's table of
    subjects (or put there by `load` once the query is known to compute them), its result
    kept in the engine (Ran); the reference's DataError or CohortError where a row or group
    fails, worded from `source` (Given, or engine.stored for subjects loaded from a file).
    `kept`: each --keep column -> its column of the table of subjects, carried to the result
    table for frames() and write_parquet() to write after the outputs."""
    program = program or lower_policy(ir)
    kept = kept or {}
    try:
        q = query(program, tuple(inputs), engine.dialect, 1 << max(0, n - 1).bit_length(), tuple(kept.values()))
    except sc.Unsupported as err:
        raise DataError([DataProblem(None, None, f"the SQL backends cannot compute this exactly: {err}; "
                                                 "run it with --backend python")]) from None
    if load is not None:
        load()
    ran = Ran(engine, program, q, n, kept)
    engine.materialize(select(q, ran.result_columns()))
    _row_errors(ir, program, q, source, engine, FAILS)
    warnings, problems = _cohort_messages(program, q, engine)
    if problems:
        raise CohortError(problems)
    _row_errors(ir, program, q, source, engine, LATE_FAILS)
    ran.warnings = warnings
    return ran


BATCH = 1 << 20  # output rows handed to the writers at a time


class Ran:
    """A query run on an engine, the table RESULT holding, in input order, only the plan's
    columns read after it: those the outputs are computed from (as scaled integers, a
    tier set as its position: narrower than the DECIMALs and names they are read as), the
    fail marks, each cohort step's `?says` and the parts it groups by (what else its
    snapshot holds is computed again where it is read), and each tier set's position
    before the cohort stage (`#before k`)."""

    def __init__(self, engine: Engine, program: c.Program, q: Query, n: int, kept: dict[str, str] | None = None):
        self.engine, self.q, self.n, self.warnings = engine, q, n, []
        self.kept_columns = kept or {}  # --keep column -> its column in the result table
        self.out = outputs(program, q)
        self.shown = [decimal(q, v) if engine.shown_in_sql else None for _, v in self.out]

    def result_columns(self) -> list[tuple[str, object]]:
        """The columns of the table RESULT (see the class)."""
        q = self.q
        cols = [(ROW, q.columns[ROW])]
        read = [v.node for _, v in self.out]  # the outputs as plan columns: a tier's position, not its name
        read += [q.columns[n].node for n in (FAILS, LATE_FAILS) if n in q.columns]
        read += [q.columns[name].node for name in q.says.values()]
        read += [v.node for state in q.snapshots.values() for v in state.parts]
        read += [q.columns[ts].node for ts in q.tier_index]  # the final tiers, for the summary
        cols += [(name, sc.Value(sc.Column(name), "int")) for name in sorted(_columns(read)) if name != ROW]
        cols += [(f"#before {k}", v) for k, v in enumerate(self.q.before.values())]
        cols += [(c, sc.Value(sc.Column(c), "text")) for c in self.kept_columns.values()]
        return cols

    def cell(self, k: int) -> exp.Expression:
        """Output k as read from the result table: computed there from the plan's columns
        it keeps (an exact DECIMAL where the engine makes one, `shown_in_sql`)."""
        shown = self.shown[k]
        return shown.copy() if shown is not None else self.q.sql(self.out[k][1].node)

    def _out(self) -> list[tuple[str, exp.Expression]]:
        return [(n, self.cell(k)) for k, (n, _) in enumerate(self.out)]

    def rows_at(self, positions: list[int]) -> list[dict]:
        """The output rows at these positions (0-based, input order) of a run that frames()
        reads, in the order asked: one query for them all (the summary reads each group's
        first member, and a large cohort has millions of groups)."""
        query = _from_result([("#at", col(ROW))] + self._out(), exp.In(this=col(ROW), query=positions_table()))
        by = {r[0]: {n: x for (n, _), x in zip(self.out, r[1:])} for r in self.engine.fetch_at(query, positions)}
        return [by[i] for i in positions]

    def summary_frame(self, fields: list[str]):
        """For perfdsl.summary (cohort_counts.Columns), a run that frames() reads, counted in
        the engine: a row per distinct combination of each tier set's final tier, the group
        `fields` as the records hold them and each tier set's position before the cohort
        stage (`NAME~before`), with the subjects it stands for (`~w`) and the first of them
        (`~row`), so that 100M subjects come over as a few rows."""
        import polars as pl
        q, cols = self.q, []
        for ts in q.tier_index:
            cols.append((ts, q.sql(q.columns[ts].node)))
        for f in fields:
            v = q.columns[f]
            cols.append((f, q.sql(v.node) if decimal(q, v) is None else decimal(q, v)))
        cols += [(f"{ts}~before", col(f"#before {k}")) for k, ts in enumerate(q.before)]
        select = _from_result(cols + [("~w", exp.Count(this=exp.Star())), ("~row", exp.Min(this=col(ROW)))])
        select.set("order", None)
        if cols:
            select.set("group", exp.Group(expressions=[exp.Literal.number(k + 1) for k in range(len(cols))]))
        frame = self.engine.frame(select)
        return frame.filter(pl.col("~w") > 0) if not cols else frame  # no subjects: COUNT(*) of none is a row

    def group_counts(self, groups: list) -> dict:
        """How many groups each of `groups` (a field, or a tuple of fields) makes, counted
        in the engine (for a summary that lists no groups, their fields stay there)."""
        q = self.q
        def distinct(g) -> exp.Expression:
            fields = [g] if isinstance(g, str) else list(g)
            keys = [q.sql(q.columns[f].node) for f in fields]
            return exp.Count(this=exp.Distinct(expressions=[keys[0] if len(keys) == 1 else exp.Tuple(expressions=keys)]))
        if not groups:
            return {}
        select = _from_result([(f"g{k}", distinct(g)) for k, g in enumerate(groups)])
        select.set("order", None)
        return dict(zip(groups, self.engine.fetch(select)[0]))

    def _converted(self, k: int, raw):
        return raw if self.shown[k] is not None else value(self.out[k][1], raw)

    def rows(self) -> list[dict]:
        """The output rows as the reference's Result.as_row gives them (numbers as Decimals)."""
        names = [n for n, _ in self.out]
        fetched = self.engine.fetch(_from_result(self._out()))
        return [{n: self._converted(k, x) for k, (n, x) in enumerate(zip(names, row))} for row in fetched]

    def frames(self, size: int | None = None):
        """The output rows as polars frames of at most `size` rows, in input order, numbers
        as Decimal columns: None where the engine does not give them so (Spark, or a number
        of more than 38 decimals), then read rows()."""
        if not self.engine.shown_in_sql or any(e is None and v.num is not None for e, (_, v) in zip(self.shown, self.out)):
            return None
        kept = [(k, col(c)) for k, c in self.kept_columns.items()]
        return self.engine.frames(_from_result(self._out() + kept), self.n, size or BATCH)

    def write_parquet(self, path: str, columns: list[str], layout, labels: list[str]) -> list[str] | None:
        """The output columns written to Parquet by the engine itself (DuckDB; see
        sql.parquet_out): the writer's notes, or None, nothing written, where frames() must."""
        from .parquet_out import copy_parquet, parquet_columns
        if not isinstance(self.engine, DuckDB):
            return None
        cells = parquet_columns(self, columns, layout, labels)
        if cells is None:
            return None
        copy_parquet(self.engine.con, _result(), cells, path)
        return layout.notes

    def individual_tiers(self) -> dict[str, list[int]]:
        """Each tier set's position (0 = best) before the cohort stage, per subject in input
        order: what summary.Recorder notes on the python backend (empty: no cohort stage)."""
        if not self.q.before:
            return {}
        rows = self.engine.fetch(_from_result([(ts, col(f"#before {k}")) for k, ts in enumerate(self.q.before)]))
        return {ts: [int(r[k]) for r in rows] for k, ts in enumerate(self.q.before)}


def _result() -> exp.Table:
    return exp.Table(this=exp.to_identifier(RESULT, quoted=True))


def _from_result(columns: list[tuple[str, exp.Expression]], where: exp.Expression | None = None) -> exp.Select:
    out = exp.Select(expressions=[exp.alias_(e, exp.to_identifier(n, quoted=True), copy=False) for n, e in columns])
    out.set("from_", exp.From(this=_result()))
    if where is not None:
        out.set("where", exp.Where(this=where))
    out.set("order", exp.Order(expressions=[exp.Ordered(this=col(ROW))]))
    return out


def _columns(nodes) -> set[str]:
    """The names of the columns the plan nodes read."""
    out, todo, seen = set(), list(nodes), set()
    while todo:
        node = todo.pop()
        if isinstance(node, tuple):
            todo.extend(node)
        elif hasattr(node, "__dataclass_fields__") and id(node) not in seen:
            seen.add(id(node))
            if isinstance(node, sc.Column):
                out.add(node.name)
            else:
                todo.extend(getattr(node, f) for f in node.__dataclass_fields__)
    return out


@functools.lru_cache(maxsize=64)
def query(program: c.Program, inputs: tuple[Input, ...], dialect: str, cohort_size: int, kept: tuple[str, ...] = ()):
    """The query of a program over inputs like these (cohorts up to `cohort_size`), the
    table's `kept` columns carried along."""
    return sc.planned(build, program, list(inputs), DIALECTS[dialect], cohort_size, "subjects", kept)


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
        says = q.sql(q.columns[q.says[i]].node)
        if not engine.fetch(exp.select("1").from_(_result()).where(says).limit(1)):  # the usual case
            continue
        state = q.snapshots[i]
        names = list(state.values)
        rows = engine.fetch(_snapshot_rows(q, state, says))
        steps = _Steps(program, [])
        p = s.ranking.partition
        groups: dict = {}
        for row in rows:
            cells = {n: value(state.values[n], x) for n, x in zip(names, row)}
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


def _snapshot_rows(q: Query, state, says: exp.Expression) -> exp.Select:
    """The snapshot's values of the members of the groups whose step says something: the
    query's steps before the step, joined to those groups' parts in the result table (one
    group, the whole cohort, where the step has no parts)."""
    names = list(state.values)
    parts = [(f"#part {k}", v) for k, v in enumerate(state.parts)]
    inner = select(q, [(n, state.values[n]) for n in names] + parts, steps=state.steps)
    ctes = inner.args.get("with_")
    inner.set("with_", None)
    inner.set("order", None)
    out = exp.select(*[exp.column(n, table="s", quoted=True) for n in names]).from_(inner.subquery("s"))
    if parts:
        said = exp.select(*[exp.alias_(q.sql(v.node), exp.to_identifier(n, quoted=True)) for n, v in parts]).distinct()
        said = said.from_(_result()).where(says.copy())
        on = [exp.NullSafeEQ(this=exp.column(n, table="s", quoted=True), expression=exp.column(n, table="g", quoted=True))
              for n, _ in parts]
        out = out.join(said.subquery("g"), on=exp.and_(*on))
    out = out.order_by(exp.column(ROW, table="s", quoted=True))
    out.set("with_", ctes)
    return out
