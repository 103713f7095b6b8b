"""What a run did, in a few lines a clerk reads (LANGUAGE.md §12.2 "Summary"), and the
same numbers as the `汇总` sheet of an XLSX output.

The subjects read, the count per tier (per group when there are at most 20 groups),
each quota's and distribution's bounds beside the counts, what the cohort stage moved
(individual tier → final tier), and the warnings — in the policy's language. The
bounds come from the cohort stage's own functions (cohort.head_count, Placer.bounds),
so the summary states the numbers the run applied. Tiers before the cohort stage are
recorded by `Recorder`, a thin wrapper of the policy's backend: a trace would cost a
run three times as long.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from . import cohort
from .numbers import decimal_text
from .runtime import CONTEXT, localcontext

MAX_GROUPS = 20  # groups listed one by one in the terminal

WORDS = {
    "en": {"read": "{n} subject(s) read from {data}", "written": "→ {out}", "tiers": "{label}:",
           "quota": "quota {tier} {share} (line {line})", "distribute": "distribute (line {line})",
           "all": "all", "groups": "{n} groups", "moved": "moved: {moves}", "none_moved": "moved: nobody",
           "warnings": "{n} warning(s) (above)", "bound": "{lo}..{hi}", "at_most": "at most {hi}", "people": "{n}",
           "sheet": ["rule", "group", "subjects", "tier", "before cohort", "final", "min", "max", "within"],
           "yes": "yes", "no": "no", "sep": ", ", "colon": ": "},
    "zh": {"read": "读入 {n} 人（{data}）", "written": "→ {out}", "tiers": "{label}：",
           "quota": "名额 {tier} {share}（第 {line} 行）", "distribute": "强制分布（第 {line} 行）",
           "all": "全体", "groups": "共 {n} 组", "moved": "调整：{moves}", "none_moved": "调整：无",
           "warnings": "警告 {n} 条（见上）", "bound": "{lo}..{hi}", "at_most": "至多 {hi}", "people": "{n} 人",
           "sheet": ["规则", "分组", "人数", "等次", "调整前", "最终", "下限", "上限", "在范围内"],
           "yes": "是", "no": "否", "sep": "，", "colon": "："},
}


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


@dataclass
class GroupCounts:
    group: str
    size: int
    before: list[int]
    final: list[int]
    lo: list[int | None]
    hi: list[int | None]


@dataclass
class RuleCounts:
    title: str
    tierset: str
    names: tuple[str, ...]
    groups: list[GroupCounts] = field(default_factory=list)


@dataclass
class Summary:
    language: str
    subjects: int
    tiers: list[tuple[str, tuple[str, ...], list[int]]]  # (title, names, final counts)
    rules: list[RuleCounts]
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


def _share(s) -> str:
    return decimal_text(s.value * 100) + "%" if s.percent else decimal_text(s.value)


def summarize(ir, results, warnings: list[str], language: str, before: dict | None = None) -> Summary:
    """The summary of a finished cohort; `before` maps id(result) to its tiers' indexes
    after the individual stage (a Recorder's), without it nothing counts as moved."""
    w = WORDS[language]
    sets = [d for d in ir.definitions if d.tiers is not None]
    index = {d.name: {t: i for i, t in enumerate(d.tiers.names())} for d in sets}

    if not before:
        before = None  # nothing recorded: the backend was not called per subject

    def idx(r, name, individual):
        recorded = before.get(id(r)) if individual and before is not None else None
        if recorded is not None and name in recorded:
            return recorded[name]
        return index[name][r.values[name]]

    def counts(members, name, individual=False):
        if individual and before is None:
            return [None] * len(index[name])  # not recorded (the columnar backend)
        c = [0] * len(index[name])
        for r in members:
            c[idx(r, name, individual)] += 1
        return c

    tiers = [(d.label or d.name, d.tiers.names(), counts(results, d.name)) for d in sets]
    labels = {i.name: i.label.strip() for i in ir.inputs if i.label and i.label.strip()} if language == "zh" else {}
    rules = []
    with localcontext(CONTEXT):
        placer = cohort.Placer(ir, results)
        for q in sorted(ir.quotas, key=lambda q: q.tier):
            names = ir.definition(q.tierset).tiers.names()
            share = (f"{_share(q.lo)}..{_share(q.hi)}" if q.lo is not None
                     else w["at_most"].format(hi=_share(q.hi)) if q.hi is not None else "")
            rule = RuleCounts(w["quota"].format(tier=names[q.tier], share=share, line=q.span.line), q.tierset, names)
            for value, members in cohort.group_members(results, q.group):
                n = len(members)
                lo, hi = [None] * len(names), [None] * len(names)
                hi[q.tier] = cohort.head_count(q.hi, n, q.rounding) if q.hi is not None else n
                lo[q.tier] = cohort.head_count(q.lo, n, q.rounding) if q.lo is not None else 0
                rule.groups.append(GroupCounts(_group(q.group, value, w, labels), n, counts(members, q.tierset, True),
                                               counts(members, q.tierset), lo, hi))
            rules.append(rule)
        for d in ir.distributes:
            names = ir.definition(d.tierset).tiers.names()
            rule = RuleCounts(w["distribute"].format(line=d.span.line), d.tierset, names)
            bounded = {b.tier for b in d.bounds} | {b.tier for wh in d.whens for b in wh.bounds}
            for value, members in cohort.group_members(results, d.group):
                got = placer.bounds(d, names, members, "")
                lo = [got[0][i] if got and i in bounded else None for i in range(len(names))]
                hi = [got[1][i] if got and i in bounded else None for i in range(len(names))]
                rule.groups.append(GroupCounts(_group(d.group, value, w, labels), len(members),
                                               counts(members, d.tierset, True), counts(members, d.tierset), lo, hi))
            rules.append(rule)
    moves: dict[str, Counter] = {}
    if before is not None:
        for name in {r.tierset for r in rules}:
            names = ir.definition(name).tiers.names()
            moves[name] = Counter((names[idx(r, name, True)], r.values[name]) for r in results
                                  if idx(r, name, True) != idx(r, name, False))
    return Summary(language, len(results), tiers, rules, moves, list(warnings))


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
    return f"（{text}）" if w is WORDS["zh"] else f" ({text})"


def lines(s: Summary, data: str, out: str | None = None) -> list[str]:
    """The summary as printed after a run."""
    w = WORDS[s.language]
    text = [w["read"].format(n=s.subjects, data=data) + (" " + w["written"].format(out=out) if out else "")]
    for title, names, final in s.tiers:
        text.append(w["tiers"].format(label=title) + ("" if s.language == "zh" else " ") + w["sep"].join(
            f"{t} {n}" for t, n in zip(names, final)))
    for rule in s.rules:
        text.append(rule.title + w["colon"].rstrip() + (" " + w["groups"].format(n=len(rule.groups))
                                                        if len(rule.groups) > MAX_GROUPS else ""))
        if len(rule.groups) <= MAX_GROUPS:
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
    w = WORDS[s.language]
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
