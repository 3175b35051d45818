"""CPU inference per function with the shipped detector (or --model), batched.

Builds the analysis units of standard-library files once, then times, per function:
the array conversion with positional encodings, and the forward pass in batches of
64 of the runtime model (onnxruntime, what scans use) and, when torch is installed,
of the torch model, side by side in one run. Prints medians over repeated runs.

    python benchmarks/inference_bench.py [--files N] [--repeat R] [--threads T] [--model PATH]
"""

from __future__ import annotations

import argparse
import statistics
import sysconfig
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from codegraph.context import units_for_file
from codegraph.graph import build_file_graph
from codegraph.models.config import input_transform
from codegraph.models.encodings import clear_spectrum_cache
from codegraph.models.runtime import load_runtime
from codegraph.models.tensorize import batch_arrays
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
    ap.add_argument("--threads", type=int, default=1, help="the torch model's threads")
    ap.add_argument("--model", default=None)
    args = ap.parse_args(argv)
    root = Path(sysconfig.get_paths()["stdlib"])
    units = []
    for name in FILES[: args.files]:
        g = build_file_graph((root / name).read_bytes(), name)
        units += [u for u in units_for_file(g, analyze_scopes(g)) if u.candidates]
    runtime = load_runtime(args.model)
    n = len(units)
    prep, fwd, total, torch_fwd = [], [], [], []
    torch_model = torch_forward(args.model, args.threads)

    def cold() -> None:
        """Cold encodings: a fresh transform (its per-graph caches empty) and spectrum cache."""
        runtime.transform = input_transform(runtime.config)
        clear_spectrum_cache()

    for _ in range(args.repeat):
        cold()
        t0 = time.perf_counter()
        arrays = [runtime.arrays(u) for u in units]
        t1 = time.perf_counter()
        for i in range(0, n, 64):
            runtime.scores(batch_arrays(arrays[i : i + 64]))
        t2 = time.perf_counter()
        cold()
        t3 = time.perf_counter()
        runtime.predict(units)
        t4 = time.perf_counter()
        if torch_model is not None:
            torch_fwd.append(torch_model(arrays) / n * 1000)
        prep.append((t1 - t0) / n * 1000)
        fwd.append((t2 - t1) / n * 1000)
        total.append((t4 - t3) / n * 1000)
    nodes = statistics.median(u.num_nodes for u in units)
    table = Table(title=f"Inference, {n} functions (median {nodes:.0f} graph nodes), 1 thread")
    table.add_column("stage")
    table.add_column("ms per function (median of runs)", justify="right")
    table.add_row("arrays + positional encodings (numpy)", f"{statistics.median(prep):.2f}")
    table.add_row("runtime model forward (onnxruntime), batches of 64", f"{statistics.median(fwd):.2f}")
    table.add_row(
        "torch model forward, batches of 64",
        f"{statistics.median(torch_fwd):.2f}" if torch_fwd else "torch not installed",
    )
    table.add_row("RuntimePredictor.predict (both, as scan uses it)", f"{statistics.median(total):.2f}")
    Console().print(table)
    return 0


def torch_forward(model: str | None, threads: int):  # type: ignore[no-untyped-def]
    """A function timing the torch model's forward pass over arrays in batches of 64, or None."""
    try:
        import torch

        from codegraph.models.predict import load_checkpoint
        from codegraph.models.tensors import collate
    except ImportError:
        return None
    net = load_checkpoint(model)[0]
    torch.set_num_threads(threads)

    def run(arrays: list) -> float:  # type: ignore[type-arg]
        start = time.perf_counter()
        with torch.inference_mode():
            for i in range(0, len(arrays), 64):
                net(collate(arrays[i : i + 64]))
        return time.perf_counter() - start

    return run


if __name__ == "__main__":
    raise SystemExit(main())
