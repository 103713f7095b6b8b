"""core.Program → Python module source: `generate(policy)` prints the policy's core program.

The meaning of a policy is decided once, by perfdsl.lower (`lower_policy`); this module
only prints that program as Python statements, one `core.Visitor` walking it, so the
generated module gives the digits, exceptions and traces of the reference evaluator
(perfdsl.lower.evaluate.Machine) by construction: the same operations in the same order
under `rt.CONTEXT`. What is its own is printing: names, constants, statement layout,
readability (constants and copies propagated, dead statements dropped, a value used
once inlined, a repeated expression computed once) and deep expressions (printed as one
statement per operation, since Python's parser rejects very deep nesting).

Two rules keep policy text from ever becoming code:

* every string that comes from a policy (labels, reasons, names, text constants) is a
  constant `K<n>` printed by `pylit`, i.e. `repr()` of the Python value, or reaches a
  line as `Text`, which refuses to print itself except through `pylit`;
* code is built as `Code`, which may hold only generated names, numbers, operators and
  brackets (no quotes, no `#`, no backslashes, no braces); a policy's identifiers never
  appear in code, only mangled names (`i_3` an input, `v_7` a definition, `K2` a
  constant, `W[4]` an error site, `t_1` a temporary).

The line map (generated line → policy file, line, column) is recorded while the lines
are written; file names are printed relative to the policy's folder.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from .. import runtime as rt
from ..ir import Policy
from ..lower import core as c
from ..lower.lower import lower_policy
from ..lower.walk import cohort_nodes, exprs_of as _exprs_of, kids as _kids, stmt_exprs as _stmt_exprs
from . import validation

GENERATOR_VERSION = "3"
_INLINE_DEPTH = 8  # core levels an inline Python expression may nest; deeper: one statement per operation
_TEMPLATES = Path(__file__).resolve().parent / "templates"
_SAFE = re.compile(r"[A-Za-z0-9_ .,()\[\]+\-*/<>=!:]*\Z")


# ---- what may enter generated code -----------------------------------------------------
class Code(str):
    """A fragment of generated code: generated names, numbers and operators only."""

    def __new__(cls, text: str) -> "Code":
        if not _SAFE.match(text):
            raise ValueError(f"unsafe generated code fragment: {text!r}")
        return super().__new__(cls, text)


class Text:
    """A value from the policy on its way to generated code; printable only through `pylit`."""
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


def pylit_wrapped(value) -> str:
    """pylit, a long tuple over several lines (8 items a line)."""
    v = value.value if isinstance(value, Text) else value
    if not isinstance(v, tuple) or len(v) <= 8:
        return pylit(v)
    rows = [", ".join(pylit(x) for x in v[i:i + 8]) + "," for i in range(0, len(v), 8)]
    return "(\n" + "\n".join("    " + r for r in rows) + "\n)"


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
        env.filters["pylit_wrapped"] = pylit_wrapped
        env.filters["block"] = _block
        _ENV = env
    return _ENV


def fingerprint() -> str:
    """A digest of the compiler that turns source text into generated code — the grammar,
    the checker, the IR, the lowering to the core, this printer with its templates — part
    of every cache key. With the policy's source hash it determines the generated module."""
    package = Path(__file__).resolve().parent.parent
    from ..resources import grammar_path
    files = [grammar_path(), package / "ir.py", package / "language.py"] + sorted((package / "syntax").glob("*.py")) \
        + sorted((package / "check").glob("*.py")) + [package / "lower" / "core.py", package / "lower" / "lower.py",
                                                      package / "lower" / "walk.py", Path(__file__).resolve()] + sorted(_TEMPLATES.glob("*.j2"))
    # the fast input check mirrors the input model and the number rules
    files += [Path(__file__).resolve().parent / "validation.py", package / "validate.py", package / "numbers.py",
              package / "runtime" / "checks.py"]
    h = hashlib.sha256(GENERATOR_VERSION.encode())
    for path in files:
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


# ---- simplifying one definition's statements before printing -----------------------------
_EVENTS = (c.OpenIndicator, c.Adjusted, c.BoundBit, c.CloseIndicator, c.TierMoved)
_BOOL_OPS = {c.Op.EQ, c.Op.NE, c.Op.LT, c.Op.LE, c.Op.GT, c.Op.GE, c.Op.NOT, c.Op.AND, c.Op.OR}
_SAFE_OPS = _BOOL_OPS | {c.Op.STEP, c.Op.PICK, c.Op.MIN, c.Op.MAX, c.Op.LIST}
_FOLD = {c.Op.NOT: lambda a: not a[0], c.Op.STEP: lambda a: a[0] + a[1], c.Op.PICK: lambda a: a[0][a[1]],
         c.Op.MIN: min, c.Op.MAX: max, c.Op.EQ: lambda a: a[0] == a[1], c.Op.NE: lambda a: a[0] != a[1]}


def _is_bool(e) -> bool:
    return (isinstance(e, c.Call) and e.op in _BOOL_OPS) or (isinstance(e, c.Lit) and isinstance(e.value, bool))


def _small(v) -> bool:
    """A literal folding may compute with: a bool, an int, a str or a tuple (never a Decimal,
    whose operations the policy's context decides)."""
    return v is None or isinstance(v, (bool, int, str)) or (isinstance(v, tuple) and all(isinstance(x, (str, int)) for x in v))


def _safe(e) -> bool:
    """Evaluating `e` cannot fail: it may be dropped when its value is not needed."""
    stack = [e]
    while stack:
        n = stack.pop()
        if isinstance(n, (c.Lit, c.Var, c.Size)):
            continue
        if isinstance(n, c.Call) and n.op in _SAFE_OPS:
            stack.extend(n.args)
        elif isinstance(n, c.Cond):
            stack.extend((n.test, n.then, n.else_))
        else:
            return False
    return True


