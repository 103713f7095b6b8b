"""Explanations of policies written with English labels (or none), in English: every
sentence of an English explanation is worded here (Chinese ones in zh.py, the same
structure): `total 98.1 ≥ 90: 优秀 by score`, `rank 3 of 10`."""
from __future__ import annotations

from decimal import Decimal

from ..numbers import decimal_text
from .terms import Term
from .words import Words, fmt, percent, room as _room

ROUNDING = {"half_up": "rounded half up", "half_even": "rounded half even", "floor": "rounded down",
            "ceil": "rounded up"}


def _nth(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


class English(Words):
    language = "en"
    yes, no = "yes", "no"
    holds, fails = " (holds)", " (does not hold)"
    and_, or_ = ", and ", ", or "

    # ---- term hooks -------------------------------------------------------------------------
    def group_size(self, n) -> str:
        return f"group size {fmt(n)}"

    def group(self, g) -> str:
        if not g.fields:
            return "the whole cohort"
        return "group " + ", ".join(f"{f} = {fmt(v)}" for f, v in zip(g.fields, g.values))

    def rank(self, t: Term) -> str:
        rank, n, group = t.facts
        where = "" if not group.fields else f" in {self.group(group)}"
        if t.op == "rank_from_bottom":
            return f"{_nth(n + 1 - rank)} from the bottom of {n}{where}"
        return f"rank {rank} of {n}{where}"

    def aggregate(self, t: Term, named: bool) -> str:
        (group,) = t.facts
        what = "number with" if t.op == "count" else t.op + " of"
        return f"{what} {self.shape(t.args[0])} in {self.group(group)} {fmt(t.value)}"

    def choice(self, t: Term, named: bool, result: str) -> str:
        cond, taken = t.args
        shown = self.term(taken, named)
        if not taken.simple:
            shown += f" = {self.rounded(taken) or result}"
        return f"{self.condition(cond, named)}, so {shown}"

    def negation(self, text: str, value) -> str:
        return f"not ({text}){self.truth(value)}"

    # ---- helpers ----------------------------------------------------------------------------
    def order(self, keys) -> str:
        return "ranked by " + ", then ".join(f"{self.named(k)} {'desc' if desc else 'asc'}" for k, desc in keys)

    def heads(self, share: Decimal | None, n: int, count: int, rounding: str) -> str:
        if share is None:
            return f"{count}"
        product = share * n
        calc = f"{percent(share)} of {n} = {decimal_text(product)}"
        return calc if product == count else f"{calc}, {ROUNDING[rounding]} to {count}"

    def bound(self, b, n: int, rounding: str) -> str:
        if not b.bounded:
            return "any number"
        shares = ""
        if b.lo_share is not None or b.hi_share is not None:
            lo = percent(b.lo_share) if b.lo_share is not None else str(b.lo)
            hi = percent(b.hi_share) if b.hi_share is not None else str(b.hi)
            shares = f" ({lo}" + ("" if lo == hi else f"..{hi}") + f" of {n})"
        if not b.has_lo:
            return f"at most {b.hi}{shares}"
        return (f"{b.lo}" if b.lo == b.hi else f"{b.lo}..{b.hi}") + shares

    # ---- steps ------------------------------------------------------------------------------
    def text(self, s) -> str:
        return getattr(self, "s_" + s.kind)(s, s.facts)

    def s_subject(self, s, f) -> str:
        head = f"{f['policy_label']} ({f['policy']})" if f["policy_label"] else f["policy"]
        return f"{head} — {self.title(s.name, s.label)} = {self.value(s.value)}" if s.name else head

    def s_indicator(self, s, f) -> str:
        extra = f" (weight {percent(f['weight'])})" if f["weight"] is not None else ""
        extra += f" (max {fmt(f['max'])})" if f["max"] is not None else ""
        return f"{self.title(s.name, s.label)} = {self.value(s.value)}{extra}"

    def s_base(self, s, f) -> str:
        t = f["term"]
        return f"base {self.value(s.value)}" if t.kind == "num" else f"base {self.formula(t, s.value)}"

    def s_adjust(self, s, f) -> str:
        moved, uncapped = f["moved"], f["uncapped"]
        calc = ""
        if f["per"] is not None:
            calc = f"{self.term(f['amount'], False, 2)} × {self.term(f['per'], False, 2)} = {fmt(uncapped or moved)}, "
        if uncapped is not None:
            calc += f"up to {fmt(f['cap'])}, "
        op = "+" if f["sign"] > 0 else "−"
        reason = self.said(f["reason"]) or ("add" if f["sign"] > 0 else "deduct")
        cond = f["cond"]
        why = f" ({self.condition(cond)})" if cond is not None and cond.kind != "ref" else ""
        return f"{reason}{why}: {calc}{fmt(f['before'])} {op} {fmt(moved)} = {self.value(s.value)}"

    def s_bound(self, s, f) -> str:
        kind = f["bound"]
        limit = f"{fmt(f['lo'])}..{fmt(f['hi'])}" if kind == "clamp" else fmt(f["hi"] if kind == "cap" else f["lo"])
        return f"{kind} {limit}: {fmt(f['before'])} becomes {self.value(s.value)}"

    def s_formula(self, s, f) -> str:
        return self.formula(f["term"], s.value, name=s.name)

    def s_term(self, s, f) -> str:
        return ("minus " if f["sign"] == "-" else "") + self.formula(f["term"], s.value, lead=True)

    def s_sum(self, s, f) -> str:
        parts = [(("" if i == 0 else " + ") if sign == "+" else (" − " if i else "−")) + fmt(v)
                 for i, (sign, v) in enumerate(f["parts"])]
        return f"sum {''.join(parts)} = {self.of(s.name, s.value)}"

    def s_let(self, s, f) -> str:
        return f"{self.title(s.name, s.label)} = {self.of(s.name, s.value)}"

    s_score = s_outcome = s_tiers = s_let

    def s_band(self, s, f) -> str:
        by = self.term(f["by"]) if f["by"].kind == "ref" else f"{self.term(f['by'])} = {fmt(f['by'].value)}"
        if f["threshold"] is not None:
            op = "<" if f["ascending"] else "≥"
            return f"{by} {op} {fmt(f['threshold'])}: {f['tier']} by score"
        if f["previous"] is None:
            return f"{f['tier']} by score"
        op = "≥" if f["ascending"] else "<"
        return f"{by} {op} {fmt(f['previous'])}: {f['tier']} by score"

    def _rule(self, s, f, what: str) -> str:
        cond = f["cond"]
        why = f" ({self.condition(cond)})" if cond is not None and cond.kind != "ref" else ""
        return f"{what} ({self.said(f['reason'])}){why}" if f["reason"] else f"{what}{why}"

    def s_downgrade(self, s, f) -> str:
        head = self._rule(s, f, "downgrade")
        if not f["changed"]:
            return f"{head}; already the last tier, {f['before']}: unchanged"
        steps = "" if f["reason"] else f" by {f['steps']}"
        return f"{head}{steps}: {f['before']} → {f['after']}"

    def s_limit(self, s, f) -> str:
        head = self._rule(s, f, "limit")
        if not f["changed"]:
            return f"{head}; at most {f['limit']}, and {f['before']} already is: unchanged"
        return f"{head}; at most {f['limit']}: {f['before']} → {f['after']}"

    def s_veto(self, s, f) -> str:
        head = self._rule(s, f, "veto")
        if f["before"] == f["after"]:
            return f"{head}: {f['after']}"
        return f"{head}: {f['before']} → {f['after']}"

    def s_quota(self, s, f) -> str:
        d = f["decision"]
        g = d.group
        n = g.group.size
        b = g.bound
        basis = f" ({self.heads(b.hi_share, n, b.hi, g.rounding)})" if b.hi_share is not None else ""
        bound = f"at most {b.hi}" if not b.has_lo else f"{b.lo}..{b.hi}"
        head = f"quota: {bound} of the {n} in {self.group(g.group)} may hold {g.tier}{basis}"
        if d.outcome == "other":
            return f"{head}; this one holds {f['before']}: not affected"
        rank = f"{self.order(g.rank_keys)}: rank {d.rank} of {n}"
        if d.outcome == "vetoed":
            return f"{head}; vetoed into {g.tier}: kept, and counted"
        places = b.hi - g.pinned
        pinned = f" ({g.pinned} vetoed into {g.tier} take places)" if g.pinned else ""
        holders = f"{max(places, 0)} of the {g.holders - g.pinned} holding {g.tier} keep it{pinned}"
        if d.outcome == "kept":
            return f"{head}; {rank}; {holders}; this one is {_nth(d.place)}: keeps {g.tier}"
        return f"{head}; {rank}; {holders}; this one is {_nth(d.place)}, beyond the quota: {g.tier} → {g.next_tier}"

    def s_distribute(self, s, f) -> str:
        d = f["decision"]
        g = d.group
        return (f"distribute: {g.group.size} in {self.group(g.group)}, {self.order(g.rank_keys)}: "
                f"rank {d.rank} of {g.group.size}; {g.names[d.individual]} on its own")

    def s_when(self, s, f) -> str:
        tiers = ", ".join(f"{t} {self.bound(b, f['size'], 'half_up')}" for t, b in f["tiers"])
        return f"as {self.condition(f['term'])}: {tiers}"

    def s_bounds(self, s, f) -> str:
        g = f["group"]
        each = ", ".join(f"{t} {self.bound(b, g.group.size, g.rounding)}" for t, b in zip(g.names, g.bounds))
        rounding = any(b.lo_share is not None or b.hi_share is not None for b in g.bounds)
        return f"head counts ({ROUNDING[g.rounding]}): {each}" if rounding else f"head counts: {each}"

    def s_pinned(self, s, f) -> str:
        g = f["group"]
        pins = ", ".join(f"{t} {p}" for t, p in zip(g.names, g.pins) if p)
        free = g.group.size - sum(g.pins)
        if f["pinned"]:
            return f"the vetoed are placed first ({pins}); this one is vetoed into {f['tier']} and not distributed"
        return f"the vetoed are placed first ({pins}); the other {free} are distributed"

    def s_cut(self, s, f) -> str:
        st, tier = f["step"], f["tier"]
        hi = max(st.hi, 0)
        rule = f"at least {st.lo}, at most {hi}" + (", the least wins" if st.lo > hi else "")
        if st.k < min(st.lo, st.rem + 1) and st.k == st.rem:
            rule += f", but only {st.rem} left"
        room = _room(f["group"], st)
        if room[0]:
            rule += f"; {room[0]} must be left for the tiers below"
        if room[1]:
            rule += f"; the tiers below hold at most {room[1]}"
        took = f"takes {st.k}" + (f" (ties share: {st.took})" if st.took != st.k else "")
        head = f"{tier}: {st.rem} left, {st.q} of them {tier} or better on their own; {took} ({rule})"
        if f["position"] is None:
            return f"{head}; this one may receive at most {f['ceiling']}"
        among = "of those left" if st.allowed == st.rem else f"of the {st.allowed} who may receive {tier}"
        verdict = f"placed in {tier}" if f["placed"] else "not taken"
        return f"{head}; this one is {_nth(f['position'])} {among}: {verdict}"

    def s_placed(self, s, f) -> str:
        rest = f"the rest are placed in {f['placed']}; " if f["rest"] else ""
        if f["individual"] == f["placed"]:
            return f"{rest}finally {f['placed']}, as on its own"
        return f"{rest}{f['individual']} → {f['placed']}"

    def s_flag(self, s, f) -> str:
        if f.get("cohort"):
            return f"flag \"{self.said(s.label)}\": needs the cohort's ranks or group values; not decided for one subject"
        if "term" not in f:
            return f"flag \"{self.said(s.label)}\": {self.value(s.value)}"
        return f"flag \"{self.said(s.label)}\": {self.value(s.value)} ({self.condition(f['term'])})"

    def s_flags(self, s, f) -> str:
        return "flags: " + ("; ".join(fmt(x) for x in s.value) if s.value else "none")
