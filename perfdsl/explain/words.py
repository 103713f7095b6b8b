"""Values and expressions put into words: numbers, labels, conditions with whether they
held, ranks and group values, in any language of phrases.toml (operators,
numbers and the shape of an expression are the same in every language).
Text from data passes through io.terminal_text, so a key cannot forge a line of the
explanation or send escape sequences to the terminal that prints it.
"""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from ..io import terminal_text
from ..language import phrases
from ..numbers import decimal_text
from .terms import Term

PHRASES = Path(__file__).with_name("phrases.toml")
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


def nth(n: int) -> str:
    """An English ordinal (3rd, 11th, 22nd): the `{nth}` field of the templates."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


class Words:
    """Values and terms of one policy in one language."""

    def __init__(self, policy, language: str):
        from ..outputs import round_places
        self.policy, self.language = policy, language
        self.p = phrases(PHRASES, language)
        self.quote = (self.p["open_quote"], self.p["close_quote"])
        self.labels = {i.name: i.label for i in policy.inputs}
        self.labels.update((d.name, d.label) for d in policy.definitions)
        self.places = round_places(policy)  # a value made by round(x, d) shows d decimals, as in the output

    def of(self, name: str | None, v) -> str:
        """The value of `name` as the output file writes it."""
        places = self.places.get(name)
        if places is not None and isinstance(v, Decimal) and v.is_finite():
            return f"{v.quantize(Decimal(1).scaleb(-places)):f}" if v.as_tuple().exponent != -places else f"{v:f}"
        return self.value(v)

    def say(self, key: str, **fields) -> str:
        """The language's template `key` with its fields filled in."""
        return self.p[key].format(**fields)

    def paren(self, text: str) -> str:
        return self.say("paren", text=text)

    # ---- values -----------------------------------------------------------------------------
    def value(self, v) -> str:
        if isinstance(v, bool):
            return self.p["yes" if v else "no"]
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
            return f"{self.condition(left, named)}{self.p[k]}{self.condition(right, named)}"
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
            return self.p[t.kind].join(self.shape(a) for a in t.args if a.kind != "skip")
        if t.kind == "call":
            return f"{t.op}({', '.join(self.shape(a) for a in t.args)})"
        return "…"

    def truth(self, held) -> str:
        return self.p["holds" if held else "fails"]

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

    # ---- groups, ranks, aggregates ------------------------------------------------------------
    def group_size(self, n) -> str:
        return self.say("group_size", n=fmt(n))

    def group(self, g) -> str:
        if not g.fields:
            return self.p["whole_cohort"]
        parts = self.p["list_sep"].join(self.say("group_part", field=f, value=fmt(v)) for f, v in zip(g.fields, g.values))
        return self.say("group", parts=parts)

    def rank(self, t: Term) -> str:
        rank, n, group = t.facts
        where = self.say("rank_where", group=self.group(group)) if group.fields else ""
        if t.op == "rank_from_bottom":
            rank = n + 1 - rank
        return self.say(t.op, rank=rank, nth=nth(rank), n=n, where=where)

    def aggregate(self, t: Term, named: bool) -> str:
        (group,) = t.facts
        return self.say("aggregate", what=self.p["aggregate_" + t.op], shape=self.shape(t.args[0]),
                        group=self.group(group), value=fmt(t.value))

    def choice(self, t: Term, named: bool, result: str) -> str:
        cond, taken = t.args
        shown = self.term(taken, named)
        if not taken.simple:
            shown += f" = {self.rounded(taken) or result}"
        return self.say("choice", cond=self.condition(cond, named), shown=shown)

    def negation(self, text: str, value) -> str:
        return self.say("negation", text=text, truth=self.truth(value))


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
