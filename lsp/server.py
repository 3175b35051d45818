"""`codegraph lsp`: the language server (pygls 2) on stdio, or on TCP for debugging.

One module-level server and one top-level function per LSP method: each gets the
document or the session (:class:`codegraph.lsp.session.CodegraphServer`), calls it, and
converts the result (:mod:`codegraph.lsp.convert`). Requests never raise into pygls: a
failure is logged and answered with an empty result, so one bad request cannot stop the
server. A new LSP feature is one handler here and, where it needs state, one session method.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lsprotocol import types

from codegraph.arguments import Parser
from codegraph.command import command
from codegraph.config import ConfigError, parse_codes
from codegraph.lsp import convert
from codegraph.lsp.session import CodegraphServer
from codegraph.lsp.settings import Flags, editor_section

logger = logging.getLogger("codegraph.lsp")

#: workspace/executeCommand: the prediction cache's counters (for tests and benchmarks)
STATS_COMMAND = "codegraph.stats"

SERVER = CodegraphServer()


@SERVER.feature(types.INITIALIZE)
def initialize(ls: CodegraphServer, params: types.InitializeParams) -> None:
    """initialize: read the client's capabilities, root and options."""
    ls.start(params)


@SERVER.feature(types.INITIALIZED)
async def initialized(ls: CodegraphServer, params: types.InitializedParams) -> None:
    """initialized: show settings problems, pull settings, load the model, watch files."""
    await ls.initialized()


@SERVER.feature(types.SHUTDOWN)
def shutdown(ls: CodegraphServer, params: None) -> None:
    """shutdown: stop the analysis."""
    ls.stop()


@SERVER.feature(types.EXIT)
def exit_(ls: CodegraphServer, params: None) -> None:
    """exit: end the process."""
    ls.exit_now()


@SERVER.feature(types.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls: CodegraphServer, params: types.DidOpenTextDocumentParams) -> None:
    """textDocument/didOpen: analyse the document now."""
    ls.opened(params.text_document.uri)
    if ls.manager is not None:
        ls.manager.changed(params.text_document.uri, delay=0)


@SERVER.feature(types.TEXT_DOCUMENT_DID_CHANGE)
def did_change(ls: CodegraphServer, params: types.DidChangeTextDocumentParams) -> None:
    """textDocument/didChange: analyse the document after the debounce delay."""
    if ls.manager is not None:
        ls.manager.changed(params.text_document.uri)


@SERVER.feature(types.TEXT_DOCUMENT_DID_SAVE)
def did_save(ls: CodegraphServer, params: types.DidSaveTextDocumentParams) -> None:
    """textDocument/didSave: index the text, re-analyse what may depend on it."""
    ls.saved(params.text_document.uri)


@SERVER.feature(types.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: CodegraphServer, params: types.DidCloseTextDocumentParams) -> None:
    """textDocument/didClose: forget the document."""
    ls.closed(params.text_document.uri)


@SERVER.feature(
    types.TEXT_DOCUMENT_DIAGNOSTIC,
    types.DiagnosticOptions(
        identifier="codegraph", inter_file_dependencies=True, workspace_diagnostics=False
    ),
)
async def diagnostic(ls: CodegraphServer, params: types.DocumentDiagnosticParams) -> Any:
    """textDocument/diagnostic: the document's diagnostics (pull model)."""
    if ls.manager is None:
        return types.RelatedFullDocumentDiagnosticReport(items=[])
    return await ls.manager.pull(params.text_document.uri, params.previous_result_id)


@SERVER.feature(
    types.TEXT_DOCUMENT_CODE_ACTION,
    types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix], resolve_provider=False),
)
def code_action(ls: CodegraphServer, params: types.CodeActionParams) -> list[types.CodeAction]:
    """textDocument/codeAction: apply the repair, or add a `# noqa` comment."""
    uri = params.text_document.uri
    snap = ls.snapshot(uri)
    if snap is None:
        return []
    diagnostics = [d for d in params.context.diagnostics if d.source == convert.SOURCE]
    if not diagnostics and (outcome := ls.manager and ls.manager.current(uri)):
        diagnostics = [d for d in outcome.diagnostics if _overlaps(d.range, params.range)]
    index = convert.LineIndex(snap.text, ls.encoding)
    return convert.code_actions(diagnostics, uri, snap.version, index, ls.supports["documentChanges"])


