"""Issue 11's done-condition: `perfdsl run --backend duckdb` and `--backend spark` write the
python backend's output files, cell by cell, on EVERY bundled scheme (policies/*.perf, the
module files aside).

Each scheme gets a seeded, realistic data file written from its declarations: numbers
inside their ranges and often on the policy's own thresholds (compared_constants), cohort
groups drawn from a handful of names so quotas and distributions really cut, `when`
fields constant per group, few violations, and a share of subjects that copy another's
inputs under a new key, so equal totals meet at the cuts (the bundled rules break them by
key; a tie the policy leaves open would be the same error on every backend, and the test
would say so). The files are read back and compared header and rows, as text. Both
engines read the CSV file themselves (spark.read, DuckDB's read_csv) and check it in SQL:
the test holds that the Python validator was handed none of its rows.

Spark reuses the one SparkSession of tests/test_sql_spark.py's fixture: the CLI runs
in-process with the same master, and perfdsl.sql.spark.session keeps one session per
master, so no second JVM starts.
"""
from __future__ import annotations

import csv
import random
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from perfdsl import io
from perfdsl.check import compile_file
from perfdsl.cli import main
from perfdsl.verify.strategies import compared_constants

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from test_sql_spark import spark  # noqa: E402,F401 — the session fixture, shared

BUNDLED = [p for p in sorted((ROOT / "policies").glob("*.perf")) if not compile_file(p).module]
# Also written and compared as workbooks. Spark plans a query in seconds (most of its time
# here), so it writes one workbook, of a scheme whose query is short.
XLSX = {"duckdb": {"branch_employees", "county_departments"}, "spark": {"county_towns"}}
GROUPS = ("营业部", "企管部", "社管部", "三级经理", "信息科")
WORDS = ("甲", "乙", "丙", "丁", "张三", "李四", "a,b", 'say "hi"')


def _number(rng: random.Random, inp, edges: list[Decimal]) -> Decimal:
    """A value in the input's range: a quarter of the time one of the policy's thresholds
    (or a bound); a count (an int with no upper bound) mostly 0; else in hundredths (ints:
    whole), mostly in the upper part of the range, as appraisal scores are."""
    r = inp.range
    lo = r.lo if r is not None and r.lo is not None else None
    hi = r.hi if r is not None and r.hi is not None else None
    if lo is None and hi is None:
        lo, hi = Decimal(-30), Decimal(30)
    elif hi is None:
        hi = lo + (Decimal(6) if inp.is_int else max(Decimal(40), 2 * max(edges, default=Decimal(0))))
    elif lo is None:
        lo = hi - 40
    fit = [e for e in edges + [lo, hi] if lo <= e <= hi and (not inp.is_int or e == e.to_integral_value())]
    if fit and rng.random() < 0.25:
        return rng.choice(fit)
    if inp.is_int:
        if r is not None and r.hi is None:
            return lo if rng.random() < 0.7 else Decimal(min(int(hi), int(lo) + 1 + int(rng.expovariate(0.8))))
        return Decimal(rng.randint(int(lo), int(hi)))
    if rng.random() < 0.7:
        lo += (hi - lo) * Decimal("0.6")
    return Decimal(rng.randint(int((lo * 100).to_integral_value("ROUND_CEILING")), int(hi * 100))).scaleb(-2)


def _scalar(rng: random.Random, ir, inp, kind, edges: list[Decimal], groups: set[str]):
    if kind.kind == "bool":
        return rng.random() < 0.04
    if kind.kind == "num":
        return _number(rng, inp, edges)
    if kind.kind == "tier":
        return rng.choice(ir.definition(kind.tierset).tiers.names())
    if inp.choices:
        return rng.choice(inp.choices)
    return rng.choice(GROUPS[:4] if inp.name in groups else WORDS)


