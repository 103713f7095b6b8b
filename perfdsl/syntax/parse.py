"""Text → AST. With tables.py (which builds and ships the LALR tables) and lalr.py
(which runs them), the only modules that know about the grammar's terminals and rules.

The parser runs LALR with these callbacks inlined (no parse tree, no recursion), so a
deeply nested expression cannot overflow the stack here; `depth.py` then bounds nesting
before any recursive pass runs. Parse errors never leave this module: they become
Diagnostics with a position, a caret and a hint.
"""
from __future__ import annotations

import re
import unicodedata
from decimal import Decimal
from functools import lru_cache

from ..diagnostics import Diagnostic, Span
from . import ast as A
from . import tables
from .depth import check_depth
from .lalr import ParseError, Tables, Token
from .lalr import parse as run_tables


# Full-width punctuation accepted wherever its ASCII form is (LANGUAGE.md §1).
_FOLD = str.maketrans({"，": ",", "：": ":", "；": ";", "（": "(", "）": ")", "【": "[", "】": "]"})


def fold_fullwidth(text: str) -> str:
    """Fold full-width punctuation outside strings and comments; one char for one char."""
    if not any(ch in text for ch in "，：；（）【】"):
        return text
    out, in_str, in_comment, escaped = [], "", False, False
    for ch in text:
        if in_comment:
            in_comment = ch != "\n"
        elif in_str:  # the quote that ends it: `"`, or `”` for a “curly” string (no escapes)
            if escaped:
                escaped = False
            elif ch == "\\" and in_str == '"':
                escaped = True
            elif ch == in_str or ch == "\n":
                in_str = ""
        elif ch in '"“':
            in_str = '"' if ch == '"' else "”"
        elif ch == "#":
            in_comment = True
        else:
            ch = ch.translate(_FOLD)
        out.append(ch)
    return "".join(out)


