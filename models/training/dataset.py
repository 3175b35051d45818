"""The training dataset: bug-injected analysis units of the pinned corpus, as tensor shards.

``codegraph train dataset build`` reads the corpus manifest (``data/corpus/corpus.json``,
see :mod:`codegraph.models.training.corpus`) and, per split (train, valid, test):

1. lists the split's packages in name order and their files in path order, and cuts
   them into *chunks* of consecutive files of one package (about ``--chunk-lines``
   lines each); a split never shares a package with another split (checked);
2. per chunk (in worker processes, ``--jobs``): builds the code graph of each file
   inside a per-package :class:`~codegraph.project.Project` (for cross-file context),
   the analysis unit of every function that has at least one candidate, and draws
   with a seeded RNG per function (seed, file, function) whether it stays correct
   (probability ``--no-bug-ratio``) or gets one bug injected
   (:mod:`codegraph.models.training.rewrites`; the rewrites of one file are applied
   together, so the buggy file is parsed once; a rejected rewrite is drawn once more,
   then the function is skipped);
3. tensorises the units (:func:`codegraph.models.tensorize.tensorize`) and, unless
   ``--no-encodings``, precomputes shortcut edges and positional encodings with
   :func:`codegraph.models.encodings.build_transform`;
4. writes the samples in chunk order to ``OUT/<split>/shard-00000.pt`` ... (a shard
   closes at the first chunk boundary after ``--shard-samples`` samples), each with a
   ``.json`` sidecar (chunk range, per-sample rule / size / distance, timings).

The vocabulary (node types and identifier subtokens of the train split's code graphs,
plus every repair token of :data:`codegraph.rules.REPAIR_TOKENS`) is built first
and saved as ``OUT/vocab.json``. ``OUT/manifest.json`` records the build parameters,
the vocabulary fingerprint and the counts per split and rule.

Resuming: a shard whose sidecar matches the build parameters is kept; a missing shard
is rebuilt from exactly its chunk range (known from its neighbours' sidecars), and the
build goes on after the last shard. Shard contents depend only on the corpus and the
parameters (not on ``--jobs``), so a rebuilt shard equals the one it replaces.

``codegraph train dataset stats`` prints samples per rule and split, graph size percentiles
and build time per 1,000 functions from the sidecars.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import random
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from codegraph import __version__
from codegraph.command import CommandError, command
from codegraph.models.training.corpus import SPLITS, CorpusEntry, CorpusError, corpus_entries
from codegraph.rules import REPAIR_TOKENS
from codegraph.units import AnalysisUnit, Candidate

DEFAULT_CORPUS = Path("data/corpus")
DEFAULT_OUT = Path("data/dataset")
MANIFEST_NAME = "manifest.json"
VOCAB_NAME = "vocab.json"
FORMAT = "codegraph-dataset"
VERSION = 1
#: part of the shard key: bump when candidates, units, rewrites or tensors change meaning
CODE_VERSION = f"{__version__}/1"
#: the rule label of a sample without a bug
NO_BUG = "none"
#: a worker builds a fresh project after this many chunks of one package (bounds the graphs it holds:
#: about 4 kB per source line; the stdlib alone has a million lines)
PROJECT_CHUNKS = 16
#: vocabulary sizes (as :meth:`codegraph.models.tensorize.Vocabulary.build`)
VOCAB_SUBTOKENS = 10_000
VOCAB_NODE_TYPES = 1_000


class DatasetError(CommandError, RuntimeError):
    """The dataset cannot be built or read as asked."""


@dataclass(frozen=True)
class BuildParams:
    """Everything that decides the contents of the shards (recorded in the manifest)."""

    seed: int = 0
    no_bug_ratio: float = 0.5
    budget: int = 1500
    max_functions_per_split: int | None = None
    file_fraction: float = 1.0  # keep this share of each split's files (chosen by a seeded hash of the path)
    shard_samples: int = 2000
    chunk_lines: int = 4000
    encodings: bool = True
    shortcuts: bool = True
    rw_k: int = 8
    lap_k: int = 8
    #: a mutation fit (:mod:`~codegraph.models.training.mutations`) to draw injected bugs from,
    #: and its sha256; empty: uniform injection (:func:`~codegraph.models.training.rewrites.choose_rewrite`)
    mutations: str = ""
    mutations_sha256: str = ""


def _chooser(params: BuildParams) -> Any:
    """``choose(rng, sites, source) -> (ci, ri) | None`` of the build: the fit's, or uniform."""
    from codegraph.models.training.rewrites import choose_rewrite

    if not params.mutations:
        return lambda rng, sites, source: choose_rewrite(rng, sites)
    fit = _FITS.get(params.mutations)
    if fit is None:
        from codegraph.models.training.mutations import load_fit

        fit = _FITS[params.mutations] = load_fit(params.mutations)
    return fit.choose


