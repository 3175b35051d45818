"""The scan engine: files in, filtered per-file analyses out, with the cache and worker processes.

Cached files are answered without the model; the rest are analysed in batches (one
detector call per batch), in this process or, for large trees, in worker processes that
each load the model once. A batch that breaks the analyser is retried file by file, so
one bad file is reported as an internal error and the others are still analysed.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from codegraph.cache import Cache, ContextHasher, cache_key, settings_key, sha256_bytes
from codegraph.command import CommandError
from codegraph.config import Settings
from codegraph.files import NotRegularFile, SourceTooLarge, read_regular_file
from codegraph.filters import FindingFilter
from codegraph.findings import ErrorKind, FileError
from codegraph.models.checkpoint import checkpoint_identity, checkpoint_rules
from codegraph.models.loader import predictor_factory
from codegraph.pipeline import MAX_FILE_BYTES, Analyzer, FileAnalysis, ModelOutputError, missing_rules
from codegraph.rules import RULE_CODES
from codegraph.syntax import SourceError, decode_source, utf8_source

if TYPE_CHECKING:
    from codegraph.project import Project

#: files per detector call (and per task sent to a worker), and at most this many bytes of
#: source unless one file is larger: a batch holds its files' graphs and units at once
BATCH_FILES = 16
BATCH_BYTES = 256 * 1024
#: below this many bytes to analyse (about 10 s of work on one core), worker start-up
#: (an interpreter and a model load each, 3-4 s) costs more than it saves
PARALLEL_MIN_BYTES = 400_000
PARALLEL_MIN_FILES = 2 * BATCH_FILES


def source_lines(source: bytes) -> list[str]:
    """The text lines of a file's bytes as reports show them (PEP 263 decoding, see read_lines)."""
    try:
        return decode_source(source)[0].splitlines()
    except SourceError:
        return source.decode("utf-8", "replace").splitlines()


# -- analysis -------------------------------------------------------------------------------------
def _new_project(root: Path) -> Project:
    from codegraph.project import Project

    return Project(root)


def analyze_batch(
    analyzer: Analyzer, project: Project | None, items: Sequence[tuple[str, bytes]], debug: bool = False
) -> list[FileAnalysis]:
    """Analyse a batch with one detector call; when that fails, file by file, so that one file that
    breaks the analyser is reported as an internal error and the others are still analysed."""
    try:
        return analyzer.analyze_sources(items, project)
    except ModelOutputError as exc:  # the model, not a file, is broken: one error for the whole run
        raise ModelUnavailable(str(exc)) from None
    except (KeyboardInterrupt, MemoryError):
        raise
    except Exception:  # isolate the culprit below; nothing is hidden, every failure is reported
        if debug:
            traceback.print_exc()
    out = []
    for path, source in items:
        try:
            out.append(analyzer.analyze_source(path, source, project))
        except ModelOutputError as exc:
            raise ModelUnavailable(str(exc)) from None
        except (KeyboardInterrupt, MemoryError):
            raise
        except Exception as exc:  # reported as this file's error (exit status 2), the scan goes on
            if debug:
                traceback.print_exc()
            out.append(FileAnalysis(path, errors=[FileError.internal(path, exc)]))
    return out


class ModelUnavailable(CommandError):
    """The checkpoint cannot be loaded (in this process or a worker); the message is for the user."""


def ensure_model(analyzer: Analyzer) -> None:
    """Load the analyzer's model now; a checkpoint that cannot be used raises ModelUnavailable."""
    from codegraph.models.runtime import ModelError

    try:
        analyzer.predictor  # noqa: B018 -- the property loads the checkpoint
    except ModelError as exc:
        raise ModelUnavailable(str(exc)) from None


# worker processes: one Analyzer (one model load) and one Project per process
_WORKER: dict[str, Any] = {}


def _init_worker(settings: Settings, root: Path, debug: bool, threads: int) -> None:
    # share the cores between workers: BLAS reads these when it loads (the model runs on one thread)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, str(threads))
    analyzer = Analyzer(settings, predictor_factory=predictor_factory())
    try:
        ensure_model(analyzer)
    except ModelUnavailable as exc:  # re-raised by every task: the parent reports it once
        _WORKER["error"] = str(exc)
        return
    _WORKER.update(analyzer=analyzer, project=_new_project(root), debug=debug)


