"""The user documentation (docs/ and README.md) says only what works.

Conventions for code blocks in docs/*.md (documented in docs/README.md too):

- ```perf             a whole policy file (it has a `policy`/`方案` block). `perfdsl check`
                      must report no error and no warning, and every `example` in it
                      must pass (`perfdsl test`).
- ```perf fragment    a piece of a policy shown on its own (a `tiers` block, a quota line).
                      It must parse: it is checked as a module file (top-level items, no
                      `policy` block), which tests its syntax but not its names.
- ```perf error=CODE  a policy that `perfdsl check` must reject with error CODE.
- ```sh               each line starting with `perfdsl` is run, from a copy of the
                      repository's docs/ and policies/ (so paths are those of the
                      repository root), and must exit 0 — or N where the line ends with
                      `# exit N`.
- any other block (```text, ```csv) is not run; but a ```text block right after a ```sh
  block of one `perfdsl` line shows that command's output: unless it holds an ellipsis
  (…, a shortened output), it must be exactly what the command prints on stdout.

A block is checked in a temporary folder that also holds docs/examples/*.perf, so a
block may `import "x.perf"` one of those modules.

Links: every relative link in docs/*.md and README.md must point at an existing file
(anchors are not checked), and README.md must not link outside the repository.
"""
from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from perfdsl.cli import main as perfdsl_main

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.glob("*.md"))
BLOCK = re.compile(r"^```([^\n]*)\n(.*?)^```[ \t]*$", re.S | re.M)
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")


def _blocks(info_wanted: str):
    """(id, info string, text) of every block whose language is `info_wanted`."""
    out = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for m in BLOCK.finditer(text):
            info = m.group(1).strip()
            if info.split(" ")[0] == info_wanted:
                line = text.count("\n", 0, m.start()) + 1
                out.append(pytest.param(info, m.group(2), id=f"{page.name}:{line}"))
    return out


PERF_BLOCKS = _blocks("perf")
SH_BLOCKS = _blocks("sh")


def test_docs_exist():
    names = {p.name for p in PAGES}
    assert {"README.md", "language.md", "tutorial.md", "cli.md", "cookbook.md"} <= names
    assert len(PERF_BLOCKS) >= 20 and len(SH_BLOCKS) >= 5


def _perfdsl(capsys, *args) -> tuple[int, str]:
    code = perfdsl_main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out + out.err


@pytest.mark.parametrize("info, text", PERF_BLOCKS)
def test_perf_block(info, text, tmp_path, capsys):
    for module in (DOCS / "examples").glob("*.perf"):
        shutil.copy(module, tmp_path / module.name)
    path = tmp_path / "block.perf"
    path.write_text(text, encoding="utf-8")
    words = info.split()
    code, output = _perfdsl(capsys, "check", path)
    if len(words) > 1 and words[1].startswith("error="):
        wanted = words[1].removeprefix("error=")
        assert code == 1 and f"error[{wanted}]" in output, output
        return
    assert code == 0, output
    if words[1:] == ["fragment"]:
        assert "module" in output, "a fragment is checked as a module: it must not hold a `policy` block"
        return
    assert words == ["perf"], f"unknown info string {info!r}"
    assert "module" not in output, "a ```perf block is a whole policy; mark a piece as ```perf fragment"
    assert "warning[" not in output, output
    if re.search(r"(^|\s)(example|示例)\s", text):
        code, output = _perfdsl(capsys, "test", path)
        assert code == 0 and " 0 failed" in output, output


@pytest.fixture(scope="module")
def repo_copy(tmp_path_factory):
    """The folders the documented commands read, at the same relative paths."""
    root = tmp_path_factory.mktemp("repo")
    shutil.copytree(DOCS, root / "docs")
    shutil.copytree(ROOT / "policies", root / "policies")
    return root


def _commands(text: str):
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("perfdsl "):
            m = re.search(r"#\s*exit\s+(\d+)\s*$", line)
            yield shlex.split(line, comments=True), int(m.group(1)) if m else 0


@pytest.mark.parametrize("info, text", SH_BLOCKS)
def test_shell_block(info, text, repo_copy):
    for argv, expected in _commands(text):
        run = subprocess.run([sys.executable, "-m", "perfdsl", *argv[1:]], cwd=repo_copy,
                             capture_output=True, text=True, timeout=300)
        assert run.returncode == expected, f"{shlex.join(argv)}\n{run.stdout}\n{run.stderr}"


