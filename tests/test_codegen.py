"""The generated Python backend against the reference interpreter, and its safety.

Every comparison runs inside decimal.localcontext(runtime.CONTEXT), as Policy does,
and compares the digits (repr of every Decimal), not just numeric equality: values,
flags, TierStates and whole traces, and for failures the exception type and message.
"""
from __future__ import annotations

import ast
import dataclasses
import decimal
import glob
import os
import re
import stat
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import perfdsl.codegen as codegen
from perfdsl import cohort, resources, runtime
from perfdsl.check import compile_file
from perfdsl.codegen.python import Code, Text, environment, generate, pylit
from perfdsl.diagnostics import render_all
from perfdsl.eval.interpret import Interpreter

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(autouse=True)
def _own_cache(tmp_path, monkeypatch):
    """Each test gets an empty disk cache and an empty in-process cache."""
    monkeypatch.setenv("PERFDSL_CACHE", str(tmp_path / "cache"))
    codegen.clear_cache()
    yield
    codegen.clear_cache()


def _check(path: Path):
    result = compile_file(path)
    assert result.policy is not None, render_all(result.diagnostics, result.sources)
    return result.policy


def _write(tmp_path: Path, text: str, name: str = "p.perf"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return _check(path)


# ---- comparing the two backends --------------------------------------------------------
def _outcome(fn):
    try:
        return "ok", fn()
    except Exception as exc:  # noqa: BLE001 - the failure itself is what is compared
        return "error", (type(exc), str(exc))


def _same_result(got, want):
    assert got.record is want.record
    assert repr(got.values) == repr(want.values)  # same names, order and digits
    assert got.flags == want.flags
    assert got.tiers == want.tiers
    assert got.trace == want.trace
    assert repr(got.trace) == repr(want.trace)  # the digits inside the explanation too
    assert got.policy is want.policy


def _run_both(policy, records, *, cohort_stage: bool):
    """Evaluate `records` on both backends, with and without traces; assert they agree."""
    gen, ref = codegen.load_module(policy), Interpreter(policy)
    count = 0
    with decimal.localcontext(runtime.CONTEXT):
        for trace in (True, False):
            got, want = [], []
            for rec in records:
                g = _outcome(lambda rec=rec, trace=trace: gen.individual(rec, trace))
                w = _outcome(lambda rec=rec, trace=trace: ref.individual(rec, trace))
                assert g[0] == w[0], (g, w)
                if g[0] == "error":
                    assert g[1] == w[1]
                    continue
                _same_result(g[1], w[1])
                got.append(g[1])
                want.append(w[1])
                count += 1
            if cohort_stage and got:
                g = _outcome(lambda got=got: cohort.apply(policy, gen, got))
                w = _outcome(lambda want=want: cohort.apply(policy, ref, want))
                assert g == w
                for x, y in zip(got, want):
                    _same_result(x, y)
    return count


# ---- every bundled policy, every example -----------------------------------------------
def _bundled():
    out = []
    for path in sorted(glob.glob(str(ROOT / "policies" / "*.perf"))):
        out.append(pytest.param(path, id=Path(path).name))
    return out


@pytest.mark.parametrize("path", _bundled())
def test_bundled_policy_examples_match_the_interpreter(path):
    result = compile_file(path)
    if result.module:
        pytest.skip("a module without a policy block")
    if result.policy is None:
        pytest.skip("does not check")
    policy = result.policy
    assert policy.examples
    compared = 0
    for ex in policy.examples:
        compared += _run_both(policy, [rec for _, rec in ex.records], cohort_stage=ex.cohort)
    assert compared > 0


@pytest.mark.parametrize("path", _bundled())
def test_bundled_policy_source_compiles_and_is_deterministic(path):
    result = compile_file(path)
    if result.policy is None:
        pytest.skip("no policy")
    first = generate(result.policy)
    compile(first, path, "exec")
    assert generate(result.policy) == first
    assert generate(compile_file(path).policy) == first  # a fresh IR of the same file


# ---- a policy that uses every construct ------------------------------------------------
KITCHEN = r'''
policy kitchen "厨房" {
  key id
  scale 0..
  rank by total desc then id asc

  input id: text
  input dept: one of ("甲", "乙")
  input a: int in 0..
  input b: decimal in 0..100
  input c: decimal
  input flag1: bool
  input flag2: bool
  input xs: list of decimal in 0..25 length 3..
  input hist: list of grade

  table band(x) { x >= 90: 5  x >= 50: 3  otherwise: 1 }
  def half(v) = v / 2

  let l1 = band(b) + half(a)
  let l2 = round(b / 3, 2) + round(c, 1, half_even) + floor(c, 0) + ceil(c / 7, 3) + round(c * 1.005, 2)
  let l3 = mean(xs) + trimmed_mean(xs, 1) + sum(xs) + len(xs) + min(xs) + max(xs)
  let l4 = abs(c) + clamp(c, -5, 5) + min(a, b, 3) + max(a, 2) + ratio(b, 80) - -c
  let l5 = if flag1 and not flag2 or a > 3 then 1 else 0
  let l7 = if flag2 then 1 / (a - 3) else 0
  let l6 = count(xs, 10) + streak(xs + [b], 10) + sum([a, b, 1]) + len([]) + c / 3 * 3
  let l8 = sum(a, b, c, 1, 2, 3, 4, 5, 6, 7.5) + sum(c / 7, b)
  let l9 "列表项" = xs[0] + xs[-1] + last(xs) + (if a >= 2 then xs[a - 2] else 0)

  indicator q "质量" weight 40% {
    base 100
    deduct 5 per a "驳回" up to 20
    deduct 10 if flag1 "事故"
    add 3 if flag2 "奖" up to 2
    add (c / 3) if a > 1 "除"
    clamp 0..100
  }
  indicator r "效率" weight 60% {
    base l1 * 10
    add 2 per b "加" up to 50
    cap 90
    floor 10
  }
  indicator s "计算" { = l2 + l3 + l4 + l5 + l6 + l7 + l8 + l9 }
  indicator z "零" { add 1 if flag1 "一" }

  score total "总分" = weighted(q, r)

  tiers grade "等次" by total {
    优秀 >= 90
    良好 >= 80
    合格 >= 60
    不合格 otherwise
  }
  downgrade flag1 by 1 "降一"
  downgrade a >= 7 by 2 "降二"
  limit flag2 -> at most 良好 "限"
  veto c < -50 -> 不合格 "否1"
  veto c > 1000 -> 合格 "否2"

  indicator post_i "后" {
    base 1
    add 2 if grade == 优秀 "优"
    deduct 1 if grade == 不合格 "差"
  }
  outcome pay "工资" = if grade == 优秀 then 100 else total / 3
  outcome rel "相对" = total - mean(total) per dept
  outcome rel2 "同部门同事故相对" = total - mean(total) per (dept, flag1)
  outcome rk "名次" = rank(total) + rank_from_bottom(total)
  outcome cnt "计数" = count(flag1) per dept + sum(a) per dept + max(total) per dept + min(b) per dept

  flag "差" if grade == 不合格
  flag “今年优秀” if last(hist + [grade]) == 优秀 and not flagged("差")
  flag "前二" if rank(total) <= 2
  flag "高于平均" if total > mean(total) per dept
  flag "历史" if streak(hist + [grade], 不合格) >= 2 or (dept != "乙" and grade != 优秀 and a >= 9)

  quota 优秀 at most 30% rank by total desc then id asc ties share
}
'''

_DECIMALS = st.sampled_from(["0", "1", "2.5", "-3", "7", "100", "99.99", "1E+1", "-0", "0.000", "33.3333",
                             "-60", "1200", "45", "0.125", "-0.125", "2.675"]).map(Decimal)
_TIERS = st.sampled_from(["优秀", "良好", "合格", "不合格"])


@st.composite
def kitchen_record(draw, i=0):
    return {
        "id": f"e{i}", "dept": draw(st.sampled_from(["甲", "乙"])), "a": Decimal(draw(st.integers(0, 9))),
        "b": draw(st.sampled_from(["0", "50", "80", "90", "100", "12.5", "0.1", "66.67"]).map(Decimal)),
        "c": draw(_DECIMALS), "flag1": draw(st.booleans()), "flag2": draw(st.booleans()),
        "xs": tuple(draw(st.lists(st.sampled_from(["10", "20", "25", "0", "12.5", "3.333"]).map(Decimal),
                                  min_size=3, max_size=6))),
        "hist": tuple(draw(st.lists(_TIERS, max_size=3))),
    }


@st.composite
def kitchen_cohort(draw):
    n = draw(st.integers(1, 9))
    return [draw(kitchen_record(i)) for i in range(n)]


@pytest.fixture(scope="module")
def kitchen(tmp_path_factory):
    path = tmp_path_factory.mktemp("kitchen") / "kitchen.perf"
    path.write_text(KITCHEN, encoding="utf-8")
    return _check(path)


def test_kitchen_policy_uses_every_primitive(kitchen):
    from perfdsl.ir import children as _children
    from perfdsl.ir import Fn
    seen, stack = set(), list(kitchen.expressions())
    while stack:
        e = stack.pop()
        seen.add(getattr(e, "fn", type(e).__name__))
        stack.extend(_children(e))
    missing = {f for f in Fn if f not in seen}
    assert missing == set(), missing


@SETTINGS
@given(records=kitchen_cohort())
def test_kitchen_policy_matches_the_interpreter(kitchen, records):
    _run_both(kitchen, records, cohort_stage=True)


# ---- budget_engineer and a harder variant of it (hypothesis) ---------------------------
BUDGET_PLUS = r'''
policy budget_plus "预算工程师（加强）" {
  scale 0..
  key employee_id
  input employee_id: text
  input rejections: int in 0..
  input overdue: int in 0..
  input overrun: decimal in 0..
  input papers: int in 0..
  input major_accident: bool
  input warned: bool
  indicator quality "工作质量" weight 40% {
    base 100
    deduct 5 per rejections "被驳回一次扣5分" up to 40
    deduct 10 if warned "通报"
    floor 0
  }
  indicator efficiency "工作效率" weight 20% { base 100  deduct 3 per overdue "逾期"  clamp 0..100 }
  indicator cost "工作成本" weight 20% { = round(max(0, 100 - overrun / 3 * 3), 1) }
  indicator ability "工作能力" weight 20% { base 80  add 3 per papers "论文" up to 12  cap 100 }
  score total "总分" = weighted(quality, efficiency, cost, ability)
  tiers grade "等次" by total { 优秀 >= 90  良好 >= 80  合格 >= 60  不合格 otherwise }
  downgrade rejections >= 6 by 1 "驳回过多"
  limit warned -> at most 良好 "受通报"
  veto major_accident -> 不合格 "重大事故"
  outcome bonus "奖金" = if grade == 优秀 then total * 12.5 else total / 7
  flag "一票否决" if major_accident
  quota 优秀 at most 20% rank by total desc then employee_id asc
}
'''


@st.composite
def budget_record(draw, i=0, extra=True):
    rec = {
        "employee_id": f"e{i:02d}", "rejections": Decimal(draw(st.integers(0, 30))),
        "overdue": Decimal(draw(st.integers(0, 40))),
        "overrun": draw(st.decimals(0, 200, places=2, allow_nan=False, allow_infinity=False)),
        "papers": Decimal(draw(st.integers(0, 12))),
    }
    if extra:
        rec["major_accident"] = draw(st.booleans())
        rec["warned"] = draw(st.booleans())
    return rec


@st.composite
def budget_cohort(draw, extra=True):
    n = draw(st.integers(1, 10))
    return [draw(budget_record(i, extra)) for i in range(n)]


@SETTINGS
@given(records=budget_cohort(extra=False))
def test_budget_engineer_matches_the_interpreter(records):
    _run_both(_check(ROOT / "policies" / "budget_engineer.perf"), records, cohort_stage=True)


@pytest.fixture(scope="module")
def budget_plus(tmp_path_factory):
    path = tmp_path_factory.mktemp("budget") / "budget_plus.perf"
    path.write_text(BUDGET_PLUS, encoding="utf-8")
    return _check(path)


@SETTINGS
@given(records=budget_cohort())
def test_budget_variant_matches_the_interpreter(budget_plus, records):
    _run_both(budget_plus, records, cohort_stage=True)


# ---- expressions too deep for one Python expression ------------------------------------
def _deep_policy() -> str:
    rows = "\n".join(f"    x >= {200 - i}: {i}" for i in range(150))
    return f'''
policy deep "深" {{
  key id
  input id: text
  input a: decimal in 0..200
  input b: decimal in 0..10
  input f: bool
  table big(x) {{
{rows}
    otherwise: -1
  }}
  def g(x) = (x + 1) * 1.01 - b / 3
  def h(x) = (if x > 50 and (f or b > 2) then 1 else -1) * g(x) / (b - 5)
  def k(x) = if f and b > 2 then g(x) / (b - 4) else -1
  let t = big(a) + big(b * 10)
  let d = h(h(h(h(h(h(a))))))
  let e = k(k(k(k(k(k(k(k(k(k(k(k(k(k(k(a)))))))))))))))
  indicator ind "指" {{
    base 10
    add h(h(h(h(h(b))))) if f or h(h(h(h(h(b))))) > 3 "深加" up to 50
    deduct h(h(h(h(h(a))))) per b "深扣"
  }}
  score total = t + d + ind + e
  tiers grade by total {{ A >= 100  B otherwise }}
  downgrade h(h(h(h(h(h(a)))))) > 7 by 1 "深降"
  flag "深标" if h(h(h(h(h(b))))) > 1 and f
}}
'''


@pytest.fixture(scope="module")
def deep(tmp_path_factory):
    path = tmp_path_factory.mktemp("deep") / "deep.perf"
    path.write_text(_deep_policy(), encoding="utf-8")
    return _check(path)


def test_deep_expressions_become_statements(deep):
    source = generate(deep)
    compile(source, "deep", "exec")
    assert re.search(r"^ +t_\d+ = ", source, re.MULTILINE)  # lowered to one operation per statement
    assert max(len(ln) - len(ln.lstrip()) for ln in source.splitlines()) < 4 * 90


@settings(max_examples=40, deadline=None)
@given(a=st.sampled_from(["0", "49", "50", "51", "120", "150.5", "199", "200"]).map(Decimal),
       b=st.sampled_from(["0", "2", "3", "4", "5", "6.5", "10"]).map(Decimal), f=st.booleans())
def test_deep_expressions_match_the_interpreter(deep, a, b, f):
    # b = 5 and b = 4 divide by zero at different depths: the same error must come first
    _run_both(deep, [{"id": "x", "a": a, "b": b, "f": f}], cohort_stage=False)


# ---- hostile text: nothing from a policy may run ---------------------------------------
PAYLOAD = "__import__('os').system('touch SENTINEL')"


def _q(s: str) -> str:
    """A .perf string literal holding s."""
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def hostile_policy(sentinel: str) -> str:
    p = PAYLOAD.replace("SENTINEL", sentinel)
    nasty = ('""" \' \'\'\' \\ {{ x }} {% if 1 %}{% endif %} {# c #} ' + p
             + " \n \u200f\u202e 中文 \x0c \u2028 \x85 # perf line 1 [0]")
    parts = {
        "POLICY_LABEL": _q("标签 " + nasty), "L_ID": _q(p), "L_SYS": _q('"""' + p), "L_EVAL": _q("'" + p),
        "L_EXEC": _q("{{ " + p + " }}"), "TEXT": _q(nasty), "L_RT": _q(p + "\u200f"), "R1": _q(nasty),
        "R2": _q("\n" + p + "\n"), "R3": _q("{% raw %}" + p + "{% endraw %}"), "L_SCORE": _q(p),
        "L_TIERS": _q(p), "R_VETO": _q(nasty), "F1": _q(nasty),
        "F2": _q('"""); import os; os.system("touch ' + sentinel + '2") #'), "EX": _q(nasty),
    }
    src = '''policy __import__ POLICY_LABEL {
  key id
  input id: text L_ID
  input system: int in 0.. L_SYS
  input eval: bool L_EVAL
  input exec: decimal L_EXEC
  input self: decimal in 0..
  input K0: decimal in 0..
  input record: list of __class__
  let v_0 = system * 2 + K0
  let values = if id == TEXT then 1 else 0
  indicator rt L_RT weight 100% {
    base 100
    deduct 5 per system R1 up to 30
    deduct 7 if eval R2
    add values if exec > 3 R3
    clamp 0..100
  }
  score Decimal L_SCORE = weighted(rt) + v_0 * 0 + self
  tiers __class__ L_TIERS by Decimal {
    __import__ >= 90
    os >= 60
    中文等次 otherwise
  }
  veto exec > 1000 -> os R_VETO
  flag F1 if __class__ == __import__ or count(record + [__class__], 中文等次) >= 1
  flag F2 if eval
  example EX {
    given id = TEXT, system = 2, eval = true, exec = 5, self = 1, K0 = 0, record = [中文等次]
    expect rt = 84
  }
}
'''
    for k in sorted(parts, key=len, reverse=True):
        src = src.replace(k, parts[k])
    return src


_ALLOWED_NAMES = {
    "Decimal", "rt", "Result", "TierState", "self", "record", "values", "trace", "ctx", "result", "node",
    "nodes", "policy", "flags", "by", "idx", "new", "changed", "pinned", "limit", "moved", "uncapped",
    "before", "it", "tt", "exc", "fn", "kind", "i", "n", "x", "site", "tb", "SPANS", "SOURCE_HASH",
    "GENERATOR", "NODE_KINDS", "_ZERO", "_GLOBALS", "_record", "_annotate", "Backend", "Exception",
    "ValueError", "globals", "getattr", "enumerate", "len", "tuple", "any", "min", "max", "abs", "sum",
    "bool", "int", "id", "bind", "folder", "FILES", "SITES", "RANKINGS", "GROUPS", "PATHS", "W", "f", "line", "col",
    "amount", "ceiling", "_groups", "by_index",
    # the input check and the output row (templates/validation.j2)
    "raw", "get", "t", "type", "str", "dict", "_ONE", "_BANDED", "_STATE", "_listed", "_read_list", "_read_number", "check", "_row",
}
_GENERATED_NAME = re.compile(r"(?:[ivtsuc]_\d+|K\d+|_group_\d+|(?:moved|uncapped|amount|before)\d+)\Z")


def _assert_inert(source: str):
    """Every identifier of the module is generated or from a fixed vocabulary; no policy
    text is a name, an attribute, an import or a call target."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            assert name not in {"__import__", "system", "eval", "exec", "compile", "open", "getattr"} \
                or ast.unparse(node) == "getattr(exc, '__notes__', ())", ast.unparse(node)
        if isinstance(node, ast.Name):
            assert node.id in _ALLOWED_NAMES or _GENERATED_NAME.match(node.id), node.id
        if isinstance(node, ast.Attribute):
            assert node.attr.isascii() and "import" not in node.attr and node.attr not in {"system", "os"}, node.attr
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = tuple(a.name for a in node.names)
            assert (isinstance(node, ast.ImportFrom) and (node.module, names) in {
                ("decimal", ("Decimal",)), ("perfdsl", ("runtime",))}), \
                ast.unparse(node)
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            assert node.name in _ALLOWED_NAMES or _GENERATED_NAME.match(node.name) or node.name in {
                "__init__", "individual", "post", "cohort", "group_arg", "_group_fn",
                "evaluate", "row"}, node.name
    imports = [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert len(imports) == 2  # generated code imports only perfdsl.runtime (and decimal)


@pytest.fixture
def hostile(tmp_path):
    sentinel = tmp_path / "PWNED"
    folder = tmp_path / "dir ' \" {{ x }} {% y %} \\ 中文\u200f #"
    folder.mkdir()
    path = folder / "p'\"{{z}}\u202e{%e%}.perf"
    path.write_text(hostile_policy(str(sentinel)), encoding="utf-8")
    return _check(path), sentinel


def test_hostile_policy_compiles_and_runs_no_policy_text(hostile):
    policy, sentinel = hostile
    source = generate(policy)
    compile(source, "hostile", "exec")
    _assert_inert(source)
    compared = 0
    for ex in policy.examples:
        compared += _run_both(policy, [rec for _, rec in ex.records], cohort_stage=True)
    assert compared
    gen = codegen.load_module(policy)
    with decimal.localcontext(runtime.CONTEXT):
        r = gen.individual(policy.examples[0].records[0][1], True)
    assert r.values["rt"] == 84 and r.values["values"] == 1  # the text constant compared equal, as data
    assert not sentinel.exists() and not Path(str(sentinel) + "2").exists()


def test_hostile_strings_survive_exactly(hostile):
    policy, _ = hostile
    gen = codegen.load_module(policy)
    rec = dict(policy.examples[0].records[0][1])
    with decimal.localcontext(runtime.CONTEXT):
        r = gen.individual(rec, True)
    it = r.trace.indicators[0]
    src_adj = policy.definition("rt").indicator.adjustments
    assert [s.reason for s in it.steps] == [a.reason for a in src_adj]
    assert it.label == policy.definition("rt").label
    assert r.flags == [f.label for f in policy.flags]
    assert r.trace.tiers[0].changes[0].after == "os"
    with decimal.localcontext(runtime.CONTEXT):
        plain = gen.individual(rec, False)  # the same one method, its trace blocks skipped
    assert plain.trace is None and plain.values == r.values and plain.flags == r.flags


def test_line_map_is_recorded_while_writing(hostile):
    """SPANS is written with the lines, not scraped from comments: every statement of a
    definition maps to that definition's place, whatever its text holds (the hostile
    strings carry `# perf line 1 [0]`)."""
    policy, _ = hostile
    source = generate(policy)
    ns: dict = {}
    exec(compile(source, "hostile", "exec"), ns)
    ns["bind"]("/x")
    places = {d.name: (d.span.line, d.span.col) for d in policy.definitions}
    current, checked = None, 0
    for number, text in enumerate(source.split("\n"), start=1):
        m = re.match(r" +# v_\d+: (.+)$", text)
        if m:
            current = ast.literal_eval(m.group(1))
        elif re.match(r" +(flags = \[\]|except Exception|def )", text):
            current = None
        elif current is not None and number in ns["SPANS"]:
            _file, line, col = ns["SITES"][ns["SPANS"][number]]
            assert (line, col) == places[current], (number, text)
            checked += 1
    assert checked > 10
    assert "# perf line" not in "".join(ln for ln in source.split("\n") if not ln.lstrip().startswith(("'", '"')) and "'" not in ln)


# ---- the template guard ----------------------------------------------------------------
def test_policy_text_cannot_be_printed_without_pylit():
    env = environment()
    with pytest.raises(TypeError):
        env.from_string("{{ x }}").render(x=Text("__import__('os')"))
    with pytest.raises(TypeError):
        env.from_string("{{ x }}").render(x=Decimal("1"))
    with pytest.raises(TypeError):
        env.from_string("{{ x ~ '' }}").render(x=Text("a"))
    assert env.from_string("{{ x|pylit }}").render(x=Text("a'\"\n")) == repr("a'\"\n")
    import jinja2
    with pytest.raises(jinja2.UndefinedError):
        env.from_string("{{ y }}").render()  # StrictUndefined


@pytest.mark.parametrize("bad", ["'x'", '"', "a # b", "a\nb", "\\", "{x}", "f(x);g", "中文"])
def test_code_fragments_hold_no_text(bad):
    with pytest.raises(ValueError):
        Code(bad)


def test_pylit():
    assert pylit(Decimal("1.50")) == "Decimal('1.50')"
    assert pylit(Decimal("-0")) == "Decimal('-0')"
    assert pylit(("a", Decimal("2"))) == "('a', Decimal('2'))"
    assert pylit(("a",)) == "('a',)"
    assert pylit(None) == "None" and pylit(True) == "True"
    assert eval(pylit("\u2028\x85\u200f'\"\\")) == "\u2028\x85\u200f'\"\\"
    with pytest.raises(TypeError):
        pylit(1.5)


# ---- the module's shape ----------------------------------------------------------------
def test_header_imports_and_spans():
    policy = _check(ROOT / "policies" / "budget_engineer.perf")
    source = generate(policy)
    lines = source.split("\n")
    assert lines[0] == "# generated by perfdsl — do not edit"
    assert policy.source_hash in lines[3]
    _assert_inert(source)
    ns: dict = {}
    exec(compile(source, "b", "exec"), ns)
    assert ns["SOURCE_HASH"] == policy.source_hash
    spans = ns["SPANS"]
    assert spans
    assert ns["FILES"] == ((True, "budget_engineer.perf"), (False, "stdlib/tiers/four_level.perf"))
    for line, site in spans.items():
        file, perf_line, _col = ns["SITES"][site]
        assert file in (0, 1) and perf_line > 0
    adjust = policy.definition("quality").span
    assert (0, adjust.line, adjust.col) in ns["SITES"]


def test_module_names_no_machine_path_and_runs_on_the_runtime_alone(tmp_path):
    """A compiled module carries file names relative to the policy's folder and its own
    tables of rank orders and group keys; run in a fresh interpreter it imports nothing
    of perfdsl but perfdsl.runtime, and gives the reference's values, trace (as data) and
    error places. Wording an explanation needs the checked policy, which it does not have."""
    folder = tmp_path / "deep folder"
    folder.mkdir()
    text = (ROOT / "policies" / "branch_employees.perf").read_text(encoding="utf-8")
    (folder / "branch_employees.perf").write_text(text, encoding="utf-8")
    policy = _check(folder / "branch_employees.perf")
    source = generate(policy)
    assert str(tmp_path) not in source and str(ROOT) not in source
    (tmp_path / "mod.py").write_text(source, encoding="utf-8")
    script = (
        "import sys, json, decimal\n"
        "sys.path.insert(0, sys.argv[1])\n"
        "import mod\n"
        "mod.bind(sys.argv[2])\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('perfdsl'))\n"
        "b = mod.Backend(None)\n"
        "rec = {'employee_id': 'e1', 'dist_group': 'g', 'performance': decimal.Decimal('95'),"
        " 'behavior': decimal.Decimal('90'), 'dept_rating': '优秀', 'violation_minor': False,"
        " 'violation_severe': False, 'history': ()}\n"
        "with decimal.localcontext(mod.rt.CONTEXT):\n"
        "    r = b.individual(rec, False)\n"
        "    t = b.individual(rec, True)\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('perfdsl'))\n"
        "try:\n"
        "    t.explain()\n"
        "    said = ''\n"
        "except ValueError as err:\n"
        "    said = str(err)\n"
        "print(json.dumps([loaded, {k: str(v) for k, v in r.values.items()}, mod.RANKINGS, mod.W[0], r.trace is None,"
        " repr(t.trace), said]))\n")
    out = subprocess.run([sys.executable, "-c", script, str(tmp_path), str(folder)], cwd=tmp_path, check=True,
                         capture_output=True, text=True).stdout
    import json
    loaded, values, rankings, first_site, untraced, trace, said = json.loads(out)
    assert all(m == "perfdsl" or m.startswith("perfdsl.runtime") for m in loaded), loaded
    assert "perfdsl.runtime" in loaded
    assert values["total"] == "93.50" and values["grade"] == "优秀"
    assert rankings  # distribute's order, as data
    assert first_site.startswith(str(folder / "branch_employees.perf") + ":")
    rec = {"employee_id": "e1", "dist_group": "g", "performance": Decimal("95"), "behavior": Decimal("90"),
           "dept_rating": "优秀", "violation_minor": False, "violation_severe": False, "history": ()}
    with decimal.localcontext(runtime.CONTEXT):
        want = Interpreter(policy).individual(rec, True)
    assert untraced and trace == repr(want.trace)  # the reference's trace, recorded by the module alone
    assert "load the policy" in said


def test_one_individual_stage_whose_run_without_a_trace_builds_no_trace_objects(monkeypatch):
    """The module holds the individual stage once: every statement that builds or records
    the explanation sits inside `if trace is not None:`, so a run without a trace builds
    none (the trace classes failing changes nothing), and a traced run equals the reference."""
    policy = _check(ROOT / "policies" / "budget_engineer.perf")
    source = generate(policy)
    tree = ast.parse(source)
    methods = [n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]
    assert methods.count("individual") == 1 and len(methods) == len(set(methods))
    individual = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "individual")

    def guarded(node, inside=False):
        if isinstance(node, ast.If) and ast.unparse(node.test) == "trace is not None":
            inside = True
        if isinstance(node, ast.Attribute) and node.attr in {"IndicatorTrace", "AdjustStep", "BoundHit", "TierTrace",
                                                             "TierChange", "steps", "bounds", "indicators", "tiers"}:
            assert inside, ast.unparse(node)
        if isinstance(node, ast.Name) and node.id in {"it", "tt"}:
            assert inside, node.id
        for child in ast.iter_child_nodes(node):
            guarded(child, inside)
    guarded(individual)
    gen = codegen.load_module(policy)
    record = {"employee_id": "e1", "papers": Decimal(2), "overrun": Decimal(3), "overdue": Decimal(1),
              "rejections": Decimal(30)}
    with decimal.localcontext(runtime.CONTEXT):
        want = Interpreter(policy).individual(record, True)
        _same_result(gen.individual(record, True), want)
        for name in ("Trace", "IndicatorTrace", "AdjustStep", "BoundHit", "TierTrace", "TierChange"):
            monkeypatch.setattr(runtime, name, None)  # calling one would fail
        fast = gen.individual(record, False)
    assert fast.trace is None and repr(fast.values) == repr(want.values) and fast.tiers == want.tiers


# ---- errors cite the policy ------------------------------------------------------------
def test_errors_match_the_interpreter_and_cite_the_policy_line(tmp_path):
    policy = _write(tmp_path, '''policy div "除" {
  key id
  input id: text
  input n: decimal
  let ok = n + 1
  let bad = 10 / n
  score total = ok + bad
}
''')
    gen, ref = codegen.load_module(policy), Interpreter(policy)
    with decimal.localcontext(runtime.CONTEXT):
        for trace in (True, False):
            with pytest.raises(runtime.EvalError) as got:
                gen.individual({"id": "a", "n": Decimal(0)}, trace)
            with pytest.raises(runtime.EvalError) as want:
                ref.individual({"id": "a", "n": Decimal(0)}, trace)
            assert str(got.value) == str(want.value) and got.value.where == want.value.where
            assert codegen.policy_site(got.value) == (str(tmp_path / "p.perf"), 6, 3)
            assert any("p.perf:6:3" in n for n in got.value.__notes__)
        with pytest.raises(KeyError) as missing:
            gen.individual({"id": "a"}, False)
        assert missing.value.args == ("n",)
        assert codegen.policy_site(missing.value) == (str(tmp_path / "p.perf"), 4, 3)  # `input n`


# ---- the cache -------------------------------------------------------------------------
def test_disk_cache_is_read_instead_of_rendering(tmp_path, monkeypatch):
    policy = _check(ROOT / "policies" / "budget_engineer.perf")
    first = codegen.load_module(policy)
    files = list((tmp_path / "cache").glob("*.py"))
    assert len(files) == 1 and files[0].read_text(encoding="utf-8") == generate(policy)
    assert files[0].name.startswith(policy.source_hash[:32])
    codegen.clear_cache()

    def no_render(ir):
        raise AssertionError("rendered again")
    monkeypatch.setattr(codegen, "generate", no_render)
    second = codegen.load_module(policy)
    assert second.module is not first.module
    assert second.module.__source__ == first.module.__source__
    rec = {"employee_id": "e", "rejections": Decimal(1), "overdue": Decimal(0), "overrun": Decimal(0), "papers": Decimal(0)}
    with decimal.localcontext(runtime.CONTEXT):
        assert second.individual(rec, False).values == first.individual(rec, False).values


def test_in_process_cache_by_hash_and_content(tmp_path):
    policy = _check(ROOT / "policies" / "budget_engineer.perf")
    a, b = codegen.load_module(policy), codegen.load_module(policy)
    assert a.module is b.module and a is not b
    # The key is the policy's source hash and the compiler's fingerprint: changed text, new module.
    text = (ROOT / "policies" / "budget_engineer.perf").read_text(encoding="utf-8")
    changed = tmp_path / "budget_engineer.perf"
    changed.write_text(text.replace("deduct 3 per overdue", "deduct 4 per overdue"), encoding="utf-8")
    c = codegen.load_module(_check(changed))
    assert c.module is not a.module and "K" in c.module.__source__
    assert codegen.load_module(_check(changed)).module is c.module


def test_damaged_or_foreign_cache_files_are_ignored(tmp_path):
    policy = _check(ROOT / "policies" / "budget_engineer.perf")
    codegen.load_module(policy)
    [path] = (tmp_path / "cache").glob("*.py")
    good = path.read_text(encoding="utf-8")
    path.write_text(good[: len(good) // 2], encoding="utf-8")  # truncated
    codegen.clear_cache()
    assert codegen.load_module(policy).module.__source__ == good
    assert path.read_text(encoding="utf-8") == good  # repaired
    if hasattr(os, "getuid"):
        path.write_text(good.replace("class Backend:", "raise SystemExit('planted')\nclass Backend:"), encoding="utf-8")
        path.chmod(0o666)  # writable by anyone: not trusted
        codegen.clear_cache()
        assert codegen.load_module(policy).module.__source__ == good


def test_unwritable_cache_dir_is_skipped_silently(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("PERFDSL_CACHE", str(blocker / "sub"))
    policy = _check(ROOT / "policies" / "budget_engineer.perf")
    assert codegen.load_module(policy).module.__source__ == generate(policy)
    if hasattr(os, "getuid") and os.getuid() != 0:
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(stat.S_IRUSR | stat.S_IXUSR)
        monkeypatch.setenv("PERFDSL_CACHE", str(locked))
        codegen.clear_cache()
        assert codegen.load_module(policy).module.__source__ == generate(policy)
    monkeypatch.setenv("PERFDSL_CACHE", "")
    assert resources.cache_dir() is None
    codegen.clear_cache()
    assert codegen.load_module(policy).module.__source__ == generate(policy)


def test_hostile_source_hash_does_not_choose_the_cache_path(tmp_path):
    policy = _check(ROOT / "policies" / "budget_engineer.perf")
    evil = dataclasses.replace(policy, source_hash="../../../escaped")
    codegen.load_module(evil)
    assert not (tmp_path / "escaped").exists() and not list(tmp_path.glob("*.py"))
    assert len(list((tmp_path / "cache").glob("*.py"))) == 1


def test_source_is_identical_across_processes():
    script = ("import sys; from perfdsl.check import compile_file; from perfdsl.codegen.python import generate; "
              "sys.stdout.write(generate(compile_file(sys.argv[1]).policy))")
    path = str(ROOT / "policies" / "village_clinic.perf")
    outs = []
    for seed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        outs.append(subprocess.run([sys.executable, "-c", script, path], cwd=ROOT, env=env, check=True,
                                   capture_output=True).stdout)
    assert outs[0] == outs[1] == generate(_check(Path(path))).encode("utf-8")


# ---- through the public API ------------------------------------------------------------
def test_policy_api_uses_the_generated_backend():
    from perfdsl.policy import load
    policy = load(ROOT / "policies" / "budget_engineer.perf")
    assert policy.backend is not policy.reference and hasattr(policy.backend, "module")
    rec = {"employee_id": "e1", "rejections": 3, "overdue": 4, "overrun": "2.5", "papers": 2}
    got, want = policy.evaluate(rec), policy.reference.individual(policy.validate([rec])[0], True)
    assert repr(got.values) == repr(want.values) and got.trace == want.trace


def test_long_table_of_hostile_text_is_data(tmp_path):
    """A long table (scanned by rt.band) whose results are hostile strings: they stay
    constants, the module is inert, and every row gives the reference's value."""
    payload = ["\\n" + PAYLOAD + "\\n", "'''" + PAYLOAD, '"""); ' + PAYLOAD + " #", "{{ x }} {% y %}", "# perf line 1 [0]",
               "\u202e\u2028", "中文", "\\\\", "a'b\"c", "x"]
    rows = "\n".join(f"    x >= {100 - 10 * i}: {_q(s)}" for i, s in enumerate(payload[:-1]))
    policy = _write(tmp_path, f'''policy band_text "带" {{
  key id
  input id: text
  input a: decimal in 0..100
  table words(x) {{
{rows}
    otherwise: {_q(payload[-1])}
  }}
  let w = words(a)
  flag "中" if words(a) == {_q(payload[6])}
}}
''')
    source = generate(policy)
    _assert_inert(source)
    assert "rt.band(" in source
    records = [{"id": str(i), "a": Decimal(v)} for i, v in enumerate(["100", "95", "90", "41", "40", "39.5", "0", "10"])]
    assert _run_both(policy, records, cohort_stage=False) == 2 * len(records)
