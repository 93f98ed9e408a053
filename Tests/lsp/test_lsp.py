"""`dmypy lsp` under pytest-lsp's client, on real mypy."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess

from lsprotocol import types

from conftest import (HANG, diagnostics_of, dmypy_binary, environment, expected, mypy_records, start, until,
                      uri)

B = 'def f() -> str:\n    return "s"\n'
A = "from b import f\n\nx: int = f()\n\n\ndef g(a: int) -> str:\n    return a\n"


async def test_diagnostics_after_open_equal_mypys(projects):
    project = projects("p", {"a.py": A, "b.py": B})
    client = await start([project])
    try:
        a = project / "a.py"
        client.text_document_did_open(types.DidOpenTextDocumentParams(
            types.TextDocumentItem(uri=uri(a), language_id="python", version=1, text=A)))
        want = expected(mypy_records(project), a)
        assert len(want) == 2
        await until(client, lambda: diagnostics_of(client, a) == want)
        # The code links to mypy's docs; pull diagnostics give the same.
        pushed = client.diagnostics[uri(a)]
        assert all(d.code_description.href.endswith("#code-" + d.code) for d in pushed)
        pulled = await client.text_document_diagnostic_async(types.DocumentDiagnosticParams(
            text_document=types.TextDocumentIdentifier(uri=uri(a))))
        assert sorted(d.message for d in pulled.items) == sorted(d.message for d in pushed)
    finally:
        await client.shutdown_session()


async def test_an_edit_on_disk_to_an_imported_module_is_pushed_without_any_request(projects):
    project = projects("p", {"a.py": A, "b.py": B})
    client = await start([project])
    try:
        a = project / "a.py"
        await until(client, lambda: diagnostics_of(client, a) == expected(mypy_records(project), a))
        # As a `git pull` or a formatter would: the editor is told nothing.
        (project / "b.py").write_text("def f() -> int:\n    return 1\n")
        want = expected(mypy_records(project), a)
        assert len(want) == 1
        await until(client, lambda: diagnostics_of(client, a) == want)
    finally:
        await client.shutdown_session()


async def test_an_unsaved_buffer_is_checked_as_typed_and_the_file_is_untouched(projects, tmp_path):
    project = projects("p", {"a.py": A, "b.py": B})
    a = project / "a.py"
    client = await start([project])
    try:
        await until(client, lambda: diagnostics_of(client, a) == expected(mypy_records(project), a))
        before = (a.read_bytes(), os.stat(a).st_mtime_ns)
        client.text_document_did_open(types.DidOpenTextDocumentParams(
            types.TextDocumentItem(uri=uri(a), language_id="python", version=1, text=A)))
        typed = A + "\ny: str = 1\n"
        for version, end in enumerate(range(len(A) + 1, len(typed) + 1), start=2):   # one keystroke at a time
            client.text_document_did_change(types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri(a), version=version),
                content_changes=[types.TextDocumentContentChangeWholeDocument(text=typed[:end])]))
        shadow = tmp_path / "shadow.py"
        shadow.write_text(typed)
        want = expected(mypy_records(project, "--shadow-file", str(a), str(shadow)), a)
        assert len(want) == 3
        await until(client, lambda: diagnostics_of(client, a) == want)
        assert (a.read_bytes(), os.stat(a).st_mtime_ns) == before
        # Closed unsaved: the file on disk counts again.
        client.text_document_did_close(types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(uri=uri(a))))
        await until(client, lambda: diagnostics_of(client, a) == expected(mypy_records(project), a))
    finally:
        await client.shutdown_session()


async def test_hover_and_definition_answer(projects):
    project = projects("p", {"a.py": A, "b.py": B})
    a = project / "a.py"
    client = await start([project])
    try:
        await until(client, lambda: diagnostics_of(client, a) != [])
        document = types.TextDocumentIdentifier(uri=uri(a))
        # `f` in `x: int = f()`, line 3.
        hover = await client.text_document_hover_async(types.HoverParams(document, types.Position(line=2, character=9)))
        # mypy's own words for it (what `dmypy inspect` prints).
        assert hover is not None and hover.contents.value == "```python\nCallable[[], str]\n```"
        assert (hover.range.start.line, hover.range.start.character, hover.range.end.character) == (2, 9, 10)
        definition = await client.text_document_definition_async(
            types.DefinitionParams(document, types.Position(line=2, character=9)))
        assert [(d.uri, d.range.start.line) for d in definition] == [(uri(project / "b.py"), 0)]
    finally:
        await client.shutdown_session()


async def test_hover_follows_an_edit_on_disk_also_on_a_daemon_built_before_the_editor_came(projects):
    # The daemon's first build is a terminal's `dmypy run` (no --export-types): the editor's
    # hover still answers, and after an edit of b.py that nobody tells the server about, it
    # gives the new type (mypy's export stays on after the editor asked for it, and a module
    # checked before that is reloaded by mypy's inspection when first hovered).
    project = projects("p", {"a.py": A, "b.py": B})
    a = project / "a.py"
    # The flags the server's folder runs with (`Folder.outputFlags`): the same build, no restart.
    same_build = ["--output", "json", "--show-error-end", "--show-absolute-path", "--no-error-summary", "--no-pretty",
                  "--no-color-output", "."]
    subprocess.run([dmypy_binary(), "run", "--", *same_build], cwd=project, env=environment(), capture_output=True,
                   timeout=HANG, check=False)
    client = await start([project])
    try:
        await until(client, lambda: diagnostics_of(client, a) != [])
        document = types.TextDocumentIdentifier(uri=uri(a))

        async def hover() -> str:
            answer = await client.text_document_hover_async(types.HoverParams(document, types.Position(line=2, character=9)))
            assert answer is not None
            return answer.contents.value

        assert await hover() == "```python\nCallable[[], str]\n```"
        status = subprocess.run([dmypy_binary(), "status", "-v"], cwd=project, env=environment(),
                                capture_output=True, text=True, timeout=HANG).stdout
        fields = {k.strip(): v.strip() for k, v in (line.split(":", 1) for line in status.splitlines() if ":" in line)}
        assert fields["engine_starts"] == "1", status   # the terminal's build is the one the editor uses
        (project / "b.py").write_text("def f() -> int:\n    return 1\n")
        await until(client, lambda: len(diagnostics_of(client, a)) == 1)
        assert await hover() == "```python\nCallable[[], int]\n```"
    finally:
        await client.shutdown_session()


async def test_two_workspace_folders_with_different_options(projects):
    code = "def g(x):\n    return x\n"
    strict = projects("strict", {"m.py": code, "mypy.ini": "[mypy]\ndisallow_untyped_defs = True\n"})
    lax = projects("lax", {"m.py": code + "y: int = ''\n"})
    client = await start([strict, lax])
    try:
        want_strict = expected(mypy_records(strict), strict / "m.py")
        want_lax = expected(mypy_records(lax), lax / "m.py")
        assert [w[5] for w in want_strict] == ["no-untyped-def"] and [w[5] for w in want_lax] == ["assignment"]
        await until(client, lambda: diagnostics_of(client, strict / "m.py") == want_strict
                    and diagnostics_of(client, lax / "m.py") == want_lax)
    finally:
        await client.shutdown_session()


async def test_the_engine_killed_mid_check_loses_nothing(projects):
    project = projects("p", {"a.py": A, "b.py": B})
    a = project / "a.py"
    client = await start([project])
    try:
        await until(client, lambda: diagnostics_of(client, a) == expected(mypy_records(project), a))
        status = subprocess.run([dmypy_binary(), "status", "-v"], cwd=project, env=environment(),
                                capture_output=True, text=True, timeout=HANG).stdout
        engine = int(next(line.split(":")[1] for line in status.splitlines() if line.startswith("engine_pid")))
        (project / "b.py").write_text("def f() -> bytes:\n    return b''\n")
        os.kill(engine, signal.SIGKILL)
        want = expected(mypy_records(project), a)
        await until(client, lambda: diagnostics_of(client, a) == want)
    finally:
        await client.shutdown_session()


async def test_shutdown_and_exit_end_the_server_with_status_0(projects):
    project = projects("p", {"a.py": A, "b.py": B})
    client = await start([project])
    server = client._server
    await client.shutdown_session()
    assert await asyncio.wait_for(server.wait(), HANG) == 0


async def test_a_long_first_build_shows_progress_from_begin_to_end(projects):
    # A first build of 150 modules takes seconds, well past the server's 0.3 s before it shows progress.
    files = {f"m{i}.py": f"from m{i + 1} import f{i + 1}\n\ndef f{i}() -> int:\n    return f{i + 1}()\n" for i in range(150)}
    files["m150.py"] = "def f150() -> int:\n    return 'not an int'\n"
    project = projects("p", files)
    client = await start([project])
    try:
        last = project / "m150.py"
        await until(client, lambda: diagnostics_of(client, last) == expected(mypy_records(project), last))
        assert len(diagnostics_of(client, last)) == 1
        reports = list(client.progress_reports.values())
        assert reports, "no $/progress during the first build"
        kinds = [type(value) for value in reports[0]]
        assert kinds[0] is types.WorkDoneProgressBegin and reports[0][0].title == "mypy"
        assert kinds[-1] is types.WorkDoneProgressEnd, kinds
    finally:
        await client.shutdown_session()