class _Simplify:
    """Constants and copies propagated and folded, dead statements dropped, a temporary
    read once in the next statement inlined there: what keeps flat policies readable."""

    # -- propagation (forwards)
    def subst(self, e, known: dict, test: bool = False):
        if not known and not isinstance(e, (c.Call, c.Cond)):
            return e
        return self._subst(e, known, test)

    def _subst(self, e, known, test=False):
        if isinstance(e, c.Var):
            return known.get(e.name, e)
        if isinstance(e, c.Call):
            args = tuple(self._subst(a, known) for a in e.args)
            if e.op is c.Op.NEG and isinstance(args[0], c.Lit) and isinstance(args[0].value, Decimal) \
                    and args[0].value.is_finite():
                return c.Lit(rt.CONTEXT.minus(args[0].value))  # as the reference computes it, exactly
            if all(isinstance(a, c.Lit) and _small(a.value) for a in args) and e.op in _FOLD:
                return c.Lit(_FOLD[e.op]([a.value for a in args]) if e.op in (c.Op.NOT, c.Op.STEP, c.Op.PICK, c.Op.EQ, c.Op.NE)
                             else _FOLD[e.op]([a.value for a in args]))
            if e.op in (c.Op.AND, c.Op.OR) and isinstance(args[0], c.Lit) and isinstance(args[0].value, bool):
                if args[0].value is (e.op is c.Op.OR):  # decided by the first operand
                    return c.Lit(e.op is c.Op.OR)
                if test or _is_bool(args[1]):
                    return args[1]
            if e.op in (c.Op.AND, c.Op.OR) and isinstance(args[1], c.Lit) and args[1].value is (e.op is c.Op.AND) \
                    and (test or _is_bool(args[0])):
                return args[0]  # x and True, x or False: x
            return e if args == e.args else c.Call(e.op, args, e.where, e.what)
        if isinstance(e, c.Cond):
            t = self._subst(e.test, known, True)
            if isinstance(t, c.Lit) and _small(t.value):
                return self._subst(e.then if t.value else e.else_, known, test)
            return c.Cond(t, self._subst(e.then, known), self._subst(e.else_, known), e.source)
        if isinstance(e, c.Div):
            return c.Div(self._subst(e.num, known), self._subst(e.den, known), e.exactness, e.where)
        if isinstance(e, c.Round):
            return c.Round(self._subst(e.value, known), self._subst(e.places, known), e.mode)
        return e

    def forward(self, stmts, known: dict) -> tuple[list, set]:
        """(statements, names assigned)"""
        out, assigned = [], set()
        for s in stmts:
            if isinstance(s, _EVENTS):
                out.append(_map_event(s, lambda e: self.subst(e, known)))
                continue
            if isinstance(s, c.Let):
                e = self.subst(s.expr, known)
                self._forget(s.name, known)
                if isinstance(e, c.Lit) or isinstance(e, c.Var) and e.name != s.name:
                    known[s.name] = e
                out.append(c.Let(s.name, e))
                assigned.add(s.name)
            elif isinstance(s, c.Guard):
                t = self.subst(s.test, known, True)
                if isinstance(t, c.Lit) and _small(t.value):
                    more, names = self.forward(s.then if t.value else s.else_, known)
                    out += more
                    assigned |= names
                    continue
                then, a = self.forward(s.then, dict(known))
                else_, b = self.forward(s.else_, dict(known))
                for name in a | b:
                    self._forget(name, known)
                assigned |= a | b
                out.append(c.Guard(t, tuple(then), tuple(else_)))
            else:
                raise TypeError(f"unexpected statement {type(s).__name__} in a definition")
        return out, assigned

    @staticmethod
    def _forget(name: str, known: dict) -> None:
        known.pop(name, None)
        for k in [k for k, v in known.items() if isinstance(v, c.Var) and v.name == name]:
            del known[k]

    # -- dead statements (backwards)
    def backward(self, stmts, live: set) -> list:
        out = []
        for s in reversed(stmts):
            if isinstance(s, c.Let):
                if s.name not in live and _safe(s.expr):
                    continue
                live.discard(s.name)
                live |= c.reads(s.expr)
            elif isinstance(s, c.Guard):
                a, b = set(live), set(live)
                then, else_ = self.backward(s.then, a), self.backward(s.else_, b)
                if not then and not else_ and _safe(s.test):
                    continue
                live |= a | b | c.reads(s.test)
                s = c.Guard(s.test, tuple(then), tuple(else_))
            else:
                for e in _stmt_exprs(s):
                    live |= c.reads(e)
            out.append(s)
        out.reverse()
        return out

    # -- a temporary read once, by the next statement: inlined there
    def inline(self, stmts: list, keep: set) -> list:
        uses, sets = _count_uses(stmts)
        out: list = []
        for s in stmts:
            out.append(s)
            while len(out) >= 2 and isinstance(out[-2], c.Let) and isinstance(out[-1], (c.Let, c.Guard)):
                let, nxt = out[-2], out[-1]
                name = let.name
                if "#" not in name or name in keep or uses.get(name) != 1 or sets.get(name) != 1:
                    break
                target = nxt.expr if isinstance(nxt, c.Let) else nxt.test
                new = _replace_first(target, name, let.expr)
                if new is None:
                    break
                out[-2:] = [c.Let(nxt.name, new) if isinstance(nxt, c.Let) else c.Guard(new, nxt.then, nxt.else_)]
        return [c.Guard(s.test, tuple(self.inline(list(s.then), keep)), tuple(self.inline(list(s.else_), keep)))
                if isinstance(s, c.Guard) else s for s in out]

    def define(self, d: c.Define) -> tuple[list, c.Expr, tuple]:
        """The statements, result and tier state (its four expressions) of `d` as printed."""
        body, _ = self.forward(d.body, known := {})
        result = self.subst(d.result, known)
        state = () if d.tier is None else tuple(
            self.subst(c.Var(n), known) for n in (d.tier.index, d.tier.ceiling, d.tier.pinned, d.tier.limit))
        keep = set().union(*[c.reads(e) for e in state])
        body = self.backward(body, c.reads(result) | keep)
        return self.inline(body, keep), result, state


def _records(s) -> bool:
    """`s` records something of the explanation (itself, or a statement inside it)."""
    return isinstance(s, _EVENTS) or isinstance(s, c.Guard) and any(_records(x) for x in (*s.then, *s.else_))


def _records_only(s) -> bool:
    """`s` only records the explanation: a trace event, or a guard that cannot fail around
    such statements only (a run without a trace may skip it: its result is the same)."""
    if isinstance(s, _EVENTS):
        return True
    return isinstance(s, c.Guard) and _safe(s.test) and all(_records_only(x) for x in (*s.then, *s.else_))


