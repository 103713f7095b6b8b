"""`perfdsl run --backend duckdb|spark`: a data file through the SQL backends.

A CSV or Parquet file is read, validated and loaded by the engine itself (perfdsl.sql.read:
only rows a column test doubts pass through the Python validator). Any other file (JSON,
an .xlsx workbook, an encoding named, a CSV file the engine would not read as perfdsl.io
does) is read by perfdsl.io and validated row by row as every backend validates it (the
policy's generated check, the pydantic model wording what it rejects), then loaded.
Either way every bad row is listed with its field and nothing is written; the query of
perfdsl.sql computes every value and placement on the engine, and the rows come back as
the python backend gives them, for the writers every backend shares.
"""
from __future__ import annotations

from .. import io
from ..ir import group_fields
from .engine import Engine, Given, Ran, describe, run_loaded


def engine_for(backend: str, master: str | None = None) -> Engine:
    if backend == "spark":
        from .spark import Spark
        return Spark(master or "local[*]")
    from .engine import DuckDB
    return DuckDB()


def evaluate_file(policy, loaded, engine: Engine, carry_kept: bool = False) -> tuple[Ran, object]:
    """(the run on the engine, the subjects' record source) of a file the engine loaded
    (Engine.load_file); `carry_kept`: its --keep columns carried to the result table."""
    source = engine.stored(loaded.inputs)
    ran = run_loaded(policy.ir, loaded.inputs, loaded.count, source, engine, kept=loaded.kept if carry_kept else None)
    policy.last_warnings = ran.warnings
    return ran, source


def evaluate_read(policy, read, engine: Engine):
    """(the run on the engine, the records' source) of the rows read; DataError names every bad row."""
    numbers = [r.number for r in read]
    good, problems, unknown = policy._validator.many(list(zip(numbers, [r.values for r in read])), policy._check)
    if problems:
        raise io.DataError(problems)
    inputs = describe(policy.ir, good)
    source = Given(good, numbers)
    ran = run_loaded(policy.ir, inputs, len(good), source, engine, load=lambda: engine.load(inputs, good))
    policy.last_warnings = [str(w) for w in unknown] + ran.warnings
    return ran, source


def summary_records(ir, source, count: int) -> list[dict]:
    """What the run summary reads of each subject's record: the fields its cohort rules
    group by and their `when`s read (nothing without cohort rules), fetched only then."""
    names = {f for rule in (*ir.quotas, *ir.distributes) for f in group_fields(rule.group)}
    names |= {f for d in ir.distributes for f in d.when_fields}
    if not names:
        return [{}] * count
    return [r for _, r in source.rows(None, names)]
