"""`perfdsl report`: the HTML a clerk hands up, read back without a browser.

Counts come from the bundled policies' worked examples (county_departments: 32
departments, 13 先进 by score, 8 kept under the 25% quota; branch_employees: `when`
bounds per group). The page must be self-contained, escape every string from a policy
or data file, and be written atomically: bad data writes nothing.
"""
from __future__ import annotations

import hashlib
import json
import re
from decimal import Decimal as D

import pytest

import perfdsl
from perfdsl.check import compile_file
from perfdsl.cli import main
from perfdsl.report import charts, render
from report_data import (BRANCH, COUNTY, HOSTILE_POLICY, XSS, branch_data, county_data, hostile_records,
                         parse, write_data)


def line_of(path, text: str) -> int:
    """The line of `text` in a policy file (rules are named by line; the files get edited)."""
    return next(i for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if text in line)


def report(policy_path, data, tmp_path, capsys=None) -> tuple[str, object]:
    out = tmp_path / "report.html"
    assert main(["report", str(policy_path), "--input", str(data), "--output", str(out)]) == 0
    html = out.read_text(encoding="utf-8")
    return html, parse(html).root


def tier_counts(table) -> dict:
    return {tr.attrs["data-tier"]: (int(tr.find("td", class_="individual").text()), int(tr.find("td", class_="final").text()))
            for tr in table.iter("tr") if "data-tier" in tr.attrs}


def test_county_counts_bounds_and_subjects(tmp_path):
    data = county_data(tmp_path)
    html, dom = report(COUNTY, data, tmp_path)
    # 13 departments score ≥ 90 without a disqualification; the quota keeps the best 8
    assert tier_counts(dom.find("table", id="overall")) == {"先进": (13, 8), "合格": (16, 21), "不合格": (3, 3)}
    [rule] = list(dom.iter("div", class_="rule"))
    assert rule.attrs["data-rule"] == f"名额 先进 至多 25%，第 {line_of(COUNTY, 'quota 先进 at most 25%')} 行"
    [group] = list(rule.iter("tbody", class_="rule-group"))
    assert group.attrs["data-group"] == "全体" and group.find("td", class_="size").text() == "32"
    top = group.find("tr", **{"data-tier": "先进"})
    assert top.find("span", class_="range").text() == "0..8"  # round_half_up(25% × 32)
    assert top.find("td", class_="status").text() == "在界限内"
    assert group.find("tr", **{"data-tier": "合格"}).find("td", class_="bounds").text() == "不限"
    subjects = list(dom.iter("tbody", class_="subject"))
    assert len(subjects) == 32
    keys = [s.find("tr", class_="row").children[1].text() for s in subjects]
    assert keys[:3] == ["县政府办", "招商局", "工信局"] and "行政服务中心" in keys
    assert sum(s.attrs["data-tier"] == "先进" for s in subjects) == 8
    first = subjects[0].find("tr", class_="explain").text()
    assert "102.6" in first and "县政府办" in first
    # explanations are perfdsl.explain's steps; the quota decision is marked for the eye
    market = next(s for s in subjects if s.find("tr", class_="row").children[1].text() == "市场办")
    [quota] = [li.text() for li in market.iter("li", class_="k-quota")]
    assert "8" in quota and "合格" in quota
    assert dom.find("code", id="source-hash").text() == perfdsl.load(COUNTY).ir.source_hash
    assert dom.find("code", id="data-hash").text() == hashlib.sha256(data.read_bytes()).hexdigest()
    assert dom.find("code", id="data-file").text() == str(data)
    assert dom.find("html").attrs["lang"] == "zh-CN"
    assert "考核对象明细" in html and "Subjects" not in html


def test_county_histogram_marks_thresholds_and_counts_every_subject(tmp_path):
    _, dom = report(COUNTY, county_data(tmp_path), tmp_path)
    svg = dom.find("section", id="histogram").find("svg")
    marks = [t.text() for t in svg.iter("text", class_="threshold")]
    assert marks == ["先进 ≥ 90", "合格 ≥ 60"]
    bars = {r.find("title").text().split(":")[0]: int(r.find("title").text().split(": ")[1])
            for r in svg.iter("rect", class_="bar")}
    assert sum(bars.values()) == 32
    # hand-counted from the example's comment: 89.7 … 85.2 | 94 … 90.3 | 99.9 … 95.25 | 103.25 102.6 100
    assert (bars["[85, 90)"], bars["[90, 95)"], bars["[95, 100)"], bars["[100, 105]"]) == (7, 6, 8, 3)


