"""What the SQL printer knows of a value besides its SQL: its kind, and for numbers the
scale of the scaled integer that carries it (value = integer / 10^scale)."""
from __future__ import annotations

from dataclasses import dataclass, replace

from sqlglot import exp


@dataclass(frozen=True)
class V:
    sql: exp.Expression
    kind: str  # num bool text pos (a tier position) list tuple null
    scale: int = 0  # num, and the elements of a list of num
    elem: "V | None" = None  # list: what its elements are (sql unused)
    items: tuple = ()  # tuple: the constant's Python values

    def at(self, sql: exp.Expression) -> "V":
        return replace(self, sql=sql)


def col(name: str) -> exp.Column:
    """A column by its name, quoted: names come from policies and are never SQL."""
    return exp.Column(this=exp.to_identifier(name, quoted=True))


def lit_int(n: int) -> exp.Expression:
    return exp.Literal.number(n) if n >= 0 else exp.Neg(this=exp.Literal.number(-n))


def lit_str(s: str) -> exp.Expression:
    return exp.Literal.string(s)


def case(test: exp.Expression, then: exp.Expression, else_: exp.Expression) -> exp.Expression:
    return exp.Case(ifs=[exp.If(this=test, true=then)], default=else_)


def size(e: exp.Expression) -> int:
    """Nodes in a tree: when to give an intermediate value its own column."""
    return sum(1 for _ in e.walk())
