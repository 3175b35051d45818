"""The real server in a subprocess (`python -m codegraph lsp`), driven by pytest-lsp.

One server (push diagnostics, UTF-16) serves most tests in this module; each test uses
its own documents. With a tiny random model and minConfidence 0 every function reports
its top candidate, so the checks are about ranges, repairs, versions and protocol
behaviour, which do not depend on what the model prefers.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import pytest_lsp
from conftest import (
    SERVER,
    apply_edits,
    diagnostics_for,
    init_params,
    make_client,
    open_document,
    published,
    raw_request,
    utf16_offset,
    wait_until,
)
from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams
from pytest_lsp import ClientServerConfig, LanguageClient

#: analysis waits this long after the last edit
DEBOUNCE_MS = 150
#: the module-scoped client lives in the module's event loop, so the tests must run there too
pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_lsp.fixture(
    scope="module",
    config=ClientServerConfig(
        server_command=[*SERVER, "--debounce", str(DEBOUNCE_MS)], client_factory=make_client
    ),
)
async def client(lsp_client: LanguageClient, tiny_model: Path, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("workspace")
    lsp_client.root = root  # type: ignore[attr-defined]
    await lsp_client.initialize_session(init_params(root, {"model": str(tiny_model), "minConfidence": 0}))
    yield
    await lsp_client.shutdown_session()
    # shutdown + exit end the process cleanly
    assert lsp_client._server is not None and lsp_client._server.returncode == 0


def workspace(client: LanguageClient) -> Path:
    return client.root  # type: ignore[attr-defined,no-any-return]


def key(d: types.Diagnostic) -> tuple[object, ...]:
    fix = (d.data or {}).get("fix") or {}
    r = d.range
    return (r.start.line, r.start.character, r.end.line, r.end.character, d.code, fix.get("newText"))


async def test_quick_fix_repairs_the_code_and_the_diagnostic_goes(client: LanguageClient) -> None:
    # the only candidate in this function is the variable `a` in `return a`; its only repair is `b`
    text = "def pick(a, b):\n    return a\n"
    uri = open_document(client, workspace(client) / "pick.py", text)
    (diag,) = await diagnostics_for(client, uri, 1)
    assert diag.source == "codegraph" and diag.code == "CG001"
    assert diag.range == types.Range(types.Position(1, 11), types.Position(1, 12))
    assert diag.related_information and diag.related_information[0].location.uri == uri

    hover = await client.text_document_hover_async(
        types.HoverParams(types.TextDocumentIdentifier(uri), types.Position(1, 11))
    )
    assert hover is not None and "CG001 variable-misuse" in hover.contents.value  # type: ignore[union-attr]
    assert "confidence" in hover.contents.value  # type: ignore[union-attr]

    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri),
            range=diag.range,
            context=types.CodeActionContext(diagnostics=[diag]),
        )
    )
    assert actions is not None
    titles = [a.title for a in actions if isinstance(a, types.CodeAction)]
    fix = next(a for a in actions if isinstance(a, types.CodeAction) and a.is_preferred)
    assert "Replace `a` with `b`" in fix.title and any("noqa: CG001" in t for t in titles)
    assert fix.edit is not None and fix.edit.document_changes is not None
    (change,) = fix.edit.document_changes
    assert isinstance(change, types.TextDocumentEdit) and change.text_document.version == 1
    fixed = apply_edits(text, list(change.edits))  # type: ignore[arg-type]
    assert fixed == "def pick(a, b):\n    return b\n"

    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[
                types.TextDocumentContentChangePartial(range=e.range, text=e.new_text) for e in change.edits
            ],  # type: ignore[union-attr]
        )
    )
    after = await diagnostics_for(client, uri, 2)
    assert key(diag) not in {key(d) for d in after}
    # whatever is reported now is about the repaired text: `b` at the same place
    for d in after:
        start = utf16_offset(fixed, d.range.start)
        assert fixed[start : utf16_offset(fixed, d.range.end)] == "b"


async def test_noqa_action_silences_the_line(client: LanguageClient) -> None:
    text = "def pick(a, b):\n    return a  # noqa: CG003\n"
    uri = open_document(client, workspace(client) / "quiet.py", text)
    (diag,) = await diagnostics_for(client, uri, 1)
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri),
            range=diag.range,
            context=types.CodeActionContext(diagnostics=[diag]),
        )
    )
    noqa = next(a for a in actions or [] if isinstance(a, types.CodeAction) and "noqa" in a.title)
    (change,) = noqa.edit.document_changes  # type: ignore[union-attr,misc]
    quiet = apply_edits(text, list(change.edits))  # type: ignore[union-attr,arg-type]
    assert quiet == "def pick(a, b):\n    return a  # noqa: CG001, CG003\n"
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=quiet)],
        )
    )
    assert await diagnostics_for(client, uri, 2) == []


async def test_columns_after_non_ascii_text_are_utf16(client: LanguageClient) -> None:
    text = 'def pick(a, b):\n    return {"😀é": a}\n'
    uri = open_document(client, workspace(client) / "emoji.py", text)
    (diag,) = await diagnostics_for(client, uri, 1)
    # 13 characters, then 😀 (2 UTF-16 units) and é (1), then 3 more: `a` starts at unit 19
    assert diag.range == types.Range(types.Position(1, 19), types.Position(1, 20))
    fix = diag.data["fix"]  # type: ignore[index]
    assert fix["range"]["start"] == {"line": 1, "character": 19} and fix["newText"] == "b"


async def test_a_document_with_syntax_errors_still_gets_diagnostics(client: LanguageClient) -> None:
    text = "def broken(a, b):\n    return a +\n\n\ndef fine(c, d):\n    return c\n"
    uri = open_document(client, workspace(client) / "broken.py", text)
    diags = await diagnostics_for(client, uri, 1)
    assert all("internal error" not in d.message for d in diags)
    assert any(d.range.start.line == 5 for d in diags)  # `fine` is analysed


async def test_a_5000_line_file(client: LanguageClient) -> None:
    body = "".join(
        f"def f{i}(a, b):\n    c = a + {i % 7}\n    if c > b:\n        return c\n    return b\n"
        for i in range(1000)
    )
    assert body.count("\n") == 5000
    uri = open_document(client, workspace(client) / "big.py", body)
    diags = await diagnostics_for(client, uri, 1, timeout=40)
    assert len(diags) == 1000  # one top candidate per function
    assert all(0 <= d.range.start.line < 5000 for d in diags)


async def test_rapid_edits_publish_the_last_version_only(client: LanguageClient) -> None:
    text = "def total(a, b):\n    return a + b\n"
    uri = open_document(client, workspace(client) / "rapid.py", text)
    await diagnostics_for(client, uri, 1)
    before = len(published(client, uri))
    for version in range(2, 22):
        text += f"\n\ndef g{version}(x, y):\n    return x - y\n"
        client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
            )
        )
    diags = await diagnostics_for(client, uri, 21)
    await asyncio.sleep(2 * DEBOUNCE_MS / 1000)  # nothing older may arrive late
    later = published(client, uri)[before:]
    assert {p.version for p in later} == {21}
    assert len(diags) == 21  # `total` and g2..g21


async def test_only_changed_functions_are_analysed_again(client: LanguageClient) -> None:
    text = "".join(f"def f{i}(a, b):\n    return a + b\n\n\n" for i in range(10))
    uri = open_document(client, workspace(client) / "incremental.py", text)
    await diagnostics_for(client, uri, 1)
    before = await client.workspace_execute_command_async(types.ExecuteCommandParams("codegraph.stats"))
    # insert a line at the top (every function moves) and change f3's body
    changed = "import os\n" + text.replace(
        "def f3(a, b):\n    return a + b", "def f3(a, b):\n    return a * b"
    )
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=changed)],
        )
    )
    diags = await diagnostics_for(client, uri, 2)
    after = await client.workspace_execute_command_async(types.ExecuteCommandParams("codegraph.stats"))
    assert after["misses"] - before["misses"] == 1  # only f3 reached the model
    # the nine unchanged functions come from the cache; documents opened by earlier tests on the same
    # server may be checked again meanwhile, which adds hits of their own but never a miss
    assert after["hits"] - before["hits"] >= 9
    assert {d.range.start.line for d in diags} == {1 + 4 * i + 1 for i in range(10)}


async def test_a_malformed_request_gets_an_error_and_the_server_keeps_serving(client: LanguageClient) -> None:
    with pytest.raises(JsonRpcInvalidParams):
        await asyncio.wait_for(raw_request(client, "bad-1", "textDocument/hover", {"textDocument": 5}), 10)
    uri = open_document(client, workspace(client) / "after_bad.py", "def pick(a, b):\n    return a\n")
    assert len(await diagnostics_for(client, uri, 1)) == 1
    hover = await client.text_document_hover_async(
        types.HoverParams(types.TextDocumentIdentifier(uri), types.Position(1, 11))
    )
    assert hover is not None


async def test_watchers_are_registered(client: LanguageClient) -> None:
    registrations = await wait_until(lambda: client.registrations, what="registerCapability")  # type: ignore[attr-defined]
    assert registrations[0].method == types.WORKSPACE_DID_CHANGE_WATCHED_FILES
