"""Bug injection: rewrite a correct function into a buggy one and record the fix.

A rewrite is one candidate of :func:`codegraph.rules.find_candidates` together
with one of its repairs, applied to the source text (the byte range of the repair,
which the enumeration derived from the syntax tree). The buggy program is parsed
again, its graph and scopes are rebuilt, and the function's unit is built anew on the
buggy program. In that unit the *bug* is the candidate whose repair restores the
original text exactly (every repair relation of the enumeration is symmetric, so the
inverse is enumerated again); a rewrite whose buggy text gains syntax errors, or
whose inverse cannot be found, is rejected.

Sampling (:func:`choose_rewrite`): a seeded ``random.Random`` chooses a rule uniformly
among the rules that have candidates in the function, then a candidate of that rule,
then one of its repairs.

Distance metadata, stored in the buggy unit's ``meta`` for evaluation by distance:

* ``hops``: breadth-first distance in the unit graph (all edge kinds, both directions)
  from the bug location to the nearest *evidence* graph node; ``lines``: the smallest
  line distance between the bug location and an evidence graph node of the same file
  (-1 when there is no evidence, or none in the same file).
* Evidence by rule (each rule's ``evidence``). CG001: the other occurrences (bindings included) of the correct
  variable, i.e. of the symbol the fix's target refers to. CG002: the parameters of
  the callee bound by the swapped arguments (FORMAL_ARG_NAME targets, possibly in
  another file). All other rules: the other occurrences, outside the location's
  expression, of the variables read in that expression (the operator's or literal's
  parent expression; the condition itself for CG007).
* ``rule`` (the injected rule), ``package`` (when given), ``rewrite`` (the repair
  token that was applied) and ``fix_token``.
"""

from __future__ import annotations

import random
from bisect import bisect_left
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from codegraph.context import DEFAULT_BUDGET, ContextBuilder, ProjectView, localise
from codegraph.edges.call_symbols import file_symbols
from codegraph.edges.calls import Resolver
from codegraph.graph import build_file_graph
from codegraph.project import CrossEdge, Project
from codegraph.rules import RULE_CODES, RULES_BY_CODE, find_injections, module_function
from codegraph.schema import CodeGraph, EdgeKind, FunctionInfo
from codegraph.scope_analysis import scopes_of
from codegraph.scopes import ScopeInfo
from codegraph.syntax import new_parser
from codegraph.units import AnalysisUnit, Candidate, Repair


class InjectionError(ValueError):
    """A rewrite that cannot be used: it breaks the syntax, or its inverse cannot be found."""


class Injection(NamedTuple):
    """The outcome of one rewrite: the buggy text and its unit with ``bug`` / ``fix`` set."""

    buggy_source: bytes
    unit: AnalysisUnit
    bug_location: Candidate
    fix: Repair


@dataclass(frozen=True, slots=True)
class Rewrite:
    """One planned rewrite of a function: ``repair`` applied at ``candidate`` of ``unit``."""

    unit: AnalysisUnit
    candidate: Candidate
    repair: Repair

    @property
    def function_start(self) -> int:
        start = self.unit.meta.get("start_byte")
        if not isinstance(start, int):
            raise InjectionError(f"{self.unit.function}: unit has no meta['start_byte']")
        return start


# --------------------------------------------------------------------------- sampling


def choose_rewrite(rng: random.Random, candidates: Sequence[Candidate]) -> tuple[int, int] | None:
    """(candidate index, repair index): a rule uniformly among those present, then a candidate, a repair."""
    by_rule: dict[str, list[int]] = {}
    for i, c in enumerate(candidates):
        if c.repairs and not fix_only(c):
            by_rule.setdefault(c.rule, []).append(i)
    if not by_rule:
        return None
    rule = rng.choice([r for r in RULE_CODES if r in by_rule])
    ci = rng.choice(by_rule[rule])
    return ci, rng.randrange(len(candidates[ci].repairs))


def fix_only(cand: Candidate) -> bool:
    """Whether every repair of ``cand`` only fixes (an undefined name's typo repair): no injection."""
    rule = RULES_BY_CODE.get(cand.rule)
    return (
        rule is not None
        and bool(rule.fix_only_tokens)
        and all(r.token in rule.fix_only_tokens for r in cand.repairs)
    )


def injection_sites(
    unit: AnalysisUnit, func: FunctionInfo, graph: CodeGraph, scopes: ScopeInfo
) -> list[Candidate]:
    """What bug injection may apply in ``unit`` (built on ``graph``): its candidates, then each rule's
    extra injections (:meth:`Rule.injections`, unit-local ids; those outside the unit dropped)."""
    return [*unit.candidates, *localise(find_injections(graph, func, scopes), unit)]


