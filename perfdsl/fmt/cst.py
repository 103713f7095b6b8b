"""The concrete syntax of a policy file, for the formatter: every token, and the comments.

The compiler's parser (perfdsl.syntax.parse) builds the AST directly and drops what
the meaning does not need: punctuation, parentheses, how a keyword was spelled, and
comments (the grammar's %ignore). The formatter must keep all of it, so it parses the
same grammar a second way: a Lark tree that keeps every token, with the comments
collected by position through a lexer callback. Parsing runs on the same folded text
as the compiler's (full-width punctuation → ASCII, one character for one), so both
parsers see identical tokens.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache

from lark import Lark, Token, Tree

from ..resources import grammar_path
from ..syntax.parse import fold_fullwidth


@dataclass(frozen=True)
class Comment:
    pos: int   # offset in the normalized text
    line: int
    text: str  # from `#`, trailing spaces dropped


@dataclass(frozen=True)
class Source:
    """A parsed file: the normalized text, its tree of every token, and its comments."""
    text: str
    tree: Tree
    comments: tuple[Comment, ...]


def normalize(text: str) -> str:
    """The text both parsers read: no BOM, LF line ends, full-width punctuation folded."""
    return fold_fullwidth(text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n"))


_LOCK = threading.Lock()
_SINK: list[Token] = []


@lru_cache(maxsize=1)
def _parser() -> Lark:
    # Building the tables costs about 0.15 s once per process; the shipped JSON tables
    # are made for the AST transformer, so this keeps its own.
    return Lark(grammar_path().read_text(encoding="utf-8"), parser="lalr", lexer="contextual",
                keep_all_tokens=True, maybe_placeholders=False,
                lexer_callbacks={"COMMENT": _collect})


def _collect(tok: Token) -> Token:
    _SINK.append(tok)
    return tok


def parse(text: str) -> Source:
    """Parse normalized text (call only after perfdsl.syntax.parse accepted it: a Lark
    error here is a bug, not a user's mistake)."""
    lark = _parser()
    with _LOCK:
        _SINK.clear()
        tree = lark.parse(text)
        comments = tuple(Comment(t.start_pos, t.line, str(t).rstrip()) for t in _SINK)
        _SINK.clear()
    return Source(text, tree, comments)
