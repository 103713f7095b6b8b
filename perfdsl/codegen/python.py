"""IR → Python module source: `generate(policy)` renders templates/module.j2.

This file lowers the IR into a *plan* (plain data: generated names, expression code,
constants) and the templates lay the plan out as statements. Two rules keep policy
text from ever becoming code:

* every string that comes from a policy (labels, reasons, names, text constants, file
  names) reaches a template wrapped in `Text`, which refuses to print itself; the only
  way out is the `pylit` filter, i.e. `repr()` of the Python value;
* expression code is built here as `Code`, which may hold only generated names,
  numbers, operators and brackets (no quotes, no `#`, no backslashes, no braces); a
  policy's identifiers never appear in code, only mangled names (`i_3` the 4th input,
  `v_7` the 8th definition, `K2` the 3rd constant, `t_1` a temporary).

The generated code reproduces `perfdsl.eval.interpret.Interpreter` exactly: the same
operations in the same order (so the same digits under `rt.CONTEXT`), the same
exceptions, the same traces. Expressions nested deeper than `_INLINE_DEPTH` are
lowered to one statement per operation instead, in evaluation order, since Python's
parser rejects very deep nesting.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from .. import runtime as rt
from ..eval.interpret import owner_text
from . import validation
from ..ir import Const, Definition, Fn, GroupAgg, If, Policy, Prim, Rank, Ref, children, list_text

GENERATOR_VERSION = "2"
_INLINE_DEPTH = 32  # IR levels an inline Python expression may nest (< 200 parentheses)
_TEMPLATES = Path(__file__).resolve().parent / "templates"
_SAFE = re.compile(r"[A-Za-z0-9_ .,()\[\]+\-*<>=!:]*\Z")
_ATOM = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")  # a constant or a local: reading it cannot fail
_MARK = re.compile(r"  # perf line \d+ \[(\d+)\]\Z")


# ---- what may enter a template -------------------------------------------------------
class Code(str):
    """A fragment of generated code: generated names, numbers and operators only."""

    def __new__(cls, text: str) -> "Code":
        if not _SAFE.match(text):
            raise ValueError(f"unsafe generated code fragment: {text!r}")
        return super().__new__(cls, text)


class Text:
    """A value from the policy on its way to a template; printable only through `pylit`."""
    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value

    def __str__(self) -> str:
        raise TypeError("policy text must enter generated code through the `pylit` filter")

    def __format__(self, spec: str) -> str:
        return self.__str__()

    def __repr__(self) -> str:
        return f"Text({self.value!r})"


def pylit(value) -> str:
    """The Python literal of a policy value: repr() of it; Decimal as Decimal('…')."""
    if isinstance(value, Text):
        return pylit(value.value)
    if value is None or isinstance(value, (bool, int, str)):
        return repr(value)
    if isinstance(value, Decimal):
        return f"Decimal({str(value)!r})"
    if isinstance(value, tuple):
        items = ", ".join(pylit(x) for x in value)
        return f"({items},)" if len(value) == 1 else f"({items})"
    raise TypeError(f"no literal for a {type(value).__name__} in generated code")


def _int(x) -> int:
    """An integer from the IR that is printed into code as it is."""
    if type(x) is not int:
        raise TypeError(f"expected an int in the IR, got {type(x).__name__}")
    return x


def _finalize(value):
    # `{{ x }}` may print generated code, template text and integers; anything else
    # (a Decimal, a tuple, None) is a template bug: constants go through `pylit`.
    import jinja2
    if isinstance(value, jinja2.Undefined):
        return value  # StrictUndefined names the missing variable itself
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise TypeError(f"a template printed a {type(value).__name__} without `pylit`")
    return value


def _block(text: str, width: int) -> str:
    """Rendered statements indented by `width`, without blank lines or a final newline."""
    return "\n".join(" " * width + ln for ln in text.split("\n") if ln.strip())


_ENV = None


def environment():
    """The jinja2 environment of the templates (imported on first use: a cached module
    is loaded without jinja2)."""
    global _ENV
    if _ENV is None:
        import jinja2
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(_TEMPLATES)), autoescape=False,
            undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
            keep_trailing_newline=True, finalize=_finalize)
        env.filters["pylit"] = pylit
        env.filters["block"] = _block
        _ENV = env
    return _ENV


def fingerprint() -> str:
    """A digest of the compiler that turns source text into generated code — the grammar,
    the checker, the IR, the interpreter it mirrors (whose wording of errors it embeds)
    and this generator with its templates — part of every cache key.
    With the policy's source hash it determines the generated module."""
    package = Path(__file__).resolve().parent.parent
    from ..resources import grammar_path
    files = [grammar_path(), package / "ir.py"] + sorted((package / "syntax").glob("*.py")) \
        + sorted((package / "check").glob("*.py")) + [package / "eval" / "interpret.py", Path(__file__).resolve()] + sorted(_TEMPLATES.glob("*.j2"))
    # the fast input check mirrors the input model and the number rules
    files += [Path(__file__).resolve().parent / "validation.py", package / "validate.py", package / "numbers.py",
              package / "runtime" / "checks.py"]
    h = hashlib.sha256(GENERATOR_VERSION.encode())
    for path in files:
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


