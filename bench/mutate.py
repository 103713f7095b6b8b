"""Mutation check for the seed policies: how many small wrong versions of a policy do
its own examples and properties reject?

Mutants are made on the source text of each policy in policies/ and of the modules it
imports (`county_common.perf`, `std/...`; only the `def`s and tables the policy calls):

  weight      a weight ±5 points, another weight of the same `weighted(...)` ∓5 (so the
              weights still sum to 100% and the checker has to let it through)
  threshold   a number compared with (tier line, table row, veto/limit/flag/when
              condition) ±1 unit of its last written digit: 90 → 91 / 89, 0.5 → 0.6 / 0.4
  amount      an add/deduct amount or `up to` cap ±1 unit
  clamp       a `clamp`/`cap`/`floor` line dropped or its bound ±1 unit; a
              `min(x, C)`/`max(C, x)`/`clamp(x, lo, hi)` call replaced by `x` or C ±1
  comparison  >= ↔ >, <= ↔ <, == ↔ != (tier lines included: the checker rejects those)
  logic       and ↔ or
  cohort      a quota share or `distribute`/`when` bound ±5 points (±1 for counts)
  constant    any other number in a formula ±1 unit (base, weights written as `70% *`, …)
  operator    + ↔ −, * ↔ / in a formula
  rule        a veto, limit or downgrade dropped; a downgrade's steps ±1

Examples, properties and `monotone` lines are never mutated: they are the tests. Each
mutant is judged in a temporary copy of policies/ (the standard library copied beside it
and `import "std/X"` pointed at the copy), so imports resolve and no real file is touched.
The first step that decides, in this order, gives the verdict:

  1. check            killed when `compile_file` reports an error
  2. proved           equivalent, by a proof (PROOFS): "identical checked IR", i.e. the IR
     equivalent       without spans equals the original's; or, for a mutant step 5 found no
                      difference for, Z3's proof that the individual stages agree on every
                      valid subject with the cohort rules unchanged (`_solver_proof`)
  3. examples         killed when an example fails (`run_examples`, reference interpreter)
  4. properties       killed when `verify_properties` finds a counterexample (fixed seed,
                      `--budget` examples per property, one property at a time); run on
                      every mutant the examples let through, whatever step 5 would find
  5. survived         not killed, and a bounded differential search (`differs`) found an
                      input on which what a user sees differs: a named value, a flag, an
                      explanation line or a cohort warning (or an error's text)
     undistinguished  not killed, and the search found no difference. That is not a
                      proof: a difference may lie outside the search (a rare group size,
                      vetoes in a group, ...), so it stays in the score's denominator.

    score = killed (check + examples + properties) / (mutants − proved equivalent)

The search tries the examples' own records, each with one input moved to a nearby or
boundary value; the example cohorts and other sizes made of them (prefixes, suffixes, one
subject left out, doubled) with each `when` field set to each of its values; then
`--records` hypothesis records from `perfdsl.verify.strategies` (of the original and of the
mutant) and `--cohorts` cohorts from `perfdsl.verify.cohorts`, same `--seed` every time.

Usage:  python bench/mutate.py [--policy NAME]... [--limit N] [--jobs 2] [--verbose]
        python bench/mutate.py --list [--policy NAME]      the mutants, not judged
        python bench/mutate.py --only properties ...       how much one layer catches alone
Exit status 0: this is a report; tests/test_mutation.py holds the ≥ 90% line.
"""
from __future__ import annotations

import argparse
import dataclasses
import enum
import multiprocessing
import os
import re
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ROOT / "policies"

CATEGORIES = ("weight", "threshold", "amount", "clamp", "comparison", "logic", "cohort", "constant", "operator",
              "rule")
FLIP = {">=": ">", ">": ">=", "<=": "<", "<": "<=", "==": "!=", "!=": "=="}
COMPARE_RE = re.compile(r">=|<=|==|!=|>|<")
LOGIC_RE = re.compile(r"\band\b|\bor\b|且|或")
LOGIC_SWAP = {"and": "or", "or": "and", "且": "或", "或": "且"}
ARITH_RE = re.compile(r"[-+*/]")
ARITH_SWAP = {"+": "-", "-": "+", "*": "/", "/": "*"}
STD_IMPORT_DIR = "_std"  # where the standard library is copied, inside the temporary policies dir


# ---- mutants -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Mutant:
    policy: str          # the policy file's stem, e.g. "budget_engineer"
    file: str            # the mutated file, relative to the (temporary) policies dir
    line: int            # 1-based line and column of the first edit
    col: int
    category: str
    description: str
    edits: tuple[tuple[int, int, str], ...]  # (start, end, replacement) offsets into the file text

    def apply(self, text: str) -> str:
        for start, end, new in sorted(self.edits, reverse=True):
            text = text[:start] + new + text[end:]
        return text

    @property
    def where(self) -> str:
        return f"{_shown(self.file)}:{self.line}:{self.col}"


def _shown(file: str) -> str:
    if file.startswith(STD_IMPORT_DIR + "/"):
        return "std/" + file[len(STD_IMPORT_DIR) + 1:]
    return file


class _Text:
    """One file's text with (line, col) → offset conversion for AST spans."""

    def __init__(self, name: str, text: str):
        self.name, self.text = name, text
        self.starts = [0]
        for line in text.split("\n"):
            self.starts.append(self.starts[-1] + len(line) + 1)

    def off(self, line: int, col: int) -> int:
        return self.starts[line - 1] + col - 1

    def span(self, sp) -> tuple[int, int]:
        return self.off(sp.line, sp.col), self.off(sp.end_line, sp.end_col)

    def slice(self, sp) -> str:
        a, b = self.span(sp)
        return self.text[a:b]

    def call_end(self, sp) -> int:
        """A call's span includes its closing parenthesis."""
        return self.span(sp)[1]


