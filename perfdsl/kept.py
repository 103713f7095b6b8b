"""`--keep`: columns of the data file copied beside a run's outputs, as read (an input
by its name or label, or any other column of the file). A kept column must exist and
must not be an output, which is written anyway; each is one error naming the file's
columns, never one per row."""
from __future__ import annotations

from . import io


def check_keep(keep: tuple[str, ...], ir) -> None:
    taken = set(ir.output_names()) | {"flags", "explanation"}
    bad = [k for k in keep if k in taken]
    if bad:
        raise io.DataError([io.DataProblem(None, k, "--keep names an output column, which is written anyway")
                            for k in bad])


def no_such_columns(missing: list[str], columns) -> None:
    """DataError naming each --keep column the file does not have, with the file's columns."""
    if missing:
        raise io.DataError([io.DataProblem(None, k, "--keep: no such column; the file's columns: "
                                           + ", ".join(map(str, columns))) for k in missing])


def copy_kept(rows: list[dict], read, keep: tuple[str, ...]) -> None:
    """Copy the --keep columns (an input by name, or another column of the file) of a
    run_read.Read into the output rows, as read."""
    source = {k: read.column_of.get(k) or (k if k in read.raw.columns else None) for k in keep}
    no_such_columns([k for k in keep if source[k] is None], read.raw.columns)
    for row, raw in zip(rows, read.raw) if keep else ():
        for k in keep:
            if k not in row:
                row[k] = raw.values.get(source[k])


def check_kept(table, keep) -> None:
    """DataError for each --keep column a checked table (perfdsl.frame_io) does not have."""
    no_such_columns([k for k in keep if k not in table.kept], table.all_columns)


def with_kept(frame, table, keep):
    """The --keep columns beside the outputs: an input's column or another column of the file, as read."""
    import polars as pl
    check_kept(table, keep)
    return frame.with_columns(pl.DataFrame([table.kept[k].alias(k) for k in keep]))
