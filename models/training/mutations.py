"""Injected bugs drawn the way real ones are: a fit of which token real bugs put where.

Uniform injection (:func:`~codegraph.models.training.rewrites.choose_rewrite`) picks a
rule among those present, then a candidate and a repair. Real one-token bugs are drawn
otherwise: most are a misused variable or a wrong literal, a misused name resembles the
right one, and some pairs (``<`` for ``<=``, ``0`` for ``1``) are far more common than
others. This module fits that on the real training fixes, in the injection direction:

- each expressible real fix is seen from its *fixed* function, where injecting the bug
  is one (candidate, repair) of the injection sites (the repair that turns the fixed
  line into the buggy one);
- every (candidate, repair) of those sites gets a few features (:func:`features`): its
  rule, how often real fixes made that exact token pair (for operators and literals),
  and for misused variables how similar the two names are;
- a conditional logit (a softmax over the sites' pairs, L2-regularised, fitted by
  gradient ascent) learns their weights, so that the real injection is likely.

``codegraph train mutations fit --data data/realfixes`` writes the fit
(``models/training/mutations.json``) and reports the mean log-likelihood of the
validation fixes' real injections under the fit and under uniform injection (a rule
among those present, then a candidate, then a repair).
``codegraph train dataset build --mutations FILE`` draws injected bugs from it.
"""

from __future__ import annotations

import argparse
import difflib
import json
import math
import random
import re
import sys
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from codegraph.rules import RULE_CODES, RULES_BY_CODE
from codegraph.units import Candidate

HERE = Path(__file__).resolve().parent
DEFAULT_FIT = HERE / "mutations.json"
FORMAT = "codegraph-mutations"
VERSION = 1
#: rules whose repairs are token pairs worth counting (not names, not argument swaps)
PAIR_RULES = frozenset(RULE_CODES) - {"CG001", "CG002"}
FEATURES = (*(f"rule:{r}" for r in RULE_CODES), "pair_log_count", "name_similarity", "name_shares_part")
L2 = 1e-2


class MutationError(ValueError):
    """A fit file that cannot be used."""


def _parts(name: str) -> set[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name.split(".")[-1])
    return {p.lower() for p in spaced.split("_") if p}


def pair_key(rule: str, original: str, replacement: str) -> str:
    return f"{rule}|{original.strip()}|{replacement.strip()}"


def site_pairs(candidates: Sequence[Candidate], source: bytes) -> list[tuple[int, int, str, str, str]]:
    """Every injectable (candidate, repair) of ``candidates``: (ci, ri, rule, original, replacement)."""
    from codegraph.models.training.rewrites import fix_only

    out = []
    for ci, cand in enumerate(candidates):
        if not cand.repairs or fix_only(cand):
            continue
        for ri, rep in enumerate(cand.repairs):
            original = source[rep.start_byte : rep.end_byte].decode("utf-8", "replace")
            out.append((ci, ri, cand.rule, original, rep.replacement))
    return out


def features(pairs: Sequence[tuple[int, int, str, str, str]], counts: dict[str, int]) -> np.ndarray:
    """One row of :data:`FEATURES` per pair."""
    x = np.zeros((len(pairs), len(FEATURES)), dtype=np.float64)
    n_rules = len(RULE_CODES)
    for k, (_, _, rule, original, replacement) in enumerate(pairs):
        x[k, RULE_CODES.index(rule)] = 1.0
        if rule in PAIR_RULES:
            x[k, n_rules] = math.log1p(counts.get(pair_key(rule, original, replacement), 0))
        elif rule == "CG001":
            a, b = original.strip(), replacement.strip()
            x[k, n_rules + 1] = difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()
            x[k, n_rules + 2] = float(bool(_parts(a) & _parts(b)))
    return x


