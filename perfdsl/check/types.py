"""AST expressions → typed IR expressions.

Resolves each name (a def parameter, an input, an earlier definition, a tier name),
checks operand types, inlines `def` and `table` calls, and recognises the cohort
forms (`rank`, `mean(x) per FIELD`). Errors are collected, never raised: an
expression that fails gets a placeholder of the expected type so checking goes on.
"""
from __future__ import annotations

import contextlib
import dataclasses
import enum
from decimal import Decimal
from typing import NamedTuple

from ..diagnostics import Note, Span, did_you_mean
from ..ir import (BOOL, NUM, TEXT, AggFn, Const, Fn, GroupAgg, If, Interval, Prim, Rank, RankKeyIR, RankOrder, Ref, RefKind,
                  Stage, Type, children, list_type)
from ..numbers import decimal_text
from ..syntax import ast as A
from . import ranges as R

MAX_EXPANDED = 100_000  # operations one inlined call may expand to
MAX_CALL_DEPTH = 40     # nested def calls being inlined
ROUND_MODES = {"half_up": Fn.ROUND_HALF_UP, "half_even": Fn.ROUND_HALF_EVEN,
               "floor": Fn.ROUND_FLOOR, "ceil": Fn.ROUND_CEIL}
BUILTINS = {"min", "max", "abs", "clamp", "round", "floor", "ceil", "sum", "mean", "len", "count",
            "trimmed_mean", "streak", "ratio", "weighted", "rank", "rank_from_bottom", "last", "flagged"}
AGGREGATES = {"mean", "sum", "count", "min", "max"}
# The type of an uncalled def's or table's parameter: nothing is known about it, so it
# passes every type test and its range is unbounded (see Typer.finish).
UNKNOWN = Type("any")
_ARITH = {"+": Fn.ADD, "-": Fn.SUB, "*": Fn.MUL, "/": Fn.DIV, "per": Fn.MUL}
_CMP = {"==": Fn.EQ, "!=": Fn.NE, "<": Fn.LT, "<=": Fn.LE, ">": Fn.GT, ">=": Fn.GE}


class Poison(Exception):
    """Raised inside one expression after its error is recorded, to skip the rest of it."""


class Reads(enum.Flag):
    """What an expression may read beyond one subject's values, by where it is written:
    the group `size` (a `when` of distribute, a cohort property), flags through
    `flagged("label")` (flags and properties), whole-cohort aggregates without `per`
    (cohort properties). Given to `Typer.expr` with the expression, never kept as a switch."""
    SUBJECT = 0
    SIZE = enum.auto()
    FLAGGED = enum.auto()
    TOTALS = enum.auto()


class RoundCheck(NamedTuple):
    """`round(x, places)` must fit 28 significant digits over x's range (PD023, PW110):
    decided by the ranges pass, at the call of the def it was typed in (`call`)."""
    owner: str | None  # the definition it was typed in (None: a flag, rule, example, ...)
    span: Span
    func: str
    x: object
    places: int
    call: Span | None  # the outermost def or table call being inlined, for the note


class DivisorCheck(NamedTuple):
    """A divisor that no constant or guard shows is not 0: PW111 if its range holds 0."""
    owner: str | None
    span: Span
    what: str
    divisor: object
    call: Span | None


class TableCall(NamedTuple):
    """A table inlined at a call, for the tables pass (coverage over the argument's range)."""
    owner: str | None
    arg: object
    rows: list  # [(condition IR or None, row AST)]
    span: Span
    known: bool  # False: the argument reads an uncalled def's parameter (no range, no call span)


