"""The language a policy speaks to its readers, decided once for explanations, output
column titles, the run summary and the report: a policy whose labels, flags or reasons
are written in Chinese is answered in Chinese (`第 5 名（共 12 名）`, `标记`, `等次分布`),
any other in English. One rule, so an explanation never comes back in one language while
the summary and headers of the same run come in the other (LANGUAGE.md §12.3)."""
from __future__ import annotations

from functools import cache
from pathlib import Path


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


LANGUAGES = ("en", "zh")  # the columns of a phrase table


@cache
def phrases(table: Path, language: str) -> dict:
    """One language's column of a phrase table: a TOML file of `key = [English, Chinese]`,
    each phrase written once in every language side by side (explain/phrases.toml,
    summary.toml). Read when first needed."""
    import tomllib
    column = LANGUAGES.index(language)
    return {key: both[column] for key, both in tomllib.loads(table.read_text(encoding="utf-8")).items()}
