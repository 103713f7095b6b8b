"""Expressions shown with the values they had: `40% × 95 = 38`, `85 ≥ 80 成立`.

An explanation re-evaluates the sub-expressions of a value over the subject's final
record and values with the reference interpreter (the same semantics, hence the same
digits as whichever backend computed the result), so no backend has to record more
than the control flow it took. The result is a Term tree: plain data that each
language renders (perfdsl.explain.words). Deep expressions are cut at MAX_DEPTH:
what lies below is shown by its value alone.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from ..ir import Const, Fn, GroupAgg, If, Prim, Rank, Ref

MAX_DEPTH = 4

_INFIX = {Fn.ADD: "+", Fn.SUB: "-", Fn.MUL: "*", Fn.DIV: "/", Fn.EQ: "==", Fn.NE: "!=", Fn.LT: "<",
          Fn.LE: "<=", Fn.GT: ">", Fn.GE: ">=", Fn.CONCAT: "+"}
COMPARE = {"==", "!=", "<", "<=", ">", ">="}
_CALL = {Fn.MIN: "min", Fn.MAX: "max", Fn.ABS: "abs", Fn.CLAMP: "clamp", Fn.ROUND_HALF_UP: "round",
         Fn.ROUND_HALF_EVEN: "round", Fn.ROUND_FLOOR: "floor", Fn.ROUND_CEIL: "ceil", Fn.SUM: "sum",
         Fn.MEAN: "mean", Fn.LEN: "len", Fn.COUNT: "count", Fn.TRIMMED_MEAN: "trimmed_mean",
         Fn.STREAK: "streak", Fn.RATIO: "ratio", Fn.LIST_MIN: "min", Fn.LIST_MAX: "max", Fn.TOTAL: "sum"}


@dataclass(frozen=True)
class Term:
    """One evaluated sub-expression.

    kind: num text tier bool list ref size rank group op cmp and or not neg call index if value skip
    (`value`: shown by its value only; `skip`: not evaluated, as `and`/`or` short-circuit)."""
    kind: str
    value: object = None
    op: str = ""               # infix operator, function name, or the aggregate
    args: tuple = ()
    name: str | None = None    # ref: the input or value read; group: the field grouped by
    label: str | None = None
    percent: bool = False      # a number written as a percentage
    quoted: bool = False       # a ref whose value is text (not a tier name): shown in quotes
    facts: tuple = ()          # rank: (rank, n, group values); if: (condition held,)

    @property
    def simple(self) -> bool:
        return self.kind in ("num", "text", "tier", "bool", "ref", "size", "value", "skip", "rank", "group")


class Shower:
    """Builds Terms for one subject: `show(expr)`."""

    def __init__(self, interp, policy, env: dict, ctx):
        self.interp, self.policy, self.env, self.ctx = interp, policy, env, ctx
        self.labels = {i.name: i.label for i in policy.inputs}
        self.labels.update((d.name, d.label) for d in policy.definitions)
        self.weights = {d.name: d.weight for d in policy.definitions if d.weight is not None}

    def value(self, e):
        return self.interp.eval(e, self.env, self.ctx)

    def show(self, e, depth: int = 0) -> Term:
        try:
            return self._show(e, depth)
        except Exception:  # noqa: BLE001 — an explanation never fails: show what is known
            return Term("value", None)

    def reads(self, e) -> dict:
        """The named values an expression reads directly or through its parts, in order."""
        out, stack = {}, [e]
        while stack:
            n = stack.pop()
            if isinstance(n, Ref) and n.kind != "size":
                out.setdefault(n.name, self.env.get(n.name))
            elif isinstance(n, Prim):
                stack.extend(reversed(n.args))
            elif isinstance(n, If):
                stack.extend((n.else_, n.then, n.cond))
            elif isinstance(n, GroupAgg):
                stack.append(n.arg)
        return out

    def _show(self, e, depth: int) -> Term:
        if isinstance(e, Const):
            return self._const(e)
        if isinstance(e, Ref):
            if e.kind == "size":
                return Term("size", self.value(e))
            return Term("ref", self.env.get(e.name), name=e.name, label=self.labels.get(e.name),
                        quoted=e.type.kind == "text")
        if depth >= MAX_DEPTH:
            return Term("value", self.value(e))
        if isinstance(e, Rank):
            rank, n, group = self.ctx.facts[("rank", e.order)]
            return Term("rank", self.value(e), "rank_from_bottom" if e.from_bottom else "rank",
                        facts=(rank, n, group), name=e.order.keys[0].name if e.order.keys else None,
                        label=self.labels.get(e.order.keys[0].name) if e.order.keys else None)
        if isinstance(e, GroupAgg):
            value, group = self.ctx.facts[("group", e)]
            return Term("group", value, e.fn, (self.show(e.arg, depth + 1),), facts=(group,))
        if isinstance(e, If):
            return self._if(e, depth)
        return self._prim(e, depth)

    def _const(self, e: Const) -> Term:
        v = e.value
        if isinstance(v, bool):
            return Term("bool", v)
        if isinstance(v, Decimal):
            return Term("num", v, percent=_written_as_percent(e))
        if isinstance(v, tuple):
            return Term("list", v)
        return Term("tier" if e.type.kind == "tier" else "text", v)

    def _if(self, e: If, depth: int) -> Term:
        node = e
        while True:
            held = bool(self.value(node.cond))
            if held or not isinstance(node.else_, If) or node.else_.span != node.span:
                taken = node.then if held else node.else_
                return Term("if", self.value(e), args=(self.show(node.cond, depth + 1), self.show(taken, depth + 1)),
                            facts=(held,))
            node = node.else_  # a table's rows share the call's span: show the row that decided

    def _prim(self, e: Prim, depth: int) -> Term:
        f = e.fn
        value = self.value(e)
        if f in (Fn.AND, Fn.OR):
            left = self.show(e.args[0], depth + 1)
            short = bool(left.value) is (f is Fn.OR)
            right = Term("skip") if short else self.show(e.args[1], depth + 1)
            return Term(f.value, value, args=(left, right))
        if f is Fn.NOT:
            return Term("not", value, args=(self.show(e.args[0], depth + 1),))
        if f is Fn.NEG:
            return Term("neg", value, args=(self.show(e.args[0], depth + 1),))
        if f is Fn.LIST:
            return Term("list", value)
        # a chain of + and − is one level, however long: each of its terms is shown
        chain = f in (Fn.ADD, Fn.SUB, Fn.TOTAL)
        args = tuple(self.show(x, depth if chain and isinstance(x, Prim) and x.fn in (Fn.ADD, Fn.SUB, Fn.TOTAL)
                               else depth + 1) for x in e.args)
        if f is Fn.MUL:
            args = tuple(self._weight(a, other) for a, other in ((args[0], args[1]), (args[1], args[0])))
        if getattr(Fn, "INDEX", None) is f:
            return Term("index", value, args=args)  # xs[i]
        if f in _INFIX:
            op = _INFIX[f]
            return Term("cmp" if op in COMPARE else "op", value, op, args)
        if f is Fn.TOTAL:
            return Term("op", value, "+", args)  # n-ary: a + b + c
        return Term("call", value, _CALL.get(f, f.value), args)

    def _weight(self, a: Term, other: Term) -> Term:
        """A weight in `weighted(...)` is the indicator's `weight P%`: shown as P%."""
        if a.kind == "num" and other.kind == "ref" and self.weights.get(other.name) == a.value:
            return Term("num", a.value, percent=True)
        return a


