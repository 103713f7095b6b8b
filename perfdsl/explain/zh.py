"""Explanations of policies written with Chinese labels, in Chinese: every sentence of
a Chinese explanation is worded here (the English ones in en.py, the same structure).
Read aloud, a line should sound like a clerk retracing the calculation:
`月度考核总分 98.1 ≥ 90，按分数为优秀`, `本人第 3 名（共 10 名）`."""
from __future__ import annotations

from decimal import Decimal

from ..numbers import decimal_text
from .terms import Term
from .words import Words, fmt, percent, room as _room

ROUNDING = {"half_up": "四舍五入", "half_even": "四舍六入五成双", "floor": "向下取整", "ceil": "向上取整"}
BOUND = {"clamp": "限定", "cap": "封顶", "floor": "保底"}


class Chinese(Words):
    language = "zh"
    yes, no = "是", "否"
    holds, fails = " 成立", " 不成立"
    and_, or_ = "，且 ", "，或 "
    quote = ("“", "”")

    # ---- term hooks -------------------------------------------------------------------------
    def group_size(self, n) -> str:
        return f"本组人数 {fmt(n)}"

    def group(self, g) -> str:
        if not g.fields:
            return "全体"
        return "、".join(fmt(v) for v in g.values) + "组"

    def rank(self, t: Term) -> str:
        rank, n, group = t.facts
        where = "" if not group.fields else f"{self.group(group)}内"
        if t.op == "rank_from_bottom":
            return f"{where}倒数第 {n + 1 - rank} 名（共 {n} 名）"
        return f"{where}第 {rank} 名（共 {n} 名）"

    def aggregate(self, t: Term, named: bool) -> str:
        (group,) = t.facts
        what = {"mean": "平均值", "sum": "合计", "min": "最低值", "max": "最高值", "count": "人数"}[t.op]
        return f"{self.group(group)} {self.shape(t.args[0])} 的{what} {fmt(t.value)}"

    def choice(self, t: Term, named: bool, result: str) -> str:
        cond, taken = t.args
        shown = self.term(taken, named)
        if not taken.simple:
            shown += f" = {self.rounded(taken) or result}"
        return f"{self.condition(cond, named)}，取 {shown}"

    def negation(self, text: str, value) -> str:
        return f"并非（{text}）{self.truth(value)}"

    # ---- helpers ----------------------------------------------------------------------------
    def order(self, keys) -> str:
        return ("按" + "、".join(f"{_spaced(self.named(k))}{'降序' if desc else '升序'}" for k, desc in keys)).replace("、 ", "、")

    def heads(self, share: Decimal | None, n: int, count: int, rounding: str) -> str:
        """How a head count came from a share of the group: `7 × 25% = 1.75，四舍五入为 2`."""
        if share is None:
            return f"{count}"
        product = share * n
        calc = f"{n} × {percent(share)} = {decimal_text(product)}"
        return calc if product == count else f"{calc}，{ROUNDING[rounding]}为 {count}"

    def bound(self, b, n: int, rounding: str) -> str:
        if not b.bounded:
            return "不限人数"
        shares = ""
        if b.lo_share is not None or b.hi_share is not None:
            lo = percent(b.lo_share) if b.lo_share is not None else str(b.lo)
            hi = percent(b.hi_share) if b.hi_share is not None else str(b.hi)
            shares = f"（{n} 名的 {lo}" + ("" if lo == hi else f"～{hi}") + "）"
        if not b.has_lo:
            return f"至多 {b.hi} 名{shares}"
        return (f"{b.lo} 名" if b.lo == b.hi else f"{b.lo}～{b.hi} 名") + shares

    # ---- steps ------------------------------------------------------------------------------
    def text(self, s) -> str:
        return getattr(self, "s_" + s.kind)(s, s.facts)

    def s_subject(self, s, f) -> str:
        head = self.title(f["policy"], f["policy_label"])
        return f"{head}：{self.title(s.name, s.label)} {self.value(s.value)}" if s.name else head

    def s_indicator(self, s, f) -> str:
        extra = f"（权重 {percent(f['weight'])}）" if f["weight"] is not None else ""
        extra += f"（满分 {fmt(f['max'])}）" if f["max"] is not None else ""
        return f"{self.title(s.name, s.label)} = {self.value(s.value)}{extra}"

    def s_base(self, s, f) -> str:
        t = f["term"]
        return f"基础分 {self.value(s.value)}" if t.kind == "num" else f"基础分 {self.formula(t, s.value)}"

    def s_adjust(self, s, f) -> str:
        """`工程预算方案被驳回一次扣5分：5 × 1 = 5，100 − 5 = 95`: the line's amount, then
        the value before and after it (no 加/扣 of our own: a 减分 indicator adds its 扣分)."""
        moved, uncapped = f["moved"], f["uncapped"]
        calc = ""
        if f["per"] is not None:
            calc = f"{self.term(f['amount'], False, 2)} × {self.term(f['per'], False, 2)} = {fmt(uncapped or moved)}，"
        if uncapped is not None:
            calc += f"上限 {fmt(f['cap'])}，"
        op = "+" if f["sign"] > 0 else "−"
        reason = self.said(f["reason"]) or ("加分" if f["sign"] > 0 else "扣分")
        cond = f["cond"]
        why = f"（{self.condition(cond)}）" if cond is not None and cond.kind != "ref" else ""
        return f"{reason}{why}：{calc}{fmt(f['before'])} {op} {fmt(moved)} = {self.value(s.value)}"

    def s_bound(self, s, f) -> str:
        kind = f["bound"]
        limit = f"{fmt(f['lo'])}～{fmt(f['hi'])}" if kind == "clamp" else fmt(f["hi"] if kind == "cap" else f["lo"])
        return f"{BOUND[kind]} {limit}：{fmt(f['before'])} 调整为 {self.value(s.value)}"

    def s_formula(self, s, f) -> str:
        return self.formula(f["term"], s.value, name=s.name)

    def s_term(self, s, f) -> str:
        return ("减去 " if f["sign"] == "-" else "") + self.formula(f["term"], s.value, lead=True)

    def s_sum(self, s, f) -> str:
        parts = [(("" if i == 0 else " + ") if sign == "+" else (" − " if i else "−")) + fmt(v)
                 for i, (sign, v) in enumerate(f["parts"])]
        return f"合计 {''.join(parts)} = {self.of(s.name, s.value)}"

    def s_let(self, s, f) -> str:
        return f"{self.title(s.name, s.label)} = {self.of(s.name, s.value)}"

    s_score = s_outcome = s_tiers = s_let

    def s_band(self, s, f) -> str:
        by = self.term(f["by"]) if f["by"].kind == "ref" else f"{self.term(f['by'])} = {fmt(f['by'].value)}"
        if f["threshold"] is not None:
            op = "<" if f["ascending"] else "≥"
            return f"{by} {op} {fmt(f['threshold'])}，按分数为{f['tier']}"
        if f["previous"] is None:
            return f"按分数为{f['tier']}"
        op = "≥" if f["ascending"] else "<"
        return f"{by} {op} {fmt(f['previous'])}，按分数为{f['tier']}"

    def _rule(self, s, f, what: str) -> str:
        cond = f["cond"]
        why = f"（{self.condition(cond)}）" if cond is not None and cond.kind != "ref" else ""
        return f"{what}：{self.said(f['reason'])}{why}" if f["reason"] else f"{what}{why}"

    def s_downgrade(self, s, f) -> str:
        head = self._rule(s, f, "降级")
        if not f["changed"]:
            return f"{head}，已是最低等次{f['before']}，不变"
        steps = "" if f["reason"] else f"，降低 {f['steps']} 个等次"
        return f"{head}{steps}，由{f['before']}降为{f['after']}"

    def s_limit(self, s, f) -> str:
        head = self._rule(s, f, "限制")
        if not f["changed"]:
            return f"{head}，至多{f['limit']}，现为{f['before']}，不变"
        return f"{head}，至多{f['limit']}，由{f['before']}降为{f['after']}"

    def s_veto(self, s, f) -> str:
        head = self._rule(s, f, "否决")
        if f["before"] == f["after"]:
            return f"{head}，定为{f['after']}"
        return f"{head}，定为{f['after']}（原为{f['before']}）"

    def s_quota(self, s, f) -> str:
        d = f["decision"]
        g = d.group
        n = g.group.size
        b = g.bound
        basis = f"（{self.heads(b.hi_share, n, b.hi, g.rounding)}）" if b.hi_share is not None else ""
        bound = f"至多 {b.hi} 名" if not b.has_lo else f" {b.lo}～{b.hi} 名"
        head = f"名额：{self.group(g.group)} {n} 名中{g.tier}{bound}{basis}"
        if d.outcome == "other":
            return f"{head}；本人为{f['before']}，不受此名额影响"
        rank = f"{self.order(g.rank_keys)}，本人第 {d.rank} 名（共 {n} 名）"
        if d.outcome == "vetoed":
            return f"{head}；本人经否决定为{g.tier}，保留并占用名额"
        places = b.hi - g.pinned
        pinned = f"（另有 {g.pinned} 名经否决定为{g.tier}，占用名额）" if g.pinned else ""
        holders = f"个人等次为{g.tier}的 {g.holders - g.pinned} 名中可保留 {max(places, 0)} 名{pinned}"
        if d.outcome == "kept":
            return f"{head}；{rank}；{holders}，本人排第 {d.place} 位，保留{g.tier}"
        return f"{head}；{rank}；{holders}，本人排第 {d.place} 位，超出名额，由{g.tier}降为{g.next_tier}"

    def s_distribute(self, s, f) -> str:
        d = f["decision"]
        g = d.group
        return (f"强制分布：{self.group(g.group)}共 {g.group.size} 名，{self.order(g.rank_keys)}，"
                f"本人第 {d.rank} 名（共 {g.group.size} 名），个人等次为{g.names[d.individual]}")

    def s_when(self, s, f) -> str:
        tiers = "、".join(f"{t} {self.bound(b, f['size'], 'half_up')}" for t, b in f["tiers"])
        return f"因{self.condition(f['term'])}：{tiers}"

    def s_bounds(self, s, f) -> str:
        g = f["group"]
        each = "、".join(f"{t} {self.bound(b, g.group.size, g.rounding)}" for t, b in zip(g.names, g.bounds))
        rounding = ROUNDING[g.rounding] if any(b.lo_share is not None or b.hi_share is not None for b in g.bounds) else ""
        return f"各等次人数（{rounding}）：{each}" if rounding else f"各等次人数：{each}"

    def s_pinned(self, s, f) -> str:
        g = f["group"]
        pins = "、".join(f"{t} {p} 名" for t, p in zip(g.names, g.pins) if p)
        free = g.group.size - sum(g.pins)
        if f["pinned"]:
            return f"经否决的先定等次（{pins}），本人经否决定为{f['tier']}，不参与分布"
        return f"经否决的先定等次（{pins}），其余 {free} 名参与分布"

    def s_cut(self, s, f) -> str:
        st, tier = f["step"], f["tier"]
        hi = max(st.hi, 0)
        rule = f"至少 {st.lo} 名，至多 {hi} 名" + ("，以至少为准" if st.lo > hi else "")
        if st.k < min(st.lo, st.rem + 1) and st.k == st.rem:
            rule += f"，但只剩 {st.rem} 名"
        room = _room(f["group"], st)
        if room[0]:
            rule += f"，须为后面的等次留出 {room[0]} 名"
        if room[1]:
            rule += f"，后面的等次至多容纳 {room[1]} 名"
        took = f"取 {st.k} 名" + (f"（并列共享，实取 {st.took} 名）" if st.took != st.k else "")
        head = f"{tier}：剩余 {st.rem} 名，个人等次达到{tier}的 {st.q} 名，{took}（{rule}）"
        if f["position"] is None:
            return f"{head}；本人至多{f['ceiling']}，不参加{tier}的评定"
        among = "剩余人员中" if st.allowed == st.rem else f"可评{tier}的 {st.allowed} 名中"
        verdict = f"评为{tier}" if f["placed"] else "未入选"
        return f"{head}；本人在{among}排第 {f['position']} 位，{verdict}"

    def s_placed(self, s, f) -> str:
        rest = f"其余人员定为{f['placed']}；" if f["rest"] else ""
        if f["individual"] == f["placed"]:
            return f"{rest}最终为{f['placed']}，与个人等次相同"
        return f"{rest}由{f['individual']}调整为{f['placed']}"

    def s_flag(self, s, f) -> str:
        if f.get("cohort"):
            return f"标记「{self.said(s.label)}」：需按全体排名或分组统计判断，单独计算时不判断"
        if "term" not in f:
            return f"标记「{self.said(s.label)}」：{self.value(s.value)}"
        return f"标记「{self.said(s.label)}」：{self.value(s.value)}（{self.condition(f['term'])}）"

    def s_flags(self, s, f) -> str:
        return "标记：" + ("；".join(fmt(x) for x in s.value) if s.value else "无")


def _spaced(name: str) -> str:
    """A name in Latin letters set off by spaces inside Chinese text (`按 score 降序`)."""
    return f" {name} " if name and name[-1].isascii() and name[-1].isalnum() else name
