"""Control-flow edges: CONTROL_FLOW between statements, RETURNS_TO from returned values.

:func:`control_flow` builds one :class:`FlowGraph` per analysis unit (the module, each
``def``, each ``lambda``); class bodies and comprehensions run inline in the code that
contains them. A flow graph is made of blocks: compound statements get one for their
header (``if`` / ``elif`` / ``while`` condition, ``for`` iterable and target, ``with``
items, ``except`` clause, ``match`` subject, ``case`` pattern and guard), a run of
simple statements that follow each other shares one (outside ``try``, where each may
raise), and expressions that branch or loop (``and`` / ``or``, ``a if c else b``,
comprehensions) split their statement's block. Each block lists the variable
occurrences it evaluates, in evaluation order (right-hand side before targets), which
is what :mod:`codegraph.edges.dataflow` runs its analysis on.

Flow modelled: sequence; ``if`` / ``elif`` / ``else``; ``while`` and ``for`` with
``break``, ``continue`` and ``else`` (``while True`` never falls out); ``try`` with
every block of the ``try`` body able to raise into every handler, ``else``, and
``finally`` entered from normal completion, exceptions and jumps and leaving to all of
their continuations; ``with`` (when its body cannot complete, the context manager is
assumed to suppress an exception raised anywhere in it: ``with suppress(E): return
f()``); ``match`` trying each case in turn (an irrefutable last case does not fall
through); ``return`` / ``raise`` to the function exit, through enclosing ``finally``
blocks, ``raise`` to enclosing handlers.

CONTROL_FLOW edges connect the graph nodes the blocks belong to: statements, plus the
``elif_clause`` / ``except_clause`` / ``case_clause`` headers; the module and
``function_definition`` graph nodes stand for the entry and the exit of their code.
RETURNS_TO goes from the value of each ``return`` and ``yield`` to its
``function_definition``.
"""

from __future__ import annotations

import weakref
from collections.abc import Generator
from dataclasses import dataclass, field
from itertools import accumulate, repeat
from typing import TypeAlias

from codegraph.schema import CodeGraph, EdgeKind
from codegraph.scopes import Access, Scope, ScopeInfo, ScopeKind, scopes_of

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


@dataclass(eq=False)
class ControlFlow:
    """All flow graphs of one file (module first, then defs and lambdas in preorder)."""

    scopes: ScopeInfo
    flows: list[FlowGraph]
    subtree_end: list[int]  # the graph's, for node ranges

    @property
    def num_nodes(self) -> int:
        return len(self.subtree_end)

    def statement_edges(self) -> list[tuple[int, int]]:
        """(statement, next statement) pairs: block successors mapped to their anchors, deduplicated."""
        seen: set[tuple[int, int]] = set()
        out: list[tuple[int, int]] = []
        for fg in self.flows:
            anchor, tail = fg.anchor, fg.tail
            for pair in fg.chain:
                if pair not in seen:
                    seen.add(pair)
                    out.append(pair)
            for b, ss in enumerate(fg.succ):
                a = tail[b]
                for s in ss:
                    c = anchor[s]
                    if a != c and (a, c) not in seen:
                        seen.add((a, c))
                        out.append((a, c))
        return out

    def returns_to(self) -> list[tuple[int, int]]:
        """(returned or yielded value, function_definition) pairs."""
        return [(v, fg.node) for fg in self.flows if fg.scope.kind == ScopeKind.FUNCTION for v in fg.returns]


def build_control_flow(g: CodeGraph, info: ScopeInfo) -> ControlFlow:
    """Build the flow graphs of the module, every ``def`` and every ``lambda`` of ``g``."""
    flows: list[FlowGraph] = []
    if g.num_nodes:
        shared = _Shared(g, info)
        for sc in info.scopes:
            if sc.kind in (ScopeKind.MODULE, ScopeKind.FUNCTION, ScopeKind.LAMBDA):
                flows.append(_Builder(shared, sc).build())
        # yields belong to the flow graph of their function
        if info.yields:
            by_scope = {fg.scope.id: fg for fg in flows}
            for y in info.yields:
                kids = g.children[y]
                fg = by_scope.get(info.scope_at(y).flow_owner.id)
                if kids and fg is not None:
                    fg.returns.append(kids[0])
    return ControlFlow(info, flows, g.subtree_end)


