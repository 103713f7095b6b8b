"""Nothing another local user plants in the cache directory is ever run (issue 9, item 1).

The parser tables ship with the package as JSON (no pickle, nothing read from the cache);
generated modules are read back only from a private directory, through descriptors that
never follow symlinks. Each planted module below would raise SystemExit("planted") if run.
"""
from __future__ import annotations

import json
import os
import pickle
import stat
import subprocess
import sys
from pathlib import Path

import pytest

import perfdsl.codegen as codegen
from perfdsl import private_cache
from perfdsl.check import compile_file
from perfdsl.codegen.python import generate
from perfdsl.resources import grammar_path
from perfdsl.syntax import parse, tables

ROOT = Path(__file__).resolve().parent.parent
OTHER_UID = 65534  # nobody
as_root = pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0,
                             reason="planting a file owned by another uid needs root")


@pytest.fixture(autouse=True)
def _fresh(monkeypatch):
    codegen.clear_cache()
    private_cache._WARNED.clear()
    yield
    codegen.clear_cache()


@pytest.fixture
def policy():
    return compile_file(ROOT / "policies" / "budget_engineer.perf").policy


def _module_name(policy, tmp_path, monkeypatch) -> tuple[str, str]:
    """The cache file name of `policy`'s module and a planted version of its source."""
    scratch = tmp_path / "scratch"
    monkeypatch.setenv("PERFDSL_CACHE", str(scratch))
    codegen.load_module(policy)
    codegen.clear_cache()
    [path] = scratch.glob("*.py")
    good = path.read_text(encoding="utf-8")
    return path.name, good.replace("class Backend:", "raise SystemExit('planted')\nclass Backend:")


def _loads_generated(policy) -> bool:
    return codegen.load_module(policy).module.__source__ == generate(policy)


# ---- the parser tables ----------------------------------------------------------------------
def test_shipped_tables_match_the_grammar():
    """Run `python -m perfdsl.syntax.tables` after editing grammar/perf.lark."""
    shipped = json.loads(tables.TABLES.read_text(encoding="utf-8"))
    assert shipped["grammar_sha256"] == tables.grammar_digest(grammar_path().read_text(encoding="utf-8"))


def test_shipped_tables_parse_like_freshly_built_ones():
    """The JSON tables, loaded, parse as tables just built from the grammar (and both as
    Lark: tests/test_parse_tables.py)."""
    from perfdsl.syntax import lalr
    shipped = tables.load()
    assert shipped.shipped  # really loaded from the shipped file
    fresh = lalr.Tables(tables.build(grammar_path().read_text(encoding="utf-8")), shipped=False)
    for path in sorted((ROOT / "policies").glob("*.perf")) + sorted((ROOT / "tests" / "golden").glob("*.perf")):
        text = parse.fold_fullwidth(path.read_text(encoding="utf-8"))
        outcomes = []
        for grammar in (shipped, fresh):
            builder = parse._Builder(str(path))
            try:
                outcomes.append(("ok", lalr.parse(grammar, text, grammar.bind(builder), str(path)), builder.problems))
            except lalr.ParseError as err:  # a golden file's syntax error: the same error either way
                outcomes.append(("error", err.line, err.column, err.token, err.expected))
        assert outcomes[0] == outcomes[1], path


def test_stale_or_damaged_tables_are_rebuilt_not_used(monkeypatch, tmp_path):
    bad = tmp_path / "lalr_tables.json"
    bad.write_text('{"grammar_sha256": "0", "states": [], "rules": []}', encoding="utf-8")
    monkeypatch.setattr(tables, "TABLES", bad)
    assert not tables.load().shipped
    bad.write_text("not json", encoding="utf-8")
    assert not tables.load().shipped
    digest = tables.grammar_digest(grammar_path().read_text(encoding="utf-8"))
    bad.write_text('{"grammar_sha256": "%s", "terminals": [[1], 2], "memo": 3}' % digest, encoding="utf-8")
    assert not tables.load().shipped


