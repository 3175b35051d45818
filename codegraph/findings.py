"""Findings: what the pipeline reports, in the units users see.

Lines and columns are 1-based; columns count characters (code points); ends are
exclusive. ``to_json`` gives exactly the object of the JSON output contract.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal
from typing import Any


def shown_confidence(confidence: float, digits: int = 4) -> float:
    """``confidence`` rounded *down* to ``digits`` decimals, as reports print it: a shown value is
    never above the real one, so a finding shown at 0.97 passes a 0.97 threshold. Raises
    ValueError for NaN and infinities (never written into a report)."""
    if not math.isfinite(confidence):
        raise ValueError(f"confidence {confidence!r} is not a number between 0 and 1")
    step = Decimal(1).scaleb(-digits)
    return float(Decimal(repr(float(confidence))).quantize(step, rounding=ROUND_FLOOR))


def confidence_percent(confidence: float) -> str:
    """``"96%"`` for 0.9652: whole percent, rounded down (see :func:`shown_confidence`)."""
    return f"{shown_confidence(confidence, 2) * 100:.0f}%"


@dataclass(frozen=True, slots=True)
class Fix:
    """Replace the text between (line, column) and (end_line, end_column) by ``replacement``."""

    line: int
    column: int
    end_line: int
    end_column: int
    replacement: str

    def to_json(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "column": self.column,
            "end_line": self.end_line,
            "end_column": self.end_column,
            "replacement": self.replacement,
        }


@dataclass(frozen=True, slots=True)
class Related:
    """Far-away evidence: a place that made the finding suspicious."""

    path: str
    line: int
    column: int
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "line": self.line, "column": self.column, "message": self.message}


@dataclass(frozen=True, slots=True)
class Finding:
    path: str
    line: int
    column: int
    end_line: int
    end_column: int
    rule: str  # "CG001"
    name: str  # "variable-misuse"
    message: str
    confidence: float
    function: str  # qualified name of the analysed function
    fix: Fix | None = None
    related: tuple[Related, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            **_where(self),
            "message": self.message,
            "confidence": shown_confidence(self.confidence),
            "function": self.function,
            "fix": self.fix.to_json() if self.fix else None,
            "related": [r.to_json() for r in self.related],
        }


class ErrorKind(enum.Enum):
    """Why a file was not analysed (or only partly); the message says it to the user."""

    UNREADABLE = "unreadable"  # the file or directory cannot be read
    NOT_SOURCE = "not-source"  # binary, or not UTF-8
    TOO_LARGE = "too-large"
    SYNTAX = "syntax"  # analysed where it parses
    INTERNAL = "internal"  # the analyser failed: exit status 2, never cached

    @property
    def is_internal(self) -> bool:
        return self is ErrorKind.INTERNAL


@dataclass(frozen=True, slots=True)
class CandidateFix:
    """One (location, repair) the model would score: a finding without confidence, message and
    evidence (`codegraph candidates`). ``current`` is the text the fix replaces (not in the JSON)."""

    path: str
    line: int
    column: int
    end_line: int
    end_column: int
    rule: str
    name: str
    function: str
    fix: Fix
    current: str = ""

    def to_json(self) -> dict[str, Any]:
        return {**_where(self), "function": self.function, "fix": self.fix.to_json()}


def _where(f: Finding | CandidateFix) -> dict[str, Any]:
    """The location and rule keys of a finding's JSON, in the contract's order."""
    return {
        "path": f.path,
        "line": f.line,
        "column": f.column,
        "end_line": f.end_line,
        "end_column": f.end_column,
        "rule": f.rule,
        "name": f.name,
    }


@dataclass(frozen=True, slots=True)
class FileError:
    """A file that could not be analysed (or only partly), and why. The JSON output carries
    the path and the message; ``kind`` is for the tools (exit status, cache, editor)."""

    path: str
    message: str
    kind: ErrorKind = ErrorKind.NOT_SOURCE

    @classmethod
    def internal(cls, path: str, exc: BaseException) -> FileError:
        """The analyser failed on this file with ``exc``."""
        detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        return cls(path, f"internal error: {detail}", ErrorKind.INTERNAL)

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "message": self.message}


@dataclass
class ScanStats:
    files: int = 0
    functions: int = 0
    lines: int = 0
    seconds: float = 0.0


@dataclass
class ScanResult:
    findings: list[Finding] = field(default_factory=list)
    errors: list[FileError] = field(default_factory=list)
    stats: ScanStats = field(default_factory=ScanStats)
