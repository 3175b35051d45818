"""`codegraph candidates`: every (location, repair) in the finding shape, no model loaded."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from codegraph.candidate_report import main
from codegraph.context import ContextBuilder
from codegraph.graph import build_file_graph
from codegraph.scope_analysis import scopes_of

SOURCE = "def area(width, height):\n    return width * width\n"
KEYS = ["path", "line", "column", "end_line", "end_column", "rule", "name", "function", "fix"]


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "geo.py").write_text(SOURCE, encoding="utf-8")
    (tmp_path / "blob.py").write_bytes(b"\x00\x01binary")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_json_lists_every_location_and_repair(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["geo.py", "blob.py", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert list(out) == ["version", "candidates", "errors"]
    cands = out["candidates"]
    assert all(list(c) == KEYS and c["fix"] is not None for c in cands)
    assert {c["function"] for c in cands} == {"geo.area"}
    # the second `width` (line 2, columns 20..25): its repair is `height`
    misuse = [c for c in cands if c["rule"] == "CG001" and c["column"] == 20]
    assert [c["fix"] for c in misuse] == [
        {"line": 2, "column": 20, "end_line": 2, "end_column": 25, "replacement": "height"}
    ]
    assert misuse[0]["name"] == "variable-misuse" and misuse[0]["path"] == "geo.py"
    ops = sorted(c["fix"]["replacement"] for c in cands if c["rule"] == "CG003")
    assert ops == sorted(["+", "-", "/", "//", "%", "**", "@"])
    # one entry per (location, repair) of the unit a scan builds
    g = build_file_graph(SOURCE.encode(), "geo.py", "geo")
    unit = ContextBuilder(g, scopes_of(g)).build(g.functions[0])
    assert len(cands) == sum(len(c.repairs) for c in unit.candidates)
    assert [e["path"] for e in out["errors"]] == ["blob.py"]


def test_text_and_rule_selection(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["geo.py", "--select", "CG001"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "geo.py:2:20: CG001 [variable-misuse] `width` -> `height` (geo.area)" in lines
    assert all(" CG001 " in line for line in lines[:-1])
    assert lines[-1].endswith("in 1 functions")


def test_no_model_is_loaded(tree: Path) -> None:
    code = (
        "import sys\nfrom codegraph.cli import main\n"
        "rc = main(['candidates', 'geo.py', '--format', 'json'])\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\nsys.exit(rc)"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=tree, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["candidates"]


def test_a_missing_path_is_a_usage_error(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["nowhere.py"]) == 2
    assert "nowhere.py" in capsys.readouterr().err
