"""The `perfdsl` command: thin argument handling over the library.

Every verb turns failures into messages and exit codes; no Python traceback reaches
the user for any policy or data file.
"""
from __future__ import annotations

import argparse
import gc
import importlib.util
import sys
from collections.abc import Mapping
from contextlib import contextmanager
from pathlib import Path

from .check import compile_file
from .diagnostics import render


def _lazy(name: str):
    """Module `name`, run on first use of one of its attributes: `check` never reads or
    writes data, and perfdsl.io with what it imports (csv, shutil, tempfile, datetime)
    would cost it about 10 ms of start-up."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    spec.loader = importlib.util.LazyLoader(spec.loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


io = _lazy("perfdsl.io")

OK, FAIL, USAGE = 0, 1, 2


def _out(text: str = "", err: bool = False) -> None:
    stream = sys.stderr if err else sys.stdout
    stream.write(text + "\n")


def _perf_files(paths: list[str]) -> list[Path]:
    files: list[Path] = []
    for p in paths:
        path = Path(p)
        files += sorted(path.rglob("*.perf")) if path.is_dir() else [path]
    return files


def _print_diagnostics(result) -> None:
    for d in result.diagnostics:
        _out(render(d, result.sources), err=d.is_error)


def cmd_check(args) -> int:
    status = OK
    for path in _perf_files(args.files):
        result = compile_file(path)
        _print_diagnostics(result)
        errors = sum(d.is_error for d in result.diagnostics)
        warnings = len(result.diagnostics) - errors
        if errors:
            status = FAIL
            _out(f"{path}: {errors} error(s), {warnings} warning(s)", err=True)
        else:
            kind = " (module: checked with the policies that import it)" if result.module else ""
            _out(f"{path}: ok{kind}" + (f", {warnings} warning(s)" if warnings else ""))
    return status


def _load(path: str, backend: str = "python", modules: str = "refuse"):
    """The checked policy at `path`, or None after printing why not. A module file (no
    `policy` block) is refused with a message, or with `modules="skip"` passed over quietly
    (returns "module")."""
    from .policy import Policy
    result = compile_file(path)
    if result.module:
        if modules == "skip":
            return "module"
        _out(f"{path}: a module without a `policy` block; run the policy that imports it", err=True)
        return None
    if result.policy is None:
        _print_diagnostics(result)
        return None
    return Policy(result.policy, [d for d in result.diagnostics if not d.is_error], backend)


def cmd_test(args) -> int:
    from .examples import run_examples
    status, passed, failed, covered = OK, 0, 0, []
    for path in _perf_files(args.paths or ["policies"]):
        policy = _load(str(path), modules="skip")
        if policy == "module":
            continue
        if policy is None:
            status = FAIL
            failed += 1
            continue
        for o in run_examples(policy):
            if o.passed:
                passed += 1
                _out(f"PASS {path}:{o.line} {o.label}")
            else:
                failed += 1
                status = FAIL
                _out(f"FAIL {path}:{o.line} {o.label}")
                for f in o.failures:
                    _out(f"    {f}")
        if args.coverage:
            from .coverage import measure
            covered.append(measure(policy))
    _out(f"{passed} passed, {failed} failed")
    if args.coverage:
        from .coverage import finish
        status = status if finish(covered, args.fail_under, _out) else FAIL
    return status


PROGRESS_FROM = 20_000  # subjects; smaller runs finish before a bar would help


def _progress(iterable, total):
    """A progress bar on stderr, only for a person watching a large run."""
    if total < PROGRESS_FROM or not sys.stderr.isatty():
        return iterable
    from tqdm import tqdm
    return tqdm(iterable, total=total, unit=" subjects", file=sys.stderr, leave=False)


class Read(list):
    """A data file as read for a run: the rows to evaluate (columns by input name), with
    the rows as the file has them (`raw`, for --keep), each input's column, and what
    reading it noted and warned."""

    def __init__(self, rows, raw, column_of, notes, warnings):
        super().__init__(rows)
        self.raw, self.column_of, self.notes, self.warnings = raw, column_of, notes, warnings


def _read_subjects(policy, data: str, sheet: str | None = None, encoding: str | None = None,
                   keep: tuple[str, ...] = (), reader=io.read_rows) -> Read:
    """The rows of a data file, or DataError listing every bad row.

    A reader stops at problems in single rows (a wrong number of cells, a line that is
    no JSON object); the rows it could read are still validated here, so their field
    errors are listed in the same run. A file without subjects is an error: an empty
    table must not replace the previous results. Columns match inputs by name or label
    (perfdsl.columns): an input without a column is one error, not one per row."""
    from .columns import key_names, match
    from .validate import Validator
    try:
        rows = reader(data, key=key_names(policy.ir), sheet=sheet, encoding=encoding)
    except io.DataError as err:
        if not err.rows:
            raise
        _, problems, _ = Validator(policy.ir).many([(r.number, r.values) for r in err.rows])
        problems = sorted(err.problems + problems, key=lambda p: -1 if p.row is None else p.row)
        raise io.DataError(problems) from None
    if not rows:
        raise io.DataError([io.DataProblem(None, None, "no subjects: the file has no data rows")])
    matched = match(policy.ir, rows, keep)
    for note in rows.notes:
        _out("note: " + io.terminal_text(note), err=True)
    by_label = Validator(policy.ir).by_label  # columns titled by labels, for every backend
    renamed = [io.RawRow(r.number, by_label(r.values)) for r in matched.rows]
    return Read(renamed, rows, matched.column_of, rows.notes, matched.warnings)


@contextmanager
def _collector_paused():
    """The cyclic garbage collector off (and what is alive frozen) for a run: reading,
    validating and evaluating make millions of objects that all stay alive, which the
    collector would otherwise traverse again and again. Restored as it was after."""
    enabled = gc.isenabled()
    gc.disable()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
        if enabled:
            gc.enable()


def _read_and_evaluate(policy, data: str, trace: bool, sheet: str | None = None, encoding: str | None = None,
                       keep: tuple[str, ...] = ()):
    """(Read, results); the column warnings lead the policy's last_warnings."""
    from .columns import name_columns
    with _collector_paused():
        read = _read_subjects(policy, data, sheet, encoding, keep)
        try:
            results = policy.evaluate_cohort([r.values for r in read], trace=trace,
                                             row_numbers=[r.number for r in read], progress=_progress)
        except io.DataError as err:
            raise name_columns(err, read.column_of) from None
    policy.last_warnings = read.warnings + policy.last_warnings
    return read, results


