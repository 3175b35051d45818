"""The JSON report: exactly the object of the output contract (design.md section 4)."""

from __future__ import annotations

import json
from typing import Any

from codegraph.findings import ScanResult
from codegraph.report import ReportMeta


def to_json(result: ScanResult, meta: ReportMeta) -> dict[str, Any]:
    """{"version", "model", "min_confidence", "findings", "errors", "stats"}."""
    return {
        "version": meta.version,
        "model": {"name": meta.model.get("name", ""), "sha256": meta.model.get("sha256", "")},
        "min_confidence": meta.min_confidence,
        "findings": [f.to_json() for f in result.findings],
        "errors": [e.to_json() for e in result.errors],
        "stats": {
            "files": result.stats.files,
            "functions": result.stats.functions,
            "seconds": round(result.stats.seconds, 3),
        },
    }


def render(result: ScanResult, meta: ReportMeta) -> str:
    return json.dumps(to_json(result, meta), indent=2, ensure_ascii=False, allow_nan=False) + "\n"
