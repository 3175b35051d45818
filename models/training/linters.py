"""Which real fixes a linter already catches: ruff, pyflakes and pylint on the buggy side.

A linter *catches* a fix when, on the fixed line of the buggy file, it reports a
message (ruff: its code; pyflakes: its message with quoted names removed; pylint: its
symbol) that it does not report on that line of the fixed file. Each file is linted on
its own (no package around it), as a user linting that one file would see it.

ruff runs with its default rules, pyflakes as is, pylint with its error and warning
messages (``--disable=C,R``: conventions and refactoring hints say nothing about bugs).
A linter that is not installed is reported as such, never counted as catching nothing.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

LINTERS = ("ruff", "pyflakes", "pylint")
QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")


def _tool(name: str) -> list[str] | None:
    exe = Path(sys.executable).with_name(name)
    if exe.is_file():
        return [str(exe)]
    found = shutil.which(name)
    return [found] if found else None


def available() -> dict[str, bool]:
    return {name: _tool(name) is not None for name in LINTERS}


def _write(records: Sequence[dict[str, Any]], root: Path) -> dict[str, tuple[int, int]]:
    """buggy/N/FILE and fixed/N/FILE for each record; file path -> (record index, side 0/1)."""
    from codegraph.models.training.mining import fixed_source

    where: dict[str, tuple[int, int]] = {}
    for n, rec in enumerate(records):
        name = Path(rec["path"]).name
        for side, text in ((0, rec["source"]), (1, fixed_source(rec))):
            p = root / ("buggy", "fixed")[side] / str(n) / name
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(text, encoding="utf-8")
            where[str(p.resolve())] = (n, side)
    return where


def _ruff(cmd: list[str], root: Path) -> list[tuple[str, int, str]]:
    out = subprocess.run(
        [*cmd, "check", "--isolated", "--no-cache", "--output-format", "json", "--exit-zero", str(root)],
        capture_output=True,
        text=True,
        check=False,
    )
    return [
        (str(Path(d["filename"]).resolve()), d["location"]["row"], str(d["code"]))
        for d in json.loads(out.stdout or "[]")
    ]


def _pyflakes(cmd: list[str], root: Path) -> list[tuple[str, int, str]]:
    out = subprocess.run([*cmd, str(root)], capture_output=True, text=True, check=False)
    found = []
    for line in out.stdout.splitlines():
        m = re.match(r"(.+?):(\d+):(?:\d+:)? (.*)", line)
        if m:
            found.append((str(Path(m.group(1)).resolve()), int(m.group(2)), QUOTED.sub("''", m.group(3))))
    return found


def _pylint(cmd: list[str], root: Path) -> list[tuple[str, int, str]]:
    out = subprocess.run(
        [*cmd, "--output-format=json", "--disable=C,R", "--score=n", "--recursive=y", "-j", "2", str(root)],
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        items = json.loads(out.stdout or "[]")
    except json.JSONDecodeError:
        return []
    return [
        (
            str(Path(root, d["path"]).resolve()) if not Path(d["path"]).is_absolute() else d["path"],
            d["line"],
            d["symbol"],
        )
        for d in items
    ]


RUNNERS = {"ruff": _ruff, "pyflakes": _pyflakes, "pylint": _pylint}


def catches(records: Sequence[dict[str, Any]], linters: Sequence[str] = LINTERS) -> dict[str, list[bool]]:
    """linter -> per record, whether it catches the fix (linters that are not installed are left out)."""
    out: dict[str, list[bool]] = {}
    with tempfile.TemporaryDirectory(prefix="codegraph-lint-") as tmp:
        root = Path(tmp).resolve()
        where = _write(records, root)
        for name in linters:
            cmd = _tool(name)
            if cmd is None:
                continue
            messages: dict[tuple[int, int], set[str]] = defaultdict(set)
            for path, line, code in RUNNERS[name](cmd, root):
                key = where.get(str(Path(path).resolve()))
                if key is not None and line == records[key[0]]["line"]:
                    messages[key].add(code)
            out[name] = [bool(messages[(n, 0)] - messages[(n, 1)]) for n in range(len(records))]
    return out
