"""What the report shows, computed from a finished cohort run: counts per tier and group
beside each quota's or distribution's bounds, and the subject table.

The bounds are recomputed here with the cohort stage's own functions (cohort.head_count,
Placer.bounds, group_members), so the report states the numbers the run applied and
never a second reading of §6. Everything is plain data (str, int, Decimal) for the
templates, which escape every string; nothing here writes HTML.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from .. import cohort
from ..numbers import decimal_text
from ..runtime import CONTEXT, localcontext

COHORT_KINDS = ("quota", "distribute")


@dataclass
class TierRow:
    tier: str
    individual: int
    final: int
    lo: int | None = None  # None: this rule sets no bound on the tier
    hi: int | None = None
    basis: str = ""  # the rule's share, e.g. "10%..20%", or "when" lines that set it

    @property
    def status(self) -> str:
        if self.lo is None:
            return "unbounded"
        if self.final > self.hi:
            return "above"
        return "below" if self.final < self.lo else "within"


@dataclass
class GroupBlock:
    """One group under one rule (or the whole cohort without a rule)."""
    group: str
    size: int
    rows: list[TierRow] = field(default_factory=list)


@dataclass
class RuleView:
    """One quota or `distribute` line and each group it placed."""
    title: str  # e.g. "名额 先进 至多 25%，第 66 行"
    blocks: list[GroupBlock]


def share_text(share) -> str:
    if share is None:
        return ""
    if share.percent:
        return decimal_text(share.value * 100) + "%"
    return decimal_text(share.value)


def _value_text(v) -> str:
    if isinstance(v, Decimal):
        return decimal_text(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def field_title(ir, name: str) -> str:
    """An input's or definition's label, else its name."""
    for i in ir.inputs:
        if i.name == name:
            return i.label or name
    for d in ir.definitions:
        if d.name == name:
            return d.label or name
    return name


def group_title(group, value, words) -> str:
    """A group by its value(s) alone; the rule's title names the field(s)."""
    if group is None:
        return words["overall"]
    values = value if isinstance(group, tuple) else (value,)
    return " / ".join(_value_text(v) for v in values)


def individual_tier(result, tierset: str) -> str:
    """The tier before the cohort stage: the `before` of its first quota or distribution step."""
    final = result.values[tierset]
    trace = result.trace.tier(tierset) if result.trace is not None else None
    if trace is None:
        return final
    step = next((c for c in trace.changes if c.kind in COHORT_KINDS), None)
    return step.before if step is not None else final


def main_tierset(ir) -> str | None:
    """The tier set the cohort rules govern, else the first one the policy declares."""
    for rule in (*ir.quotas, *ir.distributes):
        return rule.tierset
    return next((d.name for d in ir.definitions if d.tiers is not None), None)


def _counts(results, tierset: str, names) -> tuple[list[int], list[int]]:
    ind = [0] * len(names)
    fin = [0] * len(names)
    index = {t: i for i, t in enumerate(names)}
    for r in results:
        ind[index[individual_tier(r, tierset)]] += 1
        fin[index[r.values[tierset]]] += 1
    return ind, fin


def overall(ir, results, words) -> GroupBlock | None:
    tierset = main_tierset(ir)
    if tierset is None:
        return None
    names = ir.definition(tierset).tiers.names()
    ind, fin = _counts(results, tierset, names)
    return GroupBlock(words["overall"], len(results),
                      [TierRow(t, ind[i], fin[i]) for i, t in enumerate(names)])


def rules(ir, results, words) -> list[RuleView]:
    """Each quota and `distribute` rule, in the order the cohort stage applies them,
    group by group, with the bounds it applied."""
    views = []
    placer = cohort.Placer(ir, results)
    with localcontext(CONTEXT):
        for q in sorted(ir.quotas, key=lambda q: q.tier):
            views.append(_quota_view(ir, q, results, words))
        for d in ir.distributes:
            views.append(_distribute_view(ir, d, results, words, placer))
    return views


def _rule_title(ir, kind: str, text: str, rule, words) -> str:
    zh = words["lang"] == "zh-CN"
    per = ""
    if rule.group is not None:
        fields = " / ".join(field_title(ir, f) for f in (rule.group if isinstance(rule.group, tuple) else (rule.group,)))
        per = f"（按“{fields}”分组）" if zh else f" per {fields}"
    line = words["line"].format(line=rule.span.line)
    return f"{words[kind]}{' ' + text if text else ''}{per}{'，' if zh else ', '}{line}"


def _quota_view(ir, q, results, words) -> RuleView:
    names = ir.definition(q.tierset).tiers.names()
    tier = names[q.tier]
    if q.lo is None:
        share = ("至多 " if words["lang"] == "zh-CN" else "at most ") + share_text(q.hi)
    else:
        share = f"{share_text(q.lo)}..{share_text(q.hi)}"
    title = _rule_title(ir, "quota", f"{tier} {share}", q, words)
    blocks = []
    for value, members in cohort.group_members(results, q.group):
        n = len(members)
        hi = cohort.head_count(q.hi, n, q.rounding) if q.hi is not None else n
        lo = cohort.head_count(q.lo, n, q.rounding) if q.lo is not None else 0
        ind, fin = _counts(members, q.tierset, names)
        rows = [TierRow(t, ind[i], fin[i]) for i, t in enumerate(names)]
        rows[q.tier].lo, rows[q.tier].hi = lo, hi
        rows[q.tier].basis = share if q.hi is not None and q.hi.percent else ""
        blocks.append(GroupBlock(group_title(q.group, value, words), n, rows))
    return RuleView(title, blocks)


def _distribute_view(ir, d, results, words, placer) -> RuleView:
    names = ir.definition(d.tierset).tiers.names()
    title = _rule_title(ir, "distribute", "", d, words)
    blocks = []
    for value, members in cohort.group_members(results, d.group):
        n = len(members)
        bounds = placer.bounds(d, names, members, "")
        ind, fin = _counts(members, d.tierset, names)
        rows = [TierRow(t, ind[i], fin[i]) for i, t in enumerate(names)]
        if bounds is not None:
            lo, hi = bounds[0], bounds[1]  # (lo, hi, texts, ...): later items vary
            basis = _distribute_basis(d, names, members, placer, words)
            for i, row in enumerate(rows):
                if basis[i] is not None:
                    row.lo, row.hi, row.basis = lo[i], hi[i], basis[i]
        blocks.append(GroupBlock(group_title(d.group, value, words), n, rows))
    return RuleView(title, blocks)


def _distribute_basis(d, names, members, placer, words) -> list[str | None]:
    """Where each tier's bound came from: its share, or the `when` line that replaced it
    (the later line wins, as in Placer.bounds); None for a tier no line bounds."""
    from types import SimpleNamespace
    basis: list[str | None] = [None] * len(names)
    for b in d.bounds:
        basis[b.tier] = _share_range(b)
    env = {**members[0].record, **members[0].values}
    group = SimpleNamespace(size=Decimal(len(members)))
    for w in d.whens:
        if placer.interpreter.eval(w.cond, env, group):
            for b in w.bounds:
                when = words["line"].format(line=w.span.line)
                basis[b.tier] = f"{_share_range(b)} when {when}".strip()
    return basis


def _share_range(b) -> str:
    """`10%..20%` where a bound is a share of the group; empty for plain counts, which
    the count column already shows."""
    if not (b.lo.percent or (b.hi is not None and b.hi.percent)):
        return ""
    return f"{share_text(b.lo)}..{share_text(b.hi)}"