class Typer:
    """Typing context shared by every expression of one policy: the names known so far
    (inputs, tier names, each definition once typed) and the facts expressions collect
    (table calls, inexact values, defs called, and the range checks the ranges pass
    decides: `round` digits and divisors, each with the call it was typed under)."""

    def __init__(self, program, names: dict, decls):
        self.program = program
        self.names = names          # every defined item by name (resolve.defined_names)
        self.inputs = decls.inputs  # name -> InputDef
        self.types: dict[str, Type] = {}   # definitions typed so far
        self.stages: dict[str, Stage] = {}   # definition -> stage
        self.weights: dict[str, tuple[Decimal, Span]] = decls.weights
        self.maxima: dict[str, Decimal] = decls.maxima
        self.scale = decls.scale
        self.tier_sets = decls.tier_sets  # tier set name -> tier names, best first
        self.lengths = R.input_ranges(decls.inputs)  # list lengths, for a mean's divisor (see _smooth_lengths)
        self.rank = decls.rank
        self.flag_items: dict = {f.label: f for f in decls.flags}  # for `flagged("label")`
        self._reads = Reads.SUBJECT
        self.table_calls: dict[str, list[TableCall]] = {}  # table -> its calls, in typing order
        self.range_checks: list[RoundCheck | DivisorCheck] = []
        self.owner: str | None = None  # the definition being typed (see `typing`)
        self.called: set[str] = set()    # defs and tables inlined somewhere
        self.inexact: set[str] = set()  # definitions fed by an unrounded inexact division
        self.failed: set[str] = set()   # definitions already reported: readers stay quiet
        self._sizes: dict[int, tuple[int, object]] = {}  # id -> (tree size, node kept alive)
        self.inline_depth = 0
        self.calls: list[Span] = []  # the def and table calls being inlined, outermost first
        self._flagging: list[str] = []  # flags being inlined by `flagged`, to stop a cycle
        self._nonzero: list[tuple] = []  # values a surrounding `if`/`and`/`or` has shown are not 0

    # ---- entry points --------------------------------------------------------------
    @contextlib.contextmanager
    def typing(self, name: str):
        """While typing the definition `name`: the range checks and table calls recorded
        belong to it (the ranges pass skips them when its range fails)."""
        self.owner = name
        try:
            yield
        finally:
            self.owner = None

    def expr(self, node, want: Type | None = None, scope: dict | None = None, reads: Reads | None = None):
        """Type one expression; returns None (after reporting) when it is ill-typed.
        `reads`: what it may read besides the subject (by default what the expression
        it is part of may)."""
        outer = self._reads
        self._reads = outer if reads is None else reads
        try:
            return self._expr(node, scope or {}, want)
        except Poison:
            return None
        except RecursionError:
            self.program.error("PD019", node.span, "expression too deeply nested", "split it into named `let` values")
            return None
        finally:
            self._reads = outer

    def expect(self, node, want: Type, what: str, scope: dict | None = None, reads: Reads | None = None):
        e = self.expr(node, want, scope, reads)
        if e is not None and not _compatible(e.type, want):
            self.program.error("PD003", node.span, f"{what} must be {want}, but this is {e.type}")
            return None
        return e

    def stage_of(self, e) -> Stage:
        """individual < post (reads a final tier) < cohort (reads ranks or group values)."""
        found = []
        stack = [e]
        while stack:
            n = stack.pop()
            if isinstance(n, (Rank, GroupAgg)):
                return Stage.COHORT
            if isinstance(n, Ref) and n.kind is RefKind.VALUE:
                found.append(self.stages.get(n.name, Stage.INDIVIDUAL))
            stack.extend(children(n))
        return Stage.latest(found)

    def _smooth_lengths(self, n) -> bool:
        """A mean divides by the count it averages: exact only when every possible
        count has no prime factor but 2 and 5 (a fixed-length list of 4, say)."""
        length = R.range_of(Prim(n.span, NUM, Fn.LEN, (n.args[0],)), self.lengths)
        if length.lo is None or length.hi is None or length.hi - length.lo > 50:
            return False
        drop = 2 * int(n.args[1].value) if n.fn is Fn.TRIMMED_MEAN else 0
        counts = range(int(length.lo) - drop, int(length.hi) - drop + 1)
        return all(c > 0 and _exact_divisor(Const(n.span, NUM, Decimal(c))) for c in counts)

    def reads_inexact(self, e) -> bool:
        """Whether an unrounded inexact division feeds this expression."""
        stack = [e]
        while stack:
            n = stack.pop()
            if isinstance(n, Prim) and n.fn in (Fn.ROUND_HALF_UP, Fn.ROUND_HALF_EVEN, Fn.ROUND_FLOOR, Fn.ROUND_CEIL):
                continue
            if isinstance(n, Prim) and n.fn is Fn.DIV and not _exact_divisor(n.args[1]):
                return True
            if isinstance(n, Prim) and n.fn in (Fn.MEAN, Fn.TRIMMED_MEAN) and not self._smooth_lengths(n):
                return True
            if isinstance(n, Ref) and n.name in self.inexact:
                return True
            stack.extend(children(n))
        return False

    def type_uncalled(self) -> None:
        """Type what no definition reached: every uncalled def and table, so an error in
        one is never hidden until someone calls it (after every other expression)."""
        reached = self._reached()
        for name, item in self.names.items():
            if isinstance(item, A.Def) and name not in reached and name not in self.called:
                self.expr(item.body, None, {p: Ref(item.span, UNKNOWN, p, RefKind.PARAM) for p in item.params})
        for name, item in self.names.items():
            if isinstance(item, A.Table) and name not in reached and name not in self.called:  # typed as if called
                self.expr(A.Call(item.span, name, item.span, (A.Name(item.span, item.param),)), None,
                          {item.param: Ref(item.span, UNKNOWN, item.param, RefKind.PARAM)})

    def _reached(self) -> set[str]:
        """Defs and tables the policy's other items call, directly or through each other.
        They are checked where they are inlined (a chain cut short by an error there is
        not checked again on its own)."""
        from .resolve import free_names
        funcs = {n: it for n, it in self.names.items() if isinstance(it, (A.Def, A.Table))}
        others = [it for it in self.program.items if not isinstance(it, (A.Def, A.Table))]
        reached: set[str] = set()
        pending = [n for n, _ in free_names(others) if n in funcs]
        while pending:
            name = pending.pop()
            if name not in reached:
                reached.add(name)
                item = funcs[name]
                pending += [n for n, _ in free_names(item.body if isinstance(item, A.Def) else item.rows) if n in funcs]
        return reached

    # ---- dispatch ------------------------------------------------------------------
    def _expr(self, node, scope, want):
        if isinstance(node, A.Num):
            return Const(node.span, NUM, node.value)
        if isinstance(node, A.Str):
            return Const(node.span, TEXT, node.value)
        if isinstance(node, A.Bool):
            return Const(node.span, BOOL, node.value)
        if isinstance(node, A.Name):
            return self._name(node, scope, want)
        if isinstance(node, A.ListLit):
            return self._list(node, scope, want)
        if isinstance(node, A.Unary):
            if node.op == "-":
                x = self._num(node.operand, scope, "the operand of `-`")
                return Prim(node.span, NUM, Fn.NEG, (x,))
            x = self._bool(node.operand, scope, "the operand of `not`")
            return Prim(node.span, BOOL, Fn.NOT, (x,))
        if isinstance(node, A.Binary):
            return self._binary(node, scope, want)
        if isinstance(node, A.Compare):
            return self._compare(node, scope)
        if isinstance(node, A.IfExpr):
            cond = self._bool(node.cond, scope, "the condition of `if`")
            with self._guarded(cond, True):
                then = self._expr(node.then, scope, want)
            with self._guarded(cond, False):
                else_ = self._expr(node.else_, scope, want or then.type)
            if not _compatible(then.type, else_.type):
                self._fail(node.else_.span, f"the branches of `if` differ: {then.type} and {else_.type}",
                           "both branches must give the same kind of value")
            return If(node.span, then.type, cond, then, else_)
        if isinstance(node, A.Call):
            return self._call(node, scope, want)
        if isinstance(node, A.Index):
            return self._index(node, scope)
        if isinstance(node, A.Fields):
            self._fail(node.span, "a list of fields `(F1, F2)` belongs after `per` in a group aggregate",
                       "write e.g. `mean(total) per (dept, kind)`", code="PD031")
        self._fail(node.span, "unsupported expression", code="PD031")

    def _index(self, node: A.Index, scope):
        """`xs[i]`: the list's item type; a position it lacks is a data error at run time."""
        lst = self._expr(node.list, scope, None)
        if lst.type == UNKNOWN:
            lst = dataclasses.replace(lst, type=list_type(UNKNOWN))
        if lst.type.kind != "list":
            self._fail(node.list.span, f"`[...]` picks an item of a list, but this is {lst.type}")
        i = self._num(node.index, scope, "a list position")
        if isinstance(i, Const) and i.value != i.value.to_integral_value():
            self._fail(node.index.span, "a list position is a whole number", "0 is the first item, -1 the last", code="PD030")
        return Prim(node.span, lst.type.elem or UNKNOWN, Fn.INDEX, (lst, i))

    def _fail(self, span: Span, message: str, hint: str | None = None, notes=(), code: str = "PD003"):
        """Report an error in the expression being typed (a type mismatch unless `code`
        says otherwise) and abandon the rest of it."""
        self.program.error(code, span, message, hint, notes)
        raise Poison

    def _num(self, node, scope, what):
        e = self._expr(node, scope, NUM)
        if e.type not in (NUM, UNKNOWN):
            self._fail(node.span, f"{what} must be a number, but this is {e.type}")
        return e

    def _bool(self, node, scope, what):
        e = self._expr(node, scope, BOOL)
        if e.type not in (BOOL, UNKNOWN):
            hint = "compare it, e.g. `x >= 1`" if e.type == NUM else None
            self._fail(node.span, f"{what} must be true or false, but this is {e.type}", hint)
        return e

    # ---- names ---------------------------------------------------------------------
    def _name(self, node: A.Name, scope, want):
        name = node.name
        if name in scope:
            return scope[name]  # a def's argument, inlined as the caller's expression
        if name in self.inputs:
            inp = self.inputs[name]
            return Ref(node.span, inp.type, name, RefKind.INPUT)
        if name in self.types:
            return Ref(node.span, self.types[name], name, RefKind.VALUE)
        if name in self.failed:
            raise Poison
        if name == "size" and Reads.SIZE in self._reads:
            return Ref(node.span, NUM, "size", RefKind.SIZE)
        owners = [ts for ts, tiers in self.tier_sets.items() if name in tiers]
        if owners:
            chosen = owners[0]
            if want is not None and want.kind == "tier" and want.tierset in owners:
                chosen = want.tierset
            elif want is not None and want.kind == "list" and want.elem and want.elem.tierset in owners:
                chosen = want.elem.tierset
            return Const(node.span, Type("tier", tierset=chosen), name)
        if name in self.names:
            item = self.names[name]
            if isinstance(item, A.Input):  # its declaration failed, and said so
                raise Poison
            if isinstance(item, (A.Def, A.Table)):
                self._fail(node.span, f"`{name}` is a function; call it as `{name}(...)`", code="PD031")
            self._fail(node.span, f"`{name}` is used before it can be computed",
                       "it depends on this value, or on a rule that cannot see it",
                       [Note(item.span, f"`{name}` is defined here")], code="PD005")
        candidates = list(scope) + list(self.inputs) + list(self.types) + [t for ts in self.tier_sets.values() for t in ts]
        self.program.error("PD002", node.span, f"unknown name `{name}`", _lookalike(name, candidates) or did_you_mean(name, candidates))
        raise Poison

    def _list(self, node: A.ListLit, scope, want):
        elem_want = want.elem if want is not None and want.kind == "list" else None
        items = [self._expr(x, scope, elem_want) for x in node.items]
        if not items:
            return Prim(node.span, want if want is not None and want.kind == "list" else list_type(NUM), Fn.LIST, ())
        first = items[0].type
        for x, src in zip(items[1:], node.items[1:]):
            if not _compatible(x.type, first):
                self._fail(src.span, f"list items differ: {first} and {x.type}")
        return Prim(node.span, list_type(first), Fn.LIST, tuple(items))

    # ---- operators -----------------------------------------------------------------
    def _binary(self, node: A.Binary, scope, want):
        if node.op in ("and", "or"):
            a = self._bool(node.left, scope, f"the left side of `{node.op}`")
            with self._guarded(a, node.op == "and"):  # the right side is evaluated only then
                b = self._bool(node.right, scope, f"the right side of `{node.op}`")
            return Prim(node.span, BOOL, Fn.AND if node.op == "and" else Fn.OR, (a, b))
        if node.op == "per" and isinstance(node.right, A.Fields):
            if not (isinstance(node.left, A.Call) and node.left.func in AGGREGATES and self._is_group_aggregate(node.left, scope)):
                self._fail(node.span, "`per (F1, F2)` groups an aggregate of the subjects' values",
                           "write e.g. `mean(total) per (dept, kind)`; `mean sum count min max` aggregate", code="PD031")
            return self._group_agg(node, scope)
        if node.op == "per" and isinstance(node.left, A.Call) and node.left.func in AGGREGATES \
                and isinstance(node.right, A.Name) and self._is_group_aggregate(node.left, scope):
            return self._group_agg(node, scope)
        left = self._expr(node.left, scope, None)
        if node.op == "+" and left.type == UNKNOWN:  # an uncalled def's parameter: a list if the right side is
            right = self._expr(node.right, scope, None)
            if right.type.kind == "list":
                return Prim(node.span, right.type, Fn.CONCAT, (left, right))
            if right.type not in (NUM, UNKNOWN):
                self._fail(node.right.span, f"the right side of `+` must be a number, but this is {right.type}")
            return Prim(node.span, NUM, Fn.ADD, (left, right))
        if node.op == "+" and left.type.kind == "list":
            right = self._expr(node.right, scope, left.type)
            if not _compatible(right.type, left.type):
                self._fail(node.right.span, f"cannot append {right.type} to {left.type}",
                           "wrap a single item in brackets: `xs + [x]`")
            return Prim(node.span, left.type, Fn.CONCAT, (left, right))
        if left.type not in (NUM, UNKNOWN):
            self._fail(node.left.span, f"`{_op_word(node.op)}` needs numbers, but this is {left.type}")
        right = self._num(node.right, scope, f"the right side of `{_op_word(node.op)}`")
        if node.op == "/" and isinstance(right, Const) and right.value == 0:
            self.program.error("PD024", node.right.span, "division by zero", "divide by a number that cannot be 0")
        elif node.op == "/":
            self._divisor_warning(node.right, right, "the divisor")
        return Prim(node.span, NUM, _ARITH[node.op], (left, right))

    def _divisor_warning(self, src, e, what: str) -> None:
        """PW111: a divisor whose static range includes 0 stops a subject with a data error
        (division by zero) when it is 0; the ranges pass says so at check time. A constant
        or a value a guard shows is not 0 needs no check; a parameter of an uncalled def has
        no range yet: it is judged where the def is called."""
        if _reads_unknown(e) or (isinstance(e, Const) and isinstance(e.value, Decimal)) or _key(e) in self._nonzero:
            return
        self.range_checks.append(DivisorCheck(self.owner, src.span, what, e, self.calls[0] if self.calls else None))

    @contextlib.contextmanager
    def _guarded(self, cond, holds: bool):
        """While typing what runs only when `cond` is `holds`: the values it shows are not 0
        (`if t == 0 then 0 else a / t`, `t > 0 and a / t >= 1`) divide without a warning."""
        facts = _nonzero_facts(cond, holds)
        self._nonzero.extend(facts)
        try:
            yield
        finally:
            del self._nonzero[len(self._nonzero) - len(facts):]

    def _compare(self, node: A.Compare, scope):
        operands = []
        prev_type = None
        for src in node.operands:
            e = self._expr(src, scope, prev_type)
            operands.append(e)
            prev_type = prev_type or e.type
        # A tier name written first is typed by its partner: retype it against the other side.
        if isinstance(operands[0], Const) and operands[0].type.kind == "tier" and len(operands) > 1 \
                and operands[1].type.kind == "tier" and operands[0].type != operands[1].type:
            operands[0] = self._expr(node.operands[0], scope, operands[1].type)
        parts = []
        for i, op in enumerate(node.ops):
            a, b = operands[i], operands[i + 1]
            if op in ("==", "!="):
                if not _compatible(a.type, b.type):
                    self._fail(node.span, f"cannot compare {a.type} with {b.type}")
            elif a.type not in (NUM, UNKNOWN) or b.type not in (NUM, UNKNOWN):
                bad = a if a.type not in (NUM, UNKNOWN) else b
                hint = "tiers compare with `==` and `!=` only" if bad.type.kind == "tier" else None
                self._fail(bad.span, f"`{op}` compares numbers, but this is {bad.type}", hint)
            parts.append(Prim(Span(a.span.file, a.span.line, a.span.col, b.span.end_line, b.span.end_col), BOOL, _CMP[op], (a, b)))
        out = parts[0]
        for p in parts[1:]:
            out = Prim(node.span, BOOL, Fn.AND, (out, p))
        return out

    # ---- calls ---------------------------------------------------------------------
    def _call(self, node: A.Call, scope, want):
        name = node.func
        item = self.names.get(name)
        if isinstance(item, A.Def):
            return self._inline_def(node, item, scope)
        if isinstance(item, A.Table):
            return self._inline_table(node, item, scope)
        if Reads.TOTALS in self._reads and name in AGGREGATES and self._is_group_aggregate(node, scope):
            return self._cohort_total(node, scope)
        if name in BUILTINS:
            return self._builtin(node, scope, want)
        candidates = list(BUILTINS) + [n for n, it in self.names.items() if isinstance(it, (A.Def, A.Table))]
        self.program.error("PD002", node.func_span, f"unknown function `{name}`", did_you_mean(name, candidates))
        raise Poison

    def _inline_def(self, node: A.Call, item: A.Def, scope):
        self.called.add(item.name)
        if len(node.args) != len(item.params):
            self._fail(node.span, f"`{item.name}` takes {len(item.params)} argument(s), got {len(node.args)}",
                       notes=[Note(item.span, f"`{item.name}` is defined here")], code="PD029")
        args = {p: self._expr(a, scope, None) for p, a in zip(item.params, node.args)}
        if self.inline_depth >= MAX_CALL_DEPTH:
            self.program.error("PD019", node.span, f"function calls nest more than {MAX_CALL_DEPTH} deep here",
                               "a function may not call itself, even through others; compute steps as `let` values")
            raise Poison
        self.inline_depth += 1
        self.calls.append(node.span)
        try:
            body = self.expr(item.body, None, args)
        finally:
            self.inline_depth -= 1
            self.calls.pop()
        if body is None:
            if self.inline_depth:  # the outermost call says where; inner ones would repeat it
                raise Poison
            self._fail(node.span, f"in the call of `{item.name}` here", notes=[Note(item.span, "the function is defined here")], code="PD035")
        if self._tree_size(body) > MAX_EXPANDED:
            self.program.error("PD019", node.span, f"this call of `{item.name}` expands to more than {MAX_EXPANDED:,} operations",
                               "a function that uses its parameter several times doubles with every nested call; "
                               "compute the inner call as a named `let` value")
            raise Poison
        return body

    def _tree_size(self, e) -> int:
        """Operations an expression has once shared sub-expressions are counted at
        every use, as every backend evaluates them; memoised, so linear in the DAG."""
        sizes = self._sizes
        stack = [e]
        while stack:
            n = stack[-1]
            if id(n) in sizes:
                stack.pop()
                continue
            kids = children(n)
            missing = [k for k in kids if id(k) not in sizes]
            if missing:
                stack.extend(missing)
                continue
            stack.pop()
            sizes[id(n)] = (1 + sum(sizes[id(k)][0] for k in kids), n)
        return sizes[id(e)][0]

    def _inline_table(self, node: A.Call, item: A.Table, scope):
        if len(node.args) != 1:
            self._fail(node.span, f"table `{item.name}` takes one argument, got {len(node.args)}", code="PD029")
        arg = self._num(node.args[0], scope, f"the argument of table `{item.name}`")
        inner = {item.param: arg}
        rows = []
        self.calls.append(node.span)
        try:
            for row in item.rows:
                cond = None if row.cond is None else self._bool(row.cond, inner, "a table row's condition")
                value = self._expr(row.value, inner, rows[0][1].type if rows else None)
                if rows and not _compatible(value.type, rows[0][1].type):
                    self._fail(row.value.span, f"table rows give different kinds of value: {rows[0][1].type} and {value.type}")
                rows.append((cond, value, row))
        finally:
            self.calls.pop()
        self.called.add(item.name)
        # A call reading an uncalled def's parameter has no known range: it is kept without
        # a call span, so only its rows are checked.
        self.table_calls.setdefault(item.name, []).append(
            TableCall(self.owner, arg, [(c, r) for c, _, r in rows], node.span, not _reads_unknown(arg)))
        # First matching row wins; a table without `otherwise` has been proven to cover,
        # so its last row needs no test. Rows after an `otherwise` are never reached.
        cut = next((i for i, (c, _, _) in enumerate(rows) if c is None), len(rows) - 1)
        out = rows[cut][1]
        for cond, value, _ in reversed(rows[:cut]):
            out = If(node.span, value.type, cond, value, out)
        return out

    def _arity(self, node, lo, hi=None):
        n = len(node.args)
        if n < lo or (hi is not None and n > hi):
            want = f"{lo}" if hi == lo else f"{lo} to {hi}" if hi is not None else f"at least {lo}"
            self._fail(node.span, f"`{node.func}` takes {want} argument(s), got {n}", code="PD029")

    def _list_arg(self, node, scope, i, elem: Type | None = None):
        e = self._expr(node.args[i], scope, None)
        if e.type == UNKNOWN:  # an uncalled def's parameter, used as a list here
            return dataclasses.replace(e, type=list_type(elem or UNKNOWN))
        if e.type.kind != "list" or (elem is not None and not _compatible(e.type.elem, elem)):
            self._fail(node.args[i].span, f"`{node.func}` needs a list{' of numbers' if elem == NUM else ''} here, but this is {e.type}")
        return e

    def _builtin(self, node: A.Call, scope, want):
        f, sp, args = node.func, node.span, node.args
        if f in ("min", "max"):
            self._arity(node, 1)
            if len(args) == 1:
                lst = self._list_arg(node, scope, 0, NUM)
                return Prim(sp, NUM, Fn.LIST_MIN if f == "min" else Fn.LIST_MAX, (lst,))
            xs = tuple(self._num(a, scope, f"an argument of `{f}`") for a in args)
            return Prim(sp, NUM, Fn.MIN if f == "min" else Fn.MAX, xs)
        if f == "abs":
            self._arity(node, 1, 1)
            return Prim(sp, NUM, Fn.ABS, (self._num(args[0], scope, "the argument of `abs`"),))
        if f == "clamp":
            self._arity(node, 3, 3)
            xs = tuple(self._num(a, scope, "an argument of `clamp`") for a in args)
            return Prim(sp, NUM, Fn.CLAMP, xs)
        if f in ("round", "floor", "ceil"):
            return self._round(node, scope)
        if f == "sum":
            self._arity(node, 1)
            if len(args) == 1:
                return Prim(sp, NUM, Fn.SUM, (self._list_arg(node, scope, 0, NUM),))
            xs = [self._num(a, scope, "an argument of `sum`") for a in args]
            self._check_max_sum(node)
            return Prim(sp, NUM, Fn.TOTAL, tuple(xs))
        if f in ("mean", "len"):
            self._arity(node, 1, 1)
            lst = self._list_arg(node, scope, 0, NUM if f == "mean" else None)
            if f == "mean" and lst.type.elem not in (NUM, UNKNOWN):
                self._fail(args[0].span, "`mean` needs a list of numbers")
            return Prim(sp, NUM, Fn.MEAN if f == "mean" else Fn.LEN, (lst,))
        if f in ("count", "streak"):
            self._arity(node, 2, 2)
            lst = self._list_arg(node, scope, 0)
            v = self._expr(args[1], scope, lst.type.elem)
            if not _compatible(v.type, lst.type.elem):
                self._fail(args[1].span, f"`{f}` looks for {lst.type.elem} in this list, but this is {v.type}")
            return Prim(sp, NUM, Fn.COUNT if f == "count" else Fn.STREAK, (lst, v))
        if f == "trimmed_mean":
            self._arity(node, 1, 2)
            lst = self._list_arg(node, scope, 0, NUM)
            k = self._const_int(args[1], "how many to drop from each end") if len(args) > 1 else 1
            return Prim(sp, NUM, Fn.TRIMMED_MEAN, (lst, Const(sp, NUM, Decimal(k))))
        if f == "ratio":
            self._arity(node, 2, 2)
            a = self._num(args[0], scope, "the actual value of `ratio`")
            t = self._num(args[1], scope, "the target of `ratio`")
            self._divisor_warning(args[1], t, "the target of `ratio`")
            return Prim(sp, NUM, Fn.RATIO, (a, t))
        if f == "last":
            self._arity(node, 1, 1)
            lst = self._list_arg(node, scope, 0)
            return Prim(sp, lst.type.elem or UNKNOWN, Fn.INDEX, (lst, Const(sp, NUM, Decimal(-1))))
        if f == "flagged":
            return self._flagged(node)
        if f == "weighted":
            return self._weighted(node)
        if f in ("rank", "rank_from_bottom"):
            return self._rank(node)
        self._fail(sp, f"`{f}` cannot be used here", code="PD031")

    def _const_int(self, node, what) -> int:
        value = node.value if isinstance(node, A.Num) else None
        if value is None or value != value.to_integral_value() or value < 0 or value > 28:
            self._fail(node.span, f"{what} must be a whole number from 0 to 28 written out", code="PD030")
        return int(value)

    def _round(self, node: A.Call, scope):
        f = node.func
        self._arity(node, 1, 3 if f == "round" else 2)
        x = self._num(node.args[0], scope, f"the value to {f}")
        places = self._const_int(node.args[1], "the number of decimal places") if len(node.args) > 1 else 0
        fn = {"round": Fn.ROUND_HALF_UP, "floor": Fn.ROUND_FLOOR, "ceil": Fn.ROUND_CEIL}[f]
        if len(node.args) == 3:
            mode = node.args[2]
            if not isinstance(mode, A.Name) or mode.name not in ROUND_MODES:
                self._fail(mode.span, "unknown rounding mode", "use half_up (四舍五入), half_even, floor or ceil", code="PD028")
            fn = ROUND_MODES[mode.name]
        self.range_checks.append(RoundCheck(self.owner, node.span, f, x, places, self.calls[0] if self.calls else None))
        return Prim(node.span, NUM, fn, (x, Const(node.span, NUM, Decimal(places))))

    def _indicator_args(self, node: A.Call):
        out = []
        for a in node.args:
            if not isinstance(a, A.Name) or not isinstance(self.names.get(a.name), A.Indicator):
                self._fail(a.span, f"`{node.func}` takes indicator names", "name the indicators, e.g. `weighted(quality, cost)`", code="PD032")
            out.append(a)
        return out

    def _weighted(self, node: A.Call):
        self._arity(node, 1)
        names = self._indicator_args(node)
        total = Decimal(0)
        terms = []
        for a in names:
            if a.name not in self.weights:
                self._fail(a.span, f"indicator `{a.name}` has no weight", "give it one: `indicator NAME weight 40% { ... }`",
                           [Note(self.names[a.name].span, "the indicator is defined here")], code="PD032")
            w, _ = self.weights[a.name]
            total += w
            terms.append(Prim(a.span, NUM, Fn.MUL, (Const(a.span, NUM, w), Ref(a.span, NUM, a.name, RefKind.VALUE))))
        if total != 1:
            pct = decimal_text(total * 100)
            self.program.error("PD012", node.span, f"weights sum to {pct}%, expected 100%",
                               "adjust the indicators' weights so they add up to 100%",
                               [Note(self.weights[a.name][1], f"`{a.name}` weighs {decimal_text(self.weights[a.name][0] * 100)}%") for a in names])
        return terms[0] if len(terms) == 1 else Prim(node.span, NUM, Fn.TOTAL, tuple(terms))

    def _check_max_sum(self, node: A.Call):
        names = [a.name for a in node.args if isinstance(a, A.Name)]
        if len(names) != len(node.args) or not all(n in self.maxima for n in names):
            return
        total = sum(self.maxima[n] for n in names)
        scale = self.scale.hi
        if scale is not None and total != scale:
            self.program.warn("PW105", node.span,
                              f"the indicators' maxima sum to {decimal_text(total)}, but the scale is 0..{decimal_text(scale)}",
                              "check the `max` of each indicator, or set `scale`")

    def _rank(self, node: A.Call):
        self._arity(node, 1, 1)
        arg = node.args[0]
        order = self.rank
        if order is None:
            if not isinstance(arg, A.Name):
                self._fail(arg.span, "rank a named value, e.g. `rank(total)`, or declare `rank by` for the policy", code="PD033")
            order = RankOrder((RankKeyIR(arg.name, True, arg.span),), None, node.span)
        elif not (isinstance(arg, A.Name) and arg.name == order.keys[0].name):
            self._fail(arg.span, f"`{node.func}` follows the policy's rank order, which ranks by `{order.keys[0].name}` first",
                       f"write `{node.func}({order.keys[0].name})`", code="PD033")
        key = order.keys[0].name
        if key not in self.types and key not in self.inputs:
            self._fail(arg.span, f"unknown name `{key}`", code="PD002")
        return Rank(node.span, NUM, node.func == "rank_from_bottom", order)

    def _flagged(self, node: A.Call):
        """`flagged("label")`: that flag's condition, inlined (properties and flags only:
        flags are computed after every other value)."""
        self._arity(node, 1, 1)
        arg = node.args[0]
        if not isinstance(arg, A.Str):
            self._fail(arg.span, "`flagged` takes a flag's label as a quoted string", 'e.g. `flagged("通报批评")`', code="PD034")
        if Reads.FLAGGED not in self._reads:
            self._fail(node.span, "`flagged(...)` may be used in properties and flags only",
                       "flags are computed after every other value; test the flag's condition here instead", code="PD031")
        flag = self.flag_items.get(arg.value)
        if flag is None:
            self.program.error("PD002", arg.span, f"no flag is labelled {arg.value!r}", did_you_mean(arg.value, self.flag_items))
            raise Poison
        if arg.value in self._flagging:
            self._fail(node.span, f"flag {arg.value!r} reads itself through `flagged`",
                       notes=[Note(flag.span, "the flag is defined here")], code="PD005")
        self._flagging.append(arg.value)
        try:
            return self._bool(flag.cond, {}, f"the condition of flag {arg.value!r}")
        finally:
            self._flagging.pop()

    def _is_group_aggregate(self, call: A.Call, scope) -> bool:
        if len(call.args) != 1:
            return False
        probe = self.expr(call.args[0], None, scope)
        return probe is not None and probe.type.kind != "list"

    def _cohort_total(self, call: A.Call, scope):
        """`count(grade == 先进)` in a cohort property: an aggregate over the whole cohort."""
        arg = self._expr(call.args[0], scope, None)
        if call.func == "count" and arg.type not in (BOOL, UNKNOWN):
            self._fail(call.args[0].span, "`count(COND)` counts the subjects for whom COND holds")
        elif call.func != "count" and arg.type not in (NUM, UNKNOWN):
            self._fail(call.args[0].span, f"`{call.func}` over the cohort needs a number, but this is {arg.type}")
        return GroupAgg(call.span, NUM, AggFn(call.func), arg, None)

    def _group_agg(self, node: A.Binary, scope):
        call = node.left
        fields = node.right.names if isinstance(node.right, A.Fields) else (node.right.name,)
        for field in fields:
            if field not in self.inputs:
                self._fail(node.right.span, f"group by an input field; `{field}` is not an input",
                           did_you_mean(field, self.inputs), code="PD002")
        field = fields[0] if len(fields) == 1 else fields
        arg = self._expr(call.args[0], scope, None)
        if call.func == "count":
            if arg.type not in (BOOL, UNKNOWN):
                self._fail(call.args[0].span, "`count(COND) per FIELD` counts the subjects for whom COND holds")
        elif arg.type not in (NUM, UNKNOWN):
            self._fail(call.args[0].span, f"`{call.func}` per group needs a number, but this is {arg.type}")
        return GroupAgg(node.span, NUM, AggFn(call.func), arg, field)


