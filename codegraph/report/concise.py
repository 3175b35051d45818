"""The concise text format: one header line per finding (``path:line:col: CODE [name] message``)."""

from __future__ import annotations

from codegraph.findings import ScanResult
from codegraph.report import ReportMeta, text


def render(result: ScanResult, meta: ReportMeta) -> str:
    return text.render(result, meta, concise=True)
