"""The one API that the CLI and the language server use: source in, findings out.

source bytes -> CodeGraph (+ project context) -> AnalysisUnits -> detector
-> Prediction per function -> Finding (rule, range, message, confidence, fix, evidence).
Neither caller sees tensors; the model is loaded once per Analyzer.
"""

from __future__ import annotations

import bisect
import functools
import math
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from codegraph.config import Settings
from codegraph.findings import FileError, Finding, Fix, Related, ScanResult
from codegraph.rules import RULES_BY_CODE
from codegraph.syntax import SourceError, check_source, read_source
from codegraph.units import AnalysisUnit, Repair

if TYPE_CHECKING:
    from codegraph.project import Project
    from codegraph.schema import CodeGraph

#: files larger than this are reported as an error and not analysed
MAX_FILE_BYTES = 4 * 1024 * 1024

NOQA = re.compile(r"#\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]+(?:\s*,\s*[A-Z]+[0-9]+)*))?", re.IGNORECASE)


class Prediction(Protocol):
    """What the detector says about one unit (see codegraph.models.predict)."""

    p_no_bug: float
    loc_probs: Sequence[float]  # per candidate: P(the bug is here)
    rep_probs: Sequence[Sequence[float]]  # per candidate: P(repair | bug here)


class Predictor(Protocol):
    name: str
    sha256: str

    def predict(self, units: list[AnalysisUnit]) -> list[Prediction]: ...


class ModelOutputError(Exception):
    """The model produced a score that is not a finite number (NaN or infinity)."""


def checked(predictions: Sequence[Prediction], units: Sequence[AnalysisUnit]) -> Sequence[Prediction]:
    """``predictions`` when every score is finite; else ModelOutputError (such a checkpoint
    would turn every function into a finding with a confidence of NaN)."""
    for unit, pred in zip(units, predictions, strict=True):
        scores = [pred.p_no_bug, *pred.loc_probs, *(p for reps in pred.rep_probs for p in reps)]
        bad = next((float(x) for x in scores if not math.isfinite(float(x))), None)
        if bad is not None:
            raise ModelOutputError(
                f"the model produced a non-finite score ({bad}) for {unit.function};"
                " the checkpoint is unusable"
            )
    return predictions


@dataclass
class FileAnalysis:
    path: str
    findings: list[Finding] = field(default_factory=list)
    errors: list[FileError] = field(default_factory=list)
    functions: int = 0
    lines: int = 0


def suppressed(line: str, code: str) -> bool:
    """True when ``line`` carries `# noqa` or `# noqa: <codes>` naming ``code``."""
    m = NOQA.search(line)
    if not m:
        return False
    codes = m.group("codes")
    return codes is None or code.upper() in {c.strip().upper() for c in codes.split(",")}


def load_predictor(settings: Settings, num_threads: int | None = None) -> Predictor:
    """Load the configured checkpoint (the shipped one by default). Raises ModelError.

    ``num_threads`` caps the model's intra-op threads (the language server uses 1: one
    function at a time is latency-bound, and more threads fight the editor for the cores).
    """
    from codegraph.models.predict import load_predictor as _load

    return _load(settings.model, num_threads=num_threads)