_FITS: dict[str, Any] = {}


@dataclass(frozen=True)
class FileRef:
    """One corpus file: its manifest path (relative to ``files/``) and where it is on disk."""

    relpath: str
    path: str


@dataclass(frozen=True)
class Chunk:
    """Consecutive files of one package, processed as one task."""

    index: int
    split: str
    package: str
    root: str  # the package's folder: the project root
    files: tuple[FileRef, ...]
    package_files: tuple[str, ...]  # every file of the package (the project)


@dataclass
class FileSamples:
    """The units drawn from one file: bug-marked or correct, in function order."""

    units: list[AnalysisUnit] = field(default_factory=list)
    functions: int = 0  # functions with at least one candidate
    all_functions: int = 0
    rejected: int = 0  # functions whose rewrites were all rejected (left out)
    skipped_file: bool = False


@dataclass
class ChunkResult:
    """What one chunk produced; per-sample lists are aligned with ``samples``."""

    index: int
    samples: list[dict[str, Any]] = field(default_factory=list)  # packed UnitData (:func:`pack`)
    rules: list[str] = field(default_factory=list)
    nodes: list[int] = field(default_factory=list)
    edges: list[int] = field(default_factory=list)
    hops: list[int] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    functions: int = 0
    all_functions: int = 0
    rejected: int = 0
    skipped_files: int = 0
    seconds: float = 0.0


# --------------------------------------------------------------------------- planning


def split_packages(entries: Sequence[CorpusEntry]) -> dict[str, dict[str, list[CorpusEntry]]]:
    """split -> package -> files (sorted by path). Raises DatasetError if a package is in two splits."""
    owner: dict[str, str] = {}
    out: dict[str, dict[str, list[CorpusEntry]]] = {}
    for e in entries:
        if owner.setdefault(e.package, e.split) != e.split:
            raise DatasetError(f"package {e.package!r} is in splits {owner[e.package]!r} and {e.split!r}")
        out.setdefault(e.split, {}).setdefault(e.package, []).append(e)
    for packages in out.values():
        for files in packages.values():
            files.sort(key=lambda e: e.relpath)
    return out


def keep_file(relpath: str, fraction: float, seed: int) -> bool:
    """A seeded, order-independent choice of ``fraction`` of the files."""
    if fraction >= 1.0:
        return True
    digest = hashlib.sha256(f"{seed}\0{relpath}".encode()).digest()
    return int.from_bytes(digest[:8], "big") < fraction * 2**64


def plan_chunks(
    corpus: Path,
    split: str,
    packages: dict[str, list[CorpusEntry]],
    chunk_lines: int,
    fraction: float = 1.0,
    seed: int = 0,
) -> list[Chunk]:
    """Cut the split's packages (name order) into chunks of about ``chunk_lines`` lines.

    With ``fraction`` < 1 only that share of the files is drawn from (every file of a
    package still serves as cross-file context).
    """
    files_dir = (corpus / "files").resolve()
    chunks: list[Chunk] = []
    for package in sorted(packages):
        entries = packages[package]
        refs = [FileRef(e.relpath, str(files_dir / e.relpath)) for e in entries]
        root = str(files_dir / package)
        all_paths = tuple(r.path for r in refs)
        current: list[FileRef] = []
        lines = 0
        for e, ref in zip(entries, refs):
            if not keep_file(e.relpath, fraction, seed):
                continue
            if current and lines + e.lines > chunk_lines:
                chunks.append(Chunk(len(chunks), split, package, root, tuple(current), all_paths))
                current, lines = [], 0
            current.append(ref)
            lines += e.lines
        if current:
            chunks.append(Chunk(len(chunks), split, package, root, tuple(current), all_paths))
    return chunks


def corpus_digest(entries: Sequence[CorpusEntry]) -> str:
    """sha256 over the (split, path, content hash) of the corpus files."""
    h = hashlib.sha256()
    for e in sorted(entries, key=lambda e: e.relpath):
        h.update(f"{e.split}\0{e.relpath}\0{e.sha256}\n".encode())
    return h.hexdigest()


# --------------------------------------------------------------------------- samples of one file


def function_rng(seed: int, relpath: str, index: int, qualname: str) -> random.Random:
    """The RNG of one function: independent of processing order and of other functions."""
    return random.Random(f"{seed}|{relpath}|{index}|{qualname}")