SHOWN = 200  # problems or warnings printed; the rest are counted


def _print_capped(lines: list, prefix: str, noun: str) -> None:
    """Print the first SHOWN lines to stderr with control characters from data escaped;
    then one line counting the rest, so bad data never floods the terminal."""
    for line in lines[:SHOWN]:
        _out(prefix + io.terminal_text(str(line)), err=True)
    if len(lines) > SHOWN:
        _out(f"… and {len(lines) - SHOWN} more {noun}", err=True)


def _report_data_error(err) -> int:
    problems = getattr(err, "problems", None) or [str(err)]
    _print_capped(problems, "", "problem(s)")
    _out(f"{len(problems)} problem(s); nothing was written", err=True)
    return FAIL


def cmd_run(args) -> int:
    from . import outputs, summary
    traced = args.explain or bool(args.trace)
    if args.backend == "columnar" and traced:
        _out("--explain and --trace need the python or reference backend: the columnar backend keeps no explanations",
             err=True)
        return USAGE
    policy = _load(args.file, "python" if args.backend == "auto" else args.backend)
    if policy is None:
        return FAIL
    asked = [k.strip() for k in (args.keep or "").replace("，", ",").split(",") if k.strip()]
    keep = tuple(outputs.kept_columns(policy.ir, asked))
    # the collector stays paused until the output is written: the rows and the writer
    # make objects too, and each collection would traverse everything the run keeps
    with _collector_paused():
        try:
            io.file_format(args.output)  # an output we cannot write is said before any data is read
            plan = outputs.plan(policy.ir, explain=args.explain, keep=keep, headers=args.headers)
            _check_keep(keep, policy.ir)
            table = None
            if args.backend in ("auto", "columnar") and not traced:
                table = _read_table(policy, args.input, keep)
            if table is not None:
                done, count, notes = _run_table(policy, table, args, plan, keep)
            else:
                done, count, notes = _run_rows(policy, args, plan, keep)
        except io.DataError as err:
            return _report_data_error(err)
        except OSError as err:
            _out(f"{err.filename or args.output}: cannot write: {err.strerror}", err=True)
            return FAIL
    for note in notes:
        _out("note: " + io.terminal_text(note), err=True)
    _print_capped(policy.last_warnings, "warning: ", "warning(s)")
    if not args.quiet:
        for line in summary.lines(done, args.input):
            _out(io.terminal_text(line))
    _out(f"{count} subject(s) → {args.output}")
    return OK


