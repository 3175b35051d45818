"""The default threshold, chosen on the validation packages: their injected bugs and their released code.

A threshold has two costs. On injected bugs it trades precision for recall, and
``codegraph eval`` measures both. On code as it was released nearly every finding is a
false alarm (``REVIEW.md``: none of the findings judged by hand is a bug), so there the
share of functions flagged is the rate of false alarms a user meets. Both are read on
the validation packages: the model never trained on them, and the held-out test
packages stay untouched until the choice is made.

    codegraph eval --checkpoint C --data data/dataset-full --split valid --json VALID_EVAL
    codegraph threshold flags --checkpoint C --split valid --json VALID_REAL
    codegraph threshold choose --eval VALID_EVAL --real VALID_REAL \\
        --min-precision 0.95 --max-flag-rate 0.001 --out THRESHOLD.md \\
        [--test-eval TEST_EVAL --test-real TEST_REAL [--test-key KEY]] [--compare-with 0.85]

``flags`` runs the detector on every file of one split of the corpus (each file on its
own, as ``codegraph realbugs eval`` does with released files) and writes each function's
best confidence and package, in the JSON format of ``codegraph realbugs eval --json``.

``choose`` takes the lowest threshold of ``codegraph eval``'s 0.01 grid whose precision on
the injected validation bugs is at least ``--min-precision`` and that flags at most
``--max-flag-rate`` of the validation packages' functions (those with a candidate
location: the ones that can be flagged). With the ``--test-*`` files it also reports, at
the chosen threshold and at ``--compare-with``, the held-out figures: precision and recall on
injected test bugs and the released functions of the held-out packages flagged
(``codegraph realbugs eval --json``), with a 95% interval over packages for the ratio.
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

from codegraph.config import Settings
from codegraph.models.training.corpus import SPLITS, CorpusError, corpus_entries
from codegraph.models.training.realbugs import (
    NEWEST,
    PackageBootstrap,
    emit_markdown,
    eval_curve,
    flag_rates,
    read_json_report,
)
from codegraph.pipeline import Analyzer


class ThresholdError(ValueError):
    """Unusable input, or no threshold meets the rule (printed as one line)."""


# --------------------------------------------------------------------------- inputs


@dataclass
class Synthetic:
    """Precision and recall on injected bugs per threshold (``codegraph eval --json``'s ``curve``)."""

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
        """The newest-release population of a ``realbugs eval --json`` file, else the file's only one."""
        data = read_json_report(path)
        pops: dict[str, Any] = data.get("populations", {})
        name = next((k for k in pops if k.startswith(NEWEST)), None)
        if name is None and len(pops) == 1:
            name = next(iter(pops))
        if name is None:
            raise ThresholdError(f"{path}: expected one population or a {NEWEST!r} one, found {sorted(pops)}")
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


def flag_ratio(
    real: Population, threshold: float, reference: float, draws: int = 2000, seed: int = 0
) -> tuple[float, float, float] | None:
    """Flags at ``threshold`` / flags at ``reference`` on ``real``, with a 95% interval resampling
    packages; None when nothing is flagged at ``reference``."""
    boot = PackageBootstrap(real.group, draws, seed)
    return boot.ratio(boot.counts(real.flagged(threshold)), boot.counts(real.flagged(reference)))


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
    held_out: tuple[Synthetic, Population] | None = None,
    compare_with: float | None = None,
    low: float = 0.8,
) -> str:
    """Markdown: the validation figures from ``low`` up, the choice, and the held-out check (at
    ``compare_with`` too, with the ratio of flags, when given)."""
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
        if compare_with is not None and abs(t - compare_with) < 1e-9:
            mark = "compared"
        k = int(real.flagged(t).sum())
        lines.append(
            f"| {t:.2f} | {100 * p:.1f}% | {100 * r:.1f}% | {k:,} | {100 * k / max(n, 1):.2f}% | {mark} |"
        )
    if held_out is not None:
        test, released = held_out
        m = len(released.confidence)
        lines += [
            "",
            f"## Held-out packages (the check): injected test bugs and {m:,} released functions with a "
            f"candidate location in {len(set(released.group))} packages "
            f"({released.name}; model {_model(released)})",
            "",
            "| threshold | precision, injected bugs | recall, injected bugs | released functions flagged "
            "| share |",
            "|---:|---:|---:|---:|---:|",
        ]
        rows = [("chosen", chosen)] + ([("compared", compare_with)] if compare_with is not None else [])
        for label, t in rows:
            p, r, _ = test.points.get(round(t, 4), (float("nan"), float("nan"), 0))
            k = int(released.flagged(t).sum())
            share = 100 * k / max(m, 1)
            lines.append(f"| {t:.2f} ({label}) | {100 * p:.1f}% | {100 * r:.1f}% | {k:,} | {share:.2f}% |")
        ratio = None if compare_with is None else flag_ratio(released, chosen, compare_with)
        if ratio is not None:
            lines += [
                "",
                f"Flags at {chosen:.2f} / flags at {compare_with:.2f} on the held-out released functions: "
                f"{ratio[0]:.2f} [{ratio[1]:.2f}, {ratio[2]:.2f}] (95% interval, 2,000 draws of packages).",
            ]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- flags of a corpus split


