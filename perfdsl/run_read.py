"""A data file read for a run (`perfdsl run`, `explain`, `report`): its rows validated,
columns matched to inputs by name or label, every bad row listed at once, and the
subjects evaluated through the policy's backend with the collector paused."""
from __future__ import annotations

import gc
from contextlib import contextmanager

from . import io
from .console import out, progress


class Read(list):
    """A data file as read for a run: the rows to evaluate (columns by input name), with
    the rows as the file has them (`raw`, for --keep), each input's column, and what
    reading it noted and warned."""

    def __init__(self, rows, raw, column_of, notes, warnings):
        super().__init__(rows)
        self.raw, self.column_of, self.notes, self.warnings = raw, column_of, notes, warnings


def read_subjects(policy, data: str, sheet: str | None = None, encoding: str | None = None,
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
        out("note: " + io.terminal_text(note), err=True)
    by_label = Validator(policy.ir).by_label  # columns titled by labels, for every backend
    renamed = [io.RawRow(r.number, by_label(r.values)) for r in matched.rows]
    return Read(renamed, rows, matched.column_of, rows.notes, matched.warnings)


@contextmanager
def collector_paused():
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


def read_and_evaluate(policy, data: str, trace: bool, sheet: str | None = None, encoding: str | None = None,
                      keep: tuple[str, ...] = ()):
    """(Read, results); the column warnings lead the policy's last_warnings."""
    from .columns import name_columns
    with collector_paused():
        read = read_subjects(policy, data, sheet, encoding, keep)
        try:
            results = policy.evaluate_cohort([r.values for r in read], trace=trace,
                                             row_numbers=[r.number for r in read], progress=progress)
        except io.DataError as err:
            raise name_columns(err, read.column_of) from None
    policy.last_warnings = read.warnings + policy.last_warnings
    return read, results