class _Builder:
    """The grammar rules' callbacks: children → AST nodes, spans computed from the tokens
    they hold. One per parse: it collects that file's problems."""

    def __init__(self, file: str):
        self.file = file
        self.problems: list[Diagnostic] = []

    # -- helpers --------------------------------------------------------------------
    def _tok_span(self, tok: Token) -> Span:
        span = getattr(tok, "span", None)  # ours carry their Span; Lark's (tests/test_parse_tables.py) do not
        return span if span is not None else Span(self.file, tok.line, tok.column, tok.end_line, tok.end_column)

    def span(self, *parts) -> Span:
        """From the start of the first part to the end of the last (parts: tokens, spans,
        nodes; None and anything without a span are skipped)."""
        first, last = _edges(parts[0]), _edges(parts[-1])
        if first is None or last is None:  # a None or something without a span at either end
            edges = [e for e in map(_edges, parts) if e is not None]
            first, last = edges[0], edges[-1]
        return Span(self.file, first[0], first[1], last[2], last[3])

    def string(self, tok: Token) -> str:
        if tok.startswith("“"):  # “curly quotes” as an input method types them: no escapes
            return str(tok)[1:-1]
        body, out, i = tok[1:-1], [], 0
        if "\\" not in body:
            return str(body)
        while i < len(body):
            ch = body[i]
            if ch == "\\" and i + 1 < len(body):
                nxt = body[i + 1]
                if nxt in "\"\\":
                    out.append(nxt)
                elif nxt == "n":
                    out.append("\n")
                elif nxt == "t":
                    out.append("\t")
                else:
                    sp = self._tok_span(tok)
                    self.problems.append(Diagnostic(
                        "PD002", "error", Span(self.file, sp.line, sp.col + i + 1, sp.line, sp.col + i + 3),
                        f"unknown escape `\\{nxt}` in a string",
                        hint='write `\\\\` for a backslash; strings know `\\"`, `\\\\`, `\\n` and `\\t`'))
                    out.append(nxt)
                i += 2
            else:
                out.append(ch)
                i += 1
        return "".join(out)

    def opt_string(self, items, i):
        return self.string(items[i]) if i < len(items) and isinstance(items[i], Token) and items[i].type == "STRING" else None

    # -- expressions ----------------------------------------------------------------
    def number(self, c):
        return A.Num(self.span(c[0]), Decimal(str(c[0])), str(c[0]))

    def percent(self, c):
        text = str(c[0])
        return A.Num(self.span(c[0]), Decimal(text[:-1]).scaleb(-2), text)

    def string_lit(self, c):
        return A.Str(self.span(c[0]), self.string(c[0]))

    def true(self, c):
        return A.Bool(self.span(c[0]), True)

    def false(self, c):
        return A.Bool(self.span(c[0]), False)

    def name(self, c):
        return A.Name(self.span(c[0]), str(c[0]))

    def call(self, c):  # NAME args... RPAR: the span runs to the closing parenthesis
        args = tuple(a for a in c[1:-1] if a is not None)
        return A.Call(self.span(c[0], c[-1]), str(c[0]), self.span(c[0]), args)

    def list_lit(self, c):  # LSQB items... RSQB
        items = tuple(a for a in c[1:-1] if a is not None)
        return A.ListLit(self.span(c[0], c[-1]), items)

    def negate(self, c):
        return A.Unary(self.span(c[0], c[1]), "-", c[1])

    def not_(self, c):
        return A.Unary(self.span(c[0], c[1]), "not", c[1])

    def binop(self, c):
        return A.Binary(self.span(c[0], c[2]), str(c[1]), c[0], c[2])

    def per_op(self, c):
        return A.Binary(self.span(c[0], c[2]), "per", c[0], c[2])

    def per_fields(self, c):  # `mean(x) per (F1, F2)`: a group aggregate over several fields
        names = [t for t in c[2:] if isinstance(t, Token) and t.type == "NAME"]
        fields = A.Fields(self.span(names[0], names[-1]), tuple(str(n) for n in names))
        return A.Binary(self.span(c[0], names[-1]), "per", c[0], fields)

    def index(self, c):  # LIST LSQB INDEX RSQB
        return A.Index(self.span(c[0], c[3]), c[0], c[2])

    def and_(self, c):
        return A.Binary(self.span(c[0], c[2]), "and", c[0], c[2])

    def or_(self, c):
        return A.Binary(self.span(c[0], c[2]), "or", c[0], c[2])

    def compare(self, c):
        operands, ops = [c[0]], []
        for i in range(1, len(c), 2):
            ops.append(_CMP.get(str(c[i]), str(c[i])))
            operands.append(c[i + 1])
        return A.Compare(self.span(c[0], c[-1]), tuple(operands), tuple(ops))

    def if_expr(self, c):
        return A.IfExpr(self.span(c[0], c[-1]), c[1], c[3], c[5])

    # -- ranges ---------------------------------------------------------------------
    def _bound(self, tok: Token, negative: bool = False, start: Token | None = None) -> A.Bound:
        text = str(tok)
        pct = text.endswith("%")
        value = Decimal(text[:-1]).scaleb(-2) if pct else Decimal(text)
        return A.Bound(self.span(start or tok, tok), -value if negative else value, pct)

    def neg(self, c):
        return self._bound(c[1], True, c[0])

    def range(self, c):
        lo = c[0] if isinstance(c[0], A.Bound) else self._bound(c[0])
        hi = None
        if len(c) > 1 and c[1] is not None:
            hi = c[1] if isinstance(c[1], A.Bound) else self._bound(c[1])
        return A.Range(self.span(lo, hi), lo, hi)

    def bound(self, item) -> A.Bound:
        return item if isinstance(item, A.Bound) else self._bound(item)

    # -- settings -------------------------------------------------------------------
    def key_setting(self, c):
        return A.KeySetting(self.span(c[0], c[1]), str(c[1]))

    def period_setting(self, c):
        return A.PeriodSetting(self.span(c[0], c[1]), str(c[1]))

    def scale_setting(self, c):
        return A.ScaleSetting(self.span(c[0], c[1]), c[1])

    def direction(self, c):
        return c[0]

    def rank_key(self, c):
        desc = len(c) > 1 and c[1].type == "DESC"
        return A.RankKey(self.span(*c), str(c[0]), desc)

    def rank_keys(self, c):
        return [k for k in c if isinstance(k, A.RankKey)]

    def group(self, c):
        return c[1]

    def group_fields(self, c):  # `per (F1, F2)`: a tuple of field names
        return tuple(str(t) for t in c[1:] if isinstance(t, Token) and t.type == "NAME")

    def _rank(self, head, keys, group):
        return A.RankSpec(self.span(head, *keys, group if isinstance(group, Token) else None), tuple(keys), _group(group))

    def rank_setting(self, c):
        group = c[2] if len(c) > 2 else None
        return A.RankSetting(self.span(c[0], *c[1], group if isinstance(group, Token) else None), self._rank(c[0], c[1], group))

    # -- declarations ---------------------------------------------------------------
    def import_stmt(self, c):
        return A.Import(self.span(c[0], c[1]), self.string(c[1]))

    def simple_type(self, c):
        rng = length = None
        i = 1
        while i < len(c):
            if c[i].type == "IN":
                rng = c[i + 1]
            else:
                length = c[i + 1]
            i += 2
        return A.SimpleType(self.span(c[0], rng, length), str(c[0]), rng, length)

    def enum_type(self, c):
        values = tuple(self.string(t) for t in c[2:])
        return A.EnumType(self.span(c[0], c[-1]), values)

    def list_type(self, c):
        if str(c[0]) != "list":
            self.problems.append(Diagnostic("PD025", "error", self._tok_span(c[0]),
                                            f"unknown type constructor `{c[0]} of`", hint="write `list of TYPE` or `one of (\"a\", \"b\")`"))
        return A.ListType(self.span(c[0], c[2]), c[2])

    def input_decl(self, c):
        return A.Input(self.span(c[0], c[2], c[-1]), str(c[1]), c[2], self.opt_string(c, 3))

    def let_decl(self, c):
        return A.Let(self.span(c[0], c[-1]), str(c[1]), c[-1], self.opt_string(c, 2))

    def score_decl(self, c):
        return A.Score(self.span(c[0], c[-1]), str(c[1]), c[-1], self.opt_string(c, 2))

    def outcome_decl(self, c):
        return A.Outcome(self.span(c[0], c[-1]), str(c[1]), c[-1], self.opt_string(c, 2))

    def def_decl(self, c):
        params = tuple(str(p) for p in c[2:-1] if p is not None)
        return A.Def(self.span(c[0], c[-1]), str(c[1]), params, c[-1])

    def ind_weight(self, c):
        return ("weight", self.bound(c[1]))

    def ind_max(self, c):
        return ("max", self.bound(c[1]))

    def _indicator(self, c, lines):
        label = self.opt_string(c, 2)
        size = next((x for x in c[2:4] if isinstance(x, tuple)), None)
        weight = size[1] if size and size[0] == "weight" else None
        mx = size[1] if size and size[0] == "max" else None
        end = lines[-1] if lines else c[1]
        return A.Indicator(self.span(c[0], end), str(c[1]), label, weight, mx, tuple(lines))

    def indicator_block(self, c):
        return self._indicator(c, [x for x in c[2:] if isinstance(x, A.IndLine.__args__)])

    def indicator_computed(self, c):
        return self._indicator(c, [A.ComputedLine(c[-1].span, c[-1])])

    def base_line(self, c):
        return A.BaseLine(self.span(c[0], c[1]), c[1])

    def computed_line(self, c):
        return A.ComputedLine(c[0].span, c[0])

    def _adjust(self, c, sign, per):
        tail = c[4] if len(c) > 4 and c[4] is not None else ()
        reason = next((self.string(t) for t in tail if isinstance(t, Token)), None)
        up_to = next((t for t in tail if isinstance(t, A.Bound)), None)
        end = max((p for p in tail), key=lambda p: (p.line, p.column) if isinstance(p, Token) else (p.span.line, p.span.col), default=c[3])
        return A.Adjust(self.span(c[0], end), sign, c[1], c[3] if per else None, None if per else c[3], reason, up_to)

    def line_tail(self, c):  # the reason and the line cap, in either order
        return [x for x in c if x is not None]

    def add_per(self, c):
        return self._adjust(c, 1, True)

    def deduct_per(self, c):
        return self._adjust(c, -1, True)

    def add_if(self, c):
        return self._adjust(c, 1, False)

    def deduct_if(self, c):
        return self._adjust(c, -1, False)

    def up_to(self, c):
        return self.bound(c[1])

    def clamp_line(self, c):
        return A.Limit_(self.span(c[0], c[1]), "clamp", c[1].lo, c[1].hi)

    def cap_line(self, c):
        return A.Limit_(self.span(c[0], c[1]), "cap", None, self.bound(c[1]))

    def floor_line(self, c):
        return A.Limit_(self.span(c[0], c[1]), "floor", self.bound(c[1]), None)

    def table_case(self, c):
        return A.TableRow(self.span(c[0], c[1]), c[0], c[1])

    def table_otherwise(self, c):
        return A.TableRow(self.span(c[0], c[1]), None, c[1])

    def table_decl(self, c):
        rows = tuple(x for x in c if isinstance(x, A.TableRow))
        return A.Table(self.span(c[0], *(rows or [c[2]])), str(c[1]), str(c[2]), self.opt_string(c, 3), rows)

    def tier_threshold(self, c):
        return A.TierLine(self.span(c[0], c[2]), str(c[0]), _CMP.get(str(c[1]), str(c[1])), c[2])

    def tier_otherwise(self, c):
        return A.TierLine(self.span(c[0], c[1]), str(c[0]), None, None)

    def tiers_decl(self, c):
        label = self.opt_string(c, 2)
        rest = c[3:] if label is not None else c[2:]
        by = rest[1]
        ascending = len(rest) > 2 and isinstance(rest[2], Token) and rest[2].type == "ASC"
        lines = tuple(x for x in rest if isinstance(x, A.TierLine))
        return A.Tiers(self.span(c[0], *(lines or [by])), str(c[1]), label, by, ascending, lines)

    def veto(self, c):
        return A.Veto(self.span(c[0], c[-1]), c[1], str(c[3]), self._tok_span(c[3]), self.opt_string(c, 4))

    def downgrade(self, c):
        return A.Downgrade(self.span(c[0], c[-1]), c[1], self.bound(c[3]), self.opt_string(c, 4))

    def limit(self, c):
        return A.LimitRule(self.span(c[0], c[-1]), c[1], str(c[4]), self._tok_span(c[4]), self.opt_string(c, 5))

    # -- cohort rules ---------------------------------------------------------------
    def rank_opt(self, c):
        group = c[2] if len(c) > 2 else None
        return ("rank", self._rank(c[0], c[1], group))

    def rounding_opt(self, c):
        return ("rounding", (str(c[1]), self._tok_span(c[1])))

    def ties_opt(self, c):
        return ("ties", self._tok_span(c[0]))

    def cohort_opts(self, c):
        return list(c)

    def _options(self, opts) -> tuple[A.CohortOptions, str | None]:
        rank = rounding = rspan = None
        ties = False
        for kind, value in opts:
            if kind == "rank":
                rank = value
            elif kind == "rounding":
                rounding, rspan = value
            else:
                ties = True
        return A.CohortOptions(rank, rounding, rspan, ties), rank.group if rank else None

    def quota_share(self, c):
        return self._quota(c, share=self.bound(c[3]), count=None)

    def quota_count(self, c):
        return self._quota(c, share=None, count=c[3])

    def _quota(self, c, share, count):
        group = next((_group(x) for x in c[4:] if isinstance(x, tuple) or isinstance(x, Token) and x.type == "NAME"), None)
        options, rank_group = self._options(c[-1])
        return A.Quota(self.span(c[0], c[3]), str(c[1]), self._tok_span(c[1]), share, count, group or rank_group, options)

    def tier_bound(self, c):
        return A.TierBound(self.span(c[0], c[1]), str(c[0]), c[1])

    def dist_base(self, c):
        return c[0]

    def dist_when(self, c):
        bounds = tuple(x for x in c[2:] if isinstance(x, A.TierBound))
        return A.When(self.span(c[0], bounds[-1]), c[1], bounds)

    def distribute(self, c):
        group = next((_group(x) for x in c[1:] if isinstance(x, tuple) or isinstance(x, Token) and x.type == "NAME"), None)
        opts = next(x for x in c[1:] if isinstance(x, list))
        options, rank_group = self._options(opts)
        bounds = tuple(x for x in c if isinstance(x, A.TierBound))
        whens = tuple(x for x in c if isinstance(x, A.When))
        return A.Distribute(self.span(c[0]), group or rank_group, options, bounds, whens)

    # -- flags, properties, examples ------------------------------------------------
    def flag(self, c):
        return A.Flag(self.span(c[0], c[3]), self.string(c[1]), c[3])

    def property_expr(self, c):
        return A.Property(self.span(c[0], c[2]), self.string(c[1]), c[2])

    def property_cohort(self, c):  # `property cohort "label": EXPR`: holds for every subject of a cohort
        return A.Property(self.span(c[0], c[3]), self.string(c[2]), c[3], cohort=True)

    def monotone_body(self, c):
        return c

    def trend(self, c):
        return c[0]

    def property_monotone(self, c):
        return self._monotone(c[2], self.string(c[1]), c[0])

    def monotone(self, c):
        return self._monotone(c[0], None, c[0][0])

    def _monotone(self, body, label, start):
        return A.Monotone(self.span(start, body[-1]), label, str(body[1]), self._tok_span(body[1]),
                          body[2].type == "INCREASING", str(body[4]), self._tok_span(body[4]))

    def assignment(self, c):
        return A.Assignment(self.span(c[0], c[1]), str(c[0]), c[1])

    def expect_value(self, c):
        return A.Expectation(self.span(c[0], c[1]), str(c[0]), None, None, c[1])

    def expect_of(self, c):
        key = c[2]
        key_text = self.string(key) if isinstance(key, Token) and key.type == "STRING" else str(key)
        return A.Expectation(self.span(c[0], c[3]), str(c[0]), key_text, None, c[3])

    def expect_count(self, c):
        return A.Expectation(self.span(c[0], c[2]), str(c[0]), None, c[1], c[2])

    def given(self, c):
        return ("given", [x for x in c[1:]])

    def expect(self, c):
        return ("expect", [x for x in c[1:]])

    def _example(self, c, cohort):
        rows = [self._cells(t) for t in c if isinstance(t, Token) and t.type == "TABLE_ROW"]
        given = [a for kind, xs in (p for p in c if isinstance(p, tuple)) if kind == "given" for a in xs]
        expect = [e for kind, xs in (p for p in c if isinstance(p, tuple)) if kind == "expect" for e in xs]
        return A.Example(self.span(c[0], c[1]), self.string(c[1]), cohort, tuple(rows), tuple(given), tuple(expect))

    def example_single(self, c):
        return self._example(c, False)

    def example_cohort(self, c):
        return self._example(c, True)

    def example_defaults(self, c):
        given = [a for kind, xs in (p for p in c if isinstance(p, tuple)) if kind == "given" for a in xs]
        expect = [e for kind, xs in (p for p in c if isinstance(p, tuple)) if kind == "expect" for e in xs]
        return A.ExampleDefaults(self.span(c[0]), tuple(given), tuple(expect))

    def _cells(self, tok: Token) -> A.TableCells:
        text = str(tok).rstrip()
        parts = text.split("|")
        if text.endswith("|"):
            parts = parts[:-1]
        cells, spans, col = [], [], tok.column + 1
        for part in parts[1:]:
            stripped = part.strip()
            lead = len(part) - len(part.lstrip())
            start = col + lead
            cells.append(stripped)
            spans.append(Span(self.file, tok.line, start, tok.line, start + max(1, len(stripped))))
            col += len(part) + 1
        return A.TableCells(self._tok_span(tok), tuple(cells), tuple(spans))

    # -- files ----------------------------------------------------------------------
    def policy(self, c):
        items = tuple(x for x in c[2:] if not isinstance(x, Token))
        return A.Policy(self.span(c[0], c[1]), str(c[1]), self.opt_string(c, 2), items)

    def start(self, c):
        return list(c)


