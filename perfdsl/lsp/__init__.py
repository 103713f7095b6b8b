"""`perfdsl lsp`: a Language Server for `.perf` files over stdio (LANGUAGE.md §12.4).

Diagnostics (the checker's), hover, go to definition and references across imports,
document symbols, completion, and formatting through `perfdsl.fmt` where it exists.
The server's wiring is in `server.py`; everything it answers is computed by the small
modules beside it from one `Analysis` of the buffer.
"""


def main() -> int:
    """Serve on stdin/stdout until the client says exit. Imported lazily so other verbs
    never pay for pygls."""
    try:
        from .server import main as serve
    except ImportError as err:  # a hand-made environment without the server's libraries
        import sys
        sys.stderr.write(f"perfdsl lsp needs pygls 2 and lsprotocol ({err}); run: pip install 'pygls>=2,<3'\n")
        return 1
    return serve()
