"""Scheduling in-process: debouncing, superseded work, late results, settling, closing."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from fakes import FakePredictor
from lsprotocol import types

from codegraph.config import Settings
from codegraph.lsp.analysis import AnalysisService, Snapshot
from codegraph.lsp.diagnostics import DiagnosticsManager
from codegraph.lsp.index import WorkspaceIndex
from codegraph.units import AnalysisUnit

URI = "file:///w/m.py"
TEXT = "def total(a, b):\n    return a + b\n\n\ndef pick(a, b):\n    return a\n"


@dataclass
class FakeHost:
    """The language server as the manager sees it."""

    encoding: str = "utf-16"
    docs: dict[str, tuple[int, str]] = field(default_factory=dict)
    published: list[tuple[str, int | None, int]] = field(default_factory=list)
    refreshes: int = 0
    errors: list[str] = field(default_factory=list)

    def snapshot(self, uri: str) -> Snapshot | None:
        if uri not in self.docs:
            return None
        version, text = self.docs[uri]
        return Snapshot(uri, "/w/" + uri.rsplit("/", 1)[-1], version, text)

    def current_version(self, uri: str) -> int | None:
        return self.docs[uri][0] if uri in self.docs else None

    def open_uris(self) -> list[str]:
        return list(self.docs)

    def publish(self, uri: str, version: int | None, diagnostics: list[types.Diagnostic]) -> None:
        self.published.append((uri, version, len(diagnostics)))

    def request_refresh(self) -> None:
        self.refreshes += 1

    def model_failed(self, message: str) -> None:
        self.errors.append(message)


class SlowPredictor(FakePredictor):
    def predict(self, units: list[AnalysisUnit]) -> list:  # type: ignore[type-arg]
        time.sleep(0.3)
        return super().predict(units)


def manager(
    predictor: FakePredictor | None = None, debounce: float = 0.05
) -> tuple[FakeHost, DiagnosticsManager]:
    host = FakeHost()
    fake = predictor or FakePredictor()
    service = AnalysisService(Settings(min_confidence=0), WorkspaceIndex(None), lambda s: fake)
    return host, DiagnosticsManager(host, service, debounce)


async def pause(seconds: float) -> None:
    await asyncio.sleep(seconds)


async def published(host: FakeHost, count: int = 1, settle: float = 0.3, timeout: float = 20.0) -> None:
    """Wait until ``count`` publications arrived (a loaded machine may take a while), then ``settle``
    seconds more, so that a publication that should not come would be seen."""
    deadline = asyncio.get_running_loop().time() + timeout
    while len(host.published) < count and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.02)
    await pause(settle)


async def test_a_burst_of_edits_publishes_the_last_version_only() -> None:
    host, m = manager()
    text = TEXT
    for version in range(1, 21):
        text += f"\n\ndef g{version}(x, y):\n    return x - y\n"
        host.docs[URI] = (version, text)
        m.changed(URI)
        await asyncio.sleep(0.005)
    await published(host)
    assert [(v, n) for _, v, n in host.published] == [(20, 22)]


async def test_a_result_for_an_older_version_is_dropped() -> None:
    host, m = manager(SlowPredictor(), debounce=0)
    host.docs[URI] = (1, TEXT)
    m.changed(URI)
    await asyncio.sleep(0.1)  # version 1 is in the model now
    host.docs[URI] = (2, TEXT.replace("return a\n", "return b\n"))
    m.changed(URI)
    await published(host, settle=0.6)
    assert [v for _, v, _ in host.published] == [2]


async def test_an_incremental_result_is_settled_on_the_whole_file() -> None:
    host, m = manager(debounce=0)
    m.settler.delay = 0.1
    host.docs[URI] = (1, TEXT)
    m.changed(URI)
    await pause(0.3)
    host.docs[URI] = (2, TEXT.replace("return a + b", "return a - b"))
    m.changed(URI)
    await pause(0.05)
    outcome = m.current(URI)
    assert outcome is not None and outcome.incremental and outcome.analysed == 1
    await pause(0.4)
    settled = m.current(URI)
    assert settled is not None and not settled.incremental and settled.findings == outcome.findings
    # the same findings: the client is not told again
    assert [v for _, v, _ in host.published] == [1, 2]


async def test_closing_clears_and_forgets() -> None:
    host, m = manager(SlowPredictor(), debounce=0)
    host.docs[URI] = (1, TEXT)
    m.changed(URI)
    await asyncio.sleep(0.1)
    del host.docs[URI]
    m.closed(URI)
    await published(host, settle=0.5)
    assert host.published == [(URI, None, 0)]
    assert m.current(URI) is None


async def test_pull_answers_unchanged_for_the_same_result() -> None:
    host, m = manager(debounce=0)
    m.push = False
    host.docs[URI] = (1, TEXT)
    first = await m.pull(URI, None)
    assert isinstance(first, types.RelatedFullDocumentDiagnosticReport) and len(first.items) == 2
    again = await m.pull(URI, first.result_id)
    assert isinstance(again, types.RelatedUnchangedDocumentDiagnosticReport)
    m.invalidate_all()
    assert host.refreshes == 1
    assert isinstance(await m.pull(URI, first.result_id), types.RelatedFullDocumentDiagnosticReport)
