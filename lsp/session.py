"""The language server's session: settings, open documents, client capabilities, and the glue
between the protocol and the analysis (:mod:`codegraph.lsp.analysis`).

The LSP methods themselves are the module-level handlers of :mod:`codegraph.lsp.server`,
one short function per method, each calling a method of :class:`CodegraphServer`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Coroutine, Iterable, Sequence
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol

from codegraph import __version__
from codegraph.config import Settings
from codegraph.lsp import convert
from codegraph.lsp.analysis import AnalysisService, Snapshot, interactive_predictor
from codegraph.lsp.diagnostics import DiagnosticsManager
from codegraph.lsp.index import WorkspaceIndex, path_for
from codegraph.lsp.settings import SECTION, Flags, Resolved, editor_section, resolve
from codegraph.pipeline import Predictor

logger = logging.getLogger("codegraph.lsp")

#: files whose change re-reads the settings
CONFIG_FILES = ("pyproject.toml",)
WATCHED_GLOBS = ("**/*.py", "**/pyproject.toml")


class _Rejected:
    """Stands in for a message that could not be read and was already answered with an error."""

    jsonrpc = ""


REJECTED = _Rejected()


class CodegraphProtocol(LanguageServerProtocol):
    """pygls' protocol, but a request whose params cannot be read gets an InvalidParams response.

    (pygls 2 only logs such a message, leaving the client waiting for an answer forever.)
    """

    def structure_message(self, data: dict[str, Any]) -> Any:
        try:
            return super().structure_message(data)
        except JsonRpcException as exc:
            if not (isinstance(data, dict) and "id" in data and "method" in data and "jsonrpc" in data):
                raise
            method = data.get("method")
            logger.warning("malformed %s request (id %s): %s", method, data.get("id"), exc)
            error = JsonRpcInvalidParams(message=f"invalid params for {method}")
            self._send_response(data["id"], error=error.to_response_error())
            return REJECTED

    def handle_message(self, message: Any) -> None:
        if message is REJECTED:
            return
        super().handle_message(message)


class CodegraphServer(LanguageServer):
    """Session state and the glue between the handlers and the analysis."""

    def __init__(
        self,
        flags: Flags | None = None,
        predictor_factory: Callable[[Settings], Predictor] = interactive_predictor,
    ) -> None:
        super().__init__("codegraph", __version__, protocol_cls=CodegraphProtocol, max_workers=2)
        self.flags = flags or Flags()
        self.predictor_factory = predictor_factory
        self.root: Path | None = None
        self.editor: dict[str, Any] = {}
        self.resolved: Resolved = resolve(None, {}, self.flags)
        self.service: AnalysisService | None = None
        self.manager: DiagnosticsManager | None = None
        self.uris: dict[str, str] = {}  # path -> the URI the client opened it under
        self._shown: set[str] = set()
        self.supports: dict[str, bool] = {}
        self.loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Future[None]] = set()

    def configure(self, flags: Flags) -> None:
        """Take the command line's flags (before the session starts)."""
        self.flags = flags
        self.resolved = resolve(None, {}, flags)

    # -- life cycle --------------------------------------------------------------------------------
    def start(self, params: types.InitializeParams) -> None:
        """Read the client's capabilities, root and initializationOptions; set up the analysis."""
        self.loop = asyncio.get_running_loop()
        caps = params.capabilities
        workspace = caps.workspace
        text = caps.text_document
        self.supports = {
            "pull": bool(text and text.diagnostic),
            "refresh": bool(workspace and workspace.diagnostics and workspace.diagnostics.refresh_support),
            "configuration": bool(workspace and workspace.configuration),
            "watch": bool(
                workspace
                and workspace.did_change_watched_files
                and workspace.did_change_watched_files.dynamic_registration
            ),
            "documentChanges": bool(
                workspace and workspace.workspace_edit and workspace.workspace_edit.document_changes
            ),
        }
        folders = params.workspace_folders or []
        root_uri = folders[0].uri if folders else params.root_uri
        root_path = path_for(root_uri) if root_uri else params.root_path
        self.root = Path(root_path) if root_path else None
        self.editor = editor_section(params.initialization_options)
        self.resolved = resolve(self.root, self.editor, self.flags)
        index = WorkspaceIndex(self.root, open_text=self.open_text)
        self.service = AnalysisService(self.resolved.settings, index, self.predictor_factory)
        self.manager = DiagnosticsManager(
            self, self.service, self.resolved.debounce, push=not self.supports["pull"]
        )
        logger.info("codegraph %s: root %s, settings %s", __version__, self.root, self.resolved.settings)
        if params.process_id is not None:
            watch_parent(params.process_id, self.parent_gone)

    def parent_gone(self) -> None:
        """The editor that started the server is gone (the pipes may stay open): exit, as the
        protocol asks of a server whose ``processId`` has died."""
        logger.info("the client process is gone; exiting")
        if self.loop is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self.exit_now)
            time.sleep(PARENT_POLL_SECONDS)  # a busy or stuck loop: leave anyway
        self.exit_now()

    async def initialized(self) -> None:
        """Show settings problems, pull settings, load the model, watch files."""
        self.show_problems(self.resolved.problems)
        if self.supports.get("configuration"):
            await self.apply_settings(await self.pull_configuration())
        self.load_model()
        if self.supports.get("watch"):
            await self.watch_files()

    def stop(self) -> None:
        if self.manager is not None:
            self.manager.shutdown()
        if self.service is not None:
            self.service.shutdown()

    def exit_now(self) -> None:
        """`exit`: end the process at once (0 after `shutdown`, else 1, as the protocol says).

        Nothing is left to save, and tearing down the interpreter with torch loaded takes
        seconds that an editor closing a workspace (or a test) would wait for.
        """
        code = 0 if self.protocol._shutdown else 1
        self.stop()
        logging.shutdown()
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)

    # -- settings --------------------------------------------------------------------------------
    async def pull_configuration(self) -> dict[str, Any] | None:
        """Ask the client for the `codegraph` section (None when it cannot answer)."""
        scope = self.root.as_uri() if self.root else None
        try:
            answer = await self.workspace_configuration_async(
                types.ConfigurationParams(items=[types.ConfigurationItem(scope_uri=scope, section=SECTION)])
            )
        except Exception as exc:  # a client may refuse; keep what we have
            logger.warning("workspace/configuration failed: %s", exc)
            return None
        return answer[0] if answer and isinstance(answer[0], dict) else None

    async def apply_settings(self, section: dict[str, Any] | None) -> None:
        """New editor settings (None: keep the editor's, re-read pyproject.toml): re-analyse."""
        if section is not None:
            self.editor = section
        resolved = resolve(self.root, self.editor, self.flags)
        self.show_problems(resolved.problems)
        unchanged = resolved.settings == self.resolved.settings
        self.resolved = resolved
        if self.service is None or self.manager is None:
            return
        self.manager.debouncer.delay = resolved.debounce
        if unchanged:
            return
        service = self.service
        await self.run_on_worker(lambda: service.configure(resolved.settings))
        self.load_model()
        self.manager.invalidate_all(delay=0)

    async def run_on_worker(self, fn: Callable[[], Any]) -> Any:
        """Run ``fn`` on the analysis thread (where the model and the index live) and await it."""
        if self.service is None:
            return None
        return await asyncio.wrap_future(self.service.submit(fn))

    def load_model(self) -> None:
        """Load the model in the background, so the first analysis does not wait (errors shown once)."""
        if self.service is None or not self.resolved.settings.enable:
            return
        service = self.service

        def done(fut: Any) -> None:
            if not fut.cancelled() and fut.exception() is None and service.model_error:
                self.call_soon(self.model_failed, service.model_error)

        service.submit(service.warm_up).add_done_callback(done)

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run a coroutine in the background (exceptions are logged; a reference is kept until it ends)."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Future[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("background task failed", exc_info=task.exception())

    def call_soon(self, fn: Callable[..., None], *args: Any) -> None:
        """Run ``fn`` on the event loop (from any thread)."""
        if self.loop is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(fn, *args)

    def show_problems(self, problems: Iterable[str]) -> None:
        for problem in problems:
            self.show_error(problem)

    def show_error(self, message: str) -> None:
        """window/showMessage (once per distinct message) and the log."""
        logger.error("%s", message)
        if message in self._shown:
            return
        self._shown.add(message)
        self.window_show_message(types.ShowMessageParams(type=types.MessageType.Error, message=message))

    def model_failed(self, message: str) -> None:
        self.show_error(message)

    # -- files ------------------------------------------------------------------------------------
    async def watch_files(self) -> None:
        """Register workspace/didChangeWatchedFiles for Python files and pyproject.toml."""
        options = types.DidChangeWatchedFilesRegistrationOptions(
            watchers=[types.FileSystemWatcher(glob_pattern=g) for g in WATCHED_GLOBS]
        )
        registration = types.Registration(
            id="codegraph-watched-files",
            method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
            register_options=options,
        )
        try:
            await self.client_register_capability_async(types.RegistrationParams([registration]))
        except Exception as exc:
            logger.warning("cannot register file watchers: %s", exc)

    def files_changed(self, changes: Sequence[types.FileEvent]) -> None:
        """Files changed outside the editor: update the index (or the settings), re-analyse."""
        if self.service is None or self.manager is None:
            return
        service = self.service
        config_changed = False
        for change in changes:
            path = path_for(change.uri)
            if path is None:
                continue
            if Path(path).name in CONFIG_FILES:
                config_changed = True
            elif change.type == types.FileChangeType.Deleted:
                service.submit(partial(service.index.remove, path))
            else:
                service.submit(partial(service.index.reload, path))
        if config_changed:
            self.spawn(self.apply_settings(None))
        else:
            self.manager.invalidate_all()

    def saved(self, uri: str) -> None:
        """A document was saved: index its text, re-analyse it and the documents that may depend on it."""
        if self.service is None or self.manager is None:
            return
        snap = self.snapshot(uri)
        service = self.service
        if snap is not None and snap.has_file:
            service.submit(lambda: service.index.update(snap.path, snap.text))
        if snap is not None and Path(snap.path).name in CONFIG_FILES:
            self.spawn(self.apply_settings(None))
            return
        self.manager.invalidate_all()

    def closed(self, uri: str) -> None:
        """A document was closed: forget it; the index goes back to the text on disk."""
        if self.manager is not None:
            self.manager.closed(uri)
        path = path_for(uri)
        if path is not None and self.service is not None:
            self.uris.pop(path, None)
            service = self.service
            service.submit(lambda: service.index.reload(path))

    # -- Host protocol (lsp.diagnostics) ----------------------------------------------------------
    @property
    def encoding(self) -> str:
        return convert.normalize_encoding(self.workspace.position_encoding)

    def opened(self, uri: str) -> None:
        path = path_for(uri)
        if path is not None:
            self.uris[path] = uri

    def open_text(self, path: str) -> str | None:
        uri = self.uris.get(path)
        doc = self.workspace.text_documents.get(_key(uri)) if uri else None
        return doc.source if doc is not None else None

    def snapshot(self, uri: str) -> Snapshot | None:
        doc = self.workspace.text_documents.get(_key(uri))
        if doc is None:
            return None
        path = path_for(uri)
        return Snapshot(uri, path or uri, doc.version, doc.source, has_file=path is not None)

    def current_version(self, uri: str) -> int | None:
        doc = self.workspace.text_documents.get(_key(uri))
        return doc.version if doc is not None else None

    def open_uris(self) -> list[str]:
        others = [u for u in self.workspace.text_documents if not u.startswith("file:")]
        return list(self.uris.values()) + others

    def publish(self, uri: str, version: int | None, diagnostics: list[types.Diagnostic]) -> None:
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics, version=version)
        )

    def request_refresh(self) -> None:
        if self.supports.get("refresh"):
            self.workspace_diagnostic_refresh(None)

    def report_server_error(self, error: Exception, source: Any) -> None:
        """Log unexpected errors instead of popping a window for each (model errors are shown once)."""
        logger.error("server error (%s): %s", getattr(source, "__name__", source), error)


def _key(uri: str) -> str:
    """pygls keys its documents by the percent-decoded URI."""
    return unquote(uri)


#: how often the server checks that the client's ``processId`` is alive
PARENT_POLL_SECONDS = 1.0


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    except OSError:
        return False
    return True


def watch_parent(pid: int, gone: Callable[[], None], every: float = PARENT_POLL_SECONDS) -> threading.Thread:
    """Call ``gone`` (from a daemon thread) once process ``pid`` has ended."""

    def watch() -> None:
        while process_alive(pid):
            time.sleep(every)
        gone()

    thread = threading.Thread(target=watch, name="codegraph-parent-watch", daemon=True)
    thread.start()
    return thread