@dataclass
class MutationFit:
    """Weights over :data:`FEATURES` and the token-pair counts they read."""

    weights: np.ndarray
    counts: dict[str, int]
    meta: dict[str, Any]

    def probabilities(self, pairs: Sequence[tuple[int, int, str, str, str]]) -> np.ndarray:
        z = features(pairs, self.counts) @ self.weights
        z = np.exp(z - z.max())
        return z / z.sum()

    def choose(
        self, rng: random.Random, candidates: Sequence[Candidate], source: bytes
    ) -> tuple[int, int] | None:
        """(candidate index, repair index) drawn from the fit, with ``rng``; None without any pair."""
        pairs = site_pairs(candidates, source)
        if not pairs:
            return None
        p = self.probabilities(pairs)
        u, acc = rng.random(), 0.0
        for k, pk in enumerate(p):
            acc += float(pk)
            if u < acc:
                return pairs[k][0], pairs[k][1]
        return pairs[-1][0], pairs[-1][1]

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "features": list(FEATURES),
            "weights": [round(float(w), 6) for w in self.weights],
            "pair_counts": dict(sorted(self.counts.items())),
            "meta": self.meta,
        }

    def save(self, path: Path) -> None:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.to_json(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        tmp.replace(path)


def load_fit(path: str | Path) -> MutationFit:
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MutationError(f"{path}: cannot read the mutation fit ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("features") != list(FEATURES):
        raise MutationError(f"{path}: not a mutation fit of this codegraph (format or features differ)")
    weights = data.get("weights")
    counts = data.get("pair_counts")
    if (
        not isinstance(weights, list)
        or len(weights) != len(FEATURES)
        or not all(isinstance(w, (int, float)) and math.isfinite(w) for w in weights)
        or not isinstance(counts, dict)
        or not all(isinstance(v, int) and v >= 0 for v in counts.values())
    ):
        raise MutationError(f"{path}: malformed weights or pair counts")
    return MutationFit(
        np.asarray(weights, dtype=np.float64), {str(k): v for k, v in counts.items()}, data.get("meta", {})
    )


# --------------------------------------------------------------------------- the real injections


@dataclass
class Example:
    """The injection sites of one real fix's fixed function and which pair is its real bug."""

    pairs: list[tuple[int, int, str, str, str]]
    truth: int
    rule: str


def real_injection(rec: dict[str, Any]) -> Example | None:
    """The fixed function's injection sites and the pair that makes the real bug, if one does."""
    from codegraph.config import Settings
    from codegraph.graph import build_file_graph
    from codegraph.models.training.mining import (
        byte_range,
        fixed_source,
        function_units,
        innermost_function,
        line_repairs,
    )
    from codegraph.models.training.rewrites import injection_sites
    from codegraph.scope_analysis import scopes_of
    from codegraph.syntax import SourceError

    fixed = fixed_source(rec)
    start, _, line_start, _ = byte_range(rec["source"], rec)  # the text before the line is the same
    try:
        g = build_file_graph(fixed.encode("utf-8"), rec["path"])
    except (SourceError, RecursionError):
        return None
    if g.has_error:
        return None
    func = innermost_function(g, start)
    (unit,) = function_units(g, [func], Settings().budget)
    cands = injection_sites(unit, func, g, scopes_of(g))
    pairs = site_pairs(cands, g.source)
    index = {(ci, ri): k for k, (ci, ri, _, _, _) in enumerate(pairs)}
    line_end = line_start + len(rec["fixed_line"].encode("utf-8"))
    for hit in line_repairs(g.source, cands, line_start, line_end, rec["buggy_line"], loose=False):
        if hit in index:
            return Example(pairs, index[hit], rec["rule"])
    return None


def _safe_injection(rec: dict[str, Any]) -> Example | None:
    try:
        return real_injection(rec)
    except Exception:  # one odd record never stops a fit
        return None


def examples(records: Iterable[dict[str, Any]], jobs: int = 1) -> Iterator[Example]:
    recs = [r for r in records if r.get("rule") in RULES_BY_CODE]
    if jobs <= 1:
        found: Iterable[Example | None] = map(_safe_injection, recs)
        yield from (e for e in found if e is not None)
        return
    with ProcessPoolExecutor(jobs) as pool:
        yield from (e for e in pool.map(_safe_injection, recs, chunksize=8) if e is not None)


def pair_counts(data: Sequence[Example]) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for ex in data:
        _, _, rule, original, replacement = ex.pairs[ex.truth]
        if rule in PAIR_RULES:
            counts[pair_key(rule, original, replacement)] += 1
    return dict(counts)


def log_likelihood(data: Sequence[Example], weights: np.ndarray, counts: dict[str, int]) -> float:
    """Mean log-probability of the real injection under the fit."""
    model = MutationFit(weights, counts, {})
    return sum(math.log(model.probabilities(ex.pairs)[ex.truth]) for ex in data) / max(1, len(data))


def uniform_probabilities(pairs: Sequence[tuple[int, int, str, str, str]]) -> np.ndarray:
    """What uniform injection gives each pair: a rule among those present, a candidate, a repair."""
    rules = {rule for _, _, rule, _, _ in pairs}
    cands: dict[str, set[int]] = {}
    repairs: Counter[int] = Counter()
    for ci, _, rule, _, _ in pairs:
        cands.setdefault(rule, set()).add(ci)
        repairs[ci] += 1
    return np.array([1.0 / (len(rules) * len(cands[rule]) * repairs[ci]) for ci, _, rule, _, _ in pairs])


def uniform_log_likelihood(data: Sequence[Example]) -> float:
    return sum(math.log(uniform_probabilities(ex.pairs)[ex.truth]) for ex in data) / max(1, len(data))


def fit(data: Sequence[Example], *, steps: int = 400, lr: float = 0.5) -> MutationFit:
    """The conditional logit's weights by gradient ascent on the mean log-likelihood."""
    counts = pair_counts(data)
    mats = [(features(ex.pairs, counts), ex.truth) for ex in data]
    w = np.zeros(len(FEATURES))
    for _ in range(steps):
        grad = -L2 * w
        for x, t in mats:
            z = x @ w
            p = np.exp(z - z.max())
            p /= p.sum()
            grad += (x[t] - p @ x) / len(mats)
        w += lr * grad
    return MutationFit(w, counts, {"fixes": len(data), "steps": steps, "l2": L2})


def rule_shares(
    data: Sequence[Example], weights: np.ndarray, counts: dict[str, int]
) -> dict[str, tuple[float, float, float]]:
    """Per rule: (share of the real injections, expected share under the fit, under uniform injection)."""
    real: Counter[str] = Counter(ex.rule for ex in data)
    fitted = dict.fromkeys(RULE_CODES, 0.0)
    uniform = dict.fromkeys(RULE_CODES, 0.0)
    model = MutationFit(weights, counts, {})
    for ex in data:
        p = model.probabilities(ex.pairs)
        for (_, _, rule, _, _), pk, uk in zip(ex.pairs, p, uniform_probabilities(ex.pairs)):
            fitted[rule] += float(pk)
            uniform[rule] += float(uk)
    n = max(1, len(data))
    return {r: (real[r] / n, fitted[r] / n, uniform[r] / n) for r in RULE_CODES}


# --------------------------------------------------------------------------- command line


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="codegraph train mutations", description=__doc__.split("\n", 1)[0])
    sub = p.add_subparsers(dest="command", required=True)
    f = sub.add_parser("fit", help="fit the mutation sampler on the real training fixes")
    f.add_argument(
        "--data", type=Path, default=Path("data/realfixes"), help="the miner's output (split first)"
    )
    f.add_argument("--out", type=Path, default=DEFAULT_FIT)
    f.add_argument("--jobs", type=int, default=2)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    from codegraph.models.training.mining import read_split

    args = _parser().parse_args(argv)
    try:
        train = read_split(args.data, "train")
        valid = read_split(args.data, "valid")
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    train_ex = list(examples(train, args.jobs))
    valid_ex = list(examples(valid, args.jobs))
    if not train_ex:
        print(f"error: no expressible real injection among {len(train)} training fixes", file=sys.stderr)
        return 2
    result = fit(train_ex)
    result.meta.update({"valid_fixes": len(valid_ex)})
    ll = {
        "train_fitted": log_likelihood(train_ex, result.weights, result.counts),
        "train_uniform": uniform_log_likelihood(train_ex),
        "valid_fitted": log_likelihood(valid_ex, result.weights, result.counts),
        "valid_uniform": uniform_log_likelihood(valid_ex),
    }
    result.meta["log_likelihood"] = {k: round(v, 4) for k, v in ll.items()}
    result.save(args.out)
    print(f"fitted on {len(train_ex)} real training injections; validation: {len(valid_ex)}")
    print(
        f"mean log-likelihood of the real injection, validation: fitted {ll['valid_fitted']:.3f}, "
        f"uniform {ll['valid_uniform']:.3f} (train: {ll['train_fitted']:.3f} / {ll['train_uniform']:.3f})"
    )
    print("| feature | weight |\n|---|---:|")
    for name, w in zip(FEATURES, result.weights):
        print(f"| {name} | {w:+.3f} |")
    print(
        "\n| rule | real validation injections | expected, fitted | expected, uniform |\n|---|---:|---:|---:|"
    )
    for rule, (real, fitted, uniform) in rule_shares(valid_ex, result.weights, result.counts).items():
        print(f"| {rule} | {real:.1%} | {fitted:.1%} | {uniform:.1%} |")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
