"""The subject table: which columns, each cell's text, and each cell's sort position.

Sorting happens in the browser, but the order is decided here, in Python, with exact
decimals and the tier order (best first): every cell carries its column's dense rank as
an integer, so a click never compares 28-digit decimals as JavaScript floats or sorts
tiers alphabetically.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from ..ir import Ref
from ..numbers import decimal_text
from .model import main_tierset

SHOWN_KINDS = ("indicator", "score", "tiers", "outcome")  # lets are steps, not results


@dataclass
class Column:
    name: str
    title: str
    numeric: bool


@dataclass
class Cell:
    text: str
    order: int


@dataclass
class Line:
    depth: int  # indentation, capped for the stylesheet's classes
    kind: str   # the explanation step's kind (quota, placed, band, ...), for emphasis
    text: str


@dataclass
class Subject:
    cells: list[Cell]
    tier: str  # the main tier set's final tier ("" without tiers), for the tier filter
    explanation: list[Line]


def explanation_lines(result) -> list[Line]:
    """The subject's explanation as perfdsl.explain's steps, one line each."""
    from ..explain import explanation
    return [Line(min(s.depth, 4), s.kind, s.text) for s in explanation(result).steps]


def _lines(explained) -> list[Line]:
    if isinstance(explained, str):
        return [Line(0, "", line) for line in explained.splitlines()]
    return list(explained)


def columns(ir, keep=()) -> list[Column]:
    """The key, the --keep columns, each field a cohort rule groups by, an input a tier
    set bands by, the results (not lets), flags."""
    cols = []
    if ir.key:
        cols.append(Column(ir.key, _input_title(ir, ir.key), False))
    cols += [Column(k, _input_title(ir, k), False) for k in keep if k != ir.key]
    for rule in (*ir.quotas, *ir.distributes):
        for g in (rule.group if isinstance(rule.group, tuple) else (rule.group,)):
            if g is not None and all(c.name != g for c in cols):
                cols.append(Column(g, _input_title(ir, g), False))
    defs = {d.name: d for d in ir.definitions}
    for d in ir.definitions:
        by = d.tiers.by if d.tiers is not None else None
        if isinstance(by, Ref) and by.kind == "input" and all(c.name != by.name for c in cols):
            cols.append(Column(by.name, _input_title(ir, by.name), by.type.kind == "num"))
    for name in ir.output_names():
        d = defs[name]
        if d.kind in SHOWN_KINDS and all(c.name != name for c in cols):
            cols.append(Column(name, d.label or name, d.type.kind == "num"))
    cols.append(Column("flags", "", False))
    return cols


def _input_title(ir, name: str) -> str:
    return next((i.label or name for i in ir.inputs if i.name == name), name)


def cell_text(value, words) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return words["yes"] if value else words["no"]
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(cell_text(v, words) for v in value) + "]"
    return str(value)


def _sort_key(value, tier_index: dict | None):
    """(kind, value): numbers, then booleans, then text; empty cells last."""
    if value is None or value == "":
        return (9, "")
    if tier_index is not None and value in tier_index:
        return (0, Decimal(tier_index[value]))
    if isinstance(value, bool):
        return (2, Decimal(int(value)))
    if isinstance(value, Decimal):
        return (1, value)
    if isinstance(value, (int, float)):  # a kept column as the file has it
        return (1, Decimal(repr(value)) if isinstance(value, float) else Decimal(value))
    return (3, str(value))


def _dense_ranks(keys: list) -> list[int]:
    order = sorted(set(keys))
    position = {k: i for i, k in enumerate(order)}
    return [position[k] for k in keys]


def subjects(ir, results, words, explain=explanation_lines, kept=((), ()), progress=None) -> tuple[list[Column], list[Subject]]:
    """The table's columns and one Subject per result, in input order.

    `explain(result)` gives the explanation: Lines (explanation_lines, the default) or
    plain text, one line per line."""
    keep, kept_rows = kept
    cols = columns(ir, keep)
    tiers = {d.name: {t: i for i, t in enumerate(d.tiers.names())} for d in ir.definitions if d.tiers is not None}
    raw = []
    for i, r in enumerate(results):
        row = []
        for c in cols:
            if c.name == "flags":
                row.append("; ".join(r.flags))
            elif c.name in keep and c.name != ir.key:
                row.append(kept_rows[i].get(c.name))  # as the file has it
            else:
                row.append(r.values[c.name] if c.name in r.values else r.record.get(c.name))
        raw.append(row)
    cols[-1].title = words["flags"]
    ranks = [_dense_ranks([_sort_key(row[j], tiers.get(c.name)) for row in raw]) for j, c in enumerate(cols)]
    main = main_tierset(ir)
    out = []
    numbered = enumerate(results)  # explaining is the slow part (~2 ms a subject): a bar for large runs
    for i, r in (progress(numbered, len(results)) if progress else numbered):
        cells = [Cell(cell_text(raw[i][j], words), ranks[j][i]) for j in range(len(cols))]
        out.append(Subject(cells, r.values.get(main, "") if main else "", _lines(explain(r))))
    return cols, out
