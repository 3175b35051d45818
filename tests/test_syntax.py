"""Parsing, error tolerance and incremental re-parse."""

import pytest

from codegraph.syntax import IncrementalDocument, SourceError, parse


def test_parse_valid_source_has_no_error():
    tree = parse(b"def f(a):\n    return a\n")
    assert tree.root_node.type == "module"
    assert not tree.root_node.has_error


def test_syntax_error_still_yields_a_tree_with_the_parts_that_parse():
    tree = parse(b"def ok(x):\n    return x\n\ndef broken(:\n    pass\n")
    assert tree.root_node.has_error
    kinds = [c.type for c in tree.root_node.children]
    assert kinds[0] == "function_definition"


@pytest.mark.parametrize(
    ("data", "message"),
    [(b"\x00\x01\x02binary", "binary"), (b"x = '\xff\xfe'\n", "not UTF-8")],
)
def test_binary_and_non_utf8_are_rejected_with_a_clear_error(data, message):
    with pytest.raises(SourceError, match=message):
        parse(data)


def test_incremental_edit_reports_changed_ranges_and_matches_a_fresh_parse():
    source = b"def f(a, b):\n    return a + b\n\n\ndef g(c):\n    return c\n"
    doc = IncrementalDocument(source)
    start = source.index(b"a + b")
    ranges = doc.edit(start, start + 1, b"b")
    assert doc.source == source.replace(b"a + b", b"b + b")
    assert str(doc.tree.root_node) == str(parse(doc.source).root_node)
    rows = {r.start_row for r in ranges}
    assert 1 in rows
    assert all(r.start_row < 4 for r in ranges)


def test_incremental_edit_that_breaks_syntax_then_repairs_it():
    doc = IncrementalDocument(b"x = 1\ny = 2\n")
    doc.edit(4, 5, b"(")
    assert doc.tree.root_node.has_error
    doc.edit(4, 5, b"3")
    assert not doc.tree.root_node.has_error
    assert doc.source == b"x = 3\ny = 2\n"


def test_edit_outside_document_is_an_error():
    doc = IncrementalDocument(b"x = 1\n")
    with pytest.raises(ValueError, match="outside"):
        doc.edit(3, 99, b"")
