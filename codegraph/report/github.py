"""GitHub Actions workflow commands: one annotation per finding.

``::error file=pkg/mod.py,line=12,col=9,endLine=12,endColumn=13,title=CG001 variable-misuse::message``

The command follows the confidence as the SARIF level does: ``::error`` at 0.97 or above,
``::warning`` at 0.8 or above, ``::notice`` below.

Escaping follows the workflow-command rules (actions/toolkit ``command.ts``): in the
message ``%`` ``\\r`` ``\\n`` become ``%25`` ``%0D`` ``%0A``; in property values ``:`` and
``,`` are escaped as well (``%3A``, ``%2C``). Files that could not be analysed become
``::warning`` annotations; a ``::notice`` line carries the summary.
"""

from __future__ import annotations

from codegraph.findings import Finding, ScanResult, confidence_percent
from codegraph.report import ReportMeta
from codegraph.report.sarif import level
from codegraph.report.text import fix_line


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(name: str, properties: dict[str, object], message: str) -> str:
    props = ",".join(f"{k}={escape_property(str(v))}" for k, v in properties.items())
    return f"::{name} {props}::{escape_data(message)}" if props else f"::{name}::{escape_data(message)}"


#: SARIF level -> workflow command: the same mapping from confidence as the SARIF report
COMMANDS = {"error": "error", "warning": "warning", "note": "notice"}


def annotation(finding: Finding, lines: list[str]) -> str:
    end_line = max(finding.end_line, finding.line)
    properties: dict[str, object] = {"file": finding.path, "line": finding.line, "col": finding.column}
    properties["endLine"] = end_line
    if end_line == finding.line:  # GitHub accepts column ranges on one line only
        properties["endColumn"] = max(finding.end_column, finding.column + 1)
    properties["title"] = f"{finding.rule} {finding.name}"
    parts = [f"{finding.message} (confidence {confidence_percent(finding.confidence)})"]
    fix = fix_line(finding, lines)
    if fix:
        parts.append(f"fix: {fix}")
    parts += [f"note: {r.path}:{r.line}:{r.column}: {r.message}" for r in finding.related]
    return command(COMMANDS[level(finding.confidence)], properties, "\n".join(parts))


def render(result: ScanResult, meta: ReportMeta) -> str:
    out = [annotation(f, meta.lines(f.path)) for f in result.findings]
    out += [
        command("warning", {"file": e.path, "title": "codegraph could not analyse"}, e.message)
        for e in result.errors
    ]
    s = result.stats
    out.append(
        command(
            "notice",
            {"title": "codegraph"},
            f"{len(result.findings)} findings at confidence >= {meta.min_confidence:g} "
            f"({s.functions} functions in {s.files} files, {len(result.errors)} errors, {s.seconds:.2f}s)",
        )
    )
    return "\n".join(out) + "\n"
