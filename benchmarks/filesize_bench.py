"""Cost against file size: one synthetic file of small functions, 1k to 40k lines.

For each size a file of small functions (an assignment, a comparison, a call of
the next function, a return: six lines each) is written to a temporary folder, and

* its graph and its analysis units are built in this process (the stages before the
  model), each timed on its own;
* ``codegraph scan FILE --no-cache --jobs 1 --min-confidence 0`` runs as a subprocess
  (with the shipped model, or ``--model``), timed with its peak memory (the resident
  set of its process tree, see scan_bench.py).

Linear cost shows as a flat lines/s column. ``--max-lines`` caps the sizes (the
default goes to 40,000 lines, about 0.9 MB).

    python benchmarks/filesize_bench.py [--sizes 1000,2000,...] [--max-lines N] [--model FILE] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).parent))
from scan_bench import measure

DEFAULT_SIZES = (1_000, 2_500, 5_000, 10_000, 20_000, 40_000)


def synthetic_source(lines: int) -> str:
    """About ``lines`` lines of small functions, each calling the next."""
    count = max(1, lines // 6)
    return "".join(
        f"def f{i}(a, b):\n    c = a + b\n    if c > {i % 5}:\n"
        f"        return f{(i + 1) % count}(c, b) * {i % 3}\n    return c\n\n"
        for i in range(count)
    )


def stages(source: bytes, path: str) -> tuple[float, float, int]:
    """Seconds to build the graph, seconds to build the units, and the number of units."""
    from codegraph.config import Settings
    from codegraph.pipeline import Analyzer

    analyzer = Analyzer(Settings())
    start = time.perf_counter()
    prepared = analyzer.prepare(path, source)
    built = time.perf_counter()
    units = analyzer.units(prepared)
    return built - start, time.perf_counter() - built, len(units)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", help="comma-separated line counts (default: 1k to 40k)")
    parser.add_argument("--max-lines", type=int, default=None, help="leave out the sizes above N lines")
    parser.add_argument("--model", help="checkpoint for the scan (default: the shipped model)")
    parser.add_argument("--no-scan", action="store_true", help="only the graph and unit stages")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else list(DEFAULT_SIZES)
    if args.max_lines is not None:
        sizes = [s for s in sizes if s <= args.max_lines]
    rows = []
    table = Table(title="codegraph: cost against file size (one file of small functions)")
    for col in ("lines", "bytes", "functions", "graph s", "units s", "scan s", "lines/s (scan)", "peak MB"):
        table.add_column(col, justify="right")
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            text = synthetic_source(size)
            path = Path(tmp) / f"file{size}.py"
            path.write_text(text, encoding="utf-8")
            source = text.encode()
            lines = text.count("\n")
            graph_s, units_s, functions = stages(source, str(path))
            row: dict[str, object] = {
                "lines": lines, "bytes": len(source), "functions": functions,
                "graph_seconds": round(graph_s, 3), "units_seconds": round(units_s, 3),
            }  # fmt: skip
            scan_cell, rate_cell, peak_cell = "-", "-", "-"
            if not args.no_scan:
                cmd = [sys.executable, "-m", "codegraph", "scan", str(path), "--no-cache", "--jobs", "1",
                       "--min-confidence", "0", "--format", "json", "--no-progress"]  # fmt: skip
                if args.model:
                    cmd += ["--model", args.model]
                run = measure("codegraph", cmd, Path(tmp))
                if run.exit_code not in (0, 1):
                    print(f"scan of {lines} lines failed: {run.note}", file=sys.stderr)
                    return 1
                assert run.seconds is not None and run.peak_mb is not None
                row.update(scan_seconds=round(run.seconds, 2), lines_per_second=round(lines / run.seconds),
                           peak_mb=round(run.peak_mb))  # fmt: skip
                scan_cell, rate_cell, peak_cell = (
                    f"{run.seconds:.1f}",
                    f"{lines / run.seconds:,.0f}",
                    f"{run.peak_mb:,.0f}",
                )
            rows.append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)  # progress: a large size takes minutes
            table.add_row(
                f"{lines:,}", f"{len(source):,}", f"{functions:,}", f"{graph_s:.2f}", f"{units_s:.2f}",
                scan_cell, rate_cell, peak_cell,
            )  # fmt: skip
    Console().print(table)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
