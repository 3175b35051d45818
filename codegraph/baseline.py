"""Fingerprints that survive line shifts, and baselines of known findings.

A finding's fingerprint hashes what stays put when unrelated code moves: the rule,
the qualified name of the function and the flagged line's text with whitespace
normalised — never the line number. Two findings with the same fingerprint in the
same file are told apart by an occurrence index (their order in the file) where a
report needs a unique id (SARIF ``partialFingerprints``); a baseline instead records
how many findings share each key, so ``--baseline`` hides at most that many.

Baseline file (JSON, written by ``codegraph scan --write-baseline FILE``)::

    {"version": 1, "tool": "codegraph",
     "findings": [{"path": "pkg/mod.py", "rule": "CG001", "function": "pkg.mod.f",
                   "fingerprint": "9f2c...", "count": 1}]}

Paths are as reported (relative to the current directory when under it), so run
``--baseline`` from the directory where the baseline was written.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from codegraph.command import CommandError
from codegraph.findings import Finding

BASELINE_VERSION = 1
_SPACE = re.compile(r"\s+")

LineSource = Callable[[str], list[str]]


class BaselineError(CommandError, ValueError):
    """A baseline file cannot be read; the message is one line for the user."""


def normalise_line(text: str) -> str:
    """The line's text with runs of whitespace collapsed and the ends stripped."""
    return _SPACE.sub(" ", text).strip()


def flagged_line(finding: Finding, lines: LineSource) -> str:
    text = lines(finding.path)
    return text[finding.line - 1] if 0 < finding.line <= len(text) else ""


def fingerprint(finding: Finding, line_text: str) -> str:
    """A hash of rule + function + the normalised text of the flagged line (no line number)."""
    key = "\0".join((finding.rule, finding.function, normalise_line(line_text)))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def fingerprints(findings: Sequence[Finding], lines: LineSource) -> list[tuple[str, int]]:
    """(fingerprint, occurrence index) per finding; the index counts earlier findings of a
    file with the same fingerprint, in (line, column) order."""
    order = sorted(
        range(len(findings)), key=lambda i: (findings[i].path, findings[i].line, findings[i].column)
    )
    seen: Counter[tuple[str, str]] = Counter()
    out: list[tuple[str, int]] = [("", 0)] * len(findings)
    for i in order:
        f = findings[i]
        fp = fingerprint(f, flagged_line(f, lines))
        out[i] = (fp, seen[(f.path, fp)])
        seen[(f.path, fp)] += 1
    return out


BaselineKey = tuple[str, str, str, str]  # path, rule, function, fingerprint


def _key(finding: Finding, lines: LineSource) -> BaselineKey:
    return (finding.path, finding.rule, finding.function, fingerprint(finding, flagged_line(finding, lines)))


@dataclass
class Baseline:
    """Known findings with counts; :meth:`filter` hides up to ``count`` matches per key."""

    counts: Counter[BaselineKey]

    @classmethod
    def from_findings(cls, findings: Iterable[Finding], lines: LineSource) -> Baseline:
        return cls(Counter(_key(f, lines) for f in findings))

    def filter(self, findings: Sequence[Finding], lines: LineSource) -> tuple[list[Finding], int]:
        """The findings not in the baseline, and how many were hidden."""
        left = Counter(self.counts)
        kept: list[Finding] = []
        hidden = 0
        for f in sorted(findings, key=lambda f: (f.path, f.line, f.column, f.rule)):
            k = _key(f, lines)
            if left[k] > 0:
                left[k] -= 1
                hidden += 1
            else:
                kept.append(f)
        return kept, hidden

    def to_json(self) -> dict[str, object]:
        rows = [
            {"path": p, "rule": r, "function": fn, "fingerprint": fp, "count": n}
            for (p, r, fn, fp), n in sorted(self.counts.items())
        ]
        return {"version": BASELINE_VERSION, "tool": "codegraph", "findings": rows}

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_json(), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def read(cls, path: Path) -> Baseline:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise BaselineError(f"{path}: no such baseline file") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BaselineError(f"{path}: not a codegraph baseline ({exc})") from None
        if not isinstance(data, dict) or data.get("version") != BASELINE_VERSION:
            raise BaselineError(f"{path}: not a codegraph baseline (version {BASELINE_VERSION} expected)")
        counts: Counter[BaselineKey] = Counter()
        try:
            for row in data["findings"]:
                counts[(row["path"], row["rule"], row["function"], row["fingerprint"])] += int(row["count"])
        except (KeyError, TypeError, ValueError) as exc:
            raise BaselineError(f"{path}: malformed baseline entry ({exc})") from None
        return cls(counts)
