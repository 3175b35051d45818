"""Human-readable report, ruff style: a header line per finding, a code frame, fix and notes.

```
geo.py:3:20: CG001 [variable-misuse] `width` is used here, but `height` looks intended (confidence 93%)
  |
1 | def area(width, height):
2 |     # the area of a rectangle
3 |     return width * width
  |                    ^^^^^
  |
  = fix: replace `width` with `height`
  = note: geo.py:1:17: `height` is defined or last used here
```
followed by the files that could not be analysed and a one-line summary.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.color import ColorSystem
from rich.style import Style

from codegraph.findings import Finding, ScanResult, confidence_percent
from codegraph.report import ReportMeta

#: lines of source shown above and below the flagged lines
CONTEXT = 2
TAB = "    "

#: rich styles of the parts of a report (rendered as ANSI escape codes when colour is on)
_STYLES = {
    "path": Style(bold=True),
    "code": Style(bold=True, color="red"),
    "caret": Style(bold=True, color="red"),
    "gutter": Style(color="blue"),
    "fix": Style(color="green"),
    "note": Style(color="cyan"),
    "dim": Style(dim=True),
}


class _Paint:
    def __init__(self, color: bool) -> None:
        self.color = color

    def __call__(self, text: str, style: str) -> str:
        return _STYLES[style].render(text, color_system=ColorSystem.STANDARD) if self.color and text else text


def header(finding: Finding, paint: _Paint | None = None) -> str:
    """`path:line:col: CODE [name] message (confidence NN%)`."""
    p = paint or _Paint(False)
    return (
        f"{p(f'{finding.path}:{finding.line}:{finding.column}:', 'path')} "
        f"{p(finding.rule, 'code')} [{finding.name}] {finding.message} "
        f"(confidence {confidence_percent(finding.confidence)})"
    )


def _slice(lines: list[str], line: int, column: int, end_line: int, end_column: int) -> str:
    """The text of a 1-based, end-exclusive range (columns in code points)."""
    if not 0 < line <= len(lines):
        return ""
    if line == end_line:
        return lines[line - 1][column - 1 : end_column - 1]
    parts = [lines[line - 1][column - 1 :]]
    parts += lines[line : min(end_line - 1, len(lines))]
    if end_line <= len(lines):
        parts.append(lines[end_line - 1][: end_column - 1])
    return "\n".join(parts)


def _width(text: str) -> int:
    return cell_len(text.replace("\t", TAB))


def code_frame(finding: Finding, lines: list[str], paint: _Paint | None = None) -> list[str]:
    """The flagged lines with line numbers and carets under the flagged range."""
    p = paint or _Paint(False)
    if not 0 < finding.line <= len(lines):
        return []
    last = min(max(finding.end_line, finding.line), len(lines))
    first_shown = max(1, finding.line - CONTEXT)
    last_shown = min(len(lines), last + CONTEXT)
    gutter = len(str(last_shown))
    bar = p(" " * gutter + " |", "gutter")
    out = [bar]
    for n in range(first_shown, last_shown + 1):
        text = lines[n - 1]
        out.append(f"{p(f'{n:>{gutter}} |', 'gutter')} {text.replace(chr(9), TAB)}".rstrip())
        if finding.line <= n <= last:
            start = finding.column - 1 if n == finding.line else len(text) - len(text.lstrip())
            end = finding.end_column - 1 if n == finding.end_line else len(text.rstrip())
            start = min(max(start, 0), len(text))
            end = min(max(end, start + 1), max(len(text), start + 1))
            carets = " " * _width(text[:start]) + "^" * max(1, _width(text[start:end]))
            out.append(f"{bar} {p(carets, 'caret')}")
    out.append(bar)
    return out


def fix_line(finding: Finding, lines: list[str]) -> str | None:
    """`replace `x` with `y`` (or insert / delete), or None without a fix."""
    fix = finding.fix
    if fix is None:
        return None
    current = _slice(lines, fix.line, fix.column, fix.end_line, fix.end_column)
    if not current:
        return f"insert `{fix.replacement}`"
    if not fix.replacement:
        return f"delete `{current}`"
    return f"replace `{current}` with `{fix.replacement}`"


def render_finding(finding: Finding, lines: list[str], color: bool = False) -> str:
    p = _Paint(color)
    out = [header(finding, p), *code_frame(finding, lines, p)]
    indent = " " * (len(str(min(len(lines), finding.end_line + CONTEXT))) + 1) if lines else ""
    fix = fix_line(finding, lines)
    if fix:
        out.append(f"{indent}= {p('fix:', 'fix')} {fix}")
    for r in finding.related:
        out.append(f"{indent}= {p('note:', 'note')} {r.path}:{r.line}:{r.column}: {r.message}")
    return "\n".join(out)


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else (plural or word + 's')}"


def summary(result: ScanResult, meta: ReportMeta) -> str:
    s = result.stats
    flagged_files = len({f.path for f in result.findings})
    parts = [f"{_plural(s.functions, 'function')} in {_plural(s.files, 'file')} analysed"]
    if result.errors:
        parts.append(_plural(len(result.errors), "error"))
    if meta.baseline_hidden:
        parts.append(f"{meta.baseline_hidden} hidden by the baseline")
    parts.append(f"{s.seconds:.2f}s")
    if result.findings:
        head = f"Found {_plural(len(result.findings), 'finding')} in {_plural(flagged_files, 'file')}"
    else:
        head = "No findings"
    return f"{head} at confidence >= {meta.min_confidence:g} ({', '.join(parts)})."


def render(
    result: ScanResult,
    meta: ReportMeta,
    color: bool | None = None,
    concise: bool = False,
    summary_line: bool | None = None,
) -> str:
    """The whole text report: findings, then errors, then the summary line.

    ``color``: as ``meta.color`` when not given; ``concise``: one header line per finding,
    without code frame, fix and notes.
    """
    color = meta.color if color is None else color
    summary_line = meta.summary_line if summary_line is None else summary_line
    p = _Paint(color)
    if concise:
        out = "\n".join(header(f, p) for f in result.findings)
    else:
        out = "\n\n".join(render_finding(f, meta.lines(f.path), color) for f in result.findings)
    if result.errors:
        errors = "\n".join(f"{p(e.path + ':', 'path')} error: {e.message}" for e in result.errors)
        out = f"{out}\n\n{errors}" if out else errors
    if summary_line:
        out = f"{out}\n\n{summary(result, meta)}" if out else summary(result, meta)
    return out + "\n" if out else ""