def _map_event(s, f):
    if isinstance(s, c.OpenIndicator):
        return s if s.base is None else c.OpenIndicator(s.name, s.label, f(s.base), s.weight)
    if isinstance(s, c.Adjusted):
        return c.Adjusted(s.sign, s.reason, f(s.amount), f(s.uncapped), s.line)
    if isinstance(s, c.BoundBit):
        return c.BoundBit(s.kind, f(s.before), f(s.after), s.line)
    if isinstance(s, c.CloseIndicator):
        return c.CloseIndicator(s.name, f(s.value))
    return c.TierMoved(s.tierset, s.label, s.kind, s.names, None if s.before is None else f(s.before), f(s.after),
                       s.reason, f(s.line), s.held, None if s.by is None else f(s.by))


def _count_uses(stmts) -> tuple[dict, dict]:
    """(reads, assignments) of each name in statements."""
    uses: dict[str, int] = {}
    for e in _exprs_of(stmts):
        stack = [e]
        while stack:
            n = stack.pop()
            if isinstance(n, c.Var):
                uses[n.name] = uses.get(n.name, 0) + 1
            else:
                stack.extend(_kids(n))
    sets: dict[str, int] = {}
    for name in _assigned(stmts):
        sets[name] = sets.get(name, 0) + 1
    return uses, sets


def _replace_first(e, name: str, value):
    """`e` with Var(name) replaced by `value`, when nothing that could fail or that is
    conditional is evaluated before it (so inlining keeps the evaluation order); else None."""
    if isinstance(e, c.Var):
        return value if e.name == name else None
    kids = _kids(e)
    if isinstance(e, c.Cond):
        kids = kids[:1]  # only the test is evaluated unconditionally
    elif isinstance(e, c.Call) and e.op in (c.Op.AND, c.Op.OR):
        kids = kids[:1]
    for i, k in enumerate(kids):
        got = _replace_first(k, name, value)
        if got is not None:
            if isinstance(e, c.Call):
                return c.Call(e.op, e.args[:i] + (got,) + e.args[i + 1:], e.where, e.what)
            if isinstance(e, c.Div):
                return c.Div(*((got, e.den) if i == 0 else (e.num, got)), e.exactness, e.where)
            if isinstance(e, c.Round):
                return c.Round(*((got, e.places) if i == 0 else (e.value, got)), e.mode)
            return c.Cond(got, e.then, e.else_, e.source)
        if not isinstance(k, (c.Lit, c.Var, c.Size)):
            return None  # an operation before the use: it could fail first
    return None


# ---- the module writer --------------------------------------------------------------------
@dataclass
class _Line:
    text: str
    site: int | None  # index into the module's sites: the policy place this line evaluates


class _Module:
    """What the printed methods share: names, constants, error sites, files, and the lines."""

    def __init__(self, policy: Policy, program: c.Program):
        self.policy, self.program = policy, program
        self.vars: dict[str, Code] = {}
        for i, inp in enumerate(policy.inputs):
            self.vars.setdefault(inp.name, Code(f"i_{i}"))
        for i, d in enumerate(policy.definitions):
            self.vars.setdefault(d.name, Code(f"v_{i}"))
        self.defined = {d.name for d in (*program.individual, *program.post, *program.cohort)}
        self.declared = {inp.name: f"{inp.span.file}:{inp.span.line}:{inp.span.col}" for inp in policy.inputs}
        self.consts: dict[tuple[str, str], tuple[Code, Text]] = {}
        self.folder = os.path.dirname(policy.file) if isinstance(policy.file, str) else ""
        self.files: list[tuple[bool, str]] = []
        self.sites: dict[str, int] = {}
        self.site_list: list[tuple[int, int, int]] = []
        self.rankings, self.facts, self.aggregates = cohort_nodes(program)
        self.lines: list[_Line] = []

    # -- names, constants, sites
    def var_of(self, name: str) -> Code:
        if name not in self.vars:
            self.vars[name] = Code(f"u_{len(self.vars)}")
        return self.vars[name]

    def const(self, value) -> Code:
        if isinstance(value, bool) or value is None:
            return Code(repr(value))
        if type(value) is int:
            return Code(repr(value))
        key = (type(value).__name__, pylit(value))
        if key not in self.consts:
            self.consts[key] = (Code(f"K{len(self.consts)}"), Text(value))
        return self.consts[key][0]

    def site(self, where: str) -> int:
        """The index of an error site `file:line:col`, its file named relative to the policy's folder."""
        if where not in self.sites:
            file, line, col = where.rsplit(":", 2)
            key = self._file(file)
            self.sites[where] = len(self.site_list)
            self.site_list.append((key, int(line), int(col)))
        return self.sites[where]

    def _file(self, file: str) -> int:
        prefix = self.folder + os.sep if self.folder else ""
        entry = (True, file[len(prefix):]) if prefix and file.startswith(prefix) else (False, file)
        if entry not in self.files:
            self.files.append(entry)
        return self.files.index(entry)

    def where(self, where: str) -> Code:
        return Code(f"W[{self.site(where)}]")

    # -- lines
    def emit(self, indent: int, *parts, site: int | None = None) -> None:
        text = "".join(pylit(p) if isinstance(p, Text) else _code(p) for p in parts)
        self.lines.append(_Line(" " * indent + text, site))

    def comment(self, indent: int, code: str, text: Text) -> None:
        self.lines.append(_Line(" " * indent + "# " + _code(code) + pylit(text), None))


def _code(p) -> str:
    if not isinstance(p, Code):
        raise TypeError(f"generated code must be Code, not {type(p).__name__}")
    return p


