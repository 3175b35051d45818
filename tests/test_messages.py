"""Finding messages stay on one line, whatever the code they quote spans."""

from __future__ import annotations

import sys
from pathlib import Path

from codegraph.config import Settings
from codegraph.pipeline import Analyzer, one_line
from codegraph.report import text

sys.path.insert(0, str(Path(__file__).parent))
from doubles import FirstOf

SOURCE = b"""\
def move(src, dst):
    return dst


def main(first, second):
    return move(
        second.strip(
            "x",
        ),
        first,
    )
"""


def test_one_line() -> None:
    assert one_line("a,\n    b.strip(\n    )") == "a, b.strip( )"
    long = one_line("x" * 100)
    assert len(long) == 40 and long.endswith("…")


def test_swapped_multiline_arguments_give_a_one_line_message() -> None:
    analysis = Analyzer(Settings(min_confidence=0.5), predictor=FirstOf("CG002", 0.99)).analyze_source(
        "m.py", SOURCE
    )
    (finding,) = [f for f in analysis.findings if f.rule == "CG002"]
    assert "\n" not in finding.message
    assert finding.message == (
        "these arguments look swapped: "
        '`second.strip( "x", ), first` should probably be `first, second.strip( "x", )`'
    )
    header = text.header(finding)
    assert "\n" not in header and header.startswith("m.py:7:9: CG002 [swapped-arguments] ")
