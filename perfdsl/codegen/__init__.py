"""IR → a loaded Python backend: `load_module(ir)` generates, compiles and binds it.

The generated source is cached twice, keyed by the policy's source hash together with
a fingerprint of the compiler (grammar, checker, IR, this generator and its templates,
so a changed checker or template never serves stale code): in this process, as the
executed module, and on disk in `resources.cache_dir()`, so a later process reads the
source instead of rendering it. A cache directory that cannot be written is skipped silently.
"""
from __future__ import annotations

import hashlib
import linecache
import os
import re
import tempfile
import types
from pathlib import Path

from ..ir import Policy
from ..resources import cache_dir
from .python import bind_nodes, fingerprint, generate

__all__ = ["cache_dir", "clear_cache", "generate", "load_module", "policy_site"]

_MODULES: dict[tuple[str, str], types.ModuleType] = {}
_FINGERPRINT: str | None = None
_END = "# end of generated code\n"
_HEX = re.compile(r"[0-9a-f]{8,128}\Z")


def load_module(ir: Policy):
    """A backend for `ir` with the Interpreter's protocol: individual, post, cohort, group_arg."""
    key = _key(ir)
    module = _MODULES.get((ir.source_hash, key))
    if module is None:
        module = _load(ir, key)
        _MODULES[(ir.source_hash, key)] = module
    backend = module.Backend(ir, bind_nodes(ir))
    backend.module = module
    return backend


def clear_cache() -> None:
    """Forget the modules loaded in this process (the disk cache stays)."""
    _MODULES.clear()


def policy_site(exc: BaseException) -> tuple[str, int, int] | None:
    """(file, line, column) in the policy of the generated statement that raised `exc`."""
    site = None
    tb = exc.__traceback__
    while tb is not None:
        spans = tb.tb_frame.f_globals.get("SPANS")
        if isinstance(spans, dict) and tb.tb_frame.f_globals.get("__perfdsl_generated__"):
            site = spans.get(tb.tb_lineno, site)
        tb = tb.tb_next
    return site


# ---- internals ---------------------------------------------------------------------------
def _key(ir: Policy) -> str:
    global _FINGERPRINT
    if _FINGERPRINT is None:
        _FINGERPRINT = fingerprint()
    # The IR is a function of the source texts (source_hash) and the compiler (fingerprint);
    # hashing the IR itself would walk it recursively, which deep policies cannot afford.
    return hashlib.sha256(f"{_FINGERPRINT}\0{ir.source_hash}\0{ir.file}".encode("utf-8", "surrogatepass")).hexdigest()


def _file_name(ir: Policy, key: str) -> str:
    # The source hash names the file only when it is plain hex: an IR is data, and a
    # hostile `source_hash` must not choose a path.
    h = ir.source_hash if isinstance(ir.source_hash, str) and _HEX.match(ir.source_hash) else "x"
    return f"{h[:32]}-{key[:16]}.py"


def _load(ir: Policy, key: str) -> types.ModuleType:
    directory = cache_dir()
    path = directory / _file_name(ir, key) if directory is not None else None
    filename = f"<perfdsl-generated {_file_name(ir, key)[:-3]}>"
    source = _read_cached(path) if path is not None else None
    code = None
    if source is not None:
        try:
            code = compile(source, filename, "exec")
        except (SyntaxError, ValueError):
            code = None
    if code is None:
        source = generate(ir)
        code = compile(source, filename, "exec")
        if path is not None:
            _write_cached(path, source)
    # Tracebacks show the generated lines even when nothing is on disk.
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    module = types.ModuleType(f"perfdsl_generated_{key[:16]}")
    module.__file__ = filename
    module.__dict__["__perfdsl_generated__"] = True
    module.__dict__["__source__"] = source
    exec(code, module.__dict__)
    return module


def _read_cached(path: Path) -> str | None:
    """The cached source at `path`, or None when absent, not ours, or damaged."""
    try:
        st = path.stat()
        if hasattr(os, "getuid") and (st.st_uid != os.getuid() or st.st_mode & 0o022):
            return None  # written by someone else, or writable by others: do not run it
        source = path.read_text(encoding="utf-8")
        return source if source.endswith(_END) else None
    except (OSError, UnicodeDecodeError, ValueError):
        return None


def _write_cached(path: Path, source: str) -> None:
    """Write atomically (a reader never sees half a file); any failure is ignored."""
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".py", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(source)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
        tmp = None
    except OSError:
        pass
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