# ---- helpers -------------------------------------------------------------------------
def _compatible(a: Type, b: Type) -> bool:
    if a == b or UNKNOWN in (a, b):
        return True
    if a.kind == "list" and b.kind == "list":
        return a.elem is None or b.elem is None or _compatible(a.elem, b.elem)
    return False


def _lookalike(name: str, candidates) -> str | None:
    """A hint for a name that looks exactly like a known one (Cyrillic `а` for Latin `a`)."""
    from .text import difference, skeleton
    same = next((c for c in candidates if c != name and skeleton(c) == skeleton(name)), None)
    return None if same is None else f"it looks like `{same}` but differs: {difference(name, same)}"


def _reads_unknown(e) -> bool:
    """Whether an expression reads a parameter of an uncalled def or table."""
    stack = [e]
    while stack:
        n = stack.pop()
        if isinstance(n, Ref) and n.kind is RefKind.PARAM:
            return True
        stack.extend(children(n))
    return False


def _key(e):
    """An IR expression without its spans, to recognise the same value twice (None: unknown)."""
    if isinstance(e, Ref):
        return ("ref", e.name, e.kind)
    if isinstance(e, Const):
        return ("const", e.value)
    if isinstance(e, Prim):
        args = tuple(_key(a) for a in e.args)
        return None if None in args else (e.fn, args)
    return None


