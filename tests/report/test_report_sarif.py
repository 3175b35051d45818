"""SARIF 2.1.0: schema-valid, with what GitHub code scanning needs."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from codegraph.findings import ScanResult
from codegraph.report import ReportMeta, sarif
from codegraph.rules import ALL_RULES

SCHEMA = Path(__file__).parent / "fixtures" / "sarif-schema-2.1.0.json"


@pytest.fixture(scope="module")
def validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def test_schema_copy_matches_shared() -> None:
    shared = Path(__file__).resolve().parents[3] / "shared" / "sarif-schema-2.1.0.json"
    if not shared.is_file():
        pytest.skip("no shared/ beside the checkout")
    assert json.loads(shared.read_text()) == json.loads(SCHEMA.read_text())


def test_valid_against_the_schema(result: ScanResult, meta: ReportMeta, validator) -> None:
    log = json.loads(sarif.render(result, meta))
    errors = sorted(validator.iter_errors(log), key=str)
    assert not errors, errors[0].message
    assert log["version"] == "2.1.0"


def test_empty_run_is_valid(meta: ReportMeta, validator, project) -> None:
    validator.validate(json.loads(sarif.render(ScanResult(), meta)))


def test_driver_rules_carry_docs(result: ScanResult, meta: ReportMeta) -> None:
    driver = sarif.to_sarif(result, meta)["runs"][0]["tool"]["driver"]
    assert (
        driver["name"] == "codegraph"
        and driver["version"]
        and driver["informationUri"].startswith("https://")
    )
    assert [r["id"] for r in driver["rules"]] == [r.code for r in ALL_RULES]
    first = driver["rules"][0]
    assert first["name"] == "variable-misuse"
    assert first["shortDescription"]["text"] and first["fullDescription"]["text"].startswith(
        "Finds a variable"
    )
    assert "## Why is this bad?" in first["help"]["markdown"] and first["help"]["text"]
    assert first["defaultConfiguration"]["level"] == "error"
    assert first["properties"]["precision"] in {"very-high", "high", "medium", "low"}
    assert "correctness" in first["properties"]["tags"]


def test_result_locations_fix_and_related(result: ScanResult, meta: ReportMeta, project: Path) -> None:
    run = sarif.to_sarif(result, meta)["runs"][0]
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == project.resolve().as_uri() + "/"
    r = run["results"][0]
    assert r["ruleId"] == "CG001" and run["tool"]["driver"]["rules"][r["ruleIndex"]]["id"] == "CG001"
    assert r["level"] == "error"
    loc = r["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"] == {"uri": "pkg/geometry.py", "uriBaseId": "%SRCROOT%"}
    assert loc["region"] == {"startLine": 3, "startColumn": 20, "endLine": 3, "endColumn": 25}
    assert r["relatedLocations"][0]["physicalLocation"]["region"] == {"startLine": 1, "startColumn": 17}
    assert r["relatedLocations"][0]["message"]["text"] == "`height` is defined or last used here"
    replacement = r["fixes"][0]["artifactChanges"][0]["replacements"][0]
    assert replacement["deletedRegion"] == {"startLine": 3, "startColumn": 20, "endLine": 3, "endColumn": 25}
    assert replacement["insertedContent"] == {"text": "height"}
    assert run["invocations"][0]["toolExecutionNotifications"][0]["message"]["text"].startswith("binary")


def test_fingerprints_survive_unrelated_line_shifts(
    result: ScanResult, meta: ReportMeta, project: Path
) -> None:
    before = [r["partialFingerprints"] for r in sarif.to_sarif(result, meta)["runs"][0]["results"]]
    geometry = project / "pkg" / "geometry.py"
    geometry.write_text("import math\n\n\n" + geometry.read_text(), encoding="utf-8")
    shifted = ScanResult(
        findings=[
            f.__class__(**{**{k: getattr(f, k) for k in f.__dataclass_fields__}, "line": f.line + 3,
                           "end_line": f.end_line + 3})
            for f in result.findings
        ]
    )  # fmt: skip
    after = [r["partialFingerprints"] for r in sarif.to_sarif(shifted, meta)["runs"][0]["results"]]
    assert before == after
    assert len({fp[sarif.FINGERPRINT_KEY] for fp in before}) == 2
