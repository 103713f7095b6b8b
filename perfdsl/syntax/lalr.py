"""Run the shipped LALR tables: a contextual lexer and the parse loop, without Lark.

Lark builds the tables (tables.py); running them needs only this module. With Lark at
run time, `perfdsl check` of a small policy spent about 25 ms importing lark, 25 ms
restoring its parser from the tables, 20 ms compiling one regular expression per parser
state, and each token cost about 25 µs in its lexer and parse loop; a 5,000-indicator
policy spent 57% of its check there. This does the same work with one expression for
all terminals, plain ints for actions and the AST callbacks called directly.

It behaves as Lark's contextual lexer and LALR parser with an inline transformer and
`maybe_placeholders`, including what the errors carry (tests/test_parse_tables.py
parses every .perf of the repository, and many broken variants, both ways):
- In each parser state only the terminals that state expects can be lexed (so `score`
  is a keyword where a declaration starts and a name elsewhere). The terminals are tried
  in Lark's order (priority, width, length, name), and the first that matches wins. The
  one expression finds that winner among all terminals: it tries only those that start
  like the character at hand (tables.leads), and for a word looks the keywords up by
  the word (tables.keywords). When the state does not expect the winner, the later
  terminals it does expect are tried one by one.
- A reduction filters its children as Lark's tree builder does (punctuation dropped,
  `None` for a missing `[optional]`, inlined `_rule`s spliced in, a `?rule` with one
  child replaced by it) and passes them to the builder method named after the rule or
  its alias.
"""
from __future__ import annotations

import re

from ..diagnostics import Span


class Token(str):
    """A token's text, with its terminal's name, its offset in the text and its place: a
    Span, the one position type of the syntax tree and the diagnostics. The parser's
    callbacks read tokens under Lark's attribute names (tests/test_parse_tables.py runs
    them on Lark's tokens too), so the place is also read as `line`, `column`,
    `end_line` and `end_column` (lines and columns from 1)."""

    type: str
    start_pos: int
    span: Span

    line = property(lambda self: self.span.line)
    column = property(lambda self: self.span.col)
    end_line = property(lambda self: self.span.end_line)
    end_column = property(lambda self: self.span.end_col)

    def __repr__(self) -> str:
        return f"Token({self.type!r}, {str(self)!r})"


def _token(kind: str, value: str, pos: int, span: Span) -> Token:
    tok = str.__new__(Token, value)
    tok.type, tok.start_pos, tok.span = kind, pos, span
    return tok


class ParseError(Exception):
    """Where the text stops being a policy. `token` is None for a character no terminal
    matches; otherwise it is the unexpected token (type `$END` at the end of the file)
    and `expected` the terminals the parser could have taken there."""

    def __init__(self, line: int, column: int, pos: int, token: Token | None, expected: set[str]):
        super().__init__(f"line {line}, column {column}")
        self.line, self.column, self.pos_in_stream, self.token, self.expected = line, column, pos, token, expected