#: (weak reference to the graph, its control flow); the entry goes with the graph
_cache: list[tuple[weakref.ref[CodeGraph], ControlFlow]] = []


def _forget(_: object) -> None:
    _cache.clear()


def control_flow(g: CodeGraph) -> ControlFlow:
    """:func:`build_control_flow` with the scopes of :func:`codegraph.scopes.scopes_of`, cached
    for the most recent graph while it is alive, so that the control-flow and data-flow
    builders share one."""
    info = scopes_of(g)
    if _cache:
        ref, cf = _cache[0]
        if ref() is g and cf.scopes is info:
            return cf
    cf = build_control_flow(g, info)
    _cache[:] = [(weakref.ref(g, _forget), cf)]
    return cf


def controlflow_edges(g: CodeGraph) -> list[tuple[int, int, EdgeKind]]:
    """CONTROL_FLOW (statement -> statement that may run next) and RETURNS_TO (value -> def)."""
    cf = control_flow(g)
    pairs = cf.statement_edges()
    edges = list(zip(*zip(*pairs), repeat(EdgeKind.CONTROL_FLOW))) if pairs else []
    for fg in cf.flows:
        if fg.returns and fg.scope.kind == ScopeKind.FUNCTION:
            edges.extend(zip(fg.returns, repeat(fg.node), repeat(EdgeKind.RETURNS_TO)))
    return edges


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


