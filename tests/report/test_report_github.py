"""GitHub workflow-command annotations and their escaping."""

from __future__ import annotations

from dataclasses import replace

from codegraph.findings import ScanResult
from codegraph.report import ReportMeta, github


def test_annotation_line(result: ScanResult, meta: ReportMeta) -> None:
    first = github.render(result, meta).splitlines()[0]
    assert first.startswith(  # confidence 0.934: a warning, as in SARIF
        "::warning file=pkg/geometry.py,line=3,col=20,endLine=3,endColumn=25,title=CG001 variable-misuse::"
    )
    message = first.split("::", 2)[2]
    assert message == (
        "`width` is used here, but `height` looks intended (confidence 93%25)"
        "%0Afix: replace `width` with `height`"
        "%0Anote: pkg/geometry.py:1:17: `height` is defined or last used here"
    )


def test_escaping_rules() -> None:
    assert github.escape_data("100% a\r\nb, c: d") == "100%25 a%0D%0Ab, c: d"
    assert github.escape_property("a,b:c%\n") == "a%2Cb%3Ac%25%0A"
    line = github.command("error", {"file": "dir,x/a:b.py", "title": "T"}, "m%")
    assert line == "::error file=dir%2Cx/a%3Ab.py,title=T::m%25"


def test_errors_become_warnings_and_a_summary_notice(result: ScanResult, meta: ReportMeta) -> None:
    lines = github.render(result, meta).splitlines()
    assert (
        "::warning file=pkg/blob.py,title=codegraph could not analyse::binary file (contains NUL bytes)"
        in lines
    )
    assert lines[-1].startswith("::notice title=codegraph::2 findings at confidence >= 0.8")
    assert len(lines) == 4


def test_the_command_follows_the_confidence(result: ScanResult, meta: ReportMeta) -> None:
    result.findings = [replace(result.findings[0], confidence=c) for c in (0.97, 0.96999, 0.8, 0.5)]
    result.errors = []
    commands = [line.split(" ", 1)[0] for line in github.render(result, meta).splitlines()[:-1]]
    assert commands == ["::error", "::warning", "::warning", "::notice"]
