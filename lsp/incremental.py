"""Function-level incremental analysis: after an edit, analyse only what the edit can have changed.

A file's *layout* is its outermost functions (functions not nested in another function;
methods count) with their body blocks, and its *skeleton*: the text with those blocks
cut out (imports, module statements, class headers, decorators and every ``def``
line). When an edit leaves the skeleton as it was, only function bodies changed:

* *dirty* functions are the outermost functions whose body text changed, and the ones
  that call them by name (a unit's context holds the start of each callee's body);
* every other function keeps its findings, moved by the number of lines inserted or
  removed above it (a finding whose evidence lies in a dirty body is recomputed);
* the dirty functions are analysed in a *reduced* copy of the file where the functions
  they do not name are blanked out byte for byte (every character but line breaks
  becomes a space): module-level functions far from the dirty ones down to a ``...``
  statement in their place (decorators included; the statement keeps the module's
  control flow as it was), the nearest ones (whose names a unit's name candidates may
  offer) and methods down to their signature (a class header lists its methods'
  signatures) and a ``...`` body.
  Lines, columns and byte offsets stay those of the real text, while the graph to build
  shrinks to the module statements, the classes and a few functions. A dirty
  function's unit sees the same context there as in the whole file: it only takes
  module-level definitions of the names it uses, its class header, and the functions
  it calls (see :mod:`codegraph.context`); ``tests/lsp/test_incremental.py`` checks
  that the units are identical.

Anything else (a changed skeleton, a syntax error, new settings, a file changed
elsewhere) is a full analysis; the prediction cache (:mod:`codegraph.lsp.cache`) keeps
even that from running the model on functions whose unit did not change.
"""

from __future__ import annotations

import bisect
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache

from tree_sitter import Node, Query, QueryCursor, Tree

from codegraph.findings import Finding, Fix, Related
from codegraph.syntax import language, parse

_FUNCTIONS = "(function_definition name: (identifier) @name body: (block) @body) @function"
_IDENTIFIERS = "(identifier) @id"
#: the methods a call of the class itself runs (a unit's callee context follows them)
CONSTRUCTORS = frozenset({"__init__", "__new__", "__post_init__", "__call__"})
_NOT_A_LINE_BREAK = re.compile(rb"[^\r\n]")
#: module-level functions kept as signatures on each side of a dirty function (at least
#: ``cg001``'s ``MAX_NAME_REPAIRS``: the names a unit's name candidates come from)
NEAR_DEFINITIONS = 12
_CALLS = """
(call function: (identifier) @callee)
(call function: (attribute attribute: (identifier) @callee))
"""


@lru_cache(maxsize=1)
def _queries() -> tuple[Query, Query, Query]:
    return Query(language(), _FUNCTIONS), Query(language(), _CALLS), Query(language(), _IDENTIFIERS)


@dataclass(frozen=True, slots=True)
class FunctionSpan:
    """One outermost function: its bytes and rows (end inclusive), its body block, what it calls.

    ``outer_start`` is where its decorators begin (``start_byte`` without any);
    ``module_level``: defined directly in the module (not in a class or an ``if``);
    ``owner``: the name of the class it is a method of ("" for others).
    """

    name: str
    start_byte: int
    end_byte: int
    start_row: int
    end_row: int
    block_start: int
    block_end: int
    calls: frozenset[str]
    outer_start: int
    module_level: bool
    owner: str = ""


