"""Completion and the document outline.

Keywords are read from the grammar's keyword terminals, so both languages are offered
and a keyword added to the grammar is offered without touching this file. Names come
from the last version of the buffer that parsed: while a line is half typed the file
does not parse, and that is exactly when completion is asked for.
"""
from __future__ import annotations

import re
from functools import lru_cache

from lsprotocol import types as T

from ..check.types import BUILTINS
from ..ir import group_text
from ..resources import grammar_path
from ..syntax import ast as A
from .analysis import Analysis
from .positions import Text

_KEYWORD_RULE = re.compile(r"^[A-Z_]+\.2:\s*/\((.*)\)\(\?!\\w\)/", re.M)
_KIND = {"input": T.CompletionItemKind.Field, "let": T.CompletionItemKind.Variable,
         "score": T.CompletionItemKind.Variable, "outcome": T.CompletionItemKind.Variable,
         "indicator": T.CompletionItemKind.Variable, "tiers": T.CompletionItemKind.Enum,
         "def": T.CompletionItemKind.Function, "table": T.CompletionItemKind.Function,
         "tier": T.CompletionItemKind.EnumMember}


@lru_cache(maxsize=1)
def keywords() -> tuple[str, ...]:
    """Every keyword of the grammar, English and 中文 (`rank\\s+by` offered as `rank by`)."""
    try:
        text = grammar_path().read_text(encoding="utf-8")
    except OSError:
        return ()
    words: list[str] = []
    for alternatives in _KEYWORD_RULE.findall(text):
        for word in alternatives.split("|"):
            word = word.replace(r"\s+", " ")
            if word not in words:
                words.append(word)
    return tuple(words)


_TIER_WANTED = re.compile(r"(?:->|→|(?<!\w)(?:at\s+most|至多|quota|名额)|[=!]=)\s*\w*$")


def wants_tier(line_before: str) -> bool:
    """Whether the text before the cursor expects a tier name: after `->`, `at most`,
    `quota`, `==` or `!=` (and their 中文 forms)."""
    return _TIER_WANTED.search(line_before) is not None


def completions(an: Analysis | None, tiers_first: bool = False) -> list[T.CompletionItem]:
    """Names of the policy and its imports, built-in functions, then keywords; tier names
    lead where a tier is expected."""
    items: list[T.CompletionItem] = []
    seen: set[str] = set()

    def add(label: str, kind, detail: str | None, rank: str) -> None:
        if label not in seen:
            seen.add(label)
            items.append(T.CompletionItem(label=label, kind=kind, detail=detail, sort_text=rank + label))

    if an is not None:
        for name, syms in an.index.symbols.items():
            sym = syms[0]
            if sym.kind == "tier":
                add(name, _KIND["tier"], f"tier of {sym.item.name}", "!" if tiers_first else "1")
            else:
                label = getattr(sym.item, "label", None)
                add(name, _KIND[sym.kind], sym.kind + (f" “{label}”" if label else ""), "0")
    for name in sorted(BUILTINS | {"last", "flagged"}):
        add(name, T.CompletionItemKind.Function, "built-in function", "2")
    for word in keywords():
        add(word, T.CompletionItemKind.Keyword, "keyword", "3")
    return items


# ---- outline ----------------------------------------------------------------------
_RULE_KIND = T.SymbolKind.Event


def _describe(item) -> tuple[str, str | None, T.SymbolKind] | None:
    """The outline entry of an item: name, detail, kind; None for items not listed."""
    if isinstance(item, A.Input):
        return item.name, item.label, T.SymbolKind.Field
    if isinstance(item, A.Indicator):
        return item.name, item.label, T.SymbolKind.Property
    if isinstance(item, (A.Score, A.Outcome)):
        return item.name, item.label, T.SymbolKind.Variable
    if isinstance(item, A.Let):
        return item.name, None, T.SymbolKind.Variable
    if isinstance(item, A.Tiers):
        return item.name, item.label, T.SymbolKind.Enum
    if isinstance(item, (A.Def, A.Table)):
        return item.name, getattr(item, "label", None), T.SymbolKind.Function
    if isinstance(item, A.Veto):
        return f"veto → {item.tier}", item.reason, _RULE_KIND
    if isinstance(item, A.LimitRule):
        return f"limit → at most {item.tier}", item.reason, _RULE_KIND
    if isinstance(item, A.Downgrade):
        return f"downgrade by {item.steps.value}", item.reason, _RULE_KIND
    if isinstance(item, A.Quota):
        return f"quota {item.tier}", None, _RULE_KIND
    if isinstance(item, A.Distribute):
        return "distribute" + (f" per {group_text(item.group)}" if item.group else ""), None, _RULE_KIND
    if isinstance(item, A.Flag):
        return f"flag “{item.label}”", None, _RULE_KIND
    if isinstance(item, (A.Property, A.Monotone)):
        return f"property “{item.label or item.target}”", None, T.SymbolKind.Boolean
    if isinstance(item, A.Example):
        return f"example “{item.label}”", "cohort" if item.cohort else None, T.SymbolKind.Method
    return None


def outline(an: Analysis, text: Text) -> list[T.DocumentSymbol]:
    """This buffer's items (not its imports') in source order; a tier set holds its bands."""
    out = []
    names = {id(s.item): s for syms in an.index.symbols.values() for s in syms if s.kind != "tier"}
    for item in an.items:
        if item.span.file != an.path:
            continue
        entry = _describe(item)
        if entry is None:
            continue
        name, detail, kind = entry
        whole = text.range(item.span)
        sym = names.get(id(item))
        chosen = text.range(sym.span) if sym is not None else T.Range(start=whole.start, end=whole.start)
        children = None
        if isinstance(item, A.Tiers):
            children = [T.DocumentSymbol(name=b.tier, kind=T.SymbolKind.EnumMember, range=text.range(b.span),
                                         selection_range=text.range(b.span)) for b in item.lines]
        out.append(T.DocumentSymbol(name=name, detail=detail, kind=kind, range=whole,
                                    selection_range=chosen, children=children))
    return out