def scheme_data(ir, n: int, seed: int) -> list[dict]:
    """n subjects of the policy, valid for it, in a cohort shape where a cohort rule applies."""
    rng = random.Random(seed)
    edges = {k: sorted(v) for k, v in compared_constants(ir).items()}
    groups = {g for g in [q.group for q in ir.quotas] + [d.group for d in ir.distributes] if isinstance(g, str)}
    records: list[dict] = []
    for i in range(n):
        if records and rng.random() < 0.15:  # a twin: the same inputs, so the same total
            r = dict(rng.choice(records))
        else:
            r = {}
            for inp in ir.inputs:
                t = inp.type
                if t.kind == "list":
                    ln = inp.length
                    lo = int(ln.lo) if ln is not None and ln.lo is not None else 0
                    hi = int(ln.hi) if ln is not None and ln.hi is not None else lo + 5
                    r[inp.name] = [_scalar(rng, ir, inp, t.elem, [], groups) for _ in range(rng.randint(lo, hi))]
                else:
                    r[inp.name] = _scalar(rng, ir, inp, t, edges.get(inp.name, []), groups)
        if ir.key:
            r[ir.key] = f"s{i:04d}"
        records.append(r)
    when = {f for d in ir.distributes for f in d.when_fields}
    leaders: dict = {}
    for r in records:  # a `when` field is one value per group
        lead = leaders.setdefault(tuple(r[g] for g in sorted(groups)), r)
        r.update({f: lead[f] for f in when})
    return records


def _cell(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, list):
        return ";".join(_cell(x) for x in v)
    return format(v, "f") if isinstance(v, Decimal) else str(v)


def write_data(path: Path, ir, records: list[dict]) -> None:
    names = [i.name for i in ir.inputs]
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(names)
        w.writerows([_cell(r[c]) for c in names] for r in records)


SIZES = {p.stem: 40 + 23 * i for i, p in enumerate(BUNDLED)}  # 40 .. 270 subjects


def _data(path: Path, tmp_path: Path) -> Path:
    ir = compile_file(path).policy
    data = tmp_path / "data.csv"
    write_data(data, ir, scheme_data(ir, SIZES[path.stem], seed=len(path.stem)))
    return data


def _run(path: Path, data: Path, out: Path, backend: str, capsys) -> tuple[int, str]:
    code = main(["run", str(path), "--input", str(data), "--output", str(out), "--backend", backend,
                 "--spark-master", "local[2]", "--quiet"])
    return code, capsys.readouterr().err


def _engine_reads(monkeypatch) -> tuple[list, list]:
    """(what each engine-side read returned (perfdsl.sql.read.load_file: None when the row
    reader must read the file), the row numbers the Python validator was handed)."""
    from perfdsl.sql import read
    from perfdsl.validate import Validator
    loads, validated = [], []
    load, many = read.load_file, Validator.many

    def counted_load(*args, **kwargs):
        loads.append(load(*args, **kwargs))
        return loads[-1]

    def counted_many(self, rows, check=None):
        validated.extend(n for n, _ in rows)
        return many(self, rows, check)

    monkeypatch.setattr(read, "load_file", counted_load)
    monkeypatch.setattr(Validator, "many", counted_many)
    return loads, validated


def _same_files(path: Path, data: Path, tmp_path: Path, backend: str, capsys, monkeypatch) -> None:
    """The backend's files are the python backend's; the engine read the CSV file itself
    and handed the Python validator none of its rows (the data is plain)."""
    loads, validated = _engine_reads(monkeypatch)
    for suffix in ([".csv"] + ([".parquet"] if backend == "duckdb" else [])
                   + ([".xlsx"] if path.stem in XLSX[backend] else [])):
        want = _run(path, data, tmp_path / f"python{suffix}", "python", capsys)
        loads.clear(), validated.clear()
        got = _run(path, data, tmp_path / f"{backend}{suffix}", backend, capsys)
        assert len(loads) == 1 and loads[0] is not None and loads[0].count == SIZES[path.stem]
        assert validated == []
        assert want[0] == 0, want[1]  # the data is valid and the cuts are decided
        assert got == want
        python, other = io.read_rows(tmp_path / f"python{suffix}"), io.read_rows(tmp_path / f"{backend}{suffix}")
        assert other.columns == python.columns
        if suffix == ".parquet":  # DuckDB writes it (sql.parquet_out): the same kinds of column (a
            import polars as pl    # decimal's scale may differ: the query's is planned, the values' vary)
            kinds = [{n: t.base_type() for n, t in pl.read_parquet_schema(tmp_path / f"{b}{suffix}").items()}
                     for b in (backend, "python")]
            assert kinds[0] == kinds[1]
        assert len(python) == SIZES[path.stem]
        for a, b in zip(other, python, strict=True):
            assert a.values == b.values, (a.number, {k: (a.values.get(k), v) for k, v in b.values.items()
                                                     if a.values.get(k) != v})