def _worker_batch(items: list[tuple[str, bytes]]) -> list[FileAnalysis]:
    if "error" in _WORKER:
        raise ModelUnavailable(_WORKER["error"])
    return analyze_batch(_WORKER["analyzer"], _WORKER["project"], items, _WORKER["debug"])


def _batches(items: Sequence[tuple[str, bytes]], size: int) -> Iterator[list[tuple[str, bytes]]]:
    """Consecutive runs of at most ``size`` files and :data:`BATCH_BYTES` bytes (a larger file
    alone)."""
    batch: list[tuple[str, bytes]] = []
    held = 0
    for item in items:
        if batch and (len(batch) >= size or held + len(item[1]) > BATCH_BYTES):
            yield batch
            batch, held = [], 0
        batch.append(item)
        held += len(item[1])
    if batch:
        yield batch


def auto_jobs(settings_jobs: int, todo_bytes: int, todo_files: int) -> int:
    """Worker processes for this much work; 1 means in this process.

    As configured (never more than there are files), else min(2, cpus) for large trees
    and 1 otherwise: a worker pays for its own interpreter and model load.
    """
    if settings_jobs:
        return max(1, min(settings_jobs, todo_files))
    if todo_bytes >= PARALLEL_MIN_BYTES and todo_files >= PARALLEL_MIN_FILES:
        return max(1, min(2, os.cpu_count() or 1))
    return 1


Advance = Callable[[int], None]


