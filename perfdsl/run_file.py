"""`perfdsl run`: a data file through the chosen backend into the output file, with the
run's summary. A checked polars table where the file reads as one (perfdsl.run_frame),
else the row way: every subject a Python record through the python, reference or
columnar backend; or the file through a SQL engine (perfdsl.run_sql)."""
from __future__ import annotations

from . import io
from .cohort_counts import Columns
from .console import out
from .kept import check_keep, copy_kept
from .run_output import file_layout, frame_rows, groups_listed, write_trace
from .run_read import read_and_evaluate, read_subjects
from .run_sql import run_sql
from .run_tally import FrameRow


def run_file(policy, args, plan, keep: tuple[str, ...]):
    """Run `args.input` (the `run` command's options) into `args.output` as `plan` lays it
    out: (summary, subjects, notes of the writer)."""
    from .run_frame import read_table, run_frame
    check_keep(keep, policy.ir)
    table = None
    if args.backend in ("auto", "columnar") and not (args.explain or args.trace):
        table = read_table(policy, args.input, keep)
    if table is not None:
        return run_frame(policy, table, args, plan, keep)
    return run_rows(policy, args, plan, keep)


def run_rows(policy, args, plan, keep):
    """A run the row way: every subject as a Python record through the chosen backend
    (the python backend also for `auto`), written by perfdsl.io. (summary, subjects, notes)"""
    from . import summary
    if args.backend in ("duckdb", "spark"):
        return run_sql(policy, args, plan, keep)
    recorder = None
    if args.backend == "columnar":
        read, rows = evaluate_table(policy, args.input, args.sheet, args.encoding, keep)
        ir = policy.ir
        records = policy.validate([r.values for r in read]) if ir.quotas or ir.distributes else [{}] * len(rows)
        results = [FrameRow(row, record) for row, record in zip(rows, records)]
    else:
        recorder = policy.backend = summary.Recorder(policy.backend)
        read, results = read_and_evaluate(policy, args.input, trace=args.explain or bool(args.trace),
                                          sheet=args.sheet, encoding=args.encoding, keep=keep)
        rows = [r.as_row() | {"flags": io.Flags(r.flags)} | ({"explanation": r.explain()} if args.explain else {})
                for r in results]
    copy_kept(rows, read, keep)
    columns = recorder.columns(policy.ir, results) if recorder else Columns.of_results(policy.ir, results)
    done = summary.summarize(policy.ir, columns, policy.last_warnings, plan.language,
                             groups_listed(args))
    notes = io.write_rows(args.output, plan.columns, rows, file_layout(plan, args, done))
    if args.trace:
        write_trace(args.trace, results)
    return done, len(rows), notes


def evaluate_table(policy, data: str, sheet: str | None = None, encoding: str | None = None,
                   keep: tuple[str, ...] = ()):
    """A data file through the columnar backend, validated row by row as evaluate_cohort does:
    (Read, output rows)."""
    import warnings

    from .columnar import ColumnarFallback, frame_from_raw
    from .columns import name_columns
    read = read_subjects(policy, data, sheet, encoding, keep)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ColumnarFallback)
        try:
            frame = policy.evaluate_table(frame_from_raw(policy.ir, [r.values for r in read]),
                                          row_numbers=[r.number for r in read])
        except io.DataError as err:
            raise name_columns(err, read.column_of) from None
    policy.last_warnings = read.warnings + policy.last_warnings
    for w in caught:
        if issubclass(w.category, ColumnarFallback):
            out(f"note: {io.terminal_text(str(w.message))}", err=True)
    return read, frame_rows(frame, policy.ir)
