"""The report in a real browser: headless Chromium (Debian's package, installed by .ci/run)
driven by playwright loads the page from a file:// URL, as a clerk's double-click would.

Asserts on the DOM the browser built and on what its script does: tier counts and
bounds, every subject, sorting, filtering, an explanation opening, and that no string
from a hostile policy or data file runs (no dialog, no element, no console message —
a blocked script would log a CSP violation). Screenshots go to the test's tmp dir.

Without Chromium or playwright the tests skip on a developer's machine; under CI they
fail, so a broken install step cannot turn the browser test green by skipping it.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from perfdsl.cli import main
from report_data import BRANCH, COUNTY, HOSTILE_POLICY, XSS, branch_data, county_data, hostile_records, write_data

CHROMIUM = Path(os.environ.get("PERFDSL_CHROMIUM", "/usr/bin/chromium"))  # Debian's; override elsewhere
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _unavailable() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is missing (pip install -e '.[test]')"
    return None


@pytest.fixture(scope="session")
def browser(tmp_path_factory):
    """One Chromium for the session, with a fresh profile directory (--user-data-dir)."""
    why = _unavailable()
    if why:
        if os.environ.get("CI"):
            pytest.fail(f"the browser test must run in CI: {why}")
        pytest.skip(why)
    from playwright.sync_api import sync_playwright
    driver = sync_playwright().start()
    try:
        context = driver.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=str(CHROMIUM), headless=True,
            args=FLAGS, viewport={"width": 1280, "height": 900}, offline=True)
    except BaseException:
        driver.stop()
        raise
    yield context
    context.close()
    driver.stop()


class Page:
    """A tab on one report, recording everything that must not happen."""

    def __init__(self, context, path: Path):
        self.page = context.new_page()
        self.problems: list[str] = []
        self.page.on("console", lambda m: self.problems.append(f"console {m.type}: {m.text}"))
        self.page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        self.page.on("dialog", lambda d: (self.problems.append(f"dialog: {d.message}"), d.dismiss()))
        self.page.on("request", lambda r: None if r.url.startswith("file://") else self.problems.append(f"request {r.url}"))
        self.page.goto(path.as_uri())

    def keys(self, visible_only: bool = True) -> list[str]:
        selector = "tbody.subject:not([hidden]) tr.row" if visible_only else "tbody.subject tr.row"
        return self.page.locator(selector).evaluate_all("rows => rows.map(r => r.cells[1].textContent)")

    def sort(self, column: str) -> None:
        self.page.click(f'#subjects th[data-col="{column}"] button')


@pytest.fixture(scope="module")
def county_report(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("county")
    out = tmp / "report.html"
    assert main(["report", str(COUNTY), "--input", str(county_data(tmp)), "--output", str(out)]) == 0
    return out


@pytest.fixture
def county(browser, county_report):
    page = Page(browser, county_report)
    yield page
    page.page.close()
    assert page.problems == []


def test_counts_bounds_and_every_subject(county, tmp_path):
    p = county.page
    overall = {row[0]: row[1:] for row in p.locator("#overall tbody tr").evaluate_all(
        "rows => rows.map(r => Array.from(r.cells, c => c.textContent))")}
    assert overall == {"先进": ["13", "8"], "合格": ["16", "21"], "不合格": ["3", "3"]}
    assert p.locator('#rules tr[data-tier="先进"] .range').inner_text() == "0..8"
    assert p.locator('#rules tr[data-tier="先进"] .status').inner_text() == "在界限内"
    assert p.locator('#rules figure.group-chart svg rect.band').count() == 1  # only 先进 is bounded
    keys = county.keys()
    assert len(keys) == 32 and len(set(keys)) == 32
    assert {"县政府办", "教育局", "商务局", "行政服务中心"} <= set(keys)
    assert p.locator("#shown").inner_text() == "显示 32 / 32"
    marks = p.locator("#histogram svg text.threshold").evaluate_all("ts => ts.map(t => t.textContent)")
    assert marks == ["先进 ≥ 90", "合格 ≥ 60"]
    shot = tmp_path / "report.png"
    p.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 50_000


def test_sorting_by_a_header(county):
    county.sort("total")
    assert county.page.get_attribute('#subjects th[data-col="total"]', "aria-sort") == "ascending"
    assert county.keys()[:2] == ["行政服务中心", "安监局"]  # 49.5, 50
    county.sort("total")
    assert county.page.get_attribute('#subjects th[data-col="total"]', "aria-sort") == "descending"
    assert county.keys()[:3] == ["教育局", "县政府办", "农牧局"]  # 103.25, 102.6, 100
    county.sort("grade")  # best tier first, then the previous order (a stable sort)
    tiers = county.page.locator("tbody.subject").evaluate_all("bs => bs.map(b => b.dataset.tier)")
    assert tiers == ["先进"] * 8 + ["合格"] * 21 + ["不合格"] * 3
    assert county.keys()[:2] == ["县政府办", "工信局"]
    county.sort("unit_id")
    assert county.keys() == sorted(county.keys())  # code-point order, decided in Python


def test_filter_by_text_and_tier(county):
    p = county.page
    p.select_option("#tier-filter", "先进")
    assert len(county.keys()) == 8 and p.locator("#shown").inner_text() == "显示 8 / 32"
    p.fill("#filter", "农")
    assert sorted(county.keys()) == sorted(["农开办", "农机管理中心"])  # 农牧局 lost 先进 (腐败案件)
    p.select_option("#tier-filter", "")
    assert sorted(county.keys()) == sorted(["农牧局", "农开办", "农机管理中心"])
    p.fill("#filter", "99.9")  # numbers are text too
    assert county.keys() == ["工信局"]
    p.fill("#filter", "")
    assert len(county.keys()) == 32 and p.locator("#shown").inner_text() == "显示 32 / 32"


def test_a_row_opens_to_its_explanation(county, tmp_path):
    p = county.page
    body = p.locator("tbody.subject", has=p.locator("tr.row td", has_text="市场办"))
    assert body.locator("tr.explain").is_hidden()
    body.locator("tr.row").click()
    explanation = body.locator("tr.explain")
    assert explanation.is_visible()
    text = explanation.inner_text()
    assert "市场办" in text and "94" in text and "合格" in text
    assert body.locator("button.open").get_attribute("aria-expanded") == "true"
    p.screenshot(path=str(tmp_path / "explanation.png"), full_page=False)
    body.locator("tr.row").click()
    assert explanation.is_hidden()


def test_branch_groups_and_when_bounds(browser, tmp_path):
    out = tmp_path / "branch.html"
    assert main(["report", str(BRANCH), "--input", str(branch_data(tmp_path)), "--output", str(out)]) == 0
    page = Page(browser, out)
    p = page.page
    assert p.locator("figure.group-chart").count() == 6
    audit = p.locator('tbody.rule-group[data-group="审计部"]')
    assert audit.locator(".range").all_inner_texts() == ["0..0", "3..6", "2..3", "0..1"]
    assert audit.locator("td.final").all_inner_texts() == ["0", "6", "2", "0"]
    p.select_option("#tier-filter", "欠佳")
    assert page.keys() == ["K2"]
    p.close()
    assert page.problems == []


def test_hostile_names_stay_text(browser, tmp_path, policy_file):
    out = tmp_path / "hostile.html"
    data = write_data(tmp_path / "hostile.json", hostile_records())
    assert main(["report", str(policy_file(HOSTILE_POLICY)), "--input", str(data), "--output", str(out)]) == 0
    page = Page(browser, out)
    p = page.page
    assert p.locator("img").count() == 0 and p.locator("b").count() == 0
    assert p.locator("script").count() == 2
    assert page.keys() == XSS + ["plain"]
    assert p.locator("#policy-label").inner_text().startswith("<script>alert(11)</script>")
    p.fill("#filter", "<svg")  # the script still works on hostile text: a key, and a flag
    assert page.keys() == [XSS[3], XSS[4]]
    p.fill("#filter", "onload=alert(4)")
    assert page.keys() == [XSS[3]]
    p.locator("tbody.subject:not([hidden]) tr.row").click()
    assert XSS[3] in p.locator("tbody.subject:not([hidden]) tr.explain").inner_text()
    p.screenshot(path=str(tmp_path / "hostile.png"), full_page=True)
    p.close()
    assert page.problems == []
