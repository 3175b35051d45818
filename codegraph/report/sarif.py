"""SARIF 2.1.0, shaped for GitHub code scanning.

One run; ``tool.driver`` lists every rule with its docs (help text and markdown come
from the rule class docstrings). Each result has a primary location, the far-away
evidence as ``relatedLocations``, the proposed repair as a ``fix`` and a
``partialFingerprints`` entry that does not contain the line number (see
:mod:`codegraph.baseline`), so alerts keep their identity when unrelated code moves.
URIs are relative to ``%SRCROOT%`` (the current directory) when the file is under it.
Files that could not be analysed become tool execution notifications.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

from codegraph.baseline import fingerprints
from codegraph.findings import Finding, Fix, ScanResult, confidence_percent, shown_confidence
from codegraph.report import ReportMeta
from codegraph.rules import ALL_RULES, Rule

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
INFORMATION_URI = "https://pypi.org/project/codegraph-gnn/"
FINGERPRINT_KEY = "codegraphFingerprint/v1"
SRCROOT = "%SRCROOT%"
#: how a finding is surfaced by default; every rule describes a likely bug
LEVEL = "error"
#: the detector's precision class at the default threshold (SARIF/GitHub vocabulary)
PRECISION = "medium"


def _what_it_does(rule: type[Rule]) -> str:
    """The first paragraph under "What it does" of the rule docs, or its summary."""
    text = rule.help()
    marker = "## What it does"
    if marker in text:
        body = text.split(marker, 1)[1].strip()
        return " ".join(body.split("\n\n", 1)[0].split())
    return rule.summary


def rule_descriptor(rule: type[Rule]) -> dict[str, Any]:
    docs = rule.help()
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary[:1].upper() + rule.summary[1:]},
        "fullDescription": {"text": _what_it_does(rule)},
        "help": {"text": docs, "markdown": docs},
        "defaultConfiguration": {"level": LEVEL},
        "properties": {
            "precision": PRECISION,
            "tags": ["correctness", "reliability"],
            "problem.severity": "error",
        },
    }


def artifact_location(path: str) -> dict[str, Any]:
    p = Path(path)
    if p.is_absolute():
        return {"uri": p.as_uri()}
    return {"uri": quote(p.as_posix()), "uriBaseId": SRCROOT}


def _region(line: int, column: int, end_line: int, end_column: int) -> dict[str, int]:
    end_line = max(end_line, line)
    if end_line == line:
        end_column = max(end_column, column + 1)
    return {"startLine": line, "startColumn": column, "endLine": end_line, "endColumn": end_column}


def _fix(finding: Finding, fix: Fix) -> dict[str, Any]:
    return {
        "description": {"text": f"Replace with `{fix.replacement}`"},
        "artifactChanges": [
            {
                "artifactLocation": artifact_location(finding.path),
                "replacements": [
                    {
                        "deletedRegion": _region(fix.line, fix.column, fix.end_line, fix.end_column)
                        if (fix.line, fix.column) != (fix.end_line, fix.end_column)
                        else {"startLine": fix.line, "startColumn": fix.column, "endColumn": fix.column},
                        "insertedContent": {"text": fix.replacement},
                    }
                ],
            }
        ],
    }


def result_object(finding: Finding, index: dict[str, int], fp: tuple[str, int]) -> dict[str, Any]:
    message = f"{finding.message} (confidence {confidence_percent(finding.confidence)})"
    out: dict[str, Any] = {
        "ruleId": finding.rule,
        "ruleIndex": index[finding.rule],
        "level": LEVEL,
        "message": {"text": message},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": artifact_location(finding.path),
                    "region": _region(finding.line, finding.column, finding.end_line, finding.end_column),
                },
                "logicalLocations": [{"fullyQualifiedName": finding.function, "kind": "function"}],
            }
        ],
        "partialFingerprints": {FINGERPRINT_KEY: f"{fp[0]}:{fp[1]}"},
        "properties": {"confidence": shown_confidence(finding.confidence)},
    }
    if finding.related:
        out["relatedLocations"] = [
            {
                "id": i,
                "physicalLocation": {
                    "artifactLocation": artifact_location(r.path),
                    "region": {"startLine": r.line, "startColumn": r.column},
                },
                "message": {"text": r.message},
            }
            for i, r in enumerate(finding.related, start=1)
        ]
    if finding.fix is not None:
        out["fixes"] = [_fix(finding, finding.fix)]
    return out


def to_sarif(result: ScanResult, meta: ReportMeta, root: Path | None = None) -> dict[str, Any]:
    """The SARIF log object; ``root`` (default: the current directory) is ``%SRCROOT%``."""
    root = (root or Path.cwd()).resolve()
    index = {r.code: i for i, r in enumerate(ALL_RULES)}
    fps = fingerprints(result.findings, meta.lines)
    notifications = [
        {
            "level": "warning",
            "message": {"text": e.message},
            "locations": [{"physicalLocation": {"artifactLocation": artifact_location(e.path)}}],
        }
        for e in result.errors
    ]
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "codegraph",
                "version": meta.version,
                "semanticVersion": meta.version,
                "informationUri": INFORMATION_URI,
                "rules": [rule_descriptor(r) for r in ALL_RULES],
                "properties": {"model": dict(meta.model), "minConfidence": meta.min_confidence},
            }
        },
        "originalUriBaseIds": {SRCROOT: {"uri": root.as_uri().rstrip("/") + "/"}},
        "columnKind": "unicodeCodePoints",
        "invocations": [{"executionSuccessful": True, "toolExecutionNotifications": notifications}],
        "results": [result_object(f, index, fp) for f, fp in zip(result.findings, fps, strict=True)],
    }
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def render(result: ScanResult, meta: ReportMeta) -> str:
    return json.dumps(to_sarif(result, meta), indent=2, ensure_ascii=False) + "\n"