def summands(t: Term) -> list[tuple[str, Term]]:
    """A sum's terms with their signs, `a + b - c` → [(+, a), (+, b), (-, c)]; [] otherwise."""
    if t.kind != "op" or t.op not in ("+", "-") or not isinstance(t.value, Decimal):
        return []
    out = []
    for i, a in enumerate(t.args):
        sign = "+" if i == 0 or t.op == "+" else "-"
        inner = summands(a) if i == 0 or t.op == "+" else []
        out += inner if inner else [(sign, a)]
    return out


# ---- how a number was written ----------------------------------------------------------------
_LINES: dict[str, tuple[float, list[str]]] = {}


_PERCENT: dict = {}


def _written_as_percent(e: Const) -> bool:
    """Whether the literal was written `40%`: the policy's text at the constant's span,
    read back (and accepted only if it is that number as a percentage). Decided once per
    literal and process."""
    key = (e.span, e.value)
    if key not in _PERCENT:
        if len(_PERCENT) > 100_000:
            _PERCENT.clear()
        _PERCENT[key] = _read_percent(e)
    return _PERCENT[key]


def _read_percent(e: Const) -> bool:
    sp = e.span
    if sp.line != sp.end_line:
        return False
    text = _source_line(sp.file, sp.line)
    if text is None:
        return False
    literal = text[sp.col - 1:sp.end_col - 1].strip()
    if not literal.endswith(("%", "％")):
        return False
    try:
        return Decimal(literal[:-1].strip()) / 100 == e.value
    except Exception:  # noqa: BLE001
        return False


def _source_line(file: str, line: int) -> str | None:
    try:
        path = Path(file)
        mtime = path.stat().st_mtime
        cached = _LINES.get(file)
        if cached is None or cached[0] != mtime:
            cached = (mtime, path.read_text(encoding="utf-8-sig").splitlines())
            _LINES[file] = cached
        lines = cached[1]
        return lines[line - 1] if 0 < line <= len(lines) else None
    except (OSError, UnicodeDecodeError, ValueError):
        return None
