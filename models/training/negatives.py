"""Hard negatives: correct functions of the training packages that a checkpoint flags.

    codegraph dataset build --out data/dataset-clean --seed 0 --no-bug-ratio 1 --splits train \\
        --vocab data/dataset-full
    codegraph dataset negatives --from data/dataset-clean --checkpoint models/weights/detector \\
        --min-confidence 0.3 --out data/negatives

Released code is taken to be correct, so a clean unit with a finding at or above
``--min-confidence`` (the scanner's calibrated confidence) is a false alarm of the
checkpoint. Those units, unchanged and still labelled "no bug", are written as the
``train`` split of a dataset directory that a training config can add with
``[data] extra_train`` and weight with ``[data] extra_repeat`` (the RealiT recipe of using real
correct code as negatives, here only the ones the model gets wrong).

The work is resumable: each source shard's result is kept in ``OUT/parts/`` with a
sidecar naming the source file, the checkpoint and the threshold, and the mined units are
packed into ``OUT/train/`` shards at the end. ``OUT/manifest.json`` records the counts,
the rule of each mined unit's top finding, and how many clean units each threshold flags.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections import Counter
from pathlib import Path
from typing import Any

import torch
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from codegraph.models.tensorize import RULES, load_shard, save_shard
from codegraph.models.training.evaluate import THRESHOLDS, dataset_vocabulary, run_model, shard_files

FORMAT = "codegraph-negatives"
VERSION = 1
#: units per packed output shard
PACK = 2000


class NegativesError(Exception):
    """Bad input for `codegraph dataset negatives` (printed as one line)."""


def _part_key(source: Path, sha256: str, min_confidence: float) -> dict[str, Any]:
    st = source.stat()
    return {
        "source": str(source.resolve()),
        "size": st.st_size,
        "mtime_ns": st.st_mtime_ns,
        "checkpoint": sha256,
        "min_confidence": min_confidence,
    }


def mine_shard(
    model: Any, transform: Any, source: Path, min_confidence: float, t_loc: float, t_rep: float
) -> tuple[list[Any], dict[str, Any]]:
    """The clean units of ``source`` flagged at ``min_confidence`` or above (untransformed, as
    stored), and the shard's figures: units, clean units, flags per threshold, rules mined."""
    raw = load_shard(source)
    o, _ = run_model(model, [transform(d) for d in raw], t_loc=t_loc, t_rep=t_rep)
    clean = ~o.is_bug
    picked = clean & (o.confidence >= min_confidence)
    units = [raw[i] for i in torch.nonzero(picked).flatten().tolist()]
    rules = Counter(RULES[int(r)] for r in o.top_rule[picked].tolist())
    figures = {
        "units": len(raw),
        "clean": int(clean.sum()),
        "mined": len(units),
        "rules": dict(sorted(rules.items())),
        "flagged": {f"{t:g}": int((clean & (o.confidence >= t)).sum()) for t in THRESHOLDS},
    }
    return units, figures


