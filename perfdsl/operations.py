"""The pure operations, named once for the typed IR (`ir.Fn`) and the core (`core.Op`).

Both languages apply the same operations to evaluated arguments; each adds the few
that exist only at its level: the IR keeps division and rounding as operations (the
core makes them `Div` and `Round` nodes, their exactness decided), the core adds the
tier-position steps lowering invents. One table, two enums, so an operation's name and
spelling cannot drift between the levels.
"""
from __future__ import annotations

import enum

PURE = (
    ("ADD", "+"), ("TOTAL", "total"),  # TOTAL: n-ary sum, left to right: weighted(...) and sum(a, b, ...)
    ("SUB", "-"), ("MUL", "*"), ("NEG", "neg"),
    ("NOT", "not"), ("AND", "and"), ("OR", "or"),  # the second argument of AND and OR is short-circuited
    ("EQ", "=="), ("NE", "!="), ("LT", "<"), ("LE", "<="), ("GT", ">"), ("GE", ">="),
    ("LIST", "list"), ("CONCAT", "concat"),
    ("MIN", "min"), ("MAX", "max"), ("ABS", "abs"), ("CLAMP", "clamp"),
    ("SUM", "sum"), ("MEAN", "mean"), ("LEN", "len"), ("COUNT", "count"), ("TRIMMED_MEAN", "trimmed_mean"),
    ("STREAK", "streak"), ("RATIO", "ratio"), ("LIST_MIN", "list_min"), ("LIST_MAX", "list_max"),
    ("INDEX", "index"),  # xs[i] and last(xs): 0-based, negative from the end
)

IR_ONLY = (
    ("DIV", "/"),
    ("ROUND_HALF_UP", "round"), ("ROUND_HALF_EVEN", "round_half_even"),
    ("ROUND_FLOOR", "floor"), ("ROUND_CEIL", "ceil"),
)

CORE_ONLY = (
    ("STEP", "step"),  # tier positions: a + b on whole numbers, never a decimal
    ("PICK", "pick"),  # the element of a constant tuple at a tier position (a tier's name)
)


def operations(name: str, module: str, extra: tuple) -> type[enum.Enum]:
    """The enum of one level's operations: the pure ones, then `extra`."""
    return enum.Enum(name, PURE + extra, module=module, qualname=name)