def file_samples(
    project: Any,
    path: str,
    relpath: str,
    package: str,
    params: BuildParams,
    edge_indexes: dict[str, Any] | None = None,
) -> FileSamples:
    """Units of every function of one file that has candidates, each correct or with one bug.

    ``project`` is the package's :class:`~codegraph.project.Project` holding ``path``.
    """
    from codegraph.context import ContextBuilder
    from codegraph.models.training.rewrites import Rewrite, inject_many, injection_sites
    from codegraph.rules import analysis_functions
    from codegraph.scope_analysis import scopes_of

    out = FileSamples()
    choose = _chooser(params)
    g = project.graph(path)
    if g is None or g.has_error:
        out.skipped_file = True
        return out
    scopes = scopes_of(g)
    builder = ContextBuilder(g, scopes, project, params.budget, edge_indexes=edge_indexes)
    slots: list[AnalysisUnit | None] = []
    pending: dict[int, tuple[random.Random, AnalysisUnit, tuple[int, int]]] = {}
    sites: dict[int, list[Candidate]] = {}
    functions = analysis_functions(g)  # the functions, then the module-level code
    out.all_functions = len(functions)
    for k, func in enumerate(functions):
        unit = builder.build(func)
        if not unit.candidates:
            continue
        out.functions += 1
        unit.meta["package"] = package
        rng = function_rng(params.seed, relpath, k, func.qualname)
        sites[len(slots)] = injection_sites(unit, func, g, scopes)  # the candidates, then extra injections
        pick = None if rng.random() < params.no_bug_ratio else choose(rng, sites[len(slots)], g.source)
        if pick is None:
            unit.meta["rule"] = NO_BUG
            slots.append(unit)
        else:
            pending[len(slots)] = (rng, unit, pick)
            slots.append(None)
    for attempt in range(2):
        if not pending:
            break
        order = list(pending)
        rewrites = []
        for slot in order:
            _, unit, (ci, ri) = pending[slot]
            cand = sites[slot][ci]
            rewrites.append(Rewrite(unit, cand, cand.repairs[ri]))
        results = inject_many(
            g.source, path, rewrites, project=project, budget=params.budget, package=package, module=g.module
        )
        retry: dict[int, tuple[random.Random, AnalysisUnit, tuple[int, int]]] = {}
        for slot, result in zip(order, results):
            if not isinstance(result, str):
                slots[slot] = result.unit
                continue
            rng, unit, old = pending[slot]
            again = choose(rng, sites[slot], g.source) if attempt == 0 else None
            if again is not None and again != old:
                retry[slot] = (rng, unit, again)
        pending = retry
    out.units = [u for u in slots if u is not None]
    out.rejected = out.functions - len(out.units)
    return out


# --------------------------------------------------------------------------- workers

_STATE: dict[str, Any] = {}


def _init_worker(vocab_path: str, params: BuildParams) -> None:
    """Per-process state: the vocabulary, the feature transform, the current package's project."""
    import torch

    from codegraph.models.tensorize import Vocabulary

    torch.set_num_threads(1)
    _STATE.clear()
    _STATE["vocab"] = Vocabulary.load(vocab_path)
    _STATE["params"] = params
    if params.encodings:
        from codegraph.models.encodings import build_transform

        _STATE["transform"] = build_transform(
            shortcuts=params.shortcuts, rw_k=params.rw_k, lap_k=params.lap_k
        )


def _project_for(chunk: Chunk) -> tuple[Any, dict[str, Any]]:
    """The chunk's package project (kept for up to :data:`PROJECT_CHUNKS` chunks of the same package)
    and its edge indexes. Which graphs a project holds never changes what a chunk produces."""
    from codegraph.project import Project

    key = (chunk.package, chunk.root)
    if _STATE.get("project_key") != key or _STATE["project_chunks"] >= PROJECT_CHUNKS:
        _STATE["project_key"] = key
        _STATE["project"] = Project.from_files(chunk.package_files, root=chunk.root)
        _STATE["edge_indexes"] = {}
        _STATE["project_chunks"] = 0
    _STATE["project_chunks"] += 1
    return _STATE["project"], _STATE["edge_indexes"]


