"""Explanations: why each subject got each value, in the policy's own language.

    from perfdsl.explain import explanation
    ex = explanation(result)        # or result.explanation()
    ex.language                     # "zh" for a policy with Chinese labels, else "en"
    for step in ex.steps:           # ordered; each a Step:
        step.kind, step.name, step.label, step.line, step.inputs, step.value, step.depth, step.text
    ex.text                         # the lines joined, indented by depth (= result.explain())
    ex.as_json()                    # {"version": 1, ...}: what `explain --format json` and
                                    # `run --trace OUT.jsonl` write, one object per subject

Step kinds, in order: `subject` (the key); per indicator `indicator`, `base`, `adjust`
(one per line that moved the value), `bound` (a clamp/cap/floor that bit), `formula`;
per let/score/outcome `let`/`score`/`outcome`, then `term`s and a `sum` (a sum with
compound terms, `40% × 95 = 38`) or one `formula`; per tier set `tiers`, `band`, then
`downgrade`/`limit`/`veto` (each rule whose condition held, changed or not), `quota`,
and `distribute` followed by `when`, `bounds`, `pinned`, `cut` (each better tier's cut
that passed the subject over or took it) and `placed`; per flag `flag`; last `flags`.

Design: backends record only the control flow they took (runtime.trace: plain data);
build.py pairs it with the IR and re-evaluates sub-expressions with the reference
interpreter (terms.py); zh.py / en.py are the only places that word anything.
"""
from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass, fields, is_dataclass, replace
from decimal import Decimal

from ..numbers import decimal_text
from .build import Step, build
from .en import English
from .words import fmt

__all__ = ["VERSION", "Explanation", "Step", "explanation", "steps", "render", "as_json", "dumps", "language", "fmt"]

VERSION = 1  # of the JSON written by `explain --format json` and `run --trace`


def _is_chinese(text: str | None) -> bool:
    return bool(text) and any("\u4e00" <= ch <= "\u9fff" for ch in text)


def language(policy) -> str:
    """"zh" when the policy writes its labels, reasons or flags in Chinese, else "en"."""
    ir = getattr(policy, "ir", policy)
    texts = [ir.label] + [d.label for d in ir.definitions] + [i.label for i in ir.inputs] + [f.label for f in ir.flags]
    for d in ir.definitions:
        if d.indicator is not None:
            texts += [a.reason for a in d.indicator.adjustments]
        if d.tiers is not None:
            texts += [r.reason for r in d.tiers.rules]
    return "zh" if any(_is_chinese(x) for x in texts) else "en"


def _words(ir):
    if language(ir) == "zh":
        from .zh import Chinese
        return Chinese(ir)
    return English(ir)


@dataclass(frozen=True)
class Explanation:
    """One subject's explanation: its steps with their text, in the policy's language."""
    policy: object
    language: str
    key: object
    values: dict
    flags: tuple
    steps: tuple[Step, ...]

    @property
    def text(self) -> str:
        return "\n".join("  " * s.depth + s.text for s in self.steps)

    def as_json(self) -> dict:
        ir = self.policy
        return {
            "version": VERSION, "policy": ir.name, "label": ir.label, "source_hash": ir.source_hash,
            "language": self.language, "key_field": ir.key, "key": self.key,
            "values": dict(self.values), "flags": list(self.flags),
            "steps": [_step_json(s) for s in self.steps],
        }


def explanation(result) -> Explanation:
    """The explanation of a traced result (Result.explanation() also explains untraced ones)."""
    ir = getattr(result.policy, "ir", result.policy)
    words = _words(ir)
    out = tuple(replace(s, text=words.text(s)) for s in build(result))
    key = result.record.get(ir.key) if ir.key else None
    values = {n: result.values[n] for n in ir.output_names() if n in result.values}
    return Explanation(ir, language(ir), key, values, tuple(result.flags), out)


def steps(result) -> list[Step]:
    return list(explanation(result).steps)


def render(result) -> str:
    return explanation(result).text


def as_json(result) -> dict:
    return explanation(result).as_json()


# ---- JSON ----------------------------------------------------------------------------------
def _step_json(s: Step) -> dict:
    return {"kind": s.kind, "name": s.name, "label": s.label, "line": s.line, "depth": s.depth,
            "inputs": dict(s.inputs), "value": s.value, "text": s.text, "data": _data(s.facts)}


def _data(facts: dict) -> dict:
    """The facts that are data (numbers, names, decisions), not the Terms shown in text."""
    from .terms import Term
    out = {}
    for k, v in facts.items():
        if isinstance(v, Term):
            continue
        out[k] = _plain(v)
    return out


def _plain(v):
    from .terms import Term
    if isinstance(v, Term):
        return None
    if is_dataclass(v) and not isinstance(v, type):
        return {f.name: _plain(getattr(v, f.name)) for f in fields(v)}
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items() if not isinstance(x, Term)}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    return v


def dumps(obj, indent: int | None = None) -> str:
    """JSON text with exact decimals (number literals with every digit, no float) and
    every control, format or line-separator character escaped, so the text is safe to
    print and reads back to the same strings."""
    return _dump(obj, indent, 0)


def _dump(v, indent, level) -> str:
    if isinstance(v, bool) or v is None:
        return json.dumps(v)
    if isinstance(v, Decimal):
        return decimal_text(v) if v.is_finite() else json.dumps(str(v))
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return _string(v)
    if isinstance(v, dict):
        items = [f"{_string(str(k))}: {_dump(x, indent, level + 1)}" for k, x in v.items()]
        return _join(items, "{", "}", indent, level)
    if isinstance(v, (list, tuple)):
        return _join([_dump(x, indent, level + 1) for x in v], "[", "]", indent, level)
    return _string(str(v))


def _join(items, open_, close, indent, level) -> str:
    if not items:
        return open_ + close
    if indent is None:
        return open_ + ", ".join(items) + close
    pad, inner = " " * (indent * level), " " * (indent * (level + 1))
    return open_ + "\n" + ",\n".join(inner + x for x in items) + "\n" + pad + close


def _string(s: str) -> str:
    text = json.dumps(s, ensure_ascii=False)
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp", "Cs") for ch in text):
        text = "".join(f"\\u{ord(ch):04x}" if unicodedata.category(ch) in ("Cf", "Zl", "Zp", "Cs") and ord(ch) <= 0xFFFF
                       else ch for ch in text)
    return text
