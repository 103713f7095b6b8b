"""What a run writes, decided once for every format and backend (LANGUAGE.md §12.2).

The columns (key, kept input columns, every named value, flags, explanation), their
titles (`--headers labels` uses each label, and the policy's language for the fixed
columns) and how many decimals each column shows. A value made by `round(x, d)` is
written with exactly d decimals (`round(10000, 2)` → 10000.00): the writer learns d
from the IR — a definition whose expression is a rounding with constant places (or an
`if` whose branches all round to the same places) — so CSV, XLSX and JSON agree, and
the columnar backend's numbers are written as the python backend's.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .ir import Const, Fn, If, Policy, Prim
from .language import policy_language as language

ROUNDING = (Fn.ROUND_HALF_UP, Fn.ROUND_HALF_EVEN, Fn.ROUND_FLOOR, Fn.ROUND_CEIL)
FIXED = {  # column -> (English title, Chinese title)
    "flags": ("flags", "标记"),
    "explanation": ("explanation", "说明"),
    "rank": ("rank", "排名"),
}


def _places(expr) -> int | None:
    """d when every value of `expr` is made by a rounding to d places, else None."""
    if isinstance(expr, Prim) and expr.fn in ROUNDING and len(expr.args) == 2 and isinstance(expr.args[1], Const):
        return int(expr.args[1].value)
    if isinstance(expr, If):
        then, other = _places(expr.then), _places(expr.else_)
        return then if then is not None and then == other else None
    return None


def round_places(ir: Policy) -> dict[str, int]:
    """Each definition written with a fixed number of decimals (d > 0 only: d = 0 is
    already a whole number as written)."""
    out = {}
    for d in ir.definitions:
        body = d.indicator.computed if d.indicator is not None else d.expr
        places = _places(body) if body is not None else None
        if places:
            out[d.name] = places
    return out


@dataclass
class Plan:
    columns: list[str]                     # the names rows are keyed by
    titles: list[str]                      # the header written for each column
    places: dict[str, int] = field(default_factory=dict)
    language: str = "en"


def kept_columns(ir: Policy, keep: list[str]) -> list[str]:
    """`--keep` as output columns: an input named by its name or label is written under
    its name (titled by its label with `--headers labels`, so the file reads back as
    input); any other column of the file under its own title. The key is there anyway."""
    by_label = {i.label.strip(): i.name for i in ir.inputs if i.label and i.label.strip()}
    names = {i.name for i in ir.inputs}
    out = []
    for k in keep:
        column = k if k in names else by_label.get(k, k)
        if column != ir.key and column not in out:
            out.append(column)
    return out


def plan(ir: Policy, *, explain: bool = False, keep: list[str] = (), headers: str = "names") -> Plan:
    """The output columns of a run: the key, `keep` (input columns copied as read), every
    named value (§11's order), flags, and with `explain` the explanation."""
    lang = language(ir)
    columns = [ir.key] if ir.key else []
    columns += [k for k in keep if k not in columns]
    columns += [n for n in ir.output_names() if n not in columns]
    columns.append("flags")
    if explain:
        columns.append("explanation")
    titles = columns if headers == "names" else label_titles(ir, columns, lang)
    return Plan(columns, list(titles), round_places(ir), lang)


def label_titles(ir: Policy, columns: list[str], lang: str) -> list[str]:
    """Each column titled by its label where it has one; a label already used keeps the name."""
    labels = {i.name: i.label for i in ir.inputs} | {d.name: d.label for d in ir.definitions}
    titles, used = [], set()
    for c in columns:
        title = FIXED[c][lang == "zh"] if c in FIXED and c not in labels else (labels.get(c) or c)
        if title in used or (title != c and title in columns):
            title = c
        used.add(title)
        titles.append(title)
    return titles
