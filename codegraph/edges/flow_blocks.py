"""The blocks of a control-flow graph and the builder's primitives (see :mod:`codegraph.edges.controlflow`).

A :class:`FlowGraph` is one unit's blocks: each block's anchor graph node, successors
and events (the variable occurrences it evaluates, in order, as ``index << 3 | flags``).
:class:`BlockBuilder` opens blocks and links them; the expression part
(:mod:`codegraph.edges.flow_expressions`) and the statement part
(:mod:`codegraph.edges.controlflow`) build on it.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from itertools import accumulate
from typing import TypeAlias

from codegraph.schema import CodeGraph
from codegraph.scopes import Access, Scope, ScopeInfo

#: event flags: an event is ``occurrence_index << 3 | flags``
READ, WRITE, QUIET = 1, 2, 4  # QUIET: updates the state but gets no edges (second half of ``x += y``)
ENTRY, EXIT = 0, 1  # block ids of every flow graph

_COMPOUND = frozenset(
    {
        "if_statement", "while_statement", "for_statement", "with_statement", "try_statement",
        "match_statement", "class_definition", "decorated_definition",
    }
)  # fmt: skip
_HANDLER_TYPES = frozenset({"except_clause", "except_group_clause"})
_COMPREHENSIONS = frozenset(
    {"list_comprehension", "set_comprehension", "dictionary_comprehension", "generator_expression"}
)
_LOOP, _TRY, _FINALLY, _FUNC = range(4)
_START: list[int] = []  # sentinel: a handler not started yet
_RETURN, _RAISE, _BREAK, _CONTINUE = range(4)
_JUMPS = {
    "return_statement": _RETURN,
    "raise_statement": _RAISE,
    "break_statement": _BREAK,
    "continue_statement": _CONTINUE,
}
# expression-machine operations (stack items that are tuples)
_OP_EMIT, _OP_THEN, _OP_ELSE, _OP_JOIN2, _OP_SPLIT, _OP_JOIN, _OP_LOOP, _OP_TO_HEAD, _OP_LOOP_END = range(9)


@dataclass(slots=True, eq=False)
class FlowGraph:
    """The control-flow graph of one module, ``def`` or ``lambda``, at block granularity.

    Parallel lists per block: ``anchor`` (the graph node the block belongs to: the
    statement it starts with), ``tail`` (the statement it ends with: a run of simple
    statements outside ``try`` shares one block, ``chain`` holding the statement-to-
    statement edges inside such runs), ``succ`` (successor blocks) and ``events``
    (variable occurrences evaluated, in order: ``occurrence_index << 3 | READ / WRITE /
    QUIET``). Block 0 is the entry (it holds the parameter bindings), block 1 the
    exit. ``assigns`` pairs the occurrences under each target with those under the value
    it is computed from, as occurrence index ranges ``(target_start, target_end,
    value_start, value_end)`` (assignments, augmented assignments, walrus, ``for``
    target / iterable, ``with ... as`` target / context); ``returns`` are the returned /
    yielded value graph nodes.
    """

    scope: Scope
    node: int
    anchor: list[int] = field(default_factory=list)
    tail: list[int] = field(default_factory=list)
    chain: list[tuple[int, int]] = field(default_factory=list)
    succ: list[list[int]] = field(default_factory=list)
    events: list[list[int]] = field(default_factory=list)
    assigns: list[tuple[int, int, int, int]] = field(default_factory=list)
    returns: list[int] = field(default_factory=list)

    @property
    def num_blocks(self) -> int:
        return len(self.anchor)

    def predecessors(self) -> list[list[int]]:
        preds: list[list[int]] = [[] for _ in self.anchor]
        for b, ss in enumerate(self.succ):
            for s in ss:
                preds[s].append(b)
        return preds


@dataclass(slots=True, eq=False)
class _Frame:
    """Where jumps go: a loop (``target`` = its head, ``blocks`` = the breaks), a try with
    handlers (``blocks`` = the handler blocks), a finally (``blocks`` = its entries,
    ``pending`` = the jumps to resume afterwards) or the function (exit)."""

    kind: int
    target: int = -1
    blocks: list[int] = field(default_factory=list)
    pending: set[tuple[int, int]] = field(default_factory=set)
    catch_all: bool = False  # a try with a bare ``except:``


class _Shared:
    """Per-file arrays the builders read."""

    def __init__(self, g: CodeGraph, info: ScopeInfo) -> None:
        self.g = g
        self.info = info
        self.types = g.type
        self.fields = g.field_name
        self.children = g.children
        self.send = g.subtree_end
        self.occ_nodes = info.occ_nodes
        self.specials = info.flow_specials
        # default event of each occurrence (an augmented assignment target reads here; its
        # write is added where the assignment completes)
        mode = {Access.READ: READ, Access.WRITE: WRITE, Access.READ | Access.WRITE: READ}
        self.codes = [(k << 3) | mode.get(a, WRITE) for k, a in enumerate(info.occ_access)]
        # occ_before[i]: how many occurrences have graph node < i (so the occurrences under a
        # subtree ``i`` are ``occ_before[i]:occ_before[subtree_end[i]]``); same for specials
        marks = [0] * (len(self.types) + 1)
        for node in self.occ_nodes:
            marks[node + 1] = 1
        self.occ_before = list(accumulate(marks))
        marks = [0] * (len(self.types) + 1)
        for node in self.specials:
            marks[node + 1] = 1
        self.spec_before = list(accumulate(marks))


#: a statement handler: yields sub-handlers to run (or exits already known), receives their
#: exits, returns its own exits
_Gen: TypeAlias = Generator["_Gen | list[int]", list[int], list[int]]


class BlockBuilder:
    """The blocks of one unit's flow graph, being built: open, link, add events."""

    def __init__(self, sh: _Shared, scope: Scope) -> None:
        self.sh = sh
        self.scope = scope
        self.fg = FlowGraph(scope, scope.node)
        self.anchor = scope.node  # graph node that new blocks belong to
        self.cur = -1
        self.ctx: list[_Frame] = []  # enclosing loops, try handlers, finally blocks, the function
        self.in_try = 0  # inside a try statement every statement needs its own block (it may raise)
        self.run_block = -1  # the block a simple statement just completed in (it may take the next one)
        self.new(scope.node)  # ENTRY
        self.new(scope.node)  # EXIT

    def new(self, anchor: int) -> int:
        fg = self.fg
        b = len(fg.anchor)
        fg.anchor.append(anchor)
        fg.tail.append(anchor)
        fg.succ.append([])
        fg.events.append([])
        return b

    def start(self, node: int, preds: list[int]) -> int:
        """A new block for ``node``, entered from ``preds``; it becomes the current block."""
        self.anchor = node
        self.run_block = -1
        b = self.new(node)
        succ = self.fg.succ
        for p in preds:
            succ[p].append(b)
        self.cur = b
        return b

    def link(self, srcs: list[int] | range, dst: int) -> None:
        succ = self.fg.succ
        for s in srcs:
            succ[s].append(dst)

    def emit_own(self, node: int) -> None:
        """Events of the occurrences under ``node`` that belong to this unit's own scope."""
        info = self.sh.info
        scopes, codes, sc = info.occ_scopes, self.sh.codes, self.scope
        ev = self.fg.events[self.cur]
        for k in info.occurrences_in(node, self.sh.send[node]):
            if scopes[k] is sc:
                ev.append(codes[k])

    def field(self, node: int, name: str) -> int:
        fields = self.sh.fields
        for c in self.sh.children[node]:
            if fields[c] == name:
                return c
        return -1

    def assign(self, target: int, value: int) -> None:
        """Record that the variables bound under ``target`` are computed from those read under ``value``."""
        before, send = self.sh.occ_before, self.sh.send
        self.fg.assigns.append((before[target], before[send[target]], before[value], before[send[value]]))

    def bind(self, name: int) -> None:
        sh = self.sh
        if name >= 0:
            k = sh.occ_before[name]
            if k < len(sh.occ_nodes) and sh.occ_nodes[k] == name:
                self.fg.events[self.cur].append(sh.codes[k])