def _layout(plan, args, done):
    from . import summary
    return io.Layout(titles=plan.titles, places=plan.places, encoding=args.encoding,
                     summary=summary.sheet(done) if args.output.lower().endswith(".xlsx") else None)


def _run_rows(policy, args, plan, keep):
    """A run the row way: every subject as a Python record through the chosen backend
    (the python backend also for `auto`), written by perfdsl.io. (summary, subjects, notes)"""
    from . import summary
    recorder, before = None, None
    if args.backend in ("duckdb", "spark"):
        read, ran, records = _run_sql(policy, args, keep)
        streamed = None if args.explain or args.trace or keep else _write_sql_frames(policy, args, plan, ran, records)
        if streamed is not None:
            return streamed
        rows, results, before = _sql_rows(policy, args, read, ran, records)
    elif args.backend == "columnar":
        read, rows = _evaluate_table(policy, args.input, args.sheet, args.encoding, keep)
        ir = policy.ir
        records = policy.validate([r.values for r in read]) if ir.quotas or ir.distributes else [{}] * len(rows)
        results = [_FrameRow(row, record) for row, record in zip(rows, records)]
    else:
        recorder = policy.backend = summary.Recorder(policy.backend)
        read, results = _read_and_evaluate(policy, args.input, trace=args.explain or bool(args.trace),
                                           sheet=args.sheet, encoding=args.encoding, keep=keep)
        rows = [r.as_row() | {"flags": io.Flags(r.flags)} | ({"explanation": r.explain()} if args.explain else {})
                for r in results]
    _copy_kept(rows, read, keep)
    done = summary.summarize(policy.ir, results, policy.last_warnings, plan.language,
                             recorder.individual_tiers if recorder else before)
    notes = io.write_rows(args.output, plan.columns, rows, _layout(plan, args, done))
    if args.trace:
        _write_trace(args.trace, results)
    return done, len(rows), notes


def _read_table(policy, data: str, keep: tuple[str, ...]):
    """The file as a checked polars table (perfdsl.frame_io), or None to read it the row way."""
    from . import frame_io
    return frame_io.read_table(policy.ir, data, keep=keep)


def _run_table(policy, table, args, plan, keep):
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
        _out(f"note: {io.terminal_text(f'columnar backend, policy {ir.name}: evaluated per row in Python: {why}')}",
             err=True)
    frame = result.frame
    if keep:
        frame = _with_kept(frame, table, keep, ir)
    shown = not args.quiet or args.output.lower().endswith(".xlsx")
    results, before = _cohort_columns(ir, frame, table, result, shown and bool(ir.quotas or ir.distributes))
    done = summary.summarize(ir, results, policy.last_warnings, plan.language, before)
    layout = _layout(plan, args, done)
    notes = frame_io.write_frame(args.output, frame, plan.columns, layout, [f.label for f in ir.flags])
    if notes is None:
        notes = io.write_rows(args.output, plan.columns, _frame_rows(frame, ir), layout)
    return done, frame.height, notes


def _with_kept(frame, table, keep, ir):
    """The --keep columns beside the outputs: an input's column or another column of the file, as read."""
    import polars as pl
    _check_kept(table, keep)
    return frame.with_columns(pl.DataFrame([table.kept[k].alias(k) for k in keep]))


def _check_kept(table, keep) -> None:
    _no_such_columns([k for k in keep if k not in table.kept], table.all_columns)


def _no_such_columns(missing: list[str], columns) -> None:
    """DataError naming each --keep column the file does not have, with the file's columns."""
    if missing:
        raise io.DataError([io.DataProblem(None, k, "--keep: no such column; the file's columns: "
                                           + ", ".join(map(str, columns))) for k in missing])


