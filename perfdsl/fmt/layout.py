"""The canonical layout of a policy file, printed from its concrete syntax tree.

Rules (LANGUAGE.md §12.4):
- one item per line; a block (`policy`, `indicator`, `tiers`, `table`, `distribute`,
  `example`, anything written `HEADER { ... }`) opens on its header line, holds its
  items indented by two spaces, and closes with `}` on a line of its own;
- tier bands, table rows, `distribute` bounds and the rows of a cohort example's table
  are aligned in columns (display width: a CJK character counts two);
- one space around operators, `=`, `->` and keywords; none inside `0..100`, after a
  unary minus, before `,` `:` `)` `]`, after `(` `[`, nor between a function and `(`;
- keywords keep the language they were written in (runs of spaces inside `rank by`,
  `up to`, `at most`, `ties share` become one); `→` is written `->`, `≥ ≤ ≠` as
  `>= <= !=` and “curly quotes” as "straight" ones where the grammar accepts them;
- a line break the author put inside an item is kept (continuation lines indented by
  four), except before `{` `,` `:` `)` `]`; a comment between two tokens always keeps a
  break there, so a comment never ends up in the middle of a line;
- comments stay beside the token they followed (a trailing comment) or above the token
  they preceded (a comment on its own line); one blank line is kept where the author
  left one or more between items; `;` separators are dropped.
Everything is decided by the tokens alone, so formatting formatted text changes nothing.
"""
from __future__ import annotations

import bisect
import re
import unicodedata
from dataclasses import dataclass, field

from lark import Token, Tree

from .cst import Comment, Source

INDENT, CONTINUATION = 2, 4
_NO_SPACE_BEFORE = {",", ")", "]", ":"}
_NO_SPACE_AFTER = {"(", "["}
_NO_BREAK_BEFORE = {",", ")", "]", ":", "{", ".."}
_CALL_RULES = {"call", "def_decl", "table_decl", "expect_count"}
_PLAIN = {"NAME", "STRING", "NUMBER", "PERCENT", "TABLE_ROW"}
_ALIGN = ({"tier_threshold", "tier_otherwise"}, {"table_case", "table_otherwise"}, {"dist_base"})


