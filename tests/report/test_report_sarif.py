"""SARIF 2.1.0: schema-valid, with what GitHub code scanning needs."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import jsonschema
import pytest

from codegraph import REPOSITORY_URL, __version__
from codegraph.findings import Related, ScanResult
from codegraph.report import ReportMeta, sarif
from codegraph.rule_docs import explain
from codegraph.rules import ALL_RULES

SCHEMA = Path(__file__).parent / "fixtures" / "sarif-schema-2.1.0.json"


@pytest.fixture(scope="module")
def validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def test_schema_copy_matches_shared() -> None:
    found = [p / "shared" / "sarif-schema-2.1.0.json" for p in Path(__file__).resolve().parents[2:]]
    shared = next((p for p in found if p.is_file()), None)
    if shared is None:
        pytest.skip("no shared/ above the checkout")
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
    assert r["level"] == "warning"  # confidence 0.934
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


def test_level_follows_confidence_and_every_result_has_it(result: ScanResult, meta: ReportMeta) -> None:
    assert [sarif.level(c) for c in (1.0, 0.97, 0.96999, 0.8, 0.79999, 0.0)] == [
        "error", "error", "warning", "warning", "note", "note",
    ]  # fmt: skip
    result.findings = [replace(result.findings[0], confidence=c) for c in (0.99, 0.85, 0.3)]
    results = sarif.to_sarif(result, meta)["runs"][0]["results"]
    assert [r["level"] for r in results] == ["error", "warning", "note"]
    assert [r["properties"]["confidence"] for r in results] == [0.99, 0.85, 0.3]


def test_every_rule_links_its_docs_in_the_repository(result: ScanResult, meta: ReportMeta) -> None:
    rules = sarif.to_sarif(result, meta)["runs"][0]["tool"]["driver"]["rules"]
    root = Path(__file__).resolve().parents[2]
    for descriptor, rule in zip(rules, ALL_RULES, strict=True):
        uri = descriptor["helpUri"]
        assert uri == f"{REPOSITORY_URL}/blob/v{__version__}/docs/rules/{rule.code}.md"
        doc = root / uri.split(f"/blob/v{__version__}/", 1)[1]
        assert doc.read_text(encoding="utf-8") == explain(rule), "run `make docs`"
    assert sorted(p.name for p in (root / "docs" / "rules").iterdir()) == [f"{r.code}.md" for r in ALL_RULES]


def test_message_links_the_evidence_by_related_location_id(
    result: ScanResult, meta: ReportMeta, validator
) -> None:
    far = Related("pkg/util.py", 4, 9, "`limit` is the callee's second parameter")
    result.findings = [
        replace(
            result.findings[0],
            message="`a[0]` and `b` look swapped",
            related=(*result.findings[0].related, far),
        )
    ]
    log = sarif.to_sarif(result, meta)
    validator.validate(log)
    (r,) = log["runs"][0]["results"]
    assert r["message"]["text"] == (
        "`a\\[0\\]` and `b` look swapped (confidence 93%). Evidence: "
        "[`height` is defined or last used here](1), [`limit` is the callee's second parameter](2)."
    )
    ids = [int(m) for m in re.findall(r"\]\((\d+)\)", r["message"]["text"])]
    assert ids == [loc["id"] for loc in r["relatedLocations"]] == [1, 2]
    assert r["relatedLocations"][1]["physicalLocation"]["artifactLocation"]["uri"] == "pkg/util.py"


def test_srcroot_is_the_project_root_not_the_cwd(result: ScanResult, project: Path, monkeypatch) -> None:
    meta = ReportMeta(model={"name": "m", "sha256": "0" * 64}, min_confidence=0.97, root=project)
    (project / "pkg" / "sub").mkdir()
    monkeypatch.chdir(project / "pkg")  # CI runs from a subfolder: paths are reported relative to it
    result.findings = [replace(f, path="geometry.py", related=()) for f in result.findings]
    run = sarif.to_sarif(result, meta)["runs"][0]
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == project.resolve().as_uri() + "/"
    uri = run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert uri == {"uri": "pkg/geometry.py", "uriBaseId": "%SRCROOT%"}
    outside = replace(result.findings[0], path="../../elsewhere.py")
    loc = sarif.result_object(outside, {"CG001": 0}, ("x", 0), project)["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"]["uri"].startswith("file:///")
