"""Findings -> LSP objects: Diagnostic, CodeAction and Hover, in the negotiated position encoding.

The pipeline reports 1-based lines and 1-based columns counted in code points, ends
exclusive. LSP positions are 0-based and, unless the client negotiated otherwise
(``general.positionEncodings``), count UTF-16 code units. :class:`LineIndex` does
that conversion for one text; everything else here is pure data shaping.
"""

from __future__ import annotations

import io
import re
import tokenize
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from lsprotocol import types
from pygls.workspace.position_codec import PositionCodec, ServerTextPosition

from codegraph.config import DEFAULT_MIN_CONFIDENCE
from codegraph.filters import NOQA
from codegraph.findings import Finding, Related, confidence_percent
from codegraph.rules import RULES_BY_CODE

#: the ``source`` of every diagnostic (a contract: design §4)
SOURCE = "codegraph"

_IDENTIFIER = re.compile(r"\w+")

UTF8, UTF16, UTF32 = "utf-8", "utf-16", "utf-32"


def normalize_encoding(encoding: object) -> str:
    """``types.PositionEncodingKind`` / str / None -> "utf-8" | "utf-16" | "utf-32" (UTF-16 by default)."""
    value = getattr(encoding, "value", encoding)
    return value if isinstance(value, str) and value in (UTF8, UTF16, UTF32) else UTF16


class LineIndex:
    """Positions of one text: pipeline (line, code-point column) <-> LSP (line, code units).

    The code units are counted by pygls's :class:`PositionCodec` for the negotiated
    encoding (an ASCII line prefix is its length in every encoding: no count needed).
    Lines are split at ``\\n`` like the pipeline's (a trailing ``\\r`` of a CRLF line only
    follows the last column, so it never shifts one).
    """

    def __init__(self, text: str, encoding: object = UTF16) -> None:
        self.text = text
        self.lines = text.split("\n")
        self.encoding = normalize_encoding(encoding)
        self.codec = PositionCodec(types.PositionEncodingKind(self.encoding))

    def line(self, line: int) -> str:
        """The text of 1-based ``line`` without its line ending ("" beyond the end)."""
        return self.lines[line - 1].rstrip("\r") if 0 < line <= len(self.lines) else ""

    def position(self, line: int, column: int) -> types.Position:
        """1-based line, 1-based code-point column -> LSP Position (clamped into the text)."""
        if line > len(self.lines):
            last = len(self.lines) - 1
            return types.Position(last, self.codec.client_num_units(self.lines[last]))
        row = max(line, 1) - 1
        prefix = self.lines[row][: max(column, 1) - 1]
        if prefix.isascii():  # one code unit per character in every encoding: what the codec counts
            return types.Position(row, len(prefix))
        return self.codec.position_to_client_units(self.lines, ServerTextPosition(row, max(column, 1) - 1))

    def range(self, line: int, column: int, end_line: int, end_column: int) -> types.Range:
        return types.Range(self.position(line, column), self.position(end_line, end_column))

    def code_point_column(self, position: types.Position) -> int:
        """LSP Position -> 1-based code-point column on its line (the inverse of :meth:`position`)."""
        text = self.lines[position.line] if position.line < len(self.lines) else ""
        if position.character >= self.codec.client_num_units(text):
            return len(text) + 1  # at or beyond the end of the line
        inside = types.Position(position.line, position.character)  # the codec may change its argument
        return self.codec.position_from_client_units(self.lines, inside).character + 1


# -- diagnostics ------------------------------------------------------------------------------
def severity(confidence: float) -> types.DiagnosticSeverity:
    """Warnings at the default threshold and above; less certain findings are information."""
    return (
        types.DiagnosticSeverity.Warning
        if confidence >= DEFAULT_MIN_CONFIDENCE
        else types.DiagnosticSeverity.Information
    )


def related_location(
    rel: Related, uri_for: Callable[[str], str], index_for: Callable[[str], LineIndex | None]
) -> types.DiagnosticRelatedInformation:
    """A piece of far-away evidence as a location: the identifier starting at its position."""
    index = index_for(rel.path)
    if index is None:  # text unknown: a zero-width range at the code-point column is the best guess
        pos = types.Position(max(rel.line - 1, 0), max(rel.column - 1, 0))
        rng = types.Range(pos, pos)
    else:
        m = _IDENTIFIER.match(index.line(rel.line), max(rel.column - 1, 0))
        end = rel.column + (len(m.group()) if m else 0)
        rng = index.range(rel.line, rel.column, rel.line, end)
    return types.DiagnosticRelatedInformation(types.Location(uri_for(rel.path), rng), rel.message)