def _short(text: str, width: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _bump(text: str, units: int) -> str | None:
    """`text` (a number as written: 90, 0.5, 40%, -4) moved by `units` units of its last
    written digit; None when the result would be negative (and was not) or unchanged."""
    pct = text.endswith("%")
    body = text[:-1] if pct else text
    try:
        value = Decimal(body)
    except Exception:
        return None
    places = max(0, -value.as_tuple().exponent)
    new = value + units * Decimal(1).scaleb(-places)
    if new < 0 <= value or new == value:
        return None
    out = f"{new:.{places}f}"
    return out + ("%" if pct else "")


class _Generator:
    def __init__(self, policy: str):
        self.policy = policy
        self.out: list[Mutant] = []
        self.seen: set = set()

    def add(self, t: _Text, category: str, description: str, edits) -> None:
        edits = tuple(edits)
        key = (t.name, edits)
        if key in self.seen or not edits:
            return
        if all(t.text[a:b] == new for a, b, new in edits):
            return
        self.seen.add(key)
        first = min(a for a, _, _ in edits)
        line = t.text.count("\n", 0, first) + 1
        col = first - t.starts[line - 1] + 1
        self.out.append(Mutant(self.policy, t.name, line, col, category, description, edits))

    # -- numbers ---------------------------------------------------------------------
    def number(self, t: _Text, sp, category: str, what: str, step: int = 1) -> None:
        a, b = t.span(sp)
        old = t.text[a:b]
        for units in (step, -step):
            new = _bump(old, units)
            if new is not None:
                self.add(t, category, f"{what}: {old} → {new}", [(a, b, new)])

    def swap(self, t: _Text, node_span, start: int, end: int, new: str, category: str, what: str) -> None:
        """Replace text[start:end] by `new`; describe it by the node's text before and after."""
        a, b = t.span(node_span)
        a, b = min(a, start), max(b, end)
        for opening, closing in ("()", "[]"):  # spans stop short of their own brackets
            while t.text.count(closing, a, b) > t.text.count(opening, a, b) and a > 0:
                a -= 1
            while t.text.count(opening, a, b) > t.text.count(closing, a, b) and b < len(t.text):
                b += 1
        before = t.text[a:b]
        after = t.text[a:start] + new + t.text[end:b]
        self.add(t, category, f"{what}: {_short(before)} → {_short(after)}", [(start, end, new)])

    def drop(self, t: _Text, sp, category: str, what: str, end: int | None = None) -> None:
        a, b = t.span(sp)
        b = end if end is not None else b
        blank = "".join(ch if ch == "\n" else " " for ch in t.text[a:b])
        self.add(t, category, f"drop {what}", [(a, b, blank)])

    # -- expressions -----------------------------------------------------------------
    def expr(self, t: _Text, e, where: str, category: str = "constant") -> None:
        from perfdsl.syntax import ast as A
        if e is None:
            return
        if isinstance(e, A.Num):
            self.number(t, e.span, category, f"{category} in {where}")
        elif isinstance(e, A.Unary):
            self.expr(t, e.operand, where, category)
        elif isinstance(e, A.Compare):
            for i, op in enumerate(e.ops):
                a = t.span(e.operands[i].span)[1]
                b = t.span(e.operands[i + 1].span)[0]
                m = COMPARE_RE.search(t.text, a, b)
                if m and m.group() in FLIP:
                    self.swap(t, e.span, m.start(), m.end(), FLIP[m.group()], "comparison", where)
            for operand in e.operands:
                self.expr(t, operand, where, "threshold")
        elif isinstance(e, A.Binary):
            if e.op in ("and", "or"):
                a = t.span(e.left.span)[1]
                b = t.span(e.right.span)[0]
                m = LOGIC_RE.search(t.text, a, b)
                if m:
                    self.swap(t, e.span, m.start(), m.end(), LOGIC_SWAP[m.group()], "logic", where)
                self.expr(t, e.left, where, category)
                self.expr(t, e.right, where, category)
            else:
                if e.op in ARITH_SWAP and not isinstance(e.left, A.ListLit) and not isinstance(e.right, A.ListLit):
                    a = t.span(e.left.span)[1]
                    b = t.span(e.right.span)[0]
                    m = ARITH_RE.search(t.text, a, b)
                    if m:
                        self.swap(t, e.span, m.start(), m.end(), ARITH_SWAP[m.group()], "operator", where)
                self.expr(t, e.left, where, "constant" if category == "threshold" else category)
                self.expr(t, e.right, where, "constant" if category == "threshold" else category)
        elif isinstance(e, A.Call):
            consts = [x for x in e.args if isinstance(x, A.Num)]
            if e.func in ("min", "max") and len(e.args) == 2 and len(consts) == 1:
                keep = next(x for x in e.args if not isinstance(x, A.Num))
                a, _ = t.span(e.span)
                b = t.call_end(e.span)
                self.add(t, "clamp", f"{where}: drop {_short(t.text[a:b])}", [(a, b, "(" + t.slice(keep.span) + ")")])
            if e.func == "clamp" and len(e.args) == 3:
                a, _ = t.span(e.span)
                b = t.call_end(e.span)
                self.add(t, "clamp", f"{where}: drop {_short(t.text[a:b])}", [(a, b, "(" + t.slice(e.args[0].span) + ")")])
            for x in e.args:
                if isinstance(x, A.Num) and e.func in ("min", "max", "clamp"):
                    self.number(t, x.span, "clamp", f"{where}: bound of {_short(t.text[t.span(e.span)[0]:t.call_end(e.span)])}")
                else:
                    self.expr(t, x, where, "constant")
        elif isinstance(e, A.IfExpr):
            self.expr(t, e.cond, where, "threshold")
            self.expr(t, e.then, where, "constant")
            self.expr(t, e.else_, where, "constant")
        elif isinstance(e, A.ListLit):
            for x in e.items:
                self.expr(t, x, where, category)

    # -- items -----------------------------------------------------------------------
    def items(self, t: _Text, items, used_defs: set, weights: dict) -> None:
        from perfdsl.syntax import ast as A
        for it in items:
            if isinstance(it, (A.Example, A.Property, A.Monotone, A.Input, A.KeySetting, A.PeriodSetting,
                               A.ScaleSetting, A.RankSetting)):
                continue
            if isinstance(it, (A.Let, A.Score, A.Outcome)):
                self.expr(t, it.expr, it.name)
            elif isinstance(it, A.Def):
                if it.name in used_defs:
                    self.expr(t, it.body, f"def {it.name}")
            elif isinstance(it, A.Table):
                if it.name in used_defs:
                    for row in it.rows:
                        self.expr(t, row.cond, f"table {it.name}", "threshold")
                        self.expr(t, row.value, f"table {it.name}", "constant")
            elif isinstance(it, A.Indicator):
                self.indicator(t, it, weights)
            elif isinstance(it, A.Tiers):
                self.expr(t, it.by, f"tiers {it.name}")
                for line in it.lines:
                    if line.op is None:
                        continue
                    a = t.off(line.span.line, line.span.col)
                    b = t.span(line.threshold.span)[0]
                    m = COMPARE_RE.search(t.text, a, b)
                    if m and m.group() in FLIP:
                        self.swap(t, line.span, m.start(), m.end(), FLIP[m.group()], "comparison", f"tiers {it.name}")
                    self.expr(t, line.threshold, f"tier {line.tier}", "threshold")
            elif isinstance(it, A.Veto):
                what = f"veto {_short(t.slice(it.cond.span), 40)} → {it.tier}"
                self.drop(t, it.span, "rule", what)
                self.expr(t, it.cond, what, "threshold")
            elif isinstance(it, A.LimitRule):
                what = f"limit {_short(t.slice(it.cond.span), 40)} → at most {it.tier}"
                self.drop(t, it.span, "rule", what)
                self.expr(t, it.cond, what, "threshold")
            elif isinstance(it, A.Downgrade):
                what = f"downgrade {_short(t.slice(it.cond.span), 40)}"
                self.drop(t, it.span, "rule", what)
                self.number(t, it.steps.span, "rule", f"{what} by")
                self.expr(t, it.cond, what, "threshold")
            elif isinstance(it, A.Flag):
                self.expr(t, it.cond, f"flag {it.label}", "threshold")
            elif isinstance(it, A.Quota):
                if it.share is not None:
                    self.number(t, it.share.span, "cohort", f"quota {it.tier} share", 5)
                if it.count is not None:
                    for end, bound in (("lo", it.count.lo), ("hi", it.count.hi)):
                        if bound is not None:
                            self.number(t, bound.span, "cohort", f"quota {it.tier} count {end}")
            elif isinstance(it, A.Distribute):
                self.bounds(t, it.bounds, "distribute")
                for w in it.whens:
                    what = f"when {_short(t.slice(w.cond.span), 40)}"
                    self.expr(t, w.cond, what, "threshold")
                    self.bounds(t, w.bounds, what)

    def bounds(self, t: _Text, bounds, where: str) -> None:
        for tb in bounds:
            for end, bound in (("lo", tb.range.lo), ("hi", tb.range.hi)):
                if bound is not None:
                    self.number(t, bound.span, "cohort", f"{where} {tb.tier} {end}", 5 if bound.percent else 1)

    def indicator(self, t: _Text, it, weights: dict) -> None:
        from perfdsl.syntax import ast as A
        where = f"indicator {it.name}"
        if it.weight is not None and it.name in weights:
            group = weights[it.name]
            partner_name = group[(group.index(it.name) + 1) % len(group)]
            partner_t, partner = self.weight_of[partner_name]
            if partner_name != it.name and partner_t is t:
                for units in (5, -5):
                    mine, theirs = _bump(t.slice(it.weight.span), units), _bump(t.slice(partner.span), -units)
                    if mine is None or theirs is None or Decimal(theirs[:-1] if theirs.endswith("%") else theirs) <= 0:
                        continue
                    self.add(t, "weight",
                             f"weight {it.name} {t.slice(it.weight.span)} → {mine}, {partner_name} "
                             f"{t.slice(partner.span)} → {theirs}",
                             [(*t.span(it.weight.span), mine), (*t.span(partner.span), theirs)])
        for line in it.lines:
            if isinstance(line, (A.BaseLine, A.ComputedLine)):
                self.expr(t, line.expr, where)
            elif isinstance(line, A.Adjust):
                verb = "add" if line.sign > 0 else "deduct"
                if isinstance(line.amount, A.Num):
                    self.number(t, line.amount.span, "amount", f"{where}: {verb} amount")
                else:
                    self.expr(t, line.amount, where, "amount")
                self.expr(t, line.per, where)
                self.expr(t, line.cond, where, "threshold")
                if line.up_to is not None:
                    self.number(t, line.up_to.span, "amount", f"{where}: {verb} … up to")
            elif isinstance(line, A.Limit_):
                self.drop(t, line.span, "clamp", f"`{t.slice(line.span)}` in {where}")
                for bound in (line.lo, line.hi):
                    if bound is not None:
                        self.number(t, bound.span, "clamp", f"{line.kind} bound in {where}")


def _nodes(root):
    """Every dataclass node (AST or IR) under `root`, walked without recursion."""
    stack = [root]
    while stack:
        x = stack.pop()
        if dataclasses.is_dataclass(x) and not isinstance(x, type):
            yield x
            stack.extend(getattr(x, f.name) for f in dataclasses.fields(x))
        elif isinstance(x, (tuple, list)):
            stack.extend(x)


def _walk_calls(x, found: set) -> None:
    from perfdsl.syntax import ast as A
    found.update(n.func for n in _nodes(x) if isinstance(n, A.Call))


def _called_names(items) -> set:
    """Every def or table the policy uses: called from a rule, value or flag, or from a def
    or table in use (examples and properties do not count)."""
    from perfdsl.syntax import ast as A
    bodies = {it.name: it for it in items if isinstance(it, (A.Def, A.Table))}
    found: set = set()
    for it in items:
        if not isinstance(it, (A.Example, A.Property, A.Monotone, A.Def, A.Table)):
            _walk_calls(it, found)
    todo = [n for n in found if n in bodies]
    while todo:
        more: set = set()
        _walk_calls(bodies[todo.pop()], more)
        for n in more - found:
            found.add(n)
            if n in bodies:
                todo.append(n)
    return found


def _weight_groups(items) -> dict:
    """Indicator name → the names in its `weighted(...)` call (the rebalancing partners)."""
    from perfdsl.syntax import ast as A
    groups: dict = {}
    rules = [it for it in items if not isinstance(it, (A.Example, A.Property, A.Monotone))]
    for x in _nodes(rules):
        if isinstance(x, A.Call) and x.func == "weighted":
            names = [a.name for a in x.args if isinstance(a, A.Name)]
            for n in names:
                groups.setdefault(n, names)
    return groups


# ---- the temporary policies tree -----------------------------------------------------------
def _rewrite_std_imports(text: str, name: str) -> str:
    """`import "std/X"` → a relative import of the standard library copied to `_std/`."""
    from perfdsl.syntax.parse import parse_text
    module, _ = parse_text(text, name)
    if module is None:
        return text
    t = _Text(name, text)
    for imp in sorted(module.imports, key=lambda i: (i.span.line, i.span.col), reverse=True):
        if imp.path.startswith("std/"):
            target = f"{STD_IMPORT_DIR}/{imp.path[4:]}" + ("" if imp.path.endswith(".perf") else ".perf")
            rel = os.path.relpath(target, os.path.dirname(name) or ".").replace(os.sep, "/")
            a, b = t.span(imp.span)
            text = text[:a] + text[a:b].replace(f'"{imp.path}"', f'"{rel}"') + text[b:]
    return text


def read_tree(policies: Path = POLICIES) -> dict[str, str]:
    """{relative name: text} of policies/*.perf and of the standard library (as `_std/...`),
    with `import "std/X"` rewritten to point at the copy."""
    from perfdsl.resources import stdlib_dir
    texts: dict[str, str] = {}
    for p in sorted(policies.glob("*.perf")):
        texts[p.name] = p.read_text(encoding="utf-8")
    std = stdlib_dir()
    for p in sorted(std.rglob("*.perf")):
        texts[f"{STD_IMPORT_DIR}/{p.relative_to(std).as_posix()}"] = p.read_text(encoding="utf-8")
    return {name: _rewrite_std_imports(text, name) for name, text in texts.items()}


def write_tree(dest: Path, texts: dict[str, str]) -> None:
    for name, text in texts.items():
        path = dest / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def _imports_of(name: str, texts: dict) -> list[str]:
    """The files a policy reads, root first, then its imports (transitively), by relative name."""
    from perfdsl.syntax.parse import parse_text
    order: list[str] = []
    stack = [name]
    while stack:
        n = stack.pop(0)
        if n in order or n not in texts:
            continue
        order.append(n)
        module, _ = parse_text(texts[n], n)
        if module is None:
            continue
        for imp in module.imports:
            target = imp.path if imp.path.endswith(".perf") else imp.path + ".perf"
            rel = os.path.normpath(os.path.join(os.path.dirname(n), target)).replace(os.sep, "/")
            stack.append(rel)
    return order


def policy_names(policies: Path = POLICIES) -> list[str]:
    """Stems of the files in policies/ that hold a `policy` block (modules are mutated through them)."""
    from perfdsl.syntax.parse import parse_text
    names = []
    for p in sorted(policies.glob("*.perf")):
        module, _ = parse_text(p.read_text(encoding="utf-8"), p.name)
        if module is not None and module.policy is not None:
            names.append(p.stem)
    return names


def generate(policy: str, texts: dict) -> list[Mutant]:
    """Every mutant of one policy (its file and the files it imports), in a stable order.
    `texts` is what make_tree returned."""
    from perfdsl.syntax import ast as A
    from perfdsl.syntax.parse import parse_text
    files: dict = {}
    for f in _imports_of(policy + ".perf", texts):
        module, _ = parse_text(texts[f], f)
        if module is not None:
            items = list(module.items) + (list(module.policy.items) if module.policy is not None else [])
            files[f] = (_Text(f, texts[f]), items)
    all_items = [it for _, items in files.values() for it in items]
    gen = _Generator(policy)
    gen.weight_of = {it.name: (t, it.weight) for t, items in files.values() for it in items
                     if isinstance(it, A.Indicator) and it.weight is not None}
    used = _called_names(all_items)  # defs and tables the policy calls: the others cannot matter
    weights = _weight_groups(all_items)
    for t, items in files.values():
        gen.items(t, items, used, weights)
    return gen.out


def spread(mutants: list[Mutant], limit: int | None) -> list[Mutant]:
    """At most `limit` mutants, taking the categories in turn so a small run covers them all."""
    if limit is None or limit >= len(mutants):
        return list(mutants)
    by_cat: dict = {}
    for m in mutants:
        by_cat.setdefault(m.category, []).append(m)
    out: list[Mutant] = []
    while len(out) < limit:
        for cat in CATEGORIES:
            if by_cat.get(cat) and len(out) < limit:
                out.append(by_cat[cat].pop(0))
    return out


# ---- judging one mutant ------------------------------------------------------------------
KILLED = ("check", "examples", "properties")


@dataclass
class Verdict:
    mutant: Mutant
    status: str          # one of KILLED, or equivalent (proved), survived, undistinguished
    detail: str = ""     # the error, failed example or property, proof, or difference found
    seconds: float = 0.0


def _strip(x):
    """An IR value without spans or file names, for an exact comparison."""
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return (type(x).__name__,) + tuple(
            _strip(getattr(x, f.name)) for f in dataclasses.fields(x)
            if not (f.name == "span" or f.name.endswith("_span") or f.name in ("file", "source_hash")))
    if isinstance(x, (tuple, list)):
        return tuple(_strip(y) for y in x)
    if isinstance(x, dict):
        return tuple(sorted((k, _strip(v)) for k, v in x.items()))
    if isinstance(x, enum.Enum):
        return x.value
    if isinstance(x, Decimal):
        return ("D", x.normalize() if x.is_finite() else x)
    return x


def _same_ir(orig, mut) -> str | None:
    """Proof by identity: the checked IR, spans, file name and source hash left out, is the
    original's. Explanations cite only line numbers, which no mutant moves, so everything a
    user sees is the same."""
    return "identical checked IR" if _strip(mut) == _strip(orig) else None


# Ways to prove a mutant equivalent before anything runs, tried in turn: each takes the
# original's and the mutant's checked IR and names its proof, or returns None.
PROOFS = [_same_ir]


def _solver_proof(orig, mut) -> str | None:
    """Z3's proof that no valid subject gets other values or flags (perfdsl.solver), with
    the cohort rules written the same. It speaks of values, not explanation text, so it is
    asked only after the search found no difference in what a user sees, explanations
    included: a mutant the search told apart is not equivalent, whatever its values."""
    from perfdsl.solver import prove_equivalent as solver_equivalent
    verdict = solver_equivalent(orig, mut)
    if verdict.status == "equivalent" and verdict.cohort_rules_equal:
        return "the solver proved the individual stages equal; the cohort rules are the same"
    return None


def prove_equivalent(orig, mut) -> str | None:
    return next((proof for proof in (p(orig, mut) for p in PROOFS) if proof), None)


class _Only:
    """What verify_properties needs of a Policy: `.ir`."""

    def __init__(self, ir):
        self.ir = ir


class Judge:
    """Judges mutants in one temporary tree (one per worker process)."""

    def __init__(self, texts: dict[str, str], budget: int = 200, records: int = 300, cohorts: int = 60,
                 seed: int = 0, layers: tuple[str, ...] = ("examples", "properties"), scratch: str | None = None):
        self.dir = Path(tempfile.mkdtemp(prefix="perfdsl-mutate-", dir=scratch))
        self.texts = dict(texts)
        write_tree(self.dir, self.texts)
        self.budget, self.records, self.cohorts, self.seed = budget, records, cohorts, seed
        self.layers = layers  # which of the policy's own tests run (a diagnostic: how much each catches alone)
        self.originals: dict = {}

    def close(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)

    def compile(self, policy: str):
        from perfdsl.check import compile_file
        return compile_file(self.dir / (policy + ".perf"))

    def original(self, policy: str):
        if policy not in self.originals:
            r = self.compile(policy)
            if r.policy is None:
                raise RuntimeError(f"{policy}: the unmutated policy does not check")
            self.originals[policy] = r.policy
        return self.originals[policy]

    def judge(self, m: Mutant) -> Verdict:
        start = time.perf_counter()
        v = self._judge(m)
        v.seconds = time.perf_counter() - start
        return v

    def _judge(self, m: Mutant) -> Verdict:
        from perfdsl.examples import run_examples
        from perfdsl.policy import Policy
        from perfdsl.verify import verify_properties
        orig = self.original(m.policy)
        path = self.dir / m.file
        text = self.texts[m.file]
        path.write_text(m.apply(text), encoding="utf-8")
        try:
            r = self.compile(m.policy)
        finally:
            path.write_text(text, encoding="utf-8")
        if r.policy is None:
            err = next((d for d in r.diagnostics if d.is_error), None)
            return Verdict(m, "check", f"{err.code}: {err.message}" if err else "rejected")
        ir = r.policy
        proof = prove_equivalent(orig, ir)
        if proof:
            return Verdict(m, "equivalent", proof)
        for out in run_examples(Policy(ir, backend="reference")) if "examples" in self.layers else ():
            if not out.passed:
                return Verdict(m, "examples", f"example “{out.label}” (line {out.line}): {out.failures[0]}")
        for prop in ir.properties if "properties" in self.layers else ():  # one at a time: the first failure kills
            verdicts = verify_properties(_Only(dataclasses.replace(ir, properties=(prop,))), self.budget, self.seed)
            if verdicts and verdicts[0].status == "failed":
                return Verdict(m, "properties", f"property “{prop.label}”: " + " / ".join(verdicts[0].detail[:2]))
        witness = differs(orig, ir, self.records, self.cohorts, self.seed)
        if witness is not None:
            return Verdict(m, "survived", witness)
        proof = _solver_proof(orig, ir)
        if proof:
            return Verdict(m, "equivalent", proof)
        return Verdict(m, "undistinguished",
                       f"no difference in the examples' neighbourhood, {self.records} records"
                       + (f" and {self.cohorts} cohorts" if orig.has_cohort_stage or ir.has_cohort_stage else ""))


# ---- the differential search ---------------------------------------------------------------
def _outcome(ir, interp, records: list, cohort_stage: bool):
    """What a user sees of one run: each subject's values, flags and explanation, and the
    cohort stage's warnings, as ("ok", subjects, warnings); or ("error", its text). An
    error's text loses its `file:line:col` (a mutant may shift a column)."""
    from perfdsl import cohort
    from perfdsl.explain import render
    from perfdsl.io import DataError
    from perfdsl.runtime import CONTEXT, localcontext
    try:
        with localcontext(CONTEXT):
            results = [interp.individual(dict(r), True) for r in records]
            warnings = cohort.apply(ir, interp, results) if cohort_stage else []
    except (ArithmeticError, DataError) as err:  # EvalError and CohortError among them
        where, text = getattr(err, "where", None), str(err)
        return ("error", text[len(where) + 2:] if where and text.startswith(where) else f"{type(err).__name__}: {text}")
    return ("ok", [(r.values, tuple(r.flags), render(r).splitlines()) for r in results], tuple(warnings))


def _diff_text(ir, records, a, b) -> str:
    """The first thing that differs between two _outcome()s, in a few words."""
    from perfdsl.explain import fmt
    if a[0] == "error" or b[0] == "error":
        return f"original {a[1] if a[0] == 'error' else 'ok'} / mutant {b[1] if b[0] == 'error' else 'ok'}"
    for rec, (va, fa, ea), (vb, fb, eb) in zip(records, a[1], b[1]):
        who = f"{rec.get(ir.key)}: " if ir.key and len(records) > 1 else ""
        for k in va:
            if va.get(k) != vb.get(k):
                return f"{who}{k} {fmt(va.get(k))} → {fmt(vb.get(k))}"
        if fa != fb:
            return f"{who}flags {list(fa)} → {list(fb)}"
        for la, lb in zip(ea + [""], eb + [""]):
            if la != lb:
                return f"{who}explanation “{la.strip()}” → “{lb.strip()}”"
    wa, wb = (w for w in a[2] if w not in b[2]), (w for w in b[2] if w not in a[2])
    return f"warning “{next(wa, '')}” → “{next(wb, '')}”"


def _grouped_cohorts(ir, max_size: int):
    """`perfdsl.verify.cohorts`, with each `per` group field drawn from two values so groups
    have several members (random text would put every subject alone in its group)."""
    from hypothesis import strategies as st
    from perfdsl.verify import cohorts
    groups = sorted({q.group for q in ir.quotas if q.group} | {d.group for d in ir.distributes if d.group})
    when_fields = sorted({f for d in ir.distributes for f in d.when_fields})
    if not groups:
        return cohorts(ir, 1, max_size)

    def regroup(case):
        records, picks = case
        records = [dict(r) for r in records]
        for i, r in enumerate(records):
            for g in groups:
                r[g] = picks[i % len(picks)]
        for g in groups:
            leader: dict = {}
            for r in records:
                first = leader.setdefault(r[g], r)
                for f in when_fields:
                    r[f] = first[f]
        return records
    return st.tuples(cohorts(ir, 1, max_size), st.lists(st.sampled_from(["G1", "G2"]), min_size=1, max_size=4)).map(regroup)


def _candidates(ir, inp, value, consts: set) -> list:
    """Other valid values of one input worth trying next to `value`."""
    kind = inp.type.kind
    if kind == "bool":
        return [not value]
    if inp.choices:
        return [c for c in inp.choices if c != value]
    if kind == "tier":
        return [t for t in ir.definition(inp.type.tierset).tiers.names() if t != value]
    if kind == "num":
        unit = Decimal(1) if inp.is_int else Decimal("0.01")
        lo = inp.range.lo if inp.range is not None else None
        hi = inp.range.hi if inp.range is not None else None
        pool = {value + d for d in (unit, -unit, 1, -1, 2, -2, 5, -5, 10, -10)} | {Decimal(0)}
        pool |= {c + d for c in consts for d in (-unit, 0, unit)}
        pool |= {x for x in (lo, hi) if x is not None}
        out = []
        for x in sorted(pool):
            if x == value or (lo is not None and x < lo) or (hi is not None and x > hi):
                continue
            if inp.is_int and x != x.to_integral_value():
                continue
            out.append(x)
        return out
    if kind == "list":
        elem = inp.type.elem
        n_hi = inp.length.hi if inp.length is not None else None
        n_lo = inp.length.lo if inp.length is not None and inp.length.lo is not None else 0
        out = []
        if elem.kind == "tier":
            names = ir.definition(elem.tierset).tiers.names()
            if n_hi is None or len(value) < n_hi:
                out += [value + (t,) for t in names]
            if len(value) > n_lo:
                out.append(value[1:])
            return out
        if elem.kind == "num" and inp.range is not None:
            ends = [x for x in (inp.range.lo, inp.range.hi) if x is not None]
            for i in range(len(value)):
                out += [value[:i] + (x,) + value[i + 1:] for x in ends if x != value[i]]
            if n_hi is None or len(value) < n_hi:
                out += [value + (x,) for x in ends]
            if len(value) > n_lo:
                out.append(value[:-1])
        return out
    return []


def _neighbourhood(orig, mut, limit: int, seed: int) -> tuple[list, list]:
    """The policy's own example records, and each of them with one input changed to a
    nearby or boundary value (individually), at most `limit` of them (a seeded sample);
    and the example cohorts."""
    import random

    from perfdsl.verify.strategies import compared_constants
    consts = compared_constants(orig)
    for k, v in compared_constants(mut).items():
        consts.setdefault(k, set()).update(v)
    base, cohorts_ = [], []
    for ex in orig.examples:
        recs = [dict(rec) for _, rec in ex.records]
        base += recs
        if ex.cohort:
            cohorts_.append(recs)
    varied = []
    for rec in base:
        for inp in orig.inputs:
            if inp.name == orig.key:
                continue
            for v in _candidates(orig, inp, rec[inp.name], consts.get(inp.name, set())):
                varied.append({**rec, inp.name: v})
    rng = random.Random(seed)
    if len(varied) > limit:
        varied = rng.sample(varied, limit)
    # the example cohorts, then other sizes made of them: every prefix and suffix, every
    # cohort less one subject, every cohort twice over (keys made unique)
    shapes = []
    for recs in cohorts_:
        n = len(recs)
        shapes += [recs[:k] for k in range(1, n)] + [recs[k:] for k in range(1, n)]
        shapes += [recs[:i] + recs[i + 1:] for i in range(n)]
        if orig.key:
            shapes.append(recs + [{**r, orig.key: f"{r[orig.key]}#2"} for r in recs])
    # and with each field a `distribute ... when` reads (constant in a group) set to each
    # of its choices, for the whole cohort
    for f in sorted({f for d in orig.distributes for f in d.when_fields}):
        inp = next((i for i in orig.inputs if i.name == f), None)
        values = list(inp.choices or ()) if inp is not None else []
        if inp is not None and inp.type.kind == "bool":
            values = [True, False]
        shapes += [[{**r, f: v} for r in recs] for recs in list(shapes) + cohorts_ for v in values]
    if len(shapes) > limit // 10:
        shapes = rng.sample(shapes, limit // 10)
    return base + varied, cohorts_ + shapes


def differs(orig, mut, records: int = 300, cohort_count: int = 60, seed: int = 0,
            neighbours: int = 3000) -> str | None:
    """A description of an input on which the mutant's results differ from the original's,
    or None when none turns up in the budget. Tried in turn: the examples' records and
    cohorts, those records with one input moved to a nearby or boundary value, `records`
    hypothesis records and `cohort_count` hypothesis cohorts (the smallest difference
    hypothesis finds is shown)."""
    from hypothesis import HealthCheck, Phase, given, settings, strategies as st
    from hypothesis import seed as hyp_seed
    from perfdsl.eval.interpret import Interpreter
    from perfdsl.verify import strategies
    io, im = Interpreter(orig), Interpreter(mut)
    stage = orig.has_cohort_stage or mut.has_cohort_stage
    found: list[str] = []

    def compare(recs, cohort_stage: bool) -> bool:
        a, b = _outcome(orig, io, recs, cohort_stage), _outcome(mut, im, recs, cohort_stage)
        if a != b:
            found[:] = [_describe(orig, recs, a, b, cohort_stage)]
            return True
        return False

    near, example_cohorts = _neighbourhood(orig, mut, neighbours, seed)
    for rec in near:
        if compare([rec], False):
            return found[0]
    if stage:
        for recs in example_cohorts:
            if compare(recs, True):
                return found[0]

    def search(strategy, n: int, cohort_stage: bool) -> None:
        @hyp_seed(seed)
        @settings(max_examples=n, database=None, deadline=None, derandomize=False,
                  phases=[Phase.generate, Phase.shrink], suppress_health_check=list(HealthCheck))
        @given(strategy)
        def run(case):
            if compare(case if cohort_stage else [case], cohort_stage):
                raise AssertionError("differs")
        try:
            run()
        except AssertionError:
            pass

    search(st.one_of(strategies(orig), strategies(mut)), records, False)
    if not found and stage and cohort_count:
        search(st.one_of(_grouped_cohorts(orig, 10), _grouped_cohorts(mut, 10)), cohort_count, True)
    return found[0] if found else None


def _describe(ir, recs, a, b, cohort_stage: bool) -> str:
    from perfdsl.verify import given_line
    what = _diff_text(ir, recs, a, b)
    if not cohort_stage:
        return f"{what}; {given_line(ir, recs[0])}"
    return f"cohort of {len(recs)}: {what}"


# ---- running ---------------------------------------------------------------------------------
_JUDGE: Judge | None = None


def _worker_init(options: dict) -> None:
    global _JUDGE
    from hypothesis import Phase, settings
    # verify_properties does not choose phases: skip shrinking a counterexample we only count
    settings.register_profile("perfdsl-mutate", phases=[Phase.explicit, Phase.reuse, Phase.generate])
    settings.load_profile("perfdsl-mutate")
    _JUDGE = Judge(**options)  # its directory lies in the run's scratch directory, removed by run()


def _worker_judge(m: Mutant) -> Verdict:
    assert _JUDGE is not None
    return _JUDGE.judge(m)


@dataclass
class Report:
    policy: str
    verdicts: list[Verdict]

    def count(self, status: str) -> int:
        return sum(1 for v in self.verdicts if v.status == status)

    @property
    def killed(self) -> int:
        return sum(self.count(s) for s in KILLED)

    @property
    def score(self) -> float:
        """killed / (mutants − proved equivalent): an undistinguished mutant counts against."""
        counted = len(self.verdicts) - self.count("equivalent")
        return self.killed / counted if counted else 1.0


def run(policies: list[str] | None = None, limit: int | None = None, jobs: int = 2,
        budget: int = 200, records: int = 300, cohorts: int = 60, seed: int = 0,
        policies_dir: Path = POLICIES, progress=None,
        layers: tuple[str, ...] = ("examples", "properties")) -> list[Report]:
    """Generate and judge the mutants of each policy; one Report per policy."""
    names = policies or policy_names(policies_dir)
    texts = read_tree(policies_dir)
    todo: list[Mutant] = []
    for name in names:
        todo += spread(generate(name, texts), limit)
    verdicts: list[Verdict] = []
    with tempfile.TemporaryDirectory(prefix="perfdsl-mutate-") as scratch:
        options = dict(texts=texts, budget=budget, records=records, cohorts=cohorts, seed=seed, layers=layers,
                       scratch=scratch)
        with multiprocessing.get_context("fork").Pool(max(1, jobs), initializer=_worker_init,
                                                      initargs=(options,)) as pool:
            for v in pool.imap_unordered(_worker_judge, todo, chunksize=1):
                verdicts.append(v)
                if progress:
                    progress(v, len(verdicts), len(todo))
    position = {(m.policy, m.file, m.edits): i for i, m in enumerate(todo)}
    verdicts.sort(key=lambda v: position[(v.mutant.policy, v.mutant.file, v.mutant.edits)])
    return [Report(n, [v for v in verdicts if v.mutant.policy == n]) for n in names]


COLUMNS = KILLED + ("equivalent", "undistinguished", "survived")
HEADINGS = ("check", "examples", "properties", "proved equivalent", "undistinguished", "survived")


def table(reports: list[Report]) -> str:
    """One row per policy and a total: mutants, how many each step killed, proved
    equivalent, not killed (undistinguished, survived), score."""
    total = Report("total", [v for r in reports for v in r.verdicts])
    rows = [("policy", "mutants") + HEADINGS + ("score",)]
    for r in reports + [total]:
        rows.append((r.policy, str(len(r.verdicts))) + tuple(str(r.count(s)) for s in COLUMNS) + (f"{r.score:.1%}",))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    rule = "  ".join("-" * w for w in widths)
    lines = ["  ".join([row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:])]) for row in rows]
    return "\n".join(lines[:1] + [rule] + lines[1:-1] + [rule] + lines[-1:])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--policy", action="append", help="policy name (file stem); repeatable; default: all")
    ap.add_argument("--limit", type=int, help="at most N mutants per policy (categories taken in turn)")
    ap.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    ap.add_argument("--budget", type=int, default=200, help="hypothesis examples per property (default 200)")
    ap.add_argument("--records", type=int, default=300, help="records in the equivalence search (default 300)")
    ap.add_argument("--cohorts", type=int, default=60, help="cohorts in the equivalence search (default 60)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--only", choices=["examples", "properties"],
                    help="run only the examples or only the properties (how much each catches alone)")
    ap.add_argument("--list", action="store_true", help="only list the mutants")
    ap.add_argument("--verbose", "-v", action="store_true", help="print every mutant's verdict")
    args = ap.parse_args(argv)
    names = args.policy or policy_names()
    unknown = [n for n in names if not (POLICIES / f"{n}.perf").exists()]
    if unknown:
        print(f"unknown policy: {', '.join(unknown)}", file=sys.stderr)
        return 0
    if args.list:
        texts = read_tree()
        for n in names:
            for m in spread(generate(n, texts), args.limit):
                print(f"{n:20} {m.category:10} {m.where:28} {m.description}")
        return 0
    started = time.perf_counter()

    def progress(v: Verdict, done: int, total: int) -> None:
        if args.verbose:
            print(f"[{done}/{total}] {v.mutant.policy} {v.mutant.where} {v.mutant.description}: "
                  f"{v.status} ({v.seconds:.1f}s) {v.detail[:160]}", flush=True)
        elif sys.stderr.isatty():
            print(f"\r{done}/{total}", end="", file=sys.stderr, flush=True)
    layers = (args.only,) if args.only else ("examples", "properties")
    reports = run(names, args.limit, args.jobs, args.budget, args.records, args.cohorts, args.seed,
                  progress=progress, layers=layers)
    if sys.stderr.isatty() and not args.verbose:
        print("\r", end="", file=sys.stderr)
    print(table(reports))
    print(f"\nscore = killed (check + examples + properties) / (mutants − proved equivalent); "
          f"{time.perf_counter() - started:.0f}s, {args.jobs} jobs, seed {args.seed}, "
          f"{args.budget} examples per property, {args.records} records / {args.cohorts} cohorts per difference search")
    shown = {"survived": "SURVIVED", "undistinguished": "undistinguished", "equivalent": "proved equivalent"}
    for r in reports:
        listed = [v for status in shown for v in r.verdicts if v.status == status]
        if listed:
            print(f"\n{r.policy}:")
        for v in listed:
            print(f"  {shown[v.status]:17} {v.mutant.where}: {v.mutant.description}\n"
                  f"  {'':17} {'differs: ' if v.status == 'survived' else ''}{v.detail}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
