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
from dataclasses import dataclass
from itertools import repeat

from codegraph.edges.flow_blocks import (
    _BREAK,
    _COMPOUND,
    _CONTINUE,
    _FINALLY,
    _FUNC,
    _HANDLER_TYPES,
    _JUMPS,
    _LOOP,
    _RAISE,
    _RETURN,
    _START,
    _TRY,
    ENTRY,
    EXIT,
    FlowGraph,
    _Frame,
    _Gen,
    _Shared,
)
from codegraph.edges.flow_expressions import ExpressionBuilder
from codegraph.schema import CodeGraph, EdgeKind
from codegraph.scope_analysis import scopes_of
from codegraph.scopes import ScopeInfo, ScopeKind


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
    """:func:`build_control_flow` with the scopes of :func:`codegraph.scope_analysis.scopes_of`, cached
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


class _Builder(ExpressionBuilder):
    """Builds the flow graph of one module / def / lambda: statements, over the expression
    and block primitives."""

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