def corpus_flags(
    corpus: Path, split: str, analyzer: Analyzer, console: Console | None = None
) -> dict[str, Any]:
    """The ``realbugs eval --json`` payload for the released files of one corpus split."""
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
            f"corpus split {split}": {"functions": functions, "confidence": confidence, "group": group}
        },
    }


# --------------------------------------------------------------------------- CLI


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="codegraph threshold", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    f = sub.add_parser(
        "flags", help="each function's best confidence in the released files of a corpus split"
    )
    f.add_argument("--corpus", type=Path, default=Path("data/corpus"))
    f.add_argument("--split", default="valid", choices=SPLITS)
    f.add_argument("--checkpoint", default=None, help="checkpoint (default: the shipped model)")
    f.add_argument("--json", type=Path, required=True, help="write the confidences here")
    c = sub.add_parser("choose", help="the lowest threshold meeting both rules, and the report")
    c.add_argument("--eval", type=Path, required=True, help="`codegraph eval --split valid --json` output")
    c.add_argument(
        "--real", type=Path, required=True, help="`codegraph threshold flags --split valid` output"
    )
    c.add_argument("--key", default="detector", help="the model's key in the eval JSON (default detector)")
    c.add_argument("--min-precision", type=float, default=0.95)
    c.add_argument("--max-flag-rate", type=float, default=0.001, help="share of functions (default 0.001)")
    c.add_argument("--test-eval", type=Path, default=None, help="`codegraph eval --split test --json` output")
    c.add_argument("--test-real", type=Path, default=None, help="`codegraph realbugs eval --json` output")
    c.add_argument("--test-key", default=None, help="the model's key in the test eval JSON (default: --key)")
    c.add_argument(
        "--compare-with", type=float, default=None, help="another threshold to report beside the chosen one"
    )
    c.add_argument("--out", type=Path, default=None, help="write the markdown here")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    from codegraph.models.predict import ModelError

    args = _parser().parse_args(argv)
    console = Console(stderr=True)
    try:
        if args.command == "flags":
            analyzer = Analyzer(Settings(model=args.checkpoint) if args.checkpoint else Settings())
            payload = corpus_flags(args.corpus, args.split, analyzer, console)
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(payload) + "\n", encoding="utf-8")
            pop = next(iter(payload["populations"].values()))
            console.print(f"{len(pop['confidence']):,} functions with candidates scored; wrote {args.json}")
            return 0
        if not 0 < args.min_precision <= 1 or not 0 <= args.max_flag_rate <= 1:
            raise ThresholdError("--min-precision must be in (0, 1] and --max-flag-rate in [0, 1]")
        if (args.test_eval is None) != (args.test_real is None):
            raise ThresholdError("give --test-eval and --test-real together")
        synthetic, real = Synthetic.load(args.eval, args.key), Population.load(args.real)
        chosen = choose(synthetic, real, args.min_precision, args.max_flag_rate)
        held_out = None
        if args.test_eval is not None:
            test_key = args.test_key or args.key
            held_out = (Synthetic.load(args.test_eval, test_key), Population.load(args.test_real))
        text = render(
            synthetic, real, args.min_precision, args.max_flag_rate, chosen, held_out, args.compare_with
        )
    except (FileNotFoundError, ValueError, CorpusError, ModelError) as exc:  # ThresholdError too
        console.print(f"codegraph threshold: {exc}")
        return 2
    console.print(f"chose {chosen:.2f}")
    emit_markdown(text, args.out, console)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