class Tables:
    """The parse tables as the loop reads them (see tables.py for the file they come from).

    `states[s]` maps a terminal or rule name to an int: a state to shift to (>= 0), or
    `~i` to reduce by rule i. A rule is (origin, size, callback name, expand single
    child, children to keep or None for all, Nones to append): see `_filter`; `bind`
    puts the callback in place of its name and adds whether the rule is a unit rule."""

    def __init__(self, doc: dict, shipped: bool):
        self.shipped = shipped
        self.terminals: list[tuple[str, str]] = [tuple(t) for t in doc["terminals"]]
        self.order = {name: i for i, (name, _) in enumerate(self.terminals)}
        self.ignore = frozenset(doc["ignore"])
        self.newline = frozenset(doc["newline"])
        self.states: list[dict[str, int]] = doc["states"]
        self.start, self.end = doc["start"], doc["end"]
        self.rules = [(origin, size, name, single, None if keep is None else tuple(tuple(k) for k in keep), append)
                      for origin, size, name, single, keep, append in doc["rules"]]
        regex = dict(self.terminals)
        # Group 1 skips an ignored terminal that no other can start like (whitespace)
        # before the token, in the same match: about half as many matches.
        skip = next((regex[names[0]] for _, names in doc["leads"] if len(names) == 1 and names[0] in self.ignore), "(?!)")
        self.scanner = re.compile(f"((?:{skip})?)(?:" + "|".join(
            (f"(?={lead})" if lead else "") + "(?:" + "|".join(f"(?:{regex[name]})(?P<{name}>)" for name in names) + ")"
            for lead, names in doc["leads"]) + ")")
        self.word = doc["word"]
        self.keywords = {word: [(name, rest and re.compile(rest)) for name, rest in spellings]
                         for word, spellings in doc["keywords"].items()}
        self._one: dict[str, re.Pattern] = {}
        self.units: dict[tuple[int, int, str], int] = {}  # see _units

    def bind(self, builder) -> list[tuple]:
        """The rules with their callbacks looked up on `builder`. Only a `?rule` that always
        has one child and a `_rule` inlined into its parent may have none."""
        bound = []
        for origin, size, name, single, keep, append in self.rules:
            callback = getattr(builder, name, None)
            if callback is None and not (origin.startswith("_") or single and _one_child(size, keep, append)):
                raise TypeError(f"{type(builder).__name__} has no method for the grammar rule `{name}`")
            bound.append((origin, size, callback, single, keep, append, size == 1 and single and keep is None))
        return bound

    def contextual(self, text: str, pos: int, actions: dict, first: str):
        """The match the state's own lexer makes at `pos`, given that `first` (the first
        terminal matching there) is one the state does not expect; None if none matches."""
        for name, rx in self.terminals[self.order[first] + 1:]:
            if name in actions or name in self.ignore:
                one = self._one.get(name)
                if one is None:
                    one = self._one[name] = re.compile(f"(?:{rx})(?P<{name}>)")
                m = one.match(text, pos)
                if m is not None:
                    return m
        return None

    def allowed(self, actions: dict) -> set[str]:
        """The terminals a state's lexer takes, as Lark's error reports them."""
        return {name for name in actions if name in self.order and name not in self.ignore} or {"<END-OF-FILE>"}


def _one_child(size: int, keep: tuple | None, append: int) -> bool:
    """Whether a rule always passes its callback exactly one child."""
    if keep is None:
        return size == 1
    return len(keep) == 1 and not keep[0][1] and not keep[0][2] and not append


def _filter(children: list, keep: tuple, append: int) -> list:
    """Lark's ChildFilterLALR: keep (index, splice, Nones before) entries, in order."""
    out: list = []
    for i, splice, nones in keep:
        if nones:
            out += [None] * nones
        if splice:
            if out:
                out += children[i]
            else:  # a left-recursive list grows in place, as in Lark
                out = children[i]
        else:
            out.append(children[i])
    if append:
        out += [None] * append
    return out