# ---- printing one method ---------------------------------------------------------------------
class _Method(c.Visitor):
    """Prints core statements and expressions of one generated method.

    One copy serves both runs: what only records the explanation (the trace events, and
    the conditions that decide them) is printed inside `if trace is not None:`, so a run
    without a trace skips it and builds no trace object. `replace`: a closed indicator
    replaces the explanation of an earlier stage (post, cohort) instead of adding one."""

    def __init__(self, m: _Module, replace: bool = False):
        self.m, self.replace = m, replace
        self.preloads: dict[str, Code] = {}
        self.defines: set[str] = set()  # what this method defines (never loaded)
        self.locals: dict[str, Code] = {}  # names of this method: defined here, or its temporaries
        self.temps = 0
        self.indent = 0
        self.site: int | None = None
        self.define_name = ""
        self.avail: dict[int, Code] = {}  # a repeated expression (its intern key) already computed
        self.avail_reads: dict[int, set] = {}  # the names each available expression read
        self.counts: dict[int, int] = {}
        self._keys: dict[int, tuple[int, int]] = {}
        self._intern: dict[tuple, int] = {}
        self._held: list = []
        self.cond = 0  # > 0 while printing what is evaluated only conditionally
        self.tracing = False  # printing inside `if trace is not None:`

    # -- names
    def name(self, n: str) -> Code:
        if isinstance(n, _TempName):
            return Code(n)
        if n in self.locals:
            return self.locals[n]
        if "#" in n:
            owner, _, role = n.partition("#")
            number = role[len(role.rstrip("0123456789")):]  # moved0, moved1: one local each
            role = role[:len(role) - len(number)]
            if owner == self.define_name and role in _ROLES:
                code = self.m.var_of(owner) if role == "value" else Code(_ROLES[role] + number)
            else:
                code = self.m.var_of(n)
            self.locals[n] = code
            return code
        if n in self.defines:
            return self.m.var_of(n)
        if n not in self.preloads:
            self.preloads[n] = self.m.var_of(n)
        return self.preloads[n]

    def temp(self) -> Code:
        self.temps += 1
        return Code(f"t_{self.temps}")

    def line(self, *parts) -> None:
        self.m.emit(self.indent, *parts, site=self.site)

    def fixed(self, text: str) -> None:
        """A line of this file's own text (never anything from the policy)."""
        self.m.lines.append(_Line(" " * self.indent + text, self.site))

    # -- expressions: structure keys, depth, repeated subexpressions
    def key(self, e) -> int:
        """Equal expressions get equal keys (hash-consing)."""
        return self._index(e)[0]

    def depth(self, e) -> int:
        return self._index(e)[1]

    def _index(self, e) -> tuple[int, int]:
        """(key, nesting depth) of `e`, computed for every node below it without recursion,
        memoised by id() (the nodes are kept alive while the method is printed)."""
        memo = self._keys
        stack = [(e, False)]
        while stack:
            n, done = stack.pop()
            if id(n) in memo:
                continue
            kids = _kids(n)
            if done or not kids:
                sig = (type(n).__name__, _leaf(n)) + tuple(memo[id(k)][0] for k in kids)
                memo[id(n)] = (self._intern.setdefault(sig, len(self._intern)),
                               1 + max((memo[id(k)][1] for k in kids), default=0))
                self._held.append(n)
            else:
                stack.append((n, True))
                stack.extend((k, False) for k in kids if id(k) not in memo)
        return memo[id(e)]

    def count(self, stmts, extra=()) -> None:
        """How often each compound expression occurs in a definition (CSE candidates)."""
        counts: dict[int, int] = {}
        for e in _exprs_of(stmts) + list(extra):
            stack = [e]
            while stack:
                n = stack.pop()
                if isinstance(n, (c.Call, c.Div, c.Round, c.Cond)):
                    k = self.key(n)
                    counts[k] = counts.get(k, 0) + 1
                    if counts[k] == 1:
                        stack.extend(_kids(n))
        self.counts = counts

    def expr(self, e) -> Code:
        """Code for `e`; deep parts become statements printed before the current one."""
        if isinstance(e, (c.Call, c.Div, c.Round, c.Cond)):
            k = self.key(e)
            got = self.avail.get(k)
            if got is not None:
                return got
            rows = _band_rows(e)
            if rows is not None:
                code = self._band(*rows)
            elif self.depth(e) > _INLINE_DEPTH:
                code = self._statements(e)
            else:
                code = self.visit(e)
            if self.counts.get(k, 0) > 1 and not self.cond:
                self.avail_reads[k] = c.reads(e)
                if not _ATOM.match(code):
                    t = self.temp()
                    code = Code(f"({t} := {code})") if self.depth(e) <= _INLINE_DEPTH else self._assign(t, code)
                    self.avail[k] = t
                    return code
                self.avail[k] = code
            return code
        return self.visit(e)

    def _assign(self, t: Code, code: Code) -> Code:
        self.line(Code(f"{t} = {code}"))
        return t

    def _hoist(self, code: Code) -> Code:
        """`code` into a temporary statement (`(t_1 := x)` becomes `t_1 = x`)."""
        bound = _WALRUS.match(code)
        if bound and _balanced(bound.group(2)):
            return self._assign(Code(bound.group(1)), Code(bound.group(2)))
        return self._assign(self.temp(), code)

    def truth(self, e) -> Code:
        code = self.expr(e)
        return code if _is_bool(e) else Code(f"bool({code})")

    # leaves
    def visit_Lit(self, e: c.Lit) -> Code:
        return self.m.const(e.value)

    def visit_Var(self, e: c.Var) -> Code:
        return self.name(e.name)

    def visit_Size(self, e: c.Size) -> Code:
        return Code("ctx.size")

    def visit_RankOf(self, e: c.RankOf) -> Code:
        i = next(i for i, r in enumerate(self.m.rankings) if r is e.ranking)
        return Code(f"ctx.rank({i}, {e.from_bottom is True})")

    def visit_GroupValue(self, e: c.GroupValue) -> Code:
        return Code(f"ctx.aggregate({self.m.aggregates.index(e.aggregate)})")

    # operations
    def visit_Call(self, e: c.Call) -> Code:
        op = e.op
        if op in (c.Op.AND, c.Op.OR):
            a = self.truth(e.args[0])
            with self._sometimes():
                b = self.truth(e.args[1])
            return Code(f"({a} {op.value} {b})")
        if op is c.Op.PICK and all(isinstance(a, c.Lit) for a in e.args):
            return self.m.const(e.args[0].value[e.args[1].value])
        a = [self.expr(x) for x in e.args]
        if op in _INFIX:
            return Code(f"({a[0]} {_INFIX[op]} {a[1]})")
        if op is c.Op.TOTAL:  # rt.total adds left to right, as `a + b + c` does
            return Code("(" + " + ".join(a) + ")") if 1 <= len(a) <= 8 else Code(f"rt.total({_tuple(a)})")
        if op is c.Op.NEG:
            return Code(f"(-{a[0]})")
        if op is c.Op.NOT:
            return Code(f"(not {a[0]})")
        if op is c.Op.LIST:
            return _tuple(a)
        if op is c.Op.CONCAT:
            x, y = (code if _is_tuple(arg) else Code(f"tuple({code})") for arg, code in zip(e.args, a))
            return Code(f"({x} + {y})")
        if op in (c.Op.MIN, c.Op.MAX):
            args = ", ".join(a)
            return Code(f"{op.value}({args})" if len(a) > 1 else f"{op.value}(({args},))")
        if op is c.Op.PICK:
            return Code(f"{a[0]}[{a[1]}]")
        if op is c.Op.SUM:
            return Code(f"sum({a[0]}, _ZERO)")
        if op is c.Op.LEN:
            return Code(f"Decimal(len({a[0]}))")
        if op is c.Op.TRIMMED_MEAN:
            return Code(f"rt.trimmed_mean({a[0]}, {self._int_arg(e.args[1], a[1])}, {self.m.where(e.where)})")
        if op in _WHERE_CALLS:
            return Code(f"rt.{_WHERE_CALLS[op]}({', '.join(a)}, {self.m.where(e.where)})")
        if op is c.Op.INDEX:  # the list's description is a constant, never code
            return Code(f"rt.index({a[0]}, {a[1]}, {self.m.const(e.what)}, {self.m.where(e.where)})")
        return Code(f"{_CALLS[op]}({', '.join(a)})")

    def visit_Div(self, e: c.Div) -> Code:
        num, den = self.expr(e.num), self.expr(e.den)
        if isinstance(e.den, c.Lit) and isinstance(e.den.value, Decimal) and e.den.value.is_finite() and e.den.value != 0:
            return Code(f"({num} / {den})")  # a nonzero constant divisor: rt.divide would only check it
        return Code(f"rt.divide({num}, {den}, {self.m.where(e.where)})")

    def visit_Round(self, e: c.Round) -> Code:
        value = self.expr(e.value)
        return Code(f"rt.quantize({value}, {self._int_arg(e.places, self.expr(e.places))}, {self.m.const(e.mode.value)})")

    def visit_Cond(self, e: c.Cond) -> Code:
        test = self.expr(e.test)
        with self._sometimes():
            then, else_ = self.expr(e.then), self.expr(e.else_)
        return Code(f"({then} if {test} else {else_})")

    @staticmethod
    def _int_arg(e, code: Code) -> Code:
        # int() of a constant is folded; the reference calls int() at run time
        if isinstance(e, c.Lit) and isinstance(e.value, Decimal) and e.value.is_finite():
            return Code(str(int(e.value)))
        return Code(f"int({code})")

    # deep expressions: one statement per operation, in evaluation order
    def _statements(self, e) -> Code:
        """A deep expression as statements before the current one; the code of its value."""
        if isinstance(e, c.Cond):
            return self._cond_into(self.temp(), e)
        if isinstance(e, c.Call) and e.op in (c.Op.AND, c.Op.OR):
            t = self.temp()
            self.line(Code(f"{t} = {self.truth(e.args[0])}"))
            self.line(Code(f"if {'' if e.op is c.Op.AND else 'not '}{t}:"))
            self._nested(lambda: self.line(Code(f"{t} = {self.truth(e.args[1])}")))
            return t
        # an operation: its operands in order; those evaluated before a deep one (whose
        # statements come first) into temporaries, so the order of evaluation is kept
        kids = _kids(e)
        last = max((i for i, k in enumerate(kids) if self.depth(k) > _INLINE_DEPTH), default=-1)
        atoms = []
        for i, k in enumerate(kids):
            code = self.expr(k)
            if i < last and not _ATOM.match(code):
                code = self._hoist(code)
            atoms.append(c.Var(_TempName(code)))
        return self.visit(_with_kids(e, atoms))

    def _band(self, x, op: c.Op, bounds: tuple, values: tuple, default) -> Code:
        """A long chain `x op b1 → v1, x op b2 → v2, …` (a table): the runtime scans the rows."""
        return Code(f"rt.band({self.expr(x)}, {self.m.const(op.value)}, {self.m.const(bounds)}, "
                    f"{self.m.const(values)}, {self.m.const(default)})")

    def _cond_into(self, t: Code, e: c.Cond) -> Code:
        """if/elif/else assigning `t`: a chain of conditions (a table, a band) stays flat
        while the next test is shallow (it runs only when the ones before failed)."""
        self.line(Code(f"if {_test(self.expr(e.test))}:"))
        self._branch(t, e.then)
        nxt = e.else_
        while isinstance(nxt, c.Cond) and self.depth(nxt.test) <= _INLINE_DEPTH and self.key(nxt) not in self.avail:
            self._elif(nxt.test)
            self._branch(t, nxt.then)
            nxt = nxt.else_
        self.line(Code("else:"))
        self._branch(t, nxt)
        return t

    def _elif(self, test) -> None:
        """Print `elif test:`; the test runs only when the ones before it failed."""
        with self._sometimes():
            code = self.expr(test)
        self.line(Code(f"elif {_test(code)}:"))

    @contextlib.contextmanager
    def _sometimes(self):
        """Print what runs only sometimes (after `and`/`or`, in a branch, an `elif` test):
        an expression computed there is not kept as available for later statements."""
        self.cond += 1
        try:
            yield
        finally:
            self.cond -= 1

    def _branch(self, t: Code, e) -> None:
        self._nested(lambda: self.line(Code(f"{t} = {self.expr(e)}")))

    # -- statements
    def block(self, stmts) -> None:
        """Statements in order, except that what only records the explanation waits (in its
        order) until a statement assigns a name it reads or records something itself: each
        run of it is then printed inside one `if trace is not None:`, which a run without a
        trace skips (unless already inside one)."""
        if self.tracing:
            for s in stmts:
                self.visit(s)
            return
        waiting: list = []
        reads: set = set()
        for s in stmts:
            if _records_only(s):
                waiting.append(s)
                reads |= set().union(*[c.reads(e) for e in _exprs_of([s])])
                continue
            if waiting and (_records(s) or reads.intersection(_assigned([s]))):
                self._traced(waiting)
                waiting, reads = [], set()
            self.visit(s)
        if waiting:
            self._traced(waiting)

    def _traced(self, stmts) -> None:
        self.line(Code("if trace is not None:"))
        self.tracing = True
        try:
            self._nested(lambda: self.block(stmts))
        finally:
            self.tracing = False

    def visit_Let(self, s: c.Let) -> None:
        target = self.name(s.name)
        e = s.expr
        if isinstance(e, c.Cond) and isinstance(e.else_, c.Cond) and self.counts.get(self.key(e), 0) <= 1 \
                and self.key(e) not in self.avail and _band_rows(e) is None:
            self._cond_into(target, e)  # a chain of conditions reads best as if/elif
            self._invalidate(s.name)
            return
        code = self.expr(e)
        self._invalidate(s.name)
        if code != target:
            self.line(Code(f"{target} = {code}"))

    def _invalidate(self, name: str) -> None:
        """A name assigned again: expressions computed from it are no longer available."""
        for k in [k for k in self.avail if name in self.avail_reads.get(k, ())]:
            del self.avail[k]

    def _nested(self, print_it) -> None:
        """Print a block that runs only sometimes: what it computes is available inside it
        only, and what it assigns invalidates what was computed from the name before."""
        saved, cond = dict(self.avail), self.cond
        self.indent += 4
        self.cond = 0
        try:
            print_it()
        finally:
            self.indent -= 4
            self.cond = cond
            self.avail = saved

    def visit_Guard(self, s: c.Guard) -> None:
        self.line(Code(f"if {_test(self.expr(s.test))}:"))
        self._body(s.then)
        while len(s.else_) == 1 and isinstance(s.else_[0], c.Guard) and self.depth(s.else_[0].test) <= _INLINE_DEPTH:
            s = s.else_[0]  # else: if … → elif …
            self._elif(s.test)
            self._body(s.then)
        if s.else_:
            self.line(Code("else:"))
            self._body(s.else_)

    def _body(self, stmts) -> None:
        def run():
            if not stmts:
                self.line(Code("pass"))
            self.block(stmts)
        self._nested(run)
        for name in _assigned(stmts):
            self._invalidate(name)

    # trace events (printed by `block` inside `if trace is not None:`)
    def visit_OpenIndicator(self, s: c.OpenIndicator) -> None:
        base = Code("None") if s.base is None else self.expr(s.base)
        weight = self.m.const(s.weight)
        self.line(Code("it = rt.IndicatorTrace("), Text(s.name), Code(", "), Text(s.label),
                  Code(f", {base}, weight={weight})"))

    def visit_Adjusted(self, s: c.Adjusted) -> None:
        self.line(Code(f"it.steps.append(rt.AdjustStep({s.sign}, "), Text(s.reason),
                  Code(f", {self.expr(s.amount)}, {self.expr(s.uncapped)}, {int(s.line)}))"))

    def visit_BoundBit(self, s: c.BoundBit) -> None:
        self.line(Code("it.bounds.append(rt.BoundHit("), Text(s.kind),
                  Code(f", {self.expr(s.before)}, {self.expr(s.after)}, {int(s.line)}))"))

    def visit_CloseIndicator(self, s: c.CloseIndicator) -> None:
        self.line(Code(f"it.value = {self.expr(s.value)}"))
        self.line(Code("_record(trace, it)" if self.replace else "trace.indicators.append(it)"))

    def visit_TierMoved(self, s: c.TierMoved) -> None:
        names = self.m.const(s.names)
        after = self.expr(c.Call(c.Op.PICK, (c.Lit(s.names), s.after)))
        line = self.expr(s.line)
        if s.kind is c.RuleKind.BAND:
            self.line(Code("tt = rt.TierTrace("), Text(s.tierset), Code(", "), Text(s.label),
                      Code(f", {self.expr(s.by)}, [rt.TierChange({self.m.const('band')}, None, {after}, None, {line})])"))
            self.line(Code("trace.tiers.append(tt)"))
            return
        before = self.expr(c.Call(c.Op.PICK, (c.Lit(s.names), s.before)))
        assert names  # the tuple constant is shared with the picks above
        self.line(Code(f"tt.{'held' if s.held else 'changes'}.append(rt.TierChange({self.m.const(s.kind.value)}, "
                       f"{before}, {after}, "), Text(s.reason), Code(f", {line}))"))

    # -- one definition, one flag
    def define(self, d: c.Define, record_into: bool) -> Code:
        """Print `d`: its statements inside a guard that names it in a decimal trap."""
        body, result, state = _Simplify().define(d)
        var = self.m.var_of(d.name)
        self.define_name, self.site = d.name, self.m.site(d.owner.where)
        self.locals = {}
        self.count(body, (result,))
        self.m.comment(self.indent, Code(f"{var}: "), Text(d.name))
        self.line(Code("try:"))
        self.indent += 4
        start = len(self.m.lines)
        self.block(body)
        code = self.expr(result)
        if code != var:
            self.line(Code(f"{var} = {code}"))
        if state:
            self.line(Code(f"s_{var[2:]} = {self._state(state)}"))
        if len(self.m.lines) == start:
            self.line(Code("pass"))
        self.indent -= 4
        self.line(Code("except rt.DecimalException as exc:"))
        self.line(Code(f"    raise rt.arithmetic_error(exc, {self.m.where(d.owner.where)}, {self.m.const(d.owner.what)}) from None"))
        if record_into:
            if d.tier is not None:
                self.line(Code("result.tiers["), Text(d.name), Code(f"] = s_{var[2:]}"))
            self.line(Code("values["), Text(d.name), Code(f"] = {var}"))
        self.locals = {}
        self.avail, self.avail_reads = {}, {}
        self.define_name = ""
        return var

    def _state(self, state: tuple) -> Code:
        parts = [self.expr(e) for e in state]
        if parts[1:] == ["0", "False", "0"]:
            return Code(f"_BANDED[{parts[0]}]")
        return Code(f"_STATE({', '.join(parts)})")

    def flags(self, flags) -> None:
        self.site = None
        self.line(Code("flags = []"))
        for f in flags:
            self.site = self.m.site(f.owner.where)
            test = _Simplify().subst(f.test, {})
            self.count((), (test,))
            self.line(Code("try:"))
            self.indent += 4
            test = self.expr(test)
            self.line(Code(f"if {_test(test)}:"))
            self.line(Code("    flags.append("), Text(f.label), Code(")"))
            self.indent -= 4
            self.line(Code("except rt.DecimalException as exc:"))
            self.line(Code(f"    raise rt.arithmetic_error(exc, {self.m.where(f.owner.where)}, {self.m.const(f.owner.what)}) from None"))
            self.avail, self.avail_reads = {}, {}


