"""`perfdsl run` on a checked polars table (perfdsl.frame_io): the columnar backend where
it runs the policy as columns throughout, else the python backend on the table's
validated records, written by polars where it writes exactly as perfdsl.io."""
from __future__ import annotations

from . import io
from .console import out, progress
from .kept import check_kept, with_kept
from .run_output import file_layout, frame_rows, groups_listed
from .run_tally import cohort_columns


def read_table(policy, data: str, keep: tuple[str, ...]):
    """The file as a checked polars table (perfdsl.frame_io), or None to read it the row way."""
    from . import frame_io
    return frame_io.read_table(policy.ir, data, keep=keep)


def run_frame(policy, table, args, plan, keep):
    """A run of a checked table: on the columnar backend where it runs every step as columns
    (`auto` tries a few rows first and takes the python backend where it would not),
    written by polars where it writes exactly as perfdsl.io. (summary, subjects, notes)"""
    import warnings
    from . import frame_io, summary
    from .columnar import ColumnarFallback, run_table
    from .columns import name_columns
    ir = policy.ir
    if args.backend == "auto" and not _columnar_exact(ir, table):
        return _run_records(policy, table, args, plan, keep)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ColumnarFallback)  # said below, as a note
        try:
            result = run_table(ir, table.frame, validate=False, row_numbers=table.numbers)
        except io.DataError as err:
            raise name_columns(err, table.column_of) from None
    policy.last_warnings = table.warnings + result.warnings
    for why in result.fallbacks:
        out(f"note: {io.terminal_text(f'columnar backend, policy {ir.name}: evaluated per row in Python: {why}')}",
            err=True)
    frame = result.frame
    if keep:
        frame = with_kept(frame, table, keep)
    shown = not args.quiet or args.output.lower().endswith(".xlsx")
    results = cohort_columns(ir, frame, table, result, shown and bool(ir.quotas or ir.distributes))
    done = summary.summarize(ir, results, policy.last_warnings, plan.language,
                             groups_listed(args))
    layout = file_layout(plan, args, done)
    notes = frame_io.write_frame(args.output, frame, plan.columns, layout, [f.label for f in ir.flags])
    if notes is None:
        notes = io.write_rows(args.output, plan.columns, frame_rows(frame, ir), layout)
    return done, frame.height, notes


def _columnar_exact(ir, table) -> bool:
    """Whether the columnar backend runs this policy on this table as columns throughout:
    tried on its first rows (a construct it runs per row in Python says so there too)."""
    from .cohort import CohortError
    from .columnar import run_table
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return not run_table(ir, table.frame.head(64), validate=False).fallbacks
        except (io.DataError, CohortError):
            return True  # the sample cannot be placed or computed; the whole table may; the run says
        except Exception:  # noqa: BLE001 — anything else: the python backend, which words every error
            return False


def _run_records(policy, table, args, plan, keep):
    """A checked table through the python backend (records already validated)."""
    from . import frame_io, summary
    from .columns import name_columns
    recorder = policy.backend = summary.Recorder(policy.backend)
    try:
        results = policy.evaluate_cohort(frame_io.records(policy.ir, table.frame), trace=False, validate=False,
                                         row_numbers=table.numbers, progress=progress)
    except io.DataError as err:
        raise name_columns(err, table.column_of) from None
    policy.last_warnings = table.warnings + policy.last_warnings
    check_kept(table, keep)
    done = summary.summarize(policy.ir, recorder.columns(policy.ir, results), policy.last_warnings, plan.language,
                             groups_listed(args))
    layout = file_layout(plan, args, done)
    labels = [f.label for f in policy.ir.flags]
    frame = frame_io.results_frame(policy.ir, results, {k: table.kept[k] for k in keep}, args.output, layout)
    notes = frame_io.write_frame(args.output, frame, plan.columns, layout, labels) if frame is not None else None
    if notes is None:
        rows = [r.as_row() | {"flags": io.Flags(r.flags)} for r in results]
        for k, values in ((k, table.kept[k].to_list()) for k in keep):
            for row, v in zip(rows, values):
                row.setdefault(k, v)
        notes = io.write_rows(args.output, plan.columns, rows, layout)
    return done, len(results), notes
