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
interpreter (terms.py); sentences.py words every step in any language from the
templates of phrases.toml, the only place that holds words.
"""
from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass, fields, is_dataclass, replace
from decimal import Decimal

from ..language import policy_language as language
from ..numbers import decimal_text
from .build import Step, build
from .sentences import Sentences
from .words import fmt

__all__ = ["VERSION", "Explanation", "Step", "explanation", "steps", "render", "as_json", "dumps", "language", "fmt"]

VERSION = 1  # of the JSON written by `explain --format json` and `run --trace`


_WORDS: dict = {}


def _words(ir, lang: str | None = None):
    """The wording of one policy (its language, labels, decimals), made once per IR and
    language; `lang` defaults to the policy's own."""
    lang = lang or language(ir)
    cached = _WORDS.get((id(ir), lang))
    if cached is not None and cached.policy is ir:
        return cached
    words = Sentences(ir, "zh" if lang == "zh" else "en")
    if len(_WORDS) > 64:
        _WORDS.clear()
    _WORDS[(id(ir), lang)] = words
    return words


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
        ir, memo = self.policy, {}
        return {
            "version": VERSION, "policy": ir.name, "label": ir.label, "source_hash": ir.source_hash,
            "language": self.language, "key_field": ir.key, "key": self.key,
            "values": dict(self.values), "flags": list(self.flags),
            "steps": [_step_json(s, memo) for s in self.steps],
        }


def explanation(result, language: str | None = None) -> Explanation:
    """The explanation of a traced result (Result.explanation() also explains untraced ones),
    in the policy's language or in `language` ("zh" or "en")."""
    ir = getattr(result.policy, "ir", result.policy)
    words = _words(ir, language)
    out = tuple(replace(s, text=words.text(s)) for s in build(result))
    key = result.record.get(ir.key) if ir.key else None
    values = {n: result.values[n] for n in ir.output_names() if n in result.values}
    return Explanation(ir, words.language, key, values, tuple(result.flags), out)


def steps(result) -> list[Step]:
    return list(explanation(result).steps)


def render(result) -> str:
    return explanation(result).text


def as_json(result) -> dict:
    return explanation(result).as_json()


# ---- JSON ----------------------------------------------------------------------------------
def _step_json(s: Step, memo: dict) -> dict:
    return {"kind": s.kind, "name": s.name, "label": s.label, "line": s.line, "depth": s.depth,
            "inputs": dict(s.inputs), "value": s.value, "text": s.text, "data": _data(s, memo)}


# the lines under a `distribute` step share its decision's group record: written there once
_SHARED = {"when", "bounds", "pinned", "cut"}


def _data(s: Step, memo: dict) -> dict:
    """The facts that are data (numbers, names, decisions), not the Terms shown in text."""
    from .terms import Term
    return {k: _plain(v, memo) for k, v in s.facts.items()
            if not isinstance(v, Term) and not (k == "group" and s.kind in _SHARED)}


def _plain(v, memo: dict):
    from .terms import Term
    if isinstance(v, Term):
        return None
    if is_dataclass(v) and not isinstance(v, type):
        out = memo.get(id(v))
        if out is None:
            out = memo[id(v)] = {f.name: _plain(getattr(v, f.name), memo) for f in fields(v)}
        return out
    if isinstance(v, dict):
        return {str(k): _plain(x, memo) for k, x in v.items() if not isinstance(x, Term)}
    if isinstance(v, (list, tuple)):
        return [_plain(x, memo) for x in v]
    return v


def dumps(obj, indent: int | None = None) -> str:
    """JSON text with exact decimals (number literals with every digit, no float) and
    every control, bidi or line-separator character escaped, so the text is safe to
    print and reads back to the same strings.

    The C encoder does the work: a Decimal becomes a marked string (the mark holds a
    random nonce, so no text from data can pose as one) that is then unquoted."""
    nonce = secrets.token_hex(8)

    def number(o):
        if isinstance(o, Decimal):
            return f"\x00{nonce}:{decimal_text(o) if o.is_finite() else str(o)}\x00"
        return str(o)

    text = json.dumps(obj, ensure_ascii=False, indent=indent, default=number)
    text = re.sub(r'"\\u0000' + nonce + r':([-0-9.]+)\\u0000"', r"\1", text)
    return _UNSAFE.sub(lambda m: "\\u%04x" % ord(m.group()), text)


# printable only as escapes: C1 controls, bidi and line separators, invisible format
# characters, lone surrogates (C0 controls are escaped by the encoder)
_UNSAFE = re.compile("[\x7f-\x9f\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb"
                     "\ud800-\udfff]")