def test_branch_distribution_bounds_per_group_with_when_lines(tmp_path):
    _, dom = report(BRANCH, branch_data(tmp_path), tmp_path)
    [rule] = list(dom.iter("div", class_="rule"))
    assert "强制分布" in rule.attrs["data-rule"] and "分布分组" in rule.attrs["data-rule"]
    groups = {g.attrs["data-group"]: g for g in rule.iter("tbody", class_="rule-group")}
    assert list(groups) == ["审计部", "仓储部", "后勤部", "保卫部", "培训部", "法务部"]

    def bounds(group):
        return {tr.attrs["data-tier"]: tr.find("span", class_="range").text() for tr in groups[group].iter("tr")}

    # 8 people, 部门合格: 优秀 0..0, 良好 40%..70% of 8 = 3..6 (when), 合格 25%..35% = 2..3, 欠佳 5%..10% = 0..1
    assert bounds("审计部") == {"优秀": "0..0", "良好": "3..6", "合格": "2..3", "欠佳": "0..1"}
    when = line_of(BRANCH, 'when dept_rating == "合格"')
    assert f"when 第 {when} 行" in groups["审计部"].find("tr", **{"data-tier": "良好"}).text()
    assert tier_counts(groups["审计部"]) == {"优秀": (2, 0), "良好": (4, 6), "合格": (2, 2), "欠佳": (0, 0)}
    # exactly 5 people is not "below 5": the percentages, rounded half up
    assert bounds("后勤部") == {"优秀": "1..1", "良好": "2..3", "合格": "1..2", "欠佳": "0..1"}
    assert tier_counts(dom.find("table", id="overall")) == {"优秀": (4, 3), "良好": (8, 12), "合格": (13, 10), "欠佳": (1, 1)}
    charts_drawn = [f.attrs["data-group"] for f in dom.iter("figure", class_="group-chart")]
    assert charts_drawn == list(groups)


def test_hostile_strings_are_escaped_everywhere(tmp_path, policy_file):
    policy = policy_file(HOSTILE_POLICY)
    data = write_data(tmp_path / "hostile.json", hostile_records())
    html, dom = report(policy, data, tmp_path)
    builder = parse(html)
    tags = {t for t, _ in builder.tags}
    assert "img" not in tags and "b" not in tags
    assert [t for t, _ in builder.tags if t == "script"] == ["script", "script"]
    assert [a.get("type") for t, a in builder.tags if t == "script"] == ["application/json", None]
    assert all(not name.startswith("on") for _, attrs in builder.tags for name in attrs)
    svgs = [a for t, a in builder.tags if t == "svg"]
    assert svgs and all(a.get("class") == "chart" for a in svgs)  # only our charts, no `<svg onload>`
    # the data reads back as the same text, in cells and explanations
    keys = [s.find("tr", class_="row").children[1].text() for s in dom.iter("tbody", class_="subject")]
    assert keys == XSS + ["plain"]
    assert {g.attrs["data-group"] for g in dom.iter("tbody", class_="rule-group")} == set(XSS[:3])
    assert dom.find("span", id="policy-label").text().startswith("<script>alert(11)</script>")
    # the one data block for the script: `<` escaped, so no `</script>` (or `<!--`) inside it
    block = re.search(r'<script type="application/json" id="report-meta">(.*?)</script>', html, re.S).group(1)
    assert "<" not in block and json.loads(block)["label"].startswith("<script>alert(11)")
    # the CSP allows only the page's own two blocks
    csp = dom.find("meta", **{"http-equiv": "Content-Security-Policy"}).attrs["content"]
    assert "default-src 'none'" in csp and "unsafe-inline" not in csp


def test_self_contained_no_network(tmp_path):
    html, _ = report(COUNTY, county_data(tmp_path), tmp_path)
    assert not re.search(r"\b(src|href)\s*=", html)
    assert "<link" not in html and "@import" not in html and "url(" not in html
    assert not re.search(r"https?://", html)


def test_english_policy_gets_english_words(tmp_path, policy_file):
    policy = policy_file("""
policy plain "Plain appraisal" {
  key id
  input id: text
  input score: decimal in 0..100 "score"
  tiers grade "grade" by score { good >= 60  poor otherwise }
  quota good count 0..1 rank by score desc then id asc
}
""")
    data = write_data(tmp_path / "d.json", [{"id": "a", "score": "70"}, {"id": "b", "score": "80"}])
    html, dom = report(policy, data, tmp_path)
    assert dom.find("html").attrs["lang"] == "en"
    assert "Tier distribution" in html and "考核" not in html
    assert tier_counts(dom.find("table", id="overall")) == {"good": (2, 1), "poor": (0, 1)}
    assert dom.find("div", class_="rule").attrs["data-rule"] == "quota good 0..1, line 7"