class Analyzer:
    """Analyses files with one loaded model and one set of settings."""

    def __init__(self, settings: Settings | None = None, predictor: Predictor | None = None) -> None:
        self.settings = settings or Settings()
        self._predictor = predictor

    @property
    def predictor(self) -> Predictor:
        if self._predictor is None:
            self._predictor = load_predictor(self.settings)
        return self._predictor

    def model_info(self) -> dict[str, str]:
        return {"name": self.predictor.name, "sha256": self.predictor.sha256}

    # -- one file -------------------------------------------------------------------------
    def analyze_source(
        self, path: str, source: bytes, project: Project | None = None, functions: Iterable[str] | None = None
    ) -> FileAnalysis:
        """Analyse one file's text. ``path`` is what findings report; ``functions`` limits the qualnames."""
        result, graph, units = self._prepare(path, source, project, functions)
        if graph is not None:
            result.findings = self.findings_for_units(graph, units, project)
        return result

    def analyze_sources(
        self, items: Sequence[tuple[str, bytes]], project: Project | None = None
    ) -> list[FileAnalysis]:
        """Analyse several files with one detector call for all their functions (batched scans)."""
        prepared = [self._prepare(path, source, project, None) for path, source in items]
        all_units = [u for _, graph, units in prepared if graph is not None for u in units]
        predictions = iter(checked(self.predictor.predict(all_units), all_units) if all_units else [])
        for result, graph, units in prepared:
            if graph is not None and units:
                preds = [next(predictions) for _ in units]
                result.findings = self.findings_for_units(graph, units, project, preds)
        return [result for result, _, _ in prepared]

    def _prepare(
        self, path: str, source: bytes, project: Project | None, functions: Iterable[str] | None
    ) -> tuple[FileAnalysis, CodeGraph | None, list[AnalysisUnit]]:
        """Checks, graph and units of one file; graph None when it cannot be analysed."""
        result = FileAnalysis(path, lines=source.count(b"\n") + (0 if source.endswith(b"\n") else 1))
        if not self.settings.enable:
            return result, None, []
        if len(source) > MAX_FILE_BYTES:
            result.errors.append(
                FileError(path, f"file too large ({len(source):,} bytes; limit {MAX_FILE_BYTES:,})")
            )
            return result, None, []
        try:
            graph = self.build_graph(path, source, project)
        except SourceError as exc:
            result.errors.append(FileError(path, str(exc)))
            return result, None, []
        if graph.has_error:
            result.errors.append(FileError(path, "syntax error: analysed the parts that parse"))
        units = self.units(graph, project, functions)
        result.functions = len(units)
        return result, graph, units

    def build_graph(self, path: str, source: bytes, project: Project | None) -> CodeGraph:
        if project is not None:
            check_source(source)  # the SourceError message for binary / non-UTF-8 text
            project.update_file(path, source)
            graph = project.graph(path)
            if graph is None:
                raise SourceError(project.errors.get(path, "cannot be analysed"))
            return graph
        from codegraph.graph import build_file_graph

        return build_file_graph(source, path)

    def units(
        self, graph: CodeGraph, project: Project | None, functions: Iterable[str] | None = None
    ) -> list[AnalysisUnit]:
        from codegraph.context import ContextBuilder
        from codegraph.scopes import scopes_of

        # only the wanted functions' units are built (the language server re-analyses a few at a
        # time); scopes_of reuses the scope analysis the edge builders already made of this graph
        wanted = None if functions is None else set(functions)
        builder = ContextBuilder(graph, scopes_of(graph), project, budget=self.settings.budget)
        units = [builder.build(f) for f in graph.functions if wanted is None or f.qualname in wanted]
        return [u for u in units if u.candidates]

    def findings_for_units(
        self,
        graph: CodeGraph,
        units: list[AnalysisUnit],
        project: Project | None,
        predictions: Sequence[Prediction] | None = None,
    ) -> list[Finding]:
        if not units:
            return []
        if predictions is None:
            predictions = checked(self.predictor.predict(units), units)
        lines = graph.source.decode("utf-8", "replace").splitlines()
        enabled = self.settings.enabled_rules()
        out: list[Finding] = []
        for unit, pred in zip(units, predictions, strict=True):
            finding = self._best_finding(graph, unit, pred, project, enabled)
            if finding is None or finding.confidence < self.settings.min_confidence:
                continue
            if 0 < finding.line <= len(lines) and suppressed(lines[finding.line - 1], finding.rule):
                continue
            out.append(finding)
        out.sort(key=lambda f: (f.line, f.column, f.rule))
        return out

    def _best_finding(
        self,
        graph: CodeGraph,
        unit: AnalysisUnit,
        pred: Prediction,
        project: Project | None,
        enabled: frozenset[str],
    ) -> Finding | None:
        best: tuple[float, int, int] | None = None
        for ci, cand in enumerate(unit.candidates):
            if cand.rule not in enabled:
                continue
            p_loc = float(pred.loc_probs[ci])
            for ri, p_rep in enumerate(pred.rep_probs[ci]):
                score = p_loc * float(p_rep)
                if best is None or score > best[0]:
                    best = (score, ci, ri)
        if best is None:
            return None
        score, ci, ri = best
        return make_finding(graph, unit, ci, ri, score, project)

    # -- many files -------------------------------------------------------------------------
    def analyze_paths(self, files: Sequence[Path], display: dict[Path, str] | None = None) -> ScanResult:
        """Serial analysis of files, each with its own text only (scan.py adds projects, caches, workers)."""
        start = time.perf_counter()
        result = ScanResult()
        for f in files:
            name = (display or {}).get(f, str(f))
            try:
                source = read_source(f)
            except OSError as exc:
                result.errors.append(FileError(name, f"cannot read: {exc.strerror or exc}"))
                continue
            except SourceError as exc:
                result.errors.append(FileError(name, str(exc)))
                continue
            fa = self.analyze_source(name, source)
            result.findings += fa.findings
            result.errors += fa.errors
            result.stats.files += 1
            result.stats.functions += fa.functions
            result.stats.lines += fa.lines
        result.stats.seconds = time.perf_counter() - start
        return result


