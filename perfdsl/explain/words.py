"""What both languages share when they put a step into words: numbers, values, terms.

A language module (zh, en) subclasses Words with its phrases and its sentence for each
step kind; operators, numbers and the shape of an expression are the same in both.
Text from data passes through io.terminal_text, so a key cannot forge a line of the
explanation or send escape sequences to the terminal that prints it.
"""
from __future__ import annotations

from decimal import Decimal

from ..io import terminal_text
from ..numbers import decimal_text
from .terms import Term

OPS = {"+": "+", "-": "−", "*": "×", "/": "÷", "==": "=", "!=": "≠", "<": "<", "<=": "≤", ">": ">", ">=": "≥"}
_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2}


def fmt(v) -> str:
    """A value as an explanation shows it (language-neutral: numbers, text, lists)."""
    if isinstance(v, str):
        return terminal_text(v)
    if isinstance(v, Decimal):
        return decimal_text(v) if v.is_finite() else str(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (tuple, list)):
        return "[" + ", ".join(fmt(x) for x in v) + "]"
    return str(v)


def percent(v: Decimal) -> str:
    return decimal_text(v * 100) + "%"


class Words:
    """Rendering shared by the languages; subclasses set the phrases."""
    language = ""
    yes = no = holds = fails = and_ = or_ = not_ = ""
    quote = ("\"", "\"")

    def __init__(self, policy):
        from ..outputs import round_places
        self.policy = policy
        self.labels = {i.name: i.label for i in policy.inputs}
        self.labels.update((d.name, d.label) for d in policy.definitions)
        self.places = round_places(policy)  # a value made by round(x, d) shows d decimals, as in the output

    def of(self, name: str | None, v) -> str:
        """The value of `name` as the output file writes it."""
        places = self.places.get(name)
        if places is not None and isinstance(v, Decimal) and v.is_finite():
            return f"{v.quantize(Decimal(1).scaleb(-places)):f}" if v.as_tuple().exponent != -places else f"{v:f}"
        return self.value(v)

    # ---- values -----------------------------------------------------------------------------
    def value(self, v) -> str:
        if isinstance(v, bool):
            return self.yes if v else self.no
        if v is None:
            return "—"
        return fmt(v)

    def title(self, name: str | None, label: str | None) -> str:
        return terminal_text(label) if label else (name or "")

    @staticmethod
    def said(text: str | None) -> str | None:
        """A reason or flag label from the policy, safe to print (io.terminal_text)."""
        return terminal_text(text) if text else text

    def named(self, name: str) -> str:
        return self.title(name, self.labels.get(name))

    # ---- terms ------------------------------------------------------------------------------
    def term(self, t: Term, named: bool = True, parent: int = 0, compact: bool = False) -> str:
        """An expression with its values: refs by their value (after their label when
        `named`), compound arguments of a comparison followed by `= value`. `compact`
        shows each call by the value it gave."""
        k = t.kind
        if compact and k in ("call", "group", "if"):
            return self.rounded(t) or self.value(t.value)
        if k == "num":
            return percent(t.value) if t.percent else fmt(t.value)
        if k == "text":
            return self.quote[0] + fmt(t.value) + self.quote[1]
        if k in ("tier", "list", "value"):
            return self.value(t.value)
        if k == "bool":
            return self.value(t.value)
        if k == "ref":
            shown = self.quote[0] + fmt(t.value) + self.quote[1] if t.quoted else self.of(t.name, t.value)
            return f"{self.title(t.name, t.label)} {shown}" if named else shown
        if k == "size":
            return self.group_size(t.value)
        if k == "rank":
            return self.rank(t)
        if k == "group":
            return self.aggregate(t, named)
        if k == "op":
            p = _PRECEDENCE.get(t.op, 1)
            parts = []
            for i, a in enumerate(t.args):
                inner = self.term(a, named, p + (1 if i > 0 and t.op in ("-", "/") else 0), compact)
                parts.append(inner)
            text = f" {OPS[t.op]} ".join(parts)
            return f"({text})" if parent > p else text
        if k == "neg":  # a negative literal reads as numbers do (-1); a negated value as −x
            return ("-" if t.args[0].kind == "num" else "−") + self.term(t.args[0], named, 3, compact)
        if k == "index":
            return f"{self.term(t.args[0], named, 3)}[{self.term(t.args[1], False)}]"
        if k == "call":
            return f"{t.op}({', '.join(self.term(a, named) for a in t.args)})"
        if k in ("cmp", "and", "or", "not"):
            return self.condition(t, named)
        if k == "if":
            return self.choice(t, named, self.value(t.value))
        return self.value(t.value)

    def operand(self, t: Term, named: bool) -> str:
        """A side of a comparison: compound ones with the value they came to."""
        text = self.term(t, named, 3)
        if t.kind in ("op", "call", "index", "neg", "if", "group") and isinstance(t.value, (Decimal, tuple, str)):
            return f"{self.term(t, named)} = {self.value(t.value)}"
        return text

    def condition(self, t: Term, named: bool = True) -> str:
        """A condition with the values it compared and whether each part held."""
        k = t.kind
        if k == "cmp":
            return f"{self.operand(t.args[0], named)} {OPS[t.op]} {self.operand(t.args[1], named)}{self.truth(t.value)}"
        if k in ("and", "or"):
            left, right = t.args
            if right.kind == "skip":
                return self.condition(left, named)
            return f"{self.condition(left, named)}{self.and_ if k == 'and' else self.or_}{self.condition(right, named)}"
        if k == "not":
            inner = t.args[0]
            if inner.kind == "ref" and isinstance(inner.value, bool):
                return f"{self.title(inner.name, inner.label)} = {self.value(inner.value)}"
            return self.negation(self.condition(inner, named), t.value)
        if k == "ref":
            return f"{self.term(t, named)}{self.truth(t.value)}" if not isinstance(t.value, bool) \
                else f"{self.title(t.name, t.label)} = {self.value(t.value)}"
        return f"{self.term(t, named)} = {self.value(t.value)}"

    @staticmethod
    def rounded(t: Term) -> str | None:
        """What `round(x, 2)` gave, with its decimals (2.40), as the policy asked for them."""
        if t.kind == "call" and t.op in ("round", "floor", "ceil") and isinstance(t.value, Decimal) and t.value.is_finite():
            return f"{t.value:f}"
        return None

    def shape(self, t: Term) -> str:
        """An expression by its names, without values: what a group aggregate collects
        (`score`, `等次 = 先进`), since each member has its own values."""
        if t.kind == "ref":
            return self.title(t.name, t.label)
        if t.kind in ("num", "text", "tier", "bool"):
            return self.term(t)
        if t.kind in ("cmp", "op"):
            return f" {OPS[t.op]} ".join(self.shape(a) for a in t.args)
        if t.kind in ("and", "or"):
            return (self.and_ if t.kind == "and" else self.or_).join(self.shape(a) for a in t.args if a.kind != "skip")
        if t.kind == "call":
            return f"{t.op}({', '.join(self.shape(a) for a in t.args)})"
        return "…"

    def truth(self, held) -> str:
        return self.holds if held else self.fails

    def formula(self, t: Term, value, lead: bool = False, name: str | None = None) -> str:
        """An expression with its values and result: `60 × index_completion 1 = 60`,
        `指标评估 60 + … = 92`. With `lead` (one term of a sum) a term reading one value
        names it first: `工作质量 40% × 95 = 38`. `name`: whose value it is (its decimals)."""
        result = self.rounded(t) or self.of(name, value)
        if t.kind in ("ref", "rank", "group"):  # they say their value themselves
            return self.term(t)
        if t.kind == "if":
            return self.choice(t, True, result)
        refs = _refs(t)
        if lead and len(refs) == 1 and t.kind not in ("cmp", "and", "or", "not", "rank"):
            ref, label = refs[0]
            return f"{self.title(ref, label)} {self.term(t, named=False)} = {result}"
        if t.kind in ("cmp", "and", "or", "not"):
            return self.condition(t)
        if t.kind == "op" and _collapses(t):  # 20% × (trimmed_mean(…) + …) = 20% × (25 + …) = 20
            return f"{self.term(t)} = {self.term(t, named=False, compact=True)} = {result}"
        return f"{self.term(t)} = {result}"

    # ---- hooks ------------------------------------------------------------------------------
    def group_size(self, n) -> str:
        raise NotImplementedError

    def rank(self, t: Term) -> str:
        raise NotImplementedError

    def aggregate(self, t: Term, named: bool) -> str:
        raise NotImplementedError

    def choice(self, t: Term, named: bool, result: str) -> str:
        raise NotImplementedError

    def negation(self, text: str, value) -> str:
        raise NotImplementedError


