"""The one API that the CLI and the language server use: source in, findings out.

source bytes -> CodeGraph (+ project context) -> AnalysisUnits -> detector
-> Prediction per function -> Finding (rule, range, message, confidence, fix, evidence).

The :class:`Analyzer` works in stages that a caller may run one at a time (the language
server checks for a newer version of the document between them):

    prepared = analyzer.prepare(path, source, project)   # checks and the code graph
    units = analyzer.units(prepared)                      # one AnalysisUnit per function
    findings = analyzer.predict(prepared, units)          # the model, then findings

Every analysed function reports its most likely bug among the rules enabled for its
file, at any confidence; :mod:`codegraph.filters` decides which findings a user sees.
Neither caller sees tensors, and the pipeline does not know where the model comes
from: it is handed a predictor, or a factory that loads one when first needed.
"""

from __future__ import annotations

import bisect
import functools
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from codegraph.config import Settings
from codegraph.filters import FindingFilter
from codegraph.findings import CandidateFix, ErrorKind, FileError, Finding, Fix, Related
from codegraph.rules import RULES_BY_CODE
from codegraph.syntax import SourceError, check_source
from codegraph.units import AnalysisUnit, Repair

if TYPE_CHECKING:
    from codegraph.project import Project
    from codegraph.schema import CodeGraph

#: files larger than this are reported as an error and not analysed
MAX_FILE_BYTES = 4 * 1024 * 1024


class Prediction(Protocol):
    """What the detector says about one unit (see codegraph.models.runtime)."""

    p_no_bug: float
    loc_probs: Sequence[float]  # per candidate: P(the bug is here)
    rep_probs: Sequence[Sequence[float]]  # per candidate: P(repair | bug here)


class Predictor(Protocol):
    """A loaded model. One may also say which rules it was not trained with (``missing_rules``:
    their candidates score 0 and are never reported)."""

    name: str
    sha256: str

    def predict(self, units: list[AnalysisUnit]) -> list[Prediction]: ...


def missing_rules(predictor: Predictor) -> frozenset[str]:
    """The rules ``predictor`` was not trained with (none when it does not say)."""
    return frozenset(getattr(predictor, "missing_rules", ()))


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


#: loads the predictor that some settings name (codegraph.models.checkpoint.predictor_factory)
PredictorFactory = Callable[[Settings], Predictor]


@dataclass
class FileAnalysis:
    path: str
    findings: list[Finding] = field(default_factory=list)
    errors: list[FileError] = field(default_factory=list)
    functions: int = 0
    lines: int = 0


@dataclass
class PreparedFile:
    """One file, checked and turned into its code graph; ``graph`` is None when there is nothing
    to analyse (``analysis.errors`` says why)."""

    analysis: FileAnalysis
    graph: CodeGraph | None = None
    project: Project | None = None


