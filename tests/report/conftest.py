"""Shared sample findings for the report tests (hand-made: the formats are tested on their own)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from codegraph.findings import FileError, Finding, Fix, Related, ScanResult, ScanStats
from codegraph.report import ReportMeta

GEOMETRY = """\
def area(width, height):
    # the area of a rectangle
    return width * width


def ratio(a, b):
\treturn a / a
"""


def make_findings(path: str = "pkg/geometry.py") -> list[Finding]:
    return [
        Finding(
            path=path, line=3, column=20, end_line=3, end_column=25, rule="CG001", name="variable-misuse",
            message="`width` is used here, but `height` looks intended", confidence=0.934,
            function="pkg.geometry.area", fix=Fix(3, 20, 3, 25, "height"),
            related=(Related(path, 1, 17, "`height` is defined or last used here"),),
        ),
        Finding(
            path=path, line=7, column=13, end_line=7, end_column=14, rule="CG001", name="variable-misuse",
            message="`a` is used here, but `b` looks intended", confidence=0.81,
            function="pkg.geometry.ratio", fix=Fix(7, 13, 7, 14, "b"),
        ),
    ]  # fmt: skip


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory with pkg/geometry.py, made the current directory."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "geometry.py").write_text(GEOMETRY, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def result(project: Path) -> ScanResult:
    return ScanResult(
        findings=make_findings(),
        errors=[FileError("pkg/blob.py", "binary file (contains NUL bytes)")],
        stats=ScanStats(files=3, functions=2, lines=7, seconds=0.25),
    )


@pytest.fixture
def sample_findings() -> Callable[..., list[Finding]]:
    """``sample_findings(path)``: two CG001 findings in GEOMETRY."""
    return make_findings


@pytest.fixture
def meta() -> ReportMeta:
    return ReportMeta(model={"name": "tiny", "sha256": "ab" * 32}, min_confidence=0.8)