@SERVER.feature(types.TEXT_DOCUMENT_HOVER)
def hover(ls: CodegraphServer, params: types.HoverParams) -> types.Hover | None:
    """textDocument/hover: explain the finding under the cursor."""
    outcome = ls.manager.current(params.text_document.uri) if ls.manager else None
    return convert.hover(outcome.diagnostics, params.position) if outcome else None


@SERVER.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
async def did_change_configuration(ls: CodegraphServer, params: types.DidChangeConfigurationParams) -> None:
    """workspace/didChangeConfiguration: new editor settings, re-analyse."""
    section = editor_section(params.settings) if isinstance(params.settings, dict) else None
    if not section and ls.supports.get("configuration"):
        section = await ls.pull_configuration()
    await ls.apply_settings(section)


@SERVER.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
def did_change_watched_files(ls: CodegraphServer, params: types.DidChangeWatchedFilesParams) -> None:
    """workspace/didChangeWatchedFiles: files changed outside the editor."""
    ls.files_changed(params.changes)


@SERVER.command(STATS_COMMAND)
async def stats(ls: CodegraphServer, *args: Any) -> dict[str, Any]:
    """workspace/executeCommand codegraph.stats: the prediction cache's counters."""
    if ls.service is None:
        return {}
    return await ls.run_on_worker(ls.service.stats)


def _overlaps(a: types.Range, b: types.Range) -> bool:
    a0, a1 = (a.start.line, a.start.character), (a.end.line, a.end.character)
    b0, b1 = (b.start.line, b.start.character), (b.end.line, b.end.character)
    return a0 <= b1 and b0 <= a1


# -- command line --------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    p = Parser(
        prog="codegraph lsp",
        description="Serve the Language Server Protocol on stdio (diagnostics, quick fixes, hover).",
    )
    p.add_argument("--tcp", action="store_true", help="serve on TCP instead of stdio (for debugging)")
    p.add_argument("--host", default="127.0.0.1", help="TCP host (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=2087, help="TCP port (default: 2087)")
    p.add_argument("--model", help="checkpoint to load (default: [tool.codegraph] model, or the shipped one)")
    p.add_argument("--min-confidence", type=float, help="report findings at or above this confidence")
    p.add_argument("--select", help="comma-separated rule codes or prefixes to enable")
    p.add_argument("--ignore", help="comma-separated rule codes or prefixes to disable")
    p.add_argument("--debounce", type=int, metavar="MS", help="wait this long after an edit (default: 300)")
    p.add_argument("--log-file", help="write the server log here (default: stderr)")
    p.add_argument("-v", "--verbose", action="count", default=0, help="log more (-vv: protocol messages)")
    return p


def parse_flags(args: argparse.Namespace) -> Flags:
    """Validate the flags (raises ConfigError with a one-line message)."""
    if args.min_confidence is not None and not 0.0 <= args.min_confidence <= 1.0:
        raise ConfigError(f"--min-confidence must be between 0 and 1, got {args.min_confidence}")
    if args.debounce is not None and args.debounce < 0:
        raise ConfigError(f"--debounce must not be negative, got {args.debounce}")
    return Flags(
        min_confidence=args.min_confidence,
        select=parse_codes(args.select, "--select") if args.select else None,
        ignore=parse_codes(args.ignore, "--ignore") if args.ignore else None,
        model=str(Path(args.model).resolve()) if args.model else None,
        debounce_ms=args.debounce,
    )


def configure_logging(verbose: int, log_file: str | None) -> None:
    handler: logging.Handler = (
        logging.FileHandler(log_file) if log_file else logging.StreamHandler(sys.stderr)
    )
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    logging.getLogger("codegraph").setLevel(logging.DEBUG if verbose else logging.INFO)
    logging.getLogger("pygls").setLevel(logging.DEBUG if verbose > 1 else logging.WARNING)


@command("codegraph lsp")
def main(argv: Sequence[str]) -> int:
    """`codegraph lsp [--tcp] [--host 127.0.0.1] [--port N] [--model PATH] ...`"""
    args = build_parser().parse_args(list(argv))
    flags = parse_flags(args)
    configure_logging(args.verbose, args.log_file)
    server = SERVER
    server.configure(flags)
    try:
        if args.tcp:
            server.start_tcp(args.host, args.port)
        else:
            server.start_io()
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
