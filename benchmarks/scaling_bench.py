"""How a cold scan's time grows with the size of the tree: the standard library cut at
about 10k and 100k lines, then whole (``--sizes 10000,100000,0``; 0: every file), its
test packages included (858k lines for Python 3.11; ``--no-tests`` leaves them out).

Each size takes the stdlib's ``*.py`` files in path order (as ``scan_bench.py`` picks
them: ``site-packages`` left out) until it holds the lines asked
for, copies them into a temporary tree and times one ``codegraph scan`` with an empty
cache, peak memory summed over the whole process tree (``scan_bench.measure``). The
last column divides each row's seconds per 1,000 lines by the first row's: 1.0
everywhere is linear growth.

    python benchmarks/scaling_bench.py [--sizes 10000,100000,0] [--no-tests] [--jobs 2] [--model FILE]
                                       [--json FILE]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import tempfile
from pathlib import Path
from types import ModuleType
from typing import Any

from rich.console import Console
from rich.table import Table

HERE = Path(__file__).resolve().parent


def _scan_bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("scan_bench", HERE / "scan_bench.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def first_lines(files: list[Path], target: int) -> list[Path]:
    """The first of ``files`` that hold at least ``target`` lines (0: all of them)."""
    if target <= 0:
        return files
    out, lines = [], 0
    for f in files:
        out.append(f)
        lines += f.read_bytes().count(b"\n")
        if lines >= target:
            break
    return out


def run_sizes(args: argparse.Namespace) -> list[dict[str, Any]]:
    bench = _scan_bench()
    root, files = bench.stdlib_files(None, not args.no_tests)
    rows = []
    for target in args.sizes:
        chosen = first_lines(files, target)
        with tempfile.TemporaryDirectory(prefix="scaling-bench-") as tmp:
            tree, cache = Path(tmp) / "stdlib", Path(tmp) / "cache"
            lines = bench.copy_tree(root, chosen, tree)
            env = dict(os.environ, NO_COLOR="1")
            run = bench.measure("codegraph", bench.codegraph_cmd(tree, cache, args), Path(tmp), env)
        rows.append(
            {
                "target": target,
                "files": len(chosen),
                "lines": lines,
                "seconds": run.seconds,
                "peak_mb": run.peak_mb,
                "exit_code": run.exit_code,
                "note": run.note,
            }
        )
    return rows


def table(rows: list[dict[str, Any]]) -> Table:
    t = Table(title="cold scan time against tree size (standard library, empty cache)")
    for col in ("files", "lines", "seconds", "lines/s", "peak MB", "s per 1k lines / first row's", "status"):
        t.add_column(col, justify="left" if col == "status" else "right")
    base = None
    for r in rows:
        per_k = r["seconds"] / (r["lines"] / 1000) if r["lines"] else float("nan")
        base = per_k if base is None else base
        status = "ok" if r["exit_code"] in (0, 1) else f"failed ({r['exit_code']}): {r['note']}"
        t.add_row(
            f"{r['files']:,}",
            f"{r['lines']:,}",
            f"{r['seconds']:.1f}",
            f"{r['lines'] / r['seconds']:,.0f}",
            f"{r['peak_mb']:.0f}",
            f"{per_k / base:.2f}",
            status,
        )
    return t


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        type=lambda s: [int(x) for x in s.split(",")],
        default=[10_000, 100_000, 0],
        help="lines per tree, comma-separated (0: the whole standard library)",
    )
    parser.add_argument("--no-tests", action="store_true", help="leave out the stdlib's test packages")
    parser.add_argument("--jobs", type=int, default=2, help="codegraph worker processes (default 2)")
    parser.add_argument("--model", help="codegraph checkpoint (default: the shipped model)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the figures as JSON")
    args = parser.parse_args(argv)
    rows = run_sizes(args)
    Console().print(table(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n")
    return 0 if all(r["exit_code"] in (0, 1) for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