_CMP = {"≥": ">=", "≤": "<=", "≠": "!="}  # as a Chinese input method types them


def _edges(part) -> tuple[int, int, int, int] | None:
    """(line, col, end line, end col) of a token, span or node; None for anything else."""
    span = part if isinstance(part, Span) else getattr(part, "span", None)
    if span is not None:
        return span.line, span.col, span.end_line, span.end_col
    if isinstance(part, Token):  # Lark's token (tests/test_parse_tables.py): no Span of its own
        return part.line, part.column, part.end_line, part.end_column
    return None


def _group(g):
    """A `per` group as the AST keeps it: one field's name, or a tuple of several."""
    return None if g is None else g if isinstance(g, tuple) else str(g)


@lru_cache(maxsize=1)
def _tables() -> Tables:
    """The parse tables, loaded once per process."""
    return tables.load()


_TOKEN_WORDS = {
    "NAME": "a name", "STRING": "a quoted string", "NUMBER": "a number", "PERCENT": "a percentage",
    "LBRACE": "`{`", "RBRACE": "`}`", "LPAR": "`(`", "RPAR": "`)`", "LSQB": "`[`", "RSQB": "`]`",
    "COLON": "`:`", "COMMA": "`,`", "EQUAL": "`=`", "CMP_OP": "a comparison", "PLUS": "`+`", "MINUS": "`-`",
    "MUL_OP": "`*` or `/`", "ARROW": "`->`", "TABLE_ROW": "a table row `| ... |`", "$END": "the end of the file",
}

