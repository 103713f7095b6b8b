"""Issue 9, backend side: run-time arithmetic errors are data errors on every backend
(item 7), the columnar backend accepts what the python backend accepts, with the same
digits (differential findings), a plain flag before a `rank_from_bottom` flag (item 14),
every backend in agreement testing (item 14), and `verify` after a plain install,
leaving no `.hypothesis/` behind (item 19)."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
import warnings
from decimal import Decimal as D
from pathlib import Path

import pytest

from perfdsl.check import compile_file
from perfdsl.cli import main
from perfdsl.columnar import ColumnarFallback, run_table
from perfdsl.columnar.agreement import outcome_columnar, outcome_reference
from perfdsl.columnar.inputs import frame_from_records
from perfdsl.io import DataError
from perfdsl.policy import Policy

ROOT = Path(__file__).resolve().parent.parent
BACKENDS = ["python", "reference", "columnar"]


def _ir(policy_file, text: str):
    result = compile_file(policy_file(text))
    assert result.policy is not None, [str(d) for d in result.diagnostics]
    return result.policy


def _problems(ir, backend: str, records: list[dict]) -> list[str]:
    """The problems a backend reports for validated records (DataError expected)."""
    with pytest.raises(DataError) as err:
        if backend == "columnar":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ColumnarFallback)
                run_table(ir, frame_from_records(ir, records), validate=False)
        else:
            Policy(ir, backend=backend).evaluate_cohort(records, trace=False, validate=False)
    return [str(p) for p in err.value.problems]


def _run_cli(tmp_path, policy: Path, data: str, backend: str, capsys):
    src = tmp_path / "data.csv"
    src.write_text(data, encoding="utf-8")
    out = tmp_path / f"out_{backend}.csv"
    code = main(["run", str(policy), "--input", str(src), "--output", str(out), "--backend", backend])
    captured = capsys.readouterr()
    return code, captured.err, out


# ---- item 7: run-time arithmetic errors ------------------------------------------------------
ROUND_27 = '''policy r {
  key id
  input id: text
  input x: decimal in 0..
  let y = round(x / 3, 27)
  score total = x
}
'''


@pytest.mark.parametrize("backend", BACKENDS)
def test_round_beyond_28_digits_is_a_row_error_and_writes_nothing(tmp_path, policy_file, capsys, backend):
    path = policy_file(ROUND_27)
    code, err, out = _run_cli(tmp_path, path, "id,x\na,3\nb,50\n", backend, capsys)
    assert code == 1 and not out.exists() and "Traceback" not in err
    assert f"row 3: {path}:5:3: `y`: rounding 16.66666666666666666666666667 to 27 decimal(s) needs 29 " \
           "significant digits; a number holds at most 28" in err.splitlines()
    assert "1 problem(s); nothing was written" in err


@pytest.mark.parametrize("backend", BACKENDS)
def test_village_clinic_population_near_1e28_names_the_row_and_definition(tmp_path, capsys, backend):
    # The bundled policy bounds the population; this copy keeps the seed's unbounded input.
    policy = tmp_path / "village_clinic.perf"
    bundled = (ROOT / "policies" / "village_clinic.perf").read_text(encoding="utf-8")
    bounded = re.search(r"input population: int in 0\.\.1000000 ", bundled)
    assert bounded is not None
    policy.write_text(bundled.replace(bounded.group(0), "input population: int in 0..        "), encoding="utf-8")
    head = ("clinic_id,basic_medical,public_health,ncms,integration,admin_finance,environment,satisfaction,"
            "population,top3_last_year,bottom3_fail_last_year,failed_first_half\n")
    rows = ["v1,28,27,9,8,4,4,9,1500,false,false,false",
            "v2,20,20,6,6,3,3,6,9999999999999999999999999999,false,false,false",
            "v3,20,20,6,6,3,3,6,5000000000000000000000000,false,false,false"]
    code, err, out = _run_cli(tmp_path, policy, head + "\n".join(rows) + "\n", backend, capsys)
    line = policy.read_text(encoding="utf-8").splitlines().index("  let standard = round(population / 1200 * 8000, 2)") + 1
    assert code == 1 and not out.exists() and "Traceback" not in err
    assert err.splitlines()[-2:] == [
        f"row 3: {policy}:{line}:3: `standard`: rounding 66666666666666666666666666660 to 2 decimal(s) needs 31 "
        "significant digits; a number holds at most 28",
        "1 problem(s); nothing was written"]


SQUARES = "policy sq {\n  key id\n  input id: text\n  input x: decimal in 0..\n  let p0 = x\n" + "".join(
    f"  let p{i} = p{i - 1} * p{i - 1}\n" for i in range(1, 18)) + "  score total = x\n}\n"


@pytest.mark.parametrize("backend", BACKENDS)
def test_overflow_is_a_row_error_naming_the_definition(policy_file, backend):
    ir = _ir(policy_file, SQUARES)
    path = ir.file
    records = [{"id": "a", "x": D(2)}, {"id": "b", "x": D("1E+20")}]
    # (1E+20)^(2^16) = 1E+1310720 passes the largest decimal, 1E+999999, at p16
    assert _problems(ir, backend, records) == [
        f"row 2: {path}:21:3: `p16`: a result exceeds the largest decimal number (overflow)"]


COHORT_DIVISION = '''policy cd {
  key id
  rank by total desc then id asc
  input id: text
  input dept: text
  input x: decimal in 0..100
  score total = x
  let spread = 10 / (rank(total) - 1)
}
'''


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_error_of_the_cohort_stage_is_its_rows_error(policy_file, backend):
    ir = _ir(policy_file, COHORT_DIVISION)
    records = [{"id": "a", "dept": "d", "x": D(50)}, {"id": "b", "dept": "d", "x": D(90)},
               {"id": "c", "dept": "d", "x": D(70)}]
    assert _problems(ir, backend, records) == [f"row 2: {ir.file}:8:16: division by zero"]


GROUP_VALUE = '''policy gv {
  key id
  input id: text
  input dept: text
  input x: decimal in 0..
  score total = x
  let s = sum(round(x / 3, 27)) per dept
}
'''


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_group_value_that_fails_is_its_members_error(policy_file, backend):
    ir = _ir(policy_file, GROUP_VALUE)
    records = [{"id": "a", "dept": "d", "x": D(3)}, {"id": "b", "dept": "e", "x": D(1)},
               {"id": "c", "dept": "d", "x": D(50)}, {"id": "d", "dept": "d", "x": D(60)}]
    assert _problems(ir, backend, records) == [
        f"row 3: {ir.file}:7:11: `sum(…) per dept`: rounding 16.66666666666666666666666667 to 27 decimal(s) "
        "needs 29 significant digits; a number holds at most 28",
        f"row 4: {ir.file}:7:11: `sum(…) per dept`: rounding 20 to 27 decimal(s) "
        "needs 29 significant digits; a number holds at most 28"]


@pytest.mark.parametrize("backend", ["python", "reference"])
def test_one_subject_gets_the_same_data_error(policy_file, backend):
    policy = Policy(_ir(policy_file, ROUND_27), backend=backend)
    with pytest.raises(DataError) as err:
        policy.evaluate({"id": "b", "x": D(50)})
    assert str(err.value).endswith("`y`: rounding 16.66666666666666666666666667 to 27 decimal(s) needs 29 "
                                   "significant digits; a number holds at most 28")


# ---- the columnar backend accepts what the python backend accepts ---------------------------
WIDE = '''policy wide {
  key id
  rank by total desc then id asc
  input id: text
  input x: decimal
  input n: int
  let plain = x
  let big = n
  let neg = -x
  let size = abs(x)
  score total = n / 3 + x / 7
  flag "前二" if rank(total) <= 2
  flag "x大" if x > 2
}
'''


def test_columnar_takes_wide_inputs_and_totals_with_the_python_digits(policy_file):
    ir = _ir(policy_file, WIDE)
    records = [{"id": "a", "x": D("1E-40"), "n": D(10) ** 39},          # one common scale: 10^42, past Int128
               {"id": "b", "x": D(85), "n": D(5)},
               {"id": "c", "x": D("1.2345678901234567890123456789012345"), "n": D(7)}]  # 35 digits
    rows, warned = outcome_columnar(ir, records)
    assert (rows, warned) == outcome_reference(Policy(ir, backend="reference"), records)
    a, b, c = rows
    assert a["plain"] == D("1E-40") and a["big"] == D(10) ** 39
    assert a["total"] == D("3.333333333333333333333333333E+38") and a["flags"] == "前二"
    assert b["total"] == D("13.80952380952380952380952381") and b["flags"] == "前二;x大"
    assert c["plain"] == D("1.2345678901234567890123456789012345")
    assert c["neg"] == D("-1.234567890123456789012345679")   # `-x` keeps 28 digits, as the reference
    assert c["size"] == D("1.234567890123456789012345679") and c["flags"] == ""


@pytest.mark.parametrize("backend", ["python", "columnar"])
def test_cli_runs_wide_numbers_on_every_backend(tmp_path, policy_file, capsys, backend):
    path = policy_file(WIDE)
    data = "id,x,n\na,1E-40,1000000000000000000000000000000000000000\nb,85,5\n"
    code, err, out = _run_cli(tmp_path, path, data, backend, capsys)
    assert code == 0 and "Traceback" not in err
    assert out.read_text(encoding="utf-8-sig").splitlines() == [
        "id,plain,big,neg,size,total,flags",
        "a,0.0000000000000000000000000000000000000001,1000000000000000000000000000000000000000,"
        "-0.0000000000000000000000000000000000000001,0.0000000000000000000000000000000000000001,"
        "333333333333333333333333333300000000000,前二",
        "b,85,5,-85,85,13.80952380952380952380952381,前二;x大"]


# ---- item 14: a plain flag before a rank_from_bottom flag; every backend compared -----------
BOTTOM = '''policy bottom {
  key id
  rank by total desc then id asc
  input id: text
  input s: decimal in 0..100
  score total = s
  flag "及格" if total >= 60
  flag "后三名" if rank_from_bottom(total) <= 3
}
'''


def test_plain_flag_before_rank_from_bottom_flag_on_columns(policy_file):
    ir = _ir(policy_file, BOTTOM)
    records = [{"id": k, "s": D(s)} for k, s in zip("abcde", (50, 70, 80, 90, 65))]
    rows, _ = outcome_columnar(ir, records)
    assert [r["flags"] for r in rows] == ["后三名", "及格;后三名", "及格", "及格", "及格;后三名"]
    assert (rows, []) == outcome_reference(Policy(ir, backend="reference"), records)


def test_verify_backends_compares_the_columnar_backend(policy_file, capsys, monkeypatch):
    from perfdsl.verify import agreement
    assert {"python", "columnar"} <= set(agreement.BACKENDS)
    path = policy_file(BOTTOM)
    assert main(["verify", str(path), "--examples", "10", "--seed", "1", "--backends"]) == 0
    assert "PASS   backends agree" in capsys.readouterr().out

    def wrong_columnar(ir):  # a columnar backend that loses every flag
        return lambda records: (lambda o: o if o[0] == "error" else
                                ([dict(r, flags="") for r in o[0]], o[1]))(outcome_columnar(ir, records))
    monkeypatch.setitem(agreement.BACKENDS, "columnar", wrong_columnar)
    assert main(["verify", str(path), "--examples", "10", "--seed", "1", "--backends"]) == 1
    assert "FAIL   backends: bottom: columnar and reference disagree on a cohort of" in capsys.readouterr().out


# ---- item 19: verify after a plain install, leaving nothing behind --------------------------
def test_hypothesis_is_a_dependency_of_a_plain_install():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert "hypothesis>=6.100,<7" in project["dependencies"]


def test_verify_leaves_no_hypothesis_directory_in_the_working_directory(tmp_path):
    policy = tmp_path / "p.perf"
    policy.write_text(BOTTOM, encoding="utf-8")  # `--backends` searches with hypothesis
    work = tmp_path / "work"
    work.mkdir()
    env = dict(os.environ, PERFDSL_CACHE=str(tmp_path / "cache"))
    env.pop("HYPOTHESIS_STORAGE_DIRECTORY", None)
    proc = subprocess.run([sys.executable, "-m", "perfdsl", "verify", str(policy), "--examples", "20", "--backends"],
                          cwd=work, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "PASS   backends agree on 20 drawn subjects and cohorts" in proc.stdout
    assert list(work.iterdir()) == []


def test_columnar_writes_numbers_with_more_than_18_decimals(policy_file):
    """polars makes the divisor 10^19 of a Decimal conversion null: such columns used to
    come out empty (None) on the columnar backend."""
    ir = _ir(policy_file, "policy fine {\n  key id\n  input id: text\n  input x: decimal\n  let m = x * 3\n}\n")
    records = [{"id": "a", "x": D("0.00000000000000000001")}, {"id": "b", "x": D("5E-20")}]
    rows, _ = outcome_columnar(ir, records)
    assert [r["m"] for r in rows] == [D("3E-20"), D("1.5E-19")]
    assert (rows, []) == outcome_reference(Policy(ir, backend="reference"), records)


def test_verify_reports_an_arithmetic_error_in_a_property(policy_file, capsys):
    path = policy_file(ROUND_27.replace("  let y = round(x / 3, 27)\n", "")[:-2]
                       + '  property "p": round(x / 3, 27) >= 0\n}\n')
    assert main(["verify", str(path), "--examples", "50", "--seed", "1"]) == 1
    out = capsys.readouterr().out
    assert "FAIL   p: counterexample" in out and "Traceback" not in out
    assert f'    evaluation failed: {path}:6:3: property "p": rounding ' in out
    assert " to 27 decimal(s) needs " in out and " significant digits; a number holds at most 28" in out


# ---- every backend on the extremes valid data may hold ---------------------------------------
CONSTRUCTS = '''policy many {
  key id
  rank by total desc then id asc
  input id: text
  input dept: bool
  input x: decimal
  input y: decimal in 0..
  input n: int
  let a = -x
  let b = abs(x)
  let c = round(y, 2)
  let d = round(x * 2, 0)
  let e = min(x, y)
  let f = max(x, n)
  let g = clamp(x, 0, 100)
  let h = if x > y then x else y
  let k = x + y
  let m = x * n
  let q = floor(y / 4, 3)
  let s = sum(x) per dept
  let mx = max(y) per dept
  let mn = mean(y) per dept
  let cnt = count(x > 1) per dept
  let r = rank(total)
  score total = n / 3 + y
  tiers grade by total {
    优 >= 90
    良 >= 0.0000000000000000000000000000001
    差 otherwise
  }
  quota 优 at most 50% per dept rank by total desc then id asc
  flag "大" if x > 85 and rank_from_bottom(total) <= 2
  flag "等" if x == y
}
'''


@pytest.mark.parametrize("backend", ["python", "columnar"])
def test_every_backend_agrees_on_wide_numbers(policy_file, backend):
    from perfdsl.verify.agreement import disagreements
    ir = _ir(policy_file, CONSTRUCTS)
    assert disagreements(ir, examples=60, seed=2, backends=[backend], wide=True) == []


DISTRIBUTE_WHEN = '''policy dw {
  key id
  input id: text
  input budget: decimal in 0..
  input x: decimal in 0..100
  score total = x
  tiers grade by total {
    优 >= 90
    良 >= 60
    差 otherwise
  }
  distribute rank by total desc then id asc {
    优 0%..30%
    when 100 / budget > 1: 优 0..0
  }
}
'''


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_when_that_cannot_be_computed_is_a_cohort_problem(policy_file, backend):
    ir = _ir(policy_file, DISTRIBUTE_WHEN)
    records = [{"id": "a", "budget": D(0), "x": D(95)}, {"id": "b", "budget": D(0), "x": D(70)}]
    assert _problems(ir, backend, records) == [f"the whole cohort: {ir.file}:14:10: division by zero"]
