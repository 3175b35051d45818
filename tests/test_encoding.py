"""PEP 263: a file with a coding declaration is analysed as Python reads it.

Positions stay in characters of the decoded text, and `codegraph fix` writes the
file back in its own encoding.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from codegraph import export, fix, scan
from codegraph.config import Settings
from codegraph.pipeline import Analyzer
from codegraph.syntax import SourceError, decode_source, utf8_source

sys.path.insert(0, str(Path(__file__).parent))
from doubles import FirstOf

LATIN1 = '# -*- coding: latin-1 -*-\ndef area(width, height):\n    s = "\xe9\xe9"; return width * width\n'


@pytest.fixture
def latin1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "geo.py"
    path.write_bytes(LATIN1.encode("latin-1"))
    return path


def test_decode_source_follows_the_declaration_and_the_bom() -> None:
    assert decode_source(LATIN1.encode("latin-1")) == (LATIN1, "iso-8859-1")
    assert decode_source(b"\xef\xbb\xbfx = 1\n") == ("x = 1\n", "utf-8-sig")
    assert utf8_source(LATIN1.encode("latin-1")) == LATIN1.encode("utf-8")
    plain = "x = 'é'\n".encode()
    assert utf8_source(plain) is plain
    with pytest.raises(SourceError, match="unknown encoding"):
        utf8_source(b"# coding: no-such-codec\nx = 1\n")
    with pytest.raises(SourceError, match=r"not ascii text \(invalid byte at offset 21\)"):
        utf8_source(b"# coding: ascii\nx = '\xe9'\n")
    with pytest.raises(SourceError, match="not UTF-8 text"):
        utf8_source(b"x = '\xe9'\n")


def test_latin1_file_is_analysed_with_character_columns(latin1: Path, capsys) -> None:
    rc = scan.main(["--no-progress", "--no-cache", "--format", "json", "geo.py"],
                   analyzer=Analyzer(Settings(), predictor=FirstOf()))  # fmt: skip
    data = json.loads(capsys.readouterr().out)
    assert data["errors"] == [] and rc == 1
    (finding,) = data["findings"]
    line = LATIN1.splitlines()[finding["line"] - 1]
    assert finding["line"] == 3
    # columns count characters: in UTF-8 each é is two bytes, which would shift the range
    assert line[finding["column"] - 1 : finding["end_column"] - 1] in {"width", "height"}
    assert finding["column"] > line.index("return")


def test_fix_writes_the_file_back_in_its_own_encoding(latin1: Path, monkeypatch, capsys) -> None:
    original = scan.Engine.__post_init__

    def with_double(self) -> None:
        self.analyzer = Analyzer(Settings(), predictor=FirstOf())
        original(self)

    monkeypatch.setattr(scan.Engine, "__post_init__", with_double)
    assert fix.main(["--no-progress", "--no-cache", "geo.py"]) == 0
    assert "geo.py: applied 1 fix" in capsys.readouterr().out
    data = latin1.read_bytes()
    assert b"\xe9\xe9" in data  # still latin-1, not UTF-8
    text = data.decode("latin-1")
    assert text != LATIN1 and text.splitlines()[:2] == LATIN1.splitlines()[:2]


def test_graph_export_reads_the_declared_encoding(latin1: Path, capsys) -> None:
    assert export.main(["geo.py", "--format", "json"]) == 0
    assert '"\u00e9\u00e9"' in capsys.readouterr().out