_ROLES = {"value": "", "moved": "moved", "uncapped": "uncapped", "amount": "amount", "before": "before",
          "by": "by", "new": "new", "changed": "changed", "index": "idx", "ceiling": "ceiling",
          "pinned": "pinned", "limit": "limit"}
_WALRUS = re.compile(r"\((t_[0-9]+) := (.*)\)\Z")
_ATOM = re.compile(r"(?:[A-Za-z_][A-Za-z0-9_]*|-?[0-9]+|W\[[0-9]+\])\Z")  # reading it cannot fail
_INFIX = {c.Op.ADD: "+", c.Op.SUB: "-", c.Op.MUL: "*", c.Op.EQ: "==", c.Op.NE: "!=", c.Op.LT: "<", c.Op.LE: "<=",
          c.Op.GT: ">", c.Op.GE: ">=", c.Op.STEP: "+"}
_WHERE_CALLS = {c.Op.MEAN: "mean", c.Op.RATIO: "ratio", c.Op.LIST_MIN: "list_min", c.Op.LIST_MAX: "list_max"}
_CALLS = {c.Op.ABS: "abs", c.Op.CLAMP: "rt.clamp", c.Op.COUNT: "rt.count", c.Op.STREAK: "rt.streak"}


_BAND_ROWS = 8  # a chain this long of `x op constant → constant` is scanned by rt.band