def test_sort_positions_are_exact_decimals_and_tier_order(tmp_path, policy_file):
    policy = policy_file("""
policy exact "精确排序" {
  key id
  input id: text "编号"
  input score: decimal in 0..100 "得分"
  tiers grade "等次" by score { 优秀 >= 90  合格 >= 60  不合格 otherwise }
}
""")
    rows = [("a", "60.00000000000000000000000002"), ("b", "60.00000000000000000000000001"), ("c", "95"), ("d", "10")]
    data = write_data(tmp_path / "d.json", [{"id": k, "score": v} for k, v in rows])
    _, dom = report(policy, data, tmp_path)
    cols = [th.attrs["data-col"] for th in dom.find("table", id="subjects").iter("th") if "data-col" in th.attrs]
    assert cols == ["id", "score", "grade", "flags"]  # the input the tiers band by is shown

    def order(col):
        i = cols.index(col) + 1  # after the opener cell
        return {s.find("tr", class_="row").children[1].text(): int(s.find("tr", class_="row").children[i].attrs["data-k"])
                for s in dom.iter("tbody", class_="subject")}

    assert order("score") == {"d": 0, "b": 1, "a": 2, "c": 3}  # 28 digits apart: no float would tell
    assert order("grade") == {"c": 0, "a": 1, "b": 1, "d": 2}  # best tier first, not alphabetical


def test_bad_data_exits_1_like_run_and_writes_nothing(tmp_path, capsys):
    records = [{"unit_id": "x", "index_mid": "abc"}]
    data = write_data(tmp_path / "bad.json", records)
    out = tmp_path / "report.html"
    out.write_text("previous", encoding="utf-8")
    assert main(["report", str(COUNTY), "--input", str(data), "--output", str(out)]) == 1
    report_err = capsys.readouterr().err
    assert main(["run", str(COUNTY), "--input", str(data), "--output", str(tmp_path / "r.csv")]) == 1
    assert capsys.readouterr().err == report_err
    assert "row 1, field index_mid" in report_err and "nothing was written" in report_err
    assert out.read_text(encoding="utf-8") == "previous"
    assert not (tmp_path / "r.csv").exists()


def test_missing_file_and_unwritable_output_are_messages(tmp_path, capsys):
    assert main(["report", str(COUNTY), "--input", str(tmp_path / "none.csv"), "--output", str(tmp_path / "r.html")]) == 1
    assert "Traceback" not in capsys.readouterr().err
    data = county_data(tmp_path)
    assert main(["report", str(COUNTY), "--input", str(data), "--output", str(tmp_path / "no" / "r.html")]) == 1
    assert "cannot write" in capsys.readouterr().err


def test_render_api_takes_explanations_from_a_callable(tmp_path):
    policy = perfdsl.load(COUNTY)
    data = county_data(tmp_path)
    from report_data import example_records
    results = policy.evaluate_cohort(example_records(COUNTY, "32个部门"))
    html = render(policy, results, data_path=data, explain=lambda r: f"EXPLAINED {r.key}")
    assert html.count("EXPLAINED ") == 32


def test_histogram_bins_cut_like_tier_bands():
    width, table = charts.bins([D(60), D("89.99"), D(90), D(100)], D(0), D(100))
    assert width == D(5) and table[0][0] == D(0) and table[-1][1] == D(100)
    counts = {(a, b): c for a, b, c in table}
    assert counts[(D(60), D(65))] == 1 and counts[(D(85), D(90))] == 1 and counts[(D(90), D(95))] == 1
    assert counts[(D(95), D(100))] == 1  # the last bin is closed: 100 counts in it
    width, table = charts.bins([D(7), D(7)], None, None)
    assert [c for _, _, c in table] == [2]
    width, table = charts.bins([D("0.001"), D("0.02")], None, None)
    assert width == D("0.001") and sum(c for _, _, c in table) == 2


@pytest.mark.parametrize("score", ["0", "100"])
def test_one_subject_at_the_scale_edge(tmp_path, policy_file, score):
    policy = policy_file("""
policy one "单人" {
  key id
  input id: text "编号"
  input score: decimal in 0..100 "得分"
  tiers grade "等次" by score { 优秀 >= 90  合格 >= 60  不合格 otherwise }
}
""")
    data = write_data(tmp_path / "d.json", [{"id": "a", "score": score}])
    _, dom = report(policy, data, tmp_path)
    bars = list(dom.find("section", id="histogram").iter("rect", class_="bar"))
    assert sum(int(b.find("title").text().split(": ")[1]) for b in bars) == 1
    assert not list(dom.iter("section", id="rules"))  # no quota, no distribution: no bounds to show


