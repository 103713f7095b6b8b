"""What the report shows, computed from a finished cohort run: counts per tier and group
beside each quota's or distribution's bounds, and the subject table.

The counts and bounds are perfdsl.cohort_counts', which the run summary states too: this
module adds only what the report tells besides (titles, where each bound came from,
whether the final count keeps within it). Everything is plain data (str, int, Decimal)
for the templates, which escape every string; nothing here writes HTML.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from .. import cohort_counts
from ..cohort_counts import share_text
from ..ir import QuotaDef
from ..numbers import decimal_text

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


def overall(ir, results, words) -> GroupBlock | None:
    tierset = main_tierset(ir)
    if tierset is None:
        return None
    names = ir.definition(tierset).tiers.names()
    ind, fin = cohort_counts.Columns.of_results(ir, results, individual_tier).count(tierset, names)
    return GroupBlock(words["overall"], len(results),
                      [TierRow(t, ind[i], fin[i]) for i, t in enumerate(names)])


def rules(ir, results, words) -> list[RuleView]:
    """Each quota and `distribute` rule, in the order the cohort stage applies them,
    group by group, with the bounds it applied."""
    return [_quota_view(ir, c, words) if isinstance(c.rule, QuotaDef) else _distribute_view(ir, c, words)
            for c in cohort_counts.rules(ir, cohort_counts.Columns.of_results(ir, results, individual_tier))]


def _rule_title(ir, kind: str, text: str, rule, words) -> str:
    zh = words["lang"] == "zh-CN"
    per = ""
    if rule.group is not None:
        fields = " / ".join(field_title(ir, f) for f in (rule.group if isinstance(rule.group, tuple) else (rule.group,)))
        per = f"（按“{fields}”分组）" if zh else f" per {fields}"
    line = words["line"].format(line=rule.span.line)
    return f"{words[kind]}{' ' + text if text else ''}{per}{'，' if zh else ', '}{line}"


def _quota_view(ir, counted: cohort_counts.RuleCounts, words) -> RuleView:
    q = counted.rule
    if q.lo is None:
        share = ("至多 " if words["lang"] == "zh-CN" else "at most ") + share_text(q.hi)
    else:
        share = f"{share_text(q.lo)}..{share_text(q.hi)}"
    title = _rule_title(ir, "quota", f"{counted.names[q.tier]} {share}", q, words)
    basis = share if q.hi is not None and q.hi.percent else ""
    return RuleView(title, [GroupBlock(group_title(q.group, g.value, words), g.size, [_row(t, basis) for t in g.tiers])
                            for g in counted.groups])


def _distribute_view(ir, counted: cohort_counts.RuleCounts, words) -> RuleView:
    d = counted.rule
    title = _rule_title(ir, "distribute", "", d, words)
    return RuleView(title, [GroupBlock(group_title(d.group, g.value, words), g.size,
                                       [_row(t, _distribute_basis(t, words) if t.bounded else "") for t in g.tiers])
                            for g in counted.groups])


def _row(t: cohort_counts.TierCounts, basis: str) -> TierRow:
    """A tier's row: its bounds and their basis only where the rule bounds it in this group."""
    if not t.bounded:
        return TierRow(t.tier, t.before, t.final)
    return TierRow(t.tier, t.before, t.final, t.lo, t.hi, basis)


def _distribute_basis(t: cohort_counts.TierCounts, words) -> str:
    """Where a tier's bound came from: its share, or the `when` line that replaced it."""
    if t.when is None:
        return _share_range(*t.shares)
    return f"{_share_range(*t.shares)} when {words['line'].format(line=t.when)}".strip()


def _share_range(lo, hi) -> str:
    """`10%..20%` where a bound is a share of the group; empty for plain counts, which
    the count column already shows."""
    if not (lo.percent or (hi is not None and hi.percent)):
        return ""
    return f"{share_text(lo)}..{share_text(hi)}"