def _band_rows(e):
    """(x, op, bounds, values, default) of a long chain of conditions that compare one
    expression with constants and give constants (a table, a long band); else None.

    rt.band evaluates x once; the chain evaluated it for each row tried, with the same
    value (expressions are pure), so the result and the first error are the same."""
    if not isinstance(e, c.Cond) or not isinstance(e.else_, c.Cond):
        return None
    first = e.test
    if not (isinstance(first, c.Call) and first.op in _BANDS and len(first.args) == 2):
        return None
    bounds, values, n = [], [], e
    while isinstance(n, c.Cond):
        t = n.test
        if not (isinstance(t, c.Call) and t.op is first.op and t.args[0] == first.args[0]
                and isinstance(t.args[1], c.Lit) and isinstance(t.args[1].value, Decimal)
                and isinstance(n.then, c.Lit) and _constant(n.then.value)):
            return None
        bounds.append(t.args[1].value)
        values.append(n.then.value)
        n = n.else_
    if len(bounds) < _BAND_ROWS or not (isinstance(n, c.Lit) and _constant(n.value)):
        return None
    return first.args[0], first.op, tuple(bounds), tuple(values), n.value


def _constant(v) -> bool:
    return isinstance(v, (Decimal, str, int)) and not isinstance(v, bool)