@pytest.mark.parametrize("path", BUNDLED, ids=[p.stem for p in BUNDLED])
def test_run_duckdb_writes_the_python_backends_files_on_every_scheme(path, tmp_path, capsys, monkeypatch):
    _same_files(path, _data(path, tmp_path), tmp_path, "duckdb", capsys, monkeypatch)


@pytest.mark.parametrize("path", BUNDLED, ids=[p.stem for p in BUNDLED])
def test_run_spark_writes_the_python_backends_files_on_every_scheme(spark, path, tmp_path, capsys,  # noqa: F811
                                                                  monkeypatch):
    _same_files(path, _data(path, tmp_path), tmp_path, "spark", capsys, monkeypatch)


def test_the_data_really_cuts():
    """The generated cohorts reach the cohort rules: several groups, twins with equal inputs."""
    ir = compile_file(ROOT / "policies" / "branch_employees.perf").policy
    records = scheme_data(ir, SIZES["branch_employees"], seed=len("branch_employees"))
    assert len({r["dist_group"] for r in records}) == 4
    inputs = [tuple(_cell(v) for k, v in r.items() if k != ir.key) for r in records]
    assert len(set(inputs)) < len(inputs)
    by_group: dict = {}
    for r in records:
        by_group.setdefault(r["dist_group"], set()).add(r["dept_rating"])
    assert all(len(v) == 1 for v in by_group.values())


STREAMED = ["branch_employees", "budget_engineer", "county_towns"]


@pytest.mark.parametrize("name", STREAMED)
def test_run_duckdb_streams_its_output_in_batches_with_the_python_backends_files_and_summary(
        name, tmp_path, capsys, monkeypatch):
    """Output handed to the writers in batches of 7 rows (perfdsl.sql.engine.BATCH): the CSV
    is byte for byte the python backend's and the Parquet file, which DuckDB writes, holds its cells; the run
    summary is the python backend's, its 调整 line included (the tiers before the cohort
    stage come from the query)."""
    from perfdsl import frame_io
    from perfdsl.sql import engine
    monkeypatch.setattr(engine, "BATCH", 7)
    streamed = []
    write_frames = frame_io.write_frames
    monkeypatch.setattr(frame_io, "write_frames", lambda path, *a: streamed.append(Path(path).suffix) or write_frames(path, *a))
    path = ROOT / "policies" / f"{name}.perf"
    data = _data(path, tmp_path)
    printed = {}
    for backend in ("python", "duckdb"):
        for suffix in (".csv", ".parquet"):
            code = main(["run", str(path), "--input", str(data), "--output", str(tmp_path / f"{backend}{suffix}"),
                         "--backend", backend])
            out = capsys.readouterr()
            assert code == 0, out.err
            printed[backend, suffix] = out.out.replace(f"{backend}{suffix}", "OUT")
    assert streamed == [".csv"]  # DuckDB writes the Parquet file itself (sql.parquet_out)
    assert (tmp_path / "duckdb.csv").read_bytes() == (tmp_path / "python.csv").read_bytes()
    python, duck = io.read_rows(tmp_path / "python.parquet"), io.read_rows(tmp_path / "duckdb.parquet")
    assert duck.columns == python.columns and len(python) == SIZES[name]
    assert [r.values for r in duck] == [r.values for r in python]
    assert printed["duckdb", ".csv"] == printed["python", ".csv"]
    assert printed["duckdb", ".parquet"] == printed["python", ".parquet"]
    if name != "county_towns":  # its data moves no one; these two's cohort stage does
        assert any(line.startswith("调整") and "→" in line for line in printed["duckdb", ".csv"].splitlines())


def test_the_summary_of_a_sql_run_says_what_the_cohort_stage_moved(tmp_path, capsys):
    """The 调整 line on the duckdb backend, by the rows path (XLSX) too, equals the python backend's."""
    path = ROOT / "policies" / "branch_employees.perf"
    data = _data(path, tmp_path)
    printed = {}
    for backend in ("python", "duckdb"):
        assert main(["run", str(path), "--input", str(data), "--output", str(tmp_path / f"{backend}.xlsx"),
                     "--backend", backend]) == 0
        printed[backend] = capsys.readouterr().out.replace(f"{backend}.xlsx", "OUT")
    moved = [line for line in printed["python"].splitlines() if line.startswith("调整")]
    assert moved and "→" in moved[0]
    assert printed["duckdb"] == printed["python"]
