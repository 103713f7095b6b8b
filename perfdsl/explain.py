"""Render a Result's trace for people: every point and every tier change, with reasons.

Written in the policy's own language: Chinese wording when the policy's labels are
Chinese, English otherwise. Numbers are printed exactly, without exponent.
"""
from __future__ import annotations

from decimal import Decimal

from .io import terminal_text
from .numbers import decimal_text

_ZH = {
    "base": "基础分", "weight": "权重", "value": "得分", "tier": "等次", "band": "按分数",
    "downgrade": "降级", "limit": "限制", "veto": "否决", "quota": "名额", "distribute": "分布",
    "flags": "标记", "none": "无", "clamp": "限定", "cap": "封顶", "floor": "保底", "up_to": "上限",
    "line": "行", "add": "加", "deduct": "扣",
}
_EN = {
    "base": "base", "weight": "weight", "value": "value", "tier": "tier", "band": "by score",
    "downgrade": "downgrade", "limit": "limit", "veto": "veto", "quota": "quota", "distribute": "distribute",
    "flags": "flags", "none": "none", "clamp": "clamp", "cap": "cap", "floor": "floor", "up_to": "up to",
    "line": "line", "add": "add", "deduct": "deduct",
}


def _is_chinese(text: str | None) -> bool:
    return bool(text) and any("\u4e00" <= ch <= "\u9fff" for ch in text)


def words_for(policy) -> dict:
    labels = [policy.label] + [d.label for d in policy.definitions] + [i.label for i in policy.inputs]
    return _ZH if any(_is_chinese(x) for x in labels) else _EN


def fmt(v) -> str:
    """A value as an explanation shows it; text from data with its control characters,
    line breaks and bidi controls escaped (io.terminal_text), so a key cannot forge a
    line of the explanation or send escape sequences to the terminal that prints it."""
    if isinstance(v, str):
        return terminal_text(v)
    if isinstance(v, Decimal):
        return decimal_text(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, tuple):
        return "[" + ", ".join(fmt(x) for x in v) + "]"
    return str(v)


def _signed(v: Decimal) -> str:
    return ("+" if v >= 0 else "−") + fmt(abs(v))


def _title(name: str, label: str | None) -> str:
    return f"{label} ({name})" if label else name


def render(result) -> str:
    policy = result.policy.ir if hasattr(result.policy, "ir") else result.policy
    w = words_for(policy)
    head = _title(policy.name, policy.label)
    if policy.key:
        head += f" — {policy.key} = {fmt(result.record.get(policy.key))}"
    lines = [head]
    trace = result.trace
    traced = {it.name: it for it in trace.indicators} if trace else {}
    tiers = {t.name: t for t in trace.tiers} if trace else {}
    defs = {d.name: d for d in policy.definitions}
    for d in (defs[n] for n in policy.output_names()):
        value = result.values.get(d.name)
        if d.name in traced:
            lines += _indicator(traced[d.name], w)
        elif d.name in tiers:
            lines += _tier(tiers[d.name], value, w)
        elif d.name in result.values:
            lines.append(f"{_title(d.name, d.label)} = {fmt(value)}")
    for note in result.cohort_notes:
        lines.append(f"  {note}")
    lines.append(f"{w['flags']}: " + ("; ".join(result.flags) if result.flags else w["none"]))
    return "\n".join(lines)


def _indicator(it, w) -> list[str]:
    weight = f"  {w['weight']} {fmt(it.weight * 100)}%" if it.weight is not None else ""
    out = [f"{_title(it.name, it.label)}{weight}"]
    if it.base is not None:
        out.append(f"  {w['base']} {fmt(it.base)}")
    for s in it.steps:
        moved = s.amount if s.sign > 0 else -s.amount
        reason = s.reason or (w["add"] if s.sign > 0 else w["deduct"])
        capped = f" ({w['up_to']} {fmt(s.amount)}, {fmt(s.uncapped)} → {fmt(s.amount)})" if s.uncapped is not None else ""
        out.append(f"  {reason}: {_signed(moved)}{capped}")
    for b in it.bounds:
        out.append(f"  {w[b.kind]}: {fmt(b.before)} → {fmt(b.after)}")
    out.append(f"  = {fmt(it.value)}")
    return out


def _tier(tt, final, w) -> list[str]:
    out = [f"{_title(tt.name, tt.label)} = {fmt(final)}"]
    for c in tt.changes:
        if c.kind == "band":
            out.append(f"  {w['band']} {fmt(tt.by)} → {c.after}")
            continue
        reason = f" ({c.reason})" if c.reason else ""
        detail = f"; {c.detail}" if c.detail else ""
        arrow = f"{c.before} → {c.after}" if c.before != c.after else c.after
        out.append(f"  {w[c.kind]}: {arrow}{reason}{detail}")
    return out