# --------------------------------------------------------------------------- the buggy project


class _BuggyView:
    """A project view in which one file has the buggy text (the project itself is left untouched)."""

    def __init__(self, project: Project, graph: CodeGraph) -> None:
        self.project = project
        self.buggy = graph

    def graph(self, path: str) -> CodeGraph | None:
        return self.buggy if path == self.buggy.path else self.project.graph(path)

    def cross_file_calls(self, path: str) -> list[CrossEdge]:
        if path != self.buggy.path:
            return self.project.cross_file_calls(path)
        fs = file_symbols(self.buggy)
        out: list[CrossEdge] = []
        for rc in Resolver(self.project).resolve_calls(fs):
            if rc.callee.symbols is fs:
                continue
            dst_path = rc.callee.symbols.graph.path
            out.append(CrossEdge(path, rc.call, dst_path, rc.callee.node, EdgeKind.CALLS))
            out.extend(CrossEdge(path, a, dst_path, p, EdgeKind.FORMAL_ARG_NAME) for a, p in rc.bindings)
        return out


# --------------------------------------------------------------------------- injection


def inject(
    source: bytes,
    unit: AnalysisUnit,
    bug: int,
    fix: int,
    *,
    project: Project | None = None,
    budget: int = DEFAULT_BUDGET,
    package: str | None = None,
) -> Injection:
    """Apply repair ``fix`` of candidate ``bug`` of ``unit`` (built on ``source``) as a bug.

    Returns the buggy text and the unit rebuilt on it, whose ``bug`` / ``fix`` mark the
    location now holding the bug and the repair that restores ``source`` exactly.
    Raises :class:`InjectionError` when the rewrite is unusable.
    """
    cand = unit.candidates[bug]
    result = inject_many(
        source, unit.paths[0], [Rewrite(unit, cand, cand.repairs[fix])], project=project, budget=budget,
        package=package, module=_module_of(unit),
    )[0]  # fmt: skip
    if isinstance(result, str):
        raise InjectionError(result)
    return result


def _module_of(unit: AnalysisUnit) -> str:
    module = unit.meta.get("module", "")
    return module if isinstance(module, str) else ""


def inject_many(
    source: bytes,
    path: str,
    rewrites: Sequence[Rewrite],
    *,
    project: Project | None = None,
    budget: int = DEFAULT_BUDGET,
    package: str | None = None,
    module: str = "",
) -> list[Injection | str]:
    """Apply rewrites of different functions of one file at once and rebuild the graph once.

    Returns per rewrite an :class:`Injection` or a string saying why it was rejected.
    Each buggy unit holds exactly its own function's bug; the context of a unit (a
    callee in the same file) may show another function's injected bug.
    """
    results: list[Injection | str] = ["not applied"] * len(rewrites)
    order = sorted(range(len(rewrites)), key=lambda i: rewrites[i].repair.start_byte)
    kept: list[int] = []
    last_end = -1
    for i in order:
        r = rewrites[i].repair
        if r.start_byte < last_end or not 0 <= r.start_byte <= r.end_byte <= len(source):
            results[i] = "overlaps another rewrite"
            continue
        kept.append(i)
        last_end = r.end_byte
    kept = _drop_syntax_breakers(source, rewrites, kept, results)
    if not kept:
        return results
    buggy = _apply(source, [rewrites[i].repair for i in kept])
    graph = build_file_graph(buggy, path, module or _module_of(rewrites[kept[0]].unit))
    scopes = scopes_of(graph)  # the analysis the edge builders just made
    view: ProjectView | None = _BuggyView(project, graph) if project is not None else None
    builder = ContextBuilder(graph, scopes, view, budget)
    functions = {graph.start_byte[f.node]: f for f in graph.functions}
    module_unit = module_function(graph)
    shifts = _shifts(rewrites, kept)
    for i in kept:
        rw = rewrites[i]
        func = module_unit if rw.unit.node_type[:1] == ["module"] else None
        results[i] = _rebuild(source, buggy, graph, scopes, builder, functions, shifts, rw, package, func)
    return results


def _apply(source: bytes, repairs: Sequence[Repair]) -> bytes:
    """``source`` with non-overlapping repairs (sorted by start) applied."""
    parts: list[bytes] = []
    pos = 0
    for r in repairs:
        parts.append(source[pos : r.start_byte])
        parts.append(r.replacement.encode("utf-8"))
        pos = r.end_byte
    parts.append(source[pos:])
    return b"".join(parts)


