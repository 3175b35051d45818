"""Source bytes -> tree-sitter Tree, and incremental re-parse for the editor.

Parsing is error-tolerant: tree-sitter always returns a tree, with ``ERROR`` syntax
nodes around what does not parse, so later stages analyse everything that does. Where
its recovery swallows the rest of the file (an unclosed bracket can do that),
:func:`parse_recovering` re-parses with the broken top-level statement blanked out, so
that the definitions after a syntax error are analysed too.
"""

from __future__ import annotations

import bisect
import codecs
import io
import re
import tokenize
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import tree_sitter_python
from tree_sitter import Language, Node, Parser, Point, Tree


class SourceError(ValueError):
    """The input cannot be analysed as Python source (binary, not UTF-8)."""


@lru_cache(maxsize=1)
def language() -> Language:
    return Language(tree_sitter_python.language())


def new_parser() -> Parser:
    return Parser(language())


def check_source(source: bytes) -> None:
    """Reject input that is not Python text: NUL bytes or invalid UTF-8."""
    if b"\x00" in source[:8192] or b"\x00" in source:
        raise SourceError("binary file (contains NUL bytes)")
    try:
        source.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SourceError(f"not UTF-8 text (invalid byte at offset {exc.start})") from None


def source_encoding(source: bytes) -> str:
    """The encoding Python reads ``source`` with: a PEP 263 coding declaration, a UTF-8 BOM
    ("utf-8-sig"), else UTF-8. Raises :class:`SourceError` for an unknown declared encoding."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(source).readline)
    except SyntaxError as exc:
        if "unknown encoding" in str(exc):
            raise SourceError(f"{exc.msg}") from None
        return "utf-8"  # undecodable first lines without a declaration: check_source says where
    return encoding


def decode_source(source: bytes) -> tuple[str, str]:
    """``(text, encoding)`` of a file's bytes as Python decodes them (PEP 263); the text has no BOM.

    Writing ``text.encode(encoding)`` back gives the file's own encoding (and BOM) again.
    Raises :class:`SourceError` for binary input or bytes invalid in the encoding.
    """
    if b"\x00" in source:
        raise SourceError("binary file (contains NUL bytes)")
    encoding = source_encoding(source)
    try:
        text = source.decode(encoding)
    except UnicodeDecodeError as exc:
        what = "UTF-8" if codecs.lookup(encoding).name in ("utf-8", "utf-8-sig") else encoding
        raise SourceError(f"not {what} text (invalid byte at offset {exc.start})") from None
    return text, encoding


def utf8_source(source: bytes) -> bytes:
    """A file's bytes as the UTF-8 that tree-sitter and the graph read (PEP 263 declarations and a
    BOM honoured: columns count the characters Python sees). Raises :class:`SourceError`."""
    encoding = source_encoding(source)
    if encoding == "utf-8":
        check_source(source)
        return source
    return decode_source(source)[0].encode("utf-8")


def read_source(path: str | Path) -> bytes:
    """The UTF-8 source of a file on disk (see :func:`utf8_source`). Raises OSError, SourceError."""
    return utf8_source(Path(path).read_bytes())


def parse(source: bytes, parser: Parser | None = None) -> Tree:
    """Parse Python source bytes. Raises :class:`SourceError` for binary or non-UTF-8 input."""
    check_source(source)
    return (parser or new_parser()).parse(source)


#: a line that begins a top-level definition (column 0): ``def``, ``async def``, ``class``, a decorator
_TOP_DEFINITION = re.compile(rb"^(?:(?:async[ \t]+)?def[ \t]|class[ \t]|@)", re.M)
_DEFINITIONS = frozenset({"function_definition", "class_definition", "decorated_definition"})
#: re-parses at most per file (each one recovers at least one top-level definition)
MAX_RECOVERIES = 64


def _first_error(node: Node) -> Node | None:
    """The first ERROR or missing syntax node below ``node``, in source order."""
    cursor = node.walk()
    while True:
        n = cursor.node
        assert n is not None
        if n != node and (n.type == "ERROR" or n.is_missing):
            return n
        if n.has_error and cursor.goto_first_child():
            continue
        while not cursor.goto_next_sibling():
            if not cursor.goto_parent() or cursor.node == node:
                return None


def _complete(node: Node) -> bool:
    return not node.has_error and (node.type in _DEFINITIONS or node.type.endswith("_statement"))


def _statement_start(holder: Node) -> int:
    """The first row of the broken top-level statement in ``holder`` (a child of the module):
    the holder itself, or in an ERROR node, the first of the syntax nodes that follow the last
    complete statement before its first error."""
    error = _first_error(holder)
    if holder.type != "ERROR" or error is None:
        return int(holder.start_point.row)
    part = error
    while part.parent is not None and part.parent != holder:
        part = part.parent
    children = holder.children
    j = next(i for i, c in enumerate(children) if c == part)
    while j > 0 and not _complete(children[j - 1]):
        j -= 1
    return int(children[j].start_point.row)


def _in_string(root: Node, row: int) -> bool:
    node = root.descendant_for_point_range((row, 0), (row, 0))
    while node is not None:
        if node.type == "string":
            return True
        node = node.parent
    return False


def _swallowed_region(source: bytes, tree: Tree, after: int) -> tuple[int, int] | None:
    """Rows ``[start, end)`` to blank out so that the top-level definition at row ``end``, which
    the error recovery swallowed, parses again; None when no such definition follows the error."""
    root = tree.root_node
    line_starts = [0] + [m.end() for m in re.finditer(b"\n", source)]
    for m in _TOP_DEFINITION.finditer(source):
        row = bisect.bisect_right(line_starts, m.start()) - 1
        if row <= after or _in_string(root, row):
            continue
        holder = root.descendant_for_point_range((row, 0), (row, 0))
        while holder is not None and holder.parent is not None and holder.parent != root:
            holder = holder.parent
        if holder is None or holder == root or not (holder.type == "ERROR" or holder.has_error):
            continue
        if holder.type in _DEFINITIONS and holder.start_point.row == row:
            continue  # parsed as a definition of its own (its error lies inside it)
        start = _statement_start(holder)
        if start >= row:
            continue
        return start, row
    return None


def parse_recovering(source: bytes, parser: Parser | None = None) -> tuple[Tree, bool]:
    """Parse ``source``; where a syntax error swallows the top-level definitions after it (tree-sitter
    can wrap the rest of the file in one ERROR node), re-parse with the broken top-level statement
    blanked out (spaces, line ends kept: byte offsets and positions stay those of ``source``), so
    that the definitions that follow are analysed. Returns the tree and whether ``source`` had a
    syntax error. The tree's node texts outside blanked regions are those of ``source``."""
    parser = parser or new_parser()
    tree = parse(source, parser)
    had_error = tree.root_node.has_error
    patched, after = source, -1
    for _ in range(MAX_RECOVERIES if had_error else 0):
        region = _swallowed_region(patched, tree, after)
        if region is None:
            break
        start, end = region
        lines = patched.split(b"\n")
        for row in range(start, end):
            lines[row] = re.sub(rb"[^\r]", b" ", lines[row])
        patched = b"\n".join(lines)
        tree, after = parser.parse(patched), end - 1
        if not tree.root_node.has_error:
            break
    return tree, had_error


