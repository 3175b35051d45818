"""CPU inference per function with the shipped detector (or --model), batched.

Builds the analysis units of standard-library files once, then times, per function:
the tensor conversion with positional encodings, and the model's forward pass in
the Predictor's batches. Prints medians over repeated runs.

    python benchmarks/inference_bench.py [--files N] [--repeat R] [--threads T] [--model PATH]
"""

from __future__ import annotations

import argparse
import statistics
import sysconfig
import time
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table

from codegraph.context import units_for_file
from codegraph.graph import build_file_graph
from codegraph.models.encodings import clear_spectrum_cache
from codegraph.models.model import feature_transform
from codegraph.models.predict import load_predictor
from codegraph.models.tensorize import collate
from codegraph.scope_analysis import analyze_scopes

#: mid-sized, ordinary stdlib modules
FILES = [
    "textwrap.py", "shlex.py", "difflib.py", "calendar.py", "fractions.py", "heapq.py",
    "bisect.py", "csv.py", "statistics.py", "string.py", "tokenize.py", "argparse.py",
]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=len(FILES))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--model", default=None)
    args = ap.parse_args(argv)
    root = Path(sysconfig.get_paths()["stdlib"])
    units = []
    for name in FILES[: args.files]:
        g = build_file_graph((root / name).read_bytes(), name)
        units += [u for u in units_for_file(g, analyze_scopes(g)) if u.candidates]
    predictor = load_predictor(args.model, num_threads=args.threads)
    torch.set_num_threads(args.threads)
    n = len(units)
    prep, fwd, total = [], [], []

    def cold() -> None:
        """Cold encodings: a fresh transform (its per-graph caches empty) and spectrum cache."""
        predictor.transform = feature_transform(predictor.config)
        clear_spectrum_cache()

    for _ in range(args.repeat):
        cold()
        t0 = time.perf_counter()
        datas = [predictor.tensors(u) for u in units]
        t1 = time.perf_counter()
        with torch.inference_mode():
            for i in range(0, n, 64):
                predictor.model(collate(datas[i : i + 64]))
        t2 = time.perf_counter()
        cold()
        t3 = time.perf_counter()
        predictor.predict(units)
        t4 = time.perf_counter()
        prep.append((t1 - t0) / n * 1000)
        fwd.append((t2 - t1) / n * 1000)
        total.append((t4 - t3) / n * 1000)
    nodes = statistics.median(u.num_nodes for u in units)
    table = Table(
        title=f"Inference, {n} functions (median {nodes:.0f} graph nodes), {args.threads} thread(s)"
    )
    table.add_column("stage")
    table.add_column("ms per function (median of runs)", justify="right")
    table.add_row("tensors + positional encodings", f"{statistics.median(prep):.2f}")
    table.add_row("model forward, batches of 64", f"{statistics.median(fwd):.2f}")
    table.add_row("Predictor.predict (both, as scan uses it)", f"{statistics.median(total):.2f}")
    table.add_row("parameters", f"{sum(p.numel() for p in predictor.model.parameters()):,}")
    Console().print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