def to_diagnostic(
    finding: Finding,
    index: LineIndex,
    version: int | None,
    uri_for: Callable[[str], str],
    index_for: Callable[[str], LineIndex | None],
) -> types.Diagnostic:
    """One finding -> one Diagnostic; ``data`` carries what the code actions need (fix, version)."""
    fix = finding.fix
    data: dict[str, Any] = {
        "rule": finding.rule,
        "confidence": finding.confidence,
        "function": finding.function,
        "version": version,
        "line": finding.line,
    }
    if fix is not None:
        fix_range = index.range(fix.line, fix.column, fix.end_line, fix.end_column)
        data["fix"] = {
            "range": {
                "start": {"line": fix_range.start.line, "character": fix_range.start.character},
                "end": {"line": fix_range.end.line, "character": fix_range.end.character},
            },
            "newText": fix.replacement,
        }
    return types.Diagnostic(
        range=index.range(finding.line, finding.column, finding.end_line, finding.end_column),
        message=finding.message,
        severity=severity(finding.confidence),
        code=finding.rule,
        source=SOURCE,
        related_information=[related_location(r, uri_for, index_for) for r in finding.related] or None,
        data=data,
    )


def error_diagnostic(message: str) -> types.Diagnostic:
    """A file-level problem (not UTF-8, too large) shown on the first line."""
    return types.Diagnostic(
        range=types.Range(types.Position(0, 0), types.Position(0, 0)),
        message=f"codegraph could not analyse this file: {message}",
        severity=types.DiagnosticSeverity.Information,
        source=SOURCE,
    )


# -- code actions ------------------------------------------------------------------------------
def _range_from_json(value: Any) -> types.Range:
    return types.Range(
        types.Position(int(value["start"]["line"]), int(value["start"]["character"])),
        types.Position(int(value["end"]["line"]), int(value["end"]["character"])),
    )


def _edit(
    uri: str, version: int | None, edits: list[types.TextEdit], document_changes: bool
) -> types.WorkspaceEdit:
    """A WorkspaceEdit for one document; versioned (documentChanges) when the client supports it."""
    if document_changes:
        ident = types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=version)
        return types.WorkspaceEdit(document_changes=[types.TextDocumentEdit(ident, list(edits))])
    return types.WorkspaceEdit(changes={uri: list(edits)})


def fix_action(
    diag: types.Diagnostic, uri: str, index: LineIndex, document_changes: bool
) -> types.CodeAction | None:
    """The quick fix that applies a diagnostic's proposed repair, or None when it has none."""
    data = diag.data if isinstance(diag.data, dict) else {}
    fix = data.get("fix")
    if not isinstance(fix, dict) or not isinstance(fix.get("newText"), str):
        return None
    rng = _range_from_json(fix["range"])
    start = index.code_point_column(rng.start)
    end = index.code_point_column(rng.end)
    if rng.start.line == rng.end.line:
        current = index.line(rng.start.line + 1)[start - 1 : end - 1].strip()
        title = f"Replace `{current}` with `{fix['newText'].strip()}`"
    else:
        title = f"Apply the proposed repair (`{fix['newText'].strip()}`)"
    edit = _edit(uri, data.get("version"), [types.TextEdit(rng, fix["newText"])], document_changes)
    return types.CodeAction(
        title=f"{title} ({diag.code})",
        kind=types.CodeActionKind.QuickFix,
        diagnostics=[diag],
        is_preferred=True,
        edit=edit,
    )


def _line_ends_in_string(text: str, line: int) -> bool:
    """True when the end of 1-based ``line`` lies inside a multi-line string (a comment would break it)."""
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.start[0] > line:
                return False
            if tok.type == tokenize.STRING and tok.start[0] <= line < tok.end[0]:
                return True
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return False
    return False