# x OP c with c a constant: which c make the comparison prove x != 0 when it holds
_PROVES_NONZERO = {Fn.NE: lambda c: c == 0, Fn.GT: lambda c: c >= 0, Fn.GE: lambda c: c > 0,
                   Fn.LT: lambda c: c <= 0, Fn.LE: lambda c: c < 0}
_NEGATED = {Fn.EQ: Fn.NE, Fn.NE: Fn.EQ, Fn.LT: Fn.GE, Fn.GE: Fn.LT, Fn.GT: Fn.LE, Fn.LE: Fn.GT}
_SWAPPED = {Fn.EQ: Fn.EQ, Fn.NE: Fn.NE, Fn.LT: Fn.GT, Fn.GT: Fn.LT, Fn.LE: Fn.GE, Fn.GE: Fn.LE}


def _nonzero_facts(cond, holds: bool) -> list:
    """Keys of the values that are not 0 wherever `cond` is `holds`."""
    if not isinstance(cond, Prim):
        return []
    if cond.fn is Fn.NOT:
        return _nonzero_facts(cond.args[0], not holds)
    if cond.fn in (Fn.AND, Fn.OR):  # both sides known only when `and` holds or `or` fails
        both = (cond.fn is Fn.AND) == holds
        return [k for a in cond.args for k in _nonzero_facts(a, holds)] if both else []
    if cond.fn not in _SWAPPED:
        return []
    fn, x, c = cond.fn, cond.args[0], cond.args[1]
    if isinstance(x, Const) and not isinstance(c, Const):
        fn, x, c = _SWAPPED[fn], c, x
    if not (isinstance(c, Const) and isinstance(c.value, Decimal)):
        return []
    fn = fn if holds else _NEGATED[fn]
    key = _key(x)
    return [key] if key is not None and fn in _PROVES_NONZERO and _PROVES_NONZERO[fn](c.value) else []


def _op_word(op: str) -> str:
    return "*" if op == "per" else op


def _exact_divisor(e) -> bool:
    """Dividing by a constant whose only prime factors are 2 and 5 is exact."""
    if not isinstance(e, Const) or not isinstance(e.value, Decimal) or e.value == 0:
        return False
    n = abs(e.value)
    while n != n.to_integral_value():
        n *= 10
    n = int(n)
    for p in (2, 5):
        while n % p == 0:
            n //= p
    return n == 1


def interval_of_range(rng: A.Range | None) -> Interval | None:
    if rng is None:
        return None
    return Interval(rng.lo.value, rng.hi.value if rng.hi is not None else None)