def _cohort_columns(ir, frame, table, result, moved: bool):
    """The run's results for perfdsl.summary as cohort_counts.Columns (final tiers, group
    fields and, with `moved`, the tiers before the cohort stage), and the `before` to pass."""
    from .cohort_counts import Columns
    sets = {d.name: d.tiers.names() for d in ir.definitions if d.tiers is not None and d.name in frame.columns}
    fields = []
    for rule in (*ir.quotas, *ir.distributes):
        for f in ([rule.group] if isinstance(rule.group, str) else rule.group or []):
            if f not in fields:
                fields.append(f)
    import polars as pl
    # the row number keeps the height where the policy has no tier sets and no groups
    columns = frame.select(pl.int_range(pl.len()).alias("~row"), *sets).with_columns(table.frame.select(fields))
    if moved:
        columns = columns.with_columns(_individual_tiers(ir, table, result, sets))
    values = _Columns(frame)
    record = _Columns(table.frame, frozenset(i.name for i in ir.inputs if i.type.kind == "num"))
    return Columns(columns, lambda i: _FrameRow(_RowView(values, i), _RowView(record, i))), \
        (_BEFORE_IN_COLUMNS if moved else None)


_BEFORE_IN_COLUMNS = {"the tiers before the cohort stage": "are columns of cohort_counts.Columns"}  # truthy


def _individual_tiers(ir, table, result, sets: dict):
    """Each tier set's tier index before the cohort stage (`NAME~before`), as summary.Recorder
    notes them on the python backend: run_table's `individual_tiers`, or where the run went
    per row (and kept none), the policy's run again without its quotas and `distribute` rules."""
    import polars as pl
    before = result.individual_tiers
    if before is None:
        import dataclasses
        import warnings

        from .columnar import run_table
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            alone = run_table(dataclasses.replace(ir, quotas=(), distributes=()), table.frame, validate=False,
                              row_numbers=table.numbers).frame
        before = alone.select([pl.col(n).replace_strict(list(t), list(range(len(t)))) for n, t in sets.items()])
    return before.select([pl.col(n).cast(pl.Int64).alias(f"{n}~before") for n in sets if n in before.columns])


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
                                         row_numbers=table.numbers, progress=_progress)
    except io.DataError as err:
        raise name_columns(err, table.column_of) from None
    policy.last_warnings = table.warnings + policy.last_warnings
    _check_kept(table, keep)
    done = summary.summarize(policy.ir, results, policy.last_warnings, plan.language, recorder.individual_tiers)
    layout = _layout(plan, args, done)
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


class _Columns:
    """A frame's columns read as Python values: a column read in a few places (a group's
    first member, for the summary's bounds) cell by cell, one read all over as a list."""
    _FEW = 256  # cells read one by one before the whole column is made a list

    def __init__(self, frame, numbers: frozenset[str] = frozenset()):
        self.frame, self.names, self.numbers, self.lists, self.reads = frame, tuple(frame.columns), numbers, {}, {}

    def value(self, name: str, i: int):
        values = self.lists.get(name)
        if values is None:
            reads = self.reads[name] = self.reads.get(name, 0) + 1
            if reads <= self._FEW:
                return self._number(name, self.frame.get_column(name).slice(i, 1).to_list())[0]
            values = self.lists[name] = self._number(name, self.frame.get_column(name).to_list())
        return values[i]

    def _number(self, name: str, values: list) -> list:
        if name in self.numbers:
            from decimal import Decimal
            return [Decimal(v) if type(v) is int else v for v in values]
        return values


class _RowView(Mapping):
    """One row of _Columns as a read-only dict."""
    __slots__ = ("columns", "i")

    def __init__(self, columns: _Columns, i: int):
        self.columns, self.i = columns, i

    def __getitem__(self, name):
        if name not in self.columns.names:
            raise KeyError(name)
        return self.columns.value(name, self.i)

    def __iter__(self):
        return iter(self.columns.names)

    def __len__(self):
        return len(self.columns.names)


class _FrameRow:
    """An output row of the columnar or a SQL backend seen as a result by perfdsl.summary
    (its values and its record; the tiers before the cohort stage are given apart)."""
    __slots__ = ("values", "record")

    def __init__(self, values, record):
        self.values, self.record = values, record