def _point_after(source: bytes, offset: int) -> Point:
    row = source.count(b"\n", 0, offset)
    line_start = source.rfind(b"\n", 0, offset) + 1
    return Point(row, offset - line_start)


@dataclass(frozen=True)
class ByteRange:
    start_byte: int
    end_byte: int
    start_row: int
    end_row: int


class IncrementalDocument:
    """A document that is re-parsed incrementally after each edit.

    ``edit(start, old_end, new_text)`` replaces bytes ``[start, old_end)`` by
    ``new_text``, re-parses reusing the old tree, and returns the ranges whose
    syntactic structure changed (tree-sitter's ``changed_ranges``) together with the
    edited range itself.
    """

    def __init__(self, source: bytes) -> None:
        self._parser = new_parser()
        self.source = source
        self.tree = parse(source, self._parser)

    def edit(self, start: int, old_end: int, new_text: bytes) -> list[ByteRange]:
        if not 0 <= start <= old_end <= len(self.source):
            raise ValueError(f"edit range {start}..{old_end} outside document of {len(self.source)} bytes")
        old = self.source
        new = old[:start] + new_text + old[old_end:]
        check_source(new)
        new_end = start + len(new_text)
        self.tree.edit(
            start_byte=start,
            old_end_byte=old_end,
            new_end_byte=new_end,
            start_point=_point_after(old, start),
            old_end_point=_point_after(old, old_end),
            new_end_point=_point_after(new, new_end),
        )
        new_tree = self._parser.parse(new, self.tree)
        ranges = [
            ByteRange(r.start_byte, r.end_byte, r.start_point.row, r.end_point.row)
            for r in self.tree.changed_ranges(new_tree)
        ]
        ranges.append(ByteRange(start, new_end, _point_after(new, start).row, _point_after(new, new_end).row))
        self.tree = new_tree
        self.source = new
        return ranges
