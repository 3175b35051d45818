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


def read_lines(path: str) -> list[str]:
    """The lines of a reported file (without line ends), or [] when it cannot be read as text."""
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []


@dataclass
class ReportMeta:
    model: dict[str, str]
    min_confidence: float
    version: str = __version__
    #: the text lines of a reported path; scan passes the sources it already read
    lines: Callable[[str], list[str]] = read_lines
    #: number of findings hidden by a baseline (reported in the text summary)
    baseline_hidden: int = 0