def _run_sql(policy, args, keep: tuple[str, ...]):
    """A data file through a SQL backend (perfdsl/sql): (Read, the run on the engine, records)."""
    from .columns import name_columns
    from .sql.run import engine_for, evaluate_read, read_rows
    read = _read_subjects(policy, args.input, args.sheet, args.encoding, keep, reader=read_rows)
    try:
        ran, records = evaluate_read(policy, read, engine_for(args.backend, args.spark_master))
    except io.DataError as err:
        raise name_columns(err, read.column_of) from None
    policy.last_warnings = read.warnings + policy.last_warnings
    return read, ran, records


def _write_sql_frames(policy, args, plan, ran, records):
    """The SQL run's output streamed from the engine to polars' writers in batches, the
    summary counted on its columns (cohort_counts.Columns): (summary, subjects, notes), or
    None, nothing written, where the engine or the format does not allow it."""
    from . import frame_io, summary
    from .cohort_counts import Columns
    frames = ran.frames()
    if frames is None:
        return None
    ir = policy.ir
    fields = list(dict.fromkeys(f for rule in (*ir.quotas, *ir.distributes)
                                for f in ([rule.group] if isinstance(rule.group, str) else rule.group or [])))
    columns = Columns(ran.summary_frame(fields), lambda i: _FrameRow(ran.row(i), records[i]))
    done = summary.summarize(ir, columns, policy.last_warnings, plan.language,
                             _BEFORE_IN_COLUMNS if ran.q.before else None)
    notes = frame_io.write_frames(args.output, frames, plan.columns, _layout(plan, args, done), [f.label for f in ir.flags])
    return None if notes is None else (done, ran.n, notes)


def _sql_rows(policy, args, read, ran, records):
    """The SQL run's output rows (explained by the python backend with --explain), the
    results perfdsl.summary reads and the tiers before the cohort stage by id(result)."""
    from .columns import name_columns
    rows = _flags_read(ran.rows(), policy.ir)
    if args.explain:  # the SQL engines keep no explanations: the python backend words them
        _out(f"note: explanations come from the python backend re-running the subjects ({args.backend} "
             "computed the results)", err=True)
        try:
            explained = policy.evaluate_cohort(records, trace=True, validate=False, row_numbers=[r.number for r in read])
        except io.DataError as err:
            raise name_columns(err, read.column_of) from None
        for row, r in zip(rows, explained):
            row["explanation"] = r.explain()
    results = [_FrameRow(row, record) for row, record in zip(rows, records)]
    tiers = ran.individual_tiers()
    before = {id(r): {ts: at[i] for ts, at in tiers.items()} for i, r in enumerate(results)} if tiers else None
    return rows, results, before


def _frame_rows(frame, ir) -> list[dict]:
    """A columnar output frame as output rows: lists as lists, the flags as Flags."""
    return _flags_read([{k: list(v) if isinstance(v, tuple) else v for k, v in row.items()}
                        for row in frame.to_dicts()], ir)


def _flags_read(rows: list[dict], ir) -> list[dict]:
    """Each row's joined `flags` text as Flags (what perfdsl.io writes and the summary counts)."""
    labels = [f.label for f in ir.flags]
    for row in rows:
        row["flags"] = io.Flags(_split_flags(row.get("flags") or "", labels))
    return rows


def _split_flags(joined: str, labels: list[str]) -> list[str]:
    """The flags of a joined `a;b` string, matched against the labels in their order
    (a label may itself hold a `;`)."""
    out, rest = [], joined
    for label in labels:
        if rest == label or rest.startswith(label + ";"):
            out.append(label)
            rest = rest[len(label) + 1:]
    return out


def _check_keep(keep: tuple[str, ...], ir) -> None:
    taken = set(ir.output_names()) | {"flags", "explanation"}
    bad = [k for k in keep if k in taken]
    if bad:
        raise io.DataError([io.DataProblem(None, k, "--keep names an output column, which is written anyway")
                            for k in bad])


def _copy_kept(rows: list[dict], read: Read, keep: tuple[str, ...]) -> None:
    """Copy the --keep columns (an input by name, or another column of the file) as read."""
    source = {k: read.column_of.get(k) or (k if k in read.raw.columns else None) for k in keep}
    _no_such_columns([k for k in keep if source[k] is None], read.raw.columns)
    for row, raw in zip(rows, read.raw) if keep else ():
        for k in keep:
            if k not in row:
                row[k] = raw.values.get(source[k])


