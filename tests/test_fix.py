"""`codegraph fix`: non-overlapping repairs applied bottom-up; --diff-only writes nothing."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from codegraph import fix, scan
from codegraph.config import Settings
from codegraph.findings import Finding, Fix
from codegraph.pipeline import Analyzer


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
