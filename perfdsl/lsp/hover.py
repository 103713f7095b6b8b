"""Hover text: what a policy writer needs beside a name without leaving the line.

The declaration line and the label come from the source, so they show even while the
policy has errors; the type and the static range come from the checked IR (the same
ranges the checker warns with), and a tier set lists its bands as written.
"""
from __future__ import annotations

from ..ir import Interval
from ..numbers import decimal_text
from .analysis import Analysis
from .symbols import Symbol

_KINDS = {"input": "input", "let": "value (let)", "score": "score", "outcome": "outcome",
          "indicator": "indicator", "tiers": "tier set", "def": "function", "table": "band table",
          "tier": "tier"}


def _lines(an: Analysis, file: str) -> list[str]:
    """A file's lines as the parser numbered them (no BOM; CRLF and CR are line ends)."""
    text = an.texts.get(file, an.text if file == an.path else "")
    return text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _source_line(an: Analysis, file: str, line: int) -> str:
    lines = _lines(an, file)
    return lines[line - 1].strip() if 0 < line <= len(lines) else ""


def _snippet(an: Analysis, file: str, line: int) -> str:
    return f"```perf\n{_source_line(an, file, line)}\n```"


def _range_text(r: Interval | None) -> str | None:
    return None if r is None or (r.lo is None and r.hi is None) else str(r)


def _typed(an: Analysis, sym: Symbol, policy) -> list[str]:
    """Type and static range from the IR, when the policy checked."""
    if policy is None:
        if sym.kind not in ("input", "let", "score", "outcome", "indicator"):
            return []
        if an.result is not None and an.result.module:
            return ["*type and range: shown once a policy importing this module is open*"]
        return ["*type and range: known once the policy checks without errors*"]
    out = []
    if sym.kind == "input":
        inp = next((i for i in policy.inputs if i.name == sym.name), None)
        if inp is not None:
            kind = "int" if inp.is_int else str(inp.type)
            if inp.choices:
                kind = "one of " + ", ".join(f"“{c}”" for c in inp.choices)
            out.append(f"type: `{kind}`")
            if (r := _range_text(inp.range)) is not None:
                out.append(f"range: `{r}`" + (" (each element)" if inp.type.kind == "list" else ""))
            if (n := _range_text(inp.length)) is not None:
                out.append(f"length: `{n}`")
        return out
    d = next((d for d in policy.definitions if d.name == sym.name), None)
    if d is not None:
        out.append(f"type: `{d.type}`")
        if d.type.kind == "num":
            out.append(f"static range: `{d.range}`")
        if d.weight is not None:
            out.append(f"weight: `{decimal_text(d.weight * 100)}%`")
        if d.max is not None:
            out.append(f"max: `{decimal_text(d.max)}`")
    return out


def _span_text(an: Analysis, span) -> str:
    """The text a one-line span covers, as written."""
    lines = _lines(an, span.file)
    if span.line != span.end_line or not 0 < span.line <= len(lines):
        return ""
    return lines[span.line - 1][span.col - 1:span.end_col - 1]


def _band_text(an: Analysis, band) -> str:
    return _span_text(an, band.span) or f"{band.tier} {band.op or 'otherwise'} …"


def _bands(an: Analysis, tiers) -> list[str]:
    head = "bands (ascending: lower is better):" if tiers.ascending else "bands:"
    return [head] + [f"- `{_band_text(an, b)}`" for b in tiers.lines]


def hover_markdown(an: Analysis, sym: Symbol, policy=None) -> str:
    """`policy` is the checked IR to take types from: the buffer's own, or for a module
    that of an open policy importing it."""
    item = sym.item
    where = "" if sym.span.file == an.path else f" — from `{sym.span.file}`"
    if sym.kind == "tier":
        parts = [f"**{sym.name}** · tier of `{item.name}`{where}", f"`{_band_text(an, sym.band)}`"]
        parts += _bands(an, item)
        return "\n\n".join(parts[:2]) + "\n\n" + "\n".join(parts[2:])
    parts = [_snippet(an, item.span.file, item.span.line)]
    label = getattr(item, "label", None)
    head = f"**{sym.name}** · {_KINDS.get(sym.kind, sym.kind)}{where}"
    parts.append(head + (f" · “{label}”" if label else ""))
    typed = _typed(an, sym, policy if policy is not None else an.policy)
    if typed:
        parts.append(" · ".join(typed))
    if sym.kind == "def":
        parts.append("parameters: " + ", ".join(f"`{p}`" for p in item.params))
    if sym.kind == "tiers":
        parts.append("\n".join(_bands(an, item)))
    return "\n\n".join(parts)
