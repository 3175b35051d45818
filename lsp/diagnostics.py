"""Diagnostics for open documents: debounced push (publishDiagnostics) or pull (textDocument/diagnostic).

Every analysis is tagged with the document version and the settings epoch it was
made for. A newer version (an edit) or a new epoch (new settings, a model change, a
file saved elsewhere) supersedes it: work still queued is skipped, work in progress
stops at its next check (before the model runs, between chunks of units), and a
result that comes back late is dropped instead of published. Two requests for the
same version share one analysis.

After an edit the analysis is usually incremental (only the changed functions, see
:mod:`codegraph.lsp.incremental`); once the document has been left alone for
:data:`SETTLE_DELAY` seconds a whole-file analysis *settles* it, and the client hears
again only if that changed anything.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import partial
from typing import Protocol

from lsprotocol import types

from codegraph.lsp.analysis import AnalysisService, Outcome, Snapshot
from codegraph.lsp.debounce import Debouncer

logger = logging.getLogger(__name__)

Key = tuple[int | None, int]  # (document version, settings epoch)
JobKey = tuple[int | None, int, int, bool]  # (version, epoch, document generation, whole file)

#: seconds without edits after which an incremental result is redone on the whole file
SETTLE_DELAY = 2.0


class Host(Protocol):
    """What the manager needs from the language server."""

    @property
    def encoding(self) -> str: ...

    def snapshot(self, uri: str) -> Snapshot | None: ...

    def current_version(self, uri: str) -> int | None: ...

    def open_uris(self) -> Iterable[str]: ...

    def publish(self, uri: str, version: int | None, diagnostics: list[types.Diagnostic]) -> None: ...

    def request_refresh(self) -> None: ...

    def model_failed(self, message: str) -> None: ...


@dataclass
class DocState:
    generation: int = 0  # bumped by every edit, open and close
    outcome: Outcome | None = None
    key: Key | None = None
    serial: int = 0  # bumped by every new outcome (the pull result id)
    changed_at: float = 0.0  # time.monotonic() of the last edit
    inflight: dict[JobKey, asyncio.Future[Outcome | None]] = field(default_factory=dict)


class DiagnosticsManager:
    """Schedules analyses per document and hands their diagnostics to the client."""

    def __init__(self, host: Host, service: AnalysisService, debounce: float, push: bool = True) -> None:
        self.host = host
        self.service = service
        self.debouncer = Debouncer(debounce)
        self.settler = Debouncer(SETTLE_DELAY)
        self.push = push
        self.epoch = 0
        self._docs: dict[str, DocState] = {}

    def _state(self, uri: str) -> DocState:
        return self._docs.setdefault(uri, DocState())

    # -- events ----------------------------------------------------------------------------------
    def changed(self, uri: str, delay: float | None = None) -> None:
        """The document changed (or opened, or was saved): supersede its analysis, schedule the next."""
        state = self._state(uri)
        state.generation += 1
        state.changed_at = time.monotonic() if delay is None else 0.0  # an open is not debounced
        self.settler.cancel(uri)
        if self.push:
            self.debouncer.schedule(uri, partial(self.refresh, uri), delay)

    def closed(self, uri: str) -> None:
        self.debouncer.cancel(uri)
        self.settler.cancel(uri)
        state = self._docs.pop(uri, None)
        if state is not None:
            state.generation += 1
        if self.push:
            self.host.publish(uri, None, [])

    def invalidate_all(self, delay: float | None = None) -> None:
        """Settings or context changed: every open document is analysed again (or pulled again)."""
        self.epoch += 1
        if self.push:
            for uri in self.host.open_uris():
                self.debouncer.schedule(uri, partial(self.refresh, uri), delay)
        else:
            self.host.request_refresh()

    def current(self, uri: str) -> Outcome | None:
        """The latest outcome if it is for the document's current version (for hover / code actions)."""
        state = self._docs.get(uri)
        if state is None or state.outcome is None:
            return None
        if state.outcome.snapshot.version != self.host.current_version(uri):
            return None
        return state.outcome

    # -- analysis ----------------------------------------------------------------------------------
    async def compute(self, uri: str, whole: bool = False) -> Outcome | None:
        """The analysis of the document's current version; None when superseded while it ran.

        ``whole``: a whole-file analysis even when the last one was incremental.
        """
        snap = self.host.snapshot(uri)
        if snap is None:
            return None
        state = self._state(uri)
        key: Key = (snap.version, self.epoch)
        if state.outcome is not None and state.key == key and not (whole and state.outcome.incremental):
            return state.outcome
        generation, epoch = state.generation, self.epoch
        job_key: JobKey = (snap.version, epoch, generation, whole)
        fut = state.inflight.get(job_key)
        if fut is None:

            def superseded() -> bool:
                return state.generation != generation or self.epoch != epoch

            same_epoch = state.key is not None and state.key[1] == epoch
            previous = state.outcome if same_epoch and not whole else None
            job = partial(self.service.analyze, snap, self.host.encoding, superseded, previous)
            fut = state.inflight[job_key] = asyncio.wrap_future(self.service.submit(job))
            fut.add_done_callback(lambda _: state.inflight.pop(job_key, None))
        outcome = await asyncio.shield(fut)
        if outcome is None or self.epoch != key[1] or snap.version != self.host.current_version(uri):
            return None
        if outcome.model_error:
            self.host.model_failed(outcome.model_error)
        if uri in self._docs and outcome is not state.outcome:
            state.outcome, state.key = outcome, key
            state.serial += 1
            if outcome.incremental:
                self.settler.schedule(uri, partial(self.settle, uri))
        return outcome

    async def refresh(self, uri: str) -> None:
        """Analyse and publish (push mode); a superseded result is dropped."""
        outcome = await self.compute(uri)
        if outcome is not None and outcome.snapshot.version == self.host.current_version(uri):
            self.host.publish(uri, outcome.snapshot.version, outcome.diagnostics)

    async def settle(self, uri: str) -> None:
        """Redo an incremental result on the whole file; tell the client only if it changed."""
        state = self._docs.get(uri)
        before = state.outcome if state else None
        outcome = await self.compute(uri, whole=True)
        if outcome is None or before is None or outcome.findings == before.findings:
            return
        if self.push:
            self.host.publish(uri, outcome.snapshot.version, outcome.diagnostics)
        else:
            self.host.request_refresh()

    async def pull(self, uri: str, previous_result_id: str | None) -> types.DocumentDiagnosticReport:
        """Answer textDocument/diagnostic for the document's current version (after the debounce
        delay since the last edit: a client pulls on every keystroke and cancels what it no
        longer needs)."""
        wait = self.debouncer.delay - (time.monotonic() - self._state(uri).changed_at)
        if wait > 0:
            await asyncio.sleep(wait)
        while True:
            if self.host.snapshot(uri) is None:
                return types.RelatedFullDocumentDiagnosticReport(items=[])
            outcome = await self.compute(uri)
            if outcome is not None:
                break
        result_id = f"{self.epoch}:{outcome.snapshot.version}:{self._state(uri).serial}"
        if previous_result_id == result_id:
            return types.RelatedUnchangedDocumentDiagnosticReport(result_id=result_id)
        return types.RelatedFullDocumentDiagnosticReport(items=outcome.diagnostics, result_id=result_id)

    def shutdown(self) -> None:
        self.debouncer.cancel_all()
        self.settler.cancel_all()
