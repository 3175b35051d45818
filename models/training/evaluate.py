"""`codegraph train eval`: accuracy of the detector (and the baseline) on a dataset split, as markdown.

    codegraph train eval --checkpoint models/weights/detector --baseline runs/baseline/detector \\
        --split test --out models/weights/EVAL.md
    codegraph train eval --config models/training/shipped.toml     # paths from the training config
    codegraph train eval --checkpoint A --baseline B --data data/dataset-full --data data/test-seed1
                                                  # the test split of two builds, one report

With a baseline, each comparison also gives the paired difference (same units) with a
95% bootstrap interval, so a win can be told from sampling noise.

Metrics, each overall, per rule (buggy units), and per distance bucket (``hops`` and
``lines`` recorded by the dataset builder):

* no-bug accuracy: clean units for which "no bug" is the most likely outcome;
* localisation: buggy units whose most likely outcome is the injected bug's location;
* repair: buggy units whose most likely repair at the true location is the fix;
* joint: buggy units with both the location and (at that location) the repair right;
* overall: clean units right about "no bug" + buggy units jointly right.

Swapped-argument bugs are also split by what the graph shows of the callee: not its
parameters (an unresolved callee), its parameters with names that decide which argument
goes where, or its parameters with names that do not (:func:`swap_evidence`).

Precision / recall over confidence thresholds use confidence = P(bug at c) x P(r | c)
of the most likely (location c, repair r) pair, as the scanner does: a unit is flagged
when confidence >= threshold, a flag is correct when the pair is the bug and its fix,
recall is over all buggy units.
"""

from __future__ import annotations

import argparse
import json
import time
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from codegraph.command import CommandError, command
from codegraph.models.schema_map import SchemaMap
from codegraph.models.training.calibrate import fit_no_bug_bias, merge_logits
from codegraph.models.training.eval_report import render_markdown
from codegraph.models.training.metrics import (
    FINE,
    Outcomes,
    assignment_ids,
    precision_recall,
    run_model,
    summary,
)
from codegraph.models.training.shards import dataset_vocabulary, load_split


# -- command ---------------------------------------------------------------------------------------
def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="codegraph train eval", description="Evaluate checkpoints on a dataset split."
    )
    p.add_argument("--checkpoint", help="the detector checkpoint (NAME, NAME.safetensors or NAME.json)")
    p.add_argument("--baseline", help="a second checkpoint reported beside the first")
    p.add_argument("--config", help="training config: supplies the dataset and checkpoint paths")
    p.add_argument(
        "--data",
        action="append",
        help="dataset directory (default: from --config or the checkpoint metadata); repeat it to "
        "evaluate on the same split of several builds (e.g. other injection seeds, same vocabulary)",
    )
    p.add_argument("--split", default="test", help="dataset split (default: test)")
    p.add_argument("--out", help="markdown report path (default: print to stdout)")
    p.add_argument("--json", help="also write the numbers as JSON here")
    p.add_argument("--max-units", type=int, help="evaluate only the first N units")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    p.add_argument(
        "--no-bug-bias",
        type=float,
        default=0.0,
        help="add this to every no-bug logit (before the temperature), to trace joint against "
        "no-bug accuracy; the scanner uses none (default 0)",
    )
    p.add_argument(
        "--fit-no-bug-bias",
        action="store_true",
        help="fit a no-bug bias with the location temperature on the validation split of the first "
        "--data (least NLL, each model its own) and evaluate with them; the scanner uses none",
    )
    return p


@command("codegraph train eval")
def main(argv: Sequence[str]) -> int:
    args = _parser().parse_args(argv)
    cfg: dict[str, Any] = {}
    if args.config:
        with open(args.config, "rb") as f:
            cfg = tomllib.load(f)
    if args.fit_no_bug_bias and args.no_bug_bias:
        raise CommandError("give --no-bug-bias or --fit-no-bug-bias, not both")
    if args.threads:
        torch.set_num_threads(args.threads)
    models = _load_models(args, cfg)
    default_dir = cfg.get("data", {}).get("dir") or models["detector"][3].get("data_dir")
    data_dirs: list[str] = args.data or ([default_dir] if default_dir else [])
    if not data_dirs:
        raise CommandError("no dataset directory (give --data)")
    try:
        results, described, fitted = _evaluate(args, models, data_dirs)
    except (FileNotFoundError, ValueError) as exc:
        raise CommandError(str(exc)) from None
    info = {
        "split": args.split,
        "dataset": ", ".join(f"`{d}`" for d in data_dirs),
        "models": "; ".join(described),
        "date": time.strftime("%Y-%m-%d"),
    }
    if args.fit_no_bug_bias:
        info["no-bug bias"] = (
            f"fitted on the `valid` split of `{data_dirs[0]}` (least NLL): {'; '.join(fitted)} "
            "(not the scanner's decision rule)"
        )
    elif args.no_bug_bias:
        info["no-bug bias"] = f"{args.no_bug_bias:+g} on every no-bug logit (not the scanner's decision rule)"
    _write(results, info, args.out or (cfg.get("eval", {}).get("out") if cfg else None), args.json)
    return 0


