"""`perfdsl lsp`: the pygls wiring. Each handler turns the request into a question for
`Analysis` (a checked buffer) and the answer into lsprotocol types.

Every handler runs inside `_guard`: whatever a policy makes perfdsl do, the answer is
an empty result and one line in the client's log, never a traceback in a pop-up and
never a dead server. Diagnostics are recomputed shortly after typing pauses; a request
about a buffer that changed since its last check checks it first, so answers are
never about older text than the request.
"""
from __future__ import annotations

import asyncio
import functools
import logging
from pathlib import Path

from lsprotocol import types as T
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path, to_fs_path

from .analysis import Analysis, absolute, analyse
from .complete import completions, outline, wants_tier
from .diagnostics import lsp_diagnostics
from .hover import hover_markdown
from .positions import Text
from .symbols import Symbol

DEBOUNCE = 0.25  # seconds of quiet after a keystroke before diagnostics are recomputed
log = logging.getLogger(__name__)


class PerfServer(LanguageServer):
    def __init__(self):
        super().__init__("perfdsl", "0.1.0")
        self.analyses: dict[str, tuple[int | None, Analysis]] = {}
        self.parsed: dict[str, Analysis] = {}  # the last analysis of each buffer that parsed
        self.pending: dict[str, asyncio.Task] = {}

    # ---- buffers --------------------------------------------------------------------
    def encoding(self) -> str:
        return getattr(self.server_capabilities, "position_encoding", None) or T.PositionEncodingKind.Utf16

    def text_of(self, source: str) -> Text:
        return Text(source, self.encoding())

    def analysis(self, uri: str) -> Analysis | None:
        """The analysis of the buffer's current text (checked now if it changed)."""
        doc = self.workspace.get_text_document(uri)
        cached = self.analyses.get(uri)
        if cached is not None and cached[0] == doc.version and cached[1].text == doc.source:
            return cached[1]
        an = analyse(path_of(uri), doc.source)
        self.analyses[uri] = (doc.version, an)
        if an.parsed:
            self.parsed[uri] = an
        return an

    def publish(self, uri: str) -> None:
        an = self.analysis(uri)
        if an is None:
            return
        diags = lsp_diagnostics(an, self.text_of(an.text), self.file_text, uri_of)
        self.text_document_publish_diagnostics(T.PublishDiagnosticsParams(uri=uri, diagnostics=diags))

    def file_text(self, an: Analysis, name: str) -> Text:
        """Positions in another file that the program read (an import)."""
        if name == an.path:
            return self.text_of(an.text)
        return self.text_of(an.texts.get(name, ""))

    def schedule(self, uri: str, delay: float) -> None:
        old = self.pending.pop(uri, None)
        if old is not None:
            old.cancel()

        async def later():
            await asyncio.sleep(delay)
            self.pending.pop(uri, None)
            _safely(self.publish, uri)

        self.pending[uri] = asyncio.get_running_loop().create_task(later())

    def location(self, an: Analysis, span) -> T.Location:
        return T.Location(uri=uri_of(span.file), range=self.file_text(an, span.file).range(span))


def path_of(uri: str) -> str:
    """The file name the checker should use for a buffer: its path on disk, or for a
    buffer never saved, a name in the working directory (so its imports resolve there)."""
    path = to_fs_path(uri) if uri.startswith("file:") else None
    return path or str(Path.cwd() / "untitled.perf")


def uri_of(name: str) -> str:
    return from_fs_path(str(absolute(name))) or name


def _safely(fn, *args, default=None):
    try:
        return fn(*args)
    except Exception as err:  # noqa: BLE001 - see the module docstring
        log.error("perfdsl lsp: %s failed: %s: %s", getattr(fn, "__name__", fn), type(err).__name__, err)
        return default


def _guard(default=None):
    def wrap(fn):
        @functools.wraps(fn)
        def run(ls, params):
            return _safely(fn, ls, params, default=default)
        return run
    return wrap


server = PerfServer()


@server.feature(T.TEXT_DOCUMENT_DID_OPEN)
@_guard()
def did_open(ls: PerfServer, params: T.DidOpenTextDocumentParams):
    ls.publish(params.text_document.uri)


@server.feature(T.TEXT_DOCUMENT_DID_CHANGE)
@_guard()
def did_change(ls: PerfServer, params: T.DidChangeTextDocumentParams):
    ls.schedule(params.text_document.uri, DEBOUNCE)


@server.feature(T.TEXT_DOCUMENT_DID_SAVE)
@_guard()
def did_save(ls: PerfServer, params: T.DidSaveTextDocumentParams):
    ls.schedule(params.text_document.uri, 0)


@server.feature(T.TEXT_DOCUMENT_DID_CLOSE)
@_guard()
def did_close(ls: PerfServer, params: T.DidCloseTextDocumentParams):
    uri = params.text_document.uri
    task = ls.pending.pop(uri, None)
    if task is not None:
        task.cancel()
    ls.analyses.pop(uri, None)
    ls.parsed.pop(uri, None)
    ls.text_document_publish_diagnostics(T.PublishDiagnosticsParams(uri=uri, diagnostics=[]))


def _symbol_at(ls: PerfServer, uri: str, position: T.Position) -> tuple[Analysis, str | None]:
    an = ls.analysis(uri)
    line, col = ls.text_of(an.text).point(position)
    return an, an.index.at(an.path, line, col)


