"""What the cohort steps say, worded once for every evaluator and printer of the core:
the problems that stop a group (ties at a cut, infeasible bounds, a `when` field that
varies) and the warnings of a placement, so a message reads the same whichever backend
found it (perfdsl.cohort re-exports the helpers other backends use).

Every message speaks the policy's language (perfdsl.language.policy_language, decided
once per policy and carried by the core Program as `language`): "zh" words it as a clerk
reads it aloud (`审计部：优秀 3 人，超出名额 2 人（并列者同享最后名次）`), "en" (the
default) in English."""
from __future__ import annotations

from decimal import Decimal

from .. import runtime as rt
from ..numbers import decimal_text
from . import core as c

__all__ = ["shown", "group_label", "share_basis", "quota_warnings", "quota_rule", "quota_text", "bound_text",
           "unbounded_text", "infeasible", "not_constant", "tie_problem", "tie_keys", "distribute_cut", "group_problem",
           "short_warning", "count_warnings"]


def shown(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return decimal_text(v) if isinstance(v, Decimal) else str(v)


_ROUNDED = {"half_up": "rounded half up", "half_even": "rounded half even", "floor": "rounded down", "ceil": "rounded up"}
_ROUNDED_ZH = {"half_up": "四舍五入", "half_even": "四舍六入五成双", "floor": "向下取整", "ceil": "向上取整"}


def _zh(lang: str) -> bool:
    return lang == "zh"


def _part_zh(field: str, value) -> str:
    """A group's value as a clerk names it (`审计部`); a number or flag keeps its field (`level=3`)."""
    return value if isinstance(value, str) and value else f"{field}={shown(value)}"


def group_label(field, value, lang: str = "en") -> str:
    """How a group is named in warnings and problems: `group dept=A`, `the whole cohort`
    (Chinese: `审计部`, `全体人员`)."""
    if _zh(lang):
        if field is None:
            return "全体人员"
        if isinstance(field, str):
            return _part_zh(field, value)
        return "、".join(_part_zh(f, v) for f, v in zip(field, value))
    if field is None:
        return "the whole cohort"
    if isinstance(field, str):
        return f"group {field}={shown(value)}"
    return "group " + ", ".join(f"{f}={shown(v)}" for f, v in zip(field, value))


def group_problem(label: str, text: str, lang: str = "en") -> str:
    """A problem of one group whose text is someone else's (a `when` that failed)."""
    return f"{label}：{text}" if _zh(lang) else f"{label}: {text}"


def _share_text(share) -> str:
    return f"{shown(rt.CONTEXT.multiply(share.value, Decimal(100)))}%" if share.percent else shown(share.value)


def _basis(shares: list, n: int, rounding: str, lang: str) -> str | None:
    """The inside of share_basis's parentheses, None for plain counts."""
    if not any(s is not None and s.percent for s in shares):
        return None
    if _zh(lang):
        return f"{n} 人的 {'～'.join(_share_text(s) if s else '' for s in shares)}，{_ROUNDED_ZH[rounding]}"
    return f"{'..'.join(_share_text(s) if s else '' for s in shares)} of {n}, {_ROUNDED[rounding]}"


def share_basis(shares: list, n: int, rounding: str, lang: str = "en") -> str:
    """Where counts came from, e.g. ` (10%..20% of 10, rounded half up)` (Chinese:
    `（10 人的 10%～20%，四舍五入）`); empty for plain counts.
    `shares`: HeadCounts or IR Shares (value, percent), None where a bound is not written."""
    basis = _basis(shares, n, rounding, lang)
    if basis is None:
        return ""
    return f"（{basis}）" if _zh(lang) else f" ({basis})"


_QUOTA_WARNINGS = {  # over (with why), why: vetoed / tied, short
    "en": ("{label}: {kept} keep {tier}, above the quota's {hi} ({why})",
           "vetoed subjects keep their tier", "tied subjects share the last place",
           "{label}: only {kept} hold {tier}, short of the quota's minimum {lo} (a quota never promotes)"),
    "zh": ("{label}：{tier} {kept} 人，超出名额 {hi} 人（{why}）",
           "经否决定等次者保留其等次", "并列者同享最后名次",
           "{label}：{tier}仅 {kept} 人，不足名额下限 {lo} 人（名额只降不升，不会补足）"),
}


def quota_warnings(label: str, tier: str, kept: int, pinned: int, lo: int, hi: int, lang: str = "en") -> list[str]:
    """What a group's final count under a quota is worth a warning (every backend says it so)."""
    over, vetoed, tied, short = _QUOTA_WARNINGS["zh" if _zh(lang) else "en"]
    out = []
    if kept > hi:
        out.append(over.format(label=label, kept=kept, tier=tier, hi=hi, why=vetoed if pinned > hi else tied))
    if kept < lo:
        out.append(short.format(label=label, kept=kept, tier=tier, lo=lo))
    return out


def quota_text(tier: str, lo: int, hi: int, has_lo: bool, shares: list, n: int, rounding: str, lang: str = "en") -> str:
    """A quota as it names itself at a tie: `quota 先进 at most 2 (25% of 7, rounded half up)`
    (Chinese: `先进名额至多 2 人（7 人的 25%，四舍五入）`)."""
    if _zh(lang):
        bound = f" {lo}～{hi} 人" if has_lo else f"至多 {hi} 人"
        return f"{tier}名额{bound}{share_basis(shares, n, rounding, lang)}"
    bound = f"{lo}..{hi}" if has_lo else f"at most {hi}"
    return f"quota {tier} {bound}{share_basis(shares, n, rounding, lang)}"


def quota_rule(q: c.Quota, tier: str, lo: int, hi: int, n: int, lang: str = "en") -> str:
    """How a core quota names itself at a tie (quota_text)."""
    shares = [q.lo, q.hi] if q.lo is not None else [q.hi]
    return quota_text(tier, lo, hi, q.lo is not None, shares, n, q.rounding.value, lang)


def distribute_cut(tier: str, k: int, lang: str = "en") -> str:
    """The cut of one tier of `distribute`, as a tie problem names it."""
    return f"强制分布中{tier}应取 {k} 人" if _zh(lang) else f"distribute {tier} (takes {k})"


def bound_text(b: c.TierBounds, lo: int, hi: int, n: int, line: int | None, lang: str = "en") -> str:
    """A tier's bounds in a group as an infeasibility problem words them."""
    if _zh(lang):
        notes = [x for x in (_basis([b.lo, b.hi], n, b.lo.rounding.value, lang),
                             f"依第 {line} 行的 `when`" if line is not None else None) if x]
        return (f"{lo} 人" if lo == hi else f"{lo}～{hi} 人") + (f"（{'；'.join(notes)}）" if notes else "")
    because = f" by `when` on line {line}" if line is not None else ""
    return f"{lo}..{hi}{share_basis([b.lo, b.hi], n, b.lo.rounding.value)}{because}"


def unbounded_text(n: int, lang: str = "en") -> str:
    return f"0～{n} 人（不限）" if _zh(lang) else f"0..{n} (unbounded)"


def infeasible(label: str, n: int, lo: list[int], hi: list[int], names, texts: list[str], lang: str = "en") -> str:
    if _zh(lang):
        each = "；".join(f"{t} {texts[i]}" for i, t in enumerate(names))
        return (f"{label}：{n} 人无法分布：各等次下限合计 {sum(lo)} 人，上限合计 {sum(hi)} 人，"
                f"怎样分布都不符合（{each}）")
    each = ", ".join(f"{t} {texts[i]}" for i, t in enumerate(names))
    return (f"{label}: cannot distribute {n} subjects: the tiers' minimums sum to {sum(lo)} and their "
            f"maximums to {sum(hi)}, so no placement fits ({each})")


def not_constant(label: str, field: str, holders: dict, lang: str = "en") -> str:
    """`holders`: each value of `field` in the group -> who holds it, in order of appearance."""
    if _zh(lang):
        return (f"{label}：`{field}` 须全组一致（强制分布的 `when` 要读取它），但各人取值不同："
                + "；".join(f"{shown(v)}（{'、'.join(who)}）" for v, who in holders.items()))
    return (f"{label}: `{field}` must be the same for the whole group (a `when` of distribute reads it), but it is "
            + "; ".join(f"{shown(v)} for {', '.join(who)}" for v, who in holders.items()))


def tie_keys(pairs, lang: str = "en") -> str:
    """The rank keys the tied subjects share: `score = 95, age = 30` (Chinese: `score = 95，age = 30`)."""
    return ("，" if _zh(lang) else ", ").join(f"{name} = {shown(value)}" for name, value in pairs)


def tie_problem(label: str, who: list[str], keys: str, what: str, inside: int, outside: int, lang: str = "en") -> str:
    if _zh(lang):
        return (f"{label}：{'、'.join(who)} 同分（{keys}），在{what}的分界处无法确定谁在名额之内："
                f"其中 {inside} 人可入选、{outside} 人不能；请增加能区分他们的排序依据，或写 `ties share`")
    return (f"{label}: {', '.join(who)} tie ({keys}) at the cut of {what}: {inside} of them would get in and "
            f"{outside} would not; add a rank key that separates them, or write `ties share`")


def short_warning(label: str, tier: str, k: int, allowed: int, lang: str = "en") -> str:
    if _zh(lang):
        return (f"{label}：{tier}应再取 {k} 人，但剩余人员中只有 {allowed} 人可评{tier}"
                "（其他人受降级或等次上限所限）")
    return (f"{label}: {tier} should take {k} more, but only {allowed} of the "
            "remaining subjects may receive it (a downgrade or limit caps the others)")


def count_warnings(label: str, names, counts: list[int], lo: list[int], hi: list[int], pins: list[int],
                   lang: str = "en") -> list[str]:
    """A tier whose final head count left its bounds (vetoed subjects or ties can push it)."""
    out = []
    for i, t in enumerate(names):
        if _zh(lang):
            vetoed = f"（其中 {pins[i]} 人经否决定等次）" if pins[i] else ""
            if counts[i] > hi[i]:
                out.append(f"{label}：{t} {counts[i]} 人{vetoed}，超出上限 {hi[i]} 人")
            elif counts[i] < lo[i]:
                out.append(f"{label}：{t} {counts[i]} 人，低于下限 {lo[i]} 人")
            continue
        vetoed = f" ({pins[i]} of them vetoed)" if pins[i] else ""
        if counts[i] > hi[i]:
            out.append(f"{label}: {t} holds {counts[i]}{vetoed}, above its maximum {hi[i]}")
        elif counts[i] < lo[i]:
            out.append(f"{label}: {t} holds {counts[i]}, below its minimum {lo[i]}")
    return out