# ---- the IR nodes generated code hands to the cohort context --------------------------
def bind_nodes(policy: Policy) -> tuple:
    """The RankOrders and GroupAggs generated code refers to as `self.nodes[i]`.

    A deterministic walk (definitions, then flags), equal nodes once: the same list
    for every IR of the same policy, so a cached module binds to a fresh IR."""
    return tuple(n for _, n in _walk_nodes(policy))


def _walk_nodes(policy: Policy) -> list[tuple[str, object]]:
    seen: dict = {}
    out: list[tuple[str, object]] = []
    stack = list(reversed(policy.expressions()))
    while stack:
        e = stack.pop()
        if isinstance(e, Rank):
            key, kind, node = ("rank", e.order), "rank", e.order
        elif isinstance(e, GroupAgg):
            key, kind, node = ("group", e), "group", e
        else:
            key = None
        if key is not None and key not in seen:
            seen[key] = len(out)
            out.append((kind, node))
        stack.extend(reversed(children(e)))
    return out


# ---- the plan handed to the templates --------------------------------------------------
@dataclass
class Val:
    """An expression: statements to run first (deep expressions only), then its code."""
    pre: tuple[Code, ...]
    code: Code


@dataclass
class Preload:
    var: Code
    source: Code  # record or values
    name: Text
    span: int     # where the name is declared (-1: unknown)
    line: int


@dataclass
class Adjust:
    sign: int
    amount: Val
    per: Val | None
    cond: Val | None
    reason: Text
    up_to: Code | None
    line: int
    span: int


@dataclass
class Bound:
    kind: Text
    lo: Code | None
    hi: Code | None
    line: int
    span: int


@dataclass
class Rule:
    kind: str
    cond: Val
    steps: int
    tier: int
    reason: Text
    line: int
    span: int
    guard: bool  # a veto came before: skip once pinned


@dataclass
class Band:
    threshold: Code
    index: int


@dataclass
class DefPlan:
    kind: str  # indicator tiers value
    var: Code
    name: Text
    label: Text
    span: int
    line: int
    value: Val | None = None        # value
    base: Val | None = None         # indicator
    computed: Val | None = None
    weight: Code = Code("None")
    adjustments: list[Adjust] = field(default_factory=list)
    bounds: list[Bound] = field(default_factory=list)
    by: Val | None = None           # tiers
    op: Code = Code(">=")
    bands: list[Band] = field(default_factory=list)
    last: int = 0
    names: Code = Code("None")
    lines: Code = Code("None")
    rules: list[Rule] = field(default_factory=list)
    state: Code = Code("None")
    where: Code = Code("None")      # the definition's site and name, for a decimal trap in it
    what: Code = Code("None")