_BANDS = {c.Op.GE, c.Op.GT, c.Op.LE, c.Op.LT}


class _TempName(str):
    """Code already printed (an operand of a deep expression, evaluated in order): Var(_TempName) prints as is."""


def _leaf(n):
    if isinstance(n, c.Lit):
        return (type(n.value).__name__, pylit(n.value) if not isinstance(n.value, float) else repr(n.value))
    if isinstance(n, c.Var):
        return n.name
    # the error site is not part of an expression's identity: a repeated expression computed
    # once fails, if at all, where its first occurrence does, as evaluated twice it would
    if isinstance(n, c.Call):
        return n.op.value
    if isinstance(n, c.Div):
        return n.exactness.value
    if isinstance(n, c.Round):
        return n.mode.value
    if isinstance(n, c.RankOf):
        return (id(n.ranking), n.from_bottom)
    if isinstance(n, c.GroupValue):
        return id(n.aggregate)
    return None


def _with_kids(e, kids):
    if isinstance(e, c.Call):
        return c.Call(e.op, tuple(kids), e.where, e.what)
    if isinstance(e, c.Div):
        return c.Div(kids[0], kids[1], e.exactness, e.where)
    if isinstance(e, c.Round):
        return c.Round(kids[0], kids[1], e.mode)
    return e


def _assigned(stmts) -> list[str]:
    out = []
    for s in stmts:
        if isinstance(s, c.Let):
            out.append(s.name)
        elif isinstance(s, c.Guard):
            out += _assigned(s.then) + _assigned(s.else_)
    return out


def _test(code: Code) -> Code:
    """A condition as an `if` tests it: bool(x) is x there, and needs no outer brackets."""
    for opening in ("bool(", "("):
        if code.startswith(opening) and code.endswith(")") and _balanced(code[len(opening):-1]):
            return Code(code[len(opening):-1])
    return code


def _balanced(code: str) -> bool:
    depth = 0
    for ch in code:
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth < 0:
            return False
    return depth == 0


def _tuple(a: list[Code]) -> Code:
    return Code(f"({a[0]},)" if len(a) == 1 else f"({', '.join(a)})")


def _is_tuple(e) -> bool:
    return isinstance(e, c.Call) and e.op in (c.Op.LIST, c.Op.CONCAT)


# ---- the module ----------------------------------------------------------------------------
def _method(m: _Module, stage: str, defines, flags, head: list[str], tail) -> None:
    """One method: `head` (trusted text of this file), the preloads of what its body reads,
    then its definitions and flags inside `try` (a failure gets the policy line), then `tail`."""
    p = _Method(m, replace=stage != "individual")
    p.defines = {d.name for d in defines}
    outer, m.lines = m.lines, []
    p.indent = 12
    for d in defines:
        p.define(d, stage != "individual")
    if flags is not None:
        p.flags(flags)
    tail(p)
    body, m.lines = m.lines, outer
    for text in head:
        m.lines.append(_Line(text, None))
    m.lines.append(_Line("        try:", None))
    for name, var in p.preloads.items():
        source = "values" if stage != "individual" and name in m.defined else "record"
        m.emit(12, Code(f"{var} = {source}["), Text(name), Code("]"),
               site=m.site(m.declared[name]) if name in m.declared else None)
    m.lines += body or [_Line(" " * 12 + "pass", None)]
    m.lines += [_Line("        except Exception as exc:", None), _Line("            _annotate(exc)", None),
                _Line("            raise", None)]


