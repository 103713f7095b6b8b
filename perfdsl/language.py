"""The language a policy speaks to its readers, decided once for explanations, output
column titles, the run summary and the report: a policy whose labels, flags or reasons
are written in Chinese is answered in Chinese (`第 5 名（共 12 名）`, `标记`, `等次分布`),
any other in English. One rule, so an explanation never comes back in one language while
the summary and headers of the same run come in the other (LANGUAGE.md §12.3)."""
from __future__ import annotations


def is_chinese(text: str | None) -> bool:
    return bool(text) and any("\u4e00" <= ch <= "\u9fff" for ch in text)


def policy_language(ir) -> str:
    """"zh" when the policy writes its label, any label, flag or reason in Chinese, else "en"."""
    ir = getattr(ir, "ir", ir)  # a perfdsl.Policy or its IR
    texts = [ir.label] + [d.label for d in ir.definitions] + [i.label for i in ir.inputs] + [f.label for f in ir.flags]
    for d in ir.definitions:
        if d.indicator is not None:
            texts += [a.reason for a in d.indicator.adjustments]
        if d.tiers is not None:
            texts += [r.reason for r in d.tiers.rules]
    return "zh" if any(is_chinese(x) for x in texts) else "en"
