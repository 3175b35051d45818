"""The real-fix miner on a small git repository built here, commit by commit."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from codegraph.models.training import mining
from codegraph.models.training.mining import Pin, line_tokens, one_token_edit

BASE = """\
import os


def area(width, height):
    return width * width


def ready(flags, limit):
    if len(flags) > limit:
        return True
    return False


def join(parts, sep):
    return os.path.join(sep, parts)


TOTAL = 10
"""


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True).stdout


def commit(repo: Path, files: dict[str, str], message: str) -> str:
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD").strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    mirrors = tmp_path / "mirrors"
    r = mirrors / "someone+geometry"
    r.mkdir(parents=True)
    git(r, "init", "-q")
    text = BASE
    commit(r, {"geo/shapes.py": text, "README": "x\n"}, "initial")
    # 1. a variable misuse fixed, with a test beside it: kept
    text = text.replace("width * width", "width * height")
    commit(r, {"geo/shapes.py": text, "tests/test_shapes.py": "def test(): pass\n"}, "Fix area")
    # 2. a one-token change whose message is not a fix: dropped
    commit(r, {"geo/shapes.py": text.replace("TOTAL = 10", "TOTAL = 12")}, "Bump the total")
    text = text.replace("TOTAL = 10", "TOTAL = 12")
    # 3. an operator fixed: kept
    text = text.replace("len(flags) > limit", "len(flags) >= limit")
    commit(r, {"geo/shapes.py": text}, "off-by-one error in ready")
    # 4. swapped arguments fixed: kept
    text = text.replace("os.path.join(sep, parts)", "os.path.join(parts, sep)")
    commit(r, {"geo/shapes.py": text}, "typo in join")
    # 5. two lines changed: dropped
    text2 = text.replace("return True", "return 1").replace("return False", "return 0")
    commit(r, {"geo/shapes.py": text2}, "fix returns")
    # 6. a revert: dropped
    commit(r, {"geo/shapes.py": text}, 'Revert "fix returns"')
    # 7. a comment-only change: dropped (the trees are equal)
    commit(r, {"geo/shapes.py": text.replace("TOTAL = 12", "TOTAL = 12  # fixed")}, "fix comment")
    # 8. two non-test Python files changed: dropped
    commit(
        r, {"geo/shapes.py": text.replace("TOTAL = 12", "TOTAL = 13"), "geo/other.py": "A = 1\n"}, "fix total"
    )
    return mirrors


def test_mines_exactly_the_one_token_fixes(repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert mining.mine([Pin("someone/geometry", None)], repo, out) == 1
    recs = [json.loads(x) for x in (out / "records" / "someone+geometry.jsonl").read_text().splitlines()]
    got = [(r["rule"], r["kind"], r["function"], r["bug"]["text"], r["fix"]["replacement"]) for r in recs]
    assert got == [
        ("CG001", "name", "geo.shapes.area", "width", "height"),
        ("CG004", "comparison-operator", "geo.shapes.ready", ">", ">="),
        ("CG002", "swap", "geo.shapes.join", "sep, parts", "parts, sep"),
    ]
    first = recs[0]
    assert first["line"] == 5 and first["buggy_line"] == "    return width * width"
    assert first["bug"] == {"line": 5, "column": 20, "end_line": 5, "end_column": 25, "text": "width"}
    assert first["buggy_function"] == "def area(width, height):\n    return width * width\n"
    assert first["fixed_function"] == "def area(width, height):\n    return width * height\n"
    assert first["subject"] == "Fix area" and first["repo"] == "someone/geometry"
    # applying the fix to the buggy line gives the fixed line
    for r in recs:
        f = r["fix"]
        line = r["buggy_line"]
        assert line[: f["column"] - 1] + f["replacement"] + line[f["end_column"] - 1 :] == r["fixed_line"]
    summary = json.loads((out / "records" / "someone+geometry.json").read_text())
    assert summary["commits"] == 9 and summary["fixes"] == 3
    # resumable: a mined repository is skipped
    assert mining.mine([Pin("someone/geometry", None)], repo, out) == 0


def test_refuses_held_out_repositories(repo: Path, tmp_path: Path) -> None:
    lines: list[str] = []
    n = mining.mine(
        [Pin("pallets/flask", None), Pin("someone/requests", None)], repo, tmp_path / "o", log=lines.append
    )
    assert n == 0
    assert lines == [
        "refused pallets/flask: a held-out repository",
        "refused someone/requests: named as a held-out repository (a fork or mirror)",
    ]


def test_a_pinned_head_limits_the_history(repo: Path, tmp_path: Path) -> None:
    r = repo / "someone+geometry"
    second = git(r, "rev-list", "--reverse", "HEAD").split()[1]  # the first fix
    out = tmp_path / "out"
    mining.mine([Pin("someone/geometry", second)], repo, out)
    recs = (out / "records" / "someone+geometry.jsonl").read_text().splitlines()
    assert [json.loads(x)["fix"]["replacement"] for x in recs] == ["height"]


@pytest.mark.parametrize(
    ("buggy", "fixed", "kind", "replacement"),
    [
        ("if a and b:", "if a or b:", "boolean-operator", "or"),
        ("x = 1", "x += 1", "assignment-operator", "+="),
        ("if x:", "if not x:", "negation", "not "),
        ("if not x:", "if x:", "negation", ""),
        ("if x is None:", "if x is not None:", "comparison-operator", "not "),
        ("f(a, b=1)", "f(a, b=2)", "number", "2"),
        ("y = self.foo", "y = self.bar", "attribute", "bar"),
        ("z = None", "z = 0", "none", "0"),
        ("flag = True", "flag = False", "bool", "False"),
    ],
)
def test_one_token_edits(buggy: str, fixed: str, kind: str, replacement: str) -> None:
    bt, ft = line_tokens(buggy), line_tokens(fixed)
    assert bt is not None and ft is not None
    edit = one_token_edit(bt, ft, buggy, fixed)
    assert edit is not None and (edit.kind, edit.replacement) == (kind, replacement)
    assert buggy[: edit.col] + edit.replacement + buggy[edit.end :] == fixed


@pytest.mark.parametrize(
    ("buggy", "fixed"),
    [("x = a + b", "x = a - c"), ("f(a, b, c)", "f(c, a, b)"), ("x = 1", "x = 1  # one")],
)
def test_not_one_token(buggy: str, fixed: str) -> None:
    bt, ft = line_tokens(buggy), line_tokens(fixed)
    assert bt is not None and ft is not None
    assert one_token_edit(bt, ft, buggy, fixed) is None


def test_split_is_by_repository_and_stable(tmp_path: Path) -> None:
    names = [f"owner{k}/project{k}" for k in range(400)]
    splits = [mining.split_of(n) for n in names]
    assert splits == [mining.split_of(n) for n in names]
    assert {s: splits.count(s) for s in mining.SPLITS} == {
        s: sum(1 for n in names if mining.split_of(n) == s) for s in mining.SPLITS
    }
    assert 40 <= splits.count("test") <= 80 and 15 <= splits.count("valid") <= 50
    assert mining.split_of("yt-dlp/yt-dlp") == mining.split_of("ytdl-org/youtube-dl")


def test_pins_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "pins.txt"
    pins = [Pin("a/b", "0" * 40), Pin("c/d", None)]
    mining.write_pins(path, pins, "# header\n")
    assert mining.read_pins(path) == pins
    path.write_text("a/b nothex\n")
    with pytest.raises(mining.MineError, match="not a 40-hex commit"):
        mining.read_pins(path)
