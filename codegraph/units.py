"""Analysis units: one function with its context, the common input of training and inference.

A unit is a self-contained graph (unit-local node ids 0..n-1) made of the function's
own graph nodes followed by context graph nodes (enclosing class header, module-level
definitions it reads, callee definitions reached through call edges, possibly in
other files), within a node budget. It lists every candidate bug location with its
candidate repairs; for training samples one candidate is marked as the bug and one
of its repairs as the fix (or none: a no-bug sample).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Repair:
    """One way to change a candidate location.

    ``token`` names the repair in a small vocabulary shared by all units
    ("var", "swap", "op:+", "cmp:<=", "bool:or", "lit:0", "lit:True", "not:add",
    "not:remove", "assign:+=", ...). ``target`` is a unit-local graph node the
    repair points at (CG001: an occurrence of the replacement variable; CG002: the
    other argument), or -1. Applying it replaces bytes ``[start_byte, end_byte)``
    of file ``path_index`` with ``replacement``.
    """

    rule: str
    token: str
    replacement: str
    start_byte: int
    end_byte: int
    target: int = -1


@dataclass(slots=True)
class Candidate:
    """A place where a small plausible mistake could be, with its alternatives."""

    node: int  # unit-local graph node of the location
    rule: str  # the rule code its repairs belong to
    repairs: list[Repair] = field(default_factory=list)


@dataclass
class AnalysisUnit:
    """One function with context, as parallel lists over unit-local graph nodes."""

    path: str
    function: str  # qualified name
    node_type: list[str]
    node_text: list[str]
    node_kind: list[int]
    src: list[int]
    dst: list[int]
    edge_kind: list[int]
    #: per unit-local graph node: (index into ``paths``, graph node id in that file's CodeGraph)
    origin: list[tuple[int, int]]
    paths: list[str]
    #: number of leading graph nodes that belong to the function itself (the rest is context)
    num_function_nodes: int
    candidates: list[Candidate] = field(default_factory=list)
    bug: int = -1  # index into candidates, -1: no bug
    fix: int = -1  # index into candidates[bug].repairs, -1: none
    meta: dict[str, object] = field(default_factory=dict)

    @property
    def num_nodes(self) -> int:
        return len(self.node_type)