class Analyzer:
    """Analyses files with one model and one set of settings."""

    def __init__(
        self,
        settings: Settings | None = None,
        predictor: Predictor | None = None,
        predictor_factory: PredictorFactory | None = None,
    ) -> None:
        self.settings = settings or Settings()
        self._predictor = predictor
        self._factory = predictor_factory

    @property
    def settings(self) -> Settings:
        return self._settings

    @settings.setter
    def settings(self, settings: Settings) -> None:
        self._settings = settings
        self.filter = FindingFilter.from_settings(settings)

    @property
    def predictor(self) -> Predictor:
        if self._predictor is None:
            if self._factory is None:
                raise RuntimeError("this Analyzer was given neither a predictor nor a predictor factory")
            self._predictor = self._factory(self.settings)
        return self._predictor

    def model_info(self) -> dict[str, str]:
        return {"name": self.predictor.name, "sha256": self.predictor.sha256}

    # -- the stages -------------------------------------------------------------------------
    def prepare(self, path: str, source: bytes, project: Project | None = None) -> PreparedFile:
        """Checks and the code graph of one file (``path`` is what findings report)."""
        result = FileAnalysis(path, lines=source.count(b"\n") + (0 if source.endswith(b"\n") else 1))
        if not self.settings.enable:
            return PreparedFile(result)
        if len(source) > MAX_FILE_BYTES:
            message = f"file too large ({len(source):,} bytes; limit {MAX_FILE_BYTES:,})"
            result.errors.append(FileError(path, message, ErrorKind.TOO_LARGE))
            return PreparedFile(result)
        try:
            graph = self.build_graph(path, source, project)
        except SourceError as exc:
            result.errors.append(FileError(path, str(exc), ErrorKind.NOT_SOURCE))
            return PreparedFile(result)
        if graph.has_error:
            message = "syntax error: analysed the parts that parse"
            result.errors.append(FileError(path, message, ErrorKind.SYNTAX))
        return PreparedFile(result, graph, project)

    def units(self, prepared: PreparedFile, functions: Iterable[str] | None = None) -> list[AnalysisUnit]:
        """The analysis units of the prepared file's functions (only ``functions``' qualnames when
        given) that have a candidate; each call adds its count to ``prepared.analysis.functions``."""
        if prepared.graph is None:
            return []
        from codegraph.context import ContextBuilder
        from codegraph.rules import analysis_functions
        from codegraph.scope_analysis import scopes_of

        # only the wanted functions' units are built (the language server re-analyses a few at a
        # time); scopes_of reuses the scope analysis the edge builders already made of this graph
        graph = prepared.graph
        wanted = None if functions is None else set(functions)
        builder = ContextBuilder(graph, scopes_of(graph), prepared.project, budget=self.settings.budget)
        functions_ = analysis_functions(graph)  # the functions, then the module-level code
        units = [builder.build(f) for f in functions_ if wanted is None or f.qualname in wanted]
        units = [u for u in units if u.candidates]
        prepared.analysis.functions += len(units)
        return units

    def predict(
        self,
        prepared: PreparedFile,
        units: list[AnalysisUnit],
        predictions: Sequence[Prediction] | None = None,
    ) -> list[Finding]:
        """Each unit's most likely bug among the rules enabled for the file, at any confidence
        (``predictions``: the model's output for ``units`` when the caller batched it)."""
        if prepared.graph is None or not units:
            return []
        if predictions is None:
            predictions = checked(self.predictor.predict(units), units)
        graph = prepared.graph
        enabled = self.filter.rules_for(graph.path) - missing_rules(self.predictor)
        out: list[Finding] = []
        for unit, pred in zip(units, predictions, strict=True):
            best = _best_pair(unit, pred, enabled)
            if best is not None:
                ci, ri, score = best
                out.append(make_finding(graph, unit, ci, ri, score, prepared.project))
        out.sort(key=lambda f: (f.line, f.column, f.rule))
        return out

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

    # -- all stages at once -----------------------------------------------------------------
    def analyze_source(self, path: str, source: bytes, project: Project | None = None) -> FileAnalysis:
        """One file's every function's most likely bug (unfiltered: see :mod:`codegraph.filters`)."""
        prepared = self.prepare(path, source, project)
        prepared.analysis.findings = self.predict(prepared, self.units(prepared))
        return prepared.analysis

    def analyze_sources(
        self, items: Sequence[tuple[str, bytes]], project: Project | None = None
    ) -> list[FileAnalysis]:
        """Several files with one detector call for all their functions (batched scans)."""
        prepared = [self.prepare(path, source, project) for path, source in items]
        units = [self.units(p) for p in prepared]
        flat = [u for us in units for u in us]
        predictions = iter(checked(self.predictor.predict(flat), flat) if flat else [])
        for p, us in zip(prepared, units, strict=True):
            p.analysis.findings = self.predict(p, us, [next(predictions) for _ in us])
        return [p.analysis for p in prepared]


def _best_pair(
    unit: AnalysisUnit, pred: Prediction, enabled: frozenset[str]
) -> tuple[int, int, float] | None:
    """(candidate, repair, P(location) * P(repair)) of the most likely bug of an enabled rule."""
    best: tuple[int, int, float] | None = None
    for ci, cand in enumerate(unit.candidates):
        if cand.rule not in enabled:
            continue
        p_loc = float(pred.loc_probs[ci])
        for ri, p_rep in enumerate(pred.rep_probs[ci]):
            score = p_loc * float(p_rep)
            if best is None or score > best[2]:
                best = (ci, ri, score)
    return best


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


def candidate_fixes(graph: CodeGraph, unit: AnalysisUnit, path: str | None = None) -> list[CandidateFix]:
    """Every (candidate, repair) of ``unit`` (built on ``graph``) located as a finding would be;
    ``path`` is what they report (default: the graph's path)."""
    out: list[CandidateFix] = []
    for cand in unit.candidates:
        _, file_node = unit.origin[cand.node]
        sl, sc, el, ec = _node_position(graph, file_node)
        rule = RULES_BY_CODE[cand.rule]
        for repair in cand.repairs:
            current = graph.source[repair.start_byte : repair.end_byte].decode("utf-8", "replace")
            fix = repair_fix(graph, repair)
            where = (path or graph.path, sl, sc, el, ec)
            out.append(CandidateFix(*where, rule.code, rule.name, unit.function, fix, current))
    return out


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
