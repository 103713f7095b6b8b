"""The LALR tables of grammar/perf.lark, shipped in the package as JSON.

Lark builds the tables (about 0.15 s, far more than parsing a policy), so they are made
once, when the grammar changes (`python -m perfdsl.syntax.tables`), and kept beside this
module as `lalr_tables.json`; lalr.py runs them without importing Lark. Nothing is
cached in a user's directory and nothing is unpickled: JSON is data, so even a tampered
file cannot run code (it could only make the parser fail, and it lives with the
package's own code anyway).

The file records the SHA-256 of the grammar it was built from; when that differs from the
grammar in use, or the file is damaged, `load` builds the tables in the process instead,
so a stale file is never used (tests/test_cache_security.py keeps the shipped file current).

What the file holds, all of it taken from the parser Lark builds for OPTIONS:
- `terminals`: [name, regular expression] in the order Lark's lexer tries them; `leads`:
  the same grouped by their first character; `keywords`: by their first word, looked up
  when the terminal `word` (NAME) matches; `ignore`
  (whitespace, comments, `;`) and `newline` (the terminals that may span lines);
- `states`: per state, {terminal or rule name: state to shift to, or ~rule to reduce};
  `start`, `end`;
- `rules`: [origin, size, callback name, expand a single child, children to keep, Nones
  to append] — the shape Lark's tree builder gives each rule's children (lalr.py).
"""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from re import _compiler, _parser
from re import _constants as _c

from ..resources import grammar_path
from .lalr import Tables

TABLES = Path(__file__).with_name("lalr_tables.json")
OPTIONS = {"parser": "lalr", "lexer": "contextual", "maybe_placeholders": True}


def grammar_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def load() -> Tables:
    """The tables of the current grammar: the shipped ones when they were built from it,
    else built here (with Lark)."""
    text = grammar_path().read_text(encoding="utf-8")
    digest = grammar_digest(text)
    try:
        doc = json.loads(TABLES.read_text(encoding="utf-8"))
        if doc["grammar_sha256"] == digest:
            return Tables(doc, shipped=True)
    except Exception:  # missing, damaged or foreign: build instead, never fail to parse
        pass
    return Tables(build(text), shipped=False)


def build(text: str) -> dict:
    """The tables of grammar `text`, from the parser Lark builds for it."""
    from lark import Lark
    from lark.parse_tree_builder import maybe_create_child_filter
    from lark.parsers.lalr_analysis import Shift

    lark = Lark(text, **OPTIONS)
    lexer = lark.parser.lexer.root_lexer
    lexer._build_scanner()
    if lexer.callback:  # Lark would retype tokens after matching (a string inside a regex's language)
        raise ValueError(f"terminals Lark retypes after matching: {sorted(lexer.callback)}")
    table = lark.parser.parser.parser.parse_table
    rules = {}
    for rule in lark.rules:
        keep, append = None, 0
        made = maybe_create_child_filter(rule.expansion, rule.options.keep_all_tokens, False, rule.options.empty_indices)
        if made is not None and len(made.args) == 2:  # with placeholders: (index, splice, Nones before), Nones after
            keep, append = made.args
        elif made is not None:
            keep = [(i, splice, 0) for i, splice in made.args[0]]
        name = rule.alias or rule.options.template_source or rule.origin.name
        rules[rule] = [rule.origin.name, len(rule.expansion), name, bool(rule.options.expand1 and not rule.alias),
                       None if keep is None else [list(k) for k in keep], append]
    terminals = [[t.name, _without_groups(t.pattern.to_regexp())] for t in lexer.terminals]
    index = {rule: i for i, rule in enumerate(rules)}
    states = [{sym: (arg if action is Shift else ~index[arg]) for sym, (action, arg) in table.states[s].items()}
              for s in range(len(table.states))]
    groups = leads(terminals)
    words = keywords(terminals, groups)
    for group in groups:  # the keywords are looked up after a word matches
        if group[0] == LEADS[1]:
            word = group[1][-1]
            group[1] = [word]
    return {
        "grammar_sha256": grammar_digest(text),
        "terminals": terminals,
        "keywords": words, "word": word,
        "leads": groups,
        "ignore": sorted(lexer.ignore_types), "newline": sorted(lexer.newline_types),
        "states": states, "start": table.start_states["start"], "end": table.end_states["start"],
        "rules": list(rules.values()),
    }


# The classes of a token's first character the lexer dispatches on, in the order it tests
# them (whitespace is the commonest token); the last takes every other character.
LEADS = (r"[ \t\f\r\n]", r"[^\W\d]", r"\d", None)


