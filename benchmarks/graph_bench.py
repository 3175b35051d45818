"""Graph-building throughput on the standard library, in one process.

Prints lines/s and graph nodes/s for parsing alone and for the full code graph
(all edge families), and the peak resident memory of the process.

    python benchmarks/graph_bench.py [--limit N]
"""

from __future__ import annotations

import argparse
import resource
import sysconfig
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from codegraph.graph import build_file_graph
from codegraph.syntax import SourceError, parse


def stdlib_sources(limit: int | None) -> list[bytes]:
    root = Path(sysconfig.get_paths()["stdlib"])
    files = sorted(p for p in root.rglob("*.py") if "site-packages" not in p.parts)
    out = []
    for p in files[:limit]:
        data = p.read_bytes()
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            continue
        out.append(data)
    return out


def run(limit: int | None = None) -> dict[str, float]:
    sources = stdlib_sources(limit)
    lines = sum(s.count(b"\n") for s in sources)
    nbytes = sum(len(s) for s in sources)
    t0 = time.perf_counter()
    for s in sources:
        parse(s)
    parse_s = time.perf_counter() - t0
    nodes = edges = 0
    t0 = time.perf_counter()
    for s in sources:
        try:
            g = build_file_graph(s)
        except SourceError:
            continue
        nodes += g.num_nodes
        edges += g.num_edges
    graph_s = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "files": len(sources),
        "lines": lines,
        "megabytes": nbytes / 1e6,
        "parse_seconds": parse_s,
        "graph_seconds": graph_s,
        "lines_per_s": lines / graph_s,
        "nodes_per_s": nodes / graph_s,
        "edges_per_s": edges / graph_s,
        "parse_mb_per_s": nbytes / 1e6 / parse_s,
        "peak_mb": peak_mb,
        "nodes": nodes,
        "edges": edges,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=None, help="only the first N files")
    args = ap.parse_args(argv)
    r = run(args.limit)
    table = Table(title=f"Graph building, standard library ({r['files']:,} files, {r['lines']:,} lines)")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row("tree-sitter parse only", f"{r['parse_mb_per_s']:.1f} MB/s")
    table.add_row("full code graph", f"{r['lines_per_s']:,.0f} lines/s")
    table.add_row("graph nodes", f"{r['nodes_per_s']:,.0f} nodes/s ({r['nodes']:,} total)")
    table.add_row("graph edges", f"{r['edges_per_s']:,.0f} edges/s ({r['edges']:,} total)")
    table.add_row("time", f"{r['graph_seconds']:.1f} s")
    table.add_row("peak memory (process)", f"{r['peak_mb']:.0f} MB")
    Console().print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
