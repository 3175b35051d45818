"""The LSP handlers: one short function per method, each getting the document, calling the
session / analysis (:mod:`codegraph.lsp.server`) and converting the result (:mod:`codegraph.lsp.convert`).

Requests never raise into pygls: a failure is logged and answered with an empty result,
so one bad request cannot stop the server.
"""

from __future__ import annotations

import logging
from typing import Any

from lsprotocol import types

from codegraph.lsp import convert
from codegraph.lsp.server import CodegraphServer
from codegraph.lsp.settings import editor_section

logger = logging.getLogger(__name__)

#: workspace/executeCommand: the prediction cache's counters (for tests and benchmarks)
STATS_COMMAND = "codegraph.stats"


def register(server: CodegraphServer) -> None:
    """Register every handler on ``server``."""

    @server.feature(types.INITIALIZE)
    def initialize(ls: CodegraphServer, params: types.InitializeParams) -> None:
        ls.start(params)

    @server.feature(types.INITIALIZED)
    async def initialized(ls: CodegraphServer, params: types.InitializedParams) -> None:
        await ls.initialized()

    @server.feature(types.SHUTDOWN)
    def shutdown(ls: CodegraphServer, params: None) -> None:
        ls.stop()

    @server.feature(types.EXIT)
    def exit_(ls: CodegraphServer, params: None) -> None:
        ls.exit_now()

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: CodegraphServer, params: types.DidOpenTextDocumentParams) -> None:
        ls.opened(params.text_document.uri)
        if ls.manager is not None:
            ls.manager.changed(params.text_document.uri, delay=0)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: CodegraphServer, params: types.DidChangeTextDocumentParams) -> None:
        if ls.manager is not None:
            ls.manager.changed(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: CodegraphServer, params: types.DidSaveTextDocumentParams) -> None:
        ls.saved(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: CodegraphServer, params: types.DidCloseTextDocumentParams) -> None:
        ls.closed(params.text_document.uri)

    @server.feature(
        types.TEXT_DOCUMENT_DIAGNOSTIC,
        types.DiagnosticOptions(
            identifier="codegraph", inter_file_dependencies=True, workspace_diagnostics=False
        ),
    )
    async def diagnostic(ls: CodegraphServer, params: types.DocumentDiagnosticParams) -> Any:
        if ls.manager is None:
            return types.RelatedFullDocumentDiagnosticReport(items=[])
        return await ls.manager.pull(params.text_document.uri, params.previous_result_id)

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix], resolve_provider=False),
    )
    def code_action(ls: CodegraphServer, params: types.CodeActionParams) -> list[types.CodeAction]:
        uri = params.text_document.uri
        snap = ls.snapshot(uri)
        if snap is None:
            return []
        diagnostics = [d for d in params.context.diagnostics if d.source == convert.SOURCE]
        if not diagnostics and (outcome := ls.manager and ls.manager.current(uri)):
            diagnostics = [d for d in outcome.diagnostics if _overlaps(d.range, params.range)]
        index = convert.LineIndex(snap.text, ls.encoding)
        return convert.code_actions(diagnostics, uri, snap.version, index, ls.supports["documentChanges"])

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    def hover(ls: CodegraphServer, params: types.HoverParams) -> types.Hover | None:
        outcome = ls.manager.current(params.text_document.uri) if ls.manager else None
        return convert.hover(outcome.diagnostics, params.position) if outcome else None

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def did_change_configuration(
        ls: CodegraphServer, params: types.DidChangeConfigurationParams
    ) -> None:
        section = editor_section(params.settings) if isinstance(params.settings, dict) else None
        if not section and ls.supports.get("configuration"):
            section = await ls.pull_configuration()
        await ls.apply_settings(section)

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def did_change_watched_files(ls: CodegraphServer, params: types.DidChangeWatchedFilesParams) -> None:
        ls.files_changed(params.changes)

    @server.command(STATS_COMMAND)
    async def stats(ls: CodegraphServer, *args: Any) -> dict[str, Any]:
        if ls.service is None:
            return {}
        return await ls.run_on_worker(ls.service.stats)


def _overlaps(a: types.Range, b: types.Range) -> bool:
    a0, a1 = (a.start.line, a.start.character), (a.end.line, a.end.character)
    b0, b1 = (b.start.line, b.start.character), (b.end.line, b.end.character)
    return a0 <= b1 and b0 <= a1