@dataclass(frozen=True)
class Layout:
    """The outermost functions of one text, its skeleton's digest, and whether it parsed cleanly."""

    source: bytes
    functions: tuple[FunctionSpan, ...]
    skeleton: bytes
    has_error: bool
    tree: Tree | None = field(default=None, compare=False, repr=False)

    def names_in(self, start: int, end: int) -> set[str]:
        """Every identifier between two byte offsets."""
        if self.tree is None:
            return set()
        cursor = QueryCursor(_queries()[2])
        cursor.set_byte_range(start, end)
        return {_text(n) for n in cursor.captures(self.tree.root_node).get("id", [])}

    @cached_property
    def start_rows(self) -> list[int]:
        return [f.start_row for f in self.functions]

    @cached_property
    def end_rows(self) -> list[int]:
        return [f.end_row for f in self.functions]

    @cached_property
    def start_bytes(self) -> list[int]:
        return [f.start_byte for f in self.functions]

    @cached_property
    def module_names(self) -> frozenset[str]:
        """The names bound at module level: functions, classes, assignment targets, imports
        (found in the statements outside function and class bodies)."""
        if self.tree is None:
            return frozenset()
        names: set[str] = set()
        _bound_names(self.tree.root_node, names)
        return frozenset(names)

    def block(self, i: int) -> bytes:
        f = self.functions[i]
        return self.source[f.block_start : f.block_end]


def layout(source: bytes) -> Layout:
    """The layout of ``source`` (raises codegraph.syntax.SourceError for binary / non-UTF-8 text)."""
    tree = parse(source)
    functions_q, calls_q, _ = _queries()
    calls: list[tuple[int, str]] = sorted(
        (n.start_byte, _text(n)) for n in QueryCursor(calls_q).captures(tree.root_node).get("callee", [])
    )
    call_starts = [b for b, _ in calls]
    spans: list[FunctionSpan] = []
    matches = sorted(
        QueryCursor(functions_q).matches(tree.root_node), key=lambda m: m[1]["function"][0].start_byte
    )
    outer_end = -1
    for _, caps in matches:
        fn: Node = caps["function"][0]
        if fn.start_byte < outer_end:  # nested in the previous outermost function
            continue
        outer_end = fn.end_byte
        body: Node = caps["body"][0]
        parent = fn.parent
        decorated = parent is not None and parent.type == "decorated_definition"
        outer = parent if decorated and parent is not None else fn
        lo, hi = bisect.bisect_left(call_starts, fn.start_byte), bisect.bisect_left(call_starts, fn.end_byte)
        spans.append(
            FunctionSpan(
                name=_text(caps["name"][0]),
                start_byte=fn.start_byte,
                end_byte=fn.end_byte,
                start_row=fn.start_point.row,
                end_row=fn.end_point.row,
                block_start=body.start_byte,
                block_end=body.end_byte,
                calls=frozenset(name for _, name in calls[lo:hi]),
                outer_start=outer.start_byte,
                module_level=outer.parent is not None and outer.parent.type == "module",
                owner=_owner(outer),
            )
        )
    skeleton = hashlib.blake2b(digest_size=16)
    pos = 0
    for f in spans:
        skeleton.update(source[pos : f.block_start])
        skeleton.update(b"\0")
        pos = f.block_end
    skeleton.update(source[pos:])
    return Layout(source, tuple(spans), skeleton.digest(), tree.root_node.has_error, tree)


#: statements whose blocks still belong to the module's scope
_COMPOUND = frozenset(
    {"if_statement", "elif_clause", "else_clause", "try_statement", "except_clause", "finally_clause",
     "with_statement", "for_statement", "while_statement", "block", "decorated_definition", "match_statement",
     "case_clause"}
)  # fmt: skip
_TARGETS = frozenset({"assignment", "augmented_assignment", "named_expression", "for_statement", "with_item"})


def _bound_names(scope: Node, out: set[str]) -> None:
    """Collect the names that the statements of a module-level scope bind (not descending into
    function or class bodies)."""
    for child in scope.named_children:
        kind = child.type
        if kind in ("function_definition", "class_definition"):
            name = child.child_by_field_name("name")
            if name is not None:
                out.add(_text(name))
        elif kind in ("import_statement", "import_from_statement", "future_import_statement"):
            for sub in child.named_children:
                if sub.type == "aliased_import":
                    alias = sub.child_by_field_name("alias")
                    if alias is not None:
                        out.add(_text(alias))
                elif sub.type == "dotted_name" and sub != child.child_by_field_name("module_name"):
                    out.add(_text(sub).split(".")[0])
        elif kind == "expression_statement":
            for expr in child.named_children:
                if expr.type in _TARGETS:
                    target = expr.child_by_field_name("left") or expr.child_by_field_name("name")
                    if target is not None:
                        out |= {_text(n) for n in _identifiers(target)}
        if kind in _COMPOUND or kind in ("for_statement", "with_statement"):
            if kind == "for_statement":
                left = child.child_by_field_name("left")
                if left is not None:
                    out |= {_text(n) for n in _identifiers(left)}
            _bound_names(child, out)