def test_keep_shows_input_columns_as_the_file_has_them(tmp_path, policy_file):
    policy = policy_file("""
policy kept "留列" {
  key id
  input id: text "工号"
  input score: decimal in 0..100 "得分"
  tiers grade "等次" by score { 优秀 >= 90  合格 otherwise }
}
""")
    data = tmp_path / "d.csv"
    data.write_text("工号,姓名,部门,得分\nb,李四,二部,95\na,张三,一部,80\nc,王五,一部,9\n", encoding="utf-8")
    out = tmp_path / "r.html"
    assert main(["report", str(policy), "--input", str(data), "--output", str(out), "--keep", "姓名，部门"]) == 0
    dom = parse(out.read_text(encoding="utf-8")).root
    heads = [th.text() for th in dom.find("table", id="subjects").iter("th") if "data-col" in th.attrs]
    assert heads == ["工号", "姓名", "部门", "得分", "等次", "标记"]
    rows = [[td.text() for td in s.find("tr", class_="row").children[1:]] for s in dom.iter("tbody", class_="subject")]
    assert rows == [["b", "李四", "二部", "95", "优秀", ""], ["a", "张三", "一部", "80", "合格", ""],
                    ["c", "王五", "一部", "9", "合格", ""]]
    assert main(["report", str(policy), "--input", str(data), "--output", str(out), "--keep", "年龄"]) == 1


@pytest.mark.parametrize("path,label", [(COUNTY, "32个部门"), (BRANCH, "部门年度绩效为合格的八人部门")])
def test_report_and_run_summary_state_the_same_numbers(path, label):
    """The report (report.model) and the run summary / 汇总 sheet (perfdsl.summary) count
    the same cohort the same way: counts before and after the cohort stage, and bounds."""
    from perfdsl import summary
    from perfdsl.report import model
    from perfdsl.report.words import ZH
    from report_data import example_records
    policy = perfdsl.load(path)
    recorder = policy.backend = summary.Recorder(policy.backend)
    results = policy.evaluate_cohort(example_records(path, label))
    told = summary.summarize(policy.ir, recorder.columns(policy.ir, results), [], "zh")
    shown = model.rules(policy.ir, results, ZH)
    assert len(told.rules) == len(shown)
    for rule, view in zip(told.rules, shown):
        assert [g.size for g in rule.groups] == [b.size for b in view.blocks]
        for g, b in zip(rule.groups, view.blocks):
            assert g.before == [r.individual for r in b.rows] and g.final == [r.final for r in b.rows]
            for lo, hi, r in zip(g.lo, g.hi, b.rows):
                if r.lo is not None:
                    assert (lo, hi) == (r.lo, r.hi)


BUNDLED = sorted(p for p in COUNTY.parent.glob("*.perf") if not compile_file(p).module)


@pytest.mark.parametrize("path", BUNDLED, ids=[p.stem for p in BUNDLED])
def test_every_bundled_policy_reports_its_first_example(path, tmp_path):
    policy = perfdsl.load(path)
    example = next((e for e in policy.ir.examples if e.cohort), policy.ir.examples[0])
    results = policy.evaluate_cohort([dict(r) for _, r in example.records])
    dom = parse(render(policy, results, data_path=path, warnings=policy.last_warnings)).root
    assert len(list(dom.iter("tbody", class_="subject"))) == len(results)
    if any(d.tiers is not None for d in policy.ir.definitions):
        overall = dom.find("table", id="overall")
        assert sum(int(td.text()) for td in overall.iter("td", class_="final")) == len(results)


def test_a_policy_without_key_tiers_or_cohort_rules(tmp_path, policy_file):
    policy = policy_file("""
policy bare "无等次" {
  input score: decimal in 0..10 "得分"
  score total "总分" = score * 10
}
""")
    data = write_data(tmp_path / "d.json", [{"score": "1"}, {"score": "9.5"}])
    html, dom = report(policy, data, tmp_path)
    assert not list(dom.iter("table", id="overall")) and not list(dom.iter("select"))
    assert [t.text() for t in dom.find("section", id="histogram").iter("text", class_="threshold")] == []
    rows = [[td.text() for td in s.find("tr", class_="row").children[1:]] for s in dom.iter("tbody", class_="subject")]
    assert rows == [["10", ""], ["95", ""]]