def process_chunk(chunk: Chunk) -> ChunkResult:
    """Build, inject, tensorise (and encode) every sample of one chunk."""
    from codegraph.models.tensorize import tensorize

    start = time.process_time()
    params: BuildParams = _STATE["params"]
    vocab = _STATE["vocab"]
    transform = _STATE.get("transform")
    project, edge_indexes = _project_for(chunk)
    result = ChunkResult(chunk.index)
    for ref in chunk.files:
        try:
            fs = file_samples(project, ref.path, ref.relpath, chunk.package, params, edge_indexes)
        except Exception as exc:  # annotated and re-raised: never hidden
            exc.add_note(f"while building samples of {ref.relpath}")
            raise
        result.functions += fs.functions
        result.all_functions += fs.all_functions
        result.rejected += fs.rejected
        result.skipped_files += int(fs.skipped_file)
        for unit in fs.units:
            data = tensorize(unit, vocab)
            if transform is not None:
                data = transform(data)
            rule = unit.meta.get("rule")
            result.samples.append(pack(data))
            result.rules.append(rule if isinstance(rule, str) else NO_BUG)
            result.nodes.append(unit.num_nodes)
            result.edges.append(len(unit.src))
            result.hops.append(_int(unit.meta.get("hops")))
            result.lines.append(_int(unit.meta.get("lines")))
    result.seconds = time.process_time() - start
    return result


def pack(data: Any) -> dict[str, Any]:
    """A UnitData as numpy arrays: cheap to send between processes (torch would pass every
    tensor through its own shared-memory segment)."""
    out: dict[str, Any] = {"num_nodes": int(data.num_nodes or 0)}
    for key, value in data.items():
        if key != "num_nodes":
            out[key] = value.numpy() if hasattr(value, "numpy") else value
    return out


def unpack(packed: dict[str, Any]) -> Any:
    """The UnitData of :func:`pack`."""
    import numpy as np
    import torch

    from codegraph.models.tensors import UnitData

    fields = {
        k: torch.from_numpy(v) if isinstance(v, np.ndarray) else v
        for k, v in packed.items()
        if k != "num_nodes"
    }
    data = UnitData(**fields)
    data.num_nodes = packed["num_nodes"]
    return data


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else -1


def _count_chunk(chunk: Chunk) -> tuple[Counter[str], Counter[str]]:
    """Node types and node texts of the code graph nodes of a chunk's files (vocabulary pass)."""
    from codegraph.nodes import graph_nodes
    from codegraph.syntax import SourceError, parse

    types: Counter[str] = Counter()
    texts: Counter[str] = Counter()
    for ref in chunk.files:
        source = Path(ref.path).read_bytes()
        try:
            g = graph_nodes(parse(source), source)
        except SourceError:
            continue
        types.update(g.type)
        texts.update(t for t in g.text if t)
    return types, texts


class _Pool:
    """``imap`` over tasks in order: a process pool for ``jobs > 1``, the calling process otherwise."""

    def __init__(self, jobs: int, vocab_path: str | None, params: BuildParams) -> None:
        self.jobs = jobs
        self.pool: Any = None
        init_args = (vocab_path, params)
        if jobs > 1:
            ctx = multiprocessing.get_context("spawn")
            saved = {
                k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
            }
            os.environ.update(dict.fromkeys(saved, "1"))
            try:
                self.pool = ctx.Pool(jobs, initializer=_init_pool, initargs=init_args)
            finally:
                for k, v in saved.items():
                    if v is None:
                        os.environ.pop(k, None)
                    else:
                        os.environ[k] = v
        else:
            _init_pool(*init_args)

    def imap(self, fn: Any, tasks: Sequence[Any]) -> Iterator[Any]:
        if self.pool is not None:
            return self.pool.imap(fn, tasks, chunksize=1)
        return map(fn, tasks)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.terminate()
            self.pool.join()
            self.pool = None


def _init_pool(vocab_path: str | None, params: BuildParams) -> None:
    if vocab_path is not None:
        _init_worker(vocab_path, params)


# --------------------------------------------------------------------------- vocabulary


def _top(counter: Counter[str], k: int, reserved: Sequence[str]) -> list[str]:
    """The reserved tokens, then the ``k`` most frequent others (ties alphabetical), as Vocabulary.build."""
    items = sorted(((t, c) for t, c in counter.items() if t not in reserved), key=lambda tc: (-tc[1], tc[0]))
    return list(reserved) + [t for t, _ in items[:k]]


def build_vocabulary(chunks: Sequence[Chunk], pool: _Pool, progress: Progress | None = None) -> Any:
    """The vocabulary of the train chunks: node types, subtokens of node texts, all repair tokens."""
    from codegraph.models.tensorize import PAD, UNK, VIRTUAL, Vocabulary, split_subtokens

    types: Counter[str] = Counter()
    texts: Counter[str] = Counter()
    task = progress.add_task("vocabulary", total=len(chunks)) if progress is not None else None
    for t, x in pool.imap(_count_chunk, chunks):
        types.update(t)
        texts.update(x)
        if progress is not None and task is not None:
            progress.advance(task)
    subtokens: Counter[str] = Counter()
    for text, count in texts.items():
        for s in split_subtokens(text):
            subtokens[s] += count
    return Vocabulary(
        node_types=_top(types, VOCAB_NODE_TYPES, (PAD, UNK, VIRTUAL)),
        subtokens=_top(subtokens, VOCAB_SUBTOKENS, (PAD, UNK)),
        repair_tokens=[PAD, UNK, *REPAIR_TOKENS],
    )


