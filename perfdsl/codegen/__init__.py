"""IR → a loaded Python backend: `load_module(ir)` generates, compiles and binds it.

Binding gives the module the folder its relative file names are in (error messages name
the policy's files as the reference does). Nothing else is handed over: the cohort stage
maps the module's RANKINGS and GROUPS numbers to the core's nodes itself (lower.walk).

The generated source is cached twice, keyed by the policy's source hash together with
a fingerprint of the compiler (grammar, checker, IR, this generator and its templates,
so a changed checker or template never serves stale code): in this process, as the
executed module, and on disk through `private_cache`, so a later process reads the
source instead of rendering it. The disk cache is used only where nobody else can plant
a file (see private_cache); a directory that cannot be written is skipped silently.
"""
from __future__ import annotations

import hashlib
import linecache
import os
import re
import types

from .. import private_cache
from ..ir import Policy
from .python import fingerprint, generate

__all__ = ["clear_cache", "generate", "load_module", "policy_site"]

_MODULES: dict[tuple[str, str], types.ModuleType] = {}
_FINGERPRINT: str | None = None
_END = "# end of generated code\n"
_HEX = re.compile(r"[0-9a-f]{8,128}\Z")


def load_module(ir: Policy):
    """A backend for `ir` with the stages of the reference: individual, post, cohort, group_arg
    (ranks and group values by index into the module's RANKINGS and GROUPS)."""
    key = _key(ir)
    module = _MODULES.get((ir.source_hash, key))
    if module is None:
        module = _load(ir, key)
        module.bind(os.path.dirname(ir.file))
        _MODULES[(ir.source_hash, key)] = module
    backend = module.Backend(ir)
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
        g = tb.tb_frame.f_globals
        if isinstance(g.get("SPANS"), dict) and g.get("__perfdsl_generated__"):
            i = g["SPANS"].get(tb.tb_lineno)
            if i is not None:
                f, line, col = g["SITES"][i]
                site = (g["PATHS"][f], line, col)
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
    name = _file_name(ir, key)
    filename = f"<perfdsl-generated {name[:-3]}>"
    source = _read_cached(name)
    code = None
    if source is not None:
        try:
            code = compile(source, filename, "exec")
        except (SyntaxError, ValueError):
            code = None
    if code is None:
        source = generate(ir)
        code = compile(source, filename, "exec")
        private_cache.write(name, source.encode("utf-8"))
    # Tracebacks show the generated lines even when nothing is on disk.
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    module = types.ModuleType(f"perfdsl_generated_{key[:16]}")
    module.__file__ = filename
    module.__dict__["__perfdsl_generated__"] = True
    module.__dict__["__source__"] = source
    exec(code, module.__dict__)
    return module


def _read_cached(name: str) -> str | None:
    """The cached source `name`, or None when absent, untrusted (see private_cache) or damaged."""
    data = private_cache.read(name)
    try:
        source = data.decode("utf-8") if data is not None else None
    except UnicodeDecodeError:
        return None
    return source if source is not None and source.endswith(_END) else None
