"""`codegraph fix`: non-overlapping repairs applied bottom-up; --diff-only writes nothing."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

from codegraph import fix, scan
from codegraph.config import Settings
from codegraph.findings import Finding, Fix
from codegraph.pipeline import Analyzer

SCAN_TREE = Path(__file__).parent / "fixtures" / "scan_tree"


def _finding(line: int, col: int, end: int, replacement: str, confidence: float, end_line: int | None = None):
    end_line = end_line or line
    return Finding("m.py", line, col, end_line, end, "CG003", "wrong-binary-operator", "m", confidence, "m.f",
                   Fix(line, col, end_line, end, replacement))  # fmt: skip


def test_edits_apply_bottom_up_with_columns_in_code_points() -> None:
    text = "é = a + b\nx = c - d\n"
    edits = fix.choose_edits(text, [_finding(1, 7, 8, "-", 0.9), _finding(2, 7, 8, "+", 0.8)])
    assert [e.start for e in edits] == sorted((e.start for e in edits), reverse=True)
    assert fix.apply_edits(text, edits) == "é = a - b\nx = c + d\n"


def test_overlapping_edits_keep_the_most_confident() -> None:
    text = "y = a + b + c\n"
    wide = _finding(1, 5, 10, "(a - b)", 0.7)
    narrow = _finding(1, 7, 8, "*", 0.9)
    same_start = _finding(1, 7, 7, "not ", 0.6)
    edits = fix.choose_edits(text, [wide, narrow, same_start])
    assert [e.finding for e in edits] == [narrow]
    assert fix.apply_edits(text, edits) == "y = a * b + c\n"


def test_adjacent_edits_both_apply() -> None:
    text = "if a and b: pass\n"
    edits = fix.choose_edits(text, [_finding(1, 4, 5, "not a", 0.9), _finding(1, 6, 9, "or", 0.8)])
    assert fix.apply_edits(text, edits) == "if not a or b: pass\n"


def test_multiline_fix_and_out_of_range_fix_is_skipped() -> None:
    text = "x = (a +\n     b)\n"
    edits = fix.choose_edits(
        text, [_finding(1, 5, 8, "(a + b)", 0.9, end_line=2), _finding(9, 1, 2, "z", 0.9)]
    )
    assert fix.apply_edits(text, edits) == "x = (a + b)\n"


def test_crlf_files_keep_their_line_ends() -> None:
    text = "x = a + b\r\ny = c\r\n"
    assert (
        fix.apply_edits(text, fix.choose_edits(text, [_finding(1, 7, 8, "-", 0.9)]))
        == "x = a - b\r\ny = c\r\n"
    )


class FixedPredictor:
    """Test double (as in test_scan.py): each function's first CG001 candidate, first repair."""

    name, sha256 = "fixed", "f" * 64

    def __init__(self, confidence: float) -> None:
        self.confidence = confidence

    def predict(self, units):
        out = []
        for u in units:
            best = next((i for i, c in enumerate(u.candidates) if c.rule == "CG001"), 0)
            loc = [0.0] * len(u.candidates)
            loc[best] = self.confidence
            reps = [[1.0] + [0.0] * (len(c.repairs) - 1) for c in u.candidates]
            out.append(SimpleNamespace(p_no_bug=1 - self.confidence, loc_probs=loc, rep_probs=reps))
        return out


def _run(args: list[str], monkeypatch, confidence: float = 0.98) -> int:
    original = scan.Engine.__post_init__

    def with_double(self) -> None:
        self.analyzer = Analyzer(Settings(), predictor=FixedPredictor(confidence))
        original(self)

    monkeypatch.setattr(scan.Engine, "__post_init__", with_double)
    return fix.main(["--no-progress", *args])


def test_diff_only_prints_a_diff_and_writes_nothing(tree: Path, monkeypatch, capsys) -> None:
    before = {p: p.read_bytes() for p in tree.rglob("*.py")}
    rc = _run(["pkg/geometry.py", "--diff-only", "--no-cache"], monkeypatch)
    out, err = capsys.readouterr()
    assert rc == 1
    assert out.startswith("--- a/pkg/geometry.py\n+++ b/pkg/geometry.py\n@@ ")
    assert "Would apply" in err
    assert {p: p.read_bytes() for p in tree.rglob("*.py")} == before


def test_fix_rewrites_files_at_or_above_the_threshold(tree: Path, monkeypatch, capsys) -> None:
    geometry = tree / "pkg" / "geometry.py"
    before = geometry.read_text()
    assert _run(["pkg/geometry.py", "--min-confidence", "0.99"], monkeypatch) == 0
    assert geometry.read_text() == before
    assert _run(["pkg/geometry.py"], monkeypatch) == 0
    out = capsys.readouterr().out
    assert "pkg/geometry.py: applied 2 fixes (CG001)" in out
    after = geometry.read_text()
    assert after != before and len(after.splitlines()) == len(before.splitlines())