def _drop_syntax_breakers(
    source: bytes, rewrites: Sequence[Rewrite], kept: list[int], results: list[Injection | str]
) -> list[int]:
    """Keep the rewrites that do not add syntax errors (all at once first, one by one if needed)."""
    parser = new_parser()
    had_error = parser.parse(source).root_node.has_error
    if had_error:
        for i in kept:
            results[i] = "source has syntax errors"
        return []
    if not parser.parse(_apply(source, [rewrites[i].repair for i in kept])).root_node.has_error:
        return kept
    out: list[int] = []
    for i in kept:
        if parser.parse(_apply(source, [rewrites[i].repair])).root_node.has_error:
            results[i] = "buggy text does not parse"
        else:
            out.append(i)
    if out and parser.parse(_apply(source, [rewrites[i].repair for i in out])).root_node.has_error:
        for i in out:
            results[i] = "rewrites do not parse together"
        return []
    return out


def _shifts(rewrites: Sequence[Rewrite], kept: list[int]) -> list[tuple[int, int]]:
    """(original start byte, cumulative length change after this rewrite), in source order."""
    out: list[tuple[int, int]] = []
    total = 0
    for i in kept:
        r = rewrites[i].repair
        total += len(r.replacement.encode("utf-8")) - (r.end_byte - r.start_byte)
        out.append((r.start_byte, total))
    return out


def _shift_of(shifts: list[tuple[int, int]], offset: int) -> int:
    """How far an original byte offset moved: the length change of the rewrites starting before it."""
    k = bisect_left(shifts, (offset, -(1 << 62)))
    return shifts[k - 1][1] if k else 0


def _rebuild(
    source: bytes,
    buggy: bytes,
    graph: CodeGraph,
    scopes: ScopeInfo,
    builder: ContextBuilder,
    functions: dict[int, FunctionInfo],
    shifts: list[tuple[int, int]],
    rw: Rewrite,
    package: str | None,
    func: FunctionInfo | None = None,
) -> Injection | str:
    """Build the buggy unit of one rewritten function (``func``: given for the module's), mark the bug
    and its fix."""
    func = func or functions.get(rw.function_start + _shift_of(shifts, rw.function_start))
    if func is None:
        return "function not found in the buggy program"
    r = rw.repair
    start = r.start_byte + _shift_of(shifts, r.start_byte)
    end = start + len(r.replacement.encode("utf-8"))
    original = source[r.start_byte : r.end_byte].decode("utf-8")
    unit = builder.build(func)
    for ci, cand in enumerate(unit.candidates):
        if cand.rule != r.rule:
            continue
        for ri, rep in enumerate(cand.repairs):
            if rep.start_byte == start and rep.end_byte == end and rep.replacement == original:
                unit.bug, unit.fix = ci, ri
                unit.meta.update(rule=r.rule, rewrite=r.token, fix_token=rep.token)
                if package is not None:
                    unit.meta["package"] = package
                unit.meta.update(evidence_distance(unit, graph, scopes))
                return Injection(buggy, unit, cand, rep)
    return "inverse repair not among the buggy unit's candidates"


# --------------------------------------------------------------------------- distances


def evidence_nodes(unit: AnalysisUnit, graph: CodeGraph, scopes: ScopeInfo) -> list[int]:
    """Unit-local graph nodes that are the evidence for the unit's bug (its rule's :meth:`Rule.evidence`)."""
    if unit.bug < 0:
        return []
    return RULES_BY_CODE[unit.candidates[unit.bug].rule].evidence(unit, graph, scopes)


def unit_hops(unit: AnalysisUnit, source: int, targets: set[int]) -> int:
    """Breadth-first distance (edges in both directions) from ``source`` to the nearest of ``targets``."""
    if not targets:
        return -1
    if source in targets:
        return 0
    adj: list[list[int]] = [[] for _ in range(unit.num_nodes)]
    for s, d in zip(unit.src, unit.dst):
        adj[s].append(d)
        adj[d].append(s)
    dist = {source: 0}
    queue = deque([source])
    while queue:
        u = queue.popleft()
        for v in adj[u]:
            if v not in dist:
                if v in targets:
                    return dist[u] + 1
                dist[v] = dist[u] + 1
                queue.append(v)
    return -1


def evidence_distance(unit: AnalysisUnit, graph: CodeGraph, scopes: ScopeInfo) -> dict[str, int]:
    """``{"hops": ..., "lines": ...}`` from the bug location to its nearest evidence (-1: none)."""
    evidence = evidence_nodes(unit, graph, scopes)
    if not evidence:
        return {"hops": -1, "lines": -1}
    cand = unit.candidates[unit.bug]
    hops = unit_hops(unit, cand.node, set(evidence))
    _, loc = unit.origin[cand.node]
    row = graph.start_point[loc][0]
    same_file = [unit.origin[e][1] for e in evidence if unit.origin[e][0] == 0]
    lines = min((abs(graph.start_point[n][0] - row) for n in same_file), default=-1)
    return {"hops": hops, "lines": lines}