@dataclass
class FlagPlan:
    cond: Val
    label: Text
    span: int
    line: int
    where: Code = Code("None")
    what: Code = Code("None")


@dataclass
class FnPlan:
    """One generated method: what it loads, what it defines, which flags it tests."""
    preloads: list[Preload]
    defs: list[DefPlan]
    flags: list[FlagPlan]
    ctx_none: bool  # the interpreter passes no cohort context here
    value: Val | None = None  # group_arg: the aggregate's argument
    span: int = -1
    line: int = 0
    where: Code = Code("None")
    what: Code = Code("None")


@dataclass
class ConstPlan:
    name: Code
    value: Text


# ---- lowering --------------------------------------------------------------------------
class _Scope:
    """The names one generated method sees, mirroring the interpreter's `env`."""

    def __init__(self, lower: "_Lowering", kind: str):
        self.lower, self.kind = lower, kind
        self.locals: dict[str, Code] = {}
        self.preloads: list[Preload] = []
        self.uses_ctx = False
        self.ctx = Code("ctx")  # `None` where the interpreter evaluates with no context
        self.temps = 0

    def ref(self, name: str, kind: str) -> Code:
        if name in self.locals:
            return self.locals[name]
        var = self.lower.var_of(name)
        # individual: env = the record plus what is defined so far; later stages: the
        # record overlaid with result.values.
        source = "values" if self.kind != "individual" and kind == "value" else "record"
        decl = self.lower.declared.get(name)
        span, line = (self.lower.span(decl), _int(decl.line)) if decl is not None else (-1, 0)
        self.preloads.append(Preload(var, Code(source), Text(name), span, line))
        self.locals[name] = var
        return var

    def context(self) -> Code:
        """The cohort context as this expression sees it."""
        if self.ctx == "ctx":
            self.uses_ctx = True
        return self.ctx

    def temp(self) -> Code:
        self.temps += 1
        return Code(f"t_{self.temps}")


