"""Data and HTML helpers shared by test_report.py and test_report_browser.py.

The cohorts are the bundled policies' own worked examples (their expected counts are
checked by hand in the policy files), written to data files as a user would give them.
A hostile policy and data set carry markup in every string a report prints.
"""
from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import perfdsl
from perfdsl import io

ROOT = Path(__file__).resolve().parent.parent
COUNTY = ROOT / "policies" / "county_departments.perf"
BRANCH = ROOT / "policies" / "branch_employees.perf"


def example_records(policy_path: Path, label_start: str) -> list[dict]:
    """The records of the cohort example whose label starts with `label_start`."""
    policy = perfdsl.load(policy_path)
    example = next(e for e in policy.ir.examples if e.cohort and e.label.startswith(label_start))
    return [{k: list(v) if isinstance(v, tuple) else v for k, v in r.items()} for _, r in example.records]


def write_data(path: Path, records: list[dict]) -> Path:
    io.write_rows(path, list(records[0]), records)
    return path


def county_data(tmp: Path) -> Path:
    """32 departments; 13 先进 by score, 8 keep it under `quota 先进 at most 25%`."""
    return write_data(tmp / "county.json", example_records(COUNTY, "32个部门"))


def branch_data(tmp: Path) -> Path:
    """Six groups, `when` bounds among them (审计部 8人 部门合格: 优秀 0..0, 良好 3..6)."""
    return write_data(tmp / "branch.json", example_records(BRANCH, "部门年度绩效为合格的八人部门"))


XSS = ["<script>alert(1)</script>", '"><img src=x onerror=alert(2)>', "</script><script>alert(3)</script>",
       "'><svg onload=alert(4)>", "&lt;b&gt; & </ <!-- -->"]

HOSTILE_POLICY = r'''
policy hostile "<script>alert(11)</script> \"><img src=x onerror=alert(12)>" {
  key id
  input id: text "编号 <b>粗</b>"
  input dept: text "\"><img src=x onerror=alert(13)> 部门"
  input score: decimal in 0..100 "</script><script>alert(14)</script>"
  score total "总分 <img src=x onerror=alert(15)>" = score
  tiers grade "等次" by total {
    优秀 >= 90
    合格 >= 60
    不合格 otherwise
  }
  quota 优秀 at most 50% per dept rank by total desc then id asc
  flag "<svg onload=alert(16)>" if total < 60
}
'''


def hostile_records() -> list[dict]:
    """Every key and group name is markup; two per group, so the quota has work to do."""
    return [{"id": x, "dept": XSS[(i // 2) % len(XSS)], "score": str(95 - 10 * i)} for i, x in enumerate(XSS)] + [
        {"id": "plain", "dept": XSS[2], "score": "99"}]


# ---- a small DOM from the stdlib parser (tests read the page the browser would build) ----
VOID = {"meta", "input", "br", "hr", "img", "link", "area", "base", "col", "embed", "source", "track", "wbr"}


class Node:
    def __init__(self, tag: str, attrs: dict):
        self.tag, self.attrs, self.children, self.text_parts = tag, attrs, [], []

    def text(self) -> str:
        return "".join(p if isinstance(p, str) else p.text() for p in self.text_parts)

    def iter(self, tag: str | None = None, **attrs):
        for c in self.children:
            if (tag is None or c.tag == tag) and all(
                    (v in c.attrs.get(k.rstrip("_"), "").split()) if k == "class_" else c.attrs.get(k) == v
                    for k, v in attrs.items()):
                yield c
            yield from c.iter(tag, **attrs)

    def find(self, tag: str | None = None, **attrs) -> "Node":
        found = next(self.iter(tag, **attrs), None)
        assert found is not None, (tag, attrs)
        return found


class _Builder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.tags.append((tag, node.attrs))
        self.stack[-1].children.append(node)
        self.stack[-1].text_parts.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.stack.pop()

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data):
        self.stack[-1].text_parts.append(data)


def parse(html: str) -> _Builder:
    builder = _Builder()
    builder.feed(html)
    builder.close()
    return builder
