"""One sentence per explanation step, in the policy's language: the one walker that words
every step kind (build.py makes the steps as data, phrases.toml holds each
language's templates), so a step is worded by one piece of logic whatever the language:
`月度考核总分 98.1 ≥ 90，按分数为优秀` / `total 98.1 ≥ 90: 优秀 by score`."""
from __future__ import annotations

from decimal import Decimal

from ..numbers import decimal_text
from .words import Words, fmt, nth, percent, room


class Sentences(Words):
    def text(self, s) -> str:
        return getattr(self, "s_" + s.kind)(s, s.facts)

    # ---- shared parts -----------------------------------------------------------------------
    def order(self, keys) -> str:
        """`ranked by score desc, then id asc` / `按 score 降序、工号升序`: a name in Latin
        letters inside Chinese text is set off by spaces (none after the separator)."""
        parts = []
        for i, (k, desc) in enumerate(keys):
            name = self.named(k)
            spaced = f"{' ' if i == 0 else ''}{name} " if name and name[-1].isascii() and name[-1].isalnum() else name
            parts.append(self.say("order_key", name=name, spaced=spaced, direction=self.p["desc" if desc else "asc"]))
        return self.say("ranked_by", keys=self.p["order_sep"].join(parts))

    def heads(self, share: Decimal | None, n: int, count: int, rounding: str) -> str:
        """How a head count came from a share of the group: `10 × 20% = 2`, `25% of 7 = 1.75, rounded half up to 2`."""
        if share is None:
            return f"{count}"
        product = share * n
        calc = self.say("share_of", share=percent(share), n=n, product=decimal_text(product))
        return calc if product == count else self.say("rounded_to", calc=calc, rounding=self.p["rounded_" + rounding],
                                                      count=count)

    def span(self, lo, hi) -> str:
        return self.say("range", lo=lo, hi=hi)

    def bound(self, b, n: int, rounding: str) -> str:
        if not b.bounded:
            return self.p["any_number"]
        shares = ""
        if b.lo_share is not None or b.hi_share is not None:
            lo = percent(b.lo_share) if b.lo_share is not None else str(b.lo)
            hi = percent(b.hi_share) if b.hi_share is not None else str(b.hi)
            shares = self.say("bound_shares", range=lo if lo == hi else self.span(lo, hi), n=n)
        if not b.has_lo:
            return self.say("at_most", hi=b.hi) + shares
        return self.say("count", count=b.lo if b.lo == b.hi else self.span(b.lo, b.hi)) + shares

    def why(self, cond) -> str:
        """A condition worth showing after a line (not a plain yes/no input)."""
        return self.paren(self.condition(cond)) if cond is not None and cond.kind != "ref" else ""

    # ---- a subject's values -----------------------------------------------------------------
    def s_subject(self, s, f) -> str:
        label = f["policy_label"]
        head = self.say("policy_labelled" if label else "policy", label=self.said(label), policy=f["policy"])
        return self.say("subject", head=head, title=self.title(s.name, s.label), value=self.value(s.value)) \
            if s.name else head

    def s_indicator(self, s, f) -> str:
        extra = self.say("weight", weight=percent(f["weight"])) if f["weight"] is not None else ""
        extra += self.say("max", max=fmt(f["max"])) if f["max"] is not None else ""
        return f"{self.title(s.name, s.label)} = {self.value(s.value)}{extra}"

    def s_base(self, s, f) -> str:
        t = f["term"]
        return self.say("base", base=self.value(s.value) if t.kind == "num" else self.formula(t, s.value))

    def s_adjust(self, s, f) -> str:
        """`工程预算方案被驳回一次扣5分：5 × 1 = 5，100 − 5 = 95`: the line's amount, then the
        value before and after it (no add/deduct of our own: a 减分 indicator adds its 扣分)."""
        moved, uncapped = f["moved"], f["uncapped"]
        calc = ""
        if f["per"] is not None:
            calc = self.say("adjust_per", amount=self.term(f["amount"], False, 2), per=self.term(f["per"], False, 2),
                            total=fmt(uncapped or moved))
        if uncapped is not None:
            calc += self.say("adjust_cap", cap=fmt(f["cap"]))
        reason = self.said(f["reason"]) or self.p["add" if f["sign"] > 0 else "deduct"]
        return self.say("adjust", reason=reason, why=self.why(f["cond"]), calc=calc, before=fmt(f["before"]),
                        op="+" if f["sign"] > 0 else "−", moved=fmt(moved), value=self.value(s.value))

    def s_bound(self, s, f) -> str:
        kind = f["bound"]
        limit = self.span(fmt(f["lo"]), fmt(f["hi"])) if kind == "clamp" else fmt(f["hi"] if kind == "cap" else f["lo"])
        return self.say("bound", kind=self.p["bound_" + kind], limit=limit, before=fmt(f["before"]),
                        value=self.value(s.value))

    def s_formula(self, s, f) -> str:
        return self.formula(f["term"], s.value, name=s.name)

    def s_term(self, s, f) -> str:
        return (self.p["minus"] if f["sign"] == "-" else "") + self.formula(f["term"], s.value, lead=True)

    def s_sum(self, s, f) -> str:
        parts = [(("" if i == 0 else " + ") if sign == "+" else (" − " if i else "−")) + fmt(v)
                 for i, (sign, v) in enumerate(f["parts"])]
        return self.say("sum", parts="".join(parts), value=self.of(s.name, s.value))

    def s_let(self, s, f) -> str:
        return f"{self.title(s.name, s.label)} = {self.of(s.name, s.value)}"

    s_score = s_outcome = s_tiers = s_let

    # ---- tiers ------------------------------------------------------------------------------
    def s_band(self, s, f) -> str:
        by = self.term(f["by"]) if f["by"].kind == "ref" else f"{self.term(f['by'])} = {fmt(f['by'].value)}"
        banded = self.say("banded", tier=f["tier"])
        if f["threshold"] is not None:
            return self.say("band", by=by, op="<" if f["ascending"] else "≥", limit=fmt(f["threshold"]), banded=banded)
        if f["previous"] is None:
            return banded
        return self.say("band", by=by, op="≥" if f["ascending"] else "<", limit=fmt(f["previous"]), banded=banded)

    def rule(self, s, f) -> str:
        what, why = self.p["rule_" + s.kind], self.why(f["cond"])
        return self.say("rule_reason", what=what, reason=self.said(f["reason"]), why=why) if f["reason"] else what + why

    def s_downgrade(self, s, f) -> str:
        head = self.rule(s, f)
        if not f["changed"]:
            return self.say("downgrade_last", head=head, before=f["before"])
        steps = "" if f["reason"] else self.say("downgrade_steps", steps=f["steps"])
        return self.say("downgrade", head=head, steps=steps, before=f["before"], after=f["after"])

    def s_limit(self, s, f) -> str:
        return self.say("limit" if f["changed"] else "limit_held", head=self.rule(s, f), limit=f["limit"],
                        before=f["before"], after=f["after"])

    def s_veto(self, s, f) -> str:
        return self.say("veto_kept" if f["before"] == f["after"] else "veto", head=self.rule(s, f),
                        before=f["before"], after=f["after"])

    def s_quota(self, s, f) -> str:
        d = f["decision"]
        g = d.group
        n = g.group.size
        b = g.bound
        basis = self.paren(self.heads(b.hi_share, n, b.hi, g.rounding)) if b.hi_share is not None else ""
        bound = self.say("at_most", hi=b.hi) if not b.has_lo else self.say("quota_between", lo=b.lo, hi=b.hi)
        head = self.say("quota", bound=bound, n=n, group=self.group(g.group), tier=g.tier, basis=basis)
        if d.outcome == "other":
            return self.say("quota_other", head=head, before=f["before"])
        if d.outcome == "vetoed":
            return self.say("quota_vetoed", head=head, tier=g.tier)
        rank = self.say("quota_rank", order=self.order(g.rank_keys), rank=d.rank, n=n)
        pinned = self.say("quota_pinned", pinned=g.pinned, tier=g.tier) if g.pinned else ""
        holders = self.say("quota_holders", places=max(b.hi - g.pinned, 0), holders=g.holders - g.pinned, tier=g.tier,
                           pinned=pinned)
        return self.say("quota_kept" if d.outcome == "kept" else "quota_moved", head=head, rank=rank, holders=holders,
                        place=d.place, nth=nth(d.place), tier=g.tier, next=g.next_tier)

    # ---- distribute -------------------------------------------------------------------------
    def s_distribute(self, s, f) -> str:
        d = f["decision"]
        g = d.group
        return self.say("distribute", size=g.group.size, group=self.group(g.group), order=self.order(g.rank_keys),
                        rank=d.rank, individual=g.names[d.individual])

    def s_when(self, s, f) -> str:
        tiers = self.p["list_sep"].join(f"{t} {self.bound(b, f['size'], 'half_up')}" for t, b in f["tiers"])
        return self.say("when", cond=self.condition(f["term"]), tiers=tiers)

    def s_bounds(self, s, f) -> str:
        g = f["group"]
        each = self.p["list_sep"].join(f"{t} {self.bound(b, g.group.size, g.rounding)}"
                                       for t, b in zip(g.names, g.bounds))
        if any(b.lo_share is not None or b.hi_share is not None for b in g.bounds):
            return self.say("bounds_rounded", rounding=self.p["rounded_" + g.rounding], each=each)
        return self.say("bounds", each=each)

    def s_pinned(self, s, f) -> str:
        g = f["group"]
        pins = self.p["list_sep"].join(f"{t} {self.say('count', count=p)}" for t, p in zip(g.names, g.pins) if p)
        return self.say("pinned_self" if f["pinned"] else "pinned", pins=pins, tier=f["tier"],
                        free=g.group.size - sum(g.pins))

    def s_cut(self, s, f) -> str:
        st, tier = f["step"], f["tier"]
        hi = max(st.hi, 0)
        rule = self.say("cut_rule", lo=st.lo, hi=hi) + (self.p["cut_least_wins"] if st.lo > hi else "")
        if st.k < min(st.lo, st.rem + 1) and st.k == st.rem:
            rule += self.say("cut_only_left", rem=st.rem)
        leave, hold = room(f["group"], st)
        if leave:
            rule += self.say("cut_leave", n=leave)
        if hold:
            rule += self.say("cut_hold", n=hold)
        took = self.say("cut_takes", k=st.k) + (self.say("cut_ties", took=st.took) if st.took != st.k else "")
        head = self.say("cut", tier=tier, rem=st.rem, q=st.q, took=took, rule=rule)
        if f["position"] is None:
            return self.say("cut_ceiling", head=head, ceiling=f["ceiling"], tier=tier)
        among = self.p["cut_among_left"] if st.allowed == st.rem else self.say("cut_among_allowed", allowed=st.allowed,
                                                                               tier=tier)
        verdict = self.say("cut_placed", tier=tier) if f["placed"] else self.p["cut_not_taken"]
        return self.say("cut_verdict", head=head, position=f["position"], nth=nth(f["position"]), among=among,
                        verdict=verdict)

    def s_placed(self, s, f) -> str:
        rest = self.say("placed_rest", placed=f["placed"]) if f["rest"] else ""
        return self.say("placed_same" if f["individual"] == f["placed"] else "placed", rest=rest,
                        placed=f["placed"], individual=f["individual"])

    # ---- flags ------------------------------------------------------------------------------
    def s_flag(self, s, f) -> str:
        if f.get("cohort"):
            said = self.p["flag_cohort"]
        else:
            said = self.value(s.value) + (self.paren(self.condition(f["term"])) if "term" in f else "")
        return self.say("flag", label=self.said(s.label), said=said)

    def s_flags(self, s, f) -> str:
        return self.say("flags", flags=self.p["flags_sep"].join(fmt(x) for x in s.value) if s.value
                        else self.p["flags_none"])
