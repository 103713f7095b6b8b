"""The report's fixed texts in the policy's language (LANGUAGE.md §12.3).

A policy whose labels are Chinese gets a Chinese report throughout — the people who hand
it to a committee read no English — and any other policy an English one. The rule is the
one explanations follow: any CJK character in the policy's label, a definition's or an
input's label.
"""
from __future__ import annotations

ZH = {
    "lang": "zh-CN",
    "title": "考核结果报告",
    "policy": "考核方案",
    "source_hash": "方案哈希（SHA-256）",
    "source_file": "方案文件",
    "data_file": "数据文件",
    "data_hash": "数据哈希（SHA-256）",
    "subjects": "考核对象",
    "generated": "生成时间",
    "tiers_heading": "等次分布",
    "overall": "全体",
    "rules_heading": "名额与分布界限",
    "rule": "规则",
    "group": "分组",
    "size": "人数",
    "tier": "等次",
    "individual": "个人等次",
    "final": "最终",
    "bounds": "界限",
    "status": "是否在界限内",
    "within": "在界限内",
    "above": "超出上限",
    "below": "低于下限",
    "unbounded": "不限",
    "quota": "名额",
    "distribute": "强制分布",
    "line": "第 {line} 行",
    "overall_legend": "浅色：个人等次人数（名额、分布之前）；深色：最终人数",
    "chart_heading": "各组等次分布与界限",
    "chart_legend": "图中柱为最终人数；灰色区间为允许的人数（下限至上限）；红色柱表示超出界限",
    "charts_omitted": "分组超过 {shown} 个，只画出前 {shown} 组；其余见上表。",
    "histogram_heading": "{score}分布",
    "histogram_legend": "每格为 [下界, 上界) 的人数；竖线为等次分数线",
    "count_axis": "人数",
    "table_heading": "考核对象明细",
    "filter": "筛选",
    "filter_placeholder": "输入关键字（单位、姓名、分数……）",
    "all_tiers": "全部等次",
    "shown": "显示 {shown} / {total}",
    "flags": "标记",
    "explanation": "说明",
    "open": "展开说明",
    "sort_hint": "点击表头排序；点击一行展开说明",
    "warnings_heading": "警告",
    "no_warnings": "无警告。",
    "policy_warnings": "方案检查的警告",
    "run_warnings": "本次计算的警告",
    "none": "无",
    "yes": "是",
    "no": "否",
}

EN = {
    "lang": "en",
    "title": "Appraisal report",
    "policy": "Policy",
    "source_hash": "Policy hash (SHA-256)",
    "source_file": "Policy file",
    "data_file": "Data file",
    "data_hash": "Data hash (SHA-256)",
    "subjects": "Subjects",
    "generated": "Generated",
    "tiers_heading": "Tier distribution",
    "overall": "Whole cohort",
    "rules_heading": "Quotas and distribution bounds",
    "rule": "Rule",
    "group": "Group",
    "size": "Size",
    "tier": "Tier",
    "individual": "Individual",
    "final": "Final",
    "bounds": "Bounds",
    "status": "Within bounds",
    "within": "within",
    "above": "above maximum",
    "below": "below minimum",
    "unbounded": "any",
    "quota": "quota",
    "distribute": "distribute",
    "line": "line {line}",
    "overall_legend": "Light: individual tier (before quotas and distribution); dark: final tier",
    "chart_heading": "Tiers per group against their bounds",
    "chart_legend": "Bars: final count; grey band: allowed count (minimum to maximum); red bar: outside its bounds",
    "charts_omitted": "More than {shown} groups: only the first {shown} are drawn; the table above lists all.",
    "histogram_heading": "Distribution of {score}",
    "histogram_legend": "Each bin counts [lower, upper); vertical lines are the tier thresholds",
    "count_axis": "count",
    "table_heading": "Subjects",
    "filter": "Filter",
    "filter_placeholder": "text to find (key, name, score, …)",
    "all_tiers": "all tiers",
    "shown": "showing {shown} of {total}",
    "flags": "flags",
    "explanation": "explanation",
    "open": "show explanation",
    "sort_hint": "Click a header to sort; click a row to open its explanation",
    "warnings_heading": "Warnings",
    "no_warnings": "No warnings.",
    "policy_warnings": "Policy check warnings",
    "run_warnings": "Warnings of this run",
    "none": "none",
    "yes": "yes",
    "no": "no",
}


def is_chinese(text: str | None) -> bool:
    return bool(text) and any("\u4e00" <= ch <= "\u9fff" for ch in text)


def words_for(ir) -> dict:
    """ZH for a policy written with Chinese labels, else EN."""
    labels = [ir.label] + [d.label for d in ir.definitions] + [i.label for i in ir.inputs]
    return ZH if any(is_chinese(x) for x in labels) else EN
