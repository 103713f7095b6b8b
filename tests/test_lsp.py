"""`perfdsl lsp` driven by a real client over stdio (pytest-lsp), on a policy that imports
a module, with characters outside the basic plane before the places that matter.

One server serves the whole module (starting one costs about a second); each test
opens its own documents.
"""
from __future__ import annotations

import sys

import pytest
import pytest_lsp
from lsprotocol import types as T
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

pytestmark = pytest.mark.asyncio(loop_scope="module")

COMMON = """\
# 共用部分
input unit_id: text "单位"
input late: int in 0..10 "迟到次数"
"""

MAIN = """\
import "common.perf"

policy demo "演示" {
  key unit_id
  indicator attendance "考勤" weight 100% {
    base 100
    deduct 5 per late "迟到一次扣5分"
    clamp 0..100
  }
  score total "总分" = weighted(attendance)
  tiers grade "等次" by total {
    优秀 >= 90
    合格 >= 60
    不合格 otherwise
  }
  veto late >= 10 -> 不合格 "迟到太多"
  flag "😀𠀀 提醒" if late >= 5
  example "全勤" { given unit_id = "u1", late = 0  expect total = 100, grade = 优秀 }
}
"""


@pytest_lsp.fixture(scope="module", config=ClientServerConfig(server_command=[sys.executable, "-m", "perfdsl", "lsp"]))
async def client(lsp_client: LanguageClient, tmp_path_factory):
    root = tmp_path_factory.mktemp("lsp")
    (root / "common.perf").write_text(COMMON, encoding="utf-8")
    (root / "main.perf").write_text(MAIN, encoding="utf-8")
    lsp_client.root = root
    await lsp_client.initialize_session(T.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"), root_uri=root.as_uri()))
    yield
    await lsp_client.shutdown_session()


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def at(text: str, line_no: int, needle: str, offset: int = 0) -> T.Position:
    """The LSP position (UTF-16) of `needle` on 0-based line `line_no` of text."""
    line = text.split("\n")[line_no]
    return T.Position(line=line_no, character=utf16(line[: line.index(needle) + offset]))


async def open_doc(client: LanguageClient, name: str, text: str) -> tuple[str, list[T.Diagnostic]]:
    path = client.root / name
    path.write_text(text, encoding="utf-8")
    uri = path.as_uri()
    client.text_document_did_open(T.DidOpenTextDocumentParams(
        text_document=T.TextDocumentItem(uri=uri, language_id="perf", version=1, text=text)))
    await client.wait_for_notification(T.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    return uri, list(client.diagnostics[uri])


async def change(client: LanguageClient, uri: str, text: str, version: int) -> list[T.Diagnostic]:
    client.text_document_did_change(T.DidChangeTextDocumentParams(
        text_document=T.VersionedTextDocumentIdentifier(uri=uri, version=version),
        content_changes=[T.TextDocumentContentChangeWholeDocument(text=text)]))
    await client.wait_for_notification(T.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    return list(client.diagnostics[uri])


async def hover_text(client: LanguageClient, uri: str, pos: T.Position) -> str | None:
    h = await client.text_document_hover_async(T.HoverParams(text_document=T.TextDocumentIdentifier(uri=uri), position=pos))
    return None if h is None else h.contents.value


async def test_diagnostics_on_open_count_utf16_units_after_astral_characters(client: LanguageClient):
    bad = MAIN.replace("if late >= 5", "if lat >= 5")
    uri, diags = await open_doc(client, "bad.perf", bad)
    assert [(d.code, d.severity, d.source) for d in diags] == [("PD002", T.DiagnosticSeverity.Error, "perfdsl")]
    d = diags[0]
    line = bad.split("\n")[16]
    start = utf16(line[: line.index("lat ")])
    # 😀 and 𠀀 are one code point each (perfdsl's col 19) but two UTF-16 units each.
    assert line.index("lat ") + 1 == 19 and start == 20
    assert d.range == T.Range(start=T.Position(line=16, character=start), end=T.Position(line=16, character=start + 3))
    assert d.message == "unknown name `lat`\nhint: did you mean `late`?"


async def test_diagnostics_follow_changes(client: LanguageClient):
    uri, diags = await open_doc(client, "changing.perf", MAIN)
    assert diags == []
    broken = MAIN.replace("clamp 0..100", "clamp 0..100\n    weight 5")
    diags = await change(client, uri, broken, 2)
    assert [d.code for d in diags] == ["PD001"]
    assert diags[0].range.start == T.Position(line=8, character=4)
    diags = await change(client, uri, MAIN.replace("weight 100%", "weight 90%"), 3)
    assert [d.code for d in diags] == ["PD012"] and "weights sum to 90%" in diags[0].message
    assert await change(client, uri, MAIN, 4) == []


async def test_diagnostic_in_an_imported_file_sits_on_its_import_line(client: LanguageClient):
    (client.root / "broken_common.perf").write_text("input late: int in 0..\ninput late: bool\n", encoding="utf-8")
    text = 'import "broken_common.perf"\npolicy p { key late  score s = 1 }\n'
    uri, diags = await open_doc(client, "uses_broken.perf", text)
    dup = [d for d in diags if d.code == "PD004"]
    assert len(dup) == 1
    assert dup[0].range.start.line == 0
    assert dup[0].message.startswith(f"in {client.root / 'broken_common.perf'}:2:1: `late` is defined twice")
    related = dup[0].related_information[0]
    assert related.location.uri == (client.root / "broken_common.perf").as_uri()
    assert related.location.range.start == T.Position(line=1, character=0)


async def test_hover_shows_declaration_label_type_and_static_range(client: LanguageClient):
    uri, _ = await open_doc(client, "hover.perf", MAIN)
    text = await hover_text(client, uri, at(MAIN, 10, "total"))  # `by total`
    assert '```perf\nscore total "总分" = weighted(attendance)\n```' in text
    assert "**total** · score · “总分”" in text
    assert "type: `number` · static range: `50..100`" in text  # late ≤ 10: at most 50 deducted
    text = await hover_text(client, uri, at(MAIN, 6, "late"))  # declared in the module
    assert 'input late: int in 0..10 "迟到次数"' in text
    assert "type: `int` · range: `0..10`" in text and "from `" in text
    text = await hover_text(client, uri, at(MAIN, 4, "attendance"))
    assert "type: `number` · static range: `50..100` · weight: `100%`" in text


async def test_hover_on_a_tier_set_lists_its_bands(client: LanguageClient):
    uri, _ = await open_doc(client, "tiers.perf", MAIN)
    text = await hover_text(client, uri, at(MAIN, 17, "grade"))  # `expect ... grade = 优秀`
    assert "**grade** · tier set · “等次”" in text
    assert "bands:\n- `优秀 >= 90`\n- `合格 >= 60`\n- `不合格 otherwise`" in text
    text = await hover_text(client, uri, at(MAIN, 15, "不合格"))  # the veto's tier
    assert text.startswith("**不合格** · tier of `grade`\n\n`不合格 otherwise`")


async def test_hover_after_astral_characters_and_nowhere(client: LanguageClient):
    uri, _ = await open_doc(client, "astral.perf", MAIN)
    pos = at(MAIN, 16, "late", 2)  # the middle of `late`, after 😀𠀀 on the line
    assert pos.character == utf16('  flag "😀𠀀 提醒" if la')
    assert "**late** · input" in await hover_text(client, uri, pos)
    assert await hover_text(client, uri, at(MAIN, 16, "提醒")) is None  # inside a string
    assert await hover_text(client, uri, T.Position(line=400, character=9)) is None


async def test_definition_across_imports(client: LanguageClient):
    uri, _ = await open_doc(client, "defn.perf", MAIN)
    locs = await client.text_document_definition_async(T.DefinitionParams(
        text_document=T.TextDocumentIdentifier(uri=uri), position=at(MAIN, 15, "late")))
    assert [(loc.uri, loc.range) for loc in locs] == [(
        (client.root / "common.perf").as_uri(),
        T.Range(start=T.Position(line=2, character=6), end=T.Position(line=2, character=10)))]
    locs = await client.text_document_definition_async(T.DefinitionParams(
        text_document=T.TextDocumentIdentifier(uri=uri), position=at(MAIN, 12, "")))  # `    合格 >= 60`
    assert locs is None  # whitespace before the band
    locs = await client.text_document_definition_async(T.DefinitionParams(
        text_document=T.TextDocumentIdentifier(uri=uri), position=at(MAIN, 17, "优秀")))
    assert [(loc.uri, loc.range.start) for loc in locs] == [(uri, T.Position(line=11, character=4))]
    locs = await client.text_document_definition_async(T.DefinitionParams(
        text_document=T.TextDocumentIdentifier(uri=uri), position=at(MAIN, 0, "common")))
    assert [loc.uri for loc in locs] == [(client.root / "common.perf").as_uri()]


async def test_references_across_imports(client: LanguageClient):
    uri, _ = await open_doc(client, "refs.perf", MAIN)
    refs = await client.text_document_references_async(T.ReferenceParams(
        text_document=T.TextDocumentIdentifier(uri=uri), position=at(MAIN, 6, "late"),
        context=T.ReferenceContext(include_declaration=True)))
    got = sorted((r.uri.rsplit("/", 1)[1], r.range.start.line, r.range.start.character) for r in refs)
    # Other open buffers importing common.perf use `late` too; this buffer's and the module's:
    got = [g for g in got if g[0] in ("common.perf", "refs.perf")]
    flag_line = MAIN.split("\n")[16]
    assert got == sorted([
        ("common.perf", 2, 6),
        ("refs.perf", 6, 17),  # deduct 5 per late
        ("refs.perf", 15, 7),  # veto late
        ("refs.perf", 16, utf16(flag_line[: flag_line.index("late")])),
        ("refs.perf", 17, MAIN.split("\n")[17].index("late")),  # given late = 0
    ])


async def test_references_from_a_module_reach_open_policies_importing_it(client: LanguageClient):
    main_uri, _ = await open_doc(client, "importer.perf", MAIN)
    common_uri, _ = await open_doc(client, "common.perf", COMMON)
    refs = await client.text_document_references_async(T.ReferenceParams(
        text_document=T.TextDocumentIdentifier(uri=common_uri), position=at(COMMON, 2, "late"),
        context=T.ReferenceContext(include_declaration=False)))
    assert sum(r.uri == main_uri for r in refs) == 4
    text = await hover_text(client, common_uri, at(COMMON, 2, "late"))  # typed by the open importer
    assert "**late** · input · “迟到次数”" in text and "type: `int` · range: `0..10`" in text
    lonely = 'input q: int in 0..5 "无人引用"\n'
    uri, diags = await open_doc(client, "lonely.perf", lonely)
    assert diags == []
    text = await hover_text(client, uri, at(lonely, 0, "q"))
    assert text.endswith("**q** · input · “无人引用”\n\n*type and range: shown once a policy importing this module is open*")


async def test_document_symbols(client: LanguageClient):
    uri, _ = await open_doc(client, "outline.perf", MAIN)
    syms = await client.text_document_document_symbol_async(T.DocumentSymbolParams(
        text_document=T.TextDocumentIdentifier(uri=uri)))
    assert [(s.name, s.kind) for s in syms] == [
        ("attendance", T.SymbolKind.Property), ("total", T.SymbolKind.Variable), ("grade", T.SymbolKind.Enum),
        ("veto → 不合格", T.SymbolKind.Event), ("flag “😀𠀀 提醒”", T.SymbolKind.Event),
        ("example “全勤”", T.SymbolKind.Method)]
    grade = syms[2]
    assert [c.name for c in grade.children] == ["优秀", "合格", "不合格"]
    assert grade.selection_range == T.Range(start=T.Position(line=10, character=8), end=T.Position(line=10, character=13))
    assert syms[0].detail == "考勤"


async def test_completion_offers_names_keywords_in_both_languages_and_tiers(client: LanguageClient):
    uri, _ = await open_doc(client, "complete.perf", MAIN)
    half = MAIN.replace("  veto late", "  veto la\n  veto late")  # a half-typed line: no parse
    await change(client, uri, half, 2)
    result = await client.text_document_completion_async(T.CompletionParams(
        text_document=T.TextDocumentIdentifier(uri=uri), position=T.Position(line=15, character=9)))
    kinds = {i.label: i.kind for i in result.items}
    for word in ("indicator", "指标", "deduct", "扣", "otherwise", "其他", "rank by", "并列共享"):
        assert kinds[word] == T.CompletionItemKind.Keyword, word
    assert kinds["优秀"] == kinds["不合格"] == T.CompletionItemKind.EnumMember
    assert kinds["late"] == T.CompletionItemKind.Field  # from the import
    assert kinds["total"] == T.CompletionItemKind.Variable and kinds["weighted"] == T.CompletionItemKind.Function
    names = [i.label for i in sorted(result.items, key=lambda i: i.sort_text)]
    assert names.index("total") < names.index("优秀") < names.index("weighted") < names.index("指标")
    await change(client, uri, MAIN.replace("-> 不合格", "-> 不"), 3)  # a tier is expected here
    result = await client.text_document_completion_async(T.CompletionParams(
        text_document=T.TextDocumentIdentifier(uri=uri), position=T.Position(line=15, character=22)))
    names = [i.label for i in sorted(result.items, key=lambda i: i.sort_text)]
    assert names[:3] == ["不合格", "优秀", "合格"]  # by code point; then the other names


HOSTILE = [
    "",
    "\x00\x01\x02",
    'policy p { input x: int in 0..10  score s = x / 0  tiers t by s { a >= 1 b otherwise } }',
    "policy " + "(" * 5000,
    "let x = " + "-" * 20000 + "1",
    'policy p "unterminated',
    "\ufeffpolicy p {} policy q {}",
    "import \"/dev/zero\"\nimport \"../../../../etc/passwd\"\nimport \"nope\"\n",
    "policy p { input x: int in 0..  let a = b  let b = a }",
    "policy p {\r\n  input 😀x: int\r\n}\r",
    "def f(x) = f(x)\npolicy p { score s = f(1) }",
]


async def test_survives_hostile_text_and_keeps_answering(client: LanguageClient):
    uri, _ = await open_doc(client, "hostile.perf", "policy p {}")
    for version, text in enumerate(HOSTILE, start=2):
        diags = await change(client, uri, text, version)
        assert all(d.source == "perfdsl" and d.code and d.code != "PD000" for d in diags), (text[:40], diags)
        for pos in (T.Position(line=0, character=0), T.Position(line=0, character=3), T.Position(line=9, character=99)):
            await hover_text(client, uri, pos)
            await client.text_document_definition_async(T.DefinitionParams(
                text_document=T.TextDocumentIdentifier(uri=uri), position=pos))
            await client.text_document_completion_async(T.CompletionParams(
                text_document=T.TextDocumentIdentifier(uri=uri), position=pos))
        await client.text_document_document_symbol_async(T.DocumentSymbolParams(
            text_document=T.TextDocumentIdentifier(uri=uri)))
    diags = await change(client, uri, MAIN, 100)
    assert diags == []
    assert "**total** · score" in await hover_text(client, uri, at(MAIN, 10, "total"))


async def test_formatting_goes_through_fmt(client: LanguageClient):
    from perfdsl import fmt
    messy = MAIN.replace("    base 100", "base    100").replace("score total", "score   total")
    uri, _ = await open_doc(client, "format.perf", messy)
    edits = await client.text_document_formatting_async(T.DocumentFormattingParams(
        text_document=T.TextDocumentIdentifier(uri=uri), options=T.FormattingOptions(tab_size=2, insert_spaces=True)))
    expected = fmt.format_text(messy, str(client.root / "format.perf"))
    assert len(edits) == 1 and edits[0].new_text == expected
    assert edits[0].range == T.Range(start=T.Position(line=0, character=0),
                                     end=T.Position(line=len(messy.split("\n")) - 1, character=0))
    assert "  score total \"总分\" = weighted(attendance)\n" in edits[0].new_text
    assert await change(client, uri, expected, 2) == []
    edits = await client.text_document_formatting_async(T.DocumentFormattingParams(
        text_document=T.TextDocumentIdentifier(uri=uri), options=T.FormattingOptions(tab_size=2, insert_spaces=True)))
    assert list(edits) == []  # already formatted
    await change(client, uri, messy.replace("}", "", 1), 3)  # unparsable: nothing to do, no error
    edits = await client.text_document_formatting_async(T.DocumentFormattingParams(
        text_document=T.TextDocumentIdentifier(uri=uri), options=T.FormattingOptions(tab_size=2, insert_spaces=True)))
    assert list(edits) == []



GROUPED = """\
policy g {
  key id
  input id: text
  input dept: text
  input s: decimal in 0..100
  score total = s
  tiers grade by total { A >= 90  B otherwise }
  quota A at most 20% per dept rank by total desc then id asc
}
"""


async def test_references_reach_keys_groups_and_rank_keys(client: LanguageClient):
    uri, diags = await open_doc(client, "grouped.perf", GROUPED)
    assert diags == []

    async def refs(line, needle):
        got = await client.text_document_references_async(T.ReferenceParams(
            text_document=T.TextDocumentIdentifier(uri=uri), position=at(GROUPED, line, needle),
            context=T.ReferenceContext(include_declaration=True)))
        return sorted((r.range.start.line, r.range.start.character, r.range.end.character) for r in got)

    assert await refs(3, "dept") == [(3, 8, 12), (7, 26, 30)]
    assert await refs(2, "id") == [(1, 6, 8), (2, 8, 10), (7, 55, 57)]
    assert await refs(6, "A ") == [(6, 25, 26), (7, 8, 9)]


async def test_a_broken_message_is_one_log_line_not_a_traceback():
    import asyncio
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "perfdsl", "lsp", stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(b"Content-Length: 5\r\n\r\n{bad}"), 60)
    assert proc.returncode == 0
    assert err.decode().splitlines() == [
        "error: Unable to handle message: JSONDecodeError: Expecting property name enclosed in double quotes: "
        "line 1 column 2 (char 1)"]
    assert b'"window/showMessage"' in out  # the client is told, in one line too
