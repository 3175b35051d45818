"""Adding a rule is one module and its line in the registry: shown on a copy of the package with a
toy CG009, which the shipped model was never trained with. The shipped model still loads, scores
the other rules exactly as before, and scan says once that CG009 is left off."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import codegraph
from codegraph.cli import main

TOY_RULE = '''
"""CG009 toy-empty-string: a string literal that should be empty (a toy rule for a test)."""

from collections.abc import Iterable

from codegraph.rules.base import Enumeration, Rule
from codegraph.units import Candidate, Repair


class ToyEmptyString(Rule):
    """## What it does
    Finds a string literal that should be empty.
    """

    code = "CG009"
    name = "toy-empty-string"
    summary = "a string that should be empty"
    node_types = frozenset({"string"})
    repair_tokens = ("str:empty",)

    @classmethod
    def candidates(cls, ctx: Enumeration, n: int) -> Iterable[Candidate]:
        g = ctx.g
        start, end = g.start_byte[n], g.end_byte[n]
        if g.source[start:end] == b'""':
            return ()
        return (Candidate(n, cls.code, [Repair(cls.code, "str:empty", '""', start, end)]),)
'''

SOURCE = """\
def greet(name, greeting):
    if name == "":
        return greeting
    return "hello " + name


def count(items, limit):
    total = 0
    for item in items:
        if item > limit:
            total = total + 1
    return total
"""

SCRIPT = r"""
import contextlib, io, json, sys
from codegraph.cli import main
from codegraph.models.runtime import load_runtime
from codegraph.rules import RULE_CODES

out = {"codes": list(RULE_CODES), "missing": list(load_runtime().missing_rules)}
for name, argv in {
    "candidates": ["candidates", "m.py", "--format", "json"],
    "scan": ["scan", "m.py", "--min-confidence", "0", "--format", "json", "--no-cache"],
    "rules": ["rules"],
}.items():
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main(argv)
    out[name] = {"code": code, "stdout": stdout.getvalue(), "stderr": stderr.getvalue()}
print(json.dumps(out))
"""


def _package_with_cg009(root: Path) -> Path:
    """A copy of the codegraph package with one more rule module and one more registry line."""
    package = root / "codegraph"
    shutil.copytree(Path(codegraph.__file__).parent, package, ignore=shutil.ignore_patterns("__pycache__"))
    (package / "rules" / "cg009_toy_empty_string.py").write_text(TOY_RULE, encoding="utf-8")
    registry = package / "rules" / "__init__.py"
    text = registry.read_text(encoding="utf-8")
    last = "from codegraph.rules.cg008_wrong_assignment_operator import WrongAssignmentOperator\n"
    anchor = "    WrongAssignmentOperator,\n)"
    assert last in text and text.count(anchor) == 1
    text = text.replace(last, last + "from codegraph.rules.cg009_toy_empty_string import ToyEmptyString\n")
    registry.write_text(text.replace(anchor, "    WrongAssignmentOperator,\n    ToyEmptyString,\n)"), "utf-8")
    return root


def test_a_toy_rule_is_one_module_and_one_registry_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = _package_with_cg009(tmp_path / "pkg")
    work = tmp_path / "work"
    work.mkdir()
    (work / "m.py").write_text(SOURCE, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(copy)}
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=work, env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.splitlines()[-1])
    # the rule is there: registered, listed, enumerated
    assert out["codes"][-1] == "CG009"
    assert "CG009" in [line.split()[0] for line in out["rules"]["stdout"].splitlines()]
    assert "CG009" in {c["rule"] for c in json.loads(out["candidates"]["stdout"])["candidates"]}
    # the shipped model, trained before CG009 existed, loads and leaves CG009 off, said once
    assert out["missing"] == ["CG009"]
    scan = out["scan"]
    assert scan["code"] == 1
    assert scan["stderr"].splitlines() == [
        "codegraph: the model was not trained with CG009 (toy-empty-string); CG009 is left off"
    ]
    findings = json.loads(scan["stdout"])["findings"]
    assert findings and all(f["rule"] != "CG009" for f in findings)
    # ... and scores the other rules exactly as this package's scan does
    monkeypatch.chdir(work)
    assert main(["scan", "m.py", "--min-confidence", "0", "--format", "json", "--no-cache"]) == 1
    captured = capsys.readouterr()
    assert json.loads(captured.out)["findings"] == findings and captured.err == ""
