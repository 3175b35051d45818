"""`codegraph fix`: apply the proposed repairs at or above a confidence.

Runs the same analysis as `codegraph scan` (same options, same cache), takes the
findings at or above the threshold that carry a fix, keeps per file a set of
non-overlapping repairs (the most confident wins an overlap) and applies them bottom-up
so earlier offsets stay valid. ``--diff-only`` prints a unified diff and writes nothing.
This is the only command that writes into user files, and it guards them:

* the text written never comes from the cache: each fix must be one of the candidate
  repairs that the analysed source itself yields at that location (re-derived here), so
  a crafted or stale cache entry can at most pick among the repairs codegraph would
  propose anyway; anything else is skipped with a warning;
* a file whose real path (symbolic links resolved) is outside the paths given is left
  alone, and a link is written through, never replaced;
* a file that changed since it was analysed is left alone (checked again just before
  the write);
* writes are atomic: a temporary file in the same directory, fsynced, then
  ``os.replace``, keeping the file's permission bits.

Exit status: 0 done (or nothing to fix), 1 ``--diff-only`` would change files,
2 usage, configuration or internal error, or a file that could not be written.
"""

from __future__ import annotations

import argparse
import difflib
import hashlib
import os
import stat
import sys
import tempfile
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from codegraph.arguments import Parser
from codegraph.command import command
from codegraph.findings import Finding, Fix
from codegraph.pipeline import Analyzer, repair_fix
from codegraph.scan import STDIN, UsageError, add_analysis_options, run
from codegraph.syntax import decode_source, utf8_source


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


class FileChanged(Exception):
    """The file is not the text that was analysed any more."""


def candidate_fixes(analyzer: Analyzer, path: str, source: bytes) -> set[tuple[str, Fix]]:
    """Every (rule, fix) that the analysis can propose in ``source``: the candidate repairs
    of its units, derived from the text itself."""
    prepared = analyzer.prepare(path, source, None)
    if prepared.graph is None:
        return set()
    graph = prepared.graph
    return {
        (cand.rule, repair_fix(graph, repair))
        for unit in analyzer.units(prepared)
        for cand in unit.candidates
        for repair in cand.repairs
    }


def verified(
    findings: Sequence[Finding], allowed: set[tuple[str, Fix]]
) -> tuple[list[Finding], list[Finding]]:
    """The findings whose fix is one of the ``allowed`` candidate repairs, and the others."""
    ok: list[Finding] = []
    rejected: list[Finding] = []
    for f in findings:
        (ok if f.fix is not None and (f.rule, f.fix) in allowed else rejected).append(f)
    return ok, rejected


def inside_roots(real: Path, roots: Sequence[Path]) -> bool:
    """True when the resolved path ``real`` is one of the resolved ``roots`` or below one of them."""
    return any(real == root or (root.is_dir() and real.is_relative_to(root)) for root in roots)


def write_atomically(path: Path, data: bytes, expected_sha256: str) -> None:
    """Replace ``path`` by ``data``: a temporary file in the same directory, fsynced, then
    ``os.replace``, so that an interrupted run leaves the old file or the new one, never a
    part. The file's permission bits are kept. Raises FileChanged when the file no longer
    holds the analysed text (checked just before the replace)."""
    before = path.stat()
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".codegraph-tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fchmod(fh.fileno(), stat.S_IMODE(before.st_mode))
            os.fsync(fh.fileno())
        now = path.stat()
        if (now.st_mtime_ns, now.st_size) != (before.st_mtime_ns, before.st_size) or (
            hashlib.sha256(path.read_bytes()).hexdigest() != expected_sha256
        ):
            raise FileChanged(str(path))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    try:  # the rename itself survives a power loss once the directory is synced
        dir_fd = os.open(path.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def _fix(args: argparse.Namespace) -> int:
    if STDIN in args.paths:
        raise UsageError("fix writes files: it cannot read stdin (`-`)")
    result, engine = run(args)
    assert engine.analyzer is not None
    roots = [p.resolve() for p in (args.paths or [Path(".")])]
    by_path: dict[str, list[Finding]] = defaultdict(list)
    for f in result.findings:
        if f.fix is not None:
            by_path[f.path].append(f)
    changed_files = 0
    applied = 0
    failed = False
    for path, findings in sorted(by_path.items()):
        file = Path(path)
        real = file.resolve()
        if not inside_roots(real, roots):
            print(
                f"codegraph fix: {path} is a link to {real}, outside the given paths; left alone",
                file=sys.stderr,
            )
            continue
        data = real.read_bytes()
        expected = engine.source_hashes.get(real)
        if expected != hashlib.sha256(data).hexdigest():
            print(f"codegraph fix: {path} changed since it was analysed; left alone", file=sys.stderr)
            continue
        # the text written comes from the analysed source, never from a cache entry: each fix must
        # be one of the candidate repairs at its location (found in the UTF-8 text that was analysed)
        findings, rejected = verified(findings, candidate_fixes(engine.analyzer, path, utf8_source(data)))
        for f in rejected:
            print(
                f"codegraph fix: {path}:{f.line}:{f.column}: {f.rule} fix is not a candidate repair here;"
                " skipped",
                file=sys.stderr,
            )
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
        if args.diff_only:
            changed_files += 1
            applied += len(edits)
            sys.stdout.writelines(
                difflib.unified_diff(
                    text.splitlines(keepends=True), new.splitlines(keepends=True), f"a/{path}", f"b/{path}"
                )
            )
            continue
        try:
            write_atomically(real, encoded, expected)
        except FileChanged:
            print(f"codegraph fix: {path} changed since it was analysed; left alone", file=sys.stderr)
            continue
        except OSError as exc:
            print(
                f"codegraph fix: cannot write {path}: {exc.strerror or exc}; left unchanged", file=sys.stderr
            )
            failed = True
            continue
        changed_files += 1
        applied += len(edits)
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
    return 2 if failed else 0
