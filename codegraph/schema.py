"""Graph node and edge kinds, and the CodeGraph that every later stage consumes.

A CodeGraph is built per file. Graph nodes are the named syntax nodes of the
tree-sitter tree plus the operator tokens (``+``, ``<``, ``and``, ``not`` ...);
punctuation, keywords and comments are left out. Every graph node keeps its source
range. Edges are typed by :class:`EdgeKind` and stored as three parallel lists so
that building and tensor conversion stay cheap.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum


class NodeKind(IntEnum):
    """What a graph node stands for."""

    SYNTAX = 0  # an inner syntax node (statement, expression, ...)
    TOKEN = 1  # a leaf: identifier, literal, operator


class EdgeKind(IntEnum):
    """Every edge kind of the code graph, each with its family: the builder module in
    :mod:`codegraph.edges` that makes it. Values are stable: checkpoints depend on them."""

    family: str

    def __new__(cls, value: int, family: str = "") -> EdgeKind:  # EdgeKind(3) looks a kind up
        member = int.__new__(cls, value)
        member._value_ = value
        member.family = family
        return member

    CHILD = 0, "syntax"  # parent syntax node -> child
    NEXT_SIBLING = 1, "syntax"  # child -> next child of the same parent
    NEXT_TOKEN = 2, "syntax"  # token -> next token in source order
    LAST_READ = 3, "dataflow"  # variable occurrence -> occurrences that may have been the last read of it
    LAST_WRITE = 4, "dataflow"  # variable occurrence -> occurrences that may have been the last write to it
    COMPUTED_FROM = 5, "dataflow"  # assigned name -> names read on the right-hand side
    OCCURRENCE = 6, "dataflow"  # occurrence -> next occurrence of the same variable (same binding)
    CONTROL_FLOW = 7, "controlflow"  # statement -> statement that may run next
    RETURNS_TO = 8, "controlflow"  # returned / yielded value -> its function definition
    CALLS = 9, "calls"  # call syntax node -> callee definition (function, method, class __init__)
    FORMAL_ARG_NAME = 10, "calls"  # argument -> parameter it binds in the callee (also project.py)


#: anonymous tree-sitter tokens that become graph nodes (operators the detector reasons about)
OPERATOR_TOKENS: frozenset[str] = frozenset(
    {
        "+", "-", "*", "/", "//", "%", "**", "<<", ">>", "&", "|", "^", "@", "~",
        "<", "<=", ">", ">=", "==", "!=", "<>", "in", "not in", "is", "is not",
        "and", "or", "not",
        "=", "+=", "-=", "*=", "/=", "//=", "%=", "**=", "<<=", ">>=", "&=", "|=", "^=", "@=",
        ":=",
    }
)  # fmt: skip

#: named tree-sitter types left out of the graph
SKIPPED_TYPES: frozenset[str] = frozenset({"comment", "string_start", "string_end", "line_continuation"})


@dataclass(frozen=True, slots=True)
class Span:
    """A source range: 0-based rows, byte columns, end exclusive."""

    start_byte: int
    end_byte: int
    start_row: int
    start_col: int
    end_row: int
    end_col: int


@dataclass(slots=True)
class FunctionInfo:
    """A function (or method, or lambda-free def) found in a file: the analysis unit."""

    qualname: str  # module.Class.method
    node: int  # graph node of the function_definition
    name_node: int  # graph node of its name identifier
    class_node: int | None  # graph node of the enclosing class_definition, if a method


@dataclass
class CodeGraph:
    """The code graph of one file.

    Per graph node (parallel lists indexed by graph node id):
    ``kind``, ``type`` (tree-sitter type or operator text), ``text`` (token text,
    empty for inner nodes), ``parent`` (-1 for the root), ``field_name`` (the field
    under the parent, or ``None``), ``children``, and the source range.
    Edges: ``src``, ``dst``, ``edge_kind`` parallel lists.
    """

    path: str
    module: str
    source: bytes
    kind: list[NodeKind] = field(default_factory=list)
    type: list[str] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    parent: list[int] = field(default_factory=list)
    field_name: list[str | None] = field(default_factory=list)
    children: list[list[int]] = field(default_factory=list)
    start_byte: list[int] = field(default_factory=list)
    end_byte: list[int] = field(default_factory=list)
    start_point: list[tuple[int, int]] = field(default_factory=list)
    end_point: list[tuple[int, int]] = field(default_factory=list)
    subtree_end: list[int] = field(default_factory=list)  # one past the last descendant
    src: list[int] = field(default_factory=list)
    dst: list[int] = field(default_factory=list)
    edge_kind: list[EdgeKind] = field(default_factory=list)
    functions: list[FunctionInfo] = field(default_factory=list)
    has_error: bool = False

    @property
    def num_nodes(self) -> int:
        return len(self.type)

    @property
    def num_edges(self) -> int:
        return len(self.src)

    def add_edges(self, edges: list[tuple[int, int, EdgeKind]]) -> None:
        for s, d, k in edges:
            self.src.append(s)
            self.dst.append(d)
            self.edge_kind.append(k)

    def edges_of(self, kind: EdgeKind) -> list[tuple[int, int]]:
        """All (src, dst) pairs of one edge kind, in insertion order."""
        return [(s, d) for s, d, k in zip(self.src, self.dst, self.edge_kind) if k == kind]

    def span(self, node: int) -> Span:
        (sr, sc), (er, ec) = self.start_point[node], self.end_point[node]
        return Span(self.start_byte[node], self.end_byte[node], sr, sc, er, ec)

    def node_source(self, node: int) -> str:
        return self.source[self.start_byte[node] : self.end_byte[node]].decode("utf-8", "replace")

    def child_by_field(self, node: int, name: str) -> int | None:
        for c in self.children[node]:
            if self.field_name[c] == name:
                return c
        return None

    def children_by_field(self, node: int, name: str) -> list[int]:
        return [c for c in self.children[node] if self.field_name[c] == name]

    def descendants(self, node: int) -> range:
        """Graph nodes are numbered in preorder, so a subtree is a contiguous range."""
        return range(node, self.subtree_end[node])

    def label(self, node: int) -> str:
        """A short human label: the token text, or the syntax type."""
        return self.text[node] or self.type[node]
