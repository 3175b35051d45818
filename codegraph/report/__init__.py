"""Report formats: text, json, sarif, github.

Each format module has ``render(result, meta) -> str``. :class:`ReportMeta` carries what
every format may need besides the findings: the tool and model identity, the threshold
in force, and a way to read the text of reported files (code frames, fingerprints).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from codegraph import __version__
from codegraph.syntax import SourceError, decode_source


def read_lines(path: str) -> list[str]:
    """The lines of a reported file (without line ends), or [] when it cannot be read as text."""
    try:
        data = Path(path).read_bytes()
    except OSError:
        return []
    try:
        text = decode_source(data)[0]  # PEP 263: the characters Python reads
    except SourceError:
        text = data.decode("utf-8", "replace")
    return text.splitlines()


@dataclass
class ReportMeta:
    model: dict[str, str]
    min_confidence: float
    version: str = __version__
    #: the text lines of a reported path; scan passes the sources it already read
    lines: Callable[[str], list[str]] = read_lines
    #: number of findings hidden by a baseline (reported in the text summary)
    baseline_hidden: int = 0
    #: what SARIF URIs are relative to (%SRCROOT%); None: the current directory
    root: Path | None = None
