"""`codegraph rules [CODE]`."""

from __future__ import annotations

import json

from codegraph import cli
from codegraph.rules import ALL_RULES


def test_lists_every_rule(capsys) -> None:
    assert cli.main(["rules"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == [r.code for r in ALL_RULES]
    assert lines[0].split()[1] == "variable-misuse"


def test_explains_one_rule_by_code_or_name(capsys) -> None:
    assert cli.main(["rules", "cg003"]) == 0
    by_code = capsys.readouterr().out
    assert by_code.startswith("# wrong-binary-operator (CG003)\n") and "## Why is this bad?" in by_code
    assert cli.main(["rules", "wrong-binary-operator"]) == 0
    assert capsys.readouterr().out == by_code


def test_json_and_unknown(capsys) -> None:
    assert cli.main(["rules", "--format", "json"]) == 0
    assert [r["code"] for r in json.loads(capsys.readouterr().out)] == [r.code for r in ALL_RULES]
    assert cli.main(["rules", "CG999"]) == 2
    assert "unknown rule" in capsys.readouterr().err
