"""Data-flow edges: LAST_READ, LAST_WRITE, COMPUTED_FROM, OCCURRENCE.

Variables are the symbols of :mod:`codegraph.scopes`; the flow is the block graph of
:mod:`codegraph.edges.controlflow`, whose blocks list variable occurrences in
evaluation order (right-hand side before targets; ``x += y`` reads ``x``, reads
``y``, then writes ``x``).

* LAST_WRITE: from every occurrence (read or write) of a variable to each occurrence
  that may have written it last before, along some control-flow path within the same
  function. LAST_READ likewise to the occurrences that may have read it last. This is
  a may-analysis (reaching definitions and reaching reads) iterated to a fixed point:
  branches merge, and at the top of a loop body the writes and reads at its bottom
  are visible. Functions, lambdas and the module are analysed separately; class
  bodies and comprehensions are part of the code they sit in (a comprehension is a
  loop). Writes get edges too (to the writes they replace and the reads before them);
  in a loop an occurrence may point at itself. ``del x`` is a write; a bare annotation
  ``x: int`` is none.
* COMPUTED_FROM: from each variable bound by an assignment, augmented assignment,
  walrus, ``for`` target or ``with ... as`` target to each variable read in the value
  it is computed from (reads deferred into lambdas excluded).
* OCCURRENCE: between consecutive occurrences of the same symbol in source order,
  across nested functions (closures and globals included), so all uses of a variable
  are chained.
"""

from __future__ import annotations

from collections import deque
from itertools import islice, repeat

from codegraph.edges.controlflow import ControlFlow, control_flow
from codegraph.edges.flow_blocks import ENTRY, QUIET, READ, FlowGraph
from codegraph.schema import CodeGraph, EdgeKind
from codegraph.scopes import Access

Edge = tuple[int, int, EdgeKind]


def dataflow_edges(g: CodeGraph) -> list[Edge]:
    """LAST_READ, LAST_WRITE, COMPUTED_FROM and OCCURRENCE edges of ``g``."""
    cf = control_flow(g)
    edges: list[Edge] = []
    symid = [s.id for s in cf.scopes.occ_symbols]
    for fg in cf.flows:
        last_use_edges(fg, cf, symid, edges)
    computed_from_edges(cf, edges)
    occurrence_edges(cf, edges)
    return edges


def last_use_edges(fg: FlowGraph, cf: ControlFlow, symid: list[int], edges: list[Edge]) -> None:
    """LAST_WRITE and LAST_READ edges of one flow graph.

    Reaching analysis over bit sets: every event (a read or a write of a variable in
    some block) owns one bit; a block's transfer function kills the bits of the
    symbols' earlier reads (at a read) or writes (at a write) and generates its last
    ones. Keys are ``symbol id << 1 | is_read``.
    """
    events = fg.events
    nodes = cf.scopes.occ_nodes
    if len(events[ENTRY]) == sum(map(len, events)):
        # straight-line code: everything sits in the entry block, which nothing flows into
        _straight_line_edges(events[ENTRY], nodes, symid, edges)
        return
    mask, lasts, bits = _event_bits(events, symid)
    if not bits:
        return
    ins = _reaching(fg, mask, lasts)
    bit_node = [nodes[code >> 3] for evs in events for code in evs]
    for b, _ in lasts:
        if ins[b]:
            _block_edges(events[b], ins[b], mask, bit_node, nodes, symid, edges)
        else:
            _straight_line_edges(events[b], nodes, symid, edges)


def _event_bits(
    events: list[list[int]], symid: list[int]
) -> tuple[dict[int, int], list[tuple[int, dict[int, int]]], int]:
    """(key -> the bits of its events, [(block, key -> bit of the block's last event)], bits)."""
    mask: dict[int, int] = {}
    lasts: list[tuple[int, dict[int, int]]] = []
    bit = 0
    for b, evs in enumerate(events):
        if not evs:
            continue
        last: dict[int, int] = {}
        for code in evs:
            key = (symid[code >> 3] << 1) | (code & READ)
            mask[key] = mask.get(key, 0) | (1 << bit)
            last[key] = bit
            bit += 1
        lasts.append((b, last))
    return mask, lasts, bit