def width(text: str) -> int:
    """Columns a monospace editor gives `text`: wide (CJK) characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def canonical(tok: Token) -> str:
    value = str(tok)
    if tok.type == "ARROW":
        return "->"
    if tok.type == "STRING" and value[:1] == "“" and value[-1:] == "”" and not set(value[1:-1]) & set('"\\“”'):
        return f'"{value[1:-1]}"'  # curly quotes an input method typed, where the grammar takes them
    if tok.type == "CMP_OP":
        return {"≥": ">=", "≤": "<=", "≠": "!="}.get(value, value)
    if tok.type not in _PLAIN and not tok.type.startswith("__") and tok.type.isupper():
        return re.sub(r"\s+", " ", value)  # a keyword: `rank   by` → `rank by`
    return value


@dataclass
class Leaf:
    tok: Token
    text: str
    rule: str    # the rule of the tree that holds the token
    first: bool  # the first child of that tree
    rng: int     # id of the innermost `range` tree holding the token, else 0


def leaves(parent: Tree, children) -> list[Leaf]:
    """The tokens under `children` (children of `parent`), in order; iterative, as
    expressions may nest deeply."""
    out: list[Leaf] = []
    stack = [(c, parent, c is parent.children[0], id(parent) if parent.data == "range" else 0)
             for c in reversed(list(children))]
    while stack:
        node, holder, first, rng = stack.pop()
        if isinstance(node, Token):
            out.append(Leaf(node, canonical(node), str(holder.data), first, rng))
            continue
        inner = id(node) if node.data == "range" else rng
        stack.extend((c, node, i == 0, inner) for i, c in reversed(list(enumerate(node.children))))
    return out


def _gap(a: Leaf, b: Leaf) -> str:
    if b.text in _NO_SPACE_BEFORE or a.text in _NO_SPACE_AFTER:
        return ""
    if b.text == "(" and b.rule in _CALL_RULES:
        return ""
    if b.text == "[" and b.rule != "list_lit":  # an index `xs[i]`
        return ""
    if b.text == ".." or (a.text == ".." and a.rng and a.rng == b.rng):
        return ""
    if a.text == "-" and a.first and a.rule in ("negate", "neg"):
        return ""
    return " "


@dataclass
class Line:
    indent: int
    text: str
    toks: list = field(default_factory=list)  # the source tokens printed on this line
    start: bool = False   # begins an item: a kept blank line may come before it
    comment: bool = False
    trailing: str | None = None
    lo: int = 0           # first and last source line it came from
    hi: int = 0


class Printer:
    def __init__(self, source: Source):
        self.source = source
        self.lines: list[Line] = []
        self._comments = [c.pos for c in source.comments]
        self._blank = blank_counts(source.text)

    def comment_between(self, a: Token, b: Token) -> bool:
        i = bisect.bisect_left(self._comments, a.end_pos)
        return i < len(self._comments) and self._comments[i] < b.start_pos

    # ---- items -------------------------------------------------------------------------
    def items(self, tree: Tree, indent: int) -> None:
        self.body(tree, tree.children, indent)

    def body(self, node: Tree, children, indent: int) -> None:
        cells = _table_widths([c for c in children if isinstance(c, Token) and c.type == "TABLE_ROW"])
        pads = self._alignment(node, children)
        for child in children:
            if isinstance(child, Token) and child.type == "TABLE_ROW":
                self.add(Line(indent, _table_row(str(child), cells), [child], start=True))
            else:
                self.item(node, child, indent, pads.get(id(child)))

    def item(self, parent: Tree, node, indent: int, pad: tuple[int, int] | None = None) -> None:
        if isinstance(node, Tree) and _is_block(node):
            self.block(node, indent)
        else:
            self.flow(leaves(parent, [node]), indent, pad)

    def block(self, node: Tree, indent: int) -> None:
        kids = node.children
        opening = next(i for i, c in enumerate(kids) if isinstance(c, Token) and c == "{")
        self.flow(leaves(node, kids[:opening + 1]), indent)
        self.body(node, kids[opening + 1:-1], indent + INDENT)
        self.add(Line(indent, "}", [kids[-1]]))

    def _alignment(self, node: Tree, body) -> dict[int, tuple[int, int]]:
        """For each aligned item: (index of the leaf its key ends with, key width).
        Tier bands, table rows and distribute bounds align across their block; the labels
        of `input` lines align within a run of inputs that no blank line interrupts."""
        out: dict[int, tuple[int, int]] = {}
        groups = [[c for c in body if isinstance(c, Tree) and c.data in kinds] for kinds in _ALIGN]
        groups += self._input_runs(body)
        for group in groups:
            keys = []
            for child in group:
                ls = leaves(node, [child])
                k = _key_end(child, ls)
                if k is None:
                    continue
                text = self.render(ls[:k + 1], 0)
                if len(text) == 1 and len(self.render(ls, 0)) == 1:
                    keys.append((child, k, width(text[0][1])))
            w = max((kw for _, _, kw in keys), default=0)
            out.update((id(child), (k, w)) for child, k, _ in keys)
        return out

    def _input_runs(self, body) -> list[list[Tree]]:
        runs: list[list[Tree]] = []
        prev = None
        for child in body:
            if not (isinstance(child, Tree) and child.data == "input_decl"):
                prev = None
                continue
            first = _first_token(child)
            if prev is None or self._blank[first.line - 1] - self._blank[_last_token(prev).end_line] > 0:
                runs.append([])
            runs[-1].append(child)
            prev = child
        return runs

    # ---- lines -------------------------------------------------------------------------
    def render(self, ls: list[Leaf], indent: int, pad: tuple[int, int] | None = None):
        """Leaves → [(indent, text, tokens)], breaking where the author did (or a comment
        sits) and a break is allowed."""
        out: list[tuple[int, str, list]] = []
        text, toks, ind = "", [], indent
        for i, leaf in enumerate(ls):
            if i:
                prev = ls[i - 1]
                forced = self.comment_between(prev.tok, leaf.tok)
                wanted = leaf.tok.line > prev.tok.end_line and leaf.text not in _NO_BREAK_BEFORE \
                    and not (prev.text == "-" and prev.first and prev.rule in ("negate", "neg"))
                if forced or wanted:
                    out.append((ind, text, toks))
                    text, toks, ind = "", [], indent + CONTINUATION
                else:
                    text += _gap(prev, leaf)
            text += leaf.text
            toks.append(leaf.tok)
            if pad is not None and i == pad[0] and not out:
                text += " " * (pad[1] - width(text))
        out.append((ind, text, toks))
        return out

    def flow(self, ls: list[Leaf], indent: int, pad: tuple[int, int] | None = None) -> None:
        for n, (ind, text, toks) in enumerate(self.render(ls, indent, pad)):
            self.add(Line(ind, text, toks, start=n == 0))

    def add(self, line: Line) -> None:
        if line.toks:
            line.lo = min(t.line for t in line.toks)
            line.hi = max(t.end_line for t in line.toks)
        self.lines.append(line)


def _is_block(node: Tree) -> bool:
    kids = node.children
    return bool(kids) and isinstance(kids[-1], Token) and kids[-1] == "}" and any(
        isinstance(c, Token) and c == "{" for c in kids)


def _key_end(child: Tree, ls: list[Leaf]) -> int | None:
    """The leaf an aligned item's key ends with: the `:` of a table row, the token before
    an input's label, else the name; None for an input without a label."""
    if child.data in ("table_case", "table_otherwise"):
        colon = next(c for c in child.children if isinstance(c, Token) and c == ":")
        return next(i for i, leaf in enumerate(ls) if leaf.tok is colon)
    if child.data == "input_decl":
        last = child.children[-1]
        if not (isinstance(last, Token) and last.type == "STRING") or len(ls) < 2:
            return None
        return len(ls) - 2
    return 0