SHOWN = re.compile(r"^```sh\n(perfdsl [^\n]*)\n```[ \t]*\n\n```text\n(.*?)^```[ \t]*$", re.S | re.M)


def _shown_outputs():
    """(id, command, text) of every ```sh block of one `perfdsl` line followed directly by a
    ```text block without an ellipsis (…): that block shows what the command prints."""
    out = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for m in SHOWN.finditer(text):
            if "…" not in m.group(2):
                line = text.count("\n", 0, m.start()) + 1
                out.append(pytest.param(m.group(1), m.group(2), id=f"{page.name}:{line}"))
    return out


SHOWN_OUTPUTS = _shown_outputs()


def test_explanations_are_shown_as_printed():
    """The explanations the pages show (tutorial step 9, cli.md's explain) are whole outputs."""
    commands = [p.values[0] for p in SHOWN_OUTPUTS]
    assert any(c.startswith("perfdsl explain ") and "--id e02" in c for c in commands)
    assert any(c.startswith("perfdsl explain ") and "--id e05" in c for c in commands)


@pytest.mark.parametrize("command, shown", SHOWN_OUTPUTS)
def test_shown_output_is_what_the_command_prints(command, shown, repo_copy):
    argv = shlex.split(command, comments=True)
    run = subprocess.run([sys.executable, "-m", "perfdsl", *argv[1:]], cwd=repo_copy,
                         capture_output=True, text=True, timeout=300)
    printed = [line.rstrip() for line in run.stdout.splitlines()]
    assert printed == [line.rstrip() for line in shown.splitlines()], f"{command}\n{run.stdout}"


def _links(page: Path):
    text = BLOCK.sub("", page.read_text(encoding="utf-8"))  # links inside code are not links
    for target in LINK.findall(text):
        yield target


LINKED = PAGES + [ROOT / "README.md"]


def _anchors(page: Path) -> set[str]:
    """The anchors GitHub gives the page's headings: lower case, punctuation dropped,
    spaces to hyphens (`## 1. Numbers — 数字` → `1-numbers--数字`)."""
    text = BLOCK.sub("", page.read_text(encoding="utf-8"))
    heads = re.findall(r"^#{1,6}\s+(.*?)\s*$", text, re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in heads}


@pytest.mark.parametrize("page", LINKED, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_point_at_files(page):
    for target in _links(page):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):
            continue
        file, _, anchor = target.partition("#")
        path = (page.parent / file).resolve() if file else page
        assert path.exists(), f"{page.name} links {target}, which does not exist"
        if anchor and path.suffix == ".md":
            assert anchor in _anchors(path), f"{page.name} links {target}: no such heading in {path.name}"


def test_language_reference_lists_every_diagnostic_code():
    from perfdsl import diagnostics
    codes = getattr(diagnostics, "CODES", None)
    if codes is None:
        pytest.skip("no code registry")
    text = (DOCS / "language.md").read_text(encoding="utf-8")
    missing = [c for c in codes if f"| {c} |" not in text]
    assert not missing, f"docs/language.md §14 lacks {missing}"


def test_readme_links_stay_inside_the_repository():
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    assert "../shared" not in text
    for target in _links(readme):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
            continue
        path = (readme.parent / target.split("#")[0]).resolve()
        assert path.is_relative_to(ROOT), f"README.md links {target}, outside the repository"
    assert "docs/README.md" in text and "docs/language.md" in text


def test_tutorial_shows_its_policy_file_whole():
    """The policy printed in tutorial.md step 7 is the file its commands run."""
    tutorial = (DOCS / "tutorial.md").read_text(encoding="utf-8")
    policy = (DOCS / "examples" / "budget_engineer.perf").read_text(encoding="utf-8")
    assert any(m.group(1).strip() == "perf" and m.group(2) == policy for m in BLOCK.finditer(tutorial))


def test_cli_page_documents_every_verb_and_flag():
    """docs/cli.md has a section per verb and names every flag `perfdsl VERB --help` lists."""
    import argparse

    from perfdsl.cli import build_parser
    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    heads = re.findall(r"^## (\w+) — ", text, re.M)
    [verbs] = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    missing = []
    for verb, parser in verbs.choices.items():
        if verb not in heads:
            missing.append(f"## {verb} — …")
        for action in parser._actions:
            for flag in action.option_strings:
                if flag.startswith("--") and flag != "--help" and flag not in text:
                    missing.append(f"{verb} {flag}")
    assert not missing, f"docs/cli.md lacks {missing}"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert not [v for v in verbs.choices if f"| `perfdsl {v}" not in readme], "README's command table lacks a verb"
