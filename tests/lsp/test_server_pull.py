"""The real server with a pull-diagnostics, UTF-8 client that answers workspace/configuration.

Settings come from pyproject.toml, initializationOptions, workspace/configuration and
didChangeConfiguration; cross-file context follows files changed on disk; a missing or
corrupt model is reported once and the server keeps serving.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from conftest import SERVER, init_params, make_client, open_document, published, wait_until
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_lsp.fixture(
    scope="module",
    config=ClientServerConfig(server_command=[*SERVER, "--debounce", "0"], client_factory=make_client),
)
async def client(lsp_client: LanguageClient, tiny_model: Path, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("pull-workspace")
    # the project asks for a threshold nothing reaches; the editor settings override it
    (root / "pyproject.toml").write_text('[tool.codegraph]\nmin-confidence = 0.999\nignore = ["CG006"]\n')
    (root / "b.py").write_text("def copy(src, dst):\n    return dst\n")
    settings = {"model": str(tiny_model), "minConfidence": 0}
    lsp_client.set_configuration({"codegraph": settings})
    lsp_client.root = root  # type: ignore[attr-defined]
    lsp_client.model = tiny_model  # type: ignore[attr-defined]
    params = init_params(root, settings, pull=True, encodings=["utf-8", "utf-16"])
    params.capabilities.workspace.configuration = True  # type: ignore[union-attr]
    result = await lsp_client.initialize_session(params)
    assert result.capabilities.position_encoding == types.PositionEncodingKind.Utf8
    assert result.capabilities.diagnostic_provider is not None
    yield
    await lsp_client.shutdown_session()
    assert lsp_client._server is not None and lsp_client._server.returncode == 0


async def pull(client: LanguageClient, uri: str, previous: str | None = None) -> Any:
    return await client.text_document_diagnostic_async(
        types.DocumentDiagnosticParams(
            text_document=types.TextDocumentIdentifier(uri), previous_result_id=previous
        )
    )


async def configure(client: LanguageClient, refresh: bool = True, **settings: Any) -> None:
    """Change the editor settings the way VS Code does: didChangeConfiguration with the section.

    The server asks the client to pull again (``refresh``) unless the settings in force did not change.
    """
    before = client.diagnostic_refresh_count
    section = {"model": str(client.model), "minConfidence": 0, **settings}  # type: ignore[attr-defined]
    client.set_configuration({"codegraph": section})
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"codegraph": section})
    )
    if refresh:
        await wait_until(
            lambda: client.diagnostic_refresh_count > before, what="workspace/diagnostic/refresh"
        )


async def test_pulled_diagnostics_in_utf8_and_nothing_pushed(client: LanguageClient) -> None:
    root: Path = client.root  # type: ignore[attr-defined]
    uri = open_document(client, root / "emoji.py", 'def pick(a, b):\n    return {"😀é": a}\n')
    report = await pull(client, uri)
    assert isinstance(report, types.RelatedFullDocumentDiagnosticReport)
    (diag,) = report.items
    # 13 bytes, then 😀 (4 bytes) and é (2), then 3 more: `a` starts at byte 22
    assert diag.range == types.Range(types.Position(1, 22), types.Position(1, 23))
    again = await pull(client, uri, report.result_id)
    assert isinstance(again, types.RelatedUnchangedDocumentDiagnosticReport)
    assert published(client, uri) == []


async def test_settings_changes_take_effect(client: LanguageClient) -> None:
    root: Path = client.root  # type: ignore[attr-defined]
    uri = open_document(client, root / "settings.py", "def pick(a, b):\n    return a\n")
    assert len((await pull(client, uri)).items) == 1
    await configure(client, enable=False)
    assert (await pull(client, uri)).items == ()
    await configure(client, ignore=["CG001"])
    assert (await pull(client, uri)).items == ()
    await configure(client, minConfidence=None)  # unset: the project's 0.999 applies again
    assert (await pull(client, uri)).items == ()
    await configure(client)
    assert len((await pull(client, uri)).items) == 1


async def test_cross_file_evidence_follows_files_changed_on_disk(client: LanguageClient) -> None:
    root: Path = client.root  # type: ignore[attr-defined]
    await configure(client, select=["CG002"])
    uri = open_document(client, root / "a.py", "from b import copy\n\n\ndef f(x, y):\n    copy(y, x)\n")

    def evidence(report: Any) -> list[int]:
        return [
            r.location.range.start.line
            for d in report.items
            for r in d.related_information or []
            if r.location.uri == (root / "b.py").as_uri()
        ]

    assert evidence(await pull(client, uri)) == [0]
    (root / "b.py").write_text("import os\n\n\ndef copy(src, dst):\n    return dst\n")
    before = client.diagnostic_refresh_count
    client.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams(
            changes=[types.FileEvent(uri=(root / "b.py").as_uri(), type=types.FileChangeType.Changed)]
        )
    )
    await wait_until(lambda: client.diagnostic_refresh_count > before, what="workspace/diagnostic/refresh")
    assert evidence(await pull(client, uri)) == [3]
    await configure(client)


async def test_a_missing_or_corrupt_model_is_reported_once_and_the_server_keeps_serving(
    client: LanguageClient,
) -> None:
    root: Path = client.root  # type: ignore[attr-defined]
    uri = open_document(client, root / "nomodel.py", "def pick(a, b):\n    return a\n")
    missing = str(root / "missing.safetensors")
    for refresh in (True, False):  # the same settings again: no new message
        await configure(client, refresh=refresh, model=missing)
        assert (await pull(client, uri)).items == ()
    errors = [m for m in client.messages if m.type == types.MessageType.Error]
    assert len(errors) == 1 and "missing.safetensors" in errors[0].message

    corrupt = root / "corrupt"
    corrupt.with_suffix(".safetensors").write_bytes(b"\x00not a checkpoint")
    corrupt.with_suffix(".json").write_text("{}")
    await configure(client, model=str(corrupt.with_suffix(".safetensors")))
    assert (await pull(client, uri)).items == ()
    assert len([m for m in client.messages if m.type == types.MessageType.Error]) == 2

    hover = await client.text_document_hover_async(
        types.HoverParams(types.TextDocumentIdentifier(uri), types.Position(1, 11))
    )
    assert hover is None  # no findings, but an answer
    await configure(client)
    assert len((await pull(client, uri)).items) == 1
