"""The default threshold, chosen on the validation packages: their injected bugs and their released code.

A threshold has two costs. On injected bugs it trades precision for recall, and
``codegraph train eval`` measures both. On code as it was released nearly every finding is a
false alarm, so there the share of functions flagged is the rate of false alarms a user
meets. Both are read on the validation packages: the model never trained on them, and the
held-out test packages stay untouched.

    codegraph train eval --checkpoint C --data data/dataset-full --split valid --json VALID_EVAL
    codegraph train threshold flags --checkpoint C --split valid --json VALID_REAL
    codegraph train threshold choose --eval VALID_EVAL --real VALID_REAL \\
        --min-precision 0.95 --max-flag-rate 0.001 --out THRESHOLD.md

``flags`` runs the detector on every file of one split of the corpus (each file on its
own) and writes each function's best confidence and package as JSON.

``choose`` takes the lowest threshold of ``codegraph train eval``'s 0.01 grid whose precision
on the injected validation bugs is at least ``--min-precision`` and that flags at most
``--max-flag-rate`` of the validation packages' functions (those with a candidate
location: the ones that can be flagged).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from codegraph.command import CommandError, command
from codegraph.config import Settings
from codegraph.models.loader import predictor_factory
from codegraph.models.predict import best_pair
from codegraph.models.training.corpus import SPLITS, corpus_entries
from codegraph.pipeline import Analyzer


class ThresholdError(CommandError, ValueError):
    """Unusable input, or no threshold meets the rule (printed as one line)."""


# --------------------------------------------------------------------------- inputs


def read_json_report(path: Path) -> dict[str, Any]:
    """The JSON object that ``codegraph train eval --json`` or ``threshold flags`` wrote;
    raises FileNotFoundError / ValueError."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise FileNotFoundError(f"{path}: {exc.strerror}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: not a JSON object")
    return data


def eval_curve(synthetic: dict[str, Any], key: str, path: Path) -> list[dict[str, Any]]:
    """The 0.01-step ``curve`` of model ``key`` in a ``codegraph train eval --json`` report."""
    if key not in synthetic or "curve" not in synthetic[key]:
        raise ValueError(f"{path}: no curve for {key!r} (written by `codegraph train eval --json`)")
    curve: list[dict[str, Any]] = synthetic[key]["curve"]
    return curve


@dataclass
class Synthetic:
    """Precision and recall on injected bugs per threshold (``codegraph train eval --json``'s ``curve``)."""

    points: dict[float, tuple[float, float, int]]  # threshold -> (precision, recall, flagged units)

    @classmethod
    def load(cls, path: Path, key: str) -> Synthetic:
        curve = eval_curve(read_json_report(path), key, path)
        return cls(
            {round(float(p["threshold"]), 4): (float(p["precision"]), float(p["recall"]), int(p["flagged"]))
             for p in curve}
        )  # fmt: skip


@dataclass
class Population:
    """Best confidence per function of correct code and each function's package."""

    name: str
    confidence: np.ndarray
    group: list[str]
    model: dict[str, str]

    @classmethod
    def load(cls, path: Path) -> Population:
        """The one population of a ``threshold flags`` file."""
        data = read_json_report(path)
        pops: dict[str, Any] = data.get("populations", {})
        if len(pops) != 1:
            raise ThresholdError(f"{path}: expected one population, found {sorted(pops)}")
        name = next(iter(pops))
        pop = pops[name]
        return cls(
            name, np.asarray(pop["confidence"], dtype=float), list(pop["group"]), data.get("model", {})
        )

    def flagged(self, threshold: float) -> np.ndarray:
        return self.confidence >= threshold

    def rate(self, threshold: float) -> float:
        return float(self.flagged(threshold).mean()) if len(self.confidence) else 0.0


# --------------------------------------------------------------------------- the rule


def choose(synthetic: Synthetic, real: Population, min_precision: float, max_flag_rate: float) -> float:
    """The lowest threshold with precision >= ``min_precision`` on injected bugs and at most
    ``max_flag_rate`` of ``real``'s functions flagged; :class:`ThresholdError` when none has both."""
    for t in sorted(synthetic.points):
        precision, _, flagged = synthetic.points[t]
        if flagged and precision >= min_precision and real.rate(t) <= max_flag_rate:
            return t
    raise ThresholdError(
        f"no threshold of the grid has precision >= {min_precision:g} on injected bugs and flags at most "
        f"{100 * max_flag_rate:g}% of the functions of correct code"
    )


# --------------------------------------------------------------------------- report


def _model(real: Population) -> str:
    m = real.model
    return f"`{m.get('name')}` (sha256 {str(m.get('sha256'))[:12]})" if m else "(not recorded)"


