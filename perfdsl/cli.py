"""The `perfdsl` command: thin argument handling over the library.

Every verb turns failures into messages and exit codes; no Python traceback reaches
the user for any policy or data file.
"""
from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

from .check import compile_file
from .console import out as _out
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


def _keep_option(args, ir) -> tuple[str, ...]:
    """`--keep 姓名,部门` (a full-width comma too) as output columns."""
    from .outputs import kept_columns
    asked = [k.strip() for k in (args.keep or "").replace("，", ",").split(",") if k.strip()]
    return tuple(kept_columns(ir, asked))


def cmd_run(args) -> int:
    from . import outputs, summary
    from .run_file import run_file
    from .run_read import collector_paused
    traced = args.explain or bool(args.trace)
    if args.backend == "columnar" and traced:
        _out("--explain and --trace need the python or reference backend: the columnar backend keeps no explanations",
             err=True)
        return USAGE
    policy = _load(args.file, "python" if args.backend == "auto" else args.backend)
    if policy is None:
        return FAIL
    keep = _keep_option(args, policy.ir)
    # the collector stays paused until the output is written: the rows and the writer
    # make objects too, and each collection would traverse everything the run keeps
    with collector_paused():
        try:
            io.file_format(args.output)  # an output we cannot write is said before any data is read
            plan = outputs.plan(policy.ir, explain=args.explain, keep=keep, headers=args.headers)
            done, count, notes = run_file(policy, args, plan, keep)
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


def cmd_explain(args) -> int:
    from .run_read import read_and_evaluate
    policy = _load(args.file)
    if policy is None:
        return FAIL
    try:
        _, results = read_and_evaluate(policy, args.input, trace=True, sheet=args.sheet)
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
    from . import report
    from .console import progress
    from .kept import check_keep, copy_kept
    from .run_read import read_and_evaluate
    if Path(args.output).suffix.lower() not in (".html", ".htm"):
        _out(f"{args.output}: the report is an HTML page: name it .html", err=True)
        return USAGE
    policy = _load(args.file)
    if policy is None:
        return FAIL
    keep = _keep_option(args, policy.ir)
    try:
        check_keep(keep, policy.ir)
        read, results = read_and_evaluate(policy, args.input, trace=True, sheet=args.sheet,
                                          encoding=args.encoding, keep=keep)
        kept = [{} for _ in results]
        copy_kept(kept, read, keep)
        report.write(args.output, report.render(policy, results, data_path=args.input,
                                                warnings=policy.last_warnings, kept=(keep, kept),
                                                progress=progress))
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