def _evaluate_table(policy, data: str, sheet: str | None = None, encoding: str | None = None,
                    keep: tuple[str, ...] = ()):
    """A data file through the columnar backend, validated row by row as evaluate_cohort does:
    (Read, output rows)."""
    import warnings

    from .columnar import ColumnarFallback, frame_from_raw
    from .columns import name_columns
    read = _read_subjects(policy, data, sheet, encoding, keep)
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
            _out(f"note: {io.terminal_text(str(w.message))}", err=True)
    return read, _frame_rows(frame, policy.ir)


def output_columns(policy, explain: bool) -> list[str]:
    """The output columns of §11 (perfdsl.outputs.plan decides them for every format)."""
    from .outputs import plan
    return plan(policy.ir, explain=explain).columns


def _write_trace(path: str, results) -> None:
    """`run --trace OUT.jsonl`: every subject's explanation as versioned JSON, one object a
    line, in input order (perfdsl.explain: the same steps `explain --format json` prints)."""
    from .explain import dumps
    io.write_text_atomic(path, "".join(dumps(r.explanation().as_json()) + "\n" for r in results))


def cmd_explain(args) -> int:
    policy = _load(args.file)
    if policy is None:
        return FAIL
    try:
        _, results = _read_and_evaluate(policy, args.input, trace=True, sheet=args.sheet)
    except io.DataError as err:
        return _report_data_error(err)
    key = policy.ir.key
    chosen = [r for r in results if key is None or str(r.record.get(key)) == args.id]
    if not chosen:
        _out(io.terminal_text(f"no subject with {key} = {args.id}"), err=True)
        return FAIL
    if args.format == "json":
        from .explain import dumps
        _out(dumps(chosen[0].explanation().as_json(), indent=2))
    else:
        _out(io.terminal_text(chosen[0].explain(), lines=True))
    return OK


def cmd_report(args) -> int:
    """The self-contained HTML report of one run (perfdsl/report); data errors as `run`."""
    from . import outputs, report
    if Path(args.output).suffix.lower() not in (".html", ".htm"):
        _out(f"{args.output}: the report is an HTML page: name it .html", err=True)
        return USAGE
    policy = _load(args.file)
    if policy is None:
        return FAIL
    asked = [k.strip() for k in (args.keep or "").replace("，", ",").split(",") if k.strip()]
    keep = tuple(outputs.kept_columns(policy.ir, asked))
    try:
        _check_keep(keep, policy.ir)
        read, results = _read_and_evaluate(policy, args.input, trace=True, sheet=args.sheet,
                                           encoding=args.encoding, keep=keep)
        kept = [{} for _ in results]
        _copy_kept(kept, read, keep)
        report.write(args.output, report.render(policy, results, data_path=args.input,
                                                warnings=policy.last_warnings, kept=(keep, kept),
                                                progress=_progress))
    except io.DataError as err:
        return _report_data_error(err)
    except OSError as err:
        _out(f"{args.output}: cannot write: {err.strerror}", err=True)
        return FAIL
    _print_capped(policy.last_warnings, "warning: ", "warning(s)")
    _out(f"{len(results)} subject(s) → {args.output}")
    return OK


def cmd_compile(args) -> int:
    from .codegen.python import generate
    result = compile_file(args.file)
    _print_diagnostics(result)
    if result.policy is None:
        return FAIL
    if args.sql:
        from .sql import compile_sql
        try:
            source = compile_sql(result.policy, args.sql, args.table, args.scale)
        except ValueError as err:
            _out(f"{args.file}: {err}", err=True)
            return FAIL
    else:
        source = generate(result.policy)
    try:
        io.write_text_atomic(args.output, source)
    except OSError as err:
        _out(f"{args.output}: cannot write: {err.strerror}", err=True)
        return FAIL
    _out(f"{args.file} → {args.output}")
    return OK


