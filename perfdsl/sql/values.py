"""Small builders of sqlglot expressions the printers share."""
from __future__ import annotations

from sqlglot import exp


def col(name: str) -> exp.Column:
    """A column by its name, quoted: names come from policies and are never SQL."""
    return exp.Column(this=exp.to_identifier(name, quoted=True))


def lit_int(n: int) -> exp.Expression:
    return exp.Literal.number(n) if n >= 0 else exp.Neg(this=exp.Literal.number(-n))


def lit_str(s: str) -> exp.Expression:
    return exp.Literal.string(s)


def case(test: exp.Expression, then: exp.Expression, else_: exp.Expression) -> exp.Expression:
    return exp.Case(ifs=[exp.If(this=test, true=then)], default=else_)