def _individual_tail(defines):
    def tail(p: _Method) -> None:
        p.site = None
        p.fixed("return Result(self.policy, record, {")
        for d in defines:
            p.line(Code("    "), Text(d.name), Code(f": {p.m.var_of(d.name)},"))
        p.fixed("}, flags, trace, {")
        for d in defines:
            if d.tier is not None:
                p.line(Code("    "), Text(d.name), Code(f": s_{p.m.var_of(d.name)[2:]},"))
        p.fixed("})")
    return tail


def _no_tail(p: _Method) -> None:
    pass


def _flags_tail(p: _Method) -> None:
    p.line(Code("result.flags = flags"))


def _group(m: _Module, i: int, a: c.Aggregate) -> None:
    """group_arg of aggregate `i`: its argument over the subject's record and values."""
    def tail(p: _Method) -> None:
        p.site = m.site(a.owner.where)
        arg = _Simplify().subst(a.arg, {})
        p.count((), (arg,))
        p.line(Code("try:"))
        p.indent += 4
        p.line(Code(f"return {p.expr(arg)}"))
        p.indent -= 4
        p.line(Code("except rt.DecimalException as exc:"))
        p.line(Code(f"    raise rt.arithmetic_error(exc, {m.where(a.owner.where)}, {m.const(a.owner.what)}) from None"))
    _method(m, "group", (), None, ["", f"    def _group_{i}(self, result):",
                                            "        record = result.record", "        values = result.values"], tail)


_LATER = ["        record = result.record", "        values = result.values", "        trace = result.trace"]


def _body(m: _Module) -> None:
    """The Backend class: the program's stages as methods."""
    p = m.program
    m.lines += [_Line(t, None) for t in _CLASS_HEAD.split("\n")]
    groups = "".join(f"self._group_{i}, " for i in range(len(m.aggregates)))
    m.lines.insert(len(m.lines) - _CLASS_HEAD.split("\n")[::-1].index("    def __init__(self, policy):") + 1,
                   _Line(f"        self._groups = ({groups})", None))
    _method(m, "individual", p.individual, p.flags, _INDIVIDUAL_HEAD.split("\n"), _individual_tail(p.individual))
    if p.post:
        _method(m, "post", p.post, None, _POST_HEAD.split("\n") + _LATER, _no_tail)
    else:
        m.lines += [_Line(t, None) for t in _POST_HEAD.split("\n")]
    _method(m, "cohort", p.cohort, p.cohort_flags, _COHORT_HEAD.split("\n") + _LATER, _flags_tail)
    m.lines += [_Line(t, None) for t in _GROUP_ARG.split("\n")]
    for i, a in enumerate(m.aggregates):
        _group(m, i, a)


_CLASS_HEAD = """

class Backend:
    \"\"\"The compiled policy: the stages of perfdsl.eval.interpret.Interpreter, with ranks and
    group values asked of the cohort by index (RANKINGS, GROUPS).\"\"\"
    by_index = True

    def __init__(self, policy):
        self.policy = policy

    def evaluate(self, raw, Result=Result):
        \"\"\"Policy.evaluate's fast path: `raw` checked by `check` and through the individual
        stage without a trace, or None when `check` is not sure (validate with pydantic).\"\"\"
        record = check(raw)
        if record is None:
            return None
        return self.individual(record, False, Result)

    def row(self, raw):
        \"\"\"Policy.evaluate_many's fast path: the output row of `raw`, or None as `evaluate`.\"\"\"
        record = check(raw)
        if record is None:
            return None
        return self.individual(record, False, _row)"""
_INDIVIDUAL_HEAD = """
    def individual(self, record, trace=True, Result=Result):
        \"\"\"One subject through the individual stage (every definition not of the cohort stage),
        its explanation recorded when `trace` (else nothing of it is built). `Result` makes
        what is returned (a lazily traced Result, a row: the fast paths, without a trace).\"\"\"
        trace = rt.Trace() if trace else None"""
_POST_HEAD = """
    def post(self, result):
        \"\"\"After the cohort stage: recompute what reads a final tier (stage `post`).\"\"\""""
_COHORT_HEAD = """
    def cohort(self, result, ctx):
        \"\"\"Then what reads ranks or group values (stage `cohort`), and every flag.\"\"\""""
_GROUP_ARG = """
    def group_arg(self, i, result):
        \"\"\"The value group aggregate `i` (GROUPS) collects from this subject.\"\"\"
        return self._groups[i](result)"""


def generate(policy: Policy) -> str:
    """The source of a Python module evaluating `policy` as the reference evaluator does.

    Deterministic: the same IR gives byte-identical source."""
    m = _Module(policy, lower_policy(policy))
    _body(m)
    checks = validation.plan(policy, m)  # before the constants are printed: it adds some
    head = environment().get_template("module.j2").render({
        "policy_name": Text(policy.name), "file": Text(os.path.basename(policy.file)),
        "source_hash": Text(policy.source_hash), "generator": GENERATOR_VERSION,
        "files": [Text(f) for f in m.files], "sites": m.site_list,
        "rankings": [Text(_ranking_row(r)) for r in m.rankings],
        "groups": [Text((a.fn.value, a.partition.fields)) for a in m.aggregates],
        "consts": [(code, value) for code, value in m.consts.values()], "v": checks, "row": _row_plan(policy)})
    lines = head.split("\n")
    if lines[-1] == "":
        lines.pop()
    spans = {}
    for ln in m.lines:
        lines.append(ln.text)
        if ln.site is not None:
            spans[len(lines)] = ln.site
    items = [f"{k}: {v}," for k, v in spans.items()]
    lines += ["", "", "# line of this file -> (file, line, column) in the policy, by index into SITES", "SPANS = {"]
    lines += ["    " + " ".join(items[i:i + 10]) for i in range(0, len(items), 10)]
    lines += ["}", "# end of generated code", ""]
    source = "\n".join(lines)
    compile(source, "<perfdsl generated>", "exec")  # fail here, not at load, if printing went wrong
    return source


def _ranking_row(r: c.Ranking) -> tuple:
    return (tuple((k.name, k.descending, k.by_tier) for k in r.keys), r.partition.fields, r.tie.value)


def _row_plan(policy: Policy) -> dict:
    """What `_row` writes (Result.as_row): the key, each output (list values as lists), flags."""
    listed = {d.name: d.type.kind == "list" for d in policy.definitions}
    return {"key": None if policy.key is None else Text(policy.key),
            "outputs": [(Text(n), listed.get(n, True)) for n in policy.output_names()]}