def _refs(t: Term) -> list[tuple[str, str | None]]:
    out, stack = [], [t]
    while stack:
        n = stack.pop()
        if n.kind == "ref" and (n.name, n.label) not in out:
            out.append((n.name, n.label))
        stack.extend(reversed(n.args))
    return out


def room(group, step) -> tuple[int, int]:
    """Why a distribute cut's bounds are tighter than the tier's own (§6 step 5): how many
    must be left for the later tiers' minimums (0 when that did not bind), and how many
    the later tiers' maximums can hold (0 when that did not bind)."""
    b, pin = group.bounds[step.tier], group.pins[step.tier]
    hi_free, lo_free = max(0, b.hi - pin), max(0, b.lo - pin)
    leave = step.rem - max(step.hi, 0) if max(step.hi, 0) < hi_free else 0
    hold = step.rem - step.lo if step.lo > lo_free else 0
    return leave, hold


def _collapses(t: Term) -> bool:
    """Whether an arithmetic expression holds a call over a list or over a compound
    argument, whose value alone makes the arithmetic easier to follow."""
    stack = list(t.args)
    while stack:
        n = stack.pop()
        if n.kind in ("call", "group") and any(a.kind == "list" or isinstance(a.value, tuple) or not a.simple
                                              for a in n.args):
            return True
        if n.kind in ("op", "neg"):
            stack.extend(n.args)
    return False