def _reaching(fg: FlowGraph, mask: dict[int, int], lasts: list[tuple[int, dict[int, int]]]) -> list[int]:
    """The events reaching the start of each block: a fixed point over the blocks (their
    creation order is close to topological)."""
    nb = len(fg.events)
    gen = [0] * nb
    keep = [-1] * nb
    for b, last in lasts:
        kill = gn = 0
        for key, bt in last.items():
            kill |= mask[key]
            gn |= 1 << bt
        gen[b] = gn
        keep[b] = ~kill
    succ = fg.succ
    preds: list[list[int]] = [[] for _ in range(nb)]
    for b, ss in enumerate(succ):
        for t in ss:
            preds[t].append(b)
    ins = [0] * nb
    outs = [0] * nb
    queued = [True] * nb
    work = deque(range(nb))
    pop, push = work.popleft, work.append
    while work:
        b = pop()
        queued[b] = False
        x = 0
        for p in preds[b]:
            x |= outs[p]
        ins[b] = x
        o = (x & keep[b]) | gen[b]
        if o != outs[b]:
            outs[b] = o
            for t in succ[b]:
                if not queued[t]:
                    queued[t] = True
                    push(t)
    return ins


def _block_edges(
    events: list[int],
    state: int,
    mask: dict[int, int],
    bit_node: list[int],
    nodes: list[int],
    symid: list[int],
    edges: list[Edge],
) -> None:
    """The edges of one block's events, given the events reaching its start (``state``)."""
    lr, lw = EdgeKind.LAST_READ, EdgeKind.LAST_WRITE
    append = edges.append
    cur: dict[int, list[int]] = {}  # key -> occurrences last seen in this block so far
    for code in events:
        k = code >> 3
        key = symid[k] << 1
        node = nodes[k]
        if not code & QUIET:
            for kind, kk in ((lw, key), (lr, key | 1)):
                seen = cur.get(kk)
                if seen is None:
                    m = state & mask.get(kk, 0)
                    seen = cur[kk] = []
                    while m:
                        low = m & -m
                        seen.append(bit_node[low.bit_length() - 1])
                        m ^= low
                for t in seen:
                    append((node, t, kind))
        cur[key | (code & READ)] = [node]


def _straight_line_edges(evs: list[int], nodes: list[int], symid: list[int], edges: list[Edge]) -> None:
    """LAST_WRITE / LAST_READ within one block that nothing flows into."""
    lr, lw = EdgeKind.LAST_READ, EdgeKind.LAST_WRITE
    append = edges.append
    last: dict[int, int] = {}  # key -> the occurrence seen last
    for code in evs:
        k = code >> 3
        key = symid[k] << 1
        node = nodes[k]
        if not code & QUIET:
            t = last.get(key)
            if t is not None:
                append((node, t, lw))
            t = last.get(key | 1)
            if t is not None:
                append((node, t, lr))
        last[key | (code & READ)] = node


def computed_from_edges(cf: ControlFlow, edges: list[Edge]) -> None:
    """COMPUTED_FROM: each bound name -> each variable read in the value it is computed from."""
    info = cf.scopes
    owner = [s.flow_owner for s in info.scopes]
    occ_nodes, occ_scopes, acc = info.occ_nodes, info.occ_scopes, info.occ_access
    rd = Access.READ
    kind = EdgeKind.COMPUTED_FROM
    for fg in cf.flows:
        sc = fg.scope
        for t0, t1, v0, v1 in fg.assigns:
            targets = [
                occ_nodes[k] for k in range(t0, t1) if acc[k] is not rd and owner[occ_scopes[k].id] is sc
            ]
            if not targets:
                continue
            reads = [occ_nodes[k] for k in range(v0, v1) if acc[k] is rd and owner[occ_scopes[k].id] is sc]
            for t in targets:
                edges.extend(zip(repeat(t), reads, repeat(kind)))


def occurrence_edges(cf: ControlFlow, edges: list[Edge]) -> None:
    """OCCURRENCE: consecutive occurrences of every symbol, in source order."""
    kind = EdgeKind.OCCURRENCE
    for sym in cf.scopes.symbols:
        occ = sym.occurrences
        if len(occ) > 1:
            edges.extend(zip(occ, islice(occ, 1, None), repeat(kind)))