def test_a_planted_pickle_in_the_cache_is_never_loaded(tmp_path):
    """Lark used to unpickle `grammar-<hash>.lark-cache` from the cache before checking it."""
    cache = tmp_path / "shared"
    cache.mkdir()
    marker = tmp_path / "pwned"

    class Planted:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))
    payload = b"0\n" + pickle.dumps(Planted())  # Lark read a hash line, then unpickled
    import hashlib
    digest = hashlib.sha256(grammar_path().read_bytes()).hexdigest()
    for n in (20, 32, 64):
        (cache / f"grammar-{digest[:n]}.lark-cache").write_bytes(payload)
    env = dict(os.environ, PERFDSL_CACHE=str(cache))
    done = subprocess.run([sys.executable, "-m", "perfdsl", "check", str(ROOT / "policies" / "hospital_safety.perf")],
                          env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert not marker.exists()
    assert not list(Path(p).name for p in (ROOT / "perfdsl").rglob("*.py") if "import pickle" in Path(p).read_text())


# ---- generated modules ------------------------------------------------------------------------
def test_cache_directory_is_created_private_whatever_the_umask(tmp_path, monkeypatch, policy):
    old = os.umask(0)
    try:
        monkeypatch.setenv("PERFDSL_CACHE", str(tmp_path / "new" / "cache"))
        codegen.load_module(policy)
    finally:
        os.umask(old)
    mode = (tmp_path / "new" / "cache").stat().st_mode
    assert stat.S_IMODE(mode) == 0o700
    [f] = (tmp_path / "new" / "cache").glob("*.py")
    assert stat.S_IMODE(f.stat().st_mode) == 0o600
    assert not list((tmp_path / "new" / "cache").glob(".tmp-*"))


def test_world_writable_directory_is_not_used_and_warned_once(tmp_path, monkeypatch, policy, capsys):
    name, planted = _module_name(policy, tmp_path, monkeypatch)
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    (shared / name).write_text(planted, encoding="utf-8")
    os.chmod(shared / name, 0o600)
    if os.geteuid() == 0:
        os.chown(shared / name, OTHER_UID, OTHER_UID)
    monkeypatch.setenv("PERFDSL_CACHE", str(shared))
    capsys.readouterr()
    assert _loads_generated(policy)
    codegen.clear_cache()
    assert _loads_generated(policy)
    err = capsys.readouterr().err
    assert err.count("perfdsl: warning: not caching in") == 1 and "writable by others" in err
    assert (shared / name).read_text(encoding="utf-8") == planted  # not used, not touched
    assert sorted(p.name for p in shared.iterdir()) == [name]      # nothing written there


@as_root
def test_another_users_directory_is_not_used(tmp_path, monkeypatch, policy, capsys):
    name, planted = _module_name(policy, tmp_path, monkeypatch)
    theirs = tmp_path / "theirs"
    theirs.mkdir(mode=0o755)
    (theirs / name).write_text(planted, encoding="utf-8")
    os.chmod(theirs / name, 0o644)
    os.chown(theirs / name, OTHER_UID, OTHER_UID)
    os.chown(theirs, OTHER_UID, OTHER_UID)
    monkeypatch.setenv("PERFDSL_CACHE", str(theirs))
    capsys.readouterr()
    assert _loads_generated(policy)
    assert "another user's" in capsys.readouterr().err


@as_root
def test_a_file_owned_by_another_uid_in_our_directory_is_not_run(tmp_path, monkeypatch, policy):
    name, planted = _module_name(policy, tmp_path, monkeypatch)
    ours = tmp_path / "scratch"
    (ours / name).write_text(planted, encoding="utf-8")
    os.chmod(ours / name, 0o600)
    os.chown(ours / name, OTHER_UID, OTHER_UID)
    assert _loads_generated(policy)
    assert (ours / name).read_text(encoding="utf-8") == generate(policy)  # replaced by ours
    assert (ours / name).stat().st_uid == os.geteuid()


def test_a_planted_symlink_is_neither_followed_on_read_nor_on_write(tmp_path, monkeypatch, policy):
    name, planted = _module_name(policy, tmp_path, monkeypatch)
    ours = tmp_path / "scratch"
    victim = tmp_path / "victim.py"
    victim.write_text(planted, encoding="utf-8")  # ours, private, well-formed: only the link is wrong
    os.chmod(victim, 0o600)
    (ours / name).unlink()
    (ours / name).symlink_to(victim)
    assert _loads_generated(policy)
    assert victim.read_text(encoding="utf-8") == planted       # the write did not go through the link
    assert not (ours / name).is_symlink()
    assert (ours / name).read_text(encoding="utf-8") == generate(policy)


def test_a_fifo_or_directory_under_the_module_name_is_skipped(tmp_path, monkeypatch, policy):
    name, _ = _module_name(policy, tmp_path, monkeypatch)
    ours = tmp_path / "scratch"
    (ours / name).unlink()
    os.mkfifo(ours / name)
    assert _loads_generated(policy)  # no hang on the FIFO