def leads(terminals: list[tuple[str, str]]) -> list[list]:
    """The terminals grouped by the class of character they start with, each group in
    Lark's order: [[class, [names]], ...]. Trying only the group of the character at hand
    picks the same terminal as trying all in Lark's order, since no terminal of another
    group can match there; a terminal that could start in two classes is refused."""
    classes = [re.compile(lead) for lead in LEADS if lead is not None]
    groups: list[list] = [[lead, []] for lead in LEADS]
    for name, rx in terminals:
        homes = {next((i for i, cls in enumerate(classes) if cls.fullmatch(c)), len(classes)) for c in _first_chars(rx)}
        if len(homes) != 1:
            raise ValueError(f"terminal {name} starts with characters of several classes of {LEADS}")
        groups[homes.pop()][1].append(name)
    return [g for g in groups if g[1]]


WORD = r"[^\W\d]\w*"
_KEYWORD = re.compile(r"\(\?:((?:\w+(?:\\s\+\w+)*\|)*\w+(?:\\s\+\w+)*)\)\(\?!\\w\)")


def keywords(terminals: list[tuple[str, str]], groups: list[list]) -> dict[str, list]:
    r"""The keywords by their first word, each [terminal, what follows the first word or
    None], in Lark's order. They leave the lexer's expression, where the last terminal of the
    word group, a whole word (NAME), stands for them all: the lexer looks the word up here.

    That picks what Lark's lexer picks because every other terminal starting like a word is
    `(?:spelling|...)(?!\w)`, spellings being words joined by `\s+`: such a terminal matches
    where the whole word at hand is its spelling's first word and the rest follows."""
    regex = dict(terminals)
    [names] = [names for lead, names in groups if lead == LEADS[1]]
    if regex[names[-1]] != WORD:
        raise ValueError(f"the last terminal starting like a word must be {WORD}, not {regex[names[-1]]}")
    out: dict[str, list] = {}
    for name in names[:-1]:
        spelled = _KEYWORD.fullmatch(regex[name])
        if spelled is None:
            raise ValueError(f"terminal {name} starts like a word but is not a keyword: {regex[name]}")
        for spelling in spelled.group(1).split("|"):
            first, _, rest = spelling.partition("\\s+")
            out.setdefault(first, []).append([name, rf"\s+{rest}(?!\w)" if rest else None])
    return out


def _without_groups(rx: str) -> str:
    """`rx` with its capturing groups made non-capturing: the same language, and about
    half the matching time for an alternative that would open a group to fail."""
    out, i, in_class = [], 0, False
    while i < len(rx):
        ch = rx[i]
        if ch == "\\":
            out.append(rx[i:i + 2])
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
            lead = len(rx[i + 1:]) - len(rx[i + 1:].lstrip("^"))
            if rx[i + 1 + lead:i + 2 + lead] == "]":  # `[]...]`: the first `]` is a character
                out.append(rx[i:i + 2 + lead])
                i += 2 + lead
                continue
        elif ch == "(" and not rx.startswith("(?", i):
            ch = "(?:"
        out.append(ch)
        i += 1
    done = "".join(out)
    if re.compile(done).groups or "(?P=" in rx or re.search(r"\\[1-9]", rx):
        raise ValueError(f"cannot drop the groups of {rx!r}")
    return done


def _first_chars(rx: str) -> set[str]:
    """Every character (of the Basic Multilingual Plane) a match of `rx` can start with."""
    bmp = "".join(chr(i) for i in range(0x10000) if not 0xD800 <= i < 0xE000)
    chars: set[str] = set()
    for op, av in _first(_parser.parse(rx).data)[0]:
        if op is _c.LITERAL:
            chars.add(chr(av))
        elif op is _c.IN:
            chars.update(_compiler.compile(_parser.SubPattern(_parser.State(), [(op, av)]), 0).findall(bmp))
        else:  # NOT_LITERAL, ANY: almost any character
            chars.update(bmp)
    return chars


def _first(seq) -> tuple[list, bool]:
    """The single-character ops that can match the first character of a match of `seq`
    (a parsed regular expression), and whether `seq` can match the empty string."""
    ops: list = []
    for op, av in seq:
        if op in (_c.LITERAL, _c.IN, _c.NOT_LITERAL, _c.ANY):
            return ops + [(op, av)], False
        if op is _c.SUBPATTERN:
            inner, empty = _first(av[3])
        elif op is _c.BRANCH:
            parts = [_first(alt) for alt in av[1]]
            inner, empty = [o for p in parts for o in p[0]], any(p[1] for p in parts)
        elif op in (_c.MAX_REPEAT, _c.MIN_REPEAT):
            inner, empty = _first(av[2])
            empty = empty or av[0] == 0
        elif op in (_c.AT, _c.ASSERT, _c.ASSERT_NOT):
            continue  # matches no character
        else:
            raise ValueError(f"cannot tell what {op} starts with")
        ops += inner
        if not empty:
            return ops, False
    return ops, True


def write() -> Path:
    """Rebuild `lalr_tables.json` from the grammar (run after editing grammar/perf.lark)."""
    doc = build(grammar_path().read_text(encoding="utf-8"))
    TABLES.write_text(json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    return TABLES


if __name__ == "__main__":
    print(f"wrote {write()}")