def noqa_edit(line_text: str, row: int, code: str, index: LineIndex) -> types.TextEdit | None:
    """The edit that adds ``code`` to the line's `# noqa` comment, or appends one (None: already quiet)."""
    m = NOQA.search(line_text)
    if m and m.group("codes") is None:
        return None  # a bare noqa comment suppresses everything already
    if m:
        codes = [c.strip().upper() for c in m.group("codes").split(",")]
        if code in codes:
            return None
        merged = ", ".join(sorted({*codes, code}))
        start = index.position(row + 1, m.start("codes") + 1)
        end = index.position(row + 1, m.end("codes") + 1)
        return types.TextEdit(types.Range(start, end), merged)
    content_end = len(line_text.rstrip())
    start = index.position(row + 1, content_end + 1)
    end = index.position(row + 1, len(line_text) + 1)
    return types.TextEdit(types.Range(start, end), f"  # noqa: {code}")


def noqa_action(
    diag: types.Diagnostic, uri: str, version: int | None, index: LineIndex, document_changes: bool
) -> types.CodeAction | None:
    """The quick fix that silences this rule on the finding's line with `# noqa: CGxxx`."""
    code = str(diag.code or "")
    if code not in RULES_BY_CODE:
        return None
    data = diag.data if isinstance(diag.data, dict) else {}
    row = int(data.get("line", diag.range.start.line + 1)) - 1
    line_text = index.line(row + 1)
    if line_text.rstrip().endswith("\\") or _line_ends_in_string(index.text, row + 1):
        return None
    edit = noqa_edit(line_text, row, code, index)
    if edit is None:
        return None
    return types.CodeAction(
        title=f"Suppress {code} on this line (# noqa: {code})",
        kind=types.CodeActionKind.QuickFix,
        diagnostics=[diag],
        edit=_edit(uri, version, [edit], document_changes),
    )


def code_actions(
    diagnostics: Iterable[types.Diagnostic],
    uri: str,
    version: int | None,
    index: LineIndex,
    document_changes: bool,
) -> list[types.CodeAction]:
    """Quick fixes for the codegraph diagnostics computed on ``version`` (stale ones get none)."""
    actions: list[types.CodeAction] = []
    for diag in diagnostics:
        if diag.source != SOURCE or not isinstance(diag.data, dict) or diag.data.get("version") != version:
            continue
        try:
            found = (
                fix_action(diag, uri, index, document_changes),
                noqa_action(diag, uri, version, index, document_changes),
            )
        except (KeyError, TypeError, ValueError):  # `data` edited or truncated by the client
            continue
        actions += [a for a in found if a is not None]
    return actions


# -- hover -------------------------------------------------------------------------------------
def rule_summary(code: str) -> str:
    """The rule's one-line summary and its "What it does" paragraph."""
    rule = RULES_BY_CODE.get(code)
    if rule is None:
        return ""
    text = rule.help()
    what = ""
    if "## What it does" in text:
        what = text.split("## What it does", 1)[1].split("##", 1)[0].strip()
    return f"*{rule.summary}.* {what}".strip()


def contains(rng: types.Range, pos: types.Position) -> bool:
    start, end = (rng.start.line, rng.start.character), (rng.end.line, rng.end.character)
    return start <= (pos.line, pos.character) <= end


def hover(diagnostics: Sequence[types.Diagnostic], position: types.Position) -> types.Hover | None:
    """Explain the codegraph diagnostics under ``position``: rule, confidence, message, fix, rule docs."""
    parts: list[str] = []
    ranges: list[types.Range] = []
    for diag in diagnostics:
        if diag.source != SOURCE or not contains(diag.range, position):
            continue
        data = diag.data if isinstance(diag.data, dict) else {}
        code = str(diag.code or "")
        rule = RULES_BY_CODE.get(code)
        shown = confidence_percent(float(data.get("confidence", 0.0)))
        head = f"**{code} {rule.name if rule else ''}** · confidence {shown}"
        lines = [head, "", diag.message]
        fix = data.get("fix")
        if isinstance(fix, dict):
            lines += ["", f"Proposed repair: `{str(fix.get('newText', '')).strip()}`"]
        if diag.related_information:
            lines += ["", "Evidence:"]
            lines += [
                f"- {r.message} ({r.location.uri.rsplit('/', 1)[-1]}:{r.location.range.start.line + 1})"
                for r in diag.related_information
            ]
        if summary := rule_summary(code):
            lines += ["", summary]
        parts.append("\n".join(lines))
        ranges.append(diag.range)
    if not parts:
        return None
    return types.Hover(
        contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value="\n\n---\n\n".join(parts)),
        range=ranges[0],
    )
