"""`perfdsl report`: one self-contained HTML file a clerk can hand to a committee (§12.3).

Self-contained because it is opened from a shared drive or an intranet without network:
CSS, SVG charts and the small sorting/filtering script are inline, nothing is fetched.
Every string that comes from a policy or a data file reaches the page through jinja2's
autoescaping; the script reads no data except one JSON block (`tojson` escapes `<`, so
a `</script>` in a label cannot end it). The page's words follow the policy's language.

    html = render(policy, results, data_path="data.xlsx", warnings=policy.last_warnings)
"""
from __future__ import annotations

import base64
import hashlib
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import jinja2
from markupsafe import Markup

from ..ir import Ref
from ..numbers import decimal_text
from . import charts, model, table
from .words import words_for

MAX_CHARTS = 60  # group charts drawn; a larger cohort's groups are still all in the table


def _environment() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.PackageLoader("perfdsl.report", "templates"),
                              autoescape=True, undefined=jinja2.StrictUndefined,
                              trim_blocks=True, lstrip_blocks=True)


def _asset(env: jinja2.Environment, name: str) -> tuple[Markup, str]:
    """A package file put inline (our own CSS or JS, not data), and its CSP hash: the
    page allows exactly these two blocks, so even an escaping mistake could not run a
    script or an `onerror=` handler."""
    text, _, _ = env.loader.get_source(env, name)
    digest = base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")
    return Markup(text), f"sha256-{digest}"


def file_hash(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def main_score(ir):
    """(definition or input name, title, static range, thresholds): the value the main tier
    set bands by; else the first numeric score without thresholds; None without either."""
    tierset = model.main_tierset(ir)
    if tierset is not None:
        body = ir.definition(tierset).tiers
        by = body.by.name if isinstance(body.by, Ref) else None
        if by is not None:
            op = "<" if body.ascending else "≥"
            marks = [(t.threshold, f"{t.name} {op} {decimal_text(t.threshold)}")
                     for t in body.tiers if t.threshold is not None]
            d = next((d for d in ir.definitions if d.name == by), None)
            return by, model.field_title(ir, by), (d.range if d is not None else None), marks
    d = next((d for d in ir.definitions if d.kind == "score" and d.type.kind == "num"), None)
    return (d.name, d.label or d.name, d.range, []) if d is not None else None


def _histogram(ir, results, words):
    score = main_score(ir)
    if score is None:
        return None, ""
    name, title, rng, marks = score
    values = [v for v in ((r.values.get(name, r.record.get(name))) for r in results) if isinstance(v, Decimal)]
    if not values:
        return None, title
    lo = rng.lo if rng is not None else ir.scale.lo
    hi = rng.hi if rng is not None else ir.scale.hi
    return charts.histogram(values, lo, hi, marks, words), title


def _policy_warnings(policy) -> list[str]:
    return [f"{Path(d.span.file).name}:{d.span.line}:{d.span.col}: {d.code}: {d.message}" for d in policy.warnings]


def render(policy, results, *, data_path: str | Path, warnings: list[str] = (), explain=None,
           kept: tuple = ((), ()), generated: datetime | None = None, progress=None) -> str:
    """The report's HTML for a finished cohort run (`results` from evaluate_cohort with a trace).

    `kept` = (column names, one dict per result): input columns shown after the key (--keep);
    `progress(iterable, total)` may wrap the per-subject loop (the CLI's bar)."""
    ir = policy.ir
    words = words_for(ir)
    overall = model.overall(ir, results, words)
    rules = model.rules(ir, results, words)
    budget, drawn = MAX_CHARTS, []
    for rule in rules:  # every group is in the tables; at most MAX_CHARTS are drawn
        drawn.append([(b, charts.tier_bars(b, words)) for b in rule.blocks[:max(budget, 0)]])
        budget -= len(rule.blocks)
    histogram, score_title = _histogram(ir, results, words)
    columns, subjects = table.subjects(ir, results, words, explain or table.explanation_lines, kept, progress)
    tiers = ir.definition(model.main_tierset(ir)).tiers.names() if model.main_tierset(ir) else ()
    meta = {"shown": words["shown"], "subjects": len(subjects), "policy": ir.name, "label": ir.label,
            "columns": [c.name for c in columns]}
    env = _environment()
    style, style_hash = _asset(env, "report.css")
    script, script_hash = _asset(env, "report.js")
    return env.get_template("report.html.j2").render(
        style=style, style_hash=style_hash, script=script, script_hash=script_hash, w=words, ir=ir, data_path=str(data_path), data_hash=file_hash(data_path),
        generated=(generated or datetime.now()).strftime("%Y-%m-%d %H:%M"),
        overall=overall, overall_chart=charts.tier_compare(overall, words) if overall else None,
        rules=list(zip(rules, drawn)), charts_omitted=budget < 0, max_charts=MAX_CHARTS,
        histogram=histogram, score_title=score_title,
        columns=columns, subjects=subjects, tiers=tiers, meta=meta,
        run_warnings=list(warnings), policy_warnings=_policy_warnings(policy))


def write(path: str | Path, html: str) -> None:
    """Atomically, like every other output: a failed run leaves the previous report."""
    from ..io import write_text_atomic
    write_text_atomic(path, html)
