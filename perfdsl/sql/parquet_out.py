"""A run's Parquet output written by DuckDB itself (`COPY … TO … (FORMAT parquet)`).

Handing 10M result rows to polars in batches, writing each as a part and merging the
parts took a quarter of a budget_engineer run; DuckDB writes the same cells from its own
table in parallel, in input order (the result table is stored in that order and read
without sorting). The cells are those perfdsl.frame_io writes from the batches: a number
as an exact DECIMAL showing at least its column's `places` decimals, the flags as a list
of labels, the columns titled as the layout says. Anything else (a list output, a flag
label holding `;`) gives None and the batches are written as before. A --keep column is
its cells as read, text (perfdsl.sql.read.Loaded.kept_text), beside the outputs.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from sqlglot import exp

from .. import io
from .query import FLAGS


def parquet_columns(ran, columns: list[str], layout: io.Layout, labels: list[str]) -> list[tuple[str, exp.Expression]] | None:
    """(title, cell) of each output column over the result table, or None."""
    if FLAGS in columns and any(";" in label for label in labels):
        return None
    titles = layout.titles or columns
    io.check_columns(titles)
    at = {name: k for k, (name, _) in enumerate(ran.out)}
    out = []
    for name, title in zip(columns, titles):
        if name in ran.kept_columns:  # a --keep column: its text as read (read.Loaded.kept_text)
            out.append((title, exp.column(ran.kept_columns[name], quoted=True)))
            continue
        value, shown = ran.out[at[name]][1], ran.shown[at[name]]
        cell = ran.cell(at[name])
        if name == FLAGS:
            cell = exp.Case(ifs=[exp.If(this=exp.EQ(this=cell, expression=exp.Literal.string("")),
                                        true=exp.Cast(this=exp.Array(expressions=[]), to=exp.DataType.build("VARCHAR[]")))],
                            default=exp.Anonymous(this="string_split", expressions=[cell.copy(), exp.Literal.string(";")]))
        elif value.kind == "list" or (value.num is not None and shown is None):
            return None
        elif value.num is not None and layout.places.get(name, 0) > value.num.scale:
            cell = exp.Cast(this=cell, to=exp.DataType.build(f"DECIMAL(38,{layout.places[name]})"))
        out.append((title, cell))
    return out


def copy_parquet(con, table: exp.Table, cells: list[tuple[str, exp.Expression]], path: str) -> None:
    """The cells of every row of `table`, in its stored order, into the Parquet file `path`,
    replaced only once it is whole (a temporary file beside it, renamed)."""
    target = Path(path)
    select = exp.Select(expressions=[exp.alias_(e, exp.to_identifier(t, quoted=True)) for t, e in cells])
    select.set("from_", exp.From(this=table))
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    try:
        con.execute(f"COPY ({select.sql('duckdb')}) TO {exp.Literal.string(tmp).sql('duckdb')} (FORMAT parquet)")
        if target.exists():
            import shutil
            shutil.copymode(target, tmp)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
