"""`perfdsl run --backend duckdb|spark`: a data file through a SQL backend (perfdsl.sql.run)
into the output file. The engine reads and checks the file where it can (Engine.load_file),
else perfdsl.io reads it; DuckDB writes a Parquet output itself (sql.parquet_out), other
outputs are streamed from the engine to polars' writers in batches where the engine and
the format allow (a run at 100M subjects never holds its rows in Python), else read back
as the other backends' rows for perfdsl.io's writers.

`--keep` streams too where the engine read the file and every kept column is text
(perfdsl.sql.read.Loaded.kept_text): the cells ride through the query to the result
table beside the outputs. Elsewhere the row path fetches them: Spark (whose results are
read as rows anyway), a file perfdsl.io reads, a Parquet input's typed kept column
(perfdsl.io words its numbers, dates and lists, and types a Parquet output's column by
its Python values), --explain and --trace."""
from __future__ import annotations

from . import io
from .cohort_counts import Columns, grouped_by
from .console import out
from .ir import group_fields
from .kept import copy_kept, no_such_columns
from .run_output import file_layout, flags_read, groups_listed, write_trace
from .run_read import Read, read_subjects
from .run_tally import FrameRow


def run_sql(policy, args, plan, keep: tuple[str, ...]):
    """Run `args.input` on the SQL engine `args.backend` into `args.output`:
    (summary, subjects, notes of the writer). The engine failing (out of memory, its
    disk full while it spills) is said in a line, nothing written, like bad data."""
    from .sql.run import engine_for
    engine = engine_for(args.backend, args.spark_master)
    try:
        read, ran, source, loaded = _run(policy, args, keep, engine)
        if not (args.explain or args.trace) and (not keep or ran.kept_columns):
            streamed = _write_frames(policy, args, plan, ran, source)
            if streamed is not None:
                return streamed
        if loaded is not None:
            read.raw.extend(loaded.kept_rows(engine))
        return _write_rows(policy, args, plan, keep, read, ran, source)
    except engine.errors as err:
        raise io.DataError([io.DataProblem(None, None, _engine_failed(args.backend, err))]) from None


def _engine_failed(backend: str, err: Exception) -> str:
    """The engine's first line, with what to do where it ran out of memory."""
    from .sql.engine import MEMORY_LIMIT
    said = (str(err).strip().splitlines() or [type(err).__name__])[0]
    if "memory" in said.lower() and backend == "duckdb":
        return (f"DuckDB ran out of memory ({said}); set {MEMORY_LIMIT} (e.g. {MEMORY_LIMIT}=4GB) below the "
                "memory this machine has free: DuckDB then spills to disk")
    return f"the {backend} engine failed: {said}"


def _run(policy, args, keep: tuple[str, ...], engine):
    """(Read, the run on `engine` (sql.engine.Ran), the subjects' record source, the file
    as the engine loaded it or None). A file the engine loaded has its --keep cells in the
    engine, carried to the result where the output may be streamed (else the row path
    fetches them: read.raw is filled then)."""
    from .columns import name_columns
    from .sql.run import evaluate_file, evaluate_read
    loaded = engine.load_file(policy.ir, args.input, keep) if args.sheet is None and args.encoding is None else None
    if loaded is not None:
        read = Read([], io.Rows([], loaded.columns, table=True), loaded.column_of, [], loaded.warnings)
    else:
        read = read_subjects(policy, args.input, args.sheet, args.encoding, keep)
    carry = (loaded is not None and engine.shown_in_sql and loaded.kept_text and not (args.explain or args.trace)
             and args.output.lower().endswith((".csv", ".parquet")))
    try:
        ran, source = evaluate_file(policy, loaded, engine, carry) if loaded is not None \
            else evaluate_read(policy, read, engine)
    except io.DataError as err:
        raise name_columns(err, read.column_of) from None
    if loaded is not None:  # before anything is written, as copy_kept says it on the row path
        no_such_columns([k for k in keep if k not in loaded.kept], loaded.columns)
    policy.last_warnings = read.warnings + policy.last_warnings
    return read, ran, source, loaded


def _write_frames(policy, args, plan, ran, source):
    """The output written by DuckDB (Parquet) or streamed from the engine to polars'
    writers in batches, the summary counted on the engine's columns: (summary, subjects,
    notes), or None, nothing written, where the engine or the format does not allow it."""
    from . import frame_io, summary
    frames = ran.frames()
    if frames is None:
        return None
    ir = policy.ir
    def rows(positions: list[int]) -> list[FrameRow]:
        return [FrameRow(values, record) for values, (_, record) in zip(ran.rows_at(positions), source.rows(positions))]
    listed = groups_listed(args)
    counts = ran.group_counts(list(dict.fromkeys(r.group for r in (*ir.quotas, *ir.distributes) if r.group is not None)))
    shown = [f for f in grouped_by(ir) if any(listed is None or n <= listed for g, n in counts.items()
                                              if f in group_fields(g))]
    columns = Columns(ran.summary_frame(shown), lambda i: rows([i])[0], rows=rows, group_counts=counts)
    done = summary.summarize(ir, columns, policy.last_warnings, plan.language, listed)
    layout, labels = file_layout(plan, args, done), [f.label for f in ir.flags]
    notes = ran.write_parquet(args.output, plan.columns, layout, labels) \
        if args.output.lower().endswith(".parquet") else None
    if notes is None:
        notes = frame_io.write_frames(args.output, frames, plan.columns, layout, labels)
    return None if notes is None else (done, ran.n, notes)


def _write_rows(policy, args, plan, keep, read, ran, source):
    """The output as rows for perfdsl.io's writers (explained by the python backend with
    --explain or --trace): (summary, subjects, notes)."""
    from . import summary
    from .columns import name_columns
    from .sql.run import summary_records
    ir = policy.ir
    rows = flags_read(ran.rows(), ir)
    explained = None
    if args.explain or args.trace:  # the SQL engines keep no explanations: the python backend words them
        out(f"note: explanations come from the python backend re-running the subjects ({args.backend} "
            "computed the results)", err=True)
        records, numbers = source.everything()
        try:
            explained = policy.evaluate_cohort(records, trace=True, validate=False, row_numbers=numbers)
        except io.DataError as err:
            raise name_columns(err, read.column_of) from None
        if args.explain:
            for row, r in zip(rows, explained):
                row["explanation"] = r.explain()
    copy_kept(rows, read, keep)
    results = [FrameRow(row, record) for row, record in zip(rows, summary_records(ir, source, len(rows)))]
    tiers = ran.individual_tiers()
    before = summary.tiers_before(ir, {id(r): {ts: at[i] for ts, at in tiers.items()}
                                       for i, r in enumerate(results)}) if tiers else None
    done = summary.summarize(ir, Columns.of_results(ir, results, before), policy.last_warnings, plan.language,
                             groups_listed(args))
    notes = io.write_rows(args.output, plan.columns, rows, file_layout(plan, args, done))
    if args.trace:
        write_trace(args.trace, explained)
    return done, len(rows), notes
