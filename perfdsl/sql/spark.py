"""The Spark engine of the SQL backends (`pip install 'perfdsl[spark]'`, Java 17): the same
query printed in Spark SQL, run through pyspark on `master` (default local[*]).

A CSV or Parquet file is read by spark.read (a CSV file's cells all as text) and checked
in Spark SQL by perfdsl.sql.read, as on DuckDB. Records validated in Python (the rows of
another file, the few doubtful rows of a checked one) travel as text into a table and are
cast to DECIMAL(38,0) there, so no value passes through a binary float; results come back
as Python ints and Decimals of scale 0, read by engine.value like DuckDB's. One
SparkSession serves a process.
"""
from __future__ import annotations

from sqlglot import exp

from .engine import NUMBER, POSITIONS, RESULT, ROW, Engine, _cell, _text
from .query import Input

_SESSIONS: dict[str, object] = {}


def session(master: str = "local[*]"):
    """The process's SparkSession for `master` (started once: a JVM takes seconds)."""
    if master not in _SESSIONS:
        from pyspark.sql import SparkSession
        _SESSIONS[master] = (SparkSession.builder.master(master).appName("perfdsl")
                             .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
                             .config("spark.sql.shuffle.partitions", "4")
                             .config("spark.sql.ansi.enabled", "true")
                             # column names as the file and the policy spell them (`A` is not `a`)
                             .config("spark.sql.caseSensitive", "true")
                             # every cell of a CSV line parsed, so a line of too many cells is always seen
                             .config("spark.sql.csv.parser.columnPruning.enabled", "false")
                             # a query of many named steps takes more rounds to resolve than the default 100
                             .config("spark.sql.analyzer.maxIterations", "1000").getOrCreate())
        _SESSIONS[master].sparkContext.setLogLevel("ERROR")
    return _SESSIONS[master]


def _ident(name: str) -> str:
    return exp.to_identifier(name, quoted=True).sql("spark")


BAD = "#perfdsl unsplit line"  # the CSV reader's column for a line it cannot split into the header's cells
ORDER = "#perfdsl order"
_INTEGERS = ("tinyint", "smallint", "int", "bigint")


class Spark(Engine):
    dialect = "spark"

    def __init__(self, master: str = "local[*]"):
        from py4j.protocol import Py4JJavaError
        from pyspark.errors import PySparkException
        self.spark = session(master)
        self.errors = (PySparkException, Py4JJavaError)

    def load(self, inputs: list[Input], records: list[dict], table: str = "subjects",
             rows: list[int] | None = None, numbers: list[int] | None = None) -> None:
        """The records as the view `table`, numbers cast from the text of their integers; their
        positions are `rows` (else 0, 1, …), with the row numbers `numbers` if given."""
        from pyspark.sql import types as T
        text = T.StringType()
        fields = [T.StructField(ROW, T.LongType())] + ([T.StructField(NUMBER, T.LongType())] if numbers else [])
        casts = [_ident(f.name) for f in fields]
        for i in inputs:
            if i.kind == "list":
                fields.append(T.StructField(i.name, T.ArrayType(text if i.item != "bool" else T.BooleanType())))
                casts.append(f"transform({_ident(i.name)}, x -> CAST(x AS DECIMAL(38,0))) AS {_ident(i.name)}"
                             if i.item == "num" else _ident(i.name))
            else:
                fields.append(T.StructField(i.name, T.BooleanType() if i.kind == "bool" else text))
                casts.append(f"CAST({_ident(i.name)} AS DECIMAL(38,0)) AS {_ident(i.name)}" if i.kind == "num"
                             else _ident(i.name))
        at = range(len(records)) if rows is None else rows
        cells = [[n] + ([numbers[k]] if numbers else []) + [_text(i, _cell(i, r[i.name])) for i in inputs]
                 for k, (n, r) in enumerate(zip(at, records))]
        self.spark.createDataFrame(cells, T.StructType(fields)).createOrReplaceTempView("perfdsl_raw")
        self.view(table, "SELECT " + ", ".join(casts) + " FROM perfdsl_raw")

    def rows(self, sql: str) -> list[tuple]:
        return [tuple(r) for r in self.spark.sql(sql).collect()]

    def register_positions(self, positions: list[int]) -> None:
        self.spark.createDataFrame([(p,) for p in positions], "pos BIGINT").createOrReplaceTempView(POSITIONS)

    def file_rows(self, path: str, header: list[str] | None) -> str | None:
        """spark.read's records in file order (a row number over monotonically_increasing_id,
        which grows with the file's splits); a CSV file read line by line (perfdsl.sql.read
        has seen that no quoted cell holds a line break), every cell as text, a line that
        does not split into the header's cells making it the row reader's."""
        from pyspark.sql import types as T
        self.spark.catalog.refreshByPath(path)  # what Spark keeps of the file (its listing) is of now
        if header is None:
            frame = self.spark.read.parquet(path)
            names = frame.columns
        else:
            if BAD in header:
                return None
            names = header
            schema = T.StructType([T.StructField(c, T.StringType()) for c in header + [BAD]])
            frame = self.spark.read.csv(path, schema=schema, header=True, enforceSchema=True, multiLine=False,
                                        sep=",", quote='"', escape='"', encoding="UTF-8", mode="PERMISSIVE",
                                        columnNameOfCorruptRecord=BAD)
        if ORDER in names:
            return None
        frame.createOrReplaceTempView("perfdsl_read")
        columns = ", ".join(_ident(c) for c in names)
        ordered = (f"SELECT row_number() OVER (ORDER BY {_ident(ORDER)}) - 1 AS {_ident('#at')}, {columns}"
                   + (f", {_ident(BAD)}" if header is not None else "")
                   + f" FROM (SELECT *, monotonically_increasing_id() AS {_ident(ORDER)} FROM perfdsl_read)")
        if header is None:
            self.view("perfdsl_file", ordered)
            return "perfdsl_file"
        self.table("perfdsl_lines", ordered)
        # Spark refuses a query reading the corrupt-record column alone: a cell column is counted too
        if self.rows(f"SELECT count({_ident(BAD)}), count({_ident(header[0])}) FROM perfdsl_lines")[0][0]:
            return None
        self.view("perfdsl_file", f"SELECT {_ident('#at')}, {columns} FROM perfdsl_lines")
        return "perfdsl_file"

    def types(self, relation: str) -> dict[str, str]:
        return {name: _neutral(kind) for name, kind in self.spark.table(relation).dtypes[1:]}

    def table(self, name: str, sql: str) -> None:
        """The rows computed now and kept by Spark (localCheckpoint): a table read later by
        the query stays its rows, not a plan Spark may run again (a cached plan is computed
        anew when a view it reads is dropped, and is shared by any query of the same plan)."""
        self.view(name, sql)
        self.spark.table(name).localCheckpoint(eager=True).createOrReplaceTempView(name)

    def view(self, name: str, sql: str) -> None:
        self.spark.sql(sql).createOrReplaceTempView(name)

    def drop(self, name: str) -> None:
        self.spark.catalog.dropTempView(name)

    def rename(self, old: str, new: str) -> None:
        self.spark.table(old).createOrReplaceTempView(new)
        self.drop(old)

    def materialize(self, query: exp.Select) -> None:
        frame = self.spark.sql(query.sql("spark")).cache()
        frame.createOrReplaceTempView(RESULT)


def _neutral(kind: str) -> str:
    """A Spark type as Engine.types names it."""
    if kind in _INTEGERS:
        return "int"
    return {"string": "text", "boolean": "bool", "array<string>": "text[]"}.get(kind, kind)