# --------------------------------------------------------------------------- shards


def shard_name(k: int) -> str:
    return f"shard-{k:05d}"


@dataclass
class _Shard:
    """The sidecar of one shard."""

    shard: int
    first_chunk: int
    end_chunk: int
    total_before: int
    count: int
    key: str
    rules: list[str]
    nodes: list[int]
    edges: list[int]
    hops: list[int]
    lines: list[int]
    functions: int
    all_functions: int
    rejected: int
    skipped_files: int
    seconds: float


def _load_sidecars(split_dir: Path, key: str) -> dict[int, _Shard]:
    """Valid sidecars by shard index: parseable, built with ``key``, with the shard file beside them."""
    out: dict[int, _Shard] = {}
    for p in sorted(split_dir.glob("shard-*.json")):
        if not p.with_suffix(".pt").is_file():
            continue
        try:
            raw = json.loads(p.read_text(encoding="utf-8"))
            sc = _Shard(**raw)
        except (OSError, ValueError, TypeError):
            continue
        if sc.key == key and p.stem == shard_name(sc.shard):
            out[sc.shard] = sc
    return out


@dataclass
class _Segment:
    """Part of a split's plan: keep a shard, rebuild one shard from a known chunk range, or build the rest."""

    kind: str  # "keep" | "fill" | "tail"
    shard: int
    first: int
    end: int
    sidecar: _Shard | None = None


def _plan_segments(valid: dict[int, _Shard], n_chunks: int) -> list[_Segment]:
    segments: list[_Segment] = []
    pos = shard = 0
    while pos < n_chunks:
        sc = valid.get(shard)
        if sc is not None and sc.first_chunk == pos and sc.end_chunk > pos:
            segments.append(_Segment("keep", shard, pos, sc.end_chunk, sc))
            pos = sc.end_chunk
        else:
            nxt = valid.get(shard + 1)
            if nxt is not None and nxt.first_chunk > pos:
                segments.append(_Segment("fill", shard, pos, nxt.first_chunk))
                pos = nxt.first_chunk
            else:
                segments.append(_Segment("tail", shard, pos, n_chunks))
                break
        shard += 1
    return segments


class _SplitWriter:
    """Collects chunk results into shards, writing each with its sidecar."""

    def __init__(self, split_dir: Path, key: str, params: BuildParams) -> None:
        self.dir = split_dir
        self.key = key
        self.params = params
        self.cap = params.max_functions_per_split
        self.total = 0
        self.shards: list[_Shard] = []
        self._reset(0, 0)

    def _reset(self, shard: int, first: int) -> None:
        self.shard = shard
        self.first = first
        self.results: list[ChunkResult] = []

    @property
    def capped(self) -> bool:
        return self.cap is not None and self.total >= self.cap

    def keep(self, sc: _Shard) -> None:
        if sc.total_before != self.total:
            raise DatasetError(
                f"{self.dir / shard_name(sc.shard)}: starts at sample {sc.total_before:,}, but the shards "
                f"before it hold {self.total:,}; the code changed since it was built: use a fresh --out"
            )
        self.shards.append(sc)
        self.total = sc.total_before + sc.count

    def start(self, shard: int, first: int) -> None:
        self._reset(shard, first)
        self._total_before = self.total

    def add(self, result: ChunkResult) -> None:
        if self.cap is not None:
            room = self.cap - self.total
            if len(result.samples) > room:
                for name in ("samples", "rules", "nodes", "edges", "hops", "lines"):
                    setattr(result, name, getattr(result, name)[:room])
        self.results.append(result)
        self.total += len(result.samples)

    @property
    def pending(self) -> int:
        return sum(len(r.samples) for r in self.results)

    def write(self, end_chunk: int) -> None:
        from codegraph.models.tensors import save_shard

        rs = self.results
        samples = [unpack(s) for r in rs for s in r.samples]
        sc = _Shard(
            shard=self.shard,
            first_chunk=self.first,
            end_chunk=end_chunk,
            total_before=self._total_before,
            count=len(samples),
            key=self.key,
            rules=[x for r in rs for x in r.rules],
            nodes=[x for r in rs for x in r.nodes],
            edges=[x for r in rs for x in r.edges],
            hops=[x for r in rs for x in r.hops],
            lines=[x for r in rs for x in r.lines],
            functions=sum(r.functions for r in rs),
            all_functions=sum(r.all_functions for r in rs),
            rejected=sum(r.rejected for r in rs),
            skipped_files=sum(r.skipped_files for r in rs),
            seconds=round(sum(r.seconds for r in rs), 3),
        )
        stem = self.dir / shard_name(self.shard)
        save_shard(samples, stem.with_suffix(".pt"))
        tmp = stem.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(asdict(sc)) + "\n", encoding="utf-8")
        os.replace(tmp, stem.with_suffix(".json"))
        self.shards.append(sc)
        self._reset(self.shard + 1, end_chunk)
        self._total_before = self.total