def render(
    synthetic: Synthetic,
    real: Population,
    min_precision: float,
    max_flag_rate: float,
    chosen: float,
    low: float = 0.8,
) -> str:
    """Markdown: the validation figures from ``low`` up and the choice."""
    n = len(real.confidence)
    lines = [
        "# Default threshold",
        "",
        f"- model: {_model(real)}",
        f"- rule: the lowest threshold with precision >= {100 * min_precision:g}% on injected validation "
        f"bugs that flags at most {100 * max_flag_rate:g}% of the validation packages' released functions",
        f"- date: {time.strftime('%Y-%m-%d')}",
        "",
        f"## Validation packages (the choice): {n:,} released functions with a candidate location in "
        f"{len(set(real.group))} packages ({real.name})",
        "",
        "| threshold | precision, injected bugs | recall, injected bugs | functions flagged | share | |",
        "|---:|---:|---:|---:|---:|---|",
    ]
    for t in sorted(synthetic.points):
        if t < low - 1e-9:
            continue
        p, r, _ = synthetic.points[t]
        mark = "chosen" if abs(t - chosen) < 1e-9 else ""
        k = int(real.flagged(t).sum())
        lines.append(
            f"| {t:.2f} | {100 * p:.1f}% | {100 * r:.1f}% | {k:,} | {100 * k / max(n, 1):.2f}% | {mark} |"
        )
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- flags of a corpus split


def flag_rates(analyzer: Analyzer, items: Sequence[tuple[str, bytes]]) -> tuple[int, list[float], list[str]]:
    """(functions analysed, the best confidence of each function with candidates, the first
    path component of its file) over ``items``, each file analysed on its own."""
    confidences: list[float] = []
    groups: list[str] = []
    count = 0
    for path, source in items:
        prepared = analyzer.prepare(path, source)
        if prepared.graph is None:
            continue
        units = analyzer.units(prepared)
        count += len(prepared.graph.functions)
        for pred in analyzer.predictor.predict(units) if units else []:
            best = best_pair(pred.loc_probs, pred.rep_probs)
            confidences.append(best[2] if best else 0.0)
            groups.append(path.split("/", 1)[0])
    return count, confidences, groups


def corpus_flags(
    corpus: Path, split: str, analyzer: Analyzer, console: Console | None = None
) -> dict[str, Any]:
    """Each function's best confidence and package in the released files of one corpus split."""
    entries = corpus_entries(corpus, split)
    if not entries:
        raise ThresholdError(f"{corpus}: no files in split {split!r}")
    files = corpus / "files"
    confidence: list[float] = []
    group: list[str] = []
    functions = 0
    with Progress(
        TextColumn("scoring {task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console or Console(stderr=True), transient=True,
    ) as progress:  # fmt: skip
        task = progress.add_task(f"{split} files", total=len(entries))
        for e in entries:
            try:
                source = (files / e.relpath).read_bytes()
            except OSError as exc:
                raise ThresholdError(f"{files / e.relpath}: {exc.strerror}") from None
            count, conf, _ = flag_rates(analyzer, [(e.relpath, source)])
            functions += count
            confidence += conf
            group += [e.package] * len(conf)
            progress.advance(task)
    model = analyzer.model_info()
    return {
        "model": {"name": model["name"], "sha256": model["sha256"]},
        "populations": {
            f"corpus split {split}": {
                "functions": functions,
                "lines": sum(e.lines for e in entries),
                "confidence": confidence,
                "group": group,
            }
        },
    }


# --------------------------------------------------------------------------- CLI


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="codegraph train threshold", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    f = sub.add_parser(
        "flags", help="each function's best confidence in the released files of a corpus split"
    )
    f.add_argument("--corpus", type=Path, default=Path("data/corpus"))
    f.add_argument("--split", default="valid", choices=SPLITS)
    f.add_argument("--checkpoint", default=None, help="checkpoint (default: the shipped model)")
    f.add_argument("--json", type=Path, required=True, help="write the confidences here")
    c = sub.add_parser("choose", help="the lowest threshold meeting both rules, and the report")
    c.add_argument(
        "--eval", type=Path, required=True, help="`codegraph train eval --split valid --json` output"
    )
    c.add_argument(
        "--real", type=Path, required=True, help="`codegraph train threshold flags --split valid` output"
    )
    c.add_argument("--key", default="detector", help="the model's key in the eval JSON (default detector)")
    c.add_argument("--min-precision", type=float, default=0.95)
    c.add_argument("--max-flag-rate", type=float, default=0.001, help="share of functions (default 0.001)")
    c.add_argument("--out", type=Path, default=None, help="write the markdown here")
    return p


@command("codegraph train threshold")
def main(argv: Sequence[str]) -> int:

    args = _parser().parse_args(argv)
    console = Console(stderr=True)
    try:
        if args.command == "flags":
            settings = Settings(model=args.checkpoint) if args.checkpoint else Settings()
            analyzer = Analyzer(settings, predictor_factory=predictor_factory())
            payload = corpus_flags(args.corpus, args.split, analyzer, console)
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(payload) + "\n", encoding="utf-8")
            pop = next(iter(payload["populations"].values()))
            console.print(f"{len(pop['confidence']):,} functions with candidates scored; wrote {args.json}")
            return 0
        if not 0 < args.min_precision <= 1 or not 0 <= args.max_flag_rate <= 1:
            raise ThresholdError("--min-precision must be in (0, 1] and --max-flag-rate in [0, 1]")
        synthetic, real = Synthetic.load(args.eval, args.key), Population.load(args.real)
        chosen = choose(synthetic, real, args.min_precision, args.max_flag_rate)
        text = render(synthetic, real, args.min_precision, args.max_flag_rate, chosen)
    except (FileNotFoundError, ValueError) as exc:  # ThresholdError and CommandErrors go through
        raise CommandError(str(exc)) from None
    console.print(f"chose {chosen:.2f}")
    if args.out is None:
        print(text, end="")
    else:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")
        console.print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
