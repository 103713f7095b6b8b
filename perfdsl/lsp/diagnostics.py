"""The checker's diagnostics as LSP diagnostics: same code, span and message as
`perfdsl check`, the hint on a line of its own, notes as related locations.

A problem in an imported file is shown on the `import` line that brought the file in
(the editor shows one buffer's list), with its own place as related information.
"""
from __future__ import annotations

from lsprotocol import types as T

from ..diagnostics import Diagnostic, Span
from .analysis import Analysis

_SEVERITY = {"error": T.DiagnosticSeverity.Error, "warning": T.DiagnosticSeverity.Warning}


def _message(d: Diagnostic) -> str:
    return d.message + (f"\nhint: {d.hint}" if d.hint else "")


def _import_span(an: Analysis, file: str) -> Span:
    for imp, target in an.imports:
        if target == file:
            return imp.span
    if an.imports:
        return an.imports[0][0].span
    return Span(an.path, 1, 1, 1, 2)


def lsp_diagnostics(an: Analysis, text, file_text, uri_of) -> list[T.Diagnostic]:
    """`text` converts this buffer's positions; `file_text(an, name)` another file's;
    `uri_of(name)` names a file for the client."""
    out = []
    for d in an.diagnostics:
        related = [T.DiagnosticRelatedInformation(
            location=T.Location(uri=uri_of(n.span.file), range=file_text(an, n.span.file).range(n.span)),
            message=n.message) for n in d.notes]
        message = _message(d)
        span = d.span
        if span.file != an.path:
            related.insert(0, T.DiagnosticRelatedInformation(
                location=T.Location(uri=uri_of(span.file), range=file_text(an, span.file).range(span)),
                message=d.message))
            message = f"in {span}: {message}"
            span = _import_span(an, span.file)
        out.append(T.Diagnostic(range=text.range(span), message=message, severity=_SEVERITY.get(d.severity),
                                code=d.code, source="perfdsl", related_information=related or None))
    return out
