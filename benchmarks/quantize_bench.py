"""int8 against float32: the runtime model's accuracy on injected bugs, both ways, in one run.

Builds units the way ``codegraph dataset build`` does (:func:`file_samples`: every
function of a file, half of them with one injected bug) from the first ``--limit``
standard-library files, exports the checkpoint's runtime model as float32 and as int8
(dynamic quantization of the matrix products) into a temporary folder, and prints for
each: joint accuracy (buggy units whose top location and, there, top repair are the
injected bug and its fix), no-bug accuracy (clean units called clean) and the
difference in points, with the time each took. Needs the ``[train]`` extra (torch, onnx).

``--data DIR`` scores a built dataset's split instead (``--split``, default test: the
injected test split that ``codegraph train eval`` reports), from its shards as stored.
The real-fix test split is scored with ``codegraph train realfixes eval --model NAME
runtime:CHECKPOINT THRESHOLD``.

    python benchmarks/quantize_bench.py [--limit N] [--seed S] [--checkpoint NAME]
                                        [--data DIR] [--split SPLIT]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

DEFAULT_LIMIT = 120


def injected_units(limit: int, seed: int) -> list:  # type: ignore[type-arg]
    from codegraph.models.training.dataset import BuildParams, file_samples
    from codegraph.project import Project

    root = Path(sysconfig.get_paths()["stdlib"])
    files = [p for p in sorted(root.glob("*.py")) if p.is_file()][:limit]
    project = Project.from_files([str(p) for p in files], root=str(root))
    params = BuildParams(seed=seed)
    units = []
    for p in files:
        units += file_samples(project, str(p), p.name, "stdlib", params).units
    return units


def scores(predictor, units) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[no-untyped-def]
    """(joint right, said no bug) per unit."""
    joint, said_clean = [], []
    for unit, pred in zip(units, predictor.predict(units), strict=True):
        top = int(np.argmax(pred.loc_probs)) if pred.loc_probs else -1
        clean_call = not pred.loc_probs or pred.p_no_bug >= pred.loc_probs[top]
        said_clean.append(clean_call)
        if unit.bug < 0:
            joint.append(clean_call)
        else:
            rep = int(np.argmax(pred.rep_probs[unit.bug])) if pred.rep_probs[unit.bug] else -1
            joint.append(not clean_call and top == unit.bug and rep == unit.fix)
    return np.array(joint), np.array(said_clean)


def split_scores(predictor, datas) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[no-untyped-def]
    """(joint right, said no bug) per stored unit of a dataset split, with the runtime model."""
    from codegraph.models.tensors import to_arrays

    joint, said_clean = [], []
    for lo in range(0, len(datas), 32):
        arrays = [predictor.transform(to_arrays(d)) for d in datas[lo : lo + 32]]
        p_clean, p_loc, p_rep = predictor.probabilities(arrays)
        c0 = r0 = 0
        for g, a in enumerate(arrays):
            nc, nr = len(a.cand_node), len(a.rep_cand)
            locs, reps = p_loc[c0 : c0 + nc], p_rep[r0 : r0 + nr]
            top = int(np.argmax(locs)) if nc else -1
            clean_call = not nc or p_clean[g] >= locs[top]
            said_clean.append(clean_call)
            bug, fix = int(a.y_loc[0]), int(a.y_rep[0])
            if bug < 0:
                joint.append(clean_call)
            else:
                mine = np.flatnonzero(a.rep_cand == bug)
                best = int(mine[np.argmax(reps[mine])]) if mine.size else -1
                joint.append(not clean_call and top == bug and best == fix)
            c0, r0 = c0 + nc, r0 + nr
    return np.array(joint), np.array(said_clean)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="quantize_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=DEFAULT_LIMIT, help="stdlib files (top level)")
    parser.add_argument("--seed", type=int, default=0, help="injection seed")
    parser.add_argument("--checkpoint", help="checkpoint NAME (default: the shipped model)")
    parser.add_argument("--data", type=Path, help="a built dataset: score its --split instead")
    parser.add_argument("--split", default="test", help="the dataset split (default: test)")
    args = parser.parse_args(argv)
    try:
        from codegraph.models.export import export_runtime
        from codegraph.models.predict import load_checkpoint
        from codegraph.models.runtime import load_runtime, model_base
    except ImportError as exc:
        print(f"quantize_bench: needs the [train] extra ({exc})")
        return 0
    console = Console()
    if args.data is not None:
        from codegraph.models.training.shards import load_split

        units = load_split(args.data, args.split)
        buggy = np.array([int(d.y_loc[0]) >= 0 for d in units])
        where = f"{args.data}/{args.split}"
    else:
        units = injected_units(args.limit, args.seed)
        buggy = np.array([u.bug >= 0 for u in units])
        where = f"the first {args.limit} stdlib files"
    base = model_base(args.checkpoint)
    model = load_checkpoint(base)[0]
    title = f"runtime model on {len(units)} units of {where} ({int(buggy.sum())} with an injected bug)"
    table = Table(title=title)
    for col in ("model", "joint accuracy", "no-bug accuracy", "seconds", "file bytes"):
        table.add_column(col)
    results = {}
    with tempfile.TemporaryDirectory(prefix="codegraph-quantize-") as tmp:
        for name, int8 in (("float32", False), ("int8", True)):
            target = Path(tmp) / name
            for suffix in (".json", ".safetensors"):
                shutil.copy(base.with_name(base.name + suffix), target.with_name(target.name + suffix))
            onnx = export_runtime(model, target, int8=int8)
            start = time.perf_counter()
            runtime = load_runtime(target)
            joint, said_clean = (split_scores if args.data else scores)(runtime, units)
            seconds = time.perf_counter() - start
            results[name] = (joint[buggy].mean() * 100, said_clean[~buggy].mean() * 100)
            table.add_row(
                name,
                f"{results[name][0]:.2f}%",
                f"{results[name][1]:.2f}%",
                f"{seconds:.1f}",
                f"{onnx.stat().st_size:,}",
            )
    d_joint = results["int8"][0] - results["float32"][0]
    d_clean = results["int8"][1] - results["float32"][1]
    table.add_row("int8 − float32", f"{d_joint:+.2f} pts", f"{d_clean:+.2f} pts", "", "")
    console.print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
