"""Source bytes -> tree-sitter Tree, and incremental re-parse for the editor.

Parsing is error-tolerant: tree-sitter always returns a tree, with ``ERROR`` syntax
nodes around what does not parse, so later stages analyse everything that does.
"""

from __future__ import annotations

import codecs
import io
import tokenize
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import tree_sitter_python
from tree_sitter import Language, Parser, Point, Tree


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
