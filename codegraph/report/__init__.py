"""Report formats, one module each, registered by name in :data:`FORMATS`.

Each format module has ``render(result, meta) -> str``. :class:`ReportMeta` carries what
every format may need besides the findings: the tool and model identity, the threshold
in force, whether to colour, and a way to read the text of reported files (code frames,
fingerprints). A new format is one module here and one line in :data:`FORMATS`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from codegraph import __version__
from codegraph.syntax import SourceError, decode_source

if TYPE_CHECKING:
    from codegraph.findings import ScanResult

#: format name (``--format``) -> the module that renders it; imported only when used
FORMATS: dict[str, str] = {
    "text": "codegraph.report.text",
    "full": "codegraph.report.text",
    "concise": "codegraph.report.concise",
    "json": "codegraph.report.json_report",
    "sarif": "codegraph.report.sarif",
    "github": "codegraph.report.github",
}


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
    #: ANSI colours (formats for people only; the terminal decides)
    color: bool = False
    #: the text formats end with a summary line (``--quiet`` leaves it out)
    summary_line: bool = True


def render(fmt: str, result: ScanResult, meta: ReportMeta) -> str:
    """The report in format ``fmt`` (a key of :data:`FORMATS`)."""
    module = importlib.import_module(FORMATS[fmt])
    text: str = module.render(result, meta)
    return text
