"""`perfdsl run --backend duckdb|spark`: a data file through the SQL backends.

DuckDB reads CSV, Parquet and JSON (an array or one object a line) itself; an .xlsx
workbook goes through perfdsl.io's reader. The rows are validated as every backend
validates them (the policy's generated check, the pydantic model wording what it
rejects, every bad row listed, nothing written), the query of perfdsl.sql computes every
value and placement on the engine, and the rows come back as the python backend gives
them, for the writers every backend shares.
"""
from __future__ import annotations

from pathlib import Path

from .. import io
from .engine import DuckDB, Engine, run

TEXT_FORMATS = {".csv", ".json", ".jsonl", ".parquet"}


def read_rows(path: str, key=None, sheet: str | None = None, encoding: str | None = None) -> io.Rows:
    """The file's records (io.read_rows' contract), read by DuckDB unless a workbook, an
    encoding named, or a file DuckDB cannot read (then perfdsl.io reads it, with its notes)."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in TEXT_FORMATS or sheet is not None or encoding is not None:
        return io.read_rows(path, key=key, sheet=sheet, encoding=encoding)
    import duckdb
    con = duckdb.connect()
    reader = {".csv": "read_csv", ".parquet": "read_parquet", ".json": "read_json", ".jsonl": "read_json"}[suffix]
    options = {".csv": ", all_varchar = true, header = true", ".jsonl": ", format = 'newline_delimited'",
               ".json": ", format = 'array'", ".parquet": ""}[suffix]
    try:
        rel = con.sql(f"SELECT * FROM {reader}(?{options})", params=[str(p)])
        columns, data = rel.columns, rel.fetchall()
    except duckdb.Error:
        if suffix == ".parquet":
            raise io.DataError([io.DataProblem(None, None, f"{p.name}: not a Parquet file DuckDB can read")]) from None
        return io.read_rows(path, key=key, sheet=sheet, encoding=encoding)
    first = 2 if suffix == ".csv" else 1  # a CSV file's header is row 1
    if suffix == ".csv":  # a CSV cell is text: an empty one is "", as perfdsl.io reads it, not NULL
        rows = [io.RawRow(n, {c: "" if v is None else v for c, v in zip(columns, row)})
                for n, row in enumerate(data, start=first)]
    else:
        rows = [io.RawRow(n, {c: v for c, v in zip(columns, row) if v is not None})
                for n, row in enumerate(data, start=first)]
    return io.Rows(rows, list(columns), table=suffix in (".csv", ".parquet"))


def engine_for(backend: str, master: str | None = None) -> Engine:
    if backend == "spark":
        from .spark import Spark
        return Spark(master or "local[*]")
    return DuckDB()


def evaluate_read(policy, read, engine: Engine):
    """(the run on the engine (engine.Ran), validated records) of the rows read; DataError
    names every bad row."""
    numbers = [r.number for r in read]
    good, problems, unknown = policy._validator.many(list(zip(numbers, [r.values for r in read])), policy._check)
    if problems:
        raise io.DataError(problems)
    ran = run(policy.ir, good, engine, numbers=numbers)
    policy.last_warnings = [str(w) for w in unknown] + ran.warnings
    return ran, good