_KEYWORD_WORDS = {
    "policy", "key", "period", "scale", "input", "let", "score", "outcome", "def", "indicator", "table", "tiers",
    "veto", "downgrade", "limit", "quota", "distribute", "flag", "property", "monotone", "example", "import",
    "方案", "主键", "周期", "分制", "输入", "设", "得分", "结果", "定义", "指标", "档次表", "等次", "否决", "降级",
    "限制", "名额", "分布", "标记", "性质", "单调", "示例", "引用",
}


def _describe(term: str) -> str:
    if term in _TOKEN_WORDS:
        return _TOKEN_WORDS[term]
    if term.startswith("__ANON"):
        return "`..`"
    return f"`{term.lower().replace('_', ' ')}`"


def _syntax_diagnostic(err: ParseError, file: str, text: str) -> Diagnostic:
    line, col = max(err.line, 1), max(err.column, 1)
    if err.token is None:
        ch = text[err.pos_in_stream] if err.pos_in_stream < len(text) else ""
        hint = None
        if ch == '"':
            hint = "a string must end with `\"` on the same line"
        elif ch in "=!<>":
            hint = "comparisons are `==`, `!=`, `<`, `<=`, `>`, `>=`"
        elif unicodedata.category(ch) == "Cf":  # invisible: say what it is
            hint = f"U+{ord(ch):04X} ({unicodedata.name(ch, 'a format character')}) is invisible and may reorder the line as shown; delete it"
        return Diagnostic("PD001", "error", Span(file, line, col, line, col + 1),
                          f"unexpected character {ch!r}", hint)
    expected = sorted(err.expected)
    words = sorted({_describe(t) for t in expected})
    shown = ", ".join(words[:8]) + (", …" if len(words) > 8 else "")
    tok = err.token
    value = str(tok)
    end = tok.end_column if tok.end_line == tok.line and tok.end_column else col + max(1, len(value))
    if tok.type == "$END":
        return Diagnostic("PD001", "error", Span(file, line, col, line, col + 1),
                          "the file ends in the middle of a statement", f"expected {shown}; is a `}}` missing?")
    hint = f"expected {shown}"
    if tok.type != "NAME" and value.isidentifier() and "NAME" in expected:
        hint += f"; `{value}` is a keyword here — pick another name"
    before = re.search(r"(\w+)\s*$", text[: tok.start_pos]) if tok.start_pos is not None else None
    if before and before.group(1) in _KEYWORD_WORDS:
        line_of = text.count("\n", 0, before.start(1)) + 1
        hint = f"`{before.group(1)}` on line {line_of} was read as a name: the expression before it is unfinished"
    what = f"{_describe(tok.type)}" if tok.type in _TOKEN_WORDS and tok.type not in ("NAME", "NUMBER", "STRING", "PERCENT") else ""
    shown_tok = f"`{value}`" if tok.type != "STRING" else value
    message = f"unexpected {what}" if what else f"unexpected {shown_tok}"
    return Diagnostic("PD001", "error", Span(file, tok.line, tok.column, tok.line, end), message, hint)


