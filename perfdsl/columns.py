"""Which column of a data file is which input (LANGUAGE.md §12.2 "Headers").

Office files carry the inputs' labels as headers (`迟到次数`, not `late`), so a column
matches an input by its name or by its label, after trimming spaces (the renaming
itself is validate.Validator.by_label, shared with the Python API). What does not
match is said once per column, not once per row: a column matching no input is one
warning naming it; an input with no column is one error naming the input, its label
and the columns the file has (a file with a wrong header would otherwise give one
"missing" per row and never say what was expected).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from .io import DataError, DataProblem, RawRow, Rows
from .ir import Policy


def input_labels(ir: Policy) -> dict[str, str]:
    """label → input name, for the labels a column may be titled by: a label that is
    unique among the inputs and is not itself an input's name (a name wins)."""
    names = {inp.name for inp in ir.inputs}
    labels = Counter(inp.label.strip() for inp in ir.inputs if inp.label)
    return {inp.label.strip(): inp.name for inp in ir.inputs if inp.label
            and labels[inp.label.strip()] == 1 and inp.label.strip() not in names}


def key_names(ir: Policy) -> tuple[str, ...]:
    """The headers the key column may have: its name and its label."""
    if ir.key is None:
        return ()
    label = next((i.label for i in ir.inputs if i.name == ir.key), None)
    return (ir.key, label.strip()) if label and label.strip() else (ir.key,)


@dataclass
class Matched:
    rows: list[RawRow]                      # a table's rows without the columns matching no input
    column_of: dict[str, str]               # input name -> the file's column
    warnings: list[str] = field(default_factory=list)


def match(ir: Policy, rows: Rows, keep: tuple[str, ...] = ()) -> Matched:
    """Check the file's columns against the inputs, by name or label (as
    validate.Validator.by_label renames them: where both are present the name wins).

    Raises DataError, one problem per input without a column in a table (CSV, XLSX;
    each JSON object missing a field is that row's problem). A table's columns that
    match no input are left out with one warning each (none for a column in `keep`);
    JSON objects keep theirs, which validation warns about once per field. A column in
    `keep` that is no input is copied from the rows as read (perfdsl.kept), so it is left
    out here too: kept on purpose, it is no unknown field to warn about."""
    column_of, warnings = match_columns(ir, rows.columns, keep, rows.table)
    if not rows.table:
        names = {i.name for i in ir.inputs}
        copied = {k for k in keep if k not in names}
        if not copied:
            return Matched(list(rows), column_of)
        return Matched([RawRow(r.number, {k: v for k, v in r.values.items() if k not in copied}) for r in rows],
                       column_of)
    inputs = set(column_of.values())
    renamed = [RawRow(r.number, {k: v for k, v in r.values.items() if k in inputs}) for r in rows]
    return Matched(renamed, column_of, warnings)


def match_columns(ir: Policy, columns: list[str], keep: tuple[str, ...] = (),
                  table: bool = True) -> tuple[dict[str, str], list[str]]:
    """(input name -> the file's column, a warning per table column matching no input):
    the header check of `match`, for a reader holding columns rather than rows."""
    label_of = input_labels(ir)
    names = {i.name for i in ir.inputs}
    column_of: dict[str, str] = {}
    for column in columns:
        if column in names:
            column_of[column] = column
    for column in columns:
        name = label_of.get(str(column).strip()) if column not in names else None
        if name is not None:
            column_of.setdefault(name, column)
    missing = [i for i in ir.inputs if i.name not in column_of]
    if missing and table:  # JSON objects have no header: each lacks its own fields
        shown = "the file's columns: " + (", ".join(map(str, columns)) or "none")
        problems = [DataProblem(None, None, f"no column for input {i.name}"
                                + (f" ({i.label.strip()})" if i.label and i.label.strip() else ""))
                    for i in missing]
        if len(problems) == 1:  # one line says it all; else the columns once, after the inputs
            problems = [DataProblem(None, None, f"{problems[0].message}; {shown}")]
        else:
            problems.append(DataProblem(None, None, shown))
        raise DataError(problems)
    if not table:
        return column_of, []
    used = set(column_of.values())
    warnings = []
    for c in columns:
        if c in used or c in keep:
            continue
        name = label_of.get(str(c).strip())
        why = f" (input {name} is read from the column {column_of[name]})" if name else ""
        warnings.append(f"column {c}: unknown field, ignored{why}")
    return column_of, warnings


def name_columns(err: DataError, column_of: dict[str, str]) -> DataError:
    """The same problems with each field named as the file's column (`迟到次数 (late)`)."""
    def named(p: DataProblem) -> DataProblem:
        column = column_of.get(p.field) if p.field is not None else None
        if column is None or column == p.field:
            return p
        return DataProblem(p.row, f"{column} ({p.field})", p.message)
    return DataError([named(p) for p in err.problems], err.rows)
