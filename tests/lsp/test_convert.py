"""Finding -> Diagnostic / CodeAction / Hover, and positions in every encoding."""

from __future__ import annotations

import pytest
from lsprotocol import types

from codegraph.config import DEFAULT_MIN_CONFIDENCE
from codegraph.findings import Finding, Fix, Related
from codegraph.lsp import convert
from codegraph.lsp.convert import LineIndex

TEXT = "def f(a, b):\n    s = '😀é'; return a + a\n"
#                         columns:  1234567 8 9...   (code points, 1-based)


def finding(**kw: object) -> Finding:
    line = TEXT.splitlines()[1]
    col = line.index("a + a") + 1 + 4  # the second `a`
    base = dict(
        path="/ws/m.py", line=2, column=col, end_line=2, end_column=col + 1, rule="CG001",
        name="variable-misuse", message="`a` is used here, but `b` looks intended", confidence=0.98,
        function="m.f", fix=Fix(2, col, 2, col + 1, "b"),
        related=(Related("/ws/m.py", 1, 10, "`b` is defined or last used here"),),
    )  # fmt: skip
    base.update(kw)
    return Finding(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("encoding", "expected"),
    [("utf-16", 26), ("utf-8", 29), ("utf-32", 25)],
)
def test_columns_after_non_ascii_text_follow_the_encoding(encoding: str, expected: int) -> None:
    f = finding()
    index = LineIndex(TEXT, encoding)
    # '😀' is 2 UTF-16 units / 4 UTF-8 bytes, 'é' is 1 / 2
    assert f.column - 1 == 25
    pos = index.position(f.line, f.column)
    assert (pos.line, pos.character) == (1, expected)
    assert index.code_point_column(pos) == f.column


def test_unknown_encoding_means_utf16() -> None:
    assert convert.normalize_encoding(None) == "utf-16"
    assert convert.normalize_encoding(types.PositionEncodingKind.Utf8) == "utf-8"
    assert convert.normalize_encoding("latin-1") == "utf-16"


def test_positions_beyond_the_text_are_clamped() -> None:
    index = LineIndex("ab\ncd", "utf-16")
    assert index.position(9, 1) == types.Position(1, 2)
    assert index.position(1, 99) == types.Position(0, 2)


def test_diagnostic_carries_source_code_fix_and_evidence() -> None:
    index = LineIndex(TEXT, "utf-16")
    diag = convert.to_diagnostic(finding(), index, 7, lambda p: "file://" + p, lambda p: index)
    assert diag.source == "codegraph" and diag.code == "CG001"
    assert diag.range == types.Range(types.Position(1, 26), types.Position(1, 27))
    assert diag.severity == types.DiagnosticSeverity.Warning
    assert diag.data["version"] == 7
    assert diag.data["fix"]["newText"] == "b"
    (rel,) = diag.related_information or []
    assert rel.location.uri == "file:///ws/m.py"
    # the related range covers the identifier `b` at line 1, column 10
    assert rel.location.range == types.Range(types.Position(0, 9), types.Position(0, 10))


def test_below_the_default_threshold_is_information() -> None:
    index = LineIndex(TEXT)
    for confidence in (0.2, DEFAULT_MIN_CONFIDENCE - 0.01):
        diag = convert.to_diagnostic(finding(confidence=confidence), index, 1, str, lambda p: None)
        assert diag.severity == types.DiagnosticSeverity.Information
    diag = convert.to_diagnostic(finding(confidence=DEFAULT_MIN_CONFIDENCE), index, 1, str, lambda p: None)
    assert diag.severity == types.DiagnosticSeverity.Warning


def _apply(text: str, edit: types.TextEdit, encoding: str = "utf-16") -> str:
    index = LineIndex(text, encoding)
    lines = text.split("\n")

    def offset(pos: types.Position) -> int:
        return sum(len(line) + 1 for line in lines[: pos.line]) + index.code_point_column(pos) - 1

    return text[: offset(edit.range.start)] + edit.new_text + text[offset(edit.range.end) :]


