"""Training speed of `codegraph train run` (units per second) for the shipped recipe and its variants.

Runs a few hundred steps of each variant on a built dataset (`codegraph train dataset build`) and
reads the speed from the run's own log, leaving out the first logged window (start-up).
Peak memory is the GPU's allocator peak on CUDA, the process's resident peak on the CPU.

    python benchmarks/train_bench.py --data DIR [--steps N] [--device cpu|cuda] [--threads T]
        [--variants shipped,unpruned,gps,baseline,shipped-x4]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import tempfile
import time
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table

from codegraph.models.training import train

SHIPPED = str(Path(train.__file__).with_name("shipped.toml"))

#: name -> config overrides on top of shipped.toml
VARIANTS: dict[str, list[str]] = {
    "shipped": [],
    "unpruned": ["train.prune=false"],  # every layer at every graph node (the same gradients)
    "gps": ["model.local_mp=true"],
    "baseline": ["model.kind=baseline"],  # as `make train-baseline`
    "shipped-x4": ["optim.batch_nodes=48000", "optim.batch_graphs=256"],
}


def run_variant(name: str, data: str, steps: int, device: str, threads: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        sets = [
            f"data.dir={data}",
            "data.extra_train=[]",  # the one dataset given (shipped.toml names a second build)
            f"train.device={device}",
            f"train.threads={threads}",
            "train.eval_every=1000000",  # no validation inside the timed steps
            "train.checkpoint_every=0",
            "train.log_every=25",
            "data.max_valid_units=64",
            *VARIANTS[name],
        ]
        args = ["--config", SHIPPED, "--out", tmp, "--max-steps", str(steps), "--no-export", "--quiet"]
        for s in sets:
            args += ["--set", s]
        if device == "cuda":
            torch.cuda.reset_peak_memory_stats()
        start = time.monotonic()
        rc = train.main(args)
        wall = time.monotonic() - start
        if rc:
            return {"variant": name, "error": f"codegraph train exited {rc}"}
        log = [json.loads(line) for line in (Path(tmp) / "log.jsonl").read_text().splitlines()]
        speeds = [r["units_per_s"] for r in log if "units_per_s" in r][1:]
        if device == "cuda":
            peak_mb = torch.cuda.max_memory_allocated() / 2**20
        else:
            peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return {
            "variant": name,
            "units_per_s": statistics.median(speeds) if speeds else float("nan"),
            "steps": steps,
            "wall_s": wall,
            "peak_mb": peak_mb,
        }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="a dataset directory with train and valid splits")
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    ap.add_argument("--threads", type=int, default=1, help="CPU threads of the training process")
    ap.add_argument("--variants", default="shipped,unpruned,baseline")
    ap.add_argument("--json", default=None, help="also write the rows here")
    args = ap.parse_args(argv)
    names = [v for v in args.variants.split(",") if v]
    unknown = [v for v in names if v not in VARIANTS]
    if unknown:
        ap.error(f"unknown variant(s) {', '.join(unknown)}; known: {', '.join(VARIANTS)}")
    if args.device == "cuda" and not torch.cuda.is_available():
        print("train_bench: --device cuda but torch sees no CUDA device")
        return 2
    where = torch.cuda.get_device_name() if args.device == "cuda" else f"CPU, {args.threads} thread(s)"
    rows = [run_variant(n, args.data, args.steps, args.device, args.threads) for n in names]
    table = Table(title=f"training speed on {where}, {args.steps} steps each (torch {torch.__version__})")
    for col in ("variant", "units/s", "wall s", "peak MB"):
        table.add_column(col, justify="left" if col == "variant" else "right")
    for r in rows:
        if "error" in r:
            table.add_row(str(r["variant"]), str(r["error"]), "", "")
        else:
            table.add_row(
                str(r["variant"]), f"{r['units_per_s']:.0f}", f"{r['wall_s']:.1f}", f"{r['peak_mb']:.0f}"
            )
    Console().print(table)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
    return 1 if any("error" in r for r in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