@dataclass
class Engine:
    """Files in, per-file analyses out, filtered by :mod:`codegraph.filters` (``--diff`` aside).

    The cache holds the unfiltered analyses (every function's best finding at any
    confidence), so a new threshold or a new ``# noqa`` needs no model. Cached files are
    answered without the model; the model is loaded only when some file must be
    analysed, in this process or once per worker process.
    """

    settings: Settings
    root: Path
    use_cache: bool = True
    cache_dir: Path | None = None
    debug: bool = False
    analyzer: Analyzer | None = None  # injectable (tests): analysis then stays in this process
    cache: Cache = field(init=False)
    jobs_used: int = 1
    #: sha256 of each analysed file's bytes, by resolved path (`fix` checks files did not change)
    source_hashes: dict[Path, str] = field(default_factory=dict)
    #: the text of files not read from disk (stdin), by absolute path
    sources: dict[Path, bytes] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.cache = Cache(self.root, enabled=self.use_cache, directory=self.cache_dir)
        self._injected = self.analyzer is not None
        if self.analyzer is None:
            self.analyzer = Analyzer(self.settings, predictor_factory=predictor_factory())
        else:  # an injected analyzer keeps its predictor and takes this run's settings
            self.analyzer.settings = self.settings
        self.filter = FindingFilter.from_settings(self.settings)
        self._identity: dict[str, str] | None = None

    def model_info(self) -> dict[str, str]:
        """The model's name and sha256, from the checkpoint sidecar when possible (no torch)."""
        assert self.analyzer is not None
        if self._identity is None:
            self._identity = None if self._injected else checkpoint_identity(self.settings.model)
            if self._identity is None:
                if not self._injected:
                    ensure_model(self.analyzer)
                self._identity = self.analyzer.model_info()
        return self._identity

    def rules_left_off(self) -> tuple[str, ...]:
        """The enabled rules that the model was not trained with (from the sidecar when it says;
        they find nothing)."""
        assert self.analyzer is not None
        trained = None if self._injected else checkpoint_rules(self.settings.model)
        if trained is None:
            if not self._injected:
                ensure_model(self.analyzer)
            off = missing_rules(self.analyzer.predictor)
        else:
            off = frozenset(RULE_CODES) - frozenset(trained)
        enabled = self.settings.enabled_rules()
        return tuple(code for code in RULE_CODES if code in off and code in enabled)

    def analyze(
        self, files: Sequence[Path], advance: Advance | None = None, sources: dict[Path, bytes] | None = None
    ) -> list[FileAnalysis]:
        """One FileAnalysis per file (in order); unreadable files carry an error. ``sources`` gives the
        text of files that are not read from disk (stdin)."""
        advance = advance or (lambda n: None)
        sources = sources or {}
        self.sources.update(sources)
        model_sha = self.model_info()["sha256"]
        skey = settings_key(self.settings)
        hasher = ContextHasher(self.root)
        results: dict[Path, FileAnalysis] = {}
        texts: dict[Path, str] = {}
        todo: list[tuple[Path, bytes, str]] = []
        for f in files:
            try:
                source = sources[f] if f in sources else read_regular_file(f, MAX_FILE_BYTES)
            except (NotRegularFile, SourceTooLarge) as exc:
                kind = ErrorKind.TOO_LARGE if isinstance(exc, SourceTooLarge) else ErrorKind.UNREADABLE
                results[f] = FileAnalysis(str(f), errors=[FileError(str(f), str(exc), kind)])
                advance(1)
                continue
            except OSError as exc:
                error = FileError(str(f), f"cannot read: {exc.strerror or exc}", ErrorKind.UNREADABLE)
                results[f] = FileAnalysis(str(f), errors=[error])
                advance(1)
                continue
            self.source_hashes[f.resolve()] = sha256_bytes(source)
            texts[f] = "\n".join(source_lines(source))
            key = ""
            if self.cache.enabled:
                key = cache_key(source, hasher.context_hash(f, source), model_sha, skey)
            cached = self.cache.get(key, f) if key else None
            if cached is not None:
                results[f] = replace(cached, path=str(f))
                advance(1)
                continue
            try:
                text = utf8_source(source)  # a PEP 263 declaration: analysed as the UTF-8 of its text
            except SourceError as exc:
                results[f] = FileAnalysis(str(f), errors=[FileError(str(f), str(exc), ErrorKind.NOT_SOURCE)])
                advance(1)
                continue
            todo.append((f, text, key))
        # the files are analysed with the project that resolved their imports for the keys
        analyses = self._analyze_todo(todo, advance, hasher.project)
        for (f, _, key), analysis in zip(todo, analyses, strict=True):
            results[f] = analysis
            if key and not any(e.kind.is_internal for e in analysis.errors):
                self.cache.put(key, analysis)
        return [self._filtered(results[f], texts.get(f, "")) for f in files]

    def _filtered(self, analysis: FileAnalysis, text: str) -> FileAnalysis:
        return replace(analysis, findings=self.filter.apply(analysis.findings, text))

    def _analyze_todo(
        self, todo: list[tuple[Path, bytes, str]], advance: Advance, project: Project | None = None
    ) -> list[FileAnalysis]:
        assert self.analyzer is not None
        items = [(str(f), source) for f, source, _ in todo]
        if not items:
            return []
        jobs = auto_jobs(self.settings.jobs, sum(len(s) for _, s in items), len(items))
        self.jobs_used = 1 if self._injected else jobs
        if self.jobs_used == 1:
            if not self._injected:
                ensure_model(self.analyzer)
            project = project or _new_project(self.root)
            out: list[FileAnalysis] = []
            for batch in _batches(items, BATCH_FILES):
                out += analyze_batch(self.analyzer, project, batch, self.debug)
                advance(len(batch))
            return out
        # spawn: a clean interpreter per worker
        ctx = multiprocessing.get_context("spawn")
        # many small batches, the biggest first, so that no worker is left alone with a long tail
        batch_size = max(1, min(BATCH_FILES, len(items) // (self.jobs_used * 12) or 1))
        with cf.ProcessPoolExecutor(
            self.jobs_used,
            mp_context=ctx,
            initializer=_init_worker,
            initargs=(
                self.settings,
                self.root,
                self.debug,
                max(1, (os.cpu_count() or 1) // self.jobs_used),
            ),
        ) as pool:
            batches = list(_batches(items, batch_size))
            biggest_first = sorted(range(len(batches)), key=lambda i: -sum(len(s) for _, s in batches[i]))
            futures = {pool.submit(_worker_batch, batches[i]): i for i in biggest_first}
            done: dict[int, list[FileAnalysis]] = {}
            try:
                for fut in cf.as_completed(futures):
                    done[futures[fut]] = fut.result()
                    advance(len(done[futures[fut]]))
            except BaseException:
                for fut in futures:
                    fut.cancel()
                raise
            return [a for i in range(len(batches)) for a in done[i]]