def build_split(
    split: str,
    chunks: Sequence[Chunk],
    out: Path,
    key: str,
    params: BuildParams,
    pool: _Pool,
    progress: Progress | None = None,
) -> list[_Shard]:
    """Build (or finish) the shards of one split; returns every shard's sidecar in order."""
    split_dir = out / split
    split_dir.mkdir(parents=True, exist_ok=True)
    segments = _plan_segments(_load_sidecars(split_dir, key), len(chunks))
    writer = _SplitWriter(split_dir, key, params)
    needed = [c for seg in segments if seg.kind != "keep" for c in chunks[seg.first : seg.end]]
    task = progress.add_task(f"{split}", total=len(needed)) if progress is not None else None
    results = pool.imap(process_chunk, needed) if needed else iter(())
    for seg in segments:
        if writer.capped:
            break
        if seg.kind == "keep":
            assert seg.sidecar is not None
            writer.keep(seg.sidecar)
            continue
        writer.start(seg.shard, seg.first)
        for ci in range(seg.first, seg.end):
            result = next(results)
            assert result.index == ci
            writer.add(result)
            if progress is not None and task is not None:
                progress.advance(task)
            done = ci + 1 == seg.end or writer.capped
            if seg.kind == "tail" and not done and writer.pending >= params.shard_samples:
                writer.write(ci + 1)
            elif done:
                if writer.pending:
                    writer.write(ci + 1)
                break
    for stale in split_dir.glob("shard-*"):
        number = stale.name.split(".")[0].removeprefix("shard-")
        if number.isdigit() and int(number) >= len(writer.shards):
            stale.unlink()
    return writer.shards


# --------------------------------------------------------------------------- build


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description:<10}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console, disable=not console.is_terminal,
    )  # fmt: skip


def build_dataset(
    corpus: Path,
    out: Path,
    params: BuildParams,
    *,
    jobs: int = 2,
    splits: Sequence[str] = SPLITS,
    vocab_from: Path | None = None,
    console: Console | None = None,
) -> dict[str, Any]:
    """Build (or resume) the dataset in ``out``; returns the manifest (also written to ``out``).

    ``vocab_from`` (a ``vocab.json`` or a dataset directory holding one) gives the
    vocabulary instead of building it, so more builds (other injection seeds, more test
    units) can be read by models trained on the first one."""
    from codegraph.models.tensorize import Vocabulary

    console = console or Console(stderr=True)
    given = None
    if vocab_from is not None:
        source = vocab_from / VOCAB_NAME if vocab_from.is_dir() else vocab_from
        try:
            given = Vocabulary.load(source)
        except (OSError, ValueError, KeyError) as exc:
            raise DatasetError(f"cannot read the vocabulary {source}: {exc}") from exc
    started = time.monotonic()
    entries = corpus_entries(corpus)
    by_split = split_packages(entries)
    plans = {
        s: plan_chunks(corpus, s, by_split.get(s, {}), params.chunk_lines, params.file_fraction, params.seed)
        for s in splits
    }
    out.mkdir(parents=True, exist_ok=True)
    vocab_path = out / VOCAB_NAME
    digest = corpus_digest(entries)
    if given is not None:
        if vocab_path.is_file() and Vocabulary.load(vocab_path).fingerprint() != given.fingerprint():
            raise DatasetError(f"{vocab_path} is another vocabulary than {vocab_from}: use a new --out")
        given.save(vocab_path)
    with _progress(console) as progress:
        if vocab_path.is_file():
            vocab = Vocabulary.load(vocab_path)
        else:
            counting = _Pool(jobs, None, params)
            try:
                vocab = build_vocabulary(plans.get("train", []), counting, progress)
            finally:
                counting.close()
            vocab.save(vocab_path)
        fingerprint = vocab.fingerprint()
        key = hashlib.sha256(
            json.dumps(
                {"params": asdict(params), "vocab": fingerprint, "corpus": digest, "code": CODE_VERSION},
                sort_keys=True,
            ).encode()
        ).hexdigest()[:16]
        pool = _Pool(jobs, str(vocab_path), params)
        try:
            shards = {s: build_split(s, plans[s], out, key, params, pool, progress) for s in splits}
        finally:
            pool.close()
    manifest = _manifest(params, key, fingerprint, digest, corpus, plans, shards, time.monotonic() - started)
    tmp = out / (MANIFEST_NAME + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, out / MANIFEST_NAME)
    return manifest


