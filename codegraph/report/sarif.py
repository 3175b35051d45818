"""SARIF 2.1.0, shaped for GitHub code scanning.

One run; ``tool.driver`` lists every rule with its docs (help text and markdown come
from the rule class docstrings). Each result has a primary location, the far-away
evidence as ``relatedLocations``, the proposed repair as a ``fix`` and a
``partialFingerprints`` entry that does not contain the line number (see
:mod:`codegraph.baseline`), so alerts keep their identity when unrelated code moves.
URIs are relative to ``%SRCROOT%`` when the file is under it: ``--project-root``, else the
git work tree, else the current directory, so they do not depend on the folder CI runs in.
Files that could not be analysed become tool execution notifications.

A result's ``level`` follows its confidence (:func:`level`): ``error`` at 0.97 or above
(the default threshold), ``warning`` at 0.8 or above, ``note`` below; ``properties.confidence``
carries the value (rounded down, as every report shows it). Every rule has a ``helpUri``,
its documentation in the repository (``docs/rules/CGxxx.md``, at the release's tag). The
message links the far-away evidence to its ``relatedLocations`` by id (``[text](1)``), as
GitHub shows related locations only through such links.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

from codegraph import REPOSITORY_URL, __version__
from codegraph.baseline import fingerprints
from codegraph.findings import Finding, Fix, ScanResult, confidence_percent, shown_confidence
from codegraph.report import ReportMeta
from codegraph.rules import ALL_RULES, Rule

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
INFORMATION_URI = REPOSITORY_URL
FINGERPRINT_KEY = "codegraphFingerprint/v1"
SRCROOT = "%SRCROOT%"
#: how a rule's findings are surfaced by default; every rule describes a likely bug
LEVEL = "error"
#: (lowest confidence, level) of a result, highest first: see :func:`level`
LEVELS = ((0.97, "error"), (0.8, "warning"), (0.0, "note"))
#: the detector's precision class at the default threshold (SARIF/GitHub vocabulary)
PRECISION = "medium"


def level(confidence: float) -> str:
    """A result's level from its confidence (compared as shown): >= 0.97 error, >= 0.8 warning, else note."""
    shown = shown_confidence(confidence)
    return next(name for lowest, name in LEVELS if shown >= lowest)


def help_uri(rule: type[Rule], version: str = __version__) -> str:
    """The rule's documentation in the repository, at the tag of this release."""
    return f"{REPOSITORY_URL}/blob/v{version}/docs/rules/{rule.code}.md"


def escape_text(text: str) -> str:
    """Plain SARIF message text: brackets escaped, so that only our own links are links (SARIF 3.11.6)."""
    return text.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")


def message_text(finding: Finding) -> str:
    """The finding's message with its confidence and a link to each piece of far-away evidence:
    ``... (confidence 97%). Evidence: [`height` is defined or last used here](1).``"""
    text = f"{escape_text(finding.message)} (confidence {confidence_percent(finding.confidence)})"
    if finding.related:
        links = ", ".join(f"[{escape_text(r.message)}]({i})" for i, r in enumerate(finding.related, start=1))
        text += f". Evidence: {links}."
    return text


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
        "helpUri": help_uri(rule),
        "help": {"text": docs, "markdown": docs},
        "defaultConfiguration": {"level": LEVEL},
        "properties": {
            "precision": PRECISION,
            "tags": ["correctness", "reliability"],
            "problem.severity": "error",
        },
    }


def artifact_location(path: str, root: Path | None = None) -> dict[str, Any]:
    """A reported path (relative to the cwd, or absolute) relative to ``root`` (%SRCROOT%; default
    the cwd) when under it, else an absolute file URI."""
    cwd = Path.cwd().resolve()
    p = Path(os.path.normpath(cwd / path))
    try:
        rel = p.relative_to(root.resolve() if root is not None else cwd)
    except ValueError:
        return {"uri": p.as_uri()}
    return {"uri": quote(rel.as_posix()), "uriBaseId": SRCROOT}


def _region(line: int, column: int, end_line: int, end_column: int) -> dict[str, int]:
    end_line = max(end_line, line)
    if end_line == line:
        end_column = max(end_column, column + 1)
    return {"startLine": line, "startColumn": column, "endLine": end_line, "endColumn": end_column}


def _fix(finding: Finding, fix: Fix, root: Path | None) -> dict[str, Any]:
    return {
        "description": {"text": f"Replace with `{fix.replacement}`"},
        "artifactChanges": [
            {
                "artifactLocation": artifact_location(finding.path, root),
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


def result_object(
    finding: Finding, index: dict[str, int], fp: tuple[str, int], root: Path | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ruleId": finding.rule,
        "ruleIndex": index[finding.rule],
        "level": level(finding.confidence),
        "message": {"text": message_text(finding)},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": artifact_location(finding.path, root),
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
                    "artifactLocation": artifact_location(r.path, root),
                    "region": {"startLine": r.line, "startColumn": r.column},
                },
                "message": {"text": r.message},
            }
            for i, r in enumerate(finding.related, start=1)
        ]
    if finding.fix is not None:
        out["fixes"] = [_fix(finding, finding.fix, root)]
    return out


def to_sarif(result: ScanResult, meta: ReportMeta, root: Path | None = None) -> dict[str, Any]:
    """The SARIF log object; ``root`` (default: ``meta.root``, else the cwd) is ``%SRCROOT%``."""
    root = (root or meta.root or Path.cwd()).resolve()
    index = {r.code: i for i, r in enumerate(ALL_RULES)}
    fps = fingerprints(result.findings, meta.lines)
    notifications = [
        {
            "level": "warning",
            "message": {"text": e.message},
            "locations": [{"physicalLocation": {"artifactLocation": artifact_location(e.path, root)}}],
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
        "results": [result_object(f, index, fp, root) for f, fp in zip(result.findings, fps, strict=True)],
    }
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def render(result: ScanResult, meta: ReportMeta) -> str:
    return json.dumps(to_sarif(result, meta), indent=2, ensure_ascii=False, allow_nan=False) + "\n"
