"""The analysis side of the server: one worker thread that owns the model, the cache and the index.

Everything that touches the pipeline runs on :class:`SerialWorker`'s thread, so the
event loop stays free to answer requests, and the Project (not thread-safe) is only
ever used from one thread. Jobs run by priority: analyses of open documents before
background indexing of the workspace.
"""

from __future__ import annotations

import gc
import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, TypeVar

from lsprotocol import types

from codegraph.config import Settings
from codegraph.findings import ErrorKind, FileError, Finding
from codegraph.lsp import convert, incremental
from codegraph.lsp.cache import PredictionCache, Superseded
from codegraph.lsp.index import WorkspaceIndex, uri_for
from codegraph.models.loader import predictor_factory
from codegraph.pipeline import Analyzer, Predictor, PredictorFactory
from codegraph.units import AnalysisUnit

logger = logging.getLogger(__name__)
T = TypeVar("T")

#: functions whose units are built between two checks for a newer version
UNIT_CHUNK = 64
#: whole-file analyses between two re-freezes of the heap (see AnalysisService.settle_heap)
REFREEZE_EVERY = 25


class SerialWorker:
    """One daemon thread running submitted callables in order (analyses and index updates interleave
    exactly as the editor's events arrived, so an analysis always sees the index updates before it)."""

    def __init__(self, name: str = "codegraph-analysis") -> None:
        self._queue: queue.SimpleQueue[tuple[Callable[[], Any], Future[Any]] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def submit(self, fn: Callable[[], T]) -> Future[T]:
        fut: Future[T] = Future()
        self._queue.put((fn, fut))
        return fut

    def _loop(self) -> None:
        while (job := self._queue.get()) is not None:
            fn, fut = job
            if not fut.set_running_or_notify_cancel():
                continue
            try:
                fut.set_result(fn())
            except BaseException as exc:  # handed to whoever awaits the future
                fut.set_exception(exc)

    def shutdown(self) -> None:
        """Stop after the jobs already queued."""
        self._queue.put(None)


@dataclass(frozen=True)
class Snapshot:
    """One version of one document, as it was when its analysis was scheduled."""

    uri: str
    path: str  # what findings report: the file's path, or the URI of a document without a file
    version: int | None
    text: str
    has_file: bool = True


@dataclass
class Outcome:
    """The analysis of one snapshot, converted for the client."""

    snapshot: Snapshot
    diagnostics: list[types.Diagnostic] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    errors: list[FileError] = field(default_factory=list)
    functions: int = 0  # functions with candidates in the file
    analysed: int = 0  # ... of which were analysed this time (the others kept their findings)
    seconds: float = 0.0
    model_error: str | None = None
    layout: incremental.Layout | None = None  # what the next edit is compared with
    #: only the changed functions were analysed, in a reduced text: close to, but not always
    #: exactly, a whole-file analysis (a settling pass redoes it when the editor is idle)
    incremental: bool = False


def _never() -> bool:
    return False


#: the configured model on one thread: the editor analyses a few functions at a time, where
#: more threads only fight the editor for the cores
interactive_predictor: PredictorFactory = predictor_factory(num_threads=1)


class AnalysisService:
    """Settings, the loaded model behind a :class:`PredictionCache`, and the workspace index.

    Every method except :meth:`submit` must run on the worker thread (use ``submit``).
    """

    def __init__(
        self,
        settings: Settings,
        index: WorkspaceIndex,
        predictor_factory: Callable[[Settings], Predictor] = interactive_predictor,
    ) -> None:
        self.worker = SerialWorker()
        self.settings = settings
        self.index = index
        self._factory = predictor_factory
        self.cache: PredictionCache | None = None
        self.model_error: str | None = None
        self._full_analyses = 0
        self._analysed_before = False  # a whole-file analysis has settled the heap

    def submit(self, fn: Callable[[], T]) -> Future[T]:
        return self.worker.submit(fn)

    # -- settings and model (worker thread) ---------------------------------------------------
    def configure(self, settings: Settings) -> None:
        """Use new settings; a different model or budget drops the loaded model and its cache."""
        if (settings.model, settings.budget) != (self.settings.model, self.settings.budget):
            self.cache = None
            self.model_error = None
        self.settings = settings

    def ensure_model(self) -> PredictionCache | None:
        """Load the configured model once; on failure remember why (retried when the settings change)."""
        if self.cache is None and self.model_error is None:
            where = self.settings.model or "the shipped model"
            try:
                predictor = self._factory(self.settings)
            except Exception as exc:  # ModelError, or anything a corrupt file makes the runtime raise
                logger.debug("cannot load the model %s", where, exc_info=True)  # shown to the user once
                self.model_error = f"codegraph: cannot load the model ({where}): {exc}"
            else:
                self.cache = PredictionCache(predictor, self.settings.budget)
                logger.info("loaded model %s (%s)", predictor.name, predictor.sha256[:12])
        return self.cache

    # -- analysis (worker thread) --------------------------------------------------------------
    def analyze(
        self,
        snap: Snapshot,
        encoding: str,
        is_cancelled: Callable[[], bool] = _never,
        previous: Outcome | None = None,
    ) -> Outcome | None:
        """Analyse one snapshot; None when it was superseded before the model ran.

        ``previous`` is the last outcome of the same document under the same settings and
        context: when the edit since then only changed function bodies, only the changed
        functions are analysed again (:mod:`codegraph.lsp.incremental`).
        """
        if is_cancelled():
            return None
        start = time.perf_counter()
        out = Outcome(snap)
        if not self.settings.enable:
            return out
        cache = self.ensure_model()
        if cache is None:
            out.model_error = self.model_error
            return out
        source = snap.text.encode("utf-8", "surrogatepass")
        cache.is_cancelled = is_cancelled
        try:
            out.layout = incremental.layout(source)
            plan = self._plan(previous, out.layout, snap)
            if plan is None or previous is None:
                self._analyze_file(out, source, is_cancelled)
            else:
                self._analyze_functions(out, plan, previous)
        except Superseded:
            return None
        except Exception as exc:  # a pipeline bug must not take the server down: report it on the file
            logger.exception("analysis of %s failed", snap.path)
            out.errors = [FileError.internal(snap.path, exc)]
            out.layout = None
        finally:
            cache.is_cancelled = _never
        out.diagnostics = self.to_diagnostics(out, encoding)
        out.seconds = time.perf_counter() - start
        logger.debug(
            "%s v%s: %d findings, %d of %d functions analysed in %.0f ms",
            snap.path, snap.version, len(out.findings), out.analysed, out.functions, 1000 * out.seconds,
        )  # fmt: skip
        return out

    def _plan(
        self, previous: Outcome | None, layout: incremental.Layout, snap: Snapshot
    ) -> incremental.Plan | None:
        if previous is None or previous.layout is None or previous.errors or previous.model_error:
            return None
        return incremental.plan(previous.layout, layout, previous.findings, snap.path)

    def _project(self, snap: Snapshot) -> Any:
        return self.index.project if snap.has_file else None

    def _analyze_file(self, out: Outcome, source: bytes, is_cancelled: Callable[[], bool]) -> None:
        """The whole file in the pipeline's stages, checking for a newer version between them
        (the graph, the units in chunks, then the model)."""
        snap = out.snapshot
        analyzer = Analyzer(self.settings, predictor=self.cache)
        prepared = analyzer.prepare(snap.path, source, self._project(snap))
        out.errors = prepared.analysis.errors
        if prepared.graph is None:
            out.layout = None
            return
        names = list(dict.fromkeys(f.qualname for f in prepared.graph.functions))
        units: list[AnalysisUnit] = []
        for start in range(0, len(names), UNIT_CHUNK):
            if is_cancelled():
                raise Superseded
            units += analyzer.units(prepared, names[start : start + UNIT_CHUNK])
        out.findings = analyzer.filter.apply(analyzer.predict(prepared, units), snap.text)
        out.functions = out.analysed = len(units)
        self.settle_heap()

    def _analyze_functions(self, out: Outcome, plan: incremental.Plan, previous: Outcome) -> None:
        """Analyse the plan's dirty functions in the reduced text; carry the others' findings over."""
        snap = out.snapshot
        analyzer = Analyzer(self.settings, predictor=self.cache)
        project = self._project(snap)
        dirty: set[str] = set()
        try:
            prepared = analyzer.prepare(snap.path, plan.reduced_source(), project)
            graph = prepared.graph
            if graph is None:  # the reduced text keeps the file's syntax: this is a pipeline bug
                raise RuntimeError(f"the reduced text of {snap.path} cannot be analysed")
            dirty = {f.qualname for f in graph.functions if plan.is_dirty_byte(graph.start_byte[f.node])}
            units = analyzer.units(prepared, dirty) if dirty else []
            fresh = analyzer.filter.apply(analyzer.predict(prepared, units), snap.text)
        finally:
            if project is not None:  # the index keeps the real text, not the reduced one
                self.index.update(snap.path, plan.new.source)
        carried = incremental.carry(plan, previous.findings, snap.path, dirty)
        out.findings = sorted([*carried, *fresh], key=lambda f: (f.line, f.column, f.rule))
        out.functions = previous.functions
        out.analysed = len(units)
        out.incremental = True

    def to_diagnostics(self, out: Outcome, encoding: str) -> list[types.Diagnostic]:
        """Findings and file errors as LSP diagnostics (evidence in other files placed in their text)."""
        snap = out.snapshot
        here = convert.LineIndex(snap.text, encoding)
        others: dict[str, convert.LineIndex | None] = {}

        def index_for(path: str) -> convert.LineIndex | None:
            if path == snap.path:
                return here
            if path not in others:
                others[path] = self.index.line_index(path, encoding)
            return others[path]

        def location(path: str) -> str:
            return snap.uri if path == snap.path else uri_for(path)

        diags = [convert.to_diagnostic(f, here, snap.version, location, index_for) for f in out.findings]
        for err in out.errors:
            if err.kind is ErrorKind.SYNTAX:
                logger.info("%s: %s", err.path, err.message)  # the editor's own checker shows these
            else:
                diags.append(convert.error_diagnostic(err.message))
        return diags

    def warm_up(self) -> None:
        """Load the model and list the workspace's files before the first analysis needs them."""
        if self.settings.enable and self.ensure_model() is not None:
            _ = self.index.project
            self.settle_heap(force=True)

    def settle_heap(self, force: bool = False) -> None:
        """Move long-lived objects (torch, the model, the index) out of the cyclic GC's sight.

        A full collection over them takes a few hundred milliseconds, which would land in
        the middle of an edit's analysis now and then; frozen, they are never scanned again.
        Objects frozen while garbage would stay, so this runs only after a collection: at
        start-up, after the first whole-file analysis (the index then holds the document's
        graphs: unfrozen, scanning them doubled the slowest edits' latency) and after every
        :data:`REFREEZE_EVERY` whole-file analyses.
        """
        first = not force and not self._analysed_before
        self._analysed_before |= not force
        self._full_analyses += 1
        if force or first or self._full_analyses >= REFREEZE_EVERY:
            gc.collect()
            gc.freeze()
            self._full_analyses = 0

    def stats(self) -> dict[str, Any]:
        cache = self.cache.stats() if self.cache else {"hits": 0, "misses": 0, "entries": 0}
        return {**cache, "model": self.cache.name if self.cache else None, "modelError": self.model_error}

    def shutdown(self) -> None:
        self.worker.shutdown()
