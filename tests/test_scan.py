"""`codegraph scan` in-process, with a test-double predictor (fixed probabilities).

The double stands in for the detector only here: it makes every function's first
CG001 candidate (else its first candidate) the most likely bug with a chosen
confidence, so reports, thresholds, caching and filtering can be checked exactly.
End-to-end runs with a real (tiny) checkpoint are in test_scan_e2e.py.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from codegraph import engine, scan
from codegraph.config import DEFAULT_MIN_CONFIDENCE, Settings
from codegraph.pipeline import Analyzer
from codegraph.units import AnalysisUnit


@dataclass
class FixedPrediction:
    p_no_bug: float
    loc_probs: list[float]
    rep_probs: list[list[float]]


class FixedPredictor:
    """Test double: the first CG001 candidate (else the first) gets ``confidence``; counts calls."""

    name = "fixed"
    sha256 = "f" * 64

    def __init__(self, confidence: float = 0.98) -> None:  # above the default threshold
        self.confidence = confidence
        self.units_seen: list[str] = []

    def predict(self, units: list[AnalysisUnit]) -> list[FixedPrediction]:
        out = []
        for u in units:
            self.units_seen.append(u.function)
            n = len(u.candidates)
            best = next((i for i, c in enumerate(u.candidates) if c.rule == "CG001"), 0)
            loc = [(1 - self.confidence) / max(n - 1, 1)] * n
            loc[best] = self.confidence
            reps = [[1.0] + [0.0] * (len(c.repairs) - 1) for c in u.candidates]
            out.append(FixedPrediction(1 - self.confidence, loc, reps))
        return out


def run_scan(args: list[str], predictor: FixedPredictor | None = None, capsys=None) -> tuple[int, str, str]:
    predictor = predictor or FixedPredictor()
    rc = scan.main(["--no-progress", *args], analyzer=Analyzer(Settings(), predictor=predictor))
    out, err = capsys.readouterr() if capsys is not None else ("", "")
    return rc, out, err


def scan_json(args: list[str], capsys, predictor: FixedPredictor | None = None) -> tuple[int, dict]:
    rc, out, err = run_scan(["--format", "json", *args], predictor, capsys)
    assert rc in (0, 1), err
    return rc, json.loads(out)


HEADER = re.compile(r"^(\S+):(\d+):(\d+): (CG\d{3}) \[([a-z-]+)\] (.+) \(confidence (\d+)%\)$")


def test_text_report_and_exit_status(tree: Path, capsys) -> None:
    rc, out, _ = run_scan(["pkg"], capsys=capsys)
    assert rc == 1
    headers = [m for line in out.splitlines() if (m := HEADER.match(line))]
    assert headers, out
    assert {m.group(1) for m in headers} <= {"pkg/geometry.py", "pkg/util.py"}
    assert all(m.group(7) == "98" for m in headers)
    assert "  = fix: replace `" in out
    assert re.search(r"^\d+ \|\s+\^+$", out, re.M) is None  # carets sit on gutter-only lines
    assert re.search(r"^\s+\|\s+\^+$", out, re.M)
    assert out.rstrip().splitlines()[-1].startswith("Found ")


def test_threshold_decides_the_exit_status(tree: Path, capsys) -> None:
    rc, out, _ = run_scan(["pkg", "--min-confidence", "0.99"], capsys=capsys)
    assert rc == 0 and out.startswith("No findings at confidence >= 0.99")


def test_json_contract(tree: Path, capsys) -> None:
    _, data = scan_json(["."], capsys)
    assert data["min_confidence"] == DEFAULT_MIN_CONFIDENCE  # the configured default
    assert data["model"] == {"name": "fixed", "sha256": "f" * 64}
    assert data["stats"]["files"] == 4 and data["stats"]["functions"] >= 4
    f = next(f for f in data["findings"] if f["function"].endswith("area"))
    assert f["path"] == "pkg/geometry.py" and f["function"] == "pkg.geometry.area"
    assert f["rule"] == "CG001" and f["name"] == "variable-misuse" and f["confidence"] == 0.98
    assert f["fix"]["replacement"] and 1 <= f["line"] <= f["end_line"]
    for f in data["findings"]:
        assert not Path(f["path"]).is_absolute()
        assert all(not Path(r["path"]).is_absolute() for r in f["related"])


def test_paths_outside_the_current_directory_stay_absolute(tree: Path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tree.parent)
    (tree.parent / "elsewhere").mkdir()
    monkeypatch.chdir(tree.parent / "elsewhere")
    _, data = scan_json([str(tree / "pkg" / "util.py")], capsys)
    assert data["findings"][0]["path"] == str((tree / "pkg" / "util.py").resolve())


def test_noqa_is_honoured(tree: Path, capsys) -> None:
    _, data = scan_json(["pkg/quiet.py", "--min-confidence", "0"], capsys)
    assert data["findings"] == [] and data["stats"]["functions"] == 1


def test_select_and_ignore(tree: Path, capsys) -> None:
    _, data = scan_json(["pkg", "--ignore", "CG001", "--min-confidence", "0"], capsys)
    assert data["findings"] and all(f["rule"] != "CG001" for f in data["findings"])
    _, data = scan_json(["pkg", "--select", "CG00", "--ignore", "CG0"], capsys)
    assert data["findings"] == []


def test_bad_files_are_reported_and_never_stop_the_scan(tree: Path, capsys) -> None:
    (tree / "blob.py").write_bytes(b"x = 1\x00\x01\x02")
    (tree / "latin.py").write_bytes("s = 'café'\n".encode("latin-1"))
    (tree / "broken.py").write_text("def f(a, b:\n    return a\n")
    (tree / "huge.py").write_bytes(b"x = 1\n" * 800_000)
    rc, data = scan_json(["."], capsys)
    errors = {e["path"]: e["message"] for e in data["errors"]}
    assert "binary" in errors["blob.py"] and "UTF-8" in errors["latin.py"]
    assert "syntax error" in errors["broken.py"] and "too large" in errors["huge.py"]
    assert rc == 1 and any(f["path"] == "pkg/geometry.py" for f in data["findings"])
    rc, out, _ = run_scan(["."], capsys=capsys)
    assert "blob.py: error: binary file" in out and "4 errors" in out.splitlines()[-1]


def test_unreadable_file_is_an_error(tree: Path, capsys, monkeypatch) -> None:
    target = (tree / "pkg" / "util.py").resolve()
    read_regular_file = engine.read_regular_file

    def deny(path: Path, limit: int) -> bytes:
        if path.resolve() == target:
            raise PermissionError(13, "Permission denied")
        return read_regular_file(path, limit)

    monkeypatch.setattr(engine, "read_regular_file", deny)
    _, data = scan_json(["pkg"], capsys)
    assert {"path": "pkg/util.py", "message": "cannot read: Permission denied"} in data["errors"]
    assert any(f["path"] == "pkg/geometry.py" for f in data["findings"])


def test_usage_errors_exit_2(tree: Path, capsys) -> None:
    rc, _, err = run_scan(["no/such/dir"], capsys=capsys)
    assert rc == 2 and err.strip() == "codegraph scan: error: no/such/dir: no such file or directory"
    rc, _, err = run_scan(["--min-confidence", "2"], capsys=capsys)
    assert rc == 2 and "must be between 0 and 1" in err
    rc, _, err = run_scan(["--select", "XX9"], capsys=capsys)
    assert rc == 2 and "unknown rule code" in err and len(err.strip().splitlines()) == 1


def test_pyproject_settings_and_flag_overrides(tree: Path, capsys) -> None:
    (tree / "pyproject.toml").write_text(
        '[tool.codegraph]\nmin-confidence = 0.5\nexclude = ["pkg/util.py"]\nignore = ["CG002"]\n'
    )
    _, data = scan_json(["."], capsys)
    assert data["min_confidence"] == 0.5
    assert "pkg/util.py" not in {f["path"] for f in data["findings"]} and data["stats"]["files"] == 3
    _, data = scan_json([".", "--min-confidence", "0.99"], capsys)
    assert data["min_confidence"] == 0.99 and data["findings"] == []
    (tree / "pyproject.toml").write_text("[tool.codegraph]\nmin-confidence = 7\n")
    rc, _, err = run_scan(["."], capsys=capsys)
    assert rc == 2 and "min-confidence" in err


def test_config_flag(tree: Path, capsys) -> None:
    cfg = tree.parent / "other.toml"
    cfg.write_text("[tool.codegraph]\nmin-confidence = 0.95\n")
    _, data = scan_json([".", "--config", str(cfg)], capsys)
    assert data["min_confidence"] == 0.95
    rc, _, err = run_scan([".", "--config", str(tree / "nope.toml")], capsys=capsys)
    assert rc == 2 and "no such configuration file" in err


def test_exclude_flag(tree: Path, capsys) -> None:
    _, data = scan_json([".", "--exclude", "pkg/geometry.py", "--exclude", "quiet.py"], capsys)
    assert data["stats"]["files"] == 2


def test_output_file(tree: Path, capsys) -> None:
    rc, out, _ = run_scan(["pkg", "--format", "sarif", "--output", "report.sarif"], capsys=capsys)
    assert rc == 1 and out == ""
    log = json.loads((tree / "report.sarif").read_text())
    assert log["runs"][0]["results"]


def test_sarif_of_a_real_scan_is_schema_valid(tree: Path, capsys) -> None:
    import jsonschema

    schema = json.loads(
        (Path(__file__).parent / "report" / "fixtures" / "sarif-schema-2.1.0.json").read_text()
    )
    _, out, _ = run_scan(["pkg", "--format", "sarif", "--min-confidence", "0"], capsys=capsys)
    log = json.loads(out)
    jsonschema.validators.validator_for(schema)(schema).validate(log)
    uris = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in log["runs"][0]["results"]
    }
    assert uris <= {"pkg/geometry.py", "pkg/util.py"}


def test_github_format(tree: Path, capsys) -> None:
    _, out, _ = run_scan(["pkg", "--format", "github"], capsys=capsys)
    first = out.splitlines()[0]
    assert re.match(
        r"^::error file=pkg/\w+\.py,line=\d+,col=\d+,endLine=\d+,endColumn=\d+,title=CG001 variable-misuse::",
        first,
    )


# -- cache ------------------------------------------------------------------------------------------
def test_cache_skips_unchanged_files_and_survives_a_threshold_change(tree: Path, capsys) -> None:
    first = FixedPredictor()
    _, before = scan_json(["."], capsys, first)
    assert first.units_seen and (tree / ".codegraph_cache" / ".gitignore").is_file()
    second = FixedPredictor()
    _, again = scan_json([".", "--min-confidence", "0.1"], capsys, second)
    assert second.units_seen == []  # all from the cache, threshold applied afterwards
    assert [f["line"] for f in again["findings"]] == [f["line"] for f in before["findings"]]
    # a changed rule selection changes raw results: analysed again
    third = FixedPredictor()
    scan_json([".", "--ignore", "CG001"], capsys, third)
    assert third.units_seen


def test_cache_invalidated_by_own_content_and_imported_files(tree: Path, capsys) -> None:
    scan_json(["."], capsys)
    (tree / "pkg" / "util.py").write_text("def scale(factor, value):\n    return value * factor\n")
    p = FixedPredictor()
    scan_json(["."], capsys, p)
    # util.py changed; geometry.py imports it; quiet.py and __init__.py are untouched
    assert sorted(set(p.units_seen)) == ["pkg.geometry.area", "pkg.geometry.ratio", "pkg.util.scale"]


def test_no_cache_writes_nothing(tree: Path, capsys) -> None:
    scan_json([".", "--no-cache"], capsys)
    assert not (tree / ".codegraph_cache").exists()


def test_scan_never_writes_into_user_files(tree: Path, capsys) -> None:
    before = {p: p.read_bytes() for p in tree.rglob("*") if p.is_file()}
    run_scan(["."], capsys=capsys)
    after = {p: p.read_bytes() for p in tree.rglob("*") if p.is_file() and ".codegraph_cache" not in p.parts}
    assert after == before


# -- baseline ---------------------------------------------------------------------------------------
def test_baseline_hides_known_findings_across_line_shifts(tree: Path, capsys) -> None:
    rc, _ = scan_json([".", "--write-baseline", "baseline.json"], capsys)
    assert rc == 0 and json.loads((tree / "baseline.json").read_text())["findings"]
    geometry = tree / "pkg" / "geometry.py"
    geometry.write_text("import os\n\n\n" + geometry.read_text() + "\n\ndef half(x, y):\n    return x / 2\n")
    rc, data = scan_json([".", "--baseline", "baseline.json"], capsys)
    assert [f["function"] for f in data["findings"]] == ["pkg.geometry.half"]
    rc, out, _ = run_scan([".", "--baseline", "baseline.json"], capsys=capsys)
    assert "hidden by the baseline" in out.splitlines()[-1]
    rc, _, err = run_scan([".", "--baseline", "missing.json"], capsys=capsys)
    assert rc == 2 and "no such baseline" in err


# -- --diff -----------------------------------------------------------------------------------------
@pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")
def test_diff_reports_only_changed_lines(tree: Path, capsys) -> None:
    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=tree, check=True, capture_output=True)

    git("init", "-q")
    git("-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-q", "--allow-empty", "-m", "0")
    git("add", "pkg")
    git("-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-qm", "1")
    _, everything = scan_json([".", "--diff", "HEAD"], capsys)
    assert everything["findings"] == [] and everything["stats"]["files"] == 0
    geometry = tree / "pkg" / "geometry.py"
    geometry.write_text(geometry.read_text().replace("return a / b", "return b / a"))
    (tree / "new.py").write_text("def new(p, q):\n    return p - p\n")
    _, data = scan_json([".", "--diff", "HEAD", "--min-confidence", "0"], capsys)
    changed_line = geometry.read_text().splitlines().index("    return b / a") + 1
    assert {f["path"] for f in data["findings"]} <= {"pkg/geometry.py", "new.py"}
    assert all(f["line"] == changed_line for f in data["findings"] if f["path"] == "pkg/geometry.py")
    assert any(f["path"] == "new.py" for f in data["findings"])
    rc, _, err = run_scan([".", "--diff", "no-such-ref"], capsys=capsys)
    assert rc == 2 and "git diff failed" in err


def test_internal_error_in_one_file_is_isolated(tree: Path, capsys, monkeypatch) -> None:
    original = Analyzer.build_graph

    def explode(self, path, source, project):
        if path.endswith("util.py"):
            raise RuntimeError("boom")
        return original(self, path, source, project)

    monkeypatch.setattr(Analyzer, "build_graph", explode)
    rc, out, _ = run_scan(["--format", "json", "."], capsys=capsys)
    data = json.loads(out)
    assert rc == 2
    assert {"path": "pkg/util.py", "message": "internal error: RuntimeError: boom"} in data["errors"]
    assert any(f["path"] == "pkg/geometry.py" for f in data["findings"])


def test_per_file_ignores_extend_select_and_file_noqa(tree: Path, capsys) -> None:
    _, data = scan_json(["pkg"], capsys)
    before = {(f["path"], f["rule"]) for f in data["findings"]}
    assert ("pkg/geometry.py", "CG001") in before and ("pkg/util.py", "CG001") in before
    (tree / "pyproject.toml").write_text(
        '[tool.codegraph]\nselect = ["CG002"]\nextend-select = ["CG001"]\n'
        '[tool.codegraph.per-file-ignores]\n"pkg/geo*.py" = ["CG001"]\n'
    )
    _, data = scan_json(["pkg"], capsys)
    after = {(f["path"], f["rule"]) for f in data["findings"]}
    assert ("pkg/geometry.py", "CG001") not in after and ("pkg/util.py", "CG001") in after
    util = tree / "pkg" / "util.py"
    util.write_text("# codegraph: noqa\n" + util.read_text())
    _, data = scan_json(["pkg"], capsys)
    assert not any(f["path"] == "pkg/util.py" for f in data["findings"])
    assert data["stats"]["files"] == 4 and data["stats"]["functions"] > 0


def test_batches_hold_a_bounded_number_of_files_and_bytes():
    from codegraph import engine

    big = engine.BATCH_BYTES // 2 + 1
    items = [("a", b"x" * big), ("b", b"x" * big), ("c", b"x" * 10), ("d", b"x" * (3 * big)), ("e", b"")]
    assert [[p for p, _ in b] for b in engine._batches(items, 16)] == [["a"], ["b", "c"], ["d"], ["e"]]
    small = [(str(i), b"x") for i in range(5)]
    assert [len(b) for b in engine._batches(small, 2)] == [2, 2, 1]
