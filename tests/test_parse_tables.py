"""The parser that runs the shipped tables (perfdsl/syntax/lalr.py) reads every file as
Lark does (issue 15 item 3: it replaced Lark at run time for start-up speed).

The reference is Lark itself, built from grammar/perf.lark with the same options and
the same AST callbacks. Both parse every .perf file of the repository and broken
variants of them (cut short, a character or a word dropped in or taken out): the same
AST and callback problems for every text that parses, the same diagnostic (position,
message, hint, expected terminals) for every text that does not.
"""
from __future__ import annotations

import random
from pathlib import Path

import pytest
from lark import Lark
from lark import Token as LarkToken
from lark.exceptions import UnexpectedCharacters, UnexpectedToken

from perfdsl.resources import grammar_path
from perfdsl.syntax import lalr, parse, tables

ROOT = Path(__file__).resolve().parent.parent
FILES = sorted(p for d in ("policies", "stdlib", "tests", "docs", "editors") for p in (ROOT / d).rglob("*.perf"))
INSERTS = ["{", "}", "(", ")", '"', "“", "=", "==", "-", "->", ":", ",", "..", "|", "#", "\n", "%", "1", "2.5",
           "x", "score", "rank by", "per", "得分", "按", " if ", "\u202e", "\u00a0", "；", "example defaults", "$"]


@pytest.fixture(scope="module")
def reference():
    """Lark's parser with the AST callbacks inlined, and its builder (reset per text)."""
    builder = parse._Builder("")
    return Lark(grammar_path().read_text(encoding="utf-8"), transformer=builder, **tables.OPTIONS), builder


def _lark_outcome(reference, text: str, file: str, monkeypatch) -> tuple:
    lark, builder = reference
    builder.file, builder.problems = file, []
    with monkeypatch.context() as m:
        m.setattr(parse, "Token", LarkToken)  # the callbacks test tokens by class
        try:
            return "ok", lark.parse(text), builder.problems
        except UnexpectedCharacters as err:
            problem = lalr.ParseError(err.line, err.column, err.pos_in_stream, None, err.allowed)
        except UnexpectedToken as err:
            problem = lalr.ParseError(err.line, err.column, err.token.start_pos, err.token, err.expected)
        return "error", parse._syntax_diagnostic(problem, file, text), sorted(problem.expected)


def _outcome(text: str, file: str) -> tuple:
    grammar = parse._tables()
    builder = parse._Builder(file)
    try:
        return "ok", lalr.parse(grammar, text, grammar.bind(builder), file), builder.problems
    except lalr.ParseError as err:
        return "error", parse._syntax_diagnostic(err, file, text), sorted(err.expected)


def _variants(text: str, rng: random.Random, n: int) -> list[str]:
    out = []
    for _ in range(n):
        i = rng.randrange(len(text) + 1)
        kind = rng.randrange(3)
        if kind == 0:
            out.append(text[:i])
        elif kind == 1:
            out.append(text[:i] + text[i + rng.randint(1, 6):])
        else:
            out.append(text[:i] + rng.choice(INSERTS) + text[i:])
    return out


def test_the_shipped_tables_are_loaded():
    assert parse._tables().shipped


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_file_and_its_broken_variants_parse_as_with_lark(path, reference, monkeypatch):
    text = parse.fold_fullwidth(path.read_text(encoding="utf-8").replace("\r\n", "\n"))
    rng = random.Random(path.name)
    for variant in [text] + _variants(text, rng, 12):
        assert _outcome(variant, "f.perf") == _lark_outcome(reference, variant, "f.perf", monkeypatch), variant


@pytest.mark.parametrize("text", [
    "", "   \n# only a comment\n", ";", "policy", "policy p {", "policy p { key }", "policy p { score = }",
    "policy p { input rank: int\n score s = rank by x }", "policy p { rank\n  by x }", "policy p { tiers t by s { a ≥ 1 } }",
    "policy p { example defaults { given a = 1 } example \"e\" { expect x = 1 } }", "@", "policy p { input x: int in 0..-",
    "policy p { let a = 1 -> 2 }", "policy p { let a = \"unterminated\n }", "policy p {\n  let a = 1 # c\n  let b = a.. }",
    "import \"m.perf\" policy p \"l\" { key id input id: text score s = if id == \"a\" then 1 else 2 }",
    "policy p { input score: int\n  score s = score + count }", "policy p { example\tdefaults { } 示例默认 { } }",
    "policy p { quota a at  most 10% rank by s desc then t ties share }", "policy p { examples \"e\" { } }",
    "policy p { indicator x weight 5 { base 1 deduct 1 per y up to 3 upto } }", "policy p { rank by }",
    "policy p { 得分 总分 = 得分a + 1 }", "policy p { let ascending = asc }", "policy p { rank\n}",
])
def test_edge_texts_parse_as_with_lark(text, reference, monkeypatch):
    assert _outcome(text, "f.perf") == _lark_outcome(reference, text, "f.perf", monkeypatch)
