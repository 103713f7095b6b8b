"""Where each name is declared and where it is used, across a policy and its imports.

The AST keeps a span for every use of a name (expressions, rule tiers, rank keys,
example fields) but a declaration's span starts at its keyword, so the name's own span
is found in the source text right after that keyword. Tier names are symbols too:
they are declared by a band of a tier set and used in rules, quotas and expressions.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..check.resolve import free_names
from ..diagnostics import Span
from ..syntax import ast as A
from .positions import contains

# Declarations whose name follows one keyword; the symbol kind of each.
DECLARED = {A.Input: "input", A.Let: "let", A.Score: "score", A.Outcome: "outcome", A.Indicator: "indicator",
            A.Tiers: "tiers", A.Def: "def", A.Table: "table"}
TYPE_NAMES = {"bool", "int", "decimal", "text", "list"}
_AFTER_KEYWORD = re.compile(r"\w+(?:[ \t\r\n]|#[^\n]*)+([^\W\d]\w*)")
_GROUP = re.compile(r"(?<!\w)(?:per|每|分组)[ \t]+([^\W\d]\w*)")


@dataclass(frozen=True)
class Symbol:
    name: str
    kind: str  # input let score outcome indicator tiers def table tier
    item: object  # the declaring AST item (for a tier: its Tiers)
    span: Span  # the name where it is declared
    band: object = None  # for a tier: its TierLine


@dataclass(frozen=True)
class Use:
    name: str
    span: Span


@dataclass
class Index:
    symbols: dict[str, list[Symbol]] = field(default_factory=dict)
    uses: list[Use] = field(default_factory=list)

    def declare(self, sym: Symbol) -> None:
        self.symbols.setdefault(sym.name, []).append(sym)

    def at(self, file: str, line: int, col: int) -> str | None:
        """The name whose declaration or use covers the point, if any."""
        for syms in self.symbols.values():
            for s in syms:
                if s.span.file == file and contains(s.span, line, col):
                    return s.name
        for u in self.uses:
            if u.span.file == file and contains(u.span, line, col):
                return u.name
        return None

    def lookup(self, name: str) -> list[Symbol]:
        """Declarations of a name: a value, input, def or table first, else a tier."""
        syms = self.symbols.get(name, [])
        values = [s for s in syms if s.kind != "tier"]
        return values or syms


def _normalized(text: str) -> str:
    return text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


class _Locator:
    """Finds a declared name after its keyword in the (parser-normalized) file text."""

    def __init__(self, texts: dict[str, str]):
        self.texts = {f: _normalized(t) for f, t in texts.items()}
        self.starts: dict[str, list[int]] = {}

    def _line_starts(self, file: str) -> list[int]:
        if file not in self.starts:
            text = self.texts.get(file, "")
            self.starts[file] = [0] + [i + 1 for i, ch in enumerate(text) if ch == "\n"]
        return self.starts[file]

    def name_span(self, item_span: Span, name: str) -> Span:
        starts = self._line_starts(item_span.file)
        text = self.texts.get(item_span.file, "")
        if item_span.line - 1 < len(starts):
            offset = starts[item_span.line - 1] + item_span.col - 1
            m = _AFTER_KEYWORD.match(text, offset)
            if m and m.group(1) == name:
                at = m.start(1)
                line = next(i for i in range(len(starts) - 1, -1, -1) if starts[i] <= at)
                col = at - starts[line] + 1
                return Span(item_span.file, line + 1, col, line + 1, col + len(name))
        return Span(item_span.file, item_span.line, item_span.col, item_span.line, item_span.col + 1)

    def group_spans(self, item_span: Span, name: str) -> list[Span]:
        """`per FIELD` on the first line of a quota, distribute or rank setting (the AST keeps
        the field's name but not its place)."""
        lines = self.texts.get(item_span.file, "").split("\n")
        if not 0 < item_span.line <= len(lines):
            return []
        line = lines[item_span.line - 1]
        return [Span(item_span.file, item_span.line, m.start(1) + 1, item_span.line, m.end(1) + 1)
                for m in _GROUP.finditer(line, item_span.col - 1) if m.group(1) == name]


def _at_start(span: Span, name: str) -> Span:
    """A name written at the start of a node (a band, a tier bound, a `given` field)."""
    return Span(span.file, span.line, span.col, span.line, span.col + len(name))


def _rank_uses(rank: A.RankSpec | None) -> list[Use]:
    return [Use(k.name, _at_start(k.span, k.name)) for k in rank.keys] if rank else []


def _item_uses(item) -> list[Use]:
    """Every use of a name in one item, besides the names its expressions read."""
    uses: list[Use] = []
    if isinstance(item, (A.Veto, A.LimitRule, A.Quota)):
        uses.append(Use(item.tier, item.tier_span))
    if isinstance(item, (A.Quota, A.Distribute)):
        uses += _rank_uses(item.options.rank)
    if isinstance(item, A.RankSetting):
        uses += _rank_uses(item.rank)
    if isinstance(item, A.Distribute):
        bounds = list(item.bounds) + [b for w in item.whens for b in w.bounds]
        uses += [Use(b.tier, _at_start(b.span, b.tier)) for b in bounds]
    if isinstance(item, A.Monotone):
        uses += [Use(item.target, item.target_span), Use(item.input, item.input_span)]
    if isinstance(item, A.Input):
        t = item.type
        while isinstance(t, A.ListType):
            t = t.elem
        if isinstance(t, A.SimpleType) and t.name not in TYPE_NAMES:
            uses.append(Use(t.name, _at_start(t.span, t.name)))  # `list of grade`
    if isinstance(item, A.Example):
        uses += [Use(a.name, _at_start(a.span, a.name)) for a in item.given]
        uses += [Use(e.name, _at_start(e.span, e.name)) for e in item.expect if e.cond is None]
        if item.rows:  # the header row of a cohort table names inputs
            head = item.rows[0]
            uses += [Use(c, s) for c, s in zip(head.cells, head.cell_spans) if c]
    return uses


def _bound(item) -> frozenset:
    if isinstance(item, A.Def):
        return frozenset(item.params)
    if isinstance(item, A.Table):
        return frozenset([item.param])
    return frozenset()


def build(items, texts: dict[str, str]) -> Index:
    """The index of a program's items (every file's), with texts by file name."""
    index, locate = Index(), _Locator(texts)
    for item in items:
        kind = DECLARED.get(type(item))
        if kind is not None:
            index.declare(Symbol(item.name, kind, item, locate.name_span(item.span, item.name)))
        if isinstance(item, A.KeySetting):
            index.uses.append(Use(item.name, locate.name_span(item.span, item.name)))
        if isinstance(item, A.Tiers):
            for band in item.lines:
                index.declare(Symbol(band.tier, "tier", item, _at_start(band.span, band.tier), band))
        index.uses += [Use(n, s) for n, s in free_names(item, _bound(item))]
        index.uses += _item_uses(item)
        groups = {getattr(item, "group", None), getattr(getattr(item, "rank", None), "group", None)}
        for group in groups - {None}:
            index.uses += [Use(group, s) for s in locate.group_spans(item.span, group)]
    return index