def _load_models(args: argparse.Namespace, cfg: dict[str, Any]) -> dict[str, Any]:
    """label -> (model, vocabulary, config, metadata) of the checkpoints to evaluate."""
    from codegraph.models.predict import ModelError, load_checkpoint

    checkpoint, baseline = args.checkpoint, args.baseline
    if checkpoint is None and cfg:
        checkpoint = cfg.get("export", {}).get("path") or str(
            Path(cfg.get("train", {}).get("out", "runs/default")) / "detector"
        )
        baseline = baseline or cfg.get("eval", {}).get("baseline")
    if checkpoint is None:
        raise CommandError("give --checkpoint (or --config)")
    try:
        models = {"detector": load_checkpoint(checkpoint)}
        if baseline:
            models["baseline"] = load_checkpoint(baseline)
    except ModelError as exc:
        raise CommandError(str(exc)) from None
    return models


def _evaluate(
    args: argparse.Namespace, models: dict[str, Any], data_dirs: list[str]
) -> tuple[dict[str, Outcomes], list[str], list[str]]:
    """Each model's outcomes on the split of every build, its description, and fitted biases."""
    from codegraph.models.model import feature_transform

    for data_dir in data_dirs:
        fingerprint = dataset_vocabulary(data_dir).fingerprint()
        for label, (_, vocab, config, _) in models.items():
            if vocab.fingerprint() != fingerprint:
                raise CommandError(f"the {label} checkpoint's vocabulary differs from {data_dir}/vocab.json")
            if not SchemaMap(config.rules, config.edge_kinds).identity:
                raise CommandError(f"the {label} checkpoint knows other rules or edge kinds than this code")
    results: dict[str, Outcomes] = {}
    described, fitted = [], []
    for label, (model, vocab, config, meta) in models.items():
        start = time.perf_counter()
        temp = meta.get("temperature", {})
        t_loc, t_rep = temp.get("location", 1.0), temp.get("repair", 1.0)
        bias = args.no_bug_bias
        if args.fit_no_bug_bias:
            valid = load_split(data_dirs[0], "valid", feature_transform(config))
            _, raw = run_model(model, valid, t_loc=1.0, t_rep=t_rep, keep_logits=True)
            del valid
            bias, t_loc = fit_no_bug_bias(*merge_logits(raw)[:2])
            fitted.append(f"{label} {bias:+.3f} (T_location {t_loc:.3f})")
        parts = []
        left = args.max_units
        for data_dir in data_dirs:  # one build in memory at a time
            if left is not None and left <= 0:
                break
            data = load_split(data_dir, args.split, feature_transform(config), limit=left)
            left = None if left is None else left - len(data)
            part, _ = run_model(
                model, data, t_loc=t_loc, t_rep=t_rep, no_bug_bias=bias, assign_ids=assignment_ids(vocab)
            )
            parts.append(part)
            del data
        results[label] = Outcomes.cat(parts)
        seconds = time.perf_counter() - start
        described.append(
            f"{label} = `{meta.get('name')}` ({config.kind}, {meta.get('steps_trained', '?')} training "
            f"steps, sha256 {str(meta.get('sha256'))[:12]}, evaluated in {seconds:.0f} s)"
        )
    return results, described, fitted


def _write(results: dict[str, Outcomes], info: dict[str, Any], out: str | None, json_out: str | None) -> None:
    report = render_markdown(results, info)
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(report, encoding="utf-8")
        print(f"wrote {out}")
    else:
        print(report)
    if json_out:
        payload = {
            n: {"summary": summary(o), "thresholds": precision_recall(o), "curve": precision_recall(o, FINE)}
            for n, o in results.items()
        }
        Path(json_out).write_text(json.dumps(payload, indent=1), encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main())
