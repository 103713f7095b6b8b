"""What a run did, in a few lines a clerk reads (LANGUAGE.md §12.2 "Summary"), and the
same numbers as the `汇总` sheet of an XLSX output.

The subjects read, the count per tier (per group when there are at most 20 groups),
each quota's and distribution's bounds beside the counts, what the cohort stage moved
(individual tier → final tier), and the warnings — in the policy's language. The
counts and bounds are perfdsl.cohort_counts', which the report states too; this module
only words them. Tiers before the cohort stage are recorded by `Recorder`, a thin
wrapper of the policy's backend: a trace would cost a run three times as long.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from . import cohort_counts
from .cohort_counts import share_text
from .ir import QuotaDef
from .language import phrases
from .numbers import decimal_text

MAX_GROUPS = 20  # groups listed one by one in the terminal

PHRASES = Path(__file__).with_name("summary.toml")  # read by perfdsl.language.phrases


class Recorder:
    """The policy's backend, noting each subject's tiers after the individual stage."""

    def __init__(self, backend):
        self._backend = backend
        self.individual_tiers: dict[int, dict[str, int]] = {}

    def individual(self, record, trace):
        r = self._backend.individual(record, trace)
        self.individual_tiers[id(r)] = {name: state.index for name, state in r.tiers.items()}
        return r

    def __getattr__(self, name):
        return getattr(self._backend, name)

    def columns(self, ir, results) -> cohort_counts.Columns:
        """`results` (of a run through this backend) as the summary counts them, with the
        tiers noted before the cohort stage (none where the backend was not called per
        subject, e.g. a cached run: then nothing counts as moved)."""
        return cohort_counts.Columns.of_results(ir, results, tiers_before(ir, self.individual_tiers)
                                                if self.individual_tiers else None)


@dataclass
class SummaryGroup:
    group: str
    size: int
    before: list[int | None]
    final: list[int]
    lo: list[int | None]
    hi: list[int | None]


@dataclass
class SummaryRule:
    title: str
    tierset: str
    names: tuple[str, ...]
    count: int  # how many groups the rule has
    groups: list[SummaryGroup] = field(default_factory=list)  # empty where they are not listed


@dataclass
class Summary:
    language: str
    subjects: int
    tiers: list[tuple[str, tuple[str, ...], list[int]]]  # (title, names, final counts)
    rules: list[SummaryRule]
    moves: dict[str, Counter]  # tierset -> (before, after) -> count
    warnings: list[str]


def _text(v) -> str:
    if isinstance(v, tuple):
        return " / ".join(map(_text, v))
    if isinstance(v, Decimal):
        return decimal_text(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def summarize(ir, results: cohort_counts.Columns, warnings: list[str], language: str,
              listed: int | None = None) -> Summary:
    """The summary of a finished cohort; what moved where the tiers before the cohort
    stage are known (Recorder.columns, or a columnar run's). A rule's groups are listed
    where it has at most `listed` (None: always, as the `汇总` sheet lists them)."""
    w = phrases(PHRASES, language)
    sets = [d for d in ir.definitions if d.tiers is not None]
    tiers = [(d.label or d.name, d.tiers.names(), list(results.count(d.name, d.tiers.names())[1])) for d in sets]
    labels = {i.name: i.label.strip() for i in ir.inputs if i.label and i.label.strip()} if language == "zh" else {}
    rules = [_rule(counted, w, labels) for counted in cohort_counts.rules(ir, results, listed)]
    moves: dict[str, Counter] = {}
    for name in dict.fromkeys(r.tierset for r in rules):  # in the rules' order, every run
        if results.knows_before(name):
            moves[name] = results.moves(name, ir.definition(name).tiers.names())
    return Summary(language, len(results), tiers, rules, moves, list(warnings))


def tiers_before(ir, before: dict) -> cohort_counts.Before:
    """A Recorder's tier indexes as the tier a subject held before the cohort stage (its
    final tier where nothing was recorded for it)."""
    names = {d.name: d.tiers.names() for d in ir.definitions if d.tiers is not None}

    def tier(r, name: str) -> str:
        indexes = before.get(id(r))
        return names[name][indexes[name]] if indexes and name in indexes else r.values[name]
    return tier


def _rule(counted: cohort_counts.RuleCounts, w: dict, labels: dict) -> SummaryRule:
    """One rule's lines: its bounds beside every tier some line of it bounds, in every group
    (a `when`'s bound where the `when` does not hold is the tier's 0..n)."""
    rule = counted.rule
    if isinstance(rule, QuotaDef):
        share = (f"{share_text(rule.lo)}..{share_text(rule.hi)}" if rule.lo is not None
                 else w["at_most"].format(hi=share_text(rule.hi)) if rule.hi is not None else "")
        title = w["quota"].format(tier=counted.names[rule.tier], share=share, line=rule.span.line)
    else:
        title = w["distribute"].format(line=rule.span.line)
    return SummaryRule(title, rule.tierset, counted.names, counted.count, [
        SummaryGroup(_group(rule.group, g.value, w, labels), g.size, [t.before for t in g.tiers],
                     [t.final for t in g.tiers], [t.lo if i in counted.bounds else None for i, t in enumerate(g.tiers)],
                     [t.hi if i in counted.bounds else None for i, t in enumerate(g.tiers)])
        for g in counted.groups])


def _group(field_, value, w, labels: dict) -> str:
    """A group as `部门=办公室`: each field by its label where it has one."""
    if field_ is None:
        return w["all"]
    fields = field_ if isinstance(field_, tuple) else (field_,)
    return f"{'/'.join(labels.get(f) or f for f in fields)}={_text(value)}"


def _bounds(w, lo, hi) -> str:
    if lo is None:
        return ""
    text = w["at_most"].format(hi=hi) if lo == 0 else w["bound"].format(lo=lo, hi=hi)
    return w["paren"].format(text=text)


def lines(s: Summary, data: str, out: str | None = None) -> list[str]:
    """The summary as printed after a run."""
    w = phrases(PHRASES, s.language)
    text = [w["read"].format(n=s.subjects, data=data) + (" " + w["written"].format(out=out) if out else "")]
    for title, names, final in s.tiers:
        text.append(w["tiers"].format(label=title) + ("" if s.language == "zh" else " ") + w["sep"].join(
            f"{t} {n}" for t, n in zip(names, final)))
    for rule in s.rules:
        text.append(rule.title + (w["colon"] + w["groups"].format(n=rule.count) if rule.count > MAX_GROUPS
                                  else w["colon"].rstrip()))
        if rule.count <= MAX_GROUPS:
            for g in rule.groups:
                shown = [f"{t} {g.final[i]}{_bounds(w, g.lo[i], g.hi[i])}" for i, t in enumerate(rule.names)
                         if g.lo[i] is not None or g.final[i]]
                text.append(f"  {g.group}（{g.size}）" if s.language == "zh" else f"  {g.group} ({g.size})")
                text[-1] += w["colon"] + w["sep"].join(shown)
    for name, moved in s.moves.items():
        if moved:
            text.append(w["moved"].format(moves=w["sep"].join(
                f"{a}→{b} {w['people'].format(n=n)}" for (a, b), n in sorted(moved.items(), key=lambda x: -x[1]))))
        else:
            text.append(w["none_moved"])
    if s.warnings:  # printed above, on stderr, each as `warning: ...`
        text.append(w["warnings"].format(n=len(s.warnings)))
    return text


def sheet(s: Summary) -> tuple[str, list[list]]:
    """The `汇总` sheet: one row per rule, group and tier (the tiers alone without rules)."""
    w = phrases(PHRASES, s.language)
    rows: list[list] = [w["sheet"]]
    for title, names, final in s.tiers:
        for t, n in zip(names, final):
            rows.append([title, w["all"], s.subjects, t, None, n, None, None, None])
    for rule in s.rules:
        for g in rule.groups:
            for i, t in enumerate(rule.names):
                within = None if g.lo[i] is None else w["yes"] if g.lo[i] <= g.final[i] <= g.hi[i] else w["no"]
                rows.append([rule.title, g.group, g.size, t, g.before[i], g.final[i], g.lo[i], g.hi[i], within])
    return "汇总", rows