def parse_text(text: str, file: str) -> tuple[A.Module | None, list[Diagnostic]]:
    """Parse one file's text. Returns the module (None on a syntax error) and diagnostics.
    A UTF-8 BOM before the first character (Windows editors write one) is not text."""
    folded = fold_fullwidth(text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n"))
    if "\x00" in folded:
        line = folded[: folded.index("\x00")].count("\n") + 1
        col = folded.index("\x00") - (folded.rfind("\n", 0, folded.index("\x00")) + 1) + 1
        return None, [Diagnostic("PD001", "error", Span(file, line, col, line, col + 1),
                                 "NUL character in the policy file", "save the file as plain UTF-8 text")]
    grammar = _tables()
    builder = _Builder(file)
    try:
        items = run_tables(grammar, folded, grammar.bind(builder), file)
    except ParseError as err:
        return None, [_syntax_diagnostic(err, file, folded)]
    problems = builder.problems + check_depth(items)
    if any(d.is_error for d in problems):
        return None, problems
    imports = tuple(i for i in items if isinstance(i, A.Import))
    policies = [i for i in items if isinstance(i, A.Policy)]
    rest = tuple(i for i in items if not isinstance(i, (A.Import, A.Policy)))
    for extra in policies[1:]:
        problems.append(Diagnostic("PD004", "error", extra.span, "a file holds at most one `policy` block",
                                   "put the second policy in a file of its own"))
    for imp in imports:
        if policies and (imp.span.line, imp.span.col) > (policies[0].span.line, policies[0].span.col):
            problems.append(Diagnostic("PD018", "error", imp.span, "`import` must come before the `policy` block"))
    if any(d.is_error for d in problems):
        return None, problems
    return A.Module(file, imports, policies[0] if policies else None, rest), problems
