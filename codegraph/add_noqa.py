"""`codegraph scan --add-noqa`: write ``# noqa: CGxxx`` on the lines of today's findings.

Like ruff's ``--add-noqa``: each flagged line gets a ``# noqa`` comment naming its rules
(after any comment already there); a line that already has ``# noqa: CODES`` keeps its
codes and gains the new ones. The file keeps its encoding (PEP 263) and line ends, and is
replaced atomically (a temporary file in the same directory, renamed over it; a symbolic
link keeps pointing at the file it names). A line whose end lies inside a multi-line
string, or that continues with a backslash, cannot take a comment: it is reported and
left alone, as is a file that changed since it was analysed.
"""

from __future__ import annotations

import io
import os
import tempfile
import tokenize
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from codegraph.cache import sha256_bytes
from codegraph.filters import NOQA
from codegraph.findings import Finding
from codegraph.syntax import SourceError, decode_source


@dataclass
class Added:
    directives: int = 0  # lines that got a noqa comment or more codes in theirs
    findings: list[Finding] = field(default_factory=list)  # the findings now suppressed
    skipped: list[str] = field(default_factory=list)  # why some were not, one line each


def lines_without_a_comment_end(text: str) -> set[int]:
    """1-based lines whose end cannot take a comment: inside a multi-line string, or continued with
    a backslash. Where a line ends is read from the tokens (a NEWLINE, NL or COMMENT token on it);
    a file that does not tokenize falls back to the multi-line strings seen so far and the lines
    ending in a backslash."""
    lines = text.split("\n")
    ends: set[int] = set()
    in_strings: set[int] = set()
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type in (tokenize.NEWLINE, tokenize.NL, tokenize.COMMENT):
                ends.add(tok.start[0])
            elif tok.type == tokenize.STRING and tok.end[0] > tok.start[0]:
                in_strings.update(range(tok.start[0], tok.end[0]))
    except (tokenize.TokenError, SyntaxError):
        continued = {n for n, line in enumerate(lines, 1) if line.rstrip("\r").endswith("\\")}
        return in_strings | continued
    return {n for n in range(1, len(lines) + 1) if n not in ends}


def with_noqa(line: str, codes: Iterable[str]) -> str:
    """``line`` (without its "\\n") with a ``# noqa`` naming ``codes`` and the codes it had."""
    body, cr = (line[:-1], "\r") if line.endswith("\r") else (line, "")
    m = NOQA.search(body)
    if m is None:
        return f"{body.rstrip()}  # noqa: {', '.join(sorted(set(codes)))}{cr}"
    if m.group("codes") is None:  # a bare noqa comment already suppresses every rule
        return line
    had = [c.strip().upper() for c in m.group("codes").split(",")]
    merged = had + sorted(set(codes) - set(had))
    return f"{body[: m.start()]}# noqa: {', '.join(merged)}{body[m.end() :]}{cr}"


def write_atomically(path: Path, data: bytes) -> None:
    """Replace the file ``path`` (a symbolic link: the file it names) with ``data``, keeping its mode."""
    target = path.resolve()
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".codegraph-tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, target.stat().st_mode & 0o7777)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def add_noqa(findings: Iterable[Finding], hashes: Mapping[Path, str] | None = None) -> Added:
    """Add ``# noqa`` comments for ``findings`` (paths as reported); ``hashes``: the sha256 of each
    file's bytes as analysed, by resolved path (a file that changed since is left alone)."""
    by_path: dict[str, list[Finding]] = defaultdict(list)
    for f in findings:
        by_path[f.path].append(f)
    added = Added()
    for path, found in sorted(by_path.items()):
        file = Path(path)
        try:
            data = file.read_bytes()
            text, encoding = decode_source(data)
        except (OSError, SourceError) as exc:
            added.skipped.append(f"{path}: left alone: {exc}")
            continue
        if hashes is not None and hashes.get(file.resolve()) != sha256_bytes(data):
            added.skipped.append(f"{path}: changed since it was analysed; left alone")
            continue
        lines = text.split("\n")
        blocked = lines_without_a_comment_end(text)
        codes: dict[int, set[str]] = defaultdict(set)
        for f in found:
            if f.line in blocked or not 0 < f.line <= len(lines):
                added.skipped.append(f"{path}:{f.line}: {f.rule}: the line cannot take a comment; left alone")
                continue
            codes[f.line].add(f.rule)
            added.findings.append(f)
        changed = 0
        for n, line_codes in codes.items():
            new = with_noqa(lines[n - 1], line_codes)
            changed += new != lines[n - 1]
            lines[n - 1] = new
        if changed:
            write_atomically(file, "\n".join(lines).encode(encoding))
            added.directives += changed
    return added