def _first_token(node: Tree) -> Token:
    while isinstance(node, Tree):
        node = node.children[0]
    return node


def _last_token(node: Tree) -> Token:
    while isinstance(node, Tree):
        node = node.children[-1]
    return node


def blank_counts(text: str) -> list[int]:
    """counts[n]: how many of the first n source lines are blank."""
    counts = [0]
    for src in text.split("\n"):
        counts.append(counts[-1] + (not src.strip()))
    return counts


def _cells(row: str) -> list[str]:
    """A cohort example's row as perfdsl.syntax.parse reads it."""
    text = row.rstrip()
    parts = text.split("|")
    if text.endswith("|"):
        parts = parts[:-1]
    return [p.strip() for p in parts[1:]]


def _table_widths(rows: list[Token]) -> list[int]:
    widths: list[int] = []
    for row in rows:
        for i, cell in enumerate(_cells(str(row))):
            if i == len(widths):
                widths.append(0)
            widths[i] = max(widths[i], width(cell))
    return widths


def _table_row(row: str, widths: list[int]) -> str:
    cells = _cells(row)
    if not cells:
        return "|"
    return "| " + " | ".join(c + " " * (widths[i] - width(c)) for i, c in enumerate(cells)) + " |"


# ---- comments and blank lines ----------------------------------------------------------
def attach_comments(lines: list[Line], comments: tuple[Comment, ...]) -> list[Line]:
    """Put each comment back: after the token it followed on its line, else on a line of
    its own above the token it preceded (indented as that token's line, or one step more
    before a closing `}`)."""
    toks = sorted((t.start_pos, t.end_line, i) for i, line in enumerate(lines) for t in line.toks)
    starts = [t[0] for t in toks]
    above: dict[int, list[Comment]] = {}
    tail: list[Comment] = []
    for c in comments:
        j = bisect.bisect_left(starts, c.pos)
        if j and toks[j - 1][1] == c.line and lines[toks[j - 1][2]].trailing is None:
            lines[toks[j - 1][2]].trailing = c.text
        elif j < len(toks):
            above.setdefault(toks[j][2], []).append(c)
        else:
            tail.append(c)
    out: list[Line] = []
    for i, line in enumerate(lines):
        for c in above.get(i, ()):
            ind = line.indent + (INDENT if line.text == "}" else 0)
            out.append(Line(ind, c.text, start=True, comment=True, lo=c.line, hi=c.line))
        out.append(line)
    out += [Line(0, c.text, start=True, comment=True, lo=c.line, hi=c.line) for c in tail]
    return out


def join(lines: list[Line], text: str) -> str:
    """The final text: one blank line where the source had at least one between two
    items (never just inside `{` or just before `}`)."""
    blank = blank_counts(text)
    out: list[str] = []
    prev: Line | None = None
    for line in lines:
        if prev is not None and line.start and line.text != "}" and not (
                prev.text.endswith("{") and not prev.comment) and line.lo > prev.hi + 1 \
                and blank[line.lo - 1] - blank[prev.hi] > 0:
            out.append("")
        body = " " * line.indent + line.text
        out.append(body + (f"  {line.trailing}" if line.trailing else ""))
        prev = line
    return "\n".join(out) + "\n" if out else ""


def layout(source: Source) -> str:
    printer = Printer(source)
    printer.items(source.tree, 0)
    return join(attach_comments(printer.lines, source.comments), source.text)
