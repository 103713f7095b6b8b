"""A columnar run's results as perfdsl.summary reads them (cohort_counts.Columns): the
final tiers and group fields as polars columns, the tiers before the cohort stage, and
one subject at a time as a result (FrameRow) where a rule reads its group's first member.
A column is turned into Python values only where it is read."""
from __future__ import annotations

from collections.abc import Mapping


def cohort_columns(ir, frame, table, result, moved: bool):
    """The run's results for perfdsl.summary as cohort_counts.Columns: final tiers, group
    fields and, with `moved`, the tiers before the cohort stage."""
    import polars as pl

    from .cohort_counts import Columns, grouped_by
    sets = {d.name: d.tiers.names() for d in ir.definitions if d.tiers is not None and d.name in frame.columns}
    # the row number keeps the height where the policy has no tier sets and no groups
    columns = frame.select(pl.int_range(pl.len()).alias("~row"), *sets).with_columns(
        table.frame.select(grouped_by(ir)))
    if moved:
        columns = columns.with_columns(_individual_tiers(ir, table, result, sets))
    values = _Cells(frame)
    record = _Cells(table.frame, frozenset(i.name for i in ir.inputs if i.type.kind == "num"))
    return Columns(columns, lambda i: FrameRow(_RowView(values, i), _RowView(record, i)))


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


class _Cells:
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
    """One row of _Cells as a read-only dict."""
    __slots__ = ("columns", "i")

    def __init__(self, columns: _Cells, i: int):
        self.columns, self.i = columns, i

    def __getitem__(self, name):
        if name not in self.columns.names:
            raise KeyError(name)
        return self.columns.value(name, self.i)

    def __iter__(self):
        return iter(self.columns.names)

    def __len__(self):
        return len(self.columns.names)


class FrameRow:
    """An output row of the columnar or a SQL backend seen as a result by perfdsl.summary
    (its values and its record; the tiers before the cohort stage are given apart)."""
    __slots__ = ("values", "record")

    def __init__(self, values, record):
        self.values, self.record = values, record