class _Lowering:
    def __init__(self, policy: Policy):
        self.policy = policy
        self.vars: dict[str, Code] = {}
        self.declared: dict = {}  # name -> the Span of its declaration
        for i, inp in enumerate(policy.inputs):
            self.vars.setdefault(inp.name, Code(f"i_{i}"))
            self.declared.setdefault(inp.name, inp.span)
        for i, d in enumerate(policy.definitions):
            self.vars.setdefault(d.name, Code(f"v_{i}"))
            self.declared.setdefault(d.name, d.span)
        self.consts: dict[tuple[str, str], ConstPlan] = {}
        self.nodes = {(("rank", n) if kind == "rank" else ("group", n)): i
                      for i, (kind, n) in enumerate(_walk_nodes(policy))}
        self.node_kinds = tuple(kind for kind, _ in _walk_nodes(policy))
        self.spans: list[tuple] = []
        self._depth: dict[int, int] = {}

    # -- names, constants, spans
    def var_of(self, name: str) -> Code:
        if name not in self.vars:
            self.vars[name] = Code(f"u_{len(self.vars)}")
        return self.vars[name]

    def const(self, value) -> Code:
        if isinstance(value, bool):
            return Code(repr(value))
        key = (type(value).__name__, pylit(value))
        if key not in self.consts:
            self.consts[key] = ConstPlan(Code(f"K{len(self.consts)}"), Text(value))
        return self.consts[key].name

    def span(self, sp) -> int:
        self.spans.append((Text(sp.file), _int(sp.line), _int(sp.col)))
        return len(self.spans) - 1

    def where(self, e) -> Code:
        return self.const(f"{e.span.file}:{e.span.line}:{e.span.col}")

    def owner(self, x, plan):
        """Give a definition, flag or group value's plan the site and name a decimal trap
        inside it is reported with (as the interpreter reports it: runtime.arithmetic_error)."""
        plan.where, plan.what = self.where(x), self.const(owner_text(x))
        return plan

    # -- expressions
    def depth(self, e) -> int:
        """Nesting depth of an expression, without recursion (memoised per node)."""
        memo = self._depth
        stack = [(e, False)]
        while stack:
            n, done = stack.pop()
            if id(n) in memo:
                continue
            kids = children(n)
            if done or not kids:
                memo[id(n)] = 1 + max((memo[id(k)] for k in kids), default=0)
            else:
                stack.append((n, True))
                stack.extend((k, False) for k in kids if id(k) not in memo)
        return memo[id(e)]

    def val(self, e, scope: _Scope) -> Val:
        if self.depth(e) <= _INLINE_DEPTH:
            return Val((), self.expr(e, scope))
        pre: list[Code] = []
        code = self.stmts(e, scope, pre, "")
        return Val(tuple(pre), code)

    def expr(self, e, s: _Scope) -> Code:
        """An inline Python expression; every operation parenthesised, evaluation in IR order."""
        if isinstance(e, Const):
            return self.const(e.value)
        if isinstance(e, Ref):
            if e.kind == "size":
                return Code(f"{s.context()}.size")
            return s.ref(e.name, e.kind)
        if isinstance(e, If):
            cond = self.expr(e.cond, s)
            then = self.expr(e.then, s)
            else_ = self.expr(e.else_, s)
            return Code(f"({then} if {cond} else {else_})")
        if isinstance(e, Rank):
            return Code(f"{s.context()}.rank(self.nodes[{self.nodes[('rank', e.order)]}], {e.from_bottom is True})")
        if isinstance(e, GroupAgg):
            return Code(f"{s.context()}.aggregate(self.nodes[{self.nodes[('group', e)]}])")
        if isinstance(e, Prim):
            if e.fn in (Fn.AND, Fn.OR):
                a = self._truth(e.args[0], self.expr(e.args[0], s))
                b = self._truth(e.args[1], self.expr(e.args[1], s))
                return Code(f"({a} {e.fn.value} {b})")
            if e.fn is Fn.NEG and isinstance(e.args[0], Const) and isinstance(e.args[0].value, Decimal) \
                    and e.args[0].value.is_finite():
                return self.const(rt.CONTEXT.minus(e.args[0].value))  # folded exactly as evaluated
            return self.prim(e, [self.expr(x, s) for x in e.args])
        raise TypeError(f"unknown IR expression {type(e).__name__}")

    @staticmethod
    def _truth(e, code: Code) -> Code:
        return code if _is_bool(e) else Code(f"bool({code})")

    def prim(self, e: Prim, a: list[Code]) -> Code:
        f = e.fn
        if f in _BINARY:
            return Code(f"({a[0]} {_BINARY[f]} {a[1]})")
        if f is Fn.TOTAL:  # rt.total adds left to right, as `a + b + c` does; many terms via a flat tuple
            return Code("(" + " + ".join(a) + ")") if 1 <= len(a) <= 8 else Code(f"rt.total({_tuple(a)})")
        if f is Fn.DIV:
            return Code(f"rt.divide({a[0]}, {a[1]}, {self.where(e)})")
        if f is Fn.NEG:
            return Code(f"(-{a[0]})")
        if f is Fn.NOT:
            return Code(f"(not {a[0]})")
        if f is Fn.LIST:
            return _tuple(a)
        if f is Fn.CONCAT:
            x, y = (c if _is_tuple(arg) else Code(f"tuple({c})") for arg, c in zip(e.args, a))
            return Code(f"({x} + {y})")
        if f in (Fn.MIN, Fn.MAX):
            args = ", ".join(a)
            return Code(f"{f.value}({args})" if len(a) > 1 else f"{f.value}(({args},))")
        if f in _CALLS:
            return Code(f"{_CALLS[f]}({', '.join(a)})")
        if f in _ROUND:
            return Code(f"rt.quantize({a[0]}, {self._int_arg(e.args[1], a[1])}, {self.const(_ROUND[f])})")
        if f is Fn.SUM:
            return Code(f"sum({a[0]}, _ZERO)")
        if f is Fn.LEN:
            return Code(f"Decimal(len({a[0]}))")
        if f is Fn.TRIMMED_MEAN:
            return Code(f"rt.trimmed_mean({a[0]}, {self._int_arg(e.args[1], a[1])}, {self.where(e)})")
        if f in _WHERE_CALLS:
            return Code(f"rt.{_WHERE_CALLS[f]}({', '.join(a)}, {self.where(e)})")
        if f is Fn.INDEX:  # the list's description is a constant, never code
            return Code(f"rt.index({a[0]}, {a[1]}, {self.const(list_text(e.args[0]))}, {self.where(e)})")
        raise TypeError(f"unknown primitive {f}")

    @staticmethod
    def _int_arg(e, code: Code) -> Code:
        # int(Decimal) of a constant is folded; the interpreter calls int() at run time.
        if isinstance(e, Const) and isinstance(e.value, Decimal) and e.value.is_finite():
            return Code(str(int(e.value)))
        return Code(f"int({code})")

    def stmts(self, e, s: _Scope, out: list[Code], ind: str) -> Code:
        """Statements for a deep expression, appended to `out`; returns an atom naming it.

        Each operand of a deep node is evaluated into a temporary in order, so the
        interpreter's evaluation order (and thus which error comes first) is kept."""
        if self.depth(e) <= _INLINE_DEPTH:
            return self.expr(e, s)
        if isinstance(e, If):
            t = s.temp()
            first = True
            node = e
            while True:
                cond = self.stmts(node.cond, s, out, ind) if first else self.expr(node.cond, s)
                out.append(Code(f"{ind}{'if' if first else 'elif'} {cond}:"))
                then = self.stmts(node.then, s, out, ind + "    ")
                out.append(Code(f"{ind}    {t} = {then}"))
                first = False
                nxt = node.else_
                # a chain of `if`s (an inlined table) stays flat while the next condition is inline
                if isinstance(nxt, If) and self.depth(nxt) > _INLINE_DEPTH and self.depth(nxt.cond) <= _INLINE_DEPTH:
                    node = nxt
                    continue
                out.append(Code(f"{ind}else:"))
                other = self.stmts(nxt, s, out, ind + "    ")
                out.append(Code(f"{ind}    {t} = {other}"))
                return t
        if isinstance(e, Prim) and e.fn in (Fn.AND, Fn.OR):
            t = s.temp()
            a = self.stmts(e.args[0], s, out, ind)
            out.append(Code(f"{ind}{t} = {self._truth(e.args[0], a)}"))
            out.append(Code(f"{ind}if {'' if e.fn is Fn.AND else 'not '}{t}:"))
            b = self.stmts(e.args[1], s, out, ind + "    ")
            out.append(Code(f"{ind}    {t} = {self._truth(e.args[1], b)}"))
            return t
        if isinstance(e, Prim):
            args = []
            for x in e.args:
                c = self.stmts(x, s, out, ind)
                if not (isinstance(x, Const) or (isinstance(x, Ref) and x.kind != "size")):
                    t = s.temp()
                    out.append(Code(f"{ind}{t} = {c}"))
                    c = t
                args.append(c)
            return self.prim(e, args)
        if isinstance(e, GroupAgg):  # its argument is evaluated by group_arg, not here
            return self.expr(e, s)
        raise TypeError(f"unknown IR expression {type(e).__name__}")

    # -- definitions
    def definition(self, d: Definition, s: _Scope) -> DefPlan:
        var = self.var_of(d.name)
        plan = DefPlan("value", var, Text(d.name), Text(d.label), self.span(d.span), _int(d.span.line))
        if d.indicator is not None:
            self._indicator(d, s, plan)
        elif d.tiers is not None:
            self._tiers(d, s, plan)
        else:
            plan.value = self.val(d.expr, s)
        s.locals[d.name] = var
        return self.owner(d, plan)

    def _indicator(self, d: Definition, s: _Scope, plan: DefPlan) -> None:
        body = d.indicator
        plan.kind = "indicator"
        plan.weight = Code("None") if d.weight is None else self.const(d.weight)
        if body.computed is not None:
            plan.computed = self.val(body.computed, s)
            return
        plan.base = self.val(body.base, s) if body.base is not None else Val((), Code("_ZERO"))
        for adj in body.adjustments:
            amount = self.val(adj.amount, s)
            per = self.val(adj.per, s) if adj.per is not None else None
            cond = self.val(adj.cond, s) if adj.per is None else None
            # The interpreter evaluates the amount first, even when the condition fails:
            # `(A if C else 0)` would not, so a fallible amount gets its own statement.
            if (cond is not None or per.pre) and not _ATOM.match(amount.code):
                t = s.temp()
                amount = Val(amount.pre + (Code(f"{t} = {amount.code}"),), t)
            up_to = None if adj.up_to is None else self.const(adj.up_to)
            plan.adjustments.append(Adjust(_int(adj.sign), amount, per, cond, Text(adj.reason), up_to,
                                           _int(adj.span.line), self.span(adj.span)))
        for b in body.bounds:
            plan.bounds.append(Bound(Text(b.kind), None if b.lo is None else self.const(b.lo),
                                     None if b.hi is None else self.const(b.hi), _int(b.span.line), self.span(b.span)))

    def _tiers(self, d: Definition, s: _Scope, plan: DefPlan) -> None:
        # The interpreter bands and applies rules with no cohort context, whatever the
        # stage (the checker keeps ranks and group values out of them anyway).
        outer, s.ctx = s.ctx, Code("None")
        try:
            self._tiers_body(d, s, plan)
        finally:
            s.ctx = outer

    def _tiers_body(self, d: Definition, s: _Scope, plan: DefPlan) -> None:
        body = d.tiers
        plan.kind = "tiers"
        plan.by = self.val(body.by, s)
        plan.op = Code("<" if body.ascending else ">=")
        plan.bands = [Band(self.const(t.threshold), i) for i, t in enumerate(body.tiers) if t.threshold is not None]
        plan.last = len(body.tiers) - 1
        plan.names = self.const(tuple(t.name for t in body.tiers))
        plan.lines = self.const(tuple(_int(t.span.line) for t in body.tiers))
        plan.state = Code(f"s_{self.policy.definitions.index(d)}")
        vetoed = False
        for r in body.rules:
            if r.kind not in ("veto", "downgrade", "limit"):
                raise TypeError(f"unknown tier rule kind {r.kind!r}")
            plan.rules.append(Rule(r.kind, self.val(r.cond, s), _int(r.steps), _int(r.tier), Text(r.reason),
                                   _int(r.span.line), self.span(r.span), vetoed))
            vetoed = vetoed or r.kind == "veto"

    def flag(self, f, s: _Scope) -> FlagPlan:
        return self.owner(f, FlagPlan(self.val(f.cond, s), Text(f.label), self.span(f.span), _int(f.span.line)))

    # -- methods
    def function(self, kind: str, defs, flags) -> FnPlan:
        s = _Scope(self, kind)
        ctx_none = kind != "cohort"
        plans = [self.definition(d, s) for d in defs]
        fplans = [self.flag(f, s) for f in flags]
        return FnPlan(s.preloads, plans, fplans, ctx_none and s.uses_ctx)

    def group_fn(self, node: GroupAgg) -> FnPlan:
        s = _Scope(self, "group")
        value = self.val(node.arg, s)
        return self.owner(node, FnPlan(s.preloads, [], [], s.uses_ctx, value, self.span(node.span), _int(node.span.line)))