def _edits(action: types.CodeAction) -> list[types.TextEdit]:
    assert action.edit is not None
    if action.edit.document_changes:
        (change,) = action.edit.document_changes
        assert isinstance(change, types.TextDocumentEdit)
        return list(change.edits)  # type: ignore[arg-type]
    assert action.edit.changes is not None
    return list(action.edit.changes["file:///ws/m.py"])


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8", "utf-32"])
def test_quick_fix_applies_the_repair(encoding: str) -> None:
    index = LineIndex(TEXT, encoding)
    diag = convert.to_diagnostic(finding(), index, 3, str, lambda p: index)
    actions = convert.code_actions([diag], "file:///ws/m.py", 3, index, document_changes=True)
    fix, noqa = actions
    assert fix.kind == types.CodeActionKind.QuickFix and fix.is_preferred
    assert "Replace `a` with `b`" in fix.title
    change = fix.edit.document_changes[0]  # type: ignore[index, union-attr]
    assert change.text_document.version == 3  # type: ignore[union-attr]
    (edit,) = _edits(fix)
    assert _apply(TEXT, edit, encoding) == TEXT.replace("a + a", "a + b")
    (edit,) = _edits(noqa)
    assert _apply(TEXT, edit, encoding).splitlines()[1].endswith("return a + a  # noqa: CG001")


def test_stale_diagnostics_get_no_actions() -> None:
    index = LineIndex(TEXT)
    diag = convert.to_diagnostic(finding(), index, 3, str, lambda p: index)
    assert convert.code_actions([diag], "file:///ws/m.py", 4, index, document_changes=False) == []


def test_without_document_changes_the_edit_uses_changes() -> None:
    index = LineIndex(TEXT)
    diag = convert.to_diagnostic(finding(), index, 3, str, lambda p: index)
    fix = convert.code_actions([diag], "file:///ws/m.py", 3, index, document_changes=False)[0]
    assert fix.edit is not None and fix.edit.document_changes is None
    assert list(fix.edit.changes or {}) == ["file:///ws/m.py"]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("x = a + a", "x = a + a  # noqa: CG001"),
        ("x = a + a   ", "x = a + a  # noqa: CG001"),
        ("x = a + a  # noqa: CG003", "x = a + a  # noqa: CG001, CG003"),
        ("x = a + a  # why  # noqa:CG004,CG002", "x = a + a  # why  # noqa:CG001, CG002, CG004"),
        ("x = a + a  # noqa: CG001", None),
        ("x = a + a  # noqa", None),
    ],
)
def test_noqa_is_appended_or_merged(line: str, expected: str | None) -> None:
    index = LineIndex(line)
    edit = convert.noqa_edit(line, 0, "CG001", index)
    if expected is None:
        assert edit is None
    else:
        assert edit is not None and _apply(line, edit) == expected


def test_no_noqa_inside_a_multiline_string_or_after_a_backslash() -> None:
    text = 'def f(a, b):\n    s = a + """\n    text"""\n    t = a + \\\n        b\n'
    index = LineIndex(text)
    for line in (2, 4):
        diag = types.Diagnostic(
            range=types.Range(types.Position(line - 1, 8), types.Position(line - 1, 9)),
            message="m", source="codegraph", code="CG001", data={"version": 1, "line": line},
        )  # fmt: skip
        assert convert.noqa_action(diag, "u", 1, index, True) is None


def test_hover_explains_rule_confidence_and_fix() -> None:
    index = LineIndex(TEXT)
    diag = convert.to_diagnostic(finding(), index, 1, lambda p: "file://" + p, lambda p: index)
    hover = convert.hover([diag], types.Position(1, 26))
    assert hover is not None and isinstance(hover.contents, types.MarkupContent)
    text = hover.contents.value
    assert "CG001 variable-misuse" in text and "98%" in text
    assert "Proposed repair: `b`" in text and "m.py:1" in text
    assert "in-scope variable" in text  # the rule's summary
    assert convert.hover([diag], types.Position(0, 0)) is None


def test_a_diagnostic_with_broken_data_gets_no_action() -> None:
    index = LineIndex(TEXT)
    diag = convert.to_diagnostic(finding(), index, 3, str, lambda p: index)
    diag.data = {"version": 3, "fix": {"range": {"start": {}}, "newText": "b"}, "line": "x"}
    assert convert.code_actions([diag], "file:///ws/m.py", 3, index, document_changes=True) == []


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8", "utf-32"])
def test_every_column_agrees_with_the_position_codec(encoding: str) -> None:
    from pygls.workspace.position_codec import PositionCodec, ServerTextPosition

    index = LineIndex(TEXT, encoding)
    codec = PositionCodec(types.PositionEncodingKind(encoding))
    lines = TEXT.split("\n")
    for row, line in enumerate(lines):
        for col in range(len(line) + 3):  # ASCII prefixes, non-ASCII ones, and beyond the end
            expected = codec.position_to_client_units(lines, ServerTextPosition(row, col))
            assert index.position(row + 1, col + 1) == expected
