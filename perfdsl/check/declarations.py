"""Declarations: settings, inputs, tier sets and which tier set each rule acts on.

Everything here is read straight from the items, before any expression is typed.
"""
from __future__ import annotations

from decimal import Decimal

from ..diagnostics import Note, did_you_mean
from ..ir import BOOL, NUM, TEXT, InputDef, Interval, RankKeyIR, RankOrder, group_fields, list_type, tier_type
from ..syntax import ast as A
from .types import interval_of_range

PERIODS = {"monthly", "quarterly", "half_yearly", "annual", "月度", "季度", "半年", "年度"}


class Declarations:
    def __init__(self, program, names: dict):
        self.program = program
        items = program.items
        self.key = self.period = None
        self.scale = Interval(Decimal(0), Decimal(100))
        self.rank: RankOrder | None = None
        self.tier_sets: dict[str, tuple[str, ...]] = {}
        self.rules_of: dict[str, list] = {}
        self.rule_tier: dict[int, int] = {}  # id(rule AST) -> tier index it names
        self.examples = [i for i in items if isinstance(i, A.Example)]
        self.defaults = self._defaults([i for i in items if isinstance(i, A.ExampleDefaults)])
        self.props = [i for i in items if isinstance(i, (A.Property, A.Monotone))]
        self.quotas = [i for i in items if isinstance(i, A.Quota)]
        self.distributes = [i for i in items if isinstance(i, A.Distribute)]
        self.flags = [i for i in items if isinstance(i, A.Flag)]
        self._tiers(items)
        self.inputs: dict[str, InputDef] = {}
        for item in items:
            if isinstance(item, A.Input) and names.get(item.name) is item:
                inp = self._input(item)
                if inp is not None:
                    self.inputs[item.name] = inp
        self._settings(items)
        self._rules(items)
        # indicator -> (weight, where it is written) and indicator -> `max N`: what
        # `weighted(...)` and `sum(...)` of indicators check against
        own = [i for i in items if isinstance(i, A.Indicator) and names.get(i.name) is i]
        self.weights = {i.name: (i.weight.value, i.weight.span) for i in own if i.weight is not None}
        self.maxima = {i.name: i.max.value for i in own if i.max is not None}

    def _defaults(self, found: list) -> "A.ExampleDefaults | None":
        """`example defaults`: at most one per policy; it gives values, never expectations."""
        for extra in found[1:]:
            self.program.error("PD017", extra.span, "a policy has at most one `example defaults`",
                               "merge the two `given` lists into one", [Note(found[0].span, "the first is here")])
        for x in (found[0].expect if found else ()):
            self.program.error("PD017", x.span, "`example defaults` gives values only",
                               "write expectations in the examples themselves")
        return found[0] if found else None

    # ---- settings ------------------------------------------------------------------
    def _settings(self, items) -> None:
        seen = {}
        for item in items:
            if not isinstance(item, (A.KeySetting, A.PeriodSetting, A.ScaleSetting, A.RankSetting)):
                continue
            kind = type(item).__name__
            if kind in seen:
                self.program.error("PD004", item.span, "this setting is given twice",
                                   notes=[Note(seen[kind].span, "first given here")])
                continue
            seen[kind] = item
            if isinstance(item, A.KeySetting):
                if item.name not in self.inputs:
                    self.program.error("PD002", item.span, f"key `{item.name}` is not an input", did_you_mean(item.name, self.inputs))
                else:
                    self.key = item.name
            elif isinstance(item, A.PeriodSetting):
                if item.name not in PERIODS:
                    self.program.error("PD027", item.span, f"unknown period `{item.name}`", "monthly, quarterly, half_yearly or annual")
                self.period = item.name
            elif isinstance(item, A.ScaleSetting):
                self.scale = interval_of_range(item.range)
            else:
                self.rank = self.rank_order(item.rank)

    def rank_order(self, spec: A.RankSpec) -> RankOrder:
        keys = tuple(RankKeyIR(k.name, k.descending, k.span) for k in spec.keys)
        for field in group_fields(spec.group):
            if field not in self.inputs:
                self.program.error("PD002", spec.span, f"group field `{field}` is not an input", did_you_mean(field, self.inputs))
        return RankOrder(keys, spec.group, spec.span)

    # ---- inputs --------------------------------------------------------------------
    def _input(self, item: A.Input) -> InputDef | None:
        t = item.type
        if isinstance(t, A.EnumType):
            return InputDef(item.span, item.name, item.label, TEXT, False, None, None, t.values)
        if isinstance(t, A.ListType):
            elem = self._scalar(t.elem, item, in_list=True)
            if elem is None:
                return None
            etype, is_int, rng, choices = elem
            length = interval_of_range(t.elem.length) if isinstance(t.elem, A.SimpleType) else None
            return InputDef(item.span, item.name, item.label, list_type(etype), is_int, rng, length, choices)
        scalar = self._scalar(t, item, in_list=False)
        if scalar is None:
            return None
        etype, is_int, rng, choices = scalar
        return InputDef(item.span, item.name, item.label, etype, is_int, rng, None, choices)

    def _scalar(self, t, item: A.Input, in_list: bool):
        if isinstance(t, A.EnumType):
            return TEXT, False, None, t.values
        if isinstance(t, A.ListType):
            self.program.error("PD025", t.span, "lists of lists are not supported")
            return None
        kinds = {"bool": BOOL, "int": NUM, "decimal": NUM, "text": TEXT}
        if t.name in kinds:
            typ = kinds[t.name]
            if t.range is not None and typ != NUM:
                self.program.error("PD026", t.range.span, f"a range bounds numbers, not {t.name}")
            if t.length is not None and not in_list:
                self.program.error("PD026", t.length.span, "`length` bounds lists", "write `list of decimal in 0..25 length 3..`")
            return typ, t.name == "int", interval_of_range(t.range), None
        if t.name in self.tier_sets:
            return tier_type(t.name), False, None, None
        self.program.error("PD025", t.span, f"unknown type `{t.name}`",
                           did_you_mean(t.name, list(kinds) + list(self.tier_sets)) or "types are bool, int, decimal, text, one of (...), list of TYPE")
        return None

    # ---- tiers and rules -----------------------------------------------------------
    def _tiers(self, items) -> None:
        for item in items:
            if not isinstance(item, A.Tiers):
                continue
            names: list[str] = []
            for line in item.lines:
                if line.tier in names:
                    self.program.error("PD004", line.span, f"tier `{line.tier}` is listed twice in `{item.name}`")
                names.append(line.tier)
            self.tier_sets.setdefault(item.name, tuple(names))
            self.rules_of.setdefault(item.name, [])

    def owner(self, tier: str, span) -> tuple[str, int] | None:
        owners = [ts for ts, names in self.tier_sets.items() if tier in names]
        if len(owners) == 1:
            return owners[0], self.tier_sets[owners[0]].index(tier)
        if len(owners) > 1:
            self.program.error("PD015", span, f"tier `{tier}` belongs to several tier sets: " + ", ".join(owners))
            return None
        every = [t for ts in self.tier_sets.values() for t in ts]
        self.program.error("PD015", span, f"unknown tier `{tier}`", did_you_mean(tier, every) or
                           ("tiers are: " + ", ".join(every) if every else "declare `tiers NAME by SCORE { ... }` first"))
        return None

    def _rules(self, items) -> None:
        for item in items:
            if isinstance(item, (A.Veto, A.LimitRule)):
                found = self.owner(item.tier, item.tier_span)
                if found:
                    self.rules_of[found[0]].append(item)
                    self.rule_tier[id(item)] = found[1]
            elif isinstance(item, A.Downgrade):
                steps = item.steps.value
                if item.steps.percent or steps != steps.to_integral_value() or steps < 1:
                    self.program.error("PD030", item.steps.span, "downgrade by a whole number of tiers, e.g. `by 1`")
                if len(self.tier_sets) != 1:
                    self.program.error("PD015", item.span, "`downgrade` needs exactly one tier set in the policy"
                                       if not self.tier_sets else "`downgrade` is ambiguous with several tier sets")
                    continue
                self.rules_of[next(iter(self.tier_sets))].append(item)
