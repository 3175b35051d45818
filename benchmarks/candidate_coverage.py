"""How many real one-token fixes the candidates can express, per rule; candidates per function.

Reads real-fix records (JSON lines, the format of ``codegraph train mine``: the buggy file
``source``, the fix's ``line`` / ``fixed_line``, ``bug`` and ``fix`` ranges, ``rule`` and
``kind``). A fix is *expressed* when one candidate of the unit holding the bug (the
innermost function around the bug line, else the module's unit) has a repair that, applied
to the buggy file, gives a file whose AST is the fixed file's; its *location* is found when
a candidate's repair range overlaps the bug's range. Fixes are grouped by rule; the ones
the miner files under ``other`` by their kind (``other:none`` ...).

A fix's repair text *occurs in the file* when each token of its replacement is a token
somewhere in the buggy file: the most a candidate set drawn from the file's own tokens
could express (a string literal whose fixed text is new, such as a corrected message,
is beyond any enumeration).

Also counts the candidates (locations) and (location, repair) pairs per unit, over the
units of the records' files and of any ``--paths`` given (mean, p95, max).

    python benchmarks/candidate_coverage.py RECORDS.jsonl... [--split test] [--paths examples] [--json FILE]
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import io
import json
import sys
import tokenize
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from codegraph.context import ContextBuilder
from codegraph.graph import build_file_graph
from codegraph.rules import analysis_functions, apply_repair
from codegraph.schema import CodeGraph, FunctionInfo
from codegraph.scope_analysis import scopes_of
from codegraph.units import AnalysisUnit

#: share of repositories in the test / valid split, by hash of the name (as the miner splits)
SPLIT_SHARES = {"test": 0.15, "valid": 0.08}


def split_of(repo: str) -> str:
    h = int(hashlib.sha256(repo.lower().encode()).hexdigest()[:8], 16) / 0x1_0000_0000
    if h < SPLIT_SHARES["test"]:
        return "test"
    return "valid" if h < SPLIT_SHARES["test"] + SPLIT_SHARES["valid"] else "train"


def records(paths: Sequence[Path], split: str | None) -> Iterator[dict[str, Any]]:
    for p in paths:
        with p.open(encoding="utf-8") as fh:
            for line in fh:
                rec = json.loads(line)
                if split is None or split_of(rec["repo"]) == split:
                    yield rec


def group_of(rec: dict[str, Any]) -> str:
    return rec["rule"] if rec["rule"] != "other" else f"other:{rec['kind']}"


def _offset(lines: list[bytes], line: int, column: int) -> int:
    """Byte offset of a 1-based (line, code-point column)."""
    start = sum(len(x) for x in lines[: line - 1])
    return start + len(lines[line - 1].decode("utf-8", "replace")[: column - 1].encode("utf-8"))


def _unit_at(g: CodeGraph, builder: ContextBuilder, line: int) -> AnalysisUnit:
    """The unit of the innermost function around ``line`` (0-based rows), else the module's."""
    best: FunctionInfo | None = None
    for f in analysis_functions(g):
        lo, hi = g.start_point[f.node][0], g.end_point[f.node][0]
        if lo <= line <= hi and (best is None or f.node > best.node):
            best = f
    assert best is not None
    return builder.build(best)


def check(rec: dict[str, Any]) -> tuple[bool, bool, int]:
    """(location found, fix expressed, candidates of the unit)."""
    source = rec["source"].encode("utf-8")
    lines = source.splitlines(keepends=True)
    row = rec["line"] - 1
    ending = lines[row][len(lines[row].rstrip(b"\r\n")) :]
    fixed = b"".join([*lines[:row], rec["fixed_line"].encode("utf-8") + ending, *lines[row + 1 :]])
    want = ast.dump(ast.parse(fixed))
    g = build_file_graph(source, rec["path"], "")
    unit = _unit_at(g, ContextBuilder(g, scopes_of(g)), row)
    bug, fix = rec["bug"], rec["fix"]
    lo = _offset(lines, bug["line"], bug["column"])
    hi = max(_offset(lines, bug["end_line"], bug["end_column"]), lo + 1)
    located = expressed = False
    for cand in unit.candidates:
        for r in cand.repairs:
            if r.start_byte < hi and lo < max(r.end_byte, r.start_byte + 1):
                located = True
                try:
                    if ast.dump(ast.parse(apply_repair(source, r))) == want:
                        expressed = True
                        break
                except (SyntaxError, ValueError):
                    continue
        if expressed:
            break
    del fix
    return located, expressed, len(unit.candidates)