def _identifiers(node: Node) -> list[Node]:
    if node.type == "identifier":
        return [node]
    return [n for c in node.named_children for n in _identifiers(c)]


def _owner(definition: Node) -> str:
    """The name of the class whose body holds ``definition`` ("" when it is not a method)."""
    block = definition.parent
    cls = block.parent if block is not None and block.type == "block" else None
    name = cls.child_by_field_name("name") if cls is not None and cls.type == "class_definition" else None
    return _text(name) if name is not None else ""


def _text(node: Node) -> str:
    return (node.text or b"").decode("utf-8", "replace")


@dataclass(frozen=True)
class Plan:
    """What to analyse again after an edit, and how old rows move."""

    old: Layout
    new: Layout
    dirty: frozenset[int]  # indices into new.functions

    def dirty_spans(self) -> list[tuple[int, int]]:
        return [
            (self.new.functions[i].start_byte, self.new.functions[i].end_byte) for i in sorted(self.dirty)
        ]

    def is_dirty_byte(self, offset: int) -> bool:
        return any(start <= offset < end for start, end in self.dirty_spans())

    def row(self, old_row: int) -> int | None:
        """Where 1-based ``old_row`` of the old text is now (None: inside a dirty function)."""
        return _map_row(self.old, self.new, self.dirty, old_row)

    def reduced_source(self) -> bytes:
        """The new text with the functions that the dirty ones do not depend on blanked out (same
        length, same line breaks): each down to its decorators, its signature and a ``...`` body,
        so the names it binds (the module's functions, a class's methods) stay bound; module-level
        functions farther than :data:`NEAR_DEFINITIONS` from every dirty one down to a ``...``
        statement in their place (no unit of a dirty function holds their names).

        A function stays when a dirty function names it (a callee, or a class whose constructor
        it calls), or when it mentions a module-level name that a dirty function uses too: the
        graph chains the occurrences of such a name through the whole file, and the unit holds
        the name's definition.
        """
        new = self.new
        named: set[str] = set()
        for i in self.dirty:
            named |= new.names_in(new.functions[i].start_byte, new.functions[i].end_byte)
        keep = set(self.dirty)
        keep |= {
            i
            for i, f in enumerate(new.functions)
            if f.name in named or (f.owner in named and f.name in CONSTRUCTORS)
        }
        for name in sorted(named & new.module_names):
            pattern = re.compile(rb"(?<![\w.])" + re.escape(name.encode()) + rb"(?!\w)")
            for m in pattern.finditer(new.source):
                home = _function_at_byte(new, m.start())
                if home is not None:
                    keep.add(home)
        out = bytearray(new.source)
        near = self._near_module_functions()
        for i, f in enumerate(new.functions):
            if i in keep:
                continue
            if f.module_level and i not in near:  # its name is in no dirty unit: the whole definition
                _blank(out, f.outer_start, f.end_byte)
            else:
                _blank(out, f.block_start, f.block_end)
        return bytes(out)

    def _near_module_functions(self) -> set[int]:
        """The module-level functions among the :data:`NEAR_DEFINITIONS` nearest to each dirty
        function on either side: a unit's name candidates are module-level names near its
        function (``cg001``'s ``_names``), so their definitions stay; farther ones and the names
        they bind are not in any dirty unit."""
        functions = self.new.functions
        module = [i for i, f in enumerate(functions) if f.module_level]
        starts = [functions[i].start_byte for i in module]
        near: set[int] = set()
        for d in self.dirty:
            k = bisect.bisect_left(starts, functions[d].start_byte)
            near.update(module[max(0, k - NEAR_DEFINITIONS) : k + NEAR_DEFINITIONS + 1])
        return near