def cmd_verify(args) -> int:
    from .verify import disagreements, verify_properties
    from .verify.agreement import BACKENDS
    status = OK
    for path in _perf_files(args.files):
        policy = _load(str(path), "reference" if not args.backends else "python", modules="skip")
        if policy == "module":
            continue
        if policy is None:
            status = FAIL
            continue
        _out(f"{path}:")
        for v in verify_properties(policy, args.examples, args.seed, args.timeout):
            if v.status == "proved":
                _out(f"  PROVED {v.label}: {v.detail[0]}")
            elif v.status == "passed":
                _out(f"  PASS   {v.label}: {v.tried} {v.unit} tried, no counterexample"
                     + (f" ({v.note})" if v.note else ""))
            else:
                status = FAIL
                found = "found by the solver" if v.by == "solver" else f"after {v.tried} {v.unit}"
                _out(f"  FAIL   {v.label}: counterexample {found} (paste into an example):")
                for line in v.detail:
                    _out(f"    {line}")
        if args.backends:
            problems = disagreements(policy, args.examples, args.seed)
            for p in problems:
                status = FAIL
                _out(f"  FAIL   backends: {p}")
            if not problems:
                _out(f"  PASS   backends agree on {args.examples} drawn subjects and cohorts "
                     f"({', '.join(BACKENDS)}, each against the reference)")
    return status


def cmd_lsp(args) -> int:
    """The language server on stdin/stdout (perfdsl/lsp): started by an editor, not a person."""
    from .lsp import main as serve
    return serve()


def cmd_fmt(args) -> int:
    from .fmt.command import run
    return run(args.files, args.check, _out, lambda line: _out(line, err=True))


UNDECIDED = 3  # diff: neither proved equal nor shown to differ


