"""`perfdsl run --backend duckdb|spark`: a data file through a SQL backend (perfdsl.sql.run),
its output rows read back as the other backends give them, the results as the summary
reads them."""
from __future__ import annotations

from . import io
from .console import out as _out
from .run_output import flags_read as _flags_read
from .run_read import read_subjects as _read_subjects
from .run_tally import FrameRow as _FrameRow


def run_sql(policy, args, keep: tuple[str, ...]):
    """A data file through a SQL backend (perfdsl/sql): (Read, output rows, results)."""
    from .columns import name_columns
    from .sql.run import engine_for, evaluate_read, read_rows
    read = _read_subjects(policy, args.input, args.sheet, args.encoding, keep, reader=read_rows)
    try:
        rows, records = evaluate_read(policy, read, engine_for(args.backend, args.spark_master))
        if args.explain:  # the SQL engines keep no explanations: the python backend words them
            _out(f"note: explanations come from the python backend re-running the subjects ({args.backend} "
                 "computed the results)", err=True)
            explained = policy.evaluate_cohort(records, trace=True, validate=False, row_numbers=[r.number for r in read])
            for row, r in zip(rows, explained):
                row["explanation"] = r.explain()
    except io.DataError as err:
        raise name_columns(err, read.column_of) from None
    policy.last_warnings = read.warnings + policy.last_warnings
    _flags_read(rows, policy.ir)
    return read, rows, [_FrameRow(row, record) for row, record in zip(rows, records)]
