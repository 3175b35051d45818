"""Which findings a run reports: decided once, here, for `codegraph scan`, `fix` and the language server.

The analysis reports, for every function, its most likely bug among the rules
enabled for that file, whatever its confidence. This module decides which of those
a user sees:

- the rules enabled for a file: ``select`` (plus ``extend-select``) minus ``ignore``,
  minus the codes that ``per-file-ignores`` lists for globs matching the file
  (``{"tests/*" = ["CG006"]}``, gitignore-style globs relative to the configuration
  file's directory, or the current directory without one);
- the confidence threshold (``min-confidence``: a finding is kept at or above it);
- suppression comments: a file-level ``# codegraph: noqa`` line silences the whole file,
  ``# noqa`` on the flagged line silences it, ``# noqa: CG001,CG002`` those codes only;
- ``--diff REF``: only findings that touch a line changed since the git ref;
- ``--baseline FILE``: findings recorded in the baseline are hidden.

The rule selection is applied while the analysis chooses each function's best
finding (:meth:`FindingFilter.rules_for`: a function whose likeliest bug is of an
ignored rule reports its likeliest bug of an enabled one); the threshold and the
comments in :meth:`FindingFilter.apply`; ``--diff`` (:func:`on_changed_lines`) and the
baseline (:class:`codegraph.baseline.Baseline`) by the scan over the filtered findings.
Nothing else filters.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import pathspec

from codegraph.files import ChangedLines
from codegraph.findings import Finding

#: ``# noqa`` / ``# noqa: CG001, CG002`` on a line (flake8's syntax)
NOQA = re.compile(r"#\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]+(?:\s*,\s*[A-Z]+[0-9]+)*))?", re.IGNORECASE)
#: a line holding only ``# codegraph: noqa`` silences its file (``# flake8: noqa``'s convention)
_FILE_NOQA = re.compile(r"^\s*#\s*codegraph\s*:\s*noqa\s*$", re.IGNORECASE | re.MULTILINE)


def suppressed(line: str, code: str) -> bool:
    """True when ``line`` carries `# noqa` or `# noqa: <codes>` naming ``code``."""
    m = NOQA.search(line)
    if not m:
        return False
    codes = m.group("codes")
    return codes is None or code.upper() in {c.strip().upper() for c in codes.split(",")}


def file_suppressed(text: str) -> bool:
    """True when a line of ``text`` is a file-level ``# codegraph: noqa`` comment."""
    return _FILE_NOQA.search(text) is not None


def on_changed_lines(finding: Finding, changed: ChangedLines, absolute: Path) -> bool:
    """True when ``finding`` (in the file at ``absolute``) touches a changed line."""
    if absolute not in changed:
        return False
    lines = changed[absolute]
    return lines is None or any(
        n in lines for n in range(finding.line, max(finding.end_line, finding.line) + 1)
    )


@dataclass(frozen=True)
class PerFileIgnores:
    """``per-file-ignores``: rule codes ignored in the files that a glob matches."""

    entries: tuple[tuple[str, frozenset[str]], ...] = ()
    base: Path | None = None  # globs are relative to this directory (None: the current one)
    _specs: tuple[tuple[pathspec.PathSpec, frozenset[str]], ...] = field(
        init=False, repr=False, compare=False, default=()
    )

    def __post_init__(self) -> None:
        specs = tuple((pathspec.GitIgnoreSpec.from_lines([glob]), codes) for glob, codes in self.entries)
        object.__setattr__(self, "_specs", specs)

    def ignored_in(self, path: str) -> frozenset[str]:
        """The codes ignored in the file at ``path`` (absolute or relative to the current directory)."""
        if not self._specs:
            return frozenset()
        rel = _relative(Path(path), self.base or Path.cwd())
        if rel is None:
            return frozenset()
        out: set[str] = set()
        for spec, codes in self._specs:
            if spec.match_file(rel):
                out |= codes
        return frozenset(out)


def _relative(path: Path, base: Path) -> str | None:
    try:
        return PurePosixPath(path.resolve().relative_to(base.resolve())).as_posix()
    except ValueError:
        return None


@dataclass(frozen=True)
class FindingFilter:
    """The rules, threshold and suppressions of one run (built from its Settings)."""

    min_confidence: float
    enabled: frozenset[str]
    per_file: PerFileIgnores = PerFileIgnores()

    @classmethod
    def from_settings(cls, settings: object) -> FindingFilter:
        from codegraph.config import Settings

        assert isinstance(settings, Settings)
        base = Path(settings.source).parent if settings.source else None
        per_file = PerFileIgnores(settings.per_file_ignores, base)
        return cls(settings.min_confidence, settings.enabled_rules(), per_file)

    def rules_for(self, path: str) -> frozenset[str]:
        """The rules whose candidates may be reported in the file at ``path``."""
        return self.enabled - self.per_file.ignored_in(path)

    def keep(self, finding: Finding, line: str) -> bool:
        """Threshold and line-level ``# noqa`` (``line``: the text of the finding's first line)."""
        return finding.confidence >= self.min_confidence and not suppressed(line, finding.rule)

    def apply(self, findings: Sequence[Finding], text: str) -> list[Finding]:
        """The findings of one file (whose text is ``text``) that this run reports, in order."""
        if not findings or file_suppressed(text):
            return []
        lines = text.splitlines()
        out = []
        for f in findings:
            line = lines[f.line - 1] if 0 < f.line <= len(lines) else ""
            if self.keep(f, line):
                out.append(f)
        return sorted(out, key=lambda f: (f.line, f.column, f.rule))
