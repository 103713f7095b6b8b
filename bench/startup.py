"""Start-up cost of `perfdsl check`: CPU seconds of a fresh process, small and large policies.

    python bench/startup.py            # hospital_safety, 1,000 and 5,000 indicators

Each run is a child process (`python -m perfdsl check FILE`); its CPU time (user +
system) comes from resource.getrusage(RUSAGE_CHILDREN). Runs are made twice: with
bytecode caching as this machine has it (PYTHONDONTWRITEBYTECODE=1 in its environment and
no perfdsl .pyc files, so every start compiles perfdsl from source; third-party packages
keep the .pyc files pip wrote) and with perfdsl's .pyc files written and reused.
The large policies are generated: N indicators, each over its own input, and a score.
"""
from __future__ import annotations

import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SMALL = ROOT / "policies" / "hospital_safety.perf"


def policy_text(n: int) -> str:
    """A policy of n indicators (deduct per input, floor 0), their mean as a score, tiers."""
    lines = [f'policy big_{n} "{n} indicators" {{', "  key id", "  input id: text"]
    lines += [f'  input x{i}: int in 0..100 "input {i}"' for i in range(n)]
    for i in range(n):
        lines += [f'  indicator s{i} "indicator {i}" {{', "    base 100",
                  f'    deduct 2 per x{i} "2 per unit"', "    floor 0", "  }"]
    lines.append("  score total = s0" + "".join(f" + s{i}" for i in range(1, min(n, 50))))
    lines += ['  tiers grade by total {', "    high >= 60", "    low otherwise", "  }", "}"]
    return "\n".join(lines) + "\n"


def cpu_of(args: list[str], env: dict) -> tuple[float, int]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(args, env=env, cwd=ROOT, capture_output=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), proc.returncode


def _forget_pyc() -> None:
    """Remove perfdsl's own __pycache__ directories (build artifacts, ignored by git): with
    PYTHONDONTWRITEBYTECODE=1 they are never written, but Python still reads them if an
    earlier run without it left them behind. Third-party packages keep theirs (pip wrote
    them at install)."""
    for cache in (ROOT / "perfdsl").rglob("__pycache__"):
        shutil.rmtree(cache, ignore_errors=True)


def measure(path: Path, repeat: int, cached_pyc: bool) -> dict:
    env = dict(os.environ)
    if cached_pyc:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        cpu_of([sys.executable, "-m", "perfdsl", "check", str(path)], env)  # writes the .pyc files
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        _forget_pyc()
    times, codes = [], set()
    for _ in range(repeat):
        t, code = cpu_of([sys.executable, "-m", "perfdsl", "check", str(path)], env)
        times.append(t)
        codes.add(code)
    return {"cpu_s": statistics.median(times), "times_s": times, "exit_codes": sorted(codes)}


def run(repeat: int = 3, sizes=(1000, 5000)) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        targets = [("check hospital_safety (small)", SMALL, 0.150)]
        for n in sizes:
            path = Path(tmp) / f"big_{n}.perf"
            path.write_text(policy_text(n), encoding="utf-8")
            targets.append((f"check {n:,} indicators", path, 0.5 if n <= 1000 else 2.0))
        for name, path, goal in targets:
            for cached in (False, True):
                m = measure(path, repeat, cached)
                rows.append({"contender": name, "pyc": "cached" if cached else "not written",
                             "goal_s": goal, **m})
                print(f"  {name:<34} .pyc {'cached' if cached else 'not written':<12} "
                      f"{m['cpu_s']:7.3f} s CPU (goal {goal} s) exit {m['exit_codes']}", flush=True)
    _forget_pyc()  # leave perfdsl as this machine keeps it: no .pyc files
    return rows


if __name__ == "__main__":
    run()