class _Builder:
    """Builds the flow graph of one module / def / lambda."""

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

    # -- blocks ------------------------------------------------------------------------
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

    # -- whole units -----------------------------------------------------------------------
    def build(self) -> FlowGraph:
        sh, sc = self.sh, self.scope
        fg = self.fg
        self.ctx.append(_Frame(_FUNC))
        self.cur = self.run_block = ENTRY  # the first statement shares the entry block
        if sc.kind == ScopeKind.MODULE:
            outs = self.run(self.body(sc.node, [ENTRY]))
        else:
            # parameters are bound at entry
            body = -1
            for c in sh.children[sc.node]:
                f = sh.fields[c]
                if f == "body":
                    body = c
                elif f in ("parameters", "type_parameters"):
                    self.emit_own(c)
            if sc.kind == ScopeKind.LAMBDA:
                if body >= 0:
                    self.expr(body)
                outs = [self.cur]
            else:
                outs = self.run(self.body(body, [ENTRY]))
        self.link(outs, EXIT)
        return fg

    def emit_own(self, node: int) -> None:
        """Events of the occurrences under ``node`` that belong to this unit's own scope."""
        info = self.sh.info
        scopes, codes, sc = info.occ_scopes, self.sh.codes, self.scope
        ev = self.fg.events[self.cur]
        for k in info.occurrences_in(node, self.sh.send[node]):
            if scopes[k] is sc:
                ev.append(codes[k])

    @staticmethod
    def run(gen: _Gen | list[int]) -> list[int]:
        """Drive nested statement generators without Python recursion (deep nesting is fine)."""
        if isinstance(gen, list):
            return gen
        stack: list[_Gen] = [gen]
        val: list[int] = _START
        while True:
            try:
                sub = stack[-1].send(val) if val is not _START else next(stack[-1])
            except StopIteration as stop:
                stack.pop()
                val = stop.value
                if not stack:
                    return val
                continue
            if isinstance(sub, list):  # a block that was built at once
                val = sub
                continue
            stack.append(sub)
            val = _START

    # -- statements --------------------------------------------------------------------
    def body(self, node: int, preds: list[int]) -> _Gen | list[int]:
        """The statements under ``node`` (a block or the module): built at once when they are all
        simple (returns the exits), else a generator for :meth:`run`."""
        if node < 0:
            return preds
        kids = self.sh.children[node]
        i, preds = self.simple_run(kids, 0, preds)
        if i == len(kids):
            return preds
        return self.block(kids, i, preds)

    def block(self, kids: list[int], i: int, preds: list[int]) -> _Gen:
        """Statements ``kids[i:]``, the first one compound, in sequence; returns the exits."""
        types = self.sh.types
        n = len(kids)
        while i < n:
            s = kids[i]
            preds = yield self.compound(s, types[s], preds)
            i, preds = self.simple_run(kids, i + 1, preds)
        return preds

    def simple_run(self, kids: list[int], i: int, preds: list[int]) -> tuple[int, list[int]]:
        """The simple statements (and defs) ``kids[i:]`` up to the next compound statement.

        Returns where it stopped and the exits. A statement continues the current block
        when that block just ran the previous statement and goes nowhere else yet (not
        inside ``try``, where every statement may raise), else it starts a new block.
        """
        sh = self.sh
        types, send = sh.types, sh.send
        codes, occ_before, spec_before = sh.codes, sh.occ_before, sh.spec_before
        fg = self.fg
        anchor, tail, succ, events, chain = fg.anchor, fg.tail, fg.succ, fg.events, fg.chain
        n = len(kids)
        merge = not self.in_try
        run = self.run_block  # the block the previous statement completed in, or -1
        follows = len(preds) == 1 and preds[0] == run  # the exits are exactly [run]
        cur = self.cur
        while i < n:
            s = kids[i]
            t = types[s]
            if t in _COMPOUND:
                break
            i += 1
            if t == "function_definition":
                self.run_block = run
                preds = self.function(s, s, [run] if follows else preds)
                run, cur = self.run_block, self.cur
                follows = True
                continue
            if follows and merge and not succ[run]:
                cur = run
                chain.append((tail[cur], s))
                tail[cur] = s
            else:
                cur = len(anchor)
                anchor.append(s)
                tail.append(s)
                succ.append([])
                events.append([])
                for p in [run] if follows else preds:
                    succ[p].append(cur)
            end = send[s]
            if spec_before[end] == spec_before[s]:
                k0, k1 = occ_before[s], occ_before[end]
                if k0 < k1:
                    events[cur].extend(codes[k0:k1])
            else:
                self.anchor = s
                self.cur = cur
                self.expr(s)
                cur = self.cur
            jump = _JUMPS.get(t)
            if jump is None:
                run = cur
                follows = True
                continue
            if jump == _RETURN:
                value = sh.children[s]
                if value:
                    fg.returns.append(value[0])
            self.anchor = s
            self.route(jump, [cur], len(self.ctx) - 1)
            run = -1
            follows = False
            preds = []
        self.run_block = run
        self.cur = cur
        return i, [run] if follows else preds

    def enter(self, s: int, preds: list[int]) -> None:
        """Make statement ``s`` current: it continues the current block when that block just
        ran the previous statement and goes nowhere else yet, else it starts a new one."""
        cur = self.run_block
        fg = self.fg
        if len(preds) == 1 and preds[0] == cur and not self.in_try and not fg.succ[cur]:
            fg.chain.append((fg.tail[cur], s))
            fg.tail[cur] = s
            self.anchor = s
            self.cur = cur
        else:
            self.start(s, preds)

    def route(self, jump: int, blocks: list[int], depth: int) -> None:
        """Send ``blocks`` that end with a jump to where it goes, through ``finally`` blocks."""
        ctx = self.ctx
        d = depth
        while d >= 0:
            frame = ctx[d]
            kind = frame.kind
            if kind == _FINALLY:
                frame.blocks.extend(blocks)
                frame.pending.add((jump, d - 1))
                return
            if kind == _LOOP and jump in (_BREAK, _CONTINUE):
                if jump == _BREAK:
                    frame.blocks.extend(blocks)
                else:
                    self.link(blocks, frame.target)
                return
            if kind == _TRY and jump == _RAISE:
                for h in frame.blocks:
                    self.link(blocks, h)
                if frame.catch_all:
                    return
            elif kind == _FUNC:
                self.link(blocks, EXIT)
                return
            d -= 1

    def compound(self, s: int, t: str, preds: list[int]) -> _Gen:
        if t == "if_statement":
            return self.if_(s, preds)
        if t == "while_statement":
            return self.while_(s, preds)
        if t == "for_statement":
            return self.for_(s, preds)
        if t == "with_statement":
            return self.with_(s, preds)
        if t == "try_statement":
            return self.try_(s, preds)
        if t == "match_statement":
            return self.match(s, preds)
        return self.definition(s, preds)

    def field(self, node: int, name: str) -> int:
        fields = self.sh.fields
        for c in self.sh.children[node]:
            if fields[c] == name:
                return c
        return -1

    def if_(self, s: int, preds: list[int]) -> _Gen:
        sh = self.sh
        self.start(s, preds)
        cond = self.field(s, "condition")
        if cond >= 0:
            self.expr(cond)
        test = self.cur
        outs: list[int] = yield self.body(self.field(s, "consequence"), [test])
        for c in sh.children[s]:
            if sh.fields[c] != "alternative":
                continue
            if sh.types[c] == "elif_clause":
                self.start(c, [test])
                cond = self.field(c, "condition")
                if cond >= 0:
                    self.expr(cond)
                test = self.cur
                outs = outs + (yield self.body(self.field(c, "consequence"), [test]))
            else:
                outs = outs + (yield self.body(self.field(c, "body"), [test]))
                test = -1
        if test >= 0:
            outs.append(test)
        return outs

    def while_(self, s: int, preds: list[int]) -> _Gen:
        sh = self.sh
        head = self.start(s, preds)
        cond = self.field(s, "condition")
        if cond >= 0:
            self.expr(cond)
        test = self.cur
        forever = cond >= 0 and (
            sh.types[cond] == "true" or (sh.types[cond] == "integer" and sh.g.text[cond] not in ("0", "0x0"))
        )
        loop = _Frame(_LOOP, head)
        self.ctx.append(loop)
        body_outs = yield self.body(self.field(s, "body"), [test])
        self.ctx.pop()
        self.link(body_outs, head)
        exits = [] if forever else [test]
        alt = self.field(s, "alternative")
        if alt >= 0:
            exits = yield self.body(self.field(alt, "body"), exits)
        return exits + loop.blocks

    def for_(self, s: int, preds: list[int]) -> _Gen:
        self.start(s, preds)
        left, right = self.field(s, "left"), self.field(s, "right")
        if right >= 0:
            self.expr(right)
        head = self.new(s)
        self.link([self.cur], head)
        self.start(s, [head])
        if left >= 0:
            self.expr(left)
            if right >= 0:
                self.assign(left, right)
        loop = _Frame(_LOOP, head)
        self.ctx.append(loop)
        body_outs = yield self.body(self.field(s, "body"), [self.cur])
        self.ctx.pop()
        self.link(body_outs, head)
        exits = [head]
        alt = self.field(s, "alternative")
        if alt >= 0:
            exits = yield self.body(self.field(alt, "body"), exits)
        return exits + loop.blocks

    def with_(self, s: int, preds: list[int]) -> _Gen:
        sh = self.sh
        self.start(s, preds)
        body = -1
        for c in sh.children[s]:
            if sh.fields[c] == "body":
                body = c
                continue
            self.expr(c)
            if sh.types[c] == "with_clause":
                for item in sh.children[c]:
                    for v in sh.children[item]:
                        if sh.types[v] == "as_pattern":
                            kids = sh.children[v]
                            if len(kids) == 2 and sh.types[kids[1]] == "as_pattern_target":
                                self.assign(kids[1], kids[0])
        header = self.cur
        outs = yield self.body(body, [header])
        if outs:
            return outs
        # the body always jumps (``with suppress(E): return f()``, ``with assertRaises(E): raise``):
        # the code after it runs only if the context manager swallows an exception, which
        # may come from anywhere in the body
        return [header, *range(header + 1, len(self.fg.anchor))]

    def try_(self, s: int, preds: list[int]) -> _Gen:
        entry = self.start(s, preds)
        self.in_try += 1
        outs = yield from self.try_parts(s, entry)
        self.in_try -= 1
        return outs

    def try_parts(self, s: int, entry: int) -> _Gen:
        sh = self.sh
        types, fields = sh.types, sh.fields
        body = else_ = fin = -1
        handlers: list[int] = []
        for c in sh.children[s]:
            t = types[c]
            if fields[c] == "body":
                body = c
            elif t in _HANDLER_TYPES:
                handlers.append(c)
            elif t == "else_clause":
                else_ = c
            elif t == "finally_clause":
                fin = c
        hblocks = [self.new(h) for h in handlers]
        bare = any(all(types[c] == "block" for c in sh.children[h]) for h in handlers)
        fin_frame = _Frame(_FINALLY)
        if fin >= 0:
            self.ctx.append(fin_frame)
        first = len(self.fg.anchor)
        if handlers:
            self.ctx.append(_Frame(_TRY, blocks=hblocks, catch_all=bare))
        normal = yield self.body(body, [entry])
        raising = [entry, *range(first, len(self.fg.anchor))]
        if handlers:
            self.ctx.pop()
        for h in hblocks:
            self.link(raising, h)
        if else_ >= 0:
            normal = yield self.body(self.field(else_, "body"), normal)
        for h, hb in zip(handlers, hblocks):
            self.anchor, self.cur = h, hb
            hbody = -1
            for c in sh.children[h]:
                if types[c] == "block":
                    hbody = c
                else:
                    self.expr(c)
            normal = normal + (yield self.body(hbody, [self.cur]))
        if fin < 0:
            return normal
        self.ctx.pop()
        # every block of the body, else and handlers may raise into the finally block
        fin_in = [*normal, *fin_frame.blocks, entry, *range(first, len(self.fg.anchor))]
        fin_block = -1
        for c in sh.children[fin]:
            if types[c] == "block":
                fin_block = c
        fin_outs = yield self.body(fin_block, fin_in)
        depth = len(self.ctx) - 1
        pending = fin_frame.pending
        if not bare:
            pending.add((_RAISE, depth))
        for jump, d in sorted(pending):
            self.route(jump, fin_outs, d)
        return fin_outs if normal else []

    def match(self, s: int, preds: list[int]) -> _Gen:
        sh = self.sh
        types, fields, children = sh.types, sh.fields, sh.children
        self.start(s, preds)
        body = -1
        for c in children[s]:
            if fields[c] == "body":
                body = c
            else:
                self.expr(c)
        test = self.cur
        outs: list[int] = []
        cases = [c for c in children[body] if types[c] == "case_clause"] if body >= 0 else []
        for case in cases:
            self.start(case, [test])
            cons = -1
            guard = False
            for c in children[case]:
                if fields[c] == "consequence":
                    cons = c
                else:
                    guard = guard or fields[c] == "guard"
                    self.expr(c)
            tried = self.cur
            outs = outs + (yield self.body(cons, [tried]))
            test = tried
            if case == cases[-1] and not guard and self.irrefutable(case):
                test = -1
        if test >= 0:
            outs.append(test)
        return outs

    def irrefutable(self, case: int) -> bool:
        """``case _:`` or ``case name:`` (a bare capture)."""
        sh = self.sh
        pats = [c for c in sh.children[case] if sh.types[c] == "case_pattern"]
        if len(pats) != 1:
            return False
        kids = sh.children[pats[0]]
        if not kids:
            return True
        return len(kids) == 1 and sh.types[kids[0]] == "dotted_name" and len(sh.children[kids[0]]) == 1

    def function(self, stmt: int, d: int, preds: list[int]) -> list[int]:
        """``def`` in the enclosing flow: defaults and annotations are read, then the name bound."""
        sh = self.sh
        if stmt == d:
            self.enter(stmt, preds)
        name = -1
        for c in sh.children[d]:
            f = sh.fields[c]
            if f == "name":
                name = c
            elif f == "parameters":
                for q in sh.children[c]:
                    for r in sh.children[q]:
                        if sh.fields[r] in ("value", "type"):
                            self.expr(r)
            elif f == "return_type":
                self.expr(c)
        self.bind(name)
        if stmt == d:
            self.run_block = self.cur
        return [self.cur]

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

    def definition(self, s: int, preds: list[int]) -> _Gen:
        """``class`` (its body runs inline) or a decorated ``def`` / ``class``."""
        sh = self.sh
        self.start(s, preds)
        d = s
        if sh.types[s] == "decorated_definition":
            for c in sh.children[s]:
                if sh.fields[c] == "definition":
                    d = c
                else:
                    self.expr(c)
            if sh.types[d] == "function_definition":
                return self.function(s, d, [])
            if sh.types[d] != "class_definition":
                return [self.cur]
        name = body = -1
        for c in sh.children[d]:
            f = sh.fields[c]
            if f == "name":
                name = c
            elif f == "body":
                body = c
            else:
                self.expr(c)
        self.bind(name)
        return (yield self.body(body, [self.cur]))

    # -- expressions -------------------------------------------------------------------
    def expr(self, root: int) -> None:
        """Append the events of subtree ``root`` in evaluation order, splitting blocks where it branches."""
        sh = self.sh
        end = sh.send[root]
        spec_before, occ_before = sh.spec_before, sh.occ_before
        j = spec_before[root]
        nspec = spec_before[end] - j
        if not nspec:
            k0, k1 = occ_before[root], occ_before[end]
            if k0 < k1:
                self.fg.events[self.cur].extend(sh.codes[k0:k1])
            return
        x = sh.specials[j]
        if nspec == 1 and sh.types[x] == "assignment":
            # the common case: one plain ``target = value`` -- value first, then targets
            kids = sh.children[x]
            left, right = kids[0], kids[-1]
            fields = sh.fields
            if fields[left] == "left" and fields[right] == "right":
                codes = sh.codes
                k0, kx, kr = occ_before[root], occ_before[x], occ_before[right]
                ke, k1 = occ_before[sh.send[x]], occ_before[end]
                ev = self.fg.events[self.cur]
                if kx > k0:
                    ev.extend(codes[k0:kx])
                ev.extend(codes[kr:ke])
                ev.extend(codes[kx:kr])
                if k1 > ke:
                    ev.extend(codes[ke:k1])
                self.fg.assigns.append((kx, kr, kr, ke))
                return
        self.expr_slow(root)

    def expr_slow(self, root: int) -> None:
        sh = self.sh
        types, fields, children, send = sh.types, sh.fields, sh.children, sh.send
        specials, codes, spec_before, occ_before = sh.specials, sh.codes, sh.spec_before, sh.occ_before
        events = self.fg.events
        marks: list = []
        stack: list = [root]
        while stack:
            x = stack.pop()
            if x.__class__ is int:
                end = send[x]
                j = spec_before[x]
                if spec_before[end] == j:
                    k0, k1 = occ_before[x], occ_before[end]
                    if k0 < k1:
                        events[self.cur].extend(codes[k0:k1])
                    continue
                if specials[j] != x:
                    stack.extend(reversed(children[x]))
                    continue
                t = types[x]
                kids = children[x]
                if t == "assignment":
                    left = right = typ = -1
                    for c in kids:
                        f = fields[c]
                        if f == "left":
                            left = c
                        elif f == "right":
                            right = c
                        elif f == "type":
                            typ = c
                    if typ >= 0:
                        stack.append(typ)
                    if left >= 0 and right >= 0:  # a bare annotation ``x: int`` binds nothing
                        stack.append(left)
                    if right >= 0:
                        stack.append(right)
                        if left >= 0:
                            self.assign(left, right)
                elif t == "augmented_assignment":
                    left = kids[0] if kids and fields[kids[0]] == "left" else -1
                    right = kids[-1] if kids and fields[kids[-1]] == "right" else -1
                    k = occ_before[left] if left >= 0 else -1
                    if k >= 0 and (k >= len(sh.occ_nodes) or sh.occ_nodes[k] != left):
                        k = -1
                    if k >= 0:
                        stack.append((_OP_EMIT, (k << 3) | WRITE | QUIET))
                        if right >= 0:
                            stack.append(right)
                        stack.append((_OP_EMIT, (k << 3) | READ))
                    else:
                        if right >= 0:
                            stack.append(right)
                        if left >= 0:
                            stack.append(left)
                    if left >= 0 and right >= 0:
                        self.assign(left, right)
                elif t == "named_expression":
                    name = value = -1
                    for c in kids:
                        if fields[c] == "name":
                            name = c
                        elif fields[c] == "value":
                            value = c
                    if name >= 0:
                        stack.append(name)
                    if value >= 0:
                        stack.append(value)
                        if name >= 0:
                            self.assign(name, value)
                elif t == "conditional_expression" and len(kids) == 3:
                    a, c, b = kids
                    stack += [(_OP_JOIN2,), b, (_OP_ELSE,), a, (_OP_THEN,), c]
                elif t == "boolean_operator" and len(kids) == 3:
                    # ``a and b and c`` is one chain: each operand may end it
                    op_type = types[kids[1]]
                    operands = [kids[2]]
                    left = kids[0]
                    while types[left] == "boolean_operator" and len(children[left]) == 3:
                        lk = children[left]
                        if types[lk[1]] != op_type:
                            break
                        operands.append(lk[2])
                        left = lk[0]
                    stack.append((_OP_JOIN, len(operands)))
                    for o in operands:
                        stack.append(o)
                        stack.append((_OP_SPLIT,))
                    stack.append(left)
                elif t in _COMPREHENSIONS:
                    self.comprehension(x, stack)
                elif t == "lambda":
                    params = self.field(x, "parameters")
                    if params >= 0:
                        for q in reversed(children[params]):
                            for r in reversed(children[q]):
                                if fields[r] == "value":
                                    stack.append(r)
                elif t in ("function_definition", "class_definition"):
                    # only inside ERROR syntax nodes: keep what runs in this unit, unordered
                    owner = self.scope
                    scopes = sh.info.occ_scopes
                    k0, k1 = occ_before[x], occ_before[end]
                    events[self.cur].extend(codes[k] for k in range(k0, k1) if scopes[k].flow_owner is owner)
                else:
                    stack.extend(reversed(kids))
            else:
                op = x[0]
                if op == _OP_EMIT:
                    events[self.cur].append(x[1])
                elif op in (_OP_THEN, _OP_SPLIT):
                    marks.append(self.cur)
                    self.start(self.anchor, [self.cur])
                elif op == _OP_ELSE:
                    split = marks.pop()
                    marks.append(self.cur)
                    self.start(self.anchor, [split])
                elif op == _OP_JOIN2:
                    other = marks.pop()
                    self.start(self.anchor, [other, self.cur])
                elif op == _OP_JOIN:
                    ends = marks[-x[1] :]
                    del marks[-x[1] :]
                    ends.append(self.cur)
                    self.start(self.anchor, ends)
                elif op == _OP_LOOP:
                    head = self.new(self.anchor)
                    self.link([self.cur], head)
                    after = self.new(self.anchor)
                    self.link([head], after)
                    marks.append((head, after))
                    self.start(self.anchor, [head])
                elif op == _OP_TO_HEAD:  # a filter failed or an inner iterator ran out
                    self.link([self.cur], marks[-1][0])
                    self.start(self.anchor, [self.cur])
                else:  # _OP_LOOP_END
                    head, after = marks.pop()
                    self.link([self.cur], head)
                    self.cur = after

    def comprehension(self, x: int, stack: list) -> None:
        """Push a comprehension: first iterable, then a loop over targets, conditions and body."""
        sh = self.sh
        types, fields, children = sh.types, sh.fields, sh.children
        body = -1
        todo: list = []  # in evaluation order
        first = True
        for c in children[x]:
            t = types[c]
            if fields[c] == "body":
                body = c
            elif t == "for_in_clause":
                left = right = -1
                for r in children[c]:
                    if fields[r] == "left":
                        left = r
                    elif fields[r] == "right":
                        right = r
                if first:
                    if right >= 0:
                        todo.append(right)
                    todo.append((_OP_LOOP,))
                    first = False
                else:
                    if right >= 0:
                        todo.append(right)
                    todo.append((_OP_TO_HEAD,))
                if left >= 0:
                    todo.append(left)
                    if right >= 0:
                        self.assign(left, right)
            elif t == "if_clause":
                todo.extend(children[c])
                todo.append((_OP_TO_HEAD,))
            else:
                todo.append(c)
        if first:  # no for clause (broken syntax): plain evaluation order
            todo.insert(0, (_OP_LOOP,))
        if body >= 0:
            todo.append(body)
        todo.append((_OP_LOOP_END,))
        stack.extend(reversed(todo))