def parse(tables: Tables, text: str, rules: list[tuple], file: str):
    """The start rule's value for `text` (of `file`, named in the tokens' spans), built by
    the callbacks in `rules` (Tables.bind). Raises ParseError where the text is not in
    the grammar."""
    states, ignore, newline = tables.states, tables.ignore, tables.newline
    match = tables.scanner.match
    state_stack = [tables.start]
    value_stack: list = []
    actions = states[tables.start]
    pos, line, line_start, n = 0, 1, 0, len(text)
    tok = None
    new = str.__new__
    units = tables.units
    word, keywords = tables.word, tables.keywords
    while pos < n:
        m = match(text, pos)
        if m is None:
            raise ParseError(line, pos - line_start + 1, pos, None, tables.allowed(actions))
        start = m.end(1)  # after the whitespace skipped in the same match
        if start != pos:
            if text.count("\n", pos, start):
                line += text.count("\n", pos, start)
                line_start = text.rindex("\n", pos, start) + 1
            pos = start
        kind, end = m.lastgroup, m.end()
        if kind == word:
            spellings = keywords.get(text[pos:end])
            if spellings is not None:
                kind, end = _keyword(spellings, text, end, kind)
        if kind not in actions and kind not in ignore:
            local = tables.contextual(text, pos, actions, kind)
            if local is None:  # Lark reports the token the whole grammar would read here
                raise ParseError(line, pos - line_start + 1, pos,
                                 _lexed(kind, text[pos:end], pos, line, line_start, newline, file), tables.allowed(actions))
            kind, end = local.lastgroup, local.end()
        value = text[pos:end]
        if kind in ignore:
            if "\n" in value:
                line += value.count("\n")
                line_start = pos + value.rindex("\n") + 1
            pos = end
            continue
        if kind in newline and "\n" in value:
            tok = _lexed(kind, value, pos, line, line_start, newline, file)
            line, line_start = tok.end_line, end - tok.end_column + 1
        else:
            tok = new(Token, value)
            tok.type, tok.start_pos, tok.span = kind, pos, Span(file, line, pos - line_start + 1, line, end - line_start + 1)
        pos = end
        while True:  # reduce as the token calls for, then shift it
            code = actions.get(kind)
            if code is None:
                raise ParseError(tok.line, tok.column, tok.start_pos, tok, {s for s in actions if s.isupper()})
            if code >= 0:
                state_stack.append(code)
                value_stack.append(tok)
                actions = states[code]
                break
            rule = rules[~code]
            if rule[6]:  # `?a: b`, and what follows of such rules: the value stays, only the top state changes
                key = (state_stack[-2], state_stack[-1], kind)
                goto = units.get(key)
                if goto is None:
                    goto = units[key] = _units(rules, states, state_stack[-2], rule, kind)
                state_stack[-1] = goto
                actions = states[goto]
            else:
                actions = _reduce(rule, states, state_stack, value_stack)
    end = _token("$END", "", 0, Span(file, 1, 1, None, None)) if tok is None else _token("$END", "", tok.start_pos, tok.span)
    end_state = tables.end
    while True:
        code = actions.get("$END")
        if code is None or code >= 0:  # Lark never shifts the end
            raise ParseError(end.line, end.column, end.start_pos, end, {s for s in actions if s.isupper()})
        actions = _reduce(rules[~code], states, state_stack, value_stack)  # unit rules too: the end is rare
        if state_stack[-1] == end_state:
            return value_stack[-1]


def _keyword(spellings: list, text: str, end: int, word: str) -> tuple[str, int]:
    """The first keyword spelled by the word ending at `end` (and what follows), with its end;
    else the word itself."""
    for name, rest in spellings:
        if rest is None:
            return name, end
        more = rest.match(text, end)
        if more is not None:
            return name, more.end()
    return word, end


def _lexed(kind: str, value: str, pos: int, line: int, line_start: int, newline: frozenset, file: str) -> Token:
    column = pos - line_start + 1
    if kind in newline and "\n" in value:
        return _token(kind, value, pos, Span(file, line, column, line + value.count("\n"), len(value) - value.rindex("\n")))
    return _token(kind, value, pos, Span(file, line, column, line, column + len(value)))


def _units(rules: list, states: list, below: int, rule: tuple, kind: str) -> int:
    """The state a run of unit reductions (`?a: b`) ends in, starting with `rule`, for
    lookahead `kind` over state `below`: it depends on nothing else, so it is kept."""
    while True:
        goto = states[below][rule[0]]
        code = states[goto].get(kind)
        if code is None or code >= 0 or not rules[~code][6]:
            return goto
        rule = rules[~code]


def _reduce(rule: tuple, states: list, state_stack: list, value_stack: list) -> dict:
    """Reduce by `rule` and take the goto; returns the new state's actions."""
    origin, size, callback, single, keep, append, _ = rule
    if size:
        children = value_stack[-size:]
        del value_stack[-size:]
        del state_stack[-size:]
    else:
        children = []
    if keep is not None:
        children = _filter(children, keep, append)
    if single and len(children) == 1:
        value = children[0]
    elif callback is not None:
        value = callback(children)
    else:  # an inlined `_rule`: its children, spliced into the parent's
        value = children
    goto = states[state_stack[-1]][origin]
    state_stack.append(goto)
    value_stack.append(value)
    return states[goto]