def _tokens(text: str) -> list[str]:
    try:
        return [t.string for t in tokenize.generate_tokens(io.StringIO(text).readline) if t.string.strip()]
    except (tokenize.TokenError, SyntaxError):
        return text.split()


def repair_in_file(rec: dict[str, Any]) -> bool:
    """Whether every token of the fix's replacement is a token of the buggy file."""
    present = set(_tokens(rec["source"]))
    return all(t in present for t in _tokens(rec["fix"]["replacement"]))


def unit_sizes(paths: Sequence[Path]) -> list[tuple[int, int]]:
    """(candidates, repairs) of every unit of every ``.py`` file under ``paths``."""
    out = []
    for root in paths:
        for p in sorted(root.rglob("*.py")) if root.is_dir() else [root]:
            try:
                g = build_file_graph(p.read_bytes(), str(p), "")
            except Exception:  # unreadable or binary: not counted
                continue
            builder = ContextBuilder(g, scopes_of(g))
            for f in analysis_functions(g):
                u = builder.build(f)
                out.append((len(u.candidates), sum(len(c.repairs) for c in u.candidates)))
    return out


def summary(values: list[int]) -> dict[str, float]:
    if not values:
        return {"mean": 0.0, "p95": 0.0, "max": 0.0}
    s = sorted(values)
    return {"mean": round(sum(s) / len(s), 1), "p95": float(s[int(0.95 * (len(s) - 1))]), "max": float(s[-1])}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("records", nargs="*", type=Path, help="real-fix records (JSON lines)")
    parser.add_argument("--split", choices=("train", "valid", "test"), help="only this split's repositories")
    parser.add_argument(
        "--paths", nargs="*", type=Path, default=[], help="also count candidates of these files"
    )
    parser.add_argument("--json", type=Path, help="write the figures as JSON")
    args = parser.parse_args(argv)
    by_group: dict[str, Counter[str]] = defaultdict(Counter)
    for rec in records(args.records, args.split):
        counts = by_group[group_of(rec)]
        counts["fixes"] += 1
        counts["in_file"] += repair_in_file(rec)
        try:
            located, expressed, _ = check(rec)
        except (SyntaxError, ValueError, IndexError):
            counts["unreadable"] += 1
            continue
        counts["located"] += located
        counts["expressed"] += expressed
    rows = {}
    for group in sorted(by_group, key=lambda k: (k.startswith("other"), k)):
        c = by_group[group]
        rows[group] = {**c, "coverage": round(c["expressed"] / c["fixes"], 4) if c["fixes"] else 0.0}
        print(
            f"{group:<24} {c['fixes']:>6} fixes  location {c['located'] / c['fixes']:6.1%}  "
            f"location+repair {c['expressed'] / c['fixes']:6.1%}  "
            f"repair text in the file {c['in_file'] / c['fixes']:6.1%}"
        )
    ruled = [by_group[g] for g in by_group if not g.startswith("other")]
    total = sum(c["fixes"] for c in ruled)
    if total:
        share = sum(c["expressed"] for c in ruled) / total
        print(f"{'CG001-CG008':<24} {total:>6} fixes  location+repair {share:6.1%}")
    everything = [by_group[g] for g in by_group]
    fixes = sum(c["fixes"] for c in everything)
    if fixes:
        expressed = sum(c["expressed"] for c in everything) / fixes
        in_file = sum(c["in_file"] for c in everything) / fixes
        tail = f"repair text in the file {in_file:6.1%}"
        print(f"{'all':<24} {fixes:>6} fixes  location+repair {expressed:6.1%}  {tail}")
    sizes = unit_sizes(args.paths) if args.paths else []
    counts = {
        "candidates": summary([a for a, _ in sizes]),
        "pairs": summary([b for _, b in sizes]),
        "units": len(sizes),
    }
    if sizes:
        print(f"per unit over {len(sizes)} units: candidates {counts['candidates']}, pairs {counts['pairs']}")
    if args.json:
        args.json.write_text(json.dumps({"coverage": rows, "per_unit": counts}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
