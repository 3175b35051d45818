"""`codegraph fix`: apply the proposed repairs at or above a confidence.

Runs the same analysis as `codegraph scan` (same options, same cache), takes the
findings at or above the threshold that carry a fix, keeps per file a set of
non-overlapping repairs (the most confident wins an overlap) and applies them bottom-up
so earlier offsets stay valid. ``--diff-only`` prints a unified diff and writes nothing.
A file that changed since it was analysed is left alone. This is the only command that
writes into user files.

Exit status: 0 done (or nothing to fix), 1 ``--diff-only`` would change files,
2 usage, configuration or internal error.
"""

from __future__ import annotations

import argparse
import difflib
import hashlib
import sys
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from codegraph.arguments import Parser
from codegraph.command import command
from codegraph.findings import Finding, Fix
from codegraph.scan import STDIN, UsageError, add_analysis_options, run
from codegraph.syntax import decode_source


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="codegraph fix",
        description="Apply codegraph's proposed repairs at or above a confidence threshold.",
        epilog="Exit status: 0 done, 1 --diff-only found changes, 2 usage, configuration or internal error.",
    )
    add_analysis_options(parser)
    parser.add_argument("--diff-only", action="store_true", help="print a unified diff, write nothing")
    return parser


def _line_starts(text: str) -> list[int]:
    """Offsets of the first character of each line; lines end at "\\n" only (as in the pipeline)."""
    starts = [0]
    i = text.find("\n")
    while i != -1:
        starts.append(i + 1)
        i = text.find("\n", i + 1)
    return starts


def offset(starts: list[int], text: str, line: int, column: int) -> int:
    """String offset of a 1-based (line, code-point column); raises ValueError when outside."""
    if not 0 < line <= len(starts):
        raise ValueError(f"line {line} outside the file")
    line_end = starts[line] - 1 if line < len(starts) else len(text)
    pos = starts[line - 1] + column - 1
    if not starts[line - 1] <= pos <= line_end:
        raise ValueError(f"column {column} outside line {line}")
    return pos


@dataclass(frozen=True)
class Edit:
    start: int
    end: int
    replacement: str
    finding: Finding


def _conflict(start: int, end: int, other: Edit) -> bool:
    """Overlapping ranges, or two edits at the same start (their order would be ambiguous)."""
    return (start < other.end and other.start < end) or start == other.start


def choose_edits(text: str, findings: Sequence[Finding]) -> list[Edit]:
    """Non-overlapping edits for the findings' fixes, most confident first; bottom-up order."""
    starts = _line_starts(text)
    chosen: list[Edit] = []
    for f in sorted(findings, key=lambda f: (-f.confidence, f.line, f.column)):
        fix: Fix | None = f.fix
        if fix is None:
            continue
        try:
            s = offset(starts, text, fix.line, fix.column)
            e = offset(starts, text, fix.end_line, fix.end_column)
        except ValueError:
            continue
        if e < s:
            continue
        if any(_conflict(s, e, c) for c in chosen):
            continue
        chosen.append(Edit(s, e, fix.replacement, f))
    return sorted(chosen, key=lambda c: c.start, reverse=True)


def apply_edits(text: str, edits: Sequence[Edit]) -> str:
    """Apply edits given bottom-up (as :func:`choose_edits` returns them)."""
    for edit in edits:
        text = text[: edit.start] + edit.replacement + text[edit.end :]
    return text


@command("codegraph fix")
def main(argv: Sequence[str]) -> int:
    return _fix(build_parser().parse_args(list(argv)))


def _fix(args: argparse.Namespace) -> int:
    if STDIN in args.paths:
        raise UsageError("fix writes files: it cannot read stdin (`-`)")
    result, engine = run(args)
    by_path: dict[str, list[Finding]] = defaultdict(list)
    for f in result.findings:
        if f.fix is not None:
            by_path[f.path].append(f)
    changed_files = 0
    applied = 0
    for path, findings in sorted(by_path.items()):
        file = Path(path)
        data = file.read_bytes()
        if engine.source_hashes.get(file.resolve()) != hashlib.sha256(data).hexdigest():
            print(f"codegraph fix: {path} changed since it was analysed; left alone", file=sys.stderr)
            continue
        text, encoding = decode_source(data)  # PEP 263: written back in the file's own encoding
        edits = choose_edits(text, findings)
        new = apply_edits(text, edits)
        if new == text:
            continue
        try:
            encoded = new.encode(encoding)
        except UnicodeEncodeError:
            print(f"codegraph fix: {path}: a repair is not {encoding} text; left alone", file=sys.stderr)
            continue
        changed_files += 1
        applied += len(edits)
        if args.diff_only:
            sys.stdout.writelines(
                difflib.unified_diff(
                    text.splitlines(keepends=True), new.splitlines(keepends=True), f"a/{path}", f"b/{path}"
                )
            )
        else:
            file.write_bytes(encoded)
            codes = ", ".join(sorted({e.finding.rule for e in edits}))
            print(f"{path}: applied {len(edits)} fix{'es' if len(edits) != 1 else ''} ({codes})")
    threshold = engine.settings.min_confidence
    if args.diff_only:
        print(
            f"Would apply {applied} fixes in {changed_files} files at confidence >= {threshold:g}.",
            file=sys.stderr,
        )
        return 1 if applied else 0
    print(f"Applied {applied} fixes in {changed_files} files at confidence >= {threshold:g}.")
    return 0
