"""`perfdsl run --backend duckdb|spark`: a data file through a SQL backend (perfdsl.sql.run),
its output rows read back as the other backends give them, the results as the summary
reads them."""
from __future__ import annotations

from . import io
from .console import out
from .run_output import flags_read
from .run_read import Read, read_subjects
from .run_tally import FrameRow


def run_sql(policy, args, keep: tuple[str, ...]):
    """A data file through a SQL backend (perfdsl/sql): (Read, output rows, results). The
    engine reads and checks the file where it can (Engine.load_file), else perfdsl.io."""
    from .columns import name_columns
    from .sql.run import engine_for, evaluate_file, evaluate_read, summary_records
    engine = engine_for(args.backend, args.spark_master)
    loaded = engine.load_file(policy.ir, args.input, keep) if args.sheet is None and args.encoding is None else None
    if loaded is not None:
        read = Read([], io.Rows(loaded.kept, loaded.columns, table=True), loaded.column_of, [], loaded.warnings)
    else:
        read = read_subjects(policy, args.input, args.sheet, args.encoding, keep)
    try:
        rows, source = evaluate_file(policy, loaded, engine) if loaded is not None else evaluate_read(policy, read, engine)
        if args.explain:  # the SQL engines keep no explanations: the python backend words them
            out(f"note: explanations come from the python backend re-running the subjects ({args.backend} "
                "computed the results)", err=True)
            records, numbers = source.everything()
            explained = policy.evaluate_cohort(records, trace=True, validate=False, row_numbers=numbers)
            for row, r in zip(rows, explained):
                row["explanation"] = r.explain()
    except io.DataError as err:
        raise name_columns(err, read.column_of) from None
    policy.last_warnings = read.warnings + policy.last_warnings
    flags_read(rows, policy.ir)
    return read, rows, [FrameRow(row, record) for row, record in zip(rows, summary_records(policy.ir, source, len(rows)))]