# -- Prediction -> Finding ---------------------------------------------------------------------
def _char_col(line_bytes: bytes, byte_col: int) -> int:
    """1-based column in code points of a 0-based byte column."""
    return len(line_bytes[:byte_col].decode("utf-8", "replace")) + 1


@functools.lru_cache(maxsize=4)
def _line_starts(source: bytes) -> list[int]:
    """Byte offsets of the lines' first bytes (once per file: a finding's positions then cost
    O(log lines + line length), not a count from the start of the file)."""
    return [0, *(m.end() for m in re.finditer(b"\n", source))]


def _position(source: bytes, offset: int) -> tuple[int, int]:
    """1-based (line, character column) of a byte offset."""
    starts = _line_starts(source)
    row = bisect.bisect_right(starts, offset) - 1
    line_start = starts[row]
    return row + 1, _char_col(source[line_start:offset], offset - line_start)


def _node_position(graph: CodeGraph, node: int) -> tuple[int, int, int, int]:
    sl, sc = _position(graph.source, graph.start_byte[node])
    el, ec = _position(graph.source, graph.end_byte[node])
    return sl, sc, el, ec


#: the longest code quoted in a message; longer code is cut with "…"
MESSAGE_CODE_CHARS = 40


def one_line(code: str, limit: int = MESSAGE_CODE_CHARS) -> str:
    """``code`` on one line for a message: whitespace runs (line breaks too) become one space, and
    what is longer than ``limit`` characters is cut with "…"."""
    flat = " ".join(code.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def make_finding(
    graph: CodeGraph, unit: AnalysisUnit, ci: int, ri: int, confidence: float, project: Project | None = None
) -> Finding:
    """Turn candidate ``ci`` / repair ``ri`` of ``unit`` into a Finding with fix and evidence."""
    cand = unit.candidates[ci]
    repair = cand.repairs[ri]
    _, file_node = unit.origin[cand.node]
    sl, sc, el, ec = _node_position(graph, file_node)
    current = graph.source[repair.start_byte : repair.end_byte].decode("utf-8", "replace")
    rule = RULES_BY_CODE[cand.rule]
    related: list[Related] = []
    if repair.target >= 0:
        path_index, target_node = unit.origin[repair.target]
        target_path = unit.paths[path_index]
        target_graph = (
            graph if target_path == graph.path else (project.graph(target_path) if project else None)
        )
        if target_graph is not None:
            tl, tc, _, _ = _node_position(target_graph, target_node)
            what = target_graph.node_source(target_node).strip().splitlines()[0][:60]
            related.append(Related(target_path, tl, tc, rule.target_note.format(what=what)))
    for path_index, (p, n) in _evidence(unit, cand.node):
        related.append(Related(unit.paths[path_index], p, n, "the callee's parameter is defined here"))
    return Finding(
        path=graph.path,
        line=sl,
        column=sc,
        end_line=el,
        end_column=ec,
        rule=rule.code,
        name=rule.name,
        message=rule.message(one_line(current), one_line(repair.replacement), repair.token),
        confidence=confidence,
        function=unit.function,
        fix=repair_fix(graph, repair),
        related=tuple(related),
    )


def repair_fix(graph: CodeGraph, repair: Repair) -> Fix:
    """A repair of one of ``graph``'s own candidates as the Fix that findings carry."""
    fl, fc = _position(graph.source, repair.start_byte)
    fel, fec = _position(graph.source, repair.end_byte)
    return Fix(fl, fc, fel, fec, repair.replacement)


def _evidence(unit: AnalysisUnit, node: int) -> list[tuple[int, tuple[int, int]]]:
    """Positions recorded by the unit builder as far-away evidence for a location (meta["evidence"])."""
    ev = unit.meta.get("evidence", {})
    if isinstance(ev, dict):
        return [(pi, (line, col)) for pi, line, col in ev.get(node, [])]
    return []