def _tuple(a: list[Code]) -> Code:
    return Code(f"({a[0]},)" if len(a) == 1 else f"({', '.join(a)})")


def _is_bool(e) -> bool:
    return (isinstance(e, Prim) and e.fn in (Fn.EQ, Fn.NE, Fn.LT, Fn.LE, Fn.GT, Fn.GE, Fn.NOT, Fn.AND, Fn.OR)) \
        or (isinstance(e, Const) and isinstance(e.value, bool))


def _is_tuple(e) -> bool:
    return isinstance(e, Prim) and e.fn in (Fn.LIST, Fn.CONCAT)


_BINARY = {Fn.ADD: "+", Fn.SUB: "-", Fn.MUL: "*", Fn.EQ: "==", Fn.NE: "!=", Fn.LT: "<", Fn.LE: "<=",
           Fn.GT: ">", Fn.GE: ">="}
_ROUND = {Fn.ROUND_HALF_UP: "half_up", Fn.ROUND_HALF_EVEN: "half_even", Fn.ROUND_FLOOR: "floor",
          Fn.ROUND_CEIL: "ceil"}
_WHERE_CALLS = {Fn.MEAN: "mean", Fn.RATIO: "ratio", Fn.LIST_MIN: "list_min", Fn.LIST_MAX: "list_max"}
_CALLS = {Fn.ABS: "abs", Fn.CLAMP: "rt.clamp", Fn.COUNT: "rt.count", Fn.STREAK: "rt.streak"}  # f(args...)


