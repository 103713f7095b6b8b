"""Mutating fuzzer for the checker: bundled policies with tokens deleted, duplicated
or swapped, random Unicode inserted, or the text truncated. Every mutant must end in
a clean check or in diagnostics with positions — never an internal exception.

Used by tests/test_fuzz.py (a short run in CI) and bench/fuzz.py (a long run).
"""
from __future__ import annotations

import re

from hypothesis import strategies as st

from .check import compile_file

_TOKEN = re.compile(r'"(?:\\.|[^"\\\n])*"|\d+(?:\.\d+)?%?|\w+|\.\.|->|[^\s\w]', re.UNICODE)
_ODD = "\x00\u202e\u200b\ufeff\U0001f600{}%\"\\\n#|：，（）【】…"


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


@st.composite
def mutants(draw, sources: list[str]) -> str:
    """One mutated policy text."""
    text = draw(st.sampled_from(sources))
    parts = re.split(r"(\s+)", text)
    for _ in range(draw(st.integers(1, 4))):
        if not parts:
            break
        op = draw(st.sampled_from(["delete", "duplicate", "swap", "insert", "truncate", "replace"]))
        i = draw(st.integers(0, len(parts) - 1))
        if op == "delete":
            del parts[i]
        elif op == "duplicate":
            parts.insert(i, parts[i])
        elif op == "swap":
            j = draw(st.integers(0, len(parts) - 1))
            parts[i], parts[j] = parts[j], parts[i]
        elif op == "insert":
            parts.insert(i, draw(st.text(alphabet=st.one_of(st.sampled_from(_ODD), st.characters()), min_size=1, max_size=4)))
        elif op == "truncate":
            parts = parts[:i]
        else:
            toks = tokens(text)
            if toks:
                parts[i] = draw(st.sampled_from(toks))
    return "".join(parts)


def check_mutant(path, text: str) -> list:
    """Check one mutant; raise AssertionError if the checker misbehaves."""
    result = compile_file(path, text)
    for d in result.diagnostics:
        assert d.span.line >= 1 and d.span.col >= 1, d
    if result.policy is None and not result.module:
        assert any(d.is_error for d in result.diagnostics), "rejected without an error"
    return result.diagnostics
