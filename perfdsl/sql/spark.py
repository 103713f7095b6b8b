"""The Spark engine of the SQL backends (`pip install 'perfdsl[spark]'`, Java 17): the same
query printed in Spark SQL, run through pyspark on `master` (default local[*]).

Numbers travel as text into the table of subjects and are cast to DECIMAL(38,0) there,
so no value passes through a binary float; results come back as Python ints and Decimals
of scale 0, read by engine.value like DuckDB's. One SparkSession serves a process.
"""
from __future__ import annotations

from sqlglot import exp

from .engine import RESULT, ROW, Engine, _cell, _text
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
                             # a query of many named steps takes more rounds to resolve than the default 100
                             .config("spark.sql.analyzer.maxIterations", "1000").getOrCreate())
        _SESSIONS[master].sparkContext.setLogLevel("ERROR")
    return _SESSIONS[master]


def _ident(name: str) -> str:
    return exp.to_identifier(name, quoted=True).sql("spark")


class Spark(Engine):
    dialect = "spark"

    def __init__(self, master: str = "local[*]"):
        self.spark = session(master)

    def load(self, inputs: list[Input], records: list[dict]) -> None:
        from pyspark.sql import types as T
        text = T.StringType()
        fields = [T.StructField(ROW, T.LongType())]
        casts = [_ident(ROW)]
        for i in inputs:
            if i.kind == "list":
                fields.append(T.StructField(i.name, T.ArrayType(text if i.item != "bool" else T.BooleanType())))
                casts.append(f"transform({_ident(i.name)}, x -> CAST(x AS DECIMAL(38,0))) AS {_ident(i.name)}"
                             if i.item == "num" else _ident(i.name))
            else:
                fields.append(T.StructField(i.name, T.BooleanType() if i.kind == "bool" else text))
                casts.append(f"CAST({_ident(i.name)} AS DECIMAL(38,0)) AS {_ident(i.name)}" if i.kind == "num"
                             else _ident(i.name))
        rows = [[n] + [_text(i, _cell(i, r[i.name])) for i in inputs] for n, r in enumerate(records)]
        frame = self.spark.createDataFrame(rows, T.StructType(fields))
        frame.createOrReplaceTempView("raw_subjects")
        self.spark.sql("SELECT " + ", ".join(casts) + " FROM raw_subjects").createOrReplaceTempView("subjects")

    def fetch(self, query: exp.Select) -> list[tuple]:
        return [tuple(r) for r in self.spark.sql(query.sql("spark")).collect()]

    def materialize(self, query: exp.Select) -> None:
        frame = self.spark.sql(query.sql("spark")).cache()
        frame.createOrReplaceTempView(RESULT)