def _manifest(
    params: BuildParams,
    key: str,
    fingerprint: str,
    digest: str,
    corpus: Path,
    plans: dict[str, list[Chunk]],
    shards: dict[str, list[_Shard]],
    seconds: float,
) -> dict[str, Any]:
    splits: dict[str, Any] = {}
    for split, scs in shards.items():
        rules = Counter(r for sc in scs for r in sc.rules)
        splits[split] = {
            "samples": sum(sc.count for sc in scs),
            "rules": dict(sorted(rules.items())),
            "functions": sum(sc.functions for sc in scs),
            "all_functions": sum(sc.all_functions for sc in scs),
            "rejected": sum(sc.rejected for sc in scs),
            "skipped_files": sum(sc.skipped_files for sc in scs),
            "packages": sorted({c.package for c in plans[split]}),
            "chunks": len(plans[split]),
            "shards": [f"{split}/{shard_name(sc.shard)}.pt" for sc in scs],
            "cpu_seconds": round(sum(sc.seconds for sc in scs), 1),
        }
    return {
        "format": FORMAT,
        "version": VERSION,
        "key": key,
        "params": asdict(params),
        "seed": params.seed,
        "vocab": VOCAB_NAME,
        "vocab_fingerprint": fingerprint,
        "corpus": str(corpus),
        "corpus_digest": digest,
        "build_seconds": round(seconds, 1),
        "splits": splits,
    }


# --------------------------------------------------------------------------- stats


def read_manifest(out: Path) -> dict[str, Any]:
    path = out / MANIFEST_NAME
    if not path.is_file():
        raise DatasetError(f"no dataset manifest at {path}: run `codegraph train dataset build` first")
    manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return manifest


def dataset_stats(out: Path) -> dict[str, Any]:
    """Per split: samples per rule, graph size percentiles, CPU time per 1,000 functions."""
    import numpy as np

    manifest = read_manifest(out)
    stats: dict[str, Any] = {"build_seconds": manifest.get("build_seconds"), "splits": {}}
    for split in manifest["splits"]:
        scs = list(_load_sidecars(out / split, manifest["key"]).values())
        nodes = np.array([x for sc in scs for x in sc.nodes] or [0])
        edges = np.array([x for sc in scs for x in sc.edges] or [0])
        hops = np.array([x for sc in scs for x in sc.hops if x >= 0] or [0])
        functions = sum(sc.all_functions for sc in scs)
        seconds = sum(sc.seconds for sc in scs)
        pct = (50, 90, 99, 100)
        stats["splits"][split] = {
            "samples": sum(sc.count for sc in scs),
            "rules": dict(sorted(Counter(r for sc in scs for r in sc.rules).items())),
            "nodes": {f"p{p}": float(np.percentile(nodes, p)) for p in pct},
            "edges": {f"p{p}": float(np.percentile(edges, p)) for p in pct},
            "hops": {f"p{p}": float(np.percentile(hops, p)) for p in pct},
            "functions": functions,
            "rejected": sum(sc.rejected for sc in scs),
            "cpu_seconds": seconds,
            "seconds_per_1000_functions": 1000 * seconds / functions if functions else 0.0,
        }
    return stats


