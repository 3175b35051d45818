"""Fixtures for the language-server tests: a tiny model, a recording client, helpers.

The subprocess tests run the real server (`python -m codegraph lsp`) with a tiny,
randomly initialised checkpoint and ``minConfidence`` 0, so every analysed function
reports its most likely candidate: diagnostics exist even though the model is
untrained. The checks are therefore about the protocol and the positions (which
range, which repair, which version), never about which bug the model prefers.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pygls.protocol import default_converter
from pytest_lsp import LanguageClient
from pytest_lsp.client import DEFAULT_CLIENT_FEATURES, register_lsp_features

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

from make_tiny_model import make_tiny_model  # noqa: E402

#: the server under test, as the VS Code extension starts it
SERVER = [sys.executable, "-m", "codegraph", "lsp"]


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random checkpoint: it loads fast, and minConfidence 0 gives every function a diagnostic."""
    return make_tiny_model(tmp_path_factory.mktemp("model") / "tiny")


# -- the recording client --------------------------------------------------------------------
def _record_diagnostics(client: LanguageClient, params: types.PublishDiagnosticsParams) -> None:
    client.diagnostics[params.uri] = params.diagnostics
    client.published.append(params)  # type: ignore[attr-defined]


def _register_capability(client: LanguageClient, params: types.RegistrationParams) -> None:
    client.registrations.extend(params.registrations)  # type: ignore[attr-defined]


def make_client() -> LanguageClient:
    """pytest-lsp's client, also recording every publishDiagnostics and registration."""
    client = LanguageClient(converter_factory=default_converter)
    client.published = []  # type: ignore[attr-defined]
    client.registrations = []  # type: ignore[attr-defined]
    features = dict(DEFAULT_CLIENT_FEATURES)
    features[types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS] = _record_diagnostics
    features[types.CLIENT_REGISTER_CAPABILITY] = _register_capability
    register_lsp_features(client, features)
    return client


def capabilities(pull: bool = False, encodings: list[str] | None = None) -> types.ClientCapabilities:
    """A client that applies versioned edits, registers watchers, answers workspace/configuration."""
    return types.ClientCapabilities(
        general=types.GeneralClientCapabilities(
            position_encodings=[types.PositionEncodingKind(e) for e in encodings] if encodings else None
        ),
        workspace=types.WorkspaceClientCapabilities(
            workspace_edit=types.WorkspaceEditClientCapabilities(document_changes=True),
            did_change_watched_files=types.DidChangeWatchedFilesClientCapabilities(dynamic_registration=True),
            configuration=False,
            diagnostics=types.DiagnosticWorkspaceClientCapabilities(refresh_support=True) if pull else None,
        ),
        text_document=types.TextDocumentClientCapabilities(
            diagnostic=types.DiagnosticClientCapabilities() if pull else None,
            code_action=types.CodeActionClientCapabilities(
                code_action_literal_support=types.ClientCodeActionLiteralOptions(
                    code_action_kind=types.ClientCodeActionKindOptions(
                        value_set=[types.CodeActionKind.QuickFix]
                    )
                )
            ),
            hover=types.HoverClientCapabilities(content_format=[types.MarkupKind.Markdown]),
        ),
    )


def init_params(
    root: Path, settings: dict[str, Any], pull: bool = False, encodings: list[str] | None = None
) -> types.InitializeParams:
    return types.InitializeParams(
        capabilities=capabilities(pull, encodings),
        root_uri=root.as_uri(),
        workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name=root.name)],
        initialization_options={"codegraph": settings},
    )


# -- helpers ------------------------------------------------------------------------------------
async def wait_until(condition: Callable[[], Any], timeout: float = 20.0, what: str = "condition") -> Any:
    """Poll ``condition`` until it returns something truthy (or fail after ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def published(
    client: LanguageClient, uri: str, version: int | None = None
) -> list[types.PublishDiagnosticsParams]:
    return [
        p
        for p in client.published  # type: ignore[attr-defined]
        if p.uri == uri and (version is None or p.version == version)
    ]


async def diagnostics_for(
    client: LanguageClient, uri: str, version: int, timeout: float = 20.0
) -> list[types.Diagnostic]:
    """The diagnostics published for ``version`` of ``uri`` (waits for them)."""
    found = await wait_until(
        lambda: published(client, uri, version), timeout, f"diagnostics of {uri} v{version}"
    )
    return list(found[-1].diagnostics)


def open_document(client: LanguageClient, path: Path, text: str, version: int = 1) -> str:
    path.write_text(text, encoding="utf-8")
    uri = path.as_uri()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id="python", version=version, text=text)
        )
    )
    return uri


def utf16_offset(text: str, position: types.Position) -> int:
    """The code-point offset in ``text`` of an LSP position counted in UTF-16 code units."""
    lines = text.split("\n")
    offset = sum(len(line) + 1 for line in lines[: position.line])
    units = 0
    for i, ch in enumerate(lines[position.line] if position.line < len(lines) else ""):
        if units >= position.character:
            return offset + i
        units += 2 if ord(ch) > 0xFFFF else 1
    return offset + len(lines[position.line]) if position.line < len(lines) else len(text)


def apply_edits(text: str, edits: list[types.TextEdit]) -> str:
    """Apply UTF-16 TextEdits the way an editor does (last first)."""
    spans = sorted(
        ((utf16_offset(text, e.range.start), utf16_offset(text, e.range.end), e.new_text) for e in edits),
        reverse=True,
    )
    for start, end, new in spans:
        text = text[:start] + new + text[end:]
    return text


def raw_request(client: LanguageClient, msg_id: str, method: str, params: Any) -> asyncio.Future[Any]:
    """Send a request exactly as given (no type checks on the client side); await its answer."""
    fut: Future[Any] = Future()
    client.protocol._request_futures[msg_id] = fut
    client.protocol._send_data({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})
    return asyncio.wrap_future(fut)