# ---- entry point -----------------------------------------------------------------------
def plan(policy: Policy) -> dict:
    """The template context of `policy`'s module."""
    low = _Lowering(policy)
    individual = low.function("individual", [d for d in policy.definitions if d.stage != "cohort"],
                               [f for f in policy.flags if f.stage != "cohort"])
    post = low.function("post", [d for d in policy.definitions if d.stage == "post" and d.tiers is None], [])
    cohort = low.function("cohort", [d for d in policy.definitions if d.stage == "cohort"], list(policy.flags))
    groups = [(i, low.group_fn(n)) for i, (kind, n) in enumerate(_walk_nodes(policy)) if kind == "group"]
    checks = validation.plan(policy, low)  # before `consts` is read: it adds constants
    return {
        "policy_name": Text(policy.name), "file": Text(policy.file), "source_hash": Text(policy.source_hash),
        "generator": GENERATOR_VERSION, "node_kinds": low.node_kinds,
        "consts": list(low.consts.values()), "individual": individual, "post": post, "cohort": cohort,
        "groups": groups, "spans": low.spans,
        "v": checks, "row": _row_plan(policy),
    }


def _row_plan(policy: Policy) -> dict:
    """What `_row` writes (Result.as_row): the key, each output (list values as lists), flags."""
    listed = {d.name: d.type.kind == "list" for d in policy.definitions}
    return {"key": None if policy.key is None else Text(policy.key),
            "outputs": [(Text(n), listed.get(n, True)) for n in policy.output_names()]}


def generate(policy: Policy) -> str:
    """The source of a Python module evaluating `policy` like the reference interpreter.

    Deterministic: the same IR gives byte-identical source."""
    env = environment()
    context = plan(policy)
    body = env.get_template("module.j2").render(context)
    sites = context["spans"]
    table = [(line, sites[index]) for line, index in _marked_lines(body)]
    footer = env.get_template("spans.j2").render(spans=table)
    source = body + footer
    compile(source, "<perfdsl generated>", "exec")  # fail here, not at load, if a template is wrong
    return source


def _marked_lines(source: str) -> list[tuple[int, int]]:
    """(line, span index) of every statement the templates marked `# perf line N [i]`.

    A mark must end its line. Text from a policy cannot pose as one: it is printed only
    as a `repr()` literal, which holds no newline and ends in a quote, and the templates
    never print `]` straight after a literal."""
    out = []
    for number, line in enumerate(source.split("\n"), start=1):
        if line.endswith("]"):
            m = _MARK.search(line)
            if m:
                out.append((number, int(m.group(1))))
    return out