def cmd_diff(args) -> int:
    """Two versions of a policy: who is affected (with data), or whether anyone can be."""
    from .policydiff import on_records, by_solver, change_rows, render
    if args.output and not args.input:
        _out("--output lists the subjects of --input DATA whose results change; give --input too", err=True)
        return USAGE
    old, new = _load(args.old, "reference"), _load(args.new, "reference")
    if old is None or new is None:
        return FAIL
    try:
        if args.input:
            rows = io.read_rows(args.input)
            report = on_records(old, new, [r.values for r in rows], [r.number for r in rows])
        else:
            report = by_solver(old, new, args.timeout, args.seed)
        for line in render(report, args.old, args.new):
            _out(line)
        if args.output:
            columns, out_rows = change_rows(report, new.ir.key or "subject")
            io.write_rows(args.output, columns, out_rows)
            _out(f"{len(out_rows)} changed value(s) → {args.output}")
    except io.DataError as err:
        return _report_data_error(err)
    except OSError as err:
        _out(f"{args.output}: cannot write: {err.strerror}", err=True)
        return FAIL
    if report.differs:
        return FAIL
    return OK if report.status in ("equivalent", "unchanged") else UNDECIDED


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="perfdsl", description="Check, test, run and explain appraisal policies (.perf).")
    sub = p.add_subparsers(dest="verb", required=True)
    c = sub.add_parser("check", help="check policies; exit 1 on any error")
    c.add_argument("files", nargs="+")
    c.set_defaults(func=cmd_check)
    t = sub.add_parser("test", help="run the policies' example blocks")
    t.add_argument("paths", nargs="*")
    t.add_argument("--coverage", action="store_true", help="list the tier bands, rows, branches and rules no example reaches")
    t.add_argument("--fail-under", type=float, metavar="P", help="with --coverage: exit 1 below P percent overall")
    t.set_defaults(func=cmd_test)
    r = sub.add_parser("run", help="evaluate a data file (csv, xlsx, json, jsonl, parquet)")
    r.add_argument("file")
    r.add_argument("--input", required=True)
    r.add_argument("--output", required=True)
    r.add_argument("--explain", action="store_true", help="add an `explanation` column")
    r.add_argument("--sheet", help="the sheet of an .xlsx input to read (default: the first visible "
                                  "sheet with a column for the key)")
    r.add_argument("--backend", choices=["auto", "python", "reference", "columnar", "duckdb", "spark"], default="auto",
                   help="auto (default): columnar where it runs the policy as columns throughout, else python; "
                        "columnar: the whole file as polars columns (no --explain); duckdb, spark: the policy as "
                        "one SQL query on that engine (spark needs `pip install 'perfdsl[spark]'` and Java 17)")
    r.add_argument("--spark-master", metavar="URL", default="local[*]",
                   help="with --backend spark: the Spark master to run on (default local[*])")
    r.add_argument("--encoding", metavar="NAME", help="the encoding of a CSV input and output (default: input UTF-8, "
                                                      "else GB18030 with a note; output UTF-8 with a BOM)")
    r.add_argument("--headers", choices=["names", "labels"], default="names",
                   help="labels: title each output column by its label (it reads back as input when "
                        "the inputs are in it, e.g. with --keep)")
    r.add_argument("--keep", metavar="F1,F2", help="copy these input columns (e.g. 姓名,部门) after the key")
    r.add_argument("--quiet", action="store_true", help="print no run summary (warnings still go to stderr)")
    r.add_argument("--trace", metavar="OUT.jsonl", help="also write every subject's explanation as versioned JSON, "
                                                        "one object a line (for audit trails)")
    r.set_defaults(func=cmd_run)
    e = sub.add_parser("explain", help="print one subject's explanation")
    e.add_argument("file")
    e.add_argument("--input", required=True)
    e.add_argument("--id", required=True)
    e.add_argument("--sheet", help="the sheet of an .xlsx input to read")
    e.add_argument("--format", choices=["text", "json"], default="text",
                   help="json: the explanation as versioned JSON (steps with the values they read), for audit trails")
    e.set_defaults(func=cmd_explain)
    rp = sub.add_parser("report", help="write a self-contained HTML report of a run (tiers against bounds, charts, subjects)")
    rp.add_argument("file")
    rp.add_argument("--input", required=True)
    rp.add_argument("--output", required=True, help="the .html file to write")
    rp.add_argument("--sheet", help="the sheet of an .xlsx input to read")
    rp.add_argument("--encoding", metavar="NAME", help="the encoding of a CSV input (default: UTF-8, else GB18030)")
    rp.add_argument("--keep", metavar="F1,F2", help="show these input columns (e.g. 姓名,部门) after the key")
    rp.set_defaults(func=cmd_report)
    v = sub.add_parser("verify", help="prove or search for counterexamples to properties")
    v.add_argument("files", nargs="+")
    v.add_argument("--examples", type=int, default=300, help="inputs to try per property (default 300)")
    v.add_argument("--seed", type=int, default=None, help="seed for a reproducible search")
    v.add_argument("--backends", action="store_true", help="also require every backend (generated Python, columnar) to agree with the reference")
    v.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                   help="time the solver may take per property before sampling (default 2; 0: sample only)")
    v.set_defaults(func=cmd_verify)
    d = sub.add_parser("diff", help="compare two versions of a policy: exit 1 when results differ, "
                                    "0 when equal (proved, or unchanged on the data), 3 when undecided")
    d.add_argument("old")
    d.add_argument("new")
    d.add_argument("--input", help="a data file: list every subject whose results change")
    d.add_argument("--output", help="with --input: write the changes (csv, xlsx, json, jsonl, parquet)")
    d.add_argument("--timeout", type=float, default=None, metavar="SECONDS", help="solver time (default 2)")
    d.add_argument("--seed", type=int, default=None, help="seed for the sampled comparisons")
    d.set_defaults(func=cmd_diff)
    g = sub.add_parser("compile", help="write the generated Python module (or with --sql the SQL query)")
    g.add_argument("file")
    g.add_argument("-o", "--output", required=True)
    g.add_argument("--sql", choices=["duckdb", "spark"], help="write the policy as one SQL query of this dialect")
    g.add_argument("--table", default="subjects", help="with --sql: the table or view of subjects it reads")
    g.add_argument("--scale", type=int, default=4, metavar="N",
                   help="with --sql: the decimals the table's numbers have at most (default 4)")
    g.set_defaults(func=cmd_compile)
    ls = sub.add_parser("lsp", help="run the language server over stdio (for editors)")
    ls.set_defaults(func=cmd_lsp)
    f = sub.add_parser("fmt", help="format policy files in place (--check: list those that would change)")
    f.add_argument("files", nargs="+")
    f.add_argument("--check", action="store_true", help="change nothing; exit 1 if a file would be reformatted")
    f.set_defaults(func=cmd_fmt)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        _out("interrupted; nothing was written", err=True)
        return 130
    except BrokenPipeError:  # `perfdsl ... | head`: the reader left; not an error of ours
        sys.stderr.close()
        return OK


if __name__ == "__main__":
    sys.exit(main())