# -- what fix writes and where --------------------------------------------------------------------
def _entries(tree: Path) -> list[Path]:
    return sorted(p for d in tree.rglob(".codegraph_cache") for p in d.rglob("*.json"))


def test_a_crafted_cache_entry_never_reaches_the_file(tree: Path, monkeypatch, capsys) -> None:
    geometry = tree / "pkg" / "geometry.py"
    before = geometry.read_text()
    assert _run(["pkg/geometry.py", "--diff-only"], monkeypatch) == 1  # fills the cache, writes nothing
    entries = _entries(tree)
    assert entries
    payload = '__import__("os").system("touch pwned")\n'
    for entry in entries:
        data = json.loads(entry.read_text())
        for f in data["findings"]:
            f["confidence"] = 0.999
            f["fix"] = {"line": 1, "column": 1, "end_line": 1, "end_column": 1, "replacement": payload}
        entry.write_text(json.dumps(data))
    capsys.readouterr()
    assert _run(["pkg/geometry.py"], monkeypatch) == 0
    _, err = capsys.readouterr()
    assert geometry.read_text() == before
    assert "fix is not a candidate repair here; skipped" in err


def test_a_cached_fix_must_match_the_candidate_repair_exactly(tree: Path, monkeypatch, capsys) -> None:
    geometry = tree / "pkg" / "geometry.py"
    assert _run(["pkg/geometry.py", "--diff-only"], monkeypatch) == 1
    for entry in _entries(tree):  # same place, another text: rejected too
        data = json.loads(entry.read_text())
        for f in data["findings"]:
            f["fix"]["replacement"] += "; import os"
        entry.write_text(json.dumps(data))
    assert _run(["pkg/geometry.py"], monkeypatch) == 0
    assert "import os" not in geometry.read_text()
    # a fresh analysis proposes the real repairs again and they apply
    assert _run(["pkg/geometry.py", "--no-cache"], monkeypatch) == 0
    assert "applied 2 fixes" in capsys.readouterr().out


def test_fix_never_writes_through_a_link_outside_the_given_paths(tree: Path, monkeypatch, capsys) -> None:
    elsewhere = tree.parent / "elsewhere"
    elsewhere.mkdir()
    victim = elsewhere / "victim.py"
    shutil.copy(tree / "pkg" / "geometry.py", victim)
    before = victim.read_bytes()
    (tree / "src").mkdir()
    (tree / "src" / "link.py").symlink_to(victim)
    assert _run(["src"], monkeypatch) == 0
    _, err = capsys.readouterr()
    assert victim.read_bytes() == before
    assert "src/link.py is a link to" in err and "outside the given paths" in err
    # a link inside the given paths is written through: the link stays a link
    (tree / "pkg" / "alias.py").symlink_to(tree / "pkg" / "geometry.py")
    assert _run(["pkg"], monkeypatch) == 0
    assert (tree / "pkg" / "alias.py").is_symlink()


def test_fix_keeps_the_mode_and_an_interrupted_write_loses_nothing(tree: Path, monkeypatch, capsys) -> None:
    geometry = tree / "pkg" / "geometry.py"
    geometry.chmod(0o750)
    before = geometry.read_bytes()

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as m:
        m.setattr(fix.os, "fsync", disk_full)
        assert _run(["pkg/geometry.py", "--no-cache"], m) == 2
    assert "cannot write pkg/geometry.py: No space left on device" in capsys.readouterr().err
    assert geometry.read_bytes() == before
    assert sorted(p.name for p in geometry.parent.iterdir()) == sorted(
        p.name for p in (SCAN_TREE / "pkg").iterdir()
    )
    assert _run(["pkg/geometry.py", "--no-cache"], monkeypatch) == 0
    assert geometry.read_bytes() != before and (geometry.stat().st_mode & 0o777) == 0o750


def test_write_atomically_refuses_a_file_changed_since_analysis(tmp_path: Path) -> None:
    target = tmp_path / "m.py"
    target.write_text("x = 1\n")
    with pytest.raises(fix.FileChanged):
        fix.write_atomically(target, b"x = 2\n", hashlib.sha256(b"x = 0\n").hexdigest())
    assert target.read_text() == "x = 1\n" and [p.name for p in tmp_path.iterdir()] == ["m.py"]
    fix.write_atomically(target, b"x = 2\n", hashlib.sha256(b"x = 1\n").hexdigest())
    assert target.read_text() == "x = 2\n"
