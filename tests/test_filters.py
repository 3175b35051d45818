"""codegraph.filters: which findings a run reports, for scan and the language server alike."""

from __future__ import annotations

from pathlib import Path

import pytest

from codegraph.config import ConfigError, Settings, settings_from_table
from codegraph.filters import FindingFilter, PerFileIgnores, file_suppressed, on_changed_lines, suppressed
from codegraph.findings import Finding


def finding(line: int, rule: str = "CG001", confidence: float = 0.9, path: str = "m.py") -> Finding:
    return Finding(path, line, 1, line, 2, rule, "x", "msg", confidence, "m.f")


def test_line_noqa_bare_and_with_codes() -> None:
    assert suppressed("x = 1  # noqa", "CG003")
    assert suppressed("x = 1  # NOQA: cg003, CG001", "CG001")
    assert not suppressed("x = 1  # noqa: CG003", "CG001")
    assert not suppressed("x = 1  # no qa", "CG001")


def test_file_noqa_needs_a_line_of_its_own() -> None:
    assert file_suppressed("import os\n# codegraph: noqa\nx = 1\n")
    assert file_suppressed("#codegraph:NOQA\n")
    assert not file_suppressed("x = 1  # codegraph: noqa\n")  # on a code line it is not file-level
    assert not file_suppressed("# codegraph: noqa: CG001\n")


def test_threshold_and_noqa_are_applied_once_in_order() -> None:
    text = "a = 1\nb = 2  # noqa: CG001\nc = 3  # noqa: CG002\nd = 4\n"
    filt = FindingFilter(0.5, frozenset({"CG001", "CG002"}))
    found = [finding(4), finding(3), finding(2), finding(1, confidence=0.49), finding(1, confidence=0.5)]
    assert [(f.line, f.confidence) for f in filt.apply(found, text)] == [(1, 0.5), (3, 0.9), (4, 0.9)]
    assert filt.apply(found, "# codegraph: noqa\n" + text) == []


def test_per_file_ignores_match_globs_relative_to_the_configuration(tmp_path: Path) -> None:
    per_file = PerFileIgnores(
        (("tests/*", frozenset({"CG006"})), ("**/gen_*.py", frozenset({"CG001"}))), tmp_path
    )
    filt = FindingFilter(0.5, frozenset({"CG001", "CG006"}), per_file)
    assert filt.rules_for(str(tmp_path / "tests" / "test_a.py")) == {"CG001"}
    assert filt.rules_for(str(tmp_path / "src" / "gen_x.py")) == {"CG006"}
    assert filt.rules_for(str(tmp_path / "src" / "a.py")) == {"CG001", "CG006"}
    assert filt.rules_for("/elsewhere/tests/a.py") == {"CG001", "CG006"}  # outside the base: no match


def test_settings_read_extend_select_and_per_file_ignores(tmp_path: Path) -> None:
    table = {"select": ["CG001"], "extend-select": ["CG006"], "per-file-ignores": {"tests/*": ["CG006"]}}
    s = settings_from_table(table, "pyproject.toml")
    assert s.enabled_rules() == {"CG001", "CG006"}
    assert s.per_file_ignores == (("tests/*", frozenset({"CG006"})),)
    pyproject = tmp_path / "pyproject.toml"
    filt = FindingFilter.from_settings(Settings(per_file_ignores=s.per_file_ignores, source=str(pyproject)))
    assert "CG006" not in filt.rules_for(str(tmp_path / "tests" / "t.py"))
    with pytest.raises(ConfigError, match="per-file-ignores"):
        settings_from_table({"per-file-ignores": ["tests/*"]}, "pyproject.toml")
    with pytest.raises(ConfigError, match="unknown rule code 'CG999'"):
        settings_from_table({"per-file-ignores": {"tests/*": ["CG999"]}}, "pyproject.toml")


def test_diff_keeps_findings_on_changed_lines(tmp_path: Path) -> None:
    here = tmp_path / "m.py"
    f = Finding("m.py", 3, 1, 4, 2, "CG001", "x", "m", 0.9, "m.f")
    assert on_changed_lines(f, {here: frozenset({4})}, here)
    assert not on_changed_lines(f, {here: frozenset({5})}, here)
    assert on_changed_lines(f, {here: None}, here)  # a new file: every line is changed
    assert not on_changed_lines(f, {}, here)