@server.feature(T.TEXT_DOCUMENT_HOVER)
@_guard()
def hover(ls: PerfServer, params: T.HoverParams):
    an, name = _symbol_at(ls, params.text_document.uri, params.position)
    syms = an.index.lookup(name) if name else []
    if not syms:
        return None
    text = "\n\n---\n\n".join(hover_markdown(an, s, _checked_ir(ls, an, s)) for s in syms)
    return T.Hover(contents=T.MarkupContent(kind=T.MarkupKind.Markdown, value=text))


def _checked_ir(ls: PerfServer, an: Analysis, sym: Symbol):
    """The IR to describe a symbol with: the buffer's, else (a module, or a policy with
    errors) that of an open buffer whose checked program declares the same symbol."""
    if an.policy is not None:
        return an.policy
    for _, other in list(ls.analyses.values()):
        if other.policy is not None and _same_symbol([sym], other.index.lookup(sym.name)):
            return other.policy
    return None


def _import_at(an: Analysis, line: int, col: int) -> str | None:
    for imp, target in an.imports:
        if imp.span.line == line:
            return target
    return None


@server.feature(T.TEXT_DOCUMENT_DEFINITION)
@_guard()
def definition(ls: PerfServer, params: T.DefinitionParams):
    an, name = _symbol_at(ls, params.text_document.uri, params.position)
    if name is None:
        line, col = ls.text_of(an.text).point(params.position)
        target = _import_at(an, line, col)
        if target is None or target not in an.texts:
            return None
        return [T.Location(uri=uri_of(target), range=T.Range(start=T.Position(line=0, character=0),
                                                             end=T.Position(line=0, character=0)))]
    return [ls.location(an, s.span) for s in an.index.lookup(name)] or None


def _same_symbol(a: list[Symbol], b: list[Symbol]) -> bool:
    return bool({(absolute(s.span.file), s.span.line, s.span.col) for s in a}
                & {(absolute(s.span.file), s.span.line, s.span.col) for s in b})


@server.feature(T.TEXT_DOCUMENT_REFERENCES)
@_guard()
def references(ls: PerfServer, params: T.ReferenceParams):
    """Uses in this policy and its imports, and in every other open buffer whose program
    declares the same symbol (a module's names used by the policies importing it)."""
    an, name = _symbol_at(ls, params.text_document.uri, params.position)
    if name is None:
        return None
    declared = an.index.lookup(name)
    programs = [an] + [other for uri, (_, other) in list(ls.analyses.items())
                       if other is not an and _same_symbol(declared, other.index.lookup(name))]
    seen, out = set(), []
    for prog in programs:
        spans = [u.span for u in prog.index.uses if u.name == name]
        if params.context.include_declaration:
            spans = [s.span for s in prog.index.lookup(name)] + spans
        for span in spans:
            key = (absolute(span.file), span.line, span.col)
            if key not in seen:
                seen.add(key)
                out.append(ls.location(prog, span))
    return out


@server.feature(T.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
@_guard(default=[])
def document_symbol(ls: PerfServer, params: T.DocumentSymbolParams):
    uri = params.text_document.uri
    an = ls.analysis(uri)
    if not an.parsed:
        an = ls.parsed.get(uri, an)
        if an.text != ls.workspace.get_text_document(uri).source:
            return []  # positions of an older text would point at the wrong lines
    return outline(an, ls.text_of(an.text))


@server.feature(T.TEXT_DOCUMENT_COMPLETION, T.CompletionOptions(trigger_characters=[" ", "(", ">"]))
@_guard()
def completion(ls: PerfServer, params: T.CompletionParams):
    uri = params.text_document.uri
    an = ls.analysis(uri)
    text = ls.text_of(an.text)
    line, col = text.point(params.position)
    before = text.lines[line - 1][:col - 1 + (text.bom if line == 1 else 0)] if line <= len(text.lines) else ""
    if not an.parsed:
        an = ls.parsed.get(uri, an)
    return T.CompletionList(is_incomplete=False, items=completions(an, wants_tier(before)))


def _register_formatting() -> bool:
    """Formatting is `perfdsl fmt`: offered only when the formatter is installed."""
    try:
        from ..fmt import FormatError, format_text
    except ImportError:
        return False

    @server.feature(T.TEXT_DOCUMENT_FORMATTING)
    @_guard()
    def formatting(ls: PerfServer, params: T.DocumentFormattingParams):
        uri = params.text_document.uri
        source = ls.workspace.get_text_document(uri).source
        try:
            formatted = format_text(source, path_of(uri))
        except FormatError:  # text that does not parse: its diagnostics already say why
            return []
        if formatted == source:
            return []
        text = ls.text_of(source)
        return [T.TextEdit(range=T.Range(start=T.Position(line=0, character=0), end=text.end()), new_text=formatted)]
    return True


FORMATTING = _register_formatting()


class _OneLine(logging.Formatter):
    """Log records (pygls's too) as one line each: an exception by its type and message,
    never its traceback, in the editor's output panel."""

    def format(self, record: logging.LogRecord) -> str:
        text = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            err = record.exc_info[1]
            text += f": {type(err).__name__}: {err}"
        return f"{record.levelname.lower()}: {text}".replace("\n", " ")


def main() -> int:
    handler = logging.StreamHandler()  # stderr: stdout carries the protocol
    handler.setFormatter(_OneLine())
    logging.basicConfig(level=logging.WARNING, handlers=[handler], force=True)
    server.start_io()
    return 0


__all__ = ["main", "server"]