def _function_at_byte(layout: Layout, offset: int) -> int | None:
    i = bisect.bisect_right(layout.start_bytes, offset) - 1
    if i >= 0 and layout.functions[i].outer_start <= offset < layout.functions[i].end_byte:
        return i
    if i + 1 < len(layout.functions) and layout.functions[i + 1].outer_start <= offset:
        return i + 1  # in the decorators of the next function
    return None


def _function_at(layout: Layout, row0: int) -> int | None:
    """Index of the outermost function whose rows hold 0-based ``row0``."""
    i = bisect.bisect_right(layout.start_rows, row0) - 1
    if i >= 0 and layout.functions[i].start_row <= row0 <= layout.functions[i].end_row:
        return i
    return None


def _map_row(old: Layout, new: Layout, dirty: frozenset[int], old_row: int) -> int | None:
    row0 = old_row - 1
    i = _function_at(old, row0)
    if i is not None:
        if i in dirty:
            return None
        return old_row + new.functions[i].start_row - old.functions[i].start_row
    # in the skeleton: moved by the line delta of the functions above
    before = bisect.bisect_right(old.end_rows, row0) - 1
    if before < 0:
        return old_row
    return old_row + new.functions[before].end_row - old.functions[before].end_row


def plan(old: Layout, new: Layout, old_findings: Sequence[Finding], path: str) -> Plan | None:
    """The functions to analyse again, or None when the whole file must be analysed."""
    if new.has_error or old.has_error or old.skeleton != new.skeleton:
        return None
    if len(old.functions) != len(new.functions):
        return None
    changed = {i for i in range(len(new.functions)) if old.block(i) != new.block(i)}
    names = {new.functions[i].name for i in changed}
    dirty = set(changed) | {i for i, f in enumerate(new.functions) if f.calls & names}
    # a finding whose evidence lies in a dirty function depends on changed text: recompute it too
    for f in old_findings:
        home = _function_at(old, f.line - 1)
        if home is None or home in dirty:
            continue
        rows = [r.line for r in f.related if r.path == path]
        if any(_function_at(old, r - 1) in dirty for r in rows):
            dirty.add(home)
    return Plan(old, new, frozenset(dirty))


def carry(plan: Plan, findings: Sequence[Finding], path: str, dirty_functions: set[str]) -> list[Finding]:
    """The old findings of functions that were not analysed again, moved to their new rows."""
    out: list[Finding] = []
    for f in findings:
        if f.function in dirty_functions:
            continue
        moved = _moved(plan, f, path)
        if moved is not None:
            out.append(moved)
    return out


def _moved(plan: Plan, f: Finding, path: str) -> Finding | None:
    line, end_line = plan.row(f.line), plan.row(f.end_line)
    if line is None or end_line is None:
        return None
    fix = f.fix
    if fix is not None:
        fl, fel = plan.row(fix.line), plan.row(fix.end_line)
        if fl is None or fel is None:
            return None
        fix = Fix(fl, fix.column, fel, fix.end_column, fix.replacement)
    related: list[Related] = []
    for r in f.related:
        if r.path != path:
            related.append(r)
            continue
        rl = plan.row(r.line)
        if rl is None:
            return None
        related.append(replace(r, line=rl))
    return replace(f, line=line, end_line=end_line, fix=fix, related=tuple(related))


def _blank(buf: bytearray, start: int, end: int) -> None:
    """Replace ``buf[start:end]`` by spaces (line breaks kept) and one statement: ``...`` (or ``0``
    where the first line is shorter)."""
    buf[start:end] = _NOT_A_LINE_BREAK.sub(b" ", bytes(buf[start:end]))
    line_end = buf.find(b"\n", start, end)
    stop = line_end if line_end >= 0 else end
    if stop > start and buf[stop - 1] == 0x0D:
        stop -= 1
    room = stop - start
    if room >= 3:
        buf[start : start + 3] = b"..."
    elif room >= 1:
        buf[start] = ord("0")
