"""The text report: ruff-style header, code frame with carets, fix and notes, summary."""

from __future__ import annotations

from codegraph.findings import Finding, Fix, ScanResult, ScanStats
from codegraph.report import ReportMeta, text


def test_header_is_ruff_style(result: ScanResult) -> None:
    assert text.header(result.findings[0]) == (
        "pkg/geometry.py:3:20: CG001 [variable-misuse] "
        "`width` is used here, but `height` looks intended (confidence 93%)"
    )


def test_finding_block_has_frame_carets_fix_and_note(result: ScanResult, meta: ReportMeta) -> None:
    block = text.render_finding(result.findings[0], meta.lines("pkg/geometry.py"))
    assert block.splitlines() == [
        "pkg/geometry.py:3:20: CG001 [variable-misuse] "
        "`width` is used here, but `height` looks intended (confidence 93%)",
        "  |",
        "1 | def area(width, height):",
        "2 |     # the area of a rectangle",
        "3 |     return width * width",
        "  |                    ^^^^^",
        "4 |",
        "5 |",
        "  |",
        "  = fix: replace `width` with `height`",
        "  = note: pkg/geometry.py:1:17: `height` is defined or last used here",
    ]


def test_carets_line_up_after_tabs(result: ScanResult, meta: ReportMeta) -> None:
    lines = text.render_finding(result.findings[1], meta.lines("pkg/geometry.py")).splitlines()
    source = next(line for line in lines if line.startswith("7 |"))
    carets = lines[lines.index(source) + 1]
    assert source == "7 |     return a / a"
    assert carets.index("^") == source.rindex("a") and carets.count("^") == 1


def test_carets_line_up_after_wide_characters() -> None:
    f = Finding("w.py", 2, 16, 2, 17, "CG001", "variable-misuse", "m", 0.9, "w.f", Fix(2, 16, 2, 17, "y"))
    lines = text.render_finding(f, ["def f(x, y):", '    s = "表表" + x']).splitlines()
    # two wide characters take four cells: the caret sits under the `x`
    assert lines[4].index("^") - len("  | ") == len('    s = "表表" + ') + 2


def test_summary_and_errors(result: ScanResult, meta: ReportMeta) -> None:
    out = text.render(result, meta)
    assert "pkg/blob.py: error: binary file (contains NUL bytes)" in out
    assert out.rstrip().splitlines()[-1] == (
        "Found 2 findings in 1 file at confidence >= 0.8 (2 functions in 3 files analysed, 1 error, 0.25s)."
    )


def test_no_findings_summary(meta: ReportMeta) -> None:
    out = text.render(ScanResult(stats=ScanStats(files=1, functions=4, seconds=1.0)), meta)
    assert out == "No findings at confidence >= 0.8 (4 functions in 1 file analysed, 1.00s).\n"


def test_fix_descriptions(sample_findings) -> None:
    lines = ["x = a + b"]
    base = sample_findings("m.py")[0]
    assert text.fix_line(base.__class__(**{**_fields(base), "fix": Fix(1, 7, 1, 8, "-")}), lines) == (
        "replace `+` with `-`"
    )
    assert text.fix_line(base.__class__(**{**_fields(base), "fix": Fix(1, 5, 1, 5, "not ")}), lines) == (
        "insert `not `"
    )
    assert text.fix_line(base.__class__(**{**_fields(base), "fix": None}), lines) is None


def test_color_only_when_asked(result: ScanResult, meta: ReportMeta) -> None:
    assert "\x1b[" not in text.render(result, meta)
    assert "\x1b[" in text.render(result, meta, color=True)


def _fields(f: Finding) -> dict:
    return {k: getattr(f, k) for k in f.__dataclass_fields__}