def mine(
    source_dir: Path,
    checkpoint: str | Path,
    out: Path,
    *,
    min_confidence: float,
    split: str = "train",
    console: Console | None = None,
) -> dict[str, Any]:
    """Mine ``source_dir``'s ``split`` into ``out`` (resuming finished parts); returns the manifest."""
    from codegraph.models.detector import feature_transform
    from codegraph.models.predict import ModelError, load_checkpoint

    console = console or Console()
    if not 0.0 < min_confidence <= 1.0:
        raise NegativesError("--min-confidence must be in (0, 1]")
    try:
        model, vocab, config, meta = load_checkpoint(checkpoint)
    except ModelError as exc:
        raise NegativesError(str(exc)) from None
    try:
        theirs = dataset_vocabulary(source_dir)
    except (FileNotFoundError, ValueError) as exc:
        raise NegativesError(str(exc)) from None
    if theirs.fingerprint() != vocab.fingerprint():
        raise NegativesError(f"{source_dir}/vocab.json is not the checkpoint's vocabulary")
    sources = shard_files(source_dir, split)
    if not sources:
        raise NegativesError(f"no shards in {source_dir / split} (build them with `codegraph dataset build`)")
    if out.resolve() == source_dir.resolve():
        raise NegativesError("--out must be another directory than --from")
    temp = meta.get("temperature", {})
    t_loc, t_rep = float(temp.get("location", 1.0)), float(temp.get("repair", 1.0))
    transform = feature_transform(config)
    sha = str(meta.get("sha256"))
    parts = out / "parts"
    parts.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    figures: list[dict[str, Any]] = []
    progress = Progress(
        TextColumn("mining"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console, disable=not console.is_terminal,
    )  # fmt: skip
    with progress:
        task = progress.add_task("mining", total=len(sources))
        for k, source in enumerate(sources):
            key = _part_key(source, sha, min_confidence)
            sidecar, shard = parts / f"part-{k:05d}.json", parts / f"part-{k:05d}.pt"
            try:
                done = json.loads(sidecar.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                done = None
            if not (
                isinstance(done, dict) and done.get("key") == key and (shard.is_file() or not done["mined"])
            ):
                units, fig = mine_shard(model, transform, source, min_confidence, t_loc, t_rep)
                if units:
                    save_shard(units, shard)
                done = {"key": key, **fig}
                tmp = sidecar.with_suffix(".json.tmp")
                tmp.write_text(json.dumps(done) + "\n", encoding="utf-8")
                os.replace(tmp, sidecar)
            figures.append(done)
            progress.advance(task)
    for stale in parts.glob("part-*"):
        number = stale.name.split(".")[0].removeprefix("part-")
        if number.isdigit() and int(number) >= len(sources):
            stale.unlink()
    shards = _pack(parts, out / "train", len(sources))
    shutil.copyfile(source_dir / "vocab.json", out / "vocab.json")
    flagged: Counter[str] = Counter()
    rules: Counter[str] = Counter()
    for f in figures:
        flagged.update(f["flagged"])
        rules.update(f["rules"])
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "source": str(source_dir),
        "source_split": split,
        "checkpoint": {"path": str(checkpoint), "name": meta.get("name"), "sha256": sha},
        "min_confidence": min_confidence,
        "temperature": {"location": t_loc, "repair": t_rep},
        "units": sum(f["units"] for f in figures),
        "clean": sum(f["clean"] for f in figures),
        "mined": sum(f["mined"] for f in figures),
        "rules": dict(sorted(rules.items())),
        "flagged": {t: flagged[t] for t in (f"{x:g}" for x in THRESHOLDS)},
        "shards": shards,
        "seconds": round(time.perf_counter() - start, 1),
    }
    tmp = out / "manifest.json.tmp"
    tmp.write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, out / "manifest.json")
    return manifest


def _pack(parts: Path, train_dir: Path, count: int) -> list[str]:
    """Rewrite the parts' units into shards of up to :data:`PACK` units (in source order)."""
    if train_dir.exists():
        shutil.rmtree(train_dir)
    train_dir.mkdir(parents=True)
    names: list[str] = []
    pending: list[Any] = []

    def write(units: list[Any]) -> None:
        name = f"shard-{len(names):05d}.pt"
        save_shard(units, train_dir / name)
        names.append(f"train/{name}")

    for k in range(count):
        shard = parts / f"part-{k:05d}.pt"
        if shard.is_file():
            pending += load_shard(shard)
        while len(pending) >= PACK:
            write(pending[:PACK])
            del pending[:PACK]
    if pending:
        write(pending)
    return names


def print_manifest(manifest: dict[str, Any], console: Console) -> None:
    clean = manifest["clean"]
    console.print(
        f"{manifest['mined']:,} of {clean:,} clean units flagged at {manifest['min_confidence']:g} or above "
        f"({manifest['seconds']:,.0f} s) -> {len(manifest['shards'])} shards"
    )
    table = Table("threshold", "clean units flagged", "share")
    for t, n in manifest["flagged"].items():
        table.add_row(t, f"{n:,}", f"{100 * n / clean:.2f}%" if clean else "-")
    console.print(table)
    rules = Table("rule of the top finding", "mined units")
    for rule, n in manifest["rules"].items():
        rules.add_row(rule, f"{n:,}")
    console.print(rules)


def run(args: Any) -> int:
    """`codegraph dataset negatives` (parsed by :func:`add_parser`)."""
    if args.threads:
        torch.set_num_threads(args.threads)
    console = Console()
    try:
        manifest = mine(
            args.source,
            args.checkpoint,
            args.out,
            min_confidence=args.min_confidence,
            split=args.split,
            console=console,
        )
    except NegativesError as exc:
        console.print(f"[red]error:[/] {exc}")
        return 2
    print_manifest(manifest, console)
    return 0


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "negatives", help="mine the clean units a checkpoint flags (hard negatives for training)"
    )
    p.add_argument(
        "--from", dest="source", type=Path, required=True, help="a dataset directory (clean units)"
    )
    p.add_argument("--checkpoint", default="models/weights/detector")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--min-confidence", type=float, default=0.3)
    p.add_argument("--split", default="train", help="the source split to mine (written as `train`)")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