def print_stats(stats: dict[str, Any], console: Console) -> None:
    """Rich tables: samples per rule and split; graph sizes; build time."""
    splits = stats["splits"]
    rules = sorted({r for s in splits.values() for r in s["rules"]}, key=lambda r: (r == NO_BUG, r))
    table = Table(title="samples per rewrite class")
    table.add_column("rule")
    for split in splits:
        table.add_column(split, justify="right")
    for rule in rules:
        table.add_row(rule, *(f"{s['rules'].get(rule, 0):,}" for s in splits.values()))
    table.add_row("all", *(f"{s['samples']:,}" for s in splits.values()), style="bold")
    console.print(table)

    sizes = Table(title="unit sizes (percentiles p50 / p90 / p99 / max)")
    for column in ("split", "nodes", "edges", "hops to evidence"):
        sizes.add_column(column, justify="left" if column == "split" else "right")
    for split, s in splits.items():
        sizes.add_row(
            split, *(" / ".join(f"{v:,.0f}" for v in s[k].values()) for k in ("nodes", "edges", "hops"))
        )
    console.print(sizes)

    timing = Table(title="build time")
    for column in ("split", "functions", "rejected", "CPU s", "CPU s / 1,000 functions"):
        timing.add_column(column, justify="left" if column == "split" else "right")
    for split, s in splits.items():
        timing.add_row(
            split,
            f"{s['functions']:,}",
            f"{s['rejected']:,}",
            f"{s['cpu_seconds']:,.1f}",
            f"{s['seconds_per_1000_functions']:,.1f}",
        )
    console.print(timing)
    if stats.get("build_seconds") is not None:
        console.print(f"wall time of the last build: {stats['build_seconds']:,.1f} s")


# --------------------------------------------------------------------------- CLI


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="codegraph train dataset", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="build (or resume) the dataset from the corpus")
    build.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    build.add_argument("--out", type=Path, default=DEFAULT_OUT)
    build.add_argument("--seed", type=int, default=0)
    build.add_argument("--no-bug-ratio", type=float, default=0.5)
    build.add_argument("--budget", type=int, default=1500, help="graph nodes per unit")
    build.add_argument("--jobs", type=int, default=2)
    build.add_argument("--max-functions-per-split", type=int, default=None)
    build.add_argument(
        "--file-fraction", type=float, default=1.0, help="draw from this share of each split's files (seeded)"
    )
    build.add_argument("--shard-samples", type=int, default=2000)
    build.add_argument("--chunk-lines", type=int, default=4000)
    build.add_argument("--splits", nargs="+", choices=SPLITS, default=list(SPLITS))
    build.add_argument(
        "--no-encodings", action="store_true", help="store no positional encodings / shortcuts"
    )
    build.add_argument(
        "--vocab",
        type=Path,
        default=None,
        help="use this vocabulary (a vocab.json or a dataset directory) instead of building one",
    )
    build.add_argument("--rw-k", type=int, default=8)
    build.add_argument("--lap-k", type=int, default=8)
    build.add_argument(
        "--mutations",
        type=Path,
        default=None,
        help="draw injected bugs from this mutation fit (codegraph train mutations fit) instead of uniformly",
    )
    stats = sub.add_parser("stats", help="print the dataset's figures")
    stats.add_argument("--out", type=Path, default=DEFAULT_OUT)
    stats.add_argument("--json", action="store_true", help="print JSON instead of tables")
    return parser


@command("codegraph train dataset")
def main(argv: Sequence[str]) -> int:
    args = _parser().parse_args(argv)
    console = Console()
    if args.command == "build":
        if not 0.0 <= args.no_bug_ratio <= 1.0:
            console.print("[red]--no-bug-ratio must be between 0 and 1")
            return 2
        mutations, mutations_sha = "", ""
        if args.mutations is not None:
            from codegraph.models.training.mutations import MutationError, load_fit

            try:
                load_fit(args.mutations)
            except MutationError as exc:
                console.print(f"[red]error:[/] {exc}")
                return 2
            mutations = str(args.mutations.resolve())
            mutations_sha = hashlib.sha256(args.mutations.read_bytes()).hexdigest()
        params = BuildParams(
            seed=args.seed,
            no_bug_ratio=args.no_bug_ratio,
            budget=args.budget,
            max_functions_per_split=args.max_functions_per_split,
            file_fraction=args.file_fraction,
            shard_samples=args.shard_samples,
            chunk_lines=args.chunk_lines,
            encodings=not args.no_encodings,
            rw_k=args.rw_k,
            lap_k=args.lap_k,
            mutations=mutations,
            mutations_sha256=mutations_sha,
        )
        try:
            manifest = build_dataset(
                args.corpus,
                args.out,
                params,
                jobs=max(1, args.jobs),
                splits=args.splits,
                vocab_from=args.vocab,
            )
        except (DatasetError, CorpusError) as exc:
            console.print(f"[red]error:[/] {exc}")
            return 2
        for split, s in manifest["splits"].items():
            console.print(f"{split}: {s['samples']:,} samples in {len(s['shards'])} shards")
        console.print(f"built in {manifest['build_seconds']:,.1f} s -> {args.out}")
        return 0
    try:
        stats = dataset_stats(args.out)
    except DatasetError as exc:
        console.print(f"[red]error:[/] {exc}")
        return 2
    if args.json:
        print(json.dumps(stats, indent=1))
    else:
        print_stats(stats, console)
    return 0
